// Reads the records of one WAL generation file and classifies how it ends.
//
// Record framing: see engine/wal_writer.h and docs/wal-format.md.
//
// How the reader classifies a record it cannot return (docs/wal-format.md, "Recovery"):
//
//   kTornTail   the writer died in the middle of an append; nothing after it was acknowledged
//               as durable, so recovery truncates the file at last_record_end() with a warning:
//                 - fewer than 8 bytes left for a header;
//                 - a header whose payload extends past the end of the file, unless a record
//                   with a valid checksum starts within the next 64 KiB (then the length is
//                   damaged: kCorruption, as nothing can follow a torn append);
//                 - a checksum mismatch, or an impossible length (> kWalMaxPayloadSize), in a
//                   record after which the file has no other bytes, or only zero bytes
//                   (this includes an all-zero header starting a zero-filled tail, as left by
//                   file systems that extend the size before the data reaches the disk).
//   kCorruption a checksum mismatch or impossible length followed by at least one non-zero
//               byte, or a length running past the end of the file followed by a valid record:
//               data after the damage may hold acknowledged records, so recovery must refuse
//               to start and name the file and error_offset().
//   kIOError    the file could not be read (or was shorter than file_size); not a statement
//               about the contents.
//
// After kTornTail, kCorruption or kIOError the reader is finished: every later ReadRecord call
// returns the same result. After kEof, later calls return kEof.
//
// Memory: reads in chunks of 256 KiB; holds at most one record's payload plus one chunk.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "util/file.h"

namespace organic {

class WalReader {
 public:
  enum class ReadResult { kRecord, kEof, kTornTail, kCorruption, kIOError };

  // Reads `file` from its current position (the start of a generation) up to file_size bytes,
  // normally the size GetFileSize reported. Takes ownership of file.
  WalReader(std::unique_ptr<SequentialFile> file, uint64_t file_size);
  WalReader(const WalReader&) = delete;
  WalReader& operator=(const WalReader&) = delete;
  ~WalReader();

  // kRecord: *payload holds the next record's payload. Any other result: *payload is
  // unspecified and error_offset()/error_detail() describe the problem (except for kEof).
  ReadResult ReadRecord(std::string* payload);

  // Offset just past the last record returned (0 before the first): where recovery or
  // organic-check-wal --fix truncates a damaged file.
  uint64_t last_record_end() const { return last_record_end_; }
  // Offset of the first byte of the record that could not be read (== last_record_end() for
  // torn tails and corruption). Meaningful after kTornTail, kCorruption and kIOError.
  uint64_t error_offset() const { return error_offset_; }
  // Human-readable cause, e.g. "checksum mismatch (length 12)". Empty while no error occurred.
  const std::string& error_detail() const { return error_detail_; }

 private:
  ReadResult Fail(ReadResult result, std::string detail);
  // Copies the next n bytes into *dest (appending). REQUIRES: offset_ + n <= file_size_.
  bool ReadBytes(size_t n, std::string* dest);
  // Whether every byte from offset_ to file_size_ is zero (consumes them). On a read error
  // returns false with io_error_ set.
  bool RestIsZero();
  // Looks for a record with a matching checksum starting after `start` (the header just read,
  // passed in `header`) and ending within 64 KiB of it; consumes the bytes it examines.
  // True and *found_at set if one exists. On a read error returns false with io_error_ set.
  bool FindRecordAfter(uint64_t start, const std::string& header, uint64_t* found_at);
  bool Refill();

  const std::unique_ptr<SequentialFile> file_;
  const uint64_t file_size_;
  uint64_t offset_ = 0;            // file offset of buffer_[buffer_pos_], the next byte to parse
  std::string buffer_;             // bytes read from the file, not all consumed yet
  size_t buffer_pos_ = 0;
  uint64_t last_record_end_ = 0;
  uint64_t error_offset_ = 0;
  std::string error_detail_;
  std::string io_error_;           // set when a read failed or returned too few bytes
  ReadResult final_result_ = ReadResult::kRecord;  // kRecord while records may follow
};

}  // namespace organic
