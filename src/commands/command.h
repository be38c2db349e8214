// The command interface: what a handler receives and how a command is described.
// A handler parses its arguments, calls the engine (or the server through ServerApi) and
// writes exactly one reply. It never touches a socket.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "commands/session.h"
#include "engine/engine.h"
#include "protocol/reply_builder.h"

namespace organic::commands {

class ServerApi;

struct CommandContext {
  std::span<const std::string> args;  // args[0] is the command name as the client sent it
  protocol::ReplyBuilder* reply;
  engine::Engine* engine;
  Session* session;
  ServerApi* server;
};

using CommandHandler = void (*)(CommandContext& ctx);

// Flags, as in Redis's command table; COMMAND INFO prints their names.
enum CommandFlag : uint32_t {
  kWrite = 1u << 0,
  kReadOnly = 1u << 1,
  kDenyOom = 1u << 2,
  kAdmin = 1u << 3,
  kPubSub = 1u << 4,
  kNoScript = 1u << 5,
  kBlocking = 1u << 6,
  kLoading = 1u << 7,    // allowed while loading
  kStale = 1u << 8,
  kSkipMonitor = 1u << 9,
  kFast = 1u << 10,
  kNoAuth = 1u << 11,    // allowed before AUTH
  kMayReplicate = 1u << 12,
  kSentinel = 1u << 13,
  kNoMulti = 1u << 14,
  kAllowBusy = 1u << 15,
};

// One COMMAND INFO key specification: keys begin at argument `begin_index` and run to
// `last_key` (relative to begin_index; -1 = the last argument) every `key_step` arguments.
struct KeySpec {
  int begin_index = 1;
  int last_key = 0;
  int key_step = 1;
  std::vector<std::string> flags;  // "RW", "access", "update", "delete" ...
  std::string notes;
};

struct CommandSpec {
  // Dense index assigned by CommandTable::Register (subcommands included), so per-command
  // statistics are an array lookup on the hot path.
  size_t id = 0;
  std::string name;  // lowercase; "client|setname" style full name for subcommands
  int arity = 0;     // Redis convention: N exact, -N at least N (name included)
  uint32_t flags = 0;
  int first_key = 0;
  int last_key = 0;
  int key_step = 0;
  CommandHandler handler = nullptr;
  // COMMAND DOCS
  std::string group;       // "string", "keyspace", "connection", "server", "generic"
  std::string summary;
  std::string since;
  std::string complexity;
  std::vector<std::string> acl_categories;  // "@read", "@string", "@fast" ...
  // COMMAND INFO key specs as Redis's command JSON files state them. Empty: one spec derived
  // from first_key/last_key/key_step with RO access (RW update for kWrite commands).
  std::vector<KeySpec> key_specs;
  std::vector<std::string> tips;
  // For commands whose key flags depend on their arguments ("variable_flags", as Redis's
  // getkeys_proc): given the full command line, the flags COMMAND GETKEYSANDFLAGS reports for
  // the first key spec. nullptr = the key spec's own flags.
  std::vector<std::string> (*variable_key_flags)(std::span<const std::string> args) = nullptr;  // "nondeterministic_output", "request_policy:all_shards" ...
  std::vector<CommandSpec> subcommands;     // container commands (CLIENT, CONFIG ...)
};

}  // namespace organic::commands
