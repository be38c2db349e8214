// MemTable: a probabilistic skip list of records ordered by user key, for one keyspace
// (database). The engine keeps one MemTable per database, so the internal key (database, key)
// order is "database, then key" without storing the database in every entry.
//
// Memory layout of one entry (one allocation, see docs/record-format.md):
//   u64 (sequence << 16 | height << 8 | type << 4 | flags) | next[height] | atomic u32 access
//   | [i64 expire-at if kHasExpire] | varint key length | varint value length | key | value
// Keeping the header this small matters: 16-byte keys with 32-byte values fit jemalloc's
// 80-byte class for most heights.
//
// Point lookups go through a KeyIndex (hash table of entry pointers) rather than a skip-list
// descent: at a million keys the descent is ~20 dependent cache misses, the index one or two.
// The skip list keeps the order (Seek, First/Next, flushes). Both always hold the same entries.
//
// Threading contract: the *active* MemTable is read and written by the loop thread only, so
// entries are mutated in place and unlinked without atomics. The one exception is the access
// counter, a relaxed atomic: once a MemTable is frozen (immutable, read by the loop and the
// flush worker together) reads still bump it. Unlike LevelDB's skip list, entries are therefore
// not immutable after linking: the counter changes, and in an active table the whole entry may
// be replaced (a new entry swapped into the same position) or removed.
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

  MemTable();
  ~MemTable();
  MemTable(const MemTable&) = delete;
  MemTable& operator=(const MemTable&) = delete;

  // Exact lookup; nullptr if absent.
  Entry* Find(std::string_view key) const;

  // Inserts or replaces the record for key. Returns the entry now holding it. Any view into
  // the previous entry for key is invalidated. *existed tells whether key was present.
  // *old_expire_at_ms receives the replaced entry's expire time (0 if none or absent).
  Entry* Upsert(std::string_view key, uint64_t sequence, ValueType type, int64_t expire_at_ms,
                std::string_view value, EncodingHint encoding, bool* existed,
                int64_t* old_expire_at_ms);

  // Changes only the expire time (0 = persist), keeping the value. REQUIRES: key present.
  Entry* SetExpire(std::string_view key, uint64_t sequence, int64_t expire_at_ms);

  // Removes key; returns false if it was absent.
  bool Erase(std::string_view key);

  // First entry with key >= target (or > target when exclusive), nullptr at the end.
  Entry* Seek(std::string_view target, bool exclusive) const;
  Entry* First() const;
  static Entry* Next(const Entry* e);
  // A pseudo-random entry (a random descent: every entry is reachable, not exactly uniform),
  // nullptr if empty.
  Entry* RandomEntry(std::minstd_rand* rng) const;

  // Accessors of an entry.
  static std::string_view Key(const Entry* e);
  static std::string_view Value(const Entry* e);
  static ValueType Type(const Entry* e);
  static uint64_t Sequence(const Entry* e);
  static int64_t ExpireAt(const Entry* e);  // 0 = none
  static uint32_t AccessCount(const Entry* e);
  static EncodingHint Encoding(const Entry* e);
  static void BumpAccess(Entry* e);  // relaxed atomic increment, saturating
  static RecordView View(const Entry* e);

  size_t entry_count() const { return entry_count_; }
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
                  int64_t expire_at_ms, std::string_view value, uint8_t extra_flags);
  void FreeEntry(Entry* e);
  // Links replacement in place of old (same height required), frees old.
  void ReplaceLinked(Entry** prev, Entry* old, Entry* replacement);

  Entry* head_;  // sentinel with kMaxHeight levels; holds no record
  KeyIndex index_;
  int max_height_ = 1;
  size_t entry_count_ = 0;
  size_t memory_bytes_ = 0;
  std::minstd_rand rng_;
};

}  // namespace organic::engine
