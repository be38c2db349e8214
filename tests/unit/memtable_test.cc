#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>

#include "engine/memtable.h"

using organic::engine::MemTable;
using organic::engine::ValueType;

namespace {
MemTable::Entry* Put(MemTable& t, const std::string& k, const std::string& v, int64_t exp = 0,
                     uint64_t seq = 1, uint8_t tier = 0) {
  return t.Upsert(k, seq, ValueType::kString, exp, v, organic::engine::EncodingHint::kAuto, tier);
}
}  // namespace

TEST_CASE("memtable: insert, find, overwrite, erase") {
  MemTable t;
  CHECK(t.Find("a") == nullptr);
  Put(t, "b", "2");
  Put(t, "a", "1");
  Put(t, "c", "3");
  CHECK(t.entry_count() == 3);
  REQUIRE(t.Find("a") != nullptr);
  CHECK(MemTable::Value(t.Find("a")) == "1");
  // Same-size overwrite happens in place; a different size replaces the entry.
  MemTable::Entry* before = t.Find("b");
  Put(t, "b", "X", 0, 7);
  CHECK(t.Find("b") == before);
  CHECK(MemTable::Sequence(t.Find("b")) == 7);
  Put(t, "b", "longer value", 0, 8);
  CHECK(MemTable::Value(t.Find("b")) == "longer value");
  CHECK(t.entry_count() == 3);
  CHECK(t.Erase("b"));
  CHECK_FALSE(t.Erase("b"));
  CHECK(t.Find("b") == nullptr);
  CHECK(t.entry_count() == 2);
}

TEST_CASE("memtable: expire flag toggling keeps value and access count") {
  MemTable t;
  Put(t, "k", "value");
  MemTable::BumpAccess(t.Find("k"));
  MemTable::BumpAccess(t.Find("k"));
  t.SetExpire("k", 2, 123456, 0);
  CHECK(MemTable::ExpireAt(t.Find("k")) == 123456);
  CHECK(MemTable::Value(t.Find("k")) == "value");
  CHECK(MemTable::AccessCount(t.Find("k")) == 2);
  t.SetExpire("k", 3, 0, 0);
  CHECK(MemTable::ExpireAt(t.Find("k")) == 0);
  CHECK(MemTable::AccessCount(t.Find("k")) == 2);
}

TEST_CASE("memtable: binary keys, empty key and value, ordered iteration") {
  MemTable t;
  std::string nul("a\0b", 3);
  Put(t, nul, std::string("\0\r\n", 3));
  Put(t, "", "");
  Put(t, "a", "x");
  REQUIRE(t.Find("") != nullptr);
  CHECK(MemTable::Value(t.Find("")).empty());
  CHECK(MemTable::Value(t.Find(nul)) == std::string("\0\r\n", 3));
  std::vector<std::string> keys;
  for (auto* e = t.First(); e != nullptr; e = MemTable::Next(e)) keys.emplace_back(MemTable::Key(e));
  CHECK(keys == std::vector<std::string>{"", "a", nul});
  CHECK(MemTable::Key(t.Seek("a", true)) == nul);
  CHECK(MemTable::Key(t.Seek("a", false)) == "a");
}

TEST_CASE("memtable: random operations agree with std::map") {
  MemTable t;
  std::map<std::string, std::string> model;
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; i++) {
    std::string k = "k" + std::to_string(rng() % 2000);
    int op = static_cast<int>(rng() % 3);
    if (op < 2) {
      std::string v(rng() % 40, static_cast<char>('a' + rng() % 26));
      Put(t, k, v, (rng() % 2) ? 1000 : 0, static_cast<uint64_t>(i + 1));
      model[k] = v;
    } else {
      CHECK(t.Erase(k) == (model.erase(k) == 1));
    }
  }
  CHECK(t.entry_count() == model.size());
  auto it = model.begin();
  for (auto* e = t.First(); e != nullptr; e = MemTable::Next(e), ++it) {
    REQUIRE(it != model.end());
    CHECK(MemTable::Key(e) == it->first);
    CHECK(MemTable::Value(e) == it->second);
  }
  CHECK(it == model.end());
  // The hash index agrees with the skip list for present and absent keys.
  for (int i = 0; i < 2000; i++) {
    std::string k = "k" + std::to_string(i);
    MemTable::Entry* e = t.Find(k);
    auto m = model.find(k);
    REQUIRE((e != nullptr) == (m != model.end()));
    if (e != nullptr) CHECK(MemTable::Value(e) == m->second);
  }
  std::minstd_rand r2(1);
  for (int i = 0; i < 100; i++) CHECK(t.RandomEntry(&r2) != nullptr);
  t.Clear();
  CHECK(t.entry_count() == 0);
  CHECK(t.memory_bytes() == 0);
  CHECK(t.RandomEntry(&r2) == nullptr);
}

