#include "engine/wal_log.h"

#include <algorithm>
#include <atomic>

#include "engine/wal_reader.h"
#include "util/clock.h"
#include "util/log.h"

namespace organic::engine {

const char* FsyncPolicyName(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::kAlways: return "always";
    case FsyncPolicy::kEverySec: return "everysec";
    case FsyncPolicy::kNo: return "no";
  }
  return "everysec";
}

bool ParseFsyncPolicy(const std::string& name, FsyncPolicy* policy) {
  if (name == "always") *policy = FsyncPolicy::kAlways;
  else if (name == "everysec") *policy = FsyncPolicy::kEverySec;
  else if (name == "no") *policy = FsyncPolicy::kNo;
  else return false;
  return true;
}

WalLog::WalLog(FileSystem* fs, std::string dir, FsyncPolicy policy, BackgroundWorker* worker)
    : fs_(fs),
      dir_(std::move(dir)),
      policy_(policy),
      worker_(worker),
      last_sync_ms_(std::make_shared<std::atomic<int64_t>>(0)),
      shared_(std::make_shared<SyncShared>()) {}

WalLog::~WalLog() {
  if (writer_ != nullptr && error_.ok()) {
    WriteUnflushed();
    writer_->Sync();
  }
}

std::string WalLog::PathOf(uint64_t generation) const {
  return dir_ + "/" + WalFileName(generation);
}

Status WalLog::Recover(const std::function<Status(std::string_view)>& apply,
                       WalRecoveryReport* report, uint64_t floor) {
  RETURN_IF_ERROR(fs_->CreateDirIfMissing(dir_));
  std::vector<std::string> children;
  RETURN_IF_ERROR(fs_->GetChildren(dir_, &children));
  generations_.clear();
  bool removed = false;
  for (const std::string& name : children) {
    uint64_t gen;
    if (!ParseWalFileName(name, &gen)) continue;
    if (gen < floor) {
      // Left behind by a crash after the manifest moved the floor: its records are in tables.
      RETURN_IF_ERROR(fs_->RemoveFile(PathOf(gen)));
      removed = true;
      continue;
    }
    generations_.push_back(gen);
  }
  if (removed) RETURN_IF_ERROR(fs_->SyncDir(dir_));
  std::sort(generations_.begin(), generations_.end());
  std::string payload;
  for (uint64_t gen : generations_) {
    std::string path = PathOf(gen);
    uint64_t size = 0;
    RETURN_IF_ERROR(fs_->GetFileSize(path, &size));
    std::unique_ptr<SequentialFile> file;
    RETURN_IF_ERROR(fs_->NewSequentialFile(path, &file));
    WalReader reader(std::move(file), size);
    report->generations++;
    bool done = false;
    while (!done) {
      switch (reader.ReadRecord(&payload)) {
        case WalReader::ReadResult::kRecord: {
          Status st = apply(payload);
          if (!st.ok()) {
            return Status::Corruption(WalFileName(gen) + " at offset " +
                                      std::to_string(reader.last_record_end() - payload.size() - 8) +
                                      ": " + st.message());
          }
          report->records++;
          break;
        }
        case WalReader::ReadResult::kEof:
          done = true;
          break;
        case WalReader::ReadResult::kTornTail: {
          uint64_t keep = reader.last_record_end();
          std::string warning = "WAL " + WalFileName(gen) + " has a torn tail at offset " +
                                std::to_string(keep) + " (" + reader.error_detail() +
                                "): truncating " + std::to_string(size - keep) + " bytes";
          Log(LogLevel::kWarning, "%s", warning.c_str());
          report->warnings.push_back(warning);
          report->truncated_bytes += size - keep;
          RETURN_IF_ERROR(fs_->Truncate(path, keep));
          size = keep;
          done = true;
          break;
        }
        case WalReader::ReadResult::kIOError:
          return Status::IOError("reading WAL " + path + " at offset " +
                                 std::to_string(reader.error_offset()) + ": " +
                                 reader.error_detail());
        case WalReader::ReadResult::kCorruption:
          return Status::Corruption("WAL " + path + " is corrupt at offset " +
                                    std::to_string(reader.error_offset()) + " (" +
                                    reader.error_detail() +
                                    "); run organic-check-wal --fix to repair it");
      }
    }
    report->bytes += size;
  }
  if (generations_.empty()) {
    // Numbering continues above the floor: a generation below it would be ignored next time.
    uint64_t first = floor > 1 ? floor : 1;
    generations_.push_back(first);
    RETURN_IF_ERROR(OpenForAppend(first, false));
    RETURN_IF_ERROR(fs_->SyncDir(dir_));
    generation_starts_.assign(1, GenerationStart{first, 0, 0});
  } else {
    RETURN_IF_ERROR(OpenForAppend(generations_.back(), true));
    generation_starts_.assign(1, GenerationStart{generations_.back(), 0, writer_->size()});
    retired_bytes_ = 0;
    for (size_t i = 0; i + 1 < generations_.size(); i++) {
      uint64_t size = 0;
      if (fs_->GetFileSize(PathOf(generations_[i]), &size).ok()) retired_bytes_ += size;
    }
  }
  return Status::Ok();
}

