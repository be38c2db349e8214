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
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace organic::bench {
namespace {

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

// ---------------------------------------------------------------------------------------------
// Random numbers

// SplitMix64 (Steele, Lea, Flood): one add and a few multiplies per draw, statistically sound
// for load generation, and its finalizer doubles as a 64-bit hash.
inline uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(Mix64(seed)) {}

  uint64_t Next() { return Mix64(state_ += 0x9e3779b97f4a7c15ULL); }

  // Uniform in [0, 1) with 53 random bits.
  double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // Uniform in [0, n) by multiply-shift (Lemire); the bias is at most n / 2^64, far below noise.
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }

 private:
  uint64_t state_;
};

// ---------------------------------------------------------------------------------------------
// Zipf (Gray, Sundaresan, Englert, Baclawski, Weinberger: "Quickly Generating Billion-Record
// Synthetic Databases", SIGMOD 1994)

// zeta(n, theta) = sum_{i=1..n} 1 / i^theta.
//
// The first kExactTerms terms are summed directly; the tail i = m..n uses the Euler-Maclaurin
// formula for f(x) = x^-theta:
//   sum_{i=m..n} f(i) = integral_m^n f + (f(m) + f(n)) / 2 + (f'(n) - f'(m)) / 12
//                       - (f'''(n) - f'''(m)) / 720 + R,
// where |R| is below |f^(5)(m)| / 30240 ~ 4e-18 at m = 1024. So zeta(10^8) costs ~1000 pow() calls
// instead of 10^8 (~2 s) and matches the direct sum to double rounding (--dump-distribution
// prints the comparison for N <= 2*10^7).
double Zeta(uint64_t n, double theta) {
  constexpr uint64_t kExactTerms = 1024;
  double sum = 0;
  const uint64_t exact = std::min(n, kExactTerms - 1);
  for (uint64_t i = 1; i <= exact; i++) sum += std::pow(static_cast<double>(i), -theta);
  if (n < kExactTerms) return sum;
  const double m = kExactTerms;
  const double x = static_cast<double>(n);
  auto f = [&](double v) { return std::pow(v, -theta); };
  auto f1 = [&](double v) { return -theta * std::pow(v, -theta - 1); };
  auto f3 = [&](double v) { return -theta * (theta + 1) * (theta + 2) * std::pow(v, -theta - 3); };
  const double integral = (std::pow(x, 1 - theta) - std::pow(m, 1 - theta)) / (1 - theta);
  return sum + integral + (f(m) + f(x)) / 2 + (f1(x) - f1(m)) / 12 - (f3(x) - f3(m)) / 720;
}

// Draws ranks 0..n-1 with P(rank r) ~ 1 / (r+1)^theta. Ranks 0 and 1 are exact; higher ranks
// come from inverting the continuous approximation of the CDF, which is what makes one draw
// O(1): one pow() call, no table. The approximation slightly favours the low ranks after the
// first two: at n = 10^6, theta = 0.99 the top 0.1% of ranks draw 51.0% instead of the exact
// 50.2%, the top 1% 67.0% instead of 66.4% (--dump-distribution shows both).
class ZipfGenerator {
 public:
  // REQUIRES: n >= 1, 0 <= theta < 1.
  ZipfGenerator(uint64_t n, double theta)
      : n_(n),
        theta_(theta),
        zeta_n_(Zeta(n, theta)),
        alpha_(1 / (1 - theta)),
        two_threshold_(1 + std::pow(0.5, theta)) {
    // With n <= 2 the first two branches of Next() cover every draw and eta is unused.
    const double zeta2 = Zeta(2, theta);
    eta_ =
        n > 2 ? (1 - std::pow(2.0 / static_cast<double>(n), 1 - theta)) / (1 - zeta2 / zeta_n_) : 0;
  }

  uint64_t Next(Rng& rng) const {
    const double u = rng.NextDouble();
    const double uz = u * zeta_n_;
    if (uz < 1) return 0;
    if (uz < two_threshold_) return 1;
    const double rank = static_cast<double>(n_) * std::pow(eta_ * u - eta_ + 1, alpha_);
    return std::min(static_cast<uint64_t>(rank), n_ - 1);  // u -> 1 can round up to n
  }

  double zeta_n() const { return zeta_n_; }
  double theta() const { return theta_; }

 private:
  uint64_t n_;
  double theta_;
  double zeta_n_;
  double alpha_;
  double two_threshold_;
  double eta_;
};

