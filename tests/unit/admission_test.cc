// FrequencySketch (engine/admission.h): counts, saturation, aging and resizing.
#include "engine/admission.h"

#include <doctest/doctest.h>

#include <string>

#include "engine/key_index.h"

namespace organic::engine {
namespace {

uint64_t H(int i) { return HashKey("key:" + std::to_string(i)); }

TEST_CASE("sketch: counts reads per key and saturates at 15") {
  FrequencySketch s(1024, 1'000'000);
  CHECK(s.Estimate(H(1)) == 0);
  for (int i = 0; i < 3; i++) s.Add(H(1));
  CHECK(s.Estimate(H(1)) == 3);
  CHECK(s.Estimate(H(2)) == 0);
  for (int i = 0; i < 100; i++) s.Add(H(1));
  CHECK(s.Estimate(H(1)) == FrequencySketch::kMaxCount);
}

TEST_CASE("sketch: collisions only overestimate, and rarely by enough to admit a key") {
  // 2,000 keys read i % 4 times each in a 1,024-wide sketch: ~3 additions per counter, a little
  // more than the engine's worst (10 per cached entry over 4 counters per row, at a halving).
  FrequencySketch s(1024, 1'000'000);
  for (int i = 0; i < 2000; i++) {
    for (int r = 0; r < i % 4; r++) s.Add(H(i));
  }
  int over = 0, over_by_2 = 0, over_by_3 = 0;
  for (int i = 0; i < 2000; i++) {
    const uint32_t truth = static_cast<uint32_t>(i % 4);
    const uint32_t est = s.Estimate(H(i));
    CHECK(est >= truth);
    over += est > truth;
    over_by_2 += est > truth + 1;
    over_by_3 += est > truth + 2;  // a key read once would pass a threshold of 4
  }
  MESSAGE("overestimated: ", over, " of 2000, by 2 or more: ", over_by_2, ", by 3 or more: ",
          over_by_3);
  // Measured 414, 159, 27 (the hashes are fixed); the bounds catch a broken update or mix.
  CHECK(over < 600);
  CHECK(over_by_2 < 250);
  CHECK(over_by_3 < 60);
}

TEST_CASE("sketch: every sample_size additions halve all counts") {
  FrequencySketch s(1024, 100);
  for (int i = 0; i < 12; i++) s.Add(H(1));
  CHECK(s.Estimate(H(1)) == 12);
  for (int i = 0; i < 88; i++) s.Add(H(1000 + i));  // the 100th addition
  CHECK(s.halvings() == 1);
  CHECK(s.Estimate(H(1)) == 6);
  // A key nobody reads any more fades out.
  for (int i = 0; i < 1000; i++) s.Add(H(2000 + i));
  CHECK(s.Estimate(H(1)) == 0);
}

TEST_CASE("sketch: resizing keeps every estimate an upper bound") {
  FrequencySketch s(256, 1'000'000);
  for (int i = 0; i < 100; i++) {
    for (int r = 0; r < i % 5; r++) s.Add(H(i));
  }
  s.Resize(4096);
  CHECK(s.width() == 4096);
  for (int i = 0; i < 100; i++) CHECK(s.Estimate(H(i)) >= static_cast<uint32_t>(i % 5));
  s.Resize(64);
  CHECK(s.width() == 64);
  for (int i = 0; i < 100; i++) CHECK(s.Estimate(H(i)) >= static_cast<uint32_t>(i % 5));
  CHECK(FrequencySketch(1000, 1).width() == 1024);  // rounded up to a power of two
  CHECK(FrequencySketch(3, 1).width() == 64);
}

}  // namespace
}  // namespace organic::engine
