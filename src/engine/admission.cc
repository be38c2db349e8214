#include "engine/admission.h"

#include <algorithm>
#include <bit>

namespace organic::engine {

namespace {
// Odd multipliers, one per row: the rows must disagree on which keys collide.
constexpr uint64_t kRowSeeds[4] = {0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full,
                                   0x165667b19e3779f9ull, 0xd6e8feb86659fd93ull};
constexpr uint64_t kLowBits = 0x7777777777777777ull;  // each nibble without its top bit

int WidthBits(size_t width) {
  return std::max(6, static_cast<int>(std::bit_width(std::max<size_t>(width, 1) - 1)));
}
}  // namespace

FrequencySketch::FrequencySketch(size_t width, uint64_t sample_size)
    : width_bits_(WidthBits(width)), words_(kRows * (this->width() / 16), 0) {
  set_sample_size(sample_size);
}

size_t FrequencySketch::Index(uint64_t hash, int row) const {
  uint64_t h = (hash ^ (hash >> 29)) * kRowSeeds[row];
  return static_cast<size_t>(h >> (64 - width_bits_));
}

uint32_t FrequencySketch::Get(int row, size_t i) const {
  const uint64_t word = words_[row * (width() / 16) + i / 16];
  return static_cast<uint32_t>(word >> ((i % 16) * 4)) & 0xf;
}

void FrequencySketch::Set(int row, size_t i, uint32_t v) {
  uint64_t& word = words_[row * (width() / 16) + i / 16];
  const int shift = static_cast<int>(i % 16) * 4;
  word = (word & ~(0xfull << shift)) | (static_cast<uint64_t>(v) << shift);
}

uint32_t FrequencySketch::Estimate(uint64_t hash) const {
  uint32_t est = kMaxCount;
  for (int r = 0; r < kRows; r++) est = std::min(est, Get(r, Index(hash, r)));
  return est;
}

void FrequencySketch::Add(uint64_t hash) {
  size_t idx[kRows];
  uint32_t est = kMaxCount;
  for (int r = 0; r < kRows; r++) {
    idx[r] = Index(hash, r);
    est = std::min(est, Get(r, idx[r]));
  }
  if (est == kMaxCount) return;  // saturated: nothing changes, so it is no sample either
  for (int r = 0; r < kRows; r++) {
    if (Get(r, idx[r]) == est) Set(r, idx[r], est + 1);
  }
  if (++additions_ >= sample_size_) Halve();
}

void FrequencySketch::Halve() {
  for (uint64_t& w : words_) w = (w >> 1) & kLowBits;
  additions_ /= 2;
  halvings_++;
}

void FrequencySketch::Resize(size_t width) {
  const int bits = WidthBits(width);
  if (bits == width_bits_) return;
  const size_t old_width = this->width();
  std::vector<uint64_t> old = std::move(words_);
  auto old_get = [&](int r, size_t i) {
    return static_cast<uint32_t>(old[r * (old_width / 16) + i / 16] >> ((i % 16) * 4)) & 0xf;
  };
  const int old_bits = width_bits_;
  width_bits_ = bits;
  words_.assign(kRows * (this->width() / 16), 0);
  for (int r = 0; r < kRows; r++) {
    for (size_t i = 0; i < this->width(); i++) {
      uint32_t v = 0;
      if (bits > old_bits) {
        v = old_get(r, i >> (bits - old_bits));  // each old counter splits into copies
      } else {
        const size_t n = size_t{1} << (old_bits - bits);  // merged neighbours: keep the max
        for (size_t j = 0; j < n; j++) v = std::max(v, old_get(r, (i << (old_bits - bits)) + j));
      }
      Set(r, i, v);
    }
  }
}

}  // namespace organic::engine
