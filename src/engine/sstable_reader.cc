#include "engine/sstable_reader.h"

#include <zstd.h>

#include <algorithm>

#include "engine/block_cache.h"
#include "engine/bloom.h"
#include "engine/sstable_builder.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace organic::engine {
namespace {

// One decompression context per thread: creating one costs an allocation of ~100 KiB, too much
// per block read, and a context cannot be shared between threads.
ZSTD_DCtx* ThreadDCtx() {
  struct Holder {
    ZSTD_DCtx* ctx = ZSTD_createDCtx();
    ~Holder() { ZSTD_freeDCtx(ctx); }
  };
  thread_local Holder holder;
  return holder.ctx;
}

// Decodes the entry starting at contents[*pos] (format: sstable_builder.h). On entry *key holds
// the previous key of the block ("" before the first) and first says whether this is the first
// entry. On success *key is the entry's key, *value views its value inside contents, *pos is
// past the entry, and the key was checked to be greater than the previous one. False if the
// entry is malformed or out of order.
bool DecodeEntry(std::string_view contents, size_t* pos, bool first, std::string* key,
                 std::string_view* value) {
  const char* p = contents.data() + *pos;
  const char* limit = contents.data() + contents.size();
  uint64_t shared, unshared, value_len;
  if ((p = DecodeVarint64(p, limit, &shared)) == nullptr) return false;
  if ((p = DecodeVarint64(p, limit, &unshared)) == nullptr) return false;
  if ((p = DecodeVarint64(p, limit, &value_len)) == nullptr) return false;
  const uint64_t avail = static_cast<uint64_t>(limit - p);
  if (shared > key->size() || (first && shared != 0) || unshared > avail ||
      value_len > avail - unshared) {
    return false;
  }
  // Keys strictly increase: since the first `shared` bytes are equal, the new key is greater
  // iff its delta sorts after the old key's remaining suffix.
  const std::string_view delta(p, unshared);
  if (!first && delta <= std::string_view(*key).substr(shared)) return false;
  key->resize(shared);
  key->append(delta);
  *value = std::string_view(p + unshared, value_len);
  *pos = static_cast<size_t>(p + unshared + value_len - contents.data());
  return true;
}

}  // namespace

SstableReader::SstableReader(std::unique_ptr<RandomAccessFile> file, std::string name)
    : file_(std::move(file)), name_(std::move(name)) {}

SstableReader::~SstableReader() = default;

Status SstableReader::Corruption(uint64_t offset, std::string_view what) const {
  return Status::Corruption(name_ + " at offset " + std::to_string(offset) + ": " +
                            std::string(what));
}

std::unique_ptr<SstableReader> SstableReader::Unreadable(std::string name, Status why) {
  std::unique_ptr<SstableReader> table(new SstableReader(nullptr, std::move(name)));
  table->unreadable_ = why.ok() ? Status::Corruption(table->name_ + ": unreadable") : why;
  return table;
}

