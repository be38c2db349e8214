// String command family: replies compared byte for byte with those of a real redis-server
// 7.0.15 (each expectation below was observed there), in RESP2 and RESP3 where they differ.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "command_harness.h"
#include "commands/command_table.h"
#include "util/clock.h"

namespace organic {
namespace {

using testing::CommandHarness;

const std::string kOk = "+OK\r\n";
const std::string kNil = "$-1\r\n";  // RESP2 null bulk
const std::string kNull = "_\r\n";   // RESP3 null
const std::string kEmpty = "$0\r\n\r\n";
const std::string kSyntax = "-ERR syntax error\r\n";
const std::string kNotInt = "-ERR value is not an integer or out of range\r\n";
const std::string kNotFloat = "-ERR value is not a valid float\r\n";
const std::string kOverflow = "-ERR increment or decrement would overflow\r\n";
const std::string kTooLong = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";

std::string Bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
std::string Int(int64_t v) { return ":" + std::to_string(v) + "\r\n"; }
std::string InvalidExpire(std::string_view command) {
  return "-ERR invalid expire time in '" + std::string(command) + "' command\r\n";
}
std::string WrongArgs(std::string_view command) {
  return "-ERR wrong number of arguments for '" + std::string(command) + "' command\r\n";
}

// The key's absolute expire time in ms: 0 = no TTL, -2 = no such key. Read without touching
// statistics, straight from the engine, so these tests do not depend on the TTL command family.
int64_t ExpireAt(CommandHarness& h, const std::string& key) {
  auto view = h.engine().Get(h.session().db, key, engine::LookupMode::kNoTouch);
  return view ? view->expire_at_ms : -2;
}

// Asserts the key's TTL lies in [lo_ms, hi_ms] from now.
void CheckTtlBetween(CommandHarness& h, const std::string& key, int64_t lo_ms, int64_t hi_ms) {
  int64_t at = ExpireAt(h, key);
  REQUIRE(at > 0);
  int64_t remaining = at - UnixTimeMs();
  CHECK(remaining >= lo_ms);
  CHECK(remaining <= hi_ms);
}

// A harness whose proto-max-bulk-len is tiny, so the size limits of APPEND, SETRANGE and LCS
// are testable without 512 MB strings.
struct SmallLimitHarness : CommandHarness {
  explicit SmallLimitHarness(uint64_t max_bulk_len) {
    server().config().values().proto_max_bulk_len = max_bulk_len;
  }
};

// ---------------------------------------------------------------------------------------------

TEST_CASE("GET and SET: basic values, binary safety, RESP2/RESP3 nil") {
  CommandHarness h;
  CHECK(h.Run({"GET", "k"}) == kNil);
  CHECK(h.Run({"SET", "k", "v"}) == kOk);
  CHECK(h.Run({"GET", "k"}) == Bulk("v"));
  CHECK(h.Run({"set", "k", "v2"}) == kOk);  // command names are case-insensitive
  CHECK(h.Run({"GET", "k"}) == Bulk("v2"));

  const std::string binary("a\0b\r\nc\xff", 7);
  CHECK(h.Run({"SET", std::string("k\0z", 3), binary}) == kOk);
  CHECK(h.Run({"GET", std::string("k\0z", 3)}) == Bulk(binary));
  CHECK(h.Run({"GET", "k"}) == Bulk("v2"));  // "k\0z" is a different key

  CHECK(h.Run({"SET", "empty", ""}) == kOk);
  CHECK(h.Run({"GET", "empty"}) == kEmpty);

  h.session().resp = 3;
  CHECK(h.Run({"GET", "missing"}) == kNull);
  CHECK(h.Run({"GET", "k"}) == Bulk("v2"));

  CHECK(h.Run({"GET"}) == WrongArgs("get"));
  CHECK(h.Run({"GET", "a", "b"}) == WrongArgs("get"));
  CHECK(h.Run({"SET", "k"}) == WrongArgs("set"));
}

TEST_CASE("SET NX / XX") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "1", "XX"}) == kNil);
  CHECK(h.Run({"GET", "k"}) == kNil);  // XX does not create
  CHECK(h.Run({"SET", "k", "1", "NX"}) == kOk);
  CHECK(h.Run({"SET", "k", "2", "NX"}) == kNil);
  CHECK(h.Run({"GET", "k"}) == Bulk("1"));
  CHECK(h.Run({"SET", "k", "3", "xx"}) == kOk);
  CHECK(h.Run({"GET", "k"}) == Bulk("3"));
  CHECK(h.Run({"SET", "k", "4", "nx", "nx"}) == kNil);  // repeating an option is allowed
  h.session().resp = 3;
  CHECK(h.Run({"SET", "k", "5", "NX"}) == kNull);
  CHECK(h.Run({"SET", "new", "5", "XX"}) == kNull);
}

TEST_CASE("SET option conflicts and bad arguments are syntax errors") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "v"}) == kOk);
  for (std::vector<std::string> opts : std::vector<std::vector<std::string>>{
           {"NX", "XX"},
           {"XX", "NX"},
           {"GET", "NX", "XX"},
           {"EX", "10", "PX", "100"},
           {"EXAT", "10", "PXAT", "10"},
           {"PX", "100", "EXAT", "10"},
           {"KEEPTTL", "EX", "10"},
           {"EX", "10", "KEEPTTL"},
           {"PX", "100", "KEEPTTL"},
           {"EX"},  // expire option without its value
           {"PXAT"},
           {"PERSIST"},  // GETEX-only option
           {"FOO"},
           {"EX", "abc", "NX", "XX"},  // the syntax is checked before the expire value
       }) {
    std::vector<std::string> args = {"SET", "k", "x"};
    args.insert(args.end(), opts.begin(), opts.end());
    CAPTURE(opts);
    CHECK(h.Run(args) == kSyntax);
  }
  CHECK(h.Run({"GET", "k"}) == Bulk("v"));  // nothing was written
  // Options are compared like C strings in Redis: the text after a NUL byte is ignored.
  CHECK(h.Run({"SET", "k", "w", std::string("NX\0junk", 7)}) == kNil);
  CHECK(h.Run({"SET", "k", "w", std::string("nx\0", 3)}) == kNil);
  CHECK(h.Run({"SET", "k", "w", std::string("N\0X", 3)}) == kSyntax);
}

