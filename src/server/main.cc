// organic-server [config-file] [--directive value ...]: parses the configuration like
// redis-server and runs the server.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "server/config.h"
#include "server/server.h"

namespace {

void PrintUsage() {
  fprintf(stderr,
          "Usage: ./organic-server [/path/to/organic.conf] [options] [-]\n"
          "       ./organic-server - (read config from stdin)\n"
          "       ./organic-server -v or --version\n"
          "       ./organic-server -h or --help\n\n"
          "Examples:\n"
          "       ./organic-server (run the server with the embedded default configuration)\n"
          "       ./organic-server /etc/organic/6379.conf\n"
          "       ./organic-server --port 7777\n"
          "       ./organic-server /etc/myorganic.conf --loglevel verbose --appendfsync always\n\n"
          "Every directive of redis.conf syntax that organic-server supports can be given as\n"
          "--directive value on the command line (see README.md).\n");
}

// Quotes a command-line argument for the config text (sdssplitargs reads it back).
std::string Quote(const std::string& arg) {
  std::string out = "\"";
  for (unsigned char c : arg) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 32 || c >= 127) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  int i = 1;
  if (argc >= 2) {
    if (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0) {
      printf("Organic KV server v=%s redis_version=7.0.15 bits=64 malloc=jemalloc\n",
             ORGANIC_VERSION);
      return 0;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
      PrintUsage();
      return 0;
    }
  }
  auto config = std::make_unique<organic::Config>();
  std::string error;
  if (i < argc && argv[i][0] != '-') {
    if (!config->LoadFile(argv[i], &error)) {
      fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    i++;
  }
  std::string options;
  bool read_stdin = false;
  for (; i < argc; i++) {
    std::string arg = argv[i];
    if (arg == "-") {
      read_stdin = true;
    } else if (arg.rfind("--", 0) == 0 && arg.size() > 2) {
      if (!options.empty()) options += "\n";
      options += arg.substr(2);
    } else {
      if (options.empty()) {
        fprintf(stderr, "Invalid argument '%s': options must start with --\n", arg.c_str());
        PrintUsage();
        return 1;
      }
      options += " " + Quote(arg);
    }
  }
  if (read_stdin) {
    std::string text;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) text.append(buf, n);
    if (!config->LoadText(text, "(stdin)", &error)) {
      fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
  }
  if (!options.empty() && !config->LoadText(options, "(command line)", &error)) {
    fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  organic::Server server(std::move(config));
  return server.Run();
}
