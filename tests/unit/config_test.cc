#include <doctest/doctest.h>

#include "server/config.h"

using organic::Config;

TEST_CASE("config: defaults and typed directives") {
  Config c;
  CHECK(c.values().port == 6379);
  std::string err;
  CHECK(c.LoadText("port 7000\nmaxmemory 100mb\n# comment\n\nbind 127.0.0.1 ::1\n"
                   "appendfsync always\nprotected-mode no\n", "test.conf", &err));
  CHECK(c.values().port == 7000);
  CHECK(c.values().maxmemory == 100ull * 1024 * 1024);
  CHECK(c.values().bind.size() == 2);
  CHECK(c.values().appendfsync == "always");
  CHECK_FALSE(c.values().protected_mode);
  CHECK(c.Find("MAXMEMORY")->get() == "104857600");
}

TEST_CASE("config: errors name file, line and directive") {
  Config c;
  std::string err;
  CHECK_FALSE(c.LoadText("port 7000\nbogus-directive 1\n", "my.conf", &err));
  CHECK(err.find("my.conf") != std::string::npos);
  CHECK(err.find("line 2") != std::string::npos);
  CHECK(err.find("bogus-directive") != std::string::npos);
  CHECK(err.find("Bad directive") != std::string::npos);
  CHECK_FALSE(c.LoadText("port abc\n", "x.conf", &err));
  CHECK(err.find("argument couldn't be parsed into an integer") != std::string::npos);
  CHECK_FALSE(c.LoadText("port 70000\n", "x.conf", &err));
  CHECK(err.find("between 0 and 65535") != std::string::npos);
  CHECK_FALSE(c.LoadText("appendfsync sometimes\n", "x.conf", &err));
  CHECK(err.find("always, everysec, no") != std::string::npos);
  CHECK_FALSE(c.LoadText("maxmemory lots\n", "x.conf", &err));
  CHECK_FALSE(c.LoadText("dir \"unterminated\n", "x.conf", &err));
}

// Checked against redis-server 7.0: pairs of <seconds >= 1> <changes >= 0>, strtoll numbers,
// one word split at every space, "" clears.
TEST_CASE("config: save points") {
  Config c;
  std::string err;
  CHECK(c.Find("save")->get() == "3600 1 300 100 60 10000");
  CHECK(c.values().save_points.size() == 3);
  auto set = [&c, &err](const std::string& value) {
    return c.Set("save", organic::SplitMultiArg(value), &err);
  };
  CHECK(set("100 5 200 6"));
  CHECK(c.Find("save")->get() == "100 5 200 6");
  CHECK(set("+100 0"));
  CHECK(c.Find("save")->get() == "100 0");
  for (const char* bad : {"100", "0 1", "100 -1", "100 5x", "100 5 ", " 100 5", "100  5", "a b"}) {
    CHECK_FALSE_MESSAGE(set(bad), bad);
    CHECK(err == "Invalid save parameters");
  }
  CHECK(c.Find("save")->get() == "100 0");  // unchanged by the failures
  CHECK(set(""));
  CHECK(c.values().save_points.empty());
  CHECK(c.LoadText("save 60 1000 10 5\n", "a.conf", &err));
  CHECK(c.Find("save")->get() == "60 1000 10 5");
  CHECK(c.LoadText("save \"30 7\"\n", "a.conf", &err));
  CHECK(c.Find("save")->get() == "30 7");
  CHECK(c.LoadText("save \"\"\n", "a.conf", &err));
  CHECK(c.Find("save")->get() == "");
  CHECK_FALSE(c.LoadText("save 30\n", "a.conf", &err));
  CHECK(err.find("Invalid save parameters") != std::string::npos);
}

