// Keyspace commands (DEL ... SWAPDB) and the command table entries of the keyspace and expiry
// commands. Expected replies were taken from redis-server 7.0.15 (redis-cli and raw RESP);
// where organic differs on purpose (key order) the test checks the contract instead of the
// bytes. SCAN is tested in scan_commands_test.cc, EXPIRE ... PERSIST in
// expire_commands_test.cc; the shared helpers are in keyspace_test_util.h.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "commands/command_table.h"
#include "keyspace_test_util.h"
#include "util/clock.h"

namespace organic {
namespace {

using namespace testing;

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

}  // namespace
}  // namespace organic
