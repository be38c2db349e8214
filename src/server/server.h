// Server: owns the configuration, the event loop, the engine, the command table and the
// clients, and implements the ServerApi that commands may call. Everything here runs on the
// loop thread; there is no process-wide server object.
#pragma once

#include <uv.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "commands/command_table.h"
#include "commands/scan_cursors.h"
#include "commands/server_api.h"
#include "engine/engine.h"
#include "server/config.h"
#include "server/eviction.h"

namespace organic {

class Connection;

struct ServerStats {
  uint64_t total_connections_received = 0;
  uint64_t total_commands_processed = 0;
  uint64_t rejected_connections = 0;
  uint64_t total_net_input_bytes = 0;
  uint64_t total_net_output_bytes = 0;
  uint64_t total_error_replies = 0;
  uint64_t unexpected_error_replies = 0;
  uint64_t client_query_buffer_limit_disconnections = 0;
  uint64_t client_output_buffer_limit_disconnections = 0;
  std::map<std::string, uint64_t> error_counts;  // "ERR" -> count (errorstats)
  struct CommandStat {
    uint64_t calls = 0;
    uint64_t usec = 0;
    uint64_t failed_calls = 0;
    uint64_t rejected_calls = 0;
  };
  std::vector<CommandStat> commands;  // by CommandSpec::id (commandstats)
  uint64_t write_stalls = 0;       // stall episodes (INFO organic)
  uint64_t write_stall_us = 0;     // total time writes were held
  uint64_t write_stalls_cut = 0;   // episodes ended by the time bound, not by the flush
  uint64_t evicted_keys = 0;       // keys deleted by a Redis maxmemory policy (INFO stats)
  uint64_t evicted_clients = 0;    // clients disconnected by maxmemory-clients (INFO stats)
};

class Server : public commands::ServerApi {
 public:
  explicit Server(std::unique_ptr<Config> config);
  ~Server() override;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens the engine, binds, and runs the loop until shutdown. Returns the exit code.
  int Run();

  // Called by a Connection for each parsed command.
  void Execute(Connection* conn, std::span<const std::string> args);
  void QueueWrite(Connection* conn);
  void OnConnectionClosed(Connection* conn);
  // Write stall: true if args is a write command and the MemTables are over budget while a
  // flush runs; the connection then holds it (AddStalled) until MaybeEndWriteStall.
  bool ShouldStallWrite(std::span<const std::string> args);
  void AddStalled(Connection* conn);
  // A read buffer shared by every connection: the parser copies what it keeps, so one buffer
  // serves all reads on the single loop thread.
  char* read_buffer() { return read_buffer_.data(); }
  size_t read_buffer_size() const { return read_buffer_.size(); }
  ServerStats& stats() { return stats_; }
  uv_loop_t* loop() { return loop_; }
  // Wall-clock milliseconds, cached once per loop iteration (idle-time bookkeeping).
  int64_t NowMs() const { return cached_now_ms_; }
  engine::Engine* engine() { return engine_.get(); }

  // Client limits (server/client_limits.cc). The sum of every client's memory_usage(),
  // kept current by Connection::AccountMemory.
  uint64_t& clients_memory() { return clients_memory_; }
  // Output bytes at which a client stops being read: 4 MB, 1 MB while all clients together
  // use more than half of maxmemory-clients.
  size_t ClientPauseThreshold() const;
  // client-output-buffer-limit normal: closes conn (true) when over the hard limit, or over
  // the soft one for longer than its seconds.
  bool CheckOutputBufferLimits(Connection* conn);
  // Client eviction: while clients use more than maxmemory-clients, disconnects the biggest
  // (not CLIENT NO-EVICT ones). May close the connection whose command is running.
  void EnforceClientMemory();
  // Fairness: replies produced in this loop iteration. Past kIterationOutputBudget a client
  // stops running commands (Defer) and goes on in the next iteration, so hundreds of clients
  // asking for MB-sized replies cannot hold a PING for seconds.
  void ChargeOutput(size_t bytes) { iteration_output_ += bytes; }
  bool IterationBudgetSpent() const;
  void Defer(Connection* conn);

  // ServerApi
  Config& config() override { return *config_; }
  const commands::CommandTable& commands() const override { return table_; }
  commands::ScanCursorTable& scan_cursors() override { return scan_cursors_; }
  void ForEachClient(const std::function<void(const commands::ClientInfo&)>& fn) override;
  int KillClients(const commands::ClientKillFilter& filter,
                  const commands::Session* me) override;
  std::string Info(const std::vector<std::string>& sections) override;
  void ResetStats() override;
  bool RequestShutdown(ShutdownSave mode) override;
  void OnConfigChanged(const std::string& name) override;
  int64_t start_time_ms() const override { return start_time_ms_; }
  void Sleep(double seconds) override;

