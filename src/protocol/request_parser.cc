#include "protocol/request_parser.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include "util/strings.h"

namespace organic::protocol {

namespace {

// Redis's texts (networking.c, 7.0), without the "ERR " the reply writer adds.
constexpr char kTooBigInline[] = "Protocol error: too big inline request";
constexpr char kUnbalancedQuotes[] = "Protocol error: unbalanced quotes in request";
constexpr char kTooBigMbulkCount[] = "Protocol error: too big mbulk count string";
constexpr char kTooBigBulkCount[] = "Protocol error: too big bulk count string";
constexpr char kInvalidMbulkLen[] = "Protocol error: invalid multibulk length";
constexpr char kUnauthMbulkLen[] = "Protocol error: unauthenticated multibulk length";
constexpr char kInvalidBulkLen[] = "Protocol error: invalid bulk length";
constexpr char kUnauthBulkLen[] = "Protocol error: unauthenticated bulk length";

// Redis 7.0 caps the multibulk count at INT_MAX (argv grows as bulks arrive, so a big count
// costs nothing until the bulks come).
constexpr int64_t kMaxMultibulkLen = INT_MAX;
// authRequired() limits in processMultibulkBuffer.
constexpr int64_t kUnauthMaxMultibulkLen = 10;
constexpr int64_t kUnauthMaxBulkLen = 16384;

// After a command, an argument string whose capacity exceeds kMaxRetainedCapacity, or that
// would take the command's retained total past kMaxRetainedTotal, is freed, and the argument
// vector is cut back to kMaxRetainedArgs slots: one huge command must not pin its memory for
// the life of the connection. Below that, capacity is kept so steady traffic never allocates.
constexpr size_t kMaxRetainedCapacity = 64 * 1024;
constexpr size_t kMaxRetainedTotal = 256 * 1024;
constexpr size_t kMaxRetainedArgs = 1024;
// Argument slots made ready when a multibulk count arrives (Redis: argv_len = min(count, 1024)).
constexpr uint64_t kMaxPreallocatedArgs = 1024;

// Redis's string2ll (util/strings.h): optional '-', no '+', no leading zero (except "0"
// itself), no blanks, must fit in int64_t.
bool ParseLongLong(const char* s, size_t len, int64_t* value) {
  return ParseInt64(std::string_view(s, len), value);
}

// isspace() in the C locale, which sdssplitargs uses to skip blanks and after closing quotes.
inline bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

inline bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

inline int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Ends an unquoted run of plain bytes inside a word.
inline bool IsWordSpecial(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\0' || c == '"' || c == '\'';
}

// sdssplitargs over line[0, len). new_arg() returns an empty string for the next word; the
// pointer is only used until the following new_arg() call. Bytes past len read as NUL, which
// is how the C original sees the end of its string (so an embedded NUL ends the line too).
template <typename NewArg>
bool SplitArgs(const char* line, size_t len, NewArg&& new_arg) {
  auto at = [line, len](size_t i) -> char { return i < len ? line[i] : '\0'; };
  size_t i = 0;
  for (;;) {
    while (i < len && IsBlank(line[i])) ++i;
    if (at(i) == '\0') return true;
    std::string* word = new_arg();
    bool in_double = false;
    bool in_single = false;
    bool done = false;
    while (!done) {
      const char c = at(i);
      if (in_double) {
        if (c == '\\' && at(i + 1) == 'x' && IsHexDigit(at(i + 2)) && IsHexDigit(at(i + 3))) {
          word->push_back(static_cast<char>(HexValue(at(i + 2)) * 16 + HexValue(at(i + 3))));
          i += 3;
        } else if (c == '\\' && at(i + 1) != '\0') {
          ++i;
          char e = at(i);
          switch (e) {
            case 'n':
              e = '\n';
              break;
            case 'r':
              e = '\r';
              break;
            case 't':
              e = '\t';
              break;
            case 'b':
              e = '\b';
              break;
            case 'a':
              e = '\a';
              break;
            default:
              break;
          }
          word->push_back(e);
        } else if (c == '"') {
          // A closing quote must be followed by a blank or the end of the line.
          if (at(i + 1) != '\0' && !IsBlank(at(i + 1))) return false;
          done = true;
        } else if (c == '\0') {
          return false;  // unterminated quotes
        } else {
          word->push_back(c);
        }
      } else if (in_single) {
        if (c == '\\' && at(i + 1) == '\'') {
          ++i;
          word->push_back('\'');
        } else if (c == '\'') {
          if (at(i + 1) != '\0' && !IsBlank(at(i + 1))) return false;
          done = true;
        } else if (c == '\0') {
          return false;
        } else {
          word->push_back(c);
        }
      } else {
        switch (c) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case '\0':
            done = true;
            break;
          case '"':
            in_double = true;
            break;
          case '\'':
            in_single = true;
            break;
          default: {
            // Append the whole run of plain bytes at once; i stops on its last byte so the
            // step below moves past it.
            size_t end = i + 1;
            while (end < len && !IsWordSpecial(line[end])) ++end;
            word->append(line + i, end - i);
            i = end - 1;
            break;
          }
        }
      }
      if (at(i) != '\0') ++i;
    }
  }
}

}  // namespace

