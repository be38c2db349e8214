// Test support for the integration suite: runs the real organic-server binary as a child process
// on a free port in a private temporary directory, and talks to it over TCP (hiredis or raw
// sockets).
//
// Layout of a ServerProcess's temporary directory (removed by the destructor):
//   <root>/data/        the server's --dir (WAL generations wal-N.log)
//   <root>/server.log   the server's stdout and stderr, appended to by every (re)start
//
// Threading: a ServerProcess is used by one thread at a time, the one that calls Start() (the
// child is SIGKILLed when that thread exits: PR_SET_PDEATHSIG, so a crashed test run leaves no
// server behind). The free functions are thread-safe (each call works on its own socket or
// context).
#pragma once

#include <hiredis/hiredis.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace organic::itest {

// Owning handles for hiredis objects.
struct RedisContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using RedisContextPtr = std::unique_ptr<redisContext, RedisContextDeleter>;
struct RedisReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

// Path of the binaries under test: the compile definitions ORGANIC_SERVER_BIN and
// ORGANIC_CHECK_WAL_BIN set by CMakeLists.txt, unless the environment variables of the same
// names are set (to run the suite against another build, e.g. a sanitizer build).
const char* ServerBinary();
const char* CheckWalBinary();

// A TCP port on 127.0.0.1 that nothing listened on a moment ago (bind port 0, read it back,
// close). Another process could take it before the server binds; tests accept that small race.
int PickFreePort();

// A fresh directory under $TMPDIR (or /tmp) named organic-itest-XXXXXX; aborts the test
// binary if it cannot be created.
std::string MakeTempDir();
// rm -rf path (best effort).
void RemoveTree(const std::string& path);

// A MakeTempDir() directory removed (with its content) on destruction, also when a REQUIRE
// ends the test early.
class TempDir {
 public:
  TempDir() : path_(MakeTempDir()) {}
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() { RemoveTree(path_); }
  const std::string& path() const { return path_; }

 private:
  const std::string path_;
};

// Whole content of a file; empty if it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);
// Appends bytes to a file (creating it if missing); false on failure.
bool AppendToFile(const std::string& path, std::string_view bytes);
// Overwrites the whole file; false on failure.
bool WriteWholeFile(const std::string& path, std::string_view bytes);