 private:
  bool Listen();
  static void OnConnection(uv_stream_t* server, int status);
  static void OnBeforeSleep(uv_check_t* handle);
  static void OnCron(uv_timer_t* handle);
  static void OnSignal(uv_signal_t* handle, int signum);
  void BeforeSleep();
  void Cron();
  void Shutdown();
  void LogBackgroundReadError();
  void ReturnFreedMemTables();
  // The periodic flush: starts a metabolic flush when a save point is reached (enough changes
  // and seconds since the last flush), as Redis's serverCron starts a BGSAVE.
  void MaybeStartPeriodicFlush();
  // "MISCONF Errors writing to the AOF file: <strerror>", Redis's refusal while the WAL fails.
  static std::string MisconfError(const Status& wal_error);
  // The refusal while the MemTables are full and their flush fails (WritesRefusedForMemory).
  static std::string FlushMisconfError(const Status& flush_error);
  // A connection whose replies include one of a WAL batch that failed: it sends nothing and
  // reads nothing until the WAL takes the batch again (ReleaseWalHeld).
  void HoldForWal(Connection* conn);
  void ReleaseWalHeld();
  // Resumes stalled connections once memory is back under budget or the stall is too long.
  void MaybeEndWriteStall(bool force);
  void ApplyLogConfig();
  // Once a second: idle clients past `timeout`, soft output limits of clients that send
  // nothing more (one pass over the clients).
  void ClientsCron(int64_t now_ms);
  // Starts a new iteration's output budget and resumes deferred clients (BeforeSleep).
  void ResumeDeferred();
  // Eviction under a Redis maxmemory policy (server/eviction.h), run before every command as
  // Redis's processCommand does; kFail means a deny-oom command must be refused.
  EvictionResult EvictIfNeeded();
  // Re-reads maxmemory-policy into eviction_policy_ and the MemTable budget it implies.
  void ApplyMemoryPolicy();
  // Used memory as INFO reports it (jemalloc's allocated bytes; the MemTables' bytes in builds
  // without jemalloc). Reading jemalloc's statistics costs microseconds, so between readings
  // the figure is estimated from the change of the MemTables' size; a reading older than
  // 100 ms (1 ms when fresh) is renewed.
  uint64_t UsedMemory(bool fresh);

  std::unique_ptr<Config> config_;
  uv_loop_t* loop_;
  std::vector<std::unique_ptr<uv_tcp_t>> listeners_;
  uv_check_t before_sleep_;
  uv_timer_t cron_;
  uv_async_t wake_;
  uv_signal_t sigterm_;
  uv_signal_t sigint_;
  std::unique_ptr<engine::Engine> engine_;
  commands::CommandTable table_;
  commands::ScanCursorTable scan_cursors_;
  std::unordered_map<uint64_t, Connection*> clients_;  // id -> live connection
  std::vector<Connection*> pending_writes_;
  std::vector<Connection*> stalled_;  // holding a write until a flush frees memory
  std::vector<Connection*> wal_held_;  // replies held until the WAL recovers (HoldForWal)
  int64_t stall_started_us_ = 0;
  uint64_t last_installs_ = 0;  // flushes + compactions seen by ReturnFreedMemTables
  Connection* current_client_ = nullptr;  // the client whose command is running
  std::string read_buffer_;
  uint64_t next_client_id_ = 1;
  int64_t start_time_ms_ = 0;
  int64_t cached_now_ms_ = 0;  // refreshed in BeforeSleep and Cron
  std::string run_id_;  // 40 random hex characters, new at every start (INFO run_id)
  int64_t last_second_tick_ms_ = 0;
  int64_t last_clients_cron_ms_ = 0;
  uint64_t clients_memory_ = 0;
  uint64_t iteration_output_ = 0;
  std::vector<Connection*> deferred_;  // out of budget: resume next iteration (ResumeDeferred)
  uv_idle_t deferred_idle_;  // active while deferred_ is not empty: the loop must not sleep
  // clients_memory_ when eviction last found nothing it may evict (all NO-EVICT): it is not
  // tried again until the sum grows past it, so the check stays O(1) per command.
  uint64_t eviction_stuck_at_ = 0;
  bool shutdown_requested_ = false;
  int64_t last_flush_failure_ms_ = 0;  // a periodic flush that failed to start is retried 5 s later
  ServerStats stats_;
  MaxmemoryPolicy eviction_policy_ = MaxmemoryPolicy::kOrganic;  // parsed maxmemory-policy
  Evictor evictor_;
  uint64_t memory_reading_ = 0;          // jemalloc's allocated bytes at the last reading
  uint64_t memory_reading_tables_ = 0;   // engine memtable_bytes() at that reading
  int64_t memory_reading_us_ = INT64_MIN / 2;  // MonotonicUs() of that reading
};

}  // namespace organic
