#include "engine/collection_meta.h"

#include <algorithm>

#include "util/coding.h"

namespace organic::engine {

// Layout (docs/record-format.md, "Collections"):
//   header:u8   bits 0-1 storage, bits 2-3 reported encoding, bits 4-7 zero
//   kInline:    count:varint | count entries, each a length-prefixed string
//               (a hash's entry is two strings: field, value)
//   kMembers:   id:u64 big-endian | count:varint
namespace {
constexpr uint8_t kStorageMask = 0x3;

void PutBigEndian64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

uint64_t GetBigEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
}  // namespace

const char* CollectionEncodingName(CollectionEncoding e) {
  switch (e) {
    case CollectionEncoding::kListpack:
      return "listpack";
    case CollectionEncoding::kHashtable:
      return "hashtable";
    case CollectionEncoding::kIntset:
      return "intset";
  }
  return "unknown";
}

bool DecodeCollectionMeta(std::string_view value, CollectionMeta* out) {
  if (value.empty()) return false;
  const uint8_t header = static_cast<uint8_t>(value[0]);
  if ((header >> 4) != 0) return false;
  const uint8_t storage = header & kStorageMask;
  const uint8_t encoding = (header >> 2) & 0x3;
  if (storage > 1 || encoding > 2) return false;
  out->storage = static_cast<CollectionStorage>(storage);
  out->encoding = static_cast<CollectionEncoding>(encoding);
  Decoder d(value.substr(1));
  if (out->storage == CollectionStorage::kMembers) {
    if (value.size() < 9) return false;
    out->id = GetBigEndian64(value.data() + 1);
    Decoder rest(value.substr(9));
    if (!rest.GetVarint(&out->count) || !rest.done() || out->id == 0 || out->count == 0) {
      return false;
    }
    out->inline_entries = std::string_view();
    return true;
  }
  out->id = 0;
  if (!d.GetVarint(&out->count)) return false;
  out->inline_entries = d.rest();
  return true;
}

uint64_t MembersIdOf(ValueType type, std::string_view value) {
  if (!IsCollection(type) || value.size() < 9) return 0;
  if ((static_cast<uint8_t>(value[0]) & kStorageMask) !=
      static_cast<uint8_t>(CollectionStorage::kMembers)) {
    return 0;
  }
  return GetBigEndian64(value.data() + 1);
}

void EncodeMembersMeta(CollectionEncoding encoding, uint64_t id, uint64_t count,
                       std::string* out) {
  out->clear();
  out->push_back(static_cast<char>(static_cast<uint8_t>(CollectionStorage::kMembers) |
                                   (static_cast<uint8_t>(encoding) << 2)));
  PutBigEndian64(out, id);
  PutVarint64(out, count);
}

void EncodeInlineMeta(CollectionEncoding encoding, uint64_t count,
                      const std::vector<std::string>& items, std::string* out) {
  out->clear();
  out->push_back(static_cast<char>(static_cast<uint8_t>(CollectionStorage::kInline) |
                                   (static_cast<uint8_t>(encoding) << 2)));
  PutVarint64(out, count);
  for (const std::string& item : items) PutLengthPrefixed(out, item);
}

bool DecodeInlineItems(std::string_view entries, uint64_t strings,
                       std::vector<std::string>* out) {
  out->clear();
  Decoder d(entries);
  for (uint64_t i = 0; i < strings; i++) {
    std::string_view s;
    if (!d.GetLengthPrefixed(&s)) return false;
    out->emplace_back(s);
  }
  return d.done();
}

void AppendMemberKey(uint64_t id, MemberKind kind, std::string_view name, std::string* out) {
  PutBigEndian64(out, id);
  out->push_back(static_cast<char>(kind));
  out->append(name);
}

std::string MemberKey(uint64_t id, MemberKind kind, std::string_view name) {
  std::string out;
  out.reserve(kMemberKeyPrefix + name.size());
  AppendMemberKey(id, kind, name, &out);
  return out;
}

std::string MemberPrefix(uint64_t id, MemberKind kind) { return MemberKey(id, kind, {}); }

bool IsDeadMember(const DeadIds& dead, std::string_view key) {
  return dead != nullptr && !dead->empty() &&
         std::binary_search(dead->begin(), dead->end(), MemberKeyId(key));
}

uint64_t MemberKeyId(std::string_view key) {
  return key.size() < kMemberKeyPrefix ? 0 : GetBigEndian64(key.data());
}

}  // namespace organic::engine