TEST_CASE("config: organic-block-cache-size and its automatic capacity") {
  Config c;
  const uint64_t mb = 1024 * 1024;
  CHECK(c.Find("organic-block-cache-size")->get() == "0");
  CHECK(c.Find("organic-block-cache-size")->type == Config::Type::kMemory);
  CHECK(c.Find("organic-block-cache-size")->runtime_mutable);
  // Automatic: no maxmemory, 64 MB.
  CHECK(c.values().EffectiveBlockCacheSize() == 64 * mb);
  std::string err;
  // Policy organic with maxmemory: an eighth of it, the MemTables keeping half.
  CHECK(c.LoadText("maxmemory 800mb\n", "a.conf", &err));
  CHECK(c.values().EffectiveBlockCacheSize() == 100 * mb);
  CHECK(c.values().EffectiveMemtableBudget() == 400 * mb);
  // A Redis policy with maxmemory: a pure cache, no block cache unless asked for.
  CHECK(c.Set("maxmemory-policy", {"allkeys-lru"}, &err));
  CHECK(c.values().EffectiveBlockCacheSize() == 0);
  CHECK(c.Set("organic-block-cache-size", {"16mb"}, &err));
  CHECK(c.Find("organic-block-cache-size")->get() == std::to_string(16 * mb));
  CHECK(c.values().EffectiveBlockCacheSize() == 16 * mb);
  // An explicit size wins under organic too; 0 goes back to automatic.
  CHECK(c.Set("maxmemory-policy", {"organic"}, &err));
  CHECK(c.values().EffectiveBlockCacheSize() == 16 * mb);
  CHECK(c.Set("organic-block-cache-size", {"0"}, &err));
  CHECK(c.values().EffectiveBlockCacheSize() == 100 * mb);
  CHECK(c.LoadText("organic-block-cache-size 1gb\n", "a.conf", &err));
  CHECK(c.values().organic_block_cache_size == 1024 * mb);
  CHECK_FALSE(c.Set("organic-block-cache-size", {"lots"}, &err));
  CHECK(err == "argument must be a memory value");
  CHECK(c.values().organic_block_cache_size == 1024 * mb);  // unchanged by the failure
}

// Found by tests/fuzz/config_fuzz: "0.89998E-864" is a positive long double, so it passed the
// (0, 1] check, but it rounds to the double 0, which was stored; CONFIG GET then printed "0"
// and CONFIG SET refused its own output. Likewise CONFIG GET printed 1e-300 (a valid alpha)
// as "0" with 17 fixed decimals.
TEST_CASE("config: organic-ewma-alpha below the smallest double is refused, not stored as 0") {
  Config c;
  std::string err;
  const double before = c.values().organic_ewma_alpha;
  CHECK_FALSE(c.Set("organic-ewma-alpha", {"0.89998E-864"}, &err));
  CHECK(err == "argument must be a number in (0, 1]");
  CHECK(c.values().organic_ewma_alpha == before);
  CHECK(c.Set("organic-ewma-alpha", {"1e-300"}, &err));  // tiny but a double: accepted
  const std::string printed = c.Find("organic-ewma-alpha")->get();
  CHECK(printed == "1e-300");
  CHECK(c.Set("organic-ewma-alpha", {printed}, &err));
  CHECK(c.values().organic_ewma_alpha == 1e-300);
  CHECK(c.Set("organic-ewma-alpha", {"0.25"}, &err));
  CHECK(c.Find("organic-ewma-alpha")->get() == "0.25");
}