TEST_CASE("SET expire options") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "v", "EX", "100"}) == kOk);
  CheckTtlBetween(h, "k", 99000, 100000);
  CHECK(h.Run({"SET", "k", "v", "px", "5000"}) == kOk);
  CheckTtlBetween(h, "k", 4000, 5000);
  CHECK(h.Run({"SET", "k", "v", "EX", "10", "EX", "20"}) == kOk);  // the last one wins
  CheckTtlBetween(h, "k", 19000, 20000);
  CHECK(h.Run({"SET", "k", "v", "EXAT", "99999999999"}) == kOk);
  CHECK(ExpireAt(h, "k") == 99999999999000);
  CHECK(h.Run({"SET", "k", "v", "PXAT", "99999999999123"}) == kOk);
  CHECK(ExpireAt(h, "k") == 99999999999123);
  // The largest accepted values.
  CHECK(h.Run({"SET", "k", "v", "PXAT", "9223372036854775807"}) == kOk);
  CHECK(ExpireAt(h, "k") == INT64_MAX);
  CHECK(h.Run({"SET", "k", "v", "EXAT", "9223372036854775"}) == kOk);
  CHECK(ExpireAt(h, "k") == 9223372036854775000);
  CHECK(h.Run({"GET", "k"}) == Bulk("v"));
  // NX/XX combine with an expire.
  CHECK(h.Run({"SET", "k", "w", "NX", "EX", "100"}) == kNil);
  CHECK(ExpireAt(h, "k") == 9223372036854775000);
  CHECK(h.Run({"SET", "k", "w", "XX", "PX", "100000"}) == kOk);
  CheckTtlBetween(h, "k", 99000, 100000);
}

TEST_CASE("SET invalid expire times") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "v", "EX", "abc"}) == kNotInt);
  CHECK(h.Run({"SET", "k", "v", "PX", "1.5"}) == kNotInt);
  CHECK(h.Run({"SET", "k", "v", "EX", "9223372036854775808"}) == kNotInt);
  for (std::vector<std::string> opts : std::vector<std::vector<std::string>>{
           {"EX", "0"},
           {"EX", "-1"},
           {"PX", "0"},
           {"PX", "-100"},
           {"EXAT", "0"},
           {"PXAT", "0"},
           {"PXAT", "-9223372036854775808"},
           {"EX", "9223372036854775"},     // *1000 fits but now + it overflows
           {"EX", "9223372036854776"},     // *1000 overflows
           {"PX", "9223372036854775807"},  // now + it overflows
           {"EXAT", "9223372036854776"},   // *1000 overflows
       }) {
    std::vector<std::string> args = {"SET", "k", "v"};
    args.insert(args.end(), opts.begin(), opts.end());
    CAPTURE(opts);
    CHECK(h.Run(args) == InvalidExpire("set"));
  }
  CHECK(h.Run({"GET", "k"}) == kNil);
}

TEST_CASE("SET EXAT/PXAT in the past: OK, and the key is gone") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "v", "EXAT", "1"}) == kOk);
  CHECK(h.Run({"GET", "k"}) == kNil);
  CHECK(ExpireAt(h, "k") == -2);
  CHECK(h.Run({"SET", "k", "v"}) == kOk);
  CHECK(h.Run({"SET", "k", "w", "PXAT", "1", "GET"}) == Bulk("v"));  // GET still sees the old value
  CHECK(h.Run({"GET", "k"}) == kNil);
  // NX treats the logically expired key as absent.
  CHECK(h.Run({"SET", "k", "v", "EXAT", "1"}) == kOk);
  CHECK(h.Run({"SET", "k", "x", "NX"}) == kOk);
  CHECK(h.Run({"GET", "k"}) == Bulk("x"));
}

TEST_CASE("SET TTL rules: plain SET drops the TTL, KEEPTTL keeps it") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "v", "EX", "100"}) == kOk);
  int64_t at = ExpireAt(h, "k");
  CHECK(h.Run({"SET", "k", "w", "KEEPTTL"}) == kOk);
  CHECK(ExpireAt(h, "k") == at);
  CHECK(h.Run({"GET", "k"}) == Bulk("w"));
  CHECK(h.Run({"SET", "k", "x", "keepttl", "GET"}) == Bulk("w"));
  CHECK(ExpireAt(h, "k") == at);
  CHECK(h.Run({"SET", "k", "y"}) == kOk);
  CHECK(ExpireAt(h, "k") == 0);
  // KEEPTTL on a missing key creates it without TTL.
  CHECK(h.Run({"SET", "n", "v", "KEEPTTL"}) == kOk);
  CHECK(ExpireAt(h, "n") == 0);
  // Ttl-less overwrite of an expiring key through NX/XX paths.
  CHECK(h.Run({"SET", "k", "v", "EX", "100"}) == kOk);
  CHECK(h.Run({"SET", "k", "z", "XX"}) == kOk);
  CHECK(ExpireAt(h, "k") == 0);
}

TEST_CASE("SET GET option") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "v", "GET"}) == kNil);  // missing: nil, and the key is set
  CHECK(h.Run({"GET", "k"}) == Bulk("v"));
  CHECK(h.Run({"SET", "k", "w", "GET"}) == Bulk("v"));
  CHECK(h.Run({"SET", "k", "x", "get", "get"}) == Bulk("w"));
  // NX + GET (allowed since 7.0): the old value is replied and nothing is written.
  CHECK(h.Run({"SET", "k", "y", "NX", "GET"}) == Bulk("x"));
  CHECK(h.Run({"GET", "k"}) == Bulk("x"));
  CHECK(h.Run({"SET", "n", "1", "NX", "GET"}) == kNil);
  CHECK(h.Run({"GET", "n"}) == Bulk("1"));
  // XX + GET on a missing key: nil, not created.
  CHECK(h.Run({"SET", "m", "1", "XX", "GET"}) == kNil);
  CHECK(h.Run({"GET", "m"}) == kNil);
  CHECK(h.Run({"SET", "k", "z", "GET", "EX", "100"}) == Bulk("x"));
  CheckTtlBetween(h, "k", 99000, 100000);
  // An invalid expire is reported before GET replies.
  CHECK(h.Run({"SET", "k", "q", "GET", "EX", "0"}) == InvalidExpire("set"));
  CHECK(h.Run({"GET", "k"}) == Bulk("z"));
  h.session().resp = 3;
  CHECK(h.Run({"SET", "r3", "v", "GET"}) == kNull);
  CHECK(h.Run({"SET", "r3", "w", "GET"}) == Bulk("v"));
}

