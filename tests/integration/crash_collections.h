// The crash test's model of hashes and sets (crash_test.cc): a collection's state is kept in
// KeyState::value as a canonical string (its entries sorted by name, each length-prefixed), so
// the test's comparisons, prefix checks and reports work on collections unchanged.
#pragma once

#include <map>
#include <string>

#include "server_process.h"

namespace organic::itest {

// name -> value (a set's values are empty).
using Coll = std::map<std::string, std::string>;

inline std::string EncodeColl(const Coll& c) {
  std::string out;
  for (const auto& [name, value] : c) {
    out += std::to_string(name.size()) + ":" + name + std::to_string(value.size()) + ":" + value;
  }
  return out;
}

inline Coll DecodeColl(const std::string& s) {
  Coll c;
  size_t p = 0;
  auto next = [&] {
    size_t colon = s.find(':', p);
    size_t n = std::stoul(s.substr(p, colon - p));
    std::string part = s.substr(colon + 1, n);
    p = colon + 1 + n;
    return part;
  };
  while (p < s.size()) {
    std::string name = next();
    c[name] = next();
  }
  return c;
}

// A hash field name of the model (a small pool, so writes hit existing fields); "cnt" is the
// one HINCRBY uses, never written otherwise.
inline std::string HashField(int j) { return "f" + std::to_string(j); }
// A set member, long enough that sets of a hundred move to member records (4 KiB inline).
inline std::string SetMember(int j) {
  std::string m = "member-" + std::to_string(j) + "-";
  m.resize(40, 'x');
  return m;
}

// The collection a reply (HGETALL, SMEMBERS) holds; *ok false if it is not an array.
inline Coll CollFromReply(const redisReply* r, bool pairs, bool* ok) {
  Coll c;
  *ok = r != nullptr && r->type == REDIS_REPLY_ARRAY;  // the test speaks RESP2
  if (!*ok) return c;
  for (size_t i = 0; i < r->elements; i += pairs ? 2 : 1) {
    const redisReply* name = r->element[i];
    std::string value;
    if (pairs && i + 1 < r->elements) value.assign(r->element[i + 1]->str, r->element[i + 1]->len);
    c[std::string(name->str, name->len)] = value;
  }
  return c;
}

}  // namespace organic::itest