bool SplitInlineArgs(const char* line, size_t len, std::vector<std::string>* out) {
  out->clear();
  bool ok = SplitArgs(line, len, [out]() {
    out->emplace_back();
    return &out->back();
  });
  if (!ok) out->clear();
  return ok;
}

RequestParser::RequestParser(ParserLimits limits) : limits_(limits) {}

void RequestParser::Reset() {
  ReleaseOversized(args_.size());
  argc_ = 0;
  state_ = State::kIdle;
  command_ready_ = false;
  line_len_ = 0;
  inline_line_.clear();
  if (inline_line_.capacity() > kMaxRetainedCapacity) std::string().swap(inline_line_);
  header_digits_len_ = 0;
  multibulk_remaining_ = 0;
  bulk_remaining_ = 0;
  trailer_remaining_ = 0;
  payload_bytes_ = 0;
  error_.clear();
}

void RequestParser::ReleaseOversized(size_t slots) {
  // Every command that uses slot j scans slots [0, j], so what stays retained over all slots
  // is bounded by about kMaxRetainedTotal + kMaxRetainedCapacity.
  size_t retained = 0;
  for (size_t i = 0; i < slots && i < args_.size(); ++i) {
    const size_t capacity = args_[i].capacity();
    if (capacity > kMaxRetainedCapacity || retained + capacity > kMaxRetainedTotal) {
      std::string().swap(args_[i]);
    } else {
      retained += capacity;
    }
  }
  if (args_.size() > kMaxRetainedArgs) {
    args_.resize(kMaxRetainedArgs);
    args_.shrink_to_fit();
  }
}

void RequestParser::BeginCommand() {
  ReleaseOversized(argc_);
  argc_ = 0;
  command_ready_ = false;
}

std::string& RequestParser::ArgSlot(size_t i) {
  if (i >= args_.size()) args_.resize(i + 1);
  return args_[i];
}

void RequestParser::StartHeaderLine(LineKind kind) {
  state_ = State::kHeaderLine;
  line_kind_ = kind;
  line_len_ = 0;
  header_digits_len_ = 0;
}

RequestParser::Result RequestParser::Fail(const char* message, size_t pos, size_t* consumed) {
  error_ = message;
  state_ = State::kError;
  *consumed = pos;
  return Result::kError;
}

RequestParser::Result RequestParser::FailTooBig(size_t pos, size_t* consumed) {
  switch (line_kind_) {
    case LineKind::kInline:
      return Fail(kTooBigInline, pos, consumed);
    case LineKind::kMultibulkCount:
      return Fail(kTooBigMbulkCount, pos, consumed);
    case LineKind::kBulkCount:
      break;
  }
  return Fail(kTooBigBulkCount, pos, consumed);
}

bool RequestParser::SplitInlineIntoArgs(const char* line, size_t len) {
  return SplitArgs(line, len, [this]() {
    std::string& slot = ArgSlot(argc_++);
    slot.clear();
    return &slot;
  });
}

