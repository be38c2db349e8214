// Small string conversions with Redis's exact acceptance rules (string2ll, ld2string,
// stringmatchlen, memtoull), so every command parses numbers and patterns the same way.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace organic {

// Parses a 64-bit signed integer the way Redis's string2ll does: optional '-', digits, no
// spaces, no '+', no leading zeros (except "0"), no overflow. Returns false otherwise.
bool ParseInt64(std::string_view s, int64_t* out);

// Parses a long double like Redis's string2ld: no spaces, not NaN, the whole string used.
bool ParseLongDouble(std::string_view s, long double* out);

// Parses a double as Redis's getDoubleFromObject (strtod, no spaces, not NaN).
bool ParseDouble(std::string_view s, double* out);

// Formats a long double as Redis's ld2string(LD_STR_HUMAN): "%.17Lf" with trailing zeros and
// a trailing '.' removed, "inf"/"-inf" for infinities. Used by INCRBYFLOAT.
std::string FormatLongDouble(long double value);

// Formats a double the way Redis's RESP3 double / addReplyDouble does ("%.17g").
std::string FormatDouble(double value);

// Appends the decimal form of v to out.
void AppendInt64(std::string* out, int64_t v);
std::string Int64ToString(int64_t v);

// Glob-style matching with Redis's stringmatchlen rules: * ? [abc] [^a] [a-z] and \ escapes.
bool GlobMatch(std::string_view pattern, std::string_view text, bool nocase = false);

// ASCII case-insensitive equality (command names, options).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string ToLowerAscii(std::string_view s);

// Parses a memory amount like Redis's memtoull: "100", "1k"(1000), "1kb"(1024), "5mb", "2gb",
// case-insensitive. Returns false on garbage or overflow.
bool ParseMemory(std::string_view s, uint64_t* out);

}  // namespace organic
