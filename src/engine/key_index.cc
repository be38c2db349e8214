#include "engine/key_index.h"

#include <cstring>

namespace organic::engine {

namespace {
inline uint64_t Rotl(uint64_t v, int s) { return (v << s) | (v >> (64 - s)); }
inline uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}
}  // namespace

uint64_t HashKey(std::string_view key) {
  const char* p = key.data();
  size_t n = key.size();
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (static_cast<uint64_t>(n) * 0xbf58476d1ce4e5b9ull);
  while (n >= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    h = Rotl(h ^ (v * 0x94d049bb133111ebull), 29) * 0xbf58476d1ce4e5b9ull;
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  if (n > 0) memcpy(&tail, p, n);
  h = Rotl(h ^ (tail * 0x94d049bb133111ebull), 29) * 0xbf58476d1ce4e5b9ull;
  return Mix(h);
}

KeyIndex::KeyIndex(KeyOf key_of) : key_of_(key_of) {}

void* KeyIndex::Find(std::string_view key, uint64_t hash) const {
  if (size_ == 0) return nullptr;
  uint64_t tag = Tag(hash);
  for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
    uint64_t slot = slots_[i];
    if (slot == 0) return nullptr;
    if ((slot & ~kPointerMask) == tag) {
      void* entry = PointerOf(slot);
      if (key_of_(entry) == key) return entry;
    }
  }
}

size_t KeyIndex::SlotOf(const void* entry, uint64_t hash) const {
  for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
    if (PointerOf(slots_[i]) == entry) return i;
  }
}

void KeyIndex::Insert(uint64_t hash, void* entry) {
  // Keep the load factor at or below 3/4.
  if ((size_ + 1) * 4 > slots_.size() * 3) Resize(slots_.empty() ? 16 : slots_.size() * 2);
  size_t i = hash & mask_;
  while (slots_[i] != 0) i = (i + 1) & mask_;
  slots_[i] = Tag(hash) | (reinterpret_cast<uint64_t>(entry) & kPointerMask);
  size_++;
}

void KeyIndex::Replace(uint64_t hash, const void* old, void* fresh) {
  size_t i = SlotOf(old, hash);
  slots_[i] = Tag(hash) | (reinterpret_cast<uint64_t>(fresh) & kPointerMask);
}

void KeyIndex::Erase(uint64_t hash, const void* entry) {
  size_t hole = SlotOf(entry, hash);
  slots_[hole] = 0;
  size_--;
  // Backward-shift: move later members of the probe run into the hole when their home slot
  // lies at or before it (cyclically), so lookups never stop early at the hole.
  for (size_t j = (hole + 1) & mask_; slots_[j] != 0; j = (j + 1) & mask_) {
    size_t home = HashKey(key_of_(PointerOf(slots_[j]))) & mask_;
    bool movable = (hole <= j) ? (home <= hole || home > j) : (home <= hole && home > j);
    if (movable) {
      slots_[hole] = slots_[j];
      slots_[j] = 0;
      hole = j;
    }
  }
  if (slots_.size() > 1024 && size_ * 8 < slots_.size()) Resize(slots_.size() / 2);
}

void KeyIndex::Clear() {
  std::vector<uint64_t>().swap(slots_);
  mask_ = 0;
  size_ = 0;
}

void KeyIndex::Resize(size_t capacity) {
  std::vector<uint64_t> old;
  old.swap(slots_);
  slots_.assign(capacity, 0);
  mask_ = capacity - 1;
  for (uint64_t slot : old) {
    if (slot == 0) continue;
    size_t i = HashKey(key_of_(PointerOf(slot))) & mask_;
    while (slots_[i] != 0) i = (i + 1) & mask_;
    slots_[i] = slot;
  }
}

}  // namespace organic::engine
