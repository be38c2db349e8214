// organic-bench's final report: the totals of a run (Report) and how they are printed, as
// text or as one JSON object (--json).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "histogram.h"
#include "options.h"

namespace organic::bench {

struct Report {
  Mode mode = Mode::kRun;
  double elapsed_s = 0;
  uint64_t ops = 0, gets = 0, sets = 0, hits = 0, misses = 0, errors = 0, missing = 0, wrong = 0;
  const LatencyHistogram* latency = nullptr;
  std::string first_error, first_bad;
  std::optional<double> keyspace_hit_ratio, memory_hit_ratio;
  std::optional<uint64_t> used_memory, evicted_keys;
};

const char* ModeName(Mode m);
const char* DistributionName(Distribution d);
double Ms(uint64_t micros);  // microseconds to milliseconds

void PrintJson(const Options& opt, const Report& r);
void PrintText(const Options& opt, const Report& r);

}  // namespace organic::bench
