#include <doctest/doctest.h>

#include "test_files.h"
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/wal_reader.h"
#include "engine/wal_writer.h"
#include "util/crc32c.h"
#include "util/file.h"

// The check tool's logic, in-process (its main() is left out).
#define ORGANIC_CHECK_WAL_NO_MAIN
#include "../../tools/organic_check_wal.cc"

namespace organic {
namespace {

using ReadResult = WalReader::ReadResult;

using testing::Slurp;
using testing::TempDir;

void Spit(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
}

std::string RandomBytes(std::mt19937_64* rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>((*rng)() & 0xff);
  return s;
}

// Writes records to a new file at path; returns each record's start offset plus the final size.
std::vector<uint64_t> WriteWal(const std::string& path, const std::vector<std::string>& records) {
  std::unique_ptr<WritableFile> file;
  REQUIRE(DefaultFileSystem()->NewWritableFile(path, false, &file).ok());
  WalWriter writer(std::move(file));
  std::vector<uint64_t> offsets;
  for (const std::string& r : records) {
    offsets.push_back(writer.size());
    REQUIRE(writer.AddRecord(r).ok());
  }
  offsets.push_back(writer.size());
  REQUIRE(writer.Close().ok());
  return offsets;
}

struct ReadOutcome {
  std::vector<std::string> records;
  ReadResult result = ReadResult::kRecord;
  uint64_t last_record_end = 0;
  uint64_t error_offset = 0;
  std::string detail;
};

ReadOutcome ReadWal(const std::string& path) {
  FileSystem* fs = DefaultFileSystem();
  uint64_t size = 0;
  REQUIRE(fs->GetFileSize(path, &size).ok());
  std::unique_ptr<SequentialFile> file;
  REQUIRE(fs->NewSequentialFile(path, &file).ok());
  WalReader reader(std::move(file), size);
  ReadOutcome out;
  std::string payload;
  while ((out.result = reader.ReadRecord(&payload)) == ReadResult::kRecord) {
    out.records.push_back(payload);
  }
  // Terminal results are sticky.
  CHECK(reader.ReadRecord(&payload) == out.result);
  out.last_record_end = reader.last_record_end();
  out.error_offset = reader.error_offset();
  out.detail = reader.error_detail();
  return out;
}

std::vector<std::string> Prefix(const std::vector<std::string>& v, size_t n) {
  return std::vector<std::string>(v.begin(), v.begin() + static_cast<long>(n));
}

std::vector<std::string> SampleRecords() {
  return {"first", "", "third record", std::string(300, 'z'), "last"};
}

}  // namespace

TEST_CASE("wal: file names") {
  CHECK(WalFileName(0) == "wal-0.log");
  CHECK(WalFileName(42) == "wal-42.log");
  uint64_t gen = 0;
  CHECK(ParseWalFileName("wal-42.log", &gen));
  CHECK(gen == 42);
  CHECK(ParseWalFileName("wal-0.log", &gen));
  CHECK(gen == 0);
  CHECK(ParseWalFileName("wal-18446744073709551615.log", &gen));
  CHECK(gen == 18446744073709551615ull);
  for (const char* bad : {"wal-.log", "wal-042.log", "wal-1.log.tmp", "wal-1", "xwal-1.log",
                          "wal--1.log", "wal-+1.log", "wal-1a.log", "wal-18446744073709551616.log",
                          "", "wal-1.LOG", "sst-1.log"}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseWalFileName(bad, &gen));
  }
  for (uint64_t g : {0ull, 1ull, 9ull, 10ull, 123456789ull}) {
    CHECK(ParseWalFileName(WalFileName(g), &gen));
    CHECK(gen == g);
  }
}

