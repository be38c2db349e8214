#include "engine/memtable.h"

#include <cstdlib>
#include <cstring>

#include "util/coding.h"

namespace organic::engine {

// An Entry has no declared members: its bytes are laid out as below and reached only through
// the helpers in this file. `Entry*` points at the header word.
//   offset 0          u64 word = sequence << 16 | tier << 13 | height << 8 | type << 4 | flags
//                     flags: 0x1 has expire-at, bits 0x6 the EncodingHint, 0x8 clean
//                     tier (3 bits): 0x1 tombstone, 0x2 shadows-live, 0x4 shadows-volatile
//                     height: 5 bits (kMaxHeight 24)
//   offset 8          Entry* next[height]
//   offset 8+8h       atomic u32 access count
//   offset 12+8h      atomic u32 last access (Unix seconds; 0 = never stamped)
//   offset 16+8h      [i64 expire-at, only if flags & kHasExpire]
//   then              varint key length, varint value length, key bytes, value bytes
struct MemTable::Entry {};

namespace {

using Entry = MemTable::Entry;
constexpr uint8_t kHasExpire = 0x01;
constexpr uint8_t kEncodingMask = 0x06;  // EncodingHint << 1
// MemTable::TierFlag values are chosen so that kClean (0x8) is the low flag 0x8 and the other
// three (0x1, 0x2, 0x4) are the word's bits 13-15, above the 5-bit height.
constexpr uint8_t kTierLowMask = MemTable::kClean;
constexpr uint8_t kTierHighMask = MemTable::kTombstone | MemTable::kShadowsLive |
                                  MemTable::kShadowsVolatile;
inline uint8_t EncodingFlags(EncodingHint hint) { return static_cast<uint8_t>(static_cast<uint8_t>(hint) << 1); }

inline uint64_t Word(const Entry* e) {
  uint64_t w;
  memcpy(&w, e, 8);
  return w;
}
inline void SetWord(Entry* e, uint64_t w) { memcpy(e, &w, 8); }
inline int HeightOf(const Entry* e) { return static_cast<int>((Word(e) >> 8) & 0x1f); }
inline uint8_t FlagsOf(const Entry* e) { return static_cast<uint8_t>(Word(e) & 0xf); }
inline uint8_t TierOf(const Entry* e) {
  return static_cast<uint8_t>(((Word(e) >> 13) & kTierHighMask) | (Word(e) & kTierLowMask));
}
inline Entry** Links(const Entry* e) {
  return reinterpret_cast<Entry**>(reinterpret_cast<char*>(const_cast<Entry*>(e)) + 8);
}
inline std::atomic<uint32_t>* AccessPtr(const Entry* e) {
  return reinterpret_cast<std::atomic<uint32_t>*>(reinterpret_cast<char*>(const_cast<Entry*>(e)) +
                                                  8 + 8 * HeightOf(e));
}
inline std::atomic<uint32_t>* LastAccessPtr(const Entry* e) {
  return reinterpret_cast<std::atomic<uint32_t>*>(
      reinterpret_cast<char*>(const_cast<Entry*>(e)) + 12 + 8 * HeightOf(e));
}
inline const char* AfterAccess(const Entry* e) {
  return reinterpret_cast<const char*>(e) + 16 + 8 * HeightOf(e);
}
// Carries the access statistics of a replaced entry over to its replacement.
inline void CopyAccess(const Entry* from, Entry* to) {
  AccessPtr(to)->store(AccessPtr(from)->load(std::memory_order_relaxed),
                       std::memory_order_relaxed);
  LastAccessPtr(to)->store(LastAccessPtr(from)->load(std::memory_order_relaxed),
                           std::memory_order_relaxed);
}
// flags: kHasExpire | encoding bits; tier: MemTable::TierFlag bits.
inline uint64_t MakeWord(uint64_t sequence, int height, ValueType type, uint8_t flags,
                         uint8_t tier) {
  return (sequence << 16) | (static_cast<uint64_t>(tier & kTierHighMask) << 13) |
         (static_cast<uint64_t>(height) << 8) | (static_cast<uint64_t>(type) << 4) |
         ((flags & ~kTierLowMask) & 0xf) | (tier & kTierLowMask);
}

struct Payload {
  std::string_view key;
  std::string_view value;
};
inline Payload ReadPayload(const Entry* e) {
  const char* p = AfterAccess(e);
  if (FlagsOf(e) & kHasExpire) p += 8;
  uint64_t klen = 0, vlen = 0;
  p = DecodeVarint64(p, p + 10, &klen);
  p = DecodeVarint64(p, p + 10, &vlen);
  return Payload{std::string_view(p, klen), std::string_view(p + klen, vlen)};
}

inline int CompareKeys(std::string_view a, std::string_view b) {
  size_t n = a.size() < b.size() ? a.size() : b.size();
  int r = n == 0 ? 0 : memcmp(a.data(), b.data(), n);
  if (r != 0) return r;
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

size_t EntrySize(int height, bool has_expire, size_t klen, size_t vlen) {
  return 16 + 8 * static_cast<size_t>(height) + (has_expire ? 8 : 0) +
         static_cast<size_t>(VarintLength(klen) + VarintLength(vlen)) + klen + vlen;
}

}  // namespace

namespace {
std::string_view KeyOfEntry(const void* e) { return ReadPayload(static_cast<const Entry*>(e)).key; }
}  // namespace

MemTable::MemTable() : index_(KeyOfEntry), rng_(0x5eed) {
  head_ = NewEntry(kMaxHeight, std::string_view(), 0, ValueType::kString, 0, std::string_view(), 0,
                   0);
  for (int i = 0; i < kMaxHeight; i++) Links(head_)[i] = nullptr;
  entry_count_ = 0;
  memory_bytes_ = 0;
}

MemTable::~MemTable() {
  Clear();
  free(head_);
}

void MemTable::Clear() {
  Entry* e = Links(head_)[0];
  while (e != nullptr) {
    Entry* next = Links(e)[0];
    free(e);
    e = next;
  }
  for (int i = 0; i < kMaxHeight; i++) Links(head_)[i] = nullptr;
  index_.Clear();
  max_height_ = 1;
  entry_count_ = 0;
  tombstone_count_ = 0;
  memory_bytes_ = 0;
}

MemTable::Entry* MemTable::NewEntry(int height, std::string_view key, uint64_t sequence,
                                    ValueType type, int64_t expire_at_ms,
                                    std::string_view value, uint8_t extra_flags, uint8_t tier) {
  bool has_expire = expire_at_ms != 0;
  size_t size = EntrySize(height, has_expire, key.size(), value.size());
  char* mem = static_cast<char*>(malloc(size));
  if (mem == nullptr) abort();  // out of memory: the allocator is jemalloc, which never returns
                                // null short of address-space exhaustion.
  Entry* e = reinterpret_cast<Entry*>(mem);
  SetWord(e, MakeWord(sequence, height, type,
                     static_cast<uint8_t>((has_expire ? kHasExpire : 0) | extra_flags), tier));
  new (AccessPtr(e)) std::atomic<uint32_t>(0);
  new (LastAccessPtr(e)) std::atomic<uint32_t>(0);
  char* p = mem + 16 + 8 * height;
  if (has_expire) {
    memcpy(p, &expire_at_ms, 8);
    p += 8;
  }
  p = EncodeVarint64(p, key.size());
  p = EncodeVarint64(p, value.size());
  if (!key.empty()) memcpy(p, key.data(), key.size());
  if (!value.empty()) memcpy(p + key.size(), value.data(), value.size());
  memory_bytes_ += size;
  return e;
}

void MemTable::FreeEntry(Entry* e) {
  Payload pl = ReadPayload(e);
  memory_bytes_ -= EntrySize(HeightOf(e), FlagsOf(e) & kHasExpire, pl.key.size(), pl.value.size());
  free(e);
}

int MemTable::RandomHeight() {
  // Branching factor 4, as LevelDB: ~1.33 pointers per entry on average.
  int height = 1;
  while (height < kMaxHeight && (rng_() & 3) == 0) height++;
  return height;
}

MemTable::Entry* MemTable::FindGreaterOrEqual(std::string_view key, Entry** prev) const {
  Entry* x = head_;
  int level = max_height_ - 1;
  while (true) {
    Entry* next = Links(x)[level];
    if (next != nullptr) __builtin_prefetch(next);
    if (next != nullptr && CompareKeys(ReadPayload(next).key, key) < 0) {
      x = next;
    } else {
      if (prev != nullptr) prev[level] = x;
      if (level == 0) return next;
      level--;
    }
  }
}

MemTable::Entry* MemTable::Find(std::string_view key) const {
  return static_cast<Entry*>(index_.Find(key, HashKey(key)));
}

void MemTable::ReplaceLinked(Entry** prev, Entry* old, Entry* replacement) {
  index_.Replace(HashKey(ReadPayload(old).key), old, replacement);
  int height = HeightOf(old);
  for (int i = 0; i < height; i++) {
    Links(replacement)[i] = Links(old)[i];
    Links(prev[i])[i] = replacement;
  }
  FreeEntry(old);
}

MemTable::Entry* MemTable::Upsert(std::string_view key, uint64_t sequence, ValueType type,
                                  int64_t expire_at_ms, std::string_view value,
                                  EncodingHint encoding, uint8_t tier) {
  uint8_t extra = EncodingFlags(encoding);
  uint64_t hash = HashKey(key);
  Entry* e = static_cast<Entry*>(index_.Find(key, hash));
  if (e != nullptr) {
    Payload pl = ReadPayload(e);
    bool had_expire = FlagsOf(e) & kHasExpire;
    int height = HeightOf(e);
    tombstone_count_ += ((tier & kTombstone) ? 1 : 0) - ((TierOf(e) & kTombstone) ? 1 : 0);
    if (pl.value.size() == value.size() && had_expire == (expire_at_ms != 0)) {
      // Same shape: rewrite in place (no allocation, no skip-list walk).
      SetWord(e, MakeWord(sequence, height, type,
                          static_cast<uint8_t>((had_expire ? kHasExpire : 0) | extra), tier));
      if (had_expire) memcpy(const_cast<char*>(AfterAccess(e)), &expire_at_ms, 8);
      if (!value.empty()) memcpy(const_cast<char*>(pl.value.data()), value.data(), value.size());
      return e;
    }
    Entry* prev[kMaxHeight];
    FindGreaterOrEqual(key, prev);
    Entry* fresh = NewEntry(height, key, sequence, type, expire_at_ms, value, extra, tier);
    CopyAccess(e, fresh);
    ReplaceLinked(prev, e, fresh);
    return fresh;
  }
  Entry* prev[kMaxHeight];
  FindGreaterOrEqual(key, prev);
  int height = RandomHeight();
  if (height > max_height_) {
    for (int i = max_height_; i < height; i++) prev[i] = head_;
    max_height_ = height;
  }
  Entry* fresh = NewEntry(height, key, sequence, type, expire_at_ms, value, extra, tier);
  for (int i = 0; i < height; i++) {
    Links(fresh)[i] = Links(prev[i])[i];
    Links(prev[i])[i] = fresh;
  }
  index_.Insert(hash, fresh);
  entry_count_++;
  if (tier & kTombstone) tombstone_count_++;
  return fresh;
}

MemTable::Entry* MemTable::SetExpire(std::string_view key, uint64_t sequence,
                                     int64_t expire_at_ms, uint8_t tier) {
  Entry* e = Find(key);
  Payload pl = ReadPayload(e);
  bool had_expire = FlagsOf(e) & kHasExpire;
  int height = HeightOf(e);
  ValueType type = Type(e);
  uint8_t extra = FlagsOf(e) & kEncodingMask;
  tombstone_count_ += ((tier & kTombstone) ? 1 : 0) - ((TierOf(e) & kTombstone) ? 1 : 0);
  if (had_expire == (expire_at_ms != 0)) {
    SetWord(e, MakeWord(sequence, height, type,
                        static_cast<uint8_t>((had_expire ? kHasExpire : 0) | extra), tier));
    if (had_expire) memcpy(const_cast<char*>(AfterAccess(e)), &expire_at_ms, 8);
    return e;
  }
  Entry* prev[kMaxHeight];
  FindGreaterOrEqual(key, prev);
  Entry* fresh = NewEntry(height, key, sequence, type, expire_at_ms, pl.value, extra, tier);
  CopyAccess(e, fresh);
  ReplaceLinked(prev, e, fresh);
  return fresh;
}

bool MemTable::Erase(std::string_view key) {
  if (Find(key) == nullptr) return false;  // a miss costs no skip-list walk
  Entry* prev[kMaxHeight];
  Entry* e = FindGreaterOrEqual(key, prev);
  if (e == nullptr || ReadPayload(e).key != key) return false;
  int height = HeightOf(e);
  for (int i = 0; i < height; i++) Links(prev[i])[i] = Links(e)[i];
  index_.Erase(HashKey(key), e);
  if (TierOf(e) & kTombstone) tombstone_count_--;
  FreeEntry(e);
  entry_count_--;
  while (max_height_ > 1 && Links(head_)[max_height_ - 1] == nullptr) max_height_--;
  return true;
}

MemTable::Entry* MemTable::Seek(std::string_view target, bool exclusive) const {
  Entry* e = FindGreaterOrEqual(target, nullptr);
  if (exclusive && e != nullptr && ReadPayload(e).key == target) e = Links(e)[0];
  return e;
}

MemTable::Entry* MemTable::RandomEntry(std::minstd_rand* rng) const {
  // From the hash index, not the skip list: uniform over the entries in O(1) expected,
  // where a skip list without subtree sizes can only approximate it.
  return static_cast<Entry*>(index_.RandomEntry(rng));
}

MemTable::Entry* MemTable::First() const { return Links(head_)[0]; }
MemTable::Entry* MemTable::Next(const Entry* e) { return Links(e)[0]; }

std::string_view MemTable::Key(const Entry* e) { return ReadPayload(e).key; }
std::string_view MemTable::Value(const Entry* e) { return ReadPayload(e).value; }
ValueType MemTable::Type(const Entry* e) {
  return static_cast<ValueType>((Word(e) >> 4) & 0xf);
}
uint64_t MemTable::Sequence(const Entry* e) { return Word(e) >> 16; }
int64_t MemTable::ExpireAt(const Entry* e) {
  if (!(FlagsOf(e) & kHasExpire)) return 0;
  int64_t v;
  memcpy(&v, AfterAccess(e), 8);
  return v;
}
EncodingHint MemTable::Encoding(const Entry* e) {
  return static_cast<EncodingHint>((FlagsOf(e) & kEncodingMask) >> 1);
}
uint8_t MemTable::Tier(const Entry* e) { return TierOf(e); }
uint32_t MemTable::AccessCount(const Entry* e) {
  return AccessPtr(e)->load(std::memory_order_relaxed);
}
void MemTable::SetAccess(Entry* e, uint32_t count) {
  AccessPtr(e)->store(count, std::memory_order_relaxed);
}
void MemTable::SetTier(Entry* e, uint8_t tier) {
  constexpr uint64_t kTierBits = (static_cast<uint64_t>(kTierHighMask) << 13) | kTierLowMask;
  uint64_t w = Word(e) & ~kTierBits;
  w |= (static_cast<uint64_t>(tier & kTierHighMask) << 13) | (tier & kTierLowMask);
  SetWord(e, w);
}
uint32_t MemTable::LastAccess(const Entry* e) {
  return LastAccessPtr(e)->load(std::memory_order_relaxed);
}
void MemTable::Touch(Entry* e, uint32_t now_s) {
  LastAccessPtr(e)->store(now_s, std::memory_order_relaxed);
}
void MemTable::BumpAccess(Entry* e) {
  std::atomic<uint32_t>* a = AccessPtr(e);
  uint32_t v = a->load(std::memory_order_relaxed);
  if (v != UINT32_MAX) a->store(v + 1, std::memory_order_relaxed);
}
RecordView MemTable::View(const Entry* e) {
  Payload pl = ReadPayload(e);
  RecordView v;
  v.type = Type(e);
  v.expire_at_ms = ExpireAt(e);
  v.sequence = Sequence(e);
  v.access_count = AccessCount(e);
  v.encoding = Encoding(e);
  v.value = pl.value;
  return v;
}

}  // namespace organic::engine
