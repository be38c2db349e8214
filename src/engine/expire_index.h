// ExpireIndex: the keys of one database that carry a TTL, ordered by expire time, so the active
// expiry cycle finds due keys without scanning. Entries are validated lazily: changing or
// removing a key's TTL leaves a stale entry behind, which the cycle discards when it finds the
// key's current expire time differs. Compact() bounds the stale entries.
#pragma once

#include <cstdint>
#include <queue>
#include <string>
#include <vector>

namespace organic::engine {

class ExpireIndex {
 public:
  struct Item {
    int64_t expire_at_ms;
    std::string key;
    bool operator>(const Item& o) const { return expire_at_ms > o.expire_at_ms; }
  };

  void Add(int64_t expire_at_ms, std::string_view key) {
    heap_.push(Item{expire_at_ms, std::string(key)});
  }
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  const Item& top() const { return heap_.top(); }
  void Pop() { heap_.pop(); }
  void Clear() { heap_ = Heap(); }
  // Keeps only the items for which still_valid(item) is true.
  template <typename Pred>
  void Compact(Pred still_valid) {
    std::vector<Item> kept;
    while (!heap_.empty()) {
      Item item = std::move(const_cast<Item&>(heap_.top()));
      heap_.pop();
      if (still_valid(item)) kept.push_back(std::move(item));
    }
    heap_ = Heap(std::greater<Item>(), std::move(kept));
  }
  // Up to n items, earliest first is not guaranteed (for estimates such as avg_ttl).
  template <typename Fn>
  void Sample(size_t n, Fn fn) const {
    // priority_queue hides its container; a copy-free peek needs this accessor trick.
    struct Peek : Heap {
      static const std::vector<Item>& Of(const Heap& h) { return h.*(&Peek::c); }
    };
    const std::vector<Item>& items = Peek::Of(heap_);
    for (size_t i = 0; i < items.size() && i < n; i++) fn(items[i]);
  }

 private:
  using Heap = std::priority_queue<Item, std::vector<Item>, std::greater<Item>>;
  Heap heap_;
};

}  // namespace organic::engine
