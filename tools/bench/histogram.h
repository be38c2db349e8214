// organic-bench's latency histogram: LatencyHistogram, one per worker thread, merged for the
// progress line and the final report.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace organic::bench {

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

}  // namespace organic::bench
