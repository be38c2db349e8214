#include <doctest/doctest.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/block_cache.h"
#include "engine/sstable_builder.h"
#include "engine/sstable_reader.h"
#include "test_files.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/file.h"

namespace organic::engine {
namespace {

using organic::testing::Slurp;
using organic::testing::TempDir;
using Entries = std::vector<std::pair<std::string, std::string>>;

void Spit(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
}

std::string RandomBytes(std::mt19937_64* rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>((*rng)() & 0xff);
  return s;
}

// 16-byte keys "key:000000000042", sorted by number.
std::string Key16(uint64_t i) {
  char buf[32];
  snprintf(buf, sizeof(buf), "key:%012llu", static_cast<unsigned long long>(i));
  return buf;
}

// Builds a table at path from entries (already sorted); returns the builder's file size.
uint64_t Build(const std::string& path, const Entries& entries, SstableOptions options = {},
               FileSystem* fs = DefaultFileSystem()) {
  std::unique_ptr<WritableFile> file;
  REQUIRE(fs->NewWritableFile(path, false, &file).ok());
  SstableBuilder builder(std::move(file), options);
  for (const auto& [k, v] : entries) REQUIRE(builder.Add(k, v).ok());
  CHECK(builder.entries() == entries.size());
  Status s = builder.Finish();
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  return builder.file_size();
}

Status OpenTable(const std::string& path, std::unique_ptr<SstableReader>* out,
                 uint64_t size_override = UINT64_MAX) {
  uint64_t size;
  RETURN_IF_ERROR(DefaultFileSystem()->GetFileSize(path, &size));
  if (size_override != UINT64_MAX) size = size_override;
  std::unique_ptr<RandomAccessFile> file;
  RETURN_IF_ERROR(DefaultFileSystem()->NewRandomAccessFile(path, &file));
  return SstableReader::Open(std::move(file), size, "t.sst", out);
}

std::unique_ptr<SstableReader> MustOpen(const std::string& path) {
  std::unique_ptr<SstableReader> r;
  Status s = OpenTable(path, &r);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  return r;
}

// Full scan must return exactly `entries`.
void CheckScan(const SstableReader& table, const Entries& entries) {
  auto it = table.NewIterator();
  CHECK_FALSE(it->Valid());
  it->SeekToFirst();
  size_t i = 0;
  for (; it->Valid(); it->Next(), ++i) {
    REQUIRE(i < entries.size());
    REQUIRE(it->key() == entries[i].first);
    REQUIRE(it->value() == entries[i].second);
  }
  CHECK(it->status().ok());
  CHECK(i == entries.size());
}

// Get of every key, of the key just after each one (k + "\0", absent unless it is the next key)
// and of a key after all of them.
void CheckGets(const SstableReader& table, const Entries& entries) {
  std::string value;
  bool found;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& [k, v] = entries[i];
    REQUIRE(table.Get(k, &value, &found).ok());
    REQUIRE(found);
    REQUIRE(value == v);
    const std::string after = k + std::string(1, '\0');
    if (i + 1 < entries.size() && entries[i + 1].first == after) continue;
    REQUIRE(table.Get(after, &value, &found).ok());
    REQUIRE_FALSE(found);
  }
  REQUIRE(table.Get("\xff\xff\xff\xff\xff\xff", &value, &found).ok());
  CHECK_FALSE(found);
}

TEST_CASE("sstable: empty table") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  const uint64_t size = Build(path, {});
  CHECK(size == Slurp(path).size());
  auto table = MustOpen(path);
  CHECK(table->entries() == 0);
  CHECK(table->num_blocks() == 0);
  std::string value;
  bool found = true;
  REQUIRE(table->Get("", &value, &found).ok());
  CHECK_FALSE(found);
  REQUIRE(table->Get("a", &value, &found).ok());
  CHECK_FALSE(found);
  CheckScan(*table, {});
  auto it = table->NewIterator();
  it->Seek("");
  CHECK_FALSE(it->Valid());
  CHECK(it->status().ok());
}

