// The records a checkpoint copies out of one database's active MemTable (Engine's checkpoint,
// engine_checkpoint.cc), in key order, each as the table record its SSTable will hold.
//
// Ownership: the loop appends while it copies; once the copy is complete the records are
// handed to the worker (through its queue) and only read from then on, until the checkpoint is
// installed, so no lock guards them. They stay whole until the table is durable: a retry after
// a failed write must write the same records, because the loop has already made the MemTable's
// shadow bits describe them (see Engine::CheckpointCopy).
//
// Layout: chunks of about kChunkBytes (no reallocation copies a large buffer while it grows),
// each a run of  varint key length | key | varint record length | record.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace organic::engine {

class CheckpointRecords {
 public:
  // REQUIRES: key greater than every key added before.
  void Add(std::string_view key, std::string_view record);

  // Calls fn(key, record) for each record in key order until it returns an error.
  template <typename Fn>
  Status ForEach(Fn&& fn) const {
    for (const std::string& chunk : chunks_) {
      std::string_view rest(chunk);
      while (!rest.empty()) {
        std::string_view key = Next(&rest);
        std::string_view record = Next(&rest);
        RETURN_IF_ERROR(fn(key, record));
      }
    }
    return Status::Ok();
  }

  uint64_t count() const { return count_; }
  uint64_t bytes() const { return bytes_; }

  // What writing these records changes in the tables' key counts (FlushOutput's deltas),
  // summed from each copied entry's shadow bits at the copy.
  int64_t table_keys_delta = 0;
  int64_t table_volatile_delta = 0;
  uint64_t examined = 0;      // entries the copy walked
  // Live entries walked and their access counts, clean ones included: the flush's temperature
  // is measured over everything in memory, as over a frozen MemTable.
  uint64_t live = 0;
  uint64_t access_sum = 0;
  uint64_t dead_dropped = 0;  // member records of dead collections left out

 private:
  static constexpr size_t kChunkBytes = 1 << 20;
  // Reads one length-prefixed string off the front of *rest (written by Add: well formed).
  static std::string_view Next(std::string_view* rest);

  std::vector<std::string> chunks_;
  uint64_t count_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace organic::engine
