// BlockCache: decompressed SSTable data blocks kept in memory, least recently used out first,
// so that a hot block read from disk again costs a hash lookup instead of a pread, a checksum
// and a zstd decompression (SstableReader::Get, docs/architecture.md "Block cache").
//
// Keys are (table file number, block offset). File numbers are never reused within one engine
// (Engine::next_file_number_ only grows, and Engine::Reload clears the cache before reopening),
// so a key names the same bytes for as long as the cache holds it. EraseFile drops a deleted
// table's blocks at once rather than letting them age out.
//
// Accounting: each block is charged Charge(block) = its size plus kEntryOverhead, the
// bookkeeping an entry costs (hash node, list links, shared_ptr control block, string header).
// usage() is the sum of the charges of the blocks held, and never exceeds capacity() after a
// call returns. The allocator's rounding of the block's own allocation is not charged (jemalloc
// rounds a 4-5 KiB block up to the next 1 KiB class: ~10% on average for default blocks).
//
// Blocks are handed out as shared_ptr<const std::string>: an eviction (or EraseFile, Clear, a
// capacity cut) only drops the cache's reference, so a block in use stays valid until its
// last user lets go. Memory of blocks in use but evicted is therefore briefly uncharged.
//
// Threading: every method may be called from any thread; one mutex guards the whole state.
// The engine fills and reads the cache from the loop thread only (point lookups); the worker
// calls EraseFile when it deletes table files. Sequential readers (compaction, SCAN) bypass the
// cache so that one pass over a table cannot flush the blocks point lookups keep hot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace organic::engine {

class BlockCache {
 public:
  // Bytes charged per block on top of its size, estimated for libstdc++ and jemalloc: the hash
  // node holding the key, the entry and its links (96 B) plus its bucket slot (8 B), the
  // make_shared block holding the control block and the string object (48 B); rounded up.
  static constexpr uint64_t kEntryOverhead = 160;

  // capacity_bytes: the most the blocks may be charged in total (0 = keep nothing).
  explicit BlockCache(uint64_t capacity_bytes);
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;
  ~BlockCache();

  // What a block costs the cache.
  static uint64_t Charge(const std::string& block) { return block.size() + kEntryOverhead; }

  // The block cached under (file, offset), or nullptr. A hit makes the block the most recently
  // used. Counts a hit or a miss.
  std::shared_ptr<const std::string> Lookup(uint64_t file, uint64_t offset);

  // Keeps block under (file, offset) as the most recently used (replacing a block already
  // there), then evicts least recently used blocks until usage() <= capacity(). A block whose
  // charge alone exceeds the capacity is not kept (it would evict everything else and then
  // itself). REQUIRES: block != nullptr, and its bytes are verified (the cache trusts them).
  void Insert(uint64_t file, uint64_t offset, std::shared_ptr<const std::string> block);

  // Drops every block of file (its table was deleted). Costs O(blocks of that file).
  void EraseFile(uint64_t file);
  // Drops every block.
  void Clear();

  // Changes the capacity; a smaller one evicts least recently used blocks down to it.
  void SetCapacity(uint64_t capacity_bytes);

  uint64_t capacity() const;
  // Bytes charged for the blocks held (<= capacity()).
  uint64_t usage() const;
  // Blocks held.
  size_t entries() const;
  // Lookups answered from the cache, and lookups that found nothing, since construction or the
  // last ResetStats (CONFIG RESETSTAT).
  uint64_t hits() const;
  uint64_t misses() const;
  void ResetStats();

 private:
  struct Key {
    uint64_t file;
    uint64_t offset;
    bool operator==(const Key& o) const { return file == o.file && offset == o.offset; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept;
  };
  // Lives in table_'s node (node addresses are stable across rehashing).
  struct Entry {
    Key key;
    std::shared_ptr<const std::string> block;
    uint64_t charge = 0;
    // The recency list: circular through lru_, least recently used at lru_.lru_next.
    Entry* lru_prev = nullptr;
    Entry* lru_next = nullptr;
    // The blocks of the same file: a nullptr-terminated list whose head is files_[key.file].
    Entry* file_prev = nullptr;
    Entry* file_next = nullptr;
  };

  // Unlinks e from both lists and deletes it. REQUIRES: mu_ held.
  void Remove(Entry* e);
  // Evicts least recently used blocks until usage_ <= capacity_. REQUIRES: mu_ held.
  void EvictToCapacity();
  void LinkMostRecent(Entry* e);  // REQUIRES: mu_ held, e not in the recency list
  static void UnlinkLru(Entry* e);

  mutable std::mutex mu_;
  uint64_t capacity_;                                 // guarded by mu_
  uint64_t usage_ = 0;                                // guarded by mu_
  uint64_t hits_ = 0;                                 // guarded by mu_
  uint64_t misses_ = 0;                               // guarded by mu_
  std::unordered_map<Key, Entry, KeyHash> table_;     // guarded by mu_
  std::unordered_map<uint64_t, Entry*> files_;        // guarded by mu_; no empty lists
  Entry lru_;                                         // list head (no block); guarded by mu_
};

}  // namespace organic::engine
