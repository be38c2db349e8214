// Organic family: commands that show what the tiering engine does, which Redis has no words for.
//
//   ORGANIC TEMPERATURE
//     The global temperature as a bulk string, formatted as INFO's organic_temperature ("%.2f").
//     The temperature is the EWMA of the mean access count measured by the metabolic flushes;
//     a flush keeps in memory the keys hotter than it and writes the others to SSTables.
//   ORGANIC TEMPERATURE key
//     Where the key stands against that temperature, as field/value pairs in this order:
//       tier          "memory" (a MemTable holds its newest record) or "disk" (an SSTable does)
//       access_count  integer: the key's read counter in memory (halved each time it survives
//                     a flush; 0 on disk). A key above the temperature may survive the next
//                     flush; one at or below it goes to disk.
//       temperature   the global temperature, formatted as above
//     RESP3: a map; RESP2: a flat array of the pairs (as HELLO and CONFIG GET). A missing or
//     expired key replies null (RESP2 "*-1", RESP3 "_"). Looking the key up neither counts as
//     an access nor promotes a key from disk: introspection does not change what it observes.
//   ORGANIC HELP
//
// The table resolves the subcommands and checks their arity (Redis 7's container errors:
// "ERR unknown subcommand 'X'. Try ORGANIC HELP."); TEMPERATURE's optional key makes its
// arity open-ended, so its handler rejects extra arguments with Redis's subcommand syntax error.
#include <cstdio>
#include <string>

#include "commands/args.h"
#include "commands/command_table.h"

namespace organic::commands {

namespace {

std::string FormatTemperature(double t) {
  char buf[64];
  snprintf(buf, sizeof(buf), "%.2f", t);
  return buf;
}

void OrganicTemperatureCommand(CommandContext& ctx) {
  if (ctx.args.size() > 3) {
    ctx.reply->Error("ERR unknown subcommand or wrong number of arguments for '" +
                     std::string(ctx.args[1]) + "'. Try ORGANIC HELP.");
    return;
  }
  std::string temperature = FormatTemperature(ctx.engine->temperature());
  if (ctx.args.size() == 2) {
    ctx.reply->Bulk(temperature);
    return;
  }
  const std::string& key = ctx.args[2];
  int db = ctx.session->db;
  // kNoTouch: handles expiry and counts the hit/miss like OBJECT, but leaves the access
  // counter alone and never promotes a disk record.
  auto rec = ctx.engine->Get(db, key, engine::LookupMode::kNoTouch);
  if (!rec) {
    ctx.reply->NullArray();
    return;
  }
  uint32_t access_count = rec->access_count;  // copied: the view ends at the next lookup
  engine::Tier tier = ctx.engine->TierOf(db, key);
  if (tier == engine::Tier::kNone) {
    // Only a table read error gets here (Get just found the key); the server replaces the
    // reply with the read error.
    ctx.reply->NullArray();
    return;
  }
  ctx.reply->MapHeader(3);
  ctx.reply->Bulk("tier");
  ctx.reply->Bulk(tier == engine::Tier::kMemory ? "memory" : "disk");
  ctx.reply->Bulk("access_count");
  ctx.reply->Integer(access_count);
  ctx.reply->Bulk("temperature");
  ctx.reply->Bulk(temperature);
}

void OrganicHelpCommand(CommandContext& ctx) {
  static const char* const kLines[] = {
      "ORGANIC <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "TEMPERATURE [<key>]",
      "    Without <key>: return the global temperature, the moving average of the mean",
      "    access count that decides which keys stay in memory at a metabolic flush.",
      "    With <key>: return the key's tier (memory or disk), its access count and the",
      "    global temperature; nil if the key does not exist.",
      "HELP",
      "    Print this help."};
  ReplyHelp(ctx.reply, kLines);
}

}  // namespace

void RegisterOrganicCommands(CommandTable* table) {
  CommandSpec organic =
      MakeCommand("organic", -2, 0, 0, 0, 0, nullptr, "server",
                  "A container for commands that inspect Organic KV's memory and disk tiers",
                  "0.1.0", "Depends on subcommand.", {"@slow"});

  // The key is optional: first_key = last_key = 2 covers it when present, and COMMAND GETKEYS
  // finds no key in "ORGANIC TEMPERATURE" alone. RO without "access": the value is not read.
  CommandSpec temperature = MakeCommand(
      "organic|temperature", -2, kReadOnly, 2, 2, 1, OrganicTemperatureCommand, "server",
      "Get the global temperature, or a key's tier and access count against it", "0.1.0",
      "O(1) without a key; with a key, one lookup through the memory and disk tiers",
      {"@keyspace", "@read", "@slow"});
  KeySpec key;
  key.begin_index = 2;
  key.last_key = 0;
  key.key_step = 1;
  key.flags = {"RO"};
  key.notes = "optional: without it the command reports the global temperature";
  temperature.key_specs = {key};
  // The temperature moves with every flush and a key's tier and count with every read.
  temperature.tips = {"nondeterministic_output"};

  CommandSpec help =
      MakeCommand("organic|help", 2, kLoading | kStale, 0, 0, 0, OrganicHelpCommand, "server",
                  "Show helpful text about the different subcommands", "0.1.0", "O(1)", {"@slow"});

  organic.subcommands = {std::move(temperature), std::move(help)};
  table->Register(std::move(organic));
}

}  // namespace organic::commands
