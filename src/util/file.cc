#include "util/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace organic {

namespace {

// Big enough that a pipeline of small commands costs one write(2) per event-loop iteration,
// small enough to be irrelevant next to the MemTable.
constexpr size_t kWriteBufferSize = 64 * 1024;

Status PosixError(const std::string& context, int err) {
  std::string msg = context + ": " + std::strerror(err);
  if (err == ENOENT) return Status::NotFound(msg);
  return Status::IOError(msg, err);
}

int DataSync(int fd) {
#ifdef __linux__
  return ::fdatasync(fd);
#else
  return ::fsync(fd);
#endif
}

// Writes all of data[0, n) to fd, retrying short writes and EINTR. *written receives how many
// bytes reached the OS, also on error.
Status WriteAll(int fd, const std::string& path, const char* data, size_t n, size_t* written) {
  *written = 0;
  while (*written < n) {
    ssize_t r = ::write(fd, data + *written, n - *written);
    if (r < 0) {
      if (errno == EINTR) continue;
      return PosixError(path, errno);
    }
    *written += static_cast<size_t>(r);
  }
  return Status::Ok();
}

class PosixWritableFile final : public WritableFile {
 public:
  // Takes ownership of fd. initial_size: bytes already in the file (append mode).
  PosixWritableFile(std::string path, int fd, uint64_t initial_size)
      : path_(std::move(path)), fd_(fd), size_(initial_size) {
    buffer_.reserve(kWriteBufferSize);
  }
  ~PosixWritableFile() override {
    if (fd_ >= 0) Close();
  }

  // If an error is returned, none of data was buffered; a prefix of it may have reached the OS
  // only for appends of at least kWriteBufferSize bytes (written directly).
  Status Append(std::string_view data) override {
    if (data.size() > kWriteBufferSize - buffer_.size()) {
      RETURN_IF_ERROR(FlushBuffer());
      if (data.size() >= kWriteBufferSize) {
        // Large appends bypass the buffer: copying them would only add work.
        size_t written;
        Status status = WriteAll(fd_, path_, data.data(), data.size(), &written);
        size_ += written;
        return status;
      }
    }
    buffer_.append(data);
    size_ += data.size();
    return Status::Ok();
  }

  Status Flush() override { return FlushBuffer(); }

  Status Sync() override {
    RETURN_IF_ERROR(FlushBuffer());
    return SyncFlushed();
  }

  // Only reads fd_, which is constant between construction and Close (the header's contract
  // forbids Close while another thread may be here), so no lock is needed.
  Status SyncFlushed() override {
    if (fd_ < 0) return Status::IOError(path_ + ": sync of a closed file");
    if (DataSync(fd_) != 0) return PosixError(path_ + ": fdatasync", errno);
    return Status::Ok();
  }

  void Discard() override {
    buffer_.clear();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  Status Close() override {
    if (fd_ < 0) return Status::Ok();
    Status status = FlushBuffer();
    if (::close(fd_) != 0 && status.ok()) status = PosixError(path_ + ": close", errno);
    fd_ = -1;
    return status;
  }

  uint64_t Size() const override { return size_; }

 private:
  Status FlushBuffer() {
    if (buffer_.empty()) return Status::Ok();
    if (fd_ < 0) return Status::IOError(path_ + ": write to a closed file");
    size_t written;
    Status status = WriteAll(fd_, path_, buffer_.data(), buffer_.size(), &written);
    // On error keep what did not reach the OS, so a retried Flush resumes where this one stopped.
    buffer_.erase(0, written);
    return status;
  }

  const std::string path_;
  int fd_;               // -1 once closed
  uint64_t size_;        // flushed bytes + buffer_.size()
  std::string buffer_;   // appended, not yet written
};

class PosixSequentialFile final : public SequentialFile {
 public:
  PosixSequentialFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixSequentialFile() override { ::close(fd_); }

  Status Read(size_t n, std::string* out) override {
    out->resize(n);
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::read(fd_, out->data() + got, n - got);
      if (r < 0) {
        if (errno == EINTR) continue;
        out->clear();
        return PosixError(path_, errno);
      }
      if (r == 0) break;  // end of file
      got += static_cast<size_t>(r);
    }
    out->resize(got);
    return Status::Ok();
  }

  Status Skip(uint64_t n) override {
    if (::lseek(fd_, static_cast<off_t>(n), SEEK_CUR) < 0) return PosixError(path_, errno);
    return Status::Ok();
  }

 private:
  const std::string path_;
  const int fd_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  Status Read(uint64_t offset, size_t n, std::string* out) const override {
    out->resize(n);
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd_, out->data() + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        out->clear();
        return PosixError(path_, errno);
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    out->resize(got);
    return Status::Ok();
  }

