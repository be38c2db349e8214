// CommandTable: the single source for dispatch, the arity check and COMMAND's replies.
// Each family registers its commands explicitly in one readable block (Register*Commands).
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "commands/command.h"

namespace organic::commands {

class CommandTable {
 public:
  CommandTable() = default;
  CommandTable(const CommandTable&) = delete;
  CommandTable& operator=(const CommandTable&) = delete;

  void Register(CommandSpec spec);
  // Registers a top-level command without subcommands (CommandSpec's fields in order).
  void Add(const char* name, int arity, uint32_t flags, int first_key, int last_key,
           int key_step, CommandHandler handler, const char* group, const char* summary,
           const char* since, const char* complexity, std::vector<std::string> acl_categories);
  // The registered spec, to attach COMMAND INFO details (key specs, tips) after Add.
  // REQUIRES: name registered. The pointer is valid until the next registration.
  CommandSpec* Mutable(std::string_view name);
  // Case-insensitive lookup of a top-level command; nullptr if unknown.
  const CommandSpec* Find(std::string_view name) const;
  // Every top-level command in registration order.
  const std::vector<CommandSpec>& all() const { return commands_; }
  // Number of ids handed out (commands and subcommands); ids are 0 .. id_count()-1.
  size_t id_count() const { return next_id_; }

  // Resolves ctx.args to a spec (subcommand for container commands) and checks the arity,
  // writing Redis's error for an unknown command/subcommand or wrong arity. Returns the spec to
  // run, or nullptr when an error reply was written.
  const CommandSpec* Resolve(std::span<const std::string> args,
                             protocol::ReplyBuilder* reply) const;

 private:
  std::vector<CommandSpec> commands_;
  std::unordered_map<std::string, size_t> index_;  // lowercase name -> position
  size_t next_id_ = 0;
  mutable std::string lookup_scratch_;  // Find's lowercase buffer (loop thread only)
};

// Builds a spec (CommandSpec's fields in declaration order; no subcommands).
CommandSpec MakeCommand(const char* name, int arity, uint32_t flags, int first_key, int last_key,
                        int key_step, CommandHandler handler, const char* group,
                        const char* summary, const char* since, const char* complexity,
                        std::vector<std::string> acl_categories);

// A COMMAND INFO key spec (KeySpec's fields: begin index, last key, step, flags, notes).
KeySpec MakeKeySpec(int begin, int last, int step, std::vector<std::string> flags,
                    std::string notes = "");

// Registration blocks, one per family (each in its own file).
void RegisterConnectionCommands(CommandTable* table);
void RegisterStringCommands(CommandTable* table);
void RegisterBitCommands(CommandTable* table);
void RegisterHashCommands(CommandTable* table);
void RegisterSetCommands(CommandTable* table);
void RegisterKeyspaceCommands(CommandTable* table);
void RegisterExpireCommands(CommandTable* table);
void RegisterServerCommands(CommandTable* table);
void RegisterIntrospectionCommands(CommandTable* table);  // COMMAND, CONFIG, INFO, OBJECT ...
void RegisterOrganicCommands(CommandTable* table);  // ORGANIC TEMPERATURE, HELP
void RegisterAllCommands(CommandTable* table);

// "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
std::string UnknownCommandError(std::span<const std::string> args);

}  // namespace organic::commands
