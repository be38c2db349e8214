#include "engine/block_cache.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace organic::engine {
namespace {

std::shared_ptr<const std::string> Block(char fill, size_t size = 100) {
  return std::make_shared<const std::string>(size, fill);
}

// The charge of one block of `size` bytes.
uint64_t ChargeOf(size_t size = 100) { return size + BlockCache::kEntryOverhead; }

bool Holds(BlockCache* cache, uint64_t file, uint64_t offset) {
  return cache->Lookup(file, offset) != nullptr;
}

TEST_CASE("block cache: a hit returns the same bytes; misses and hits are counted") {
  BlockCache cache(1 << 20);
  CHECK(cache.Lookup(1, 0) == nullptr);
  auto block = std::make_shared<const std::string>("entries of block 4096");
  cache.Insert(1, 4096, block);
  auto hit = cache.Lookup(1, 4096);
  REQUIRE(hit != nullptr);
  CHECK(hit == block);  // the very block, no copy
  CHECK(*hit == "entries of block 4096");
  CHECK(cache.Lookup(1, 0) == nullptr);     // same file, other offset
  CHECK(cache.Lookup(2, 4096) == nullptr);  // same offset, other file
  CHECK(cache.hits() == 1);
  CHECK(cache.misses() == 3);
  cache.ResetStats();
  CHECK(cache.hits() == 0);
  CHECK(cache.misses() == 0);
  CHECK(cache.entries() == 1);  // statistics only
}

TEST_CASE("block cache: least recently used goes first; a lookup refreshes") {
  BlockCache cache(3 * ChargeOf());
  cache.Insert(1, 0, Block('a'));
  cache.Insert(1, 100, Block('b'));
  cache.Insert(1, 200, Block('c'));
  CHECK(cache.entries() == 3);
  REQUIRE(Holds(&cache, 1, 0));  // a is now the most recent: b is the oldest
  cache.Insert(1, 300, Block('d'));
  CHECK(cache.entries() == 3);
  CHECK_FALSE(Holds(&cache, 1, 100));
  // Recency now (oldest first): c, a, d; two more inserts evict c then a.
  cache.Insert(2, 0, Block('e'));
  CHECK_FALSE(Holds(&cache, 1, 200));
  CHECK(Holds(&cache, 1, 0));  // refreshed again: d is the oldest
  cache.Insert(2, 100, Block('f'));
  CHECK_FALSE(Holds(&cache, 1, 300));
  CHECK(*cache.Lookup(1, 0) == std::string(100, 'a'));
  CHECK(*cache.Lookup(2, 0) == std::string(100, 'e'));
  CHECK(*cache.Lookup(2, 100) == std::string(100, 'f'));
}

TEST_CASE("block cache: usage is the sum of the charges, replacements included") {
  BlockCache cache(1 << 20);
  CHECK(cache.usage() == 0);
  cache.Insert(1, 0, Block('a', 100));
  cache.Insert(1, 100, Block('b', 4000));
  CHECK(cache.usage() == ChargeOf(100) + ChargeOf(4000));
  CHECK(BlockCache::Charge(std::string(4000, 'x')) == ChargeOf(4000));
  // The same key again replaces the block and its charge.
  cache.Insert(1, 0, Block('z', 10));
  CHECK(cache.entries() == 2);
  CHECK(cache.usage() == ChargeOf(10) + ChargeOf(4000));
  CHECK(*cache.Lookup(1, 0) == std::string(10, 'z'));
  cache.Clear();
  CHECK(cache.usage() == 0);
  CHECK(cache.entries() == 0);
  CHECK_FALSE(Holds(&cache, 1, 100));
}

TEST_CASE("block cache: a block larger than the capacity is not kept") {
  BlockCache cache(2 * ChargeOf());
  cache.Insert(1, 0, Block('a'));
  cache.Insert(1, 100, Block('b', 1000));
  CHECK_FALSE(Holds(&cache, 1, 100));
  CHECK(Holds(&cache, 1, 0));  // and it evicted nothing
  CHECK(cache.usage() == ChargeOf());
}

TEST_CASE("block cache: shrinking the capacity evicts the oldest blocks down to it") {
  BlockCache cache(10 * ChargeOf());
  for (uint64_t i = 0; i < 10; i++) cache.Insert(7, i * 100, Block(static_cast<char>('a' + i)));
  CHECK(cache.usage() == 10 * ChargeOf());
  REQUIRE(Holds(&cache, 7, 0));  // the oldest becomes the newest
  cache.SetCapacity(4 * ChargeOf() + 1);
  CHECK(cache.capacity() == 4 * ChargeOf() + 1);
  CHECK(cache.entries() == 4);
  CHECK(cache.usage() == 4 * ChargeOf());
  // Kept: the 4 most recent, i.e. blocks 7, 8, 9 and the refreshed 0.
  for (uint64_t i : {0, 7, 8, 9}) CHECK(Holds(&cache, 7, i * 100));
  for (uint64_t i = 1; i < 7; i++) CHECK_FALSE(Holds(&cache, 7, i * 100));
  // Growing evicts nothing and makes room again.
  cache.SetCapacity(10 * ChargeOf());
  CHECK(cache.entries() == 4);
  cache.Insert(7, 100, Block('b'));
  CHECK(cache.entries() == 5);
  cache.SetCapacity(0);
  CHECK(cache.entries() == 0);
  CHECK(cache.usage() == 0);
  cache.Insert(7, 100, Block('b'));  // capacity 0 keeps nothing
  CHECK(cache.entries() == 0);
}

TEST_CASE("block cache: EraseFile drops that file's blocks only") {
  BlockCache cache(1 << 20);
  for (uint64_t i = 0; i < 5; i++) {
    cache.Insert(1, i * 100, Block('a'));
    cache.Insert(2, i * 100, Block('b', 50));
    cache.Insert(3, i * 100, Block('c'));
  }
  CHECK(cache.entries() == 15);
  cache.EraseFile(2);
  CHECK(cache.entries() == 10);
  CHECK(cache.usage() == 10 * ChargeOf());
  for (uint64_t i = 0; i < 5; i++) {
    CHECK_FALSE(Holds(&cache, 2, i * 100));
    CHECK(Holds(&cache, 1, i * 100));
    CHECK(Holds(&cache, 3, i * 100));
  }
  cache.EraseFile(2);  // nothing left of it: no-op
  cache.EraseFile(99);
  CHECK(cache.entries() == 10);
  // A file whose blocks were all evicted one by one leaves no list behind.
  for (uint64_t i = 0; i < 5; i++) REQUIRE(Holds(&cache, 3, i * 100));  // file 3 the newest
  cache.SetCapacity(5 * ChargeOf());  // evicts file 1
  CHECK(cache.entries() == 5);
  for (uint64_t i = 0; i < 5; i++) CHECK_FALSE(Holds(&cache, 1, i * 100));
  cache.EraseFile(1);
  CHECK(cache.entries() == 5);
  cache.SetCapacity(10 * ChargeOf());
  cache.Insert(1, 0, Block('n'));
  CHECK(*cache.Lookup(1, 0) == std::string(100, 'n'));
  // Erasing a file whose blocks sit at both ends of the recency order keeps the list intact:
  // recency is now 3/100 .. 3/400, 1/0, 3/0.
  REQUIRE(Holds(&cache, 3, 0));
  cache.EraseFile(3);
  CHECK(cache.entries() == 1);
  CHECK(cache.usage() == ChargeOf());
  cache.Insert(4, 0, Block('x'));
  cache.SetCapacity(ChargeOf());  // evicts the oldest, 1/0, through the repaired list
  CHECK_FALSE(Holds(&cache, 1, 0));
  CHECK(Holds(&cache, 4, 0));
}

TEST_CASE("block cache: a block in use survives its eviction") {
  BlockCache cache(ChargeOf());
  cache.Insert(1, 0, Block('a'));
  std::shared_ptr<const std::string> in_use = cache.Lookup(1, 0);
  REQUIRE(in_use != nullptr);
  cache.Insert(1, 100, Block('b'));  // evicts it
  CHECK_FALSE(Holds(&cache, 1, 0));
  cache.EraseFile(1);
  cache.Clear();
  CHECK(*in_use == std::string(100, 'a'));
}

TEST_CASE("block cache: concurrent lookups, inserts and erasures keep the accounting exact") {
  BlockCache cache(64 * ChargeOf());
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&cache, &wrong, t] {
      for (uint64_t i = 0; i < 20000; i++) {
        const uint64_t file = (i + static_cast<uint64_t>(t)) % 8;
        const uint64_t offset = (i * 7) % 32 * 100;
        auto block = cache.Lookup(file, offset);
        if (block == nullptr) {
          cache.Insert(file, offset, Block(static_cast<char>('a' + file)));
        } else if (*block != std::string(100, static_cast<char>('a' + file))) {
          ++wrong[t];
        }
        if (i % 997 == 0) cache.EraseFile(file);
        if (i % 4999 == 0) cache.SetCapacity((32 + i % 64) * ChargeOf());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int n : wrong) CHECK(n == 0);
  CHECK(cache.usage() == cache.entries() * ChargeOf());
  CHECK(cache.usage() <= cache.capacity());
  CHECK(cache.hits() + cache.misses() == 4 * 20000);
}

}  // namespace
}  // namespace organic::engine
