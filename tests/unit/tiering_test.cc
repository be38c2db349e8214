// The engine with its disk tier: flushes, reads through frozen MemTables and SSTables,
// tombstones, promotion, exact counts, and recovery from manifest + WAL.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "engine/engine.h"
#include "test_files.h"
#include "util/clock.h"

using namespace organic;
using namespace organic::engine;

namespace {
using testing::TempDir;

// budget: the MemTable budget. Large by default, so the tiering rules apply (temperature,
// admission) without a flush for size; 0 means none (keep_all flushes, promotion on first read).
std::unique_ptr<Engine> Open(const std::string& dir, int databases = 4,
                             uint64_t budget = 1ull << 30) {
  EngineOptions o;
  o.dir = dir;
  o.databases = databases;
  o.memtable_budget = budget;
  o.sstable.block_size = 512;  // several blocks even for small tests
  auto e = std::make_unique<Engine>(o);
  Status st = e->Open();
  REQUIRE_MESSAGE(st.ok(), st.ToString());
  return e;
}

struct ModelRecord {
  std::string value;
  int64_t expire_at_ms = 0;
};
using Model = std::map<std::pair<int, std::string>, ModelRecord>;

// Compares every key of the model and the exact counts against the engine, and a full scan
// of each database against the model (nothing extra, nothing missing).
void CheckAgainstModel(Engine& e, const Model& model, int databases) {
  for (int db = 0; db < databases; db++) {
    uint64_t keys = 0, volatile_keys = 0;
    std::map<std::string, std::string> scanned;
    std::string next;
    bool finished = false;
    e.Scan(db, "", false, 1 << 30,
           [&](std::string_view k, const RecordView& r) { scanned[std::string(k)] = r.value; },
           &next, &finished);
    CHECK(finished);
    for (const auto& [dk, rec] : model) {
      if (dk.first != db) continue;
      keys++;
      if (rec.expire_at_ms != 0) volatile_keys++;
      auto r = e.Get(db, dk.second, LookupMode::kNoTouch);
      REQUIRE_MESSAGE(r.has_value(), "db ", db, " key ", dk.second);
      CHECK(r->value == rec.value);
      CHECK(r->expire_at_ms == rec.expire_at_ms);
      auto it = scanned.find(dk.second);
      REQUIRE_MESSAGE(it != scanned.end(), "scan missed ", dk.second);
      CHECK(it->second == rec.value);
      scanned.erase(it);
    }
    CHECK_MESSAGE(scanned.empty(), "scan returned ", scanned.size(), " extra keys in db ", db);
    CHECK_MESSAGE(e.KeyCount(db) == keys, "db ", db);
    CHECK_MESSAGE(e.VolatileCount(db) == volatile_keys, "db ", db);
  }
}
}  // namespace

