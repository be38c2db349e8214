// Eviction under Redis's maxmemory policies: when used memory exceeds maxmemory, keys are
// deleted until it no longer does, chosen as Redis's performEvictions chooses them
// (https://redis.io/docs/reference/eviction/). The default policy, "organic", never evicts: the
// engine tiers cold keys to disk instead (docs/architecture.md, "Eviction policies").
//
// Candidates are the live records of the active MemTables (Engine::SampleMemoryKeys): deleting
// them is what frees memory. The LRU, LFU and TTL policies sample maxmemory-samples keys per
// database into a pool of the best 16 candidates kept across calls (Redis's eviction pool) and
// evict the best one still present; the random policies take one random key, databases in
// round robin.
//
// Threading: loop thread only, like the engine it drives.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"

namespace organic {

enum class MaxmemoryPolicy : uint8_t {
  kOrganic,  // tier to disk, never evict
  kNoEviction,
  kAllKeysLru,
  kAllKeysLfu,
  kAllKeysRandom,
  kVolatileLru,
  kVolatileLfu,
  kVolatileRandom,
  kVolatileTtl,
};

// Parses a maxmemory-policy value (case-insensitive). False for an unknown name.
bool ParseMaxmemoryPolicy(std::string_view name, MaxmemoryPolicy* policy);
// One of Redis's eight policies (everything but organic): a pure cache, no tiering by size.
inline bool IsRedisPolicy(MaxmemoryPolicy p) { return p != MaxmemoryPolicy::kOrganic; }
// Only keys with a TTL may be evicted (the volatile-* policies).
bool EvictsVolatileOnly(MaxmemoryPolicy p);

// The eviction score of a sampled key, Redis's "idle" of evictionPoolPopulate: the higher,
// the sooner the key goes.
//   LRU: seconds since the last access (now_s - last_access_s).
//   LFU: the access count halved once per lfu_decay_time minutes of idleness (0 = no decay),
//        inverted, in the high 32 bits; the idle seconds break ties in the low 32 bits, so of
//        two equally rare keys the older goes first (a new key is not evicted before a key
//        that has not been read for an hour).
//   TTL: inverted expire time (the soonest to expire goes first).
// REQUIRES: p is an LRU, LFU or volatile-ttl policy.
uint64_t EvictionScore(MaxmemoryPolicy p, const engine::MemoryKeySample& s, uint32_t now_s,
                       int lfu_decay_time);

// The best eviction candidates seen so far: at most kCapacity entries ordered by score. Like
// Redis's pool it keeps candidates across calls, so every sample improves later choices; an
// entry may name a key that changed or left since (the caller checks before evicting).
class EvictionPool {
 public:
  static constexpr size_t kCapacity = 16;

  // Adds a candidate if there is room or its score beats the lowest one (which then leaves).
  // A candidate already present (same db and key) is replaced.
  void Offer(uint64_t score, int db, std::string_view key);
  // Removes the highest-score candidate into *db and *key; false if the pool is empty.
  bool PopBest(int* db, std::string* key);
  void Clear() { size_ = 0; }
  size_t size() const { return size_; }
  // Score of the i-th candidate, lowest first. REQUIRES: i < size().
  uint64_t score(size_t i) const { return entries_[i].score; }

 private:
  struct Entry {
    uint64_t score = 0;
    int db = 0;
    std::string key;  // keeps its capacity when the slot is reused
  };
  std::array<Entry, kCapacity> entries_;  // [0, size_) ascending by score
  size_t size_ = 0;
};

struct EvictionSettings {
  MaxmemoryPolicy policy = MaxmemoryPolicy::kOrganic;
  uint64_t maxmemory = 0;  // 0 = no limit
  int samples = 5;         // maxmemory-samples
  int lfu_decay_time = 1;  // minutes, lfu-decay-time
};

enum class EvictionResult {
  kOk,       // under the limit (or no limit, or the organic policy)
  kRunning,  // still over, but memory is being freed: the time limit was reached, or a flush
             // is moving the frozen MemTables out of memory
  kFail,     // over the limit and nothing can be evicted (noeviction, no volatile key ...)
};

class Evictor {
 public:
  // Time one call may spend deleting keys: Redis's limit at its default
  // maxmemory-eviction-tenacity (10). The next command continues.
  static constexpr int64_t kTimeLimitUs = 500;

  // Used memory in bytes. fresh: the caller acts on the figure now (a cached estimate must be
  // refreshed if it is old); otherwise an estimate a little stale is fine.
  using UsedMemoryFn = std::function<uint64_t(bool fresh)>;

  // Redis's performEvictions: if used memory exceeds settings.maxmemory under a Redis policy,
  // deletes keys as the policy says until it does not, for at most kTimeLimitUs. Every key
  // deleted live adds one to *evicted_keys.
  EvictionResult Perform(engine::Engine* engine, const EvictionSettings& settings,
                         const UsedMemoryFn& used_memory, uint64_t* evicted_keys);

 private:
  // The next victim: true with *db and *key set, false if no candidate is left.
  bool PickFromPool(engine::Engine* engine, const EvictionSettings& settings, int* db,
                    std::string* key);
  bool PickRandom(engine::Engine* engine, bool volatile_only, int* db, std::string* key);

  EvictionPool pool_;
  MaxmemoryPolicy pool_policy_ = MaxmemoryPolicy::kOrganic;  // scores in pool_ follow it
  std::vector<engine::MemoryKeySample> samples_;
  std::string victim_;
  int next_db_ = 0;  // round robin of the random policies
};

}  // namespace organic
