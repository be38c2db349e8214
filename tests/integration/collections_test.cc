// Hashes and sets over TCP, as an application uses them: large ones under a small MemTable
// budget (their members tier to disk), deletes of whole collections, and kill -9 with
// appendfsync always: every acknowledged field and member is back after the restart, and no
// deleted one.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "server_process.h"

namespace organic::itest {
namespace {

// Sends commands pipelined and requires each reply to be `expected`.
void Pipeline(redisContext* c, const std::vector<std::vector<std::string>>& commands,
              const std::string& expected) {
  for (const auto& args : commands) AppendCommand(c, args);
  for (const auto& args : commands) {
    REQUIRE_MESSAGE(FormatReply(GetReply(c).get(), c) == expected, args[0] << " " << args[1]);
  }
}

std::string Field(int i) { return "field:" + std::to_string(i); }
std::string ValueOf(int i) { return "value-" + std::to_string(i) + std::string(i % 50, 'v'); }

}  // namespace

TEST_CASE("large hashes and sets under a small budget survive kill -9 exactly") {
  ServerProcess server({"--appendfsync", "always", "--organic-memtable-budget", "256kb"});
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr c = server.Connect();
  REQUIRE(c != nullptr);
  const int kFields = 20000;
  std::vector<std::vector<std::string>> cmds;
  for (int i = 0; i < kFields; i += 10) {
    std::vector<std::string> args = {"HSET", "big"};
    for (int j = i; j < i + 10; j++) {
      args.push_back(Field(j));
      args.push_back(ValueOf(j));
    }
    cmds.push_back(args);
  }
  Pipeline(c.get(), cmds, "10");
  cmds.clear();
  for (int i = 0; i < kFields; i += 7) cmds.push_back({"HDEL", "big", Field(i)});
  Pipeline(c.get(), cmds, "1");
  cmds.clear();
  for (int i = 0; i < 5000; i++) cmds.push_back({"SADD", "members", "m" + std::to_string(i)});
  Pipeline(c.get(), cmds, "1");
  cmds.clear();
  for (int i = 0; i < 5000; i += 3) cmds.push_back({"SREM", "members", "m" + std::to_string(i)});
  Pipeline(c.get(), cmds, "1");
  // Whole collections deleted: a large one (member records) and small ones (inline).
  cmds.clear();
  for (int i = 0; i < 3000; i++) cmds.push_back({"HSET", "gone", Field(i), ValueOf(i)});
  Pipeline(c.get(), cmds, "1");
  CHECK(CmdInt(c.get(), {"DEL", "gone"}) == 1);
  for (int i = 0; i < 100; i++) {
    CHECK(CmdInt(c.get(), {"HSET", "small:" + std::to_string(i), "a", "1", "b", "2"}) == 2);
  }
  for (int i = 0; i < 100; i += 2) CHECK(CmdInt(c.get(), {"DEL", "small:" + std::to_string(i)}) == 1);
  // The hash was rebuilt under the same name after its delete: none of the old fields return.
  CHECK(CmdInt(c.get(), {"HSET", "gone", "only", "1"}) == 1);
  CHECK(Cmd(c.get(), {"OBJECT", "ENCODING", "big"}) == "hashtable");
  CHECK(Cmd(c.get(), {"OBJECT", "ENCODING", "members"}) == "hashtable");
  const std::string info = Cmd(c.get(), {"INFO", "organic"});
  CHECK(std::stoll(InfoField(info, "organic_flushes")) > 0);

  const int64_t live_fields = kFields - (kFields + 6) / 7;
  const int64_t live_members = 5000 - (5000 + 2) / 3;
  auto verify = [&](redisContext* rc) {
    CHECK(CmdInt(rc, {"DBSIZE"}) == 3 + 50);  // big, members, gone, 50 small
    CHECK(CmdInt(rc, {"HLEN", "big"}) == live_fields);
    CHECK(CmdInt(rc, {"SCARD", "members"}) == live_members);
    CHECK(CmdInt(rc, {"HLEN", "gone"}) == 1);
    CHECK(Cmd(rc, {"HGET", "gone", Field(5)}) == "(nil)");
    for (int i = 0; i < kFields; i++) AppendCommand(rc, {"HGET", "big", Field(i)});
    int wrong = 0;
    for (int i = 0; i < kFields; i++) {
      std::string got = FormatReply(GetReply(rc).get(), rc);
      if (got != (i % 7 == 0 ? std::string("(nil)") : ValueOf(i))) wrong++;
    }
    CHECK(wrong == 0);
    for (int i = 0; i < 5000; i++) AppendCommand(rc, {"SISMEMBER", "members", "m" + std::to_string(i)});
    wrong = 0;
    for (int i = 0; i < 5000; i++) {
      if (FormatReply(GetReply(rc).get(), rc) != (i % 3 == 0 ? "0" : "1")) wrong++;
    }
    CHECK(wrong == 0);
    // A full HSCAN returns every live field once.
    std::string cursor = "0";
    int64_t seen = 0;
    do {
      RedisReplyPtr r = Command(rc, {"HSCAN", "big", cursor, "COUNT", "500"});
      REQUIRE(r != nullptr);
      REQUIRE(r->type == REDIS_REPLY_ARRAY);
      cursor = r->element[0]->str;
      seen += static_cast<int64_t>(r->element[1]->elements / 2);
    } while (cursor != "0");
    CHECK(seen == live_fields);
    CHECK(CmdInt(rc, {"EXISTS", "small:0"}) == 0);
    CHECK(Cmd(rc, {"HGETALL", "small:1"}) == "[a,1,b,2]");
  };
  verify(c.get());
  c.reset();
  server.Kill();
  REQUIRE_MESSAGE(server.Start(), server.log_since_start());
  c = server.Connect();
  REQUIRE(c != nullptr);
  verify(c.get());
}

}  // namespace organic::itest
