// Damaged tables against the real server (docs/sstable-format.md, "Damaged tables"): a table of
// a stopped server gets a few bytes of bit rot; the restart must succeed, serve every other key,
// answer the disk-read error for the damaged ones, report the table in INFO and the log, and
// organic-check-sst --fix must make DBSIZE whole again.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/manifest.h"
#include "engine/sstable_reader.h"
#include "server_process.h"
#include "util/file.h"

namespace organic::itest {
namespace {

const char* CheckSstBinary() {
  const char* env = std::getenv("ORGANIC_CHECK_SST_BIN");
  return env != nullptr ? env : ORGANIC_CHECK_SST_BIN;
}

std::string Key(int i) {
  char buf[16];
  snprintf(buf, sizeof(buf), "key%05d", i);
  return buf;
}
std::string Value(int i) { return "value-" + std::to_string(i) + std::string(60, 'x'); }

// The sst-N.sst files of dir, by number.
std::vector<std::string> TableFiles(const std::string& dir) {
  std::vector<std::pair<uint64_t, std::string>> found;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    uint64_t n;
    std::string name = entry.path().filename().string();
    if (engine::ParseSstableFileName(name, &n)) found.emplace_back(n, dir + "/" + name);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

std::unique_ptr<engine::SstableReader> OpenTable(const std::string& path) {
  std::unique_ptr<RandomAccessFile> file;
  REQUIRE(DefaultFileSystem()->NewRandomAccessFile(path, &file).ok());
  std::unique_ptr<engine::SstableReader> reader;
  REQUIRE(engine::SstableReader::Open(std::move(file), std::filesystem::file_size(path), path,
                                      &reader)
              .ok());
  return reader;
}

// XORs 4 bytes at offset.
void Damage(const std::string& path, uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f.good());
  char b[4];
  f.seekg(static_cast<std::streamoff>(offset));
  f.read(b, 4);
  for (char& c : b) c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(b, 4);
  REQUIRE(f.good());
}

std::string InfoField(redisContext* c, const std::string& field) {
  std::string info = Cmd(c, {"INFO", "organic"});
  size_t at = info.find(field + ":");
  if (at == std::string::npos) return "(missing)";
  size_t end = info.find('\r', at);
  return info.substr(at + field.size() + 1, end - at - field.size() - 1);
}

int64_t ScanCount(redisContext* c) {
  int64_t n = 0;
  std::string cursor = "0";
  do {
    RedisReplyPtr r = Command(c, {"SCAN", cursor, "COUNT", "1000"});
    REQUIRE(r != nullptr);
    REQUIRE(r->type == REDIS_REPLY_ARRAY);
    cursor = r->element[0]->str;
    n += static_cast<int64_t>(r->element[1]->elements);
  } while (cursor != "0");
  return n;
}

TEST_CASE("damaged table: the server restarts over a damaged block and the tool repairs it") {
  ServerProcess server;
  REQUIRE(server.Start());
  {
    RedisContextPtr c = server.Connect();
    REQUIRE(c != nullptr);
    for (int i = 0; i < 3000; i++) AppendCommand(c.get(), {"SET", Key(i), Value(i)});
    for (int i = 0; i < 3000; i++) REQUIRE(FormatReply(GetReply(c.get()).get()) == "OK");
    REQUIRE(Cmd(c.get(), {"SAVE"}) == "OK");
  }
  std::vector<std::string> tables = TableFiles(server.data_dir());
  REQUIRE(tables.size() == 1);
  const std::string path = tables[0];
  const std::string name = std::filesystem::path(path).filename().string();
  auto reader = OpenTable(path);
  REQUIRE(reader->num_blocks() > 10);
  const size_t b = reader->num_blocks() / 2;
  const uint64_t offset = reader->BlockOffset(b);
  std::vector<int> in_block;
  for (int i = 0; i < 3000; i++) {
    if (Key(i) > reader->BlockLastKey(b - 1) && Key(i) <= reader->BlockLastKey(b)) {
      in_block.push_back(i);
    }
  }
  REQUIRE(in_block.size() >= 3);
  reader.reset();
  {
    // Writes that only the WAL holds: one over a key of the block, one new key.
    RedisContextPtr c = server.Connect();
    REQUIRE(Cmd(c.get(), {"SET", Key(in_block[0]), "rewritten"}) == "OK");
    REQUIRE(Cmd(c.get(), {"SET", "extra", "1"}) == "OK");
  }
  REQUIRE(server.Stop() == 0);
  Damage(path, offset + 3);

  REQUIRE(server.Start());  // used to fail: "Fatal error loading the WAL ... checksum mismatch"
  {
    RedisContextPtr c = server.Connect();
    REQUIRE(c != nullptr);
    CHECK(CmdInt(c.get(), {"DBSIZE"}) == 3001);  // the manifest's count (see the docs)
    CHECK(Cmd(c.get(), {"GET", Key(in_block[0])}) == "rewritten");
    CHECK(Cmd(c.get(), {"GET", Key(0)}) == Value(0));
    CHECK(Cmd(c.get(), {"GET", Key(2999)}) == Value(2999));
    CHECK(Cmd(c.get(), {"GET", "extra"}) == "1");
    std::string error = Cmd(c.get(), {"GET", Key(in_block[1])});
    CHECK(error.rfind("ERR disk read failed: ", 0) == 0);
    CHECK(error.find(name + " at offset " + std::to_string(offset)) != std::string::npos);
    // A write into the damaged range is refused and changes nothing.
    CHECK(Cmd(c.get(), {"MSET", Key(1), "no", Key(in_block[2]), "no"}).rfind("ERR disk read", 0) ==
          0);
    CHECK(Cmd(c.get(), {"GET", Key(1)}) == Value(1));
    CHECK(InfoField(c.get(), "organic_damaged_tables") == "1");
    CHECK(Cmd(c.get(), {"SET", "after", "2"}) == "OK");  // other writes go on
  }
  // The lookup's report reaches the log within a cron tick.
  bool logged = false;
  for (int i = 0; i < 50 && !logged; i++) {
    logged = server.log_since_start().find("Damaged table " + name) != std::string::npos;
    if (!logged) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(logged);
  REQUIRE(server.Stop() == 0);

  ProcessResult report = RunProgram({CheckSstBinary(), server.data_dir()});
  CHECK(report.exit_code == 1);
  CHECK(report.out.find("data block " + std::to_string(b)) != std::string::npos);
  CHECK(report.out.find("at offset " + std::to_string(offset)) != std::string::npos);
  ProcessResult fix = RunProgram({CheckSstBinary(), "--fix", server.data_dir()});
  INFO(fix.out, fix.err);
  CHECK(fix.exit_code == 0);
  CHECK(RunProgram({CheckSstBinary(), server.data_dir()}).exit_code == 0);

  REQUIRE(server.Start());
  RedisContextPtr c = server.Connect();
  // Whole again: the block's keys are gone except the one the WAL rewrote.
  const int64_t expected = 3000 - static_cast<int64_t>(in_block.size()) + 1 + 2;
  CHECK(CmdInt(c.get(), {"DBSIZE"}) == expected);
  CHECK(ScanCount(c.get()) == expected);
  CHECK(Cmd(c.get(), {"GET", Key(in_block[1])}) == "(nil)");
  CHECK(Cmd(c.get(), {"GET", Key(in_block[0])}) == "rewritten");
  CHECK(Cmd(c.get(), {"GET", Key(0)}) == Value(0));
  CHECK(Cmd(c.get(), {"GET", Key(1)}) == Value(1));  // the refused MSET left no trace
  CHECK(Cmd(c.get(), {"GET", "after"}) == "2");
  CHECK(InfoField(c.get(), "organic_damaged_tables") == "0");
  CHECK(InfoField(c.get(), "organic_replay_read_errors") == "0");
}

TEST_CASE("damaged table: the server restarts over a damaged footer or index") {
  for (const char* where : {"footer", "index"}) {
    CAPTURE(where);
    ServerProcess server;
    REQUIRE(server.Start());
    {
      RedisContextPtr c = server.Connect();
      for (int i = 0; i < 500; i++) REQUIRE(Cmd(c.get(), {"SET", Key(i), Value(i)}) == "OK");
      REQUIRE(Cmd(c.get(), {"SAVE"}) == "OK");
      for (int i = 1000; i < 1500; i++) REQUIRE(Cmd(c.get(), {"SET", Key(i), Value(i)}) == "OK");
      REQUIRE(Cmd(c.get(), {"SAVE"}) == "OK");
      REQUIRE(Cmd(c.get(), {"SET", "memory", "m"}) == "OK");
    }
    REQUIRE(server.Stop() == 0);
    // The table of keys 1000..1499 (the shutdown's flush may have written one more).
    std::string path;
    for (const std::string& t : TableFiles(server.data_dir())) {
      auto reader = OpenTable(t);
      if (reader->num_blocks() > 0 &&
          reader->BlockLastKey(reader->num_blocks() - 1) == Key(1499)) {
        path = t;
      }
    }
    REQUIRE(!path.empty());
    const uint64_t size = std::filesystem::file_size(path);
    uint64_t offset = size - 20;
    if (std::string(where) == "index") {
      std::ifstream in(path, std::ios::binary);
      in.seekg(static_cast<std::streamoff>(size - 56 + 16));
      unsigned char buf[8];
      in.read(reinterpret_cast<char*>(buf), 8);
      offset = 0;
      for (int i = 7; i >= 0; i--) offset = offset << 8 | buf[i];
      offset += 1;
    }
    Damage(path, offset);
    REQUIRE(server.Start());
    RedisContextPtr c = server.Connect();
    CHECK(Cmd(c.get(), {"GET", Key(7)}) == Value(7));
    CHECK(Cmd(c.get(), {"GET", "memory"}) == "m");
    CHECK(Cmd(c.get(), {"GET", Key(1200)}).rfind("ERR disk read failed: ", 0) == 0);
    CHECK(InfoField(c.get(), "organic_damaged_tables") == "1");
    CHECK(server.log_since_start().find("set aside") != std::string::npos);
    CHECK(CmdInt(c.get(), {"DBSIZE"}) == 1001);
    REQUIRE(server.Stop() == 0);
    CHECK(RunProgram({CheckSstBinary(), "--fix", server.data_dir()}).exit_code == 0);
    REQUIRE(server.Start());
    c = server.Connect();
    CHECK(CmdInt(c.get(), {"DBSIZE"}) == 501);
    CHECK(ScanCount(c.get()) == 501);
    CHECK(Cmd(c.get(), {"GET", Key(1200)}) == "(nil)");
  }
}

}  // namespace
}  // namespace organic::itest