Status SstableReader::Open(std::unique_ptr<RandomAccessFile> file, uint64_t file_size,
                           std::string name, std::unique_ptr<SstableReader>* out,
                           bool allow_bad_filter) {
  std::unique_ptr<SstableReader> table(new SstableReader(std::move(file), std::move(name)));
  if (file_size < kSstableFooterSize) {
    return table->Corruption(
        0, "file too short (" + std::to_string(file_size) + " bytes) to be an sstable");
  }
  const uint64_t footer_offset = file_size - kSstableFooterSize;
  std::string footer;
  RETURN_IF_ERROR(table->file_->Read(footer_offset, kSstableFooterSize, &footer));
  if (footer.size() != kSstableFooterSize) {
    return table->Corruption(footer_offset, "file truncated: footer incomplete");
  }
  const char* f = footer.data();
  if (DecodeFixed64(f + 48) != kSstableMagic) {
    return table->Corruption(file_size - 8, "bad magic number (not an sstable)");
  }
  if (Crc32cUnmask(DecodeFixed32(f + 44)) != Crc32c(f, 44)) {
    return table->Corruption(footer_offset, "footer checksum mismatch");
  }
  const uint32_t version = DecodeFixed32(f + 40);
  if (version != kSstableFormatVersion) {
    return table->Corruption(footer_offset + 40,
                             "unsupported format version " + std::to_string(version));
  }
  const uint64_t filter_offset = DecodeFixed64(f);
  const uint64_t filter_size = DecodeFixed64(f + 8);
  const uint64_t index_offset = DecodeFixed64(f + 16);
  const uint64_t index_size = DecodeFixed64(f + 24);
  table->entries_ = DecodeFixed64(f + 32);
  // Layout: data blocks [0, filter_offset), filter block, index block, footer; no gaps. The
  // comparisons are ordered so that no sum can overflow.
  if (index_offset > footer_offset || index_size > footer_offset - index_offset ||
      footer_offset - index_offset - index_size != kSstableBlockTrailerSize ||
      filter_offset > index_offset || filter_size > index_offset - filter_offset ||
      index_offset - filter_offset - filter_size != kSstableBlockTrailerSize) {
    return table->Corruption(footer_offset, "footer block handles inconsistent with file size");
  }

  std::string buffer, scratch;
  std::string_view contents;
  Status filter = table->ReadBlock(filter_offset, filter_size, &buffer, &scratch, &contents);
  if (filter.ok()) {
    table->filter_.assign(contents);
  } else if (allow_bad_filter && filter.IsCorruption()) {
    table->filter_status_ = std::move(filter);  // filter_ stays empty: "may contain" everything
  } else {
    return filter;
  }
  RETURN_IF_ERROR(table->ReadBlock(index_offset, index_size, &buffer, &scratch, &contents));
  RETURN_IF_ERROR(table->LoadIndex(contents, index_offset, filter_offset));
  *out = std::move(table);
  return Status::Ok();
}

Status SstableReader::LoadIndex(std::string_view contents, uint64_t index_offset,
                                uint64_t data_end) {
  std::string key;
  std::string_view handle;
  uint64_t next_offset = 0;  // data blocks are contiguous from offset 0
  size_t pos = 0;
  while (pos < contents.size()) {
    const bool first = blocks_.empty();
    if (!DecodeEntry(contents, &pos, first, &key, &handle)) {
      return Corruption(index_offset, "bad index entry " + std::to_string(blocks_.size()));
    }
    BlockInfo info;
    const char* p = handle.data();
    const char* limit = handle.data() + handle.size();
    if ((p = DecodeVarint64(p, limit, &info.offset)) == nullptr ||
        (p = DecodeVarint64(p, limit, &info.size)) == nullptr || p != limit ||
        info.offset != next_offset || info.size > data_end - next_offset ||
        data_end - next_offset - info.size < kSstableBlockTrailerSize) {
      return Corruption(index_offset,
                        "bad block handle in index entry " + std::to_string(blocks_.size()));
    }
    next_offset = info.offset + info.size + kSstableBlockTrailerSize;
    info.key_offset = index_keys_.size();
    info.key_size = key.size();
    index_keys_.append(key);
    blocks_.push_back(info);
  }
  if (next_offset != data_end) {
    return Corruption(index_offset, "index does not cover the data blocks");
  }
  // Every block holds at least one entry, and an empty table has no block.
  if (entries_ < blocks_.size() || (entries_ > 0 && blocks_.empty())) {
    return Corruption(index_offset, "entry count " + std::to_string(entries_) +
                                        " inconsistent with " + std::to_string(blocks_.size()) +
                                        " data blocks");
  }
  return Status::Ok();
}

