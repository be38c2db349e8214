// organic-bench's connections to the server (hiredis contexts) and INFO snapshots, from which
// the report derives server-side ratios for the run.
#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "options.h"

namespace organic::bench {

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

// Opens a blocking connection (5 s connect timeout). On failure returns null and sets *error.
ContextPtr Connect(const Options& opt, std::string* error);

// Turns a connected context non-blocking, so redisBufferRead/Write return on EAGAIN.
bool MakeNonBlocking(redisContext* ctx);

using InfoFields = std::map<std::string, std::string, std::less<>>;

// Sends INFO and splits the "field:value" lines; nullopt if the reply is not a bulk string.
std::optional<InfoFields> FetchInfo(redisContext* ctx);

// The INFO field `name` as a number; nullopt if there is no such field or it is not a number.
std::optional<uint64_t> InfoNumber(const std::optional<InfoFields>& info, std::string_view name);

// Ratio a / (a + b) of the growth of two INFO counters between two snapshots; nullopt when a
// counter is missing or neither grew.
std::optional<double> DeltaRatio(const std::optional<InfoFields>& before,
                                 const std::optional<InfoFields>& after, std::string_view a,
                                 std::string_view b);

}  // namespace organic::bench
