// Fuzz target: protocol::RequestParser, the client request parser (RESP multibulk and inline).
//
// Input: flags:u8  split:u8  stream:byte[]
//   flags bit 0  the client is not authenticated (Redis's smaller multibulk and bulk limits)
//   flags bit 1  small limits (proto-max-bulk-len 64, inline lines of 32 bytes), so the
//                "too big" paths are reachable with short inputs
//   split        seeds the chunk sizes in which the stream is fed the second time
//
// The stream is parsed twice, once in a single piece and once in random chunks, and the two
// results must be identical: the parser promises its result never depends on how the bytes
// arrive. Besides memory errors (ASan/UBSan), a difference aborts the run as a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "protocol/request_parser.h"

namespace {

using organic::protocol::ParserLimits;
using organic::protocol::RequestParser;

// What a parse produced: every complete command, then the error (if any) that ended it.
struct Transcript {
  std::vector<std::vector<std::string>> commands;
  std::string error;
  bool operator==(const Transcript&) const = default;
};

// Feeds `stream` to a fresh parser in chunks whose sizes come from next_chunk(remaining).
template <typename NextChunk>
Transcript Parse(const ParserLimits& limits, bool authenticated, const char* stream, size_t len,
                 NextChunk&& next_chunk) {
  RequestParser parser(limits);
  parser.set_authenticated(authenticated);
  Transcript out;
  size_t pos = 0;
  while (pos < len) {
    const size_t chunk_end = pos + next_chunk(len - pos);
    // Within one chunk the parser returns after each command; resume after what it consumed.
    while (pos < chunk_end) {
      size_t consumed = 0;
      const RequestParser::Result result = parser.Parse(stream + pos, chunk_end - pos, &consumed);
      FUZZ_CHECK(consumed <= chunk_end - pos);
      pos += consumed;
      if (result == RequestParser::Result::kError) {
        FUZZ_CHECK(!parser.error().empty());
        // The error is sticky until Reset.
        size_t again = 1;
        FUZZ_CHECK(parser.Parse(stream, len, &again) == RequestParser::Result::kError);
        FUZZ_CHECK(again == 0);
        out.error = parser.error();
        return out;
      }
      if (result == RequestParser::Result::kNeedMore) {
        FUZZ_CHECK(pos == chunk_end);
        break;
      }
      FUZZ_CHECK(parser.argc() >= 1);
      out.commands.emplace_back(parser.args(), parser.args() + parser.argc());
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t flags = data[0];
  uint32_t rng = data[1] * 2654435761u + 1;
  const char* stream = reinterpret_cast<const char*>(data + 2);
  const size_t len = size - 2;

  ParserLimits limits;
  if (flags & 2) {
    limits.max_bulk_len = 64;
    limits.max_inline_len = 32;
  }
  const bool authenticated = (flags & 1) == 0;

  const Transcript whole =
      Parse(limits, authenticated, stream, len, [](size_t remaining) { return remaining; });
  // Chunks of 1 to max_chunk bytes, max_chunk chosen by the seed: byte-at-a-time feeding and
  // splits inside number lines and CRLFs are where incremental parsers usually break.
  static constexpr size_t kMaxChunks[] = {1, 2, 3, 5, 8, 17, 64};
  const size_t max_chunk = kMaxChunks[data[1] % std::size(kMaxChunks)];
  const Transcript chunked = Parse(limits, authenticated, stream, len, [&](size_t remaining) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    const size_t n = 1 + rng % max_chunk;
    return n < remaining ? n : remaining;
  });
  FUZZ_CHECK(whole == chunked);
  return 0;
}
