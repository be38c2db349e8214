#include "server/eviction.h"

#include <algorithm>
#include <utility>

#include "util/clock.h"
#include "util/strings.h"

namespace organic {

namespace {

struct PolicyName {
  const char* name;
  MaxmemoryPolicy policy;
};
constexpr PolicyName kPolicies[] = {
    {"organic", MaxmemoryPolicy::kOrganic},
    {"noeviction", MaxmemoryPolicy::kNoEviction},
    {"allkeys-lru", MaxmemoryPolicy::kAllKeysLru},
    {"allkeys-lfu", MaxmemoryPolicy::kAllKeysLfu},
    {"allkeys-random", MaxmemoryPolicy::kAllKeysRandom},
    {"volatile-lru", MaxmemoryPolicy::kVolatileLru},
    {"volatile-lfu", MaxmemoryPolicy::kVolatileLfu},
    {"volatile-random", MaxmemoryPolicy::kVolatileRandom},
    {"volatile-ttl", MaxmemoryPolicy::kVolatileTtl},
};

bool IsLfu(MaxmemoryPolicy p) {
  return p == MaxmemoryPolicy::kAllKeysLfu || p == MaxmemoryPolicy::kVolatileLfu;
}
bool IsRandom(MaxmemoryPolicy p) {
  return p == MaxmemoryPolicy::kAllKeysRandom || p == MaxmemoryPolicy::kVolatileRandom;
}

// A pool pick may be stale and a populate round may sample nothing new that is better than
// the stale entries; a few rounds always reach a live candidate when one was sampled.
constexpr int kPopulateRounds = 4;

}  // namespace

bool ParseMaxmemoryPolicy(std::string_view name, MaxmemoryPolicy* policy) {
  for (const PolicyName& p : kPolicies) {
    if (EqualsIgnoreCase(name, p.name)) {
      *policy = p.policy;
      return true;
    }
  }
  return false;
}

bool EvictsVolatileOnly(MaxmemoryPolicy p) {
  return p == MaxmemoryPolicy::kVolatileLru || p == MaxmemoryPolicy::kVolatileLfu ||
         p == MaxmemoryPolicy::kVolatileRandom || p == MaxmemoryPolicy::kVolatileTtl;
}

uint64_t EvictionScore(MaxmemoryPolicy p, const engine::MemoryKeySample& s, uint32_t now_s,
                       int lfu_decay_time) {
  // A key stamped after now_s (the clock moved back) counts as just used.
  uint32_t idle = now_s > s.last_access_s ? now_s - s.last_access_s : 0;
  if (p == MaxmemoryPolicy::kVolatileTtl) {
    return UINT64_MAX - static_cast<uint64_t>(s.expire_at_ms);
  }
  if (IsLfu(p)) {
    uint32_t count = s.access_count;
    if (lfu_decay_time > 0) {
      uint32_t periods = idle / 60 / static_cast<uint32_t>(lfu_decay_time);
      count = periods >= 32 ? 0 : count >> periods;
    }
    return (static_cast<uint64_t>(UINT32_MAX - count) << 32) | idle;
  }
  return idle;
}

void EvictionPool::Offer(uint64_t score, int db, std::string_view key) {
  for (size_t i = 0; i < size_; i++) {
    if (entries_[i].db == db && entries_[i].key == key) {
      // Present: take it out (its slot, string buffer included, moves to the end).
      std::rotate(entries_.begin() + static_cast<ptrdiff_t>(i),
                  entries_.begin() + static_cast<ptrdiff_t>(i) + 1,
                  entries_.begin() + static_cast<ptrdiff_t>(size_));
      size_--;
      break;
    }
  }
  // k: the first entry whose score is not below ours.
  size_t k = 0;
  while (k < size_ && entries_[k].score < score) k++;
  if (size_ == kCapacity) {
    if (k == 0) return;  // no better than the worst candidate of a full pool
    // Drop the worst (index 0): shift [1, k) left, ours goes to k - 1.
    std::rotate(entries_.begin(), entries_.begin() + 1,
                entries_.begin() + static_cast<ptrdiff_t>(k));
    k--;
  } else {
    // Shift [k, size_) right by one; the free slot at size_ comes to k.
    std::rotate(entries_.begin() + static_cast<ptrdiff_t>(k),
                entries_.begin() + static_cast<ptrdiff_t>(size_),
                entries_.begin() + static_cast<ptrdiff_t>(size_) + 1);
    size_++;
  }
  Entry& e = entries_[k];
  e.score = score;
  e.db = db;
  e.key.assign(key);
}

bool EvictionPool::PopBest(int* db, std::string* key) {
  if (size_ == 0) return false;
  Entry& best = entries_[size_ - 1];
  *db = best.db;
  key->swap(best.key);
  size_--;
  return true;
}

bool Evictor::PickFromPool(engine::Engine* engine, const EvictionSettings& settings, int* db,
                           std::string* key) {
  bool volatile_only = EvictsVolatileOnly(settings.policy);
  uint32_t now_s = engine->access_clock();
  size_t samples = static_cast<size_t>(std::max(1, settings.samples));
  for (int round = 0; round < kPopulateRounds; round++) {
    bool sampled = false;
    for (int i = 0; i < engine->databases(); i++) {
      samples_.clear();
      engine->SampleMemoryKeys(i, samples, volatile_only, &samples_,
                               settings.policy == MaxmemoryPolicy::kVolatileTtl);
      for (const engine::MemoryKeySample& s : samples_) {
        pool_.Offer(EvictionScore(settings.policy, s, now_s, settings.lfu_decay_time), i, s.key);
      }
      sampled = sampled || !samples_.empty();
    }
    while (pool_.PopBest(db, key)) {
      if (*db < engine->databases() && engine->IsMemoryKey(*db, *key, volatile_only)) {
        return true;
      }
    }
    if (!sampled) return false;
  }
  return false;
}

bool Evictor::PickRandom(engine::Engine* engine, bool volatile_only, int* db, std::string* key) {
  int dbs = engine->databases();
  for (int i = 0; i < dbs; i++) {
    int candidate = next_db_++ % dbs;
    if (next_db_ >= dbs) next_db_ = 0;
    samples_.clear();
    engine->SampleMemoryKeys(candidate, 1, volatile_only, &samples_);
    if (!samples_.empty()) {
      *db = candidate;
      key->assign(samples_[0].key);
      return true;
    }
  }
  return false;
}

EvictionResult Evictor::Perform(engine::Engine* engine, const EvictionSettings& settings,
                                const UsedMemoryFn& used_memory, uint64_t* evicted_keys) {
  if (!IsRedisPolicy(settings.policy) || settings.maxmemory == 0) return EvictionResult::kOk;
  if (used_memory(false) <= settings.maxmemory) return EvictionResult::kOk;
  uint64_t used = used_memory(true);
  if (used <= settings.maxmemory) return EvictionResult::kOk;
  // Nothing to evict: the command is refused, unless a flush is already moving the frozen
  // MemTables to disk (the memory comes back when it is installed).
  const EvictionResult cannot_free =
      engine->flush_in_progress() ? EvictionResult::kRunning : EvictionResult::kFail;
  if (settings.policy == MaxmemoryPolicy::kNoEviction) return cannot_free;
  if (settings.policy != pool_policy_) {
    pool_.Clear();  // scores of another policy do not compare
    pool_policy_ = settings.policy;
  }
  const int64_t start = MonotonicUs();
  bool volatile_only = EvictsVolatileOnly(settings.policy);
  uint64_t deleted = 0;
  while (used > settings.maxmemory) {
    int db = 0;
    bool picked = IsRandom(settings.policy) ? PickRandom(engine, volatile_only, &db, &victim_)
                                            : PickFromPool(engine, settings, &db, &victim_);
    if (!picked) return cannot_free;
    // Delete returns false for a key that had expired: it is gone all the same, counted as
    // expired rather than evicted (as Redis counts a key its expiry removed first).
    if (engine->Delete(db, victim_)) (*evicted_keys)++;
    if ((++deleted & 15) == 0 && MonotonicUs() - start > kTimeLimitUs) {
      return EvictionResult::kRunning;
    }
    used = used_memory(false);
  }
  return EvictionResult::kOk;
}

}  // namespace organic
