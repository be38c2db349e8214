// organic-bench's command line: the Options of one invocation, their enums and the flag
// parser (the --help text is in options.cc). Also the steady Clock every part of the benchmark
// measures time with.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace organic::bench {

using Clock = std::chrono::steady_clock;

enum class Mode { kRun, kLoad, kVerify };
enum class Distribution { kUniform, kZipf, kHotspot };
enum class ValueKind { kLetters, kRandom };

struct Options {
  std::string host = "127.0.0.1";
  int port = 6379;
  int connections = 50;
  int pipeline = 1;
  int threads = 2;
  double duration_s = 10;
  uint64_t requests = 0;  // 0: run for duration_s instead
  uint64_t keys = 1000000;
  uint64_t value_size = 100;
  ValueKind value_kind = ValueKind::kLetters;
  std::string key_prefix = "key:";
  uint64_t get_weight = 1;
  uint64_t set_weight = 0;
  Distribution distribution = Distribution::kUniform;
  double zipf_theta = 0.99;
  double hotspot_fraction = 0.01;
  double hotspot_share = 0.9;
  double hotspot_shift_s = 10;
  bool scramble = true;
  uint64_t seed = 1;
  Mode mode = Mode::kRun;
  bool json = false;
  bool quiet = false;
  uint64_t dump_samples = 0;  // > 0: --dump-distribution
};

// Strict parsers for flag values (and INFO fields): false unless all of `text` is a number
// within [min, max].
bool ParseUint(std::string_view text, uint64_t min, uint64_t max, uint64_t* out);
bool ParseDouble(std::string_view text, double min, double max, double* out);

// Fills *opt from argv. Returns 0 to go on, -1 after --help (exit 0), or 2 after an invalid
// flag, whose reason it prints on stderr.
int ParseFlags(int argc, char** argv, Options* opt);

}  // namespace organic::bench