TEST_CASE("sstable: one entry") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  Entries e = {{"hello", "world"}};
  Build(path, e);
  auto table = MustOpen(path);
  CHECK(table->entries() == 1);
  CheckScan(*table, e);
  CheckGets(*table, e);
  std::string value;
  bool found;
  for (const char* absent : {"", "a", "hell", "hello2", "z"}) {
    REQUIRE(table->Get(absent, &value, &found).ok());
    CHECK_FALSE(found);
  }
  auto it = table->NewIterator();
  it->Seek("");
  REQUIRE(it->Valid());
  CHECK(it->key() == "hello");
  it->Seek("hello");
  REQUIRE(it->Valid());
  CHECK(it->value() == "world");
  it->Next();
  CHECK_FALSE(it->Valid());
  it->Seek("hello\x01");
  CHECK_FALSE(it->Valid());
  CHECK(it->status().ok());
}

TEST_CASE("sstable: 100k entries roundtrip, Get, absent keys, bloom skips") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  std::mt19937_64 rng(7);
  Entries e;
  // Even numbers only, so odd numbers are absent keys inside the key range.
  for (uint64_t i = 0; i < 100000; ++i) e.emplace_back(Key16(2 * i), RandomBytes(&rng, 32));
  const uint64_t size = Build(path, e);
  CHECK(size == Slurp(path).size());
  auto table = MustOpen(path);
  CHECK(table->entries() == e.size());
  CHECK(table->num_blocks() > 500);
  CheckScan(*table, e);
  CheckGets(*table, e);

  std::string value;
  bool found;
  uint64_t may = 0;
  for (uint64_t i = 0; i < 100000; ++i) {
    const std::string absent = Key16(2 * i + 1);
    REQUIRE(table->Get(absent, &value, &found).ok());
    REQUIRE_FALSE(found);
    may += table->MayContain(absent) ? 1 : 0;
    REQUIRE(table->MayContain(e[i].first));
  }
  MESSAGE("bloom passed " << may << " of 100000 absent keys");
  CHECK(may < 2000);  // ~1% expected at 10 bits/key
}

TEST_CASE("sstable: Seek to every position") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  Entries e;
  for (uint64_t i = 0; i < 3000; ++i) e.emplace_back(Key16(2 * i + 2), "v" + std::to_string(i));
  SstableOptions options;
  options.block_size = 256;  // many blocks: seeks land at block starts, middles and ends
  Build(path, e, options);
  auto table = MustOpen(path);
  CHECK(table->num_blocks() > 50);
  auto it = table->NewIterator();
  // Before the first key.
  for (const std::string& t : {std::string(), std::string("a"), Key16(0), Key16(1)}) {
    it->Seek(t);
    REQUIRE(it->Valid());
    CHECK(it->key() == e[0].first);
  }
  for (size_t i = 0; i < e.size(); ++i) {
    it->Seek(e[i].first);  // exactly at a key
    REQUIRE(it->Valid());
    REQUIRE(it->key() == e[i].first);
    REQUIRE(it->value() == e[i].second);
    it->Seek(Key16(2 * i + 3));  // between key i and key i + 1
    if (i + 1 < e.size()) {
      REQUIRE(it->Valid());
      REQUIRE(it->key() == e[i + 1].first);
      // Iteration continues correctly from a seek, across block boundaries.
      for (size_t j = i + 2; j < std::min(e.size(), i + 6); ++j) {
        it->Next();
        REQUIRE(it->Valid());
        REQUIRE(it->key() == e[j].first);
      }
    } else {
      CHECK_FALSE(it->Valid());  // after the last key
    }
  }
  it->Seek("zzz");
  CHECK_FALSE(it->Valid());
  CHECK(it->status().ok());
}

