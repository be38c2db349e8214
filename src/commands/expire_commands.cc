// Expiry commands: EXPIRE PEXPIRE EXPIREAT PEXPIREAT (with NX XX GT LT), TTL PTTL EXPIRETIME
// PEXPIRETIME PERSIST. Expire times are absolute Unix milliseconds in the engine (0 = none);
// the checks and their order follow Redis 7.0's expireGenericCommand and ttlGenericCommand.
#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "commands/args.h"
#include "commands/command_table.h"
#include "protocol/errors.h"
#include "util/clock.h"
#include "util/strings.h"

namespace organic::commands {

namespace {

using engine::LookupMode;

enum ExpireCondition : unsigned {
  kExpireNx = 1u << 0,  // only if the key has no TTL
  kExpireXx = 1u << 1,  // only if the key has a TTL
  kExpireGt = 1u << 2,  // only if the new expiry is later (no TTL counts as infinite)
  kExpireLt = 1u << 3,  // only if the new expiry is earlier (no TTL counts as infinite)
};

// Parses the options after the time argument. Every option is validated before the
// compatibility checks, so "EXPIRE k 1 NX foo" reports the unknown option.
bool ParseExpireConditions(CommandContext& ctx, unsigned* conditions) {
  *conditions = 0;
  for (size_t i = 3; i < ctx.args.size(); i++) {
    const std::string& option = ctx.args[i];
    if (ArgIs(option, "nx")) {
      *conditions |= kExpireNx;
    } else if (ArgIs(option, "xx")) {
      *conditions |= kExpireXx;
    } else if (ArgIs(option, "gt")) {
      *conditions |= kExpireGt;
    } else if (ArgIs(option, "lt")) {
      *conditions |= kExpireLt;
    } else {
      ctx.reply->Error("ERR Unsupported option " + option);
      return false;
    }
  }
  if ((*conditions & kExpireNx) && (*conditions & (kExpireXx | kExpireGt | kExpireLt))) {
    ctx.reply->Error("ERR NX and XX, GT or LT options at the same time are not compatible");
    return false;
  }
  if ((*conditions & kExpireGt) && (*conditions & kExpireLt)) {
    ctx.reply->Error("ERR GT and LT options at the same time are not compatible");
    return false;
  }
  return true;
}

// Whether the conditions allow replacing current_ms (0 = no TTL) by when_ms.
bool ConditionsAllow(unsigned conditions, int64_t current_ms, int64_t when_ms) {
  bool has_ttl = current_ms != 0;
  if ((conditions & kExpireNx) && has_ttl) return false;
  if ((conditions & kExpireXx) && !has_ttl) return false;
  if ((conditions & kExpireGt) && (!has_ttl || when_ms <= current_ms)) return false;
  if ((conditions & kExpireLt) && has_ttl && when_ms >= current_ms) return false;
  return true;
}

// Redis names the command by its canonical (lowercase) name, whatever case the client used.
void ReplyInvalidExpireTime(CommandContext& ctx) {
  ctx.reply->Error("ERR invalid expire time in '" + ToLowerAscii(ctx.args[0]) + "' command");
}

// EXPIRE family. when = argument (seconds if in_seconds) + basetime_ms (now for the relative
// forms, 0 for the *AT forms). A time not in the future deletes the key and still replies 1.
void ExpireGeneric(CommandContext& ctx, bool relative, bool in_seconds) {
  unsigned conditions;
  if (!ParseExpireConditions(ctx, &conditions)) return;
  int64_t when;
  if (!ParseIntArg(ctx.args[2], ctx.reply, &when)) return;

  if (in_seconds) {
    if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) {
      ReplyInvalidExpireTime(ctx);
      return;
    }
    when *= 1000;
  }
  int64_t now = UnixTimeMs();
  int64_t basetime = relative ? now : 0;
  if (when > LLONG_MAX - basetime) {
    ReplyInvalidExpireTime(ctx);
    return;
  }
  when += basetime;