// A random walk of writes, deletes, TTLs, reads, flushes (some left running), SWAPDB, FLUSHDB,
// reloads and restarts, checked against a model. budget 0 makes every flush a keep-all one
// (checkpoints: Engine::CheckpointCopy).
namespace {
void RandomWalkMatchesModel(uint64_t budget) {
  TempDir dir;
  const int kDbs = 3;
  const int64_t far = UnixTimeMs() + 3600 * 1000;
  std::mt19937 rng(12345);
  Model model;
  uint64_t disk_hits = 0, promotions = 0, flushes = 0, compactions = 0;  // every instance
  auto e = Open(dir.path(), kDbs, budget);
  for (int step = 0; step < 6000; step++) {
    int db = static_cast<int>(rng() % kDbs);
    std::string key = "k" + std::to_string(rng() % 300);
    auto mk = std::make_pair(db, key);
    unsigned op = rng() % 100;
    if (op < 45) {
      ModelRecord r;
      r.value = std::string(rng() % 40, static_cast<char>('a' + rng() % 26)) + std::to_string(step);
      r.expire_at_ms = rng() % 4 == 0 ? far + step : 0;
      e->Put(db, key, ValueType::kString, r.value, r.expire_at_ms);
      model[mk] = r;
    } else if (op < 65) {
      CHECK(e->Delete(db, key) == (model.erase(mk) == 1));
    } else if (op < 75) {
      int64_t when = rng() % 2 == 0 ? 0 : far + step;
      bool present = model.count(mk) == 1;
      CHECK(e->SetExpire(db, key, when) == present);
      if (present) model[mk].expire_at_ms = when;
    } else if (op < 90) {
      // Reads heat keys and promote cold ones (a burst, so that some reach kAdmitReads).
      for (uint32_t n = op % Engine::kAdmitReads; n < Engine::kAdmitReads; n++) {
        auto r = e->Get(db, key, LookupMode::kRead);
        CHECK(r.has_value() == (model.count(mk) == 1));
      }
    } else if (op < 93) {
      Status st;
      e->StartFlush(&st);  // background: later steps race with the worker
      REQUIRE(st.ok());
    } else if (op < 95) {
      REQUIRE(e->Flush().ok());
    } else if (op < 96) {
      int other = static_cast<int>(rng() % kDbs);
      e->SwapDb(db, other);
      Model swapped;
      for (auto& [k, v] : model) {
        int d = k.first == db ? other : (k.first == other ? db : k.first);
        swapped[{d, k.second}] = v;
      }
      model = std::move(swapped);
    } else if (op < 97 && rng() % 4 == 0) {
      e->FlushDb(db);
      for (auto it = model.begin(); it != model.end();) {
        it = it->first.first == db ? model.erase(it) : std::next(it);
      }
    } else if (op < 98) {
      REQUIRE(e->Reload().ok());
    } else if (op < 99) {
      e->FlushWal();
      disk_hits += e->stats().disk_hits;
      promotions += e->stats().promotions;
      flushes += e->stats().flushes;
      compactions += e->stats().compactions;
      e.reset();  // a stop without waiting for the worker: the WAL must cover it
      e = Open(dir.path(), kDbs, budget);
    }
    e->PollBackground();
    if (step % 500 == 0) CheckAgainstModel(*e, model, kDbs);
  }
  CheckAgainstModel(*e, model, kDbs);
  // The walk must really have exercised the disk tier.
  disk_hits += e->stats().disk_hits;
  promotions += e->stats().promotions;
  flushes += e->stats().flushes;
  compactions += e->stats().compactions;
  MESSAGE("disk hits ", disk_hits, ", promotions ", promotions, ", flushes ", flushes,
          ", compactions ", compactions);
  CHECK(compactions > 20);
  CHECK(disk_hits > 100);
  CHECK(promotions > 2);
  CHECK(flushes > 50);
  REQUIRE(e->WaitForBackground().ok());
  e.reset();
  e = Open(dir.path(), kDbs, budget);
  CheckAgainstModel(*e, model, kDbs);
}
}  // namespace

TEST_CASE("tiering: random writes, deletes, TTLs, FLUSHDB and SWAPDB across flushes, reloads "
          "and restarts match a model") {
  SUBCASE("with a MemTable budget") { RandomWalkMatchesModel(1ull << 30); }
  SUBCASE("without one (keep-all flushes)") { RandomWalkMatchesModel(0); }
}

