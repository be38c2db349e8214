// SCAN and the SCAN cursor table. Expected replies were taken from redis-server 7.0.15
// (redis-cli and raw RESP); where organic differs on purpose (SCAN cursor values, key order)
// the test checks the contract instead of the bytes. Helpers: keyspace_test_util.h.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "commands/scan_cursors.h"
#include "keyspace_test_util.h"

namespace organic {
namespace {

using namespace testing;

// ---------------------------------------------------------------------------------------------
// SCAN

TEST_CASE("scan: cursor parsing follows Redis's strtoul rules") {
  uint64_t c = 99;
  CHECK(commands::ParseScanCursor("0", &c));
  CHECK(c == 0);
  CHECK(commands::ParseScanCursor("", &c));
  CHECK(c == 0);
  CHECK(commands::ParseScanCursor("007", &c));
  CHECK(c == 7);
  CHECK(commands::ParseScanCursor("+5", &c));
  CHECK(c == 5);
  CHECK(commands::ParseScanCursor("-1", &c));
  CHECK(c == UINT64_MAX);
  CHECK(commands::ParseScanCursor("-0", &c));
  CHECK(c == 0);
  CHECK(commands::ParseScanCursor("18446744073709551615", &c));
  CHECK(c == UINT64_MAX);
  for (const char* bad : {" 1", "1 ", "abc", "1a", "0x10", "+", "-", "18446744073709551616",
                          "99999999999999999999", "1.5"}) {
    CAPTURE(bad);
    CHECK(!commands::ParseScanCursor(bad, &c));
  }
}

TEST_CASE("scan: argument errors") {
  CommandHarness h;
  h.Run({"SET", "a", "1"});
  const std::string invalid = Err("ERR invalid cursor");
  const std::string syntax = Err("ERR syntax error");
  CHECK(h.Run({"SCAN", "abc"}) == invalid);
  CHECK(h.Run({"SCAN", " 1"}) == invalid);
  CHECK(h.Run({"SCAN", "18446744073709551616"}) == invalid);
  // The cursor is checked before the options.
  CHECK(h.Run({"SCAN", "x", "COUNT", "0"}) == invalid);
  CHECK(h.Run({"SCAN", "0", "COUNT", "0"}) == syntax);
  CHECK(h.Run({"SCAN", "0", "COUNT", "-1"}) == syntax);
  CHECK(h.Run({"SCAN", "0", "COUNT", "abc"}) == Err("ERR value is not an integer or out of range"));
  CHECK(h.Run({"SCAN", "0", "COUNT"}) == syntax);
  CHECK(h.Run({"SCAN", "0", "MATCH"}) == syntax);
  CHECK(h.Run({"SCAN", "0", "TYPE"}) == syntax);
  CHECK(h.Run({"SCAN", "0", "foo", "bar"}) == syntax);
  CHECK(h.Run({"SCAN", "0", "MATCH", "*", "COUNT"}) == syntax);
  CHECK(h.Run({"SCAN", "0", "count", "5", "match", "*", "type", "string"}) ==
        "*2\r\n$1\r\n0\r\n" + Arr({"a"}));
}

TEST_CASE("scan: empty database, cursor 0 and the empty-string cursor") {
  CommandHarness h;
  CHECK(h.Run({"SCAN", "0"}) == "*2\r\n$1\r\n0\r\n*0\r\n");
  h.Run({"SET", "a", "1"});
  h.Run({"SET", "b", "1"});
  CHECK(h.Run({"SCAN", "0"}) == "*2\r\n$1\r\n0\r\n" + Arr({"a", "b"}));
  CHECK(h.Run({"SCAN", ""}) == "*2\r\n$1\r\n0\r\n" + Arr({"a", "b"}));
  h.session().resp = 3;  // same shape in RESP3
  CHECK(h.Run({"SCAN", "0"}) == "*2\r\n$1\r\n0\r\n" + Arr({"a", "b"}));
}

TEST_CASE("scan: a static keyspace is returned exactly once, COUNT keys examined per call") {
  CommandHarness h;
  const int kKeys = 1000;
  std::vector<std::string> expected;
  for (int i = 0; i < kKeys; i++) {
    expected.push_back("key:" + std::to_string(i));
    h.engine().Put(0, expected.back(), engine::ValueType::kString, "v", 0);
  }
  std::sort(expected.begin(), expected.end());
  for (int count : {1, 3, 10, 999, 1000, 1001, 5000}) {
    CAPTURE(count);
    std::string cursor = "0";
    std::vector<std::string> all;
    int calls = 0;
    do {
      ScanReply r = ParseScan(h.Run({"SCAN", cursor, "COUNT", std::to_string(count)}));
      REQUIRE(r.ok);
      calls++;
      // Without filters every call returns exactly COUNT keys until the last one.
      if (r.cursor != "0") CHECK(r.keys.size() == static_cast<size_t>(count));
      if (r.cursor == "0") CHECK(r.keys.size() <= static_cast<size_t>(count));
      if (r.cursor != "0") {
        uint64_t id;
        REQUIRE(commands::ParseScanCursor(r.cursor, &id));
        CHECK(id != 0);
        CHECK(id < (1ull << 48));
        CHECK(std::to_string(id) == r.cursor);  // canonical decimal
      }
      cursor = r.cursor;
      all.insert(all.end(), r.keys.begin(), r.keys.end());
      REQUIRE(calls <= kKeys);  // an iteration that does not advance must fail, not hang
    } while (cursor != "0");
    CHECK(calls == (kKeys + count - 1) / count);
    std::sort(all.begin(), all.end());
    CHECK(all == expected);
  }
  // Default COUNT is 10.
  int calls = 0;
  CHECK(FullScan(h, {}, &calls).size() == kKeys);
  CHECK(calls == kKeys / 10);
}

TEST_CASE("scan: MATCH and TYPE filter the examined keys") {
  CommandHarness h;
  std::vector<std::string> users;
  for (int i = 0; i < 300; i++) {
    std::string key = (i % 3 == 0 ? "user:" : "item:") + std::to_string(i);
    if (i % 3 == 0) users.push_back(key);
    h.engine().Put(0, key, engine::ValueType::kString, "v", 0);
  }
  std::sort(users.begin(), users.end());
  for (int count : {1, 7, 10, 1000}) {
    CAPTURE(count);
    std::vector<std::string> got = FullScan(h, {"MATCH", "user:*", "COUNT", std::to_string(count)});
    std::sort(got.begin(), got.end());
    CHECK(got == users);
  }
  // A call examines COUNT keys even when the filter drops them all: MATCH filters after.
  ScanReply r = ParseScan(h.Run({"SCAN", "0", "MATCH", "nothing*", "COUNT", "5"}));
  REQUIRE(r.ok);
  CHECK(r.cursor != "0");
  CHECK(r.keys.empty());
  // The last MATCH wins; "*" matches everything.
  CHECK(FullScan(h, {"MATCH", "user:*", "MATCH", "*"}).size() == 300);
  // TYPE compares the Redis type name case-insensitively; unknown names match nothing.
  CHECK(FullScan(h, {"TYPE", "string"}).size() == 300);
  CHECK(FullScan(h, {"TYPE", "STRING"}).size() == 300);
  CHECK(FullScan(h, {"TYPE", "hash"}).empty());
  CHECK(FullScan(h, {"TYPE", "foo"}).empty());
  CHECK(FullScan(h, {"TYPE", "none"}).empty());
  std::vector<std::string> both = FullScan(h, {"TYPE", "string", "MATCH", "user:*"});
  std::sort(both.begin(), both.end());
  CHECK(both == users);
}

TEST_CASE("scan: expired keys are skipped and collected") {
  CommandHarness h;
  for (int i = 0; i < 50; i++) {
    if (i % 2 == 0) {
      PutExpired(h, 0, "k" + std::to_string(i));
    } else {
      h.engine().Put(0, "k" + std::to_string(i), engine::ValueType::kString, "v", 0);
    }
  }
  CHECK(FullScan(h, {"COUNT", "4"}).size() == 25);
  CHECK(h.engine().KeyCount(0) == 25);
}

TEST_CASE("scan: every key present for the whole iteration is returned, under writes") {
  // Keys "stable:*" exist throughout; "churn:*" keys are added and removed between calls.
  // Every stable key must be returned at least once, and nothing that never existed may be.
  for (int count : {1, 2, 3, 5, 10, 17, 100, 1000}) {
    CAPTURE(count);
    CommandHarness h;
    std::mt19937 rng(static_cast<uint32_t>(count));
    std::set<std::string> stable, ever_existed, churn_live;
    for (int i = 0; i < 500; i++) {
      std::string key = "stable:" + std::to_string(rng() % 100000);
      stable.insert(key);
      ever_existed.insert(key);
      h.Run({"SET", key, "v"});
    }
    for (int i = 0; i < 500; i++) {
      std::string key = "churn:" + std::to_string(rng() % 100000);
      churn_live.insert(key);
      ever_existed.insert(key);
      h.Run({"SET", key, "v"});
    }
    std::set<std::string> seen;
    std::string cursor = "0";
    int calls = 0;
    do {
      ScanReply r = ParseScan(h.Run({"SCAN", cursor, "COUNT", std::to_string(count)}));
      REQUIRE(r.ok);
      cursor = r.cursor;
      for (const std::string& k : r.keys) {
        CHECK(ever_existed.count(k) == 1);
        seen.insert(k);
      }
      // Mutate: delete a few churn keys, add a few new ones (some sort before the cursor,
      // some after), re-add a deleted one.
      for (int j = 0; j < 3 && !churn_live.empty(); j++) {
        auto it = churn_live.begin();
        std::advance(it, rng() % churn_live.size());
        CHECK(h.Run({"DEL", *it}) == Int(1));
        churn_live.erase(it);
      }
      for (int j = 0; j < 3; j++) {
        std::string key = std::string(rng() % 2 ? "a" : "z") + "churn:" + std::to_string(rng());
        ever_existed.insert(key);
        churn_live.insert(key);
        h.Run({"SET", key, "v"});
      }
      REQUIRE(++calls < 100000);
    } while (cursor != "0");
    for (const std::string& k : stable) {
      CAPTURE(k);
      CHECK(seen.count(k) == 1);
    }
  }
}

TEST_CASE("scan: cursors can be resent, unknown cursors restart, cursors are per database") {
  CommandHarness h;
  for (int i = 0; i < 30; i++) {
    h.engine().Put(0, "k" + std::to_string(100 + i), engine::ValueType::kString, "v", 0);
  }
  // A made-up cursor on a table that never issued one restarts from the first key.
  ScanReply fresh = ParseScan(h.Run({"SCAN", "12345", "COUNT", "5"}));
  REQUIRE(fresh.ok);
  CHECK(fresh.keys == std::vector<std::string>{"k100", "k101", "k102", "k103", "k104"});
  CHECK(ParseScan(h.Run({"SCAN", "-1", "COUNT", "5"})).keys == fresh.keys);

  ScanReply first = ParseScan(h.Run({"SCAN", "0", "COUNT", "5"}));
  REQUIRE(first.ok);
  ScanReply second = ParseScan(h.Run({"SCAN", first.cursor, "COUNT", "5"}));
  CHECK(second.keys == std::vector<std::string>{"k105", "k106", "k107", "k108", "k109"});
  // Resending a cursor (a client retrying) resumes from the same place with a new id.
  ScanReply again = ParseScan(h.Run({"SCAN", first.cursor, "COUNT", "5"}));
  CHECK(again.keys == second.keys);
  CHECK(again.cursor != second.cursor);
  // The same cursor in another database restarts there (never skips that database's keys).
  h.engine().Put(1, "k000", engine::ValueType::kString, "v", 0);
  h.engine().Put(1, "k200", engine::ValueType::kString, "v", 0);
  h.session().db = 1;
  CHECK(h.Run({"SCAN", first.cursor}) == "*2\r\n$1\r\n0\r\n" + Arr({"k000", "k200"}));
  // FLUSHDB between calls: the iteration still ends.
  h.session().db = 0;
  ScanReply mid = ParseScan(h.Run({"SCAN", "0", "COUNT", "5"}));
  h.Run({"FLUSHDB"});
  CHECK(h.Run({"SCAN", mid.cursor}) == "*2\r\n$1\r\n0\r\n*0\r\n");
}

TEST_CASE("scan: the cursor resumes after a deleted key and includes the empty key") {
  CommandHarness h;
  for (const char* k : {"", "a", "b", "c", "d"}) {
    h.engine().Put(0, k, engine::ValueType::kString, "v", 0);
  }
  // Resuming after the empty key (the smallest key) must not restart at it.
  ScanReply one = ParseScan(h.Run({"SCAN", "0", "COUNT", "1"}));
  CHECK(one.keys == std::vector<std::string>{""});
  CHECK(ParseScan(h.Run({"SCAN", one.cursor, "COUNT", "1"})).keys ==
        std::vector<std::string>{"a"});
  ScanReply r = ParseScan(h.Run({"SCAN", "0", "COUNT", "2"}));
  CHECK(r.keys == std::vector<std::string>{"", "a"});
  h.Run({"DEL", "a", "b"});
  h.Run({"SET", "aa", "v"});  // sorts after the resume position
  ScanReply r2 = ParseScan(h.Run({"SCAN", r.cursor, "COUNT", "2"}));
  CHECK(r2.keys == std::vector<std::string>{"aa", "c"});
  ScanReply r3 = ParseScan(h.Run({"SCAN", r2.cursor, "COUNT", "2"}));
  CHECK(r3.cursor == "0");
  CHECK(r3.keys == std::vector<std::string>{"d"});
}

TEST_CASE("scan cursor table: ids, lookup, eviction by count and by bytes") {
  commands::ScanCursorTable table(3, 1000);
  std::string key;
  uint64_t a = table.Save(0, "alpha");
  uint64_t b = table.Save(1, "beta");
  CHECK(a != 0);
  CHECK(b != 0);
  CHECK(a != b);
  CHECK(a < (1ull << 48));
  CHECK(table.Lookup(a, 0, &key));
  CHECK(key == "alpha");
  CHECK(!table.Lookup(a, 1, &key));  // saved for database 0
  CHECK(table.Lookup(b, 1, &key));
  CHECK(key == "beta");
  CHECK(!table.Lookup(0, 0, &key));
  uint64_t c = table.Save(0, "gamma");
  uint64_t d = table.Save(0, "delta");  // evicts the oldest, a
  CHECK(table.size() == 3);
  CHECK(!table.Lookup(a, 0, &key));
  CHECK(table.Lookup(b, 1, &key));
  CHECK(table.Lookup(c, 0, &key));
  CHECK(table.Lookup(d, 0, &key));
  CHECK(table.key_bytes() == 4 + 5 + 5);
  // A key larger than the byte budget evicts everything else but is itself kept.
  uint64_t big = table.Save(0, std::string(5000, 'x'));
  CHECK(table.size() == 1);
  CHECK(table.Lookup(big, 0, &key));
  CHECK(key.size() == 5000);
  CHECK(table.key_bytes() == 5000);
  uint64_t e = table.Save(0, "e");
  CHECK(!table.Lookup(big, 0, &key));
  CHECK(table.Lookup(e, 0, &key));
  CHECK(table.key_bytes() == 1);
  table.Clear();
  CHECK(table.size() == 0);
  CHECK(!table.Lookup(e, 0, &key));

  // Many ids: all distinct and non-zero, the table stays bounded.
  commands::ScanCursorTable many(1000, 1 << 20);
  std::set<uint64_t> ids;
  for (int i = 0; i < 20000; i++) {
    uint64_t id = many.Save(0, "k");
    CHECK(id != 0);
    ids.insert(id);
  }
  CHECK(ids.size() == 20000);
  CHECK(many.size() == 1000);
}

}  // namespace
}  // namespace organic
