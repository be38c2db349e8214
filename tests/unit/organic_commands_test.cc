// The memory policy's introspection: maxmemory-policy "organic" (the default), OBJECT FREQ under
// each kind of policy, and the ORGANIC command family (TEMPERATURE, HELP). Redis's own replies
// (OBJECT FREQ's error, CONFIG's error text, arity errors) were taken from redis-server 7.0.15.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "command_harness.h"
#include "engine/engine.h"

namespace organic {
namespace {

using engine::Tier;
using testing::CommandHarness;

const std::string kOk = "+OK\r\n";
const std::string kNil = "$-1\r\n";
const std::string kFreqError =
    "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
    "that when switching between policies at runtime LRU and LFU data will take some time to "
    "adjust.\r\n";
const std::string kIdleError =
    "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
    "switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n";

std::string Int(int64_t v) { return ":" + std::to_string(v) + "\r\n"; }
std::string Bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
std::string Temp(double t) {
  char buf[64];
  snprintf(buf, sizeof(buf), "%.2f", t);
  return buf;
}
// ORGANIC TEMPERATURE key's reply: header then tier, access_count, temperature pairs.
std::string KeyReply(const std::string& header, std::string_view tier, int64_t access,
                     std::string_view temperature) {
  return header + Bulk("tier") + Bulk(tier) + Bulk("access_count") + Int(access) +
         Bulk("temperature") + Bulk(temperature);
}
std::string Resp2Key(std::string_view tier, int64_t access, std::string_view t) {
  return KeyReply("*6\r\n", tier, access, t);
}
std::string Resp3Key(std::string_view tier, int64_t access, std::string_view t) {
  return KeyReply("%3\r\n", tier, access, t);
}

TEST_CASE("maxmemory-policy: organic is the default and a valid choice") {
  CommandHarness h;
  CHECK(h.Run({"CONFIG", "GET", "maxmemory-policy"}) ==
        "*2\r\n" + Bulk("maxmemory-policy") + Bulk("organic"));
  CHECK(h.Run({"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"}) == kOk);
  CHECK(h.Run({"CONFIG", "SET", "maxmemory-policy", "ORGANIC"}) == kOk);
  CHECK(h.Run({"CONFIG", "GET", "maxmemory-policy"}) ==
        "*2\r\n" + Bulk("maxmemory-policy") + Bulk("organic"));
  CHECK(h.Run({"CONFIG", "SET", "maxmemory-policy", "foo"}) ==
        "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) "
        "must be one of the following: volatile-lru, volatile-lfu, volatile-random, "
        "volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction, organic\r\n");
  Config config;
  std::string err;
  CHECK(config.LoadText("maxmemory-policy noeviction\n", "t.conf", &err));
  CHECK(config.values().maxmemory_policy == "noeviction");
  CHECK(config.LoadText("maxmemory-policy organic\n", "t.conf", &err));
  CHECK(config.values().maxmemory_policy == "organic");
}

TEST_CASE("OBJECT FREQ: the access count under the organic policy") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "v"}) == kOk);
  CHECK(h.Run({"OBJECT", "FREQ", "k"}) == Int(0));
  CHECK(h.Run({"GET", "k"}) == Bulk("v"));
  CHECK(h.Run({"GET", "k"}) == Bulk("v"));
  CHECK(h.Run({"OBJECT", "FREQ", "k"}) == Int(2));
  // Introspection does not count as an access.
  CHECK(h.Run({"EXISTS", "k"}) == Int(1));
  CHECK(h.Run({"OBJECT", "FREQ", "k"}) == Int(2));
  CHECK(h.Run({"object", "freq", "k"}) == Int(2));
  CHECK(h.Run({"OBJECT", "FREQ", "nosuch"}) == kNil);
  CHECK(h.Run({"OBJECT", "FREQ"}) ==
        "-ERR wrong number of arguments for 'object|freq' command\r\n");
  // The other subcommands are unchanged.
  CHECK(h.Run({"OBJECT", "ENCODING", "k"}) == Bulk("embstr"));
  CHECK(h.Run({"OBJECT", "IDLETIME", "k"}) == Int(0));
  CHECK(h.Run({"OBJECT", "REFCOUNT", "k"}) == Int(1));
  CHECK(h.Run({"OBJECT", "ENCODING", "nosuch"}) == kNil);
  CHECK(h.Run({"OBJECT", "HELP"}).rfind("*15\r\n+OBJECT <subcommand>", 0) == 0);
}

