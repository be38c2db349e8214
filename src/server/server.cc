#include "server/server.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <chrono>
#include <thread>

#include "protocol/errors.h"
#include "server/client_limits.h"
#include "server/connection.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strings.h"

#ifdef ORGANIC_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#define ORGANIC_STR2(x) #x
#define ORGANIC_STR(x) ORGANIC_STR2(x)
#define STRINGIFY_ARENAS_ALL ORGANIC_STR(MALLCTL_ARENAS_ALL)
#endif

namespace organic {

Server::Server(std::unique_ptr<Config> config)
    : config_(std::move(config)), loop_(nullptr), read_buffer_(64 * 1024, '\0') {
  commands::RegisterAllCommands(&table_);
  stats_.commands.resize(table_.id_count());
  std::random_device rd;
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 40; i++) run_id_.push_back(kHex[rd() % 16]);
}

Server::~Server() = default;

void Server::ApplyLogConfig() {
  LogSink sink;
  ParseLogLevel(config_->values().loglevel, &sink.min_level);
  sink.path = config_->values().logfile;
  SetLogSink(sink);
}

namespace {
// Returns the dirty pages of every jemalloc arena to the OS (thread-safe; a few ms).
void PurgeFreedPages() {
#ifdef ORGANIC_WITH_JEMALLOC
  mallctl("arena." STRINGIFY_ARENAS_ALL ".purge", nullptr, nullptr, nullptr, 0);
#endif
}
}  // namespace