Status WalLog::OpenForAppend(uint64_t generation, bool append) {
  std::unique_ptr<WritableFile> file;
  RETURN_IF_ERROR(fs_->NewWritableFile(PathOf(generation), append, &file));
  writer_ = std::make_shared<WalWriter>(std::move(file));
  current_generation_ = generation;
  return Status::Ok();
}

Status WalLog::Append(std::string_view payload) {
  if (payload.size() > kWalMaxPayloadSize) {
    return Status::InvalidArgument("WAL record payload of " + std::to_string(payload.size()) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(kWalMaxPayloadSize));
  }
  // Framed once, here; the writer copies from retained_ at the end of the iteration (one
  // write(2) per batch). Kept until durable, so a failed write can be retried whole.
  const size_t before = retained_.size();
  EncodeWalRecord(payload, &retained_);
  appended_ += retained_.size() - before;
  // A large batch (a pipeline of big writes) goes to the OS as it grows, as a 64 KiB write
  // buffer would: memory stays bounded, and `no`/everysec keep no copy of what reached the OS.
  // `always` keeps it until the batch's fsync. A failure here latches like one at the end of
  // the batch: the server refuses the writes that follow, FlushBatch reports the batch.
  if (error_.ok() && appended_ - flushed_ >= kEarlyWriteBytes) {
    Status st = WriteUnflushed();
    if (!st.ok()) {
      Latch(st, false);
    } else if (policy_ != FsyncPolicy::kAlways) {
      TrimRetained(flushed_);
    }
  }
  return Status::Ok();
}

Status WalLog::WriteUnflushed() {
  if (appended_ > flushed_) {
    std::string_view unflushed(retained_);
    unflushed.remove_prefix(static_cast<size_t>(flushed_ - retained_start_));
    RETURN_IF_ERROR(writer_->AddEncodedRecords(unflushed));
  }
  RETURN_IF_ERROR(writer_->Flush());
  flushed_ = appended_;
  return Status::Ok();
}

Status WalLog::WriteBatch(bool* by_sync) {
  RETURN_IF_ERROR(WriteUnflushed());
  if (policy_ != FsyncPolicy::kAlways || synced_ >= flushed_) return Status::Ok();
  *by_sync = true;
  RETURN_IF_ERROR(writer_->Sync());
  fsyncs_++;
  synced_ = flushed_;
  {
    // Shared with everysec's bookkeeping, so that a policy change keeps it right.
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (shared_->failure.ok()) shared_->durable = std::max(shared_->durable, synced_);
  }
  last_sync_ms_->store(UnixTimeMs(), std::memory_order_relaxed);
  return Status::Ok();
}

void WalLog::Latch(const Status& st, bool by_sync) {
  // A failed fsync that follows a failed write still decides how the retry must go (it may
  // not trust the failed generation's earlier records).
  latched_by_sync_ = latched_by_sync_ || by_sync;
  if (!error_.ok()) return;
  error_ = st;
  last_write_status_ = st;
  last_error_ms_ = UnixTimeMs();
  failed_this_batch_ = true;
  write_errors_++;
  retries_ = 0;
  Log(LogLevel::kWarning,
      "WAL write failed: %s. Refusing write commands until the WAL can be written again "
      "(retried every second; %llu bytes of records kept in memory meanwhile)",
      st.ToString().c_str(), static_cast<unsigned long long>(retained_.size()));
}