TEST_CASE("tiering: hot keys survive a flush as clean copies, cold keys go to disk and come "
          "back after repeated reads") {
  TempDir dir;
  auto e = Open(dir.path());
  for (int i = 0; i < 1000; i++) e->Put(0, "key" + std::to_string(i), ValueType::kString, "v", 0);
  for (int r = 0; r < 20; r++) {
    for (int i = 0; i < 10; i++) e->Get(0, "key" + std::to_string(i), LookupMode::kRead);
  }
  REQUIRE(e->Flush().ok());
  CHECK(e->temperature() > 0);
  CHECK(e->stats().last_flush_survivors == 10);
  CHECK(e->stats().last_flush_written == 1000);  // every dirty entry, survivors included
  for (int i = 0; i < 10; i++) CHECK(e->TierOf(0, "key" + std::to_string(i)) == Tier::kMemory);
  CHECK(e->TierOf(0, "key500") == Tier::kDisk);
  uint64_t disk_hits = e->stats().disk_hits;
  for (uint32_t i = 1; i < Engine::kAdmitReads; i++) {
    CHECK(e->Get(0, "key500", LookupMode::kRead)->value == "v");
    CHECK(e->TierOf(0, "key500") == Tier::kDisk);  // not read often enough yet
  }
  CHECK(e->Get(0, "key500", LookupMode::kRead)->value == "v");
  CHECK(e->TierOf(0, "key500") == Tier::kMemory);  // the kAdmitReads-th read promotes it
  CHECK(e->stats().disk_hits == disk_hits + Engine::kAdmitReads);
  CHECK(e->stats().promotions == 1);
  // The next flush drops clean cold copies without writing them again.
  REQUIRE(e->Flush().ok());
  CHECK(e->stats().last_flush_written == 0);
  CHECK(e->KeyCount(0) == 1000);
  // A write to a clean copy makes it dirty: it is flushed again, counts unchanged.
  e->Put(0, "key3", ValueType::kString, "new", 0);
  REQUIRE(e->Flush().ok());
  CHECK(e->stats().last_flush_written == 1);
  CHECK(e->KeyCount(0) == 1000);
  CHECK(e->Get(0, "key3", LookupMode::kNoTouch)->value == "new");
}

// Without a budget nothing needs to leave memory (Redis keeps everything in RAM across a
// BGSAVE): a flush writes the dirty entries and every live one comes back as a clean copy, in
// slices of the loop's time; writes made meanwhile win over the copies.
TEST_CASE("tiering: without a budget a flush keeps every key in memory as a clean copy") {
  TempDir dir;
  auto e = Open(dir.path(), 4, /*budget=*/0);
  const int kKeys = 100000;
  for (int i = 0; i < kKeys; i++) {
    e->Put(0, "key" + std::to_string(i), ValueType::kString, "v" + std::to_string(i), 0);
  }
  REQUIRE(e->Flush().ok());
  CHECK(e->stats().last_flush_written == kKeys);
  CHECK(e->stats().last_flush_survivors == kKeys);
  // Whatever part of the copies is installed yet, these writes must win.
  for (int i = 0; i < kKeys; i += 1000) e->Delete(0, "key" + std::to_string(i));
  for (int i = 1; i < kKeys; i += 1000) {
    e->Put(0, "key" + std::to_string(i), ValueType::kString, "new", 0);
  }
  for (int i = 0; i < 1000; i++) e->PollBackground();
  CHECK(e->memtable_entries() == kKeys);  // 100 tombstones, 100 new values, the copies
  CHECK(e->KeyCount(0) == kKeys - 100);
  for (int i = 0; i < kKeys; i += 97) {
    std::string k = "key" + std::to_string(i);
    auto v = e->Get(0, k, LookupMode::kNoTouch);
    if (i % 1000 == 0) {
      CHECK_FALSE(v.has_value());
    } else {
      REQUIRE(v.has_value());
      CHECK(v->value == (i % 1000 == 1 ? "new" : "v" + std::to_string(i)));
      CHECK(e->TierOf(0, k) == Tier::kMemory);
    }
  }
  // The copies are clean: the next flush writes only the 200 changes.
  REQUIRE(e->Flush().ok());
  CHECK(e->stats().last_flush_written == 200);
  CHECK(e->KeyCount(0) == kKeys - 100);
  // A key only on disk comes back on its first read.
  e->Put(1, "cold", ValueType::kString, "c", 0);
  REQUIRE(e->Reload().ok());
  CHECK(e->TierOf(1, "cold") == Tier::kDisk);
  CHECK(e->Get(1, "cold", LookupMode::kRead)->value == "c");
  CHECK(e->TierOf(1, "cold") == Tier::kMemory);
}

