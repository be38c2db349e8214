#include "util/strings.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace organic {

bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  size_t i = 0;
  bool negative = false;
  if (s.size() == 1 && s[0] == '0') {
    *out = 0;
    return true;
  }
  if (s[0] == '-') {
    negative = true;
    i = 1;
    if (s.size() == 1) return false;
  }
  // First digit must be 1-9: no leading zeros, no "-0".
  if (s[i] < '1' || s[i] > '9') return false;
  uint64_t v = 0;
  for (; i < s.size(); i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  if (negative) {
    if (v > static_cast<uint64_t>(INT64_MAX) + 1) return false;
    *out = static_cast<int64_t>(0 - v);
  } else {
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(v);
  }
  return true;
}

bool ParseLongDouble(std::string_view s, long double* out) {
  if (s.empty() || s.size() > 5 * 1024) return false;
  std::string buf(s);
  if (isspace(static_cast<unsigned char>(buf[0]))) return false;
  char* end = nullptr;
  errno = 0;
  long double v = strtold(buf.c_str(), &end);
  if (end != buf.c_str() + buf.size() || errno == ERANGE || std::isnan(v)) return false;
  *out = v;
  return true;
}

bool ParseDouble(std::string_view s, double* out) {
  if (s.empty() || s.size() > 5 * 1024) return false;
  std::string buf(s);
  if (isspace(static_cast<unsigned char>(buf[0]))) return false;
  char* end = nullptr;
  errno = 0;
  double v = strtod(buf.c_str(), &end);
  if (end != buf.c_str() + buf.size() || (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL ||
                                                             std::fpclassify(v) == FP_ZERO)) ||
      std::isnan(v)) {
    return false;
  }
  *out = v;
  return true;
}

std::string FormatLongDouble(long double value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[5 * 1024 + 64];
  int len = snprintf(buf, sizeof(buf), "%.17Lf", value);
  if (len <= 0 || static_cast<size_t>(len) >= sizeof(buf)) return "0";
  // Remove trailing zeros after the dot, then the dot itself.
  if (strchr(buf, '.') != nullptr) {
    char* p = buf + len - 1;
    while (*p == '0') {
      p--;
      len--;
    }
    if (*p == '.') len--;
  }
  if (len == 2 && buf[0] == '-' && buf[1] == '0') return "0";
  return std::string(buf, static_cast<size_t>(len));
}

std::string FormatDouble(double value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[128];
  int len = snprintf(buf, sizeof(buf), "%.17g", value);
  return std::string(buf, static_cast<size_t>(len));
}

void AppendInt64(std::string* out, int64_t v) {
  char buf[24];
  char* p = buf + sizeof(buf);
  uint64_t u = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  do {
    *--p = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0) *--p = '-';
  out->append(p, static_cast<size_t>(buf + sizeof(buf) - p));
}

std::string Int64ToString(int64_t v) {
  std::string s;
  AppendInt64(&s, v);
  return s;
}

namespace {
unsigned char Fold(unsigned char c, bool nocase) {
  return nocase ? static_cast<unsigned char>(tolower(c)) : c;
}

// Recursive matcher; depth bounded by the number of '*' in the pattern (Redis also guards
// against pathological patterns with a nesting limit).
bool MatchImpl(const char* p, size_t plen, const char* s, size_t slen, bool nocase, int nesting,
               bool* skip_longer) {
  if (nesting > 1000) return false;
  while (plen > 0 && slen > 0) {
    switch (p[0]) {
      case '*':
        while (plen > 1 && p[1] == '*') {
          p++;
          plen--;
        }
        if (plen == 1) return true;
        while (slen > 0) {
          if (MatchImpl(p + 1, plen - 1, s, slen, nocase, nesting + 1, skip_longer)) return true;
          if (*skip_longer) return false;
          s++;
          slen--;
        }
        *skip_longer = true;
        return false;
      case '?':
        s++;
        slen--;
        break;
      case '[': {
        p++;
        plen--;
        bool negate = plen > 0 && p[0] == '^';
        if (negate) {
          p++;
          plen--;
        }
        bool matched = false;
        while (true) {
          if (plen == 0) {
            // Unterminated class: Redis steps back so ']' handling ends the loop.
            break;
          }
          if (p[0] == '\\' && plen >= 2) {
            p++;
            plen--;
            if (p[0] == s[0]) matched = true;
          } else if (p[0] == ']') {
            break;
          } else if (plen >= 3 && p[1] == '-') {
            unsigned char start = Fold(p[0], nocase), end = Fold(p[2], nocase);
            unsigned char c = Fold(s[0], nocase);
            if (start > end) std::swap(start, end);
            p += 2;
            plen -= 2;
            if (c >= start && c <= end) matched = true;
          } else if (Fold(p[0], nocase) == Fold(s[0], nocase)) {
            matched = true;
          }
          p++;
          plen--;
        }
        if (negate) matched = !matched;
        if (!matched) return false;
        s++;
        slen--;
        if (plen == 0) {
          // Pattern ended inside the class: nothing left to advance past.
          return slen == 0;
        }
        break;
      }
      case '\\':
        if (plen >= 2) {
          p++;
          plen--;
        }
        [[fallthrough]];
      default:
        if (Fold(p[0], nocase) != Fold(s[0], nocase)) return false;
        s++;
        slen--;
        break;
    }
    p++;
    plen--;
    if (slen == 0) {
      while (plen > 0 && p[0] == '*') {
        p++;
        plen--;
      }
      break;
    }
  }
  return plen == 0 && slen == 0;
}
}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text, bool nocase) {
  bool skip_longer = false;
  return MatchImpl(pattern.data(), pattern.size(), text.data(), text.size(), nocase, 0,
                   &skip_longer);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    if (tolower(static_cast<unsigned char>(a[i])) != tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string ToLowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ParseMemory(std::string_view s, uint64_t* out) {
  std::string lower = ToLowerAscii(s);
  uint64_t mul = 1;
  size_t digits_len = lower.size();
  struct Unit { const char* suffix; uint64_t mul; };
  static const Unit kUnits[] = {{"kb", 1024ull}, {"mb", 1024ull * 1024}, {"gb", 1024ull * 1024 * 1024},
                                {"k", 1000ull}, {"m", 1000ull * 1000}, {"g", 1000ull * 1000 * 1000},
                                {"b", 1}};
  for (const Unit& u : kUnits) {
    size_t n = strlen(u.suffix);
    if (lower.size() > n && lower.compare(lower.size() - n, n, u.suffix) == 0) {
      mul = u.mul;
      digits_len = lower.size() - n;
      break;
    }
  }
  if (digits_len == 0) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < digits_len; i++) {
    char c = lower[i];
    if (c < '0' || c > '9') return false;
    if (v > (UINT64_MAX - (c - '0')) / 10) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (mul != 0 && v > UINT64_MAX / mul) return false;
  *out = v * mul;
  return true;
}

}  // namespace organic
