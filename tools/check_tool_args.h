// The command line shared by organic-check-wal and organic-check-sst:
//   <tool> [--fix] <file-or-dir>      (-h / --help prints the usage)
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace organic::check_tool {

struct CheckArgs {
  bool fix = false;
  std::string target;  // the one path given
};

// Parses args (without the program name) into *parsed. Returns the exit status when the tool
// must stop here (0 after printing the usage for --help, 1 after a usage error), nullopt to go on.
inline std::optional<int> ParseCheckArgs(const std::vector<std::string>& args, const char* usage,
                                         std::ostream& out, std::ostream& err,
                                         CheckArgs* parsed) {
  std::vector<std::string> paths;
  for (const std::string& arg : args) {
    if (arg == "--fix") {
      parsed->fix = true;
    } else if (arg == "-h" || arg == "--help") {
      out << usage << "\n";
      return 0;
    } else if (!arg.empty() && arg[0] == '-') {
      err << "Unknown option: " << arg << "\n" << usage << "\n";
      return 1;
    } else {
      paths.push_back(arg);
    }
  }
  if (paths.size() != 1) {
    err << usage << "\n";
    return 1;
  }
  parsed->target = paths[0];
  return std::nullopt;
}

}  // namespace organic::check_tool