// A keep-all flush is a checkpoint (Engine::CheckpointCopy): nothing is frozen, the loop copies
// the dirty records in slices while writes go on, and once the table is durable the copied
// entries become clean. Writes on both sides of the copy's cursor must come out right, in
// memory, in the key count, in the next flush, and after a restart from the tables and the WAL.
TEST_CASE("tiering: a checkpoint copies the dirty records while writes go on, freezing nothing") {
  TempDir dir;
  auto e = Open(dir.path(), 4, /*budget=*/0);
  const int kKeys = 200000;
  auto key = [](int i) { return "key" + std::to_string(i); };
  for (int i = 0; i < kKeys; i++) e->Put(0, key(i), ValueType::kString, "v" + std::to_string(i), 0);
  e->Delete(0, key(7));  // a new key deleted: no tombstone at all
  for (const char* k : {"a-live", "a-gone", "z-gone"}) e->Put(0, k, ValueType::kString, "x", 0);
  Status st;
  REQUIRE(e->StartFlush(&st));
  CHECK(e->frozen_memtable_entries() == 0);
  // The start copied one slice: the "a-" keys (first in order) but not the 200,000 after them.
  // Behind the cursor: a copied key deleted (its table record must stay hidden) and a new key.
  // Ahead of it: a key deleted before the copy reaches it, a new key, an overwrite.
  e->Delete(0, "a-gone");
  e->Put(0, "a-new", ValueType::kString, "an", 0);
  e->Delete(0, "z-gone");
  e->Put(0, "z-new", ValueType::kString, "zn", 0);
  e->Put(0, key(1), ValueType::kString, "over", 0);
  REQUIRE(e->WaitForBackground().ok());
  for (int i = 0; i < 10000; i++) e->PollBackground();  // the marking slices
  auto check = [&] {
    CHECK(e->KeyCount(0) == kKeys + 2);  // less key7, plus a-live, a-new, z-new
    for (const char* k : {"a-gone", "z-gone"}) {
      CHECK_FALSE(e->Get(0, k, LookupMode::kNoTouch).has_value());
    }
    CHECK_FALSE(e->Get(0, key(7), LookupMode::kNoTouch).has_value());
    CHECK(e->Get(0, "a-live", LookupMode::kNoTouch)->value == "x");
    CHECK(e->Get(0, "a-new", LookupMode::kNoTouch)->value == "an");
    CHECK(e->Get(0, "z-new", LookupMode::kNoTouch)->value == "zn");
    CHECK(e->Get(0, key(1), LookupMode::kNoTouch)->value == "over");
    CHECK(e->Get(0, key(3), LookupMode::kNoTouch)->value == "v3");
  };
  check();
  CHECK(e->TierOf(0, key(kKeys - 1)) == Tier::kMemory);
  // The keys, a-gone's tombstone, and z-gone's: until the table is installed a delete never
  // erases (ApplyKey).
  CHECK(e->memtable_entries() == kKeys + 4);
  // The copied entries are clean now: the next checkpoint writes only what changed after the
  // first one started (the two tombstones, a-new, z-new, key1), and its marking drops the
  // tombstones.
  REQUIRE(e->Flush().ok());
  CHECK(e->stats().last_flush_written == 5);
  for (int i = 0; i < 10000; i++) e->PollBackground();
  CHECK(e->memtable_entries() == kKeys + 2);
  check();

  // Many writes during the copy, on both sides of the cursor: each one is written again by the
  // next checkpoint (whether or not the copy caught it), and nothing else is.
  REQUIRE(e->StartFlush(&st));
  for (int i = 0; i < kKeys; i += 2) e->Put(0, key(i), ValueType::kString, "w", 0);
  REQUIRE(e->WaitForBackground().ok());
  for (int i = 0; i < 10000; i++) e->PollBackground();
  for (int i = 0; i < kKeys; i += 331) {
    if (i == 7) continue;
    CHECK(e->Get(0, key(i), LookupMode::kNoTouch)->value ==
          (i % 2 == 0 ? "w" : (i == 1 ? "over" : "v" + std::to_string(i))));
    CHECK(e->TierOf(0, key(i)) == Tier::kMemory);
  }
  REQUIRE(e->Flush().ok());
  CHECK(e->stats().last_flush_written == kKeys / 2);
  // A restart finds the same data in the tables and the WAL after them.
  e.reset();
  e = Open(dir.path(), 4, /*budget=*/0);
  check();

  // A checkpoint that starts while the last one's marking goes on, and FLUSHDB in the middle of
  // a copy, which leaves nothing behind.
  REQUIRE(e->StartFlush(&st));
  REQUIRE(e->WaitForBackground().ok());
  e->PollBackground();
  REQUIRE(e->StartFlush(&st));
  CHECK(e->KeyCount(0) == kKeys + 2);
  CHECK(e->Get(0, key(3), LookupMode::kRead)->value == "v3");
  CHECK(e->TierOf(0, key(3)) == Tier::kMemory);
  e->FlushDb(0);
  REQUIRE(e->WaitForBackground().ok());
  for (int i = 0; i < 1000; i++) e->PollBackground();
  CHECK(e->KeyCount(0) == 0);
  CHECK(e->memtable_entries() == 0);
  CHECK_FALSE(e->Get(0, key(3), LookupMode::kNoTouch).has_value());
  REQUIRE(e->Reload().ok());
  CHECK(e->KeyCount(0) == 0);
  CHECK_FALSE(e->Get(0, key(3), LookupMode::kNoTouch).has_value());
}

