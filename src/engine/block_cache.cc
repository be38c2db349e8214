#include "engine/block_cache.h"

#include <utility>

namespace organic::engine {

size_t BlockCache::KeyHash::operator()(const Key& k) const noexcept {
  // Offsets of one file differ in their low bits, file numbers are small: mix both so that
  // neither clusters in the buckets (the multiplier is the 64-bit golden ratio).
  uint64_t h = (k.file * 0x9e3779b97f4a7c15ull) ^ k.offset;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 32;
  return static_cast<size_t>(h);
}

BlockCache::BlockCache(uint64_t capacity_bytes) : capacity_(capacity_bytes) {
  lru_.lru_prev = &lru_;
  lru_.lru_next = &lru_;
}

BlockCache::~BlockCache() = default;

void BlockCache::UnlinkLru(Entry* e) {
  e->lru_prev->lru_next = e->lru_next;
  e->lru_next->lru_prev = e->lru_prev;
  e->lru_prev = e->lru_next = nullptr;
}

void BlockCache::LinkMostRecent(Entry* e) {
  e->lru_next = &lru_;
  e->lru_prev = lru_.lru_prev;
  lru_.lru_prev->lru_next = e;
  lru_.lru_prev = e;
}

void BlockCache::Remove(Entry* e) {
  UnlinkLru(e);
  if (e->file_prev != nullptr) {
    e->file_prev->file_next = e->file_next;
  } else if (e->file_next != nullptr) {
    files_[e->key.file] = e->file_next;
  } else {
    files_.erase(e->key.file);  // its last block
  }
  if (e->file_next != nullptr) e->file_next->file_prev = e->file_prev;
  usage_ -= e->charge;
  const Key key = e->key;  // e lives in the node being erased
  table_.erase(key);
}

void BlockCache::EvictToCapacity() {
  while (usage_ > capacity_) Remove(lru_.lru_next);  // usage_ > 0 implies a block is held
}

std::shared_ptr<const std::string> BlockCache::Lookup(uint64_t file, uint64_t offset) {
  std::lock_guard lock(mu_);
  auto it = table_.find(Key{file, offset});
  if (it == table_.end()) {
    misses_++;
    return nullptr;
  }
  hits_++;
  Entry* e = &it->second;
  UnlinkLru(e);
  LinkMostRecent(e);
  return e->block;
}

void BlockCache::Insert(uint64_t file, uint64_t offset, std::shared_ptr<const std::string> block) {
  const uint64_t charge = Charge(*block);
  std::lock_guard lock(mu_);
  const Key key{file, offset};
  auto old = table_.find(key);
  if (old != table_.end()) Remove(&old->second);
  if (charge > capacity_) return;
  Entry* e = &table_.try_emplace(key).first->second;
  e->key = key;
  e->block = std::move(block);
  e->charge = charge;
  LinkMostRecent(e);
  auto [head, inserted] = files_.try_emplace(file, e);
  if (!inserted) {
    e->file_next = head->second;
    head->second->file_prev = e;
    head->second = e;
  }
  usage_ += charge;
  EvictToCapacity();
}

void BlockCache::EraseFile(uint64_t file) {
  std::lock_guard lock(mu_);
  // Remove moves the file's list head to the next block, and drops it after the last.
  for (auto head = files_.find(file); head != files_.end(); head = files_.find(file)) {
    Remove(head->second);
  }
}

void BlockCache::Clear() {
  std::lock_guard lock(mu_);
  table_.clear();
  files_.clear();
  lru_.lru_prev = &lru_;
  lru_.lru_next = &lru_;
  usage_ = 0;
}

void BlockCache::SetCapacity(uint64_t capacity_bytes) {
  std::lock_guard lock(mu_);
  capacity_ = capacity_bytes;
  EvictToCapacity();
}

uint64_t BlockCache::capacity() const {
  std::lock_guard lock(mu_);
  return capacity_;
}

uint64_t BlockCache::usage() const {
  std::lock_guard lock(mu_);
  return usage_;
}

size_t BlockCache::entries() const {
  std::lock_guard lock(mu_);
  return table_.size();
}

uint64_t BlockCache::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

uint64_t BlockCache::misses() const {
  std::lock_guard lock(mu_);
  return misses_;
}

void BlockCache::ResetStats() {
  std::lock_guard lock(mu_);
  hits_ = 0;
  misses_ = 0;
}

}  // namespace organic::engine
