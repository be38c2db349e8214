#include "engine/wal_reader.h"

#include <algorithm>

#include "engine/wal_writer.h"
#include "util/crc32c.h"

namespace organic {

namespace {

constexpr size_t kReadChunkSize = 256 * 1024;
// How far past a header that runs off the end of the file we look for a valid record that
// would prove the header damaged rather than torn (see FindRecordAfter).
constexpr size_t kResyncWindow = 64 * 1024;

uint32_t GetFixed32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{u[0]} | uint32_t{u[1]} << 8 | uint32_t{u[2]} << 16 | uint32_t{u[3]} << 24;
}

}  // namespace

WalReader::WalReader(std::unique_ptr<SequentialFile> file, uint64_t file_size)
    : file_(std::move(file)), file_size_(file_size) {}

WalReader::~WalReader() = default;

WalReader::ReadResult WalReader::Fail(ReadResult result, std::string detail) {
  if (!io_error_.empty()) {
    result = ReadResult::kIOError;
    detail = io_error_;
  }
  final_result_ = result;
  error_offset_ = last_record_end_;
  error_detail_ = std::move(detail);
  return result;
}

bool WalReader::Refill() {
  buffer_.erase(0, buffer_pos_);
  buffer_pos_ = 0;
  uint64_t file_pos = offset_ + buffer_.size();
  size_t want = static_cast<size_t>(std::min<uint64_t>(kReadChunkSize, file_size_ - file_pos));
  if (want == 0) return true;
  std::string chunk;
  Status status = file_->Read(want, &chunk);
  if (!status.ok()) {
    io_error_ = "read error: " + status.ToString();
    return false;
  }
  if (chunk.size() < want) {
    io_error_ = "unexpected end of file at offset " + std::to_string(file_pos + chunk.size()) +
                ", expected " + std::to_string(file_size_) + " bytes (file shrank while read?)";
    return false;
  }
  buffer_.append(chunk);
  return true;
}

bool WalReader::ReadBytes(size_t n, std::string* dest) {
  while (n > 0) {
    if (buffer_pos_ == buffer_.size() && !Refill()) return false;
    size_t take = std::min(n, buffer_.size() - buffer_pos_);
    dest->append(buffer_, buffer_pos_, take);
    buffer_pos_ += take;
    offset_ += take;
    n -= take;
  }
  return true;
}

bool WalReader::RestIsZero() {
  while (offset_ < file_size_) {
    if (buffer_pos_ == buffer_.size() && !Refill()) return false;
    const char* begin = buffer_.data() + buffer_pos_;
    const char* end = buffer_.data() + buffer_.size();
    if (std::find_if(begin, end, [](char c) { return c != 0; }) != end) return false;
    offset_ += static_cast<uint64_t>(end - begin);
    buffer_pos_ = buffer_.size();
  }
  return true;
}

bool WalReader::FindRecordAfter(uint64_t start, const std::string& header, uint64_t* found_at) {
  std::string window = header;
  size_t more = static_cast<size_t>(
      std::min<uint64_t>(kResyncWindow - kWalHeaderSize, file_size_ - offset_));
  if (!ReadBytes(more, &window)) return false;
  // Candidates must lie entirely inside the window: bounds the work to O(window^2) CRC bytes
  // in the worst case (~2 GiB, a fraction of a second with the crc32 instruction); typical
  // contents make nearly every candidate length too large to check.
  for (size_t q = 1; q + kWalHeaderSize <= window.size(); ++q) {
    const uint64_t length = GetFixed32(window.data() + q);
    if (length > window.size() - q - kWalHeaderSize) continue;
    uint32_t crc = Crc32c(window.data() + q, 4);
    crc = Crc32cExtend(crc, window.data() + q + kWalHeaderSize, length);
    if (crc == Crc32cUnmask(GetFixed32(window.data() + q + 4))) {
      *found_at = start + q;
      return true;
    }
  }
  return false;
}

WalReader::ReadResult WalReader::ReadRecord(std::string* payload) {
  if (final_result_ != ReadResult::kRecord) return final_result_;
  payload->clear();
  const uint64_t start = offset_;
  const uint64_t remaining = file_size_ - start;
  if (remaining == 0) {
    final_result_ = ReadResult::kEof;
    return final_result_;
  }
  if (remaining < kWalHeaderSize) {
    return Fail(ReadResult::kTornTail, "partial header: " + std::to_string(remaining) +
                                           " of " + std::to_string(kWalHeaderSize) + " bytes");
  }
  std::string header;
  if (!ReadBytes(kWalHeaderSize, &header)) return Fail(ReadResult::kIOError, "");
  const uint32_t length = GetFixed32(header.data());
  const uint32_t stored_crc = Crc32cUnmask(GetFixed32(header.data() + 4));

  if (length > kWalMaxPayloadSize) {
    std::string what = "impossible length " + std::to_string(length);
    // Nothing (or only zeros) after the header: the header itself is the torn write.
    if (RestIsZero()) return Fail(ReadResult::kTornTail, what + " in the last header");
    return Fail(ReadResult::kCorruption, what);
  }
  if (length > remaining - kWalHeaderSize) {
    std::string what = "length " + std::to_string(length) +
                       " extends past end of file (record needs " +
                       std::to_string(kWalHeaderSize + uint64_t{length}) + " bytes, " +
                       std::to_string(remaining) + " remain)";
    // The writer appends sequentially, so nothing valid can follow a torn record. A valid record
    // after this header means the length itself is damaged (bit flip, garbage sector).
    uint64_t found_at = 0;
    if (FindRecordAfter(start, header, &found_at)) {
      return Fail(ReadResult::kCorruption,
                  what + ", but a valid record follows at offset " + std::to_string(found_at));
    }
    return Fail(ReadResult::kTornTail, what);
  }
  payload->reserve(length);
  if (!ReadBytes(length, payload)) return Fail(ReadResult::kIOError, "");

  uint32_t actual_crc = Crc32c(header.data(), 4);
  actual_crc = Crc32cExtend(actual_crc, payload->data(), payload->size());
  if (actual_crc != stored_crc) {
    bool zero_header = length == 0 && GetFixed32(header.data() + 4) == 0;
    if (RestIsZero()) {
      return Fail(ReadResult::kTornTail,
                  zero_header ? "zero-filled tail of " + std::to_string(remaining) + " bytes"
                              : "checksum mismatch in the last record (length " +
                                    std::to_string(length) + ")");
    }
    return Fail(ReadResult::kCorruption,
                (zero_header ? std::string("zero-filled header")
                             : "checksum mismatch (length " + std::to_string(length) + ")") +
                    " followed by non-zero bytes");
  }
  last_record_end_ = offset_;
  return ReadResult::kRecord;
}

}  // namespace organic