void WalLog::TrimRetained(uint64_t pos) {
  if (pos <= retained_start_) return;
  pos = std::min(pos, appended_);
  retained_.erase(0, static_cast<size_t>(pos - retained_start_));
  retained_start_ = pos;
  // A pipeline of large writes must not leave a large buffer behind: it counts as used
  // memory against maxmemory. Small batches keep theirs (no allocation per iteration).
  if (retained_.empty() && retained_.capacity() > 256 * 1024) std::string().swap(retained_);
}

void WalLog::PollSyncResults() {
  Status failure;
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    failure = shared_->failure;
  }
  if (!failure.ok()) Latch(failure, true);
}

Status WalLog::ReadBack(uint64_t from, uint64_t to, std::string* out) {
  for (size_t i = 0; i < generation_starts_.size() && from < to; i++) {
    const GenerationStart& g = generation_starts_[i];
    const uint64_t end =
        i + 1 < generation_starts_.size() ? generation_starts_[i + 1].position : UINT64_MAX;
    if (from >= end) continue;
    const uint64_t upto = std::min(to, end);
    std::unique_ptr<SequentialFile> file;
    RETURN_IF_ERROR(fs_->NewSequentialFile(PathOf(g.generation), &file));
    RETURN_IF_ERROR(file->Skip(g.file_offset + (from - g.position)));
    std::string bytes;
    RETURN_IF_ERROR(file->Read(static_cast<size_t>(upto - from), &bytes));
    if (bytes.size() != upto - from) {
      return Status::IOError(PathOf(g.generation) + ": shorter than the records written to it");
    }
    out->append(bytes);
    from = upto;
  }
  if (from < to) return Status::IOError("WAL records to re-read are in no live generation");
  return Status::Ok();
}

void WalLog::PostSyncTask(std::function<Status()> task, uint64_t durable_pos) {
  std::shared_ptr<SyncShared> shared = shared_;
  std::shared_ptr<std::atomic<int64_t>> last_sync = last_sync_ms_;
  const bool promised = policy_ != FsyncPolicy::kNo;
  uint64_t epoch;
  {
    std::lock_guard<std::mutex> lock(shared->mu);
    epoch = shared->epoch;
  }
  worker_->PostUrgent([task = std::move(task), shared, last_sync, promised, epoch, durable_pos] {
    Status st = task();
    std::lock_guard<std::mutex> lock(shared->mu);
    if (shared->epoch != epoch) return;  // a retry rewrote everything since
    if (!st.ok()) {
      Log(LogLevel::kWarning, "WAL background fsync failed: %s", st.ToString().c_str());
      if (promised && shared->failure.ok()) shared->failure = st;
      return;
    }
    // After a failure nothing later counts: the records it left unsynced come first.
    if (!shared->failure.ok()) return;
    shared->durable = std::max(shared->durable, durable_pos);
    last_sync->store(UnixTimeMs(), std::memory_order_relaxed);
  });
}

Status WalLog::FlushBatch() {
  PollSyncResults();
  if (!error_.ok()) {
    Status st = failed_this_batch_ ? error_ : Status::Ok();
    failed_this_batch_ = false;
    return st;
  }
  bool by_sync = false;
  Status st = WriteBatch(&by_sync);
  if (!st.ok()) {
    Latch(st, by_sync);
    failed_this_batch_ = false;
    return st;
  }
  last_write_status_ = Status::Ok();
  // `always` keeps the batch until it is fsynced; under everysec a failed worker fsync is made
  // good by reading the records back (RetryAfterWriteError).
  TrimRetained(policy_ == FsyncPolicy::kAlways ? synced_ : flushed_);
  return Status::Ok();
}

void WalLog::ScheduleBackgroundSync() {
  if (policy_ != FsyncPolicy::kEverySec || writer_ == nullptr || !error_.ok()) return;
  {
    // At most one queued sync: a slow disk must not pile up tasks.
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (shared_->in_flight) return;
    shared_->in_flight = true;
  }
  fsyncs_++;
  std::shared_ptr<WalWriter> writer = writer_;
  std::shared_ptr<SyncShared> shared = shared_;
  // Covers what reached the OS before the fsync starts, so at least everything flushed now.
  PostSyncTask(
      [writer, shared] {
        Status st = writer->file()->SyncFlushed();
        std::lock_guard<std::mutex> lock(shared->mu);
        shared->in_flight = false;
        return st;
      },
      flushed_);
}

