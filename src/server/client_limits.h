// Client limits that are not per connection: the open files limit that maxclients needs. The
// per-client and all-clients memory limits (client-output-buffer-limit, maxmemory-clients,
// the read pause) are Server methods defined in client_limits.cc.
#pragma once

#include <string>

namespace organic {

// File descriptors kept for everything that is not a client (listeners, WAL, tables,
// the log), as Redis's CONFIG_MIN_RESERVED_FDS.
constexpr int kReservedFds = 32;

// Raises RLIMIT_NOFILE to maxclients + kReservedFds when it is lower, as Redis does at start
// and on CONFIG SET maxclients, with Redis's log lines. Returns the maxclients the limit
// allows (maxclients itself, or less when the limit could not be raised enough); -1 when
// fewer than kReservedFds + 1 descriptors are possible (the server cannot start).
int AdjustOpenFilesLimit(int maxclients);

}  // namespace organic
