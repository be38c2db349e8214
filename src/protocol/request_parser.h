// RequestParser: turns the bytes a client sends into commands (argument vectors), as Redis 7.0's
// processInputBuffer / processMultibulkBuffer / processInlineBuffer do, but as a pure state
// machine: bytes in, {complete, need more, protocol error} and an argument list out. It performs
// no I/O and knows nothing of commands or connections.
//
// Two request forms, chosen by the first byte of each request (as Redis does):
//   multibulk  "*<count>\r\n" then <count> times "$<len>\r\n<len bytes>\r\n"   (first byte '*')
//   inline     "<words separated by blanks>\n", an optional '\r' before '\n'   (anything else)
//
// Behaviour copied from Redis 7.0 on purpose (checked against redis-server 7.0.15):
//  * Number lines are parsed like Redis's string2ll: no sign '+', no leading zeros, no blanks.
//  * A count line ends at its first '\r'; the byte after the '\r' is skipped WITHOUT being
//    checked, and so are the two bytes after a bulk's payload ("$3\r\nabcXX" gives "abc").
//  * The multibulk count may go up to INT_MAX (2147483647): Redis 7.0 accepts "*1048577".
//    A count <= 0 ("*0", "*-1", "*-10") is skipped silently; "*-0" is invalid (string2ll).
//  * Redis looks for line ends with strchr, which stops at a NUL byte: a NUL before the end of
//    a count line or an inline line means that line can never end, and the request fails once
//    the bytes held for it exceed max_inline_len ("too big ... count string" / "too big inline
//    request"), exactly as Redis does (tests/unit/protocol.tcl "Protocol desync" cases).
//  * Inline: empty words ("") are kept as empty arguments; a line with no words is skipped.
//
// One deliberate difference: Redis checks the 64 KiB line limit only when a read leaves a line
// unterminated, so whether a 70 KB inline line is accepted depends on how the bytes arrive.
// This parser rejects any line longer than max_inline_len (bytes before its terminator), so
// its result never depends on how the input is split.
//
// Thread safety: none; one parser belongs to one connection on the loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace organic::protocol {

struct ParserLimits {
  size_t max_bulk_len = 512ull * 1024 * 1024;  // proto-max-bulk-len
  size_t max_inline_len = 64 * 1024;           // PROTO_INLINE_MAX_SIZE in Redis
};

// Parses client requests (RESP multibulk "*N\r\n$len\r\n...\r\n" or inline "SET a b\r\n")
// from a byte stream that may arrive in pieces of any size, one byte at a time included.
// Pure: no I/O, knows nothing of commands or connections.
class RequestParser {
 public:
  enum class Result { kComplete, kNeedMore, kError };

  explicit RequestParser(ParserLimits limits = {});

  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Consumes bytes from data[0, len). Sets *consumed to the number of bytes consumed.
  // kComplete: one whole command is ready in argc()/arg(i); bytes after it are NOT consumed
  //   (call Parse again with data + *consumed after executing the command).
  // kNeedMore: every byte was consumed (kept in internal state); feed more.
  // kError: protocol error; error() holds Redis's exact message text WITHOUT the "-ERR " prefix
  //   and CRLF, e.g. "Protocol error: invalid multibulk length". The connection will be closed.
  //   The error is sticky: later calls return kError and consume nothing until Reset().
  // Empty inline lines (a bare "\r\n" or "\n") and "*0\r\n" / "*-1\r\n" are skipped silently,
  // as Redis does.
  // The result never depends on how the stream is split between calls.
  // REQUIRES: data != nullptr || len == 0; consumed != nullptr.
  Result Parse(const char* data, size_t len, size_t* consumed);

  // The arguments of the command of the last kComplete result. argc() >= 1 then.
  size_t argc() const { return argc_; }
  const std::string& arg(size_t i) const { return args_[i]; }  // valid until next Parse/Reset
  const std::string* args() const { return args_.data(); }     // argc() contiguous strings

  // The message of the last kError result (empty otherwise).
  const std::string& error() const { return error_; }

