// Limits on what clients may cost: the open files limit for maxclients, the read pause,
// client-output-buffer-limit, maxmemory-clients (client eviction) and the once-a-second pass
// over the clients (idle timeout, soft output limits).
//
// Memory model: every Connection keeps its memory_usage() added into Server::clients_memory_
// (Connection::AccountMemory, called wherever its buffers change), so the sum is known in O(1)
// after every command. Three mechanisms bound it, from gentlest to hardest:
//   1. the read pause: a client whose unsent output reaches ClientPauseThreshold() is not read
//      (its commands wait in the socket); 4 MB alone, 1 MB once all clients together use half
//      of maxmemory-clients, so thousands of non-readers hold ~1 MB each, not 64 MB each;
//   2. client-output-buffer-limit normal (off by default, as Redis): a per-client cap;
//   3. maxmemory-clients (512 MB by default): past it the biggest clients are disconnected
//      until the sum is back under it, as Redis 7's client eviction.
#include "server/client_limits.h"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "server/connection.h"
#include "server/server.h"
#include "util/clock.h"
#include "util/log.h"

namespace organic {

namespace {
// Reading pauses while a client has this much output the kernel has not taken (on top of the
// few MB the kernel's send buffer holds). Enough to keep a pipelining client that reads busy;
// small enough that the first loop iteration after 200 clients each pipeline 100 GETs of 1 MB
// copies ~1 GB rather than 13 GB (64 MB each, as before), which kept PING waiting for seconds.
constexpr size_t kPauseOutputBytes = 4 * 1024 * 1024;
// The pause threshold while clients together are past half of maxmemory-clients: one large
// reply in flight per client, enough for a client that reads to keep streaming.
constexpr size_t kPressurePauseOutputBytes = 1024 * 1024;
// Replies all clients together may produce in one loop iteration before the rest wait for the
// next one: ~10 ms of copying, so a normal client's PING waits at most about that long.
constexpr uint64_t kIterationOutputBudget = 16 * 1024 * 1024;
// Redis's per-client static reply buffer (PROTO_REPLY_CHUNK_BYTES), which its output buffer
// limits do not count.
constexpr size_t kReplyBufferBytes = 16 * 1024;
}  // namespace

int AdjustOpenFilesLimit(int maxclients) {
  const rlim_t wanted = static_cast<rlim_t>(maxclients) + kReservedFds;
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == -1) {
    Log(LogLevel::kWarning,
        "Unable to obtain the current NOFILE limit (%s), assuming 1024 and setting the max "
        "clients configuration accordingly.",
        std::strerror(errno));
    return 1024 - kReservedFds;
  }
  const rlim_t old_limit = limit.rlim_cur;
  if (old_limit >= wanted) return maxclients;
  // Try the full amount, then 16 fewer at a time, as Redis does: an unprivileged process
  // cannot pass its hard limit. Unlike Redis the hard limit itself is left as it was, so a
  // later CONFIG SET maxclients can still raise the soft one.
  rlim_t best = wanted;
  int set_error = 0;
  while (best > old_limit) {
    rlimit attempt = limit;
    attempt.rlim_cur = best;
    if (attempt.rlim_max < best) attempt.rlim_max = best;
    if (setrlimit(RLIMIT_NOFILE, &attempt) != -1) break;
    set_error = errno;
    if (best < 16) {
      best = old_limit;
      break;
    }
    best -= 16;
  }
  if (best < old_limit) best = old_limit;
  if (best >= wanted) {
    Log(LogLevel::kNotice,
        "Increased maximum number of open files to %llu (it was originally set to %llu).",
        static_cast<unsigned long long>(wanted), static_cast<unsigned long long>(old_limit));
    return maxclients;
  }
  if (best <= static_cast<rlim_t>(kReservedFds)) {
    Log(LogLevel::kWarning,
        "Your current 'ulimit -n' of %llu is not enough for the server to start. Please "
        "increase your open file limit to at least %llu. Exiting.",
        static_cast<unsigned long long>(old_limit), static_cast<unsigned long long>(wanted));
    return -1;
  }
  int reduced = static_cast<int>(best) - kReservedFds;
  Log(LogLevel::kWarning, "You requested maxclients of %d requiring at least %llu max file descriptors.",
      maxclients, static_cast<unsigned long long>(wanted));
  Log(LogLevel::kWarning, "Server can't set maximum open files to %llu because of OS error: %s.",
      static_cast<unsigned long long>(wanted), std::strerror(set_error));
  Log(LogLevel::kWarning,
      "Current maximum open files is %llu. maxclients has been reduced to %d to compensate for "
      "low ulimit. If you need higher maxclients increase 'ulimit -n'.",
      static_cast<unsigned long long>(best), reduced);
  return reduced;
}

size_t Server::ClientPauseThreshold() const {
  uint64_t limit = config_->values().EffectiveMaxmemoryClients();
  if (limit != 0 && clients_memory_ >= limit / 2) return kPressurePauseOutputBytes;
  return kPauseOutputBytes;
}