TEST_CASE("wal: byte layout is length, masked crc of length+payload, payload") {
  TempDir dir;
  std::string path = dir.File("wal-1.log");
  WriteWal(path, {"abc", ""});
  std::string bytes = Slurp(path);
  REQUIRE(bytes.size() == 8 + 3 + 8);
  CHECK(bytes.substr(0, 4) == std::string("\x03\x00\x00\x00", 4));
  std::string covered = bytes.substr(0, 4) + "abc";
  uint32_t crc = Crc32cMask(Crc32c(covered.data(), covered.size()));
  std::string crc_le;
  for (int i = 0; i < 4; ++i) crc_le.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  CHECK(bytes.substr(4, 4) == crc_le);
  CHECK(bytes.substr(8, 3) == "abc");
  CHECK(bytes.substr(11, 4) == std::string(4, '\0'));  // empty record: length 0
  uint32_t empty_crc = Crc32cMask(Crc32c(bytes.data() + 11, 4));
  CHECK(empty_crc != 0);  // so an all-zero header can never pass as a record
}

TEST_CASE("wal: roundtrip of many records across read chunks") {
  TempDir dir;
  std::string path = dir.File("wal-1.log");
  std::mt19937_64 rng(1);
  std::vector<std::string> records;
  for (int i = 0; i < 5000; ++i) records.push_back(RandomBytes(&rng, rng() % 600));
  std::vector<uint64_t> offsets = WriteWal(path, records);
  ReadOutcome out = ReadWal(path);
  CHECK(out.result == ReadResult::kEof);
  CHECK(out.records == records);
  CHECK(out.last_record_end == offsets.back());
  CHECK(out.detail.empty());
}

TEST_CASE("wal: empty file and empty records") {
  TempDir dir;
  std::string path = dir.File("wal-1.log");
  WriteWal(path, {});
  ReadOutcome out = ReadWal(path);
  CHECK(out.result == ReadResult::kEof);
  CHECK(out.records.empty());

  WriteWal(path, {""});
  out = ReadWal(path);
  CHECK(out.result == ReadResult::kEof);
  CHECK(out.records == std::vector<std::string>{""});
  CHECK(out.last_record_end == 8);

  WriteWal(path, {"", "a", "", ""});
  out = ReadWal(path);
  CHECK(out.records == std::vector<std::string>{"", "a", "", ""});
}

TEST_CASE("wal: 20 MiB record") {
  TempDir dir;
  std::string path = dir.File("wal-1.log");
  std::mt19937_64 rng(2);
  std::vector<std::string> records = {"before", RandomBytes(&rng, 20 << 20), "after"};
  WriteWal(path, records);
  ReadOutcome out = ReadWal(path);
  CHECK(out.result == ReadResult::kEof);
  REQUIRE(out.records.size() == 3);
  CHECK(out.records == records);
}

TEST_CASE("wal: records written across many Flush calls") {
  TempDir dir;
  std::string path = dir.File("wal-1.log");
  std::unique_ptr<WritableFile> file;
  REQUIRE(DefaultFileSystem()->NewWritableFile(path, false, &file).ok());
  WalWriter writer(std::move(file));
  std::mt19937_64 rng(3);
  std::vector<std::string> records;
  for (int i = 0; i < 400; ++i) {
    // Sizes around the 64 KiB write buffer so records straddle buffer flushes.
    records.push_back(RandomBytes(&rng, rng() % 3 == 0 ? 40000 + rng() % 40000 : rng() % 100));
    REQUIRE(writer.AddRecord(records.back()).ok());
    if (rng() % 4 == 0) {
      REQUIRE(writer.Flush().ok());
      // After a Flush, the file on disk is exactly the records so far and ends on a boundary.
      if (i % 20 == 0) {
        ReadOutcome out = ReadWal(path);
        CHECK(out.result == ReadResult::kEof);
        CHECK(out.records == records);
      }
    }
  }
  REQUIRE(writer.Sync().ok());
  ReadOutcome out = ReadWal(path);
  CHECK(out.result == ReadResult::kEof);
  CHECK(out.records == records);
  CHECK(out.last_record_end == writer.size());
}

