// Mutation: one logged change to the keyspace, the payload of a WAL record.
// Every mutation logs the resulting state (a whole value, an absolute expire time), never the
// command that produced it, so replay is deterministic whatever the clock says at restart.
// Byte layout: docs/record-format.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/record.h"

namespace organic::engine {

enum class MutationOp : uint8_t {
  kPut = 1,       // db, key, type, expire-at, value
  kDelete = 2,    // db, key
  kSetExpire = 3, // db, key, expire-at (0 = persist)
  kFlushDb = 4,   // db
  kFlushAll = 5,  //
  kSwapDb = 6,    // db, other_db
};

struct Mutation {
  MutationOp op = MutationOp::kPut;
  uint64_t sequence = 0;
  uint32_t db = 0;
  uint32_t other_db = 0;
  ValueType type = ValueType::kString;
  int64_t expire_at_ms = 0;
  EncodingHint encoding = EncodingHint::kAuto;  // kPut: bits 6-7 of the type byte
  std::string_view key;
  std::string_view value;
};

// Appends the encoding of m to *out.
void EncodeMutation(const Mutation& m, std::string* out);
// Decodes; views in *m point into payload. Returns false if malformed.
bool DecodeMutation(std::string_view payload, Mutation* m);

}  // namespace organic::engine