TEST_CASE("SETNX, SETEX, PSETEX") {
  CommandHarness h;
  CHECK(h.Run({"SETNX", "k", "1"}) == Int(1));
  CHECK(h.Run({"SETNX", "k", "2"}) == Int(0));
  CHECK(h.Run({"GET", "k"}) == Bulk("1"));
  CHECK(ExpireAt(h, "k") == 0);
  CHECK(h.Run({"SETNX", "k"}) == WrongArgs("setnx"));

  CHECK(h.Run({"SETEX", "k", "100", "v"}) == kOk);
  CHECK(h.Run({"GET", "k"}) == Bulk("v"));
  CheckTtlBetween(h, "k", 99000, 100000);
  CHECK(h.Run({"SETNX", "k", "x"}) == Int(0));  // does not touch the TTL
  CheckTtlBetween(h, "k", 99000, 100000);
  CHECK(h.Run({"PSETEX", "k", "100000", "w"}) == kOk);
  CheckTtlBetween(h, "k", 99000, 100000);
  CHECK(h.Run({"GET", "k"}) == Bulk("w"));

  CHECK(h.Run({"SETEX", "k", "0", "v"}) == InvalidExpire("setex"));
  CHECK(h.Run({"SETEX", "k", "-1", "v"}) == InvalidExpire("setex"));
  CHECK(h.Run({"SETEX", "k", "9223372036854776", "v"}) == InvalidExpire("setex"));
  CHECK(h.Run({"SETEX", "k", "abc", "v"}) == kNotInt);
  CHECK(h.Run({"PSETEX", "k", "0", "v"}) == InvalidExpire("psetex"));
  CHECK(h.Run({"PSETEX", "k", "9223372036854775807", "v"}) == InvalidExpire("psetex"));
  CHECK(h.Run({"PSETEX", "k", "abc", "v"}) == kNotInt);
  CHECK(h.Run({"GET", "k"}) == Bulk("w"));
  CHECK(h.Run({"SETEX", "k", "10"}) == WrongArgs("setex"));
  CHECK(h.Run({"PSETEX", "k", "10", "v", "x"}) == WrongArgs("psetex"));
}

TEST_CASE("GETSET and GETDEL") {
  CommandHarness h;
  CHECK(h.Run({"GETSET", "k", "1"}) == kNil);
  CHECK(h.Run({"GETSET", "k", "2"}) == Bulk("1"));
  CHECK(h.Run({"GET", "k"}) == Bulk("2"));
  CHECK(h.Run({"SET", "k", "3", "EX", "100"}) == kOk);
  CHECK(h.Run({"GETSET", "k", "4"}) == Bulk("3"));
  CHECK(ExpireAt(h, "k") == 0);  // GETSET drops the TTL

  CHECK(h.Run({"GETDEL", "k"}) == Bulk("4"));
  CHECK(h.Run({"GETDEL", "k"}) == kNil);
  CHECK(ExpireAt(h, "k") == -2);
  h.session().resp = 3;
  CHECK(h.Run({"GETSET", "n", "v"}) == kNull);
  CHECK(h.Run({"GETDEL", "missing"}) == kNull);
  CHECK(h.Run({"GETDEL", "n"}) == Bulk("v"));
  CHECK(h.Run({"GETDEL", "a", "b"}) == WrongArgs("getdel"));
  CHECK(h.Run({"GETSET", "a"}) == WrongArgs("getset"));
}

TEST_CASE("GETEX") {
  CommandHarness h;
  CHECK(h.Run({"GETEX", "k"}) == kNil);
  CHECK(h.Run({"SET", "k", "v", "EX", "100"}) == kOk);
  int64_t at = ExpireAt(h, "k");
  CHECK(h.Run({"GETEX", "k"}) == Bulk("v"));  // no option: TTL unchanged
  CHECK(ExpireAt(h, "k") == at);
  CHECK(h.Run({"GETEX", "k", "PERSIST"}) == Bulk("v"));
  CHECK(ExpireAt(h, "k") == 0);
  CHECK(h.Run({"GETEX", "k", "persist", "persist"}) == Bulk("v"));
  CHECK(h.Run({"GETEX", "k", "PX", "5000"}) == Bulk("v"));
  CheckTtlBetween(h, "k", 4000, 5000);
  CHECK(h.Run({"GETEX", "k", "EX", "10", "ex", "20"}) == Bulk("v"));
  CheckTtlBetween(h, "k", 19000, 20000);
  CHECK(h.Run({"GETEX", "k", "EXAT", "99999999999"}) == Bulk("v"));
  CHECK(ExpireAt(h, "k") == 99999999999000);
  CHECK(h.Run({"GETEX", "k", "PXAT", "99999999999123"}) == Bulk("v"));
  CHECK(ExpireAt(h, "k") == 99999999999123);

  for (std::vector<std::string> opts : std::vector<std::vector<std::string>>{
           {"PERSIST", "EX", "10"},
           {"EX", "10", "PERSIST"},
           {"EX", "10", "PX", "10"},
           {"NX"},
           {"XX"},
           {"KEEPTTL"},
           {"GET"},
           {"EX"},
           {"BAD"},
       }) {
    std::vector<std::string> args = {"GETEX", "k"};
    args.insert(args.end(), opts.begin(), opts.end());
    CAPTURE(opts);
    CHECK(h.Run(args) == kSyntax);
  }
  CHECK(h.Run({"GETEX", "k", "EX", "abc"}) == kNotInt);
  CHECK(h.Run({"GETEX", "k", "EX", "0"}) == InvalidExpire("getex"));
  CHECK(h.Run({"GETEX", "k", "PX", "-5"}) == InvalidExpire("getex"));
  CHECK(h.Run({"GETEX", "k", "EX", "9223372036854776"}) == InvalidExpire("getex"));
  CHECK(ExpireAt(h, "k") == 99999999999123);
  // The key is looked up before the expire is validated: a missing key is nil whatever it is.
  CHECK(h.Run({"GETEX", "missing", "EX", "0"}) == kNil);
  CHECK(h.Run({"GETEX", "missing", "EX", "abc"}) == kNil);
  // An absolute time in the past deletes the key, after replying its value.
  CHECK(h.Run({"GETEX", "k", "EXAT", "1"}) == Bulk("v"));
  CHECK(ExpireAt(h, "k") == -2);
  CHECK(h.Run({"SET", "k", "v"}) == kOk);
  CHECK(h.Run({"GETEX", "k", "PXAT", "1"}) == Bulk("v"));
  CHECK(h.Run({"GET", "k"}) == kNil);

  h.session().resp = 3;
  CHECK(h.Run({"GETEX", "missing"}) == kNull);
  CHECK(h.Run({"GETEX"}) == WrongArgs("getex"));
}