Status WalLog::SyncNow() {
  RETURN_IF_ERROR(RetryAfterWriteError());
  Status st = WriteUnflushed();
  if (st.ok()) st = writer_->Sync();
  if (!st.ok()) {
    Latch(st, true);  // this iteration's replies wait too (FlushBatch reports it)
    return st;
  }
  fsyncs_++;
  synced_ = flushed_;
  last_sync_ms_->store(UnixTimeMs(), std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (shared_->failure.ok()) shared_->durable = std::max(shared_->durable, synced_);
  }
  TrimRetained(flushed_);
  return Status::Ok();
}

Status WalLog::NewGeneration() {
  if (!error_.ok()) return error_;
  // The retired file gets the batch so far now. In `always` mode it is fsynced here too: the
  // batch's replies go out once the new file is fsynced, and must not depend on a worker
  // fsync of the old one. Otherwise its fsync runs on the worker, ahead of queued flushes.
  bool by_sync = false;
  Status st = WriteBatch(&by_sync);
  if (!st.ok()) {
    Latch(st, by_sync);
    return st;
  }
  TrimRetained(policy_ == FsyncPolicy::kAlways ? synced_ : flushed_);
  uint64_t old_size = writer_->size();
  std::shared_ptr<WalWriter> old = writer_;
  const uint64_t old_generation = current_generation_;
  st = OpenForAppend(current_generation_ + 1, false);
  // The new file's directory entry must be durable before a record in it is acknowledged as
  // synced, so `always` pays for the directory fsync here; the other policies on the worker.
  if (st.ok() && policy_ == FsyncPolicy::kAlways) st = fs_->SyncDir(dir_);
  if (!st.ok()) {
    // Nothing was written to the new file: the old generation stays the append target.
    if (writer_ != old) {
      writer_->Close();
      fs_->RemoveFile(PathOf(current_generation_));
      writer_ = old;
      current_generation_ = old_generation;
    }
    Log(LogLevel::kWarning, "Could not start a new WAL generation: %s", st.ToString().c_str());
    return st;
  }
  generations_.push_back(current_generation_);
  generation_starts_.push_back(GenerationStart{current_generation_, appended_, 0});
  retired_bytes_ += old_size;
  if (policy_ != FsyncPolicy::kAlways) {
    FileSystem* fs = fs_;
    std::string dir = dir_;
    PostSyncTask([fs, dir] { return fs->SyncDir(dir); }, 0);
  }
  // The retired file's last fsync, then its close, after any fsync already queued for it:
  // when it succeeds, every record before the rotation is durable.
  PostSyncTask(
      [old] {
        Status st = old->file()->SyncFlushed();
        old->file()->Close();
        return st;
      },
      appended_);
  return Status::Ok();
}