TEST_CASE("tiering: admission keeps a tail of single reads out and promotes a key read "
          "kAdmitReads times, with that count") {
  TempDir dir;
  auto e = Open(dir.path());
  for (int i = 0; i < 2000; i++) e->Put(0, "key" + std::to_string(i), ValueType::kString, "v", 0);
  REQUIRE(e->Reload().ok());  // every key on disk, MemTables empty
  for (int i = 0; i < 1000; i++) CHECK(e->Get(0, "key" + std::to_string(i), LookupMode::kRead));
  CHECK(e->stats().disk_hits == 1000);
  CHECK(e->stats().promotions == 0);
  CHECK(e->memtable_entries() == 0);
  for (uint32_t i = 1; i <= Engine::kAdmitReads; i++) {
    CHECK(e->Get(0, "key1500", LookupMode::kRead));
    CHECK(e->TierOf(0, "key1500") == (i < Engine::kAdmitReads ? Tier::kDisk : Tier::kMemory));
  }
  CHECK(e->stats().promotions == 1);
  // It enters with the reads that earned it, so the next flush weighs it like a resident.
  CHECK(e->Get(0, "key1500", LookupMode::kNoTouch)->access_count == Engine::kAdmitReads);
  // The same name in another database has its own count.
  e->Put(1, "key1500", ValueType::kString, "w", 0);
  REQUIRE(e->Flush().ok());
  CHECK(e->TierOf(1, "key1500") == Tier::kDisk);
  CHECK(e->Get(1, "key1500", LookupMode::kRead)->value == "w");
  CHECK(e->TierOf(1, "key1500") == Tier::kDisk);
}