  int db = ctx.session->db;
  const std::string& key = ctx.args[1];
  auto view = ctx.engine->Get(db, key, LookupMode::kWrite);
  if (!view) {
    ctx.reply->Integer(0);
    return;
  }
  if (conditions != 0 && !ConditionsAllow(conditions, view->expire_at_ms, when)) {
    ctx.reply->Integer(0);
    return;
  }
  if (when <= now) {
    ctx.engine->Delete(db, key);
  } else {
    ctx.engine->SetExpire(db, key, when);
  }
  ctx.reply->Integer(1);
}

void ExpireCommand(CommandContext& ctx) { ExpireGeneric(ctx, true, true); }
void PExpireCommand(CommandContext& ctx) { ExpireGeneric(ctx, true, false); }
void ExpireAtCommand(CommandContext& ctx) { ExpireGeneric(ctx, false, true); }
void PExpireAtCommand(CommandContext& ctx) { ExpireGeneric(ctx, false, false); }

// TTL family: -2 missing key, -1 no TTL, else the remaining time (absolute: the expire time),
// in ms or in seconds rounded to the nearest (Redis's (ttl+500)/1000).
void TtlGeneric(CommandContext& ctx, bool in_ms, bool absolute) {
  auto view = ctx.engine->Get(ctx.session->db, ctx.args[1], LookupMode::kNoTouch);
  if (!view) {
    ctx.reply->Integer(-2);
    return;
  }
  if (view->expire_at_ms == 0) {
    ctx.reply->Integer(-1);
    return;
  }
  int64_t ttl = absolute ? view->expire_at_ms : view->expire_at_ms - UnixTimeMs();
  if (ttl < 0) ttl = 0;
  // Seconds round to nearest, as Redis's (ttl+500)/1000, written so that it cannot overflow
  // near INT64_MAX (Redis replies 9223372036854776 for PEXPIREAT INT64_MAX; so do we).
  ctx.reply->Integer(in_ms ? ttl : ttl / 1000 + (ttl % 1000 >= 500 ? 1 : 0));
}

void TtlCommand(CommandContext& ctx) { TtlGeneric(ctx, false, false); }
void PTtlCommand(CommandContext& ctx) { TtlGeneric(ctx, true, false); }
void ExpireTimeCommand(CommandContext& ctx) { TtlGeneric(ctx, false, true); }
void PExpireTimeCommand(CommandContext& ctx) { TtlGeneric(ctx, true, true); }

void PersistCommand(CommandContext& ctx) {
  int db = ctx.session->db;
  auto view = ctx.engine->Get(db, ctx.args[1], LookupMode::kWrite);
  if (!view || view->expire_at_ms == 0) {
    ctx.reply->Integer(0);
    return;
  }
  ctx.engine->SetExpire(db, ctx.args[1], 0);
  ctx.reply->Integer(1);
}


}  // namespace

void RegisterExpireCommands(CommandTable* table) {
  // Arity, flags, key positions and ACL categories as Redis 7.0.15's COMMAND INFO prints them.
  const std::vector<std::string> write_acl = {"@keyspace", "@write", "@fast"};
  const std::vector<std::string> read_acl = {"@keyspace", "@read", "@fast"};
  const uint32_t write_flags = kWrite | kFast;
  const uint32_t read_flags = kReadOnly | kFast;
  table->Add("expire", -3, write_flags, 1, 1, 1, ExpireCommand, "generic",
      "Set a key's time to live in seconds", "1.0.0", "O(1)", write_acl);
  table->Add("pexpire", -3, write_flags, 1, 1, 1, PExpireCommand, "generic",
      "Set a key's time to live in milliseconds", "2.6.0", "O(1)", write_acl);
  table->Add("expireat", -3, write_flags, 1, 1, 1, ExpireAtCommand, "generic",
      "Set the expiration for a key as a UNIX timestamp", "1.2.0", "O(1)", write_acl);
  table->Add("pexpireat", -3, write_flags, 1, 1, 1, PExpireAtCommand, "generic",
      "Set the expiration for a key as a UNIX timestamp specified in milliseconds", "2.6.0", "O(1)",
      write_acl);
  table->Add("ttl", 2, read_flags, 1, 1, 1, TtlCommand, "generic",
      "Get the time to live for a key in seconds", "1.0.0", "O(1)", read_acl);
  table->Add("pttl", 2, read_flags, 1, 1, 1, PTtlCommand, "generic",
      "Get the time to live for a key in milliseconds", "2.6.0", "O(1)", read_acl);
  table->Add("expiretime", 2, read_flags, 1, 1, 1, ExpireTimeCommand, "generic",
      "Get the expiration Unix timestamp for a key", "7.0.0", "O(1)", read_acl);
  table->Add("pexpiretime", 2, read_flags, 1, 1, 1, PExpireTimeCommand, "generic",
      "Get the expiration Unix timestamp for a key in milliseconds", "7.0.0", "O(1)", read_acl);
  table->Add("persist", 2, write_flags, 1, 1, 1, PersistCommand, "generic",
      "Remove the expiration from a key", "2.2.0", "O(1)", write_acl);
  // Key-spec flags and tips from Redis 7.0.15's command JSON files (COMMAND INFO).
  for (const char* name : {"expire", "pexpire", "expireat", "pexpireat", "persist"}) {
    KeySpec ks;
    ks.flags = {"RW", "update"};
    table->Mutable(name)->key_specs = {ks};
  }
  for (const char* name : {"ttl", "pttl", "expiretime", "pexpiretime"}) {
    KeySpec ks;
    ks.flags = {"RO", "access"};
    table->Mutable(name)->key_specs = {ks};
  }
  table->Mutable("ttl")->tips = {"nondeterministic_output"};
  table->Mutable("pttl")->tips = {"nondeterministic_output"};
}

}  // namespace organic::commands