Status WalLog::RetryAfterWriteError() {
  if (error_.ok()) return Status::Ok();
  // What is not known durable: the kept records, and under everysec those written after the
  // last good worker fsync (after a failed fsync the kernel may have dropped them; after a
  // failed write, the failed generation will never be fsynced again).
  uint64_t from = retained_start_;
  // (Whatever the policy now: CONFIG SET appendfsync may have changed it since the failure.
  // Under `no` nothing was promised against a power cut.)
  if (policy_ != FsyncPolicy::kNo) {
    uint64_t durable;
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      durable = shared_->durable;
      // A worker fsync that failed after the error latched still counts.
      if (!shared_->failure.ok()) latched_by_sync_ = true;
    }
    // After a failed write (a full disk) the failed generation's flushed records are still
    // there to fsync, which costs no space; after a failed fsync only a rewrite is safe (the
    // kernel reports a lost page once, then may call a later fsync a success).
    const bool only_current = durable >= generation_starts_.back().position;
    if (durable < retained_start_ &&
        (latched_by_sync_ || !only_current || !writer_->file()->SyncFlushed().ok())) {
      from = durable;
    }
  }
  std::string rewrite;
  if (from < retained_start_) {
    Status read = ReadBack(from, retained_start_, &rewrite);
    if (!read.ok()) {
      // Still on the disk's page cache or not, they cannot be had: go on without them (a
      // power cut may lose them, as everysec allows for its last second).
      Log(LogLevel::kWarning, "WAL records after the last fsync could not be re-read: %s",
          read.ToString().c_str());
      rewrite.clear();
      from = retained_start_;
    }
  }
  // Everything goes to a fresh generation: the failed one may end in part of a record.
  const uint64_t generation = current_generation_ + 1;
  const std::string path = PathOf(generation);
  std::unique_ptr<WritableFile> file;
  Status st = fs_->NewWritableFile(path, false, &file);
  std::shared_ptr<WalWriter> writer;
  if (st.ok()) {
    writer = std::make_shared<WalWriter>(std::move(file));
    st = writer->AddEncodedRecords(rewrite);
    if (st.ok()) st = writer->AddEncodedRecords(retained_);
    if (st.ok()) st = writer->Sync();
    if (st.ok()) st = fs_->SyncDir(dir_);
  }
  if (!st.ok()) {
    if (writer != nullptr) {
      writer->file()->Discard();
      fs_->RemoveFile(path);  // best effort: a later retry truncates it anyway
    }
    retries_++;
    if ((retries_ & (retries_ - 1)) == 0) {  // log at 1, 2, 4, 8 ... failed retries
      Log(LogLevel::kWarning, "WAL still cannot be written (%llu retries): %s",
          static_cast<unsigned long long>(retries_), st.ToString().c_str());
    }
    return st;
  }
  // Cut the failed generation back to the first rewritten record when that lies in it (best
  // effort: replay skips a record it already applied in any case).
  const GenerationStart& current = generation_starts_.back();
  if (from >= current.position) {
    const uint64_t keep = current.file_offset + (from - current.position);
    if (keep < writer_->size()) fs_->Truncate(PathOf(current_generation_), keep);
  }
  // The failed writer may still hold the rest of a record: it must never write again. Closed
  // on the worker, after any fsync of it still queued there.
  std::shared_ptr<WalWriter> old = writer_;
  worker_->PostUrgent([old] { old->file()->Discard(); });
  retired_bytes_ += old->size();
  writer_ = writer;
  current_generation_ = generation;
  generations_.push_back(generation);
  generation_starts_.push_back(GenerationStart{generation, from, 0});
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->epoch++;
    shared_->failure = Status::Ok();
    shared_->durable = appended_;
    shared_->in_flight = false;
  }
  fsyncs_++;
  last_sync_ms_->store(UnixTimeMs(), std::memory_order_relaxed);
  flushed_ = synced_ = appended_;
  TrimRetained(appended_);
  Log(LogLevel::kWarning,
      "WAL write error looks solved: records kept meanwhile are in %s, write commands are "
      "accepted again", WalFileName(generation).c_str());
  error_ = Status::Ok();
  last_write_status_ = Status::Ok();
  failed_this_batch_ = false;
  return Status::Ok();
}

std::vector<std::string> WalLog::ForgetGenerationsBefore(uint64_t generation) {
  // Records in those generations are durable in tables now: a retry never needs them again.
  while (generation_starts_.size() > 1 && generation_starts_.front().generation < generation) {
    generation_starts_.pop_front();
  }
  if (generation_starts_.front().generation >= generation) {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->durable = std::max(shared_->durable, generation_starts_.front().position);
  }
  std::vector<uint64_t> kept;
  std::vector<std::string> paths;
  for (uint64_t gen : generations_) {
    if (gen < generation && gen != current_generation_) {
      uint64_t size = 0;
      if (fs_->GetFileSize(PathOf(gen), &size).ok() && retired_bytes_ >= size) {
        retired_bytes_ -= size;
      }
      paths.push_back(PathOf(gen));
    } else {
      kept.push_back(gen);
    }
  }
  generations_ = kept;
  return paths;
}

Status WalLog::RemoveGenerationsBefore(uint64_t generation) {
  std::vector<uint64_t> kept;
  for (uint64_t gen : generations_) {
    if (gen < generation) {
      uint64_t size = 0;
      if (fs_->GetFileSize(PathOf(gen), &size).ok() && retired_bytes_ >= size) {
        retired_bytes_ -= size;
      }
      RETURN_IF_ERROR(fs_->RemoveFile(PathOf(gen)));
    } else {
      kept.push_back(gen);
    }
  }
  generations_ = kept;
  return fs_->SyncDir(dir_);
}

uint64_t WalLog::durable_position() const {
  if (policy_ == FsyncPolicy::kAlways) return synced_;
  std::lock_guard<std::mutex> lock(shared_->mu);
  return shared_->durable;
}

uint64_t WalLog::current_size() const { return writer_ == nullptr ? 0 : writer_->size(); }
uint64_t WalLog::total_size() const { return retired_bytes_ + current_size(); }
int64_t WalLog::last_sync_unix_ms() const {
  return last_sync_ms_->load(std::memory_order_relaxed);
}

}  // namespace organic::engine
