// Keyspace (DEL ... SWAPDB, SCAN) and expiry (EXPIRE ... PERSIST) commands, and the SCAN
// cursor table. Expected replies were taken from redis-server 7.0.15 (redis-cli and raw RESP);
// where organic differs on purpose (SCAN cursor values, key order) the test checks the
// contract instead of the bytes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "command_harness.h"
#include "commands/command_table.h"
#include "commands/scan_cursors.h"
#include "util/clock.h"

namespace organic {
namespace {

using testing::CommandHarness;

const std::string kOk = "+OK\r\n";
const std::string kNil = "$-1\r\n";

std::string Int(int64_t v) { return ":" + std::to_string(v) + "\r\n"; }
std::string Err(std::string_view msg) { return "-" + std::string(msg) + "\r\n"; }
std::string Bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
std::string Arr(const std::vector<std::string>& items) {
  std::string out = "*" + std::to_string(items.size()) + "\r\n";
  for (const std::string& s : items) out += Bulk(s);
  return out;
}

// A minimal RESP reader for the replies these commands produce.
class RespReader {
 public:
  explicit RespReader(const std::string& raw) : raw_(raw) {}
  bool Line(char type, std::string* out) {
    if (pos_ >= raw_.size() || raw_[pos_] != type) return false;
    size_t end = raw_.find("\r\n", pos_);
    if (end == std::string::npos) return false;
    out->assign(raw_, pos_ + 1, end - pos_ - 1);
    pos_ = end + 2;
    return true;
  }
  bool Bulk(std::string* out) {
    std::string len;
    if (!Line('$', &len)) return false;
    size_t n = std::stoul(len);
    if (pos_ + n + 2 > raw_.size()) return false;
    out->assign(raw_, pos_, n);
    pos_ += n + 2;
    return true;
  }
  bool BulkArray(std::vector<std::string>* out) {
    std::string len;
    if (!Line('*', &len)) return false;
    out->resize(std::stoul(len));
    for (std::string& s : *out) {
      if (!Bulk(&s)) return false;
    }
    return true;
  }
  bool AtEnd() const { return pos_ == raw_.size(); }