int Server::Run() {
  ApplyLogConfig();
  signal(SIGPIPE, SIG_IGN);
  start_time_ms_ = UnixTimeMs();
  cached_now_ms_ = start_time_ms_;
  const ConfigValues& cfg = config_->values();
  Log(LogLevel::kNotice, "oO0OoO0OoO0Oo Organic KV is starting oO0OoO0OoO0Oo");
  Log(LogLevel::kNotice, "Organic KV version=%s, redis_version=7.0.15, bits=64, pid=%d, port=%d, just started",
      ORGANIC_VERSION, static_cast<int>(getpid()), cfg.port);
  if (config_->config_file().empty()) {
    Log(LogLevel::kNotice, "No config file specified, using the embedded defaults");
  } else {
    Log(LogLevel::kNotice, "Configuration loaded from %s", config_->config_file().c_str());
  }

  // Enough file descriptors for maxclients, as Redis (lowering maxclients when the hard limit
  // is too low); CONFIG SET maxclients goes through the same adjustment.
  int allowed_clients = AdjustOpenFilesLimit(cfg.maxclients);
  if (allowed_clients < 0) return 1;
  config_->values().maxclients = allowed_clients;
  config_->maxclients_hook = [](int maxclients, std::string* error) {
    int allowed = AdjustOpenFilesLimit(maxclients);
    if (allowed == maxclients) return true;
    Log(LogLevel::kWarning, "Failed applying new configuration. Possibly related to new "
                            "maxclients setting. Restoring previous settings.");
    *error = "The operating system is not able to handle the specified number of clients, "
             "try with " + std::to_string(allowed);
    return false;
  };

  loop_ = uv_default_loop();
  // The worker wakes the loop when a flush result or a durable manifest waits to be installed
  // (BeforeSleep's PollBackground installs it).
  uv_async_init(loop_, &wake_, [](uv_async_t*) {});
  engine::EngineOptions options;
  options.dir = cfg.dir;
  options.databases = cfg.databases;
  engine::ParseFsyncPolicy(cfg.appendfsync, &options.fsync);
  options.memtable_budget = cfg.EffectiveMemtableBudget();
  options.memory_unlimited = cfg.maxmemory == 0;
  options.block_cache_bytes = cfg.EffectiveBlockCacheSize();
  ParseMaxmemoryPolicy(cfg.maxmemory_policy, &eviction_policy_);
  options.ewma_alpha = cfg.organic_ewma_alpha;
  options.sstable.bloom_bits_per_key = cfg.organic_bloom_bits_per_key;
  uv_async_t* wake = &wake_;
  options.wake_loop = [wake] { uv_async_send(wake); };
  options.return_memory = PurgeFreedPages;
  engine_ = std::make_unique<engine::Engine>(options);
  Status st = engine_->Open();
  if (!st.ok()) {
    Log(LogLevel::kWarning, "Fatal error loading the WAL from %s: %s", cfg.dir.c_str(),
        st.ToString().c_str());
    return 1;
  }
  const engine::EngineStats& es = engine_->stats();
  Log(LogLevel::kNotice, "WAL loaded from %s: %llu generations, %llu records, %llu bytes in %.3f seconds",
      cfg.dir.c_str(), static_cast<unsigned long long>(es.recovery.generations),
      static_cast<unsigned long long>(es.recovery.records),
      static_cast<unsigned long long>(es.recovery.bytes), es.recovery_duration_us / 1e6);

  if (!Listen()) {
    engine_->Close();
    return 1;
  }
  uv_idle_init(loop_, &deferred_idle_);
  deferred_idle_.data = this;
  uv_check_init(loop_, &before_sleep_);
  before_sleep_.data = this;
  uv_check_start(&before_sleep_, OnBeforeSleep);
  uv_timer_init(loop_, &cron_);
  cron_.data = this;
  uint64_t period = static_cast<uint64_t>(std::max(1, 1000 / cfg.hz));
  uv_timer_start(&cron_, OnCron, period, period);
  uv_signal_init(loop_, &sigterm_);
  sigterm_.data = this;
  uv_signal_start(&sigterm_, OnSignal, SIGTERM);
  uv_signal_init(loop_, &sigint_);
  sigint_.data = this;
  uv_signal_start(&sigint_, OnSignal, SIGINT);

  Log(LogLevel::kNotice, "Server initialized");
  Log(LogLevel::kNotice, "Ready to accept connections tcp");
  uv_run(loop_, UV_RUN_DEFAULT);

  // Let every handle's close callback run before the loop goes away.
  uv_walk(
      loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
  uv_run(loop_, UV_RUN_DEFAULT);
  uv_loop_close(loop_);
  Log(LogLevel::kNotice, "Organic KV is now ready to exit, bye bye...");
  return 0;
}

bool Server::Listen() {
  const ConfigValues& cfg = config_->values();
  for (std::string addr : cfg.bind) {
    bool optional = !addr.empty() && addr[0] == '-';
    if (optional) addr.erase(0, 1);
    if (addr == "*") addr = "0.0.0.0";
    if (addr == "::*") addr = "::";
    bool v6 = addr.find(':') != std::string::npos;
    sockaddr_storage ss;
    int rc = v6 ? uv_ip6_addr(addr.c_str(), cfg.port, reinterpret_cast<sockaddr_in6*>(&ss))
                : uv_ip4_addr(addr.c_str(), cfg.port, reinterpret_cast<sockaddr_in*>(&ss));
    auto tcp = std::make_unique<uv_tcp_t>();
    uv_tcp_init(loop_, tcp.get());
    tcp->data = this;
    if (rc == 0) {
      rc = uv_tcp_bind(tcp.get(), reinterpret_cast<sockaddr*>(&ss), v6 ? UV_TCP_IPV6ONLY : 0);
    }
    if (rc == 0) {
      rc = uv_listen(reinterpret_cast<uv_stream_t*>(tcp.get()), cfg.tcp_backlog, OnConnection);
    }
    if (rc != 0) {
      uv_close(reinterpret_cast<uv_handle_t*>(tcp.release()),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
      if (optional) {
        Log(LogLevel::kNotice, "Could not listen on optional address %s:%d: %s", addr.c_str(),
            cfg.port, uv_strerror(rc));
        continue;
      }
      Log(LogLevel::kWarning, "Warning: Could not create server TCP listening socket %s:%d: %s",
          addr.c_str(), cfg.port, uv_strerror(rc));
      Log(LogLevel::kWarning, "Failed listening on port %d (tcp), aborting.", cfg.port);
      return false;
    }
    listeners_.push_back(std::move(tcp));
  }
  if (listeners_.empty()) {
    Log(LogLevel::kWarning, "Failed listening on port %d (tcp), aborting.", cfg.port);
    return false;
  }
  return true;
}

void Server::OnConnection(uv_stream_t* listener, int status) {
  auto* self = static_cast<Server*>(listener->data);
  if (status < 0 || self->shutdown_requested_) return;
  auto* conn = new Connection(self, self->next_client_id_++);
  uv_tcp_init(self->loop_, conn->handle());
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(conn->handle())) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(conn->handle()),
             [](uv_handle_t* h) { delete static_cast<Connection*>(h->data); });
    return;
  }
  self->stats_.total_connections_received++;
  if (self->clients_.size() >= static_cast<size_t>(self->config_->values().maxclients)) {
    // Like Redis: best-effort error, then close.
    uv_buf_t buf = uv_buf_init(const_cast<char*>("-ERR max number of clients reached\r\n"), 36);
    uv_try_write(reinterpret_cast<uv_stream_t*>(conn->handle()), &buf, 1);
    self->stats_.rejected_connections++;
    uv_close(reinterpret_cast<uv_handle_t*>(conn->handle()),
             [](uv_handle_t* h) { delete static_cast<Connection*>(h->data); });
    return;
  }
  self->clients_[conn->session().id] = conn;
  conn->Start();
  const ConfigValues& cfg = self->config_->values();
  if (cfg.protected_mode && cfg.requirepass.empty()) {
    const std::string& addr = conn->session().addr;
    bool loopback = addr.rfind("127.", 0) == 0 || addr.rfind("::1:", 0) == 0;
    if (!loopback) {
      *conn->output() +=
          "-DENIED Organic KV is running in protected mode because protected mode is enabled and "
          "no password is set for the default user. In this mode connections are only accepted "
          "from the loopback interface. Set a password (requirepass) or disable protected mode "
          "(CONFIG SET protected-mode no) from the loopback interface.\r\n";
      conn->Close(true);
    }
  }
}

