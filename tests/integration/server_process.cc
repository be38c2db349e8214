#include "server_process.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>

#include <doctest/doctest.h>

#include "engine/wal_writer.h"  // ParseWalFileName

namespace organic::itest {

namespace {

using Clock = std::chrono::steady_clock;

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// In a freshly forked child: make it a clean process for exec. Only async-signal-safe calls.
void PrepareChild(int stdout_fd, int stderr_fd) {
  // Die with the test binary instead of lingering on a port if the tests crash.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  dup2(stdout_fd, STDOUT_FILENO);
  dup2(stderr_fd, STDERR_FILENO);
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  // The test process may hold hundreds of client sockets; none belongs in the server.
  close_range(3, UINT_MAX, 0);
  signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

std::vector<char*> ArgvPointers(std::vector<std::string>& argv) {
  std::vector<char*> ptrs;
  for (std::string& a : argv) ptrs.push_back(a.data());
  ptrs.push_back(nullptr);
  return ptrs;
}

bool WriteFile(const std::string& path, std::string_view bytes, const char* mode) {
  FILE* f = fopen(path.c_str(), mode);
  if (f == nullptr) return false;
  bool ok = fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return fclose(f) == 0 && ok;
}

void ArgvOf(const std::vector<std::string>& args, std::vector<const char*>* argv,
            std::vector<size_t>* lens) {
  for (const std::string& a : args) {
    argv->push_back(a.data());
    lens->push_back(a.size());
  }
}

}  // namespace

const char* ServerBinary() {
  const char* env = getenv("ORGANIC_SERVER_BIN");
  return env != nullptr && *env != '\0' ? env : ORGANIC_SERVER_BIN;
}

const char* CheckWalBinary() {
  const char* env = getenv("ORGANIC_CHECK_WAL_BIN");
  return env != nullptr && *env != '\0' ? env : ORGANIC_CHECK_WAL_BIN;
}

int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = -1;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string MakeTempDir() {
  const char* base = getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                     "/organic-itest-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    perror("mkdtemp");
    abort();
  }
  return tmpl;
}

void RemoveTree(const std::string& path) {
  DIR* dir = opendir(path.c_str());
  if (dir != nullptr) {
    while (dirent* e = readdir(dir)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      std::string child = path + "/" + name;
      struct stat st;
      if (lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        RemoveTree(child);
      } else {
        unlink(child.c_str());
      }
    }
    closedir(dir);
  }
  rmdir(path.c_str());
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::string out;
  FILE* f = fopen(path.c_str(), "rb");
  if (f == nullptr) return out;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  fclose(f);
  return out;
}

bool AppendToFile(const std::string& path, std::string_view bytes) {
  return WriteFile(path, bytes, "ab");
}

bool WriteWholeFile(const std::string& path, std::string_view bytes) {
  return WriteFile(path, bytes, "wb");
}

ProcessResult RunProgram(const std::vector<std::string>& argv_in,
                         std::chrono::milliseconds timeout) {
  ProcessResult result;
  TempDir dir;
  std::string out_path = dir.path() + "/stdout", err_path = dir.path() + "/stderr";
  int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::vector<std::string> argv = argv_in;
  std::vector<char*> ptrs = ArgvPointers(argv);
  pid_t pid = (out_fd >= 0 && err_fd >= 0) ? fork() : -1;
  if (pid == 0) {
    PrepareChild(out_fd, err_fd);
    execv(ptrs[0], ptrs.data());
    _exit(127);
  }
  if (out_fd >= 0) close(out_fd);
  if (err_fd >= 0) close(err_fd);
  if (pid > 0) {
    Clock::time_point deadline = Clock::now() + timeout;
    int status = 0;
    for (;;) {
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        result.exit_code = DecodeWaitStatus(status);
        break;
      }
      if (r < 0 && errno != EINTR) break;
      if (Clock::now() >= deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        result.exit_code = DecodeWaitStatus(status);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  result.out = ReadFileOrEmpty(out_path);
  result.err = ReadFileOrEmpty(err_path);
  return result;
}

// ---- ServerProcess ----

ServerProcess::ServerProcess(std::vector<std::string> extra_args)
    : extra_args_(std::move(extra_args)),
      root_dir_(MakeTempDir()),
      data_dir_(root_dir_ + "/data"),
      port_(PickFreePort()) {}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Kill();
  // A sanitizer build of the server (ORGANIC_SERVER_BIN=...) reports to its stderr, which is
  // the log: any report fails the test that ran this server, even if its replies looked right.
  std::string log_text = log();
  size_t report = log_text.find("Sanitizer");
  if (report == std::string::npos) report = log_text.find("runtime error:");
  if (report != std::string::npos) {
    FAIL_CHECK("sanitizer report in the server log:\n"
               << log_text.substr(report > 200 ? report - 200 : 0, 4000));
  }
  RemoveTree(root_dir_);
}

bool ServerProcess::Start(std::chrono::milliseconds startup_timeout) {
  if (pid_ > 0) return false;
  log_offset_at_start_ = log().size();
  std::vector<std::string> argv = {ServerBinary()};
  if (!config_file_.empty()) argv.push_back(config_file_);
  argv.insert(argv.end(), {"--port", std::to_string(port_), "--dir", data_dir_});
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char*> ptrs = ArgvPointers(argv);
  int log_fd = open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return false;
  pid_t pid = fork();
  if (pid == 0) {
    PrepareChild(log_fd, log_fd);
    execv(ptrs[0], ptrs.data());
    _exit(127);
  }
  close(log_fd);
  if (pid < 0) return false;
  pid_ = pid;
  exit_status_ = -1;

  Clock::time_point deadline = Clock::now() + startup_timeout;
  while (Clock::now() < deadline) {
    if (Reap(false)) return false;  // exited during start-up (exit_status() says how)
    timeval tv{0, 200 * 1000};
    redisContext* raw = redisConnectWithTimeout("127.0.0.1", port_, tv);
    RedisContextPtr c(raw);
    if (c != nullptr && c->err == 0) {
      redisSetTimeout(c.get(), tv);
      // Any reply counts: with requirepass the answer is NOAUTH, and that is still ready.
      if (Command(c.get(), {"PING"}) != nullptr) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Kill();
  return false;
}

bool ServerProcess::Reap(bool block) {
  if (pid_ <= 0) return true;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    exit_status_ = r == pid_ ? DecodeWaitStatus(status) : -1;
    pid_ = -1;
    return true;
  }
  return false;
}

bool ServerProcess::WaitForExit(std::chrono::milliseconds timeout) {
  Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    if (Reap(false)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool ServerProcess::IsRunning() { return !Reap(false); }

int ServerProcess::Stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return exit_status_;
  kill(pid_, SIGTERM);
  if (!WaitForExit(timeout)) {
    kill(pid_, SIGKILL);
    Reap(true);
  }
  return exit_status_;
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  Reap(true);
}

bool ServerProcess::Restart() {
  if (Stop() != 0) return false;
  return Start();
}

std::string ServerProcess::log_since_start() const {
  std::string all = log();
  return log_offset_at_start_ <= all.size() ? all.substr(log_offset_at_start_) : all;
}

std::vector<std::string> ServerProcess::WalFiles() const {
  std::vector<std::pair<uint64_t, std::string>> found;
  DIR* dir = opendir(data_dir_.c_str());
  if (dir != nullptr) {
    while (dirent* e = readdir(dir)) {
      uint64_t generation;
      if (ParseWalFileName(e->d_name, &generation)) {
        found.emplace_back(generation, data_dir_ + "/" + e->d_name);
      }
    }
    closedir(dir);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> paths;
  for (auto& [generation, path] : found) paths.push_back(path);
  return paths;
}

RedisContextPtr ServerProcess::Connect() const { return ConnectTo(port_); }

// ---- hiredis helpers ----

RedisContextPtr ConnectTo(int port) {
  timeval tv{5, 0};
  RedisContextPtr c(redisConnectWithTimeout("127.0.0.1", port, tv));
  if (c == nullptr || c->err != 0) return nullptr;
  redisSetTimeout(c.get(), tv);
  return c;
}

RedisReplyPtr Command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  ArgvOf(args, &argv, &lens);
  return RedisReplyPtr(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data())));
}

void AppendCommand(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  ArgvOf(args, &argv, &lens);
  redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data());
}

RedisReplyPtr GetReply(redisContext* c) {
  void* reply = nullptr;
  if (redisGetReply(c, &reply) != REDIS_OK) return nullptr;
  return RedisReplyPtr(static_cast<redisReply*>(reply));
}

std::string FormatReply(const redisReply* r, const redisContext* c) {
  if (r == nullptr) {
    return std::string("(connection error: ") + (c != nullptr ? c->errstr : "?") + ")";
  }
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    case REDIS_REPLY_NIL:
      return "(nil)";
    case REDIS_REPLY_ARRAY: {
      std::string out = "[";
      for (size_t i = 0; i < r->elements; i++) {
        if (i > 0) out += ",";
        out += FormatReply(r->element[i], c);
      }
      return out + "]";
    }
    default:
      return "(unknown reply type " + std::to_string(r->type) + ")";
  }
}