TEST_CASE("MGET, MSET, MSETNX") {
  CommandHarness h;
  CHECK(h.Run({"MSET", "a", "1", "b", std::string("\0\r\n", 3)}) == kOk);
  CHECK(h.Run({"MGET", "a", "missing", "b"}) ==
        "*3\r\n" + Bulk("1") + kNil + Bulk(std::string("\0\r\n", 3)));
  h.session().resp = 3;
  CHECK(h.Run({"MGET", "a", "missing"}) == "*2\r\n" + Bulk("1") + kNull);
  h.session().resp = 2;
  CHECK(h.Run({"MGET"}) == WrongArgs("mget"));

  // MSET drops TTLs and a repeated key keeps its last value.
  CHECK(h.Run({"SET", "a", "x", "EX", "100"}) == kOk);
  CHECK(h.Run({"MSET", "a", "2", "c", "3", "c", "4"}) == kOk);
  CHECK(ExpireAt(h, "a") == 0);
  CHECK(h.Run({"MGET", "a", "c"}) == "*2\r\n" + Bulk("2") + Bulk("4"));
  CHECK(h.Run({"MSET", "a"}) == WrongArgs("mset"));
  CHECK(h.Run({"MSET", "a", "1", "b"}) == WrongArgs("mset"));

  CHECK(h.Run({"MSETNX", "x1", "1", "x2", "2"}) == Int(1));
  CHECK(h.Run({"MSETNX", "x2", "3", "x3", "4"}) == Int(0));  // all or nothing
  CHECK(h.Run({"MGET", "x2", "x3"}) == "*2\r\n" + Bulk("2") + kNil);
  CHECK(h.Run({"MSETNX", "d", "1", "d", "2"}) == Int(1));
  CHECK(h.Run({"GET", "d"}) == Bulk("2"));
  CHECK(h.Run({"MSETNX", "a"}) == WrongArgs("msetnx"));
  CHECK(h.Run({"MSETNX", "a", "1", "b"}) == WrongArgs("msetnx"));
}

TEST_CASE("APPEND and STRLEN") {
  CommandHarness h;
  CHECK(h.Run({"STRLEN", "k"}) == Int(0));
  CHECK(h.Run({"APPEND", "k", ""}) == Int(0));  // creates an empty string
  CHECK(h.Run({"GET", "k"}) == kEmpty);
  CHECK(h.Run({"APPEND", "k", "abc"}) == Int(3));
  CHECK(h.Run({"APPEND", "k", std::string("\0\r\n", 3)}) == Int(6));
  CHECK(h.Run({"GET", "k"}) == Bulk(std::string("abc\0\r\n", 6)));
  CHECK(h.Run({"STRLEN", "k"}) == Int(6));
  CHECK(h.Run({"SET", "k", "1", "EX", "100"}) == kOk);
  int64_t at = ExpireAt(h, "k");
  CHECK(h.Run({"APPEND", "k", "x"}) == Int(2));
  CHECK(h.Run({"APPEND", "k", ""}) == Int(2));
  CHECK(ExpireAt(h, "k") == at);  // APPEND keeps the TTL
  CHECK(h.Run({"GET", "k"}) == Bulk("1x"));
  CHECK(h.Run({"APPEND", "k"}) == WrongArgs("append"));
  CHECK(h.Run({"STRLEN", "k", "x"}) == WrongArgs("strlen"));
}

TEST_CASE("INCR, DECR, INCRBY, DECRBY") {
  CommandHarness h;
  CHECK(h.Run({"INCR", "n"}) == Int(1));  // a missing key counts from 0
  CHECK(h.Run({"INCR", "n"}) == Int(2));
  CHECK(h.Run({"DECR", "m"}) == Int(-1));
  CHECK(h.Run({"INCRBY", "n", "10"}) == Int(12));
  CHECK(h.Run({"INCRBY", "n", "-20"}) == Int(-8));
  CHECK(h.Run({"DECRBY", "n", "-8"}) == Int(0));
  CHECK(h.Run({"DECRBY", "n", "5"}) == Int(-5));
  CHECK(h.Run({"GET", "n"}) == Bulk("-5"));
  CHECK(h.Run({"DECRBY", "z", "-9223372036854775807"}) == Int(INT64_MAX));

  // Values must be canonical int64 text (string2ll).
  for (const std::string& bad : std::vector<std::string>{
           "", " 1", "1 ", "01", "-0", "+1", "1.5", "abc", "0x10", "9223372036854775808",
           "-9223372036854775809", "123456789012345678901", std::string("1\0", 2)}) {
    CAPTURE(bad);
    CHECK(h.Run({"SET", "s", bad}) == kOk);
    CHECK(h.Run({"INCR", "s"}) == kNotInt);
    CHECK(h.Run({"DECRBY", "s", "1"}) == kNotInt);
    CHECK(h.Run({"GET", "s"}) == Bulk(bad));
  }
  CHECK(h.Run({"SET", "s", "-9223372036854775808"}) == kOk);
  CHECK(h.Run({"INCR", "s"}) == Int(-9223372036854775807));

  // The increment is parsed before the stored value is looked at.
  CHECK(h.Run({"SET", "s", "abc"}) == kOk);
  CHECK(h.Run({"INCRBY", "s", "x"}) == kNotInt);
  CHECK(h.Run({"INCRBY", "n", "1.5"}) == kNotInt);
  CHECK(h.Run({"INCRBY", "n", "9223372036854775808"}) == kNotInt);
  CHECK(h.Run({"DECRBY", "n", ""}) == kNotInt);

  // Overflow.
  CHECK(h.Run({"SET", "big", "9223372036854775807"}) == kOk);
  CHECK(h.Run({"INCR", "big"}) == kOverflow);
  CHECK(h.Run({"INCRBY", "big", "1"}) == kOverflow);
  CHECK(h.Run({"DECRBY", "big", "-1"}) == kOverflow);
  CHECK(h.Run({"INCRBY", "big", "0"}) == Int(INT64_MAX));
  CHECK(h.Run({"SET", "small", "-9223372036854775808"}) == kOk);
  CHECK(h.Run({"DECR", "small"}) == kOverflow);
  CHECK(h.Run({"INCRBY", "small", "-1"}) == kOverflow);
  CHECK(h.Run({"DECRBY", "small", "1"}) == kOverflow);
  CHECK(h.Run({"GET", "small"}) == Bulk("-9223372036854775808"));
  CHECK(h.Run({"INCRBY", "small", "9223372036854775807"}) == Int(-1));
  // Negating LLONG_MIN is impossible: DECRBY has its own error for it.
  CHECK(h.Run({"DECRBY", "n", "-9223372036854775808"}) == "-ERR decrement would overflow\r\n");
  CHECK(h.Run({"DECRBY", "missing", "-9223372036854775808"}) ==
        "-ERR decrement would overflow\r\n");
  CHECK(h.Run({"INCRBY", "x", "-9223372036854775808"}) == Int(INT64_MIN));

  CHECK(h.Run({"INCR"}) == WrongArgs("incr"));
  CHECK(h.Run({"INCRBY", "n"}) == WrongArgs("incrby"));
  CHECK(h.Run({"DECRBY", "n", "1", "2"}) == WrongArgs("decrby"));
}

TEST_CASE("INCR family keeps the TTL") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "1", "EX", "100"}) == kOk);
  int64_t at = ExpireAt(h, "k");
  CHECK(h.Run({"INCR", "k"}) == Int(2));
  CHECK(h.Run({"DECR", "k"}) == Int(1));
  CHECK(h.Run({"INCRBY", "k", "5"}) == Int(6));
  CHECK(h.Run({"DECRBY", "k", "10"}) == Int(-4));
  CHECK(h.Run({"INCRBYFLOAT", "k", "1.5"}) == Bulk("-2.5"));
  CHECK(ExpireAt(h, "k") == at);
  CHECK(h.Run({"INCR", "fresh"}) == Int(1));
  CHECK(ExpireAt(h, "fresh") == 0);
}