void Server::Execute(Connection* conn, std::span<const std::string> args) {
  commands::Session& session = conn->session();
  protocol::ReplyBuilder reply(conn->output(), session.resp);
  stats_.total_commands_processed++;
  const commands::CommandSpec* spec = table_.Resolve(args, &reply);
  if (spec != nullptr && !session.authenticated && !(spec->flags & commands::kNoAuth)) {
    reply.Error(protocol::kNoAuth);
    stats_.commands[spec->id].rejected_calls++;
    spec = nullptr;
  }
  if (spec == nullptr) {
    stats_.total_error_replies++;
    stats_.error_counts[reply.last_error_code()]++;
    return;
  }
  // As Redis's processCommand: with maxmemory set, evict before any command; only commands
  // that may grow memory are refused when nothing could be evicted.
  if (config_->values().maxmemory != 0 && IsRedisPolicy(eviction_policy_) &&
      EvictIfNeeded() == EvictionResult::kFail && (spec->flags & commands::kDenyOom)) {
    reply.Error(protocol::kOom);
    stats_.commands[spec->id].rejected_calls++;
    stats_.total_error_replies++;
    stats_.error_counts[reply.last_error_code()]++;
    return;
  }
  // As Redis's processCommand: while the WAL cannot be written, commands that would change the
  // data are refused, and PING too (so that health checks notice); reads go on.
  const Status& wal_error = engine_->wal_error();
  if (!wal_error.ok() && ((spec->flags & commands::kWrite) || spec->name == "ping")) {
    reply.Error(MisconfError(wal_error));
    stats_.commands[spec->id].rejected_calls++;
    stats_.total_error_replies++;
    stats_.error_counts[reply.last_error_code()]++;
    return;
  }
  // The MemTables are full and the flush that would empty them fails (a full disk): writes
  // would only grow memory past its bound. Redis refuses writes while its BGSAVE fails
  // (stop-writes-on-bgsave-error); the same MISCONF class, worded for what happens here.
  // Only commands that may grow memory (deny-oom, as Redis's OOM rule): DEL, UNLINK and
  // FLUSHALL stay allowed, so an operator can make room.
  if ((spec->flags & commands::kDenyOom) && engine_->WritesRefusedForMemory()) {
    reply.Error(FlushMisconfError(engine_->flush_error()));
    stats_.commands[spec->id].rejected_calls++;
    stats_.total_error_replies++;
    stats_.error_counts[reply.last_error_code()]++;
    return;
  }
  current_client_ = conn;
  session.last_command = &spec->name;
  int64_t start = MonotonicUs();
  commands::CommandContext ctx{args, &reply, engine_.get(), &session, this};
  const size_t reply_start = reply.buffer()->size();
  engine_->BeginCommand();
  spec->handler(ctx);
  engine_->EndCommand();
  // A damaged table met by this command: the engine refused the command's writes, and its
  // reply (built as if the key were absent) is replaced by the error naming the file.
  Status read_error = engine_->TakeReadError();
  if (!read_error.ok()) {
    reply.buffer()->resize(reply_start);
    reply.Error("ERR disk read failed: " + read_error.ToString());
  }
  ServerStats::CommandStat& cs = stats_.commands[spec->id];
  cs.calls++;
  cs.usec += static_cast<uint64_t>(MonotonicUs() - start);
  if (reply.errors_written() > 0) {
    cs.failed_calls++;
    stats_.total_error_replies += reply.errors_written();
    stats_.error_counts[reply.last_error_code()]++;
  }
  current_client_ = nullptr;
  // A command may have changed the protocol (HELLO) or the authentication state.
  conn->parser().set_authenticated(session.authenticated);
}