  // Redis limits unauthenticated clients (multibulk len > 10, bulk len > 16384 ->
  // "Protocol error: unauthenticated multibulk length" / "unauthenticated bulk length").
  // A new parser is authenticated (no such limit); the connection clears the flag when the
  // server requires a password and sets it again after a successful AUTH/HELLO.
  void set_authenticated(bool authenticated) { authenticated_ = authenticated; }
  // Takes effect from the next number line or line byte checked (CONFIG SET at run time).
  void set_limits(ParserLimits limits) { limits_ = limits; }

  // Bytes held internally for a partial command (counts toward client-query-buffer-limit):
  // the bulk payload bytes received so far for the unfinished command plus the bytes of its
  // unterminated line. 0 when no command is in progress.
  size_t buffered_bytes() const { return payload_bytes_ + line_len_; }

  // Forgets any partial command, the last command and the last error. Keeps the limits and
  // the authenticated flag (they belong to the connection, not to the stream).
  void Reset();

 private:
  enum class State : uint8_t {
    kIdle,           // between requests: the next byte decides multibulk or inline
    kInlineLine,     // inside an inline line, looking for '\n'
    kHeaderLine,     // inside a "*<count>" or "$<len>" line, looking for '\r'
    kHeaderLineEnd,  // saw the header's '\r'; the next byte is skipped unchecked
    kUnterminated,   // a NUL came before the line end: the line can never end (see above)
    kBulkData,       // copying a bulk payload into args_[argc_]
    kBulkTrailer,    // skipping the 2 unchecked bytes after a bulk payload
    kError,
  };
  enum class LineKind : uint8_t { kInline, kMultibulkCount, kBulkCount };

  // Longest digit string worth keeping: string2ll rejects 21 characters or more.
  static constexpr size_t kMaxHeaderDigits = 24;

  // Starts a new command: the previous command's arguments stop being valid.
  void BeginCommand();
  // Handles a complete header line (count or bulk length). Returns false on a protocol error.
  bool FinishHeader();
  void StartHeaderLine(LineKind kind);
  // Counts the bulk just read (payload and trailer consumed). Returns true when it was the
  // multibulk's last one, i.e. the command is complete.
  bool FinishBulk();
  // Records a protocol error; returns kError with *consumed = pos.
  Result Fail(const char* message, size_t pos, size_t* consumed);
  Result FailTooBig(size_t pos, size_t* consumed);
  // Splits a complete inline line into args_; false on unbalanced quotes.
  bool SplitInlineIntoArgs(const char* line, size_t len);
  // The argument slot at index i, created if needed (its heap capacity is reused).
  std::string& ArgSlot(size_t i);
  // Releases argument memory that a huge command left behind (see kMaxRetained*).
  void ReleaseOversized(size_t slots);

  ParserLimits limits_;
  bool authenticated_ = true;
  State state_ = State::kIdle;
  LineKind line_kind_ = LineKind::kInline;
  bool command_ready_ = false;  // the last Parse returned kComplete

  // args_[0, argc_) are the arguments parsed so far (all of them after kComplete).
  // args_.size() >= argc_; slots past argc_ keep their capacity for the next commands.
  std::vector<std::string> args_;
  size_t argc_ = 0;

  // The current line: its length so far (bytes before the terminator) and, for an inline line
  // that spans Parse calls, its bytes. A line seen whole in one call is never copied here.
  size_t line_len_ = 0;
  std::string inline_line_;
  // A header line keeps only its first byte and up to kMaxHeaderDigits following bytes.
  char header_first_ = 0;
  char header_digits_[kMaxHeaderDigits] = {};
  size_t header_digits_len_ = 0;

  uint64_t multibulk_remaining_ = 0;  // bulks still expected by the current multibulk
  uint64_t bulk_remaining_ = 0;       // payload bytes still expected by the current bulk
  uint8_t trailer_remaining_ = 0;     // bytes after the payload still to skip
  size_t payload_bytes_ = 0;          // payload bytes held for the unfinished command

  std::string error_;
};

// Splits an inline command line with Redis's sdssplitargs rules (double quotes with \n \r \t
// \b \a \\ \" \xHH escapes, single quotes with \' only, a closing quote must be followed by a
// space or end). Returns false on unbalanced quotes. Exposed for unit tests and reuse.
// Like sdssplitargs on a C string, a NUL byte ends the line (inside quotes it is unbalanced).
// *out is replaced (cleared first); it is empty after a false return.
bool SplitInlineArgs(const char* line, size_t len, std::vector<std::string>* out);

}  // namespace organic::protocol
