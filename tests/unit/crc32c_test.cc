#include "util/crc32c.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>

namespace organic {
namespace {

// Bit-at-a-time CRC-32C straight from the definition: the reference both fast paths must match.
uint32_t BitwiseCrc32c(const std::string& s) {
  uint32_t c = 0xffffffffu;
  for (unsigned char byte : s) {
    c ^= byte;
    for (int i = 0; i < 8; ++i) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return c ^ 0xffffffffu;
}

std::string RandomBytes(std::mt19937_64* rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>((*rng)() & 0xff);
  return s;
}

}  // namespace

TEST_CASE("crc32c: RFC 3720 B.4 test vectors") {
  std::string zeros(32, '\0');
  CHECK(Crc32c(zeros.data(), zeros.size()) == 0x8a9136aau);

  std::string ones(32, '\xff');
  CHECK(Crc32c(ones.data(), ones.size()) == 0x62a8ab43u);

  std::string ascending(32, '\0'), descending(32, '\0');
  for (int i = 0; i < 32; ++i) {
    ascending[i] = static_cast<char>(i);
    descending[i] = static_cast<char>(31 - i);
  }
  CHECK(Crc32c(ascending.data(), ascending.size()) == 0x46dd794eu);
  CHECK(Crc32c(descending.data(), descending.size()) == 0x113fdb5cu);

  const unsigned char kReadPdu[48] = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  CHECK(Crc32c(reinterpret_cast<const char*>(kReadPdu), sizeof(kReadPdu)) == 0xd9963a56u);

  CHECK(Crc32c("123456789", 9) == 0xe3069283u);  // the usual "check" value
  CHECK(Crc32c("", 0) == 0u);
}

TEST_CASE("crc32c: Extend equals the CRC of the concatenation") {
  std::mt19937_64 rng(42);
  std::string data = RandomBytes(&rng, 1000);
  uint32_t whole = Crc32c(data.data(), data.size());
  for (size_t split : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{500}, size_t{1000}}) {
    uint32_t crc = Crc32c(data.data(), split);
    crc = Crc32cExtend(crc, data.data() + split, data.size() - split);
    CHECK(crc == whole);
  }
  // Different data, different CRC.
  std::string other = data;
  other[500] ^= 1;
  CHECK(Crc32c(other.data(), other.size()) != whole);
}

TEST_CASE("crc32c: Mask/Unmask") {
  uint32_t crc = Crc32c("foo", 3);
  CHECK(Crc32cMask(crc) != crc);
  CHECK(Crc32cMask(Crc32cMask(crc)) != crc);
  CHECK(Crc32cUnmask(Crc32cMask(crc)) == crc);
  CHECK(Crc32cUnmask(Crc32cUnmask(Crc32cMask(Crc32cMask(crc)))) == crc);
  for (uint32_t v : {0u, 1u, 0x80000000u, 0xffffffffu, 0xa282ead8u}) {
    CHECK(Crc32cUnmask(Crc32cMask(v)) == v);
  }
}

TEST_CASE("crc32c: software and hardware paths agree with the bitwise definition") {
  std::mt19937_64 rng(7);
  std::string buffer = RandomBytes(&rng, 4096 + 16);
  const bool hw = crc32c_internal::HardwareAvailable();
#if defined(__x86_64__)
  // Every x86-64 machine we build for since 2008 has SSE4.2; if this fails, the run-time
  // detection is broken and we would silently run 5x slower.
  CHECK(hw);
#endif
  // All lengths up to 300 and all 8 misalignments exercise every head/body/tail split.
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t len = 0; len <= 300; ++len) {
      std::string s = buffer.substr(offset, len);
      uint32_t expected = BitwiseCrc32c(s);
      const char* p = buffer.data() + offset;
      REQUIRE(crc32c_internal::ExtendSoftware(0, p, len) == expected);
      if (hw) REQUIRE(crc32c_internal::ExtendHardware(0, p, len) == expected);
      REQUIRE(Crc32c(p, len) == expected);
    }
  }
  // A long buffer and a non-zero starting crc.
  uint32_t seed = 0x12345678u;
  uint32_t sw = crc32c_internal::ExtendSoftware(seed, buffer.data() + 3, 4096);
  CHECK(sw == Crc32cExtend(seed, buffer.data() + 3, 4096));
  if (hw) CHECK(crc32c_internal::ExtendHardware(seed, buffer.data() + 3, 4096) == sw);
}

}  // namespace organic