std::string Cmd(redisContext* c, const std::vector<std::string>& args) {
  RedisReplyPtr r = Command(c, args);
  return FormatReply(r.get(), c);
}

int64_t CmdInt(redisContext* c, const std::vector<std::string>& args) {
  RedisReplyPtr r = Command(c, args);
  if (r == nullptr || r->type != REDIS_REPLY_INTEGER) return INT64_MIN;
  return r->integer;
}

std::string InfoField(const std::string& info, const std::string& field) {
  std::string needle = field + ":";
  size_t pos = 0;
  while ((pos = info.find(needle, pos)) != std::string::npos) {
    if (pos == 0 || info[pos - 1] == '\n') {
      size_t start = pos + needle.size();
      size_t end = info.find_first_of("\r\n", start);
      return info.substr(start, end == std::string::npos ? std::string::npos : end - start);
    }
    pos += needle.size();
  }
  return "";
}

int64_t InfoInt(redisContext* c, const std::string& section, const std::string& field) {
  std::string v = InfoField(Cmd(c, {"INFO", section}), field);
  return v.empty() ? INT64_MIN : std::stoll(v);
}

// ---- RawConnection ----

std::string EncodeCommand(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out += a;
    out += "\r\n";
  }
  return out;
}

RawConnection::RawConnection(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fd_ = fd;
}

