// SSTable: an immutable file of key/value pairs sorted by key, the on-disk tier of the engine.
// This header holds the format constants shared with the reader and the builder that writes a
// table. Full byte layout, invariants and lookup path: docs/sstable-format.md. In short:
//
//   file        := data_block* filter_block index_block footer
//   block       := stored:byte[size]  type:u8  checksum:u32-le
//                  checksum = Crc32cMask(Crc32c(stored ++ type)); type 0 = raw, 1 = zstd frame
//   data block  := entry*            (after decompression)
//   index block := entry*            key = last key of a data block, value = varint offset, size
//   entry       := shared:varint unshared:varint value_len:varint key_delta:byte[unshared]
//                  value:byte[value_len]   (key = previous key[0, shared) ++ key_delta)
//   filter      := bloom filter over every key (engine/bloom.h), stored raw
//   footer      := filter_offset:u64 filter_size:u64 index_offset:u64 index_size:u64
//                  entries:u64 version:u32 footer_crc:u32 magic:u64    (56 bytes, little-endian)
//
// Keys and values are opaque byte strings, ordered bytewise (memcmp, shorter prefix first).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/bloom.h"
#include "util/file.h"
#include "util/status.h"

struct ZSTD_CCtx_s;

namespace organic::engine {

// The last 8 bytes of every table: the ASCII bytes "OKVSSTBL" (read as a little-endian u64).
inline constexpr uint64_t kSstableMagic = 0x4C42545353564B4Full;
// Written in the footer; a reader refuses any other value. Bump on any layout change.
inline constexpr uint32_t kSstableFormatVersion = 1;
inline constexpr size_t kSstableFooterSize = 56;
// type byte + masked CRC-32C after the stored bytes of every block.
inline constexpr size_t kSstableBlockTrailerSize = 5;
// Block type byte values.
inline constexpr uint8_t kSstableRawBlock = 0;
inline constexpr uint8_t kSstableZstdBlock = 1;
// Largest key + value the builder accepts in one entry, and largest block_size; together they
// bound every block's uncompressed size by 2^31, which the reader enforces before allocating.
inline constexpr uint64_t kSstableMaxEntrySize = 1ull << 30;
inline constexpr uint64_t kSstableMaxBlockContents = 1ull << 31;

struct SstableOptions {
  // Target uncompressed size of a data block. A block is closed as soon as it reaches this size,
  // so it holds at least one entry and exceeds the target by less than one entry. Smaller
  // blocks: less to read and decompress per Get, a bigger index. Clamped to [1, 2^30].
  uint64_t block_size = 4096;
  // zstd compression level for data and index blocks (1 = fastest). A block is stored raw when
  // compression saves less than 1/8 of it.
  int zstd_level = 1;
  // Bloom filter memory per key; 10 gives about 1% false positives. <= 0 writes an empty
  // filter block (every lookup reads a data block).
  int bloom_bits_per_key = 10;
};

// Writes one table, start to end, in a single pass.
//
// Threading: not thread-safe; one owner thread.
// Errors: I/O errors are sticky (every later call returns the first one); the file then holds
// a partial table which the caller must delete. A table is only valid once Finish returned OK.
class SstableBuilder {
 public:
  // Takes ownership of `file`, which must be empty (offsets in the table start at 0).
  SstableBuilder(std::unique_ptr<WritableFile> file, SstableOptions options);
  SstableBuilder(const SstableBuilder&) = delete;
  SstableBuilder& operator=(const SstableBuilder&) = delete;
  // Closes the file (through its destructor) if Finish did not; a partial table is left for the
  // caller to delete.
  ~SstableBuilder();

  // Appends an entry. REQUIRES: key is bytewise greater than every key added before (so keys
  // are unique); otherwise InvalidArgument and nothing is written (not sticky). Also
  // InvalidArgument if key.size() + value.size() > kSstableMaxEntrySize, or after Finish.
  Status Add(std::string_view key, std::string_view value);

  // Writes the last data block, the filter block, the index block and the footer, then syncs
  // and closes the file. After OK the table is durable (its directory entry is the caller's
  // business: SyncDir). Call once.
  Status Finish();

  // Bytes written so far (the final file size after Finish).
  uint64_t file_size() const { return offset_; }
  // Entries added so far.
  uint64_t entries() const { return entries_; }

 private:
  // Closes the current data block: writes it and records its index entry.
  Status FlushDataBlock();
  // Compresses contents if that pays off, appends block + trailer; *offset, *size describe the
  // stored bytes (without the trailer).
  Status WriteBlock(std::string_view contents, bool try_compression, uint64_t* offset,
                    uint64_t* size);
  Status Append(std::string_view data);

  std::unique_ptr<WritableFile> file_;
  const SstableOptions options_;
  ZSTD_CCtx_s* cctx_ = nullptr;  // owned; created lazily on the first compressed block
  Status status_;                // first I/O error, sticky
  bool finished_ = false;
  uint64_t offset_ = 0;  // bytes appended to file_
  uint64_t entries_ = 0;
  std::string last_key_;        // last key added (valid when entries_ > 0)
  std::string block_;           // entries of the data block being built
  std::string block_prev_key_;  // previous key in block_, for prefix compression
  std::string index_;           // entries of the index block
  std::string index_prev_key_;
  std::string compressed_;  // scratch buffer for zstd output
  BloomFilterBuilder bloom_;
};

namespace sstable_internal {
// Appends one prefix-compressed entry (shared, unshared, value length, key delta, value)
// encoding key after prev_key, then sets *prev_key = key. Used for data and index blocks.
void AppendEntry(std::string* block, std::string* prev_key, std::string_view key,
                 std::string_view value);
}  // namespace sstable_internal

}  // namespace organic::engine