TEST_CASE("wal: reopen in append mode and continue") {
  TempDir dir;
  std::string path = dir.File("wal-1.log");
  std::vector<uint64_t> offsets = WriteWal(path, {"a", "bb", "ccc"});
  std::unique_ptr<WritableFile> file;
  REQUIRE(DefaultFileSystem()->NewWritableFile(path, /*append=*/true, &file).ok());
  WalWriter writer(std::move(file));
  CHECK(writer.size() == offsets.back());
  REQUIRE(writer.AddRecord("dddd").ok());
  REQUIRE(writer.AddRecord("").ok());
  REQUIRE(writer.Close().ok());
  ReadOutcome out = ReadWal(path);
  CHECK(out.result == ReadResult::kEof);
  CHECK(out.records == std::vector<std::string>{"a", "bb", "ccc", "dddd", ""});
}

TEST_CASE("wal: truncated header is a torn tail") {
  TempDir dir;
  std::string path = dir.File("wal-1.log");
  std::vector<std::string> records = SampleRecords();
  std::vector<uint64_t> offsets = WriteWal(path, records);
  std::string bytes = Slurp(path);
  Spit(path, bytes.substr(0, offsets[3] + 5));  // 5 of record 3's 8 header bytes
  ReadOutcome out = ReadWal(path);
  CHECK(out.result == ReadResult::kTornTail);
  CHECK(out.records == Prefix(records, 3));
  CHECK(out.last_record_end == offsets[3]);
  CHECK(out.error_offset == offsets[3]);
  CHECK(out.detail.find("partial header") != std::string::npos);
}

TEST_CASE("wal: truncated payload is a torn tail") {
  TempDir dir;
  std::string path = dir.File("wal-1.log");
  std::vector<std::string> records = SampleRecords();
  std::vector<uint64_t> offsets = WriteWal(path, records);
  std::string bytes = Slurp(path);
  Spit(path, bytes.substr(0, offsets[3] + 8 + 100));  // record 3 has 300 payload bytes
  ReadOutcome out = ReadWal(path);
  CHECK(out.result == ReadResult::kTornTail);
  CHECK(out.records == Prefix(records, 3));
  CHECK(out.error_offset == offsets[3]);
  CHECK(out.detail.find("past end of file") != std::string::npos);

  // A large record cut halfway: far more than the 64 KiB resync window remains, still torn.
  std::mt19937_64 rng(4);
  records = {"a", RandomBytes(&rng, 1 << 20), "b"};
  offsets = WriteWal(path, records);
  bytes = Slurp(path);
  Spit(path, bytes.substr(0, offsets[1] + (600 << 10)));
  out = ReadWal(path);
  CHECK(out.result == ReadResult::kTornTail);
  CHECK(out.records == Prefix(records, 1));
  CHECK(out.error_offset == offsets[1]);
}

TEST_CASE("wal: every cut point gives the records before it, torn exactly off-boundary") {
  TempDir dir;
  std::string path = dir.File("wal-1.log");
  std::vector<std::string> records = SampleRecords();
  std::vector<uint64_t> offsets = WriteWal(path, records);
  std::string bytes = Slurp(path);
  for (uint64_t cut = 0; cut <= bytes.size(); ++cut) {
    CAPTURE(cut);
    Spit(path, bytes.substr(0, cut));
    size_t complete = 0;
    while (complete < records.size() && offsets[complete + 1] <= cut) ++complete;
    bool on_boundary = offsets[complete] == cut;
    ReadOutcome out = ReadWal(path);
    REQUIRE(out.records == Prefix(records, complete));
    REQUIRE(out.result == (on_boundary ? ReadResult::kEof : ReadResult::kTornTail));
    REQUIRE(out.last_record_end == offsets[complete]);
    if (!on_boundary) REQUIRE(out.error_offset == offsets[complete]);
  }
}

TEST_CASE("wal: zero-filled tail is a torn tail") {
  TempDir dir;
  std::string path = dir.File("wal-1.log");
  std::vector<std::string> records = SampleRecords();
  std::vector<uint64_t> offsets = WriteWal(path, records);
  std::string bytes = Slurp(path);
  for (size_t zeros : {size_t{3}, size_t{8}, size_t{4096}, size_t{300000}}) {
    CAPTURE(zeros);
    Spit(path, bytes + std::string(zeros, '\0'));
    ReadOutcome out = ReadWal(path);
    CHECK(out.result == ReadResult::kTornTail);
    CHECK(out.records == records);
    CHECK(out.error_offset == offsets.back());
    CHECK(out.last_record_end == offsets.back());
  }
  // A zeroed region inside the last record (its header intact) followed by zeros: torn too.
  std::string damaged = bytes.substr(0, offsets[4] + 8) + std::string(1000, '\0');
  Spit(path, damaged);
  ReadOutcome out = ReadWal(path);
  CHECK(out.result == ReadResult::kTornTail);
  CHECK(out.error_offset == offsets[4]);
}

