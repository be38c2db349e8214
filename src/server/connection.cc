#include "server/connection.h"

#include <arpa/inet.h>

#include <cstring>

#include "server/server.h"
#include "util/clock.h"
#include "util/log.h"

namespace organic {

namespace {
// An output buffer emptied by a write keeps at most this much capacity: an idle client should
// not hold on to the memory of its biggest reply (it counts in maxmemory-clients), and steady
// small replies never reallocate.
constexpr size_t kRetainedOutputCapacity = 64 * 1024;

std::string FormatAddress(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    port = ntohs(a->sin6_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  return std::string(host) + ":" + std::to_string(port);
}
}  // namespace

Connection::Connection(Server* server, uint64_t id) : server_(server) {
  handle_.data = this;
  session_.id = id;
  session_.created_ms = UnixTimeMs();
  session_.last_interaction_ms = session_.created_ms;
  const ConfigValues& cfg = server->config().values();
  session_.authenticated = cfg.requirepass.empty();
  parser_.set_authenticated(session_.authenticated);
  protocol::ParserLimits limits;
  limits.max_bulk_len = cfg.proto_max_bulk_len;
  parser_.set_limits(limits);
}

void Connection::Start() {
  sockaddr_storage ss;
  int len = sizeof(ss);
  if (uv_tcp_getpeername(&handle_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    session_.addr = FormatAddress(ss);
  }
  len = sizeof(ss);
  if (uv_tcp_getsockname(&handle_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    session_.laddr = FormatAddress(ss);
  }
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(&handle_), &fd) == 0) session_.fd = fd;
  uv_tcp_nodelay(&handle_, 1);
  int keepalive = server_->config().values().tcp_keepalive;
  if (keepalive > 0) uv_tcp_keepalive(&handle_, 1, static_cast<unsigned>(keepalive));
  UpdateReadState();
}

size_t Connection::memory_usage() const {
  return sizeof(Connection) + parser_.buffered_bytes() + pending_input_.capacity() +
         out_.capacity() + inflight_.capacity();
}

void Connection::AccountMemory() {
  size_t now = closing_ ? 0 : memory_usage();
  server_->clients_memory() += now;
  server_->clients_memory() -= accounted_memory_;
  accounted_memory_ = now;
}

bool Connection::over_pause_threshold() const {
  return output_bytes() >= server_->ClientPauseThreshold();
}

void Connection::UpdateReadState() {
  bool want = !closing_ && !close_when_flushed_ && !held_command_ && !held_for_wal_ &&
              !deferred_ && !over_pause_threshold();
  if (want && !reading_) {
    uv_read_start(reinterpret_cast<uv_stream_t*>(&handle_), OnAlloc, OnRead);
    reading_ = true;
    if (!pending_input_.empty()) OnData("", 0);
  } else if (!want && reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&handle_));
    reading_ = false;
  }
}

void Connection::OnAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(handle->data);
  buf->base = self->server_->read_buffer();
  buf->len = self->server_->read_buffer_size();
}

void Connection::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(stream->data);
  if (nread > 0) {
    self->OnData(buf->base, static_cast<size_t>(nread));
  } else if (nread < 0) {
    // EOF or error: the peer is gone; pending output has nowhere to go.
    self->Close(false);
  }
}

void Connection::OnData(const char* data, size_t len) {
  server_->stats().total_net_input_bytes += len;
  // The loop's cached clock (updated once per iteration) is precise enough for idle times.
  session_.last_interaction_ms = server_->NowMs();
  std::string owned;
  if (!pending_input_.empty()) {
    owned.swap(pending_input_);
    owned.append(data, len);
    data = owned.data();
    len = owned.size();
  }
  size_t offset = 0;
  while (offset < len && !closing_ && !close_when_flushed_) {
    if (over_pause_threshold()) {
      // Back-pressure: run no more commands until this client reads its replies.
      pending_input_.assign(data + offset, len - offset);
      break;
    }
    if (server_->IterationBudgetSpent()) {
      // Fairness: this iteration produced enough replies; go on in the next one.
      pending_input_.assign(data + offset, len - offset);
      deferred_ = true;
      server_->Defer(this);
      break;
    }
    size_t consumed = 0;
    protocol::RequestParser::Result r = parser_.Parse(data + offset, len - offset, &consumed);
    offset += consumed;
    if (r == protocol::RequestParser::Result::kComplete) {
      std::span<const std::string> args(parser_.args(), parser_.argc());
      if (server_->ShouldStallWrite(args)) {
        // Memory is over budget while a flush runs: hold this write (and everything after
        // it, to keep the order) until the flush frees memory. Nothing is refused.
        held_command_ = true;
        pending_input_.assign(data + offset, len - offset);
        server_->AddStalled(this);
        break;
      }
      const size_t out_before = out_.size();
      server_->Execute(this, args);
      if (out_.size() > out_before) server_->ChargeOutput(out_.size() - out_before);
      if (session_.close_after_reply) close_when_flushed_ = true;
      // Limits are checked per command, not per read: one read of pipelined GETs can produce
      // many MB of replies, and hundreds of clients do that in the same loop iteration.
      AccountMemory();
      if (server_->CheckOutputBufferLimits(this)) break;
      server_->EnforceClientMemory();
    } else if (r == protocol::RequestParser::Result::kError) {
      out_ += "-ERR ";
      out_ += parser_.error();
      out_ += "\r\n";
      server_->stats().total_error_replies++;
      server_->stats().error_counts["ERR"]++;
      Log(LogLevel::kVerbose, "Protocol error (%s) from client: id=%llu addr=%s",
          parser_.error().c_str(), static_cast<unsigned long long>(session_.id),
          session_.addr.c_str());
      close_when_flushed_ = true;
    } else {
      break;  // need more bytes
    }
  }
  if (!closing_ && parser_.buffered_bytes() + pending_input_.size() >
                       server_->config().values().client_query_buffer_limit) {
    Log(LogLevel::kWarning, "Closing client that reached max query buffer length: id=%llu addr=%s",
        static_cast<unsigned long long>(session_.id), session_.addr.c_str());
    server_->stats().client_query_buffer_limit_disconnections++;
    Close(false);
    return;
  }
  AccountMemory();
  server_->EnforceClientMemory();  // may close this client: the calls below then do nothing
  if (!out_.empty() || close_when_flushed_) server_->QueueWrite(this);
  UpdateReadState();
}

