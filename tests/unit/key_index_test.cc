#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/key_index.h"

using organic::engine::HashKey;
using organic::engine::KeyIndex;

namespace {
// Entries are std::strings holding their own key.
std::string_view KeyOfString(const void* e) { return *static_cast<const std::string*>(e); }
}  // namespace

TEST_CASE("key index: insert, find, replace, erase with backward shift") {
  KeyIndex index(KeyOfString);
  std::map<std::string, std::unique_ptr<std::string>> model;
  std::mt19937 rng(7);
  for (int round = 0; round < 50000; round++) {
    std::string k = "key:" + std::to_string(rng() % 3000);
    uint64_t h = HashKey(k);
    auto it = model.find(k);
    switch (rng() % 3) {
      case 0:
        if (it == model.end()) {
          auto owned = std::make_unique<std::string>(k);
          index.Insert(h, owned.get());
          model[k] = std::move(owned);
        }
        break;
      case 1:
        if (it != model.end()) {
          auto fresh = std::make_unique<std::string>(k);
          index.Replace(h, it->second.get(), fresh.get());
          it->second = std::move(fresh);
        }
        break;
      default:
        if (it != model.end()) {
          index.Erase(h, it->second.get());
          model.erase(it);
        }
    }
  }
  CHECK(index.size() == model.size());
  for (int i = 0; i < 3000; i++) {
    std::string k = "key:" + std::to_string(i);
    void* found = index.Find(k, HashKey(k));
    auto it = model.find(k);
    if (it == model.end()) CHECK(found == nullptr);
    else CHECK(found == it->second.get());
  }
  // Shrinks back when emptied.
  for (auto& [k, v] : model) index.Erase(HashKey(k), v.get());
  CHECK(index.size() == 0);
  CHECK(index.Find("key:1", HashKey("key:1")) == nullptr);
}

TEST_CASE("key index: hash spreads short and binary keys") {
  CHECK(HashKey("a") != HashKey("b"));
  CHECK(HashKey("") != HashKey(std::string(1, '\0')));
  CHECK(HashKey("12345678") != HashKey("123456789"));
}
