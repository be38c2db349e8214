// Argument parsing shared by command handlers, with Redis's exact errors. Each Parse* writes
// the error reply itself and returns false, so a handler can `if (!Parse...) return;`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/errors.h"
#include "protocol/reply_builder.h"
#include "util/strings.h"

namespace organic::commands {

inline bool ParseIntArg(std::string_view arg, protocol::ReplyBuilder* reply, int64_t* out) {
  if (!ParseInt64(arg, out)) {
    reply->Error(protocol::kNotInteger);
    return false;
  }
  return true;
}

// Like ParseIntArg with an explicit message (Redis's getLongLongFromObjectOrReply with msg).
inline bool ParseIntArgOr(std::string_view arg, protocol::ReplyBuilder* reply, int64_t* out,
                          std::string_view error) {
  if (!ParseInt64(arg, out)) {
    reply->Error(error);
    return false;
  }
  return true;
}

// A long double as Redis's string2ld (INCRBYFLOAT, HINCRBYFLOAT): no leading space, not NaN,
// no overflow to infinity. Defined in string_commands.cc.
bool ParseLongDoubleValue(std::string_view s, long double* out);

// value + incr as INCRBYFLOAT and HINCRBYFLOAT store it (Redis's 17-decimal %Lf form, trailing
// zeros cut); false, with Redis's error written, when the sum is NaN or infinite. Defined in
// string_commands.cc.
bool AddFloatOrReply(long double value, long double incr, protocol::ReplyBuilder* reply,
                     std::string* formatted);

inline bool ArgIs(std::string_view arg, std::string_view option) {
  return EqualsIgnoreCase(arg, option);
}

// A HELP reply: one status line per text line, as Redis's addReplyHelp.
template <size_t N>
void ReplyHelp(protocol::ReplyBuilder* reply, const char* const (&lines)[N]) {
  reply->ArrayHeader(N);
  for (const char* line : lines) reply->SimpleString(line);
}

}  // namespace organic::commands
