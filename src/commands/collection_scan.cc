#include "commands/collection_scan.h"

#include <string>
#include <utility>
#include <vector>

#include "commands/args.h"
#include "commands/collection_ops.h"
#include "commands/scan_cursors.h"
#include "commands/server_api.h"
#include "protocol/errors.h"
#include "util/strings.h"

namespace organic::commands {

void ScanCollectionCommand(CommandContext& ctx, engine::ValueType type) {
  // Redis's order: the cursor, then the key (missing: an empty scan; wrong type), then the
  // options.
  uint64_t cursor;
  if (!ParseScanCursor(ctx.args[2], &cursor)) {
    ctx.reply->Error(protocol::kInvalidCursor);
    return;
  }
  const int db = ctx.session->db;
  CollectionObject coll(ctx.engine, db, ctx.args[1], type, CollectionLimitsOf(ctx));
  OpStatus st = coll.Load(engine::LookupMode::kRead);
  if (st == OpStatus::kWrongType) {
    ctx.reply->Error(protocol::kWrongType);
    return;
  }
  int64_t count = 10;
  std::string_view pattern;
  bool use_pattern = false;
  for (size_t i = 3; i < ctx.args.size(); i += 2) {
    const bool has_value = ctx.args.size() - i >= 2;
    if (ArgIs(ctx.args[i], "count") && has_value) {
      if (!ParseIntArg(ctx.args[i + 1], ctx.reply, &count)) return;
      if (count < 1) {
        ctx.reply->Error(protocol::kSyntaxErr);
        return;
      }
    } else if (ArgIs(ctx.args[i], "match") && has_value) {
      pattern = ctx.args[i + 1];
      use_pattern = pattern != "*";
    } else {
      ctx.reply->Error(protocol::kSyntaxErr);
      return;
    }
  }
  const bool pairs = type == engine::ValueType::kHash;
  std::vector<std::pair<std::string, std::string>> found;
  uint64_t next_cursor = 0;
  if (st == OpStatus::kOk && coll.storage() == engine::CollectionStorage::kInline) {
    coll.ForEach([&](std::string_view name, std::string_view value) {
      if (!use_pattern || GlobMatch(pattern, name)) found.emplace_back(name, value);
      return true;
    });
  } else if (st == OpStatus::kOk) {
    ScanCursorTable& cursors = ctx.server->scan_cursors();
    const int space = ctx.engine->MemberSpace(db);
    // The saved position is a whole member key: it counts only for this collection's id.
    std::string position, after;
    if (cursor != 0 && cursors.Lookup(cursor, space, &position) &&
        engine::MemberKeyId(position) == coll.id()) {
      after.assign(engine::MemberKeyName(position));
    }
    bool done = false;
    auto chunk = coll.Range(after, static_cast<size_t>(count), &done);
    if (!done && !chunk.empty()) {
      next_cursor = cursors.Save(
          space, engine::MemberKey(coll.id(), engine::MemberKind::kMember, chunk.back().first));
    }
    for (auto& [name, value] : chunk) {
      if (!use_pattern || GlobMatch(pattern, name)) {
        found.emplace_back(std::move(name), std::move(value));
      }
    }
  }
  ctx.reply->ArrayHeader(2);
  ctx.reply->Bulk(std::to_string(next_cursor));
  ctx.reply->ArrayHeader(found.size() * (pairs ? 2 : 1));
  for (const auto& [name, value] : found) {
    ctx.reply->Bulk(name);
    if (pairs) ctx.reply->Bulk(value);
  }
}

}  // namespace organic::commands
