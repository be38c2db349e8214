// Crash safety with the tiering machinery busy all the time: a small MemTable budget makes the
// server flush to SSTables every few dozen writes and compact level 0 every few flushes, while
// client connections send a mixed write/delete load; the server is SIGKILLed at random moments
// (so kills land during flushes, SSTable writes, manifest updates and compactions), restarted
// on the same directory, and its content compared with a model of what was acknowledged.
//
// The model. Every key belongs to exactly one writer connection, so the order of the writes to a
// key is the order that connection sent them. A writer records each command it sends, with the
// state of every key it changes once it has run; a command counts as acknowledged when its
// (expected) reply arrived. With appendfsync always an acknowledged write is in the WAL, and a
// SIGKILL loses nothing the server wrote (the page cache survives a process crash), so after a
// restart each writer's commands must be visible as a prefix of what it sent: every
// acknowledged command, then possibly some of the unacknowledged ones, in order, with nothing
// after a gap. Per key this is the usual "acknowledged value, or one of the in-flight states";
// the prefix check additionally catches a later write surviving while an earlier one is lost,
// and a multi-key command (MSET, DEL k1 k2, RENAME) surviving only in part: Redis commands are
// atomic, so a restart shows all of a command or none of it.
//
// Reproduce a failure with ORGANIC_CRASH_SEED=<seed printed in the message> (the load and the
// kill schedule follow the seed; thread timing still varies, so a failure may take a few runs).
// With ORGANIC_CRASH_KEEP=<dir>, the data directory as the kill left it is copied to
// <dir>/data before every restart, and the server log to <dir>/server.log on a failure, for
// post-mortems (organic-check-wal; a server started on a copy of it shows the same content).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crash_collections.h"
#include "server_process.h"

namespace organic::itest {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kDefaultSeed = 20261124;
constexpr int kCycles = 80;  // about 28 s on a 2-core machine
// Keys "s:<i>" hold strings of 100-2000 bytes (growing by APPEND); keys "n:<i>" hold integers
// (INCR/INCRBY). About 2.5 MB of live data against a 64 KB MemTable budget: most keys live only
// in SSTables, so overwrites and deletes of on-disk keys are the common case.
constexpr int kStringKeys = 2400;
constexpr int kCounterKeys = 200;
// Keys "h:<i>" hold hashes and "t:<i>" sets (crash_collections.h), from a few entries (inline)
// to a few hundred (member records, which tier to disk on their own).
constexpr int kHashKeys = 120;
constexpr int kSetKeys = 120;
constexpr int kKeys = kStringKeys + kCounterKeys + kHashKeys + kSetKeys;
// A small set of keys written much more often (they stay hot and survive flushes in memory).
constexpr int kHotKeys = 64;
constexpr int kWriters = 2;
constexpr int kMaxPipeline = 40;
constexpr size_t kMaxValueBeforeSet = 3000;  // APPEND on a longer value becomes a SET

void SleepMs(int ms) { std::this_thread::sleep_for(milliseconds(ms)); }

enum class Kind { kString, kCounter, kHash, kSet };
Kind KindOf(int id) {
  if (id < kStringKeys) return Kind::kString;
  if (id < kStringKeys + kCounterKeys) return Kind::kCounter;
  return id < kStringKeys + kCounterKeys + kHashKeys ? Kind::kHash : Kind::kSet;
}
std::string KeyName(int id) {
  switch (KindOf(id)) {
    case Kind::kString:
      return "s:" + std::to_string(id);
    case Kind::kCounter:
      return "n:" + std::to_string(id - kStringKeys);
    case Kind::kHash:
      return "h:" + std::to_string(id - kStringKeys - kCounterKeys);
    case Kind::kSet:
      return "t:" + std::to_string(id - kStringKeys - kCounterKeys - kHashKeys);
  }
  return "";
}
bool IsCounter(int id) { return KindOf(id) == Kind::kCounter; }
// Keys are dealt to writers round-robin: a key's commands all go through one connection.
int OwnerOf(int id) { return id % kWriters; }

// What a client can observe of a key (a TTL is far in the future, so only its presence counts).
struct KeyState {
  bool exists = false;
  bool has_ttl = false;
  std::string value;
  bool operator==(const KeyState&) const = default;
};

// A key's state for failure reports: values start with a printable tag naming the write that
// made them ("w1c16n123|" = writer 1, cycle 16, its 123rd value); the random bytes that follow
// are shown escaped, and only the first few.
std::string Describe(const KeyState& s) {
  if (!s.exists) return "(absent)";
  std::string shown;
  for (size_t i = 0; i < s.value.size() && i < 20; i++) {
    const unsigned char ch = static_cast<unsigned char>(s.value[i]);
    if (ch >= 0x20 && ch < 0x7f) {
      shown += static_cast<char>(ch);
    } else {
      char hex[8];
      snprintf(hex, sizeof(hex), "\\x%02x", ch);
      shown += hex;
    }
  }
  std::ostringstream out;
  out << "\"" << shown << (s.value.size() > 20 ? "...\"" : "\"") << " (" << s.value.size()
      << " bytes" << (s.has_ttl ? ", with TTL" : "") << ")";
  return out.str();
}

// One command sent by a writer: what it changes and the reply that acknowledges it.
struct Op {
  enum class Reply { kOk, kInt, kBulk, kNil };
  std::string text;  // short description for failure reports ("SET s:12 <812 bytes> EX 90000")
  Reply reply = Reply::kOk;
  int64_t want_int = 0;
  std::string want_bulk;
  std::vector<std::pair<int, KeyState>> changes;  // key id, its state after this command
  bool is_delete = false;
};

// Counts over the whole run.
struct Totals {
  int64_t sent = 0;
  int64_t acked_writes = 0;   // acknowledged commands that set or modify a value
  int64_t acked_deletes = 0;  // acknowledged DEL/GETDEL commands
  int64_t in_doubt = 0;       // sent, not acknowledged when the server was killed
  int64_t in_doubt_applied = 0;  // ... of which the restarted server showed
};

// A connection that sends a random mixed load on the keys it owns until the server dies.
// The thread that runs Run() owns everything here until it is joined.
class Writer {
 public:
  Writer(int index, uint64_t seed, int cycle, const std::string* pool, std::vector<KeyState>* sent,
         RedisContextPtr context)
      : index_(index),
        cycle_(cycle),
        rng_(seed * 1000003 + static_cast<uint64_t>(cycle) * kWriters + index),
        pool_(pool),
        sent_(sent),
        c_(std::move(context)) {
    for (int id = 0; id < kKeys; id++) {
      if (OwnerOf(id) != index) continue;
      if (KindOf(id) == Kind::kHash || KindOf(id) == Kind::kSet) {
        (KindOf(id) == Kind::kHash ? hashes_ : sets_).push_back(id);
        continue;
      }
      (IsCounter(id) ? counters_ : strings_).push_back(id);
      if (id % kStringKeys < kHotKeys) (IsCounter(id) ? hot_counters_ : hot_strings_).push_back(id);
    }
  }

