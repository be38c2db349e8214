#include <doctest/doctest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "engine/engine.h"
#include "engine/manifest.h"
#include "test_files.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/crc32c.h"

using namespace organic;
using namespace organic::engine;

namespace {
using testing::TempDir;

std::unique_ptr<Engine> OpenEngine(const std::string& dir) {
  EngineOptions o;
  o.dir = dir;
  auto e = std::make_unique<Engine>(o);
  Status st = e->Open();
  REQUIRE_MESSAGE(st.ok(), st.ToString());
  return e;
}

std::string GetValue(Engine& e, int db, const std::string& key) {
  auto r = e.Get(db, key, LookupMode::kRead);
  return r ? std::string(r->value) : "<nil>";
}
}  // namespace

TEST_CASE("engine: writes survive a reopen through the WAL") {
  TempDir dir;
  int64_t far = UnixTimeMs() + 3600 * 1000;
  {
    auto e = OpenEngine(dir.path());
    e->Put(0, "a", ValueType::kString, "1", 0);
    e->Put(0, "b", ValueType::kString, "2", far);
    e->Put(3, "c", ValueType::kString, "3", 0);
    e->Put(0, "gone", ValueType::kString, "x", 0);
    CHECK(e->Delete(0, "gone"));
    CHECK_FALSE(e->Delete(0, "gone"));
    e->SetExpire(0, "a", far + 1);
    e->SetExpire(0, "a", 0);
    CHECK(e->FlushWal().ok());
    CHECK(e->Close().ok());
  }
  auto e = OpenEngine(dir.path());
  CHECK(GetValue(*e, 0, "a") == "1");
  CHECK(e->Get(0, "a", LookupMode::kNoTouch)->expire_at_ms == 0);
  CHECK(e->Get(0, "b", LookupMode::kNoTouch)->expire_at_ms == far);
  CHECK(GetValue(*e, 3, "c") == "3");
  CHECK(GetValue(*e, 0, "gone") == "<nil>");
  CHECK(e->KeyCount(0) == 2);
  CHECK(e->VolatileCount(0) == 1);
  CHECK(e->stats().recovery.records == 7);
}

TEST_CASE("engine: everysec fsyncs on the worker while the loop keeps appending") {
  // Run under ThreadSanitizer (make test-tsan): the worker's fdatasync and the loop's
  // appends/flushes share the WAL file object.
  TempDir dir;
  auto e = OpenEngine(dir.path());
  for (int i = 0; i < 20000; i++) {
    e->Put(0, "k" + std::to_string(i), ValueType::kString, "value", 0);
    if (i % 100 == 0) {
      CHECK(e->FlushWal().ok());
      e->OnSecondTick();  // queues a background sync (at most one in flight)
    }
  }
  CHECK(e->FlushWal().ok());
  CHECK(e->Close().ok());
  CHECK(e->wal().fsyncs() > 0);
  auto reopened = OpenEngine(dir.path());
  CHECK(reopened->KeyCount(0) == 20000);
}

TEST_CASE("engine: expired keys are invisible and removed lazily and actively") {
  TempDir dir;
  auto e = OpenEngine(dir.path());
  int64_t past = UnixTimeMs() - 1;
  e->Put(0, "old", ValueType::kString, "v", past);
  e->Put(0, "old2", ValueType::kString, "v", past);
  e->Put(0, "live", ValueType::kString, "v", 0);
  CHECK(e->KeyCount(0) == 3);
  CHECK_FALSE(e->Get(0, "old", LookupMode::kRead).has_value());
  CHECK(e->KeyCount(0) == 2);
  CHECK(e->ActiveExpireCycle(100000) == 1);
  CHECK(e->KeyCount(0) == 1);
  CHECK(e->VolatileCount(0) == 0);
  CHECK(e->stats().expired_keys == 2);
}

TEST_CASE("engine: FLUSHDB, FLUSHALL and SWAPDB replay in order") {
  TempDir dir;
  {
    auto e = OpenEngine(dir.path());
    e->Put(0, "k0", ValueType::kString, "zero", 0);
    e->Put(1, "k1", ValueType::kString, "one", 0);
    e->SwapDb(0, 1);
    e->Put(2, "k2", ValueType::kString, "two", 0);
    e->FlushDb(2);
    e->FlushWal();
  }
  auto e = OpenEngine(dir.path());
  CHECK(GetValue(*e, 0, "k1") == "one");
  CHECK(GetValue(*e, 1, "k0") == "zero");
  CHECK(e->KeyCount(2) == 0);
  e->FlushAll();
  CHECK(e->KeyCount(0) == 0);
  CHECK(e->KeyCount(1) == 0);
}

