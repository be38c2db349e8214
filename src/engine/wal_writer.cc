#include "engine/wal_writer.h"

#include <limits>

#include "util/crc32c.h"

namespace organic {

namespace {

void PutFixed32(char* dst, uint32_t v) {
  dst[0] = static_cast<char>(v & 0xff);
  dst[1] = static_cast<char>((v >> 8) & 0xff);
  dst[2] = static_cast<char>((v >> 16) & 0xff);
  dst[3] = static_cast<char>((v >> 24) & 0xff);
}

constexpr std::string_view kWalPrefix = "wal-";
constexpr std::string_view kWalSuffix = ".log";

}  // namespace

std::string WalFileName(uint64_t generation) {
  return std::string(kWalPrefix) + std::to_string(generation) + std::string(kWalSuffix);
}

bool ParseWalFileName(std::string_view name, uint64_t* generation) {
  if (name.size() <= kWalPrefix.size() + kWalSuffix.size()) return false;
  if (!name.starts_with(kWalPrefix) || !name.ends_with(kWalSuffix)) return false;
  std::string_view digits =
      name.substr(kWalPrefix.size(), name.size() - kWalPrefix.size() - kWalSuffix.size());
  if (digits.size() > 1 && digits[0] == '0') return false;  // not canonical
  uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;  // overflow
    value = value * 10 + d;
  }
  *generation = value;
  return true;
}

void EncodeWalRecord(std::string_view payload, std::string* out) {
  char header[kWalHeaderSize];
  PutFixed32(header, static_cast<uint32_t>(payload.size()));
  // The checksum covers the length too: a damaged length must not pass as a shorter record.
  uint32_t crc = Crc32c(header, 4);
  crc = Crc32cExtend(crc, payload.data(), payload.size());
  PutFixed32(header + 4, Crc32cMask(crc));
  out->append(header, kWalHeaderSize);
  out->append(payload);
}

WalWriter::WalWriter(std::unique_ptr<WritableFile> file) : file_(std::move(file)) {}

WalWriter::~WalWriter() = default;  // the file's destructor closes it

Status WalWriter::AddRecord(std::string_view payload) {
  if (!error_.ok()) return error_;
  if (payload.size() > kWalMaxPayloadSize) {
    return Status::InvalidArgument("WAL record payload of " + std::to_string(payload.size()) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(kWalMaxPayloadSize));
  }
  char header[kWalHeaderSize];
  PutFixed32(header, static_cast<uint32_t>(payload.size()));
  // The checksum covers the length too: a damaged length must not pass as a shorter record.
  uint32_t crc = Crc32c(header, 4);
  crc = Crc32cExtend(crc, payload.data(), payload.size());
  PutFixed32(header + 4, Crc32cMask(crc));

  Status status = file_->Append(std::string_view(header, kWalHeaderSize));
  if (status.ok() && !payload.empty()) status = file_->Append(payload);
  if (!status.ok()) error_ = status;
  return status;
}

Status WalWriter::AddEncodedRecords(std::string_view records) {
  if (!error_.ok()) return error_;
  Status status = file_->Append(records);
  if (!status.ok()) error_ = status;
  return status;
}

Status WalWriter::Flush() {
  if (!error_.ok()) return error_;
  Status status = file_->Flush();
  if (!status.ok()) error_ = status;
  return status;
}

Status WalWriter::Sync() {
  if (!error_.ok()) return error_;
  Status status = file_->Sync();
  if (!status.ok()) error_ = status;
  return status;
}

Status WalWriter::Close() {
  Status status = file_->Close();
  if (!error_.ok()) return error_;
  if (!status.ok()) error_ = status;
  return status;
}

}  // namespace organic
