// FrequencySketch: how often each key was read lately, approximately, in little memory (the
// count-min sketch of TinyLFU, Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient
// Cache Admission Policy", 2017). The engine asks it whether a key read from disk is read
// often enough to be worth a place in memory (Engine::MaybePromote).
//
// Four rows of 4-bit counters; a key maps to one counter per row and its estimate is the
// smallest of the four, so collisions only ever overestimate. Add() increments only the
// counters at that minimum ("conservative update"), which keeps the overestimate small. After
// sample_size additions every counter is halved: the counts follow what is read *now*, and a
// key that was hot an hour ago does not keep its place forever.
//
// Resize() changes the width without losing counts: a counter's index is the top bits of a
// multiplicative hash, so doubling splits each counter into two copies and halving merges two
// neighbours by max; estimates stay upper bounds either way.
//
// Threading: none (the engine uses it on the loop thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace organic::engine {

class FrequencySketch {
 public:
  static constexpr uint32_t kMaxCount = 15;

  // width: counters per row, rounded up to a power of two (at least 64).
  // sample_size: additions between two halvings (TinyLFU's W: ~10x the entries cached).
  FrequencySketch(size_t width, uint64_t sample_size);
  FrequencySketch(const FrequencySketch&) = delete;
  FrequencySketch& operator=(const FrequencySketch&) = delete;

  // Counts one read of the key with this hash (engine/key_index.h HashKey).
  void Add(uint64_t hash);
  // The key's count, 0..kMaxCount: at least its reads since the last halving.
  uint32_t Estimate(uint64_t hash) const;

  // New width (rounded as in the constructor); counts are kept (see the header comment).
  void Resize(size_t width);
  void set_sample_size(uint64_t n) { sample_size_ = n < 1 ? 1 : n; }

  size_t width() const { return size_t{1} << width_bits_; }
  uint64_t sample_size() const { return sample_size_; }
  uint64_t halvings() const { return halvings_; }

 private:
  static constexpr int kRows = 4;
  // Index of the key's counter in row r: the top width_bits_ bits of a per-row mix.
  size_t Index(uint64_t hash, int row) const;
  uint32_t Get(int row, size_t i) const;
  void Set(int row, size_t i, uint32_t v);
  void Halve();

  int width_bits_ = 0;
  std::vector<uint64_t> words_;  // kRows rows of width() counters, 16 per word
  uint64_t sample_size_ = 1;
  uint64_t additions_ = 0;  // since the last halving (halved with the counters)
  uint64_t halvings_ = 0;
};

}  // namespace organic::engine