// A fixed pseudo-random bijection of [0, n): a 4-round Feistel network on the smallest even
// number of bits covering n, with cycle walking (re-encrypt until the result falls below n;
// at most 4x domain, so < 4 rounds expected). Unlike "hash(rank) mod n" it has no collisions,
// so scrambling moves hot ranks around without changing the distribution's shape.
class Permutation {
 public:
  Permutation(uint64_t n, uint64_t seed) : n_(n) {
    const int bits = n > 1 ? 64 - std::countl_zero(n - 1) : 1;
    half_bits_ = (bits + 1) / 2;
    mask_ = (uint64_t{1} << half_bits_) - 1;
    for (size_t r = 0; r < round_keys_.size(); r++) round_keys_[r] = Mix64(seed + r + 1);
  }

  uint64_t Apply(uint64_t x) const {
    do {
      x = Encrypt(x);
    } while (x >= n_);
    return x;
  }

 private:
  uint64_t Encrypt(uint64_t x) const {
    uint64_t left = x >> half_bits_;
    uint64_t right = x & mask_;
    for (uint64_t key : round_keys_) {
      const uint64_t next_right = left ^ (Mix64(right ^ key) & mask_);
      left = right;
      right = next_right;
    }
    return (left << half_bits_) | right;
  }

  uint64_t n_;
  int half_bits_;
  uint64_t mask_;
  std::array<uint64_t, 4> round_keys_;
};

// Picks key indices for run mode. Immutable after construction: shared by all threads, each
// passing its own Rng.
class KeyChooser {
 public:
  explicit KeyChooser(const Options& opt)
      : opt_(opt),
        // A fixed seed, not --seed: the same --keys give the same hot keys in every run, so a
        // warm-up run and the measured run agree on what is hot.
        permutation_(opt.keys, 0x6f7267616e6963ULL) {
    if (opt.distribution == Distribution::kZipf) {
      zipf_.emplace(opt.keys, opt.zipf_theta);
    }
    hot_keys_ = std::clamp<uint64_t>(
        static_cast<uint64_t>(std::llround(opt.hotspot_fraction * static_cast<double>(opt.keys))),
        1, opt.keys);
  }

  // `hot_epoch` counts hotspot shifts since the start of the run.
  uint64_t Next(Rng& rng, uint64_t hot_epoch) const {
    return Scramble(NextPosition(rng, hot_epoch));
  }

  // The unscrambled draw: for zipf the rank (0 = hottest), for hotspot the position in a
  // keyspace whose hot window starts at 0 in epoch 0.
  uint64_t NextPosition(Rng& rng, uint64_t hot_epoch) const {
    switch (opt_.distribution) {
      case Distribution::kUniform:
        return rng.Below(opt_.keys);
      case Distribution::kZipf:
        return zipf_->Next(rng);
      case Distribution::kHotspot:
        return NextHotspot(rng, hot_epoch);
    }
    return 0;
  }

  // Maps a position to its key index. Uniform draws need no scrambling, so they skip it.
  uint64_t Scramble(uint64_t position) const {
    return opt_.scramble && opt_.distribution != Distribution::kUniform
               ? permutation_.Apply(position)
               : position;
  }

  const ZipfGenerator* zipf() const { return zipf_ ? &*zipf_ : nullptr; }
  uint64_t hot_keys() const { return hot_keys_; }

 private:
  // The hot window is hot_keys_ consecutive positions starting at frac(epoch * phi) * keys:
  // golden-ratio steps put consecutive windows ~0.38 of the keyspace apart, so a shift really
  // moves to other keys (for hot fractions < 0.38) instead of overlapping the previous window.
  uint64_t NextHotspot(Rng& rng, uint64_t hot_epoch) const {
    const uint64_t n = opt_.keys;
    const double phase = std::fmod(static_cast<double>(hot_epoch) * 0.6180339887498949, 1.0);
    const uint64_t start = std::min(static_cast<uint64_t>(phase * static_cast<double>(n)), n - 1);
    uint64_t offset;
    if (hot_keys_ == n || rng.NextDouble() < opt_.hotspot_share) {
      offset = rng.Below(hot_keys_);
    } else {
      offset = hot_keys_ + rng.Below(n - hot_keys_);  // a cold key: outside the window
    }
    const uint64_t position = start + offset;
    return position >= n ? position - n : position;
  }