  // Sends batches (1 command, or a pipeline of up to kMaxPipeline) and checks every reply,
  // until a reply is missing (the server was killed) or stop is set.
  void Run(const std::atomic<bool>& stop) {
    while (!stop.load()) {
      const int batch = rng_() % 10 < 3 ? 1 : 2 + static_cast<int>(rng_() % (kMaxPipeline - 1));
      const size_t first = ops_.size();
      for (int i = 0; i < batch; i++) {
        Op op = NextOp();
        for (const auto& [id, after] : op.changes) (*sent_)[id] = after;
        ops_.push_back(std::move(op));
      }
      for (size_t i = first; i < ops_.size(); i++) {
        RedisReplyPtr r = GetReply(c_.get());
        if (r == nullptr) return;  // the server died: ops_[i..] are in doubt
        if (!ReplyMatches(ops_[i], r.get())) {
          error_ = ops_[i].text + " -> " + FormatReply(r.get()).substr(0, 100);
          return;
        }
        acked_++;
      }
    }
  }

  int index() const { return index_; }
  const std::vector<Op>& ops() const { return ops_; }
  size_t acked() const { return acked_; }
  const std::string& error() const { return error_; }

 private:
  static bool ReplyMatches(const Op& op, const redisReply* r) {
    switch (op.reply) {
      case Op::Reply::kOk:
        return r->type == REDIS_REPLY_STATUS && std::string(r->str, r->len) == "OK";
      case Op::Reply::kInt:
        return r->type == REDIS_REPLY_INTEGER && r->integer == op.want_int;
      case Op::Reply::kBulk:
        return r->type == REDIS_REPLY_STRING && std::string(r->str, r->len) == op.want_bulk;
      case Op::Reply::kNil:
        return r->type == REDIS_REPLY_NIL;
    }
    return false;
  }

  // A third of the commands go to the few hot keys, the rest anywhere.
  int Pick(const std::vector<int>& ids, const std::vector<int>& hot) {
    if (rng_() % 3 == 0 && !hot.empty()) return hot[rng_() % hot.size()];
    return ids[rng_() % ids.size()];
  }

  // A value unique to this write (so old and new states are told apart), random bytes
  // (including \0 and \r\n) from the shared pool, 100-2000 bytes long.
  std::string NewValue(size_t min_len, size_t max_len) {
    std::string v = "w" + std::to_string(index_) + "c" + std::to_string(cycle_) + "n" +
                    std::to_string(serial_++) + "|";
    size_t len = min_len + rng_() % (max_len - min_len + 1);
    size_t offset = rng_() % (pool_->size() - len);
    v.append(*pool_, offset, len);
    return v;
  }

  void Send(Op* op, const std::vector<std::string>& args) {
    AppendCommand(c_.get(), args);
    if (op->text.empty()) {
      for (const std::string& a : args) {
        op->text += (op->text.empty() ? "" : " ") +
                    (a.size() > 24 ? "<" + std::to_string(a.size()) + " bytes>" : a);
      }
    }
  }

