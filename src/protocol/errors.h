// Redis's error texts, written once (Dragonfly's facade/error.h habit). Replies pass these
// to ReplyBuilder::Error, which adds the leading '-' and CRLF.
#pragma once

namespace organic::protocol {

inline constexpr char kSyntaxErr[] = "ERR syntax error";
inline constexpr char kNotInteger[] = "ERR value is not an integer or out of range";
inline constexpr char kNotFloat[] = "ERR value is not a valid float";
inline constexpr char kOverflow[] = "ERR increment or decrement would overflow";
inline constexpr char kIncrFloatNanInf[] = "ERR increment would produce NaN or Infinity";
inline constexpr char kWrongType[] =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr char kNoSuchKey[] = "ERR no such key";
inline constexpr char kDbIndexOutOfRange[] = "ERR DB index is out of range";
inline constexpr char kInvalidDbIndex[] = "ERR invalid DB index";
inline constexpr char kSameObject[] = "ERR source and destination objects are the same";
inline constexpr char kNoAuth[] = "NOAUTH Authentication required.";
inline constexpr char kWrongPass[] =
    "WRONGPASS invalid username-password pair or user is disabled.";
inline constexpr char kAuthNoPassword[] =
    "ERR AUTH <password> called without any password configured for the default user. Are you "
    "sure your configuration is correct?";
inline constexpr char kNoProto[] = "NOPROTO unsupported protocol version";
inline constexpr char kMaxClients[] = "ERR max number of clients reached";
inline constexpr char kStringTooLong[] = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
inline constexpr char kInvalidCursor[] = "ERR invalid cursor";
inline constexpr char kOom[] = "OOM command not allowed when used memory > 'maxmemory'.";
inline constexpr char kOffsetOutOfRange[] = "ERR offset is out of range";
inline constexpr char kBitOffset[] = "ERR bit offset is not an integer or out of range";
inline constexpr char kTimeoutNegative[] = "ERR timeout is negative";

}  // namespace organic::protocol