  const Options& opt_;
  Permutation permutation_;
  std::optional<ZipfGenerator> zipf_;
  uint64_t hot_keys_;
};

// ---------------------------------------------------------------------------------------------
// Keys and values

// Formats prefix + index zero-padded to a fixed width, so every key has the same size.
// Not thread-safe: each thread owns one (it reuses one buffer).
class KeyFormatter {
 public:
  KeyFormatter(const std::string& prefix, uint64_t keys) : prefix_size_(prefix.size()) {
    const size_t digits = std::to_string(keys - 1).size();
    buffer_ = prefix + std::string(std::max<size_t>(12, digits), '0');
  }

  // The returned view is valid until the next call.
  std::string_view Format(uint64_t index) {
    for (size_t pos = buffer_.size(); pos > prefix_size_; index /= 10) {
      buffer_[--pos] = static_cast<char>('0' + index % 10);
    }
    return buffer_;
  }

 private:
  size_t prefix_size_;
  std::string buffer_;
};

// The value for key `index`: "<index>:" and then filler from a PRNG seeded with the index, cut
// to `size` bytes. Every key's value differs, so --verify also catches a value served for the
// wrong key, and the decimal head names the key it came from. The filler is random letters of a
// 64-letter alphabet: printable, 6 bits of entropy per byte, so compression can save at most
// about a quarter of it (a benchmark should not flatter a compressing engine). ValueKind::kRandom
// fills with whole random bytes instead: nothing to compress at all.
void ValueFor(uint64_t index, size_t size, ValueKind kind, std::string* out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  out->assign(std::to_string(index));
  out->push_back(':');
  size_t pos = std::min(out->size(), size);
  out->resize(size);
  Rng rng(index);
  while (pos < size) {
    uint64_t bits = rng.Next();
    if (kind == ValueKind::kRandom) {
      for (int k = 0; k < 8 && pos < size; k++, bits >>= 8) {
        (*out)[pos++] = static_cast<char>(bits & 0xff);
      }
    } else {
      for (int k = 0; k < 10 && pos < size; k++, bits >>= 6) (*out)[pos++] = kAlphabet[bits & 63];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Latency histogram

// Log-linear histogram of microsecond values (the HdrHistogram layout): values below 256 have a
// bucket each; above, every power-of-two range [2^k, 2^(k+1)) is cut into 128 equal buckets, so
// a bucket's width is at most 1/128 of its values: reported percentiles are within 0.8%.
// Tracks 1 us .. 2^40 us (12 days); larger values are clamped.
//
// Threading: one writer thread calls Record(); any thread may read (Merge, Percentile) at the
// same time. Counters are relaxed atomics: a concurrent reader sees a slightly stale but
// race-free snapshot, which is all the once-a-second progress line needs. Reads after the
// writer has been joined are exact.
class LatencyHistogram {
 public:
  static constexpr int kLinearBits = 8;
  static constexpr uint64_t kLinear = uint64_t{1} << kLinearBits;  // 256 exact buckets
  static constexpr uint64_t kHalf = kLinear / 2;                   // 128 buckets per octave
  static constexpr int kMaxBits = 40;
  static constexpr uint64_t kMaxValue = (uint64_t{1} << kMaxBits) - 1;
  static constexpr size_t kBuckets = kLinear + (kMaxBits - kLinearBits) * kHalf;

  // REQUIRES: called by this histogram's single writer thread.
  void Record(uint64_t micros) {
    micros = std::min(micros, kMaxValue);
    Bump(counts_[BucketOf(micros)], 1);
    Bump(count_, 1);
    Bump(sum_, micros);
    if (micros > max_.load(std::memory_order_relaxed)) {
      max_.store(micros, std::memory_order_relaxed);
    }
  }

  // Adds other's counts to this one. REQUIRES: no other thread writes *this.
  void Merge(const LatencyHistogram& other) {
    for (size_t b = 0; b < kBuckets; b++) Bump(counts_[b], Load(other.counts_[b]));
    Bump(count_, Load(other.count_));
    Bump(sum_, Load(other.sum_));
    if (Load(other.max_) > Load(max_)) max_.store(Load(other.max_), std::memory_order_relaxed);
  }

  uint64_t count() const { return Load(count_); }
  uint64_t max() const { return Load(max_); }
  double mean() const { return count() ? static_cast<double>(Load(sum_)) / count() : 0; }

  // The value below which `percent` % of the recorded values fall: the highest value of the
  // bucket holding that rank (as HdrHistogram reports), capped by the exact maximum.
  uint64_t Percentile(double percent) const {
    const uint64_t total = count();
    if (total == 0) return 0;
    const uint64_t rank = std::max<uint64_t>(
        1, static_cast<uint64_t>(std::ceil(percent / 100 * static_cast<double>(total))));
    uint64_t seen = 0;
    for (size_t b = 0; b < kBuckets; b++) {
      seen += Load(counts_[b]);
      if (seen >= rank) return std::min(HighestInBucket(b), max());
    }
    return max();
  }

 private:
  static uint64_t Load(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }
  // Single writer, so load + store instead of a (much slower) atomic read-modify-write.
  static void Bump(std::atomic<uint64_t>& a, uint64_t by) {
    a.store(a.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }

  static size_t BucketOf(uint64_t v) {
    if (v < kLinear) return v;
    const int shift = (63 - std::countl_zero(v)) - (kLinearBits - 1);  // >= 1
    return kLinear + (shift - 1) * kHalf + ((v >> shift) - kHalf);
  }

  static uint64_t HighestInBucket(size_t b) {
    if (b < kLinear) return b;
    const int shift = static_cast<int>((b - kLinear) / kHalf) + 1;
    const uint64_t mantissa = (b - kLinear) % kHalf + kHalf;
    return ((mantissa + 1) << shift) - 1;
  }

  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_{0};
  std::atomic<uint64_t> max_{0};
};

// ---------------------------------------------------------------------------------------------
// Connections and INFO

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

// Opens a blocking connection (5 s connect timeout). On failure returns null and sets *error.
ContextPtr Connect(const Options& opt, std::string* error) {
  timeval timeout{5, 0};
  ContextPtr ctx(redisConnectWithTimeout(opt.host.c_str(), opt.port, timeout));
  if (ctx == nullptr) {
    *error = "out of memory";
    return nullptr;
  }
  if (ctx->err != 0) {
    *error = ctx->errstr;
    return nullptr;
  }
  return ctx;
}

// Turns a connected context non-blocking, so redisBufferRead/Write return on EAGAIN. This is
// what redisConnectNonBlock produces, minus its asynchronous connect (whose errors we would have
// to collect later; a blocking connect reports them up front).
bool MakeNonBlocking(redisContext* ctx) {
  const int flags = fcntl(ctx->fd, F_GETFL);
  if (flags < 0 || fcntl(ctx->fd, F_SETFL, flags | O_NONBLOCK) < 0) return false;
  ctx->flags &= ~REDIS_BLOCK;
  return true;
}

using InfoFields = std::map<std::string, std::string, std::less<>>;

// Sends INFO (its default sections include organic-server's "# Organic") and splits the
// "field:value" lines. Returns nullopt if the server does not answer with a bulk string.
std::optional<InfoFields> FetchInfo(redisContext* ctx) {
  auto* reply = static_cast<redisReply*>(redisCommand(ctx, "INFO"));
  if (reply == nullptr) return std::nullopt;
  std::optional<InfoFields> fields;
  if (reply->type == REDIS_REPLY_STRING) {
    fields.emplace();
    std::string_view text(reply->str, reply->len);
    while (!text.empty()) {
      size_t eol = text.find('\n');
      std::string_view line = text.substr(0, eol);
      text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
      if (line.ends_with('\r')) line.remove_suffix(1);
      size_t colon = line.find(':');
      if (line.empty() || line[0] == '#' || colon == std::string_view::npos) continue;
      fields->emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
    }
  }
  freeReplyObject(reply);
  return fields;
}

std::optional<uint64_t> InfoNumber(const std::optional<InfoFields>& info, std::string_view name) {
  if (!info) return std::nullopt;
  auto it = info->find(name);
  uint64_t value = 0;
  if (it == info->end() || !ParseUint(it->second, 0, UINT64_MAX, &value)) return std::nullopt;
  return value;
}

// Ratio a / (a + b) of the growth of two INFO counters between two snapshots; nullopt when a
// counter is missing or neither grew.
std::optional<double> DeltaRatio(const std::optional<InfoFields>& before,
                                 const std::optional<InfoFields>& after, std::string_view a,
                                 std::string_view b) {
  auto a0 = InfoNumber(before, a), a1 = InfoNumber(after, a);
  auto b0 = InfoNumber(before, b), b1 = InfoNumber(after, b);
  if (!a0 || !a1 || !b0 || !b1 || *a1 < *a0 || *b1 < *b0) return std::nullopt;
  const uint64_t da = *a1 - *a0, db = *b1 - *b0;
  if (da + db == 0) return std::nullopt;
  return static_cast<double>(da) / static_cast<double>(da + db);
}

// ---------------------------------------------------------------------------------------------
// The run

// Set by SIGINT: stop sending new batches, finish those in flight, report. A signal handler can
// only reach a global; nothing else uses it. A lock-free atomic, because the handler may run on
// any thread while the main thread polls it.
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);
void OnInterrupt(int) { g_interrupted.store(true); }

// State shared by all workers of one run.
struct SharedRun {
  SharedRun(const Options& o, const KeyChooser& c) : opt(o), chooser(c) {}

  const Options& opt;
  const KeyChooser& chooser;
  Clock::time_point start;
  Clock::time_point deadline;  // timed runs: no batch starts after it
  uint64_t total_ops = 0;      // counted runs (--requests, load, verify): ops to issue; else 0
  std::atomic<uint64_t> next_op{0};       // counted runs: first op number not yet claimed
  std::atomic<bool> stop_issuing{false};  // SIGINT: drain in-flight batches, start no more
  std::atomic<bool> abort{false};         // a connection failed: stop now
  std::atomic<int> workers_running{0};

  std::mutex mu;
  std::string fatal_error;  // GUARDED_BY(mu): the first connection failure
  std::string first_error;  // GUARDED_BY(mu): the first error reply
  std::string first_bad;    // GUARDED_BY(mu): verify: the first missing or wrong key
};

// Counters of one worker. Written only by that worker; `completed` and `latency` may be read
// concurrently (progress line), the rest only after the worker is joined.
struct WorkerStats {
  std::atomic<uint64_t> completed{0};
  uint64_t gets = 0, sets = 0, hits = 0, misses = 0, errors = 0, missing = 0, wrong = 0;
  Clock::time_point finished;
  LatencyHistogram latency;
};

struct Connection {
  int id = 0;
  ContextPtr ctx;
  std::vector<uint64_t> batch_keys;  // key index of each command of the batch in flight
  std::vector<uint8_t> batch_gets;   // 1 if that command is a GET
  size_t replies = 0;                // replies received for the batch in flight
  bool write_pending = false;        // part of the batch is still in hiredis's output buffer
  bool active = true;                // false once it has no more work (or failed)
  Clock::time_point batch_start;
};

class Worker {
 public:
  Worker(SharedRun* run, int index)
      : run_(run),
        keys_(run->opt.key_prefix, run->opt.keys),
        rng_(run->opt.seed * 0x100000001b3ULL + static_cast<uint64_t>(index)) {}
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void AddConnection(Connection c) { connections_.push_back(std::move(c)); }
  WorkerStats& stats() { return stats_; }

  // Drives all connections until none has work left, or the run aborts.
  void Run() {
    for (Connection& c : connections_) c.active = StartBatch(&c);
    std::vector<pollfd> fds;
    std::vector<Connection*> polled;
    while (!run_->abort.load(std::memory_order_relaxed)) {
      fds.clear();
      polled.clear();
      for (Connection& c : connections_) {
        if (!c.active) continue;
        const short events = POLLIN | (c.write_pending ? POLLOUT : 0);
        fds.push_back(pollfd{c.ctx->fd, events, 0});
        polled.push_back(&c);
      }
      if (fds.empty()) break;
      // The timeout only bounds how late we notice an abort from another thread.
      if (poll(fds.data(), fds.size(), 100) < 0) {
        if (errno == EINTR) continue;
        Fail(*polled[0], std::strerror(errno));
        break;
      }
      const Clock::time_point now = Clock::now();
      for (size_t i = 0; i < fds.size(); i++) {
        Connection* c = polled[i];
        if ((fds[i].revents & POLLOUT) && c->active) c->active = Flush(c);
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) && c->active) {
          c->active = ReadReplies(c, now);
        }
      }
    }
    stats_.finished = Clock::now();
  }

 private:
  // Claims the next batch of work and sends it. Returns false when there is no work left or the
  // connection failed (the connection is then done).
  bool StartBatch(Connection* c) {
    const Options& opt = run_->opt;
    if (run_->abort.load(std::memory_order_relaxed) ||
        run_->stop_issuing.load(std::memory_order_relaxed)) {
      return false;
    }
    const Clock::time_point now = Clock::now();
    uint64_t first = 0;
    uint64_t count = static_cast<uint64_t>(opt.pipeline);
    if (run_->total_ops > 0) {
      first = run_->next_op.fetch_add(count, std::memory_order_relaxed);
      if (first >= run_->total_ops) return false;
      count = std::min(count, run_->total_ops - first);
    } else if (now >= run_->deadline) {
      return false;
    }
    uint64_t hot_epoch = 0;
    if (opt.distribution == Distribution::kHotspot && opt.hotspot_shift_s > 0) {
      hot_epoch = static_cast<uint64_t>(std::chrono::duration<double>(now - run_->start).count() /
                                        opt.hotspot_shift_s);
    }
    c->batch_keys.clear();
    c->batch_gets.clear();
    c->replies = 0;
    for (uint64_t i = 0; i < count; i++) {
      uint64_t key;
      bool get;
      switch (opt.mode) {
        case Mode::kLoad:
          key = first + i;
          get = false;
          break;
        case Mode::kVerify:
          key = first + i;
          get = true;
          break;
        default:
          get = rng_.Below(opt.get_weight + opt.set_weight) < opt.get_weight;
          key = run_->chooser.Next(rng_, hot_epoch);
          break;
      }
      std::string_view key_text = keys_.Format(key);
      if (get) {
        const char* argv[] = {"GET", key_text.data()};
        const size_t lens[] = {3, key_text.size()};
        redisAppendCommandArgv(c->ctx.get(), 2, argv, lens);
      } else {
        ValueFor(key, opt.value_size, opt.value_kind, &value_);
        const char* argv[] = {"SET", key_text.data(), value_.data()};
        const size_t lens[] = {3, key_text.size(), value_.size()};
        redisAppendCommandArgv(c->ctx.get(), 3, argv, lens);
      }
      c->batch_keys.push_back(key);
      c->batch_gets.push_back(get ? 1 : 0);
    }
    c->batch_start = Clock::now();
    return Flush(c);
  }

  // Writes as much of the output buffer as the socket takes. False if the connection failed.
  bool Flush(Connection* c) {
    int done = 0;
    if (redisBufferWrite(c->ctx.get(), &done) != REDIS_OK) {
      Fail(*c, c->ctx->errstr);
      return false;
    }
    c->write_pending = done == 0;
    return true;
  }

  // Reads what arrived, handles every complete reply and starts the next batch once the current
  // one is complete. Returns whether the connection stays active.
  bool ReadReplies(Connection* c, Clock::time_point now) {
    if (redisBufferRead(c->ctx.get()) != REDIS_OK) {
      Fail(*c, c->ctx->errstr);
      return false;
    }
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::microseconds>(now - c->batch_start);
    const uint64_t latency_us = static_cast<uint64_t>(std::max<int64_t>(0, elapsed.count()));
    uint64_t completed = 0;
    bool active = true;
    while (active) {
      void* raw = nullptr;
      if (redisGetReplyFromReader(c->ctx.get(), &raw) != REDIS_OK) {
        Fail(*c, c->ctx->errstr);
        active = false;
        break;
      }
      if (raw == nullptr) break;
      auto* reply = static_cast<redisReply*>(raw);
      if (c->replies >= c->batch_keys.size()) {
        freeReplyObject(reply);
        Fail(*c, "reply without a request (protocol out of sync)");
        active = false;
        break;
      }
      HandleReply(*c, reply, c->replies);
      freeReplyObject(reply);
      stats_.latency.Record(latency_us);
      completed++;
      if (++c->replies == c->batch_keys.size()) active = StartBatch(c);
    }
    stats_.completed.store(stats_.completed.load(std::memory_order_relaxed) + completed,
                           std::memory_order_relaxed);
    return active;
  }

  void HandleReply(const Connection& c, const redisReply* reply, size_t slot) {
    const uint64_t key = c.batch_keys[slot];
    const bool get = c.batch_gets[slot] != 0;
    (get ? stats_.gets : stats_.sets)++;
    if (reply->type == REDIS_REPLY_ERROR) {
      if (stats_.errors++ == 0) {
        std::lock_guard<std::mutex> lock(run_->mu);
        if (run_->first_error.empty()) {
          run_->first_error = std::string(reply->str, reply->len) + " (" + (get ? "GET " : "SET ") +
                              std::string(keys_.Format(key)) + ")";
          if (!run_->opt.quiet) {
            std::fprintf(stderr, "\norganic-bench: first error reply: %s\n",
                         run_->first_error.c_str());
          }
        }
      }
      return;
    }
    if (!get) return;
    if (reply->type == REDIS_REPLY_NIL) {
      stats_.misses++;
      if (run_->opt.mode == Mode::kVerify && stats_.missing++ == 0) {
        NoteBad("missing " + std::string(keys_.Format(key)));
      }
      return;
    }
    stats_.hits++;
    if (run_->opt.mode != Mode::kVerify) return;
    ValueFor(key, run_->opt.value_size, run_->opt.value_kind, &value_);
    if (reply->type != REDIS_REPLY_STRING ||
        std::string_view(reply->str, reply->len) != std::string_view(value_)) {
      if (stats_.wrong++ == 0) {
        const size_t shown =
            reply->type == REDIS_REPLY_STRING ? std::min<size_t>(reply->len, 40) : 0;
        NoteBad("wrong value for " + std::string(keys_.Format(key)) + ": \"" +
                std::string(reply->str ? reply->str : "", shown) + "\"...");
      }
    }
  }

  void NoteBad(const std::string& what) {
    std::lock_guard<std::mutex> lock(run_->mu);
    if (run_->first_bad.empty()) run_->first_bad = what;
  }

  void Fail(const Connection& c, const char* why) {
    {
      std::lock_guard<std::mutex> lock(run_->mu);
      if (run_->fatal_error.empty()) {
        run_->fatal_error = "connection " + std::to_string(c.id) + " to " + run_->opt.host + ":" +
                            std::to_string(run_->opt.port) + " failed: " + why;
      }
    }
    run_->abort.store(true, std::memory_order_relaxed);
  }

  SharedRun* run_;
  KeyFormatter keys_;
  Rng rng_;
  std::string value_;  // scratch for ValueFor
  std::vector<Connection> connections_;
  WorkerStats stats_;
};

// ---------------------------------------------------------------------------------------------
// Reports

struct Report {
  Mode mode = Mode::kRun;
  double elapsed_s = 0;
  uint64_t ops = 0, gets = 0, sets = 0, hits = 0, misses = 0, errors = 0, missing = 0, wrong = 0;
  const LatencyHistogram* latency = nullptr;
  std::string first_error, first_bad;
  std::optional<double> keyspace_hit_ratio, memory_hit_ratio;
  std::optional<uint64_t> used_memory, evicted_keys;
};

const char* ModeName(Mode m) {
  return m == Mode::kLoad ? "load" : m == Mode::kVerify ? "verify" : "run";
}
const char* DistributionName(Distribution d) {
  return d == Distribution::kZipf ? "zipf" : d == Distribution::kHotspot ? "hotspot" : "uniform";
}
double Ms(uint64_t micros) { return static_cast<double>(micros) / 1000; }

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

// ---------------------------------------------------------------------------------------------
// Entry points

int RunBenchmark(const Options& opt) {
  // A dead server must show up as an error from write(), not kill us with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {};
  sa.sa_handler = OnInterrupt;
  sa.sa_flags = SA_RESETHAND;  // a second Ctrl-C kills us outright
  sigaction(SIGINT, &sa, nullptr);

  std::string error;
  ContextPtr info_ctx = Connect(opt, &error);
  if (info_ctx == nullptr) {
    std::fprintf(stderr, "organic-bench: cannot connect to %s:%d: %s\n", opt.host.c_str(), opt.port,
                 error.c_str());
    return 1;
  }
  timeval info_timeout{60, 0};  // INFO after a heavy run may queue behind other clients
  redisSetTimeout(info_ctx.get(), info_timeout);
  const std::optional<InfoFields> info_before = FetchInfo(info_ctx.get());

  // Precomputes zeta before any connection exists, so it is not part of the measured time.
  const KeyChooser chooser(opt);
  SharedRun run(opt, chooser);
  const int thread_count = std::min(opt.threads, opt.connections);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < thread_count; t++) workers.push_back(std::make_unique<Worker>(&run, t));
  for (int i = 0; i < opt.connections; i++) {
    Connection c;
    c.id = i;
    c.ctx = Connect(opt, &error);
    if (c.ctx == nullptr || !MakeNonBlocking(c.ctx.get())) {
      if (c.ctx != nullptr) error = std::strerror(errno);
      std::fprintf(stderr, "organic-bench: connection %d to %s:%d failed: %s\n", i,
                   opt.host.c_str(), opt.port, error.c_str());
      return 1;
    }
    workers[i % thread_count]->AddConnection(std::move(c));
  }

  if (opt.mode != Mode::kRun) {
    run.total_ops = opt.keys;
  } else {
    run.total_ops = opt.requests;
  }
  run.start = Clock::now();
  run.deadline = run.start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(opt.duration_s));
  run.workers_running.store(thread_count);
  std::vector<std::thread> threads;
  for (auto& w : workers) {
    threads.emplace_back([&run, worker = w.get()] {
      worker->Run();
      run.workers_running.fetch_sub(1);
    });
  }

  // Progress, once a second, until every worker is done.
  Clock::time_point next_tick = run.start + std::chrono::seconds(1);
  uint64_t last_ops = 0;
  bool printed = false;
  while (run.workers_running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (g_interrupted) run.stop_issuing.store(true);
    const Clock::time_point now = Clock::now();
    if (opt.quiet || now < next_tick) continue;
    next_tick += std::chrono::seconds(1);
    LatencyHistogram merged;
    uint64_t ops = 0;
    for (auto& w : workers) {
      ops += w->stats().completed.load(std::memory_order_relaxed);
      merged.Merge(w->stats().latency);
    }
    std::fprintf(stderr, "\r[%6.1fs] %9" PRIu64 " ops/s  p99 %7.3f ms  total %" PRIu64 "   ",
                 std::chrono::duration<double>(now - run.start).count(), ops - last_ops,
                 Ms(merged.Percentile(99)), ops);
    std::fflush(stderr);
    last_ops = ops;
    printed = true;
  }
  for (std::thread& t : threads) t.join();
  if (printed) std::fputc('\n', stderr);

  if (!run.fatal_error.empty()) {
    std::fprintf(stderr, "organic-bench: %s\n", run.fatal_error.c_str());
    return 1;
  }

  LatencyHistogram latency;
  Report r;
  r.mode = opt.mode;
  Clock::time_point end = run.start;
  for (auto& w : workers) {
    const WorkerStats& s = w->stats();
    latency.Merge(s.latency);
    r.ops += s.completed.load();
    r.gets += s.gets;
    r.sets += s.sets;
    r.hits += s.hits;
    r.misses += s.misses;
    r.errors += s.errors;
    r.missing += s.missing;
    r.wrong += s.wrong;
    end = std::max(end, s.finished);
  }
  r.elapsed_s = std::chrono::duration<double>(end - run.start).count();
  r.latency = &latency;
  r.first_error = run.first_error;
  r.first_bad = run.first_bad;

  std::optional<InfoFields> info_after = FetchInfo(info_ctx.get());
  if (!info_after && info_ctx->err != 0) {
    // The idle INFO connection may have been closed (server `timeout`); counters survive that.
    if (ContextPtr again = Connect(opt, &error)) {
      info_ctx = std::move(again);
      info_after = FetchInfo(info_ctx.get());
    }
  }
  if (!info_after) {
    std::fprintf(stderr, "organic-bench: INFO after the run failed%s%s\n",
                 info_ctx->err ? ": " : "", info_ctx->err ? info_ctx->errstr : "");
  }
  r.keyspace_hit_ratio = DeltaRatio(info_before, info_after, "keyspace_hits", "keyspace_misses");
  r.memory_hit_ratio =
      DeltaRatio(info_before, info_after, "organic_memory_hits", "organic_disk_hits");
  r.used_memory = InfoNumber(info_after, "used_memory");
  r.evicted_keys = InfoNumber(info_after, "evicted_keys");

  if (opt.json) {
    PrintJson(opt, r);
  } else {
    PrintText(opt, r);
  }
  if (g_interrupted && opt.mode != Mode::kRun) {
    std::fprintf(stderr, "organic-bench: interrupted; not every key was %s\n",
                 opt.mode == Mode::kLoad ? "written" : "checked");
    return 1;
  }
  if (opt.mode != Mode::kRun && r.missing + r.wrong + r.errors > 0) return 1;
  return 0;
}

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