Status SstableReader::ReadBlock(uint64_t offset, uint64_t size, std::string* buffer,
                                std::string* scratch, std::string_view* contents) const {
  // Handles were validated against the file size at Open, so `size` is bounded by it.
  RETURN_IF_ERROR(file_->Read(offset, size + kSstableBlockTrailerSize, buffer));
  if (buffer->size() != size + kSstableBlockTrailerSize) {
    return Corruption(offset, "file truncated: block incomplete");
  }
  const char* data = buffer->data();
  const uint32_t expected = Crc32cUnmask(DecodeFixed32(data + size + 1));
  if (Crc32c(data, size + 1) != expected) {  // the stored bytes and the type byte
    return Corruption(offset, "block checksum mismatch");
  }
  const uint8_t type = static_cast<uint8_t>(data[size]);
  if (type == kSstableRawBlock) {
    *contents = std::string_view(data, size);
    return Status::Ok();
  }
  if (type != kSstableZstdBlock) {
    return Corruption(offset, "unknown block type " + std::to_string(type));
  }
  const unsigned long long n = ZSTD_getFrameContentSize(data, size);
  // Every zstd block yields at most ZSTD_BLOCKSIZE_MAX (128 KiB) and takes at least its 3-byte
  // header, so `size` stored bytes cannot hold more than this. A larger claim is damage, found
  // before allocating for it: a 40-byte block could otherwise make us zero 2 GiB.
  const unsigned long long most_contents = (size / 3 + 1) * ZSTD_BLOCKSIZE_MAX;
  if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN ||
      n > kSstableMaxBlockContents || n > most_contents) {
    return Corruption(offset, "bad zstd frame header");
  }
  ZSTD_DCtx* dctx = ThreadDCtx();
  if (dctx == nullptr) return Status::IOError("zstd: cannot allocate a decompression context");
  scratch->resize(n);
  const size_t got = ZSTD_decompressDCtx(dctx, scratch->data(), n, data, size);
  if (ZSTD_isError(got) || got != n) {
    return Corruption(offset, "undecodable zstd block");
  }
  *contents = *scratch;
  return Status::Ok();
}

