#include "engine/mutation.h"

#include "util/coding.h"

namespace organic::engine {

// Layout: u8 op | varint sequence | fields by op (all varints / length-prefixed strings):
//   kPut:       varint db | lp key | u8 type | varint expire-at | lp value
//   kDelete:    varint db | lp key
//   kSetExpire: varint db | lp key | varint expire-at
//   kFlushDb:   varint db
//   kFlushAll:  (nothing)
//   kSwapDb:    varint db | varint other_db
//   op flag bits: kOpMemberSpace (kPut, kDelete), kOpKeepMembers (kDelete)
void EncodeMutation(const Mutation& m, std::string* out) {
  out->push_back(static_cast<char>(static_cast<uint8_t>(m.op) |
                                   (m.member_space ? kOpMemberSpace : 0) |
                                   (m.keep_members ? kOpKeepMembers : 0)));
  PutVarint64(out, m.sequence);
  switch (m.op) {
    case MutationOp::kPut:
      PutVarint64(out, m.db);
      PutLengthPrefixed(out, m.key);
      out->push_back(static_cast<char>(static_cast<uint8_t>(m.type) |
                                       (static_cast<uint8_t>(m.encoding) << 6)));
      PutVarint64(out, static_cast<uint64_t>(m.expire_at_ms));
      PutLengthPrefixed(out, m.value);
      break;
    case MutationOp::kDelete:
      PutVarint64(out, m.db);
      PutLengthPrefixed(out, m.key);
      break;
    case MutationOp::kSetExpire:
      PutVarint64(out, m.db);
      PutLengthPrefixed(out, m.key);
      PutVarint64(out, static_cast<uint64_t>(m.expire_at_ms));
      break;
    case MutationOp::kFlushDb:
      PutVarint64(out, m.db);
      break;
    case MutationOp::kFlushAll:
      break;
    case MutationOp::kSwapDb:
      PutVarint64(out, m.db);
      PutVarint64(out, m.other_db);
      break;
  }
}

bool DecodeMutation(std::string_view payload, Mutation* m) {
  Decoder d(payload);
  uint8_t op;
  uint64_t v;
  if (!d.GetByte(&op) || !d.GetVarint(&m->sequence)) return false;
  m->op = static_cast<MutationOp>(op & kOpMask);
  m->member_space = (op & kOpMemberSpace) != 0;
  m->keep_members = (op & kOpKeepMembers) != 0;
  // The flags exist on the ops that take them only: anything else is damage.
  if (m->member_space && m->op != MutationOp::kPut && m->op != MutationOp::kDelete) return false;
  if (m->keep_members && m->op != MutationOp::kDelete) return false;
  auto get_db = [&](uint32_t* db) {
    if (!d.GetVarint(&v) || v > UINT32_MAX) return false;
    *db = static_cast<uint32_t>(v);
    return true;
  };
  switch (m->op) {
    case MutationOp::kPut: {
      uint8_t type;
      if (!get_db(&m->db) || !d.GetLengthPrefixed(&m->key) || !d.GetByte(&type) ||
          !d.GetVarint(&v) || !d.GetLengthPrefixed(&m->value)) {
        return false;
      }
      if ((type & 0x3f) > kMaxValueType) return false;
      m->type = static_cast<ValueType>(type & 0x3f);
      m->encoding = static_cast<EncodingHint>(type >> 6);
      if (m->encoding > EncodingHint::kEmbstr) return false;
      m->expire_at_ms = static_cast<int64_t>(v);
      break;
    }
    case MutationOp::kDelete:
      if (!get_db(&m->db) || !d.GetLengthPrefixed(&m->key)) return false;
      break;
    case MutationOp::kSetExpire:
      if (!get_db(&m->db) || !d.GetLengthPrefixed(&m->key) || !d.GetVarint(&v)) return false;
      m->expire_at_ms = static_cast<int64_t>(v);
      break;
    case MutationOp::kFlushDb:
      if (!get_db(&m->db)) return false;
      break;
    case MutationOp::kFlushAll:
      break;
    case MutationOp::kSwapDb:
      if (!get_db(&m->db) || !get_db(&m->other_db)) return false;
      break;
    default:
      return false;
  }
  return d.done();
}

void EncodeMutationBatch(const std::vector<std::string>& encoded, size_t count, std::string* out) {
  out->clear();
  out->push_back(static_cast<char>(kMutationBatch));
  PutVarint64(out, count);
  for (size_t i = 0; i < count; i++) PutLengthPrefixed(out, encoded[i]);
}

bool ForEachMutationPayload(std::string_view payload,
                            const std::function<bool(std::string_view)>& fn) {
  if (payload.empty() || static_cast<uint8_t>(payload[0]) != kMutationBatch) return fn(payload);
  Decoder d(payload.substr(1));
  uint64_t count = 0;
  if (!d.GetVarint(&count) || count == 0) return false;
  for (uint64_t i = 0; i < count; i++) {
    std::string_view one;
    if (!d.GetLengthPrefixed(&one) || !fn(one)) return false;
  }
  return d.done();
}

}  // namespace organic::engine