TEST_CASE("sstable: binary keys, empty key and values, value larger than a block") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  std::mt19937_64 rng(11);
  Entries e;
  e.emplace_back("", "value of the empty key");
  e.emplace_back(std::string("\0", 1), "");
  e.emplace_back(std::string("\0\0", 2), "");
  e.emplace_back(std::string("\0\x01\xff", 3), std::string("\0\0\0", 3));
  e.emplace_back("a", RandomBytes(&rng, 100000));  // 25 blocks' worth, incompressible
  e.emplace_back("b", std::string(1 << 20, 'x'));  // 1 MiB, very compressible
  e.emplace_back("b\xff", "");
  e.emplace_back(std::string("\x7f\x80", 2), "");
  e.emplace_back(std::string(300, '\xff'), "long key");
  e.emplace_back(std::string(301, '\xff'), RandomBytes(&rng, 5000));
  Build(path, e);
  CHECK(Slurp(path).size() < 150000);  // the 1 MiB of 'x' compressed
  auto table = MustOpen(path);
  CheckScan(*table, e);
  std::string value;
  bool found;
  for (const auto& [k, v] : e) {
    REQUIRE(table->Get(k, &value, &found).ok());
    REQUIRE(found);
    REQUIRE(value == v);
  }
  for (const std::string& absent : {std::string("\0\x01", 2), std::string("\x01"),
                                    std::string("ab"), std::string(299, '\xff')}) {
    REQUIRE(table->Get(absent, &value, &found).ok());
    CHECK_FALSE(found);
  }
  auto it = table->NewIterator();
  it->Seek(std::string("\0\x01", 2));
  REQUIRE(it->Valid());
  CHECK(it->key() == std::string("\0\x01\xff", 3));
}

TEST_CASE("sstable: out-of-order and duplicate keys are rejected") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  std::unique_ptr<WritableFile> file;
  REQUIRE(DefaultFileSystem()->NewWritableFile(path, false, &file).ok());
  SstableBuilder b(std::move(file), SstableOptions{});
  REQUIRE(b.Add("b", "1").ok());
  CHECK(b.Add("b", "dup").IsInvalidArgument());
  CHECK(b.Add("a", "lower").IsInvalidArgument());
  CHECK(b.Add("", "empty").IsInvalidArgument());
  REQUIRE(b.Add("c", "2").ok());  // rejection is not sticky and wrote nothing
  CHECK(b.entries() == 2);
  REQUIRE(b.Finish().ok());
  CHECK(b.Add("d", "3").IsInvalidArgument());
  CHECK(b.Finish().IsInvalidArgument());
  auto table = MustOpen(path);
  CheckScan(*table, {{"b", "1"}, {"c", "2"}});
}

TEST_CASE("sstable: options: no bloom filter, no compression benefit, tiny blocks") {
  TempDir dir;
  Entries e;
  for (int i = 0; i < 500; ++i) e.emplace_back(Key16(i), std::string(40, 'a' + i % 26));
  for (int bits : {0, 10}) {
    for (uint64_t block_size : {1ull, 100ull, 4096ull, 1ull << 20}) {
      SstableOptions options;
      options.bloom_bits_per_key = bits;
      options.block_size = block_size;
      const std::string path =
          dir.File("t" + std::to_string(bits) + "_" + std::to_string(block_size) + ".sst");
      Build(path, e, options);
      auto table = MustOpen(path);
      int passed = 0;
      for (int i = 0; i < 500; ++i) passed += table->MayContain(Key16(1000 + i)) ? 1 : 0;
      if (bits == 0) {
        CHECK(passed == 500);  // no filter: every key may be present
      } else {
        CHECK(passed < 25);
      }
      if (block_size == 1) CHECK(table->num_blocks() == e.size());
      CheckScan(*table, e);
      CheckGets(*table, e);
    }
  }
}

TEST_CASE("sstable: Finish syncs: the table survives a power cut") {
  TempDir dir;
  FaultInjectionFileSystem fs(DefaultFileSystem());
  const std::string path = dir.File("t.sst");
  Entries e;
  for (int i = 0; i < 2000; ++i) e.emplace_back(Key16(i), "value" + std::to_string(i));
  Build(path, e, {}, &fs);
  REQUIRE(fs.SyncDir(dir.path()).ok());
  REQUIRE(fs.DropUnsyncedData().ok());
  auto table = MustOpen(path);
  CheckScan(*table, e);
}