  Op NextOp() {
    Op op;
    const int roll = static_cast<int>(rng_() % 100);
    const int family = static_cast<int>(rng_() % 100);
    if (family < 15) return NextHashOp(roll);
    if (family < 30) return NextSetOp(roll);
    if (rng_() % 10 == 0) {  // counters: 10% of the commands
      const int id = Pick(counters_, hot_counters_);
      const std::string key = KeyName(id);
      KeyState s = (*sent_)[id];
      const int64_t current = s.exists ? std::stoll(s.value) : 0;
      if (roll < 25) {
        op.is_delete = true;
        op.reply = Op::Reply::kInt;
        op.want_int = s.exists ? 1 : 0;
        Send(&op, {"DEL", key});
        s = KeyState();
      } else if (roll < 40) {
        const int64_t v = static_cast<int64_t>(rng_() % 2000000) - 1000000;
        const bool ttl = rng_() % 3 == 0;
        if (ttl) {
          Send(&op, {"SET", key, std::to_string(v), "EX", std::to_string(50000 + rng_() % 50000)});
        } else {
          Send(&op, {"SET", key, std::to_string(v)});
        }
        s = KeyState{true, ttl, std::to_string(v)};
      } else if (roll < 60) {
        op.reply = Op::Reply::kInt;
        op.want_int = current + 1;
        Send(&op, {"INCR", key});
        s = KeyState{true, s.exists && s.has_ttl, std::to_string(current + 1)};
      } else {
        const int64_t delta = static_cast<int64_t>(rng_() % 2001) - 1000;
        op.reply = Op::Reply::kInt;
        op.want_int = current + delta;
        Send(&op, {"INCRBY", key, std::to_string(delta)});
        s = KeyState{true, s.exists && s.has_ttl, std::to_string(current + delta)};
      }
      op.changes.emplace_back(id, s);
      return op;
    }
    const int id = Pick(strings_, hot_strings_);
    const std::string key = KeyName(id);
    KeyState s = (*sent_)[id];
    if (roll < 38) {
      std::string v = NewValue(100, 2000);
      Send(&op, {"SET", key, v});
      op.changes.emplace_back(id, KeyState{true, false, std::move(v)});
    } else if (roll < 48) {
      std::string v = NewValue(100, 2000);
      Send(&op, {"SET", key, v, "EX", std::to_string(50000 + rng_() % 50000)});
      op.changes.emplace_back(id, KeyState{true, true, std::move(v)});
    } else if (roll < 58 && !(s.exists && s.value.size() > kMaxValueBeforeSet)) {
      std::string suffix = NewValue(10, 200);
      s.value += suffix;
      s.has_ttl = s.exists && s.has_ttl;
      s.exists = true;
      op.reply = Op::Reply::kInt;
      op.want_int = static_cast<int64_t>(s.value.size());
      Send(&op, {"APPEND", key, suffix});
      op.changes.emplace_back(id, s);
    } else if (roll < 80) {
      op.is_delete = true;
      op.reply = Op::Reply::kInt;
      op.want_int = s.exists ? 1 : 0;
      Send(&op, {"DEL", key});
      op.changes.emplace_back(id, KeyState());
    } else if (roll < 85) {
      op.is_delete = true;
      op.reply = s.exists ? Op::Reply::kBulk : Op::Reply::kNil;
      op.want_bulk = s.value;
      Send(&op, {"GETDEL", key});
      op.changes.emplace_back(id, KeyState());
    } else if (roll < 91) {
      // DEL of 2-3 distinct keys in one command.
      std::set<int> ids = {id};
      const size_t n = 2 + rng_() % 2;
      while (ids.size() < n) ids.insert(Pick(strings_, hot_strings_));
      std::vector<std::string> args = {"DEL"};
      op.is_delete = true;
      op.reply = Op::Reply::kInt;
      for (int k : ids) {
        args.push_back(KeyName(k));
        if ((*sent_)[k].exists) op.want_int++;
        op.changes.emplace_back(k, KeyState());
      }
      Send(&op, args);
    } else if (roll < 94 && s.exists) {
      // RENAME to another key (which it overwrites): two keys change in one command.
      int to = id;
      while (to == id) to = Pick(strings_, hot_strings_);
      Send(&op, {"RENAME", key, KeyName(to)});
      op.changes.emplace_back(id, KeyState());
      op.changes.emplace_back(to, s);
    } else {
      // MSET of 2-3 distinct keys (it clears their TTLs).
      std::set<int> ids = {id};
      const size_t n = 2 + rng_() % 2;
      while (ids.size() < n) ids.insert(Pick(strings_, hot_strings_));
      std::vector<std::string> args = {"MSET"};
      for (int k : ids) {
        std::string v = NewValue(100, 1000);
        args.push_back(KeyName(k));
        args.push_back(v);
        op.changes.emplace_back(k, KeyState{true, false, std::move(v)});
      }
      Send(&op, args);
    }
    return op;
  }

  // Another key of ids than id (ids.size() >= 2).
  int Other(const std::vector<int>& ids, int id) {
    int to = id;
    while (to == id) to = ids[rng_() % ids.size()];
    return to;
  }

  // A collection's state after a change: deleted when empty, its TTL kept otherwise.
  static KeyState CollState(const KeyState& before, const Coll& c) {
    if (c.empty()) return KeyState();
    return KeyState{true, before.exists && before.has_ttl, EncodeColl(c)};
  }

