// organic-bench's run, --load and --verify modes: RunBenchmark (run.cc).
#pragma once

#include "options.h"

namespace organic::bench {

// Connects, drives the connections from --threads worker threads until the run is over, prints
// the report. Returns the exit status: 0 ok, 1 connection failure or (load/verify) any lost,
// wrong or failed key.
int RunBenchmark(const Options& opt);

}  // namespace organic::bench