TEST_CASE("sstable: write errors are sticky and Finish reports them") {
  TempDir dir;
  FaultInjectionFileSystem fs(DefaultFileSystem());
  std::unique_ptr<WritableFile> file;
  REQUIRE(fs.NewWritableFile(dir.File("t.sst"), false, &file).ok());
  SstableOptions options;
  options.block_size = 64;
  SstableBuilder b(std::move(file), options);
  REQUIRE(b.Add(Key16(0), "v").ok());
  REQUIRE(fs.DropUnsyncedData().ok());  // from now on the open file fails every call
  Status s;
  for (int i = 1; i < 100 && s.ok(); ++i) s = b.Add(Key16(i), std::string(100, 'v'));
  CHECK(s.IsIOError());
  CHECK(b.Add(Key16(1000), "v").IsIOError());  // sticky
  CHECK(b.Finish().IsIOError());
}

TEST_CASE("sstable: concurrent Gets on one reader") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  Entries e;
  for (int i = 0; i < 20000; ++i) e.emplace_back(Key16(i), "value-" + std::to_string(i * 31));
  Build(path, e);
  auto table = MustOpen(path);
  std::vector<std::thread> threads;
  std::vector<int> errors(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::string value;
      bool found;
      for (size_t i = t; i < e.size(); i += 3) {
        if (!table->Get(e[i].first, &value, &found).ok() || !found || value != e[i].second) {
          ++errors[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int n : errors) CHECK(n == 0);
}

// --- Corruption -------------------------------------------------------------------------------

bool NamesFileAndOffset(const Status& s) {
  return s.message().find("t.sst") != std::string::npos &&
         s.message().find("at offset") != std::string::npos;
}

// Opens the (damaged) file and reads everything. Every read must either return the original
// data or a Corruption naming the file and an offset; returns true if some Corruption was seen.
bool ReadAllDetectsDamage(const std::string& path, const Entries& e,
                          uint64_t size_override = UINT64_MAX) {
  std::unique_ptr<SstableReader> table;
  Status s = OpenTable(path, &table, size_override);
  if (!s.ok()) {
    REQUIRE_MESSAGE(s.IsCorruption(), s.ToString());
    REQUIRE_MESSAGE(NamesFileAndOffset(s), s.ToString());
    return true;
  }
  bool detected = false;
  auto it = table->NewIterator();
  size_t i = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++i) {
    REQUIRE(i < e.size());
    REQUIRE(it->key() == e[i].first);
    REQUIRE(it->value() == e[i].second);
  }
  if (!it->status().ok()) {
    REQUIRE_MESSAGE(it->status().IsCorruption(), it->status().ToString());
    REQUIRE_MESSAGE(NamesFileAndOffset(it->status()), it->status().ToString());
    detected = true;
  }
  std::string value;
  bool found;
  for (const auto& [k, v] : e) {
    Status g = table->Get(k, &value, &found);
    if (!g.ok()) {
      REQUIRE_MESSAGE(g.IsCorruption(), g.ToString());
      REQUIRE(NamesFileAndOffset(g));
      detected = true;
    } else {
      // The bloom filter and the index are checksummed, so a present key is never missed.
      REQUIRE(found);
      REQUIRE(value == v);
    }
  }
  return detected;
}

Entries SmallTable(const std::string& path, SstableOptions options = {}) {
  Entries e;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 120; ++i) {
    // Half compressible, half random values, so both block types are present.
    e.emplace_back(Key16(i * 7), i % 2 ? RandomBytes(&rng, 20) : std::string(20, 'q'));
  }
  options.block_size = 300;
  Build(path, e, options);
  return e;
}

TEST_CASE("sstable: a flipped byte at any offset is detected, never a crash") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  const Entries e = SmallTable(path);
  const std::string original = Slurp(path);
  MESSAGE("flipping every byte of a " << original.size() << "-byte table");
  std::mt19937_64 rng(5);
  for (size_t off = 0; off < original.size(); ++off) {
    std::string damaged = original;
    damaged[off] = static_cast<char>(damaged[off] ^ (1 + rng() % 255));
    Spit(path, damaged);
    INFO("offset " << off);
    REQUIRE(ReadAllDetectsDamage(path, e));  // every byte is covered by some checksum
  }
}