// Eviction's sample quality rests on this: a biased draw lets the keys it draws least survive
// every round, so an LRU cache would evict recent keys instead.
TEST_CASE("memtable: RandomEntry is uniform, also in a sparse table") {
  MemTable t;
  const int kKeys = 1000;
  for (int i = 0; i < kKeys; i++) {
    std::string k = "key" + std::to_string(i);
    Put(t, k, "v", 0, static_cast<uint64_t>(i + 1));
  }
  auto draw_counts = [&t](int draws) {
    std::map<std::string, int> counts;
    std::minstd_rand rng(7);
    for (int d = 0; d < draws; d++) counts[std::string(MemTable::Key(t.RandomEntry(&rng)))]++;
    return counts;
  };
  // 200 draws per key expected; a binomial(200000, 1/1000) stays within 140..260 (over 4 sigma).
  std::map<std::string, int> counts = draw_counts(200 * kKeys);
  CHECK(counts.size() == static_cast<size_t>(kKeys));
  for (const auto& [key, n] : counts) {
    CHECK_MESSAGE(n > 140, key << " drawn " << n << " times");
    CHECK_MESSAGE(n < 260, key << " drawn " << n << " times");
  }
  // Delete all but 3 keys: the index keeps 1024+ slots for 3 entries (random slots mostly
  // miss, the exact fallback answers), and each survivor is still drawn about a third of the time.
  for (int i = 3; i < kKeys; i++) REQUIRE(t.Erase("key" + std::to_string(i)));
  counts = draw_counts(30000);
  REQUIRE(counts.size() == 3);
  for (const auto& [key, n] : counts) CHECK_MESSAGE(n > 9000, key << " drawn " << n << " times");
}

TEST_CASE("memtable: tier flags live beside sequence, height and expire, and survive rewrites") {
  MemTable t;
  const uint8_t all = MemTable::kTombstone | MemTable::kShadowsLive | MemTable::kShadowsVolatile |
                      MemTable::kClean;
  // Large sequence numbers: the flags must not bleed into the sequence or the height.
  const uint64_t seq = organic::engine::kMaxSequence;
  for (int i = 0; i < 200; i++) Put(t, "k" + std::to_string(i), "v", 0, seq, all);
  for (int i = 0; i < 200; i++) {
    MemTable::Entry* e = t.Find("k" + std::to_string(i));
    REQUIRE(e != nullptr);
    CHECK(MemTable::Tier(e) == all);
    CHECK(MemTable::Sequence(e) == seq);
    CHECK(MemTable::Type(e) == ValueType::kString);
    CHECK(MemTable::Encoding(e) == organic::engine::EncodingHint::kAuto);
  }
  CHECK(t.tombstone_count() == 200);
  // Walking the skip list still works (heights intact).
  size_t n = 0;
  for (MemTable::Entry* e = t.First(); e != nullptr; e = MemTable::Next(e)) n++;
  CHECK(n == 200);
  // In-place rewrite, reshaping rewrite and SetExpire replace the flags and keep the count exact.
  Put(t, "k1", "w", 0, 5, MemTable::kShadowsLive);
  CHECK(MemTable::Tier(t.Find("k1")) == MemTable::kShadowsLive);
  Put(t, "k2", "longer", 99, 6, MemTable::kClean);
  CHECK(MemTable::Tier(t.Find("k2")) == MemTable::kClean);
  CHECK(MemTable::ExpireAt(t.Find("k2")) == 99);
  t.SetExpire("k3", 7, 1234, MemTable::kShadowsVolatile);
  CHECK(MemTable::Tier(t.Find("k3")) == MemTable::kShadowsVolatile);
  CHECK(MemTable::ExpireAt(t.Find("k3")) == 1234);
  CHECK(t.tombstone_count() == 197);
  CHECK(t.Erase("k4"));
  CHECK(t.tombstone_count() == 196);
  CHECK(t.Erase("k1"));
  CHECK(t.tombstone_count() == 196);
  // SetTier swaps the flags in place and leaves everything else alone.
  MemTable::Entry* e = t.Find("k2");
  MemTable::SetAccess(e, 42);
  MemTable::SetTier(e, MemTable::kShadowsLive | MemTable::kShadowsVolatile);
  CHECK(MemTable::Tier(e) == (MemTable::kShadowsLive | MemTable::kShadowsVolatile));
  MemTable::SetTier(e, MemTable::kClean);
  CHECK(MemTable::Tier(e) == MemTable::kClean);
  CHECK(MemTable::Sequence(e) == 6);
  CHECK(MemTable::ExpireAt(e) == 99);
  CHECK(MemTable::Value(e) == "longer");
  CHECK(MemTable::AccessCount(e) == 42);
  CHECK(t.Find("k2") == e);
}
