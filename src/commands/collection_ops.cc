#include "commands/collection_ops.h"

#include <algorithm>
#include <deque>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "commands/server_api.h"
#include "server/config.h"
#include "util/coding.h"
#include "util/strings.h"

namespace organic::commands {

using engine::CollectionEncoding;
using engine::CollectionStorage;
using engine::LookupMode;
using engine::ValueType;

CollectionLimits CollectionLimitsOf(const CommandContext& ctx) {
  CollectionLimits limits;
  if (ctx.server == nullptr) return limits;
  const ConfigValues& v = ctx.server->config().values();
  limits.hash_max_listpack_entries = v.hash_max_listpack_entries;
  limits.hash_max_listpack_value = v.hash_max_listpack_value;
  limits.set_max_intset_entries = v.set_max_intset_entries;
  return limits;
}

uint64_t RandomReplyCap(const CommandContext& ctx) {
  constexpr uint64_t kCeiling = 4ull << 30;
  constexpr uint64_t kFloor = 128 * 1024;  // Redis raises a smaller maxmemory-clients to this
  uint64_t cap = 0;
  if (ctx.server != nullptr) {
    const ConfigValues& v = ctx.server->config().values();
    cap = v.maxmemory_clients_percent > 0 ? v.maxmemory / 100 * v.maxmemory_clients_percent
                                          : v.maxmemory_clients;
  }
  if (cap == 0 || cap > kCeiling) cap = kCeiling;
  return std::max(cap, kFloor);
}

bool IsIntsetValue(std::string_view s, int64_t* out) {
  int64_t v;
  if (s.empty() || s.size() > 20 || !ParseInt64(s, &v)) return false;
  // Canonical text only, as Redis's string2ll: no "+1", "007", "-0" or spaces.
  if (std::to_string(v) != s) return false;
  if (out != nullptr) *out = v;
  return true;
}

CollectionObject::CollectionObject(engine::Engine* engine, int db, std::string_view key,
                                   ValueType type, const CollectionLimits& limits)
    : engine_(engine),
      db_(db),
      space_(engine->MemberSpace(db)),
      key_(key),
      type_(type),
      limits_(limits) {
  // A new hash starts as a listpack; a new set's encoding is decided by its first member.
  encoding_ = type == ValueType::kSet ? CollectionEncoding::kIntset : CollectionEncoding::kListpack;
}

OpStatus CollectionObject::Load(LookupMode mode) {
  auto view = engine_->Get(db_, key_, mode);
  if (!view) return OpStatus::kNotFound;
  if (view->type != type_) return OpStatus::kWrongType;
  engine::CollectionMeta meta;
  if (!engine::DecodeCollectionMeta(view->value, &meta)) {
    // Never written by this server: treat as damage the key alone suffers (an empty value).
    return OpStatus::kNotFound;
  }
  exists_ = true;
  expire_at_ms_ = view->expire_at_ms;
  storage_ = meta.storage;
  encoding_ = meta.encoding;
  count_ = meta.count;
  id_ = meta.id;
  raw_.assign(meta.inline_entries);
  parsed_ = false;
  return OpStatus::kOk;
}

std::string CollectionObject::MemberKey(std::string_view name) const {
  return engine::MemberKey(id_, engine::MemberKind::kMember, name);
}

void CollectionObject::ParseInline() {
  if (parsed_) return;
  parsed_ = true;
  items_.clear();
  Decoder d(raw_);
  const bool pairs = type_ == ValueType::kHash;
  for (uint64_t i = 0; i < count_; i++) {
    std::string_view name, value;
    if (!d.GetLengthPrefixed(&name) || (pairs && !d.GetLengthPrefixed(&value))) break;
    items_.emplace_back(name, value);
  }
  count_ = items_.size();
}

std::optional<std::string> CollectionObject::Find(std::string_view name) {
  if (storage_ == CollectionStorage::kMembers) {
    auto v = engine_->Get(space_, MemberKey(name), LookupMode::kMember);
    if (!v) return std::nullopt;
    return std::string(v->value);
  }
  if (parsed_) {
    for (const auto& [n, v] : items_) {
      if (n == name) return v;
    }
    return std::nullopt;
  }
  Decoder d(raw_);
  const bool pairs = type_ == ValueType::kHash;
  for (uint64_t i = 0; i < count_; i++) {
    std::string_view n, v;
    if (!d.GetLengthPrefixed(&n) || (pairs && !d.GetLengthPrefixed(&v))) break;
    if (n == name) return std::string(v);
  }
  return std::nullopt;
}

void CollectionObject::Probe(std::string_view name) {
  if (storage_ == CollectionStorage::kMembers) {
    engine_->Get(space_, MemberKey(name), LookupMode::kWrite);
  }
}

bool CollectionObject::NeedsHashtable(std::string_view name, std::string_view value,
                                      uint64_t new_count) const {
  if (encoding_ == CollectionEncoding::kHashtable) return false;
  if (type_ == ValueType::kHash) {
    return name.size() > limits_.hash_max_listpack_value ||
           value.size() > limits_.hash_max_listpack_value ||
           new_count > limits_.hash_max_listpack_entries;
  }
  return !IsIntsetValue(name, nullptr) || new_count > limits_.set_max_intset_entries;
}

size_t CollectionObject::InlineBytes() const {
  size_t n = 0;
  for (const auto& [name, value] : items_) n += name.size() + value.size() + 2;
  return n;
}

bool CollectionObject::Upsert(std::string_view name, std::string_view value) {
  if (count_ == 0 && type_ == ValueType::kSet && storage_ == CollectionStorage::kInline) {
    // Redis's setTypeCreate: an intset when the first member is an integer.
    encoding_ = IsIntsetValue(name, nullptr) ? CollectionEncoding::kIntset
                                             : CollectionEncoding::kHashtable;
  }
  if (storage_ == CollectionStorage::kMembers) {
    const bool is_new = !engine_->Put(space_, MemberKey(name), ValueType::kString, value, 0);
    members_changed_ = true;
    if (is_new) {
      count_++;
      dirty_ = true;
    }
    return is_new;
  }
  ParseInline();
  dirty_ = true;
  for (auto& item : items_) {
    if (item.first == name) {
      if (NeedsHashtable(name, value, count_)) encoding_ = CollectionEncoding::kHashtable;
      item.second.assign(value);
      return false;
    }
  }
  if (NeedsHashtable(name, value, count_ + 1)) encoding_ = CollectionEncoding::kHashtable;
  if (IsIntsetOrdered()) {
    int64_t v = 0;
    IsIntsetValue(name, &v);
    auto pos = std::lower_bound(items_.begin(), items_.end(), v,
                                [](const std::pair<std::string, std::string>& item, int64_t x) {
                                  int64_t y = 0;
                                  IsIntsetValue(item.first, &y);
                                  return y < x;
                                });
    items_.emplace(pos, std::string(name), std::string(value));
  } else {
    items_.emplace_back(std::string(name), std::string(value));
  }
  count_++;
  // A listpack or intset stays inline (its order is Redis's); a hashtable only while small.
  if (encoding_ == CollectionEncoding::kHashtable &&
      (count_ > engine::kInlineMaxEntries || InlineBytes() > engine::kInlineMaxBytes)) {
    MoveToMembers();
  }
  return true;
}

bool CollectionObject::Remove(std::string_view name) {
  if (storage_ == CollectionStorage::kMembers) {
    if (!engine_->Delete(space_, MemberKey(name))) return false;
    count_--;
    dirty_ = true;
    return true;
  }
  ParseInline();
  for (auto it = items_.begin(); it != items_.end(); ++it) {
    if (it->first == name) {
      items_.erase(it);
      count_--;
      dirty_ = true;
      return true;
    }
  }
  return false;
}

void CollectionObject::MoveToMembers() {
  id_ = engine_->NewCollectionId();
  storage_ = CollectionStorage::kMembers;
  for (const auto& [name, value] : items_) {
    engine_->Put(space_, MemberKey(name), ValueType::kString, value, 0);
  }
  items_.clear();
  raw_.clear();
  parsed_ = false;
  dirty_ = true;
}

void CollectionObject::ForEach(
    const std::function<bool(std::string_view name, std::string_view value)>& fn) {
  if (storage_ == CollectionStorage::kMembers) {
    engine_->ScanPrefix(space_, engine::MemberPrefix(id_, engine::MemberKind::kMember), {},
                        [&](std::string_view key, const engine::RecordView& view) {
                          return fn(engine::MemberKeyName(key), view.value);
                        });
    return;
  }
  if (parsed_) {
    for (const auto& [name, value] : items_) {
      if (!fn(name, value)) return;
    }
    return;
  }
  Decoder d(raw_);
  const bool pairs = type_ == ValueType::kHash;
  for (uint64_t i = 0; i < count_; i++) {
    std::string_view n, v;
    if (!d.GetLengthPrefixed(&n) || (pairs && !d.GetLengthPrefixed(&v))) break;
    if (!fn(n, v)) return;
  }
}

std::vector<std::pair<std::string, std::string>> CollectionObject::Range(std::string_view after,
                                                                         size_t max, bool* done) {
  std::vector<std::pair<std::string, std::string>> out;
  *done = true;
  if (storage_ == CollectionStorage::kMembers) {
    const std::string prefix = engine::MemberPrefix(id_, engine::MemberKind::kMember);
    const std::string start = after.empty() ? std::string() : MemberKey(after);
    engine_->ScanPrefix(space_, prefix, start,
                        [&](std::string_view key, const engine::RecordView& view) {
                          if (out.size() == max) {
                            *done = false;
                            return false;
                          }
                          out.emplace_back(engine::MemberKeyName(key), view.value);
                          return true;
                        });
    return out;
  }
  ParseInline();
  bool started = after.empty();
  for (const auto& item : items_) {
    if (!started) {
      started = item.first == after;
      continue;
    }
    if (out.size() == max) {
      *done = false;
      break;
    }
    out.push_back(item);
  }
  return out;
}

std::pair<std::string, std::string> CollectionObject::At(uint64_t index) {
  if (storage_ == CollectionStorage::kInline) {
    ParseInline();
    return index < items_.size() ? items_[index] : std::pair<std::string, std::string>();
  }
  std::pair<std::string, std::string> out;
  uint64_t i = 0;
  ForEach([&](std::string_view name, std::string_view value) {
    if (i++ < index) return true;
    out = {std::string(name), std::string(value)};
    return false;
  });
  return out;
}

namespace {
// Random-pick pools of member-record collections, by id (ids are unique across databases).
// Loop thread only. Bounded: the least recently built pools go first.
struct RandomPool {
  std::vector<std::string> names;
  std::unordered_set<std::string> present;  // names, for the replenishment's duplicate check
};
struct RandomPools {
  static constexpr size_t kMaxPools = 64;
  std::unordered_map<uint64_t, RandomPool> by_id;
  std::deque<uint64_t> built;  // ids in build order
};
RandomPools& Pools() {
  static RandomPools pools;
  return pools;
}
constexpr size_t kPoolSize = 1024;
}  // namespace

std::optional<std::string> CollectionObject::MemberAfter(std::string_view name, size_t steps) {
  std::optional<std::string> found;
  size_t seen = 0;
  engine_->ScanPrefix(space_, engine::MemberPrefix(id_, engine::MemberKind::kMember),
                      MemberKey(name), [&](std::string_view key, const engine::RecordView&) {
                        found.emplace(engine::MemberKeyName(key));
                        return ++seen < steps;
                      });
  return found;
}

std::pair<std::string, std::string> CollectionObject::RandomMember() {
  if (storage_ == CollectionStorage::kInline) return At(RandomBelow(count_));
  RandomPools& pools = Pools();
  auto it = pools.by_id.find(id_);
  if (it == pools.by_id.end() || it->second.names.empty()) {
    // (Re)build: a uniform sample (reservoir) of kPoolSize names from one walk. Once per
    // collection while the pool lasts: picks replenish it themselves (below).
    RandomPool pool;
    pool.names.reserve(kPoolSize);
    uint64_t seen = 0;
    ForEach([&](std::string_view name, std::string_view) {
      if (pool.names.size() < kPoolSize) {
        pool.names.emplace_back(name);
      } else if (const uint64_t j = RandomBelow(seen + 1); j < kPoolSize) {
        pool.names[j].assign(name);
      }
      seen++;
      return true;
    });
    pool.present.insert(pool.names.begin(), pool.names.end());
    if (it == pools.by_id.end()) {
      if (pools.by_id.size() >= RandomPools::kMaxPools && !pools.built.empty()) {
        pools.by_id.erase(pools.built.front());
        pools.built.pop_front();
      }
      pools.built.push_back(id_);
    }
    it = pools.by_id.insert_or_assign(id_, std::move(pool)).first;
  }
  RandomPool& pool = it->second;
  const std::string prefix = engine::MemberPrefix(id_, engine::MemberKind::kMember);
  while (!pool.names.empty()) {
    const size_t i = RandomBelow(pool.names.size());
    std::string name = pool.names[i];
    // The pick's slot goes to a uniformly random member of those in memory (a few O(1)
    // draws from the MemTable, which holds the whole collection when memory is not limited),
    // or else to a member a few places after it in key order (one seek, wrapping to the first):
    // a uniform sample's successors are spread as evenly. So the pool stays a fair sample
    // without another walk. A replacement already pooled leaves the slot empty.
    std::optional<std::string> next;
    std::string drawn;
    if (engine_->RandomMemoryKeyWithPrefix(space_, prefix, 16, &drawn)) {
      next.emplace(engine::MemberKeyName(drawn));
    } else {
      next = MemberAfter(name, 1 + RandomBelow(4));
      if (!next) next = MemberAfter({}, 1);
    }
    pool.present.erase(name);
    if (next && *next != name && pool.present.insert(*next).second) {
      pool.names[i] = std::move(*next);
    } else {
      pool.names[i] = std::move(pool.names.back());
      pool.names.pop_back();
    }
    if (std::optional<std::string> value = Find(name)) return {std::move(name), *value};
  }
  return At(RandomBelow(count_));  // a damaged walk: fall back to a position
}

std::vector<std::pair<std::string, std::string>> CollectionObject::RandomDistinct(uint64_t k) {
  std::vector<std::pair<std::string, std::string>> out;
  if (storage_ == CollectionStorage::kMembers && k * 8 <= count_) {
    // Few picks: from the pool, duplicates skipped (a bounded number of tries).
    std::set<std::string> taken;
    for (uint64_t tries = 0; out.size() < k && tries < 4 * k + 64; tries++) {
      auto pick = RandomMember();
      if (taken.insert(pick.first).second) out.push_back(std::move(pick));
    }
    if (out.size() == k) return out;
    out.clear();
  }
  // Many picks (or inline): k distinct positions by reservoir over one walk, then shuffled.
  uint64_t seen = 0;
  ForEach([&](std::string_view name, std::string_view value) {
    if (out.size() < k) {
      out.emplace_back(name, value);
    } else if (const uint64_t j = RandomBelow(seen + 1); j < k) {
      out[j] = {std::string(name), std::string(value)};
    }
    seen++;
    return true;
  });
  std::shuffle(out.begin(), out.end(), CollectionRng());
  return out;
}

void CollectionObject::Commit() {
  if (!dirty_) {
    // Member records changed, the metadata did not (an overwritten field of a large hash):
    // the key changed all the same.
    if (members_changed_ && exists_) engine_->NotifyKeyWritten(db_, key_);
    members_changed_ = false;
    return;
  }
  dirty_ = false;
  members_changed_ = false;
  if (count_ == 0) {
    if (exists_) engine_->Delete(db_, key_);
    exists_ = false;
    return;
  }
  std::string value;
  if (storage_ == CollectionStorage::kMembers) {
    engine::EncodeMembersMeta(encoding_, id_, count_, &value);
  } else {
    ParseInline();
    std::vector<std::string> strings;
    strings.reserve(items_.size() * 2);
    for (const auto& [name, v] : items_) {
      strings.push_back(name);
      if (type_ == ValueType::kHash) strings.push_back(v);
    }
    engine::EncodeInlineMeta(encoding_, count_, strings, &value);
  }
  engine_->Put(db_, key_, type_, value, expire_at_ms_);
  exists_ = true;
}

void CollectionObject::ReplaceAll(const std::vector<std::pair<std::string, std::string>>& items) {
  if (exists_) engine_->Delete(db_, key_);
  exists_ = false;
  expire_at_ms_ = 0;
  storage_ = CollectionStorage::kInline;
  encoding_ = type_ == ValueType::kSet ? CollectionEncoding::kIntset : CollectionEncoding::kListpack;
  count_ = 0;
  id_ = 0;
  raw_.clear();
  items_.clear();
  parsed_ = true;
  for (const auto& [name, value] : items) Upsert(name, value);
  dirty_ = true;
  Commit();
}

void CollectionObject::CopyTo(int dst_db, std::string_view dst_key, int64_t expire_at_ms) {
  std::string value;
  if (storage_ == CollectionStorage::kInline) {
    ParseInline();
    std::vector<std::string> strings;
    for (const auto& [name, v] : items_) {
      strings.push_back(name);
      if (type_ == ValueType::kHash) strings.push_back(v);
    }
    engine::EncodeInlineMeta(encoding_, count_, strings, &value);
  } else {
    // Copied in chunks: a walk's views die with the first write.
    const uint64_t id = engine_->NewCollectionId();
    const int dst_space = engine_->MemberSpace(dst_db);
    std::string after;
    bool done = false;
    while (!done) {
      auto chunk = Range(after, 1024, &done);
      for (const auto& [name, v] : chunk) {
        engine_->Put(dst_space, engine::MemberKey(id, engine::MemberKind::kMember, name),
                     ValueType::kString, v, 0);
      }
      if (chunk.empty()) break;
      after = chunk.back().first;
    }
    engine::EncodeMembersMeta(encoding_, id, count_, &value);
  }
  engine_->Put(dst_db, dst_key, type_, value, expire_at_ms);
}

}  // namespace organic::commands
