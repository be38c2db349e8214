// A small file interface for the engine (WAL, SSTables, manifest).
//
// Why an interface instead of calling POSIX directly: crash tests wrap the real file system in a
// FaultInjectionFileSystem, which can throw away everything that was written but not synced,
// the way a power cut does. Every engine component therefore opens files only through a
// FileSystem* it was given.
//
// Errors are values: every operation returns a Status; NotFound when a path does not exist,
// IOError (with the path and strerror) otherwise.
#pragma once

#include <cerrno>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace organic {

// A file opened for appending.
//
// Threading contract: Append, Flush, Sync, Close and Size are called from ONE thread (the owner,
// e.g. the loop thread). SyncFlushed is the only method another thread may call, and it may
// run concurrently with the owner's Append/Flush (this is how appendfsync everysec works: the
// loop appends and flushes, a worker fsyncs once a second). Close (and destruction) must happen
// only after the syncing thread has stopped calling SyncFlushed on this file, because it
// releases the file descriptor that SyncFlushed uses.
class WritableFile {
 public:
  WritableFile() = default;
  WritableFile(const WritableFile&) = delete;
  WritableFile& operator=(const WritableFile&) = delete;
  // Closes the file if Close was not called (errors are then lost; call Close to see them).
  virtual ~WritableFile() = default;

  // Appends data. Implementations may keep it in a user-space buffer: it reaches the OS only at
  // the next Flush (or when the buffer fills). Cheap for many small appends.
  virtual Status Append(std::string_view data) = 0;
  // Hands every appended byte to the OS (write(2)). After Flush, the data survives a crash of
  // this process but not of the machine.
  virtual Status Flush() = 0;
  // Flush, then make the data durable (fdatasync). After Sync, the data survives a power cut.
  virtual Status Sync() = 0;
  // Makes durable what earlier Flush calls handed to the OS, without touching the user-space
  // buffer. The one method safe to call from a second thread (see the contract above).
  virtual Status SyncFlushed() = 0;
  // Flushes and closes. Further calls other than the destructor are invalid.
  virtual Status Close() = 0;
  // Closes without writing what is still buffered: for a file whose write failed, so that a
  // later close does not add the rest of a record after the part that landed (the WAL retries
  // its records elsewhere). Further calls other than the destructor are invalid. The default
  // suits files that buffer nothing of their own.
  virtual void Discard() { Close(); }
  // Bytes in the file including buffered, not yet flushed, appends (and, for files opened in
  // append mode, the bytes already there). Owner thread only.
  virtual uint64_t Size() const = 0;
};

// A file read from start to end.
class SequentialFile {
 public:
  SequentialFile() = default;
  SequentialFile(const SequentialFile&) = delete;
  SequentialFile& operator=(const SequentialFile&) = delete;
  virtual ~SequentialFile() = default;

  // Replaces *out with the next up to n bytes. Fewer than n bytes (possibly zero) means end of
  // file was reached; that is not an error.
  virtual Status Read(size_t n, std::string* out) = 0;
  // Skips n bytes. Skipping past end of file is not an error; later reads return nothing.
  virtual Status Skip(uint64_t n) = 0;
};

// A file read at arbitrary offsets. Read is const and safe to call from several threads at once.
class RandomAccessFile {
 public:
  RandomAccessFile() = default;
  RandomAccessFile(const RandomAccessFile&) = delete;
  RandomAccessFile& operator=(const RandomAccessFile&) = delete;
  virtual ~RandomAccessFile() = default;

  // Replaces *out with up to n bytes starting at offset; fewer bytes only at end of file.
  virtual Status Read(uint64_t offset, size_t n, std::string* out) const = 0;
};

// Paths are plain strings used as given (relative paths are relative to the process's working
// directory). Methods are safe to call from several threads at once.
class FileSystem {
 public:
  FileSystem() = default;
  FileSystem(const FileSystem&) = delete;
  FileSystem& operator=(const FileSystem&) = delete;
  virtual ~FileSystem() = default;

  // Opens path for writing, creating it if missing. append=false truncates an existing file;
  // append=true keeps its contents and appends after them. A newly created file's directory
  // entry is durable only after SyncDir on its directory.
  virtual Status NewWritableFile(const std::string& path, bool append,
                                 std::unique_ptr<WritableFile>* result) = 0;
  virtual Status NewSequentialFile(const std::string& path,
                                   std::unique_ptr<SequentialFile>* result) = 0;
  virtual Status NewRandomAccessFile(const std::string& path,
                                     std::unique_ptr<RandomAccessFile>* result) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  virtual Status GetFileSize(const std::string& path, uint64_t* size) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // Atomically replaces `to` (if it exists) with `from`; durable after SyncDir.
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // Cuts path to `size` bytes and fsyncs it: the new length is durable when this returns.
  // REQUIRES: size <= current size (extending is not a use case and is refused).
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  // Creates the directory (not its parents). Ok if it already exists as a directory.
  virtual Status CreateDirIfMissing(const std::string& dir) = 0;
  // Replaces *names with the entry names in dir (no "." or "..", no directory prefix),
  // in unspecified order.
  virtual Status GetChildren(const std::string& dir, std::vector<std::string>* names) = 0;
  // Makes creations, removals and renames of entries in dir durable (fsync on the directory).
  virtual Status SyncDir(const std::string& dir) = 0;
};