TEST_CASE("OBJECT FREQ: Redis's behaviour under the Redis policies") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "v"}) == kOk);
  CHECK(h.Run({"GET", "k"}) == Bulk("v"));
  CHECK(h.Run({"CONFIG", "SET", "maxmemory-policy", "noeviction"}) == kOk);
  CHECK(h.Run({"OBJECT", "FREQ", "k"}) == kFreqError);
  CHECK(h.Run({"OBJECT", "FREQ", "nosuch"}) == kNil);  // the key is looked up first, as Redis
  CHECK(h.Run({"OBJECT", "IDLETIME", "k"}) == Int(0));
  CHECK(h.Run({"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"}) == kOk);
  CHECK(h.Run({"OBJECT", "FREQ", "k"}) == kFreqError);
  CHECK(h.Run({"CONFIG", "SET", "maxmemory-policy", "volatile-ttl"}) == kOk);
  CHECK(h.Run({"OBJECT", "FREQ", "k"}) == kFreqError);
  // LFU policies report the same access count organic does.
  CHECK(h.Run({"CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"}) == kOk);
  CHECK(h.Run({"OBJECT", "FREQ", "k"}) == Int(1));
  CHECK(h.Run({"OBJECT", "IDLETIME", "k"}) == kIdleError);
  CHECK(h.Run({"CONFIG", "SET", "maxmemory-policy", "volatile-lfu"}) == kOk);
  CHECK(h.Run({"GET", "k"}) == Bulk("v"));
  CHECK(h.Run({"OBJECT", "FREQ", "k"}) == Int(2));
  CHECK(h.Run({"CONFIG", "SET", "maxmemory-policy", "organic"}) == kOk);
  CHECK(h.Run({"OBJECT", "FREQ", "k"}) == Int(2));
  CHECK(h.Run({"OBJECT", "IDLETIME", "k"}) == Int(0));
}

TEST_CASE("ORGANIC TEMPERATURE: the global temperature") {
  CommandHarness h;
  CHECK(h.Run({"ORGANIC", "TEMPERATURE"}) == Bulk("0.00"));
  // Two keys, one read four times: the flush measures a mean access count of 2 and the
  // temperature moves off zero.
  CHECK(h.Run({"SET", "hot", "1"}) == kOk);
  CHECK(h.Run({"SET", "cold", "2"}) == kOk);
  for (int i = 0; i < 4; i++) CHECK(h.Run({"GET", "hot"}) == Bulk("1"));
  REQUIRE(h.engine().Flush().ok());
  double t = h.engine().temperature();
  CHECK(t > 0);
  CHECK(h.Run({"ORGANIC", "TEMPERATURE"}) == Bulk(Temp(t)));
  CHECK(h.Run({"organic", "temperature"}) == Bulk(Temp(t)));
  h.session().resp = 3;
  CHECK(h.Run({"ORGANIC", "TEMPERATURE"}) == Bulk(Temp(t)));  // a bulk string in RESP3 too
}

TEST_CASE("ORGANIC TEMPERATURE key: a key in memory") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "v"}) == kOk);
  CHECK(h.Run({"GET", "k"}) == Bulk("v"));
  CHECK(h.Run({"GET", "k"}) == Bulk("v"));
  REQUIRE(h.engine().TierOf(0, "k") == Tier::kMemory);
  CHECK(h.Run({"ORGANIC", "TEMPERATURE", "k"}) == Resp2Key("memory", 2, "0.00"));
  // Asking is not an access.
  CHECK(h.Run({"ORGANIC", "TEMPERATURE", "k"}) == Resp2Key("memory", 2, "0.00"));
  CHECK(h.Run({"OBJECT", "FREQ", "k"}) == Int(2));
  h.session().resp = 3;
  CHECK(h.Run({"ORGANIC", "TEMPERATURE", "k"}) == Resp3Key("memory", 2, "0.00"));
  // The key is looked up in the selected database.
  h.session().resp = 2;
  CHECK(h.Run({"SELECT", "1"}) == kOk);
  CHECK(h.Run({"ORGANIC", "TEMPERATURE", "k"}) == "*-1\r\n");
  CHECK(h.Run({"SET", "k", "other"}) == kOk);
  CHECK(h.Run({"ORGANIC", "TEMPERATURE", "k"}) == Resp2Key("memory", 0, "0.00"));
}

TEST_CASE("ORGANIC TEMPERATURE key: a key on disk stays on disk") {
  CommandHarness h;
  CHECK(h.Run({"SET", "k", "v"}) == kOk);
  for (int i = 0; i < 3; i++) CHECK(h.Run({"GET", "k"}) == Bulk("v"));
  REQUIRE(h.engine().Reload().ok());  // every key to an SSTable, MemTables empty
  REQUIRE(h.engine().TierOf(0, "k") == Tier::kDisk);
  std::string t = Temp(h.engine().temperature());
  CHECK(h.Run({"ORGANIC", "TEMPERATURE", "k"}) == Resp2Key("disk", 0, t));
  // kAdmitReads GETs would promote the key (see Engine::MaybePromote); introspection reads
  // must not, nor count towards it.
  for (uint32_t i = 0; i < engine::Engine::kAdmitReads; i++) {
    CHECK(h.Run({"ORGANIC", "TEMPERATURE", "k"}) == Resp2Key("disk", 0, t));
  }
  CHECK(h.engine().TierOf(0, "k") == Tier::kDisk);
  h.session().resp = 3;
  CHECK(h.Run({"ORGANIC", "TEMPERATURE", "k"}) == Resp3Key("disk", 0, t));
  // Reads bring it back into memory, and the reply follows. The three GETs before the reload
  // count as recent reads.
  for (uint32_t i = 0; i < engine::Engine::kAdmitReads && h.engine().TierOf(0, "k") == Tier::kDisk;
       i++) {
    CHECK(h.Run({"GET", "k"}) == Bulk("v"));
  }
  REQUIRE(h.engine().TierOf(0, "k") == Tier::kMemory);
  std::string promoted = h.Run({"ORGANIC", "TEMPERATURE", "k"});
  CHECK(promoted.rfind("%3\r\n" + Bulk("tier") + Bulk("memory"), 0) == 0);
}

