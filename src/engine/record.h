// Record metadata shared by the MemTable, the WAL encoding and (later) SSTables.
// A record is: type, expire-at (absolute Unix ms, 0 = no expiry), sequence number, value.
// See docs/record-format.md.
#pragma once

#include <cstdint>
#include <string_view>

namespace organic::engine {

enum class ValueType : uint8_t {
  kString = 0,
  // Collections: the record under the user key is the collection's metadata
  // (engine/collection_meta.h); large ones keep one member record per field or member in the
  // database's member space (docs/record-format.md, "Collections").
  kHash = 1,
  kSet = 2,
  // 3 and 4 are kept for lists and sorted sets.
};
inline constexpr uint8_t kMaxValueType = 2;
inline bool IsCollection(ValueType t) { return t != ValueType::kString; }

// What OBJECT ENCODING reports for a string, following how Redis created the value:
// kAuto decides by content (int / embstr up to 44 bytes / raw), kRaw is left by APPEND,
// SETRANGE and SETBIT, kEmbstr by INCRBYFLOAT (a number Redis keeps as a string).
enum class EncodingHint : uint8_t { kAuto = 0, kRaw = 1, kEmbstr = 2 };

// Sequence numbers are 48-bit: they share a 64-bit word with type and flags in the MemTable.
inline constexpr uint64_t kMaxSequence = (1ull << 48) - 1;

// A read-only view of one live record. The value view points into engine-owned memory and is
// valid only until the next mutation of the engine (copy it before writing).
struct RecordView {
  ValueType type = ValueType::kString;
  int64_t expire_at_ms = 0;  // 0 = persistent
  uint64_t sequence = 0;
  uint32_t access_count = 0;
  EncodingHint encoding = EncodingHint::kAuto;
  std::string_view value;
};

}  // namespace organic::engine
