// Reads a table written by SstableBuilder (layout: sstable_builder.h, docs/sstable-format.md).
//
// Open reads the footer, the index block and the filter block and keeps the last two in memory
// (about one index entry per block_size bytes of data, plus the filter's bits_per_key bits per
// key). Data blocks are read on demand, one pread per block, checksum verified on every read.
// Get may go through a BlockCache of decompressed blocks (block_cache.h): a block enters it only
// after its checksum and decompression succeeded, and a hit skips the read, the checksum and
// the decompression. Iterators never use a cache.
//
// Errors: every sign of damage (bad magic, unknown version, checksum mismatch, truncated file,
// undecodable block, keys out of order, a block that contradicts the index) is a
// Status::Corruption whose message names the file and the byte offset, e.g.
// "sst-12.sst at offset 40960: block checksum mismatch". I/O errors pass through as IOError.
// Nothing here aborts on bad input.
//
// Threading: after Open, a reader is immutable; Get (with or without a cache: BlockCache is
// thread-safe), MayContain, NewIterator and entries may be called from several threads at once.
// An Iterator has one owner thread. Which reads go through a cache is the caller's policy: the
// engine passes its cache for point lookups on the loop thread only, and compaction and scans
// read through Iterators, so a sequential pass never flushes the blocks lookups keep hot.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/file.h"
#include "util/status.h"

namespace organic::engine {

class BlockCache;

class SstableReader {
 public:
  class Iterator;

  // Opens a table of file_size bytes (the caller knows it from the manifest or GetFileSize).
  // `name` is used in error messages only (a file name or path). On success *out owns the
  // reader, which owns `file`; on error *out is untouched.
  // allow_bad_filter: a filter block that fails its checks does not fail the open; the reader
  // then answers "may contain" for every key (no false negative, only lost skips) and
  // filter_status() holds the error. The engine opens its tables so (a damaged filter costs
  // nothing but reads); checks that must see every byte leave it false.
  static Status Open(std::unique_ptr<RandomAccessFile> file, uint64_t file_size, std::string name,
                     std::unique_ptr<SstableReader>* out, bool allow_bad_filter = false);
  // A stand-in for a table whose footer or index cannot be read (docs/sstable-format.md,
  // "Damaged tables"): no blocks, no filter, and every Get or iterator positioning fails with
  // `why`, so each key the caller routes to it (by the manifest's key range) gets that error.
  static std::unique_ptr<SstableReader> Unreadable(std::string name, Status why);

  SstableReader(const SstableReader&) = delete;
  SstableReader& operator=(const SstableReader&) = delete;
  ~SstableReader();

  // Point lookup. OK with *found = true and *value set when the table holds key; OK with
  // *found = false when it does not (*value then unspecified). Consults the bloom filter, then
  // reads at most the one data block the index points to.
  // With a cache, that block is taken from *cache under (file_number, block offset) when there,
  // and put there after a successful read (a damaged block is reported, never cached).
  // REQUIRES: file_number names this table's contents in *cache: no other table's blocks were
  // or will be cached under it (the engine passes the table's never-reused file number).
  Status Get(std::string_view key, std::string* value, bool* found, BlockCache* cache = nullptr,
             uint64_t file_number = 0) const;

  // The bloom filter's answer alone (no I/O): false means the table certainly lacks key.
  bool MayContain(std::string_view key) const;

  // A new iterator, initially not Valid (call SeekToFirst or Seek).
  // REQUIRES: this reader outlives the iterator.
  std::unique_ptr<Iterator> NewIterator() const;

