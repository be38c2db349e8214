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
      sync_in_flight_(std::make_shared<std::atomic<bool>>(false)) {}

WalLog::~WalLog() {
  if (writer_ != nullptr) {
    writer_->Flush();
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
  } else {
    RETURN_IF_ERROR(OpenForAppend(generations_.back(), true));
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

Status WalLog::Append(std::string_view payload) { return writer_->AddRecord(payload); }

Status WalLog::FlushBatch() {
  Status st = writer_->Flush();
  if (st.ok() && policy_ == FsyncPolicy::kAlways) {
    st = writer_->Sync();
    if (st.ok()) {
      fsyncs_++;
      last_sync_ms_->store(UnixTimeMs(), std::memory_order_relaxed);
    }
  }
  if (!st.ok()) {
    last_error_ms_ = UnixTimeMs();
    Log(LogLevel::kWarning, "WAL write failed: %s", st.ToString().c_str());
  }
  last_write_status_ = st;
  return st;
}

void WalLog::ScheduleBackgroundSync() {
  if (policy_ != FsyncPolicy::kEverySec || writer_ == nullptr) return;
  // At most one queued sync: a slow disk must not pile up tasks.
  if (sync_in_flight_->exchange(true)) return;
  fsyncs_++;
  std::shared_ptr<WalWriter> writer = writer_;
  std::shared_ptr<std::atomic<int64_t>> last_sync = last_sync_ms_;
  std::shared_ptr<std::atomic<bool>> in_flight = sync_in_flight_;
  // Urgent: everysec promises at most about a second of writes lost, so the fsync must not
  // wait behind a queued flush or compaction (it still waits for the task running).
  worker_->PostUrgent([writer, last_sync, in_flight] {
    Status st = writer->file()->SyncFlushed();
    if (st.ok()) last_sync->store(UnixTimeMs(), std::memory_order_relaxed);
    else Log(LogLevel::kWarning, "WAL background fsync failed: %s", st.ToString().c_str());
    in_flight->store(false);
  });
}

Status WalLog::SyncNow() {
  RETURN_IF_ERROR(writer_->Flush());
  RETURN_IF_ERROR(writer_->Sync());
  fsyncs_++;
  last_sync_ms_->store(UnixTimeMs(), std::memory_order_relaxed);
  return Status::Ok();
}

Status WalLog::NewGeneration() {
  // The retired file gets its buffered records now and its fsync on the worker: a metabolic
  // flush rotates the WAL from the loop, which must not wait for the disk. In `always` mode
  // every acknowledged record is already synced, so nothing acknowledged depends on that fsync.
  RETURN_IF_ERROR(writer_->Flush());
  uint64_t old_size = writer_->size();
  std::shared_ptr<WalWriter> old = writer_;
  RETURN_IF_ERROR(OpenForAppend(current_generation_ + 1, false));
  // The new file's directory entry must be durable before a record in it is acknowledged as
  // synced, so `always` pays for the directory fsync here; the other policies on the worker.
  if (policy_ == FsyncPolicy::kAlways) {
    RETURN_IF_ERROR(fs_->SyncDir(dir_));
  } else {
    FileSystem* fs = fs_;
    std::string dir = dir_;
    worker_->Post([fs, dir] { fs->SyncDir(dir); });
  }
  generations_.push_back(current_generation_);
  retired_bytes_ += old_size;
  // Sync and close the retired file on the worker, after any sync already queued for it.
  worker_->Post([old] {
    old->file()->SyncFlushed();
    old->file()->Close();
  });
  return Status::Ok();
}

std::vector<std::string> WalLog::ForgetGenerationsBefore(uint64_t generation) {
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

uint64_t WalLog::current_size() const { return writer_ == nullptr ? 0 : writer_->size(); }
uint64_t WalLog::total_size() const { return retired_bytes_ + current_size(); }
int64_t WalLog::last_sync_unix_ms() const {
  return last_sync_ms_->load(std::memory_order_relaxed);
}

}  // namespace organic::engine