bool Server::CheckOutputBufferLimits(Connection* conn) {
  if (conn->closing()) return false;
  const ConfigValues::OutputBufferLimit& l =
      config_->values().client_output_buffer_limits[ConfigValues::kObufNormal];
  // As Redis, which counts only the reply list past its 16 KB static buffer: a tiny limit
  // (CONFIG SET ... "normal 4 5 6") does not cut off the client for its own +OK.
  size_t used = conn->output_bytes() > kReplyBufferBytes ? conn->output_bytes() - kReplyBufferBytes : 0;
  bool close = l.hard > 0 && used >= l.hard;
  if (!close && l.soft > 0 && used >= l.soft) {
    // Redis's rule: over the soft limit for more than soft-seconds without a break.
    int64_t now_s = NowMs() / 1000;
    if (conn->obuf_soft_limit_since_s == 0) {
      conn->obuf_soft_limit_since_s = now_s;
    } else if (now_s - conn->obuf_soft_limit_since_s > l.soft_seconds) {
      close = true;
    }
  } else if (!close) {
    conn->obuf_soft_limit_since_s = 0;
  }
  if (!close) return false;
  Log(LogLevel::kWarning,
      "Client id=%llu addr=%s omem=%llu closed for overcoming of output buffer limits.",
      static_cast<unsigned long long>(conn->session().id), conn->session().addr.c_str(),
      static_cast<unsigned long long>(used));
  stats_.client_output_buffer_limit_disconnections++;
  conn->Close(false);
  return true;
}

void Server::EnforceClientMemory() {
  uint64_t limit = config_->values().EffectiveMaxmemoryClients();
  if (limit == 0 || clients_memory_ <= limit) return;
  if (eviction_stuck_at_ != 0 && clients_memory_ <= eviction_stuck_at_) return;
  // Over the bound: rare, so a sort of the candidates is fine (Redis keeps buckets by size to
  // find the biggest; the order of disconnection is the same).
  std::vector<std::pair<size_t, Connection*>> candidates;
  candidates.reserve(clients_.size());
  for (auto& [id, conn] : clients_) {
    if (conn->closing() || conn->session().no_evict) continue;
    candidates.emplace_back(conn->memory_usage(), conn);
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  for (auto& [bytes, conn] : candidates) {
    if (clients_memory_ <= limit) break;
    Log(LogLevel::kVerbose, "Evicting client: id=%llu addr=%s tot-mem=%llu",
        static_cast<unsigned long long>(conn->session().id), conn->session().addr.c_str(),
        static_cast<unsigned long long>(bytes));
    stats_.evicted_clients++;
    conn->Close(false);
  }
  eviction_stuck_at_ = clients_memory_ > limit ? clients_memory_ : 0;
}

bool Server::IterationBudgetSpent() const { return iteration_output_ >= kIterationOutputBudget; }

void Server::Defer(Connection* conn) {
  if (deferred_.empty()) uv_idle_start(&deferred_idle_, [](uv_idle_t*) {});
  deferred_.push_back(conn);
}

void Server::ResumeDeferred() {
  iteration_output_ = 0;
  if (deferred_.empty()) return;
  std::vector<Connection*> resume;
  resume.swap(deferred_);
  size_t i = 0;
  // In arrival order, while the new budget lasts; a client that spends it defers itself again.
  for (; i < resume.size() && !IterationBudgetSpent(); i++) resume[i]->ResumeDeferred();
  deferred_.insert(deferred_.end(), resume.begin() + static_cast<std::ptrdiff_t>(i), resume.end());
  if (deferred_.empty()) uv_idle_stop(&deferred_idle_);
}

void Server::ClientsCron(int64_t now_ms) {
  // One pass over the clients at most once a second: thousands of idle or slow clients cost
  // the loop O(clients) per second, not per iteration.
  if (now_ms - last_clients_cron_ms_ < 1000) return;
  last_clients_cron_ms_ = now_ms;
  const ConfigValues& cfg = config_->values();
  const bool soft_limit = cfg.client_output_buffer_limits[ConfigValues::kObufNormal].soft > 0;
  if (cfg.timeout <= 0 && !soft_limit) return;
  std::vector<Connection*> idle;
  std::vector<Connection*> with_output;
  for (auto& [id, conn] : clients_) {
    if (conn->closing()) continue;
    if (cfg.timeout > 0 &&
        now_ms - conn->session().last_interaction_ms > static_cast<int64_t>(cfg.timeout) * 1000) {
      idle.push_back(conn);
    } else if (soft_limit && conn->output_bytes() > 0) {
      // A client that stopped sending commands is otherwise never checked again.
      with_output.push_back(conn);
    }
  }
  for (Connection* conn : idle) {
    Log(LogLevel::kVerbose, "Closing idle client");
    conn->Close(false);
  }
  for (Connection* conn : with_output) CheckOutputBufferLimits(conn);
}

}  // namespace organic
