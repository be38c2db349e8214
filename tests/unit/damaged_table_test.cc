// Damaged tables (docs/sstable-format.md, "Damaged tables"; docs/reliability.md): a restart with
// any part of a table damaged, the WAL replay over a damaged block, writes into a damaged range,
// compaction over a damaged block, and organic-check-sst. Damage is a few bytes XORed in place
// at an offset computed from the table's own layout (footer and index, docs/sstable-format.md).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "command_harness.h"
#include "engine/engine.h"
#include "engine/sstable_reader.h"
#include "test_files.h"
#include "util/clock.h"
#include "util/coding.h"

#define ORGANIC_CHECK_SST_NO_MAIN
#include "../../tools/organic_check_sst.cc"

namespace organic::engine {
namespace {

using organic::testing::Slurp;
using organic::testing::TempDir;

std::string Key(int i) {
  char buf[16];
  snprintf(buf, sizeof(buf), "key%05d", i);
  return buf;
}

EngineOptions Options(const std::string& dir) {
  EngineOptions o;
  o.dir = dir;
  o.sstable.block_size = 256;  // many small blocks: one damaged block is a small key range
  return o;
}

std::unique_ptr<Engine> OpenEngine(EngineOptions o) {
  auto e = std::make_unique<Engine>(std::move(o));
  Status st = e->Open();
  INFO(st.ToString());
  REQUIRE(st.ok());
  return e;
}
std::unique_ptr<Engine> OpenEngine(const std::string& dir) { return OpenEngine(Options(dir)); }

void Put(Engine& e, const std::string& key, const std::string& value) {
  e.Put(0, key, ValueType::kString, value, 0);
}

// The value of key, "(nil)" when absent; *error gets the read error of the lookup (or "").
std::string Read(Engine& e, const std::string& key, std::string* error = nullptr) {
  auto v = e.Get(0, key, LookupMode::kRead);
  std::string result = v ? std::string(v->value) : "(nil)";
  Status st = e.TakeReadError();
  if (error != nullptr) *error = st.ok() ? "" : st.ToString();
  else CHECK_MESSAGE(st.ok(), st.ToString());
  e.PollBackground();
  return result;
}

// The table files of dir, by number.
std::vector<uint64_t> Tables(const std::string& dir) {
  std::vector<uint64_t> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    uint64_t n;
    if (ParseSstableFileName(entry.path().filename().string(), &n)) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Where the parts of a table are, from its footer and (if readable) its index.
struct Layout {
  uint64_t size = 0, filter_offset = 0, index_offset = 0;
  std::unique_ptr<SstableReader> reader;
  // Keys of the table that data block b may hold: (BlockLastKey(b - 1), BlockLastKey(b)].
  bool InBlock(size_t b, const std::string& key) const {
    return key <= reader->BlockLastKey(b) && (b == 0 || key > reader->BlockLastKey(b - 1));
  }
};

Layout ReadLayout(const std::string& path) {
  Layout l;
  std::string bytes = Slurp(path);
  l.size = bytes.size();
  const char* footer = bytes.data() + bytes.size() - kSstableFooterSize;
  l.filter_offset = DecodeFixed64(footer);
  l.index_offset = DecodeFixed64(footer + 16);
  std::unique_ptr<RandomAccessFile> file;
  REQUIRE(DefaultFileSystem()->NewRandomAccessFile(path, &file).ok());
  REQUIRE(SstableReader::Open(std::move(file), l.size, path, &l.reader).ok());
  return l;
}

// XORs 4 bytes at offset: a few bytes of bit rot.
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

std::string TablePath(const std::string& dir, uint64_t n) { return dir + "/" + SstableFileName(n); }

// 1000 keys key00000.. with values v<i> flushed into one table; returns its number.
uint64_t OneTable(const std::string& dir, int first = 0, int count = 1000) {
  auto e = OpenEngine(dir);
  for (int i = first; i < first + count; i++) Put(*e, Key(i), "v" + std::to_string(i));
  REQUIRE(e->Flush().ok());
  REQUIRE(e->Close().ok());
  std::vector<uint64_t> tables = Tables(dir);
  REQUIRE(!tables.empty());
  return tables.back();
}

// Runs one command as the server does: one WAL batch, and a table read error replaces the reply.
std::string RunCommand(Engine& e, std::vector<std::string> args) {
  commands::CommandTable table;
  commands::RegisterAllCommands(&table);
  organic::testing::FakeServerApi api(&table);
  commands::Session session;
  std::string out;
  protocol::ReplyBuilder reply(&out, session.resp);
  const commands::CommandSpec* spec = table.Resolve(args, &reply);
  REQUIRE(spec != nullptr);
  commands::CommandContext ctx{args, &reply, &e, &session, &api};
  e.BeginCommand();
  spec->handler(ctx);
  e.EndCommand();
  Status st = e.TakeReadError();
  if (!st.ok()) {
    out.clear();
    reply.Error("ERR disk read failed: " + st.ToString());
  }
  REQUIRE(e.FlushWal().ok());
  return out;
}

uint64_t ScanCount(Engine& e) {
  uint64_t n = 0;
  std::string next;
  bool finished = false;
  e.Scan(0, "", false, 1 << 30, [&](std::string_view, const RecordView&) { n++; }, &next,
         &finished);
  CHECK(e.TakeReadError().ok());
  return n;
}

TEST_CASE("damaged table: a bad data block fails only its own keys, at start-up and after") {
  TempDir dir;
  const uint64_t n = OneTable(dir.path());
  const std::string path = TablePath(dir.path(), n);
  Layout l = ReadLayout(path);
  REQUIRE(l.reader->num_blocks() > 10);
  const size_t b = l.reader->num_blocks() / 2;
  const uint64_t offset = l.reader->BlockOffset(b);
  Damage(path, offset + 2);

  auto e = OpenEngine(dir.path());
  CHECK(e->KeyCount(0) == 1000);  // the manifest's count: the block's keys are not known lost
  int failed = 0;
  for (int i = 0; i < 1000; i++) {
    std::string error;
    std::string value = Read(*e, Key(i), &error);
    if (l.InBlock(b, Key(i))) {
      failed++;
      CHECK(value == "(nil)");
      CHECK(error.find(SstableFileName(n) + " at offset " + std::to_string(offset)) !=
            std::string::npos);
    } else {
      CHECK(error == "");
      CHECK(value == "v" + std::to_string(i));
    }
  }
  CHECK(failed > 0);
  // The lookup reported the table; the next compaction tick sets it aside.
  CHECK(e->DamagedTables() == 1);
  e->MaybeStartCompaction();
  CHECK(e->DamagedTables() == 1);
  CHECK(e->stats().tables_set_aside == 1);
}

TEST_CASE("damaged table: a bad bloom filter costs nothing but reads") {
  TempDir dir;
  const uint64_t n = OneTable(dir.path());
  const std::string path = TablePath(dir.path(), n);
  Layout l = ReadLayout(path);
  Damage(path, l.filter_offset + 1);
  auto e = OpenEngine(dir.path());
  CHECK(e->DamagedTables() == 1);
  for (int i = 0; i < 1000; i += 7) CHECK(Read(*e, Key(i)) == "v" + std::to_string(i));
  CHECK(Read(*e, "absent") == "(nil)");
  CHECK(e->KeyCount(0) == 1000);
  CHECK(ScanCount(*e) == 1000);
}

// Two tables, the newer one (keys 1000..1999) damaged at `where`; the older one and the
// MemTable keep serving, new writes and flushes go on, and the table is never deleted.
void CheckUnreadableTable(const char* where) {
  TempDir dir;
  OneTable(dir.path(), 0, 1000);
  const uint64_t n = OneTable(dir.path(), 1000, 1000);
  const std::string path = TablePath(dir.path(), n);
  Layout l = ReadLayout(path);
  uint64_t offset = std::string(where) == "index" ? l.index_offset + 1 : l.size - 20;
  Damage(path, offset);

  auto e = OpenEngine(dir.path());
  CHECK(e->DamagedTables() == 1);
  for (int i = 0; i < 1000; i += 13) CHECK(Read(*e, Key(i)) == "v" + std::to_string(i));
  for (int i = 1000; i < 2000; i += 13) {
    std::string error;
    CHECK(Read(*e, Key(i), &error) == "(nil)");
    CHECK(error.find(SstableFileName(n)) != std::string::npos);
  }
  CHECK(Read(*e, "zzz") == "(nil)");  // outside the table's key range: no error
  // Writes and flushes go on; the manifest keeps listing the damaged table.
  Put(*e, "zzz", "new");
  REQUIRE(e->Flush().ok());
  REQUIRE(e->Close().ok());
  CHECK(std::filesystem::exists(path));
  e = OpenEngine(dir.path());
  CHECK(Read(*e, "zzz") == "new");
  CHECK(Read(*e, Key(5)) == "v5");
  CHECK(e->DamagedTables() == 1);
  CHECK(e->KeyCount(0) == 2001);
}

TEST_CASE("damaged table: a bad index does not stop a restart") { CheckUnreadableTable("index"); }

TEST_CASE("damaged table: a bad footer does not stop a restart") { CheckUnreadableTable("footer"); }

TEST_CASE("damaged table: the WAL replay goes over a damaged block with exact counts") {
  TempDir dir;
  uint64_t n;
  std::vector<std::string> in_block;
  size_t b;
  uint64_t offset;
  {
    n = OneTable(dir.path());
    Layout l = ReadLayout(TablePath(dir.path(), n));
    b = l.reader->num_blocks() / 2;
    offset = l.reader->BlockOffset(b);
    for (int i = 0; i < 1000; i++) {
      if (l.InBlock(b, Key(i))) in_block.push_back(Key(i));
    }
    REQUIRE(in_block.size() >= 4);
    // WAL-only writes over keys of the block, made while it was still readable.
    auto e = OpenEngine(dir.path());
    Put(*e, in_block[0], "new0");
    Put(*e, in_block[1], "new1");
    CHECK(e->Delete(0, in_block[2]));
    CHECK(e->SetExpire(0, in_block[3], UnixTimeMs() + 3600 * 1000));
    Put(*e, "new-key", "x");
    Put(*e, Key(0), "changed");
    REQUIRE(e->FlushWal().ok());
    CHECK(e->KeyCount(0) == 1000);
    REQUIRE(e->Close().ok());
  }
  Damage(TablePath(dir.path(), n), offset + 2);
  auto e = OpenEngine(dir.path());  // used to fail: "Fatal error loading the WAL ..."
  CHECK(e->TakeReadError().ok());   // the replay leaves no error for the first command
  CHECK(e->stats().replay_read_errors == 4);
  CHECK(e->KeyCount(0) == 1000);  // -1 deleted, +1 new: exact where the data is readable
  CHECK(Read(*e, in_block[0]) == "new0");
  CHECK(Read(*e, in_block[1]) == "new1");
  CHECK(Read(*e, in_block[2]) == "(nil)");  // the tombstone hides the damaged record
  std::string error;
  Read(*e, in_block[3], &error);  // its TTL change could not be applied: still unreadable
  CHECK(error.find(SstableFileName(n)) != std::string::npos);
  CHECK(Read(*e, Key(0)) == "changed");
  CHECK(Read(*e, "new-key") == "x");
  // A DEL of a replayed key leaves a tombstone over the damaged record, not a resurrection.
  CHECK(e->Delete(0, in_block[0]));
  CHECK(Read(*e, in_block[0]) == "(nil)");
  CHECK(e->KeyCount(0) == 999);
}

TEST_CASE("damaged table: MSET and SET into a damaged range change nothing and log nothing") {
  TempDir dir;
  const uint64_t n = OneTable(dir.path());
  Layout l = ReadLayout(TablePath(dir.path(), n));
  const size_t b = l.reader->num_blocks() / 2;
  std::vector<std::string> in_block;
  std::string outside;
  for (int i = 0; i < 1000; i++) {
    if (l.InBlock(b, Key(i))) in_block.push_back(Key(i));
    else if (outside.empty() && i > 500) outside = Key(i);
  }
  Damage(TablePath(dir.path(), n), l.reader->BlockOffset(b) + 2);
  {
    auto e = OpenEngine(dir.path());
    const uint64_t logged = e->stats().mutations_logged;
    std::string reply = RunCommand(*e, {"MSET", Key(0), "m0", in_block[0], "m1", outside, "m2"});
    CHECK(reply.rfind("-ERR disk read failed: ", 0) == 0);
    CHECK(reply.find(SstableFileName(n)) != std::string::npos);
    CHECK(e->stats().mutations_logged == logged);  // the WAL holds nothing of it
    CHECK(Read(*e, Key(0)) == "v0");              // all or nothing, as Redis's MSET
    reply = RunCommand(*e, {"SET", in_block[1], "s"});
    CHECK(reply.rfind("-ERR disk read failed: ", 0) == 0);
    CHECK(RunCommand(*e, {"DEL", in_block[1]}).rfind("-ERR disk read failed: ", 0) == 0);
    CHECK(RunCommand(*e, {"DEL", Key(4), in_block[1]}).rfind("-ERR disk read failed: ", 0) == 0);
    CHECK(Read(*e, Key(4)) == "v4");  // all or nothing too
    CHECK(e->stats().mutations_logged == logged);
    CHECK(RunCommand(*e, {"SET", Key(1), "ok"}) == "+OK\r\n");
    CHECK(RunCommand(*e, {"MSET", Key(2), "a", Key(3), "b"}) == "+OK\r\n");
    CHECK(e->KeyCount(0) == 1000);
    REQUIRE(e->Close().ok());
  }
  // The restart shows what the clients were told: the failed commands changed nothing.
  auto e = OpenEngine(dir.path());
  CHECK(e->stats().replay_read_errors == 0);
  CHECK(Read(*e, Key(0)) == "v0");
  CHECK(Read(*e, outside) == "v" + std::to_string(std::stoi(outside.substr(3))));
  CHECK(Read(*e, Key(1)) == "ok");
  CHECK(Read(*e, Key(2)) == "a");
  CHECK(Read(*e, Key(3)) == "b");
  CHECK(e->KeyCount(0) == 1000);
}

// Rounds of overwrites of the same 300 keys, one flush each. While the engine runs, a block of
// a table whose keys newer tables all shadow gets damaged in place (lookups never reach it, only
// compaction does): after round `damage_round` the oldest level-0 table, or with
// damage_round < 0 the first level-1 table once level 0 holds a table above it. Writes must
// keep flowing: level 0 never reaches the stop trigger, and compaction fails once, not forever.
void CompactAroundDamage(int damage_round) {
  TempDir dir;
  EngineOptions o = Options(dir.path());
  o.memtable_budget = 64 << 20;  // WritesShouldStall applies (CompactionBehind)
  auto e = OpenEngine(o);
  bool damaged = false;
  size_t max_l0 = 0;
  for (int round = 0; round < 40; round++) {
    for (int j = 0; j < 300; j++) {
      Put(*e, Key(j), "r" + std::to_string(round) + "-" + std::to_string(j));
      REQUIRE(e->TakeReadError().ok());  // as the server does after each command
    }
    REQUIRE(e->Flush().ok());  // also waits for the compactions the flush started
    auto v = e->version();
    const DbTiers& tiers = *v->dbs[0];
    if (!damaged) {
      std::shared_ptr<const TableFile> target;
      if (damage_round >= 0 && round == damage_round) target = tiers.levels[0].back();
      if (damage_round < 0 && tiers.levels.size() > 1 && !tiers.levels[1].empty() &&
          !tiers.levels[0].empty()) {
        target = tiers.levels[1].front();
      }
      if (target != nullptr) {
        const std::string path = TablePath(dir.path(), target->meta.file_number);
        Damage(path, target->reader->BlockOffset(target->reader->num_blocks() / 2) + 2);
        damaged = true;
      }
    }
    if (!tiers.levels.empty()) max_l0 = std::max(max_l0, tiers.levels[0].size());
    CHECK_FALSE(e->CompactionBehind());
    CHECK_FALSE(e->WritesShouldStall());
  }
  REQUIRE(damaged);
  MESSAGE("compactions " << e->stats().compactions << ", max level-0 tables " << max_l0);
  CHECK(e->stats().tables_set_aside == 1);
  CHECK(e->stats().compaction_errors == 1);  // met once, then worked around: no retry loop
  CHECK(e->DamagedTables() == 1);
  CHECK(max_l0 < kL0StopWritesTrigger);
  CHECK(e->stats().compactions >= 10);
  for (int j = 0; j < 300; j += 7) CHECK(Read(*e, Key(j)) == "r39-" + std::to_string(j));
  CHECK(e->KeyCount(0) == 300);
  // And the state survives a restart.
  REQUIRE(e->Close().ok());
  e = OpenEngine(o);
  for (int j = 0; j < 300; j += 7) CHECK(Read(*e, Key(j)) == "r39-" + std::to_string(j));
  CHECK(e->KeyCount(0) == 300);
}

TEST_CASE("damaged table: compaction works around a damaged level-0 table, writes flow") {
  CompactAroundDamage(2);
}

TEST_CASE("damaged table: compaction works around a damaged level-1 table, writes flow") {
  CompactAroundDamage(-1);
}

TEST_CASE("organic-check-sst: reports a damaged block, --fix drops it and makes DBSIZE whole") {
  TempDir dir;
  const uint64_t n = OneTable(dir.path());
  const std::string path = TablePath(dir.path(), n);
  Layout l = ReadLayout(path);
  const size_t b = l.reader->num_blocks() / 2;
  const uint64_t offset = l.reader->BlockOffset(b);
  std::vector<std::string> in_block;
  for (int i = 0; i < 1000; i++) {
    if (l.InBlock(b, Key(i))) in_block.push_back(Key(i));
  }
  {
    // A WAL write over a key of the block, made before the damage.
    auto e = OpenEngine(dir.path());
    Put(*e, in_block[0], "rewritten");
    REQUIRE(e->Close().ok());
  }
  std::ostringstream clean_out, clean_err;
  CHECK(check_sst::Run({dir.path()}, clean_out, clean_err) == 0);
  CHECK(clean_out.str().find("Table is valid") != std::string::npos);

  Damage(path, offset + 2);
  std::ostringstream out, err;
  CHECK(check_sst::Run({dir.path()}, out, err) == 1);
  INFO(out.str());
  CHECK(out.str().find("data block " + std::to_string(b) + " of") != std::string::npos);
  CHECK(out.str().find("at offset " + std::to_string(offset)) != std::string::npos);
  CHECK(out.str().find("through '" + in_block.back() + "'") != std::string::npos);
  CHECK(out.str().find("Table is not valid") != std::string::npos);
  CHECK(check_sst::Run({path}, out, err) == 1);  // one file of a data directory

  std::ostringstream fix_out, fix_err;
  CHECK(check_sst::Run({"--fix", dir.path()}, fix_out, fix_err) == 0);
  INFO(fix_out.str());
  CHECK(fix_out.str().find("Manifest updated") != std::string::npos);
  CHECK(std::filesystem::exists(path + ".damaged"));
  std::ostringstream again, again_err;
  CHECK(check_sst::Run({dir.path()}, again, again_err) == 0);

  auto e = OpenEngine(dir.path());
  CHECK(e->stats().replay_read_errors == 0);
  // The block's keys are gone, except the one the WAL rewrote; DBSIZE is whole again.
  const uint64_t expected = 1000 - in_block.size() + 1;
  CHECK(e->KeyCount(0) == expected);
  CHECK(ScanCount(*e) == expected);
  CHECK(Read(*e, in_block[0]) == "rewritten");
  CHECK(Read(*e, in_block[1]) == "(nil)");  // no error any more
  for (int i = 0; i < 1000; i += 11) {
    if (!l.InBlock(b, Key(i))) CHECK(Read(*e, Key(i)) == "v" + std::to_string(i));
  }
  REQUIRE(e->Close().ok());
  CHECK(std::filesystem::exists(path + ".damaged"));  // the server leaves the original alone
}

TEST_CASE("organic-check-sst: --fix drops a table whose index cannot be read") {
  TempDir dir;
  OneTable(dir.path(), 0, 500);
  const uint64_t n = OneTable(dir.path(), 500, 300);
  const std::string path = TablePath(dir.path(), n);
  Damage(path, ReadLayout(path).index_offset + 1);
  std::ostringstream out, err;
  CHECK(check_sst::Run({dir.path()}, out, err) == 1);
  CHECK(out.str().find("footer or index unreadable") != std::string::npos);
  CHECK(check_sst::Run({"--fix", dir.path()}, out, err) == 0);
  auto e = OpenEngine(dir.path());
  CHECK(e->DamagedTables() == 0);
  CHECK(e->KeyCount(0) == 500);
  CHECK(ScanCount(*e) == 500);
  CHECK(Read(*e, Key(600)) == "(nil)");
  CHECK(Read(*e, Key(7)) == "v7");
}

TEST_CASE("organic-check-sst: a bad filter is reported and rewritten with nothing lost") {
  TempDir dir;
  const uint64_t n = OneTable(dir.path());
  const std::string path = TablePath(dir.path(), n);
  Damage(path, ReadLayout(path).filter_offset + 1);
  std::ostringstream out, err;
  CHECK(check_sst::Run({dir.path()}, out, err) == 1);
  CHECK(out.str().find("bloom filter damaged") != std::string::npos);
  CHECK(check_sst::Run({"--fix", dir.path()}, out, err) == 0);
  CHECK(out.str().find("1000 of 1000 entries kept") != std::string::npos);
  auto e = OpenEngine(dir.path());
  CHECK(e->DamagedTables() == 0);
  CHECK(e->KeyCount(0) == 1000);
  CHECK(Read(*e, Key(999)) == "v999");
}

}  // namespace
}  // namespace organic::engine