size_t SstableReader::FindBlock(std::string_view target) const {
  size_t lo = 0, hi = blocks_.size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (LastKey(mid) < target) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

bool SstableReader::MayContain(std::string_view key) const {
  return filter_.empty() || BloomMayContain(filter_, key);
}

Status SstableReader::Get(std::string_view key, std::string* value, bool* found,
                          BlockCache* cache, uint64_t file_number) const {
  *found = false;
  if (!unreadable_.ok()) return unreadable_;
  if (!MayContain(key)) return Status::Ok();
  const size_t b = FindBlock(key);
  if (b == blocks_.size()) return Status::Ok();  // after the last key

  // Reused per thread: a Get allocates nothing once the buffers have grown. A huge block (one
  // large value) must not pin its memory for the thread's lifetime, hence the trim on exit.
  thread_local std::string buffer, scratch;
  struct Trim {
    ~Trim() {
      constexpr size_t kKeep = 1 << 20;
      if (buffer.capacity() > kKeep) std::string().swap(buffer);
      if (scratch.capacity() > kKeep) std::string().swap(scratch);
    }
  } trim;
  std::string_view contents;
  const BlockInfo& info = blocks_[b];
  std::shared_ptr<const std::string> cached;  // holds a cached block while it is decoded
  if (cache != nullptr) {
    cached = cache->Lookup(file_number, info.offset);
    if (cached == nullptr) {
      // Decompress straight into the block the cache will own; a raw block is read into
      // `buffer` (with its trailer) and copied.
      auto block = std::make_shared<std::string>();
      RETURN_IF_ERROR(ReadBlock(info.offset, info.size, &buffer, block.get(), &contents));
      if (contents.data() != block->data()) block->assign(contents);
      cached = block;
      cache->Insert(file_number, info.offset, cached);
    }
    contents = *cached;
  } else {
    RETURN_IF_ERROR(ReadBlock(info.offset, info.size, &buffer, &scratch, &contents));
  }
  thread_local std::string current;  // the key being decoded; kept to avoid an allocation
  current.clear();
  std::string_view v;
  size_t pos = 0;
  for (bool first = true; pos < contents.size(); first = false) {
    const size_t entry_pos = pos;
    if (!DecodeEntry(contents, &pos, first, &current, &v)) {
      return Corruption(info.offset, "bad entry at byte " + std::to_string(entry_pos) +
                                         " of the uncompressed block");
    }
    const int cmp = std::string_view(current).compare(key);
    if (cmp >= 0) {  // entries are sorted: the first key >= key decides
      if (cmp == 0) {
        value->assign(v);
        *found = true;
      }
      return Status::Ok();
    }
  }
  // The index promised a key >= key in this block.
  return Corruption(info.offset, "block ends before the last key the index names");
}

Status SstableReader::VisitBlock(
    size_t i, const std::function<void(std::string_view, std::string_view)>& visit) const {
  std::string buffer, scratch, key;
  std::string_view contents, value;
  RETURN_IF_ERROR(ReadBlock(blocks_[i].offset, blocks_[i].size, &buffer, &scratch, &contents));
  struct Entry {
    size_t key_end;  // entries' keys, concatenated in `keys`
    std::string_view value;
  };
  std::vector<Entry> entries;
  std::string keys;
  size_t pos = 0;
  for (bool first = true; pos < contents.size(); first = false) {
    const size_t entry_pos = pos;
    if (!DecodeEntry(contents, &pos, first, &key, &value) ||
        (first && i > 0 && std::string_view(key) <= LastKey(i - 1))) {
      return Corruption(blocks_[i].offset, "bad entry at byte " + std::to_string(entry_pos) +
                                               " of the uncompressed block");
    }
    keys.append(key);
    entries.push_back({keys.size(), value});
  }
  if (entries.empty() || key != LastKey(i)) {
    return Corruption(blocks_[i].offset, "block contents disagree with the index");
  }
  if (!visit) return Status::Ok();
  size_t begin = 0;
  for (const Entry& e : entries) {
    visit(std::string_view(keys).substr(begin, e.key_end - begin), e.value);
    begin = e.key_end;
  }
  return Status::Ok();
}

std::unique_ptr<SstableReader::Iterator> SstableReader::NewIterator() const {
  return std::make_unique<Iterator>(this);
}

// ---------------------------------------------------------------------------------------------
// Iterator

SstableReader::Iterator::Iterator(const SstableReader* table) : table_(table) {}

void SstableReader::Iterator::Fail(Status status) {
  status_ = std::move(status);
  valid_ = false;
}

bool SstableReader::Iterator::LoadBlock(size_t block) {
  block_ = block;
  pos_ = 0;
  key_.clear();
  if (loaded_ == block) return true;
  loaded_ = kNoBlock;
  const BlockInfo& info = table_->blocks_[block];
  Status s = table_->ReadBlock(info.offset, info.size, &buffer_, &scratch_, &contents_);
  if (!s.ok()) {
    Fail(std::move(s));
    return false;
  }
  loaded_ = block;
  return true;
}

void SstableReader::Iterator::ParseNext() {
  while (pos_ >= contents_.size()) {
    // End of the block: its last key must be the one the index names, else a Seek could have
    // skipped entries (or a block was swapped for another valid one).
    if (pos_ == 0 || key_ != table_->LastKey(block_)) {
      Fail(table_->Corruption(table_->blocks_[block_].offset,
                              "block contents disagree with the index"));
      return;
    }
    if (block_ + 1 >= table_->blocks_.size()) {
      valid_ = false;
      return;
    }
    if (!LoadBlock(block_ + 1)) return;
  }
  entry_offset_ = pos_;
  const bool first_in_block = pos_ == 0;
  if (!DecodeEntry(contents_, &pos_, first_in_block, &key_, &value_)) {
    Fail(table_->Corruption(
        table_->blocks_[block_].offset,
        "bad entry at byte " + std::to_string(entry_offset_) + " of the uncompressed block"));
    return;
  }
  // DecodeEntry orders keys within a block only. A block's first key must also sort after the
  // previous block's last key (the index's, checked equal to the block's at its end), or an
  // iteration would go backwards and merges built on it would emit keys out of order.
  if (first_in_block && block_ > 0 && std::string_view(key_) <= table_->LastKey(block_ - 1)) {
    Fail(table_->Corruption(table_->blocks_[block_].offset,
                            "first key of the block does not sort after the previous block"));
    return;
  }
  valid_ = true;
}

void SstableReader::Iterator::SeekToFirst() {
  status_ = table_->unreadable_;
  valid_ = false;
  if (table_->blocks_.empty()) return;
  if (LoadBlock(0)) ParseNext();
}

void SstableReader::Iterator::Seek(std::string_view target) {
  status_ = table_->unreadable_;
  valid_ = false;
  const size_t b = table_->FindBlock(target);
  if (b == table_->blocks_.size()) return;
  if (!LoadBlock(b)) return;
  // Entries are sorted, so the first one >= target is found by a linear scan (a block is
  // small; the cost is dominated by reading and decompressing it).
  do {
    ParseNext();
  } while (valid_ && std::string_view(key_) < target);
}

void SstableReader::Iterator::Next() {
  if (valid_) ParseNext();  // tolerate a misuse rather than index past the blocks
}

}  // namespace organic::engine