TEST_CASE("wal: zeros in the middle followed by records are corruption") {
  TempDir dir;
  std::string path = dir.File("wal-1.log");
  std::vector<std::string> records = SampleRecords();
  std::vector<uint64_t> offsets = WriteWal(path, records);
  std::string bytes = Slurp(path);
  // Zero out record 2 entirely (header + payload); records 3 and 4 follow intact.
  for (uint64_t i = offsets[2]; i < offsets[3]; ++i) bytes[i] = '\0';
  Spit(path, bytes);
  ReadOutcome out = ReadWal(path);
  CHECK(out.result == ReadResult::kCorruption);
  CHECK(out.records == Prefix(records, 2));
  CHECK(out.error_offset == offsets[2]);
}

TEST_CASE("wal: checksum mismatch in the last record is torn, in the middle is corruption") {
  TempDir dir;
  std::string path = dir.File("wal-1.log");
  std::vector<std::string> records = SampleRecords();
  std::vector<uint64_t> offsets = WriteWal(path, records);
  const std::string good = Slurp(path);

  SUBCASE("last record payload") {
    std::string bytes = good;
    bytes[offsets[4] + 8 + 1] ^= 0x01;
    Spit(path, bytes);
    ReadOutcome out = ReadWal(path);
    CHECK(out.result == ReadResult::kTornTail);
    CHECK(out.records == Prefix(records, 4));
    CHECK(out.error_offset == offsets[4]);
    CHECK(out.last_record_end == offsets[4]);
    CHECK(out.detail.find("checksum mismatch") != std::string::npos);
  }
  SUBCASE("middle record payload") {
    std::string bytes = good;
    bytes[offsets[3] + 8 + 150] ^= 0x40;
    Spit(path, bytes);
    ReadOutcome out = ReadWal(path);
    CHECK(out.result == ReadResult::kCorruption);
    CHECK(out.records == Prefix(records, 3));
    CHECK(out.error_offset == offsets[3]);
    CHECK(out.last_record_end == offsets[3]);
    CHECK(out.detail.find("checksum mismatch") != std::string::npos);
  }
  SUBCASE("middle record stored checksum") {
    std::string bytes = good;
    bytes[offsets[0] + 5] ^= 0x10;
    Spit(path, bytes);
    ReadOutcome out = ReadWal(path);
    CHECK(out.result == ReadResult::kCorruption);
    CHECK(out.records.empty());
    CHECK(out.error_offset == 0);
  }
  SUBCASE("a shrunken length in the middle is caught by the checksum") {
    std::string bytes = good;
    bytes[offsets[3]] = 10;  // 300 (0x012c) -> 0x010a: still inside the file
    Spit(path, bytes);
    ReadOutcome out = ReadWal(path);
    CHECK(out.result == ReadResult::kCorruption);
    CHECK(out.records == Prefix(records, 3));
    CHECK(out.error_offset == offsets[3]);
  }
}

TEST_CASE("wal: impossible length") {
  TempDir dir;
  std::string path = dir.File("wal-1.log");
  std::vector<std::string> records = SampleRecords();
  std::vector<uint64_t> offsets = WriteWal(path, records);
  const std::string good = Slurp(path);

  std::string bytes = good;
  // Record 1 is empty; make its length 0x80000001, just above kWalMaxPayloadSize.
  bytes[offsets[1] + 3] = '\x80';
  bytes[offsets[1]] = '\x01';
  Spit(path, bytes);
  ReadOutcome out = ReadWal(path);
  CHECK(out.result == ReadResult::kCorruption);
  CHECK(out.records == Prefix(records, 1));
  CHECK(out.error_offset == offsets[1]);
  CHECK(out.detail.find("impossible length") != std::string::npos);

  // The same header as the last thing in the file: the writer died writing it.
  bytes = good.substr(0, offsets[4] + 8);
  bytes[offsets[4] + 3] = '\xff';
  Spit(path, bytes);
  out = ReadWal(path);
  CHECK(out.result == ReadResult::kTornTail);
  CHECK(out.records == Prefix(records, 4));
  CHECK(out.error_offset == offsets[4]);
}