TEST_CASE("INCRBYFLOAT") {
  CommandHarness h;
  CHECK(h.Run({"INCRBYFLOAT", "f", "1.5"}) == Bulk("1.5"));
  CHECK(h.Run({"SET", "f", "10.50"}) == kOk);
  CHECK(h.Run({"INCRBYFLOAT", "f", "0.1"}) == Bulk("10.6"));
  CHECK(h.Run({"GET", "f"}) == Bulk("10.6"));
  CHECK(h.Run({"INCRBYFLOAT", "g", "5.0e3"}) == Bulk("5000"));
  CHECK(h.Run({"INCRBYFLOAT", "g", "-5000"}) == Bulk("0"));
  CHECK(h.Run({"INCRBYFLOAT", "g", "0x10"}) == Bulk("16"));  // strtold accepts hex
  CHECK(h.Run({"INCRBYFLOAT", "g", "-16.25"}) == Bulk("-0.25"));
  CHECK(h.Run({"INCRBYFLOAT", "g", "1e-4940"}) == Bulk("-0.25"));  // subnormal: accepted
  // ld2string's %.17Lf: a large value is written out in full.
  CHECK(h.Run({"INCRBYFLOAT", "f", "1e300"}) ==
        Bulk("100000000000000000000899732407955919387052394427329074793826008232126564659618"
             "09357558491520837504971903503725086142748359035925561846729839130962605207486"
             "46287327135641843653294084255107606016789726652932370030551382947620994540294"
             "772781889620606179267611627097410650567187386105690089424915104006144"));
  CHECK(h.Run({"INCRBYFLOAT", "h", "inf"}) == "-ERR increment would produce NaN or Infinity\r\n");
  CHECK(
      h.Run({"INCRBYFLOAT", "h", "1e4932"}) ==
      Bulk("10000000000000000000060189493879638913238377742545331147737850413525330194866087224075"
           "33327779433142773666525563666277682061860906440460336623416164931097542108653623739947"
           "23782427360775564628207733774677062828108346124470945764363340927284485142091466676540"
           "83398564977383067564541370376184404761829828659540540463209082995559423213025033206020"
           "80070208203623921079151881460203745014774931620490030394998719312614654064081373493248"
           "87712089245518638375343919787097804150279771688019395540310772191163864625693948419729"
           "31281603294823609969957794892248592640341469490871948207942224336878492845619872301340"
           "06305414553626323614864479565079390052761980633463640128979696615362545507608303960553"
           "83086614559264437228910291860269674176774129715399835926313589798584969763867831058680"
           "37200246475930660440703237617474393751519499941915288761722740345612384656895309140024"
           "96208547488452249219821049217690359246594326188537200846025476936856707726986425804304"
           "05368831757238029269088045467785221045879073317742109896534638384553301619296565337753"
           "34210975537732021054525595893602277325508435457174697152112930292771006499515792794632"
           "12875228768700827274629951331584994203243708412190948315614798641721054158397351395747"
           "75854832875427053422572136164035622781608009489243336690241745424238262923227754402660"
           "96402553255578143215803253403523306606176423266961402572395525491210719851894438467776"
           "23334881929189773707008403466595204838733621633273383631944856989484138444978386656058"
           "75531084883368979189648499884755036426410480080057824551176259469116154573089131974410"
           "79538979931010082176012693106298903083578937933443400728377827164105208186400997710944"
           "01772024731084835860689936533035726854175396195351768096519310944631445923638053214575"
           "99337846877529286587143574224977797982277501432447584589961509638007989909953845312104"
           "38518213491783717366407026453042842548854376114416903606164663682021943077694622099633"
           "87690446576691969551571041941288302648912827345194286271122230347823246073498285153708"
           "57950006265622271495411332929395334649561594778409117588355498811716738765068152578136"
           "18644503649926050791297706047932910765596680411535582547657742888313306586769102965065"
           "38343982699076824147706077401185501337053676875440863113630172067902223837838525802181"
           "40600394260650760982632001519380763303558666153915042560594069176863784581543418458525"
           "59150740813172503195727003705798779771776443452059335058503742127790648371462427650347"
           "14569464306865784829936445754893825213995710137567750342556762329137973387913047300554"
           "84173750680015498419868692396528614707927320356100464736528604987679078828830113005043"
           "72074890677988420784433601677722458341036293010413452521227434375019352543707570498785"
           "26838283810705343010153283985958550741661374001212323172562230037290597675029278865489"
           "57026880361800152028074858848185863233214542218152450097053373885865288162573815895584"
           "04693348301063662432622104292102581739781865222083068142070388315903326221554641592161"
           "93005478809313772661406449321989529908990407599717265354887081027622412165764793106246"
           "30991098475786962798270088505525990097356712849843778267149261035108885827146338749583"
           "30218193185487055586063958460703905003232046363393836555281236574381152250354339475438"
           "76805317781492691295772410403746456774175666884503175504415270824258750305653788473882"
           "67103834048127818864801364745019043146973727700800304120469385915354405805910838451654"
           "12615211270881164023496791513172273951836284909221613364297573866984019286823236570569"
           "24758648793848799822907606679071280964393541325129231682456669123450140879120137931548"
           "65253760150865620918348692838451584297376016360175623069782677923727507847182425866438"
           "21337598761515375325984295219997584310180870018174853009194795831710499677813222029368"
           "64648780744025361452947117776701129210049872555316467204668470989130203733391349501708"
           "71318124406892119958731482397456823417479242913979908858779466652876998660282037596804"
           "54452092198755966788779121033369498941423781736486921308541778980201946296703111019949"
           "38157038765957014792056173739623614871557317714453597336202068774935086409386414223375"
           "14176560175826841876411465105308828100924824611019508436446892683757299287011041141487"
           "87706163978173345293674032380616996320892935431181852998812804634818006962019667235119"
           "22556078483839325067415562633057448408746541808590342228476964416681055875561781810005"
           "93632819184481591565871968352284597990101833505000624639202765714958033231973966037670"
           "71804291662806582584347733627645632771342205257798698938328248664229099284849393749640"
           "71386248088592408142723646533801882861736205992781965360090000802821408763787641023437"
           "65311926375728021277369465521350707571762252116022718715763163558368213008936468254300"
           "72920420099761501351894159234132441000064210828173949883002657344226775481007418296828"
           "42668334472314928702968616204691717366798642916146473018363370523427203416579250811577"
           "90098598095740483001940360036186052098593797350695655773975474178335472858935087637937"
           "1163141086538418113791886622720"));
  CHECK(h.Run({"INCRBYFLOAT", "h", "1e4932"}) ==
        "-ERR increment would produce NaN or Infinity\r\n");

  CHECK(h.Run({"INCRBYFLOAT", "f", "abc"}) == kNotFloat);
  CHECK(h.Run({"INCRBYFLOAT", "f", " 1"}) == kNotFloat);
  CHECK(h.Run({"INCRBYFLOAT", "f", ""}) == kNotFloat);
  CHECK(h.Run({"INCRBYFLOAT", "f", "nan"}) == kNotFloat);
  CHECK(h.Run({"INCRBYFLOAT", "f", "1e5000"}) == kNotFloat);   // overflows a long double
  CHECK(h.Run({"INCRBYFLOAT", "f", "1e-5000"}) == kNotFloat);  // underflows to zero
  CHECK(h.Run({"INCRBYFLOAT", "f", std::string("1\0", 2)}) == kNotFloat);
  // Redis's buffer is 5120 bytes: 5119 are accepted, 5120 are not.
  CHECK(h.Run({"INCRBYFLOAT", "z", std::string(5118, '0') + "1"}) == Bulk("1"));
  CHECK(h.Run({"INCRBYFLOAT", "z", std::string(5119, '0') + "1"}) == kNotFloat);
  for (const std::string& bad : std::vector<std::string>{"abc", "", " 1", "nan"}) {
    CAPTURE(bad);
    CHECK(h.Run({"SET", "s", bad}) == kOk);
    CHECK(h.Run({"INCRBYFLOAT", "s", "1"}) == kNotFloat);
  }
  h.session().resp = 3;
  CHECK(h.Run({"INCRBYFLOAT", "r3", "2.5"}) == Bulk("2.5"));  // a bulk string in RESP3 too
  CHECK(h.Run({"INCRBYFLOAT", "r3"}) == WrongArgs("incrbyfloat"));
}

