// Set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE SINTER
// SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN. Handlers parse and reply;
// CollectionObject (collection_ops.h) does the work. A set is a collection whose members all
// have the empty value; its encoding (intset/hashtable) and storage (inline/member records)
// are Upsert's business. Replies, errors and the order errors are detected in follow Redis
// 7.0's t_set.c (checked against redis-server 7.0.15: redis-compat/diff/scripts/sets.txt).
//
// Atomicity (collection_ops.h): a command looks up what it reads before its first write, so
// a table read error stops it before anything is logged. For member-record sets that means
// asking for each argument member first (LookUpMembers); inline sets are read whole by Load.
#include <algorithm>
#include <climits>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "commands/args.h"
#include "commands/collection_command_specs.h"
#include "commands/collection_handlers.h"
#include "commands/collection_ops.h"
#include "commands/collection_scan.h"
#include "commands/command_table.h"
#include "commands/server_api.h"
#include "protocol/errors.h"
#include "server/config.h"
#include "util/strings.h"

namespace organic::commands {

namespace {

using engine::CollectionStorage;
using engine::LookupMode;
using engine::ValueType;

using Members = std::vector<std::string>;

constexpr char kCountNotPositive[] = "ERR value is out of range, must be positive";

CollectionObject SetOf(CommandContext& ctx, std::string_view key) {
  return CollectionObject(ctx.engine, ctx.session->db, key, ValueType::kSet,
                          CollectionLimitsOf(ctx));
}

Members ReadAll(CollectionObject& set) {
  Members out;
  out.reserve(set.size());
  set.ForEach([&](std::string_view name, std::string_view) {
    out.emplace_back(name);
    return true;
  });
  return out;
}

// Before the first write of a command on a member-record set, reads each member it will touch,
// so a table read error shows before anything is logged (an inline set holds its members in
// the metadata Load already read).
// One member needs no such pass: its own write looks it up before logging.
void LookUpMembers(CollectionObject& set, std::span<const std::string> members) {
  if (set.storage() != CollectionStorage::kMembers || members.size() < 2) return;
  for (const std::string& m : members) set.Probe(m);
}

// The members at `positions` (storage order, each < size; repeats allowed), in the order asked.
// Inline storage answers each position in O(1); member records are walked once, keeping only
// the positions asked for, so memory follows the answer, not the set.
Members MembersAt(CollectionObject& set, const std::vector<uint64_t>& positions) {
  Members out;
  out.reserve(positions.size());
  if (set.storage() == CollectionStorage::kInline) {
    for (uint64_t p : positions) out.push_back(set.At(p).first);
    return out;
  }
  std::vector<uint64_t> wanted = positions;
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  if (wanted.empty()) return out;
  Members found(wanted.size());
  size_t next = 0;
  uint64_t index = 0;
  set.ForEach([&](std::string_view name, std::string_view) {
    if (index++ == wanted[next]) {
      found[next].assign(name);
      if (++next == wanted.size()) return false;
    }
    return true;
  });
  for (uint64_t p : positions) {
    out.push_back(found[std::lower_bound(wanted.begin(), wanted.end(), p) - wanted.begin()]);
  }
  return out;
}

// The bytes of one bulk reply of a len-byte string: "$<len>\r\n<data>\r\n".
uint64_t BulkBytes(uint64_t len) { return len + 5 + std::to_string(len).size(); }


void ReplySet(CommandContext& ctx, const Members& members) {
  ctx.reply->SetHeader(members.size());
  for (const std::string& m : members) ctx.reply->Bulk(m);
}

void ReplyArray(CommandContext& ctx, const Members& members) {
  ctx.reply->ArrayHeader(members.size());
  for (const std::string& m : members) ctx.reply->Bulk(m);
}

void SAddCommand(CommandContext& ctx) {
  CollectionObject set = SetOf(ctx, ctx.args[1]);
  if (!LoadForWrite(ctx, &set)) return;
  const auto members = ctx.args.subspan(2);
  LookUpMembers(set, members);
  int64_t added = 0;
  for (const std::string& m : members) {
    if (set.Upsert(m, "")) added++;
  }
  set.Commit();
  ctx.reply->Integer(added);
}

void SRemCommand(CommandContext& ctx) {
  CollectionObject set = SetOf(ctx, ctx.args[1]);
  if (!LoadOrReply(ctx, &set, LookupMode::kWrite, [&] { ctx.reply->Integer(0); })) return;
  const auto members = ctx.args.subspan(2);
  LookUpMembers(set, members);
  int64_t removed = 0;
  for (size_t i = 0; i < members.size() && set.size() > 0; i++) {
    if (set.Remove(members[i])) removed++;
  }
  set.Commit();  // deletes the key when it became empty
  ctx.reply->Integer(removed);
}

void SMembersCommand(CommandContext& ctx) {
  CollectionObject set = SetOf(ctx, ctx.args[1]);
  if (!LoadForRead(ctx, &set, [&] { ctx.reply->SetHeader(0); })) return;
  // Read whole before the reply starts: a member walk may meet a damaged table, and the server
  // then replaces the reply with the error.
  ReplySet(ctx, ReadAll(set));
}

void SIsMemberCommand(CommandContext& ctx) {
  CollectionObject set = SetOf(ctx, ctx.args[1]);
  if (!LoadForRead(ctx, &set, [&] { ctx.reply->Integer(0); })) return;
  ctx.reply->Integer(set.Contains(ctx.args[2]) ? 1 : 0);
}

void SMIsMemberCommand(CommandContext& ctx) {
  CollectionObject set = SetOf(ctx, ctx.args[1]);
  OpStatus st = set.Load(LookupMode::kRead);
  if (st == OpStatus::kWrongType) {
    ctx.reply->Error(protocol::kWrongType);
    return;
  }
  // A missing key answers 0 per member. The answers are computed before the reply starts.
  std::vector<bool> found;
  for (size_t i = 2; i < ctx.args.size(); i++) {
    found.push_back(st == OpStatus::kOk && set.Contains(ctx.args[i]));
  }
  ctx.reply->ArrayHeader(found.size());
  for (bool f : found) ctx.reply->Integer(f ? 1 : 0);
}

void SCardCommand(CommandContext& ctx) {
  CollectionObject set = SetOf(ctx, ctx.args[1]);
  if (!LoadForRead(ctx, &set, [&] { ctx.reply->Integer(0); })) return;
  ctx.reply->Integer(static_cast<int64_t>(set.size()));
}

// SPOP key count: count distinct random members, removed. As Redis's spopWithCountCommand the
// count is checked before the key, and the reply is a set (RESP3 "~"), empty for a missing key.
void SPopWithCount(CommandContext& ctx) {
  int64_t count;
  if (!ParseInt64(ctx.args[2], &count) || count < 0) {
    ctx.reply->Error(kCountNotPositive);
    return;
  }
  CollectionObject set = SetOf(ctx, ctx.args[1]);
  if (!LoadOrReply(ctx, &set, LookupMode::kWrite, [&] { ctx.reply->SetHeader(0); })) return;
  if (count == 0) {
    ctx.reply->SetHeader(0);
    return;
  }
  if (static_cast<uint64_t>(count) >= set.size()) {
    // The whole set, in storage order as Redis replies it; the key is then deleted whole
    // (ReplaceAll with nothing: a member-record set's records die with the key, not one by one).
    Members all = ReadAll(set);
    set.ReplaceAll({});
    ReplySet(ctx, all);
    return;
  }
  // Every member to pop is read before the first removal.
  Members popped;
  for (auto& [name, value] : set.RandomDistinct(static_cast<uint64_t>(count))) {
    popped.push_back(std::move(name));
  }
  for (const std::string& m : popped) set.Remove(m);
  set.Commit();
  ReplySet(ctx, popped);
}

void SPopCommand(CommandContext& ctx) {
  if (ctx.args.size() > 3) {
    ctx.reply->Error(protocol::kSyntaxErr);
    return;
  }
  if (ctx.args.size() == 3) {
    SPopWithCount(ctx);
    return;
  }
  CollectionObject set = SetOf(ctx, ctx.args[1]);
  if (!LoadOrReply(ctx, &set, LookupMode::kWrite, [&] { ctx.reply->NullBulk(); })) return;
  const std::string member = set.RandomMember().first;
  set.Remove(member);
  set.Commit();  // deletes the key when that was its last member
  ctx.reply->Bulk(member);
}

// SRANDMEMBER key count with count < 0 (or count 1): |count| members picked with repetition,
// in random order, as an array.
void SRandMemberRepeated(CommandContext& ctx, CollectionObject& set, uint64_t n) {
  const uint64_t cap = RandomReplyCap(ctx);
  // Every entry is at least "$0\r\n\r\n": an absurd count is refused without reading the set.
  bool too_large = n > cap / BulkBytes(0);
  Members pool;  // the members picks are drawn from, or the picks themselves
  bool pool_is_picks = false;
  if (!too_large) {
    if (set.storage() == CollectionStorage::kInline || n >= set.size()) {
      // Every member is needed anyway (or the set is small): read it once, pick from memory.
      pool = ReadAll(set);
    } else {
      // Fewer picks than members: read only the picked ones (one walk of member records).
      std::vector<uint64_t> positions(n);
      for (uint64_t& p : positions) p = RandomBelow(set.size());
      pool = MembersAt(set, positions);
      pool_is_picks = true;
    }
    if (pool.empty()) {  // a damaged walk read nothing; the server reports the read error
      ctx.reply->ArrayHeader(0);
      return;
    }
    uint64_t bytes = 0;
    for (const std::string& m : pool) bytes += m.size();
    // Estimated from the average member: the reply is n entries of about that size.
    too_large = n > cap / BulkBytes(bytes / pool.size());
  }
  if (too_large) {
    ctx.reply->Error(
        "ERR reply too large: SRANDMEMBER count would exceed the client memory limit "
        "(maxmemory-clients)");
    return;
  }
  ctx.reply->ArrayHeader(n);
  for (uint64_t i = 0; i < n; i++) {
    ctx.reply->Bulk(pool_is_picks ? pool[i] : pool[RandomBelow(pool.size())]);
  }
}

// SRANDMEMBER key [count], as Redis's srandmemberWithCountCommand: a negative count picks with
// repetition, a positive one distinct members (the whole set when count >= its size). Count
// replies are arrays even in RESP3.
void SRandMemberCommand(CommandContext& ctx) {
  if (ctx.args.size() > 3) {
    ctx.reply->Error(protocol::kSyntaxErr);
    return;
  }
  CollectionObject set = SetOf(ctx, ctx.args[1]);
  if (ctx.args.size() == 2) {
    if (!LoadForRead(ctx, &set, [&] { ctx.reply->NullBulk(); })) return;
    ctx.reply->Bulk(set.RandomMember().first);
    return;
  }
  int64_t count;
  if (!ParseIntArg(ctx.args[2], ctx.reply, &count)) return;
  if (count < -LLONG_MAX) {
    ctx.reply->Error(
        "ERR value is out of range, value must between -9223372036854775807 and "
        "9223372036854775807");
    return;
  }
  if (!LoadForRead(ctx, &set, [&] { ctx.reply->ArrayHeader(0); })) return;
  if (count == 0) {
    ctx.reply->ArrayHeader(0);
    return;
  }
  if (count < 0 || count == 1) {
    SRandMemberRepeated(ctx, set, count < 0 ? static_cast<uint64_t>(-count) : 1);
    return;
  }
  if (static_cast<uint64_t>(count) >= set.size()) {
    ReplyArray(ctx, ReadAll(set));
    return;
  }
  Members picks;
  for (auto& [name, value] : set.RandomDistinct(static_cast<uint64_t>(count))) {
    picks.push_back(std::move(name));
  }
  ReplyArray(ctx, picks);
}

// SMOVE source destination member, in Redis's order: a missing source answers 0 whatever the
// destination is; the destination's type counts only when the source exists; the same key
// as both is a membership test.
void SMoveCommand(CommandContext& ctx) {
  const std::string& member = ctx.args[3];
  CollectionObject src = SetOf(ctx, ctx.args[1]);
  CollectionObject dst = SetOf(ctx, ctx.args[2]);
  const OpStatus src_st = src.Load(LookupMode::kWrite);
  const OpStatus dst_st = dst.Load(LookupMode::kWrite);
  if (src_st == OpStatus::kNotFound) {
    ctx.reply->Integer(0);
    return;
  }
  if (src_st == OpStatus::kWrongType || dst_st == OpStatus::kWrongType) {
    ctx.reply->Error(protocol::kWrongType);
    return;
  }
  if (ctx.args[1] == ctx.args[2]) {
    ctx.reply->Integer(src.Contains(member) ? 1 : 0);
    return;
  }
  if (!src.Contains(member)) {
    ctx.reply->Integer(0);
    return;
  }
  LookUpMembers(dst, ctx.args.subspan(3, 1));
  src.Remove(member);
  src.Commit();  // deletes the source when that was its last member
  dst.Upsert(member, "");
  dst.Commit();
  ctx.reply->Integer(1);
}

// ---- SINTER / SUNION / SDIFF and their STORE and CARD forms ----

// Loads the sets named by args[first .. first+n). A missing key is an empty set (exists()
// false). As Redis 7.0 does, every key is looked up before any answer, so a key of another type
// is WRONGTYPE even after a missing one; false then, with the error written.
bool LoadSets(CommandContext& ctx, size_t first, size_t n, LookupMode mode,
              std::vector<CollectionObject>* sets) {
  const CollectionLimits limits = CollectionLimitsOf(ctx);
  sets->reserve(n);
  for (size_t i = first; i < first + n; i++) {
    sets->emplace_back(ctx.engine, ctx.session->db, ctx.args[i], ValueType::kSet, limits);
    if (sets->back().Load(mode) == OpStatus::kWrongType) {
      ctx.reply->Error(protocol::kWrongType);
      return false;
    }
  }
  return true;
}

// Membership in one operand of an operation. An inline set is read into a hash set once (its
// Find scans the entries, and an intset under a raised set-max-intset-entries can be long); a
// member-record set is asked per member (one keyed read each), so a big operand is never read
// whole to test a few candidates.
class Membership {
 public:
  explicit Membership(CollectionObject* set) : set_(set) {
    if (set_->storage() == CollectionStorage::kInline) {
      set_->ForEach([&](std::string_view name, std::string_view) {
        members_.emplace(name);
        return true;
      });
    }
  }
  bool Contains(const std::string& m) {
    if (set_->storage() == CollectionStorage::kInline) return members_.count(m) != 0;
    return set_->Contains(m);
  }