void Server::QueueWrite(Connection* conn) {
  if (conn->queued_for_write || conn->closing()) return;
  conn->queued_for_write = true;
  pending_writes_.push_back(conn);
}

void Server::OnConnectionClosed(Connection* conn) {
  clients_.erase(conn->session().id);
  if (conn->queued_for_write) {
    pending_writes_.erase(std::remove(pending_writes_.begin(), pending_writes_.end(), conn),
                          pending_writes_.end());
    conn->queued_for_write = false;
  }
  if (current_client_ == conn) current_client_ = nullptr;
  wal_held_.erase(std::remove(wal_held_.begin(), wal_held_.end(), conn), wal_held_.end());
  deferred_.erase(std::remove(deferred_.begin(), deferred_.end(), conn), deferred_.end());
  stalled_.erase(std::remove(stalled_.begin(), stalled_.end(), conn), stalled_.end());
}

// A stall lasts at most this long: memory may overshoot the budget rather than a client wait
// on a slow disk indefinitely.
constexpr int64_t kMaxWriteStallUs = 1000 * 1000;

bool Server::ShouldStallWrite(std::span<const std::string> args) {
  if (engine_->memtable_budget() == 0) return false;  // no budget: never stall
  const commands::CommandSpec* spec = table_.Find(args[0]);
  if (spec == nullptr || !(spec->flags & commands::kWrite)) return false;
  // One loop iteration may read megabytes of pipelined writes: the budget is checked per
  // write, not only once per iteration.
  const ConfigValues& cfg = config_->values();
  engine_->MaybeStartAutoFlush(cfg.auto_aof_rewrite_percentage, cfg.auto_aof_rewrite_min_size);
  if (!engine_->WritesShouldStall() || engine_->WritesRefusedForMemory()) return false;
  return stalled_.empty() || MonotonicUs() - stall_started_us_ <= kMaxWriteStallUs;
}

void Server::AddStalled(Connection* conn) {
  if (stalled_.empty()) {
    stall_started_us_ = MonotonicUs();
    stats_.write_stalls++;
  }
  stalled_.push_back(conn);
}

void Server::MaybeEndWriteStall(bool force) {
  if (stalled_.empty()) return;
  int64_t waited = MonotonicUs() - stall_started_us_;
  bool too_long = waited > kMaxWriteStallUs;
  // A failed flush ends the wait too: the held writes are then refused (Execute).
  if (!force && !too_long && engine_->WritesShouldStall() && !engine_->WritesRefusedForMemory()) {
    return;
  }
  if (too_long) stats_.write_stalls_cut++;
  stats_.write_stall_us += static_cast<uint64_t>(waited);
  std::vector<Connection*> resume;
  resume.swap(stalled_);
  for (Connection* conn : resume) conn->ResumeAfterStall();
}

void Server::OnBeforeSleep(uv_check_t* handle) { static_cast<Server*>(handle->data)->BeforeSleep(); }