 private:
  const std::string path_;
  const int fd_;
};

class PosixFileSystem final : public FileSystem {
 public:
  Status NewWritableFile(const std::string& path, bool append,
                         std::unique_ptr<WritableFile>* result) override {
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
    int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) return PosixError(path, errno);
    uint64_t initial_size = 0;
    if (append) {
      struct stat st;
      if (::fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        return PosixError(path, err);
      }
      initial_size = static_cast<uint64_t>(st.st_size);
    }
    *result = std::make_unique<PosixWritableFile>(path, fd, initial_size);
    return Status::Ok();
  }

  Status NewSequentialFile(const std::string& path,
                           std::unique_ptr<SequentialFile>* result) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PosixError(path, errno);
    *result = std::make_unique<PosixSequentialFile>(path, fd);
    return Status::Ok();
  }

  Status NewRandomAccessFile(const std::string& path,
                             std::unique_ptr<RandomAccessFile>* result) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PosixError(path, errno);
    *result = std::make_unique<PosixRandomAccessFile>(path, fd);
    return Status::Ok();
  }

  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  Status GetFileSize(const std::string& path, uint64_t* size) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return PosixError(path, errno);
    *size = static_cast<uint64_t>(st.st_size);
    return Status::Ok();
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return PosixError(path, errno);
    return Status::Ok();
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return PosixError(from + " -> " + to, errno);
    return Status::Ok();
  }

  Status Truncate(const std::string& path, uint64_t size) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return PosixError(path, errno);
    Status status;
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      status = PosixError(path, errno);
    } else if (size > static_cast<uint64_t>(st.st_size)) {
      status = Status::InvalidArgument(path + ": truncate to " + std::to_string(size) +
                                       " bytes would extend a " + std::to_string(st.st_size) +
                                       "-byte file");
    } else if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
      status = PosixError(path + ": ftruncate", errno);
    } else if (::fsync(fd) != 0) {
      status = PosixError(path + ": fsync", errno);
    }
    ::close(fd);
    return status;
  }

  Status CreateDirIfMissing(const std::string& dir) override {
    if (::mkdir(dir.c_str(), 0755) == 0) return Status::Ok();
    int err = errno;
    struct stat st;
    if (err == EEXIST && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return Status::Ok();
    }
    return PosixError(dir, err);
  }

  Status GetChildren(const std::string& dir, std::vector<std::string>* names) override {
    names->clear();
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return PosixError(dir, errno);
    while (struct dirent* entry = ::readdir(d)) {
      if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
      names->emplace_back(entry->d_name);
    }
    ::closedir(d);
    return Status::Ok();
  }

  Status SyncDir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return PosixError(dir, errno);
    Status status;
    if (::fsync(fd) != 0) status = PosixError(dir + ": fsync", errno);
    ::close(fd);
    return status;
  }
};

// The directory part of a path, as FaultInjectionFileSystem matches it against SyncDir calls.
std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

FileSystem* DefaultFileSystem() {
  // Intentionally leaked: stateless, and files may still be closed during static destruction.
  static FileSystem* const fs = new PosixFileSystem();
  return fs;
}

// ---------------------------------------------------------------------------------------------
// FaultInjectionFileSystem

// Keeps appends in its own buffer and hands them to the base file only in Flush, followed by a
// base Flush. So the base file never holds buffered data of its own: after the simulated crash,
// destroying it writes nothing.
//
// Every method takes the file system's mutex for its whole duration (including the base I/O):
// simple, and it orders each Flush/Sync against DropUnsyncedData. Test-only, speed is no goal.
class FaultInjectionFileSystem::File final : public WritableFile {
 public:
  File(FaultInjectionFileSystem* fs, std::string path, std::shared_ptr<FileState> state,
       std::unique_ptr<WritableFile> base)
      : fs_(fs),
        path_(std::move(path)),
        state_(std::move(state)),
        base_(std::move(base)),
        size_(base_->Size()) {
    epoch_ = fs_->epoch_;  // the constructor runs under fs_->mu_
  }
  ~File() override {
    if (!closed_) Close();
  }

  Status Append(std::string_view data) override {
    std::lock_guard<std::mutex> lock(fs_->mu_);
    RETURN_IF_ERROR(CheckAlive());
    pending_.append(data);
    size_ += data.size();
    return Status::Ok();
  }

  Status Flush() override {
    std::lock_guard<std::mutex> lock(fs_->mu_);
    return FlushLocked();
  }