 private:
  CollectionObject* set_;
  std::unordered_set<std::string> members_;
};

// The intersection, in the smallest set's storage order (Redis walks the smallest set and
// replies as it goes), at most `limit` members (0: no limit).
Members Intersect(std::vector<CollectionObject>& sets, uint64_t limit) {
  for (const CollectionObject& s : sets) {
    if (!s.exists()) return {};  // an empty operand empties the result
  }
  std::vector<CollectionObject*> order;
  for (CollectionObject& s : sets) order.push_back(&s);
  std::stable_sort(order.begin(), order.end(),
                   [](CollectionObject* a, CollectionObject* b) { return a->size() < b->size(); });
  Members candidates = ReadAll(*order[0]);
  std::vector<Membership> others;
  others.reserve(order.size() - 1);
  for (size_t i = 1; i < order.size(); i++) others.emplace_back(order[i]);
  Members out;
  for (std::string& m : candidates) {
    bool in_all = true;
    for (Membership& other : others) {
      if (!other.Contains(m)) {
        in_all = false;
        break;
      }
    }
    if (!in_all) continue;
    out.push_back(std::move(m));
    if (limit != 0 && out.size() >= limit) break;
  }
  return out;
}

// Redis builds a union or difference as a new set, an intset while its members are integers
// and few enough, and replies by walking it: an intset result comes sorted numerically.
void OrderAsRedisResult(Members* members, const CollectionLimits& limits) {
  if (members->size() > limits.set_max_intset_entries) return;
  std::vector<std::pair<int64_t, std::string*>> keyed;
  keyed.reserve(members->size());
  for (std::string& m : *members) {
    int64_t v;
    if (!IsIntsetValue(m, &v)) return;
    keyed.emplace_back(v, &m);
  }
  std::sort(keyed.begin(), keyed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  Members sorted;
  sorted.reserve(keyed.size());
  for (auto& [v, m] : keyed) sorted.push_back(std::move(*m));
  *members = std::move(sorted);
}

Members Union(std::vector<CollectionObject>& sets) {
  std::unordered_set<std::string> seen;
  Members out;
  for (CollectionObject& s : sets) {
    if (!s.exists()) continue;
    s.ForEach([&](std::string_view name, std::string_view) {
      std::string m(name);
      if (seen.insert(m).second) out.push_back(std::move(m));
      return true;
    });
  }
  return out;
}

// The first set's members that are in none of the others.
Members Difference(std::vector<CollectionObject>& sets) {
  if (!sets[0].exists()) return {};
  Members out = ReadAll(sets[0]);
  for (size_t i = 1; i < sets.size() && !out.empty(); i++) {
    if (!sets[i].exists()) continue;
    Membership other(&sets[i]);
    std::erase_if(out, [&](const std::string& m) { return other.Contains(m); });
  }
  return out;
}

enum class SetOp { kInter, kUnion, kDiff };

Members Compute(CommandContext& ctx, SetOp op, std::vector<CollectionObject>& sets) {
  switch (op) {
    case SetOp::kInter:
      return Intersect(sets, 0);
    case SetOp::kUnion: {
      Members out = Union(sets);
      OrderAsRedisResult(&out, CollectionLimitsOf(ctx));
      return out;
    }
    case SetOp::kDiff: {
      Members out = Difference(sets);
      OrderAsRedisResult(&out, CollectionLimitsOf(ctx));
      return out;
    }
  }
  return {};
}

// SINTER / SUNION / SDIFF key [key ...]: the result as a set reply.
void SetOpCommand(CommandContext& ctx, SetOp op) {
  std::vector<CollectionObject> sets;
  if (!LoadSets(ctx, 1, ctx.args.size() - 1, LookupMode::kRead, &sets)) return;
  ReplySet(ctx, Compute(ctx, op, sets));
}

// SINTERSTORE / SUNIONSTORE / SDIFFSTORE destination key [key ...]. The result is computed
// (every source read) before the destination is touched, so the destination may be a source.
// The destination is replaced whatever it held (its type, members and TTL go), or deleted
// when the result is empty; the reply is the result's size.
void SetOpStoreCommand(CommandContext& ctx, SetOp op) {
  std::vector<CollectionObject> sets;
  // Redis looks the sources of a STORE form up as writes (no keyspace hit/miss statistics).
  if (!LoadSets(ctx, 2, ctx.args.size() - 2, LookupMode::kWrite, &sets)) return;
  const Members result = Compute(ctx, op, sets);
  const std::string& dst_key = ctx.args[1];
  CollectionObject dst = SetOf(ctx, dst_key);
  const OpStatus st = dst.Load(LookupMode::kWrite);
  if (result.empty()) {
    if (st != OpStatus::kNotFound) ctx.engine->Delete(ctx.session->db, dst_key);
    ctx.reply->Integer(0);
    return;
  }
  if (st == OpStatus::kWrongType) {
    // Another type: the object cannot replace it (Load left it unusable); the key goes first
    // and a fresh object builds the set where it was.
    ctx.engine->Delete(ctx.session->db, dst_key);
    dst = SetOf(ctx, dst_key);
    dst.Load(LookupMode::kWrite);
  }
  std::vector<std::pair<std::string, std::string>> items;
  items.reserve(result.size());
  for (const std::string& m : result) items.emplace_back(m, std::string());
  dst.ReplaceAll(items);  // Upsert decides the encoding: an all-integer result is an intset
  ctx.reply->Integer(static_cast<int64_t>(result.size()));
}

void SInterCommand(CommandContext& ctx) { SetOpCommand(ctx, SetOp::kInter); }
void SUnionCommand(CommandContext& ctx) { SetOpCommand(ctx, SetOp::kUnion); }
void SDiffCommand(CommandContext& ctx) { SetOpCommand(ctx, SetOp::kDiff); }
void SInterStoreCommand(CommandContext& ctx) { SetOpStoreCommand(ctx, SetOp::kInter); }
void SUnionStoreCommand(CommandContext& ctx) { SetOpStoreCommand(ctx, SetOp::kUnion); }
void SDiffStoreCommand(CommandContext& ctx) { SetOpStoreCommand(ctx, SetOp::kDiff); }

// SINTERCARD numkeys key [key ...] [LIMIT limit], in Redis's order: numkeys, then the options,
// then the keys. LIMIT 0 means no limit; a repeated LIMIT counts its last value.
void SInterCardCommand(CommandContext& ctx) {
  int64_t numkeys;
  if (!ParseInt64(ctx.args[1], &numkeys) || numkeys < 1) {
    ctx.reply->Error("ERR numkeys should be greater than 0");
    return;
  }
  if (static_cast<uint64_t>(numkeys) > ctx.args.size() - 2) {
    ctx.reply->Error("ERR Number of keys can't be greater than number of args");
    return;
  }
  int64_t limit = 0;
  for (size_t i = 2 + static_cast<size_t>(numkeys); i < ctx.args.size(); i++) {
    if (ArgIs(ctx.args[i], "limit") && i + 1 < ctx.args.size()) {
      if (!ParseInt64(ctx.args[i + 1], &limit) || limit < 0) {
        ctx.reply->Error("ERR LIMIT can't be negative");
        return;
      }
      i++;
    } else {
      ctx.reply->Error(protocol::kSyntaxErr);
      return;
    }
  }
  std::vector<CollectionObject> sets;
  if (!LoadSets(ctx, 2, static_cast<size_t>(numkeys), LookupMode::kRead, &sets)) return;
  ctx.reply->Integer(static_cast<int64_t>(Intersect(sets, static_cast<uint64_t>(limit)).size()));
}

void SScanCommand(CommandContext& ctx) { ScanCollectionCommand(ctx, ValueType::kSet); }

}  // namespace

void RegisterSetCommands(CommandTable* table) {
  SetHandlers h;
  h.sadd = SAddCommand;
  h.srem = SRemCommand;
  h.smembers = SMembersCommand;
  h.sismember = SIsMemberCommand;
  h.smismember = SMIsMemberCommand;
  h.scard = SCardCommand;
  h.spop = SPopCommand;
  h.srandmember = SRandMemberCommand;
  h.smove = SMoveCommand;
  h.sinter = SInterCommand;
  h.sintercard = SInterCardCommand;
  h.sinterstore = SInterStoreCommand;
  h.sunion = SUnionCommand;
  h.sunionstore = SUnionStoreCommand;
  h.sdiff = SDiffCommand;
  h.sdiffstore = SDiffStoreCommand;
  h.sscan = SScanCommand;
  RegisterSetCommandSpecs(table, h);
}

}  // namespace organic::commands