TEST_CASE("tiering: the bloom filter skips tables without the key") {
  TempDir dir;
  auto e = Open(dir.path());
  for (int t = 0; t < 4; t++) {
    for (int i = 0; i < 200; i++) {
      e->Put(0, "t" + std::to_string(t) + "-" + std::to_string(i), ValueType::kString, "v", 0);
    }
    REQUIRE(e->Flush().ok());
  }
  e->ResetStats();
  // Each key exists in one table; ranges overlap ("t0-.." < "t1-.." but all 4 cover "t?-5"...),
  // so misses rely on the filters.
  for (int i = 0; i < 200; i++) CHECK(!e->Get(0, "t1-" + std::to_string(i) + "x", LookupMode::kRead));
  CHECK(e->stats().bloom_checks > 0);
  CHECK(e->stats().bloom_skips >= e->stats().bloom_checks * 9 / 10);
}

TEST_CASE("tiering: disk reads go through the block cache; a deleted table's blocks leave it") {
  TempDir dir;
  EngineOptions o;
  o.dir = dir.path();
  o.memtable_budget = 1ull << 30;
  o.sstable.block_size = 512;
  o.block_cache_bytes = 1 << 20;
  auto e = std::make_unique<Engine>(o);
  REQUIRE(e->Open().ok());
  for (int i = 0; i < 2000; i++) {
    e->Put(0, "key" + std::to_string(i), ValueType::kString, "value" + std::to_string(i), 0);
  }
  REQUIRE(e->Reload().ok());  // every key on disk, the cache empty
  CHECK(e->block_cache().usage() == 0);
  // NOTOUCH reads never promote: each one goes to the table.
  CHECK(e->Get(0, "key1234", LookupMode::kNoTouch)->value == "value1234");
  CHECK(e->block_cache().misses() == 1);
  CHECK(e->block_cache().hits() == 0);
  CHECK(e->block_cache().usage() > 0);
  CHECK(e->Get(0, "key1234", LookupMode::kNoTouch)->value == "value1234");
  CHECK(e->Get(0, "key1235", LookupMode::kNoTouch)->value == "value1235");  // same block
  CHECK(e->block_cache().misses() == 1);
  CHECK(e->block_cache().hits() == 2);
  CHECK(e->TierOf(0, "key1234") == Tier::kDisk);
  // A newer value in a newer table: the cached block of the old table is not consulted first.
  e->Put(0, "key1234", ValueType::kString, "new", 0);
  REQUIRE(e->Flush().ok());
  CHECK(e->Get(0, "key1234", LookupMode::kNoTouch)->value == "new");
  // FLUSHDB, then a flush: the tables are deleted and their blocks dropped from the cache.
  e->FlushDb(0);
  REQUIRE(e->Flush().ok());
  REQUIRE(e->WaitForBackground().ok());
  CHECK(e->block_cache().usage() == 0);
  CHECK_FALSE(e->Get(0, "key1234", LookupMode::kNoTouch).has_value());
  // Capacity 0 turns it off.
  e->Put(0, "a", ValueType::kString, "b", 0);
  REQUIRE(e->Reload().ok());
  e->set_block_cache_capacity(0);
  const uint64_t hits = e->block_cache().hits(), misses = e->block_cache().misses();
  CHECK(e->Get(0, "a", LookupMode::kNoTouch)->value == "b");
  CHECK(e->Get(0, "a", LookupMode::kNoTouch)->value == "b");
  CHECK(e->block_cache().usage() == 0);
  CHECK(e->block_cache().hits() == hits);
  CHECK(e->block_cache().misses() == misses);
}

TEST_CASE("tiering: expired keys on disk are never returned and are deleted when met") {
  TempDir dir;
  auto e = Open(dir.path());
  int64_t soon = UnixTimeMs() + 150;
  for (int i = 0; i < 50; i++) e->Put(0, "e" + std::to_string(i), ValueType::kString, "v", soon);
  e->Put(0, "stay", ValueType::kString, "v", 0);
  REQUIRE(e->Reload().ok());  // all on disk; no expiry cycle runs in this test
  CHECK(e->KeyCount(0) == 51);
  CHECK(e->VolatileCount(0) == 50);
  while (UnixTimeMs() <= soon) usleep(10000);
  CHECK_FALSE(e->Get(0, "e1", LookupMode::kRead).has_value());
  CHECK(e->KeyCount(0) == 50);
  std::string next;
  bool finished;
  int seen = 0;
  e->Scan(0, "", false, 1000, [&](std::string_view, const RecordView&) { seen++; }, &next,
          &finished);
  CHECK(seen == 1);
  CHECK(e->KeyCount(0) == 1);
  CHECK(e->VolatileCount(0) == 0);
  std::string key;
  CHECK(e->RandomKey(0, &key));
  CHECK(key == "stay");
}