TEST_CASE("sstable: truncation at every 97th offset is detected") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  std::mt19937_64 rng(9);
  Entries e;
  for (int i = 0; i < 1500; ++i) e.emplace_back(Key16(i), RandomBytes(&rng, 1 + i % 40));
  Build(path, e);
  const std::string original = Slurp(path);
  for (size_t len = 0; len < original.size(); len += 97) {
    INFO("truncated to " << len);
    Spit(path, original.substr(0, len));
    REQUIRE(ReadAllDetectsDamage(path, e));                   // size from the file system
    REQUIRE(ReadAllDetectsDamage(path, e, original.size()));  // the manifest's (stale) size
  }
}

// Rewrites the footer's version field (recomputing the footer checksum) or another field.
std::string WithFooterField(std::string file, size_t field_offset, uint32_t v) {
  char* footer = file.data() + file.size() - kSstableFooterSize;
  memcpy(footer + field_offset, &v, 4);
  const uint32_t crc = Crc32cMask(Crc32c(footer, 44));
  memcpy(footer + 44, &crc, 4);
  return file;
}

// Replaces the type byte of the block at [offset, offset + size) and fixes its checksum, so the
// damage is not caught by the CRC and the decoder itself must cope.
std::string WithBlockType(std::string file, uint64_t offset, uint64_t size, uint8_t type) {
  file[offset + size] = static_cast<char>(type);
  const uint32_t crc = Crc32cMask(Crc32c(file.data() + offset, size + 1));
  memcpy(file.data() + offset + size + 1, &crc, 4);
  return file;
}

// Expects opening `contents` (and reading every block) to fail with a Corruption whose message
// contains `what` and names the file and an offset.
void ExpectCorruption(const std::string& path, const std::string& contents,
                      const std::string& what) {
  Spit(path, contents);
  std::unique_ptr<SstableReader> table;
  Status s = OpenTable(path, &table);
  if (s.ok()) {
    auto it = table->NewIterator();
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
    }
    s = it->status();
  }
  CHECK_MESSAGE(s.IsCorruption(), s.ToString());
  CHECK_MESSAGE(s.message().find(what) != std::string::npos, s.ToString());
  CHECK(NamesFileAndOffset(s));
}

// Size of the stored bytes of the data block at offset 0: the smallest n whose trailer checksum
// verifies (a reader-independent way to find the first block).
uint64_t FirstBlockSize(const std::string& file) {
  for (uint64_t n = 1; n + 5 <= file.size(); ++n) {
    if (Crc32cUnmask(DecodeFixed32(file.data() + n + 1)) == Crc32c(file.data(), n + 1)) return n;
  }
  return 0;
}

TEST_CASE("sstable: footer corruptions are reported by name") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  SmallTable(path);
  const std::string original = Slurp(path);

  std::string bad_magic = original;
  bad_magic[bad_magic.size() - 1] ^= 0x20;
  ExpectCorruption(path, bad_magic, "bad magic");
  ExpectCorruption(path, WithFooterField(original, 40, 2), "unsupported format version 2");
  std::string bad_footer = original;
  bad_footer[bad_footer.size() - kSstableFooterSize + 33] ^= 1;  // entry count
  ExpectCorruption(path, bad_footer, "footer checksum");
  ExpectCorruption(path, WithFooterField(original, 0, 1), "footer block handles");
  ExpectCorruption(path, original.substr(0, 10), "too short");
  ExpectCorruption(path, std::string(original.size(), '\0'), "bad magic");
  ExpectCorruption(path, original.substr(0, original.size() - 1), "bad magic");
}

