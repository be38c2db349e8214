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
  // Case-insensitive lookup of a top-level command; nullptr if unknown.
  const CommandSpec* Find(std::string_view name) const;
  // Every top-level command in registration order.
  const std::vector<CommandSpec>& all() const { return commands_; }

  // Resolves ctx.args to a spec (subcommand for container commands) and checks the arity,
  // writing Redis's error for an unknown command/subcommand or wrong arity. Returns the spec to
  // run, or nullptr when an error reply was written.
  const CommandSpec* Resolve(std::span<const std::string> args,
                             protocol::ReplyBuilder* reply) const;

 private:
  std::vector<CommandSpec> commands_;
  std::unordered_map<std::string, size_t> index_;  // lowercase name -> position
};

// Registration blocks, one per family (each in its own file).
void RegisterConnectionCommands(CommandTable* table);
void RegisterStringCommands(CommandTable* table);
void RegisterKeyspaceCommands(CommandTable* table);
void RegisterExpireCommands(CommandTable* table);
void RegisterServerCommands(CommandTable* table);
void RegisterIntrospectionCommands(CommandTable* table);  // COMMAND, CONFIG, INFO, OBJECT ...
void RegisterAllCommands(CommandTable* table);

// "ERR unknown command 'foo', with args beginning with: 'a' 'b' "
std::string UnknownCommandError(std::span<const std::string> args);

}  // namespace organic::commands
