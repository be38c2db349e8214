// Introspection family: COMMAND, CONFIG, INFO, OBJECT. COMMAND walks the same table that
// dispatch uses, so what it reports is what the server runs.
#include <set>

#include "commands/args.h"
#include "engine/collection_meta.h"
#include "commands/command_table.h"
#include "commands/server_api.h"
#include "server/config.h"

namespace organic::commands {

namespace {

// --- COMMAND ---

void FlagNames(uint32_t flags, std::vector<const char*>* out) {
  static const std::pair<uint32_t, const char*> kNames[] = {
      {kWrite, "write"},       {kReadOnly, "readonly"},   {kDenyOom, "denyoom"},
      {kAdmin, "admin"},       {kPubSub, "pubsub"},       {kNoScript, "noscript"},
      {kBlocking, "blocking"}, {kLoading, "loading"},     {kStale, "stale"},
      {kSkipMonitor, "skip_monitor"}, {kFast, "fast"},    {kNoAuth, "no_auth"},
      {kMayReplicate, "may_replicate"}, {kSentinel, "sentinel"}, {kNoMulti, "no_multi"},
      {kAllowBusy, "allow_busy"}};
  for (const auto& [bit, name] : kNames) {
    if (flags & bit) out->push_back(name);
  }
}

std::vector<KeySpec> EffectiveKeySpecs(const CommandSpec& spec) {
  if (!spec.key_specs.empty() || spec.first_key <= 0) return spec.key_specs;
  KeySpec ks;
  ks.begin_index = spec.first_key;
  ks.last_key = spec.last_key < 0 ? spec.last_key : spec.last_key - spec.first_key;
  ks.key_step = spec.key_step;
  bool write = spec.flags & kWrite;
  ks.flags = {write ? "RW" : "RO", write ? "update" : "access"};
  return {ks};
}

void WriteCommandInfo(protocol::ReplyBuilder* r, const CommandSpec& spec) {
  r->ArrayHeader(10);
  r->Bulk(spec.name);
  r->Integer(spec.arity);
  std::vector<const char*> flags;
  FlagNames(spec.flags, &flags);
  r->SetHeader(flags.size());
  for (const char* f : flags) r->SimpleString(f);
  r->Integer(spec.first_key);
  r->Integer(spec.last_key);
  r->Integer(spec.key_step);
  r->SetHeader(spec.acl_categories.size());
  for (const std::string& c : spec.acl_categories) r->SimpleString(c);
  r->SetHeader(spec.tips.size());
  for (const std::string& tip : spec.tips) r->SimpleString(tip);
  std::vector<KeySpec> specs = EffectiveKeySpecs(spec);
  r->SetHeader(specs.size());
  for (const KeySpec& ks : specs) {
    r->MapHeader(ks.notes.empty() ? 3 : 4);
    if (!ks.notes.empty()) {
      r->Bulk("notes");
      r->Bulk(ks.notes);
    }
    r->Bulk("flags");
    r->SetHeader(ks.flags.size());
    for (const std::string& f : ks.flags) r->SimpleString(f);
    r->Bulk("begin_search");
    r->MapHeader(2);
    r->Bulk("type");
    r->Bulk("index");
    r->Bulk("spec");
    r->MapHeader(1);
    r->Bulk("index");
    r->Integer(ks.begin_index);
    r->Bulk("find_keys");
    r->MapHeader(2);
    r->Bulk("type");
    r->Bulk("range");
    r->Bulk("spec");
    r->MapHeader(3);
    r->Bulk("lastkey");
    r->Integer(ks.last_key);
    r->Bulk("keystep");
    r->Integer(ks.key_step);
    r->Bulk("limit");
    r->Integer(0);
  }
  r->SetHeader(spec.subcommands.size());
  for (const CommandSpec& sub : spec.subcommands) WriteCommandInfo(r, sub);
}

void WriteCommandDocs(protocol::ReplyBuilder* r, const CommandSpec& spec) {
  size_t fields = 4 + (spec.subcommands.empty() ? 0 : 1);
  r->MapHeader(fields);
  r->Bulk("summary");
  r->Bulk(spec.summary);
  r->Bulk("since");
  r->Bulk(spec.since);
  r->Bulk("group");
  r->Bulk(spec.group);
  r->Bulk("complexity");
  r->Bulk(spec.complexity);
  if (!spec.subcommands.empty()) {
    r->Bulk("subcommands");
    r->MapHeader(spec.subcommands.size());
    for (const CommandSpec& sub : spec.subcommands) {
      r->Bulk(sub.name);
      WriteCommandDocs(r, sub);
    }
  }
}

void CommandCommand(CommandContext& ctx) {
  const auto& all = ctx.server->commands().all();
  ctx.reply->ArrayHeader(all.size());
  for (const CommandSpec& spec : all) WriteCommandInfo(ctx.reply, spec);
}

void CommandCountCommand(CommandContext& ctx) {
  ctx.reply->Integer(static_cast<int64_t>(ctx.server->commands().all().size()));
}

// Finds "name" or "container|sub".
const CommandSpec* FindFull(const CommandTable& table, const std::string& name) {
  size_t bar = name.find('|');
  if (bar == std::string::npos) return table.Find(name);
  const CommandSpec* parent = table.Find(name.substr(0, bar));
  if (parent == nullptr) return nullptr;
  std::string full = ToLowerAscii(name);
  for (const CommandSpec& sub : parent->subcommands) {
    if (sub.name == full) return &sub;
  }
  return nullptr;
}

void CommandInfoCommand(CommandContext& ctx) {
  const CommandTable& table = ctx.server->commands();
  if (ctx.args.size() == 2) {
    CommandCommand(ctx);
    return;
  }
  ctx.reply->ArrayHeader(ctx.args.size() - 2);
  for (size_t i = 2; i < ctx.args.size(); i++) {
    const CommandSpec* spec = FindFull(table, ctx.args[i]);
    if (spec == nullptr) ctx.reply->NullBulk();
    else WriteCommandInfo(ctx.reply, *spec);
  }
}

void CommandDocsCommand(CommandContext& ctx) {
  const CommandTable& table = ctx.server->commands();
  std::vector<const CommandSpec*> specs;
  if (ctx.args.size() == 2) {
    for (const CommandSpec& s : table.all()) specs.push_back(&s);
  } else {
    for (size_t i = 2; i < ctx.args.size(); i++) {
      const CommandSpec* spec = FindFull(table, ctx.args[i]);
      if (spec != nullptr) specs.push_back(spec);
    }
  }
  ctx.reply->MapHeader(specs.size());
  for (const CommandSpec* spec : specs) {
    ctx.reply->Bulk(spec->name);
    WriteCommandDocs(ctx.reply, *spec);
  }
}

void CommandListCommand(CommandContext& ctx) {
  const CommandTable& table = ctx.server->commands();
  std::string filter, value;
  if (ctx.args.size() == 5 && ArgIs(ctx.args[2], "FILTERBY")) {
    filter = ToLowerAscii(ctx.args[3]);
    value = ctx.args[4];
    if (filter != "module" && filter != "aclcat" && filter != "pattern") {
      ctx.reply->Error(protocol::kSyntaxErr);
      return;
    }
  } else if (ctx.args.size() != 2) {
    ctx.reply->Error(protocol::kSyntaxErr);
    return;
  }
  std::vector<std::string> names;
  auto consider = [&](const CommandSpec& s) {
    if (filter == "module") return;
    if (filter == "pattern" && !GlobMatch(value, s.name, true)) return;
    if (filter == "aclcat") {
      bool found = false;
      for (const std::string& c : s.acl_categories) found |= EqualsIgnoreCase(c.substr(1), value);
      if (!found) return;
    }
    names.push_back(s.name);
  };
  for (const CommandSpec& s : table.all()) {
    consider(s);
    for (const CommandSpec& sub : s.subcommands) consider(sub);
  }
  ctx.reply->ArrayHeader(names.size());
  for (const std::string& n : names) ctx.reply->Bulk(n);
}

// Keys of a full command line by its spec's key positions; false (with Redis's error written)
// when the command is unknown, has the wrong arity or takes no keys.
bool ExtractKeys(CommandContext& ctx, std::span<const std::string> cmd,
                 const CommandSpec** spec_out, std::vector<std::string_view>* keys) {
  const CommandSpec* spec = ctx.server->commands().Find(cmd[0]);
  if (spec != nullptr && !spec->subcommands.empty() && cmd.size() >= 2) {
    std::string full = ToLowerAscii(spec->name) + "|" + ToLowerAscii(cmd[1]);
    const CommandSpec* sub = nullptr;
    for (const CommandSpec& s : spec->subcommands) {
      if (s.name == full) sub = &s;
    }
    spec = sub;
  }
  if (spec == nullptr) {
    ctx.reply->Error("ERR Invalid command specified");
    return false;
  }
  int argc = static_cast<int>(cmd.size());
  if ((spec->arity > 0 && argc != spec->arity) || (spec->arity < 0 && argc < -spec->arity)) {
    ctx.reply->Error("ERR Invalid number of arguments specified for command");
    return false;
  }
  if (spec->first_key <= 0) {
    ctx.reply->Error("ERR The command has no key arguments");
    return false;
  }
  int last = spec->last_key < 0 ? argc + spec->last_key : spec->last_key;
  for (int i = spec->first_key; i <= last && i < argc; i += std::max(1, spec->key_step)) {
    keys->push_back(cmd[static_cast<size_t>(i)]);
  }
  *spec_out = spec;
  return true;
}

void CommandGetKeysCommand(CommandContext& ctx) {
  const CommandSpec* spec;
  std::vector<std::string_view> keys;
  if (!ExtractKeys(ctx, ctx.args.subspan(2), &spec, &keys)) return;
  ctx.reply->ArrayHeader(keys.size());
  for (std::string_view k : keys) ctx.reply->Bulk(k);
}

void CommandGetKeysAndFlagsCommand(CommandContext& ctx) {
  const CommandSpec* spec;
  std::vector<std::string_view> keys;
  if (!ExtractKeys(ctx, ctx.args.subspan(2), &spec, &keys)) return;
  // Each key gets the flags of the key spec whose range covers its position.
  std::vector<KeySpec> specs = EffectiveKeySpecs(*spec);
  if (spec->variable_key_flags != nullptr) {
    specs.front().flags = spec->variable_key_flags(ctx.args.subspan(2));
  }
  ctx.reply->ArrayHeader(keys.size());
  for (size_t i = 0; i < keys.size(); i++) {
    size_t pos = static_cast<size_t>(spec->first_key) + i * std::max(1, spec->key_step);
    const KeySpec* match = &specs.front();
    for (const KeySpec& ks : specs) {
      if (static_cast<size_t>(ks.begin_index) <= pos) match = &ks;
    }
    ctx.reply->ArrayHeader(2);
    ctx.reply->Bulk(keys[i]);
    ctx.reply->SetHeader(match->flags.size());
    for (const std::string& f : match->flags) ctx.reply->SimpleString(f);
  }
}

void CommandHelpCommand(CommandContext& ctx) {
  static const char* kLines[] = {
      "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "(no subcommand)", "    Return details about all Redis commands.",
      "COUNT", "    Return the total number of commands in this Redis server.",
      "LIST", "    Return a list of all commands in this Redis server.",
      "INFO [<command-name> ...]",
      "    Return details about multiple Redis commands.",
      "DOCS [<command-name> ...]",
      "    Return documentation details about multiple Redis commands.",
      "GETKEYS <full-command>", "    Return the keys from a full Redis command.",
      "HELP", "    Print this help."};
  ReplyHelp(ctx.reply, kLines);
}

// --- CONFIG ---

void ConfigGetCommand(CommandContext& ctx) {
  Config& config = ctx.server->config();
  std::vector<const Config::Directive*> matched;
  std::set<const Config::Directive*> seen;
  // An exact name (no glob characters) is echoed back as the client wrote it, as Redis does.
  std::vector<std::string> names;
  for (size_t i = 2; i < ctx.args.size(); i++) {
    const std::string& pattern = ctx.args[i];
    bool glob = pattern.find_first_of("*?[") != std::string::npos;
    for (const Config::Directive& d : config.directives()) {
      bool hit = glob ? GlobMatch(pattern, d.name, true) : EqualsIgnoreCase(pattern, d.name);
      if (hit && seen.insert(&d).second) {
        matched.push_back(&d);
        names.push_back(glob ? d.name : pattern);
      }
    }
  }
  ctx.reply->MapHeader(matched.size());
  for (size_t i = 0; i < matched.size(); i++) {
    ctx.reply->Bulk(names[i]);
    ctx.reply->Bulk(matched[i]->get());
  }
}

void ConfigSetCommand(CommandContext& ctx) {
  if ((ctx.args.size() - 2) % 2 != 0) {
    ctx.reply->Error(protocol::kSyntaxErr);
    return;
  }
  Config& config = ctx.server->config();
  // Validate every pair first so a multi-parameter CONFIG SET is all-or-nothing.
  std::vector<std::pair<const Config::Directive*, std::vector<std::string>>> changes;
  std::set<const Config::Directive*> seen;
  for (size_t i = 2; i < ctx.args.size(); i += 2) {
    const Config::Directive* d = config.Find(ctx.args[i]);
    if (d == nullptr) {
      ctx.reply->Error("ERR Unknown option or number of arguments for CONFIG SET - '" +
                       ctx.args[i] + "'");
      return;
    }
    if (!seen.insert(d).second) {
      ctx.reply->Error("ERR CONFIG SET failed (possibly related to argument '" + ctx.args[i] +
                       "') - duplicate parameter");
      return;
    }
    if (!d->runtime_mutable) {
      ctx.reply->Error("ERR CONFIG SET failed (possibly related to argument '" + ctx.args[i] +
                       "') - can't set immutable config");
      return;
    }
    std::vector<std::string> words;
    if (d->type == Config::Type::kMulti) {
      words = SplitMultiArg(ctx.args[i + 1]);
    } else {
      words.push_back(ctx.args[i + 1]);
    }
    changes.emplace_back(d, std::move(words));
  }
  std::vector<std::pair<const Config::Directive*, std::string>> previous;
  for (auto& [d, words] : changes) {
    std::string old = d->get();
    std::string error;
    if (!d->set(words, &error)) {
      // Roll back what was already applied.
      for (auto& [pd, pv] : previous) {
        std::vector<std::string> w;
        if (pd->type == Config::Type::kMulti) w = SplitMultiArg(pv);
        else w.push_back(pv);
        std::string ignored;
        pd->set(w, &ignored);
      }
      ctx.reply->Error("ERR CONFIG SET failed (possibly related to argument '" + d->name +
                       "') - " + error);
      return;
    }
    previous.emplace_back(d, old);
  }
  for (auto& [d, words] : changes) ctx.server->OnConfigChanged(d->name);
  ctx.reply->Ok();
}

void ConfigResetStatCommand(CommandContext& ctx) {
  ctx.server->ResetStats();
  ctx.reply->Ok();
}

void ConfigHelpCommand(CommandContext& ctx) {
  static const char* kLines[] = {
      "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
      "SET <directive> <value>", "    Set the configuration <directive> to <value>.",
      "RESETSTAT", "    Reset statistics reported by the INFO command.",
      "HELP", "    Print this help."};
  ReplyHelp(ctx.reply, kLines);
}

// --- INFO ---

void InfoCommand(CommandContext& ctx) {
  std::vector<std::string> sections(ctx.args.begin() + 1, ctx.args.end());
  ctx.reply->Verbatim("txt", ctx.server->Info(sections));
}

// --- OBJECT ---

bool IsLfuPolicy(const std::string& policy) { return policy.find("lfu") != std::string::npos; }

// OBJECT FREQ answers with the key's access count under the organic policy (the counter the
// metabolic flush compares with the temperature) and, as Redis does, under an LFU policy.
// Under the other Redis policies it keeps Redis's error, so clients written for Redis see
// Redis's behaviour there.
bool FreqTracked(const std::string& policy) {
  return policy == "organic" || IsLfuPolicy(policy);
}

const char* StringEncoding(const engine::RecordView& rec) {
  int64_t v;
  if (rec.encoding == engine::EncodingHint::kRaw) return "raw";
  if (rec.encoding == engine::EncodingHint::kEmbstr) return rec.value.size() <= 44 ? "embstr" : "raw";
  if (rec.value.size() <= 20 && ParseInt64(rec.value, &v)) return "int";
  return rec.value.size() <= 44 ? "embstr" : "raw";
}

void ObjectCommand(CommandContext& ctx) {
  const std::string& sub = ctx.args[1];
  if (ArgIs(sub, "HELP") && ctx.args.size() == 2) {
    static const char* kLines[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help."};
    ReplyHelp(ctx.reply, kLines);
    return;
  }
  bool known = ArgIs(sub, "ENCODING") || ArgIs(sub, "FREQ") || ArgIs(sub, "IDLETIME") ||
               ArgIs(sub, "REFCOUNT");
  if (!known || ctx.args.size() != 3) {
    ctx.reply->Error("ERR unknown subcommand or wrong number of arguments for '" + sub +
                     "'. Try OBJECT HELP.");
    return;
  }
  auto rec = ctx.engine->Get(ctx.session->db, ctx.args[2], engine::LookupMode::kNoTouch);
  if (!rec) {
    ctx.reply->NullBulk();
    return;
  }
  const std::string& policy = ctx.server->config().values().maxmemory_policy;
  if (ArgIs(sub, "ENCODING")) {
    if (engine::IsCollection(rec->type)) {
      engine::CollectionMeta meta;
      ctx.reply->Bulk(engine::DecodeCollectionMeta(rec->value, &meta)
                          ? engine::CollectionEncodingName(meta.encoding)
                          : "unknown");
    } else {
      ctx.reply->Bulk(StringEncoding(*rec));
    }
  } else if (ArgIs(sub, "FREQ")) {
    if (!FreqTracked(policy)) {
      ctx.reply->Error(
          "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please "
          "note that when switching between policies at runtime LRU and LFU data will take some "
          "time to adjust.");
      return;
    }
    ctx.reply->Integer(rec->access_count);
  } else if (ArgIs(sub, "IDLETIME")) {
    if (IsLfuPolicy(policy)) {
      ctx.reply->Error(
          "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that "
          "when switching between policies at runtime LRU and LFU data will take some time to "
          "adjust.");
      return;
    }
    ctx.reply->Integer(ctx.engine->IdleSeconds(ctx.session->db, ctx.args[2]));
  } else {
    int64_t v;
    bool shared = std::string_view(StringEncoding(*rec)) == "int" &&
                  ParseInt64(rec->value, &v) && v >= 0 && v < 10000;
    ctx.reply->Integer(shared ? 2147483647 : 1);
  }
}

CommandSpec Make(const char* name, int arity, uint32_t flags, CommandHandler handler,
                 const char* group, const char* summary, const char* since,
                 std::vector<std::string> acl) {
  return MakeCommand(name, arity, flags, 0, 0, 0, handler, group, summary, since, "O(1)",
                     std::move(acl));
}

}  // namespace

void RegisterIntrospectionCommands(CommandTable* table) {
  CommandSpec command = Make("command", -1, kLoading | kStale, CommandCommand, "server",
                             "Get array of Redis command details", "2.8.13",
                             {"@slow", "@connection"});
  uint32_t f = kLoading | kStale;
  command.subcommands = {
      Make("command|count", 2, f, CommandCountCommand, "server",
           "Get total number of Redis commands", "2.8.13", {"@slow", "@connection"}),
      Make("command|info", -2, f, CommandInfoCommand, "server",
           "Get array of specific Redis command details, or all when no argument is given.",
           "2.8.13", {"@slow", "@connection"}),
      Make("command|docs", -2, f, CommandDocsCommand, "server",
           "Get array of specific Redis command documentation", "7.0.0",
           {"@slow", "@connection"}),
      Make("command|list", -2, f, CommandListCommand, "server",
           "Get an array of Redis command names", "7.0.0", {"@slow", "@connection"}),
      Make("command|getkeys", -3, f, CommandGetKeysCommand, "server",
           "Extract keys given a full Redis command", "2.8.13", {"@slow", "@connection"}),
      Make("command|getkeysandflags", -3, f, CommandGetKeysAndFlagsCommand, "server",
           "Extract keys and access flags given a full Redis command", "7.0.0",
           {"@slow", "@connection"}),
      Make("command|help", 2, f, CommandHelpCommand, "server",
           "Show helpful text about the different subcommands", "5.0.0",
           {"@slow", "@connection"}),
  };
  table->Register(std::move(command));

  CommandSpec config = Make("config", -2, 0, nullptr, "server",
                            "A container for server configuration commands", "2.0.0", {"@slow"});
  uint32_t cf = kAdmin | kNoScript | kLoading | kStale;
  config.subcommands = {
      Make("config|get", -3, cf, ConfigGetCommand, "server",
           "Get the values of configuration parameters", "2.0.0",
           {"@admin", "@slow", "@dangerous"}),
      Make("config|set", -4, cf | kMayReplicate, ConfigSetCommand, "server",
           "Set configuration parameters to the given values", "2.0.0",
           {"@admin", "@slow", "@dangerous"}),
      Make("config|resetstat", 2, cf, ConfigResetStatCommand, "server",
           "Reset the stats returned by INFO", "2.0.0", {"@admin", "@slow", "@dangerous"}),
      Make("config|help", 2, kLoading | kStale, ConfigHelpCommand, "server",
           "Show helpful text about the different subcommands", "5.0.0", {"@slow"}),
  };
  table->Register(std::move(config));

  table->Register(Make("info", -1, kLoading | kStale | kSentinel, InfoCommand, "server",
                       "Get information and statistics about the server", "1.0.0",
                       {"@slow", "@dangerous"}));
  CommandSpec object = Make("object", -2, 0, nullptr, "generic",
                            "A container for object introspection commands", "2.2.3", {"@slow"});
  for (const char* sub : {"encoding", "freq", "idletime", "refcount"}) {
    CommandSpec s = Make("", 3, kReadOnly, ObjectCommand, "generic",
                         "Inspect the internal encoding of a Redis object", "2.2.3",
                         {"@keyspace", "@read", "@slow"});
    s.name = std::string("object|") + sub;
    s.first_key = 2;
    s.last_key = 2;
    s.key_step = 1;
    object.subcommands.push_back(std::move(s));
  }
  object.subcommands.push_back(Make("object|help", 2, kLoading | kStale, ObjectCommand,
                                    "generic", "Show helpful text about the different subcommands",
                                    "6.2.0", {"@keyspace", "@slow"}));
  table->Register(std::move(object));
}

}  // namespace organic::commands
