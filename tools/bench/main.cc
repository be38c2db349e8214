// organic-bench: a RESP load generator and latency meter for organic-server and redis-server.
//
// Usage: organic-bench [options]          (organic-bench --help lists every flag)
//
// Modes:
//   run (default)  A GET:SET mix over a key distribution (uniform, zipf, hotspot) for --duration
//                  seconds, or for exactly --requests operations.
//   --load         SETs every key 0..keys-1 exactly once, in order, then reports.
//   --verify       GETs every key once and checks it holds the value --load wrote; exit 1 if any
//                  key is missing or wrong. Together: "load 10x maxmemory, nothing lost".
//   --dump-distribution N
//                  Draws N keys from the configured distribution without a server and prints how
//                  concentrated they are, next to what the distribution should give.
//
// Values are a pure function of the key index (ValueFor), and run mode SETs the same bytes, so
// --verify holds after any mix of --load and runs.
//
// How it measures:
//  * Each worker thread owns a share of the connections and drives them with poll(). A connection
//    sends a batch of --pipeline commands and sends the next batch as soon as the last reply of
//    the previous one arrives (a closed loop per connection). hiredis encodes and parses RESP; we
//    use only its buffer functions, on a non-blocking socket.
//  * Latency of a reply = its arrival - the moment its batch was sent; with --pipeline 1 this is
//    the request latency.
//  * Latencies go into a log-linear histogram per thread (LatencyHistogram), merged for reports.
//  * INFO is read on a separate connection before and after the run, for server-side ratios.
//
// Exit status: 0 ok, 1 connection failure or (load/verify) any lost, wrong or failed key,
// 2 bad flags.
//
// Files (tools/bench/):
//   main.cc            this overview, main() and --dump-distribution
//   options.h/.cc      Options and flag parsing (--help)
//   workload.h/.cc     random numbers, key distributions and scrambling, keys and values
//   histogram.h        LatencyHistogram
//   server_info.h/.cc  connecting with hiredis, INFO snapshots
//   run.h/.cc          worker threads and RunBenchmark (run, --load, --verify)
//   report.h/.cc       the final report, text or --json
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "options.h"
#include "report.h"
#include "run.h"
#include "workload.h"

namespace organic::bench {
namespace {

// --dump-distribution: draws samples without a server and checks them against the exact shape
// of the distribution: the share of draws landing on the top k ranks (zipf: zeta(k) / zeta(n))
// or hot positions. Counting by rank, before scrambling, avoids the upward bias of ranking keys
// by their own sample counts. It also checks that scrambling is a bijection of the keyspace.
int DumpDistribution(const Options& opt) {
  const Clock::time_point t0 = Clock::now();
  const KeyChooser chooser(opt);
  const double setup_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  std::vector<uint32_t> by_position(opt.keys, 0);
  Rng rng(opt.seed);
  for (uint64_t i = 0; i < opt.dump_samples; i++) by_position[chooser.NextPosition(rng, 0)]++;

  // Cost of a full draw (position + scramble), without the counting's cache misses.
  const uint64_t timed_draws = std::min<uint64_t>(opt.dump_samples, 2000000);
  uint64_t sink = 0;
  const Clock::time_point t1 = Clock::now();
  for (uint64_t i = 0; i < timed_draws; i++) sink += chooser.Next(rng, 0);
  const double draw_ns =
      std::chrono::duration<double, std::nano>(Clock::now() - t1).count() / timed_draws;

  std::printf("distribution %s, %" PRIu64 " keys, %" PRIu64 " samples, scramble %s\n",
              DistributionName(opt.distribution), opt.keys, opt.dump_samples,
              opt.scramble ? "on" : "off");
  std::printf("setup %.2f ms, %.1f ns per draw (checksum %" PRIu64 ")\n", setup_ms, draw_ns,
              sink % 10);
  std::printf("keys of ranks 0..4:");
  for (uint64_t r = 0; r < std::min<uint64_t>(5, opt.keys); r++) {
    std::printf(" %" PRIu64, chooser.Scramble(r));
  }
  std::printf("\n");

  const double samples = static_cast<double>(opt.dump_samples);
  const double n = static_cast<double>(opt.keys);
  const double h = static_cast<double>(chooser.hot_keys());
  const ZipfGenerator* zipf = chooser.zipf();
  std::printf("%-22s %10s %10s\n", "draws on ranks", "observed", "expected");
  uint64_t prefix_sum = 0;
  uint64_t summed = 0;
  for (double fraction : {0.0, 0.001, 0.01, 0.1, 0.5, 1.0}) {
    const uint64_t k =
        fraction == 0 ? 1 : std::max<uint64_t>(1, static_cast<uint64_t>(fraction * n));
    for (; summed < k; summed++) prefix_sum += by_position[summed];
    char label[64];
    if (fraction == 0) {
      std::snprintf(label, sizeof label, "top 1");
    } else {
      std::snprintf(label, sizeof label, "top %g%% (%" PRIu64 ")", fraction * 100, k);
    }
    const double kd = static_cast<double>(k);
    double expected;
    if (zipf != nullptr) {
      expected = Zeta(k, opt.zipf_theta) / zipf->zeta_n();
    } else if (opt.distribution == Distribution::kHotspot) {
      // Epoch 0: positions 0..h-1 share hotspot_share, the rest share what is left.
      expected = h >= n ? kd / n
                        : std::min(kd, h) / h * opt.hotspot_share +
                              std::max(0.0, kd - h) / (n - h) * (1 - opt.hotspot_share);
    } else {
      expected = kd / n;
    }
    std::printf("%-22s %10.4f %10.4f\n", label, static_cast<double>(prefix_sum) / samples,
                expected);
  }
  if (zipf != nullptr && opt.keys <= 20000000) {
    double exact = 0;
    for (uint64_t i = 1; i <= opt.keys; i++) {
      exact += std::pow(static_cast<double>(i), -opt.zipf_theta);
    }
    std::printf("zeta(%" PRIu64
                ", %.4f): Euler-Maclaurin %.12g, direct sum %.12g, "
                "rel. diff %.1e\n",
                opt.keys, opt.zipf_theta, zipf->zeta_n(), exact,
                std::fabs(zipf->zeta_n() - exact) / exact);
  }
  if (opt.scramble && opt.distribution != Distribution::kUniform) {
    std::vector<bool> seen(opt.keys, false);
    uint64_t collisions = 0;
    for (uint64_t p = 0; p < opt.keys; p++) {
      const uint64_t key = chooser.Scramble(p);
      if (key >= opt.keys || seen[key]) collisions++;
      if (key < opt.keys) seen[key] = true;
    }
    std::printf("scramble: %" PRIu64 " of %" PRIu64
                " positions collide or fall outside (0 = "
                "bijection)\n",
                collisions, opt.keys);
    if (collisions != 0) return 1;
  }
  return 0;
}

}  // namespace
}  // namespace organic::bench

int main(int argc, char** argv) {
  using namespace organic::bench;
  Options opt;
  if (int status = ParseFlags(argc, argv, &opt); status != 0) return status < 0 ? 0 : status;
  if (opt.dump_samples > 0) return DumpDistribution(opt);
  return RunBenchmark(opt);
}
