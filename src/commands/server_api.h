// ServerApi: what command handlers may ask of the server (configuration, the client registry,
// statistics, shutdown) without seeing connections or the event loop. The server implements
// it; unit tests implement a fake.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "commands/session.h"

namespace organic {
class Config;
}

namespace organic::commands {

class CommandTable;
class ScanCursorTable;

// One client as CLIENT LIST shows it.
struct ClientInfo {
  const Session* session;
  uint64_t query_buffer_bytes = 0;
  uint64_t query_buffer_free = 0;
  uint64_t output_buffer_bytes = 0;
  uint64_t output_list_len = 0;
  uint64_t total_memory = 0;
  bool is_current = false;
};

struct ClientKillFilter {
  bool by_id = false;
  uint64_t id = 0;
  bool by_addr = false;
  std::string addr;
  bool by_laddr = false;
  std::string laddr;
  bool skip_me = true;
  bool by_user = false;
  std::string user;
};

class ServerApi {
 public:
  virtual ~ServerApi() = default;
  virtual Config& config() = 0;
  virtual const CommandTable& commands() const = 0;
  // SCAN cursor ids -> resume positions (the keyspace is ordered, see scan_cursors.h).
  virtual ScanCursorTable& scan_cursors() = 0;
  virtual void ForEachClient(const std::function<void(const ClientInfo&)>& fn) = 0;
  // Closes matching clients (after their pending replies); returns how many matched.
  virtual int KillClients(const ClientKillFilter& filter, const Session* me) = 0;
  // INFO text for the given lowercase section names ("default", "all", "everything" ...).
  virtual std::string Info(const std::vector<std::string>& sections) = 0;
  virtual void ResetStats() = 0;
  // SHUTDOWN: stop accepting, sync the WAL, exit 0 after this loop iteration. First flushes
  // the MemTables to tables (as Redis saves a final snapshot) with kSave, or with kDefault when
  // save points are configured; returns false, and keeps running, when that flush fails.
  enum class ShutdownSave { kDefault, kSave, kNoSave };
  virtual bool RequestShutdown(ShutdownSave mode) = 0;
  // Applies config directives that need the server to act (port change, logging ...).
  virtual void OnConfigChanged(const std::string& name) = 0;
  virtual int64_t start_time_ms() const = 0;
  // Blocks the loop for DEBUG SLEEP (as Redis does: it is a debugging command).
  virtual void Sleep(double seconds) = 0;
};

}  // namespace organic::commands