// Size of the zstd frame header at the start of `frame` (RFC 8878 section 3.1.1.1): magic,
// descriptor byte, optional window descriptor, dictionary id and content size fields.
size_t ZstdFrameHeaderSize(const std::string& frame) {
  const uint8_t fhd = static_cast<uint8_t>(frame[4]);
  const bool single_segment = (fhd >> 5) & 1;
  const size_t did_sizes[] = {0, 1, 2, 4};
  const size_t fcs_sizes[] = {single_segment ? 1u : 0u, 2, 4, 8};
  return 5 + (single_segment ? 0 : 1) + did_sizes[fhd & 3] + fcs_sizes[fhd >> 6];
}

TEST_CASE("sstable: blocks that pass their checksum but do not decode are reported") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  std::mt19937_64 rng(21);
  for (bool compressible : {false, true}) {
    INFO("compressible " << compressible);
    Entries e;
    for (int i = 0; i < 200; ++i) {
      e.emplace_back(Key16(i), compressible ? std::string(50, 'z') : RandomBytes(&rng, 50));
    }
    Build(path, e);
    const std::string original = Slurp(path);
    const uint64_t size0 = FirstBlockSize(original);
    REQUIRE(size0 > 0);
    const uint8_t type0 = static_cast<uint8_t>(original[size0]);
    CHECK(type0 == (compressible ? kSstableZstdBlock : kSstableRawBlock));

    ExpectCorruption(path, WithBlockType(original, 0, size0, 7), "unknown block type 7");
    if (!compressible) {
      ExpectCorruption(path, WithBlockType(original, 0, size0, kSstableZstdBlock),
                       "bad zstd frame header");
      std::string bad_entry = original;
      bad_entry[0] = 5;  // the first entry claims a 5-byte shared prefix
      ExpectCorruption(path, WithBlockType(bad_entry, 0, size0, kSstableRawBlock),
                       "bad entry at byte 0");
      // Bytes 3..18 hold the first key "key:000000000000": make it "key:000000000009", which
      // sorts after the second key; the block decodes, but out of order.
      std::string unordered = original;
      unordered[18] = '9';
      ExpectCorruption(path, WithBlockType(unordered, 0, size0, kSstableRawBlock),
                       "bad entry at byte 69");
    } else {
      // A zstd frame read as raw entries: its first byte (0x28) is a non-zero shared length.
      ExpectCorruption(path, WithBlockType(original, 0, size0, kSstableRawBlock),
                       "bad entry at byte 0");
      // Keep the frame header (so the declared size is plausible) and zero the compressed data
      // after it: zstd sees empty, never-ending raw blocks and runs out of input.
      const size_t header = ZstdFrameHeaderSize(original);
      REQUIRE(header < size0);
      std::string no_data = original;
      for (size_t i = header; i < size0; ++i) no_data[i] = 0;
      ExpectCorruption(path, WithBlockType(no_data, 0, size0, kSstableZstdBlock),
                       "undecodable zstd block");
    }
  }
}

// Found by tests/fuzz/sstable_reader_fuzz: each block was ordered and agreed with the index,
// but a block's first key sorted before the previous block's last key, and iteration went
// backwards ("a", "m", "b", "z").
TEST_CASE("sstable: a block starting before the previous block's last key is reported") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  SstableOptions options;
  options.block_size = 28;  // two 14-byte entries per block: [a, m] [n, z]
  options.bloom_bits_per_key = 0;
  Build(path, {{"a", "0123456789"}, {"m", "1234567890"}, {"n", "2345678901"},
               {"z", "3456789012"}},
        options);
  const std::string original = Slurp(path);
  const uint64_t size0 = FirstBlockSize(original);
  REQUIRE(size0 == 28);
  REQUIRE(original[size0] == static_cast<char>(kSstableRawBlock));
  // Block 1 starts right after block 0's trailer; its first key byte follows 3 length bytes.
  const uint64_t block1 = size0 + kSstableBlockTrailerSize;
  std::string unordered = original;
  REQUIRE(unordered[block1 + 3] == 'n');
  unordered[block1 + 3] = 'b';
  ExpectCorruption(path, WithBlockType(unordered, block1, size0, kSstableRawBlock),
                   "does not sort after the previous block");
}