TEST_CASE("engine: SAVE's flush moves the data to a table and retires the WAL") {
  TempDir dir;
  {
    auto e = OpenEngine(dir.path());
    for (int i = 0; i < 100; i++) e->Put(0, "k" + std::to_string(i), ValueType::kString, "v", 0);
    for (int i = 0; i < 90; i++) e->Delete(0, "k" + std::to_string(i));
    REQUIRE(e->Flush().ok());
    CHECK(e->wal().current_generation() == 2);
    CHECK_FALSE(std::filesystem::exists(dir.path() + "/wal-1.log"));
    CHECK(std::filesystem::exists(dir.path() + "/MANIFEST"));
    e->Put(0, "after", ValueType::kString, "x", 0);
    REQUIRE(e->Reload().ok());
    CHECK(e->KeyCount(0) == 11);
    CHECK(e->TierOf(0, "after") == Tier::kDisk);
    CHECK(GetValue(*e, 0, "after") == "x");
    CHECK(e->TierOf(0, "after") == Tier::kMemory);  // no budget: the first read brings it back
  }
  auto e = OpenEngine(dir.path());
  CHECK(e->KeyCount(0) == 11);
  CHECK(GetValue(*e, 0, "k95") == "v");
  CHECK(GetValue(*e, 0, "k5") == "<nil>");
}

TEST_CASE("engine: a torn WAL tail is truncated, not fatal") {
  TempDir dir;
  {
    auto e = OpenEngine(dir.path());
    e->Put(0, "a", ValueType::kString, "1", 0);
    e->FlushWal();
  }
  std::string wal = dir.path() + "/wal-1.log";
  uintmax_t good_size = std::filesystem::file_size(wal);
  {
    std::ofstream out(wal, std::ios::app | std::ios::binary);
    out.write("\x20\x00\x00\x00\x11\x22", 6);  // a header cut short
  }
  auto e = OpenEngine(dir.path());
  CHECK(GetValue(*e, 0, "a") == "1");
  CHECK(e->stats().recovery.truncated_bytes == 6);
  CHECK(std::filesystem::file_size(wal) == good_size);
}

TEST_CASE("engine: scan visits keys in order and resumes after a key") {
  TempDir dir;
  auto e = OpenEngine(dir.path());
  for (char c = 'a'; c <= 'j'; c++) e->Put(0, std::string(1, c), ValueType::kString, "v", 0);
  std::string seen, next;
  bool finished = false;
  e->Scan(0, "", false, 4, [&](std::string_view k, const RecordView&) { seen += k; }, &next,
          &finished);
  CHECK(seen == "abcd");
  CHECK_FALSE(finished);
  e->Scan(0, next, true, 100, [&](std::string_view k, const RecordView&) { seen += k; }, &next,
          &finished);
  CHECK(seen == "abcdefghij");
  CHECK(finished);
  std::string key;
  CHECK(e->RandomKey(0, &key));
  CHECK(key.size() == 1);
  CHECK_FALSE(e->RandomKey(5, &key));
}

namespace {
// Every live record of databases 0..2 as (db, key) -> value.
std::map<std::pair<int, std::string>, std::string> Snapshot(Engine& e) {
  std::map<std::pair<int, std::string>, std::string> out;
  for (int db = 0; db < 3; db++) {
    std::string next;
    bool finished = false;
    e.Scan(db, "", false, 1000000,
           [&](std::string_view k, const RecordView& r) {
             out[{db, std::string(k)}] = std::string(r.value);
           },
           &next, &finished);
  }
  return out;
}
}  // namespace

// Loads 30,000 keys, starts a flush and, while the worker writes the tables, overwrites keys,
// swaps two databases and deletes a key; the frozen MemTables answer reads meanwhile.
void InterleaveFlushAndWrites(Engine* e) {
  auto keyname = [](int i) { return "key" + std::to_string(i); };
  for (int i = 0; i < 30000; i++) e->Put(i % 3, keyname(i), ValueType::kString, "old", 0);
  e->FlushWal();
  Status st;
  REQUIRE(e->StartFlush(&st));
  CHECK_FALSE(e->StartFlush(&st));  // one at a time
  for (int round = 0; round < 100; round++) {
    e->Put(round % 3, keyname(round * 997 % 30000), ValueType::kString,
           "new" + std::to_string(round), 0);
    if (round == 50) e->SwapDb(0, 1);
    if (round == 60) CHECK(e->Delete(2, keyname(2)));
    e->FlushWal();
  }
}

