// Write-ahead log: framing of opaque records into a generation file wal-N.log.
//
// Byte layout (full description, invariants and recovery rules: docs/wal-format.md):
//
//   file   := record*
//   record := length:u32-le  checksum:u32-le  payload:byte[length]
//   checksum = Crc32cMask(Crc32c(length's 4 bytes + payload))
//
// There is no file header and no padding: a new file is empty and every byte belongs to a
// record, so the file size is exactly the sum of (8 + length) over its records.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/file.h"
#include "util/status.h"

namespace organic {

// Bytes before each payload: length and masked checksum.
inline constexpr size_t kWalHeaderSize = 8;
// Largest payload the writer accepts; a header declaring more is "impossible" for the reader.
// 2 GiB leaves room for Redis's largest values (proto-max-bulk-len 512 MiB by default) while a
// flipped high bit in a length field is still recognised as damage.
inline constexpr uint32_t kWalMaxPayloadSize = 1u << 31;

// "wal-7.log" for generation 7 (decimal, no padding).
std::string WalFileName(uint64_t generation);
// Inverse of WalFileName: true and *generation set iff name is exactly "wal-<N>.log" with N a
// decimal number without sign or leading zeros (so WalFileName(*generation) == name) that fits
// in 64 bits. name is a bare file name, not a path.
bool ParseWalFileName(std::string_view name, uint64_t* generation);

// Appends one framed record (header + payload) for payload to *out. REQUIRES:
// payload.size() <= kWalMaxPayloadSize.
void EncodeWalRecord(std::string_view payload, std::string* out);

// Appends records to one WAL generation file.
//
// Threading: not thread-safe; one owner thread calls everything here. For appendfsync everysec,
// another thread may call file()->SyncFlushed() concurrently (see WritableFile), which makes
// durable every record whose bytes a Flush() already handed to the OS.
//
// Errors are sticky: once an append, flush or sync failed, the file may end in a partial record
// and every later call returns the first error. The caller must stop using this generation
// (a reader will classify such a partial record at the end as a torn tail).
class WalWriter {
 public:
  // Writes records after the current end of `file` (so a file opened in append mode continues
  // an existing generation). Takes ownership. REQUIRES: file is non-null and, if not empty,
  // ends at a record boundary (e.g. recovery truncated any torn tail before reopening).
  explicit WalWriter(std::unique_ptr<WritableFile> file);
  WalWriter(const WalWriter&) = delete;
  WalWriter& operator=(const WalWriter&) = delete;
  // Destroying the writer closes the file (flushing, not syncing). REQUIRES: no other thread is
  // still calling file()->SyncFlushed().
  ~WalWriter();

  // Appends one record holding payload (may be empty). Goes to the file's user-space buffer: no
  // system call per record, nothing reaches the OS before Flush (or a full buffer).
  // InvalidArgument (not sticky) if payload.size() > kWalMaxPayloadSize.
  Status AddRecord(std::string_view payload);
  // Appends records already framed by EncodeWalRecord (one or more, whole), the same way.
  Status AddEncodedRecords(std::string_view records);
  // Hands every added record to the OS: survives a crash of this process.
  Status Flush();
  // Flush, then fdatasync: every added record survives a power cut.
  Status Sync();
  // Flushes and closes the file. REQUIRES: no other thread is calling file()->SyncFlushed().
  Status Close();

  // Bytes in the generation file, including records added but not yet flushed. This is the
  // offset at which the next record will start.
  uint64_t size() const { return file_->Size(); }
  // The underlying file, owned by this writer; for SyncFlushed from the fsync thread.
  WritableFile* file() { return file_.get(); }

 private:
  const std::unique_ptr<WritableFile> file_;
  Status error_;  // first failure; ok while the writer is healthy
};

}  // namespace organic
