// Eviction under Redis's maxmemory policies: policy names, scores, the eviction pool, the
// engine's last-access clock and sampling, and Evictor::Perform against a real Engine (used
// memory measured as the MemTables' bytes, which eviction frees).
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "command_harness.h"
#include "engine/engine.h"
#include "engine/memtable.h"
#include "server/config.h"
#include "server/eviction.h"
#include "test_files.h"
#include "util/clock.h"

namespace organic {
namespace {

using engine::Engine;
using engine::LookupMode;
using engine::MemoryKeySample;
using engine::MemTable;
using engine::ValueType;
using testing::TempDir;

std::unique_ptr<Engine> OpenEngine(const std::string& dir) {
  engine::EngineOptions o;
  o.dir = dir;
  auto e = std::make_unique<Engine>(o);
  Status st = e->Open();
  REQUIRE_MESSAGE(st.ok(), st.ToString());
  return e;
}

std::string Key(int i) { return "key:" + std::to_string(i); }
const std::string kValue(64, 'v');

MemoryKeySample Sample(uint32_t access, uint32_t last_access_s, int64_t expire_at_ms = 0) {
  MemoryKeySample s;
  s.key = "k";
  s.access_count = access;
  s.last_access_s = last_access_s;
  s.expire_at_ms = expire_at_ms;
  return s;
}

// One Evictor::Perform call with `policy`, used memory being the MemTables' bytes.
EvictionResult EvictOnce(Engine* e, Evictor* evictor, MaxmemoryPolicy policy,
                         uint64_t maxmemory, uint64_t* evicted) {
  EvictionSettings s;
  s.policy = policy;
  s.maxmemory = maxmemory;
  return evictor->Perform(
      e, s, [e](bool) { return static_cast<uint64_t>(e->memtable_bytes()); }, evicted);
}

// Calls Perform again while it stops at its time limit (as the next commands would).
// REQUIRES: no flush in progress (that also answers kRunning).
EvictionResult Evict(Engine* e, Evictor* evictor, MaxmemoryPolicy policy, uint64_t maxmemory,
                     uint64_t* evicted) {
  EvictionResult r;
  while ((r = EvictOnce(e, evictor, policy, maxmemory, evicted)) == EvictionResult::kRunning) {
  }
  return r;
}

TEST_CASE("eviction: policy names") {
  MaxmemoryPolicy p;
  const std::pair<const char*, MaxmemoryPolicy> names[] = {
      {"organic", MaxmemoryPolicy::kOrganic},
      {"noeviction", MaxmemoryPolicy::kNoEviction},
      {"allkeys-lru", MaxmemoryPolicy::kAllKeysLru},
      {"ALLKEYS-LFU", MaxmemoryPolicy::kAllKeysLfu},
      {"allkeys-random", MaxmemoryPolicy::kAllKeysRandom},
      {"volatile-lru", MaxmemoryPolicy::kVolatileLru},
      {"volatile-lfu", MaxmemoryPolicy::kVolatileLfu},
      {"Volatile-Random", MaxmemoryPolicy::kVolatileRandom},
      {"volatile-ttl", MaxmemoryPolicy::kVolatileTtl},
  };
  for (const auto& [name, policy] : names) {
    CAPTURE(name);
    REQUIRE(ParseMaxmemoryPolicy(name, &p));
    CHECK(p == policy);
    CHECK(IsRedisPolicy(p) == (policy != MaxmemoryPolicy::kOrganic));
    CHECK(EvictsVolatileOnly(p) == (std::string(name).rfind("olatile") == 1));
  }
  CHECK_FALSE(ParseMaxmemoryPolicy("lru", &p));
  CHECK_FALSE(ParseMaxmemoryPolicy("", &p));
}

TEST_CASE("eviction: the MemTable budget follows the policy") {
  ConfigValues v;
  v.maxmemory = 400;
  CHECK(v.EffectiveMemtableBudget() == 200);  // organic: half of maxmemory
  v.maxmemory_policy = "allkeys-lru";
  CHECK(v.EffectiveMemtableBudget() == 0);  // a cache evicts, it does not tier by size
  v.organic_memtable_budget = 1000;
  CHECK(v.EffectiveMemtableBudget() == 0);
  v.maxmemory = 0;  // no limit: nothing is evicted, the explicit budget tiers
  CHECK(v.EffectiveMemtableBudget() == 1000);
  v.maxmemory_policy = "organic";
  v.maxmemory = 400;
  CHECK(v.EffectiveMemtableBudget() == 1000);
}

TEST_CASE("eviction: scores rank candidates as Redis's pool does") {
  const uint32_t now = 1'000'000;
  // LRU: the longer idle, the higher.
  auto lru = MaxmemoryPolicy::kAllKeysLru;
  CHECK(EvictionScore(lru, Sample(0, now - 10), now, 1) == 10);
  CHECK(EvictionScore(lru, Sample(0, now - 100), now, 1) >
        EvictionScore(lru, Sample(50, now - 10), now, 1));
  CHECK(EvictionScore(lru, Sample(0, now + 5), now, 1) == 0);  // clock moved back
  // LFU: the rarer, the higher; equal counts go oldest first.
  auto lfu = MaxmemoryPolicy::kVolatileLfu;
  CHECK(EvictionScore(lfu, Sample(1, now), now, 0) > EvictionScore(lfu, Sample(7, now), now, 0));
  CHECK(EvictionScore(lfu, Sample(3, now - 50), now, 0) >
        EvictionScore(lfu, Sample(3, now - 40), now, 0));
  // Decay: 8 accesses idle 3 minutes with lfu-decay-time 1 count as 1, below 2 fresh ones.
  CHECK(EvictionScore(lfu, Sample(8, now - 180), now, 1) >
        EvictionScore(lfu, Sample(2, now), now, 1));
  CHECK(EvictionScore(lfu, Sample(8, now - 180), now, 1) <
        EvictionScore(lfu, Sample(0, now), now, 1));
  // lfu-decay-time 0: no decay.
  CHECK(EvictionScore(lfu, Sample(8, now - 180), now, 0) <
        EvictionScore(lfu, Sample(2, now), now, 0));
  // Idle for ages: the count decays to 0 whatever it was.
  uint64_t ancient = EvictionScore(lfu, Sample(UINT32_MAX, 1), now, 1);
  CHECK((ancient >> 32) == UINT32_MAX);
  // TTL: the soonest expire time is the highest.
  auto ttl = MaxmemoryPolicy::kVolatileTtl;
  CHECK(EvictionScore(ttl, Sample(0, now, 5000), now, 1) >
        EvictionScore(ttl, Sample(0, now, 6000), now, 1));
}

TEST_CASE("eviction pool: keeps the best kCapacity candidates in order") {
  EvictionPool pool;
  int db;
  std::string key;
  CHECK_FALSE(pool.PopBest(&db, &key));
  for (int i = 0; i < 20; i++) pool.Offer(100 + static_cast<uint64_t>(i * 7 % 20), i % 3, Key(i));
  REQUIRE(pool.size() == EvictionPool::kCapacity);
  for (size_t i = 1; i < pool.size(); i++) CHECK(pool.score(i - 1) < pool.score(i));
  CHECK(pool.score(0) == 104);  // scores 100..119: the four lowest left
  // No better than the worst of a full pool: refused. Better: the worst leaves.
  pool.Offer(104, 0, "tie");
  CHECK(pool.score(0) == 104);
  pool.Offer(1000, 2, "best");
  CHECK(pool.size() == EvictionPool::kCapacity);
  CHECK(pool.score(0) == 105);
  REQUIRE(pool.PopBest(&db, &key));
  CHECK(db == 2);
  CHECK(key == "best");
  // The same key offered again replaces its entry instead of taking a second slot.
  pool.Offer(5000, 1, Key(3));
  pool.Offer(6000, 1, Key(3));
  size_t size = pool.size();
  REQUIRE(pool.PopBest(&db, &key));
  CHECK(key == Key(3));
  CHECK(pool.size() == size - 1);
  REQUIRE(pool.PopBest(&db, &key));
  CHECK(key != Key(3));
  // Popping empties it best first.
  uint64_t previous = UINT64_MAX;
  while (pool.size() > 0) {
    uint64_t top = pool.score(pool.size() - 1);
    CHECK(top <= previous);
    previous = top;
    REQUIRE(pool.PopBest(&db, &key));
  }
  pool.Offer(1, 0, "a");
  pool.Clear();
  CHECK(pool.size() == 0);
}

TEST_CASE("memtable: last-access time is stamped and survives replacement") {
  MemTable t;
  MemTable::Entry* e = t.Upsert("k", 1, ValueType::kString, 0, "v", engine::EncodingHint::kAuto, 0);
  CHECK(MemTable::LastAccess(e) == 0);
  MemTable::Touch(e, 12345);
  MemTable::BumpAccess(e);
  CHECK(MemTable::LastAccess(e) == 12345);
  CHECK(MemTable::AccessCount(e) == 1);
  // A value of another size (new allocation) and a TTL added (another layout) keep both.
  e = t.Upsert("k", 2, ValueType::kString, 0, "longer value", engine::EncodingHint::kAuto, 0);
  CHECK(MemTable::LastAccess(e) == 12345);
  CHECK(MemTable::AccessCount(e) == 1);
  e = t.SetExpire("k", 3, UnixTimeMs() + 10000, 0);
  CHECK(MemTable::LastAccess(e) == 12345);
  CHECK(MemTable::Value(e) == "longer value");
  MemTable::Touch(e, 99);
  CHECK(MemTable::LastAccess(t.Find("k")) == 99);
  CHECK(MemTable::ExpireAt(e) != 0);
}

TEST_CASE("engine: reads and writes stamp the access clock; OBJECT IDLETIME reports it") {
  TempDir dir;
  auto e = OpenEngine(dir.path());
  uint32_t t0 = e->access_clock();
  CHECK(t0 >= static_cast<uint32_t>(UnixTimeMs() / 1000) - 1);
  e->Put(0, "a", ValueType::kString, "1", 0);
  e->Put(0, "b", ValueType::kString, "2", 0);
  e->set_access_clock(t0 + 100);
  CHECK(e->IdleSeconds(0, "a") == 100);
  CHECK(e->Get(0, "a", LookupMode::kRead).has_value());
  CHECK(e->IdleSeconds(0, "a") == 0);
  // Introspection does not touch; a read made for a write does (as Redis's lookupKeyWrite).
  CHECK(e->Get(0, "b", LookupMode::kNoTouch).has_value());
  CHECK(e->IdleSeconds(0, "b") == 100);
  CHECK(e->Get(0, "b", LookupMode::kWrite).has_value());
  CHECK(e->IdleSeconds(0, "b") == 0);
  e->set_access_clock(t0 + 150);
  CHECK(e->SetExpire(0, "a", UnixTimeMs() + 100000));
  CHECK(e->IdleSeconds(0, "a") == 0);
  CHECK(e->IdleSeconds(0, "b") == 50);
  CHECK(e->IdleSeconds(0, "nosuch") == 0);
  // On disk a record carries no access time.
  REQUIRE(e->Reload().ok());
  CHECK(e->IdleSeconds(0, "b") == 0);
  CHECK(e->Get(0, "b", LookupMode::kNoTouch).has_value());
}

TEST_CASE("OBJECT IDLETIME: seconds since the last access") {
  testing::CommandHarness h;
  CHECK(h.Run({"SET", "k", "v"}) == "+OK\r\n");
  uint32_t t0 = h.engine().access_clock();
  h.engine().set_access_clock(t0 + 42);
  CHECK(h.Run({"OBJECT", "IDLETIME", "k"}) == ":42\r\n");
  CHECK(h.Run({"OBJECT", "IDLETIME", "k"}) == ":42\r\n");  // not an access itself
  CHECK(h.Run({"GET", "k"}) == "$1\r\nv\r\n");
  CHECK(h.Run({"OBJECT", "IDLETIME", "k"}) == ":0\r\n");
  CHECK(h.Run({"OBJECT", "IDLETIME", "nosuch"}) == "$-1\r\n");
}

TEST_CASE("engine: SampleMemoryKeys returns live active-MemTable keys") {
  TempDir dir;
  auto e = OpenEngine(dir.path());
  std::vector<MemoryKeySample> out;
  e->SampleMemoryKeys(0, 5, false, &out);
  CHECK(out.empty());
  int64_t far = UnixTimeMs() + 3600 * 1000;
  for (int i = 0; i < 100; i++) {
    e->Put(0, Key(i), ValueType::kString, kValue, i % 10 == 0 ? far + i : 0);
  }
  e->SampleMemoryKeys(0, 5, false, &out);
  CHECK(out.size() == 5);
  out.clear();
  // Volatile only: every sample has a TTL (10 of the 100 keys do).
  std::set<std::string> seen;
  for (int round = 0; round < 50; round++) {
    out.clear();
    e->SampleMemoryKeys(0, 5, true, &out);
    CHECK(!out.empty());
    for (const MemoryKeySample& s : out) {
      CHECK(s.expire_at_ms != 0);
      CHECK(e->IsMemoryKey(0, s.key, true));
      seen.emplace(s.key);
    }
  }
  CHECK(seen.size() >= 8);  // the sampling reaches (nearly) all ten
  CHECK(e->IsMemoryKey(0, Key(1), false));
  CHECK_FALSE(e->IsMemoryKey(0, Key(1), true));
  CHECK_FALSE(e->IsMemoryKey(0, "nosuch", false));
  out.clear();
  e->SampleMemoryKeys(1, 5, false, &out);
  CHECK(out.empty());
  // Keys on disk are no candidates: deleting them would free nothing.
  REQUIRE(e->Reload().ok());
  e->SampleMemoryKeys(0, 5, false, &out);
  CHECK(out.empty());
  CHECK_FALSE(e->IsMemoryKey(0, Key(0), false));
  CHECK(e->KeyCount(0) == 100);
}

TEST_CASE("engine: volatile sampling with a large expire index") {
  TempDir dir;
  auto e = OpenEngine(dir.path());
  int64_t far = UnixTimeMs() + 3600 * 1000;
  // More volatile keys than kSmallExpireIndex, one key in four: random descents find them.
  const int n = 4 * static_cast<int>(Engine::kSmallExpireIndex) + 400;
  for (int i = 0; i < n; i++) e->Put(0, Key(i), ValueType::kString, "v", i % 4 == 0 ? far : 0);
  std::vector<MemoryKeySample> out;
  e->SampleMemoryKeys(0, 16, true, &out);
  CHECK(out.size() >= 8);
  for (const MemoryKeySample& s : out) CHECK(s.expire_at_ms == far);
}

TEST_CASE("evictor: allkeys-lru evicts the least recently used keys down to maxmemory") {
  TempDir dir;
  auto e = OpenEngine(dir.path());
  const uint32_t t0 = e->access_clock();
  const int n = 2000;
  for (int i = 0; i < n; i++) e->Put(0, Key(i), ValueType::kString, kValue, 0);
  // The first half was last used 100 s before the second half.
  e->set_access_clock(t0 + 100);
  for (int i = n / 2; i < n; i++) REQUIRE(e->Get(0, Key(i), LookupMode::kRead).has_value());
  const uint64_t before = e->memtable_bytes();
  const uint64_t limit = before - before * 35 / 100;
  Evictor evictor;
  uint64_t evicted = 0;
  CHECK(Evict(e.get(), &evictor, MaxmemoryPolicy::kAllKeysLru, limit, &evicted) ==
        EvictionResult::kOk);
  CHECK(e->memtable_bytes() <= limit);
  CHECK(evicted > 0);
  CHECK(e->KeyCount(0) == n - evicted);
  int old_left = 0, recent_left = 0;
  for (int i = 0; i < n; i++) {
    bool present = e->IsMemoryKey(0, Key(i), false);
    (i < n / 2 ? old_left : recent_left) += present;
  }
  // Sampling approximates LRU: nearly every victim is from the idle half (a simulation of
  // Redis's algorithm with uniform sampling takes 0-6 recent keys; a sampler that starves
  // regions of the key order, 300 or more).
  MESSAGE("recent keys evicted: " << n / 2 - recent_left << " of " << evicted);
  CHECK(recent_left >= n / 2 - static_cast<int>(evicted) / 10);
  CHECK(old_left == n / 2 - (static_cast<int>(evicted) - (n / 2 - recent_left)));
  // Under the limit: nothing more goes.
  uint64_t again = 0;
  CHECK(Evict(e.get(), &evictor, MaxmemoryPolicy::kAllKeysLru, limit, &again) ==
        EvictionResult::kOk);
  CHECK(again == 0);
}

TEST_CASE("evictor: allkeys-lfu keeps the frequently read keys") {
  TempDir dir;
  auto e = OpenEngine(dir.path());
  const int n = 2000;
  for (int i = 0; i < n; i++) e->Put(0, Key(i), ValueType::kString, kValue, 0);
  // One key in four is read five times. Every access happens at the same access clock, so only
  // the counts tell the keys apart.
  for (int i = 0; i < n; i += 4) {
    for (int r = 0; r < 5; r++) REQUIRE(e->Get(0, Key(i), LookupMode::kRead).has_value());
  }
  const uint64_t before = e->memtable_bytes();
  Evictor evictor;
  uint64_t evicted = 0;
  CHECK(Evict(e.get(), &evictor, MaxmemoryPolicy::kAllKeysLfu, before / 2, &evicted) ==
        EvictionResult::kOk);
  int hot_left = 0;
  for (int i = 0; i < n; i += 4) hot_left += e->IsMemoryKey(0, Key(i), false);
  CHECK(evicted >= n / 3);
  CHECK(hot_left == n / 4);  // with 3/4 of the keys never read, no read key is the rarest
}

TEST_CASE("evictor: volatile-ttl evicts only keys with a TTL, soonest first") {
  TempDir dir;
  auto e = OpenEngine(dir.path());
  int64_t now = UnixTimeMs();
  const int n = 1000;
  for (int i = 0; i < n; i++) {
    // Odd keys volatile, expiring later the larger i.
    e->Put(0, Key(i), ValueType::kString, kValue, i % 2 ? now + 3600 * 1000 + i * 1000 : 0);
  }
  const uint64_t before = e->memtable_bytes();
  Evictor evictor;
  uint64_t evicted = 0;
  CHECK(Evict(e.get(), &evictor, MaxmemoryPolicy::kVolatileTtl, before - before / 5, &evicted) ==
        EvictionResult::kOk);
  CHECK(evicted > 50);
  int soonest_evicted = 0;
  for (int i = 0; i < n; i++) {
    bool present = e->IsMemoryKey(0, Key(i), false);
    if (i % 2 == 0) {
      CHECK(present);  // persistent keys are never candidates
    } else if (!present && i < 2 * static_cast<int>(evicted)) {
      soonest_evicted++;  // one of the `evicted` volatile keys with the soonest expire times
    }
  }
  // Sampling approximates "soonest first": most victims are among the soonest to expire.
  CHECK(soonest_evicted >= static_cast<int>(evicted) * 7 / 10);
  // Only persistent keys left over the limit: volatile policies behave like noeviction.
  uint64_t more = 0;
  CHECK(Evict(e.get(), &evictor, MaxmemoryPolicy::kVolatileTtl, 1, &more) ==
        EvictionResult::kFail);
  CHECK(e->VolatileCount(0) == 0);
  CHECK(e->KeyCount(0) == n / 2);
  CHECK(Evict(e.get(), &evictor, MaxmemoryPolicy::kVolatileLru, 1, &more) ==
        EvictionResult::kFail);
  CHECK(Evict(e.get(), &evictor, MaxmemoryPolicy::kVolatileRandom, 1, &more) ==
        EvictionResult::kFail);
  CHECK(e->KeyCount(0) == n / 2);
}

TEST_CASE("evictor: random policies, every database, until nothing is left") {
  TempDir dir;
  auto e = OpenEngine(dir.path());
  int64_t far = UnixTimeMs() + 3600 * 1000;
  for (int i = 0; i < 300; i++) {
    e->Put(i % 3, Key(i), ValueType::kString, kValue, i % 2 ? far : 0);
  }
  Evictor evictor;
  uint64_t evicted = 0;
  CHECK(Evict(e.get(), &evictor, MaxmemoryPolicy::kVolatileRandom, 1, &evicted) ==
        EvictionResult::kFail);
  CHECK(evicted == 150);
  for (int db = 0; db < 3; db++) {
    CHECK(e->VolatileCount(db) == 0);
    CHECK(e->KeyCount(db) == 50);
  }
  CHECK(Evict(e.get(), &evictor, MaxmemoryPolicy::kAllKeysRandom, 1, &evicted) ==
        EvictionResult::kFail);
  CHECK(evicted == 300);
  for (int db = 0; db < 3; db++) CHECK(e->KeyCount(db) == 0);
}

TEST_CASE("evictor: noeviction and organic never delete; a flush under way is not a failure") {
  TempDir dir;
  auto e = OpenEngine(dir.path());
  for (int i = 0; i < 100; i++) e->Put(0, Key(i), ValueType::kString, kValue, 0);
  Evictor evictor;
  uint64_t evicted = 0;
  CHECK(Evict(e.get(), &evictor, MaxmemoryPolicy::kNoEviction, 1, &evicted) ==
        EvictionResult::kFail);
  CHECK(Evict(e.get(), &evictor, MaxmemoryPolicy::kOrganic, 1, &evicted) == EvictionResult::kOk);
  CHECK(Evict(e.get(), &evictor, MaxmemoryPolicy::kAllKeysLru, 0, &evicted) ==
        EvictionResult::kOk);  // maxmemory 0: no limit
  CHECK(Evict(e.get(), &evictor, MaxmemoryPolicy::kNoEviction, 1 << 30, &evicted) ==
        EvictionResult::kOk);  // under the limit
  CHECK(evicted == 0);
  CHECK(e->KeyCount(0) == 100);
  // A flush holds every key in a frozen MemTable (no candidate) and will free it: commands go
  // on meanwhile. It is installed on the next PollBackground, not before. (With a maxmemory,
  // as the server tells the engine: without one a flush is a checkpoint that freezes nothing.)
  e->set_memory_unlimited(false);
  Status st;
  REQUIRE(e->StartFlush(&st));
  CHECK(EvictOnce(e.get(), &evictor, MaxmemoryPolicy::kNoEviction, 1, &evicted) ==
        EvictionResult::kRunning);
  CHECK(EvictOnce(e.get(), &evictor, MaxmemoryPolicy::kAllKeysLru, 1, &evicted) ==
        EvictionResult::kRunning);
  CHECK(evicted == 0);
  REQUIRE(e->WaitForBackground().ok());
  CHECK(e->KeyCount(0) == 100);
}

TEST_CASE("evictor: one call stops after its time limit; later calls finish the job") {
  TempDir dir;
  auto e = OpenEngine(dir.path());
  const int n = 100000;
  for (int i = 0; i < n; i++) e->Put(0, Key(i), ValueType::kString, "v", 0);
  Evictor evictor;
  uint64_t evicted = 0;
  int64_t start = MonotonicUs();
  CHECK(EvictOnce(e.get(), &evictor, MaxmemoryPolicy::kAllKeysLru, 1, &evicted) ==
        EvictionResult::kRunning);
  CHECK(MonotonicUs() - start < 200 * 1000);  // far below the time to evict all
  CHECK(evicted > 0);
  CHECK(evicted < static_cast<uint64_t>(n));
  int calls = 1;
  EvictionResult r;
  while ((r = EvictOnce(e.get(), &evictor, MaxmemoryPolicy::kAllKeysLru, 1, &evicted)) ==
         EvictionResult::kRunning) {
    calls++;
  }
  CHECK(r == EvictionResult::kFail);  // everything evicted, still over 1 byte
  CHECK(calls > 1);
  CHECK(evicted == static_cast<uint64_t>(n));
  CHECK(e->KeyCount(0) == 0);
}

}  // namespace
}  // namespace organic