TEST_CASE("tiering: after a reopen the expiry cycle finds the keys with a TTL that are on disk") {
  TempDir dir;
  auto e = Open(dir.path());
  int64_t soon = UnixTimeMs() + 150;
  for (int i = 0; i < 10000; i++) {
    e->Put(i % 2, "e" + std::to_string(i), ValueType::kString, "v", i % 3 == 0 ? 0 : soon);
  }
  e->Put(0, "later", ValueType::kString, "v", soon + 3600 * 1000);
  REQUIRE(e->Reload().ok());  // every key on disk, the expire index rebuilt from the tables
  CHECK(e->KeyCount(0) + e->KeyCount(1) == 10001);
  e->SwapDb(0, 1);  // the rebuild follows the databases by id
  int64_t deadline = UnixTimeMs() + 5000;
  while (e->KeyCount(0) + e->KeyCount(1) > 3335 && UnixTimeMs() < deadline) {
    usleep(10000);
    e->PollBackground();
    e->ActiveExpireCycle(100000);
  }
  CHECK(e->KeyCount(0) + e->KeyCount(1) == 3335);  // 3334 persistent keys and "later"
  CHECK(e->VolatileCount(1) == 1);
  CHECK(e->Get(1, "later", LookupMode::kNoTouch).has_value());
  CHECK(e->stats().expired_keys == 6666);
}

TEST_CASE("tiering: RANDOMKEY and SCAN work on a database that lives on disk") {
  TempDir dir;
  auto e = Open(dir.path());
  for (int i = 0; i < 2000; i++) e->Put(1, "r" + std::to_string(i), ValueType::kString, "v", 0);
  REQUIRE(e->Reload().ok());
  std::map<std::string, int> seen;
  for (int i = 0; i < 200; i++) {
    std::string key;
    REQUIRE(e->RandomKey(1, &key));
    seen[key]++;
  }
  CHECK(seen.size() > 50);  // spread over the key space, not one key
  // Delete all but one key: RANDOMKEY must find the survivor through the tombstones.
  for (int i = 1; i < 2000; i++) REQUIRE(e->Delete(1, "r" + std::to_string(i)));
  REQUIRE(e->Flush().ok());
  std::string key;
  REQUIRE(e->RandomKey(1, &key));
  CHECK(key == "r0");
  CHECK(e->KeyCount(1) == 1);
}

TEST_CASE("tiering: compaction bounds level 0, drops shadowed versions and tombstones, keeps "
          "every live key and the counts") {
  TempDir dir;
  std::map<std::string, std::string> model;
  {
    auto e = Open(dir.path());
    std::mt19937 rng(7);
    for (int round = 0; round < 40; round++) {
      for (int i = 0; i < 300; i++) {
        std::string key = "c" + std::to_string(rng() % 2000);
        if (rng() % 5 == 0) {
          e->Delete(0, key);
          model.erase(key);
        } else {
          std::string value = "v" + std::to_string(round) + "-" + std::to_string(i);
          e->Put(0, key, ValueType::kString, value, 0);
          model[key] = value;
        }
      }
      REQUIRE(e->Flush().ok());
      REQUIRE(e->WaitForBackground().ok());
      // Level 0 never exceeds its trigger once the compactions triggered by the flush ran.
      CHECK(e->version()->dbs[0]->levels[0].size() < kL0CompactionTrigger);
    }
    CHECK(e->stats().compactions >= 10);
    CHECK(e->KeyCount(0) == model.size());
    const DbTiers& tiers = *e->version()->dbs[0];
    // The merged level holds each live key once and no tombstone (nothing is below level 1).
    CHECK(tiers.levels.size() >= 2);
    uint64_t entries = 0;
    for (const auto& t : tiers.levels[1]) entries += t->meta.entries;
    CHECK(entries <= model.size() + 300 * kL0CompactionTrigger);
    CHECK(tiers.table_keys == model.size());
    for (const auto& [k, v] : model) REQUIRE(e->Get(0, k, LookupMode::kNoTouch)->value == v);
    // Every table file in the directory is live: replaced ones were deleted.
    size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
      if (entry.path().extension() == ".sst") files++;
    }
    CHECK(files == tiers.table_count());
  }
  auto e = Open(dir.path());
  CHECK(e->KeyCount(0) == model.size());
  for (const auto& [k, v] : model) REQUIRE(e->Get(0, k, LookupMode::kNoTouch)->value == v);
}

