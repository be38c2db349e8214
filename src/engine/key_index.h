// KeyIndex: an open-addressing hash table from user key to MemTable entry, so point lookups
// (GET, SET of an existing key, EXISTS ...) cost one or two cache misses instead of a skip-list
// descent of ~log4(n) levels. The skip list stays the ordered structure (SCAN, range walks,
// flushes); this index only answers "where is key K".
//
// Slots hold tagged pointers: the low 48 bits are the entry address (x86-64 and aarch64 user
// space), the high 16 bits a tag taken from the key's hash, so most probes that miss never
// touch the entry. Linear probing; deletion shifts following entries back (no tombstones).
// The key and its hash are recomputed from the entry when an entry moves (growth, deletion).
//
// Threading: same as the owning MemTable (loop thread for an active table).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace organic::engine {

// A 64-bit hash of a user key (our own multiply-rotate mix, fast for short keys).
uint64_t HashKey(std::string_view key);

class KeyIndex {
 public:
  using KeyOf = std::string_view (*)(const void* entry);

  explicit KeyIndex(KeyOf key_of);
  KeyIndex(const KeyIndex&) = delete;
  KeyIndex& operator=(const KeyIndex&) = delete;

  // The entry whose key equals key, or nullptr. hash == HashKey(key).
  void* Find(std::string_view key, uint64_t hash) const;
  // REQUIRES: no entry with this key is present.
  void Insert(uint64_t hash, void* entry);
  // Points the slot of `old` at `fresh` (same key).
  void Replace(uint64_t hash, const void* old, void* fresh);
  // REQUIRES: entry present.
  void Erase(uint64_t hash, const void* entry);
  void Clear();
  // A uniformly random entry (nullptr if empty). Random slots until an occupied one: each
  // entry owns one slot, so the first hit is uniform. The load factor stays in [1/8, 3/4]
  // above 1024 slots, so that takes at most 8 tries on average; after 64 misses (a small, sparse
  // table, or bad luck: (7/8)^64 = 0.02%) the r-th occupied slot, r uniform, keeps it exact.
  // rng returns at least 31 random bits per call (std::minstd_rand).
  template <typename Rng>
  void* RandomEntry(Rng* rng) const {
    if (size_ == 0) return nullptr;
    auto draw = [rng] { return (static_cast<uint64_t>((*rng)()) << 31) ^ (*rng)(); };
    for (int tries = 0; tries < 64; tries++) {
      size_t i = draw() & mask_;
      if (slots_[i] != 0) return PointerOf(slots_[i]);
    }
    size_t r = draw() % size_;
    for (uint64_t slot : slots_) {
      if (slot != 0 && r-- == 0) return PointerOf(slot);
    }
    return nullptr;  // unreachable: size_ slots are occupied
  }

  size_t size() const { return size_; }
  size_t memory_bytes() const { return slots_.capacity() * sizeof(uint64_t); }

 private:
  static constexpr uint64_t kPointerMask = (1ull << 48) - 1;
  static uint64_t Tag(uint64_t hash) { return hash & ~kPointerMask; }
  static void* PointerOf(uint64_t slot) { return reinterpret_cast<void*>(slot & kPointerMask); }
  size_t SlotOf(const void* entry, uint64_t hash) const;
  void Resize(size_t capacity);

  KeyOf key_of_;
  std::vector<uint64_t> slots_;  // 0 = empty; capacity is a power of two (or 0)
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace organic::engine
