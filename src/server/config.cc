#include "server/config.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <type_traits>

#include "protocol/request_parser.h"
#include "util/strings.h"

namespace organic {

namespace {

constexpr char kVersionForErrors[] = "Organic KV 0.1.0";

bool ParseBool(const std::string& s, bool* out) {
  std::string l = ToLowerAscii(s);
  if (l == "yes") *out = true;
  else if (l == "no") *out = false;
  else return false;
  return true;
}

std::string Join(const std::vector<std::string>& words, const char* sep) {
  std::string out;
  for (size_t i = 0; i < words.size(); i++) {
    if (i > 0) out += sep;
    out += words[i];
  }
  return out;
}

// A save point number as Redis reads it (strtoll: optional sign, the whole word consumed; the
// word "" reads as 0).
bool ParseSaveNumber(const std::string& s, int64_t* out) {
  errno = 0;
  char* end = nullptr;
  long long n = std::strtoll(s.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE) return false;
  *out = n;
  return true;
}

}  // namespace

bool SplitConfigLine(const std::string& line, std::vector<std::string>* words) {
  return protocol::SplitInlineArgs(line.data(), line.size(), words);
}

std::vector<std::string> SplitMultiArg(const std::string& value) {
  std::vector<std::string> words;
  if (value.empty()) return words;
  size_t start = 0;
  while (true) {
    size_t space = value.find(' ', start);
    words.push_back(value.substr(start, space == std::string::npos ? space : space - start));
    if (space == std::string::npos) return words;
    start = space + 1;
  }
}

bool ParseOutputBufferLimits(const std::vector<std::string>& args,
                             ConfigValues::OutputBufferLimit limits[ConfigValues::kObufClasses],
                             std::string* error) {
  if (args.size() % 4 != 0) {
    *error = "Wrong number of arguments in buffer limit configuration.";
    return false;
  }
  ConfigValues::OutputBufferLimit parsed[ConfigValues::kObufClasses];
  for (int i = 0; i < ConfigValues::kObufClasses; i++) parsed[i] = limits[i];
  for (size_t i = 0; i < args.size(); i += 4) {
    std::string cls = ToLowerAscii(args[i]);
    int index = cls == "normal"                        ? ConfigValues::kObufNormal
                : cls == "slave" || cls == "replica"   ? ConfigValues::kObufReplica
                : cls == "pubsub"                      ? ConfigValues::kObufPubsub
                                                       : -1;
    // Redis checks the class before the numbers ("foo x 2 3" is an invalid class).
    if (index < 0) {
      *error = "Invalid client class specified in buffer limit configuration.";
      return false;
    }
    ConfigValues::OutputBufferLimit l;
    if (!ParseMemory(args[i + 1], &l.hard) || !ParseMemory(args[i + 2], &l.soft) ||
        !ParseSaveNumber(args[i + 3], &l.soft_seconds) || l.soft_seconds < 0) {
      *error = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
      return false;
    }
    parsed[index] = l;
  }
  for (int i = 0; i < ConfigValues::kObufClasses; i++) limits[i] = parsed[i];
  return true;
}

std::string FormatOutputBufferLimits(
    const ConfigValues::OutputBufferLimit limits[ConfigValues::kObufClasses]) {
  static const char* kNames[] = {"normal", "slave", "pubsub"};
  std::string out;
  for (int i = 0; i < ConfigValues::kObufClasses; i++) {
    if (i > 0) out += ' ';
    out += std::string(kNames[i]) + " " + std::to_string(limits[i].hard) + " " +
           std::to_string(limits[i].soft) + " " + std::to_string(limits[i].soft_seconds);
  }
  return out;
}

bool ParseMemoryOrPercent(const std::string& value, uint64_t* bytes, int* percent,
                          std::string* error) {
  if (!value.empty() && value.back() == '%') {
    int64_t p;
    if (!ParseSaveNumber(value.substr(0, value.size() - 1), &p) || value.size() == 1 || p < 0) {
      *error = "argument must be a memory or percent value";
      return false;
    }
    if (p > 100) {
      *error = "percentage argument must be less or equal to 100";
      return false;
    }
    *percent = static_cast<int>(p);
    *bytes = 0;
    return true;
  }
  uint64_t n;
  if (!ParseMemory(value, &n) || n > static_cast<uint64_t>(INT64_MAX)) {
    *error = "argument must be a memory or percent value";
    return false;
  }
  *bytes = n;
  *percent = 0;
  return true;
}

Config::Config() { Define(); }

void Config::Define() {
  ConfigValues* v = &values_;
  auto one_arg = [](const std::vector<std::string>& args, std::string* error) {
    if (args.size() != 1) {
      *error = "wrong number of arguments";
      return false;
    }
    return true;
  };
  auto add_bool = [&](const char* name, bool* field, bool mut) {
    directives_.push_back(Directive{
        name, Type::kBool, mut,
        [=](const std::vector<std::string>& args, std::string* error) {
          if (!one_arg(args, error)) return false;
          if (!ParseBool(args[0], field)) {
            *error = "argument must be 'yes' or 'no'";
            return false;
          }
          return true;
        },
        [=] { return std::string(*field ? "yes" : "no"); }});
  };
  auto add_integer = [&](const char* name, auto* field, int64_t lo, int64_t hi, bool mut) {
    directives_.push_back(Directive{
        name, Type::kInt, mut,
        [=](const std::vector<std::string>& args, std::string* error) {
          if (!one_arg(args, error)) return false;
          int64_t n;
          if (!ParseInt64(args[0], &n)) {
            *error = "argument couldn't be parsed into an integer";
            return false;
          }
          if (n < lo || n > hi) {
            *error = "argument must be between " + std::to_string(lo) + " and " +
                     std::to_string(hi) + " inclusive";
            return false;
          }
          *field = static_cast<std::remove_reference_t<decltype(*field)>>(n);
          return true;
        },
        [=] { return std::to_string(*field); }});
  };
  auto add_int = [&](const char* name, int* field, int64_t lo, int64_t hi, bool mut) {
    add_integer(name, field, lo, hi, mut);
  };
  auto add_int64 = [&](const char* name, int64_t* field, int64_t lo, int64_t hi, bool mut) {
    add_integer(name, field, lo, hi, mut);
  };
  auto add_memory = [&](const char* name, uint64_t* field, uint64_t lo, bool mut) {
    directives_.push_back(Directive{
        name, Type::kMemory, mut,
        [=](const std::vector<std::string>& args, std::string* error) {
          if (!one_arg(args, error)) return false;
          uint64_t n;
          if (!ParseMemory(args[0], &n) || n > static_cast<uint64_t>(INT64_MAX)) {
            *error = "argument must be a memory value";
            return false;
          }
          if (n < lo) {
            *error = "argument must be a memory value of at least " + std::to_string(lo);
            return false;
          }
          *field = n;
          return true;
        },
        [=] { return std::to_string(*field); }});
  };
  auto add_enum = [&](const char* name, std::string* field, std::vector<std::string> choices,
                      bool mut) {
    directives_.push_back(Directive{
        name, Type::kEnum, mut,
        [=](const std::vector<std::string>& args, std::string* error) {
          if (!one_arg(args, error)) return false;
          std::string l = ToLowerAscii(args[0]);
          for (const std::string& c : choices) {
            if (l == c) {
              *field = c;
              return true;
            }
          }
          *error = "argument(s) must be one of the following: " + Join(choices, ", ");
          return false;
        },
        [=] { return *field; }});
  };
  auto add_string = [&](const char* name, std::string* field, bool mut) {
    directives_.push_back(Directive{
        name, Type::kString, mut,
        [=](const std::vector<std::string>& args, std::string* error) {
          if (!one_arg(args, error)) return false;
          *field = args[0];
          return true;
        },
        [=] { return *field; }});
  };

  add_int("port", &v->port, 0, 65535, false);
  directives_.push_back(Directive{
      "bind", Type::kMulti, false,
      [=](const std::vector<std::string>& args, std::string* error) {
        if (args.empty() || args.size() > 16) {
          *error = "wrong number of arguments";
          return false;
        }
        v->bind = args;
        return true;
      },
      [=] { return Join(v->bind, " "); }});
  add_bool("protected-mode", &v->protected_mode, true);
  add_string("dir", &v->dir, false);
  add_string("requirepass", &v->requirepass, true);
  add_int("databases", &v->databases, 1, 1 << 20, false);
  add_int("maxclients", &v->maxclients, 1, 1000000, true);
  {
    // At run time a higher maxclients needs file descriptors: the server's hook raises the
    // limit or refuses (the old value is restored), as Redis does.
    Directive& d = directives_.back();
    auto parse = d.set;
    d.set = [this, v, parse](const std::vector<std::string>& args, std::string* error) {
      int old = v->maxclients;
      if (!parse(args, error)) return false;
      if (maxclients_hook && v->maxclients > old && !maxclients_hook(v->maxclients, error)) {
        v->maxclients = old;
        return false;
      }
      return true;
    };
  }
  add_int("timeout", &v->timeout, 0, INT32_MAX, true);
  add_int("tcp-keepalive", &v->tcp_keepalive, 0, INT32_MAX, true);
  add_enum("appendfsync", &v->appendfsync, {"always", "everysec", "no"}, true);
  add_bool("appendonly", &v->appendonly, true);
  add_memory("proto-max-bulk-len", &v->proto_max_bulk_len, 1024 * 1024, true);
  add_memory("client-query-buffer-limit", &v->client_query_buffer_limit, 1024 * 1024, true);
  add_enum("loglevel", &v->loglevel, {"debug", "verbose", "notice", "warning"}, true);
  add_string("logfile", &v->logfile, false);
  add_int("hz", &v->hz, 1, 500, true);
  add_memory("maxmemory", &v->maxmemory, 0, true);
  add_enum("maxmemory-policy", &v->maxmemory_policy,
           {"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru",
            "allkeys-lfu", "allkeys-random", "noeviction", "organic"},
           true);
  add_int("maxmemory-samples", &v->maxmemory_samples, 1, 64, true);
  add_memory("organic-memtable-budget", &v->organic_memtable_budget, 0, true);
  add_int("organic-bloom-bits-per-key", &v->organic_bloom_bits_per_key, 0, 64, true);
  add_memory("organic-block-cache-size", &v->organic_block_cache_size, 0, true);
  directives_.push_back(Directive{
      "organic-ewma-alpha", Type::kString, true,
      [=](const std::vector<std::string>& args, std::string* error) {
        if (!one_arg(args, error)) return false;
        long double d;
        // The stored double must be in range too: a positive long double below the smallest
        // double ("1e-400") rounds to 0, which CONFIG GET would then print and CONFIG SET
        // refuse, and which would freeze the temperature (found by tests/fuzz/config_fuzz).
        if (!ParseLongDouble(args[0], &d) || !(d > 0) || d > 1 ||
            !(static_cast<double>(d) > 0)) {
          *error = "argument must be a number in (0, 1]";
          return false;
        }
        v->organic_ewma_alpha = static_cast<double>(d);
        return true;
      },
      // %.17g, not FormatLongDouble's fixed 17 decimals, which prints any alpha below 5e-18
      // as "0", a value CONFIG SET refuses (found by tests/fuzz/config_fuzz).
      [=] { return FormatDouble(v->organic_ewma_alpha); }});
  add_int("lfu-log-factor", &v->lfu_log_factor, 0, INT32_MAX, true);
  // Each alias is a directive of its own over the same value, as Redis lists both names.
  for (const char* name : {"hash-max-listpack-entries", "hash-max-ziplist-entries"}) {
    add_integer(name, &v->hash_max_listpack_entries, 0, INT64_MAX, true);
  }
  for (const char* name : {"hash-max-listpack-value", "hash-max-ziplist-value"}) {
    add_memory(name, &v->hash_max_listpack_value, 0, true);  // a memory value, as Redis
  }
  add_integer("set-max-intset-entries", &v->set_max_intset_entries, 0, INT64_MAX, true);
  add_int("lfu-decay-time", &v->lfu_decay_time, 0, INT32_MAX, true);
  directives_.push_back(Directive{
      "save", Type::kMulti, true,
      [=](const std::vector<std::string>& args, std::string* error) {
        // As Redis: pairs of <seconds >= 1> <changes >= 0>; "" (no words) clears them.
        std::vector<ConfigValues::SavePoint> points;
        bool ok = args.size() % 2 == 0 || (args.size() == 1 && args[0].empty());
        for (size_t i = 0; ok && i + 1 < args.size(); i += 2) {
          ConfigValues::SavePoint p;
          ok = ParseSaveNumber(args[i], &p.seconds) && p.seconds >= 1 &&
               ParseSaveNumber(args[i + 1], &p.changes) && p.changes >= 0;
          points.push_back(p);
        }
        if (!ok) {
          *error = "Invalid save parameters";
          return false;
        }
        v->save_points = std::move(points);
        return true;
      },
      [=] {
        std::string out;
        for (const auto& p : v->save_points) {
          if (!out.empty()) out += ' ';
          out += std::to_string(p.seconds) + " " + std::to_string(p.changes);
        }
        return out;
      }});
  add_bool("daemonize", &v->daemonize, false);
  add_string("pidfile", &v->pidfile, false);
  add_int("tcp-backlog", &v->tcp_backlog, 0, INT32_MAX, false);
  directives_.push_back(Directive{
      "client-output-buffer-limit", Type::kMulti, true,
      [=](const std::vector<std::string>& args, std::string* error) {
        return ParseOutputBufferLimits(args, v->client_output_buffer_limits, error);
      },
      [=] { return FormatOutputBufferLimits(v->client_output_buffer_limits); }});
  directives_.push_back(Directive{
      "maxmemory-clients", Type::kMemory, true,
      [=](const std::vector<std::string>& args, std::string* error) {
        if (!one_arg(args, error)) return false;
        return ParseMemoryOrPercent(args[0], &v->maxmemory_clients,
                                    &v->maxmemory_clients_percent, error);
      },
      [=] {
        if (v->maxmemory_clients_percent > 0) {
          return std::to_string(v->maxmemory_clients_percent) + "%";
        }
        return std::to_string(v->maxmemory_clients);
      }});
  add_bool("lazyfree-lazy-user-flush", &v->lazyfree_lazy_user_flush, true);
  add_int("active-expire-effort", &v->active_expire_effort, 1, 10, true);
  add_int64("slowlog-log-slower-than", &v->slowlog_log_slower_than, -1, INT64_MAX, true);
  add_int("slowlog-max-len", &v->slowlog_max_len, 0, INT32_MAX, true);
  add_string("dbfilename", &v->dbfilename, true);
  add_string("appendfilename", &v->appendfilename, false);
  add_string("appenddirname", &v->appenddirname, false);
  add_bool("enable-debug-command", &v->enable_debug_command, false);
  add_int("auto-aof-rewrite-percentage", &v->auto_aof_rewrite_percentage, 0, INT32_MAX, true);
  add_memory("auto-aof-rewrite-min-size", &v->auto_aof_rewrite_min_size, 0, true);
}

const Config::Directive* Config::Find(const std::string& name) const {
  for (const Directive& d : directives_) {
    if (EqualsIgnoreCase(d.name, name)) return &d;
  }
  return nullptr;
}

bool Config::Set(const std::string& name, const std::vector<std::string>& args,
                 std::string* error) {
  const Directive* d = Find(name);
  if (d == nullptr) {
    *error = "Bad directive or wrong number of arguments";
    return false;
  }
  return d->set(args, error);
}

bool Config::LoadText(const std::string& text, const std::string& source_name,
                      std::string* error) {
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    line_no++;
    // Trim spaces and a trailing CR.
    size_t b = line.find_first_not_of(" \t\r");
    size_t e = line.find_last_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    std::string trimmed = line.substr(b, e - b + 1);
    std::vector<std::string> words;
    std::string msg;
    bool ok = SplitConfigLine(trimmed, &words);
    if (!ok) {
      msg = "Unbalanced quotes in configuration line";
    } else if (!words.empty()) {
      std::string name = words[0];
      words.erase(words.begin());
      // As Redis: a multi-argument directive given one word (save "3600 1") is split at spaces.
      const Directive* d = Find(name);
      if (d != nullptr && d->type == Type::kMulti && words.size() == 1 && !words[0].empty()) {
        words = SplitMultiArg(words[0]);
      }
      ok = Set(name, words, &msg);
    }
    if (!ok) {
      *error = std::string("\n*** FATAL CONFIG FILE ERROR (") + kVersionForErrors + ") ***\n" +
               "Reading the configuration file " + source_name + ", at line " +
               std::to_string(line_no) + "\n>>> '" + trimmed + "'\n" + msg;
      return false;
    }
  }
  return true;
}

bool Config::LoadFile(const std::string& path, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "Fatal error, can't open config file '" + path + "': No such file or directory";
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  config_file_ = path;
  return LoadText(ss.str(), path, error);
}

}  // namespace organic
