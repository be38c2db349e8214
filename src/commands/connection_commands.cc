// Connection family: PING, ECHO, QUIT, SELECT, HELLO, AUTH, RESET, CLIENT.
#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "commands/args.h"
#include "commands/client_list.h"
#include "commands/command_table.h"
#include "commands/server_api.h"
#include "server/config.h"
#include "util/clock.h"

namespace organic::commands {

namespace {

void PingCommand(CommandContext& ctx) {
  if (ctx.args.size() > 2) {
    ctx.reply->Error("ERR wrong number of arguments for 'ping' command");
    return;
  }
  if (ctx.args.size() == 2) ctx.reply->Bulk(ctx.args[1]);
  else ctx.reply->SimpleString("PONG");
}

void EchoCommand(CommandContext& ctx) { ctx.reply->Bulk(ctx.args[1]); }

void QuitCommand(CommandContext& ctx) {
  ctx.reply->Ok();
  ctx.session->close_after_reply = true;
}

void SelectCommand(CommandContext& ctx) {
  int64_t db;
  if (!ParseIntArgOr(ctx.args[1], ctx.reply, &db, protocol::kNotInteger)) return;
  if (db < 0 || db >= ctx.engine->databases()) {
    ctx.reply->Error(protocol::kDbIndexOutOfRange);
    return;
  }
  ctx.session->db = static_cast<int>(db);
  ctx.reply->Ok();
}

// The password check shared by AUTH and HELLO AUTH. Only the "default" user exists.
bool CheckPassword(CommandContext& ctx, std::string_view user, std::string_view pass) {
  const std::string& required = ctx.server->config().values().requirepass;
  if (user != "default") return false;
  // With no password set, Redis's default user is "nopass": any password works for it.
  return required.empty() || pass == required;
}

void AuthCommand(CommandContext& ctx) {
  if (ctx.args.size() > 3) {
    ctx.reply->Error(protocol::kSyntaxErr);
    return;
  }
  const std::string& required = ctx.server->config().values().requirepass;
  if (ctx.args.size() == 2 && required.empty()) {
    ctx.reply->Error(protocol::kAuthNoPassword);
    return;
  }
  std::string_view user = ctx.args.size() == 3 ? std::string_view(ctx.args[1]) : "default";
  std::string_view pass = ctx.args.back();
  if (!CheckPassword(ctx, user, pass)) {
    ctx.reply->Error(protocol::kWrongPass);
    return;
  }
  ctx.session->authenticated = true;
  ctx.reply->Ok();
}

bool ValidClientName(std::string_view name) {
  for (unsigned char c : name) {
    if (c < '!' || c > '~') return false;  // no spaces, newlines or special characters
  }
  return true;
}

constexpr char kBadClientName[] =
    "ERR Client names cannot contain spaces, newlines or special characters.";

void HelloCommand(CommandContext& ctx) {
  int64_t version = ctx.session->resp;
  size_t i = 1;
  if (ctx.args.size() >= 2) {
    if (!ParseInt64(ctx.args[1], &version)) {
      ctx.reply->Error("ERR Protocol version is not an integer or out of range");
      return;
    }
    i = 2;
    if (version < 2 || version > 3) {
      ctx.reply->Error(protocol::kNoProto);
      return;
    }
  }
  std::string_view setname;
  bool has_setname = false;
  for (; i < ctx.args.size(); i++) {
    size_t more = ctx.args.size() - i - 1;
    if (ArgIs(ctx.args[i], "AUTH") && more >= 2) {
      if (!CheckPassword(ctx, ctx.args[i + 1], ctx.args[i + 2])) {
        ctx.reply->Error(protocol::kWrongPass);
        return;
      }
      ctx.session->authenticated = true;
      i += 2;
    } else if (ArgIs(ctx.args[i], "SETNAME") && more >= 1) {
      setname = ctx.args[i + 1];
      has_setname = true;
      i += 1;
    } else {
      ctx.reply->Error("ERR Syntax error in HELLO option '" + ctx.args[i] + "'");
      return;
    }
  }
  if (!ctx.session->authenticated) {
    ctx.reply->Error("NOAUTH HELLO must be called with the client already authenticated, "
                     "otherwise the HELLO AUTH <user> <pass> option can be used to "
                     "authenticate the client and select the RESP protocol version at the same "
                     "time");
    return;
  }
  if (has_setname) {
    if (!ValidClientName(setname)) {
      ctx.reply->Error(kBadClientName);
      return;
    }
    ctx.session->name.assign(setname);
  }
  ctx.session->resp = static_cast<int>(version);
  ctx.reply->set_resp_version(ctx.session->resp);
  ctx.reply->MapHeader(7);
  ctx.reply->Bulk("server");
  ctx.reply->Bulk("redis");
  ctx.reply->Bulk("version");
  ctx.reply->Bulk("7.0.15");
  ctx.reply->Bulk("proto");
  ctx.reply->Integer(version);
  ctx.reply->Bulk("id");
  ctx.reply->Integer(static_cast<int64_t>(ctx.session->id));
  ctx.reply->Bulk("mode");
  ctx.reply->Bulk("standalone");
  ctx.reply->Bulk("role");
  ctx.reply->Bulk("master");
  ctx.reply->Bulk("modules");
  ctx.reply->ArrayHeader(0);
}

void ResetCommand(CommandContext& ctx) {
  Session* s = ctx.session;
  s->db = 0;
  s->resp = 2;
  s->name.clear();
  s->authenticated = ctx.server->config().values().requirepass.empty();
  ctx.reply->set_resp_version(2);
  ctx.reply->SimpleString("RESET");
}

// --- CLIENT ---

void ClientIdCommand(CommandContext& ctx) { ctx.reply->Integer(static_cast<int64_t>(ctx.session->id)); }

void ClientSetNameCommand(CommandContext& ctx) {
  if (!ValidClientName(ctx.args[2])) {
    ctx.reply->Error(kBadClientName);
    return;
  }
  ctx.session->name = ctx.args[2];
  ctx.reply->Ok();
}

void ClientGetNameCommand(CommandContext& ctx) {
  if (ctx.session->name.empty()) ctx.reply->NullBulk();
  else ctx.reply->Bulk(ctx.session->name);
}

void ClientSetInfoCommand(CommandContext& ctx) {
  const std::string& attr = ctx.args[2];
  const std::string& value = ctx.args[3];
  bool is_name = ArgIs(attr, "LIB-NAME");
  if (!is_name && !ArgIs(attr, "LIB-VER")) {
    ctx.reply->Error("ERR Unrecognized option '" + attr + "'");
    return;
  }
  for (unsigned char c : value) {
    if (c < '!' || c > '~') {
      ctx.reply->Error("ERR " + std::string(is_name ? "lib-name" : "lib-ver") +
                       " cannot contain spaces, newlines or special characters.");
      return;
    }
  }
  (is_name ? ctx.session->lib_name : ctx.session->lib_ver) = value;
  ctx.reply->Ok();
}

void ClientListCommand(CommandContext& ctx) {
  std::vector<uint64_t> ids;
  for (size_t i = 2; i < ctx.args.size(); i++) {
    if (ArgIs(ctx.args[i], "TYPE") && i + 1 < ctx.args.size()) {
      const std::string& type = ctx.args[i + 1];
      if (!ArgIs(type, "normal") && !ArgIs(type, "master") && !ArgIs(type, "replica") &&
          !ArgIs(type, "slave") && !ArgIs(type, "pubsub")) {
        ctx.reply->Error("ERR Unknown client type '" + type + "'");
        return;
      }
      if (!ArgIs(type, "normal")) {
        ctx.reply->Verbatim("txt", "");
        return;
      }
      i++;
    } else if (ArgIs(ctx.args[i], "ID") && i + 1 < ctx.args.size()) {
      for (i = i + 1; i < ctx.args.size(); i++) {
        int64_t id;
        if (!ParseInt64(ctx.args[i], &id) || id <= 0) {
          ctx.reply->Error("ERR Invalid client ID");
          return;
        }
        ids.push_back(static_cast<uint64_t>(id));
      }
    } else {
      ctx.reply->Error(protocol::kSyntaxErr);
      return;
    }
  }
  std::string out;
  int64_t now = UnixTimeMs();
  ctx.server->ForEachClient([&](const ClientInfo& info) {
    if (!ids.empty() &&
        std::find(ids.begin(), ids.end(), info.session->id) == ids.end()) {
      return;
    }
    out += FormatClientLine(info, now);
    out += '\n';
  });
  ctx.reply->Verbatim("txt", out);
}

void ClientInfoCommand(CommandContext& ctx) {
  std::string out;
  int64_t now = UnixTimeMs();
  ctx.server->ForEachClient([&](const ClientInfo& info) {
    if (info.session->id == ctx.session->id) out = FormatClientLine(info, now) + "\n";
  });
  ctx.reply->Verbatim("txt", out);
}

void ClientKillCommand(CommandContext& ctx) {
  ClientKillFilter filter;
  if (ctx.args.size() == 3) {
    // Old form: CLIENT KILL addr:port — replies OK or an error.
    filter.by_addr = true;
    filter.addr = ctx.args[2];
    filter.skip_me = false;
    if (ctx.server->KillClients(filter, ctx.session) == 0) {
      ctx.reply->Error("ERR No such client");
      return;
    }
    ctx.reply->Ok();
    return;
  }
  if ((ctx.args.size() - 2) % 2 != 0) {
    ctx.reply->Error(protocol::kSyntaxErr);
    return;
  }
  for (size_t i = 2; i + 1 < ctx.args.size(); i += 2) {
    const std::string& opt = ctx.args[i];
    const std::string& val = ctx.args[i + 1];
    if (ArgIs(opt, "ID")) {
      int64_t id;
      if (!ParseInt64(val, &id) || id <= 0) {
        ctx.reply->Error("ERR client-id should be greater than 0");
        return;
      }
      filter.by_id = true;
      filter.id = static_cast<uint64_t>(id);
    } else if (ArgIs(opt, "ADDR")) {
      filter.by_addr = true;
      filter.addr = val;
    } else if (ArgIs(opt, "LADDR")) {
      filter.by_laddr = true;
      filter.laddr = val;
    } else if (ArgIs(opt, "USER")) {
      filter.by_user = true;
      filter.user = val;
    } else if (ArgIs(opt, "SKIPME")) {
      if (ArgIs(val, "yes")) filter.skip_me = true;
      else if (ArgIs(val, "no")) filter.skip_me = false;
      else {
        ctx.reply->Error(protocol::kSyntaxErr);
        return;
      }
    } else if (ArgIs(opt, "TYPE")) {
      if (!ArgIs(val, "normal") && !ArgIs(val, "master") && !ArgIs(val, "replica") &&
          !ArgIs(val, "slave") && !ArgIs(val, "pubsub")) {
        ctx.reply->Error("ERR Unknown client type '" + val + "'");
        return;
      }
      if (!ArgIs(val, "normal")) {
        ctx.reply->Integer(0);
        return;
      }
    } else {
      ctx.reply->Error(protocol::kSyntaxErr);
      return;
    }
  }
  ctx.reply->Integer(ctx.server->KillClients(filter, ctx.session));
}

void ClientNoEvictCommand(CommandContext& ctx) {
  if (ArgIs(ctx.args[2], "on") || ArgIs(ctx.args[2], "off")) {
    ctx.session->no_evict = ArgIs(ctx.args[2], "on");
    ctx.reply->Ok();
  } else {
    ctx.reply->Error(protocol::kSyntaxErr);
  }
}

void ClientHelpCommand(CommandContext& ctx) {
  static const char* kLines[] = {
      "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "GETNAME",
      "    Return the name of the current connection.",
      "ID",
      "    Return the ID of the current connection.",
      "INFO",
      "    Return information about the current client connection.",
      "KILL <ip:port>",
      "    Kill connection made from <ip:port>.",
      "KILL <option> <value> [<option> <value> [...]]",
      "    Kill connections. Options are: ID <client-id>, ADDR <ip:port>, LADDR <ip:port>,",
      "    TYPE (normal|master|replica|pubsub), USER <username>, SKIPME (YES|NO).",
      "LIST [options ...]",
      "    Return information about client connections. Options: TYPE (NORMAL|MASTER|REPLICA|PUBSUB), ID <client-id> [...]",
      "SETNAME <name>",
      "    Assign the name <name> to the current connection.",
      "SETINFO <option> <value>",
      "    Set client meta attributes: LIB-NAME <name> or LIB-VER <version>.",
      "NO-EVICT (ON|OFF)",
      "    Accepted for compatibility.",
      "HELP",
      "    Print this help.",
  };
  ReplyHelp(ctx.reply, kLines);
}

CommandSpec Sub(const char* name, int arity, uint32_t flags, CommandHandler handler,
                const char* summary) {
  return MakeCommand((std::string("client|") + name).c_str(), arity, flags, 0, 0, 0, handler,
                     "connection", summary, "2.4.0", "O(1)", {"@slow", "@connection"});
}

}  // namespace

std::string FormatClientLine(const ClientInfo& info, int64_t now_ms) {
  const Session& s = *info.session;
  char buf[512];
  snprintf(buf, sizeof(buf),
           "id=%" PRIu64 " addr=%s laddr=%s fd=%d name=%s age=%" PRId64 " idle=%" PRId64
           " flags=%s db=%d sub=0 psub=0 ssub=0 multi=-1 qbuf=%" PRIu64 " qbuf-free=%" PRIu64
           " argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem=%" PRIu64
           " tot-mem=%" PRIu64 " events=r cmd=%s user=default redir=-1 resp=%d",
           s.id, s.addr.c_str(), s.laddr.c_str(), s.fd, s.name.c_str(),
           (now_ms - s.created_ms) / 1000, (now_ms - s.last_interaction_ms) / 1000,
           s.no_evict ? "e" : "N", s.db,
           info.query_buffer_bytes, info.query_buffer_free, info.output_buffer_bytes,
           info.total_memory, s.last_command == nullptr ? "NULL" : s.last_command->c_str(), s.resp);
  return std::string(buf) + " lib-name=" + s.lib_name + " lib-ver=" + s.lib_ver;
}

void RegisterConnectionCommands(CommandTable* table) {
  auto add = [table](const char* name, int arity, uint32_t flags, CommandHandler handler,
                     const char* summary, const char* since, std::vector<std::string> acl) {
    table->Add(name, arity, flags, 0, 0, 0, handler, "connection", summary, since, "O(1)",
               std::move(acl));
  };
  add("ping", -1, kFast | kSentinel, PingCommand, "Ping the server", "1.0.0",
      {"@fast", "@connection"});
  add("echo", 2, kFast, EchoCommand, "Echo the given string", "1.0.0", {"@fast", "@connection"});
  add("quit", -1, kAllowBusy | kNoScript | kLoading | kStale | kFast | kNoAuth, QuitCommand,
      "Close the connection", "1.0.0", {"@fast", "@connection"});
  add("select", 2, kLoading | kStale | kFast, SelectCommand,
      "Change the selected database for the current connection", "1.0.0",
      {"@fast", "@connection"});
  add("hello", -1, kNoScript | kLoading | kStale | kFast | kNoAuth | kSentinel | kAllowBusy,
      HelloCommand, "Handshake with Redis", "6.0.0", {"@fast", "@connection"});
  add("auth", -2, kNoScript | kLoading | kStale | kFast | kNoAuth | kSentinel | kAllowBusy,
      AuthCommand, "Authenticate to the server", "1.0.0", {"@fast", "@connection"});
  add("reset", 1, kNoScript | kLoading | kStale | kFast | kNoAuth | kAllowBusy, ResetCommand,
      "Reset the connection", "6.2.0", {"@fast", "@connection"});

  CommandSpec client = MakeCommand("client", -2, kSentinel, 0, 0, 0, nullptr, "connection",
                                   "A container for client connection commands", "2.4.0",
                                   "Depends on subcommand.", {"@slow"});
  uint32_t f = kNoScript | kLoading | kStale;
  client.subcommands = {
      Sub("id", 2, f, ClientIdCommand, "Returns the client ID for the current connection"),
      Sub("setname", 3, f, ClientSetNameCommand, "Set the current connection name"),
      Sub("getname", 2, f, ClientGetNameCommand, "Get the current connection name"),
      Sub("list", -2, kAdmin | f, ClientListCommand, "Get the list of client connections"),
      Sub("info", 2, f, ClientInfoCommand,
          "Returns information about the current client connection."),
      Sub("setinfo", 4, f, ClientSetInfoCommand, "Set client or connection specific info"),
      Sub("kill", -3, kAdmin | f, ClientKillCommand, "Kill the connection of a client"),
      Sub("no-evict", 3, kAdmin | f, ClientNoEvictCommand,
          "Set client eviction mode for the current connection"),
      Sub("help", 2, kLoading | kStale, ClientHelpCommand, "Show helpful text about the different subcommands"),
  };
  table->Register(std::move(client));
}

}  // namespace organic::commands