TEST_CASE("ORGANIC TEMPERATURE key: missing and expired keys are null") {
  CommandHarness h;
  CHECK(h.Run({"ORGANIC", "TEMPERATURE", "nosuch"}) == "*-1\r\n");
  h.engine().Put(0, "old", engine::ValueType::kString, "v", 1);  // expired in 1970
  CHECK(h.Run({"ORGANIC", "TEMPERATURE", "old"}) == "*-1\r\n");
  CHECK(h.engine().KeyCount(0) == 0);  // the lookup deleted it, as any read does
  CHECK(h.Run({"SET", "gone", "v"}) == kOk);
  CHECK(h.Run({"DEL", "gone"}) == Int(1));
  CHECK(h.Run({"ORGANIC", "TEMPERATURE", "gone"}) == "*-1\r\n");
  REQUIRE(h.engine().Reload().ok());  // the tombstone on disk still means "no key"
  CHECK(h.Run({"ORGANIC", "TEMPERATURE", "gone"}) == "*-1\r\n");
  h.session().resp = 3;
  CHECK(h.Run({"ORGANIC", "TEMPERATURE", "nosuch"}) == "_\r\n");
}

TEST_CASE("ORGANIC: errors and HELP") {
  CommandHarness h;
  CHECK(h.Run({"ORGANIC"}) == "-ERR wrong number of arguments for 'organic' command\r\n");
  CHECK(h.Run({"ORGANIC", "FOO"}) == "-ERR unknown subcommand 'FOO'. Try ORGANIC HELP.\r\n");
  CHECK(h.Run({"ORGANIC", "FOO", "k"}) == "-ERR unknown subcommand 'FOO'. Try ORGANIC HELP.\r\n");
  CHECK(h.Run({"ORGANIC", "TEMPERATURE", "a", "b"}) ==
        "-ERR unknown subcommand or wrong number of arguments for 'TEMPERATURE'. Try ORGANIC "
        "HELP.\r\n");
  CHECK(h.Run({"organic", "temperature", "a", "b"}) ==
        "-ERR unknown subcommand or wrong number of arguments for 'temperature'. Try ORGANIC "
        "HELP.\r\n");
  CHECK(h.Run({"ORGANIC", "HELP", "x"}) ==
        "-ERR wrong number of arguments for 'organic|help' command\r\n");
  std::string help = h.Run({"ORGANIC", "HELP"});
  CHECK(help.rfind("*8\r\n+ORGANIC <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n",
                   0) == 0);
  CHECK(help.find("+TEMPERATURE [<key>]\r\n") != std::string::npos);
  CHECK(help.find("+HELP\r\n") != std::string::npos);
  CHECK(h.Run({"organic", "help"}) == help);
}

TEST_CASE("ORGANIC: described in COMMAND INFO, DOCS and GETKEYS") {
  CommandHarness h;
  std::string info = h.Run({"COMMAND", "INFO", "organic|temperature"});
  CHECK(info.rfind("*1\r\n*10\r\n" + Bulk("organic|temperature") + Int(-2) + "*1\r\n+readonly\r\n" +
                       Int(2) + Int(2) + Int(1) + "*3\r\n+@keyspace\r\n+@read\r\n+@slow\r\n" +
                       "*1\r\n+nondeterministic_output\r\n",
                   0) == 0);
  CHECK(info.find(Bulk("flags") + "*1\r\n+RO\r\n") != std::string::npos);
  std::string container = h.Run({"COMMAND", "INFO", "organic"});
  CHECK(container.find(Bulk("organic|temperature")) != std::string::npos);
  CHECK(container.find(Bulk("organic|help")) != std::string::npos);
  CHECK(h.Run({"COMMAND", "GETKEYS", "ORGANIC", "TEMPERATURE", "k"}) == "*1\r\n" + Bulk("k"));
  CHECK(h.Run({"COMMAND", "GETKEYS", "ORGANIC", "TEMPERATURE"}) == "*0\r\n");
  std::string docs = h.Run({"COMMAND", "DOCS", "organic"});
  CHECK(docs.find(Bulk("subcommands")) != std::string::npos);
  CHECK(docs.find(Bulk("organic|temperature")) != std::string::npos);
  CHECK(h.Run({"COMMAND", "LIST", "FILTERBY", "PATTERN", "organic*"}) ==
        "*3\r\n" + Bulk("organic") + Bulk("organic|temperature") + Bulk("organic|help"));
}

}  // namespace
}  // namespace organic
