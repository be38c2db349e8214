// WalLog: the sequence of WAL generations (wal-N.log) in the data directory, and the policy of
// when appended records reach the disk (appendfsync always / everysec / no).
//
// Threading: every public method runs on the loop thread. In everysec mode the fsync runs on
// the background worker (SyncFlushed on the file is safe concurrently with the loop's appends
// and flushes), and so do a rotation's directory fsync and the retired generation's last
// fsync and close, all as urgent tasks (ahead of queued flushes and compactions: everysec
// promises at most about a second of writes lost). Their outcome comes back through
// SyncShared, read by the loop.
//
// Write failures (docs/reliability.md, "WAL write and fsync failures"). Every record is framed
// into retained_ first and stays there until the batch's write (and in `always` mode its
// fsync) succeeded. When a write, fsync, or directory fsync fails, the log latches the error
// (write_error()): the server refuses write commands and holds the replies of the batch that
// failed; records appended meanwhile (expiry) only go to retained_. RetryAfterWriteError,
// once a second, writes into a new generation every record not known durable (under
// everysec, those after the last good worker fsync are read back from the files they
// reached: keeping a copy of a second of writes in memory would cost what Redis does not),
// then retained_, fsyncs it and its directory, and clears the latch. The failed generation
// is cut back to the first rewritten record where it can be; replay skips any mutation whose
// sequence number is not above the last one replayed (docs/wal-format.md), so no record is
// applied twice either way.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
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

  // Frames a record into the batch (no syscall). REQUIRES: Recover succeeded. While a write
  // error is latched the record is kept for RetryAfterWriteError. InvalidArgument (nothing kept)
  // for a payload over kWalMaxPayloadSize.
  Status Append(std::string_view payload);
  // End of a loop iteration: writes the batch to the OS, and in `always` mode fsyncs it,
  // before any reply of this iteration is sent (group commit). An error means this batch is
  // not durable as the policy promises (this iteration's replies must wait): the write failed
  // now, or a background fsync failed since the last call. While an error latched earlier
  // stands, returns Ok: writes are refused then, and records appended meanwhile (expiry) are
  // kept for the retry.
  Status FlushBatch();
  // everysec: queue an fsync of what has been flushed so far on the worker.
  void ScheduleBackgroundSync();
  // Flushes and fsyncs now (shutdown, SAVE); retries a latched write error first.
  Status SyncNow();
  // The latched write error; Ok while the log is healthy.
  const Status& write_error() const { return error_; }
  // When a write error is latched: writes every kept record into a new generation, fsyncs it
  // and the directory, and clears the latch. Ok if healthy (already or now).
  Status RetryAfterWriteError();

  // Starts generation current+1 and makes it the append target. The old generation stays on
  // disk until RemoveGenerationsBefore. Fails (changing nothing) while a write error is latched.
  Status NewGeneration();
  // Deletes wal-N.log for every N < generation (their content is durable elsewhere).
  Status RemoveGenerationsBefore(uint64_t generation);
  // Stops accounting for every generation N < generation (never the current one) and returns
  // their paths, for the caller to delete off the loop thread. Their records are durable in
  // tables: kept copies of them are dropped.
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
  // Bytes of framed records kept until durable (INFO organic).
  uint64_t retained_bytes() const { return retained_.size(); }
  // Positions in the stream of framed records appended since Recover: its end, and how much
  // of it a completed fsync (or a retry) made durable. everysec: the gap is what a power cut
  // may lose.
  uint64_t appended_position() const { return appended_; }
  uint64_t durable_position() const;
  uint64_t write_errors() const { return write_errors_; }

 private:
  // What the worker's fsync tasks report to the loop. Records are numbered by their position
  // in the stream of framed bytes appended since Recover (across generations).
  struct SyncShared {
    std::mutex mu;
    uint64_t durable = 0;     // every record before this position is durable
    Status failure;           // first failure of a task of this epoch, until the loop takes it
    uint64_t epoch = 0;       // a retry starts a new epoch: older tasks' outcomes are moot
    bool in_flight = false;   // an everysec fsync is queued or running
  };

  std::string PathOf(uint64_t generation) const;
  Status OpenForAppend(uint64_t generation, bool append);
  // Hands the records not yet flushed to the current writer and flushes it.
  Status WriteUnflushed();
  // WriteUnflushed, then under `always` the fsync; *by_sync tells whether a failure may
  // have come from the fsync.
  Status WriteBatch(bool* by_sync);
  // Latches st: writes are refused until RetryAfterWriteError succeeds. by_sync: an fsync
  // failed (or may have: the data written before it cannot be trusted to be on disk).
  void Latch(const Status& st, bool by_sync);
  // Takes the worker's news: drops kept records that became durable, latches a failure.
  void PollSyncResults();
  // Drops kept records before stream position pos.
  void TrimRetained(uint64_t pos);
  // Unwritten bytes at which Append writes the batch so far without waiting for its end.
  static constexpr uint64_t kEarlyWriteBytes = 64 * 1024;
  // Reads the framed records of stream positions [from, to) back from the generation files.
  Status ReadBack(uint64_t from, uint64_t to, std::string* out);
  // Posts task on the worker as an urgent task that reports a failure (when the policy made a
  // durability promise) and, on success, that records before durable_pos are durable.
  void PostSyncTask(std::function<Status()> task, uint64_t durable_pos);

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
  uint64_t write_errors_ = 0;  // latches since start

  // Framed records appended whose batch has not been written (and, `always`, fsynced) yet, in
  // order: retained_[0] is at stream position retained_start_, the end at appended_.
  std::string retained_;
  uint64_t retained_start_ = 0;
  uint64_t appended_ = 0;
  uint64_t flushed_ = 0;  // records before this position reached the OS
  uint64_t synced_ = 0;   // `always`: records before this position are fsynced
  // Where each live generation's records start: the stream position of its first record from
  // this process, and that record's offset in the file (non-zero only for the generation
  // reopened in append mode at start). Ascending; back() is the current generation.
  struct GenerationStart {
    uint64_t generation;
    uint64_t position;
    uint64_t file_offset;
  };
  std::deque<GenerationStart> generation_starts_;
  Status error_;                 // latched write error
  bool latched_by_sync_ = false;  // error_ came from an fsync
  bool failed_this_batch_ = false;
  uint64_t retries_ = 0;         // failed retries since the latch (to space out log lines)
  std::shared_ptr<SyncShared> shared_;
};

const char* FsyncPolicyName(FsyncPolicy policy);
bool ParseFsyncPolicy(const std::string& name, FsyncPolicy* policy);

}  // namespace organic::engine