RawConnection::~RawConnection() { Close(); }

void RawConnection::Close(bool reset) {
  if (fd_ < 0) return;
  if (reset) {
    linger lg{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  }
  close(fd_);
  fd_ = -1;
}

bool RawConnection::SendAll(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string RawConnection::ReadAtLeast(size_t n, std::chrono::milliseconds timeout) {
  std::string out;
  Clock::time_point deadline = Clock::now() + timeout;
  if (buffer_.empty()) buffer_.resize(kReadChunk);
  while (out.size() < n) {
    // A zero or past deadline still polls once, so a 0 ms timeout means "what is there now".
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    pollfd p{fd_, POLLIN, 0};
    int pr = poll(&p, 1, static_cast<int>(left.count()));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) break;
    ssize_t r = recv(fd_, buffer_.data(), buffer_.size(), 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    out.append(buffer_.data(), static_cast<size_t>(r));
  }
  return out;
}

std::string RawConnection::ReadUntil(std::string_view terminator,
                                     std::chrono::milliseconds timeout) {
  std::string out;
  Clock::time_point deadline = Clock::now() + timeout;
  while (!out.ends_with(terminator)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    std::string more = ReadAtLeast(1, left);
    if (more.empty()) break;  // EOF or deadline
    out += more;
  }
  return out;
}

std::string RawConnection::ReadUntilEof(bool* eof, std::chrono::milliseconds timeout) {
  std::string out;
  *eof = false;
  Clock::time_point deadline = Clock::now() + timeout;
  if (buffer_.empty()) buffer_.resize(kReadChunk);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    int pr = poll(&p, 1, static_cast<int>(left.count()));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) break;
    ssize_t r = recv(fd_, buffer_.data(), buffer_.size(), 0);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0 || (r < 0 && errno == ECONNRESET)) {
      *eof = true;
      break;
    }
    if (r < 0) break;
    out.append(buffer_.data(), static_cast<size_t>(r));
  }
  return out;
}

// ---- RespParser ----

RespParser::RespParser() : reader_(redisReaderCreate()) {}
RespParser::~RespParser() { redisReaderFree(reader_); }

void RespParser::Feed(std::string_view bytes) {
  redisReaderFeed(reader_, bytes.data(), bytes.size());
}

RedisReplyPtr RespParser::Next() {
  void* reply = nullptr;
  if (redisReaderGetReply(reader_, &reply) != REDIS_OK) return nullptr;
  return RedisReplyPtr(static_cast<redisReply*>(reply));
}

bool RespParser::error() const { return reader_->err != 0; }

}  // namespace organic::itest
