// Reply builders, a small RESP reader and keyspace helpers shared by the keyspace, SCAN and
// expiry command tests (keyspace_commands_test.cc, scan_commands_test.cc,
// expire_commands_test.cc). Expected replies are raw RESP2 bytes, as CommandHarness::Run
// returns them.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "command_harness.h"
#include "engine/engine.h"
#include "util/clock.h"

namespace organic::testing {

inline const std::string kOk = "+OK\r\n";
inline const std::string kNil = "$-1\r\n";

inline std::string Int(int64_t v) { return ":" + std::to_string(v) + "\r\n"; }
inline std::string Err(std::string_view msg) { return "-" + std::string(msg) + "\r\n"; }
inline std::string Bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
inline std::string Arr(const std::vector<std::string>& items) {
  std::string out = "*" + std::to_string(items.size()) + "\r\n";
  for (const std::string& s : items) out += Bulk(s);
  return out;
}

// A minimal RESP reader for the replies these commands produce.
class RespReader {
 public:
  explicit RespReader(const std::string& raw) : raw_(raw) {}
  bool Line(char type, std::string* out) {
    if (pos_ >= raw_.size() || raw_[pos_] != type) return false;
    size_t end = raw_.find("\r\n", pos_);
    if (end == std::string::npos) return false;
    out->assign(raw_, pos_ + 1, end - pos_ - 1);
    pos_ = end + 2;
    return true;
  }
  bool Bulk(std::string* out) {
    std::string len;
    if (!Line('$', &len)) return false;
    size_t n = std::stoul(len);
    if (pos_ + n + 2 > raw_.size()) return false;
    out->assign(raw_, pos_, n);
    pos_ += n + 2;
    return true;
  }
  bool BulkArray(std::vector<std::string>* out) {
    std::string len;
    if (!Line('*', &len)) return false;
    out->resize(std::stoul(len));
    for (std::string& s : *out) {
      if (!Bulk(&s)) return false;
    }
    return true;
  }
  bool AtEnd() const { return pos_ == raw_.size(); }

 private:
  std::string raw_;
  size_t pos_ = 0;
};

struct ScanReply {
  bool ok = false;
  std::string cursor;
  std::vector<std::string> keys;
};

inline ScanReply ParseScan(const std::string& raw) {
  ScanReply r;
  RespReader in(raw);
  std::string n;
  r.ok = in.Line('*', &n) && n == "2" && in.Bulk(&r.cursor) && in.BulkArray(&r.keys) && in.AtEnd();
  return r;
}

inline std::vector<std::string> SortedArray(const std::string& raw) {
  std::vector<std::string> items;
  RespReader in(raw);
  REQUIRE(in.BulkArray(&items));
  REQUIRE(in.AtEnd());
  std::sort(items.begin(), items.end());
  return items;
}

inline int64_t ReplyInt(const std::string& raw) {
  REQUIRE(raw.size() > 3);
  REQUIRE(raw[0] == ':');
  return std::stoll(raw.substr(1, raw.size() - 3));
}

// Puts a key whose TTL is already due but that no command has collected yet.
inline void PutExpired(CommandHarness& h, int db, const std::string& key) {
  h.engine().Put(db, key, engine::ValueType::kString, "stale", UnixTimeMs() - 1000);
}

// Runs SCAN to the end and returns every key returned (with repeats) and the number of calls.
inline std::vector<std::string> FullScan(CommandHarness& h, std::vector<std::string> options,
                                  int* calls = nullptr) {
  std::vector<std::string> all;
  std::string cursor = "0";
  int n = 0;
  do {
    std::vector<std::string> args = {"SCAN", cursor};
    args.insert(args.end(), options.begin(), options.end());
    ScanReply r = ParseScan(h.Run(args));
    REQUIRE(r.ok);
    cursor = r.cursor;
    all.insert(all.end(), r.keys.begin(), r.keys.end());
    REQUIRE(++n < 100000);
  } while (cursor != "0");
  if (calls != nullptr) *calls = n;
  return all;
}

}  // namespace organic::testing