 private:
  std::string raw_;
  size_t pos_ = 0;
};

struct ScanReply {
  bool ok = false;
  std::string cursor;
  std::vector<std::string> keys;
};

ScanReply ParseScan(const std::string& raw) {
  ScanReply r;
  RespReader in(raw);
  std::string n;
  r.ok = in.Line('*', &n) && n == "2" && in.Bulk(&r.cursor) && in.BulkArray(&r.keys) && in.AtEnd();
  return r;
}

std::vector<std::string> SortedArray(const std::string& raw) {
  std::vector<std::string> items;
  RespReader in(raw);
  REQUIRE(in.BulkArray(&items));
  REQUIRE(in.AtEnd());
  std::sort(items.begin(), items.end());
  return items;
}

int64_t ReplyInt(const std::string& raw) {
  REQUIRE(raw.size() > 3);
  REQUIRE(raw[0] == ':');
  return std::stoll(raw.substr(1, raw.size() - 3));
}

// Puts a key whose TTL is already due but that no command has collected yet.
void PutExpired(CommandHarness& h, int db, const std::string& key) {
  h.engine().Put(db, key, engine::ValueType::kString, "stale", UnixTimeMs() - 1000);
}

// Runs SCAN to the end and returns every key returned (with repeats) and the number of calls.
std::vector<std::string> FullScan(CommandHarness& h, std::vector<std::string> options,
                                  int* calls = nullptr) {
  std::vector<std::string> all;
  std::string cursor = "0";
  int n = 0;
  do {
    std::vector<std::string> args = {"SCAN", cursor};
    args.insert(args.end(), options.begin(), options.end());
    ScanReply r = ParseScan(h.Run(args));
    REQUIRE(r.ok);
    cursor = r.cursor;
    all.insert(all.end(), r.keys.begin(), r.keys.end());
    REQUIRE(++n < 100000);
  } while (cursor != "0");
  if (calls != nullptr) *calls = n;
  return all;
}

// ---------------------------------------------------------------------------------------------
// Registration

TEST_CASE("keyspace: command table entries match Redis 7.0.15's COMMAND INFO") {
  commands::CommandTable table;
  commands::RegisterKeyspaceCommands(&table);
  commands::RegisterExpireCommands(&table);
  using namespace commands;
  struct Expected {
    const char* name;
    int arity;
    uint32_t flags;
    int first, last, step;
    std::vector<std::string> acl;
  };
  const std::vector<Expected> expected = {
      {"del", -2, kWrite, 1, -1, 1, {"@keyspace", "@write", "@slow"}},
      {"unlink", -2, kWrite | kFast, 1, -1, 1, {"@keyspace", "@write", "@fast"}},
      {"exists", -2, kReadOnly | kFast, 1, -1, 1, {"@keyspace", "@read", "@fast"}},
      {"touch", -2, kReadOnly | kFast, 1, -1, 1, {"@keyspace", "@read", "@fast"}},
      {"type", 2, kReadOnly | kFast, 1, 1, 1, {"@keyspace", "@read", "@fast"}},
      {"keys", 2, kReadOnly, 0, 0, 0, {"@keyspace", "@read", "@slow", "@dangerous"}},
      {"scan", -2, kReadOnly, 0, 0, 0, {"@keyspace", "@read", "@slow"}},
      {"dbsize", 1, kReadOnly | kFast, 0, 0, 0, {"@keyspace", "@read", "@fast"}},
      {"randomkey", 1, kReadOnly, 0, 0, 0, {"@keyspace", "@read", "@slow"}},
      {"rename", 3, kWrite, 1, 2, 1, {"@keyspace", "@write", "@slow"}},
      {"renamenx", 3, kWrite | kFast, 1, 2, 1, {"@keyspace", "@write", "@fast"}},
      {"copy", -3, kWrite | kDenyOom, 1, 2, 1, {"@keyspace", "@write", "@slow"}},
      {"move", 3, kWrite | kFast, 1, 1, 1, {"@keyspace", "@write", "@fast"}},
      {"flushdb", -1, kWrite, 0, 0, 0, {"@keyspace", "@write", "@slow", "@dangerous"}},
      {"flushall", -1, kWrite, 0, 0, 0, {"@keyspace", "@write", "@slow", "@dangerous"}},
      {"swapdb", 3, kWrite | kFast, 0, 0, 0, {"@keyspace", "@write", "@fast", "@dangerous"}},
      {"expire", -3, kWrite | kFast, 1, 1, 1, {"@keyspace", "@write", "@fast"}},
      {"pexpire", -3, kWrite | kFast, 1, 1, 1, {"@keyspace", "@write", "@fast"}},
      {"expireat", -3, kWrite | kFast, 1, 1, 1, {"@keyspace", "@write", "@fast"}},
      {"pexpireat", -3, kWrite | kFast, 1, 1, 1, {"@keyspace", "@write", "@fast"}},
      {"ttl", 2, kReadOnly | kFast, 1, 1, 1, {"@keyspace", "@read", "@fast"}},
      {"pttl", 2, kReadOnly | kFast, 1, 1, 1, {"@keyspace", "@read", "@fast"}},
      {"expiretime", 2, kReadOnly | kFast, 1, 1, 1, {"@keyspace", "@read", "@fast"}},
      {"pexpiretime", 2, kReadOnly | kFast, 1, 1, 1, {"@keyspace", "@read", "@fast"}},
      {"persist", 2, kWrite | kFast, 1, 1, 1, {"@keyspace", "@write", "@fast"}},
  };
  CHECK(table.all().size() == expected.size());
  for (const Expected& e : expected) {
    CAPTURE(e.name);
    const CommandSpec* spec = table.Find(e.name);
    REQUIRE(spec != nullptr);
    CHECK(spec->arity == e.arity);
    CHECK(spec->flags == e.flags);
    CHECK(spec->first_key == e.first);
    CHECK(spec->last_key == e.last);
    CHECK(spec->key_step == e.step);
    CHECK(spec->acl_categories == e.acl);
    CHECK(static_cast<bool>(spec->handler));
    CHECK(!spec->summary.empty());
    CHECK(!spec->since.empty());
    CHECK(!spec->complexity.empty());
  }
  CHECK(table.Find("dbsize")->group == "server");
  CHECK(table.Find("swapdb")->group == "server");
  CHECK(table.Find("scan")->group == "generic");
  CHECK(table.Find("expiretime")->since == "7.0.0");
}

TEST_CASE("keyspace: arity errors come from the table") {
  CommandHarness h;
  CHECK(h.Run({"DEL"}) == Err("ERR wrong number of arguments for 'del' command"));
  CHECK(h.Run({"TYPE", "a", "b"}) == Err("ERR wrong number of arguments for 'type' command"));
  CHECK(h.Run({"DBSIZE", "x"}) == Err("ERR wrong number of arguments for 'dbsize' command"));
  CHECK(h.Run({"SCAN"}) == Err("ERR wrong number of arguments for 'scan' command"));
  CHECK(h.Run({"COPY", "a"}) == Err("ERR wrong number of arguments for 'copy' command"));
  CHECK(h.Run({"EXPIRE", "a"}) == Err("ERR wrong number of arguments for 'expire' command"));
  CHECK(h.Run({"TTL"}) == Err("ERR wrong number of arguments for 'ttl' command"));
}

// ---------------------------------------------------------------------------------------------
// DEL UNLINK EXISTS TOUCH TYPE

TEST_CASE("keyspace: DEL and UNLINK count the keys removed") {
  CommandHarness h;
  for (const char* cmd : {"DEL", "UNLINK", "del"}) {
    CAPTURE(cmd);
    h.Run({"SET", "a", "1"});
    h.Run({"SET", "b", "2"});
    h.engine().Put(0, "c", engine::ValueType::kString, "3", 0);
    PutExpired(h, 0, "stale");
    // Repeated and missing keys count once / not at all; an expired key does not count.
    CHECK(h.Run({cmd, "a", "a", "missing", "c", "stale"}) == Int(2));
    CHECK(h.Run({"EXISTS", "a", "c", "stale"}) == Int(0));
    CHECK(h.Run({cmd, "b"}) == Int(1));
    CHECK(h.Run({cmd, "b"}) == Int(0));
    CHECK(h.engine().KeyCount(0) == 0);
  }
}

TEST_CASE("keyspace: EXISTS counts a key each time it is named") {
  CommandHarness h;
  h.engine().Put(0, "a", engine::ValueType::kString, "1", 0);
  h.engine().Put(0, "", engine::ValueType::kString, "empty key", 0);
  PutExpired(h, 0, "stale");
  CHECK(h.Run({"EXISTS", "a"}) == Int(1));
  CHECK(h.Run({"EXISTS", "a", "a", "a"}) == Int(3));
  CHECK(h.Run({"EXISTS", "a", "nope", "a", "stale"}) == Int(2));
  CHECK(h.Run({"EXISTS", ""}) == Int(1));
  CHECK(h.Run({"EXISTS", "nope"}) == Int(0));
  // The expired key was collected by the lookup.
  CHECK(h.engine().KeyCount(0) == 2);
}

TEST_CASE("keyspace: TOUCH counts existing keys and is a counted read") {
  CommandHarness h;
  h.engine().Put(0, "a", engine::ValueType::kString, "1", 0);
  h.engine().Put(0, "b", engine::ValueType::kString, "1", 0);
  PutExpired(h, 0, "stale");
  uint64_t hits = h.engine().stats().keyspace_hits;
  uint64_t misses = h.engine().stats().keyspace_misses;
  CHECK(h.Run({"TOUCH", "a", "b", "a", "zz", "stale"}) == Int(3));
  CHECK(h.engine().stats().keyspace_hits == hits + 3);
  CHECK(h.engine().stats().keyspace_misses == misses + 2);
}

TEST_CASE("keyspace: TYPE") {
  CommandHarness h;
  h.engine().Put(0, "s", engine::ValueType::kString, "v", 0);
  PutExpired(h, 0, "stale");
  CHECK(h.Run({"TYPE", "s"}) == "+string\r\n");
  CHECK(h.Run({"TYPE", "nope"}) == "+none\r\n");
  CHECK(h.Run({"TYPE", "stale"}) == "+none\r\n");
  h.session().resp = 3;
  CHECK(h.Run({"TYPE", "s"}) == "+string\r\n");
  CHECK(h.Run({"TYPE", "nope"}) == "+none\r\n");
}

// ---------------------------------------------------------------------------------------------
// KEYS DBSIZE RANDOMKEY

TEST_CASE("keyspace: KEYS matches glob patterns over the whole database") {
  CommandHarness h;
  for (const char* k : {"hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "other"}) {
    h.engine().Put(0, k, engine::ValueType::kString, "v", 0);
  }
  h.engine().Put(1, "hello", engine::ValueType::kString, "other db", 0);
  PutExpired(h, 0, "hzllo");
  CHECK(SortedArray(h.Run({"KEYS", "h?llo"})) ==
        std::vector<std::string>{"h*llo", "hallo", "hello", "hxllo"});
  CHECK(SortedArray(h.Run({"KEYS", "h*llo"})) ==
        std::vector<std::string>{"h*llo", "hallo", "heeeello", "hello", "hllo", "hxllo"});
  CHECK(SortedArray(h.Run({"KEYS", "h[ae]llo"})) == std::vector<std::string>{"hallo", "hello"});
  CHECK(SortedArray(h.Run({"KEYS", "h[^e]llo"})) ==
        std::vector<std::string>{"h*llo", "hallo", "hxllo"});
  CHECK(SortedArray(h.Run({"KEYS", "h\\*llo"})) == std::vector<std::string>{"h*llo"});
  CHECK(SortedArray(h.Run({"KEYS", "HELLO"})).empty());  // case-sensitive
  CHECK(SortedArray(h.Run({"KEYS", "*"})).size() == 7);  // the expired key is not listed
  CHECK(h.Run({"KEYS", "nomatch*"}) == "*0\r\n");
  h.session().db = 1;
  CHECK(h.Run({"KEYS", "*"}) == Arr({"hello"}));
  h.session().db = 2;
  CHECK(h.Run({"KEYS", "*"}) == "*0\r\n");
}

TEST_CASE("keyspace: KEYS walks more keys than one engine chunk, binary keys included") {
  CommandHarness h;
  std::vector<std::string> expected;
  for (int i = 0; i < 5000; i++) {
    std::string key = "k" + std::to_string(i);
    if (i % 1000 == 0) key += std::string("\0\r\n", 3);
    h.engine().Put(0, key, engine::ValueType::kString, "v", 0);
    expected.push_back(key);
  }
  std::sort(expected.begin(), expected.end());
  CHECK(SortedArray(h.Run({"KEYS", "*"})) == expected);
  CHECK(SortedArray(h.Run({"KEYS", "k4??9"})).size() == 100);
}

TEST_CASE("keyspace: DBSIZE is per database") {
  CommandHarness h;
  CHECK(h.Run({"DBSIZE"}) == Int(0));
  h.Run({"SET", "a", "1"});
  h.engine().Put(0, "b", engine::ValueType::kString, "1", 0);
  h.engine().Put(3, "c", engine::ValueType::kString, "1", 0);
  CHECK(h.Run({"DBSIZE"}) == Int(2));
  h.session().db = 3;
  CHECK(h.Run({"DBSIZE"}) == Int(1));
}

TEST_CASE("keyspace: RANDOMKEY") {
  CommandHarness h;
  CHECK(h.Run({"RANDOMKEY"}) == kNil);
  h.session().resp = 3;
  CHECK(h.Run({"RANDOMKEY"}) == "_\r\n");
  h.session().resp = 2;
  std::set<std::string> keys = {"a", "b", "c"};
  for (const std::string& k : keys) h.engine().Put(0, k, engine::ValueType::kString, "v", 0);
  std::set<std::string> seen;
  for (int i = 0; i < 300; i++) {
    RespReader in(h.Run({"RANDOMKEY"}));
    std::string key;
    REQUIRE(in.Bulk(&key));
    CHECK(keys.count(key) == 1);
    seen.insert(key);
  }
  CHECK(seen == keys);
  h.engine().FlushDb(0);
  PutExpired(h, 0, "stale");
  CHECK(h.Run({"RANDOMKEY"}) == kNil);
}

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

// ---------------------------------------------------------------------------------------------
// RENAME RENAMENX COPY MOVE

TEST_CASE("keyspace: RENAME") {
  CommandHarness h;
  CHECK(h.Run({"RENAME", "nope", "x"}) == Err("ERR no such key"));
  CHECK(h.Run({"RENAME", "nope", "nope"}) == Err("ERR no such key"));
  h.Run({"SET", "a", "va"});
  CHECK(h.Run({"RENAME", "a", "a"}) == kOk);  // onto itself: no-op, key kept
  CHECK(h.Run({"GET", "a"}) == Bulk("va"));
  CHECK(h.Run({"RENAME", "a", "b"}) == kOk);
  CHECK(h.Run({"EXISTS", "a"}) == Int(0));
  CHECK(h.Run({"GET", "b"}) == Bulk("va"));
  // Overwrites the destination, whose TTL is replaced by the source's (none here).
  h.Run({"SET", "c", "vc"});
  h.Run({"PEXPIRE", "c", "100000"});
  CHECK(h.Run({"RENAME", "b", "c"}) == kOk);
  CHECK(h.Run({"GET", "c"}) == Bulk("va"));
  CHECK(h.Run({"TTL", "c"}) == Int(-1));
  // The TTL moves with the key.
  int64_t at = UnixTimeMs() + 100000;
  h.Run({"PEXPIREAT", "c", std::to_string(at)});
  CHECK(h.Run({"RENAME", "c", "d"}) == kOk);
  CHECK(h.Run({"PEXPIRETIME", "d"}) == Int(at));
  CHECK(h.Run({"PEXPIRETIME", "c"}) == Int(-2));
  // An expired source is missing.
  PutExpired(h, 0, "stale");
  CHECK(h.Run({"RENAME", "stale", "e"}) == Err("ERR no such key"));
  // Binary keys and values survive.
  std::string bin("\0k\r\n", 4);
  h.Run({"SET", bin, std::string("\0v", 2)});
  CHECK(h.Run({"RENAME", bin, "plain"}) == kOk);
  CHECK(h.Run({"GET", "plain"}) == Bulk(std::string("\0v", 2)));
}

TEST_CASE("keyspace: RENAMENX") {
  CommandHarness h;
  CHECK(h.Run({"RENAMENX", "nope", "x"}) == Err("ERR no such key"));
  CHECK(h.Run({"RENAMENX", "nope", "nope"}) == Err("ERR no such key"));
  h.Run({"SET", "a", "va"});
  h.Run({"SET", "b", "vb"});
  CHECK(h.Run({"RENAMENX", "a", "a"}) == Int(0));
  CHECK(h.Run({"RENAMENX", "a", "b"}) == Int(0));
  CHECK(h.Run({"GET", "a"}) == Bulk("va"));
  CHECK(h.Run({"GET", "b"}) == Bulk("vb"));
  h.Run({"PEXPIRE", "a", "100000"});
  CHECK(h.Run({"RENAMENX", "a", "c"}) == Int(1));
  CHECK(h.Run({"EXISTS", "a"}) == Int(0));
  CHECK(h.Run({"GET", "c"}) == Bulk("va"));
  int64_t pttl = ReplyInt(h.Run({"PTTL", "c"}));
  CHECK(pttl > 90000);
  CHECK(pttl <= 100000);
  // An expired destination does not block RENAMENX.
  PutExpired(h, 0, "stale");
  CHECK(h.Run({"RENAMENX", "c", "stale"}) == Int(1));
  CHECK(h.Run({"GET", "stale"}) == Bulk("va"));
}

TEST_CASE("keyspace: COPY options and errors") {
  CommandHarness h;
  h.Run({"SET", "a", "1"});
  const std::string syntax = Err("ERR syntax error");
  CHECK(h.Run({"COPY", "a", "a"}) == Err("ERR source and destination objects are the same"));
  CHECK(h.Run({"COPY", "a", "a", "DB", "0"}) ==
        Err("ERR source and destination objects are the same"));
  CHECK(h.Run({"COPY", "a", "c", "DB"}) == syntax);
  CHECK(h.Run({"COPY", "a", "c", "foo"}) == syntax);
  CHECK(h.Run({"COPY", "a", "c", "REPLACE", "foo"}) == syntax);
  CHECK(h.Run({"COPY", "a", "c", "DB", "x"}) == Err("ERR value is not an integer or out of range"));
  CHECK(h.Run({"COPY", "a", "c", "DB", "2147483648"}) ==
        Err("ERR value is out of range, value must between -2147483648 and 2147483647"));
  CHECK(h.Run({"COPY", "a", "c", "DB", "16"}) == Err("ERR DB index is out of range"));
  CHECK(h.Run({"COPY", "a", "c", "DB", "-1"}) == Err("ERR DB index is out of range"));
  // Options are checked in order before the keys: syntax error wins over a bad later DB.
  CHECK(h.Run({"COPY", "a", "c", "foo", "DB", "99"}) == syntax);
  CHECK(h.Run({"COPY", "nope", "nope"}) == Err("ERR source and destination objects are the same"));
  CHECK(h.Run({"COPY", "nope", "c"}) == Int(0));
  CHECK(h.engine().KeyCount(0) == 1);
}

TEST_CASE("keyspace: COPY copies value and TTL, REPLACE, other databases") {
  CommandHarness h;
  h.Run({"SET", "a", "va"});
  CHECK(h.Run({"COPY", "a", "b"}) == Int(1));
  CHECK(h.Run({"GET", "b"}) == Bulk("va"));
  CHECK(h.Run({"GET", "a"}) == Bulk("va"));
  CHECK(h.Run({"TTL", "b"}) == Int(-1));
  h.Run({"SET", "a", "new"});
  CHECK(h.Run({"COPY", "a", "b"}) == Int(0));  // destination exists
  CHECK(h.Run({"GET", "b"}) == Bulk("va"));
  CHECK(h.Run({"COPY", "a", "b", "replace"}) == Int(1));
  CHECK(h.Run({"GET", "b"}) == Bulk("new"));
  // TTL is copied; REPLACE over a volatile destination takes the source's (absent) TTL.
  int64_t at = UnixTimeMs() + 50000;
  h.Run({"PEXPIREAT", "a", std::to_string(at)});
  CHECK(h.Run({"COPY", "a", "t"}) == Int(1));
  CHECK(h.Run({"PEXPIRETIME", "t"}) == Int(at));
  CHECK(h.Run({"PEXPIRETIME", "a"}) == Int(at));
  h.Run({"SET", "p", "persistent"});
  CHECK(h.Run({"COPY", "p", "t", "REPLACE"}) == Int(1));
  CHECK(h.Run({"TTL", "t"}) == Int(-1));
  // To another database: same key name is fine there; repeated options are accepted.
  CHECK(h.Run({"COPY", "a", "a", "DB", "5"}) == Int(1));
  CHECK(h.Run({"COPY", "a", "a", "db", "5"}) == Int(0));
  CHECK(h.Run({"COPY", "a", "a", "REPLACE", "REPLACE", "DB", "3", "DB", "5"}) == Int(1));
  CHECK(h.engine().KeyCount(3) == 0);
  h.session().db = 5;
  CHECK(h.Run({"GET", "a"}) == Bulk("new"));
  CHECK(h.Run({"PEXPIRETIME", "a"}) == Int(at));
  // COPY's source lookup is a counted read.
  uint64_t hits = h.engine().stats().keyspace_hits;
  CHECK(h.Run({"COPY", "a", "z"}) == Int(1));
  CHECK(h.engine().stats().keyspace_hits == hits + 1);
  // An expired destination is replaced without REPLACE.
  PutExpired(h, 5, "stale");
  CHECK(h.Run({"COPY", "a", "stale"}) == Int(1));
}

TEST_CASE("keyspace: MOVE") {
  CommandHarness h;
  h.Run({"SET", "a", "va"});
  CHECK(h.Run({"MOVE", "a", "0"}) == Err("ERR source and destination objects are the same"));
  CHECK(h.Run({"MOVE", "nope", "0"}) == Err("ERR source and destination objects are the same"));
  CHECK(h.Run({"MOVE", "a", "16"}) == Err("ERR DB index is out of range"));
  CHECK(h.Run({"MOVE", "a", "-1"}) == Err("ERR DB index is out of range"));
  CHECK(h.Run({"MOVE", "a", "abc"}) == Err("ERR value is not an integer or out of range"));
  CHECK(h.Run({"MOVE", "a", "2147483648"}) ==
        Err("ERR value is out of range, value must between -2147483648 and 2147483647"));
  CHECK(h.Run({"MOVE", "nope", "1"}) == Int(0));
  int64_t at = UnixTimeMs() + 70000;
  h.Run({"PEXPIREAT", "a", std::to_string(at)});
  CHECK(h.Run({"MOVE", "a", "1"}) == Int(1));
  CHECK(h.Run({"EXISTS", "a"}) == Int(0));
  h.session().db = 1;
  CHECK(h.Run({"GET", "a"}) == Bulk("va"));
  CHECK(h.Run({"PEXPIRETIME", "a"}) == Int(at));
  // Destination exists: 0 and nothing changes.
  h.session().db = 0;
  h.Run({"SET", "a", "other"});
  CHECK(h.Run({"MOVE", "a", "1"}) == Int(0));
  CHECK(h.Run({"GET", "a"}) == Bulk("other"));
  // Expired source is missing; expired destination does not block.
  PutExpired(h, 0, "stale");
  CHECK(h.Run({"MOVE", "stale", "1"}) == Int(0));
  PutExpired(h, 2, "a");
  CHECK(h.Run({"MOVE", "a", "2"}) == Int(1));
  h.session().db = 2;
  CHECK(h.Run({"GET", "a"}) == Bulk("other"));
  CHECK(h.Run({"TTL", "a"}) == Int(-1));
}

// ---------------------------------------------------------------------------------------------
// FLUSHDB FLUSHALL SWAPDB

TEST_CASE("keyspace: FLUSHDB and FLUSHALL") {
  CommandHarness h;
  const std::string syntax = Err("ERR syntax error");
  for (const char* cmd : {"FLUSHDB", "FLUSHALL"}) {
    CAPTURE(cmd);
    CHECK(h.Run({cmd, "foo"}) == syntax);
    CHECK(h.Run({cmd, "async", "x"}) == syntax);
    CHECK(h.Run({cmd, "sync", "sync"}) == syntax);
  }
  auto fill = [&] {
    h.engine().Put(0, "a", engine::ValueType::kString, "v", 0);
    h.engine().Put(1, "b", engine::ValueType::kString, "v", UnixTimeMs() + 100000);
  };
  fill();
  h.session().db = 1;
  CHECK(h.Run({"FLUSHDB"}) == kOk);
  CHECK(h.engine().KeyCount(1) == 0);
  CHECK(h.engine().VolatileCount(1) == 0);
  CHECK(h.engine().KeyCount(0) == 1);
  for (const char* mode : {"ASYNC", "sync", "Async"}) {
    fill();
    CHECK(h.Run({"FLUSHDB", mode}) == kOk);
    CHECK(h.engine().KeyCount(1) == 0);
    CHECK(h.engine().KeyCount(0) == 1);
  }
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"FLUSHALL"}, {"FLUSHALL", "ASYNC"}, {"flushall", "SYNC"}}) {
    fill();
    CHECK(h.Run(args) == kOk);
    CHECK(h.engine().KeyCount(0) == 0);
    CHECK(h.engine().KeyCount(1) == 0);
  }
}

