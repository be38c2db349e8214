// Fuzz target: the configuration parser: Config::LoadText (redis.conf syntax, as from a file
// or the command line) and the per-directive value parsers behind CONFIG SET.
//
// Input: mode:u8  directive:u8  text:byte[]
//   mode bit 0 clear  text is a whole config file for LoadText
//   mode bit 0 set    text is the arguments of one directive (directive % the number of
//                     directives picks it), one per line; a single line given to a
//                     multi-argument directive is split at spaces, as CONFIG SET does
//
// Besides memory errors, checks that what CONFIG GET prints for a single-value directive is
// accepted again by CONFIG SET and prints the same (Redis's CONFIG REWRITE relies on this).
// A violation aborts the run.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "server/config.h"

namespace {

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (true) {
    const size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end == std::string::npos ? end : end - start));
    if (end == std::string::npos) return lines;
    start = end + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::string text(reinterpret_cast<const char*>(data + 2), size - 2);
  organic::Config config;
  std::string error;
  if ((data[0] & 1) == 0) {
    if (!config.LoadText(text, "fuzz.conf", &error)) FUZZ_CHECK(!error.empty());
    return 0;
  }

  const auto& directives = config.directives();
  const organic::Config::Directive& directive = directives[data[1] % directives.size()];
  std::vector<std::string> args = SplitLines(text);
  const bool multi = directive.type == organic::Config::Type::kMulti;
  if (multi && args.size() == 1) args = organic::SplitMultiArg(args[0]);
  if (!directive.set(args, &error)) {
    FUZZ_CHECK(!error.empty());
    return 0;
  }
  const std::string printed = directive.get();
  if (multi) return 0;  // lists print joined by spaces; their round trip is not one word
  std::string again_error;
  FUZZ_CHECK(directive.set({printed}, &again_error));
  FUZZ_CHECK(directive.get() == printed);
  return 0;
}