// The POSIX file system. A process-lifetime singleton without state (never deleted, safe to
// share between threads). Writable files buffer 64 KiB in user space; Sync uses fdatasync.
FileSystem* DefaultFileSystem();

// For crash tests: wraps another FileSystem and remembers, per file written through it, how many
// bytes were synced. DropUnsyncedData then plays the power cut.
//
// Model: a byte is durable once a Sync/SyncFlushed covering it returned. Files opened with
// append=true start with their existing bytes counted as durable. A file's creation is durable
// once SyncDir was called on its directory with the same directory string (the part of the path
// before the last '/', or "." when there is none): paths must be spelled consistently.
// Not modelled: loss of renames or removals that were not followed by SyncDir.
//
// Thread-safe like the FileSystem it wraps; its writable files keep the WritableFile threading
// contract (SyncFlushed from a second thread).
class FaultInjectionFileSystem : public FileSystem {
 public:
  // base must outlive this object and every file opened through it.
  explicit FaultInjectionFileSystem(FileSystem* base);
  ~FaultInjectionFileSystem() override;

  // The power cut: truncates every file written through this object to its last synced size,
  // and makes writable files that are still open fail every later call with IOError (so a
  // "dead" engine instance cannot write after the crash point; destroying them writes nothing).
  // Appends that were never flushed are discarded with them.
  Status DropUnsyncedData();
  // Removes files created through this object whose directory was not synced since creation
  // (the directory entry would not have survived the power cut). Call after DropUnsyncedData.
  Status RemoveFilesCreatedAfterLastDirSync();

  // Injected failures, for the fault tests (docs/reliability.md). A matching call fails with
  // IOError carrying errno `error` (ENOSPC, EIO ...), worded as the POSIX file system words it,
  // instead of reaching the base file system.
  enum class FaultOp {
    kOpenWritable,  // NewWritableFile
    kWrite,         // a writable file handing its appended bytes to the OS (Flush, Sync, Close)
    kSync,          // Sync / SyncFlushed, after their write part succeeded
    kSyncDir,       // SyncDir (path is the directory)
    kRename,        // RenameFile (path is the source)
    kRemove,        // RemoveFile
    kTruncate,      // Truncate
  };
  struct Fault {
    FaultOp op = FaultOp::kWrite;
    int error = EIO;
    std::string path_contains;   // only paths containing this; empty = every path
    int64_t count = -1;          // fails this many matching calls, then is spent; -1 = until cleared
    // kWrite only: this many bytes of the data being written still reach the file before the
    // failure (a short write, as a disk that fills up mid-write produces).
    size_t short_bytes = 0;
  };
  void InjectFault(const Fault& fault);
  // Removes every injected fault: the "disk" works again.
  void ClearFaults();
  // Calls that failed because of an injected fault, since construction.
  uint64_t faults_hit();

  Status NewWritableFile(const std::string& path, bool append,
                         std::unique_ptr<WritableFile>* result) override;
  Status NewSequentialFile(const std::string& path,
                           std::unique_ptr<SequentialFile>* result) override;
  Status NewRandomAccessFile(const std::string& path,
                             std::unique_ptr<RandomAccessFile>* result) override;
  bool FileExists(const std::string& path) override;
  Status GetFileSize(const std::string& path, uint64_t* size) override;
  Status RemoveFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status Truncate(const std::string& path, uint64_t size) override;
  Status CreateDirIfMissing(const std::string& dir) override;
  Status GetChildren(const std::string& dir, std::vector<std::string>* names) override;
  Status SyncDir(const std::string& dir) override;

 private:
  class File;

  struct FileState {
    uint64_t flushed_size = 0;  // bytes handed to the base file system
    uint64_t synced_size = 0;   // bytes made durable; <= flushed_size
  };

  FileSystem* const base_;
  std::mutex mu_;
  // Every file written through this object (and not removed), by path. Shared with the open
  // File writing it, so a rename while open keeps the two connected.  Guarded by mu_.
  std::map<std::string, std::shared_ptr<FileState>> files_;
  // Files created whose directory was not synced since.  Guarded by mu_.
  std::set<std::string> created_unsynced_dir_;
  // Incremented by DropUnsyncedData; an open File from an older epoch is dead.  Guarded by mu_.
  uint64_t epoch_ = 0;
  std::vector<Fault> faults_;  // guarded by mu_
  uint64_t faults_hit_ = 0;    // guarded by mu_
  // Whether a fault matches (op, path); if so *hit is a copy of the first one and its count is
  // consumed. REQUIRES: mu_ held.
  bool TakeFaultLocked(FaultOp op, const std::string& path, Fault* hit);
  static Status FaultStatus(const std::string& path, const Fault& fault);
};

}  // namespace organic