// A zstd frame header may claim any content size up to kSstableMaxBlockContents (2 GiB). The
// reader used to allocate (and zero) that much before decompressing a block of a few dozen
// bytes. A zstd block yields at most 128 KiB from at least 3 bytes, so a larger claim is damage.
TEST_CASE("sstable: a zstd frame claiming more than its bytes can hold is rejected first") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  Entries e;
  for (int i = 0; i < 40; ++i) e.emplace_back(Key16(i), std::string(50, 'z'));
  Build(path, e);
  const std::string original = Slurp(path);
  const uint64_t size0 = FirstBlockSize(original);
  REQUIRE(size0 >= 16);
  REQUIRE(original[size0] == static_cast<char>(kSstableZstdBlock));
  // Same size as block 0: magic, a header byte saying "single segment, 4-byte content size",
  // the content size 2^31 - 1, then one last raw block holding the remaining bytes.
  std::string frame = std::string("\x28\xb5\x2f\xfd\xa0\xff\xff\xff\x7f", 9);
  const uint32_t raw_size = static_cast<uint32_t>(size0 - frame.size() - 3);
  const uint32_t block_header = 1 | (raw_size << 3);  // last block, type raw
  frame.append(reinterpret_cast<const char*>(&block_header), 3);
  frame.append(raw_size, 'x');
  REQUIRE(frame.size() == size0);
  std::string claiming = original;
  claiming.replace(0, size0, frame);

  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  ExpectCorruption(path, WithBlockType(claiming, 0, size0, kSstableZstdBlock),
                   "bad zstd frame header");
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  CHECK(after.ru_maxrss - before.ru_maxrss < 64 * 1024);  // KiB; the claim was 2 GiB
}

// --- Block cache -------------------------------------------------------------------------------

TEST_CASE("sstable: Get through a block cache reads each block once") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  const Entries e = SmallTable(path);  // raw and zstd blocks of ~300 bytes
  auto table = MustOpen(path);
  REQUIRE(table->num_blocks() > 4);
  REQUIRE(e[1].first <= table->BlockLastKey(0));  // e[0] and e[1] share the first block
  BlockCache cache(1 << 20);
  constexpr uint64_t kFile = 12;
  std::string value;
  bool found = false;
  REQUIRE(table->Get(e[0].first, &value, &found, &cache, kFile).ok());
  CHECK(found);
  CHECK(value == e[0].second);
  CHECK(cache.misses() == 1);
  CHECK(cache.hits() == 0);
  CHECK(cache.entries() == 1);
  REQUIRE(table->Get(e[1].first, &value, &found, &cache, kFile).ok());  // same block: a hit
  CHECK(found);
  CHECK(value == e[1].second);
  CHECK(cache.hits() == 1);
  CHECK(cache.misses() == 1);
  // A key absent from a cached block is still absent (the bloom filter may let it through).
  REQUIRE(table->Get(e[0].first + std::string(1, '\0'), &value, &found, &cache, kFile).ok());
  CHECK_FALSE(found);

  // Every key: the first pass fills the cache with every block, the second only hits.
  for (const auto& [k, v] : e) {
    REQUIRE(table->Get(k, &value, &found, &cache, kFile).ok());
    REQUIRE(found);
    REQUIRE(value == v);
  }
  CHECK(cache.entries() == table->num_blocks());
  const uint64_t misses = cache.misses();
  CHECK(misses == table->num_blocks());
  // The cached blocks hold the decompressed entries: the file's bytes are no longer read.
  // Zero the data blocks on disk; a Get without the cache now sees the damage, one through it
  // still answers from memory.
  std::string zeroed = Slurp(path);
  const uint64_t data_end = DecodeFixed64(zeroed.data() + zeroed.size() - kSstableFooterSize);
  std::fill(zeroed.begin(), zeroed.begin() + static_cast<std::ptrdiff_t>(data_end), '\0');
  Spit(path, zeroed);
  CHECK(table->Get(e[0].first, &value, &found).IsCorruption());
  for (const auto& [k, v] : e) {
    REQUIRE(table->Get(k, &value, &found, &cache, kFile).ok());
    REQUIRE(found);
    REQUIRE(value == v);
  }
  CHECK(cache.misses() == misses);
  // Another file number is another table: not served from this one's blocks.
  CHECK(table->Get(e[0].first, &value, &found, &cache, kFile + 1).IsCorruption());
}