TEST_CASE("GETRANGE and SUBSTR") {
  CommandHarness h;
  CHECK(h.Run({"SET", "s", "hello"}) == kOk);
  struct Case {
    std::string start, end, expect;
  };
  for (const Case& c : std::vector<Case>{
           {"0", "-1", Bulk("hello")},
           {"0", "-100", Bulk("h")},  // negative end clamps to 0
           {"-100", "-100", Bulk("h")},
           {"-1", "-5", kEmpty},  // both negative, start > end
           {"-6", "-7", kEmpty},  // ... even when both would clamp to 0
           {"-7", "-6", Bulk("h")},
           {"-5", "-1", Bulk("hello")},
           {"2", "1", kEmpty},
           {"0", "100", Bulk("hello")},
           {"5", "10", kEmpty},
           {"4", "4", Bulk("o")},
           {"-3", "-2", Bulk("ll")},
           {"1", "3", Bulk("ell")},
           {"-9223372036854775808", "9223372036854775807", Bulk("hello")},
       }) {
    CAPTURE(c.start);
    CAPTURE(c.end);
    CHECK(h.Run({"GETRANGE", "s", c.start, c.end}) == c.expect);
    CHECK(h.Run({"SUBSTR", "s", c.start, c.end}) == c.expect);
  }
  CHECK(h.Run({"GETRANGE", "s", "abc", "1"}) == kNotInt);
  CHECK(h.Run({"GETRANGE", "s", "1", "abc"}) == kNotInt);
  CHECK(h.Run({"GETRANGE", "missing", "0", "1"}) == kEmpty);
  CHECK(h.Run({"GETRANGE", "missing", "abc", "1"}) == kNotInt);  // parsed before the lookup
  CHECK(h.Run({"SET", "e", ""}) == kOk);
  CHECK(h.Run({"GETRANGE", "e", "0", "-1"}) == kEmpty);
  CHECK(h.Run({"GETRANGE", "e", "0", "0"}) == kEmpty);
  CHECK(h.Run({"SET", "b", std::string("a\0b\r\n", 5)}) == kOk);
  CHECK(h.Run({"GETRANGE", "b", "1", "3"}) == Bulk(std::string("\0b\r", 3)));
  h.session().resp = 3;
  CHECK(h.Run({"GETRANGE", "missing", "0", "1"}) == kEmpty);  // an empty string, not null
  CHECK(h.Run({"GETRANGE", "s", "1"}) == WrongArgs("getrange"));
  CHECK(h.Run({"SUBSTR", "s", "1", "2", "3"}) == WrongArgs("substr"));
}

TEST_CASE("SETRANGE") {
  CommandHarness h;
  CHECK(h.Run({"SET", "s", "hello"}) == kOk);
  CHECK(h.Run({"SETRANGE", "s", "-1", "x"}) == "-ERR offset is out of range\r\n");
  CHECK(h.Run({"SETRANGE", "s", "abc", "x"}) == kNotInt);
  CHECK(h.Run({"SETRANGE", "s", "+1", "x"}) == kNotInt);
  CHECK(h.Run({"SETRANGE", "s", "1", ""}) == Int(5));  // nothing to write: the length
  CHECK(h.Run({"SETRANGE", "s", "10", ""}) == Int(5));
  CHECK(h.Run({"SETRANGE", "s", "1", "EL"}) == Int(5));
  CHECK(h.Run({"GET", "s"}) == Bulk("hELlo"));
  CHECK(h.Run({"SETRANGE", "s", "7", "XY"}) == Int(9));  // zero padding
  CHECK(h.Run({"GET", "s"}) == Bulk(std::string("hELlo\0\0XY", 9)));
  CHECK(h.Run({"SETRANGE", "s", "3", std::string("\0\r\n", 3)}) == Int(9));
  CHECK(h.Run({"GET", "s"}) == Bulk(std::string("hEL\0\r\n\0XY", 9)));

  // A missing key with an empty value stays missing; the offset is still validated first.
  CHECK(h.Run({"SETRANGE", "m", "0", ""}) == Int(0));
  CHECK(h.Run({"SETRANGE", "m", "5", ""}) == Int(0));
  CHECK(h.Run({"SETRANGE", "m", "536870912", ""}) == Int(0));
  CHECK(h.Run({"SETRANGE", "m", "-1", ""}) == "-ERR offset is out of range\r\n");
  CHECK(ExpireAt(h, "m") == -2);
  CHECK(h.Run({"SETRANGE", "m", "3", "ab"}) == Int(5));
  CHECK(h.Run({"GET", "m"}) == Bulk(std::string("\0\0\0ab", 5)));

  // Size limit (default 512 MB): checked before anything is allocated.
  CHECK(h.Run({"SETRANGE", "s", "536870912", "x"}) == kTooLong);
  CHECK(h.Run({"SETRANGE", "s", "9223372036854775807", "x"}) == kTooLong);
  CHECK(h.Run({"SETRANGE", "n", "536870912", "x"}) == kTooLong);
  CHECK(ExpireAt(h, "n") == -2);

  // SETRANGE modifies in place: the TTL stays.
  CHECK(h.Run({"SET", "t", "abc", "EX", "100"}) == kOk);
  int64_t at = ExpireAt(h, "t");
  CHECK(h.Run({"SETRANGE", "t", "1", "X"}) == Int(3));
  CHECK(ExpireAt(h, "t") == at);
  CHECK(h.Run({"SETRANGE", "t", "1"}) == WrongArgs("setrange"));
}

