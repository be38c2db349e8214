// WalLog: the sequence of WAL generations (wal-N.log) in the data directory, and the policy of
// when appended records reach the disk (appendfsync always / everysec / no).
//
// Threading: Append/FlushBatch/NewGeneration run on the loop thread. In everysec mode the
// fsync runs on the background worker (SyncFlushed on the file is safe concurrently with the
// loop's appends and flushes). A retired generation's file is closed on the worker, after any
// sync queued before it, so the worker never syncs a closed fd.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/background_worker.h"
#include "engine/wal_writer.h"
#include "util/file.h"
#include "util/status.h"

namespace organic::engine {

enum class FsyncPolicy { kAlways, kEverySec, kNo };

struct WalRecoveryReport {
  uint64_t generations = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t truncated_bytes = 0;  // torn tails cut off
  std::vector<std::string> warnings;
};

class WalLog {
 public:
  // fs and worker must outlive the WalLog.
  WalLog(FileSystem* fs, std::string dir, FsyncPolicy policy, BackgroundWorker* worker);
  ~WalLog();
  WalLog(const WalLog&) = delete;
  WalLog& operator=(const WalLog&) = delete;

  // Replays every generation in order, calling apply for each record's payload, truncating a
  // torn tail (with a warning in the report). Corruption in the middle of a generation stops
  // recovery with an error naming the file and offset. Then opens the newest generation for
  // appending (creating wal-<max(1, floor)>.log when there is none). Generations below floor
  // (obsolete: the manifest says their records are in SSTables) are deleted, not replayed.
  Status Recover(const std::function<Status(std::string_view)>& apply, WalRecoveryReport* report,
                 uint64_t floor = 0);

  // Buffers a record (no syscall). REQUIRES: Recover succeeded.
  Status Append(std::string_view payload);
  // End of a loop iteration: writes the buffered records to the OS, and in `always` mode
  // fsyncs them before any reply of this batch is sent (group commit).
  Status FlushBatch();
  // everysec: queue an fsync of what has been flushed so far on the worker.
  void ScheduleBackgroundSync();
  // Flushes and fsyncs now (shutdown, SAVE).
  Status SyncNow();

  // Starts generation current+1 and makes it the append target. The old generation stays on
  // disk until RemoveGenerationsBefore.
  Status NewGeneration();
  // Deletes wal-N.log for every N < generation (their content is durable elsewhere).
  Status RemoveGenerationsBefore(uint64_t generation);
  // Stops accounting for every generation N < generation (never the current one) and returns
  // their paths, for the caller to delete off the loop thread.
  std::vector<std::string> ForgetGenerationsBefore(uint64_t generation);
  // Oldest live generation.
  uint64_t oldest_generation() const { return generations_.empty() ? 0 : generations_.front(); }

  void set_policy(FsyncPolicy policy) { policy_ = policy; }
  FsyncPolicy policy() const { return policy_; }
  uint64_t current_generation() const { return current_generation_; }
  uint64_t current_size() const;
  uint64_t total_size() const;  // all live generations
  uint64_t fsyncs() const { return fsyncs_; }
  int64_t last_sync_unix_ms() const;
  int64_t last_write_error_unix_ms() const { return last_error_ms_; }
  const Status& last_write_status() const { return last_write_status_; }

 private:
  std::string PathOf(uint64_t generation) const;
  Status OpenForAppend(uint64_t generation, bool append);

  FileSystem* fs_;
  std::string dir_;
  FsyncPolicy policy_;
  BackgroundWorker* worker_;
  std::vector<uint64_t> generations_;  // live generations, ascending; back() is current
  uint64_t current_generation_ = 0;
  std::shared_ptr<WalWriter> writer_;  // shared with queued worker syncs
  uint64_t retired_bytes_ = 0;         // sizes of live non-current generations
  uint64_t fsyncs_ = 0;
  std::shared_ptr<std::atomic<int64_t>> last_sync_ms_;
  int64_t last_error_ms_ = 0;
  Status last_write_status_;
  bool sync_pending_ = false;  // an everysec sync is queued and not finished
  std::shared_ptr<std::atomic<bool>> sync_in_flight_;
};

const char* FsyncPolicyName(FsyncPolicy policy);
bool ParseFsyncPolicy(const std::string& name, FsyncPolicy* policy);

}  // namespace organic::engine
