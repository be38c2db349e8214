// Connection: one client socket on the loop thread. It owns the request parser state, the
// session and the output buffer; it hands each parsed command to the Server and never
// interprets commands itself.
//
// Output path: replies accumulate in out_; the server flushes every connection with pending
// output once per loop iteration, after the WAL batch is written (see Server::BeforeSleep),
// first with a non-blocking write and, for what the kernel does not take, one uv_write at a time.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>

#include "commands/session.h"
#include "protocol/request_parser.h"

namespace organic {

class Server;

class Connection {
 public:
  // REQUIRES: server outlives the connection. Call Start() after the handle was accepted.
  Connection(Server* server, uint64_t id);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  uv_tcp_t* handle() { return &handle_; }
  commands::Session& session() { return session_; }
  const commands::Session& session() const { return session_; }
  std::string* output() { return &out_; }
  protocol::RequestParser& parser() { return parser_; }

  // Starts reading and records peer/local addresses.
  void Start();
  // Processes bytes read from the socket (commands run synchronously, in order).
  void OnData(const char* data, size_t len);
  // Writes pending output; called by the server's before-sleep hook.
  void FlushOutput();
  // Runs the write command held by a write stall, then the input that queued behind it.
  void ResumeAfterStall();
  bool stalled() const { return held_command_; }
  // Closes the socket (after pending output when graceful) and frees this object later.
  void Close(bool graceful);

  // Set by the server while this connection's replies wait for the WAL (Server::HoldForWal):
  // nothing is sent and nothing read meanwhile.
  void set_held_for_wal(bool held) {
    held_for_wal_ = held;
    UpdateReadState();
  }
  bool held_for_wal() const { return held_for_wal_; }
  bool has_pending_output() const { return !out_.empty(); }
  bool closing() const { return closing_; }
  size_t output_bytes() const { return out_.size() + inflight_.size() - inflight_offset_; }
  // Query buffer as CLIENT LIST's qbuf: a partial command plus input read but not yet run.
  size_t query_bytes() const { return parser_.buffered_bytes() + pending_input_.size(); }
  // What this client costs in memory (CLIENT LIST tot-mem, maxmemory-clients): the object,
  // the partial command, the buffers' allocated capacity (what is resident, not what is used).
  size_t memory_usage() const;
  // Brings the server's sum of all clients' memory (Server::clients_memory) up to date with
  // this client's current usage. Called wherever the buffers change size.
  void AccountMemory();
  // The client no longer reads: reading stops while its output is at or above this many bytes
  // (Server::ClientPauseThreshold; lower while all clients together use much memory).
  bool over_pause_threshold() const;
  // Runs the input kept when the iteration's output budget ran out (Server::ResumeDeferred).
  void ResumeDeferred();
  bool queued_for_write = false;  // owned by Server: in its pending-write list
  // Owned by the server's output-buffer-limit check: the second (unix time) since which the
  // output has been over the soft limit without a break; 0 = not over it.
  int64_t obuf_soft_limit_since_s = 0;

 private:
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void OnWriteDone(uv_write_t* req, int status);
  static void OnClosed(uv_handle_t* handle);
  void UpdateReadState();

  uv_tcp_t handle_;  // handle_.data == this
  uv_write_t write_req_;
  Server* server_;
  commands::Session session_;
  protocol::RequestParser parser_;
  std::string out_;       // replies not yet handed to the kernel
  // Bytes read but not yet parsed: command execution pauses mid-read once the client's unsent
  // output reaches the pause threshold, and resumes here when reading restarts. At most one
  // read's worth (the server's read buffer size) since reading stops at the same time.
  std::string pending_input_;
  // A parsed write command (still in parser_.args()) waiting for the end of a write stall.
  bool held_command_ = false;
  std::string inflight_;  // bytes owned by the in-flight uv_write (empty when none)
  size_t inflight_offset_ = 0;  // inflight_'s first byte not yet sent (the uv_write's start)
  bool write_in_flight_ = false;
  bool closing_ = false;
  bool close_when_flushed_ = false;
  bool reading_ = false;
  bool held_for_wal_ = false;
  size_t accounted_memory_ = 0;  // this client's share of Server::clients_memory
  bool deferred_ = false;  // in Server::deferred_: input kept until the next iteration
};

}  // namespace organic
