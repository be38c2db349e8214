// Fuzz target: protocol::SplitInlineArgs, the sdssplitargs-style splitter behind inline
// commands and config file lines (SplitConfigLine).
//
// Input: the line, as is.
//
// Besides memory errors, checks a round trip: when a line splits, writing each word back as a
// double-quoted string with every byte escaped as \xHH and splitting that again must give the
// same words. A difference aborts the run as a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "protocol/request_parser.h"
#include "server/config.h"

namespace {

std::string QuoteEveryByte(const std::vector<std::string>& words) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string line;
  for (const std::string& word : words) {
    if (!line.empty()) line.push_back(' ');
    line.push_back('"');
    for (unsigned char c : word) {
      line += "\\x";
      line.push_back(kHex[c >> 4]);
      line.push_back(kHex[c & 15]);
    }
    line.push_back('"');
  }
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* line = reinterpret_cast<const char*>(data);
  std::vector<std::string> words;
  const bool ok = organic::protocol::SplitInlineArgs(line, size, &words);
  if (!ok) {
    FUZZ_CHECK(words.empty());
  } else {
    const std::string quoted = QuoteEveryByte(words);
    std::vector<std::string> again;
    FUZZ_CHECK(organic::protocol::SplitInlineArgs(quoted.data(), quoted.size(), &again));
    FUZZ_CHECK(again == words);
  }
  // The config file's entry point to the same splitter must agree with it.
  std::vector<std::string> config_words;
  FUZZ_CHECK(organic::SplitConfigLine(std::string(line, size), &config_words) == ok);
  FUZZ_CHECK(config_words == words);
  return 0;
}