void Server::BeforeSleep() {
  cached_now_ms_ = UnixTimeMs();
  ResumeDeferred();  // clients that ran out of last iteration's output budget
  engine_->PollBackground();
  LogBackgroundReadError();
  MaybeEndWriteStall(false);
  ReturnFreedMemTables();
  // Checked every iteration, not only in the cron: a burst of writes must not run far past
  // the MemTable budget before the next flush starts.
  const ConfigValues& cfg = config_->values();
  engine_->MaybeStartAutoFlush(cfg.auto_aof_rewrite_percentage, cfg.auto_aof_rewrite_min_size);
  // Durability before acknowledgement: the WAL batch reaches the OS (and the disk with
  // appendfsync always) before any reply of this iteration is written.
  if (!engine_->FlushWal().ok()) {
    // This iteration's writes are applied in memory but not durable: none of its replies go
    // out (a reply to a read may show one of them) until the WAL takes them again.
    for (Connection* conn : pending_writes_) {
      conn->queued_for_write = false;
      HoldForWal(conn);
    }
    pending_writes_.clear();
  } else if (!wal_held_.empty() && engine_->wal_error().ok()) {
    ReleaseWalHeld();
  }
  std::vector<Connection*> batch;
  batch.swap(pending_writes_);
  for (Connection* conn : batch) {
    conn->queued_for_write = false;
    conn->FlushOutput();
  }
  if (shutdown_requested_) Shutdown();
}

std::string Server::MisconfError(const Status& wal_error) {
  // Redis words it with strerror(errno) of the failed write.
  std::string cause = wal_error.sys_errno() != 0 ? std::strerror(wal_error.sys_errno())
                                                 : wal_error.message();
  return "MISCONF Errors writing to the AOF file: " + cause;
}

std::string Server::FlushMisconfError(const Status& flush_error) {
  std::string cause = flush_error.sys_errno() != 0 ? std::strerror(flush_error.sys_errno())
                                                   : flush_error.ToString();
  return "MISCONF Organic KV is unable to flush its full MemTables to disk (" + cause +
         "). Commands that may modify the data set are disabled until a flush succeeds. "
         "Please check the logs for details.";
}

void Server::HoldForWal(Connection* conn) {
  if (conn->held_for_wal() || conn->closing()) return;
  conn->set_held_for_wal(true);
  wal_held_.push_back(conn);
}

void Server::ReleaseWalHeld() {
  std::vector<Connection*> held;
  held.swap(wal_held_);
  for (Connection* conn : held) {
    conn->set_held_for_wal(false);
    QueueWrite(conn);
  }
}

void Server::OnCron(uv_timer_t* handle) { static_cast<Server*>(handle->data)->Cron(); }

void Server::Cron() {
  const ConfigValues& cfg = config_->values();
  // Active expiry: like Redis's slow cycle, at most 25% of each cron period (scaled by effort).
  int64_t period_us = 1000000 / std::max(1, cfg.hz);
  int64_t budget = period_us * (25 + 2 * (cfg.active_expire_effort - 1)) / 100;
  engine_->ActiveExpireCycle(budget);
  MaybeStartPeriodicFlush();
  engine_->MaybeStartCompaction();
  LogBackgroundReadError();
  MaybeEndWriteStall(false);
  int64_t now = UnixTimeMs();
  cached_now_ms_ = now;
  ClientsCron(now);  // idle timeout and soft output limits, once a second
  if (now - last_second_tick_ms_ >= 1000) {
    last_second_tick_ms_ = now;
    engine_->OnSecondTick();
  }
}

void Server::MaybeStartPeriodicFlush() {
  const ConfigValues& cfg = config_->values();
  if (cfg.save_points.empty() || engine_->flush_in_progress()) return;
  int64_t now_ms = UnixTimeMs();
  if (now_ms - last_flush_failure_ms_ < 5000) return;  // Redis's CONFIG_BGSAVE_RETRY_DELAY
  const engine::EngineStats& es = engine_->stats();
  int64_t elapsed = now_ms / 1000 - es.last_save_unix;
  for (const ConfigValues::SavePoint& p : cfg.save_points) {
    if (es.changes_since_save < static_cast<uint64_t>(p.changes) || elapsed < p.seconds) continue;
    Log(LogLevel::kNotice, "%lld changes in %lld seconds. Starting a metabolic flush...",
        static_cast<long long>(p.changes), static_cast<long long>(p.seconds));
    Status st;
    if (!engine_->StartFlush(&st)) {
      Log(LogLevel::kWarning, "Periodic flush failed to start: %s", st.ToString().c_str());
      last_flush_failure_ms_ = now_ms;
    }
    return;
  }
}