TEST_CASE("wal: a single flipped byte never yields a wrong record") {
  TempDir dir;
  std::string path = dir.File("wal-1.log");
  std::vector<std::string> records = SampleRecords();
  std::vector<uint64_t> offsets = WriteWal(path, records);
  const std::string good = Slurp(path);
  for (uint64_t pos = 0; pos < good.size(); ++pos) {
    CAPTURE(pos);
    size_t damaged = 0;
    while (offsets[damaged + 1] <= pos) ++damaged;
    bool in_length = pos - offsets[damaged] < 4;
    std::string bytes = good;
    bytes[pos] ^= 0x04;
    Spit(path, bytes);
    ReadOutcome out = ReadWal(path);
    REQUIRE(out.records == Prefix(records, damaged));
    REQUIRE(out.error_offset == offsets[damaged]);
    if (damaged < records.size() - 1) {
      // Valid records follow the damage: never mistaken for a torn tail, even when the damaged
      // length points past the end of the file.
      REQUIRE(out.result == ReadResult::kCorruption);
    } else if (in_length) {
      // Last record: a longer length looks torn, a shorter one leaves non-zero bytes behind.
      REQUIRE(out.result != ReadResult::kEof);
      REQUIRE(out.result != ReadResult::kRecord);
    } else {
      REQUIRE(out.result == ReadResult::kTornTail);
    }
  }
}

TEST_CASE("wal: a length running past the end of the file is corruption if records follow") {
  TempDir dir;
  std::string path = dir.File("wal-1.log");
  std::vector<std::string> records = {"one", "two", "three"};
  std::vector<uint64_t> offsets = WriteWal(path, records);
  std::string bytes = Slurp(path);
  bytes[offsets[1] + 2] = '\x01';  // length 3 -> 65539, far past the end of the file
  Spit(path, bytes);
  ReadOutcome out = ReadWal(path);
  CHECK(out.result == ReadResult::kCorruption);
  CHECK(out.records == Prefix(records, 1));
  CHECK(out.error_offset == offsets[1]);
  CHECK(out.detail.find("valid record follows at offset " + std::to_string(offsets[2])) !=
        std::string::npos);

  // A garbage sector in the middle of a larger file: same verdict.
  std::mt19937_64 rng(5);
  records.clear();
  for (int i = 0; i < 100; ++i) records.push_back(RandomBytes(&rng, 50 + rng() % 200));
  offsets = WriteWal(path, records);
  bytes = Slurp(path);
  for (uint64_t i = offsets[40]; i < offsets[40] + 4096 && i < bytes.size(); ++i) {
    bytes[i] = static_cast<char>(rng() & 0xff);
  }
  bytes[offsets[40] + 3] = '\x7f';  // make sure the garbage length is huge but not impossible
  Spit(path, bytes);
  out = ReadWal(path);
  CHECK(out.result == ReadResult::kCorruption);
  CHECK(out.records == Prefix(records, 40));
  CHECK(out.error_offset == offsets[40]);
}

TEST_CASE("wal: reader reports an I/O error when the file is shorter than promised") {
  TempDir dir;
  std::string path = dir.File("wal-1.log");
  std::vector<uint64_t> offsets = WriteWal(path, {"abc", "defg"});
  std::unique_ptr<SequentialFile> file;
  REQUIRE(DefaultFileSystem()->NewSequentialFile(path, &file).ok());
  WalReader reader(std::move(file), offsets.back() + 100);
  std::string payload;
  CHECK(reader.ReadRecord(&payload) == ReadResult::kIOError);
  CHECK(reader.error_detail().find("unexpected end of file") != std::string::npos);
}

