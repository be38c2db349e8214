// organic-bench's connections to the server and INFO snapshots (see server_info.h).
#include "server_info.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "options.h"

namespace organic::bench {

// Opens a blocking connection (5 s connect timeout). On failure returns null and sets *error.
ContextPtr Connect(const Options& opt, std::string* error) {
  timeval timeout{5, 0};
  ContextPtr ctx(redisConnectWithTimeout(opt.host.c_str(), opt.port, timeout));
  if (ctx == nullptr) {
    *error = "out of memory";
    return nullptr;
  }
  if (ctx->err != 0) {
    *error = ctx->errstr;
    return nullptr;
  }
  return ctx;
}

// Turns a connected context non-blocking, so redisBufferRead/Write return on EAGAIN. This is
// what redisConnectNonBlock produces, minus its asynchronous connect (whose errors we would have
// to collect later; a blocking connect reports them up front).
bool MakeNonBlocking(redisContext* ctx) {
  const int flags = fcntl(ctx->fd, F_GETFL);
  if (flags < 0 || fcntl(ctx->fd, F_SETFL, flags | O_NONBLOCK) < 0) return false;
  ctx->flags &= ~REDIS_BLOCK;
  return true;
}

// Sends INFO (its default sections include organic-server's "# Organic") and splits the
// "field:value" lines. Returns nullopt if the server does not answer with a bulk string.
std::optional<InfoFields> FetchInfo(redisContext* ctx) {
  auto* reply = static_cast<redisReply*>(redisCommand(ctx, "INFO"));
  if (reply == nullptr) return std::nullopt;
  std::optional<InfoFields> fields;
  if (reply->type == REDIS_REPLY_STRING) {
    fields.emplace();
    std::string_view text(reply->str, reply->len);
    while (!text.empty()) {
      size_t eol = text.find('\n');
      std::string_view line = text.substr(0, eol);
      text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
      if (line.ends_with('\r')) line.remove_suffix(1);
      size_t colon = line.find(':');
      if (line.empty() || line[0] == '#' || colon == std::string_view::npos) continue;
      fields->emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
    }
  }
  freeReplyObject(reply);
  return fields;
}

std::optional<uint64_t> InfoNumber(const std::optional<InfoFields>& info, std::string_view name) {
  if (!info) return std::nullopt;
  auto it = info->find(name);
  uint64_t value = 0;
  if (it == info->end() || !ParseUint(it->second, 0, UINT64_MAX, &value)) return std::nullopt;
  return value;
}

// Ratio a / (a + b) of the growth of two INFO counters between two snapshots; nullopt when a
// counter is missing or neither grew.
std::optional<double> DeltaRatio(const std::optional<InfoFields>& before,
                                 const std::optional<InfoFields>& after, std::string_view a,
                                 std::string_view b) {
  auto a0 = InfoNumber(before, a), a1 = InfoNumber(after, a);
  auto b0 = InfoNumber(before, b), b1 = InfoNumber(after, b);
  if (!a0 || !a1 || !b0 || !b1 || *a1 < *a0 || *b1 < *b0) return std::nullopt;
  const uint64_t da = *a1 - *a0, db = *b1 - *b0;
  if (da + db == 0) return std::nullopt;
  return static_cast<double>(da) / static_cast<double>(da + db);
}

}  // namespace organic::bench
