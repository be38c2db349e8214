// Mutation: one logged change to the keyspace, the payload of a WAL record.
// Every mutation logs the resulting state (a whole value, an absolute expire time), never the
// command that produced it, so replay is deterministic whatever the clock says at restart.
// Byte layout: docs/record-format.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

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

// The first byte of a WAL payload holding several mutations (one command's changes: MSET,
// RENAME, ...): replay applies all of them or, when the record is torn, none.
inline constexpr uint8_t kMutationBatch = 7;

// Flag bits of the op byte (docs/record-format.md). A mutation of a database's member space
// (collection member records, Engine::MemberSpace) carries kOpMemberSpace; `db` is then the
// user database number, so a data directory stays readable whatever `databases` says.
inline constexpr uint8_t kOpMemberSpace = 0x80;
// On a kDelete of a collection's metadata: its member records live on under another key
// (RENAME), so the delete must not make the collection's id dead.
inline constexpr uint8_t kOpKeepMembers = 0x40;
inline constexpr uint8_t kOpMask = 0x3f;
struct Mutation {
  MutationOp op = MutationOp::kPut;
  uint64_t sequence = 0;
  uint32_t db = 0;
  uint32_t other_db = 0;
  ValueType type = ValueType::kString;
  int64_t expire_at_ms = 0;
  EncodingHint encoding = EncodingHint::kAuto;  // kPut: bits 6-7 of the type byte
  bool member_space = false;  // kPut, kDelete: a member record (kOpMemberSpace)
  bool keep_members = false;  // kDelete: kOpKeepMembers
  std::string_view key;
  std::string_view value;
};

// Appends the encoding of m to *out.
void EncodeMutation(const Mutation& m, std::string* out);
// Decodes; views in *m point into payload. Returns false if malformed.
bool DecodeMutation(std::string_view payload, Mutation* m);

// A batch payload: kMutationBatch, count:varint, then count length-prefixed mutation
// encodings. Starts *out afresh.
void EncodeMutationBatch(const std::vector<std::string>& encoded, size_t count, std::string* out);
// Calls fn with each mutation payload of a batch (false if malformed, or if payload is not a
// batch), or with payload itself when it is a single mutation.
bool ForEachMutationPayload(std::string_view payload,
                            const std::function<bool(std::string_view)>& fn);

}  // namespace organic::engine