bool RequestParser::FinishHeader() {
  // The digits are valid only if the line was short enough to keep them all.
  const bool kept_all = line_len_ <= kMaxHeaderDigits;
  const size_t digits_len = line_len_ == 0 ? 0 : line_len_ - 1;
  int64_t value = 0;
  if (line_kind_ == LineKind::kMultibulkCount) {
    bool ok = kept_all && ParseLongLong(header_digits_, digits_len, &value);
    if (!ok || value > kMaxMultibulkLen) {
      error_ = kInvalidMbulkLen;
      return false;
    }
    if (value > kUnauthMaxMultibulkLen && !authenticated_) {
      error_ = kUnauthMbulkLen;
      return false;
    }
    line_len_ = 0;
    if (value <= 0) {  // "*0", "*-1": nothing to run, as in Redis
      state_ = State::kIdle;
      return true;
    }
    multibulk_remaining_ = static_cast<uint64_t>(value);
    size_t ready = static_cast<size_t>(std::min(multibulk_remaining_, kMaxPreallocatedArgs));
    if (args_.size() < ready) args_.resize(ready);
    StartHeaderLine(LineKind::kBulkCount);
    return true;
  }

  // A bulk length line. An empty line's "first byte" is its '\r', as Redis reads it.
  char first = line_len_ == 0 ? '\r' : header_first_;
  if (first != '$') {
    // addReplyErrorFormat turns CR and LF into spaces (an error must stay on one line).
    if (first == '\r' || first == '\n') first = ' ';
    error_ = "Protocol error: expected '$', got '";
    error_.push_back(first);
    error_.push_back('\'');
    return false;
  }
  bool ok = kept_all && ParseLongLong(header_digits_, digits_len, &value);
  if (!ok || value < 0 || static_cast<uint64_t>(value) > limits_.max_bulk_len) {
    error_ = kInvalidBulkLen;
    return false;
  }
  if (value > kUnauthMaxBulkLen && !authenticated_) {
    error_ = kUnauthBulkLen;
    return false;
  }
  line_len_ = 0;
  std::string& slot = ArgSlot(argc_);
  slot.clear();
  // Reserve the whole payload now so it is copied exactly once however it is split (Redis
  // likewise makes room for a big argument as soon as it knows its length).
  slot.reserve(static_cast<size_t>(value));
  bulk_remaining_ = static_cast<uint64_t>(value);
  if (bulk_remaining_ == 0) {
    state_ = State::kBulkTrailer;
    trailer_remaining_ = 2;
  } else {
    state_ = State::kBulkData;
  }
  return true;
}

bool RequestParser::FinishBulk() {
  ++argc_;
  if (--multibulk_remaining_ > 0) {
    StartHeaderLine(LineKind::kBulkCount);
    return false;
  }
  state_ = State::kIdle;
  command_ready_ = true;
  payload_bytes_ = 0;  // nothing is pending any more
  return true;
}

