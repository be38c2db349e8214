#include "engine/table_record.h"

#include "util/coding.h"

namespace organic::engine {

namespace {
constexpr uint8_t kTombstoneBit = 0x1;
constexpr uint8_t kExpireBit = 0x2;
}  // namespace

void EncodeTableRecord(const TableRecord& r, std::string* out) {
  uint8_t tag = static_cast<uint8_t>((r.tombstone ? kTombstoneBit : 0) |
                                     (r.expire_at_ms != 0 ? kExpireBit : 0) |
                                     ((static_cast<uint8_t>(r.encoding) & 0x3) << 2) |
                                     ((static_cast<uint8_t>(r.type) & 0xf) << 4));
  out->push_back(static_cast<char>(tag));
  PutVarint64(out, r.sequence);
  if (r.expire_at_ms != 0) PutVarint64(out, static_cast<uint64_t>(r.expire_at_ms));
  out->append(r.value);
}

bool DecodeTableRecord(std::string_view in, TableRecord* r) {
  if (in.empty()) return false;
  uint8_t tag = static_cast<uint8_t>(in[0]);
  const char* p = in.data() + 1;
  const char* limit = in.data() + in.size();
  p = DecodeVarint64(p, limit, &r->sequence);
  if (p == nullptr) return false;
  r->expire_at_ms = 0;
  if (tag & kExpireBit) {
    uint64_t e;
    p = DecodeVarint64(p, limit, &e);
    if (p == nullptr || e == 0) return false;
    r->expire_at_ms = static_cast<int64_t>(e);
  }
  r->tombstone = tag & kTombstoneBit;
  uint8_t encoding = (tag >> 2) & 0x3;
  uint8_t type = tag >> 4;
  if (encoding > static_cast<uint8_t>(EncodingHint::kEmbstr)) return false;
  if (type > kMaxValueType) return false;
  if (r->tombstone && (p != limit || (tag & kExpireBit))) return false;
  r->encoding = static_cast<EncodingHint>(encoding);
  r->type = static_cast<ValueType>(type);
  r->value = std::string_view(p, static_cast<size_t>(limit - p));
  return true;
}

}  // namespace organic::engine