  Op NextHashOp(int roll) {
    Op op;
    const int id = hashes_[rng_() % hashes_.size()];
    const std::string key = KeyName(id);
    const KeyState s = (*sent_)[id];
    Coll h = s.exists ? DecodeColl(s.value) : Coll();
    op.reply = Op::Reply::kInt;
    if (roll < 45) {
      // HSET of 1-3 fields, or of 20-40 (hashes grow into member records).
      const int n = roll < 35 ? 1 + static_cast<int>(rng_() % 3) : 20 + static_cast<int>(rng_() % 21);
      std::vector<std::string> args = {"HSET", key};
      std::map<std::string, std::string> fields;
      for (int i = 0; i < n; i++) fields[HashField(static_cast<int>(rng_() % 80))] = NewValue(60, 180);
      for (const auto& [f, v] : fields) {
        args.push_back(f);
        args.push_back(v);
        if (h.count(f) == 0) op.want_int++;
        h[f] = v;
      }
      Send(&op, args);
    } else if (roll < 65) {
      std::vector<std::string> args = {"HDEL", key};
      std::set<std::string> fields;
      const int n = 1 + static_cast<int>(rng_() % 3);
      for (int i = 0; i < n; i++) {
        fields.insert(!h.empty() && rng_() % 2 == 0 ? std::next(h.begin(), static_cast<long>(rng_() % h.size()))->first
                                                    : HashField(static_cast<int>(rng_() % 80)));
      }
      for (const std::string& f : fields) {
        if (f == "cnt") continue;
        args.push_back(f);
        op.want_int += static_cast<int64_t>(h.erase(f));
      }
      if (args.size() == 2) args.push_back("nosuch");
      op.is_delete = h.empty() && s.exists;
      Send(&op, args);
    } else if (roll < 72) {
      const int64_t delta = static_cast<int64_t>(rng_() % 2001) - 1000;
      const int64_t now = h.count("cnt") ? std::stoll(h["cnt"]) + delta : delta;
      op.want_int = now;
      h["cnt"] = std::to_string(now);
      Send(&op, {"HINCRBY", key, "cnt", std::to_string(delta)});
    } else if (roll < 80) {
      op.is_delete = true;
      op.want_int = s.exists ? 1 : 0;
      h.clear();
      Send(&op, {"DEL", key});
    } else if (roll < 88) {
      op.want_int = s.exists ? 1 : 0;
      Send(&op, {"EXPIRE", key, std::to_string(50000 + rng_() % 50000)});
      op.changes.emplace_back(id, s.exists ? KeyState{true, true, s.value} : KeyState());
      return op;
    } else {
      // RENAME (O(1): the member records keep their id) or COPY REPLACE (a copy of them).
      const int to = Other(hashes_, id);
      if (!s.exists || rng_() % 2 == 0) {
        op.want_int = s.exists ? 1 : 0;
        Send(&op, {"COPY", key, KeyName(to), "REPLACE"});
        if (s.exists) op.changes.emplace_back(to, s);
        return op;
      }
      op.reply = Op::Reply::kOk;
      Send(&op, {"RENAME", key, KeyName(to)});
      op.changes.emplace_back(id, KeyState());
      op.changes.emplace_back(to, s);
      return op;
    }
    op.changes.emplace_back(id, CollState(s, h));
    return op;
  }

  Op NextSetOp(int roll) {
    Op op;
    const int id = sets_[rng_() % sets_.size()];
    const std::string key = KeyName(id);
    const KeyState s = (*sent_)[id];
    Coll t = s.exists ? DecodeColl(s.value) : Coll();
    op.reply = Op::Reply::kInt;
    if (roll < 45) {
      const int n = roll < 35 ? 1 + static_cast<int>(rng_() % 4) : 30 + static_cast<int>(rng_() % 31);
      std::vector<std::string> args = {"SADD", key};
      std::set<std::string> members;
      for (int i = 0; i < n; i++) members.insert(SetMember(static_cast<int>(rng_() % 200)));
      for (const std::string& m : members) {
        args.push_back(m);
        op.want_int += t.emplace(m, "").second ? 1 : 0;
      }
      Send(&op, args);
    } else if (roll < 62) {
      std::vector<std::string> args = {"SREM", key};
      std::set<std::string> members;
      const int n = 1 + static_cast<int>(rng_() % 3);
      for (int i = 0; i < n; i++) {
        members.insert(!t.empty() && rng_() % 2 == 0 ? std::next(t.begin(), static_cast<long>(rng_() % t.size()))->first
                                                     : SetMember(static_cast<int>(rng_() % 200)));
      }
      for (const std::string& m : members) {
        args.push_back(m);
        op.want_int += static_cast<int64_t>(t.erase(m));
      }
      op.is_delete = t.empty() && s.exists;
      Send(&op, args);
    } else if (roll < 72) {
      // SMOVE: two sets change in one command.
      const int to = Other(sets_, id);
      KeyState d = (*sent_)[to];
      Coll dst = d.exists ? DecodeColl(d.value) : Coll();
      const std::string m = !t.empty() && rng_() % 4 != 0
                                ? std::next(t.begin(), static_cast<long>(rng_() % t.size()))->first
                                : SetMember(static_cast<int>(rng_() % 200));
      op.want_int = static_cast<int64_t>(t.erase(m));
      Send(&op, {"SMOVE", key, KeyName(to), m});
      if (op.want_int == 1) {
        dst[m] = "";
        op.changes.emplace_back(id, CollState(s, t));
        op.changes.emplace_back(to, CollState(d, dst));
      }
      return op;
    } else if (roll < 80) {
      op.is_delete = true;
      op.want_int = s.exists ? 1 : 0;
      t.clear();
      Send(&op, {"DEL", key});
    } else if (roll < 90) {
      // SUNIONSTORE into this key from two others: the destination is replaced, TTL gone.
      const int a = Other(sets_, id);
      int b = Other(sets_, id);
      Coll u;
      for (int src : {a, b}) {
        if ((*sent_)[src].exists) {
          for (const auto& [m, v] : DecodeColl((*sent_)[src].value)) u[m] = v;
        }
      }
      op.want_int = static_cast<int64_t>(u.size());
      op.is_delete = u.empty();
      Send(&op, {"SUNIONSTORE", key, KeyName(a), KeyName(b)});
      op.changes.emplace_back(id, u.empty() ? KeyState() : KeyState{true, false, EncodeColl(u)});
      return op;
    } else {
      op.want_int = s.exists ? 1 : 0;
      Send(&op, {"EXPIRE", key, std::to_string(50000 + rng_() % 50000)});
      op.changes.emplace_back(id, s.exists ? KeyState{true, true, s.value} : KeyState());
      return op;
    }
    op.changes.emplace_back(id, CollState(s, t));
    return op;
  }

