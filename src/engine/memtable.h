// MemTable: a probabilistic skip list of records ordered by user key, for one keyspace
// (database). The engine keeps one MemTable per database, so the internal key (database, key)
// order is "database, then key" without storing the database in every entry.
//
// Memory layout of one entry (one allocation, see docs/record-format.md):
//   u64 (sequence << 16 | tier << 13 | height << 8 | type << 4 | flags) | next[height]
//   | atomic u32 access | atomic u32 last access (Unix seconds)
//   | [i64 expire-at if kHasExpire] | varint key length | varint value length | key | value
// Keeping the header this small matters: 16-byte keys with 32-byte values fit jemalloc's
// 80-byte class for height 1 (3 entries in 4).
//
// Point lookups go through a KeyIndex (hash table of entry pointers) rather than a skip-list
// descent: at a million keys the descent is ~20 dependent cache misses, the index one or two.
// The skip list keeps the order (Seek, First/Next, flushes). Both always hold the same entries.
//
// Threading contract: the *active* MemTable is read and written by the loop thread only, so
// entries are mutated in place and unlinked without atomics. The exceptions are the access
// counter and the last-access time, relaxed atomics: once a MemTable is frozen (immutable, read
// by the loop and the flush worker together) reads still bump them. Unlike LevelDB's skip
// list, entries are therefore not immutable after linking: the counter changes, and in an
// active table the whole entry may be replaced (a new entry swapped into the same position) or
// removed.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string_view>

#include "engine/key_index.h"
#include "engine/record.h"

namespace organic::engine {

class MemTable {
 public:
  static constexpr int kMaxHeight = 24;

  // One skip list node. Opaque outside memtable.cc except through the accessors below.
  struct Entry;

  // What an entry is with respect to the older tiers (frozen MemTables, SSTables) of its
  // database. The values are part of the entry layout (memtable.cc); combine with |.
  enum TierFlag : uint8_t {
    // A delete: the key is absent, whatever an older tier holds.
    kTombstone = 0x1,
    // When the entry was written, an older tier held a live (non-tombstone) record for the key.
    // The engine keeps DBSIZE exact with it: flushing this entry changes the tables' key count
    // by (entry live) - (shadows live), with no lookup on the flush path.
    kShadowsLive = 0x2,
    // ... and that record had a TTL (the same bookkeeping for INFO keyspace's expires=).
    kShadowsVolatile = 0x4,
    // A copy of a record an SSTable already holds (a promoted key or a flush survivor): it is
    // in no WAL, and a flush drops it rather than writing it again.
    kClean = 0x8,
  };

  MemTable();
  ~MemTable();
  MemTable(const MemTable&) = delete;
  MemTable& operator=(const MemTable&) = delete;

  // Exact lookup; nullptr if absent.
  Entry* Find(std::string_view key) const;

  // Inserts or replaces the record for key (tier: TierFlag bits). Returns the entry now holding
  // it. Any view into the previous entry for key is invalidated; its access count and last
  // access time carry over (a new key starts with both 0: the caller stamps it with Touch).
  Entry* Upsert(std::string_view key, uint64_t sequence, ValueType type, int64_t expire_at_ms,
                std::string_view value, EncodingHint encoding, uint8_t tier);

  // Changes the expire time (0 = persist) and tier flags, keeping the value.
  // REQUIRES: key present.
  Entry* SetExpire(std::string_view key, uint64_t sequence, int64_t expire_at_ms, uint8_t tier);

  // Removes key; returns false if it was absent.
  bool Erase(std::string_view key);

  // First entry with key >= target (or > target when exclusive), nullptr at the end.
  Entry* Seek(std::string_view target, bool exclusive) const;
  Entry* First() const;
  static Entry* Next(const Entry* e);
  // A uniformly random entry (from the KeyIndex), nullptr if empty. O(1) expected.
  Entry* RandomEntry(std::minstd_rand* rng) const;

  // Accessors of an entry.
  static std::string_view Key(const Entry* e);
  static std::string_view Value(const Entry* e);
  static ValueType Type(const Entry* e);
  static uint64_t Sequence(const Entry* e);
  static int64_t ExpireAt(const Entry* e);  // 0 = none
  static uint32_t AccessCount(const Entry* e);
  static EncodingHint Encoding(const Entry* e);
  static uint8_t Tier(const Entry* e);  // TierFlag bits
  static bool IsTombstone(const Entry* e) { return Tier(e) & kTombstone; }
  static void BumpAccess(Entry* e);  // relaxed atomic increment, saturating
  static void SetAccess(Entry* e, uint32_t count);
  // Replaces the tier flags (a keep-all flush marks a whole table clean in place once its table
  // is durable). REQUIRES: the table is not being read by another thread; the kTombstone bit
  // is unchanged (the tombstone count depends on it).
  static void SetTier(Entry* e, uint8_t tier);
  // Last read or write of the entry in Unix seconds (the LRU clock of eviction and OBJECT
  // IDLETIME); 0 if never stamped. Relaxed atomic, like the access count.
  static uint32_t LastAccess(const Entry* e);
  static void Touch(Entry* e, uint32_t now_s);
  static RecordView View(const Entry* e);

  // Entries, tombstones included.
  size_t entry_count() const { return entry_count_; }
  size_t tombstone_count() const { return tombstone_count_; }
  // Bytes allocated for entries (requested sizes; the allocator may round up) and the index.
  size_t memory_bytes() const { return memory_bytes_ + index_.memory_bytes(); }

  // Drops every entry.
  void Clear();

 private:
  // Fills prev[0..kMaxHeight) with the last node < key at each level; returns the node at
  // level 0 after prev[0] (the first node >= key).
  Entry* FindGreaterOrEqual(std::string_view key, Entry** prev) const;
  int RandomHeight();
  Entry* NewEntry(int height, std::string_view key, uint64_t sequence, ValueType type,
                  int64_t expire_at_ms, std::string_view value, uint8_t extra_flags,
                  uint8_t tier);
  void FreeEntry(Entry* e);
  // Links replacement in place of old (same height required), frees old.
  void ReplaceLinked(Entry** prev, Entry* old, Entry* replacement);

  Entry* head_;  // sentinel with kMaxHeight levels; holds no record
  KeyIndex index_;
  int max_height_ = 1;
  size_t entry_count_ = 0;
  size_t tombstone_count_ = 0;
  size_t memory_bytes_ = 0;
  std::minstd_rand rng_;
};

}  // namespace organic::engine
