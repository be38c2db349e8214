#include "commands/scan_cursors.h"

#include <random>

namespace organic::commands {

namespace {

constexpr uint64_t kIdMask = (1ull << 48) - 1;

// A bijection of [0, 2^48) that maps 0 to 0 (multiplication by an odd constant and
// xor-shifts are each invertible modulo 2^48), so distinct counters give distinct ids and a
// non-zero counter gives a non-zero id.
uint64_t Mix48(uint64_t x) {
  x &= kIdMask;
  x = (x * 0x9E3779B97F4Bull) & kIdMask;
  x ^= x >> 24;
  x = (x * 0xC2B2AE3D27D5ull) & kIdMask;
  x ^= x >> 21;
  return x;
}

}  // namespace

ScanCursorTable::ScanCursorTable(size_t max_entries, size_t max_key_bytes)
    : max_entries_(max_entries < 1 ? 1 : max_entries), max_key_bytes_(max_key_bytes) {
  std::random_device rd;
  counter_ = ((static_cast<uint64_t>(rd()) << 32) | rd()) & kIdMask;
}

uint64_t ScanCursorTable::NextId() {
  // Loops only in the (practically impossible) case of a wrap-around onto a live id.
  for (;;) {
    counter_ = (counter_ + 1) & kIdMask;
    if (counter_ == 0) continue;
    uint64_t id = Mix48(counter_);
    if (positions_.find(id) == positions_.end()) return id;
  }
}

void ScanCursorTable::EvictOldest() {
  uint64_t id = order_.front();
  order_.pop_front();
  auto it = positions_.find(id);
  key_bytes_ -= it->second.last_key.size();
  positions_.erase(it);
}

uint64_t ScanCursorTable::Save(int db, std::string_view last_key) {
  uint64_t id = NextId();
  positions_.emplace(id, Position{db, std::string(last_key)});
  order_.push_back(id);
  key_bytes_ += last_key.size();
  // Never evict the entry just saved (order_.size() > 1): the caller is about to return it.
  while (order_.size() > 1 && (order_.size() > max_entries_ || key_bytes_ > max_key_bytes_)) {
    EvictOldest();
  }
  return id;
}

bool ScanCursorTable::Lookup(uint64_t cursor, int db, std::string* last_key) const {
  auto it = positions_.find(cursor);
  if (it == positions_.end() || it->second.db != db) return false;
  last_key->assign(it->second.last_key);
  return true;
}

void ScanCursorTable::Clear() {
  positions_.clear();
  order_.clear();
  key_bytes_ = 0;
}

bool ParseScanCursor(std::string_view s, uint64_t* out) {
  size_t i = 0;
  bool negative = false;
  if (s.empty()) {
    *out = 0;  // strtoul("") converts nothing and leaves the end at '\0': Redis accepts it
    return true;
  }
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    i = 1;
  }
  if (i == s.size()) return false;  // a lone sign: no conversion, the end is not '\0'
  uint64_t value = 0;
  for (; i < s.size(); i++) {
    char c = s[i];
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;  // ERANGE
    value = value * 10 + digit;
  }
  *out = negative ? (~value + 1) : value;  // strtoul negates in unsigned arithmetic
  return true;
}

}  // namespace organic::commands
