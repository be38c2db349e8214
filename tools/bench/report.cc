// organic-bench's final report, printed as text or as JSON (see report.h).
#include "report.h"

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace organic::bench {

const char* ModeName(Mode m) {
  return m == Mode::kLoad ? "load" : m == Mode::kVerify ? "verify" : "run";
}
const char* DistributionName(Distribution d) {
  return d == Distribution::kZipf ? "zipf" : d == Distribution::kHotspot ? "hotspot" : "uniform";
}
double Ms(uint64_t micros) { return static_cast<double>(micros) / 1000; }

namespace {

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(ch));
      out += esc;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

template <typename T>
std::string JsonOptional(const std::optional<T>& v) {
  if (!v) return "null";
  if constexpr (std::is_floating_point_v<T>) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6f", *v);
    return buf;
  } else {
    return std::to_string(*v);
  }
}

}  // namespace

void PrintJson(const Options& opt, const Report& r) {
  const LatencyHistogram& h = *r.latency;
  std::printf(
      "{\"mode\":\"%s\",\"host\":%s,\"port\":%d,\"connections\":%d,\"threads\":%d,"
      "\"pipeline\":%d,\"keys\":%" PRIu64 ",\"value_size\":%" PRIu64 ",\"ratio\":\"%" PRIu64
      ":%" PRIu64
      "\",\"distribution\":\"%s\",\"zipf_theta\":%.4f,"
      "\"elapsed_s\":%.3f,\"total_ops\":%" PRIu64 ",\"ops_per_sec\":%.1f,\"gets\":%" PRIu64
      ",\"sets\":%" PRIu64 ",\"get_hits\":%" PRIu64 ",\"get_misses\":%" PRIu64
      ",\"errors\":%" PRIu64 ",\"first_error\":%s,",
      ModeName(r.mode), JsonString(opt.host).c_str(), opt.port, opt.connections, opt.threads,
      opt.pipeline, opt.keys, opt.value_size, opt.get_weight, opt.set_weight,
      DistributionName(opt.distribution), opt.zipf_theta, r.elapsed_s, r.ops,
      r.elapsed_s > 0 ? static_cast<double>(r.ops) / r.elapsed_s : 0.0, r.gets, r.sets, r.hits,
      r.misses, r.errors, r.first_error.empty() ? "null" : JsonString(r.first_error).c_str());
  if (r.mode == Mode::kVerify) {
    std::printf("\"missing\":%" PRIu64 ",\"wrong\":%" PRIu64 ",\"first_bad\":%s,", r.missing,
                r.wrong, r.first_bad.empty() ? "null" : JsonString(r.first_bad).c_str());
  }
  std::printf(
      "\"latency_ms\":{\"mean\":%.3f,\"p50\":%.3f,\"p99\":%.3f,\"p99_9\":%.3f,\"max\":%.3f},"
      "\"keyspace_hit_ratio\":%s,\"memory_hit_ratio\":%s,\"used_memory\":%s,"
      "\"evicted_keys\":%s}\n",
      h.mean() / 1000, Ms(h.Percentile(50)), Ms(h.Percentile(99)), Ms(h.Percentile(99.9)),
      Ms(h.max()), JsonOptional(r.keyspace_hit_ratio).c_str(),
      JsonOptional(r.memory_hit_ratio).c_str(), JsonOptional(r.used_memory).c_str(),
      JsonOptional(r.evicted_keys).c_str());
}

void PrintText(const Options& opt, const Report& r) {
  const LatencyHistogram& h = *r.latency;
  std::printf("organic-bench %s against %s:%d\n", ModeName(r.mode), opt.host.c_str(), opt.port);
  std::printf("  setup           %d connections, %d threads, pipeline %d, %" PRIu64
              " keys, %" PRIu64 "-byte values\n",
              opt.connections, opt.threads, opt.pipeline, opt.keys, opt.value_size);
  if (r.mode == Mode::kRun) {
    std::printf("  workload        GET:SET %" PRIu64 ":%" PRIu64 ", %s", opt.get_weight,
                opt.set_weight, DistributionName(opt.distribution));
    if (opt.distribution == Distribution::kZipf) std::printf(" theta %.3f", opt.zipf_theta);
    if (opt.distribution == Distribution::kHotspot) {
      std::printf(" %.4g of keys get %.4g of ops, shift every %.4g s", opt.hotspot_fraction,
                  opt.hotspot_share, opt.hotspot_shift_s);
    }
    std::printf("%s\n", opt.scramble || opt.distribution == Distribution::kUniform
                            ? ""
                            : " (not scrambled)");
  }
  std::printf("  elapsed         %.3f s\n", r.elapsed_s);
  std::printf("  total ops       %" PRIu64 "\n", r.ops);
  std::printf("  throughput      %.0f ops/s\n",
              r.elapsed_s > 0 ? static_cast<double>(r.ops) / r.elapsed_s : 0.0);
  std::printf("  GETs            %" PRIu64 " (hits %" PRIu64 ", misses %" PRIu64 ")\n", r.gets,
              r.hits, r.misses);
  std::printf("  SETs            %" PRIu64 "\n", r.sets);
  std::printf("  errors          %" PRIu64 "%s%s\n", r.errors, r.errors ? ", first: " : "",
              r.first_error.c_str());
  if (r.mode == Mode::kVerify) {
    std::printf("  verify          %" PRIu64 " missing, %" PRIu64 " wrong%s%s\n", r.missing,
                r.wrong, r.first_bad.empty() ? "" : "; first: ", r.first_bad.c_str());
  }
  std::printf("  latency ms      p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (mean %.3f)\n",
              Ms(h.Percentile(50)), Ms(h.Percentile(99)), Ms(h.Percentile(99.9)), Ms(h.max()),
              h.mean() / 1000);
  auto ratio = [](const std::optional<double>& v) {
    char buf[32] = "n/a";
    if (v) std::snprintf(buf, sizeof buf, "%.6f", *v);
    return std::string(buf);
  };
  auto number = [](const std::optional<uint64_t>& v) {
    return v ? std::to_string(*v) : std::string("n/a");
  };
  std::printf("  keyspace hits   %s (server keyspace_hits / (hits + misses), this run)\n",
              ratio(r.keyspace_hit_ratio).c_str());
  std::printf("  memory hits     %s (organic_memory_hits / (memory + disk hits), this run)\n",
              ratio(r.memory_hit_ratio).c_str());
  std::printf("  used_memory     %s\n", number(r.used_memory).c_str());
  std::printf("  evicted_keys    %s\n", number(r.evicted_keys).c_str());
}

}  // namespace organic::bench
