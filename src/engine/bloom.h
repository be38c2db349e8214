// Bloom filter for SSTables: answers "may this table contain key K?" without reading a data
// block. A "no" is always right (no false negatives); a "yes" is wrong with probability about
// 0.6185^bits_per_key (≈1% at 10 bits per key; measured rates in docs/sstable-format.md).
//
// Encoding of a filter (the byte string Finish returns; an SSTable stores it as its filter
// block, see docs/sstable-format.md):
//
//   filter := bits:byte[m]  k:u8
//
// bit i of the array is (bits[i / 8] >> (i % 8)) & 1, m = ceil(n * bits_per_key / 8) bytes with
// at least 8 bytes (64 bits). A key sets the k bits (h1 + j * h2) mod (8 * m), j = 0 .. k-1, where
// h1 and h2 are the low and high 32-bit halves of engine::HashKey(key) (double hashing: one
// 64-bit hash per key, not k hashes). The format depends on HashKey: changing that function is a
// format change (bump kSstableFormatVersion).
//
// Thread-safety: a BloomFilterBuilder has one owner thread; BloomMayContain is pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace organic::engine {

// Largest number of probes a reader accepts; a filter whose trailing byte says more (or 0) is
// treated as unknown and answers "may contain" for every key.
inline constexpr int kBloomMaxProbes = 30;

// Collects the keys of one table and encodes their filter.
class BloomFilterBuilder {
 public:
  // bits_per_key: memory per key, trading size for false-positive rate. Values below 1 are
  // treated as 1. The number of probes is k = round(bits_per_key * ln 2), clamped to [1, 30].
  explicit BloomFilterBuilder(int bits_per_key);
  BloomFilterBuilder(const BloomFilterBuilder&) = delete;
  BloomFilterBuilder& operator=(const BloomFilterBuilder&) = delete;

  // Adds a key. Adding the same key twice is harmless. Keeps 8 bytes per call until Finish.
  void AddKey(std::string_view key);
  // Returns the encoded filter over every key added since construction or the last Finish, and
  // starts over empty.
  std::string Finish();

  // Probes per key this builder writes.
  int num_probes() const { return num_probes_; }

 private:
  const int bits_per_key_;
  const int num_probes_;
  std::vector<uint64_t> hashes_;  // HashKey of each added key
};

// True if `key` may have been added to the filter, false if it certainly was not. Never a false
// negative: an empty, too short or unrecognised filter (k == 0 or k > kBloomMaxProbes) answers
// true.
bool BloomMayContain(std::string_view filter, std::string_view key);

}  // namespace organic::engine
