// Record metadata shared by the MemTable, the WAL encoding and (later) SSTables.
// A record is: type, expire-at (absolute Unix ms, 0 = no expiry), sequence number, value.
// See docs/record-format.md.
#pragma once

#include <cstdint>
#include <string_view>

namespace organic::engine {

enum class ValueType : uint8_t {
  kString = 0,
  // Hashes, lists, sets and sorted sets come later as metadata records + sub-key records.
};

// Sequence numbers are 48-bit: they share a 64-bit word with type and flags in the MemTable.
inline constexpr uint64_t kMaxSequence = (1ull << 48) - 1;

// A read-only view of one live record. The value view points into engine-owned memory and is
// valid only until the next mutation of the engine (copy it before writing).
struct RecordView {
  ValueType type = ValueType::kString;
  int64_t expire_at_ms = 0;  // 0 = persistent
  uint64_t sequence = 0;
  uint32_t access_count = 0;
  // Redis encoding hint for OBJECT ENCODING: APPEND/SETRANGE leave a string "raw" whatever
  // its size, as in Redis.
  bool raw_encoding = false;
  std::string_view value;
};

}  // namespace organic::engine
