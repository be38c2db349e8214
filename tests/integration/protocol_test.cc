// The wire protocol as clients see it: pipelining, fragmented and oversized input, protocol
// errors, inline commands, many clients, client limits, authentication, hostile disconnects,
// output-buffer back-pressure, QUIT and RESP3.
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "server_process.h"

namespace organic::itest {
namespace {

using std::chrono::milliseconds;

void SleepMs(int ms) { std::this_thread::sleep_for(milliseconds(ms)); }

// Number of lines of a CLIENT LIST reply (one per connected client).
size_t ClientCount(redisContext* c) {
  std::string list = Cmd(c, {"CLIENT", "LIST"});
  return static_cast<size_t>(std::count(list.begin(), list.end(), '\n'));
}

// Polls CLIENT LIST until it shows `expected` clients or 5 s pass; returns the last count.
size_t WaitForClientCount(redisContext* c, size_t expected) {
  size_t n = 0;
  for (int i = 0; i < 500; i++) {
    n = ClientCount(c);
    if (n == expected) break;
    SleepMs(10);
  }
  return n;
}

int64_t RssBytes(redisContext* c) {
  std::string rss = InfoField(Cmd(c, {"INFO", "memory"}), "used_memory_rss");
  return rss.empty() ? -1 : std::stoll(rss);
}

// Every byte value, and the sequences a careless parser would trip on.
std::string BinaryValue(size_t size, uint32_t seed) {
  std::string v(size, '\0');
  std::mt19937 rng(seed);
  for (size_t i = 0; i < size; i++) v[i] = static_cast<char>(rng() & 0xff);
  const std::string traps[] = {std::string("\r\n", 2), std::string("\0\0\0", 3), "$-1\r\n",
                               "*3\r\n", std::string("\r\n\r\n\0", 5)};
  size_t pos = 0;
  for (size_t i = 0; pos + 8 < size; i++, pos += size / 7 + 1) {
    const std::string& t = traps[i % 5];
    v.replace(pos, t.size(), t);
  }
  if (size >= 2) v.replace(size - 2, 2, "\r\n");  // a value ending like a terminator
  return v;
}

TEST_CASE("pipelining: 10k SETs then 10k GETs in one write are answered in order") {
  ServerProcess server;
  REQUIRE_MESSAGE(server.Start(), server.log());
  constexpr int kCount = 10000;
  std::string request;
  for (int i = 0; i < kCount; i++) {
    request += EncodeCommand({"SET", "pipe:" + std::to_string(i), "v" + std::to_string(i * 7)});
  }
  for (int i = 0; i < kCount; i++) request += EncodeCommand({"GET", "pipe:" + std::to_string(i)});

  RawConnection conn(server.port());
  REQUIRE(conn.ok());
  // Sent from another thread so the test cannot deadlock on full socket buffers whatever the
  // server's write strategy; the bytes still leave in one send() call sequence.
  std::thread sender([&] { CHECK(conn.SendAll(request)); });
  RespParser parser;
  int replies = 0, wrong = 0;
  std::string first_wrong;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (replies < 2 * kCount && std::chrono::steady_clock::now() < deadline) {
    std::string bytes = conn.ReadAtLeast(1, milliseconds(1000));
    if (bytes.empty()) continue;
    parser.Feed(bytes);
    while (RedisReplyPtr r = parser.Next()) {
      std::string got = FormatReply(r.get());
      std::string want = replies < kCount ? "OK" : "v" + std::to_string((replies - kCount) * 7);
      bool type_ok = replies < kCount ? r->type == REDIS_REPLY_STATUS
                                      : r->type == REDIS_REPLY_STRING;
      if (got != want || !type_ok) {
        if (wrong++ == 0) first_wrong = "#" + std::to_string(replies) + ": " + got;
      }
      replies++;
    }
    REQUIRE_FALSE(parser.error());
  }
  sender.join();
  CHECK(replies == 2 * kCount);
  CHECK_MESSAGE(wrong == 0, first_wrong);
  // Nothing more than the 20k replies.
  CHECK(conn.ReadAtLeast(1, milliseconds(50)).empty());
}

TEST_CASE("a command sent one byte at a time is answered once, when complete") {
  ServerProcess server;
  REQUIRE_MESSAGE(server.Start(), server.log());
  RawConnection conn(server.port());
  REQUIRE(conn.ok());

  auto send_bytewise = [&](const std::string& cmd) {
    for (size_t i = 0; i < cmd.size(); i++) {
      REQUIRE(conn.SendAll(cmd.substr(i, 1)));
      SleepMs(1);
      // No reply may come before the last byte arrived.
      if (i + 1 < cmd.size() && (i % 8 == 0 || i + 2 == cmd.size())) {
        REQUIRE_MESSAGE(conn.ReadAtLeast(1, milliseconds(i + 2 == cmd.size() ? 50 : 0)).empty(),
                        "reply before byte " << i + 1 << " of " << cmd.size());
      }
    }
  };
  const std::string value("va\r\nl\0ue", 8);
  send_bytewise(EncodeCommand({"SET", "bytewise", value}));
  CHECK(conn.ReadAtLeast(5) == "+OK\r\n");
  send_bytewise(EncodeCommand({"GET", "bytewise"}));
  CHECK(conn.ReadAtLeast(14) == "$8\r\n" + value + "\r\n");
  send_bytewise("PING\r\n");
  CHECK(conn.ReadAtLeast(7) == "+PONG\r\n");
  send_bytewise("ECHO \"a b\"\r\n");
  CHECK(conn.ReadAtLeast(9) == "$3\r\na b\r\n");
}

TEST_CASE("commands split across many TCP segments with pauses are reassembled") {
  ServerProcess server;
  REQUIRE_MESSAGE(server.Start(), server.log());
  constexpr int kCommands = 200;
  std::vector<std::string> values;
  std::string stream;
  std::mt19937 rng(42);
  for (int i = 0; i < kCommands; i++) {
    // Mostly small values, some larger than a TCP segment and the server's read buffer.
    size_t size = i % 20 == 0 ? 100000 + rng() % 50000 : rng() % 300;
    values.push_back(BinaryValue(size, static_cast<uint32_t>(i)));
    stream += EncodeCommand({"SET", "seg:" + std::to_string(i), values.back()});
  }
  RawConnection conn(server.port());
  REQUIRE(conn.ok());
  size_t pos = 0;
  int chunks = 0;
  while (pos < stream.size()) {
    // Tiny pieces (cutting through "*3\r\n$3\r\n" headers) and bigger ones.
    size_t n = chunks % 3 == 0 ? 1 + rng() % 7 : 1 + rng() % 30000;
    n = std::min(n, stream.size() - pos);
    REQUIRE(conn.SendAll(std::string_view(stream).substr(pos, n)));
    pos += n;
    chunks++;
    if (chunks % 4 == 0) SleepMs(1);
  }
  std::string expected;
  for (int i = 0; i < kCommands; i++) expected += "+OK\r\n";
  CHECK(conn.ReadAtLeast(expected.size(), milliseconds(10000)) == expected);
  MESSAGE("sent " << stream.size() << " bytes in " << chunks << " writes");

  RedisContextPtr c = server.Connect();
  REQUIRE(c != nullptr);
  int mismatches = 0;
  for (int i = 0; i < kCommands; i++) {
    RedisReplyPtr r = Command(c.get(), {"GET", "seg:" + std::to_string(i)});
    REQUIRE(r != nullptr);
    if (r->type != REDIS_REPLY_STRING || std::string(r->str, r->len) != values[i]) mismatches++;
  }
  CHECK(mismatches == 0);
}

TEST_CASE("a 50 MB binary value round-trips intact") {
  ServerProcess server;
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr c = server.Connect();
  REQUIRE(c != nullptr);
  redisSetTimeout(c.get(), timeval{30, 0});
  const std::string value = BinaryValue(50u << 20, 7);
  REQUIRE(value.find('\0') != std::string::npos);
  REQUIRE(value.find("\r\n") != std::string::npos);
  CHECK(Cmd(c.get(), {"SET", "big", value}) == "OK");
  CHECK(CmdInt(c.get(), {"STRLEN", "big"}) == static_cast<int64_t>(value.size()));
  RedisReplyPtr r = Command(c.get(), {"GET", "big"});
  REQUIRE(r != nullptr);
  REQUIRE(r->type == REDIS_REPLY_STRING);
  CHECK(r->len == value.size());
  CHECK(std::string_view(r->str, r->len) == value);
  // The connection is still in sync after the big reply.
  CHECK(Cmd(c.get(), {"GETRANGE", "big", "0", "9"}) == value.substr(0, 10));
  CHECK(Cmd(c.get(), {"PING"}) == "PONG");
}

TEST_CASE("protocol errors get Redis's exact error and the connection is closed") {
  ServerProcess server;
  REQUIRE_MESSAGE(server.Start(), server.log());
  struct Case {
    std::string input;
    std::string reply;
  };
  const Case cases[] = {
      {"*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
      {"*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
      {"*3\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
      {"*3\r\n$3\r\nSET\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
      // Larger than proto-max-bulk-len (512 MB by default).
      {"*1\r\n$600000000\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
      {"*1\r\nfoo\r\n", "-ERR Protocol error: expected '$', got 'f'\r\n"},
      {"SET \"a\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
      {"SET k \"v\"x\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"},
      // Commands before the error are answered; the error ends the connection.
      {"PING\r\n*1\r\n$-1\r\n", "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"},
      // Nothing after the error runs.
      {"*x\r\nSET after-error 1\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
  };
  for (const Case& tc : cases) {
    CAPTURE(tc.input);
    RawConnection conn(server.port());
    REQUIRE(conn.ok());
    REQUIRE(conn.SendAll(tc.input));
    bool eof = false;
    std::string got = conn.ReadUntilEof(&eof, milliseconds(3000));
    CHECK(got == tc.reply);
    CHECK(eof);
  }
  RedisContextPtr c = server.Connect();
  REQUIRE(c != nullptr);
  CHECK(CmdInt(c.get(), {"EXISTS", "after-error"}) == 0);
  CHECK(Cmd(c.get(), {"PING"}) == "PONG");
}

TEST_CASE("inline commands") {
  ServerProcess server;
  REQUIRE_MESSAGE(server.Start(), server.log());
  RawConnection conn(server.port());
  REQUIRE(conn.ok());
  struct Case {
    std::string input;
    std::string reply;
  };
  const Case cases[] = {
      {"PING\r\n", "+PONG\r\n"},
      {"PING\n", "+PONG\r\n"},
      {"  PING   \r\n", "+PONG\r\n"},
      {"\r\n\r\nPING\r\n", "+PONG\r\n"},  // empty lines are skipped
      {"SET a \"b c\"\r\n", "+OK\r\n"},
      {"GET a\r\n", "$3\r\nb c\r\n"},
      {"SET e \"x\\x41\\ty\"\r\nGET e\r\n", "+OK\r\n$4\r\nxA\ty\r\n"},  // escapes in "..."
      {"SET s 'a\\tb'\r\nGET s\r\n", "+OK\r\n$4\r\na\\tb\r\n"},         // none in '...'
      {"ECHO \"\"\r\n", "$0\r\n\r\n"},
      {"get nosuchkey\r\n", "$-1\r\n"},
  };
  for (const Case& tc : cases) {
    CAPTURE(tc.input);
    REQUIRE(conn.SendAll(tc.input));
    CHECK(conn.ReadAtLeast(tc.reply.size()) == tc.reply);
  }
}

TEST_CASE("1,000 concurrent clients each SET and GET, then all disconnect") {
  constexpr int kClients = 1000;
  // Each client is one descriptor here; the server inherits the limit too.
  rlimit lim;
  REQUIRE(getrlimit(RLIMIT_NOFILE, &lim) == 0);
  if (lim.rlim_cur < 4096) {
    lim.rlim_cur = std::min<rlim_t>(4096, lim.rlim_max);
    REQUIRE(setrlimit(RLIMIT_NOFILE, &lim) == 0);
  }
  REQUIRE_MESSAGE(lim.rlim_cur >= kClients + 64, "RLIMIT_NOFILE too small: " << lim.rlim_cur);

  ServerProcess server;
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr control = server.Connect();
  REQUIRE(control != nullptr);
  REQUIRE(WaitForClientCount(control.get(), 1) == 1);  // Start()'s probe connection is gone

  std::vector<RedisContextPtr> clients;
  for (int i = 0; i < kClients; i++) {
    clients.push_back(server.Connect());
    REQUIRE_MESSAGE(clients.back() != nullptr, "client " << i << " could not connect");
  }
  // All requests are in flight before any reply is read.
  for (int i = 0; i < kClients; i++) {
    redisContext* c = clients[i].get();
    AppendCommand(c, {"SET", "client:" + std::to_string(i), "value-" + std::to_string(i)});
    AppendCommand(c, {"GET", "client:" + std::to_string(i)});
    int done = 0;
    while (!done) REQUIRE(redisBufferWrite(c, &done) == REDIS_OK);
  }
  int bad = 0;
  for (int i = 0; i < kClients; i++) {
    RedisReplyPtr set = GetReply(clients[i].get());
    RedisReplyPtr get = GetReply(clients[i].get());
    if (FormatReply(set.get(), clients[i].get()) != "OK" ||
        FormatReply(get.get(), clients[i].get()) != "value-" + std::to_string(i)) {
      bad++;
    }
  }
  CHECK(bad == 0);
  CHECK(ClientCount(control.get()) == kClients + 1);
  CHECK(InfoField(Cmd(control.get(), {"INFO", "clients"}), "connected_clients") ==
        std::to_string(kClients + 1));
  CHECK(CmdInt(control.get(), {"DBSIZE"}) == kClients);

  clients.clear();
  CHECK(WaitForClientCount(control.get(), 1) == 1);
  std::string list = Cmd(control.get(), {"CLIENT", "LIST"});
  CHECK(list.find("cmd=client|list") != std::string::npos);
}

TEST_CASE("maxclients: the client over the limit gets an error and is disconnected") {
  ServerProcess server({"--maxclients", "10"});
  REQUIRE_MESSAGE(server.Start(), server.log());
  std::vector<RedisContextPtr> clients;
  clients.push_back(server.Connect());
  REQUIRE(clients.back() != nullptr);
  // Start()'s probe connection must be gone before the slots are counted.
  REQUIRE(WaitForClientCount(clients.back().get(), 1) == 1);
  for (int i = 1; i < 10; i++) {
    clients.push_back(server.Connect());
    REQUIRE(clients.back() != nullptr);
    // PING proves the server accepted and registered this client.
    REQUIRE(Cmd(clients.back().get(), {"PING"}) == "PONG");
  }
  {
    RawConnection eleventh(server.port());
    REQUIRE(eleventh.ok());
    eleventh.SendAll("PING\r\n");
    bool eof = false;
    CHECK(eleventh.ReadUntilEof(&eof) == "-ERR max number of clients reached\r\n");
    CHECK(eof);
  }
  CHECK(InfoField(Cmd(clients[0].get(), {"INFO", "stats"}), "rejected_connections") == "1");
  // A freed slot can be used again.
  clients.pop_back();
  CHECK(WaitForClientCount(clients[0].get(), 9) == 9);
  RedisContextPtr again = server.Connect();
  REQUIRE(again != nullptr);
  CHECK(Cmd(again.get(), {"PING"}) == "PONG");
}

TEST_CASE("requirepass: NOAUTH until AUTH succeeds") {
  ServerProcess server({"--requirepass", "s3cret"});
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr c = server.Connect();
  REQUIRE(c != nullptr);
  CHECK(Cmd(c.get(), {"SET", "k", "v"}) == "NOAUTH Authentication required.");
  CHECK(Cmd(c.get(), {"GET", "k"}) == "NOAUTH Authentication required.");
  CHECK(Cmd(c.get(), {"AUTH", "wrong"}) ==
        "WRONGPASS invalid username-password pair or user is disabled.");
  CHECK(Cmd(c.get(), {"GET", "k"}) == "NOAUTH Authentication required.");
  CHECK(Cmd(c.get(), {"AUTH", "s3cret"}) == "OK");
  CHECK(Cmd(c.get(), {"SET", "k", "v"}) == "OK");
  CHECK(Cmd(c.get(), {"GET", "k"}) == "v");
  // The refused SET above did not run (the key got its value only after AUTH).
  RedisContextPtr c2 = server.Connect();
  REQUIRE(c2 != nullptr);
  CHECK(Cmd(c2.get(), {"AUTH", "default", "s3cret"}) == "OK");
  CHECK(Cmd(c2.get(), {"GET", "k"}) == "v");

  // Before AUTH the parser refuses big requests, as Redis does (a stranger cannot make the
  // server buffer megabytes).
  {
    RawConnection raw(server.port());
    REQUIRE(raw.SendAll("*20\r\n"));
    bool eof = false;
    CHECK(raw.ReadUntilEof(&eof) == "-ERR Protocol error: unauthenticated multibulk length\r\n");
    CHECK(eof);
  }
  {
    RawConnection raw(server.port());
    REQUIRE(raw.SendAll("*2\r\n$3\r\nGET\r\n$20000\r\n"));
    bool eof = false;
    CHECK(raw.ReadUntilEof(&eof) == "-ERR Protocol error: unauthenticated bulk length\r\n");
    CHECK(eof);
  }
  {
    // HELLO with AUTH authenticates and switches protocol in one step.
    RawConnection raw(server.port());
    REQUIRE(raw.SendAll("HELLO 3\r\n"));
    std::string noauth = raw.ReadUntil("\r\n");
    CHECK(noauth.starts_with(
        "-NOAUTH HELLO must be called with the client already authenticated"));
    REQUIRE(raw.SendAll("HELLO 3 AUTH default s3cret\r\n"));
    std::string hello = raw.ReadUntil("$7\r\nmodules\r\n*0\r\n");
    CHECK(hello.starts_with("%7\r\n"));
    REQUIRE(raw.SendAll("GET nosuchkey\r\n"));
    CHECK(raw.ReadAtLeast(3) == "_\r\n");
  }
}

TEST_CASE("clients that disconnect mid-command or mid-reply leave the server healthy") {
  ServerProcess server;
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr control = server.Connect();
  REQUIRE(control != nullptr);

  // Half of a bulk argument, then FIN; then the same with RST.
  for (bool reset : {false, true}) {
    RawConnection conn(server.port());
    REQUIRE(conn.ok());
    std::string cmd = "*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$100000\r\n" + std::string(50000, 'h');
    REQUIRE(conn.SendAll(cmd));
    SleepMs(20);
    conn.Close(reset);
  }
  // A half-sent multibulk header.
  {
    RawConnection conn(server.port());
    REQUIRE(conn.SendAll("*3\r\n$3\r\nSE"));
    SleepMs(10);
  }
  CHECK(Cmd(control.get(), {"PING"}) == "PONG");
  CHECK(CmdInt(control.get(), {"EXISTS", "half"}) == 0);  // the incomplete SET never ran

  // Requests for ~160 MB of replies, then close without reading a byte.
  const std::string big(8u << 20, 'B');
  REQUIRE(Cmd(control.get(), {"SET", "big", big}) == "OK");
  for (bool reset : {false, true}) {
    RawConnection conn(server.port());
    REQUIRE(conn.ok());
    std::string gets;
    for (int i = 0; i < 20; i++) gets += EncodeCommand({"GET", "big"});
    REQUIRE(conn.SendAll(gets));
    SleepMs(100);  // let the server start writing
    conn.Close(reset);
  }
  // A client that reads part of a big reply and then leaves.
  {
    RawConnection conn(server.port());
    REQUIRE(conn.SendAll(EncodeCommand({"GET", "big"})));
    CHECK(conn.ReadAtLeast(1000).size() >= 1000);
    conn.Close(true);
  }
  CHECK(WaitForClientCount(control.get(), 1) == 1);
  CHECK(server.IsRunning());
  CHECK(Cmd(control.get(), {"PING"}) == "PONG");
  CHECK(CmdInt(control.get(), {"STRLEN", "big"}) == static_cast<int64_t>(big.size()));
  RedisContextPtr fresh = server.Connect();
  REQUIRE(fresh != nullptr);
  CHECK(Cmd(fresh.get(), {"SET", "after", "1"}) == "OK");
  CHECK(Cmd(fresh.get(), {"GET", "after"}) == "1");
}

TEST_CASE("a client that never reads its replies does not grow the server's memory unboundedly") {
  ServerProcess server;
  REQUIRE_MESSAGE(server.Start(), server.log());
  RedisContextPtr control = server.Connect();
  REQUIRE(control != nullptr);
  REQUIRE(Cmd(control.get(), {"SET", "mb", std::string(1u << 20, 'm')}) == "OK");
  const int64_t rss_before = RssBytes(control.get());
  REQUIRE(rss_before > 0);

  // 600 GETs of a 1 MB value in one write (13 KB, so it fits in the socket buffers and the
  // server most likely reads it in one go): 600 MB of replies if the server answered them all
  // into memory. (Capped so a server without back-pressure costs ~1 GB here, not the machine.)
  constexpr int kGets = 600;
  RawConnection flood(server.port());
  REQUIRE(flood.ok());
  std::string gets;
  for (int i = 0; i < kGets; i++) gets += EncodeCommand({"GET", "mb"});
  REQUIRE(flood.SendAll(gets));
  // Sample for 2 s. Other clients must keep being served meanwhile: a sample that does not
  // answer within 1 s counts as a failure (and the connection, now out of step, is replaced).
  int64_t rss_max = rss_before;
  uint64_t omem_max = 0;
  int unanswered = 0;
  redisSetTimeout(control.get(), timeval{1, 0});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < deadline) {
    SleepMs(100);
    int64_t rss = RssBytes(control.get());
    RedisReplyPtr list = rss > 0 ? Command(control.get(), {"CLIENT", "LIST"}) : nullptr;
    if (list == nullptr || list->type != REDIS_REPLY_STRING) {
      unanswered++;
      control = server.Connect();
      REQUIRE(control != nullptr);
      redisSetTimeout(control.get(), timeval{1, 0});
      continue;
    }
    rss_max = std::max(rss_max, rss);
    std::string text(list->str, list->len);
    size_t pos = 0;
    while ((pos = text.find(" omem=", pos)) != std::string::npos) {
      pos += 6;
      omem_max = std::max<uint64_t>(omem_max, std::stoull(text.substr(pos)));
    }
  }
  // One last sample, however long the server takes to answer it.
  redisSetTimeout(control.get(), timeval{20, 0});
  rss_max = std::max(rss_max, RssBytes(control.get()));
  const int64_t growth = rss_max - rss_before;
  MESSAGE("RSS before " << (rss_before >> 20) << " MB, max " << (rss_max >> 20)
                        << " MB; max client output buffer " << (omem_max >> 20)
                        << " MB; samples unanswered within 1 s: " << unanswered);
  CHECK(unanswered == 0);
  // The server pauses reading from the client at 64 MB of pending output; allow for allocator
  // slack, but far less than the 600 MB the requests asked for.
  CHECK(growth < (320ll << 20));
  CHECK(omem_max < (200ull << 20));
  CHECK(Cmd(control.get(), {"PING"}) == "PONG");

  // Paused, not dropped: once the client reads, every reply arrives, exactly once.
  const uint64_t reply_size = std::string("$1048576\r\n").size() + (1u << 20) + 2;
  uint64_t received = 0;
  std::string tail;
  auto read_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (received < kGets * reply_size && std::chrono::steady_clock::now() < read_deadline) {
    std::string chunk = flood.ReadAtLeast(1, milliseconds(2000));
    if (chunk.empty()) break;
    received += chunk.size();
    tail += chunk;
    if (tail.size() > 16) tail.erase(0, tail.size() - 16);
  }
  CHECK(received == kGets * reply_size);
  CHECK(tail.ends_with(std::string(14, 'm') + "\r\n"));
  CHECK(flood.ReadAtLeast(1, milliseconds(100)).empty());

  flood.Close(true);
  CHECK(WaitForClientCount(control.get(), 1) == 1);
  CHECK(Cmd(control.get(), {"GET", "missing"}) == "(nil)");
}

TEST_CASE("QUIT replies +OK and closes; later pipelined commands do not run") {
  ServerProcess server;
  REQUIRE_MESSAGE(server.Start(), server.log());
  RawConnection conn(server.port());
  REQUIRE(conn.SendAll("QUIT\r\nSET after-quit 1\r\n"));
  bool eof = false;
  CHECK(conn.ReadUntilEof(&eof) == "+OK\r\n");
  CHECK(eof);
  RedisContextPtr c = server.Connect();
  REQUIRE(c != nullptr);
  CHECK(CmdInt(c.get(), {"EXISTS", "after-quit"}) == 0);
  CHECK(Cmd(c.get(), {"QUIT"}) == "OK");
}

TEST_CASE("RESP3 via HELLO 3: map reply, null as _, back to RESP2 with HELLO 2") {
  ServerProcess server;
  REQUIRE_MESSAGE(server.Start(), server.log());
  RawConnection conn(server.port());
  REQUIRE(conn.SendAll("HELLO 3\r\n"));
  std::string hello = conn.ReadUntil("$7\r\nmodules\r\n*0\r\n");
  CHECK(hello.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n"));
  CHECK(hello.find("$5\r\nproto\r\n:3\r\n") != std::string::npos);
  CHECK(hello.find("$4\r\nmode\r\n$10\r\nstandalone\r\n") != std::string::npos);
  CHECK(hello.find("$4\r\nrole\r\n$6\r\nmaster\r\n") != std::string::npos);

  REQUIRE(conn.SendAll("GET nosuchkey\r\n"));
  CHECK(conn.ReadAtLeast(3) == "_\r\n");
  REQUIRE(conn.SendAll("SET k v\r\nGET k\r\n"));
  CHECK(conn.ReadAtLeast(12) == "+OK\r\n$1\r\nv\r\n");

  REQUIRE(conn.SendAll("HELLO 2\r\n"));
  std::string hello2 = conn.ReadUntil("$7\r\nmodules\r\n*0\r\n");
  CHECK(hello2.starts_with("*14\r\n"));
  CHECK(hello2.find("$5\r\nproto\r\n:2\r\n") != std::string::npos);
  REQUIRE(conn.SendAll("GET nosuchkey\r\n"));
  CHECK(conn.ReadAtLeast(5) == "$-1\r\n");

  REQUIRE(conn.SendAll("HELLO 4\r\n"));
  CHECK(conn.ReadUntil("\r\n") == "-NOPROTO unsupported protocol version\r\n");
}

}  // namespace
}  // namespace organic::itest
