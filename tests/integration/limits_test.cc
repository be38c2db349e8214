// Hostile clients and limits (docs/reliability.md): client-output-buffer-limit (hard and
// soft), maxmemory-clients client eviction with CLIENT NO-EVICT, maxclients, 10,000 concurrent
// clients, thousands of idle clients closed by `timeout` beside a slow-loris client, and a
// smoke run of the live protocol fuzzer (tools/organic_protocol_fuzz.cc).
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server_process.h"

namespace organic::itest {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

void SleepMs(int ms) { std::this_thread::sleep_for(milliseconds(ms)); }

int64_t Stat(redisContext* c, const std::string& field) { return InfoInt(c, "stats", field); }

int64_t ConnectedClients(redisContext* c) { return InfoInt(c, "clients", "connected_clients"); }

// Polls until connected_clients == want or 10 s pass; returns the last count.
int64_t WaitForClients(redisContext* c, int64_t want) {
  auto deadline = Clock::now() + std::chrono::seconds(10);
  int64_t n = ConnectedClients(c);
  while (n != want && Clock::now() < deadline) {
    SleepMs(20);
    n = ConnectedClients(c);
  }
  return n;
}

// Polls until the INFO stats field reaches at least want or timeout passes.
int64_t WaitForStat(redisContext* c, const std::string& field, int64_t want,
                    milliseconds timeout = milliseconds(5000)) {
  auto deadline = Clock::now() + timeout;
  int64_t n = Stat(c, field);
  while (n < want && Clock::now() < deadline) {
    SleepMs(20);
    n = Stat(c, field);
  }
  return n;
}

// A client that sends a pipeline and never reads: a small receive buffer so the kernel takes
// little of the replies and the server has to hold them.
std::unique_ptr<RawConnection> NonReader(int port, const std::string& pipeline) {
  auto c = std::make_unique<RawConnection>(port);
  if (!c->ok()) return nullptr;
  int small = 4096;
  setsockopt(c->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  if (!c->SendAll(pipeline)) return nullptr;
  return c;
}

std::string Gets(const std::string& key, int n) {
  std::string out;
  for (int i = 0; i < n; i++) out += EncodeCommand({"GET", key});
  return out;
}

// Raises this process's soft RLIMIT_NOFILE to at least want (the server inherits it); false
// if the hard limit does not allow it.
bool RaiseFdLimit(rlim_t want) {
  rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return false;
  if (lim.rlim_cur >= want) return true;
  if (lim.rlim_max < want) return false;
  lim.rlim_cur = want;
  return setrlimit(RLIMIT_NOFILE, &lim) == 0;
}

const char* FuzzBinary() {
  const char* env = getenv("ORGANIC_PROTOCOL_FUZZ_BIN");
  return env != nullptr ? env : ORGANIC_PROTOCOL_FUZZ_BIN;
}

TEST_CASE("maxmemory-clients and client-output-buffer-limit: CONFIG GET/SET as redis-server") {
  ServerProcess server;
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr c = server.Connect();
  REQUIRE(c != nullptr);
  // Organic's default bounds all clients together (Redis's is 0, no bound).
  CHECK(Cmd(c.get(), {"CONFIG", "GET", "maxmemory-clients"}) == "[maxmemory-clients,536870912]");
  CHECK(Cmd(c.get(), {"CONFIG", "SET", "maxmemory-clients", "10%"}) == "OK");
  CHECK(Cmd(c.get(), {"CONFIG", "GET", "maxmemory-clients"}) == "[maxmemory-clients,10%]");
  CHECK(Cmd(c.get(), {"CONFIG", "SET", "maxmemory-clients", "101%"}) ==
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - percentage "
        "argument must be less or equal to 100");
  CHECK(Cmd(c.get(), {"CONFIG", "SET", "maxmemory-clients", "-1"}) ==
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - argument "
        "must be a memory or percent value");
  // A 1 KB bound would evict this very client (every client costs more): exempt it first.
  CHECK(Cmd(c.get(), {"CLIENT", "NO-EVICT", "on"}) == "OK");
  CHECK(Cmd(c.get(), {"CONFIG", "SET", "maxmemory-clients", "1kb"}) == "OK");
  CHECK(Cmd(c.get(), {"CONFIG", "GET", "maxmemory-clients"}) == "[maxmemory-clients,1024]");
  CHECK(Cmd(c.get(), {"CONFIG", "SET", "maxmemory-clients", "0"}) == "OK");

  CHECK(Cmd(c.get(), {"CONFIG", "GET", "client-output-buffer-limit"}) ==
        "[client-output-buffer-limit,normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 "
        "8388608 60]");
  CHECK(Cmd(c.get(), {"CONFIG", "SET", "client-output-buffer-limit", "replica 1 2 3 normal 1mb 2k 4"}) == "OK");
  CHECK(Cmd(c.get(), {"CONFIG", "GET", "client-output-buffer-limit"}) ==
        "[client-output-buffer-limit,normal 1048576 2000 4 slave 1 2 3 pubsub 33554432 8388608 60]");
  CHECK(Cmd(c.get(), {"CONFIG", "SET", "client-output-buffer-limit", "normal 1 2"}) ==
        "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - "
        "Wrong number of arguments in buffer limit configuration.");
  CHECK(Cmd(c.get(), {"CONFIG", "SET", "client-output-buffer-limit", "normal 1 2 3 master 1 2 3"}) ==
        "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - "
        "Invalid client class specified in buffer limit configuration.");
  CHECK(Cmd(c.get(), {"CONFIG", "SET", "client-output-buffer-limit", "normal 1 2 -3"}) ==
        "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - "
        "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
  // A failed SET changed nothing, not even the valid groups before the bad one.
  CHECK(Cmd(c.get(), {"CONFIG", "GET", "client-output-buffer-limit"}) ==
        "[client-output-buffer-limit,normal 1048576 2000 4 slave 1 2 3 pubsub 33554432 8388608 60]");
}

TEST_CASE("client-output-buffer-limit normal: the hard limit disconnects a non-reader at once") {
  ServerProcess server({"--client-output-buffer-limit", "normal 4mb 0 0"});
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr control = server.Connect();
  REQUIRE(control != nullptr);
  REQUIRE(Cmd(control.get(), {"SET", "mb", std::string(1 << 20, 'x')}) == "OK");
  // 40 MB of replies: far past 4 MB plus what the kernel buffers.
  std::unique_ptr<RawConnection> flood = NonReader(server.port(), Gets("mb", 40));
  REQUIRE(flood != nullptr);
  CHECK(WaitForStat(control.get(), "client_output_buffer_limit_disconnections", 1) == 1);
  CHECK(WaitForClients(control.get(), 1) == 1);
  CHECK(server.log().find("closed for overcoming of output buffer limits") != std::string::npos);
  // Replies that stay under the limit are untouched.
  for (int i = 0; i < 3; i++) CHECK(Cmd(control.get(), {"GET", "mb"}).size() == (1u << 20));
  CHECK(Stat(control.get(), "client_output_buffer_limit_disconnections") == 1);
}

TEST_CASE("client-output-buffer-limit normal: the soft limit disconnects after its seconds") {
  ServerProcess server({"--client-output-buffer-limit", "normal 0 2mb 1"});
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr control = server.Connect();
  REQUIRE(control != nullptr);
  REQUIRE(Cmd(control.get(), {"SET", "mb", std::string(1 << 20, 'x')}) == "OK");
  std::unique_ptr<RawConnection> flood = NonReader(server.port(), Gets("mb", 30));
  REQUIRE(flood != nullptr);
  // Over the soft limit, but not yet for more than 1 s: still connected.
  SleepMs(300);
  CHECK(Stat(control.get(), "client_output_buffer_limit_disconnections") == 0);
  CHECK(ConnectedClients(control.get()) == 2);
  // The client sends nothing more: the once-a-second pass closes it (within 1-3 s).
  CHECK(WaitForStat(control.get(), "client_output_buffer_limit_disconnections", 1,
                    milliseconds(5000)) == 1);
  CHECK(WaitForClients(control.get(), 1) == 1);
}

TEST_CASE("maxmemory-clients evicts the biggest clients first, never NO-EVICT ones") {
  ServerProcess server({"--maxmemory-clients", "16mb"});
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr control = server.Connect();
  REQUIRE(control != nullptr);
  REQUIRE(Cmd(control.get(), {"SET", "mb", std::string(1 << 20, 'x')}) == "OK");
  // A protected non-reader: it says CLIENT NO-EVICT on first.
  std::unique_ptr<RawConnection> exempt =
      NonReader(server.port(), EncodeCommand({"CLIENT", "NO-EVICT", "on"}) +
                                   EncodeCommand({"CLIENT", "ID"}) + Gets("mb", 10));
  REQUIRE(exempt != nullptr);
  SleepMs(200);
  std::string list = Cmd(control.get(), {"CLIENT", "LIST"});
  CHECK(list.find("flags=e") != std::string::npos);
  // 30 non-readers asking 10 MB each: 300 MB of replies against a 16 MB bound.
  std::vector<std::unique_ptr<RawConnection>> floods;
  for (int i = 0; i < 30; i++) {
    floods.push_back(NonReader(server.port(), Gets("mb", 10)));
    REQUIRE(floods.back() != nullptr);
  }
  CHECK(WaitForStat(control.get(), "evicted_clients", 1) >= 1);
  SleepMs(300);
  // The bound holds (within one reply's worth per client in progress), the small control
  // client and the NO-EVICT client are still there, and the server answers.
  int64_t clients_memory = InfoInt(control.get(), "memory", "mem_clients_normal");
  CHECK(clients_memory <= (16 << 20) + (4 << 20));
  list = Cmd(control.get(), {"CLIENT", "LIST"});
  CHECK(list.find("flags=e") != std::string::npos);
  CHECK(Cmd(control.get(), {"PING"}) == "PONG");
  MESSAGE("evicted " << Stat(control.get(), "evicted_clients") << " of 30; mem_clients_normal "
                     << clients_memory);
  CHECK(server.log().find("Evicting client") == std::string::npos);  // verbose only
}

TEST_CASE("tot-mem in CLIENT LIST counts a client's output buffer") {
  ServerProcess server;
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr control = server.Connect();
  REQUIRE(control != nullptr);
  REQUIRE(Cmd(control.get(), {"SET", "mb", std::string(1 << 20, 'x')}) == "OK");
  std::unique_ptr<RawConnection> flood = NonReader(server.port(), Gets("mb", 20));
  REQUIRE(flood != nullptr);
  SleepMs(300);
  std::string list = Cmd(control.get(), {"CLIENT", "LIST"});
  uint64_t max_tot = 0, max_omem = 0;
  for (size_t pos = 0; (pos = list.find(" tot-mem=", pos)) != std::string::npos;) {
    pos += 9;
    max_tot = std::max<uint64_t>(max_tot, std::stoull(list.substr(pos)));
  }
  for (size_t pos = 0; (pos = list.find(" omem=", pos)) != std::string::npos;) {
    pos += 6;
    max_omem = std::max<uint64_t>(max_omem, std::stoull(list.substr(pos)));
  }
  CHECK(max_omem >= (4u << 20));
  CHECK(max_tot >= max_omem);
  CHECK(InfoInt(control.get(), "memory", "mem_clients_normal") >= static_cast<int64_t>(max_omem));
}

TEST_CASE("maxclients: a small limit refuses the next client with Redis's error") {
  ServerProcess server({"--maxclients", "3"});
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr a = server.Connect();
  REQUIRE(a != nullptr);
  REQUIRE(WaitForClients(a.get(), 1) == 1);
  RedisContextPtr b = server.Connect();
  RedisContextPtr c = server.Connect();
  REQUIRE(Cmd(b.get(), {"PING"}) == "PONG");
  REQUIRE(Cmd(c.get(), {"PING"}) == "PONG");
  RawConnection fourth(server.port());
  REQUIRE(fourth.ok());
  bool eof = false;
  // Byte for byte what redis-server 7.0.15 sends (checked with a raw socket), then EOF.
  CHECK(fourth.ReadUntilEof(&eof) == "-ERR max number of clients reached\r\n");
  CHECK(eof);
  CHECK(Stat(a.get(), "rejected_connections") == 1);
  // CONFIG SET maxclients raises the limit at once.
  CHECK(Cmd(a.get(), {"CONFIG", "SET", "maxclients", "4"}) == "OK");
  RedisContextPtr d = server.Connect();
  REQUIRE(d != nullptr);
  CHECK(Cmd(d.get(), {"PING"}) == "PONG");
}

TEST_CASE("10000 concurrent clients each SET and GET") {
  constexpr int kClients = 10000;
  if (!RaiseFdLimit(kClients + 200)) {
    MESSAGE("skipped: RLIMIT_NOFILE cannot be raised to " << kClients + 200);
    return;
  }
  ServerProcess server({"--maxclients", std::to_string(kClients + 1)});
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr control = server.Connect();
  REQUIRE(control != nullptr);
  REQUIRE(WaitForClients(control.get(), 1) == 1);
  // Plain blocking sockets (RawConnection keeps a 1 MB read buffer each: 10 GB here).
  std::vector<int> fds;
  struct Closer {
    std::vector<int>* fds;
    ~Closer() {
      for (int fd : *fds) close(fd);
    }
  } closer{&fds};
  for (int i = 0; i < kClients; i++) {
    RawConnection c(server.port());
    REQUIRE_MESSAGE(c.ok(), "client " << i << " could not connect");
    fds.push_back(dup(c.fd()));
    REQUIRE(fds.back() >= 0);
  }
  // Every request is sent before any reply is read.
  for (int i = 0; i < kClients; i++) {
    std::string k = "client:" + std::to_string(i);
    std::string req = EncodeCommand({"SET", k, "value-" + std::to_string(i)}) +
                      EncodeCommand({"GET", k});
    REQUIRE(send(fds[i], req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
  }
  int bad = 0;
  for (int i = 0; i < kClients; i++) {
    std::string v = "value-" + std::to_string(i);
    std::string want = "+OK\r\n$" + std::to_string(v.size()) + "\r\n" + v + "\r\n";
    std::string got;
    char buf[256];
    while (got.size() < want.size()) {
      pollfd p{fds[i], POLLIN, 0};
      if (poll(&p, 1, 5000) <= 0) break;
      ssize_t n = recv(fds[i], buf, sizeof(buf), 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    if (got != want && bad++ < 3) MESSAGE("client " << i << " got " << got);
  }
  CHECK(bad == 0);
  CHECK(ConnectedClients(control.get()) == kClients + 1);
  CHECK(CmdInt(control.get(), {"DBSIZE"}) == kClients);
  // One more is one too many.
  {
    RawConnection extra(server.port());
    bool eof = false;
    CHECK(extra.ReadUntilEof(&eof) == "-ERR max number of clients reached\r\n");
  }
  for (int fd : fds) close(fd);
  fds.clear();
  CHECK(WaitForClients(control.get(), 1) == 1);
}

TEST_CASE("timeout closes 2000 idle clients but not a slow-loris client that keeps sending") {
  if (!RaiseFdLimit(2300)) {
    MESSAGE("skipped: RLIMIT_NOFILE cannot be raised to 2300");
    return;
  }
  ServerProcess server({"--timeout", "2"});
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr control = server.Connect();
  REQUIRE(control != nullptr);
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 2000; i++) {
    idle.push_back(std::make_unique<RawConnection>(server.port()));
    REQUIRE(idle.back()->ok());
  }
  RawConnection loris(server.port());
  REQUIRE(loris.ok());
  // One byte every 100 ms: "PING\r\n" again and again for 4 s, past the 2 s timeout.
  const std::string ping = "PING\r\n";
  std::string replies;
  auto start = Clock::now();
  int64_t max_ping_us = 0;
  for (int i = 0; Clock::now() - start < std::chrono::seconds(4); i++) {
    REQUIRE(loris.SendAll(ping.substr(i % ping.size(), 1)));
    auto t0 = Clock::now();
    REQUIRE(Cmd(control.get(), {"PING"}) == "PONG");
    max_ping_us = std::max<int64_t>(
        max_ping_us,
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
    SleepMs(100);
  }
  MESSAGE("control PING max " << max_ping_us << " us beside 2,000 idle clients and a slow loris");
  CHECK(max_ping_us < 100000);
  // Every idle client is gone; the control client and the slow loris remain.
  CHECK(WaitForClients(control.get(), 2) == 2);
  bool eof = false;
  idle[0]->ReadUntilEof(&eof, milliseconds(1000));
  CHECK(eof);
  replies = loris.ReadAtLeast(7, milliseconds(1000));
  CHECK(replies.starts_with("+PONG\r\n"));
}

TEST_CASE("the live protocol fuzzer: the server survives, answers PING, RSS bounded") {
  ServerProcess server;
  REQUIRE_MESSAGE(server.Start(), server.log());
  ProcessResult r = RunProgram({FuzzBinary(), "--port", std::to_string(server.port()), "--pid",
                                std::to_string(server.pid()), "--connections", "200",
                                "--seconds", "8", "--rss-limit-mb", "1024"},
                               std::chrono::seconds(30));
  MESSAGE(r.out);
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  REQUIRE(server.IsRunning());
  RedisContextPtr c = server.Connect();
  REQUIRE(c != nullptr);
  CHECK(Cmd(c.get(), {"PING"}) == "PONG");
  CHECK(Cmd(c.get(), {"SET", "after", "fuzz"}) == "OK");
  CHECK(Cmd(c.get(), {"GET", "after"}) == "fuzz");
}

}  // namespace
}  // namespace organic::itest