TEST_CASE("keyspace: SWAPDB") {
  CommandHarness h;
  CHECK(h.Run({"SWAPDB", "a", "1"}) == Err("ERR invalid first DB index"));
  CHECK(h.Run({"SWAPDB", "0", "a"}) == Err("ERR invalid second DB index"));
  CHECK(h.Run({"SWAPDB", "a", "b"}) == Err("ERR invalid first DB index"));
  CHECK(h.Run({"SWAPDB", "2147483648", "0"}) == Err("ERR invalid first DB index"));
  CHECK(h.Run({"SWAPDB", "0", "-2147483649"}) == Err("ERR invalid second DB index"));
  CHECK(h.Run({"SWAPDB", "0", "16"}) == Err("ERR DB index is out of range"));
  CHECK(h.Run({"SWAPDB", "-1", "0"}) == Err("ERR DB index is out of range"));
  h.Run({"SET", "a", "in0"});
  int64_t at = UnixTimeMs() + 80000;
  h.Run({"PEXPIREAT", "a", std::to_string(at)});
  h.engine().Put(1, "b", engine::ValueType::kString, "in1", 0);
  CHECK(h.Run({"SWAPDB", "0", "0"}) == kOk);
  CHECK(h.Run({"GET", "a"}) == Bulk("in0"));
  CHECK(h.Run({"SWAPDB", "0", "1"}) == kOk);
  CHECK(h.Run({"GET", "a"}) == kNil);
  CHECK(h.Run({"GET", "b"}) == Bulk("in1"));
  h.session().db = 1;
  CHECK(h.Run({"GET", "a"}) == Bulk("in0"));
  CHECK(h.Run({"PEXPIRETIME", "a"}) == Int(at));
  CHECK(h.Run({"DBSIZE"}) == Int(1));
}

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
