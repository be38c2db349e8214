// organic-protocol-fuzz: a live-server protocol fuzzer. It keeps many raw TCP connections to a
// running server (organic-server or redis-server) and sends them malformed and random RESP and
// inline frames: huge and negative lengths, nested arrays, RESP3 types as requests, binary junk,
// unbalanced quotes, frames cut short, long lines, mutated valid commands, and abrupt closes
// (FIN or RST) at any point. Replies are read and discarded. A separate control connection
// sends PING once a second and the run fails if one takes longer than --ping-timeout-ms. At the
// end it checks the server still answers PING and reports the server's RSS (from /proc when
// --pid is given) as one JSON line; exit code 0 when the server survived within the RSS limit.
//
// The run is bounded by --seconds and --max-frames. Commands that could stop, reconfigure or
// block the server (SHUTDOWN, CONFIG, DEBUG, CLIENT KILL, FLUSHALL ...) are never generated:
// the fuzzer tests the protocol layer and the commands' argument handling, not administration.
//
// Usage: organic-protocol-fuzz --port P [--pid PID] [--connections 200] [--seconds 10]
//        [--max-frames N] [--seed S] [--rss-limit-mb 1024] [--ping-timeout-ms 2000]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int port = 6379;
  int pid = 0;
  int connections = 200;
  double seconds = 10;
  uint64_t max_frames = UINT64_MAX;
  uint64_t seed = 0;
  uint64_t rss_limit_mb = 1024;
  int ping_timeout_ms = 2000;
};

uint64_t ReadRssKb(int pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

int ConnectNonBlocking(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 &&
      errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends PING on a fresh blocking connection; the round trip in ms, or -1 on failure/timeout.
double PingOnce(int port, int timeout_ms) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto start = Clock::now();
  double result = -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      send(fd, "PING\r\n", 6, MSG_NOSIGNAL) == 6) {
    char buf[16];
    size_t got = 0;
    while (got < 7) {
      ssize_t n = recv(fd, buf + got, sizeof(buf) - got, 0);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (got >= 7 && std::memcmp(buf, "+PONG\r\n", 7) == 0) {
      result = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    }
  }
  close(fd);
  return result;
}

// Generates one frame of a random kind.
class FrameGen {
 public:
  explicit FrameGen(uint64_t seed) : rng_(seed) {}

  std::string Next() {
    switch (Pick(14)) {
      case 0: return Valid();
      case 1: return "*1\r\n$" + HugeNumber() + "\r\n";
      case 2: return "*" + HugeNumber() + "\r\n$4\r\nPING\r\n";
      case 3: return "*" + NegativeNumber() + "\r\n" + (Pick(2) ? "$-1\r\n" : "");
      case 4: return "*2\r\n$3\r\nGET\r\n$" + NegativeNumber() + "\r\nxx\r\n";
      case 5: return Nested();
      case 6: return Junk(1 + Pick(Pick(8) == 0 ? 65536 : 512));
      case 7: {  // a prefix of a valid frame: the rest may never come
        std::string f = Valid();
        return f.substr(0, Pick(f.size()));
      }
      case 8: return Inline();
      case 9: return std::string(1 + Pick(Pick(4) == 0 ? 200000 : 2000), 'a');  // no newline
      case 10: return Mutate(Valid());
      case 11: {  // RESP3 and odd type bytes as requests
        static const char* kTypes = "%~>#,(!=|_:+-";
        std::string f(1, kTypes[Pick(std::strlen(kTypes))]);
        return f + std::to_string(Pick(5)) + "\r\n" + Valid();
      }
      case 12: {  // bulk header then a wrong payload length / missing trailer
        return "*2\r\n$4\r\nECHO\r\n$5\r\n" + Junk(Pick(12)) + (Pick(2) ? "\r\n" : "");
      }
      default: {  // many valid commands pipelined
        std::string f;
        int n = 1 + static_cast<int>(Pick(50));
        for (int i = 0; i < n; i++) f += Valid();
        return f;
      }
    }
  }

  uint64_t Pick(uint64_t n) { return n == 0 ? 0 : rng_() % n; }

 private:
  std::string HugeNumber() {
    static const char* kHuge[] = {"2147483648", "4294967296", "9223372036854775807",
                                  "9223372036854775808", "99999999999999999999999",
                                  "536870913", "1048577", "1024000000"};
    return kHuge[Pick(sizeof(kHuge) / sizeof(kHuge[0]))];
  }
  std::string NegativeNumber() {
    static const char* kNeg[] = {"-1", "-2", "-2147483648", "-9223372036854775808", "-0", "+5",
                                 "0x10", "1e3", " 3", ""};
    return kNeg[Pick(sizeof(kNeg) / sizeof(kNeg[0]))];
  }
  std::string Junk(size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng_());
    return s;
  }
  std::string Key() { return "fz:" + std::to_string(Pick(1000)); }
  std::string Value() {
    size_t n = Pick(10) == 0 ? Pick(100000) : Pick(64);
    return Pick(2) ? std::string(n, 'v') : Junk(n);
  }
  static std::string Encode(const std::vector<std::string>& args) {
    std::string f = "*" + std::to_string(args.size()) + "\r\n";
    for (const std::string& a : args) f += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    return f;
  }
  // A command the server must handle without harm; wrong arities and odd arguments included.
  std::string Valid() {
    static const char* kCommands[] = {
        "PING", "ECHO", "GET", "SET", "DEL", "EXISTS", "INCR", "STRLEN", "GETRANGE",
        "SETRANGE", "MGET", "MSET", "EXPIRE", "TTL", "TYPE", "SCAN", "DBSIZE", "SELECT",
        "HELLO", "CLIENT", "COMMAND", "OBJECT", "GETEX", "INCRBYFLOAT", "SETEX",
        "RENAME", "COPY", "NOSUCHCMD", "", "set", "gEt"};
    std::vector<std::string> args;
    args.push_back(kCommands[Pick(sizeof(kCommands) / sizeof(kCommands[0]))]);
    if (args[0] == "SELECT") {
      args.push_back(std::to_string(static_cast<int64_t>(Pick(40)) - 10));
    } else if (args[0] == "CLIENT") {
      static const char* kSub[] = {"ID", "GETNAME", "SETNAME", "INFO", "LIST", "NO-EVICT", "X"};
      args.push_back(kSub[Pick(7)]);
    } else if (args[0] == "HELLO") {
      args.push_back(std::to_string(Pick(5)));
    }
    int extra = static_cast<int>(Pick(5));
    for (int i = 0; i < extra; i++) {
      switch (Pick(4)) {
        case 0: args.push_back(Key()); break;
        case 1: args.push_back(Value()); break;
        case 2: args.push_back(std::to_string(static_cast<int64_t>(rng_()))); break;
        default: args.push_back(Pick(2) ? "EX" : "-1"); break;
      }
    }
    if (Pick(6) == 0) {  // inline form
      std::string line;
      for (const std::string& a : args) line += (line.empty() ? "" : " ") + a;
      return line + (Pick(2) ? "\r\n" : "\n");
    }
    return Encode(args);
  }
  std::string Nested() {
    int depth = 1 + static_cast<int>(Pick(Pick(4) == 0 ? 5000 : 20));
    std::string f;
    for (int i = 0; i < depth; i++) f += "*2\r\n";
    return f + "$4\r\nPING\r\n";
  }
  std::string Inline() {
    static const char* kLines[] = {"SET \"abc", "SET 'abc' 'd", "\"\\x4", "ECHO \"\\xZZ\"",
                                   "GET \"a\"b", "   ", "\t\t", "PING \"\"", "\"\"",
                                   "SET k \"\\x00\\xff\""};
    return std::string(kLines[Pick(sizeof(kLines) / sizeof(kLines[0]))]) + "\r\n";
  }
  std::string Mutate(std::string f) {
    int flips = 1 + static_cast<int>(Pick(4));
    for (int i = 0; i < flips && !f.empty(); i++) {
      size_t at = Pick(f.size());
      switch (Pick(3)) {
        case 0: f[at] = static_cast<char>(rng_()); break;
        case 1: f.erase(at, 1); break;
        default: f.insert(at, 1, "\r\n*$-0123456789"[Pick(15)]); break;
      }
    }
    return f;
  }

  std::mt19937_64 rng_;
};