TEST_CASE("wal: writer on a fault-injection file system loses exactly the unsynced records") {
  TempDir dir;
  std::string path = dir.File("wal-1.log");
  FaultInjectionFileSystem fs(DefaultFileSystem());
  std::unique_ptr<WritableFile> file;
  REQUIRE(fs.NewWritableFile(path, false, &file).ok());
  WalWriter writer(std::move(file));
  REQUIRE(writer.AddRecord("durable-1").ok());
  REQUIRE(writer.AddRecord("durable-2").ok());
  REQUIRE(writer.Sync().ok());
  REQUIRE(writer.AddRecord("flushed").ok());
  REQUIRE(writer.Flush().ok());
  REQUIRE(writer.AddRecord("synced-by-worker").ok());
  REQUIRE(writer.Flush().ok());
  REQUIRE(writer.file()->SyncFlushed().ok());
  REQUIRE(writer.AddRecord("flushed-2").ok());
  REQUIRE(writer.Flush().ok());
  REQUIRE(writer.AddRecord("buffered").ok());

  REQUIRE(fs.DropUnsyncedData().ok());
  ReadOutcome out = ReadWal(path);
  CHECK(out.result == ReadResult::kEof);
  CHECK(out.records ==
        std::vector<std::string>{"durable-1", "durable-2", "flushed", "synced-by-worker"});
  // The crashed writer is dead: errors are sticky and nothing more reaches the file.
  CHECK(writer.AddRecord("after crash").IsIOError());
  CHECK(writer.Flush().IsIOError());
  CHECK(ReadWal(path).records.size() == 4);
}

TEST_CASE("wal: recovery flow, truncate a torn tail then append") {
  TempDir dir;
  std::string path = dir.File("wal-1.log");
  std::vector<uint64_t> offsets = WriteWal(path, {"a", "b", "c"});
  std::string bytes = Slurp(path);
  Spit(path, bytes.substr(0, offsets[2] + 6));
  ReadOutcome out = ReadWal(path);
  REQUIRE(out.result == ReadResult::kTornTail);
  REQUIRE(DefaultFileSystem()->Truncate(path, out.last_record_end).ok());
  std::unique_ptr<WritableFile> file;
  REQUIRE(DefaultFileSystem()->NewWritableFile(path, true, &file).ok());
  WalWriter writer(std::move(file));
  REQUIRE(writer.AddRecord("d").ok());
  REQUIRE(writer.Close().ok());
  out = ReadWal(path);
  CHECK(out.result == ReadResult::kEof);
  CHECK(out.records == std::vector<std::string>{"a", "b", "d"});
}

// ---------------------------------------------------------------------------------------------
// organic-check-wal