// The result of running a short-lived program to completion.
struct ProcessResult {
  int exit_code = -1;  // exit status; 128 + signal if killed; 127 if exec failed; -1 if no fork
  std::string out;     // stdout
  std::string err;     // stderr
};
// Runs argv (argv[0] is the program path) with stdout and stderr captured separately, waiting
// at most timeout; a program still running then is SIGKILLed (exit_code 128 + 9).
ProcessResult RunProgram(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

// One organic-server child process.
class ServerProcess {
 public:
  // extra_args are passed after "--port P --dir D" (e.g. {"--appendfsync", "always"}).
  // Nothing runs until Start().
  explicit ServerProcess(std::vector<std::string> extra_args = {});
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  // SIGKILLs a still-running server and removes the temporary directory. Fails the current
  // doctest test case if the server's log holds a sanitizer report.
  ~ServerProcess();

  // Makes Start() pass a config file before the other arguments (organic-server [config-file]
  // [--directive value ...]); "--port" and "--dir" on the command line override the file's.
  void set_config_file(std::string path) { config_file_ = std::move(path); }

  // Starts the server and waits (at most startup_timeout) until a connection gets a reply to
  // PING (PONG, or NOAUTH under requirepass). Returns false if the process exited first
  // (exit_status() tells how) or never answered in time (then it is killed).
  // REQUIRES: not running.
  bool Start(std::chrono::milliseconds startup_timeout = std::chrono::seconds(10));
  // SIGTERM, then waits at most timeout for the exit; SIGKILLs after that. Returns the exit
  // status (0 for a clean shutdown), 128 + signal number if killed by a signal.
  int Stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // SIGKILL and reap: a crash, nothing is flushed or synced by the server.
  void Kill();
  // Stop() then Start() on the same port and directory. False if either step failed
  // (Stop must return 0).
  bool Restart();
  // Waits at most timeout for the process to exit by itself (e.g. after SHUTDOWN). Returns
  // true and records exit_status() if it did.
  bool WaitForExit(std::chrono::milliseconds timeout);
  // Whether the child is still alive (reaps it if it has exited).
  bool IsRunning();

  // Connects with hiredis (5 s timeout for connect and every command). Null on failure.
  RedisContextPtr Connect() const;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // The server's --dir.
  const std::string& data_dir() const { return data_dir_; }
  const std::string& root_dir() const { return root_dir_; }
  std::string log_path() const { return root_dir_ + "/server.log"; }
  // Everything the server printed so far, over all starts.
  std::string log() const { return ReadFileOrEmpty(log_path()); }
  // What the server printed since the last Start().
  std::string log_since_start() const;
  // Exit status of the last process that ended (see Stop()); -1 while none has.
  int exit_status() const { return exit_status_; }
  // Paths of the wal-N.log files in data_dir(), in generation order.
  std::vector<std::string> WalFiles() const;

 private:
  // Non-blocking reap; true if the child is gone (exit_status_ set, pid_ reset).
  bool Reap(bool block);

  std::vector<std::string> extra_args_;
  std::string config_file_;  // empty: none
  std::string root_dir_;
  std::string data_dir_;
  int port_;
  pid_t pid_ = -1;
  int exit_status_ = -1;
  size_t log_offset_at_start_ = 0;
};

// ---- hiredis helpers (binary-safe: arguments are passed with their lengths) ----

// Connects to 127.0.0.1:port with a 5 s connect and command timeout. Null on failure.
RedisContextPtr ConnectTo(int port);
// Runs one command; null if the connection failed (c->err says why).
RedisReplyPtr Command(redisContext* c, const std::vector<std::string>& args);
// Queues a command in c's output buffer without waiting (pipelining; redisGetReply reads).
void AppendCommand(redisContext* c, const std::vector<std::string>& args);
// Next reply of a pipeline; null on connection failure.
RedisReplyPtr GetReply(redisContext* c);
// A reply in a compact, comparable text form: status and bulk strings as is, errors as
// "ERR ..."/"NOAUTH ..." (the error text), nil as "(nil)", integers in decimal, arrays as
// "[a,b,...]". A missing reply (connection failure) is "(connection error: ...)".
std::string FormatReply(const redisReply* r, const redisContext* c = nullptr);
// Command + FormatReply.
std::string Cmd(redisContext* c, const std::vector<std::string>& args);
// Command that must return an integer reply; returns INT64_MIN otherwise (so CHECKs fail).
int64_t CmdInt(redisContext* c, const std::vector<std::string>& args);
// The value of field in an INFO reply text ("used_memory_rss"); empty if absent.
std::string InfoField(const std::string& info, const std::string& field);
// An integer field of INFO <section>, INT64_MIN when absent.
int64_t InfoInt(redisContext* c, const std::string& section, const std::string& field);

// ---- raw sockets, for byte-level protocol tests ----

// The RESP multibulk encoding of a command ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n").
std::string EncodeCommand(const std::vector<std::string>& args);

// A connected TCP socket; closes on destruction.
class RawConnection {
 public:
  // Connects to 127.0.0.1:port (blocking socket, TCP_NODELAY). ok() tells if it worked.
  explicit RawConnection(int port);
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;
  ~RawConnection();

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // Sends every byte (retries partial writes); false on error.
  bool SendAll(std::string_view bytes);
  // Reads until this call has received at least n bytes, the peer closed the connection, or
  // the deadline passed; returns what it read (possibly more than n bytes).
  std::string ReadAtLeast(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Reads until the bytes received by this call end with terminator, EOF, or the deadline.
  std::string ReadUntil(std::string_view terminator,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Reads until EOF or the deadline. *eof tells whether the peer closed the connection.
  std::string ReadUntilEof(bool* eof, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Closes now; with reset=true sends an RST instead of a FIN (SO_LINGER 0), so unread data
  // in either direction is discarded at once.
  void Close(bool reset = false);

 private:
  static constexpr size_t kReadChunk = 1 << 20;  // one recv() takes up to this much

  int fd_ = -1;
  std::vector<char> buffer_;  // recv() target, allocated on the first read
};

// Parses RESP2 bytes (as read from a raw socket) into hiredis replies.
class RespParser {
 public:
  RespParser();
  ~RespParser();
  RespParser(const RespParser&) = delete;
  RespParser& operator=(const RespParser&) = delete;
  void Feed(std::string_view bytes);
  // The next complete reply, or null if more bytes are needed (or on a protocol error, which
  // sets error()).
  RedisReplyPtr Next();
  bool error() const;

 private:
  redisReader* reader_;
};

}  // namespace organic::itest