void Server::ReturnFreedMemTables() {
  // A flush or compaction install frees a whole frozen MemTable (up to half the budget) at
  // once; jemalloc would keep those pages dirty for seconds, which let RSS pass the maxmemory
  // bound in the 10x-dataset benchmark. Purge them right away (a few ms, once per install).
  const engine::EngineStats& es = engine_->stats();
  uint64_t installs = es.flushes + es.compactions;
  if (installs == last_installs_) return;
  last_installs_ = installs;
  PurgeFreedPages();
}

void Server::LogBackgroundReadError() {
  // Reads outside commands (expiry, compaction results) must not leave an error behind for
  // the next command.
  Status st = engine_->TakeReadError();
  if (!st.ok()) Log(LogLevel::kWarning, "Disk read failed: %s", st.ToString().c_str());
}

void Server::OnSignal(uv_signal_t* handle, int signum) {
  auto* self = static_cast<Server*>(handle->data);
  const char* name = signum == SIGINT ? "SIGINT" : "SIGTERM";
  Log(LogLevel::kWarning, "Received %s scheduling shutdown...", name);
  // As Redis: when the final flush fails, the server keeps running rather than exit with
  // its MemTables unflushed (the WAL still holds them; a second signal can be sent).
  if (!self->RequestShutdown(ShutdownSave::kDefault)) {
    Log(LogLevel::kWarning,
        "%s received but errors trying to shut down the server, check the logs for more "
        "information", name);
    return;
  }
  self->BeforeSleep();
}

bool Server::RequestShutdown(ShutdownSave mode) {
  Log(LogLevel::kWarning, "User requested shutdown...");
  bool flush = mode == ShutdownSave::kSave ||
               (mode == ShutdownSave::kDefault && !config_->values().save_points.empty());
  if (flush) {
    Log(LogLevel::kNotice, "Flushing the MemTables to tables before exiting.");
    Status st = engine_->Flush();
    if (!st.ok()) {
      Log(LogLevel::kWarning, "Error trying to flush before exiting: %s", st.ToString().c_str());
      return false;
    }
    Log(LogLevel::kNotice, "MemTables flushed to disk.");
  }
  shutdown_requested_ = true;
  return true;
}