  Status Sync() override {
    std::lock_guard<std::mutex> lock(fs_->mu_);
    RETURN_IF_ERROR(FlushLocked());
    RETURN_IF_ERROR(SyncFaultLocked());
    RETURN_IF_ERROR(base_->Sync());
    state_->synced_size = state_->flushed_size;
    return Status::Ok();
  }

  Status SyncFlushed() override {
    std::lock_guard<std::mutex> lock(fs_->mu_);
    RETURN_IF_ERROR(CheckAlive());
    RETURN_IF_ERROR(SyncFaultLocked());
    RETURN_IF_ERROR(base_->SyncFlushed());
    state_->synced_size = state_->flushed_size;
    return Status::Ok();
  }

  Status Close() override {
    std::lock_guard<std::mutex> lock(fs_->mu_);
    if (closed_) return Status::Ok();
    Status status = Dead() ? Status::Ok() : FlushLocked();
    closed_ = true;
    Status close_status = base_->Close();
    return status.ok() ? close_status : status;
  }

  void Discard() override {
    std::lock_guard<std::mutex> lock(fs_->mu_);
    pending_.clear();
    if (!closed_) base_->Discard();
    closed_ = true;
  }

  uint64_t Size() const override { return size_; }

 private:
  bool Dead() const { return epoch_ != fs_->epoch_; }

  Status CheckAlive() const {
    if (Dead()) return Status::IOError("simulated crash: file no longer writable");
    if (closed_) return Status::IOError("write to a closed file");
    return Status::Ok();
  }

  Status SyncFaultLocked() {
    Fault fault;
    if (fs_->TakeFaultLocked(FaultOp::kSync, path_, &fault)) {
      return FaultStatus(path_ + ": fdatasync", fault);
    }
    return Status::Ok();
  }

  Status FlushLocked() {
    RETURN_IF_ERROR(CheckAlive());
    if (pending_.empty()) return Status::Ok();
    Fault fault;
    if (fs_->TakeFaultLocked(FaultOp::kWrite, path_, &fault)) {
      // A short write: a prefix reaches the file, the rest stays pending (as PosixWritableFile
      // keeps what write(2) did not take, so a retried Flush resumes there).
      size_t n = std::min(fault.short_bytes, pending_.size());
      if (n > 0) {
        RETURN_IF_ERROR(base_->Append(std::string_view(pending_).substr(0, n)));
        RETURN_IF_ERROR(base_->Flush());
        state_->flushed_size += n;
        pending_.erase(0, n);
      }
      return FaultStatus(path_, fault);
    }
    RETURN_IF_ERROR(base_->Append(pending_));
    RETURN_IF_ERROR(base_->Flush());
    state_->flushed_size += pending_.size();
    pending_.clear();
    return Status::Ok();
  }

  FaultInjectionFileSystem* const fs_;
  const std::string path_;
  const std::shared_ptr<FileState> state_;  // fields guarded by fs_->mu_
  const std::unique_ptr<WritableFile> base_;
  uint64_t epoch_;        // fs_->epoch_ when opened
  std::string pending_;   // appended, not yet flushed; owner thread, under fs_->mu_
  uint64_t size_;         // owner thread
  bool closed_ = false;   // owner thread
};

FaultInjectionFileSystem::FaultInjectionFileSystem(FileSystem* base) : base_(base) {}
FaultInjectionFileSystem::~FaultInjectionFileSystem() = default;

void FaultInjectionFileSystem::InjectFault(const Fault& fault) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.push_back(fault);
}

void FaultInjectionFileSystem::ClearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.clear();
}

uint64_t FaultInjectionFileSystem::faults_hit() {
  std::lock_guard<std::mutex> lock(mu_);
  return faults_hit_;
}

bool FaultInjectionFileSystem::TakeFaultLocked(FaultOp op, const std::string& path, Fault* hit) {
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->op != op) continue;
    if (!it->path_contains.empty() && path.find(it->path_contains) == std::string::npos) continue;
    *hit = *it;
    if (it->count > 0 && --it->count == 0) faults_.erase(it);
    faults_hit_++;
    return true;
  }
  return false;
}

Status FaultInjectionFileSystem::FaultStatus(const std::string& path, const Fault& fault) {
  return Status::IOError(path + ": " + std::strerror(fault.error), fault.error);
}

Status FaultInjectionFileSystem::DropUnsyncedData() {
  std::lock_guard<std::mutex> lock(mu_);
  ++epoch_;
  Status first_error;
  for (auto& [path, state] : files_) {
    uint64_t size;
    Status s = base_->GetFileSize(path, &size);
    if (s.ok() && size > state->synced_size) s = base_->Truncate(path, state->synced_size);
    if (!s.ok() && !s.IsNotFound() && first_error.ok()) first_error = s;
    state->flushed_size = state->synced_size;
  }
  return first_error;
}

