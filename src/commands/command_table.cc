#include "commands/command_table.h"

#include <algorithm>

#include "util/strings.h"

namespace organic::commands {

void CommandTable::Register(CommandSpec spec) {
  spec.id = next_id_++;
  for (CommandSpec& sub : spec.subcommands) sub.id = next_id_++;
  index_[ToLowerAscii(spec.name)] = commands_.size();
  commands_.push_back(std::move(spec));
}

KeySpec MakeKeySpec(int begin, int last, int step, std::vector<std::string> flags,
                    std::string notes) {
  KeySpec ks;
  ks.begin_index = begin;
  ks.last_key = last;
  ks.key_step = step;
  ks.flags = std::move(flags);
  ks.notes = std::move(notes);
  return ks;
}

CommandSpec MakeCommand(const char* name, int arity, uint32_t flags, int first_key, int last_key,
                        int key_step, CommandHandler handler, const char* group,
                        const char* summary, const char* since, const char* complexity,
                        std::vector<std::string> acl_categories) {
  CommandSpec spec;
  spec.name = name;
  spec.arity = arity;
  spec.flags = flags;
  spec.first_key = first_key;
  spec.last_key = last_key;
  spec.key_step = key_step;
  spec.handler = handler;
  spec.group = group;
  spec.summary = summary;
  spec.since = since;
  spec.complexity = complexity;
  spec.acl_categories = std::move(acl_categories);
  return spec;
}

void CommandTable::Add(const char* name, int arity, uint32_t flags, int first_key, int last_key,
                       int key_step, CommandHandler handler, const char* group,
                       const char* summary, const char* since, const char* complexity,
                       std::vector<std::string> acl_categories) {
  Register(MakeCommand(name, arity, flags, first_key, last_key, key_step, handler, group, summary,
                       since, complexity, std::move(acl_categories)));
}

CommandSpec* CommandTable::Mutable(std::string_view name) {
  return &commands_[index_.at(ToLowerAscii(name))];
}

const CommandSpec* CommandTable::Find(std::string_view name) const {
  if (name.size() > 64) return nullptr;
  lookup_scratch_.assign(name);
  for (char& c : lookup_scratch_) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  auto it = index_.find(lookup_scratch_);
  return it == index_.end() ? nullptr : &commands_[it->second];
}

namespace {
// Redis formats arguments in error messages with printf's "%.*s": at most 128 bytes, and a NUL
// byte ends the argument. CR/LF become spaces when the error is written.
std::string CArgPrefix(std::string_view s, size_t max) {
  size_t n = std::min(max, s.size());
  size_t nul = s.substr(0, n).find('\0');
  return std::string(s.substr(0, nul == std::string_view::npos ? n : nul));
}

bool ArityOk(int arity, size_t argc) {
  return (arity > 0 && argc == static_cast<size_t>(arity)) ||
         (arity < 0 && argc >= static_cast<size_t>(-arity));
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

std::string UnknownCommandError(std::span<const std::string> args) {
  std::string msg = "ERR unknown command '";
  msg.append(CArgPrefix(args[0], 128));
  msg.append("', with args beginning with: ");
  size_t list_start = msg.size();
  for (size_t i = 1; i < args.size() && msg.size() - list_start < 128; i++) {
    size_t room = 128 - (msg.size() - list_start);
    msg.push_back('\'');
    msg.append(CArgPrefix(args[i], room));
    msg.append("' ");
  }
  return msg;
}

const CommandSpec* CommandTable::Resolve(std::span<const std::string> args,
                                         protocol::ReplyBuilder* reply) const {
  const CommandSpec* spec = Find(args[0]);
  if (spec == nullptr) {
    reply->Error(UnknownCommandError(args));
    return nullptr;
  }
  if (!spec->subcommands.empty() && args.size() >= 2) {
    std::string full = ToLowerAscii(spec->name) + "|" + ToLowerAscii(args[1]);
    for (const CommandSpec& sub : spec->subcommands) {
      if (sub.name == full) {
        if (!ArityOk(sub.arity, args.size())) {
          reply->Error("ERR wrong number of arguments for '" + full + "' command");
          return nullptr;
        }
        return &sub;
      }
    }
    reply->Error("ERR unknown subcommand '" + CArgPrefix(args[1], 128) + "'. Try " +
                 Upper(spec->name) + " HELP.");
    return nullptr;
  }
  if (!ArityOk(spec->arity, args.size())) {
    reply->Error("ERR wrong number of arguments for '" + ToLowerAscii(spec->name) + "' command");
    return nullptr;
  }
  return spec;
}

void RegisterAllCommands(CommandTable* table) {
  RegisterConnectionCommands(table);
  RegisterStringCommands(table);
  RegisterBitCommands(table);
  RegisterHashCommands(table);
  RegisterSetCommands(table);
  RegisterKeyspaceCommands(table);
  RegisterExpireCommands(table);
  RegisterServerCommands(table);
  RegisterIntrospectionCommands(table);
  RegisterOrganicCommands(table);
}

}  // namespace organic::commands
