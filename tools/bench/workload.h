// organic-bench's workload: the random number generator, the key distributions (uniform, zipf,
// hotspot) and the scrambling permutation behind KeyChooser, and how keys and values are
// formatted (KeyFormatter, ValueFor). Nothing here talks to a server, so --dump-distribution
// can check it offline.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "options.h"

namespace organic::bench {

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

// zeta(n, theta) = sum_{i=1..n} 1 / i^theta, for any n in about a thousand pow() calls
// (workload.cc explains how).
double Zeta(uint64_t n, double theta);

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

// The value for key `index`, `size` bytes, a pure function of its arguments (workload.cc).
void ValueFor(uint64_t index, size_t size, ValueKind kind, std::string* out);

}  // namespace organic::bench
