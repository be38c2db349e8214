// Status: the engine's error value. Errors are values inside the engine; exceptions never
// cross the event loop. A Status is cheap to copy when ok (no allocation).
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace organic {

class Status {
 public:
  enum class Code { kOk, kNotFound, kCorruption, kIOError, kInvalidArgument, kNotSupported };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, msg); }
  static Status IOError(std::string_view msg) { return Status(Code::kIOError, msg); }
  // An I/O error caused by a system call that failed with errno `sys_errno` (ENOSPC, EIO ...):
  // kept so that replies can name the cause as Redis does (MISCONF ... strerror).
  static Status IOError(std::string_view msg, int sys_errno) {
    Status st(Code::kIOError, msg);
    st.sys_errno_ = sys_errno;
    return st;
  }
  static Status InvalidArgument(std::string_view msg) {
    return Status(Code::kInvalidArgument, msg);
  }
  static Status NotSupported(std::string_view msg) { return Status(Code::kNotSupported, msg); }

  bool ok() const { return code_ == Code::kOk; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsIOError() const { return code_ == Code::kIOError; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The errno behind an IOError from a system call; 0 when there is none.
  int sys_errno() const { return sys_errno_; }

  // "Corruption: wal-3.log at offset 120: bad checksum"
  std::string ToString() const;

 private:
  Status(Code code, std::string_view msg) : code_(code), message_(msg) {}

  Code code_ = Code::kOk;
  int sys_errno_ = 0;
  std::string message_;
};

inline std::string Status::ToString() const {
  switch (code_) {
    case Code::kOk: return "OK";
    case Code::kNotFound: return "NotFound: " + message_;
    case Code::kCorruption: return "Corruption: " + message_;
    case Code::kIOError: return "IO error: " + message_;
    case Code::kInvalidArgument: return "Invalid argument: " + message_;
    case Code::kNotSupported: return "Not supported: " + message_;
  }
  return message_;
}

// The one early-return macro we allow (style.md).
#define RETURN_IF_ERROR(expr)             \
  do {                                    \
    ::organic::Status _st = (expr);       \
    if (!_st.ok()) return _st;            \
  } while (0)

}  // namespace organic
