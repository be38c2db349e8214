// The value of a collection's metadata record (types kHash and kSet; lists and sorted sets
// will follow the same layout) and the keys of its member records. Byte layout:
// docs/record-format.md, "Collections".
//
// A small collection lives *inline*: its entries are encoded in the metadata value itself, as
// Redis keeps a small hash in one listpack, so a hot 10-field hash is one MemTable entry. A
// large one lives in *member records*: one record per field or member, in the database's
// member space (Engine::MemberSpace), keyed by the collection's id, so changing one field of a
// 10-million-field hash writes two small records (the member and the metadata's count), and
// its cold members go to disk while its hot ones stay in memory.
//
// The encoding OBJECT ENCODING reports is kept apart from the storage: Redis 7.0 reports
// "hashtable" for a set of three strings, and never converts a hashtable back to a listpack
// when it shrinks. The reported encoding follows Redis's rules for the collection's history;
// the storage follows ours (kInlineMax*), so memory stays small whatever Redis would say.
//
// Invariants: a kMembers collection has count >= 1 and an id no other collection of any
// database has ever had (ids are sequence numbers, never reused, see Engine::NewCollectionId);
// member records with an id no metadata record holds are garbage that the engine drops
// (Engine's dead collections). An inline collection holds exactly `count` entries.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/record.h"

namespace organic::engine {

// What OBJECT ENCODING reports.
enum class CollectionEncoding : uint8_t { kListpack = 0, kHashtable = 1, kIntset = 2 };
const char* CollectionEncodingName(CollectionEncoding e);

enum class CollectionStorage : uint8_t { kInline = 0, kMembers = 1 };

// Inline storage holds at most this many entries and this many bytes of entries; past either
// the collection moves to member records. Independent of Redis's listpack thresholds, which
// only decide the reported encoding: rewriting an inline value costs its whole size per change.
inline constexpr uint64_t kInlineMaxEntries = 128;
inline constexpr size_t kInlineMaxBytes = 4096;

struct CollectionMeta {
  CollectionStorage storage = CollectionStorage::kInline;
  CollectionEncoding encoding = CollectionEncoding::kListpack;
  uint64_t count = 0;
  uint64_t id = 0;  // kMembers only
  // kInline only: `count` entries (a hash: field, value pairs; a set: members), each a
  // length-prefixed string. Points into the decoded value.
  std::string_view inline_entries;
};

// False if value is not a well-formed metadata value.
bool DecodeCollectionMeta(std::string_view value, CollectionMeta* out);
// The member-record id of a metadata value, 0 if it is inline or not a collection.
uint64_t MembersIdOf(ValueType type, std::string_view value);

void EncodeMembersMeta(CollectionEncoding encoding, uint64_t id, uint64_t count,
                       std::string* out);
// items: the entries in order (for a hash, 2 * count strings: field, value, ...).
void EncodeInlineMeta(CollectionEncoding encoding, uint64_t count,
                      const std::vector<std::string>& items, std::string* out);
// Splits inline_entries into its strings; false if malformed.
bool DecodeInlineItems(std::string_view entries, uint64_t strings, std::vector<std::string>* out);

// Ids of dead collections (sorted), as flushes and compactions get them: the member records
// of these ids are garbage and are dropped rather than written.
using DeadIds = std::shared_ptr<const std::vector<uint64_t>>;
// Whether key (a member-space key) belongs to a dead collection.
bool IsDeadMember(const DeadIds& dead, std::string_view key);

// Member record keys: id:u64 big-endian | kind:u8 | name. Big-endian so one collection's
// records are contiguous and ordered by name within a kind.
enum class MemberKind : uint8_t {
  kMember = 0,  // a hash field (value: the field's value) or a set member (value: empty)
  // 1: a sorted set's score index, 2: a list position (reserved for their issue).
};
inline constexpr size_t kMemberKeyPrefix = 9;
void AppendMemberKey(uint64_t id, MemberKind kind, std::string_view name, std::string* out);
std::string MemberKey(uint64_t id, MemberKind kind, std::string_view name);
// The first 9 bytes every record of (id, kind) starts with.
std::string MemberPrefix(uint64_t id, MemberKind kind);
// The id of a member key (0 if shorter than the prefix).
uint64_t MemberKeyId(std::string_view key);
// The name part of a member key. REQUIRES: key.size() >= kMemberKeyPrefix.
inline std::string_view MemberKeyName(std::string_view key) {
  return key.substr(kMemberKeyPrefix);
}

}  // namespace organic::engine
