// Keyspace commands (Redis's "generic" group, plus the database-wide DBSIZE, FLUSHDB,
// FLUSHALL and SWAPDB of its "server" group): DEL UNLINK EXISTS TOUCH TYPE KEYS SCAN DBSIZE
// RANDOMKEY RENAME RENAMENX COPY MOVE FLUSHDB FLUSHALL SWAPDB. Replies, errors and the order
// in which errors are detected follow Redis 7.0.
#include <climits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands/args.h"
#include "commands/collection_ops.h"
#include "commands/command_table.h"
#include "commands/scan_cursors.h"
#include "commands/server_api.h"
#include "protocol/errors.h"
#include "util/strings.h"

namespace organic::commands {

namespace {

using engine::LookupMode;
using engine::RecordView;
using engine::ValueType;

// The name Redis's TYPE prints for a value type (also the names SCAN's TYPE option matches).
std::string_view RedisTypeName(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "string";
    case ValueType::kHash:
      return "hash";
    case ValueType::kSet:
      return "set";
  }
  return "none";
}

// A whole record copied out of the engine, for commands that rewrite it under another key or
// database (the RecordView would not survive the write). A collection's record is its
// metadata: RENAME moves it as is (its member records keep their id), COPY and MOVE copy the
// members under a fresh id (CollectionObject::CopyTo).
struct OwnedRecord {
  ValueType type;
  int64_t expire_at_ms;
  std::string value;
  engine::EncodingHint encoding;
};

OwnedRecord CopyRecord(const RecordView& view) {
  return OwnedRecord{view.type, view.expire_at_ms, std::string(view.value), view.encoding};
}

// Writes a copy of record (read from src_db/src_key) at dst_db/dst_key: a string or an inline
// collection as is, a collection in member records with its members copied under a new id.
void PutCopy(CommandContext& ctx, int src_db, const std::string& src_key,
             const OwnedRecord& record, int dst_db, const std::string& dst_key) {
  if (engine::MembersIdOf(record.type, record.value) == 0) {
    ctx.engine->Put(dst_db, dst_key, record.type, record.value, record.expire_at_ms,
                    record.encoding);
    return;
  }
  CollectionObject source(ctx.engine, src_db, src_key, record.type, CollectionLimitsOf(ctx));
  if (source.Load(LookupMode::kWrite) != OpStatus::kOk) return;
  source.CopyTo(dst_db, dst_key, record.expire_at_ms);
}

// Redis's getIntFromObjectOrReply: an integer that fits in a C int. With error == nullptr the
// errors are "not an integer" and Redis's "value is out of range" text; otherwise `error` is
// used for both.
bool ParseIntRangeArg(std::string_view arg, protocol::ReplyBuilder* reply, const char* error,
                      int* out) {
  int64_t value;
  if (!ParseInt64(arg, &value)) {
    reply->Error(error != nullptr ? error : protocol::kNotInteger);
    return false;
  }
  if (value < INT_MIN || value > INT_MAX) {
    reply->Error(error != nullptr
                     ? error
                     : "ERR value is out of range, value must between -2147483648 and 2147483647");
    return false;
  }
  *out = static_cast<int>(value);
  return true;
}

bool DbIndexInRange(const CommandContext& ctx, int index) {
  return index >= 0 && index < ctx.engine->databases();
}

// DEL and UNLINK: the engine frees memory inline either way (values are single allocations),
// so UNLINK differs only in its flags.
void DelCommand(CommandContext& ctx) {
  // All or nothing when a key sits in a damaged table block: every key is looked up before the
  // first delete (a read error makes every later Delete a no-op and the reply an error).
  if (ctx.args.size() > 2) {
    for (size_t i = 1; i < ctx.args.size(); i++) ctx.engine->TierOf(ctx.session->db, ctx.args[i]);
  }
  int64_t deleted = 0;
  for (size_t i = 1; i < ctx.args.size(); i++) {
    if (ctx.engine->Delete(ctx.session->db, ctx.args[i])) deleted++;
  }
  ctx.reply->Integer(deleted);
}

// EXISTS counts a key once per time it is named ("EXISTS a a" is 2 when a exists).
void ExistsCommand(CommandContext& ctx) {
  int64_t found = 0;
  for (size_t i = 1; i < ctx.args.size(); i++) {
    if (ctx.engine->Get(ctx.session->db, ctx.args[i], LookupMode::kNoTouch)) found++;
  }
  ctx.reply->Integer(found);
}

// TOUCH is a read that updates the access counter (Redis: lookupKeyRead).
void TouchCommand(CommandContext& ctx) {
  int64_t touched = 0;
  for (size_t i = 1; i < ctx.args.size(); i++) {
    if (ctx.engine->Get(ctx.session->db, ctx.args[i], LookupMode::kRead)) touched++;
  }
  ctx.reply->Integer(touched);
}

void TypeCommand(CommandContext& ctx) {
  auto view = ctx.engine->Get(ctx.session->db, ctx.args[1], LookupMode::kNoTouch);
  ctx.reply->SimpleString(view ? RedisTypeName(view->type) : "none");
}

// KEYS walks the whole ordered keyspace in bounded chunks (the engine's Scan examines at most
// max_visits entries per call and deletes the expired ones it met).
void KeysCommand(CommandContext& ctx) {
  constexpr size_t kChunk = 1024;
  std::string_view pattern = ctx.args[1];
  bool match_all = pattern == "*";
  int db = ctx.session->db;
  std::vector<std::string> keys;
  std::string position;
  bool after = false;
  bool finished = false;
  while (!finished) {
    std::string next;
    ctx.engine->Scan(
        db, position, after, kChunk,
        [&](std::string_view key, const RecordView&) {
          if (match_all || GlobMatch(pattern, key)) keys.emplace_back(key);
        },
        &next, &finished);
    position = std::move(next);
    after = true;
  }
  ctx.reply->ArrayHeader(keys.size());
  for (const std::string& key : keys) ctx.reply->Bulk(key);
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. Each call examines `count` entries
// in key order from the cursor's resume position (see scan_cursors.h for why a cursor is an
// id in a table and what an unknown id does). MATCH and TYPE filter what was examined, so a
// reply may hold fewer than `count` keys, or none, before the end is reached.
void ScanCommand(CommandContext& ctx) {
  uint64_t cursor;
  if (!ParseScanCursor(ctx.args[1], &cursor)) {
    ctx.reply->Error(protocol::kInvalidCursor);
    return;
  }
  int64_t count = 10;
  std::string_view pattern;
  bool use_pattern = false;
  std::optional<std::string_view> type_filter;
  for (size_t i = 2; i < ctx.args.size(); i += 2) {
    const std::string& option = ctx.args[i];
    bool has_value = ctx.args.size() - i >= 2;
    if (ArgIs(option, "count") && has_value) {
      if (!ParseIntArg(ctx.args[i + 1], ctx.reply, &count)) return;
      if (count < 1) {
        ctx.reply->Error(protocol::kSyntaxErr);
        return;
      }
    } else if (ArgIs(option, "match") && has_value) {
      pattern = ctx.args[i + 1];
      use_pattern = pattern != "*";
    } else if (ArgIs(option, "type") && has_value) {
      // Redis 7.0 accepts any name here; an unknown type simply matches nothing.
      type_filter = ctx.args[i + 1];
    } else {
      ctx.reply->Error(protocol::kSyntaxErr);
      return;
    }
  }

  int db = ctx.session->db;
  ScanCursorTable& cursors = ctx.server->scan_cursors();
  std::string start;
  bool after = cursor != 0 && cursors.Lookup(cursor, db, &start);
  std::vector<std::string> keys;
  std::string last_examined;
  bool finished = false;
  ctx.engine->Scan(
      db, start, after, static_cast<size_t>(count),
      [&](std::string_view key, const RecordView& view) {
        if (use_pattern && !GlobMatch(pattern, key)) return;
        if (type_filter && !EqualsIgnoreCase(*type_filter, RedisTypeName(view.type))) return;
        keys.emplace_back(key);
      },
      &last_examined, &finished);

  uint64_t next_cursor = finished ? 0 : cursors.Save(db, last_examined);
  ctx.reply->ArrayHeader(2);
  ctx.reply->Bulk(std::to_string(next_cursor));
  ctx.reply->ArrayHeader(keys.size());
  for (const std::string& key : keys) ctx.reply->Bulk(key);
}

void DbSizeCommand(CommandContext& ctx) {
  ctx.reply->Integer(static_cast<int64_t>(ctx.engine->KeyCount(ctx.session->db)));
}

void RandomKeyCommand(CommandContext& ctx) {
  std::string key;
  if (ctx.engine->RandomKey(ctx.session->db, &key)) {
    ctx.reply->Bulk(key);
  } else {
    ctx.reply->NullBulk();
  }
}

// RENAME / RENAMENX: the TTL moves with the value. Renaming a key onto itself is a no-op that
// still requires the key to exist (OK for RENAME, 0 for RENAMENX), as in Redis.
void RenameGeneric(CommandContext& ctx, bool nx) {
  int db = ctx.session->db;
  const std::string& source = ctx.args[1];
  const std::string& destination = ctx.args[2];
  auto view = ctx.engine->Get(db, source, LookupMode::kWrite);
  if (!view) {
    ctx.reply->Error(protocol::kNoSuchKey);
    return;
  }
  if (source == destination) {
    if (nx) {
      ctx.reply->Integer(0);
    } else {
      ctx.reply->Ok();
    }
    return;
  }
  OwnedRecord record = CopyRecord(*view);  // the next Get may delete an expired destination
  if (ctx.engine->Get(db, destination, LookupMode::kWrite) && nx) {
    ctx.reply->Integer(0);
    return;
  }
  // O(1) for any collection: the metadata moves, its id with it, and the source's delete
  // keeps the members alive (keep_members).
  ctx.engine->Put(db, destination, record.type, record.value, record.expire_at_ms,
                  record.encoding);
  ctx.engine->Delete(db, source, /*keep_members=*/true);
  if (nx) {
    ctx.reply->Integer(1);
  } else {
    ctx.reply->Ok();
  }
}

void RenameCommand(CommandContext& ctx) { RenameGeneric(ctx, false); }
void RenameNxCommand(CommandContext& ctx) { RenameGeneric(ctx, true); }

// COPY source destination [DB destination-db] [REPLACE]. Options are checked in argument
// order, before the keys are looked at; the copy keeps the source's TTL.
void CopyCommand(CommandContext& ctx) {
  int src_db = ctx.session->db;
  int dst_db = src_db;
  bool replace = false;
  for (size_t i = 3; i < ctx.args.size(); i++) {
    bool has_value = ctx.args.size() - i >= 2;
    if (ArgIs(ctx.args[i], "replace")) {
      replace = true;
    } else if (ArgIs(ctx.args[i], "db") && has_value) {
      if (!ParseIntRangeArg(ctx.args[i + 1], ctx.reply, nullptr, &dst_db)) return;
      if (!DbIndexInRange(ctx, dst_db)) {
        ctx.reply->Error(protocol::kDbIndexOutOfRange);
        return;
      }
      i++;
    } else {
      ctx.reply->Error(protocol::kSyntaxErr);
      return;
    }
  }
  const std::string& source = ctx.args[1];
  const std::string& destination = ctx.args[2];
  if (src_db == dst_db && source == destination) {
    ctx.reply->Error(protocol::kSameObject);
    return;
  }
  auto view = ctx.engine->Get(src_db, source, LookupMode::kRead);
  if (!view) {
    ctx.reply->Integer(0);
    return;
  }
  OwnedRecord record = CopyRecord(*view);
  if (ctx.engine->Get(dst_db, destination, LookupMode::kWrite) && !replace) {
    ctx.reply->Integer(0);
    return;
  }
  PutCopy(ctx, src_db, source, record, dst_db, destination);
  ctx.reply->Integer(1);
}

// MOVE key db: 0 when the key is missing or already exists in the target database.
void MoveCommand(CommandContext& ctx) {
  int src_db = ctx.session->db;
  int dst_db;
  if (!ParseIntRangeArg(ctx.args[2], ctx.reply, nullptr, &dst_db)) return;
  if (!DbIndexInRange(ctx, dst_db)) {
    ctx.reply->Error(protocol::kDbIndexOutOfRange);
    return;
  }
  if (src_db == dst_db) {
    ctx.reply->Error(protocol::kSameObject);
    return;
  }
  const std::string& key = ctx.args[1];
  auto view = ctx.engine->Get(src_db, key, LookupMode::kWrite);
  if (!view) {
    ctx.reply->Integer(0);
    return;
  }
  OwnedRecord record = CopyRecord(*view);
  if (ctx.engine->Get(dst_db, key, LookupMode::kWrite)) {
    ctx.reply->Integer(0);
    return;
  }
  // A collection's members live in the source database's member space: they are copied
  // (O(N), where Redis's MOVE is O(1)), and the delete below makes the old ones garbage.
  PutCopy(ctx, src_db, key, record, dst_db, key);
  ctx.engine->Delete(src_db, key);
  ctx.reply->Integer(1);
}

// FLUSHDB / FLUSHALL [ASYNC|SYNC]. Both modes flush inline: the engine drops whole MemTables,
// which is cheap. Returns false (with the error written) for anything else.
bool ParseFlushMode(CommandContext& ctx) {
  if (ctx.args.size() > 2 ||
      (ctx.args.size() == 2 && !ArgIs(ctx.args[1], "sync") && !ArgIs(ctx.args[1], "async"))) {
    ctx.reply->Error(protocol::kSyntaxErr);
    return false;
  }
  return true;
}

void FlushDbCommand(CommandContext& ctx) {
  if (!ParseFlushMode(ctx)) return;
  ctx.engine->FlushDb(ctx.session->db);
  ctx.reply->Ok();
}

void FlushAllCommand(CommandContext& ctx) {
  if (!ParseFlushMode(ctx)) return;
  ctx.engine->FlushAll();
  ctx.reply->Ok();
}

void SwapDbCommand(CommandContext& ctx) {
  int first, second;
  if (!ParseIntRangeArg(ctx.args[1], ctx.reply, "ERR invalid first DB index", &first)) return;
  if (!ParseIntRangeArg(ctx.args[2], ctx.reply, "ERR invalid second DB index", &second)) return;
  if (!DbIndexInRange(ctx, first) || !DbIndexInRange(ctx, second)) {
    ctx.reply->Error(protocol::kDbIndexOutOfRange);
    return;
  }
  if (first != second) ctx.engine->SwapDb(first, second);  // swapping a db with itself: no-op
  ctx.reply->Ok();
}


}  // namespace

namespace {
// COMMAND INFO details from Redis 7.0.15's command JSON files.
void AttachKeyspaceDocs(CommandTable* table) {
  auto key = [](int begin, int last, std::vector<std::string> flags) {
    return MakeKeySpec(begin, last, 1, std::move(flags));
  };
  for (const char* name : {"del", "unlink"}) {
    table->Mutable(name)->key_specs = {key(1, -1, {"RM", "delete"})};
    table->Mutable(name)->tips = {"request_policy:multi_shard", "response_policy:agg_sum"};
  }
  for (const char* name : {"exists", "touch"}) {
    table->Mutable(name)->key_specs = {key(1, -1, {"RO"})};
    table->Mutable(name)->tips = {"request_policy:multi_shard", "response_policy:agg_sum"};
  }
  table->Mutable("type")->key_specs = {key(1, 0, {"RO"})};
  table->Mutable("dbsize")->tips = {"request_policy:all_shards", "response_policy:agg_sum"};
  table->Mutable("keys")->tips = {"request_policy:all_shards", "nondeterministic_output_order"};
  table->Mutable("scan")->tips = {"nondeterministic_output", "request_policy:special"};
  table->Mutable("randomkey")->tips = {"request_policy:all_shards", "nondeterministic_output"};
  for (const char* name : {"flushdb", "flushall"}) {
    table->Mutable(name)->tips = {"request_policy:all_shards", "response_policy:all_succeeded"};
  }
  table->Mutable("rename")->key_specs = {key(1, 0, {"RW", "access", "delete"}),
                                         key(2, 0, {"OW", "update"})};
  table->Mutable("renamenx")->key_specs = {key(1, 0, {"RW", "access", "delete"}),
                                           key(2, 0, {"OW", "insert"})};
  table->Mutable("copy")->key_specs = {key(1, 0, {"RO", "access"}), key(2, 0, {"OW", "update"})};
  table->Mutable("move")->key_specs = {key(1, 0, {"RW", "access", "update"})};
}
}  // namespace

void RegisterKeyspaceCommands(CommandTable* table) {
  // Arity, flags, key positions and ACL categories as Redis 7.0.15's COMMAND INFO prints them.
  table->Add("del", -2, kWrite, 1, -1, 1, DelCommand, "generic", "Delete a key", "1.0.0",
      "O(N) where N is the number of keys that will be removed. When a key to remove "
      "holds a value other than a string, the individual complexity for this key is "
      "O(M) where M is the number of elements in the list, set, sorted set or hash. "
      "Removing a single key that holds a string value is O(1).",
      {"@keyspace", "@write", "@slow"});
  table->Add("unlink", -2, kWrite | kFast, 1, -1, 1, DelCommand, "generic",
      "Delete a key asynchronously in another thread. Otherwise it is just as DEL, "
      "but non blocking.",
      "4.0.0",
      "O(1) for each key removed regardless of its size. Then the command does O(N) "
      "work in a different thread in order to reclaim memory, where N is the number "
      "of allocations the deleted objects where composed of.",
      {"@keyspace", "@write", "@fast"});
  table->Add("exists", -2, kReadOnly | kFast, 1, -1, 1, ExistsCommand, "generic",
      "Determine if a key exists", "1.0.0", "O(N) where N is the number of keys to check.",
      {"@keyspace", "@read", "@fast"});
  table->Add("touch", -2, kReadOnly | kFast, 1, -1, 1, TouchCommand, "generic",
      "Alters the last access time of a key(s). Returns the number of existing keys "
      "specified.",
      "3.2.1", "O(N) where N is the number of keys that will be touched.",
      {"@keyspace", "@read", "@fast"});
  table->Add("type", 2, kReadOnly | kFast, 1, 1, 1, TypeCommand, "generic",
      "Determine the type stored at key", "1.0.0", "O(1)", {"@keyspace", "@read", "@fast"});
  table->Add("keys", 2, kReadOnly, 0, 0, 0, KeysCommand, "generic",
      "Find all keys matching the given pattern", "1.0.0",
      "O(N) with N being the number of keys in the database, under the assumption "
      "that the key names in the database and the given pattern have limited length.",
      {"@keyspace", "@read", "@slow", "@dangerous"});
  table->Add("scan", -2, kReadOnly, 0, 0, 0, ScanCommand, "generic",
      "Incrementally iterate the keys space", "2.8.0",
      "O(1) for every call. O(N) for a complete iteration, including enough command "
      "calls for the cursor to return back to 0. N is the number of elements inside "
      "the collection.",
      {"@keyspace", "@read", "@slow"});
  table->Add("dbsize", 1, kReadOnly | kFast, 0, 0, 0, DbSizeCommand, "server",
      "Return the number of keys in the selected database", "1.0.0", "O(1)",
      {"@keyspace", "@read", "@fast"});
  table->Add("randomkey", 1, kReadOnly, 0, 0, 0, RandomKeyCommand, "generic",
      "Return a random key from the keyspace", "1.0.0", "O(1)", {"@keyspace", "@read", "@slow"});
  table->Add("rename", 3, kWrite, 1, 2, 1, RenameCommand, "generic", "Rename a key", "1.0.0",
      "O(1)", {"@keyspace", "@write", "@slow"});
  table->Add("renamenx", 3, kWrite | kFast, 1, 2, 1, RenameNxCommand, "generic",
      "Rename a key, only if the new key does not exist", "1.0.0", "O(1)",
      {"@keyspace", "@write", "@fast"});
  table->Add("copy", -3, kWrite | kDenyOom, 1, 2, 1, CopyCommand, "generic", "Copy a key", "6.2.0",
      "O(N) worst case for collections, where N is the number of nested items. O(1) "
      "for string values.",
      {"@keyspace", "@write", "@slow"});
  table->Add("move", 3, kWrite | kFast, 1, 1, 1, MoveCommand, "generic",
      "Move a key to another database", "1.0.0", "O(1)", {"@keyspace", "@write", "@fast"});
  table->Add("flushdb", -1, kWrite, 0, 0, 0, FlushDbCommand, "server",
      "Remove all keys from the current database", "1.0.0",
      "O(N) where N is the number of keys in the selected database",
      {"@keyspace", "@write", "@slow", "@dangerous"});
  table->Add("flushall", -1, kWrite, 0, 0, 0, FlushAllCommand, "server",
      "Remove all keys from all databases", "1.0.0",
      "O(N) where N is the total number of keys in all databases",
      {"@keyspace", "@write", "@slow", "@dangerous"});
  table->Add("swapdb", 3, kWrite | kFast, 0, 0, 0, SwapDbCommand, "server",
      "Swaps two Redis databases", "4.0.0",
      "O(N) where N is the count of clients watching or blocking on keys from both "
      "databases.",
      {"@keyspace", "@write", "@fast", "@dangerous"});
  AttachKeyspaceDocs(table);
}

}  // namespace organic::commands