struct Slot {
  int fd = -1;
  std::string pending;  // bytes still to send for this connection
};

void CloseSlot(Slot* s, bool reset) {
  if (s->fd < 0) return;
  if (reset) {
    linger l{1, 0};  // RST: unread data in both directions is dropped at once
    setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  }
  close(s->fd);
  s->fd = -1;
  s->pending.clear();
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (i + 1 >= argc) return false;
    const char* v = argv[++i];
    if (a == "--port") o->port = std::atoi(v);
    else if (a == "--pid") o->pid = std::atoi(v);
    else if (a == "--connections") o->connections = std::max(1, std::atoi(v));
    else if (a == "--seconds") o->seconds = std::atof(v);
    else if (a == "--max-frames") o->max_frames = std::strtoull(v, nullptr, 10);
    else if (a == "--seed") o->seed = std::strtoull(v, nullptr, 10);
    else if (a == "--rss-limit-mb") o->rss_limit_mb = std::strtoull(v, nullptr, 10);
    else if (a == "--ping-timeout-ms") o->ping_timeout_ms = std::atoi(v);
    else return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!ParseArgs(argc, argv, &opt)) {
    std::fprintf(stderr,
                 "usage: %s --port P [--pid PID] [--connections N] [--seconds S] "
                 "[--max-frames N] [--seed S] [--rss-limit-mb MB] [--ping-timeout-ms MS]\n",
                 argv[0]);
    return 2;
  }
  if (opt.seed == 0) opt.seed = std::random_device()();
  signal(SIGPIPE, SIG_IGN);
  FrameGen gen(opt.seed);
  std::vector<Slot> slots(static_cast<size_t>(opt.connections));
  uint64_t frames = 0, bytes_sent = 0, opened = 0, aborted = 0, connect_failures = 0;
  uint64_t bytes_read = 0, peak_rss_kb = ReadRssKb(opt.pid);
  const uint64_t start_rss_kb = peak_rss_kb;
  double max_ping_ms = 0;
  int ping_failures = 0;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(opt.seconds);
  auto next_ping = start + std::chrono::seconds(1);
  std::vector<char> sink(1 << 16);
  std::vector<pollfd> pfds;

  while (Clock::now() < deadline && frames < opt.max_frames) {
    // Give work to a handful of random connections, then poll all of them once.
    for (int k = 0; k < 16 && frames < opt.max_frames; k++) {
      Slot& s = slots[gen.Pick(slots.size())];
      if (s.fd < 0) {
        s.fd = ConnectNonBlocking(opt.port);
        if (s.fd < 0) {
          connect_failures++;
          continue;
        }
        opened++;
      }
      uint64_t action = gen.Pick(100);
      if (action < 4) {  // abrupt close, sometimes with a frame half sent
        CloseSlot(&s, gen.Pick(2) == 0);
        aborted++;
      } else if (s.pending.size() < (1 << 20)) {
        s.pending += gen.Next();
        frames++;
      }
    }
    pfds.clear();
    for (const Slot& s : slots) {
      if (s.fd >= 0) {
        pfds.push_back({s.fd, static_cast<short>(POLLIN | (s.pending.empty() ? 0 : POLLOUT)), 0});
      }
    }
    poll(pfds.data(), pfds.size(), 5);
    size_t pi = 0;
    for (Slot& s : slots) {
      if (s.fd < 0) continue;
      const pollfd& p = pfds[pi++];
      if (p.revents & POLLIN) {
        ssize_t n = recv(s.fd, sink.data(), sink.size(), 0);
        if (n > 0) bytes_read += static_cast<uint64_t>(n);
        else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
          CloseSlot(&s, false);  // the server closed it (protocol error): reopen later
          continue;
        }
      }
      if ((p.revents & POLLOUT) && !s.pending.empty()) {
        // Send in random-sized pieces so frames arrive split at every possible place.
        size_t piece = std::min(s.pending.size(), static_cast<size_t>(1 + gen.Pick(8192)));
        ssize_t n = send(s.fd, s.pending.data(), piece, MSG_NOSIGNAL);
        if (n > 0) {
          bytes_sent += static_cast<uint64_t>(n);
          s.pending.erase(0, static_cast<size_t>(n));
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
          CloseSlot(&s, false);
          continue;
        }
      }
      if (p.revents & (POLLERR | POLLHUP)) CloseSlot(&s, false);
    }
    if (Clock::now() >= next_ping) {
      next_ping += std::chrono::seconds(1);
      double ms = PingOnce(opt.port, opt.ping_timeout_ms);
      if (ms < 0) ping_failures++;
      max_ping_ms = std::max(max_ping_ms, ms);
      peak_rss_kb = std::max(peak_rss_kb, ReadRssKb(opt.pid));
    }
  }
  for (Slot& s : slots) CloseSlot(&s, gen.Pick(2) == 0);
  double final_ping = PingOnce(opt.port, opt.ping_timeout_ms);
  uint64_t end_rss_kb = ReadRssKb(opt.pid);
  peak_rss_kb = std::max(peak_rss_kb, end_rss_kb);
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  bool rss_ok = opt.pid <= 0 || peak_rss_kb <= opt.rss_limit_mb * 1024;
  bool ok = final_ping >= 0 && ping_failures == 0 && rss_ok;
  std::printf(
      "{\"ok\": %s, \"seed\": %llu, \"seconds\": %.1f, \"frames\": %llu, \"bytes_sent\": %llu, "
      "\"bytes_read\": %llu, \"connections_opened\": %llu, \"abrupt_closes\": %llu, "
      "\"connect_failures\": %llu, \"ping_failures\": %d, \"max_ping_ms\": %.2f, "
      "\"final_ping_ms\": %.2f, \"rss_start_mb\": %.1f, \"rss_peak_mb\": %.1f, "
      "\"rss_end_mb\": %.1f}\n",
      ok ? "true" : "false", static_cast<unsigned long long>(opt.seed), elapsed,
      static_cast<unsigned long long>(frames), static_cast<unsigned long long>(bytes_sent),
      static_cast<unsigned long long>(bytes_read), static_cast<unsigned long long>(opened),
      static_cast<unsigned long long>(aborted), static_cast<unsigned long long>(connect_failures),
      ping_failures, max_ping_ms, final_ping, start_rss_kb / 1024.0, peak_rss_kb / 1024.0,
      end_rss_kb / 1024.0);
  return ok ? 0 : 1;
}
