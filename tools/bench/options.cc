// organic-bench's flag parsing: the --help text and ParseFlags, which fills an Options from
// argv and rejects any invalid flag with a message on stderr.
#include "options.h"

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <system_error>

namespace organic::bench {
namespace {

constexpr char kUsage[] = R"(Usage: organic-bench [options]
Connection:
  --host HOST               server address (default 127.0.0.1)
  --port PORT               server port (default 6379)
  --connections N           client connections (default 50)
  --threads N               client threads; connections are spread over them (default 2)
  --pipeline P              commands sent per batch on each connection (default 1)
Workload (run mode):
  --duration SECONDS        how long to run (default 10)
  --requests N              run exactly N operations instead of a duration
  --ratio GET:SET           operation mix (default 1:0; e.g. 9:1)
  --distribution D          uniform | zipf | hotspot (default uniform)
  --zipf-theta T            zipf skew, 0 <= T < 1 (default 0.99)
  --hotspot-fraction F      fraction of the keys that is hot (default 0.01)
  --hotspot-share S         fraction of operations going to the hot keys (default 0.9)
  --hotspot-shift-seconds S the hot keys change every S seconds; 0 = never (default 10)
  --no-scramble             zipf/hotspot: hot keys are adjacent in key order instead of spread
  --seed N                  random seed (default 1)
Keys and values:
  --keys N                  number of keys (default 1000000)
  --key-prefix STR          key = prefix + zero-padded index, >= 12 digits (default "key:")
  --value-size BYTES        value length (default 100); values derive from the key index
  --values KIND             letters: printable, 6 bits of entropy per byte (default);
                            random: every byte random, incompressible (the honest case for
                            disk-space figures: zstd can save nothing)
Modes:
  --load                    SET every key once, in order, then report
  --verify                  GET every key once, check the --load value; exit 1 on any loss
                            (both ignore --duration, --requests, --ratio, --distribution)
  --dump-distribution N     no server: draw N keys, compare their spread with the exact one
Output:
  --json                    print the final report as one JSON object
  --quiet                   no progress line on stderr
  --help                    this text
)";

}  // namespace

// ---------------------------------------------------------------------------------------------
// Flag parsing

bool ParseUint(std::string_view text, uint64_t min, uint64_t max, uint64_t* out) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return false;
  }
  *out = value;
  return true;
}

bool ParseDouble(std::string_view text, double min, double max, double* out) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !(value >= min && value <= max)) {
    return false;
  }
  *out = value;
  return true;
}

