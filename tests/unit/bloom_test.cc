#include "engine/bloom.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <string>

namespace organic::engine {
namespace {

// Keys shaped like the engine's internal keys: 4-byte database number + a user key.
std::string Key(uint64_t i) {
  std::string k("\0\0\0\0user:", 9);
  k += std::to_string(i);
  return k;
}

// Fraction of `probes` keys never added that the filter claims to contain.
double FalsePositiveRate(const std::string& filter, uint64_t first_absent, uint64_t probes) {
  uint64_t hits = 0;
  for (uint64_t i = first_absent; i < first_absent + probes; ++i) {
    if (BloomMayContain(filter, Key(i))) ++hits;
  }
  return static_cast<double>(hits) / static_cast<double>(probes);
}

TEST_CASE("bloom: probes are round(bits_per_key * ln 2) clamped to [1, 30]") {
  CHECK(BloomFilterBuilder(1).num_probes() == 1);
  CHECK(BloomFilterBuilder(6).num_probes() == 4);
  CHECK(BloomFilterBuilder(10).num_probes() == 7);
  CHECK(BloomFilterBuilder(16).num_probes() == 11);
  CHECK(BloomFilterBuilder(100).num_probes() == 30);
  CHECK(BloomFilterBuilder(0).num_probes() == 1);
  CHECK(BloomFilterBuilder(-5).num_probes() == 1);
}

TEST_CASE("bloom: encoding is the bit array plus the probe count") {
  BloomFilterBuilder b(10);
  for (int i = 0; i < 1000; ++i) b.AddKey(Key(i));
  std::string f = b.Finish();
  CHECK(f.size() == 1000 * 10 / 8 + 1);
  CHECK(static_cast<unsigned char>(f.back()) == 7);
  // A tiny filter still has 64 bits.
  BloomFilterBuilder tiny(10);
  tiny.AddKey("a");
  std::string t = tiny.Finish();
  CHECK(t.size() == 9);
  CHECK(BloomMayContain(t, "a"));
  // Finish starts over: a second filter does not contain the first one's keys.
  BloomFilterBuilder reuse(10);
  reuse.AddKey("x");
  (void)reuse.Finish();
  std::string empty = reuse.Finish();
  CHECK(empty.size() == 9);
  CHECK_FALSE(BloomMayContain(empty, "x"));
}

TEST_CASE("bloom: empty and malformed filters never give a false negative") {
  CHECK(BloomMayContain("", "k"));
  CHECK(BloomMayContain(std::string(1, '\x07'), "k"));
  std::string zero_probes(9, '\0');  // k = 0: unknown encoding
  CHECK(BloomMayContain(zero_probes, "k"));
  std::string too_many(9, '\0');
  too_many.back() = 31;
  CHECK(BloomMayContain(too_many, "k"));
  // A valid filter with no keys says no to everything.
  std::string none(9, '\0');
  none.back() = 7;
  CHECK_FALSE(BloomMayContain(none, "k"));
  CHECK_FALSE(BloomMayContain(BloomFilterBuilder(10).Finish(), ""));
}

TEST_CASE("bloom: no false negatives for 100k keys, about 1% false positives at 10 bits") {
  constexpr uint64_t kKeys = 100000;
  BloomFilterBuilder b(10);
  for (uint64_t i = 0; i < kKeys; ++i) b.AddKey(Key(i));
  const std::string f = b.Finish();
  uint64_t missing = 0;
  for (uint64_t i = 0; i < kKeys; ++i) missing += BloomMayContain(f, Key(i)) ? 0 : 1;
  CHECK(missing == 0);
  const double fp = FalsePositiveRate(f, kKeys, 200000);
  MESSAGE("false-positive rate at 10 bits/key: " << fp * 100 << "%");
  CHECK(fp < 0.02);
  CHECK(fp > 0.002);  // a filter answering "no" far too often would be suspicious too
}

TEST_CASE("bloom: empty key and binary keys") {
  BloomFilterBuilder b(10);
  b.AddKey("");
  b.AddKey(std::string("\0\xff\0", 3));
  std::string f = b.Finish();
  CHECK(BloomMayContain(f, ""));
  CHECK(BloomMayContain(f, std::string("\0\xff\0", 3)));
}

// Measures the rates reported in docs/sstable-format.md (also checks each against theory:
// (1 - e^(-k/b))^k, within a factor that allows for sampling noise and hash imperfection).
TEST_CASE("bloom: false-positive rate by bits per key") {
  constexpr uint64_t kKeys = 100000;
  for (int bits : {6, 8, 10, 12, 16}) {
    BloomFilterBuilder b(bits);
    for (uint64_t i = 0; i < kKeys; ++i) b.AddKey(Key(i));
    const std::string f = b.Finish();
    const double fp = FalsePositiveRate(f, kKeys, 1000000);
    const double k = b.num_probes();
    const double theory = std::pow(1 - std::exp(-k / bits), k);
    MESSAGE(bits << " bits/key, k=" << k << ": measured " << fp * 100 << "%, theory "
                 << theory * 100 << "%");
    CHECK(fp < theory * 1.5 + 0.0002);
    CHECK(fp > theory * 0.5);
  }
}

}  // namespace
}  // namespace organic::engine
