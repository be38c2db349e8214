// Expiry commands: EXPIRE PEXPIRE EXPIREAT PEXPIREAT (NX XX GT LT), TTL PTTL EXPIRETIME
// PEXPIRETIME and PERSIST. Expected replies were taken from redis-server 7.0.15 (redis-cli and
// raw RESP). Helpers: keyspace_test_util.h.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "keyspace_test_util.h"
#include "util/clock.h"

namespace organic {
namespace {

using namespace testing;

// ---------------------------------------------------------------------------------------------
// EXPIRE PEXPIRE EXPIREAT PEXPIREAT

TEST_CASE("expire: option errors") {
  CommandHarness h;
  h.Run({"SET", "a", "1"});
  const std::string nx_err =
      Err("ERR NX and XX, GT or LT options at the same time are not compatible");
  const std::string gtlt_err = Err("ERR GT and LT options at the same time are not compatible");
  for (const char* cmd : {"EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"}) {
    CAPTURE(cmd);
    CHECK(h.Run({cmd, "a", "100", "NX", "XX"}) == nx_err);
    CHECK(h.Run({cmd, "a", "100", "nx", "gt"}) == nx_err);
    CHECK(h.Run({cmd, "a", "100", "LT", "NX"}) == nx_err);
    CHECK(h.Run({cmd, "a", "100", "GT", "LT"}) == gtlt_err);
    CHECK(h.Run({cmd, "a", "100", "xx", "gt", "lt"}) == gtlt_err);
    CHECK(h.Run({cmd, "a", "100", "Foo"}) == Err("ERR Unsupported option Foo"));
    // Unknown options are reported before incompatibilities and before the time is parsed.
    CHECK(h.Run({cmd, "a", "100", "NX", "XX", "bar"}) == Err("ERR Unsupported option bar"));
    CHECK(h.Run({cmd, "a", "abc", "bar"}) == Err("ERR Unsupported option bar"));
    CHECK(h.Run({cmd, "a", "abc"}) == Err("ERR value is not an integer or out of range"));
    CHECK(h.Run({cmd, "a", "1.5"}) == Err("ERR value is not an integer or out of range"));
    CHECK(h.Run({cmd, "a", "100", "NX", "XX"}) == nx_err);
    CHECK(h.Run({cmd, "missing", "100", "GT", "LT"}) == gtlt_err);
  }
  CHECK(h.Run({"EXPIRE", "a", "10", "x\r\ny"}) == Err("ERR Unsupported option x  y"));
  CHECK(h.Run({"TTL", "a"}) == Int(-1));  // none of the above changed the key
}

TEST_CASE("expire: overflow checks") {
  CommandHarness h;
  h.Run({"SET", "a", "1"});
  CHECK(h.Run({"EXPIRE", "a", "9223372036854775807"}) ==
        Err("ERR invalid expire time in 'expire' command"));
  CHECK(h.Run({"EXPIRE", "a", "9223372036854775"}) ==  // * 1000 fits, + now does not
        Err("ERR invalid expire time in 'expire' command"));
  CHECK(h.Run({"EXPIRE", "a", "9223372036854776"}) ==
        Err("ERR invalid expire time in 'expire' command"));
  CHECK(h.Run({"EXPIRE", "a", "-9223372036854776"}) ==
        Err("ERR invalid expire time in 'expire' command"));
  CHECK(h.Run({"PEXPIRE", "a", "9223372036854775807"}) ==
        Err("ERR invalid expire time in 'pexpire' command"));
  CHECK(h.Run({"EXPIREAT", "a", "9223372036854775807"}) ==
        Err("ERR invalid expire time in 'expireat' command"));
  CHECK(h.Run({"ExpireAt", "a", "9223372036854776"}) ==  // the canonical name, lowercase
        Err("ERR invalid expire time in 'expireat' command"));
  // The overflow check happens before the key lookup.
  CHECK(h.Run({"PEXPIRE", "missing", "9223372036854775807"}) ==
        Err("ERR invalid expire time in 'pexpire' command"));
  CHECK(h.Run({"TTL", "a"}) == Int(-1));
  // The largest accepted values.
  CHECK(h.Run({"PEXPIREAT", "a", "9223372036854775807"}) == Int(1));
  CHECK(h.Run({"PEXPIRETIME", "a"}) == Int(INT64_MAX));
  CHECK(h.Run({"EXPIRETIME", "a"}) == Int(9223372036854776));  // rounded without overflow
  CHECK(h.Run({"EXPIREAT", "a", "9223372036854775"}) == Int(1));
  CHECK(h.Run({"PEXPIRETIME", "a"}) == Int(9223372036854775000));
  CHECK(h.Run({"EXPIRETIME", "a"}) == Int(9223372036854775));
  // Large negative values that do not overflow delete the key.
  CHECK(h.Run({"EXPIRE", "a", "-9223372036854775"}) == Int(1));
  CHECK(h.Run({"EXISTS", "a"}) == Int(0));
  h.Run({"SET", "a", "1"});
  CHECK(h.Run({"PEXPIRE", "a", "-9223372036854775808"}) == Int(1));
  CHECK(h.Run({"EXISTS", "a"}) == Int(0));
}

TEST_CASE("expire: setting a TTL, missing keys, times in the past delete") {
  CommandHarness h;
  CHECK(h.Run({"EXPIRE", "missing", "100"}) == Int(0));
  CHECK(h.Run({"EXPIRE", "missing", "-1"}) == Int(0));
  h.Run({"SET", "a", "1"});
  CHECK(h.Run({"EXPIRE", "a", "100"}) == Int(1));
  CHECK(h.Run({"TTL", "a"}) == Int(100));
  int64_t pttl = ReplyInt(h.Run({"PTTL", "a"}));
  CHECK(pttl > 99000);
  CHECK(pttl <= 100000);
  CHECK(h.Run({"PEXPIRE", "a", "5500"}) == Int(1));
  int64_t ttl = ReplyInt(h.Run({"TTL", "a"}));
  CHECK((ttl == 5 || ttl == 6));  // (ms + 500) / 1000
  int64_t at_s = UnixTimeMs() / 1000 + 1000;
  CHECK(h.Run({"EXPIREAT", "a", std::to_string(at_s)}) == Int(1));
  CHECK(h.Run({"EXPIRETIME", "a"}) == Int(at_s));
  CHECK(h.Run({"PEXPIRETIME", "a"}) == Int(at_s * 1000));
  int64_t at_ms = UnixTimeMs() + 123456;
  CHECK(h.Run({"PEXPIREAT", "a", std::to_string(at_ms)}) == Int(1));
  CHECK(h.Run({"PEXPIRETIME", "a"}) == Int(at_ms));
  CHECK(h.Run({"EXPIRETIME", "a"}) == Int((at_ms + 500) / 1000));
  CHECK(h.engine().VolatileCount(0) == 1);
  // Zero, negative and past absolute times delete the key and reply 1.
  for (std::vector<std::string> args :
       std::vector<std::vector<std::string>>{{"EXPIRE", "a", "0"},
                                             {"EXPIRE", "a", "-10"},
                                             {"PEXPIRE", "a", "0"},
                                             {"EXPIREAT", "a", "1"},
                                             {"PEXPIREAT", "a", std::to_string(UnixTimeMs() - 1)},
                                             {"PEXPIREAT", "a", "0"}}) {
    CAPTURE(args[0]);
    CAPTURE(args[2]);
    h.Run({"SET", "a", "1"});
    CHECK(h.Run(args) == Int(1));
    CHECK(h.Run({"EXISTS", "a"}) == Int(0));
    CHECK(h.engine().KeyCount(0) == 0);
  }
  // An expired key counts as missing.
  PutExpired(h, 0, "stale");
  CHECK(h.Run({"EXPIRE", "stale", "100"}) == Int(0));
  CHECK(h.Run({"EXISTS", "stale"}) == Int(0));
}

TEST_CASE("expire: NX XX GT LT matrix") {
  // Each row: starting TTL of the key (0 = none), the option, the new relative TTL (s),
  // expected reply, expected TTL afterwards (-1 none, -2 deleted).
  struct Row {
    int64_t start_s;
    std::vector<std::string> options;
    int64_t new_s;
    int64_t reply;
    int64_t ttl_after;
  };
  const std::vector<Row> rows = {
      {0, {"NX"}, 100, 1, 100},
      {50, {"NX"}, 100, 0, 50},
      {0, {"XX"}, 100, 0, -1},
      {50, {"XX"}, 100, 1, 100},
      {0, {"GT"}, 100, 0, -1},  // no TTL is infinite: nothing is greater
      {50, {"GT"}, 100, 1, 100},
      {50, {"GT"}, 50, 0, 50},  // equal is not greater
      {50, {"GT"}, 10, 0, 50},
      {0, {"LT"}, 100, 1, 100},  // anything is less than infinite
      {50, {"LT"}, 100, 0, 50},
      {50, {"LT"}, 50, 0, 50},
      {50, {"LT"}, 10, 1, 10},
      {0, {"XX", "GT"}, 100, 0, -1},
      {50, {"XX", "GT"}, 100, 1, 100},
      {0, {"XX", "LT"}, 10, 0, -1},
      {50, {"XX", "LT"}, 10, 1, 10},
      {50, {"xx", "lt", "LT"}, 10, 1, 10},
      {0, {"NX", "NX"}, 100, 1, 100},
      // Conditions are checked before "a past time deletes".
      {0, {"GT"}, -1, 0, -1},
      {50, {"GT"}, -1, 0, 50},
      {0, {"LT"}, -1, 1, -2},
      {50, {"LT"}, -1, 1, -2},
      {0, {"XX"}, -1, 0, -1},
      {50, {"NX"}, -1, 0, 50},
      {0, {"NX"}, -1, 1, -2},
  };
  for (const Row& row : rows) {
    for (const char* cmd : {"EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"}) {
      CommandHarness h;
      CAPTURE(cmd);
      CAPTURE(row.start_s);
      CAPTURE(row.options.front());
      CAPTURE(row.new_s);
      h.Run({"SET", "k", "v"});
      int64_t now = UnixTimeMs();
      if (row.start_s != 0) {
        REQUIRE(h.Run({"PEXPIREAT", "k", std::to_string(now + row.start_s * 1000)}) == Int(1));
      }
      std::string when;
      std::string c = cmd;
      if (c == "EXPIRE") when = std::to_string(row.new_s);
      if (c == "PEXPIRE") when = std::to_string(row.new_s * 1000);
      // For the absolute forms, "equal" must be exactly equal: reuse now, rounded for seconds.
      if (c == "EXPIREAT")
        when = std::to_string(row.new_s < 0 ? 1 : (now + row.new_s * 1000) / 1000);
      if (c == "PEXPIREAT") when = std::to_string(row.new_s < 0 ? 1 : now + row.new_s * 1000);
      if (row.new_s == row.start_s && c != "PEXPIREAT") {
        // Only PEXPIREAT can name exactly the current expiry: the relative forms add a later
        // "now", EXPIREAT truncates to seconds.
        continue;
      }
      std::vector<std::string> args = {cmd, "k", when};
      args.insert(args.end(), row.options.begin(), row.options.end());
      CHECK(h.Run(args) == Int(row.reply));
      std::string ttl = h.Run({"TTL", "k"});
      if (row.ttl_after < 0) {
        CHECK(ttl == Int(row.ttl_after));
      } else {
        int64_t got = ReplyInt(ttl);
        CHECK(got >= row.ttl_after - 1);
        CHECK(got <= row.ttl_after);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// TTL PTTL EXPIRETIME PEXPIRETIME PERSIST

TEST_CASE("expire: TTL family on missing, persistent and volatile keys") {
  CommandHarness h;
  for (const char* cmd : {"TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"}) {
    CAPTURE(cmd);
    CHECK(h.Run({cmd, "missing"}) == Int(-2));
  }
  h.Run({"SET", "p", "1"});
  for (const char* cmd : {"TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"}) {
    CAPTURE(cmd);
    CHECK(h.Run({cmd, "p"}) == Int(-1));
  }
  PutExpired(h, 0, "stale");
  for (const char* cmd : {"TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"}) {
    PutExpired(h, 0, "stale");
    CHECK(h.Run({cmd, "stale"}) == Int(-2));
  }
  // Rounding of seconds: (ms + 500) / 1000.
  h.Run({"SET", "v", "1"});
  h.Run({"PEXPIREAT", "v", "4102444800499"});  // 2100-01-01 00:00:00.499
  CHECK(h.Run({"EXPIRETIME", "v"}) == Int(4102444800));
  h.Run({"PEXPIREAT", "v", "4102444800500"});
  CHECK(h.Run({"EXPIRETIME", "v"}) == Int(4102444801));
  CHECK(h.Run({"PEXPIRETIME", "v"}) == Int(4102444800500));
  h.Run({"PEXPIRE", "v", "2400"});
  CHECK(h.Run({"TTL", "v"}) == Int(2));  // 2400 or a little less rounds to 2
  h.session().resp = 3;
  CHECK(h.Run({"TTL", "missing"}) == Int(-2));
}

TEST_CASE("expire: PERSIST") {
  CommandHarness h;
  CHECK(h.Run({"PERSIST", "missing"}) == Int(0));
  h.Run({"SET", "a", "1"});
  CHECK(h.Run({"PERSIST", "a"}) == Int(0));
  h.Run({"EXPIRE", "a", "100"});
  CHECK(h.engine().VolatileCount(0) == 1);
  CHECK(h.Run({"PERSIST", "a"}) == Int(1));
  CHECK(h.Run({"TTL", "a"}) == Int(-1));
  CHECK(h.Run({"GET", "a"}) == Bulk("1"));
  CHECK(h.engine().VolatileCount(0) == 0);
  CHECK(h.Run({"PERSIST", "a"}) == Int(0));
  PutExpired(h, 0, "stale");
  CHECK(h.Run({"PERSIST", "stale"}) == Int(0));
  CHECK(h.Run({"EXISTS", "stale"}) == Int(0));
}

TEST_CASE("expire: TTLs survive a WAL replay after EXPIRE and PERSIST") {
  CommandHarness h;
  h.Run({"SET", "a", "1"});
  h.Run({"SET", "b", "1"});
  int64_t at = UnixTimeMs() + 500000;
  h.Run({"PEXPIREAT", "a", std::to_string(at)});
  h.Run({"EXPIRE", "b", "100"});
  h.Run({"PERSIST", "b"});
  REQUIRE(h.engine().Reload().ok());
  CHECK(h.Run({"PEXPIRETIME", "a"}) == Int(at));
  CHECK(h.Run({"TTL", "b"}) == Int(-1));
}

}  // namespace
}  // namespace organic
