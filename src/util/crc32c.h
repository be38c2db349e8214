// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78), the checksum of the WAL
// and of SSTable blocks. Same function as iSCSI (RFC 3720) and ext4 metadata, so any external
// tool can verify our files.
//
// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run time), otherwise a
// slicing-by-8 table. Both paths give identical results (tested).
//
// Thread-safety: all functions are pure and may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace organic {

// Returns the CRC-32C of data[0, n).
uint32_t Crc32c(const char* data, size_t n);

// Returns the CRC-32C of A + data[0, n), where `crc` is the CRC-32C of some byte string A.
// Crc32cExtend(Crc32c(a, na), b, nb) == Crc32c of the concatenation a + b.
uint32_t Crc32cExtend(uint32_t crc, const char* data, size_t n);

// Why masking: computing the CRC of a byte string that itself contains embedded CRCs
// (a WAL record copied into another checksummed file, a block of records) is weak, because
// CRC(x + CRC(x)) is a constant for every x. Storing a rotated-plus-constant CRC breaks that
// algebraic relation. Every CRC we write to disk is masked; readers unmask before comparing.
inline uint32_t Crc32cMask(uint32_t crc) {
  constexpr uint32_t kMaskDelta = 0xa282ead8u;
  return ((crc >> 15) | (crc << 17)) + kMaskDelta;
}

// Inverse of Crc32cMask: Crc32cUnmask(Crc32cMask(c)) == c for every c.
inline uint32_t Crc32cUnmask(uint32_t masked) {
  constexpr uint32_t kMaskDelta = 0xa282ead8u;
  uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

// Exposed for tests and benchmarks only: the two implementations behind Crc32cExtend.
namespace crc32c_internal {
// Always available.
uint32_t ExtendSoftware(uint32_t crc, const char* data, size_t n);
// True when this CPU (and build target) can run ExtendHardware.
bool HardwareAvailable();
// REQUIRES: HardwareAvailable().
uint32_t ExtendHardware(uint32_t crc, const char* data, size_t n);
}  // namespace crc32c_internal

}  // namespace organic
