// In-memory implementations of the engine's file interfaces (util/file.h), so the fuzz targets
// and the seed generator run the production readers and writers without touching the disk:
// a fuzz iteration must be fast, and must not depend on file system state.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

#include "util/file.h"

namespace organic::fuzz {

// Reads `contents` front to back. When short_reads is set, every Read returns at most 7 bytes
// fewer than asked (never less than 1), which exercises the reader's handling of a file that
// shrank underneath it.
class MemorySequentialFile : public SequentialFile {
 public:
  explicit MemorySequentialFile(std::string contents, bool short_reads = false)
      : contents_(std::move(contents)), short_reads_(short_reads) {}

  Status Read(size_t n, std::string* out) override {
    size_t take = std::min(n, contents_.size() - pos_);
    if (short_reads_ && take > 8) take -= 7;
    out->assign(contents_, pos_, take);
    pos_ += take;
    return Status::Ok();
  }
  Status Skip(uint64_t n) override {
    pos_ += static_cast<size_t>(std::min<uint64_t>(n, contents_.size() - pos_));
    return Status::Ok();
  }

 private:
  const std::string contents_;
  const bool short_reads_;
  size_t pos_ = 0;
};

// Serves reads at any offset from `contents`; fewer bytes only past its end, as a real file.
class MemoryRandomAccessFile : public RandomAccessFile {
 public:
  explicit MemoryRandomAccessFile(std::string contents) : contents_(std::move(contents)) {}

  Status Read(uint64_t offset, size_t n, std::string* out) const override {
    if (offset >= contents_.size()) {
      out->clear();
      return Status::Ok();
    }
    out->assign(contents_, static_cast<size_t>(offset), n);
    return Status::Ok();
  }

 private:
  const std::string contents_;
};

// Collects appended bytes into *sink (owned by the caller), for the seed generator.
class MemoryWritableFile : public WritableFile {
 public:
  explicit MemoryWritableFile(std::string* sink) : sink_(sink) {}

  Status Append(std::string_view data) override {
    sink_->append(data);
    return Status::Ok();
  }
  Status Flush() override { return Status::Ok(); }
  Status Sync() override { return Status::Ok(); }
  Status SyncFlushed() override { return Status::Ok(); }
  Status Close() override { return Status::Ok(); }
  uint64_t Size() const override { return sink_->size(); }

 private:
  std::string* const sink_;
};

}  // namespace organic::fuzz
