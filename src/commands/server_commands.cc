// Server family: SHUTDOWN, SAVE, BGSAVE, LASTSAVE, TIME, DEBUG, FUNCTION FLUSH, MEMORY.
#include <cstdio>

#include "commands/args.h"
#include "commands/collection_ops.h"
#include "commands/command_table.h"
#include "commands/server_api.h"
#include "server/config.h"
#include "util/clock.h"
#include "util/log.h"

namespace organic::commands {

namespace {

void ShutdownCommand(CommandContext& ctx) {
  bool nosave = false, save = false, other = false, abort = false;
  for (size_t i = 1; i < ctx.args.size(); i++) {
    const std::string& a = ctx.args[i];
    if (ArgIs(a, "NOSAVE")) nosave = true;
    else if (ArgIs(a, "SAVE")) save = true;
    else if (ArgIs(a, "NOW") || ArgIs(a, "FORCE")) other = true;
    else if (ArgIs(a, "ABORT")) abort = true;
    else {
      ctx.reply->Error(protocol::kSyntaxErr);
      return;
    }
  }
  // As Redis: ABORT goes with no other flag, SAVE and NOSAVE exclude each other.
  if ((abort && (nosave || save || other)) || (nosave && save)) {
    ctx.reply->Error(protocol::kSyntaxErr);
    return;
  }
  if (abort) {
    ctx.reply->Error("ERR No shutdown in progress.");
    return;
  }
  using Mode = ServerApi::ShutdownSave;
  Mode mode = save ? Mode::kSave : nosave ? Mode::kNoSave : Mode::kDefault;
  // Every acknowledged write is in the WAL either way; the final flush only spares the next
  // start a WAL replay. No reply on success, as Redis.
  if (!ctx.server->RequestShutdown(mode)) {
    ctx.reply->Error("ERR Errors trying to SHUTDOWN. Check logs.");
    return;
  }
  ctx.session->close_after_reply = true;
}

void SaveCommand(CommandContext& ctx) {
  Status st = ctx.engine->Flush();
  if (!st.ok()) {
    ctx.reply->Error("ERR " + st.ToString());
    return;
  }
  ctx.reply->Ok();
}

void BgsaveCommand(CommandContext& ctx) {
  if (ctx.args.size() > 2 || (ctx.args.size() == 2 && !ArgIs(ctx.args[1], "SCHEDULE"))) {
    ctx.reply->Error(protocol::kSyntaxErr);
    return;
  }
  // A metabolic flush: the loop freezes the MemTables and goes on serving clients while the
  // worker writes the tables.
  if (ctx.engine->flush_in_progress()) {
    ctx.reply->Error("ERR Background save already in progress");
    return;
  }
  Status st;
  if (!ctx.engine->StartFlush(&st)) {
    ctx.reply->Error("ERR " + st.ToString());
    return;
  }
  ctx.reply->SimpleString("Background saving started");
}

void LastSaveCommand(CommandContext& ctx) { ctx.reply->Integer(ctx.engine->stats().last_save_unix); }

void TimeCommand(CommandContext& ctx) {
  int64_t us = UnixTimeUs();
  ctx.reply->ArrayHeader(2);
  ctx.reply->Bulk(std::to_string(us / 1000000));
  ctx.reply->Bulk(std::to_string(us % 1000000));
}

void DebugCommand(CommandContext& ctx) {
  const std::string& sub = ctx.args[1];
  if (ArgIs(sub, "SLEEP") && ctx.args.size() == 3) {
    double secs;
    if (!ParseDouble(ctx.args[2], &secs)) secs = 0;
    ctx.server->Sleep(secs);
    ctx.reply->Ok();
  } else if (ArgIs(sub, "SET-ACTIVE-EXPIRE") && ctx.args.size() == 3) {
    int64_t on;
    if (!ParseIntArg(ctx.args[2], ctx.reply, &on)) return;
    ctx.engine->set_active_expire_enabled(on != 0);
    ctx.reply->Ok();
  } else if (ArgIs(sub, "RELOAD")) {
    Status st = ctx.engine->Reload();
    if (!st.ok()) {
      ctx.reply->Error("ERR Error trying to load the WAL: " + st.ToString());
      return;
    }
    ctx.reply->Ok();
  } else if (ArgIs(sub, "OBJECT") && ctx.args.size() == 3) {
    auto rec = ctx.engine->Get(ctx.session->db, ctx.args[2], engine::LookupMode::kNoTouch);
    if (!rec) {
      ctx.reply->Error("ERR no such key");
      return;
    }
    char buf[256];
    snprintf(buf, sizeof(buf),
             "Value at:0x0 refcount:1 encoding:%s serializedlength:%zu lru:0 lru_seconds_idle:0 "
             "access_count:%u",
             rec->encoding == engine::EncodingHint::kRaw || rec->value.size() > 44 ? "raw" : "embstr",
             rec->value.size(),
             rec->access_count);
    ctx.reply->SimpleString(buf);
  } else if (ArgIs(sub, "LOG") && ctx.args.size() == 3) {
    Log(LogLevel::kWarning, "DEBUG LOG: %s", ctx.args[2].c_str());
    ctx.reply->Ok();
  } else if (ArgIs(sub, "JMAP") || ArgIs(sub, "QUICKLIST-PACKED-THRESHOLD") ||
             ArgIs(sub, "CHANGE-REPL-ID") || ArgIs(sub, "SET-DISABLE-DENY-SCRIPTS") ||
             ArgIs(sub, "REPLYBUFFER")) {
    ctx.reply->Ok();
  } else if (ArgIs(sub, "HELP")) {
    static const char* kLines[] = {
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "OBJECT <key>", "    Show low level info about the key.",
        "RELOAD", "    Write every MemTable to SSTables, then reopen the data from disk with empty MemTables.",
        "SET-ACTIVE-EXPIRE <0|1>", "    Setting it to 0 disables expiring keys in background.",
        "SLEEP <seconds>", "    Stop the server for <seconds>. Decimals allowed.",
        "HELP", "    Print this help."};
    ReplyHelp(ctx.reply, kLines);
  } else {
    ctx.reply->Error("ERR unknown subcommand '" + sub + "'. Try DEBUG HELP.");
  }
}

void FunctionFlushCommand(CommandContext& ctx) {
  if (ctx.args.size() > 3 ||
      (ctx.args.size() == 3 && !ArgIs(ctx.args[2], "ASYNC") && !ArgIs(ctx.args[2], "SYNC"))) {
    ctx.reply->Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
    return;
  }
  ctx.reply->Ok();  // there are no functions to flush
}

void MemoryUsageCommand(CommandContext& ctx) {
  int64_t samples = 5;
  for (size_t i = 3; i < ctx.args.size(); i += 2) {
    if (!ArgIs(ctx.args[i], "SAMPLES") || i + 1 >= ctx.args.size()) {
      ctx.reply->Error(protocol::kSyntaxErr);
      return;
    }
    if (!ParseIntArg(ctx.args[i + 1], ctx.reply, &samples)) return;
  }
  auto rec = ctx.engine->Get(ctx.session->db, ctx.args[2], engine::LookupMode::kNoTouch);
  if (!rec) {
    ctx.reply->NullBulk();
    return;
  }
  // Entry header + pointers + key + value, rounded like the allocator's size classes.
  auto entry_bytes = [](size_t key, size_t value, bool ttl) {
    return (24 + key + value + (ttl ? 8 : 0) + 15) / 16 * 16;
  };
  size_t bytes = entry_bytes(ctx.args[2].size(), rec->value.size(), rec->expire_at_ms != 0);
  if (engine::MembersIdOf(rec->type, rec->value) != 0) {
    // As Redis: the first `samples` members (5 by default, 0 = all) stand for the average
    // member, times the count. A member record is a MemTable entry of its own.
    CollectionObject coll(ctx.engine, ctx.session->db, ctx.args[2], rec->type,
                          CollectionLimitsOf(ctx));
    if (coll.Load(engine::LookupMode::kNoTouch) == OpStatus::kOk && coll.size() > 0) {
      bool done = false;
      const size_t want = samples == 0 ? coll.size() : static_cast<size_t>(samples);
      auto sample = coll.Range({}, want, &done);
      size_t sampled = 0;
      for (const auto& [name, value] : sample) {
        sampled += entry_bytes(engine::kMemberKeyPrefix + name.size(), value.size(), false);
      }
      if (!sample.empty()) bytes += sampled / sample.size() * coll.size();
    }
  }
  ctx.reply->Integer(static_cast<int64_t>(bytes));
}

void MemoryHelpCommand(CommandContext& ctx) {
  static const char* kLines[] = {
      "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "USAGE <key> [SAMPLES <count>]",
      "    Return memory in bytes used by <key> and its value.",
      "HELP", "    Print this help."};
  ReplyHelp(ctx.reply, kLines);
}

CommandSpec Make(const char* name, int arity, uint32_t flags, CommandHandler handler,
                 const char* group, const char* summary, const char* since,
                 std::vector<std::string> acl, int first_key = 0) {
  return MakeCommand(name, arity, flags, first_key, first_key, first_key > 0 ? 1 : 0, handler,
                     group, summary, since, "O(1)", std::move(acl));
}

}  // namespace

void RegisterServerCommands(CommandTable* table) {
  table->Register(Make("shutdown", -1, kAdmin | kNoScript | kLoading | kStale | kNoMulti |
                                           kSentinel | kAllowBusy,
                       ShutdownCommand, "server", "Synchronously save the dataset to disk and then shut down the server",
                       "1.0.0", {"@admin", "@slow", "@dangerous"}));
  table->Register(Make("save", 1, kAdmin | kNoScript | kNoMulti, SaveCommand, "server",
                       "Synchronously save the dataset to disk", "1.0.0",
                       {"@admin", "@slow", "@dangerous"}));
  table->Register(Make("bgsave", -1, kAdmin | kNoScript, BgsaveCommand, "server",
                       "Asynchronously save the dataset to disk", "1.0.0",
                       {"@admin", "@slow", "@dangerous"}));
  table->Register(Make("lastsave", 1, kLoading | kStale | kFast, LastSaveCommand, "server",
                       "Get the UNIX time stamp of the last successful save to disk", "1.0.0",
                       {"@admin", "@fast", "@dangerous"}));
  table->Register(Make("time", 1, kLoading | kStale | kFast, TimeCommand, "server",
                       "Return the current server time", "2.6.0", {"@fast"}));
  table->Register(Make("debug", -2, kAdmin | kNoScript | kLoading | kStale, DebugCommand,
                       "server", "A container for debugging commands", "1.0.0",
                       {"@admin", "@slow", "@dangerous"}));

  CommandSpec function = Make("function", -2, 0, nullptr, "scripting",
                              "A container for function commands", "7.0.0", {"@slow"});
  CommandSpec flush = Make("function|flush", -2, kNoScript | kWrite, FunctionFlushCommand,
                           "scripting", "Deleting all functions", "7.0.0",
                           {"@write", "@slow", "@scripting"});
  function.subcommands.push_back(std::move(flush));
  table->Register(std::move(function));

  CommandSpec memory = Make("memory", -2, 0, nullptr, "server",
                            "A container for memory diagnostics commands", "4.0.0", {"@slow"});
  memory.subcommands.push_back(Make("memory|usage", -3, kReadOnly, MemoryUsageCommand, "server",
                                    "Estimate the memory usage of a key", "4.0.0",
                                    {"@read", "@slow"}, 2));
  memory.subcommands.push_back(Make("memory|help", 2, kLoading | kStale, MemoryHelpCommand,
                                    "server", "Show helpful text about the different subcommands",
                                    "4.0.0", {"@slow"}));
  table->Register(std::move(memory));
}

}  // namespace organic::commands