  const int index_;
  const int cycle_;
  std::mt19937_64 rng_;
  const std::string* pool_;
  std::vector<KeyState>* sent_;  // state after every sent command; this writer's keys only
  RedisContextPtr c_;
  std::vector<int> strings_, counters_;  // the keys this writer owns
  std::vector<int> hot_strings_, hot_counters_;
  std::vector<int> hashes_, sets_;
  std::vector<Op> ops_;                  // every command sent, in order
  size_t acked_ = 0;                     // ops_[0, acked_) were acknowledged
  std::string error_;                    // an unexpected reply, if any
  uint64_t serial_ = 0;
};

// Reads every key's state (GET, PTTL and EXISTS, pipelined). Inconsistencies between the
// three replies are appended to *problems.
std::vector<KeyState> ReadAll(redisContext* c, std::vector<std::string>* problems) {
  for (int id = 0; id < kKeys; id++) {
    const std::string key = KeyName(id);
    const Kind kind = KindOf(id);
    AppendCommand(c, {kind == Kind::kHash ? "HGETALL" : kind == Kind::kSet ? "SMEMBERS" : "GET",
                      key});
    AppendCommand(c, {"PTTL", key});
    AppendCommand(c, {"EXISTS", key});
  }
  std::vector<KeyState> states(kKeys);
  for (int id = 0; id < kKeys; id++) {
    RedisReplyPtr get = GetReply(c), pttl = GetReply(c), exists = GetReply(c);
    if (get == nullptr || pttl == nullptr || exists == nullptr) {
      problems->push_back("connection lost while reading the keys: " + FormatReply(nullptr, c));
      break;
    }
    KeyState& s = states[id];
    if (KindOf(id) == Kind::kHash || KindOf(id) == Kind::kSet) {
      bool ok = false;
      Coll coll = CollFromReply(get.get(), KindOf(id) == Kind::kHash, &ok);
      if (!ok) problems->push_back(KeyName(id) + " -> " + FormatReply(get.get()).substr(0, 80));
      s.exists = !coll.empty();
      if (s.exists) s.value = EncodeColl(coll);
    } else if (get->type == REDIS_REPLY_STRING) {
      s.exists = true;
      s.value.assign(get->str, get->len);
    } else if (get->type != REDIS_REPLY_NIL) {
      problems->push_back("GET " + KeyName(id) + " -> " + FormatReply(get.get()));
    }
    const int64_t ttl = pttl->type == REDIS_REPLY_INTEGER ? pttl->integer : INT64_MIN;
    s.has_ttl = ttl > 0;
    const int64_t ex = exists->type == REDIS_REPLY_INTEGER ? exists->integer : INT64_MIN;
    if (ex != (s.exists ? 1 : 0) || (s.exists ? ttl == -2 || ttl == 0 || ttl < -2 : ttl != -2)) {
      problems->push_back(KeyName(id) + ": GET " + FormatReply(get.get()).substr(0, 40) +
                          " but EXISTS " + FormatReply(exists.get()) + ", PTTL " +
                          FormatReply(pttl.get()));
    }
  }
  return states;
}

// All keys SCAN returns (COUNT 500 per call); *ok is false on an unexpected reply.
std::set<std::string> ScanAll(redisContext* c, bool* ok) {
  std::set<std::string> keys;
  std::string cursor = "0";
  *ok = true;
  for (int calls = 0; calls < 100000; calls++) {
    RedisReplyPtr r = Command(c, {"SCAN", cursor, "COUNT", "500"});
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
      *ok = false;
      return keys;
    }
    for (size_t i = 0; i < r->element[1]->elements; i++) {
      const redisReply* k = r->element[1]->element[i];
      keys.emplace(k->str, k->len);
    }
    cursor.assign(r->element[0]->str, r->element[0]->len);
    if (cursor == "0") return keys;
  }
  *ok = false;
  return keys;
}

// Lines of a server log that tell of a failure (fatal start-up errors, failed flushes,
// compactions, manifest or WAL writes, disk reads).
std::string BadLogLines(const std::string& log) {
  std::string bad;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find("Fatal") != std::string::npos || line.find("failed") != std::string::npos ||
        line.find("FATAL") != std::string::npos) {
      bad += line + "\n";
    }
  }
  return bad;
}

// The organic_* figures read just before a kill.
struct TieringSnapshot {
  bool ok = false;
  bool flush_in_progress = false;
  bool compaction_in_progress = false;
  int64_t flushes = 0, compactions = 0, sstables = 0, errors = 0;
};

TieringSnapshot ReadTiering(redisContext* c) {
  TieringSnapshot s;
  RedisReplyPtr r = Command(c, {"INFO", "organic"});
  if (r == nullptr || r->type != REDIS_REPLY_STRING) return s;
  const std::string info(r->str, r->len);
  auto num = [&](const char* field) {
    std::string v = InfoField(info, field);
    return v.empty() ? int64_t{-1} : std::stoll(v);
  };
  s.flush_in_progress = num("organic_flush_in_progress") == 1;
  s.compaction_in_progress = num("organic_compaction_in_progress") == 1;
  s.flushes = num("organic_flushes");
  s.compactions = num("organic_compactions");
  s.sstables = num("organic_sstables");
  s.errors = num("organic_flush_errors") + num("organic_compaction_errors") +
             num("organic_read_errors");
  s.ok = s.flushes >= 0 && s.compactions >= 0 && s.sstables >= 0 && s.errors >= 0;
  return s;
}

size_t CountFiles(const std::string& dir, const std::string& extension) {
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == extension) n++;
  }
  return n;
}