TEST_CASE("proto-max-bulk-len limits APPEND and SETRANGE growth") {
  SmallLimitHarness h(100);
  CHECK(h.Run({"SETRANGE", "k", "99", "x"}) == Int(100));  // exactly the limit
  CHECK(h.Run({"SETRANGE", "k", "100", "x"}) == kTooLong);
  CHECK(h.Run({"SETRANGE", "k", "99", "xy"}) == kTooLong);
  CHECK(h.Run({"SETRANGE", "k", "0", "y"}) == Int(100));  // no growth: fine
  CHECK(h.Run({"APPEND", "k", "z"}) == kTooLong);
  CHECK(h.Run({"APPEND", "k", ""}) == Int(100));
  CHECK(h.Run({"SETRANGE", "n", "100", "x"}) == kTooLong);
  CHECK(h.Run({"STRLEN", "n"}) == Int(0));
  // Creating a key with APPEND is not checked (the argument already passed the protocol).
  CHECK(h.Run({"APPEND", "a", std::string(150, 'a')}) == Int(150));
  CHECK(h.Run({"APPEND", "a", "b"}) == kTooLong);
}

TEST_CASE("LCS: plain, LEN, IDX in RESP2") {
  CommandHarness h;
  CHECK(h.Run({"MSET", "a", "ohmytext", "b", "mynewtext"}) == kOk);
  CHECK(h.Run({"LCS", "a", "b"}) == Bulk("mytext"));
  CHECK(h.Run({"LCS", "a", "b", "LEN"}) == Int(6));
  CHECK(h.Run({"LCS", "a", "b", "IDX"}) ==
        "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
        "*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n");
  CHECK(h.Run({"LCS", "a", "b", "idx", "minmatchlen", "4"}) ==
        "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
        "$3\r\nlen\r\n:6\r\n");
  CHECK(h.Run({"LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"}) ==
        "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
        "$3\r\nlen\r\n:6\r\n");
  CHECK(h.Run({"LCS", "a", "b", "IDX", "WITHMATCHLEN"}) ==
        "*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
        "*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n");
  // A negative MINMATCHLEN counts as 0.
  CHECK(h.Run({"LCS", "a", "b", "MINMATCHLEN", "-5", "IDX"}) == h.Run({"LCS", "a", "b", "IDX"}));
  // Options that do not apply are accepted and ignored.
  CHECK(h.Run({"LCS", "a", "b", "WITHMATCHLEN"}) == Bulk("mytext"));
  CHECK(h.Run({"LCS", "a", "b", "MINMATCHLEN", "2", "LEN"}) == Int(6));

  // Ties are broken like Redis (the walk prefers moving in the second string).
  CHECK(h.Run({"MSET", "x", "abcbdab", "y", "bdcaba"}) == kOk);
  CHECK(h.Run({"LCS", "x", "y"}) == Bulk("bdab"));
  CHECK(h.Run({"LCS", "x", "y", "IDX", "WITHMATCHLEN"}) ==
        "*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:5\r\n:6\r\n*2\r\n:3\r\n:4\r\n:2\r\n"
        "*3\r\n*2\r\n:3\r\n:4\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:4\r\n");
  // Binary values.
  CHECK(h.Run({"MSET", "p", std::string("ab\0cd", 5), "q", std::string("xb\0c", 4)}) == kOk);
  CHECK(h.Run({"LCS", "p", "q"}) == Bulk(std::string("b\0c", 3)));
  CHECK(h.Run({"LCS", "p", "q", "IDX"}) ==
        "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:1\r\n:3\r\n*2\r\n:1\r\n:3\r\n"
        "$3\r\nlen\r\n:3\r\n");

  // Missing keys are empty strings.
  CHECK(h.Run({"LCS", "missing", "missing2"}) == kEmpty);
  CHECK(h.Run({"LCS", "a", "missing"}) == kEmpty);
  CHECK(h.Run({"LCS", "missing", "missing", "LEN"}) == Int(0));
  CHECK(h.Run({"LCS", "missing", "missing", "IDX"}) ==
        "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n");
}

TEST_CASE("LCS: RESP3 IDX reply is a map") {
  CommandHarness h;
  h.session().resp = 3;
  CHECK(h.Run({"MSET", "a", "ohmytext", "b", "mynewtext"}) == kOk);
  CHECK(h.Run({"LCS", "a", "b", "IDX"}) ==
        "%2\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
        "*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n");
  CHECK(h.Run({"LCS", "a", "b", "IDX", "WITHMATCHLEN", "MINMATCHLEN", "3"}) ==
        "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
        "$3\r\nlen\r\n:6\r\n");
  CHECK(h.Run({"LCS", "missing", "missing", "IDX"}) ==
        "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n");
  CHECK(h.Run({"LCS", "a", "b", "LEN"}) == Int(6));
  CHECK(h.Run({"LCS", "a", "b"}) == Bulk("mytext"));
}

TEST_CASE("LCS errors") {
  CommandHarness h;
  CHECK(h.Run({"MSET", "a", "ohmytext", "b", "mynewtext"}) == kOk);
  const std::string both = "-ERR If you want both the length and indexes, please just use IDX.\r\n";
  CHECK(h.Run({"LCS", "a", "b", "LEN", "IDX"}) == both);
  CHECK(h.Run({"LCS", "a", "b", "IDX", "LEN"}) == both);
  CHECK(h.Run({"LCS", "a", "b", "MINMATCHLEN"}) == kSyntax);  // missing value
  CHECK(h.Run({"LCS", "a", "b", "FOO"}) == kSyntax);
  CHECK(h.Run({"LCS", "a", "b", "MINMATCHLEN", "abc"}) == kNotInt);
  // Options are checked in order, before the IDX+LEN conflict.
  CHECK(h.Run({"LCS", "a", "b", "IDX", "LEN", "MINMATCHLEN", "abc"}) == kNotInt);
  CHECK(h.Run({"LCS", "a", "b", "IDX", "LEN", "BAD"}) == kSyntax);
  CHECK(h.Run({"LCS", "a"}) == WrongArgs("lcs"));

  // The DP table may not exceed proto-max-bulk-len: (5+1)*(5+1)*4 = 144 bytes > 100.
  SmallLimitHarness small(100);
  CHECK(small.Run({"MSET", "x", "abcde", "y", "abcde"}) == kOk);
  CHECK(small.Run({"LCS", "x", "y"}) ==
        "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n");
  CHECK(small.Run({"MSET", "x", "abcd", "y", "abc"}) == kOk);  // 5*4*4 = 80 bytes: fine
  CHECK(small.Run({"LCS", "x", "y"}) == Bulk("abc"));
}

