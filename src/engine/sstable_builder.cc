#include "engine/sstable_builder.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "util/coding.h"
#include "util/crc32c.h"

namespace organic::engine {

namespace sstable_internal {

void AppendEntry(std::string* block, std::string* prev_key, std::string_view key,
                 std::string_view value) {
  const size_t limit = std::min(prev_key->size(), key.size());
  size_t shared = 0;
  while (shared < limit && (*prev_key)[shared] == key[shared]) ++shared;
  PutVarint64(block, shared);
  PutVarint64(block, key.size() - shared);
  PutVarint64(block, value.size());
  block->append(key.substr(shared));
  block->append(value);
  prev_key->resize(shared);
  prev_key->append(key.substr(shared));
}

}  // namespace sstable_internal

namespace {

SstableOptions Sanitize(SstableOptions options) {
  options.block_size = std::clamp<uint64_t>(options.block_size, 1, kSstableMaxEntrySize);
  options.zstd_level = std::clamp(options.zstd_level, ZSTD_minCLevel(), ZSTD_maxCLevel());
  return options;
}

}  // namespace

SstableBuilder::SstableBuilder(std::unique_ptr<WritableFile> file, SstableOptions options)
    : file_(std::move(file)),
      options_(Sanitize(options)),
      bloom_(options.bloom_bits_per_key > 0 ? options.bloom_bits_per_key : 1) {}

SstableBuilder::~SstableBuilder() {
  ZSTD_freeCCtx(cctx_);  // accepts nullptr
  // file_'s own destructor closes it if Finish did not.
}

Status SstableBuilder::Add(std::string_view key, std::string_view value) {
  if (finished_) return Status::InvalidArgument("sstable: Add after Finish");
  RETURN_IF_ERROR(status_);
  if (entries_ > 0 && key <= std::string_view(last_key_)) {
    return Status::InvalidArgument("sstable: keys must be added in strictly increasing order");
  }
  if (key.size() + value.size() > kSstableMaxEntrySize) {
    return Status::InvalidArgument("sstable: entry larger than 1 GiB");
  }
  sstable_internal::AppendEntry(&block_, &block_prev_key_, key, value);
  if (options_.bloom_bits_per_key > 0) bloom_.AddKey(key);
  last_key_.assign(key);
  ++entries_;
  if (block_.size() >= options_.block_size) return FlushDataBlock();
  return Status::Ok();
}

Status SstableBuilder::FlushDataBlock() {
  uint64_t offset = 0;
  uint64_t size = 0;
  RETURN_IF_ERROR(WriteBlock(block_, /*try_compression=*/true, &offset, &size));
  block_.clear();
  block_prev_key_.clear();  // every block starts with a full key (shared = 0)
  std::string handle;
  PutVarint64(&handle, offset);
  PutVarint64(&handle, size);
  sstable_internal::AppendEntry(&index_, &index_prev_key_, last_key_, handle);
  return Status::Ok();
}

Status SstableBuilder::WriteBlock(std::string_view contents, bool try_compression, uint64_t* offset,
                                  uint64_t* size) {
  std::string_view stored = contents;
  uint8_t type = kSstableRawBlock;
  if (try_compression && !contents.empty()) {
    if (cctx_ == nullptr) cctx_ = ZSTD_createCCtx();
    if (cctx_ != nullptr) {
      compressed_.resize(ZSTD_compressBound(contents.size()));
      const size_t n = ZSTD_compressCCtx(cctx_, compressed_.data(), compressed_.size(),
                                         contents.data(), contents.size(), options_.zstd_level);
      // Keep the compressed form only when it saves at least 1/8: below that the CPU spent
      // decompressing on every read is not worth the bytes.
      if (!ZSTD_isError(n) && n < contents.size() - contents.size() / 8) {
        stored = std::string_view(compressed_.data(), n);
        type = kSstableZstdBlock;
      }
    }
  }
  char trailer[kSstableBlockTrailerSize];
  trailer[0] = static_cast<char>(type);
  uint32_t crc = Crc32cExtend(Crc32c(stored.data(), stored.size()), trailer, 1);
  const uint32_t masked = Crc32cMask(crc);
  memcpy(trailer + 1, &masked, 4);  // little-endian, like PutFixed32

  *offset = offset_;
  *size = stored.size();
  RETURN_IF_ERROR(Append(stored));
  return Append(std::string_view(trailer, sizeof(trailer)));
}

Status SstableBuilder::Append(std::string_view data) {
  RETURN_IF_ERROR(status_);
  status_ = file_->Append(data);
  if (status_.ok()) offset_ += data.size();
  return status_;
}

Status SstableBuilder::Finish() {
  if (finished_) return Status::InvalidArgument("sstable: Finish called twice");
  finished_ = true;
  RETURN_IF_ERROR(status_);
  if (!block_.empty()) RETURN_IF_ERROR(FlushDataBlock());

  uint64_t filter_offset = 0, filter_size = 0, index_offset = 0, index_size = 0;
  // The bit array looks random to a compressor: store it raw.
  const std::string filter = options_.bloom_bits_per_key > 0 ? bloom_.Finish() : std::string();
  RETURN_IF_ERROR(WriteBlock(filter, /*try_compression=*/false, &filter_offset, &filter_size));
  RETURN_IF_ERROR(WriteBlock(index_, /*try_compression=*/true, &index_offset, &index_size));

  std::string footer;
  footer.reserve(kSstableFooterSize);
  PutFixed64(&footer, filter_offset);
  PutFixed64(&footer, filter_size);
  PutFixed64(&footer, index_offset);
  PutFixed64(&footer, index_size);
  PutFixed64(&footer, entries_);
  PutFixed32(&footer, kSstableFormatVersion);
  PutFixed32(&footer, Crc32cMask(Crc32c(footer.data(), footer.size())));
  PutFixed64(&footer, kSstableMagic);
  RETURN_IF_ERROR(Append(footer));

  status_ = file_->Sync();
  RETURN_IF_ERROR(status_);
  status_ = file_->Close();
  return status_;
}

}  // namespace organic::engine