  // Number of entries, from the footer.
  uint64_t entries() const { return entries_; }
  // Number of data blocks (index entries).
  size_t num_blocks() const { return blocks_.size(); }
  // The last key of data block i (from the in-memory index; no I/O). REQUIRES: i < num_blocks().
  // RANDOMKEY seeks to the key of a random block to pick a random key without reading blocks.
  std::string_view BlockLastKey(size_t i) const { return LastKey(i); }
  const std::string& name() const { return name_; }
  // Where data block i is stored (its handle; the block occupies [offset, offset + size + 5)).
  // REQUIRES: i < num_blocks().
  uint64_t BlockOffset(size_t i) const { return blocks_[i].offset; }
  uint64_t BlockSize(size_t i) const { return blocks_[i].size; }
  // Reads data block i on its own and checks it whole (checksum, every entry, key order against
  // the previous block's last key, last key = index key), then passes each entry to visit (may
  // be empty) in order. Nothing is visited when the block is damaged. No cache. Damage scans and
  // organic-check-sst use it to go on past a bad block. REQUIRES: i < num_blocks().
  Status VisitBlock(size_t i, const std::function<void(std::string_view key,
                                                       std::string_view value)>& visit) const;
  // OK unless Open(allow_bad_filter) met a damaged filter block (then no filter is used).
  const Status& filter_status() const { return filter_status_; }
  // Not OK for a reader made by Unreadable.
  const Status& unreadable() const { return unreadable_; }

 private:
  struct BlockInfo {
    uint64_t offset;    // of the stored bytes
    uint64_t size;      // stored bytes, without the 5-byte trailer
    size_t key_offset;  // last key of the block: index_keys_[key_offset, +key_size)
    size_t key_size;
  };

  SstableReader(std::unique_ptr<RandomAccessFile> file, std::string name);

  std::string_view LastKey(size_t block) const {
    return std::string_view(index_keys_).substr(blocks_[block].key_offset, blocks_[block].key_size);
  }
  // Index of the first block whose last key is >= target; blocks_.size() if none.
  size_t FindBlock(std::string_view target) const;
  // Reads, verifies and (if compressed) decompresses the block [offset, offset + size + 5).
  // *contents points into *buffer (or *scratch) afterwards.
  Status ReadBlock(uint64_t offset, uint64_t size, std::string* buffer, std::string* scratch,
                   std::string_view* contents) const;
  Status LoadIndex(std::string_view contents, uint64_t index_offset, uint64_t data_end);
  Status Corruption(uint64_t offset, std::string_view what) const;

  const std::unique_ptr<RandomAccessFile> file_;
  const std::string name_;
  uint64_t entries_ = 0;
  std::string filter_;             // bloom filter bytes (empty: no filter)
  std::string index_keys_;         // concatenated last keys of all blocks
  std::vector<BlockInfo> blocks_;  // in file order; last keys strictly increasing
  Status filter_status_;           // see filter_status()
  Status unreadable_;              // see Unreadable(); file_ is null then

  friend class Iterator;
};

// Walks the entries of a table in key order, reading one data block at a time.
// Errors (I/O, corruption) make the iterator not Valid and are reported by status().
class SstableReader::Iterator {
 public:
  explicit Iterator(const SstableReader* table);
  Iterator(const Iterator&) = delete;
  Iterator& operator=(const Iterator&) = delete;

  // Positions at the first entry (not Valid if the table is empty).
  void SeekToFirst();
  // Positions at the first entry whose key is >= target (not Valid if there is none).
  void Seek(std::string_view target);
  // True when positioned at an entry; false at the end or after an error.
  bool Valid() const { return valid_; }
  // REQUIRES: Valid().
  void Next();
  // REQUIRES: Valid(). The views stay good until the next positioning call.
  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }
  // OK unless an error stopped the iteration.
  Status status() const { return status_; }

 private:
  // Reads block `block` and positions before its first entry. False on error (status_ set).
  bool LoadBlock(size_t block);
  // Decodes the entry at pos_ into key_/value_. At the block's end, checks the last key
  // against the index and moves on to the next block. Sets valid_.
  void ParseNext();
  void Fail(Status status);

  const SstableReader* const table_;
  static constexpr size_t kNoBlock = static_cast<size_t>(-1);
  size_t block_ = kNoBlock;    // current block number
  size_t loaded_ = kNoBlock;   // block whose contents are in contents_ (a Seek within it skips
                               // the read)
  std::string buffer_;         // raw bytes read from the file
  std::string scratch_;        // decompressed contents, when the block was compressed
  std::string_view contents_;  // the current block's entries
  size_t pos_ = 0;             // offset in contents_ of the next entry to decode
  uint64_t entry_offset_ = 0;  // offset in contents_ of the current entry, for error messages
  bool valid_ = false;
  std::string key_;
  std::string_view value_;
  Status status_;
};

}  // namespace organic::engine
