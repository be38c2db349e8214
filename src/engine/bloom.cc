#include "engine/bloom.h"

#include <algorithm>
#include <cmath>

#include "engine/key_index.h"

namespace organic::engine {
namespace {

// Filters are never smaller than this: with very few keys a tiny array would give a high
// false-positive rate for a saving of a few bytes.
constexpr uint64_t kMinFilterBits = 64;

int ProbesFor(int bits_per_key) {
  // k = m/n * ln 2 minimises the false-positive rate for a given m/n.
  int k = static_cast<int>(std::lround(bits_per_key * 0.69314718055994530942));
  return std::clamp(k, 1, kBloomMaxProbes);
}

}  // namespace

BloomFilterBuilder::BloomFilterBuilder(int bits_per_key)
    : bits_per_key_(std::max(bits_per_key, 1)), num_probes_(ProbesFor(bits_per_key_)) {}

void BloomFilterBuilder::AddKey(std::string_view key) { hashes_.push_back(HashKey(key)); }

std::string BloomFilterBuilder::Finish() {
  uint64_t bits =
      std::max<uint64_t>(hashes_.size() * static_cast<uint64_t>(bits_per_key_), kMinFilterBits);
  const uint64_t bytes = (bits + 7) / 8;
  bits = bytes * 8;  // use the whole last byte: the reader derives the modulus from the size

  std::string filter(bytes + 1, '\0');
  filter[bytes] = static_cast<char>(num_probes_);
  auto* array = reinterpret_cast<unsigned char*>(filter.data());
  for (uint64_t h : hashes_) {
    const uint32_t delta = static_cast<uint32_t>(h >> 32);
    uint64_t pos = static_cast<uint32_t>(h);
    for (int j = 0; j < num_probes_; ++j) {
      const uint64_t bit = pos % bits;
      array[bit / 8] |= static_cast<unsigned char>(1u << (bit % 8));
      pos += delta;
    }
  }
  hashes_.clear();
  return filter;
}

bool BloomMayContain(std::string_view filter, std::string_view key) {
  if (filter.size() < 2) return true;
  const uint64_t bytes = filter.size() - 1;
  const int k = static_cast<unsigned char>(filter[bytes]);
  if (k == 0 || k > kBloomMaxProbes) return true;  // not a filter we know how to read

  const uint64_t bits = bytes * 8;
  const uint64_t h = HashKey(key);
  const uint32_t delta = static_cast<uint32_t>(h >> 32);
  uint64_t pos = static_cast<uint32_t>(h);
  const auto* array = reinterpret_cast<const unsigned char*>(filter.data());
  for (int j = 0; j < k; ++j) {
    const uint64_t bit = pos % bits;
    if ((array[bit / 8] & (1u << (bit % 8))) == 0) return false;
    pos += delta;
  }
  return true;
}

}  // namespace organic::engine