TEST_CASE("tiering: compaction reports keys that expired on disk and the loop deletes them") {
  TempDir dir;
  auto e = Open(dir.path());
  int64_t soon = UnixTimeMs() + 100;
  for (int t = 0; t < 4; t++) {
    for (int i = 0; i < 50; i++) {
      e->Put(0, "x" + std::to_string(t) + "-" + std::to_string(i), ValueType::kString, "v",
             t == 0 ? soon : 0);
    }
    if (t == 0) {
      REQUIRE(e->Reload().ok());  // no expiry cycle runs: only the compaction can find them
      while (UnixTimeMs() <= soon) usleep(10000);
    } else {
      REQUIRE(e->Flush().ok());
    }
  }
  REQUIRE(e->WaitForBackground().ok());
  CHECK(e->stats().compactions >= 1);
  CHECK(e->stats().compaction_expired_found == 50);
  CHECK(e->KeyCount(0) == 150);
  CHECK(e->VolatileCount(0) == 0);
}

TEST_CASE("tiering: with level 0 at its stop trigger, size flushes wait and writes stall") {
  TempDir dir;
  EngineOptions o;
  o.dir = dir.path();
  o.databases = 1;
  o.memtable_budget = 64 << 10;
  // Every compaction stops before writing a table, so nothing leaves level 0.
  o.fault_point = [](const char* point) {
    return std::string_view(point) == "compaction:before-tables";
  };
  Engine e(o);
  REQUIRE(e.Open().ok());
  int next_key = 0;
  auto fill_to = [&](uint64_t bytes) {
    while (e.active_memtable_bytes() < bytes) {
      e.Put(0, "k" + std::to_string(next_key++), ValueType::kString, std::string(100, 'v'), 0);
    }
  };
  auto wait_for_flush = [&] {
    while (e.flush_in_progress()) {
      usleep(1000);
      e.PollBackground();
    }
  };
  for (size_t t = 0; t < kL0StopWritesTrigger; t++) {
    CHECK_FALSE(e.CompactionBehind());
    fill_to(o.memtable_budget / 2);
    REQUIRE(e.MaybeStartAutoFlush(0, 0));
    wait_for_flush();
  }
  CHECK(e.version()->dbs[0]->levels[0].size() == kL0StopWritesTrigger);
  CHECK(e.compaction_in_progress());  // held at the fault point
  CHECK(e.CompactionBehind());
  fill_to(o.memtable_budget / 2);
  CHECK_FALSE(e.MaybeStartAutoFlush(0, 0));  // past half the budget, but compaction is behind
  CHECK_FALSE(e.WritesShouldStall());
  fill_to(o.memtable_budget);
  CHECK(e.WritesShouldStall());  // the server holds writes until compaction catches up
  // An explicit flush (SAVE, BGSAVE) still runs.
  Status st;
  CHECK(e.StartFlush(&st));
  wait_for_flush();
}
