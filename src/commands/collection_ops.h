// The typed operation layer for collections: what hash and set commands (and later lists and
// sorted sets) do to the engine, without parsing arguments or writing replies. A command
// handler parses, loads one CollectionObject per key, calls its operations, and replies from
// what they return; errors come back as an OpStatus, never as a reply (style.md, Dragonfly's
// OpResult). Generic commands (TYPE, RENAME, COPY, MOVE, OBJECT, MEMORY) use it too.
//
// Storage (engine/collection_meta.h): a collection Redis would keep in a listpack or an intset
// stays inline in its metadata record, in Redis's order (insertion order, or numeric order for
// an intset), so replies come in the order Redis gives. A "hashtable" collection stays inline
// while small (kInlineMaxEntries, kInlineMaxBytes) and moves to member records past that, for
// good: one record per member in the database's member space, so a change costs O(1) records
// and cold members tier to disk on their own.
//
// Atomicity: a command's writes form one WAL record (the server brackets each command with
// Engine::BeginCommand/EndCommand). Handlers look up every member they will change before the
// first write (Find/Contains), so a table read error stops the command before anything is
// logged (engine_keys.cc's invariant), and Commit writes the metadata last.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "commands/command.h"
#include "engine/collection_meta.h"
#include "engine/engine.h"

namespace organic::commands {

// Redis's conversion thresholds (config directives of the same names).
struct CollectionLimits {
  uint64_t hash_max_listpack_entries = 512;
  uint64_t hash_max_listpack_value = 64;
  uint64_t set_max_intset_entries = 512;
};
CollectionLimits CollectionLimitsOf(const CommandContext& ctx);

enum class OpStatus { kOk, kNotFound, kWrongType };

// One collection key of one command. Not reusable across commands: it holds copies of the
// metadata (engine views die with the next write).
class CollectionObject {
 public:
  CollectionObject(engine::Engine* engine, int db, std::string_view key, engine::ValueType type,
                   const CollectionLimits& limits);

  // Reads the key: kOk (a collection of this type), kNotFound (then the object is an empty
  // collection that Upsert creates), kWrongType (another type; the object must not be used).
  OpStatus Load(engine::LookupMode mode);
  bool exists() const { return exists_; }
  uint64_t size() const { return count_; }
  engine::CollectionEncoding encoding() const { return encoding_; }
  engine::CollectionStorage storage() const { return storage_; }
  int64_t expire_at_ms() const { return expire_at_ms_; }
  const std::string& key() const { return key_; }
  uint64_t id() const { return id_; }  // member records' id, 0 while inline

  // The member's value (empty for a set), or nullopt.
  std::optional<std::string> Find(std::string_view name);
  bool Contains(std::string_view name) { return Find(name).has_value(); }
  // Looks name up for a write about to happen (no read statistics, no promotion from disk), so
  // that a table read error shows before a multi-member command's first write.
  void Probe(std::string_view name);
  // Inserts or replaces; true if name is new. The encoding and storage convert as Redis's
  // rules and ours say. Written at once for member records, at Commit for inline storage.
  bool Upsert(std::string_view name, std::string_view value);
  // True if name was there.
  bool Remove(std::string_view name);
  // Visits every member in storage order while fn returns true. The views are valid during
  // the call only; fn must not change the engine.
  void ForEach(const std::function<bool(std::string_view name, std::string_view value)>& fn);
  // Members in storage order from the one after `after` (from the start if after is empty),
  // at most max of them; *done when the end was reached. For HSCAN/SSCAN.
  std::vector<std::pair<std::string, std::string>> Range(std::string_view after, size_t max,
                                                          bool* done);
  // The member at position index (0 <= index < size()) in storage order. O(1) inline; a walk
  // over the member records otherwise.
  std::pair<std::string, std::string> At(uint64_t index);
  // A random member (REQUIRES: size() > 0). Inline: uniform, O(1). Member records have no
  // positions to draw from: picks come from a pool of 1024 names kept per collection id,
  // first a uniform sample (a reservoir over one walk), then replenished by each pick with a
  // member 1-4 places after it in key order (one seek), so the walk happens once per
  // collection, not once per refill. A pooled name gone since is skipped (each pick is looked
  // up). Near-uniform, as Redis's own random dict entry is.
  std::pair<std::string, std::string> RandomMember();
  // k distinct random members, 0 < k < size(), in random order.
  std::vector<std::pair<std::string, std::string>> RandomDistinct(uint64_t k);

  // Makes the changes visible to the next command: writes the metadata record (its TTL kept),
  // or deletes the key when the collection became empty. No-op without changes.
  void Commit();
  // Replaces the whole collection by `items` (STORE commands): the key is deleted first (its
  // old members die), then the new collection is built. TTL cleared, as Redis does.
  void ReplaceAll(const std::vector<std::pair<std::string, std::string>>& items);

  // Copies this collection to (dst_db, dst_key), which the caller has checked it may
  // overwrite; member records get a fresh id. expire_at_ms: the copy's TTL.
  void CopyTo(int dst_db, std::string_view dst_key, int64_t expire_at_ms);

 private:
  void ParseInline();                       // raw_ -> items_
  // The member `steps` places after name in key order (from the first when name is empty),
  // or the last one before the end; nullopt if there is none after name.
  std::optional<std::string> MemberAfter(std::string_view name, size_t steps);
  bool NeedsHashtable(std::string_view name, std::string_view value, uint64_t new_count) const;
  void MoveToMembers();                      // inline -> member records
  std::string MemberKey(std::string_view name) const;
  bool IsIntsetOrdered() const {
    return type_ == engine::ValueType::kSet && encoding_ == engine::CollectionEncoding::kIntset;
  }
  size_t InlineBytes() const;

  engine::Engine* engine_;
  int db_;
  int space_;  // the member space of db_
  std::string key_;
  engine::ValueType type_;
  CollectionLimits limits_;

  bool exists_ = false;
  int64_t expire_at_ms_ = 0;
  engine::CollectionStorage storage_ = engine::CollectionStorage::kInline;
  engine::CollectionEncoding encoding_ = engine::CollectionEncoding::kListpack;
  uint64_t count_ = 0;
  uint64_t id_ = 0;
  // Inline storage: the entries as loaded (raw_, scanned by Find without parsing), parsed into
  // items_ on the first change.
  std::string raw_;
  bool parsed_ = false;
  std::vector<std::pair<std::string, std::string>> items_;
  bool dirty_ = false;  // metadata to write at Commit
  bool members_changed_ = false;  // member records written since the last Commit
};

// The largest reply SRANDMEMBER with a negative count may build. Redis 7.0 builds any reply
// the count asks for (SRANDMEMBER k -9223372036854775807 runs until the server runs out of
// memory); here a reply past the bound all clients share (maxmemory-clients, which would evict
// this client right after the command anyway) is refused before it is built, and with no bound
// configured a fixed 4 GB ceiling keeps the allocation from failing.
uint64_t RandomReplyCap(const CommandContext& ctx);

// The loop thread's generator for HRANDFIELD, SRANDMEMBER, SPOP (seeded once per process).
inline std::mt19937_64& CollectionRng() {
  static std::mt19937_64 rng(std::random_device{}());
  return rng;
}

// Uniform in [0, n), n > 0.
inline uint64_t RandomBelow(uint64_t n) {
  return std::uniform_int_distribution<uint64_t>(0, n - 1)(CollectionRng());
}

// Parses a canonical int64 (what an intset can hold: no sign "+", no leading zeros, no "-0").
bool IsIntsetValue(std::string_view s, int64_t* out);

}  // namespace organic::commands