TEST_CASE("sstable: a damaged block is reported through a cache and never cached") {
  TempDir dir;
  const std::string path = dir.File("t.sst");
  const Entries e = SmallTable(path);
  std::string damaged = Slurp(path);
  damaged[3] = static_cast<char>(damaged[3] ^ 0x40);  // inside the first data block
  Spit(path, damaged);
  auto table = MustOpen(path);  // the footer, index and filter are intact
  BlockCache cache(1 << 20);
  std::string value;
  bool found;
  for (int attempt = 0; attempt < 2; attempt++) {
    Status s = table->Get(e[0].first, &value, &found, &cache, 1);
    CHECK_MESSAGE(s.IsCorruption(), s.ToString());
    CHECK(s.message().find("t.sst at offset 0: block checksum mismatch") != std::string::npos);
    CHECK(cache.entries() == 0);
    CHECK(cache.usage() == 0);
  }
  CHECK(cache.misses() == 2);  // each attempt read the file again
  // Keys of the intact blocks are served and cached.
  const std::string& last = e.back().first;
  REQUIRE(last > table->BlockLastKey(0));
  REQUIRE(table->Get(last, &value, &found, &cache, 1).ok());
  CHECK(found);
  CHECK(value == e.back().second);
  CHECK(cache.entries() == 1);
}

// --- Measurements reported in docs/sstable-format.md --------------------------------------------

TEST_CASE("sstable: sizes and speed for 100k entries of 16-byte keys and 32-byte values") {
  TempDir dir;
  std::mt19937_64 rng(1);
  const char* kWords[] = {"alpha", "beta", "gamma", "delta", "active", "idle", "eu", "us"};
  for (const std::string kind : {"repetitive", "random"}) {
    Entries e;
    for (uint64_t i = 0; i < 100000; ++i) {
      std::string v;
      if (kind == "repetitive") {
        // Structured, like a small JSON/serialized record: a few words and a counter.
        v = std::string("{\"s\":\"") + kWords[rng() % 8] + "\",\"n\":" + std::to_string(i % 997) +
            ",\"r\":\"" + kWords[rng() % 8] + "\"}";
        v.resize(32, ' ');
      } else {
        v = RandomBytes(&rng, 32);
      }
      e.emplace_back(Key16(i), std::move(v));
    }
    const std::string path = dir.File(kind + ".sst");
    const auto t0 = std::chrono::steady_clock::now();
    const uint64_t size = Build(path, e);
    const auto t1 = std::chrono::steady_clock::now();
    auto table = MustOpen(path);
    std::string value;
    bool found;
    for (const auto& [k, v] : e) REQUIRE(table->Get(k, &value, &found).ok());
    const auto t2 = std::chrono::steady_clock::now();
    const double raw = 100000.0 * 48;
    auto us = [](auto d) { return std::chrono::duration<double, std::micro>(d).count(); };
    const std::string file = Slurp(path);
    const char* footer = file.data() + file.size() - kSstableFooterSize;
    const uint64_t filter_size = DecodeFixed64(footer + 8);
    const uint64_t index_size = DecodeFixed64(footer + 24);
    const uint64_t data_size = DecodeFixed64(footer);  // filter offset = end of data blocks
    MESSAGE(kind << ": file " << size << " bytes for " << raw << " raw bytes (ratio " << raw / size
                 << "); data " << data_size << " in " << table->num_blocks() << " blocks (ratio "
                 << raw / data_size << "), filter " << filter_size << ", index " << index_size
                 << "; build " << us(t1 - t0) / 1000 << " ms, Get " << us(t2 - t1) / 100000
                 << " us/key");
    CHECK(size < raw * 1.2);
  }
}

}  // namespace
}  // namespace organic::engine
