// Session: the per-connection state a command may read or change (selected database,
// protocol version, name, authentication). It is not the connection: it holds no socket.
#pragma once

#include <cstdint>
#include <string>

namespace organic::commands {

struct Session {
  uint64_t id = 0;
  int db = 0;
  int resp = 2;  // protocol version: 2 or 3
  bool authenticated = true;
  std::string name;      // CLIENT SETNAME / HELLO SETNAME
  std::string lib_name;  // CLIENT SETINFO LIB-NAME
  std::string lib_ver;   // CLIENT SETINFO LIB-VER
  std::string addr;      // "127.0.0.1:53211"
  std::string laddr;     // local address
  int fd = -1;
  int64_t created_ms = 0;
  int64_t last_interaction_ms = 0;
  // Lowercase name of the last command run, for CLIENT LIST cmd=. Points into the command
  // table (which outlives every session), so recording it costs no copy per command.
  const std::string* last_command = nullptr;
  bool close_after_reply = false;  // QUIT, or CLIENT KILL of oneself
  bool no_evict = false;           // CLIENT NO-EVICT on: exempt from maxmemory-clients eviction
  bool in_reset = false;
};

}  // namespace organic::commands