void Server::Shutdown() {
  for (auto& l : listeners_) {
    uv_close(reinterpret_cast<uv_handle_t*>(l.release()),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
  }
  listeners_.clear();
  Status st = engine_->Close();
  if (!st.ok()) Log(LogLevel::kWarning, "Error syncing the WAL at shutdown: %s", st.ToString().c_str());
  else Log(LogLevel::kNotice, "WAL synced to disk.");
  std::vector<Connection*> all;
  for (auto& [id, conn] : clients_) all.push_back(conn);
  for (Connection* conn : all) conn->Close(false);
  uv_stop(loop_);
}

void Server::ForEachClient(const std::function<void(const commands::ClientInfo&)>& fn) {
  std::vector<Connection*> sorted;
  for (auto& [id, conn] : clients_) sorted.push_back(conn);
  std::sort(sorted.begin(), sorted.end(), [](Connection* a, Connection* b) {
    return a->session().id < b->session().id;
  });
  for (Connection* conn : sorted) {
    commands::ClientInfo info;
    info.session = &conn->session();
    info.query_buffer_bytes = conn->query_bytes();
    info.output_buffer_bytes = conn->output_bytes();
    info.total_memory = conn->memory_usage();
    info.is_current = conn == current_client_;
    fn(info);
  }
}

int Server::KillClients(const commands::ClientKillFilter& filter, const commands::Session* me) {
  std::vector<Connection*> victims;
  for (auto& [id, conn] : clients_) {
    const commands::Session& s = conn->session();
    if (filter.by_id && s.id != filter.id) continue;
    if (filter.by_addr && s.addr != filter.addr) continue;
    if (filter.by_laddr && s.laddr != filter.laddr) continue;
    if (filter.by_user && filter.user != "default") continue;
    if (filter.skip_me && me != nullptr && s.id == me->id) continue;
    victims.push_back(conn);
  }
  for (Connection* conn : victims) {
    if (me != nullptr && conn->session().id == me->id) {
      // Killing oneself: the reply still goes out, then the connection closes (as Redis).
      conn->session().close_after_reply = true;
    } else {
      conn->Close(false);
    }
  }
  return static_cast<int>(victims.size());
}

void Server::ResetStats() {
  stats_ = ServerStats();
  stats_.commands.resize(table_.id_count());
  engine_->ResetStats();
}

void Server::OnConfigChanged(const std::string& name) {
  const ConfigValues& cfg = config_->values();
  if (name == "loglevel" || name == "logfile") {
    ApplyLogConfig();
  } else if (name == "appendfsync") {
    engine::FsyncPolicy p;
    if (engine::ParseFsyncPolicy(cfg.appendfsync, &p)) engine_->set_fsync_policy(p);
  } else if (name == "maxmemory" || name == "organic-memtable-budget" ||
             name == "maxmemory-policy" || name == "organic-block-cache-size") {
    ApplyMemoryPolicy();
  } else if (name == "organic-ewma-alpha") {
    engine_->set_ewma_alpha(cfg.organic_ewma_alpha);
  } else if (name == "hz") {
    uint64_t period = static_cast<uint64_t>(std::max(1, 1000 / cfg.hz));
    uv_timer_start(&cron_, OnCron, period, period);
  } else if (name == "proto-max-bulk-len") {
    for (auto& [id, conn] : clients_) {
      protocol::ParserLimits limits;
      limits.max_bulk_len = cfg.proto_max_bulk_len;
      conn->parser().set_limits(limits);
    }
  }
}

void Server::ApplyMemoryPolicy() {
  const ConfigValues& cfg = config_->values();
  ParseMaxmemoryPolicy(cfg.maxmemory_policy, &eviction_policy_);
  // Under a Redis policy the engine stops tiering by size at once (budget 0); back under
  // organic, the next loop iteration flushes if the MemTables exceed the budget.
  engine_->set_memtable_budget(cfg.EffectiveMemtableBudget());
  engine_->set_memory_unlimited(cfg.maxmemory == 0);
  engine_->set_block_cache_capacity(cfg.EffectiveBlockCacheSize());  // a cut evicts at once
}

EvictionResult Server::EvictIfNeeded() {
  const ConfigValues& cfg = config_->values();
  EvictionSettings settings;
  settings.policy = eviction_policy_;
  settings.maxmemory = cfg.maxmemory;
  settings.samples = cfg.maxmemory_samples;
  settings.lfu_decay_time = cfg.lfu_decay_time;
  EvictionResult result = evictor_.Perform(
      engine_.get(), settings, [this](bool fresh) { return UsedMemory(fresh); },
      &stats_.evicted_keys);
  // A table read failed while evicting (a lookup below the MemTables): log it here rather
  // than charge it to the command about to run.
  LogBackgroundReadError();
  return result;
}

uint64_t Server::UsedMemory(bool fresh) {
  uint64_t tables = engine_->memtable_bytes();
#ifdef ORGANIC_WITH_JEMALLOC
  int64_t now = MonotonicUs();
  if (now - memory_reading_us_ > (fresh ? 1000 : 100 * 1000)) {
    uint64_t epoch = 1;
    size_t sz = sizeof(epoch);
    mallctl("epoch", &epoch, &sz, &epoch, sz);  // refreshes the statistics
    size_t allocated = 0;
    sz = sizeof(allocated);
    if (mallctl("stats.allocated", &allocated, &sz, nullptr, 0) == 0) {
      memory_reading_ = allocated;
      memory_reading_tables_ = tables;
      memory_reading_us_ = now;
    }
  }
  int64_t estimate = static_cast<int64_t>(memory_reading_) + static_cast<int64_t>(tables) -
                     static_cast<int64_t>(memory_reading_tables_);
  return estimate > 0 ? static_cast<uint64_t>(estimate) : 0;
#else
  (void)fresh;
  return tables;
#endif
}

void Server::Sleep(double seconds) {
  std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6)));
}

}  // namespace organic
