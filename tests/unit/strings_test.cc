#include <doctest/doctest.h>

#include "util/strings.h"

using namespace organic;

TEST_CASE("ParseInt64 follows Redis's string2ll") {
  int64_t v;
  CHECK(ParseInt64("0", &v));
  CHECK(v == 0);
  CHECK(ParseInt64("-9223372036854775808", &v));
  CHECK(v == INT64_MIN);
  CHECK(ParseInt64("9223372036854775807", &v));
  CHECK_FALSE(ParseInt64("9223372036854775808", &v));
  CHECK_FALSE(ParseInt64("-0", &v));
  CHECK_FALSE(ParseInt64("01", &v));
  CHECK_FALSE(ParseInt64("+1", &v));
  CHECK_FALSE(ParseInt64(" 1", &v));
  CHECK_FALSE(ParseInt64("1 ", &v));
  CHECK_FALSE(ParseInt64("", &v));
  CHECK_FALSE(ParseInt64("-", &v));
}

TEST_CASE("FormatLongDouble matches ld2string human mode") {
  CHECK(FormatLongDouble(10.5L) == "10.5");
  CHECK(FormatLongDouble(3000.0L) == "3000");
  CHECK(FormatLongDouble(0.5L) == "0.5");
  CHECK(FormatLongDouble(-0.0L) == "0");
  CHECK(FormatLongDouble(1.0L / 0.0L) == "inf");
}

TEST_CASE("GlobMatch follows stringmatchlen") {
  CHECK(GlobMatch("*", "anything"));
  CHECK(GlobMatch("h?llo", "hello"));
  CHECK(GlobMatch("h[ae]llo", "hallo"));
  CHECK_FALSE(GlobMatch("h[^e]llo", "hello"));
  CHECK(GlobMatch("h[a-b]llo", "hbllo"));
  CHECK(GlobMatch("h\\*llo", "h*llo"));
  CHECK_FALSE(GlobMatch("h\\*llo", "hello"));
  CHECK(GlobMatch("*o*", "foo"));
  CHECK_FALSE(GlobMatch("a*b", "acd"));
  CHECK(GlobMatch("FOO", "foo", true));
  CHECK(GlobMatch("", ""));
  CHECK_FALSE(GlobMatch("", "a"));
  // Pathological pattern terminates quickly.
  CHECK_FALSE(GlobMatch("a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", std::string(200, 'a')));
}

TEST_CASE("ParseMemory accepts Redis units") {
  uint64_t v;
  CHECK(ParseMemory("100", &v));
  CHECK(v == 100);
  CHECK(ParseMemory("1k", &v));
  CHECK(v == 1000);
  CHECK(ParseMemory("1kb", &v));
  CHECK(v == 1024);
  CHECK(ParseMemory("100mb", &v));
  CHECK(v == 100ull * 1024 * 1024);
  CHECK(ParseMemory("1GB", &v));
  CHECK(v == 1024ull * 1024 * 1024);
  CHECK_FALSE(ParseMemory("abc", &v));
  CHECK_FALSE(ParseMemory("mb", &v));
  CHECK_FALSE(ParseMemory("-1", &v));
}