// Compares what the restarted server holds (observed) with the model: `certain` is every key's
// state at the start of the cycle, `writers` what was sent since. Returns a description of every
// violation (empty if none); counts the in-doubt commands the server kept into *totals.
std::vector<std::string> CheckAgainstModel(const std::vector<KeyState>& certain,
                                           const std::vector<const Writer*>& writers,
                                           const std::vector<KeyState>& observed,
                                           Totals* totals) {
  std::vector<std::string> problems;
  // Start from the acknowledged state; collect the keys touched by in-doubt commands.
  std::vector<KeyState> acked = certain;
  std::vector<bool> in_doubt(kKeys, false);
  for (const Writer* w : writers) {
    for (size_t i = 0; i < w->ops().size(); i++) {
      for (const auto& [id, after] : w->ops()[i].changes) {
        if (i < w->acked()) {
          acked[id] = after;
        } else {
          in_doubt[id] = true;
        }
      }
    }
  }
  for (int id = 0; id < kKeys; id++) {
    if (in_doubt[id] || observed[id] == acked[id]) continue;
    const bool resurrected = !acked[id].exists && observed[id].exists;
    problems.push_back(std::string(resurrected ? "DELETED KEY IS BACK: " : "LOST WRITE: ") +
                       KeyName(id) + " is " + Describe(observed[id]) +
                       ", acknowledged state " + Describe(acked[id]) +
                       (certain[id] == acked[id] ? " (not written this cycle)"
                                                 : " (written this cycle)"));
  }
  // Each writer's in-doubt commands: the server must show a prefix of them.
  for (const Writer* w : writers) {
    const std::vector<Op>& ops = w->ops();
    std::map<int, KeyState> state;  // the in-doubt keys, after prefix p
    for (size_t i = w->acked(); i < ops.size(); i++) {
      for (const auto& change : ops[i].changes) state.emplace(change.first, acked[change.first]);
    }
    auto matches = [&] {
      for (const auto& [id, s] : state) {
        if (!(observed[id] == s)) return false;
      }
      return true;
    };
    int64_t prefix = -1;
    if (matches()) prefix = static_cast<int64_t>(w->acked());
    for (size_t i = w->acked(); i < ops.size() && prefix < 0; i++) {
      for (const auto& [id, after] : ops[i].changes) state[id] = after;
      if (matches()) prefix = static_cast<int64_t>(i + 1);
    }
    totals->in_doubt += static_cast<int64_t>(ops.size() - w->acked());
    if (prefix >= 0) {
      totals->in_doubt_applied += prefix - static_cast<int64_t>(w->acked());
      continue;
    }
    // No prefix explains it. Describe each in-doubt command: whether the restarted server shows
    // its result ("new"), the state before it ("old"), another state the model allows, or none;
    // a command with both "new" and "old" keys survived only in part (it was not atomic).
    std::ostringstream out;
    out << "writer " << w->index() << ": no prefix of its " << ops.size() - w->acked()
        << " in-doubt commands explains the restarted state (acknowledged " << w->acked()
        << "; either a later command survived an earlier lost one, or a command only in part)";
    std::map<int, KeyState> before;  // in-doubt keys, before command i
    for (const auto& [id, s] : state) before[id] = acked[id];
    for (size_t i = w->acked(); i < ops.size(); i++) {
      bool any_new = false, any_old = false;
      std::string keys;
      for (const auto& [id, after] : ops[i].changes) {
        bool allowed = observed[id] == acked[id];
        for (size_t j = w->acked(); j < ops.size() && !allowed; j++) {
          for (const auto& change : ops[j].changes) {
            if (change.first == id && observed[id] == change.second) allowed = true;
          }
        }
        std::string label;
        if (before[id] == after) {
          label = "unchanged by it";
        } else if (observed[id] == after) {
          label = "new";
          any_new = true;
        } else if (observed[id] == before[id]) {
          label = "old";
          any_old = true;
        } else {
          label = allowed ? "another allowed state" : "NOT ANY ALLOWED STATE";
        }
        keys += "\n      " + KeyName(id) + " is " + Describe(observed[id]) + ": " + label;
        if (label != "new" && label != "unchanged by it") {
          keys += " (before it " + Describe(before[id]) + ", after it " + Describe(after) + ")";
        }
      }
      out << "\n  in-doubt #" << i - w->acked() << " " << ops[i].text
          << (any_new && any_old ? "  <-- PARTIALLY APPLIED" : "") << keys;
      for (const auto& [id, after] : ops[i].changes) before[id] = after;
    }
    problems.push_back(out.str());
  }
  return problems;
}

