// Durability as a user sees it: what survives a clean restart, a kill -9 in the middle of
// writes, a torn WAL tail, and corruption in the middle of a WAL (which must stop the server
// until organic-check-wal --fix repairs it). WAL byte layout: docs/wal-format.md.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "engine/mutation.h"
#include "server_process.h"

namespace organic::itest {
namespace {

using std::chrono::milliseconds;

void SleepMs(int ms) { std::this_thread::sleep_for(milliseconds(ms)); }

// One framed record of a WAL file: [offset, offset + 8 + length).
struct WalRecordSpan {
  uint64_t offset;
  uint32_t length;
};

// Splits a WAL file into its records by their length fields (no checksum check: the tests
// only call this on files the server wrote and closed cleanly).
std::vector<WalRecordSpan> WalRecords(const std::string& bytes) {
  std::vector<WalRecordSpan> records;
  uint64_t pos = 0;
  while (pos + 8 <= bytes.size()) {
    uint32_t length;
    memcpy(&length, bytes.data() + pos, 4);  // little-endian host, as the format
    if (pos + 8 + length > bytes.size()) break;
    records.push_back({pos, length});
    pos += 8 + length;
  }
  return records;
}

std::string ValueFor(const std::string& key) { return "value-of-" + key + std::string(64, '.'); }

// GETs every key in one pipeline; returns how many replies differ from want(key) (nullopt
// meaning "must be absent"). The first mismatch is described in *first.
template <typename Want>
int CountMismatches(redisContext* c, const std::vector<std::string>& keys, Want want,
                    std::string* first) {
  for (const std::string& k : keys) AppendCommand(c, {"GET", k});
  int bad = 0;
  for (const std::string& k : keys) {
    RedisReplyPtr r = GetReply(c);
    std::string got = FormatReply(r.get(), c);
    std::string expected = want(k);
    if (got != expected) {
      if (bad++ == 0) *first = k + ": got " + got.substr(0, 80) + ", want " + expected;
    }
  }
  return bad;
}

TEST_CASE("a clean restart keeps values and TTLs; keys that expired meanwhile are gone") {
  // With save points the shutdown flushes every key to a table; without, the WAL is replayed.
  std::vector<std::string> args;
  SUBCASE("from tables (default save points)") {}
  SUBCASE("from the WAL (save \"\")") { args = {"--save", ""}; }
  ServerProcess server(args);
  REQUIRE_MESSAGE(server.Start(), server.log());
  std::string binary("bin\0\r\nary\xff", 11);
  int64_t pttl_before = 0;
  {
    RedisContextPtr c = server.Connect();
    REQUIRE(c != nullptr);
    REQUIRE(Cmd(c.get(), {"SET", "plain", "v1"}) == "OK");
    REQUIRE(Cmd(c.get(), {"SET", "plain", "v2"}) == "OK");  // the newest value must win
    REQUIRE(Cmd(c.get(), {"SET", binary, binary}) == "OK");
    REQUIRE(Cmd(c.get(), {"SET", "ttl", "t", "PX", "60000"}) == "OK");
    REQUIRE(Cmd(c.get(), {"SET", "later-ttl", "x"}) == "OK");
    REQUIRE(CmdInt(c.get(), {"PEXPIRE", "later-ttl", "120000"}) == 1);
    REQUIRE(Cmd(c.get(), {"SET", "persisted", "p", "EX", "100"}) == "OK");
    REQUIRE(CmdInt(c.get(), {"PERSIST", "persisted"}) == 1);
    REQUIRE(Cmd(c.get(), {"SET", "short", "s", "PX", "300"}) == "OK");
    REQUIRE(Cmd(c.get(), {"SET", "deleted", "d"}) == "OK");
    REQUIRE(CmdInt(c.get(), {"DEL", "deleted"}) == 1);
    REQUIRE(Cmd(c.get(), {"SELECT", "5"}) == "OK");
    REQUIRE(Cmd(c.get(), {"SET", "in-db5", "five"}) == "OK");
    CHECK(CmdInt(c.get(), {"PTTL", "ttl"}) == -2);  // "ttl" lives in db 0
    REQUIRE(Cmd(c.get(), {"SELECT", "0"}) == "OK");
    pttl_before = CmdInt(c.get(), {"PTTL", "ttl"});
    REQUIRE(pttl_before > 59000);
  }
  REQUIRE(server.Stop() == 0);
  SleepMs(400);  // "short" expires while the server is down
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr c = server.Connect();
  REQUIRE(c != nullptr);
  // "short" expired while the server was down: the active expiry removes it without any
  // command touching it, whether it is replayed from the WAL or sits in a table (Redis skips
  // it at load).
  int64_t dbsize = 0;
  for (int i = 0; i < 40 && (dbsize = CmdInt(c.get(), {"DBSIZE"})) != 5; i++) SleepMs(50);
  CHECK(dbsize == 5);
  CHECK(InfoField(Cmd(c.get(), {"INFO", "keyspace"}), "db0").rfind("keys=5,expires=2,", 0) == 0);
  CHECK(Cmd(c.get(), {"GET", "plain"}) == "v2");
  CHECK(Cmd(c.get(), {"GET", binary}) == binary);
  int64_t pttl_after = CmdInt(c.get(), {"PTTL", "ttl"});
  CHECK(pttl_after > 0);
  CHECK(pttl_after <= pttl_before);
  int64_t later = CmdInt(c.get(), {"PTTL", "later-ttl"});
  CHECK(later > 60000);
  CHECK(later <= 120000);
  CHECK(CmdInt(c.get(), {"TTL", "persisted"}) == -1);
  CHECK(CmdInt(c.get(), {"EXISTS", "short"}) == 0);
  CHECK(Cmd(c.get(), {"GET", "short"}) == "(nil)");
  CHECK(CmdInt(c.get(), {"EXISTS", "deleted"}) == 0);
  CHECK(Cmd(c.get(), {"KEYS", "*"}).find("short") == std::string::npos);
  CHECK(Cmd(c.get(), {"SELECT", "5"}) == "OK");
  CHECK(Cmd(c.get(), {"GET", "in-db5"}) == "five");
  CHECK(CmdInt(c.get(), {"EXISTS", "plain"}) == 0);
}

TEST_CASE("kill -9 during writes with appendfsync always loses no acknowledged write") {
  ServerProcess server({"--appendfsync", "always"});
  REQUIRE_MESSAGE(server.Start(), server.log());
  std::random_device rd;
  const uint32_t seed = rd();
  MESSAGE("kill -9 schedule seed " << seed);
  std::mt19937 rng(seed);

  std::vector<std::string> must_exist;   // acknowledged SETs, never deleted
  std::vector<std::string> must_absent;  // acknowledged DELs
  int total_acked = 0;
  constexpr int kCycles = 5;
  for (int cycle = 0; cycle < kCycles; cycle++) {
    CAPTURE(cycle);
    RedisContextPtr c = server.Connect();
    REQUIRE(c != nullptr);
    // The writer owns these until join(): each entry is added only after its reply arrived.
    std::vector<std::string> acked_sets, acked_dels;
    std::set<std::string> del_sent;  // a DEL whose reply may not have come: state unknown
    std::string writer_error;
    std::atomic<int> acked_count{0};  // read by this thread to time the kill
    std::thread writer([&] {
      for (int i = 0;; i++) {
        std::string key = "c" + std::to_string(cycle) + ":k" + std::to_string(i);
        if (i % 5 == 4 && acked_sets.size() > 2) {
          // Delete an earlier acknowledged key of this cycle.
          std::string victim = acked_sets[acked_sets.size() / 2];
          if (del_sent.count(victim) == 0) {
            del_sent.insert(victim);
            RedisReplyPtr r = Command(c.get(), {"DEL", victim});
            if (r == nullptr) return;  // the server died: this DEL is in doubt
            if (r->type != REDIS_REPLY_INTEGER || r->integer != 1) {
              writer_error = "DEL " + victim + " -> " + FormatReply(r.get());
              return;
            }
            acked_dels.push_back(victim);
            acked_count++;
            continue;
          }
        }
        RedisReplyPtr r = Command(c.get(), {"SET", key, ValueFor(key)});
        if (r == nullptr) return;  // the server died: this SET is in doubt
        if (FormatReply(r.get()) != "OK") {
          writer_error = "SET " + key + " -> " + FormatReply(r.get());
          return;
        }
        acked_sets.push_back(key);
        acked_count++;
      }
    });
    // A random moment once writing is under way (however slow fsync is on this disk).
    for (int i = 0; i < 1000 && acked_count < 20; i++) SleepMs(10);
    SleepMs(static_cast<int>(rng() % 300));
    server.Kill();
    writer.join();
    REQUIRE_MESSAGE(writer_error.empty(), writer_error);
    REQUIRE_MESSAGE(acked_sets.size() > 10,
                    "too few writes before the kill: " << acked_sets.size());
    std::set<std::string> deleted(acked_dels.begin(), acked_dels.end());
    for (const std::string& k : acked_sets) {
      if (deleted.count(k) == 0 && del_sent.count(k) == 0) must_exist.push_back(k);
    }
    must_absent.insert(must_absent.end(), acked_dels.begin(), acked_dels.end());
    total_acked += static_cast<int>(acked_sets.size() + acked_dels.size());

    REQUIRE_MESSAGE(server.Start(), server.log_since_start());
    RedisContextPtr check = server.Connect();
    REQUIRE(check != nullptr);
    std::string first;
    // Every cycle re-checks the writes of all earlier cycles too.
    CHECK_MESSAGE(CountMismatches(check.get(), must_exist, ValueFor, &first) == 0, first);
    CHECK_MESSAGE(CountMismatches(check.get(), must_absent,
                                  [](const std::string&) { return std::string("(nil)"); },
                                  &first) == 0,
                  first);
  }
  MESSAGE(total_acked << " acknowledged writes over " << kCycles << " kills; "
                      << must_exist.size() << " keys checked present, " << must_absent.size()
                      << " absent");
}

TEST_CASE("a torn WAL tail is truncated at start-up with a warning") {
  // No save points: a clean stop must leave the writes in the WAL for this test to damage.
  ServerProcess server({"--save", ""});
  REQUIRE_MESSAGE(server.Start(), server.log());
  struct Tail {
    const char* what;
    std::string bytes;
  };
  const Tail tails[] = {
      // A header announcing 100 bytes followed by only 10.
      {"partial record", std::string("\x64\x00\x00\x00\xde\xad\xbe\xef", 8) + "0123456789"},
      // Fewer bytes than a header.
      {"garbage shorter than a header", std::string("\x13\x37\x00\x42\x99", 5)},
      // A complete record whose checksum is wrong, at the very end.
      {"bad checksum in the last record", std::string("\x04\x00\x00\x00\x01\x02\x03\x04", 8) +
                                              "abcd"},
  };
  int round = 0;
  for (const Tail& tail : tails) {
    CAPTURE(tail.what);
    {
      RedisContextPtr c = server.Connect();
      REQUIRE(c != nullptr);
      for (int i = 0; i < 20; i++) {
        std::string key = "r" + std::to_string(round) + ":" + std::to_string(i);
        REQUIRE(Cmd(c.get(), {"SET", key, ValueFor(key)}) == "OK");
      }
    }
    REQUIRE(server.Stop() == 0);
    std::vector<std::string> wals = server.WalFiles();
    REQUIRE(!wals.empty());
    const std::string last = wals.back();
    const size_t good_size = ReadFileOrEmpty(last).size();
    REQUIRE(AppendToFile(last, tail.bytes));

    REQUIRE_MESSAGE(server.Start(), server.log_since_start());
    std::string log = server.log_since_start();
    std::string name = last.substr(last.rfind('/') + 1);
    CHECK_MESSAGE(log.find("torn tail") != std::string::npos, log);
    CHECK_MESSAGE(log.find(name) != std::string::npos, log);
    CHECK(ReadFileOrEmpty(last).size() == good_size);
    RedisContextPtr c = server.Connect();
    REQUIRE(c != nullptr);
    std::vector<std::string> keys;
    for (int r = 0; r <= round; r++) {
      for (int i = 0; i < 20; i++) {
        keys.push_back("r" + std::to_string(r) + ":" + std::to_string(i));
      }
    }
    std::string first;
    CHECK_MESSAGE(CountMismatches(c.get(), keys, ValueFor, &first) == 0, first);
    round++;
  }
}

TEST_CASE("corruption inside a WAL stops start-up until organic-check-wal --fix repairs it") {
  // No save points: a clean stop must leave the writes in the WAL for this test to damage.
  ServerProcess server({"--save", ""});
  REQUIRE_MESSAGE(server.Start(), server.log());
  {
    RedisContextPtr c = server.Connect();
    REQUIRE(c != nullptr);
    for (int i = 0; i < 100; i++) {
      std::string key = "key:" + std::to_string(i);
      REQUIRE(Cmd(c.get(), {"SET", key, ValueFor(key)}) == "OK");
    }
  }
  REQUIRE(server.Stop() == 0);
  std::vector<std::string> wals = server.WalFiles();
  REQUIRE(!wals.empty());
  const std::string path = wals.back();
  const std::string name = path.substr(path.rfind('/') + 1);
  std::string bytes = ReadFileOrEmpty(path);
  std::vector<WalRecordSpan> records = WalRecords(bytes);
  REQUIRE(records.size() >= 50);
  REQUIRE(records.back().offset + 8 + records.back().length == bytes.size());

  // Keys written by the records that precede the damaged one: they must survive the repair.
  constexpr size_t kDamaged = 10;
  std::set<std::string> keys_before;
  for (size_t i = 0; i < kDamaged; i++) {
    engine::Mutation m;
    REQUIRE(engine::DecodeMutation(
        std::string_view(bytes).substr(records[i].offset + 8, records[i].length), &m));
    if (m.op == engine::MutationOp::kPut) keys_before.insert(std::string(m.key));
  }
  REQUIRE(!keys_before.empty());
  const uint64_t bad_offset = records[kDamaged].offset;
  bytes[bad_offset + 8 + records[kDamaged].length / 2] ^= 0x20;  // inside the payload
  REQUIRE(WriteWholeFile(path, bytes));

  // The server refuses to start and says where the damage is.
  CHECK_FALSE(server.Start());
  CHECK(server.exit_status() == 1);
  std::string log = server.log_since_start();
  CHECK_MESSAGE(log.find(name) != std::string::npos, log);
  CHECK_MESSAGE(log.find("offset " + std::to_string(bad_offset)) != std::string::npos, log);
  CHECK(ReadFileOrEmpty(path) == bytes);  // nothing was truncated behind the user's back

  ProcessResult check = RunProgram({CheckWalBinary(), server.data_dir()});
  CHECK(check.exit_code == 1);
  CHECK_MESSAGE(check.out.find("corruption at offset " + std::to_string(bad_offset)) !=
                    std::string::npos,
                check.out << check.err);

  ProcessResult fix = RunProgram({CheckWalBinary(), "--fix", server.data_dir()});
  CHECK_MESSAGE(fix.exit_code == 0, fix.out << fix.err);
  CHECK(ReadFileOrEmpty(path).size() == bad_offset);
  ProcessResult recheck = RunProgram({CheckWalBinary(), path});
  CHECK_MESSAGE(recheck.exit_code == 0, recheck.out << recheck.err);

  REQUIRE_MESSAGE(server.Start(), server.log_since_start());
  RedisContextPtr c = server.Connect();
  REQUIRE(c != nullptr);
  std::vector<std::string> kept(keys_before.begin(), keys_before.end());
  std::string first;
  CHECK_MESSAGE(CountMismatches(c.get(), kept, ValueFor, &first) == 0, first);
  CHECK(CmdInt(c.get(), {"DBSIZE"}) == static_cast<int64_t>(kept.size()));
  CHECK(Cmd(c.get(), {"SET", "after-fix", "1"}) == "OK");
}

TEST_CASE("SAVE moves the data into SSTables and retires the WAL; it survives restart and crash") {
  ServerProcess server({"--appendfsync", "always"});
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr c = server.Connect();
  REQUIRE(c != nullptr);
  const std::string filler(1000, 'f');
  for (int round = 0; round < 5; round++) {  // every key overwritten 5 times
    for (int i = 0; i < 100; i++) {
      REQUIRE(Cmd(c.get(), {"SET", "s:" + std::to_string(i), filler + std::to_string(round)}) ==
              "OK");
    }
  }
  for (int i = 0; i < 100; i += 4) REQUIRE(CmdInt(c.get(), {"DEL", "s:" + std::to_string(i)}) == 1);
  REQUIRE(Cmd(c.get(), {"SET", "ttl", "t", "EX", "1000"}) == "OK");
  auto wal_bytes = [&] {
    size_t total = 0;
    for (const std::string& p : server.WalFiles()) total += ReadFileOrEmpty(p).size();
    return total;
  };
  const size_t before = wal_bytes();
  CHECK(Cmd(c.get(), {"SAVE"}) == "OK");
  const size_t after = wal_bytes();
  MESSAGE("WAL bytes before SAVE " << before << ", after " << after);
  // The metabolic flush wrote everything to a table: the WAL holds nothing older than SAVE.
  CHECK(after < 100);
  size_t tables = 0;
  for (const auto& entry : std::filesystem::directory_iterator(server.data_dir())) {
    if (entry.path().extension() == ".sst") tables++;
  }
  CHECK(tables == 1);
  CHECK(std::filesystem::exists(server.data_dir() + "/MANIFEST"));
  CHECK(Cmd(c.get(), {"SET", "post-save", "1"}) == "OK");
  c.reset();

  auto check_data = [&](redisContext* rc) {
    for (int i = 0; i < 100; i++) {
      std::string got = Cmd(rc, {"GET", "s:" + std::to_string(i)});
      CHECK(got == (i % 4 == 0 ? std::string("(nil)") : filler + "4"));
    }
    CHECK(Cmd(rc, {"GET", "post-save"}) == "1");
    int64_t ttl = CmdInt(rc, {"TTL", "ttl"});
    CHECK(ttl > 900);
    CHECK(ttl <= 1000);
    CHECK(CmdInt(rc, {"DBSIZE"}) == 77);
  };
  REQUIRE(server.Restart());
  c = server.Connect();
  REQUIRE(c != nullptr);
  check_data(c.get());
  CHECK(Cmd(c.get(), {"SAVE"}) == "OK");
  CHECK(Cmd(c.get(), {"SET", "post-save", "1"}) == "OK");
  c.reset();
  server.Kill();  // a crash right after SAVE + one write
  REQUIRE_MESSAGE(server.Start(), server.log_since_start());
  c = server.Connect();
  REQUIRE(c != nullptr);
  check_data(c.get());
}

// Redis saves a final snapshot at shutdown when save points are set (the default), and SHUTDOWN
// SAVE / NOSAVE force either way; here the snapshot is a metabolic flush, which empties the WAL.
TEST_CASE("shutdown flushes the MemTables when save points are set; NOSAVE leaves the WAL") {
  const std::string filler(500, 'x');
  auto write_keys = [&](redisContext* c, const std::string& prefix) {
    for (int i = 0; i < 200; i++) {
      REQUIRE(Cmd(c, {"SET", prefix + std::to_string(i), filler + std::to_string(i)}) == "OK");
    }
  };
  auto count_keys = [&](redisContext* c, const std::string& prefix) {
    int found = 0;
    for (int i = 0; i < 200; i++) {
      found += Cmd(c, {"GET", prefix + std::to_string(i)}) == filler + std::to_string(i);
    }
    return found;
  };
  auto wal_bytes = [](const ServerProcess& s) {
    size_t total = 0;
    for (const std::string& p : s.WalFiles()) total += ReadFileOrEmpty(p).size();
    return total;
  };
  auto shutdown = [](ServerProcess& s, std::vector<std::string> cmd) {
    RedisContextPtr c = s.Connect();
    REQUIRE(c != nullptr);
    RedisReplyPtr r = Command(c.get(), cmd);
    CHECK(r == nullptr);  // no reply: the connection closes
    REQUIRE(s.WaitForExit(std::chrono::seconds(10)));
    CHECK(s.exit_status() == 0);
  };

  ServerProcess server;  // Redis's default save points
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr c = server.Connect();
  REQUIRE(c != nullptr);
  CHECK(Cmd(c.get(), {"CONFIG", "GET", "save"}) == "[save,3600 1 300 100 60 10000]");
  write_keys(c.get(), "a:");
  c.reset();
  CHECK(wal_bytes(server) > 200 * 500);
  REQUIRE(server.Stop() == 0);  // SIGTERM
  CHECK(wal_bytes(server) < 100);
  CHECK(server.log().find("MemTables flushed to disk") != std::string::npos);

  // SHUTDOWN NOSAVE: the WAL keeps the writes (and replays them).
  REQUIRE_MESSAGE(server.Start(), server.log_since_start());
  c = server.Connect();
  REQUIRE(c != nullptr);
  CHECK(count_keys(c.get(), "a:") == 200);
  write_keys(c.get(), "b:");
  c.reset();
  shutdown(server, {"SHUTDOWN", "NOSAVE"});
  CHECK(wal_bytes(server) > 200 * 500);

  // SHUTDOWN SAVE flushes even without save points.
  REQUIRE_MESSAGE(server.Start(), server.log_since_start());
  c = server.Connect();
  REQUIRE(c != nullptr);
  CHECK(count_keys(c.get(), "a:") == 200);
  CHECK(count_keys(c.get(), "b:") == 200);
  CHECK(Cmd(c.get(), {"CONFIG", "SET", "save", ""}) == "OK");
  write_keys(c.get(), "c:");
  c.reset();
  shutdown(server, {"SHUTDOWN", "SAVE"});
  CHECK(wal_bytes(server) < 100);

  // Without save points a plain shutdown leaves the WAL as it is.
  REQUIRE_MESSAGE(server.Start(), server.log_since_start());
  c = server.Connect();
  REQUIRE(c != nullptr);
  CHECK(count_keys(c.get(), "c:") == 200);
  CHECK(Cmd(c.get(), {"CONFIG", "SET", "save", ""}) == "OK");
  write_keys(c.get(), "d:");
  c.reset();
  REQUIRE(server.Stop() == 0);
  CHECK(wal_bytes(server) > 200 * 500);
  REQUIRE_MESSAGE(server.Start(), server.log_since_start());
  c = server.Connect();
  REQUIRE(c != nullptr);
  CHECK(count_keys(c.get(), "d:") == 200);
  CHECK(CmdInt(c.get(), {"DBSIZE"}) == 800);
}

// The periodic flush is Redis's save points: "<seconds> <changes>" starts a metabolic flush
// (Redis: a BGSAVE) once both are reached; changes made during the flush still count after it.
TEST_CASE("save points start a metabolic flush") {
  ServerProcess server({"--save", "1 5"});
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr c = server.Connect();
  REQUIRE(c != nullptr);
  CHECK(InfoInt(c.get(), "organic", "organic_flushes") == 0);
  for (int i = 0; i < 4; i++) REQUIRE(Cmd(c.get(), {"SET", "k" + std::to_string(i), "v"}) == "OK");
  SleepMs(1500);  // 4 changes < 5: nothing yet
  CHECK(InfoInt(c.get(), "organic", "organic_flushes") == 0);
  CHECK(InfoInt(c.get(), "persistence", "rdb_changes_since_last_save") == 4);
  REQUIRE(Cmd(c.get(), {"SET", "k4", "v"}) == "OK");
  int64_t flushes = 0;
  for (int i = 0; i < 50 && flushes == 0; i++) {
    SleepMs(100);
    flushes = InfoInt(c.get(), "organic", "organic_flushes");
  }
  CHECK(flushes == 1);
  CHECK(InfoInt(c.get(), "persistence", "rdb_changes_since_last_save") == 0);
  CHECK(server.log().find("5 changes in 1 seconds. Starting a metabolic flush") !=
        std::string::npos);
  // Invalid save points are refused with Redis's error; the old ones stay.
  CHECK(Cmd(c.get(), {"CONFIG", "SET", "save", "0 1"}) ==
        "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters");
  CHECK(Cmd(c.get(), {"CONFIG", "GET", "save"}) == "[save,1 5]");
}

TEST_CASE("DEBUG RELOAD keeps data and TTLs") {
  ServerProcess server;
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr c = server.Connect();
  REQUIRE(c != nullptr);
  for (int i = 0; i < 50; i++) {
    REQUIRE(Cmd(c.get(), {"SET", "r:" + std::to_string(i), std::to_string(i * i)}) == "OK");
  }
  REQUIRE(Cmd(c.get(), {"SET", "r:ttl", "x", "PX", "50000"}) == "OK");
  REQUIRE(CmdInt(c.get(), {"DEL", "r:7"}) == 1);
  REQUIRE(Cmd(c.get(), {"SELECT", "3"}) == "OK");
  REQUIRE(Cmd(c.get(), {"SET", "db3", "three"}) == "OK");
  REQUIRE(Cmd(c.get(), {"SELECT", "0"}) == "OK");

  CHECK(Cmd(c.get(), {"DEBUG", "RELOAD"}) == "OK");
  CHECK(CmdInt(c.get(), {"DBSIZE"}) == 50);
  for (int i = 0; i < 50; i++) {
    CHECK(Cmd(c.get(), {"GET", "r:" + std::to_string(i)}) ==
          (i == 7 ? std::string("(nil)") : std::to_string(i * i)));
  }
  int64_t pttl = CmdInt(c.get(), {"PTTL", "r:ttl"});
  CHECK(pttl > 0);
  CHECK(pttl <= 50000);
  CHECK(Cmd(c.get(), {"SELECT", "3"}) == "OK");  // the connection keeps its db
  CHECK(Cmd(c.get(), {"GET", "db3"}) == "three");
  // And the reloaded state is what a restart sees.
  CHECK(Cmd(c.get(), {"SET", "after-reload", "yes"}) == "OK");
  c.reset();
  REQUIRE(server.Restart());
  c = server.Connect();
  REQUIRE(c != nullptr);
  CHECK(CmdInt(c.get(), {"DBSIZE"}) == 50);
  CHECK(Cmd(c.get(), {"SELECT", "3"}) == "OK");
  CHECK(Cmd(c.get(), {"GET", "after-reload"}) == "yes");
}

TEST_CASE("FLUSHDB, FLUSHALL and SWAPDB survive restart and crash") {
  ServerProcess server({"--appendfsync", "always"});
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr c = server.Connect();
  REQUIRE(c != nullptr);
  REQUIRE(Cmd(c.get(), {"SET", "a", "1"}) == "OK");
  REQUIRE(Cmd(c.get(), {"SET", "b", "2"}) == "OK");
  REQUIRE(Cmd(c.get(), {"SELECT", "1"}) == "OK");
  REQUIRE(Cmd(c.get(), {"SET", "c", "3"}) == "OK");
  REQUIRE(Cmd(c.get(), {"SELECT", "2"}) == "OK");
  REQUIRE(Cmd(c.get(), {"SET", "x", "in-db2"}) == "OK");
  REQUIRE(Cmd(c.get(), {"FLUSHDB"}) == "OK");
  REQUIRE(Cmd(c.get(), {"SWAPDB", "0", "1"}) == "OK");
  // Writes after the swap go to the swapped databases.
  REQUIRE(Cmd(c.get(), {"SELECT", "0"}) == "OK");
  REQUIRE(Cmd(c.get(), {"SET", "d", "4"}) == "OK");
  c.reset();

  REQUIRE(server.Restart());
  c = server.Connect();
  REQUIRE(c != nullptr);
  CHECK(Cmd(c.get(), {"GET", "c"}) == "3");
  CHECK(Cmd(c.get(), {"GET", "d"}) == "4");
  CHECK(CmdInt(c.get(), {"DBSIZE"}) == 2);
  CHECK(Cmd(c.get(), {"SELECT", "1"}) == "OK");
  CHECK(Cmd(c.get(), {"GET", "a"}) == "1");
  CHECK(Cmd(c.get(), {"GET", "b"}) == "2");
  CHECK(CmdInt(c.get(), {"DBSIZE"}) == 2);
  CHECK(Cmd(c.get(), {"SELECT", "2"}) == "OK");
  CHECK(CmdInt(c.get(), {"DBSIZE"}) == 0);

  CHECK(Cmd(c.get(), {"FLUSHALL"}) == "OK");
  CHECK(Cmd(c.get(), {"SET", "after-flushall", "1"}) == "OK");  // in db 2
  c.reset();
  server.Kill();
  REQUIRE_MESSAGE(server.Start(), server.log_since_start());
  c = server.Connect();
  REQUIRE(c != nullptr);
  CHECK(CmdInt(c.get(), {"DBSIZE"}) == 0);
  CHECK(Cmd(c.get(), {"SELECT", "1"}) == "OK");
  CHECK(CmdInt(c.get(), {"DBSIZE"}) == 0);
  CHECK(Cmd(c.get(), {"SELECT", "2"}) == "OK");
  CHECK(Cmd(c.get(), {"KEYS", "*"}) == "[after-flushall]");
}

}  // namespace
}  // namespace organic::itest
