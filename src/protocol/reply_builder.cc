#include "protocol/reply_builder.h"

#include "util/strings.h"

namespace organic::protocol {

void ReplyBuilder::Header(char type, int64_t n) {
  out_->push_back(type);
  AppendInt64(out_, n);
  out_->append("\r\n", 2);
}

void ReplyBuilder::SimpleString(std::string_view s) {
  out_->push_back('+');
  out_->append(s);
  out_->append("\r\n", 2);
}

void ReplyBuilder::Error(std::string_view msg) {
  out_->push_back('-');
  size_t start = out_->size();
  out_->append(msg);
  for (size_t i = start; i < out_->size(); i++) {
    if ((*out_)[i] == '\r' || (*out_)[i] == '\n') (*out_)[i] = ' ';
  }
  out_->append("\r\n", 2);
  errors_written_++;
  size_t sp = msg.find(' ');
  last_error_code_.assign(msg.substr(0, sp == std::string_view::npos ? msg.size() : sp));
}

void ReplyBuilder::Integer(int64_t v) { Header(':', v); }

void ReplyBuilder::Bulk(std::string_view s) {
  Header('$', static_cast<int64_t>(s.size()));
  out_->append(s);
  out_->append("\r\n", 2);
}

void ReplyBuilder::NullBulk() {
  if (resp_ >= 3) out_->append("_\r\n", 3);
  else out_->append("$-1\r\n", 5);
}

void ReplyBuilder::NullArray() {
  if (resp_ >= 3) out_->append("_\r\n", 3);
  else out_->append("*-1\r\n", 5);
}

void ReplyBuilder::ArrayHeader(size_t n) { Header('*', static_cast<int64_t>(n)); }

void ReplyBuilder::MapHeader(size_t pairs) {
  if (resp_ >= 3) Header('%', static_cast<int64_t>(pairs));
  else Header('*', static_cast<int64_t>(pairs * 2));
}

void ReplyBuilder::SetHeader(size_t n) { Header(resp_ >= 3 ? '~' : '*', static_cast<int64_t>(n)); }

void ReplyBuilder::Double(double v) {
  std::string s = FormatDouble(v);
  if (resp_ >= 3) {
    out_->push_back(',');
    out_->append(s);
    out_->append("\r\n", 2);
  } else {
    Bulk(s);
  }
}

void ReplyBuilder::Bool(bool v) {
  if (resp_ >= 3) out_->append(v ? "#t\r\n" : "#f\r\n", 4);
  else Integer(v ? 1 : 0);
}

void ReplyBuilder::Verbatim(std::string_view format, std::string_view s) {
  if (resp_ < 3) {
    Bulk(s);
    return;
  }
  Header('=', static_cast<int64_t>(s.size() + 4));
  out_->append(format.substr(0, 3));
  out_->push_back(':');
  out_->append(s);
  out_->append("\r\n", 2);
}

}  // namespace organic::protocol