TEST_CASE("engine: a crash in the middle of a flush loses nothing") {
  TempDir dir;
  std::map<std::pair<int, std::string>, std::string> before_crash;
  {
    auto e = OpenEngine(dir.path());
    InterleaveFlushAndWrites(e.get());
    before_crash = Snapshot(*e);  // then the engine goes away without installing the flush
  }
  CHECK(before_crash.count({2, "key2"}) == 0);
  auto e = OpenEngine(dir.path());
  CHECK(Snapshot(*e) == before_crash);
}

TEST_CASE("engine: a flush completed under writes and SWAPDB holds every key") {
  TempDir dir;
  std::map<std::pair<int, std::string>, std::string> expected;
  uint64_t counts[3];
  {
    auto e = OpenEngine(dir.path());
    InterleaveFlushAndWrites(e.get());
    REQUIRE(e->WaitForBackground().ok());
    expected = Snapshot(*e);
    for (int db = 0; db < 3; db++) counts[db] = e->KeyCount(db);
    CHECK(e->wal().current_generation() == 2);
    CHECK_FALSE(std::filesystem::exists(dir.path() + "/wal-1.log"));
  }
  auto e = OpenEngine(dir.path());  // the tables plus the one generation after the freeze
  CHECK(e->stats().recovery.generations == 1);
  CHECK(Snapshot(*e) == expected);
  for (int db = 0; db < 3; db++) CHECK(e->KeyCount(db) == counts[db]);
}

TEST_CASE("engine: one command's mutations are one WAL record, kept whole or not at all") {
  TempDir dir;
  {
    auto e = OpenEngine(dir.path());
    e->Put(0, "x", ValueType::kString, "old", 0);
    e->BeginCommand();  // e.g. MSET a b c, then RENAME x z
    e->Put(0, "a", ValueType::kString, "1", 0);
    e->Put(0, "b", ValueType::kString, "2", 0);
    e->Put(0, "z", ValueType::kString, "old", 0);
    CHECK(e->Delete(0, "x"));
    e->EndCommand();
    REQUIRE(e->FlushWal().ok());
    REQUIRE(e->Close().ok());
  }
  std::string path = dir.path() + "/wal-1.log";
  uint64_t full = std::filesystem::file_size(path);
  {
    auto e = OpenEngine(dir.path());
    CHECK(e->stats().recovery.records == 2);  // the single Put, then the batch
    CHECK(e->KeyCount(0) == 3);
  }
  // Every cut inside the batch record drops the whole command, never a part of it.
  for (uint64_t cut = full - 1; cut > full - 20; cut -= 7) {
    TempDir copy;
    std::filesystem::copy_file(path, copy.path() + "/wal-1.log");
    std::filesystem::resize_file(copy.path() + "/wal-1.log", cut);
    auto e = OpenEngine(copy.path());
    CHECK(GetValue(*e, 0, "x") == "old");
    CHECK(GetValue(*e, 0, "a") == "<nil>");
    CHECK(GetValue(*e, 0, "z") == "<nil>");
    CHECK(e->KeyCount(0) == 1);
  }
}

// Found by tests/fuzz/manifest_fuzz: a count of 2^24 tables (the largest accepted) in a
// manifest holding no tables made DecodeManifest allocate and zero ~1.7 GB before noticing the
// missing bytes. Items are now allocated only as they decode.
TEST_CASE("manifest: a huge item count without the items is corruption, not a huge allocation") {
  for (bool tables : {false, true}) {
    INFO("count of " << (tables ? "tables" : "databases"));
    std::string bytes = "OKVMANIF";
    PutFixed32(&bytes, 1);  // version
    PutVarint64(&bytes, 1);  // wal_floor
    PutVarint64(&bytes, 0);  // last_sequence
    PutVarint64(&bytes, 1);  // next_file_number
    if (tables) PutVarint64(&bytes, 0);  // no databases
    PutVarint64(&bytes, 1ull << 24);  // databases or tables claimed, none present
    PutFixed32(&bytes, Crc32cMask(Crc32c(bytes.data(), bytes.size())));

    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    Manifest m;
    Status s = DecodeManifest(bytes, "MANIFEST", &m);
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    CHECK_MESSAGE(s.IsCorruption(), s.ToString());
    CHECK(s.message().find(tables ? "undecodable table" : "undecodable database") !=
          std::string::npos);
    CHECK(after.ru_maxrss - before.ru_maxrss < 64 * 1024);  // KiB: far below the 400 MB+ of old
  }
}
