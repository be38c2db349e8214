#include "checksum_repair.h"

#include <zstd.h>

#include <cstring>
#include <string_view>

#include "engine/sstable_builder.h"
#include "engine/wal_writer.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace organic::fuzz {

namespace {

void StoreFixed32(std::string* file, size_t offset, uint32_t value) {
  std::memcpy(file->data() + offset, &value, 4);  // little-endian, as PutFixed32
}

// Rewrites the trailer checksum of the block whose stored bytes are [offset, offset + size),
// if the block and its trailer lie inside the file. Returns whether it did.
bool RepairBlock(std::string* file, uint64_t offset, uint64_t size) {
  using engine::kSstableBlockTrailerSize;
  if (offset > file->size() || size > file->size() - offset ||
      file->size() - offset - size < kSstableBlockTrailerSize) {
    return false;
  }
  const uint32_t crc = Crc32c(file->data() + offset, static_cast<size_t>(size) + 1);
  StoreFixed32(file, static_cast<size_t>(offset + size + 1), Crc32cMask(crc));
  return true;
}

// The contents of the block [offset, offset + size) as the reader would see them: raw bytes,
// or the zstd frame decompressed (capped, since the frame header may claim anything).
bool BlockContents(const std::string& file, uint64_t offset, uint64_t size, std::string* out) {
  const char* data = file.data() + offset;
  const uint8_t type = static_cast<uint8_t>(data[size]);
  if (type == engine::kSstableRawBlock) {
    out->assign(data, static_cast<size_t>(size));
    return true;
  }
  if (type != engine::kSstableZstdBlock) return false;
  const unsigned long long n = ZSTD_getFrameContentSize(data, static_cast<size_t>(size));
  constexpr unsigned long long kCap = 1 << 20;
  if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN || n > kCap) return false;
  out->resize(static_cast<size_t>(n));
  const size_t got = ZSTD_decompress(out->data(), out->size(), data, static_cast<size_t>(size));
  return !ZSTD_isError(got) && got == n;
}

}  // namespace

void RepairWalChecksums(std::string* file) {
  size_t pos = 0;
  while (file->size() - pos >= kWalHeaderSize) {
    const uint32_t length = DecodeFixed32(file->data() + pos);
    if (length > file->size() - pos - kWalHeaderSize) return;
    uint32_t crc = Crc32c(file->data() + pos, 4);
    crc = Crc32cExtend(crc, file->data() + pos + kWalHeaderSize, length);
    StoreFixed32(file, pos + 4, Crc32cMask(crc));
    pos += kWalHeaderSize + length;
  }
}

void RepairManifestChecksum(std::string* file) {
  if (file->size() < 4) return;
  const size_t body = file->size() - 4;
  StoreFixed32(file, body, Crc32cMask(Crc32c(file->data(), body)));
}

void RepairSstableChecksums(std::string* file) {
  using engine::kSstableFooterSize;
  if (file->size() < kSstableFooterSize) return;
  const size_t footer = file->size() - kSstableFooterSize;
  StoreFixed32(file, footer + 44, Crc32cMask(Crc32c(file->data() + footer, 44)));
  const char* f = file->data() + footer;
  const uint64_t filter_offset = DecodeFixed64(f);
  const uint64_t filter_size = DecodeFixed64(f + 8);
  const uint64_t index_offset = DecodeFixed64(f + 16);
  const uint64_t index_size = DecodeFixed64(f + 24);
  RepairBlock(file, filter_offset, filter_size);
  if (!RepairBlock(file, index_offset, index_size)) return;

  // Walk the index entries (shared, unshared, value_len, key delta, value = offset, size) just
  // far enough to find each data block's handle; keys do not matter here.
  std::string index;
  if (!BlockContents(*file, index_offset, index_size, &index)) return;
  const char* p = index.data();
  const char* limit = index.data() + index.size();
  while (p < limit) {
    uint64_t shared, unshared, value_len;
    if ((p = DecodeVarint64(p, limit, &shared)) == nullptr ||
        (p = DecodeVarint64(p, limit, &unshared)) == nullptr ||
        (p = DecodeVarint64(p, limit, &value_len)) == nullptr) {
      return;
    }
    const uint64_t avail = static_cast<uint64_t>(limit - p);
    if (unshared > avail || value_len > avail - unshared) return;
    const char* handle = p + unshared;
    const char* handle_end = handle + value_len;
    uint64_t offset, size;
    const char* q = DecodeVarint64(handle, handle_end, &offset);
    if (q != nullptr && DecodeVarint64(q, handle_end, &size) != nullptr) {
      RepairBlock(file, offset, size);
    }
    p = handle_end;
  }
}

}  // namespace organic::fuzz