// Checked against redis-server 7.0.15 (CONFIG SET / GET); see also
// redis-compat/diff/scripts/client_limits.txt.
TEST_CASE("config: client-output-buffer-limit per class, validated before applying") {
  Config c;
  std::string err;
  CHECK(c.Find("client-output-buffer-limit")->get() ==
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
  CHECK(c.LoadText("client-output-buffer-limit normal 1mb 512kb 10\n", "t.conf", &err));
  const auto& normal = c.values().client_output_buffer_limits[organic::ConfigValues::kObufNormal];
  CHECK(normal.hard == 1048576);
  CHECK(normal.soft == 524288);
  CHECK(normal.soft_seconds == 10);
  CHECK(c.Set("client-output-buffer-limit", {"replica", "1", "2", "3", "pubsub", "1k", "2", "+3"},
              &err));
  CHECK(c.Find("client-output-buffer-limit")->get() ==
        "normal 1048576 524288 10 slave 1 2 3 pubsub 1000 2 3");
  CHECK(c.Set("client-output-buffer-limit", {}, &err));  // "" changes nothing, as Redis
  CHECK_FALSE(c.Set("client-output-buffer-limit", {"normal", "1", "2"}, &err));
  CHECK(err == "Wrong number of arguments in buffer limit configuration.");
  CHECK_FALSE(c.Set("client-output-buffer-limit", {"master", "1", "2", "3"}, &err));
  CHECK(err == "Invalid client class specified in buffer limit configuration.");
  CHECK_FALSE(c.Set("client-output-buffer-limit", {"foo", "x", "2", "3"}, &err));
  CHECK(err == "Invalid client class specified in buffer limit configuration.");
  for (const char* bad_secs : {"-3", "x", "99999999999999999999"}) {
    CHECK_FALSE(c.Set("client-output-buffer-limit", {"normal", "1", "2", bad_secs}, &err));
    CHECK(err == "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
  }
  CHECK_FALSE(c.Set("client-output-buffer-limit", {"normal", "-1", "2", "3"}, &err));
  // A bad group after a good one: nothing applied.
  CHECK_FALSE(c.Set("client-output-buffer-limit", {"normal", "7", "8", "9", "bad", "1", "2", "3"},
                    &err));
  CHECK(normal.hard == 1048576);
}

TEST_CASE("config: maxmemory-clients takes bytes or a percentage of maxmemory") {
  Config c;
  std::string err;
  const organic::ConfigValues& v = c.values();
  CHECK(c.Find("maxmemory-clients")->get() == "536870912");  // Organic's default: 512 MB
  CHECK(v.EffectiveMaxmemoryClients() == 512ull << 20);
  CHECK(c.Set("maxmemory-clients", {"10%"}, &err));
  CHECK(c.Find("maxmemory-clients")->get() == "10%");
  CHECK(v.EffectiveMaxmemoryClients() == 0);  // no maxmemory: no bound, as Redis
  CHECK(c.Set("maxmemory", {"1gb"}, &err));
  CHECK(v.EffectiveMaxmemoryClients() == (1ull << 30) / 100 * 10);
  CHECK(c.Set("maxmemory-clients", {"0%"}, &err));
  CHECK(c.Find("maxmemory-clients")->get() == "0");
  CHECK(c.Set("maxmemory-clients", {"1k"}, &err));
  CHECK(c.Find("maxmemory-clients")->get() == "1000");
  CHECK(v.EffectiveMaxmemoryClients() == 128 * 1024);  // Redis's floor
  CHECK_FALSE(c.Set("maxmemory-clients", {"101%"}, &err));
  CHECK(err == "percentage argument must be less or equal to 100");
  for (const char* bad : {"-1", "abc", "1.5%", "%", "-5%"}) {
    CHECK_FALSE(c.Set("maxmemory-clients", {bad}, &err));
    CHECK(err == "argument must be a memory or percent value");
  }
  CHECK(c.LoadText("maxmemory-clients 0\n", "t.conf", &err));
  CHECK(v.EffectiveMaxmemoryClients() == 0);
}

TEST_CASE("config: a CONFIG SET maxclients the server cannot serve keeps the old value") {
  Config c;
  std::string err;
  CHECK(c.Set("maxclients", {"100"}, &err));  // no hook while loading
  c.maxclients_hook = [](int n, std::string* error) {
    if (n <= 200) return true;
    *error = "The operating system is not able to handle the specified number of clients, "
             "try with 200";
    return false;
  };
  CHECK(c.Set("maxclients", {"150"}, &err));
  CHECK_FALSE(c.Set("maxclients", {"5000"}, &err));
  CHECK(err.find("try with 200") != std::string::npos);
  CHECK(c.values().maxclients == 150);
  CHECK(c.Set("maxclients", {"10"}, &err));  // lowering never needs descriptors
}