RequestParser::Result RequestParser::Parse(const char* data, size_t len, size_t* consumed) {
  if (state_ == State::kError) {
    *consumed = 0;
    return Result::kError;
  }
  if (command_ready_) BeginCommand();
  const size_t max_line = limits_.max_inline_len;
  size_t pos = 0;
  while (pos < len) {
    switch (state_) {
      case State::kIdle:
        // Every request starts here with no arguments held.
        if (data[pos] == '*') {
          StartHeaderLine(LineKind::kMultibulkCount);
        } else {
          state_ = State::kInlineLine;
          line_kind_ = LineKind::kInline;
          line_len_ = 0;
        }
        break;

      case State::kInlineLine: {
        const char* start = data + pos;
        const size_t avail = len - pos;
        const char* newline = static_cast<const char*>(std::memchr(start, '\n', avail));
        const size_t seg = newline != nullptr ? static_cast<size_t>(newline - start) : avail;
        // A NUL hides everything after it from Redis's strchr: the line can never end.
        const char* nul = static_cast<const char*>(std::memchr(start, '\0', seg));
        const size_t scanned = nul != nullptr ? static_cast<size_t>(nul - start) : seg;
        if (line_len_ + scanned > max_line) return FailTooBig(pos, consumed);
        if (nul != nullptr) {
          line_len_ += scanned;
          pos += scanned;
          inline_line_.clear();
          state_ = State::kUnterminated;
          break;
        }
        if (newline == nullptr) {
          inline_line_.append(start, seg);
          line_len_ += seg;
          pos = len;
          break;
        }
        // The whole line is known. Split it in place when it arrived in this call.
        const char* line = start;
        size_t line_len = seg;
        if (!inline_line_.empty()) {
          inline_line_.append(start, seg);
          line = inline_line_.data();
          line_len = inline_line_.size();
        }
        pos += seg + 1;
        if (line_len > 0 && line[line_len - 1] == '\r') --line_len;
        const bool ok = SplitInlineIntoArgs(line, line_len);
        inline_line_.clear();
        if (inline_line_.capacity() > kMaxRetainedCapacity) std::string().swap(inline_line_);
        line_len_ = 0;
        if (!ok) return Fail(kUnbalancedQuotes, pos, consumed);
        state_ = State::kIdle;
        if (argc_ == 0) break;  // a blank line: skipped, as in Redis
        command_ready_ = true;
        *consumed = pos;
        return Result::kComplete;
      }

      case State::kHeaderLine: {
        // Fast path: the whole line and the byte after its '\r' are in this call.
        if (line_len_ == 0) {
          const size_t limit = std::min(len, pos + kMaxHeaderDigits + 1);
          size_t cr = pos;
          while (cr < limit && data[cr] != '\r' && data[cr] != '\0') ++cr;
          if (cr < limit && data[cr] == '\r' && cr + 1 < len && cr - pos <= max_line) {
            line_len_ = cr - pos;
            if (line_len_ > 0) {
              header_first_ = data[pos];
              header_digits_len_ = line_len_ - 1;
              std::memcpy(header_digits_, data + pos + 1, header_digits_len_);
            }
            pos = cr + 2;  // the byte after '\r' is skipped unchecked, as below
            if (!FinishHeader()) {
              state_ = State::kError;
              *consumed = pos;
              return Result::kError;
            }
            break;
          }
        }
        // Header lines are a few bytes long; a byte loop beats memchr setup here.
        while (pos < len) {
          const char c = data[pos];
          if (c == '\r') {
            ++pos;
            state_ = State::kHeaderLineEnd;
            break;
          }
          if (c == '\0') {
            state_ = State::kUnterminated;
            break;
          }
          if (line_len_ == 0) {
            header_first_ = c;
          } else if (header_digits_len_ < kMaxHeaderDigits) {
            header_digits_[header_digits_len_++] = c;
          }
          if (++line_len_ > max_line) return FailTooBig(pos, consumed);
          ++pos;
        }
        break;
      }

      case State::kHeaderLineEnd:
        ++pos;  // Redis skips the byte after '\r' without looking at it
        if (!FinishHeader()) {
          state_ = State::kError;
          *consumed = pos;
          return Result::kError;
        }
        break;

      case State::kUnterminated: {
        // Everything that follows is held by Redis behind the NUL; count it until the limit.
        const size_t avail = len - pos;
        if (line_len_ + avail > max_line) return FailTooBig(pos, consumed);
        line_len_ += avail;
        pos = len;
        break;
      }

      case State::kBulkData: {
        // Fast path: the rest of the payload and its two trailing bytes are all here.
        if (bulk_remaining_ + 2 <= len - pos) {
          const size_t n = static_cast<size_t>(bulk_remaining_);
          args_[argc_].append(data + pos, n);
          pos += n + 2;
          payload_bytes_ += n;
          bulk_remaining_ = 0;
          if (FinishBulk()) {
            *consumed = pos;
            return Result::kComplete;
          }
          break;
        }
        const size_t n = static_cast<size_t>(
            std::min<uint64_t>(bulk_remaining_, static_cast<uint64_t>(len - pos)));
        args_[argc_].append(data + pos, n);
        pos += n;
        payload_bytes_ += n;
        bulk_remaining_ -= n;
        if (bulk_remaining_ == 0) {
          state_ = State::kBulkTrailer;
          trailer_remaining_ = 2;
        }
        break;
      }

      case State::kBulkTrailer: {
        // Redis skips the two bytes after a payload without checking they are CRLF.
        const size_t n = std::min<size_t>(trailer_remaining_, len - pos);
        pos += n;
        trailer_remaining_ = static_cast<uint8_t>(trailer_remaining_ - n);
        if (trailer_remaining_ > 0) break;
        if (FinishBulk()) {
          *consumed = pos;
          return Result::kComplete;
        }
        break;
      }

      case State::kError:
        *consumed = pos;
        return Result::kError;
    }
  }
  *consumed = len;
  return Result::kNeedMore;
}

}  // namespace organic::protocol