TEST_CASE("String commands are registered with Redis 7.0's COMMAND INFO values") {
  commands::CommandTable table;
  commands::RegisterStringCommands(&table);
  using commands::kDenyOom;
  using commands::kFast;
  using commands::kReadOnly;
  using commands::kWrite;
  using Strings = std::vector<std::string>;
  struct Expect {
    std::string name;
    int arity;
    uint32_t flags;
    int first, last, step;
    Strings acl;
    Strings key_flags;  // the single key spec's flags
    Strings tips;
  };
  const Strings rf = {"@read", "@string", "@fast"};
  const Strings rs = {"@read", "@string", "@slow"};
  const Strings wf = {"@write", "@string", "@fast"};
  const Strings ws = {"@write", "@string", "@slow"};
  const Strings rw_update = {"RW", "access", "update"};
  const std::vector<Expect> expected = {
      {"get", 2, kReadOnly | kFast, 1, 1, 1, rf, {"RO", "access"}, {}},
      {"set", -3, kWrite | kDenyOom, 1, 1, 1, ws, {"RW", "access", "update", "variable_flags"}, {}},
      {"setnx", 3, kWrite | kDenyOom | kFast, 1, 1, 1, wf, {"OW", "insert"}, {}},
      {"setex", 4, kWrite | kDenyOom, 1, 1, 1, ws, {"OW", "update"}, {}},
      {"psetex", 4, kWrite | kDenyOom, 1, 1, 1, ws, {"OW", "update"}, {}},
      {"mget",
       -2,
       kReadOnly | kFast,
       1,
       -1,
       1,
       rf,
       {"RO", "access"},
       {"request_policy:multi_shard"}},
      {"mset",
       -3,
       kWrite | kDenyOom,
       1,
       -1,
       2,
       ws,
       {"OW", "update"},
       {"request_policy:multi_shard", "response_policy:all_succeeded"}},
      {"msetnx",
       -3,
       kWrite | kDenyOom,
       1,
       -1,
       2,
       ws,
       {"OW", "insert"},
       {"request_policy:multi_shard", "response_policy:agg_min"}},
      {"getset", 3, kWrite | kDenyOom | kFast, 1, 1, 1, wf, rw_update, {}},
      {"getdel", 2, kWrite | kFast, 1, 1, 1, wf, {"RW", "access", "delete"}, {}},
      {"getex", -2, kWrite | kFast, 1, 1, 1, wf, rw_update, {}},
      {"append", 3, kWrite | kDenyOom | kFast, 1, 1, 1, wf, {"RW", "insert"}, {}},
      {"strlen", 2, kReadOnly | kFast, 1, 1, 1, rf, {"RO"}, {}},
      {"incr", 2, kWrite | kDenyOom | kFast, 1, 1, 1, wf, rw_update, {}},
      {"decr", 2, kWrite | kDenyOom | kFast, 1, 1, 1, wf, rw_update, {}},
      {"incrby", 3, kWrite | kDenyOom | kFast, 1, 1, 1, wf, rw_update, {}},
      {"decrby", 3, kWrite | kDenyOom | kFast, 1, 1, 1, wf, rw_update, {}},
      {"incrbyfloat", 3, kWrite | kDenyOom | kFast, 1, 1, 1, wf, rw_update, {}},
      {"getrange", 4, kReadOnly, 1, 1, 1, rs, {"RO", "access"}, {}},
      {"substr", 4, kReadOnly, 1, 1, 1, rs, {"RO", "access"}, {}},
      {"setrange", 4, kWrite | kDenyOom, 1, 1, 1, ws, {"RW", "update"}, {}},
      {"lcs", -3, kReadOnly, 1, 2, 1, rs, {"RO", "access"}, {}},
  };
  CHECK(table.all().size() == expected.size());
  for (const Expect& e : expected) {
    CAPTURE(e.name);
    const commands::CommandSpec* spec = table.Find(e.name);
    REQUIRE(spec != nullptr);
    CHECK(spec->name == e.name);
    CHECK(spec->arity == e.arity);
    CHECK(spec->flags == e.flags);
    CHECK(spec->first_key == e.first);
    CHECK(spec->last_key == e.last);
    CHECK(spec->key_step == e.step);
    CHECK(spec->acl_categories == e.acl);
    CHECK(spec->group == "string");
    CHECK((spec->handler != nullptr));
    CHECK(!spec->summary.empty());
    CHECK(!spec->since.empty());
    CHECK(!spec->complexity.empty());
    CHECK(spec->tips == e.tips);
    REQUIRE(spec->key_specs.size() == 1);
    const commands::KeySpec& ks = spec->key_specs[0];
    CHECK(ks.flags == e.key_flags);
    CHECK(ks.begin_index == 1);
    // Key spec ranges are relative to the first key (LCS: the next argument is a key too).
    CHECK(ks.last_key == (e.last == -1 ? -1 : e.last - e.first));
    CHECK(ks.key_step == e.step);
  }
  CHECK(table.Find("set")->key_specs[0].notes ==
        "RW and ACCESS due to the optional `GET` argument");
  CHECK(table.Find("getex")->key_specs[0].notes == "RW and UPDATE because it changes the TTL");
  CHECK(table.Find("get")->key_specs[0].notes.empty());
  CHECK(table.Find("lcs")->since == "7.0.0");
  CHECK(table.Find("getex")->since == "6.2.0");
  CHECK(table.Find("substr")->since == "1.0.0");
  CHECK(table.Find("get")->summary == "Get the value of a key");
}

}  // namespace
}  // namespace organic

TEST_CASE("COMMAND GETKEYSANDFLAGS: SET's key flags depend on GET (variable_flags)") {
  organic::testing::CommandHarness h;
  CHECK(h.Run({"COMMAND", "GETKEYSANDFLAGS", "SET", "k1", "v1"}) ==
        "*1\r\n*2\r\n$2\r\nk1\r\n*2\r\n+OW\r\n+update\r\n");
  CHECK(h.Run({"COMMAND", "GETKEYSANDFLAGS", "set", "k1", "v1", "EX", "10", "get"}) ==
        "*1\r\n*2\r\n$2\r\nk1\r\n*3\r\n+RW\r\n+access\r\n+update\r\n");
  CHECK(h.Run({"COMMAND", "GETKEYSANDFLAGS", "mset", "k1", "v1", "k2", "v2"}) ==
        "*2\r\n*2\r\n$2\r\nk1\r\n*2\r\n+OW\r\n+update\r\n*2\r\n$2\r\nk2\r\n*2\r\n+OW\r\n"
        "+update\r\n");
}
