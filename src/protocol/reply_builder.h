// ReplyBuilder: writes RESP2 or RESP3 replies into an output byte buffer. It knows nothing of
// commands or sockets; the protocol version decides the shapes (RESP3 null "_", maps "%",
// sets "~", doubles ",", booleans "#"; RESP2 falls back to Redis's RESP2 equivalents).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace organic::protocol {

class ReplyBuilder {
 public:
  // *out must outlive the builder. The builder only appends.
  ReplyBuilder(std::string* out, int resp_version) : out_(out), resp_(resp_version) {}

  int resp_version() const { return resp_; }
  void set_resp_version(int v) { resp_ = v; }
  std::string* buffer() { return out_; }
  void set_buffer(std::string* out) { out_ = out; }

  void SimpleString(std::string_view s);  // "+OK"
  void Ok() { out_->append("+OK\r\n", 5); }
  // Error text without the leading '-', e.g. "ERR syntax error". CR/LF are replaced by spaces
  // (an error reply must be one line). The first word is the error code for errorstats.
  void Error(std::string_view msg);
  void Integer(int64_t v);
  void Bulk(std::string_view s);
  void NullBulk();   // RESP2 "$-1", RESP3 "_"
  void NullArray();  // RESP2 "*-1", RESP3 "_"
  void ArrayHeader(size_t n);
  void MapHeader(size_t pairs);  // RESP2: array of 2*pairs
  void SetHeader(size_t n);      // RESP2: array
  void Double(double v);         // RESP2: bulk string
  void Bool(bool v);             // RESP2: integer 0/1
  // RESP3 verbatim string with a 3-letter format ("txt"); RESP2: bulk string.
  void Verbatim(std::string_view format, std::string_view s);
  void EmptyArray() { ArrayHeader(0); }

  // The code of the most recent error reply ("ERR", "WRONGTYPE"...), for error statistics.
  uint64_t errors_written() const { return errors_written_; }
  const std::string& last_error_code() const { return last_error_code_; }

 private:
  void Header(char type, int64_t n);

  std::string* out_;
  int resp_;
  uint64_t errors_written_ = 0;
  std::string last_error_code_;
};

}  // namespace organic::protocol
