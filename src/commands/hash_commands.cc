// Hash commands: HSET HSETNX HMSET HGET HMGET HDEL HLEN HSTRLEN HEXISTS HKEYS HVALS HGETALL
// HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN. Handlers parse and reply; CollectionObject
// (collection_ops.h) does the work. Replies, errors and the order errors are detected in
// follow Redis 7.0's t_hash.c.
#include <climits>
#include <cmath>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "commands/args.h"
#include "commands/collection_command_specs.h"
#include "commands/collection_handlers.h"
#include "commands/collection_ops.h"
#include "commands/collection_scan.h"
#include "commands/command_table.h"
#include "protocol/errors.h"
#include "util/strings.h"

namespace organic::commands {

namespace {

using engine::LookupMode;
using engine::ValueType;

CollectionObject HashOf(CommandContext& ctx) {
  return CollectionObject(ctx.engine, ctx.session->db, ctx.args[1], ValueType::kHash,
                          CollectionLimitsOf(ctx));
}

// HSET / HMSET: field value pairs; returns the number of new fields.
bool SetFields(CommandContext& ctx, int64_t* added) {
  if (ctx.args.size() % 2 != 0) {
    ctx.reply->Error("ERR wrong number of arguments for '" + ToLowerAscii(ctx.args[0]) +
                     "' command");
    return false;
  }
  CollectionObject hash = HashOf(ctx);
  if (!LoadForWrite(ctx, &hash)) return false;
  // Several fields of a member-record hash: all looked up before the first write (a table
  // read error then stops the command before anything is logged).
  if (ctx.args.size() > 4) {
    for (size_t i = 2; i < ctx.args.size(); i += 2) hash.Probe(ctx.args[i]);
  }
  *added = 0;
  for (size_t i = 2; i < ctx.args.size(); i += 2) {
    if (hash.Upsert(ctx.args[i], ctx.args[i + 1])) (*added)++;
  }
  hash.Commit();
  return true;
}

void HSetCommand(CommandContext& ctx) {
  int64_t added;
  if (SetFields(ctx, &added)) ctx.reply->Integer(added);
}

void HMSetCommand(CommandContext& ctx) {
  int64_t added;
  if (SetFields(ctx, &added)) ctx.reply->Ok();
}

void HSetNxCommand(CommandContext& ctx) {
  CollectionObject hash = HashOf(ctx);
  if (!LoadForWrite(ctx, &hash)) return;
  if (hash.Contains(ctx.args[2])) {
    ctx.reply->Integer(0);
    return;
  }
  hash.Upsert(ctx.args[2], ctx.args[3]);
  hash.Commit();
  ctx.reply->Integer(1);
}

void HGetCommand(CommandContext& ctx) {
  CollectionObject hash = HashOf(ctx);
  if (!LoadForRead(ctx, &hash, [&] { ctx.reply->NullBulk(); })) return;
  std::optional<std::string> value = hash.Find(ctx.args[2]);
  if (value) {
    ctx.reply->Bulk(*value);
  } else {
    ctx.reply->NullBulk();
  }
}

void HMGetCommand(CommandContext& ctx) {
  CollectionObject hash = HashOf(ctx);
  // A missing key answers a nil per field.
  const size_t n = ctx.args.size() - 2;
  OpStatus st = hash.Load(LookupMode::kRead);
  if (st == OpStatus::kWrongType) {
    ctx.reply->Error(protocol::kWrongType);
    return;
  }
  ctx.reply->ArrayHeader(n);
  for (size_t i = 2; i < ctx.args.size(); i++) {
    std::optional<std::string> value;
    if (st == OpStatus::kOk) value = hash.Find(ctx.args[i]);
    if (value) {
      ctx.reply->Bulk(*value);
    } else {
      ctx.reply->NullBulk();
    }
  }
}

void HDelCommand(CommandContext& ctx) {
  CollectionObject hash = HashOf(ctx);
  if (!LoadForRead(ctx, &hash, [&] { ctx.reply->Integer(0); })) return;
  int64_t deleted = 0;
  for (size_t i = 2; i < ctx.args.size() && hash.size() > 0; i++) {
    if (hash.Remove(ctx.args[i])) deleted++;
  }
  hash.Commit();
  ctx.reply->Integer(deleted);
}

void HLenCommand(CommandContext& ctx) {
  CollectionObject hash = HashOf(ctx);
  if (!LoadForRead(ctx, &hash, [&] { ctx.reply->Integer(0); })) return;
  ctx.reply->Integer(static_cast<int64_t>(hash.size()));
}

void HStrLenCommand(CommandContext& ctx) {
  CollectionObject hash = HashOf(ctx);
  if (!LoadForRead(ctx, &hash, [&] { ctx.reply->Integer(0); })) return;
  std::optional<std::string> value = hash.Find(ctx.args[2]);
  ctx.reply->Integer(value ? static_cast<int64_t>(value->size()) : 0);
}

void HExistsCommand(CommandContext& ctx) {
  CollectionObject hash = HashOf(ctx);
  if (!LoadForRead(ctx, &hash, [&] { ctx.reply->Integer(0); })) return;
  ctx.reply->Integer(hash.Contains(ctx.args[2]) ? 1 : 0);
}

// HKEYS, HVALS, HGETALL. The hash is read whole before the reply starts (a member walk may
// meet a damaged table: the server then replaces the reply with the error).
void GetAll(CommandContext& ctx, bool keys, bool values) {
  CollectionObject hash = HashOf(ctx);
  if (!LoadForRead(ctx, &hash, [&] {
        if (keys && values) {
          ctx.reply->MapHeader(0);
        } else {
          ctx.reply->ArrayHeader(0);
        }
      })) {
    return;
  }
  std::vector<std::pair<std::string, std::string>> items;
  items.reserve(hash.size());
  hash.ForEach([&](std::string_view name, std::string_view value) {
    items.emplace_back(name, values ? value : std::string_view());
    return true;
  });
  if (keys && values) {
    ctx.reply->MapHeader(items.size());
  } else {
    ctx.reply->ArrayHeader(items.size());
  }
  for (const auto& [name, value] : items) {
    if (keys) ctx.reply->Bulk(name);
    if (values) ctx.reply->Bulk(value);
  }
}

void HKeysCommand(CommandContext& ctx) { GetAll(ctx, true, false); }
void HValsCommand(CommandContext& ctx) { GetAll(ctx, false, true); }
void HGetAllCommand(CommandContext& ctx) { GetAll(ctx, true, true); }

void HIncrByCommand(CommandContext& ctx) {
  int64_t incr;
  if (!ParseIntArg(ctx.args[3], ctx.reply, &incr)) return;
  CollectionObject hash = HashOf(ctx);
  if (!LoadForWrite(ctx, &hash)) return;
  int64_t value = 0;
  if (std::optional<std::string> old = hash.Find(ctx.args[2])) {
    if (!IsIntsetValue(*old, &value)) {  // Redis's string2ll: canonical integers only
      ctx.reply->Error("ERR hash value is not an integer");
      return;
    }
  }
  if ((incr < 0 && value < 0 && incr < (LLONG_MIN - value)) ||
      (incr > 0 && value > 0 && incr > (LLONG_MAX - value))) {
    ctx.reply->Error(protocol::kOverflow);
    return;
  }
  value += incr;
  hash.Upsert(ctx.args[2], std::to_string(value));
  hash.Commit();
  ctx.reply->Integer(value);
}

void HIncrByFloatCommand(CommandContext& ctx) {
  long double incr;
  if (!ParseLongDoubleValue(ctx.args[3], &incr)) {
    ctx.reply->Error(protocol::kNotFloat);
    return;
  }
  if (std::isnan(incr) || std::isinf(incr)) {
    ctx.reply->Error("ERR value is NaN or Infinity");
    return;
  }
  CollectionObject hash = HashOf(ctx);
  if (!LoadForWrite(ctx, &hash)) return;
  long double value = 0;
  if (std::optional<std::string> old = hash.Find(ctx.args[2])) {
    if (!ParseLongDoubleValue(*old, &value)) {
      ctx.reply->Error("ERR hash value is not a float");
      return;
    }
  }
  std::string formatted;
  if (!AddFloatOrReply(value, incr, ctx.reply, &formatted)) return;
  hash.Upsert(ctx.args[2], formatted);
  hash.Commit();
  ctx.reply->Bulk(formatted);
}

// HRANDFIELD's reply of n picks (pick(i) gives the i-th): fields, or fields and values (flat in
// RESP2, [field, value] pairs in RESP3).
template <typename Pick>
void ReplyPicks(CommandContext& ctx, bool with_values, uint64_t n, Pick pick) {
  const bool resp3_pairs = with_values && ctx.reply->resp_version() == 3;
  ctx.reply->ArrayHeader(with_values && !resp3_pairs ? n * 2 : n);
  for (uint64_t i = 0; i < n; i++) {
    const std::pair<std::string, std::string>* item = pick(i);
    if (resp3_pairs) ctx.reply->ArrayHeader(2);
    ctx.reply->Bulk(item->first);
    if (with_values) ctx.reply->Bulk(item->second);
  }
}

// HRANDFIELD key [count [WITHVALUES]], as Redis's hrandfieldCommand: a negative count picks
// with repetition, a positive one distinct fields (the whole hash when count >= its size).
void HRandFieldCommand(CommandContext& ctx) {
  if (ctx.args.size() == 2) {
    CollectionObject hash = HashOf(ctx);
    if (!LoadForRead(ctx, &hash, [&] { ctx.reply->NullBulk(); })) return;
    ctx.reply->Bulk(hash.RandomMember().first);
    return;
  }
  int64_t count;
  if (!ParseInt64(ctx.args[2], &count)) {
    ctx.reply->Error(protocol::kNotInteger);
    return;
  }
  if (count < -LLONG_MAX) {
    ctx.reply->Error(
        "ERR value is out of range, value must between -9223372036854775807 and "
        "9223372036854775807");
    return;
  }
  bool with_values = false;
  if (ctx.args.size() > 4 || (ctx.args.size() == 4 && !ArgIs(ctx.args[3], "withvalues"))) {
    ctx.reply->Error(protocol::kSyntaxErr);
    return;
  }
  if (ctx.args.size() == 4) {
    with_values = true;
    if (count < -LLONG_MAX / 2 || count > LLONG_MAX / 2) {
      ctx.reply->Error("ERR value is out of range");
      return;
    }
  }
  CollectionObject hash = HashOf(ctx);
  if (!LoadForRead(ctx, &hash, [&] { ctx.reply->ArrayHeader(0); })) return;
  if (count == 0) {
    ctx.reply->ArrayHeader(0);
    return;
  }
  using Item = std::pair<std::string, std::string>;
  auto read_all = [&] {
    std::vector<Item> all;
    all.reserve(hash.size());
    hash.ForEach([&](std::string_view name, std::string_view value) {
      all.emplace_back(name, value);
      return true;
    });
    return all;
  };
  const bool distinct = count > 0;
  const uint64_t n = distinct ? static_cast<uint64_t>(count) : static_cast<uint64_t>(-count);
  if (n == 1) {
    const Item pick = hash.RandomMember();
    ReplyPicks(ctx, with_values, 1, [&](uint64_t) { return &pick; });
    return;
  }
  if (!distinct) {
    // Every pick is at least "$0\r\n\r\n" (twice with values): refuse an absurd count before
    // building it, where Redis would run out of memory (RandomReplyCap).
    if (n > RandomReplyCap(ctx) / (with_values ? 12 : 6)) {
      ctx.reply->Error(
          "ERR reply too large: HRANDFIELD count would exceed the client memory limit "
          "(maxmemory-clients)");
      return;
    }
    // Written as drawn: no list of n picks is built.
    const std::vector<Item> all = read_all();
    if (all.empty()) {  // a damaged walk read nothing; the server reports the read error
      ctx.reply->ArrayHeader(0);
      return;
    }
    ReplyPicks(ctx, with_values, n, [&](uint64_t) { return &all[RandomBelow(all.size())]; });
    return;
  }
  // Distinct fields: the whole hash when n >= its size, else n picked at random.
  const std::vector<Item> picks = n >= hash.size() ? read_all() : hash.RandomDistinct(n);
  ReplyPicks(ctx, with_values, picks.size(), [&](uint64_t i) { return &picks[i]; });
}

void HScanCommand(CommandContext& ctx) { ScanCollectionCommand(ctx, ValueType::kHash); }

}  // namespace

void RegisterHashCommands(CommandTable* table) {
  HashHandlers h;
  h.hset = HSetCommand;
  h.hsetnx = HSetNxCommand;
  h.hmset = HMSetCommand;
  h.hget = HGetCommand;
  h.hmget = HMGetCommand;
  h.hdel = HDelCommand;
  h.hlen = HLenCommand;
  h.hstrlen = HStrLenCommand;
  h.hexists = HExistsCommand;
  h.hkeys = HKeysCommand;
  h.hvals = HValsCommand;
  h.hgetall = HGetAllCommand;
  h.hincrby = HIncrByCommand;
  h.hincrbyfloat = HIncrByFloatCommand;
  h.hrandfield = HRandFieldCommand;
  h.hscan = HScanCommand;
  RegisterHashCommandSpecs(table, h);
}

}  // namespace organic::commands