// kill -9 cycles against a server started with server_args, checked against the model.
void KillCycles(const std::vector<std::string>& server_args, int max_cycles) {
  const char* seed_env = std::getenv("ORGANIC_CRASH_SEED");
  const char* keep_dir = std::getenv("ORGANIC_CRASH_KEEP");
  const uint64_t seed = seed_env != nullptr ? std::strtoull(seed_env, nullptr, 10) : kDefaultSeed;
  const Clock::time_point began = Clock::now();
  ServerProcess server(server_args);
  REQUIRE_MESSAGE(server.Start(), server.log());
  std::mt19937_64 rng(seed);
  std::string pool(64 * 1024, '\0');
  for (char& ch : pool) ch = static_cast<char>(rng());

  // The certain state of every key: what the server must hold at the start of a cycle.
  std::vector<KeyState> certain(kKeys);
  {
    // Every key exists at first, so deletes and overwrites hit keys already in SSTables.
    RedisContextPtr c = server.Connect();
    REQUIRE(c != nullptr);
    for (int id = 0; id < kKeys; id++) {
      KeyState& s = certain[id];
      s.exists = true;
      if (KindOf(id) == Kind::kHash || KindOf(id) == Kind::kSet) {
        // 3 to 150 entries: some inline, some in member records from the start.
        const bool hash = KindOf(id) == Kind::kHash;
        Coll coll;
        std::vector<std::string> args = {hash ? "HSET" : "SADD", KeyName(id)};
        for (int j = 0; j < 3 + id % 148; j++) {
          const std::string name = hash ? HashField(j % 80) : SetMember(j);
          const std::string value = hash ? pool.substr(id * 3 + j, 60 + j % 100) : "";
          if (coll.count(name) != 0) continue;
          coll[name] = value;
          args.push_back(name);
          if (hash) args.push_back(value);
        }
        s.value = EncodeColl(coll);
        AppendCommand(c.get(), args);
        continue;
      }
      s.value = IsCounter(id) ? std::to_string(id) : pool.substr(id * 7, 100 + id % 900);
      AppendCommand(c.get(), {"SET", KeyName(id), s.value});
    }
    for (int id = 0; id < kKeys; id++) {
      RedisReplyPtr r = GetReply(c.get());
      const bool coll = KindOf(id) == Kind::kHash || KindOf(id) == Kind::kSet;
      REQUIRE_MESSAGE((coll ? r != nullptr && r->type == REDIS_REPLY_INTEGER
                            : FormatReply(r.get(), c.get()) == "OK"),
                      KeyName(id));
    }
  }

  Totals totals;
  int kills_in_flush = 0, kills_in_compaction = 0, kills_in_either = 0;
  int64_t flushes = 0, compactions = 0;
  int cycles = 0;
  for (int cycle = 0; cycle < max_cycles; cycle++) {
    CAPTURE(seed);
    CAPTURE(cycle);
    RedisContextPtr probe = server.Connect();
    REQUIRE(probe != nullptr);
    std::vector<KeyState> sent = certain;
    std::vector<std::unique_ptr<Writer>> writers;
    for (int w = 0; w < kWriters; w++) {
      RedisContextPtr c = server.Connect();
      REQUIRE(c != nullptr);
      writers.push_back(std::make_unique<Writer>(w, seed, cycle, &pool, &sent, std::move(c)));
    }
    // From here to the joins nothing may end the test early (the threads must be joined).
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (auto& w : writers) threads.emplace_back([&stop, writer = w.get()] { writer->Run(stop); });
    SleepMs(20 + static_cast<int>(rng() % 280));
    TieringSnapshot before = ReadTiering(probe.get());
    // Three cycles in four aim the kill: wait (at most 300 ms more) until a flush is running,
    // a compaction is running, or neither (between two steps of the tiering machinery).
    const int aim = cycle % 4;
    auto aimed = [&] {
      return !before.ok || (aim == 1 && before.flush_in_progress) ||
             (aim == 2 && before.compaction_in_progress) ||
             (aim == 3 && !before.flush_in_progress && !before.compaction_in_progress);
    };
    const Clock::time_point deadline = Clock::now() + milliseconds(300);
    while (aim != 0 && !aimed() && Clock::now() < deadline) {
      SleepMs(1);
      before = ReadTiering(probe.get());
    }
    const bool died_by_itself = !server.IsRunning();
    server.Kill();
    stop = true;
    for (std::thread& t : threads) t.join();
    cycles++;

    REQUIRE_MESSAGE(!died_by_itself, "the server exited before the kill, status "
                                         << server.exit_status() << "\n"
                                         << server.log_since_start());
    for (const auto& w : writers) REQUIRE_MESSAGE(w->error().empty(), w->error());
    REQUIRE_MESSAGE(before.ok, "INFO organic unreadable before the kill");
    CHECK_MESSAGE(before.errors == 0, "flush/compaction/read errors before the kill\n"
                                          << BadLogLines(server.log_since_start()));
    flushes += before.flushes;
    compactions += before.compactions;
    kills_in_flush += before.flush_in_progress ? 1 : 0;
    kills_in_compaction += before.compaction_in_progress ? 1 : 0;
    kills_in_either += before.flush_in_progress || before.compaction_in_progress ? 1 : 0;
    for (const auto& w : writers) {
      for (size_t i = 0; i < w->acked(); i++) {
        (w->ops()[i].is_delete ? totals.acked_deletes : totals.acked_writes)++;
      }
      totals.sent += static_cast<int64_t>(w->ops().size());
    }

    if (keep_dir != nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(std::string(keep_dir) + "/data", ignored);
      std::filesystem::create_directories(keep_dir, ignored);
      std::filesystem::copy(server.data_dir(), std::string(keep_dir) + "/data",
                            std::filesystem::copy_options::recursive, ignored);
    }
    REQUIRE_MESSAGE(server.Start(), "restart failed, status " << server.exit_status() << "\n"
                                                               << server.log_since_start());
    const std::string bad_lines = BadLogLines(server.log_since_start());
    CHECK_MESSAGE(bad_lines.empty(), bad_lines);
    RedisContextPtr check = server.Connect();
    REQUIRE(check != nullptr);
    std::vector<std::string> problems;
    std::vector<KeyState> observed = ReadAll(check.get(), &problems);
    std::vector<const Writer*> views;
    for (const auto& w : writers) views.push_back(w.get());
    if (problems.empty()) {
      problems = CheckAgainstModel(certain, views, observed, &totals);
    }
    // DBSIZE: within what the model allows, and exactly the keys GET found.
    int64_t low = 0, high = 0, live = 0;
    std::set<std::string> live_names;
    std::vector<bool> may_exist(kKeys), may_miss(kKeys);
    for (int id = 0; id < kKeys; id++) {
      may_exist[id] = certain[id].exists;
      may_miss[id] = !certain[id].exists;
    }
    for (const Writer* w : views) {
      for (size_t i = 0; i < w->ops().size(); i++) {
        for (const auto& [id, after] : w->ops()[i].changes) {
          if (i < w->acked()) {  // an acknowledged change replaces what was possible before
            may_exist[id] = after.exists;
            may_miss[id] = !after.exists;
          } else if (after.exists) {
            may_exist[id] = true;
          } else {
            may_miss[id] = true;
          }
        }
      }
    }
    for (int id = 0; id < kKeys; id++) {
      low += may_exist[id] && !may_miss[id] ? 1 : 0;
      high += may_exist[id] ? 1 : 0;
      if (observed[id].exists) {
        live++;
        live_names.insert(KeyName(id));
      }
    }
    const int64_t dbsize = CmdInt(check.get(), {"DBSIZE"});
    if (dbsize < low || dbsize > high || dbsize != live) {
      problems.push_back("DBSIZE " + std::to_string(dbsize) + ", model allows [" +
                         std::to_string(low) + ", " + std::to_string(high) + "], GET found " +
                         std::to_string(live));
    }
    bool scan_ok = false;
    const std::set<std::string> scanned = ScanAll(check.get(), &scan_ok);
    if (!scan_ok) {
      problems.push_back("SCAN failed");
    } else if (scanned != live_names) {
      std::string diff;
      for (const std::string& k : scanned) {
        if (live_names.count(k) == 0) diff += " +" + k;
      }
      for (const std::string& k : live_names) {
        if (scanned.count(k) == 0) diff += " -" + k;
      }
      problems.push_back("SCAN returned " + std::to_string(scanned.size()) + " keys, GET found " +
                         std::to_string(live_names.size()) + "; differences:" +
                         diff.substr(0, 400));
    }
    if (!problems.empty()) {
      std::string all;
      for (size_t i = 0; i < problems.size() && i < 20; i++) all += problems[i] + "\n";
      const std::string log = server.log();
      if (keep_dir != nullptr) WriteWholeFile(std::string(keep_dir) + "/server.log", log);
      FAIL("seed " << seed << ", cycle " << cycle << ": " << problems.size()
                   << " problem(s) after the restart (kill during flush: "
                   << before.flush_in_progress << ", compaction: " << before.compaction_in_progress
                   << ")\n"
                   << all << "server log (end):\n"
                   << log.substr(log.size() > 3000 ? log.size() - 3000 : 0));
    }
    certain = std::move(observed);
  }

  // A final clean restart must show exactly the model, and SCAN must agree with it.
  REQUIRE(server.Stop() == 0);
  REQUIRE_MESSAGE(server.Start(), server.log_since_start());
  RedisContextPtr c = server.Connect();
  REQUIRE(c != nullptr);
  std::vector<std::string> problems;
  std::vector<KeyState> final_state = ReadAll(c.get(), &problems);
  CHECK_MESSAGE(problems.empty(), (problems.empty() ? "" : problems[0]));
  std::set<std::string> model_keys;
  int mismatches = 0;
  std::string first;
  for (int id = 0; id < kKeys; id++) {
    if (certain[id].exists) model_keys.insert(KeyName(id));
    if (!(final_state[id] == certain[id]) && mismatches++ == 0) {
      first = KeyName(id) + " is " + Describe(final_state[id]) + ", model " +
              Describe(certain[id]);
    }
  }
  CHECK_MESSAGE(mismatches == 0, first);
  CHECK(CmdInt(c.get(), {"DBSIZE"}) == static_cast<int64_t>(model_keys.size()));
  bool scan_ok = false;
  CHECK(ScanAll(c.get(), &scan_ok) == model_keys);
  CHECK(scan_ok);
  TieringSnapshot end = ReadTiering(c.get());
  const double seconds = std::chrono::duration<double>(Clock::now() - began).count();
  MESSAGE("seed " << seed << " (ORGANIC_CRASH_SEED): " << cycles << " kill/restart cycles in "
                  << seconds << " s; " << totals.sent << " commands sent, "
                  << totals.acked_writes << " acknowledged writes, " << totals.acked_deletes
                  << " acknowledged deletes, " << totals.in_doubt << " in doubt at a kill ("
                  << totals.in_doubt_applied << " of them kept); kills during a flush "
                  << kills_in_flush << ", during a compaction " << kills_in_compaction
                  << ", during either " << kills_in_either << "; flushes " << flushes
                  << ", compactions " << compactions << " before the kills; at the end "
                  << end.sstables << " SSTables (" << CountFiles(server.data_dir(), ".sst")
                  << " .sst files, " << server.WalFiles().size() << " WAL files), "
                  << model_keys.size() << " live keys");
  CHECK(flushes > 0);
  CHECK(compactions > 0);
  CHECK(kills_in_either > 0);
}

TEST_CASE("kill -9 at random moments during flushes and compactions loses no acknowledged write") {
  // A 64 KB MemTable budget: flushes that move cold data to disk, one after the other.
  KillCycles({"--appendfsync", "always", "--organic-memtable-budget", "64kb"}, kCycles);
}

TEST_CASE("kill -9 at random moments during checkpoints loses no acknowledged write") {
  // No memory limit: every flush is a checkpoint (a fuzzy copy of the dirty records while
  // writes go on, Engine::CheckpointCopy), started by the WAL-size rule every 64 KB of WAL.
  KillCycles({"--appendfsync", "always", "--auto-aof-rewrite-min-size", "64kb",
              "--auto-aof-rewrite-percentage", "10"},
             kCycles / 2);
}

}  // namespace
}  // namespace organic::itest
