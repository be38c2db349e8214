// The value of an SSTable entry: one record of the key (the entry's key is the user key; the
// database is implied by the table, see docs/sstable-format.md).
//
//   tag:u8         bit 0 tombstone, bit 1 has expire-at, bits 2-3 encoding hint,
//                  bits 4-7 value type
//   sequence:varint
//   expire_at:varint   only when bit 1 is set (absolute Unix ms)
//   value:bytes        the rest of the entry value (empty for a tombstone)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/record.h"

namespace organic::engine {

struct TableRecord {
  bool tombstone = false;
  ValueType type = ValueType::kString;
  EncodingHint encoding = EncodingHint::kAuto;
  uint64_t sequence = 0;
  int64_t expire_at_ms = 0;  // 0 = none
  std::string_view value;
};

// Appends the encoding of r to *out.
void EncodeTableRecord(const TableRecord& r, std::string* out);
// False if in is not a complete encoding (the caller reports corruption). r->value points
// into in.
bool DecodeTableRecord(std::string_view in, TableRecord* r);

}  // namespace organic::engine