void Connection::FlushOutput() {
  if (closing_ || held_for_wal_) return;
  if (!write_in_flight_ && !out_.empty()) {
    uv_buf_t buf = uv_buf_init(out_.data(), static_cast<unsigned>(out_.size()));
    int written = uv_try_write(reinterpret_cast<uv_stream_t*>(&handle_), &buf, 1);
    if (written == UV_EAGAIN) written = 0;
    if (written < 0) {
      Close(false);
      return;
    }
    server_->stats().total_net_output_bytes += static_cast<uint64_t>(written);
    if (static_cast<size_t>(written) == out_.size()) {
      out_.clear();
      if (out_.capacity() > kRetainedOutputCapacity) std::string().swap(out_);
    } else {
      // Hand the rest to libuv; new replies keep accumulating in out_ meanwhile. The buffer
      // moves rather than being copied: a client that does not read may hold tens of MB here.
      inflight_.swap(out_);
      inflight_offset_ = static_cast<size_t>(written);
      out_.clear();
      if (out_.capacity() > kRetainedOutputCapacity) std::string().swap(out_);
      write_in_flight_ = true;
      uv_buf_t rest = uv_buf_init(inflight_.data() + inflight_offset_,
                                  static_cast<unsigned>(inflight_.size() - inflight_offset_));
      write_req_.data = this;
      if (uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(&handle_), &rest, 1,
                   OnWriteDone) != 0) {
        write_in_flight_ = false;
        Close(false);
        return;
      }
    }
  }
  AccountMemory();
  if (server_->CheckOutputBufferLimits(this)) return;
  if (close_when_flushed_ && !write_in_flight_ && out_.empty()) {
    Close(false);
    return;
  }
  UpdateReadState();
}

void Connection::OnWriteDone(uv_write_t* req, int status) {
  auto* self = static_cast<Connection*>(req->data);
  self->write_in_flight_ = false;
  if (status == 0) {
    self->server_->stats().total_net_output_bytes += self->inflight_.size() - self->inflight_offset_;
  }
  self->inflight_.clear();
  self->inflight_offset_ = 0;
  if (self->inflight_.capacity() > kRetainedOutputCapacity) std::string().swap(self->inflight_);
  if (self->closing_) return;
  self->AccountMemory();
  if (status < 0) {
    self->Close(false);
    return;
  }
  if (!self->out_.empty() || self->close_when_flushed_) {
    self->server_->QueueWrite(self);
  }
  self->UpdateReadState();
}

void Connection::ResumeDeferred() {
  deferred_ = false;
  UpdateReadState();  // reads again, and runs pending_input_ first
}

void Connection::ResumeAfterStall() {
  if (!held_command_ || closing_) return;
  held_command_ = false;
  server_->Execute(this, std::span<const std::string>(parser_.args(), parser_.argc()));
  if (session_.close_after_reply) close_when_flushed_ = true;
  AccountMemory();
  if (server_->CheckOutputBufferLimits(this)) return;
  if (!out_.empty() || close_when_flushed_) server_->QueueWrite(this);
  if (!pending_input_.empty() && !close_when_flushed_) OnData("", 0);
  UpdateReadState();
}

void Connection::Close(bool graceful) {
  if (closing_) return;
  if (graceful && (write_in_flight_ || !out_.empty())) {
    close_when_flushed_ = true;
    server_->QueueWrite(this);
    return;
  }
  closing_ = true;
  AccountMemory();  // closing: its share drops to 0 (the buffers go with the object, soon)
  if (reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&handle_));
    reading_ = false;
  }
  server_->OnConnectionClosed(this);
  // libuv cancels an in-flight write (its callback runs with UV_ECANCELED) before OnClosed, so
  // inflight_ stays alive until then.
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_), OnClosed);
}

void Connection::OnClosed(uv_handle_t* handle) { delete static_cast<Connection*>(handle->data); }

}  // namespace organic