// Fills *opt from argv. Returns 0 to go on, -1 after --help (exit 0), or 2 after an invalid
// flag, whose reason it prints on stderr.
int ParseFlags(int argc, char** argv, Options* opt) {
  for (int i = 1; i < argc; i++) {
    std::string_view flag = argv[i];
    std::string_view value;
    bool has_inline_value = false;
    if (size_t eq = flag.find('='); flag.starts_with("--") && eq != std::string_view::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_inline_value = true;
    }
    // Fetches the flag's value: "--flag=value" or the next argument.
    auto next = [&]() -> bool {
      if (has_inline_value) return true;
      if (i + 1 >= argc) return false;
      value = argv[++i];
      return true;
    };
    auto bad = [&](const char* expected) {
      std::fprintf(stderr, "organic-bench: %.*s needs %s\n", static_cast<int>(flag.size()),
                   flag.data(), expected);
      return 2;
    };
    uint64_t n = 0;
    const bool is_switch = flag == "--help" || flag == "-h" || flag == "--load" ||
                           flag == "--verify" || flag == "--json" || flag == "--quiet" ||
                           flag == "--no-scramble";
    if (is_switch && has_inline_value) return bad("no value");
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      return -1;
    } else if (flag == "--load") {
      opt->mode = Mode::kLoad;
    } else if (flag == "--verify") {
      opt->mode = Mode::kVerify;
    } else if (flag == "--json") {
      opt->json = true;
    } else if (flag == "--quiet") {
      opt->quiet = true;
    } else if (flag == "--no-scramble") {
      opt->scramble = false;
    } else if (flag == "--host") {
      if (!next() || value.empty()) return bad("a host name");
      opt->host = value;
    } else if (flag == "--port") {
      if (!next() || !ParseUint(value, 1, 65535, &n)) return bad("a port 1..65535");
      opt->port = static_cast<int>(n);
    } else if (flag == "--connections") {
      if (!next() || !ParseUint(value, 1, 10000, &n)) return bad("a count 1..10000");
      opt->connections = static_cast<int>(n);
    } else if (flag == "--threads") {
      if (!next() || !ParseUint(value, 1, 256, &n)) return bad("a count 1..256");
      opt->threads = static_cast<int>(n);
    } else if (flag == "--pipeline") {
      if (!next() || !ParseUint(value, 1, 100000, &n)) return bad("a count 1..100000");
      opt->pipeline = static_cast<int>(n);
    } else if (flag == "--duration") {
      if (!next() || !ParseDouble(value, 0.001, 1e7, &opt->duration_s)) return bad("seconds > 0");
    } else if (flag == "--requests") {
      if (!next() || !ParseUint(value, 1, UINT64_MAX, &opt->requests)) return bad("a count >= 1");
    } else if (flag == "--keys") {
      // The upper bound keeps key indices and Feistel domains far from 64-bit overflow.
      if (!next() || !ParseUint(value, 1, uint64_t{1} << 48, &opt->keys)) {
        return bad("a count 1..2^48");
      }
    } else if (flag == "--value-size") {
      if (!next() || !ParseUint(value, 0, 512u << 20, &opt->value_size)) {
        return bad("a size 0..512MiB");
      }
    } else if (flag == "--values") {
      if (!next()) return bad("letters or random");
      if (value == "letters") {
        opt->value_kind = ValueKind::kLetters;
      } else if (value == "random") {
        opt->value_kind = ValueKind::kRandom;
      } else {
        return bad("letters or random");
      }
    } else if (flag == "--key-prefix") {
      if (!next()) return bad("a string");
      opt->key_prefix = value;
    } else if (flag == "--ratio") {
      size_t colon = next() ? value.find(':') : std::string_view::npos;
      if (colon == std::string_view::npos ||
          !ParseUint(value.substr(0, colon), 0, 1000000, &opt->get_weight) ||
          !ParseUint(value.substr(colon + 1), 0, 1000000, &opt->set_weight) ||
          opt->get_weight + opt->set_weight == 0) {
        return bad("GET:SET weights such as 9:1");
      }
    } else if (flag == "--distribution") {
      if (!next()) return bad("uniform, zipf or hotspot");
      if (value == "uniform") {
        opt->distribution = Distribution::kUniform;
      } else if (value == "zipf") {
        opt->distribution = Distribution::kZipf;
      } else if (value == "hotspot") {
        opt->distribution = Distribution::kHotspot;
      } else {
        return bad("uniform, zipf or hotspot");
      }
    } else if (flag == "--zipf-theta") {
      // Gray et al.'s method needs theta < 1 (its exponent is 1 / (1 - theta)).
      if (!next() || !ParseDouble(value, 0, 0.9999, &opt->zipf_theta)) {
        return bad("a skew 0 <= theta < 1");
      }
    } else if (flag == "--hotspot-fraction") {
      if (!next() || !ParseDouble(value, 1e-12, 1, &opt->hotspot_fraction)) {
        return bad("a fraction 0 < F <= 1");
      }
    } else if (flag == "--hotspot-share") {
      if (!next() || !ParseDouble(value, 0, 1, &opt->hotspot_share)) {
        return bad("a fraction 0 <= S <= 1");
      }
    } else if (flag == "--hotspot-shift-seconds") {
      if (!next() || !ParseDouble(value, 0, 1e9, &opt->hotspot_shift_s)) return bad("seconds >= 0");
    } else if (flag == "--seed") {
      if (!next() || !ParseUint(value, 0, UINT64_MAX, &opt->seed)) return bad("a number");
    } else if (flag == "--dump-distribution") {
      if (!next() || !ParseUint(value, 1, UINT64_MAX, &opt->dump_samples)) {
        return bad("a sample count >= 1");
      }
    } else {
      std::fprintf(stderr, "organic-bench: unknown flag '%s' (see --help)\n", argv[i]);
      return 2;
    }
  }
  if (opt->dump_samples > 0 && opt->keys > (uint64_t{1} << 31)) {
    std::fprintf(stderr, "organic-bench: --dump-distribution counts per key; use --keys <= 2^31\n");
    return 2;
  }
  return 0;
}

}  // namespace organic::bench