namespace {

struct ToolRun {
  int exit_code;
  std::string out;
  std::string err;
};

ToolRun RunTool(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = check_wal::Run(args, out, err);
  return {code, out.str(), err.str()};
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("organic-check-wal: valid file") {
  TempDir dir;
  std::string path = dir.File("wal-3.log");
  std::vector<uint64_t> offsets = WriteWal(path, SampleRecords());
  ToolRun run = RunTool({path});
  CHECK(run.exit_code == 0);
  CHECK(Contains(run.out, "records: 5, valid bytes: " + std::to_string(offsets.back())));
  CHECK(Contains(run.out, "WAL is valid\n"));
  CHECK_FALSE(Contains(run.out, "not valid"));
}

TEST_CASE("organic-check-wal: torn tail, then --fix") {
  TempDir dir;
  std::string path = dir.File("wal-3.log");
  std::vector<uint64_t> offsets = WriteWal(path, SampleRecords());
  std::string bytes = Slurp(path);
  Spit(path, bytes.substr(0, offsets[4] + 3));

  ToolRun run = RunTool({path});
  CHECK(run.exit_code == 1);
  CHECK(Contains(run.out, "records: 4"));
  CHECK(Contains(run.out, "torn tail at offset " + std::to_string(offsets[4])));
  CHECK(Contains(run.out, "WAL is not valid"));
  CHECK(Slurp(path).size() == offsets[4] + 3);  // untouched without --fix

  run = RunTool({"--fix", path});
  CHECK(run.exit_code == 0);
  CHECK(Contains(run.out, "3 bytes dropped"));
  CHECK(Slurp(path) == bytes.substr(0, offsets[4]));

  run = RunTool({path});
  CHECK(run.exit_code == 0);
  CHECK(Contains(run.out, "WAL is valid\n"));
}

TEST_CASE("organic-check-wal: corruption in the middle, then --fix discards the rest") {
  TempDir dir;
  std::string path = dir.File("wal-3.log");
  std::vector<uint64_t> offsets = WriteWal(path, SampleRecords());
  std::string bytes = Slurp(path);
  bytes[offsets[2] + 9] ^= 1;
  Spit(path, bytes);

  ToolRun run = RunTool({path});
  CHECK(run.exit_code == 1);
  CHECK(Contains(run.out, "corruption at offset " + std::to_string(offsets[2])));
  CHECK(Contains(run.out, "WAL is not valid"));

  run = RunTool({path, "--fix"});  // option after the path works too
  CHECK(run.exit_code == 0);
  CHECK(Contains(run.out, "all data after offset " + std::to_string(offsets[2]) +
                              " is discarded"));
  CHECK(Contains(run.out, std::to_string(bytes.size() - offsets[2]) + " bytes dropped"));
  CHECK(Slurp(path) == bytes.substr(0, offsets[2]));
  CHECK(ReadWal(path).result == ReadResult::kEof);
}

TEST_CASE("organic-check-wal: a data directory is checked in generation order") {
  TempDir dir;
  WriteWal(dir.File("wal-10.log"), {"x"});
  WriteWal(dir.File("wal-2.log"), {"y", "z"});
  WriteWal(dir.File("wal-9.log"), {});
  Spit(dir.File("notes.txt"), "not a wal");
  Spit(dir.File("wal-02.log"), "not canonical, ignored");

  ToolRun run = RunTool({dir.path()});
  CHECK(run.exit_code == 0);
  size_t p2 = run.out.find("wal-2.log"), p9 = run.out.find("wal-9.log"),
         p10 = run.out.find("wal-10.log");
  REQUIRE(p2 != std::string::npos);
  REQUIRE(p9 != std::string::npos);
  REQUIRE(p10 != std::string::npos);
  CHECK(p2 < p9);
  CHECK(p9 < p10);
  CHECK_FALSE(Contains(run.out, "notes.txt"));
  CHECK_FALSE(Contains(run.out, "wal-02.log"));
  CHECK(Contains(run.out, "Checked 3 WAL files: 0 not valid"));

  // One damaged generation makes the directory invalid.
  std::string bytes = Slurp(dir.File("wal-2.log"));
  Spit(dir.File("wal-2.log"), bytes + "\x01");
  run = RunTool({dir.path()});
  CHECK(run.exit_code == 1);
  CHECK(Contains(run.out, "Checked 3 WAL files: 1 not valid"));
  run = RunTool({"--fix", dir.path()});
  CHECK(run.exit_code == 0);
  CHECK(Slurp(dir.File("wal-2.log")) == bytes);
}

TEST_CASE("organic-check-wal: empty directory and usage errors") {
  TempDir dir;
  ToolRun run = RunTool({dir.path()});
  CHECK(run.exit_code == 0);
  CHECK(Contains(run.out, "No WAL files"));

  run = RunTool({});
  CHECK(run.exit_code == 1);
  CHECK(Contains(run.err, "Usage: organic-check-wal"));
  run = RunTool({"--fix"});
  CHECK(run.exit_code == 1);
  run = RunTool({dir.path(), dir.path()});
  CHECK(run.exit_code == 1);
  run = RunTool({"--frobnicate", dir.path()});
  CHECK(run.exit_code == 1);
  CHECK(Contains(run.err, "Unknown option"));
  run = RunTool({dir.File("missing.log")});
  CHECK(run.exit_code == 1);
  CHECK(Contains(run.err, "Cannot open"));
}

}  // namespace organic