Status FaultInjectionFileSystem::RemoveFilesCreatedAfterLastDirSync() {
  std::lock_guard<std::mutex> lock(mu_);
  Status first_error;
  for (const std::string& path : created_unsynced_dir_) {
    Status s = base_->RemoveFile(path);
    if (!s.ok() && !s.IsNotFound() && first_error.ok()) first_error = s;
    files_.erase(path);
  }
  created_unsynced_dir_.clear();
  return first_error;
}

Status FaultInjectionFileSystem::NewWritableFile(const std::string& path, bool append,
                                                 std::unique_ptr<WritableFile>* result) {
  std::lock_guard<std::mutex> lock(mu_);
  Fault fault;
  if (TakeFaultLocked(FaultOp::kOpenWritable, path, &fault)) return FaultStatus(path, fault);
  bool existed = base_->FileExists(path);
  std::unique_ptr<WritableFile> base_file;
  RETURN_IF_ERROR(base_->NewWritableFile(path, append, &base_file));
  auto state = std::make_shared<FileState>();
  // Bytes already present in append mode are assumed durable: they predate this test's writes.
  state->flushed_size = state->synced_size = base_file->Size();
  files_[path] = state;
  if (!existed) created_unsynced_dir_.insert(path);
  *result = std::make_unique<File>(this, path, std::move(state), std::move(base_file));
  return Status::Ok();
}

Status FaultInjectionFileSystem::NewSequentialFile(const std::string& path,
                                                   std::unique_ptr<SequentialFile>* result) {
  return base_->NewSequentialFile(path, result);
}

Status FaultInjectionFileSystem::NewRandomAccessFile(const std::string& path,
                                                     std::unique_ptr<RandomAccessFile>* result) {
  return base_->NewRandomAccessFile(path, result);
}

bool FaultInjectionFileSystem::FileExists(const std::string& path) {
  return base_->FileExists(path);
}

Status FaultInjectionFileSystem::GetFileSize(const std::string& path, uint64_t* size) {
  return base_->GetFileSize(path, size);
}

Status FaultInjectionFileSystem::RemoveFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  Fault fault;
  if (TakeFaultLocked(FaultOp::kRemove, path, &fault)) return FaultStatus(path, fault);
  RETURN_IF_ERROR(base_->RemoveFile(path));
  files_.erase(path);
  created_unsynced_dir_.erase(path);
  return Status::Ok();
}

Status FaultInjectionFileSystem::RenameFile(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(mu_);
  Fault fault;
  if (TakeFaultLocked(FaultOp::kRename, from, &fault)) {
    return FaultStatus(from + " -> " + to, fault);
  }
  RETURN_IF_ERROR(base_->RenameFile(from, to));
  auto it = files_.find(from);
  if (it != files_.end()) {
    files_[to] = it->second;
    files_.erase(it);
  } else {
    files_.erase(to);  // replaced by a file we know nothing about: treat as durable
  }
  if (created_unsynced_dir_.erase(from) > 0) created_unsynced_dir_.insert(to);
  return Status::Ok();
}

Status FaultInjectionFileSystem::Truncate(const std::string& path, uint64_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  Fault fault;
  if (TakeFaultLocked(FaultOp::kTruncate, path, &fault)) return FaultStatus(path, fault);
  RETURN_IF_ERROR(base_->Truncate(path, size));
  auto it = files_.find(path);
  if (it != files_.end()) {
    // Truncate is durable (it fsyncs), so the new length is the synced length.
    it->second->flushed_size = std::min(it->second->flushed_size, size);
    it->second->synced_size = std::min(it->second->synced_size, size);
  }
  return Status::Ok();
}

Status FaultInjectionFileSystem::CreateDirIfMissing(const std::string& dir) {
  return base_->CreateDirIfMissing(dir);
}

Status FaultInjectionFileSystem::GetChildren(const std::string& dir,
                                             std::vector<std::string>* names) {
  return base_->GetChildren(dir, names);
}

Status FaultInjectionFileSystem::SyncDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  Fault fault;
  if (TakeFaultLocked(FaultOp::kSyncDir, dir, &fault)) return FaultStatus(dir + ": fsync", fault);
  RETURN_IF_ERROR(base_->SyncDir(dir));
  for (auto it = created_unsynced_dir_.begin(); it != created_unsynced_dir_.end();) {
    it = DirName(*it) == dir ? created_unsynced_dir_.erase(it) : std::next(it);
  }
  return Status::Ok();
}

}  // namespace organic
