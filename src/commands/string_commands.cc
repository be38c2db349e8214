// The string command family: GET/SET and their variants, MGET/MSET, counters (INCR...,
// INCRBYFLOAT), ranges (GETRANGE, SETRANGE, APPEND, STRLEN) and LCS.
//
// Behaviour follows Redis 7.0's t_string.c, including the order in which errors are detected
// (it decides which error a client sees when several apply), the commands that keep a key's TTL
// (those Redis implements as an in-place change: APPEND, SETRANGE, INCR*, DECR*, INCRBYFLOAT,
// SET KEEPTTL) and those that drop it (SET, GETSET, MSET, MSETNX, SETNX).
//
// Engine views are valid only until the next mutation, so every handler either replies from a
// view before writing or copies what it needs first.

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands/args.h"
#include "commands/command.h"
#include "commands/command_table.h"
#include "commands/server_api.h"
#include "engine/engine.h"
#include "protocol/errors.h"
#include "server/config.h"
#include "util/clock.h"
#include "util/strings.h"

namespace organic::commands {

// Redis's MAX_LONG_DOUBLE_CHARS: string2ld rejects inputs of this length or longer.
constexpr size_t kMaxLongDoubleChars = 5 * 1024;

// Redis's string2ld, exactly: at most kMaxLongDoubleChars - 1 bytes, no leading space, the
// whole string consumed, not NaN, and ERANGE only rejected for overflow (+-HUGE_VAL) or
// underflow to zero. A subnormal result ("1e-4940") is accepted, as in Redis.
// (util's ParseLongDouble differs on both bounds: it accepts 5120 bytes and rejects any ERANGE.)
bool ParseLongDoubleValue(std::string_view s, long double* out) {
  if (s.empty() || s.size() >= kMaxLongDoubleChars) return false;
  char buf[kMaxLongDoubleChars];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  if (std::isspace(static_cast<unsigned char>(buf[0]))) return false;
  char* end = nullptr;
  errno = 0;
  long double value = std::strtold(buf, &end);
  if (end != buf + s.size() || errno == EINVAL || std::isnan(value) ||
      (errno == ERANGE && (std::isinf(value) || std::fpclassify(value) == FP_ZERO))) {
    return false;
  }
  *out = value;
  return true;
}

bool AddFloatOrReply(long double value, long double incr, protocol::ReplyBuilder* reply,
                     std::string* formatted) {
  value += incr;
  if (std::isnan(value) || std::isinf(value)) {
    reply->Error(protocol::kIncrFloatNanInf);
    return false;
  }
  *formatted = FormatLongDouble(value);
  return true;
}

namespace {

using engine::LookupMode;
using engine::RecordView;
using engine::EncodingHint;
using engine::ValueType;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
// Redis compares options with strcasecmp on NUL-terminated argv strings, so an option argument
// is read up to its first NUL byte ("NX\0junk" is NX there, and here).
bool OptionIs(const std::string& arg, std::string_view option) {
  return ArgIs(std::string_view(arg.c_str()), option);
}

bool IsString(const RecordView& view) { return view.type == ValueType::kString; }

// Redis's checkStringLength: the size a string would reach must not exceed proto-max-bulk-len.
bool CheckStringLength(CommandContext& ctx, uint64_t size, uint64_t append) {
  uint64_t total = size + append;
  if (total > ctx.server->config().values().proto_max_bulk_len || total < size) {
    ctx.reply->Error(protocol::kStringTooLong);
    return false;
  }
  return true;
}


// ---------------------------------------------------------------------------------------------
// SET / GETEX options (Redis's parseExtendedStringArgumentsOrReply).

enum ExtendedFlag : uint32_t {
  kFlagNx = 1u << 0,
  kFlagXx = 1u << 1,
  kFlagGet = 1u << 2,
  kFlagKeepTtl = 1u << 3,
  kFlagPersist = 1u << 4,
  kFlagEx = 1u << 5,
  kFlagPx = 1u << 6,
  kFlagExAt = 1u << 7,
  kFlagPxAt = 1u << 8,
};
constexpr uint32_t kAnyExpireFlag = kFlagEx | kFlagPx | kFlagExAt | kFlagPxAt;

enum class ExtendedCommand { kSet, kGetEx };

struct ExtendedArgs {
  uint32_t flags = 0;
  const std::string* expire = nullptr;  // the EX/PX/EXAT/PXAT argument, validated later
  bool expire_in_seconds = false;
};

// Parses ctx.args[first..]. Each option is accepted only when it does not conflict with one
// already seen; anything else is a syntax error. Repeating an option is allowed (the last
// expire wins), as in Redis.
bool ParseExtendedArgs(CommandContext& ctx, size_t first, ExtendedCommand command,
                       ExtendedArgs* out) {
  const bool is_set = command == ExtendedCommand::kSet;
  uint32_t& flags = out->flags;
  for (size_t j = first; j < ctx.args.size(); j++) {
    const std::string& opt = ctx.args[j];
    const bool has_next = j + 1 < ctx.args.size();
    // An expire option conflicts with KEEPTTL, PERSIST and the other three expire options.
    auto expire_ok = [&](uint32_t self) {
      return !(flags & (kFlagKeepTtl | kFlagPersist)) && !(flags & (kAnyExpireFlag & ~self)) &&
             has_next;
    };
    if (OptionIs(opt, "NX") && !(flags & kFlagXx) && is_set) {
      flags |= kFlagNx;
    } else if (OptionIs(opt, "XX") && !(flags & kFlagNx) && is_set) {
      flags |= kFlagXx;
    } else if (OptionIs(opt, "GET") && is_set) {
      flags |= kFlagGet;
    } else if (OptionIs(opt, "KEEPTTL") && !(flags & (kFlagPersist | kAnyExpireFlag)) && is_set) {
      flags |= kFlagKeepTtl;
    } else if (OptionIs(opt, "PERSIST") && !is_set && !(flags & (kAnyExpireFlag | kFlagKeepTtl))) {
      flags |= kFlagPersist;
    } else if (OptionIs(opt, "EX") && expire_ok(kFlagEx)) {
      flags |= kFlagEx;
      out->expire = &ctx.args[++j];
      out->expire_in_seconds = true;
    } else if (OptionIs(opt, "PX") && expire_ok(kFlagPx)) {
      flags |= kFlagPx;
      out->expire = &ctx.args[++j];
      out->expire_in_seconds = false;
    } else if (OptionIs(opt, "EXAT") && expire_ok(kFlagExAt)) {
      flags |= kFlagExAt;
      out->expire = &ctx.args[++j];
      out->expire_in_seconds = true;
    } else if (OptionIs(opt, "PXAT") && expire_ok(kFlagPxAt)) {
      flags |= kFlagPxAt;
      out->expire = &ctx.args[++j];
      out->expire_in_seconds = false;
    } else {
      ctx.reply->Error(protocol::kSyntaxErr);
      return false;
    }
  }
  return true;
}

// Redis's getExpireMillisecondsOrReply: turns an expire argument into an absolute Unix time in
// ms. Relative times (EX, PX, SETEX, PSETEX) are added to now. Zero, negative and overflowing
// times are "invalid expire time in '<command>' command".
bool ParseExpireAt(CommandContext& ctx, const std::string& arg, bool in_seconds, bool relative,
                   std::string_view command, int64_t* expire_at_ms) {
  int64_t ms;
  if (!ParseIntArg(arg, ctx.reply, &ms)) return false;
  bool valid = ms > 0 && !(in_seconds && ms > kInt64Max / 1000);
  if (valid) {
    if (in_seconds) ms *= 1000;
    if (relative) {
      int64_t now = UnixTimeMs();
      valid = ms <= kInt64Max - now;  // Redis's sum overflows to a negative time here
      if (valid) ms += now;
    }
  }
  if (!valid) {
    ctx.reply->Error("ERR invalid expire time in '" + std::string(command) + "' command");
    return false;
  }
  *expire_at_ms = ms;
  return true;
}

// ---------------------------------------------------------------------------------------------
// GET, SET and friends.

enum class SetReplyStyle {
  kOkOrNull,   // SET, SETEX, PSETEX: +OK, or a null when NX/XX aborts
  kOneOrZero,  // SETNX: :1 when set, :0 when aborted
};

// Redis's setGenericCommand. The value is always a string; without KEEPTTL an existing TTL is
// dropped. With GET the old value is the reply (nil if absent), whether or not the write
// happens, and a non-string old value aborts the command with WRONGTYPE.
void SetGeneric(CommandContext& ctx, uint32_t flags, std::string_view value,
                const std::string* expire_arg, bool expire_in_seconds, std::string_view command,
                SetReplyStyle style) {
  const int db = ctx.session->db;
  const std::string& key = ctx.args[1];
  int64_t expire_at_ms = 0;
  if (expire_arg != nullptr &&
      !ParseExpireAt(ctx, *expire_arg, expire_in_seconds, (flags & (kFlagEx | kFlagPx)) != 0,
                     command, &expire_at_ms)) {
    return;
  }

  std::optional<RecordView> old =
      ctx.engine->Get(db, key, (flags & kFlagGet) ? LookupMode::kRead : LookupMode::kWrite);
  if (flags & kFlagGet) {
    if (!old) {
      ctx.reply->NullBulk();
    } else if (!IsString(*old)) {
      ctx.reply->Error(protocol::kWrongType);
      return;
    } else {
      ctx.reply->Bulk(old->value);
    }
  }

  const bool found = old.has_value();
  if (((flags & kFlagNx) && found) || ((flags & kFlagXx) && !found)) {
    if (!(flags & kFlagGet)) {
      if (style == SetReplyStyle::kOneOrZero) {
        ctx.reply->Integer(0);
      } else {
        ctx.reply->NullBulk();
      }
    }
    return;
  }

  if (expire_arg == nullptr && (flags & kFlagKeepTtl) && found) {
    expire_at_ms = old->expire_at_ms;
  }
  // An absolute time already in the past is stored as is, like Redis: the key is written and
  // reads treat it as expired (so it is gone for the client, and DBSIZE still counts it until
  // the next lookup or the expire cycle removes it, exactly as in Redis 7.0).
  ctx.engine->Put(db, key, ValueType::kString, value, expire_at_ms);

  if (!(flags & kFlagGet)) {
    if (style == SetReplyStyle::kOneOrZero) {
      ctx.reply->Integer(1);
    } else {
      ctx.reply->Ok();
    }
  }
}

void GetCommand(CommandContext& ctx) {
  std::optional<RecordView> view = ctx.engine->Get(ctx.session->db, ctx.args[1], LookupMode::kRead);
  if (!view) {
    ctx.reply->NullBulk();
  } else if (!IsString(*view)) {
    ctx.reply->Error(protocol::kWrongType);
  } else {
    ctx.reply->Bulk(view->value);
  }
}

void SetCommand(CommandContext& ctx) {
  ExtendedArgs opts;
  if (!ParseExtendedArgs(ctx, 3, ExtendedCommand::kSet, &opts)) return;
  SetGeneric(ctx, opts.flags, ctx.args[2], opts.expire, opts.expire_in_seconds, "set",
             SetReplyStyle::kOkOrNull);
}

void SetNxCommand(CommandContext& ctx) {
  SetGeneric(ctx, kFlagNx, ctx.args[2], nullptr, false, "setnx", SetReplyStyle::kOneOrZero);
}

// SETEX key seconds value
void SetExCommand(CommandContext& ctx) {
  SetGeneric(ctx, kFlagEx, ctx.args[3], &ctx.args[2], true, "setex", SetReplyStyle::kOkOrNull);
}

// PSETEX key milliseconds value
void PSetExCommand(CommandContext& ctx) {
  SetGeneric(ctx, kFlagPx, ctx.args[3], &ctx.args[2], false, "psetex", SetReplyStyle::kOkOrNull);
}

// GETSET: the old value (or nil), then the new value without TTL.
void GetSetCommand(CommandContext& ctx) {
  const int db = ctx.session->db;
  std::optional<RecordView> old = ctx.engine->Get(db, ctx.args[1], LookupMode::kRead);
  if (!old) {
    ctx.reply->NullBulk();
  } else if (!IsString(*old)) {
    ctx.reply->Error(protocol::kWrongType);
    return;
  } else {
    ctx.reply->Bulk(old->value);
  }
  ctx.engine->Put(db, ctx.args[1], ValueType::kString, ctx.args[2], 0);
}

void GetDelCommand(CommandContext& ctx) {
  const int db = ctx.session->db;
  std::optional<RecordView> old = ctx.engine->Get(db, ctx.args[1], LookupMode::kRead);
  if (!old) {
    ctx.reply->NullBulk();
    return;
  }
  if (!IsString(*old)) {
    ctx.reply->Error(protocol::kWrongType);
    return;
  }
  ctx.reply->Bulk(old->value);
  ctx.engine->Delete(db, ctx.args[1]);
}

// GETEX key [EX s | PX ms | EXAT ts | PXAT ms-ts | PERSIST]. As in Redis the key is looked up
// before the expire time is validated, so a missing key replies nil even for "EX 0".
void GetExCommand(CommandContext& ctx) {
  ExtendedArgs opts;
  if (!ParseExtendedArgs(ctx, 2, ExtendedCommand::kGetEx, &opts)) return;
  const int db = ctx.session->db;
  const std::string& key = ctx.args[1];
  std::optional<RecordView> view = ctx.engine->Get(db, key, LookupMode::kRead);
  if (!view) {
    ctx.reply->NullBulk();
    return;
  }
  if (!IsString(*view)) {
    ctx.reply->Error(protocol::kWrongType);
    return;
  }
  int64_t expire_at_ms = 0;
  if (opts.expire != nullptr &&
      !ParseExpireAt(ctx, *opts.expire, opts.expire_in_seconds,
                     (opts.flags & (kFlagEx | kFlagPx)) != 0, "getex", &expire_at_ms)) {
    return;
  }
  const bool had_ttl = view->expire_at_ms != 0;
  ctx.reply->Bulk(view->value);  // before any mutation invalidates the view

  if ((opts.flags & (kFlagExAt | kFlagPxAt)) && expire_at_ms <= UnixTimeMs()) {
    // An absolute time already elapsed deletes the key now (Redis's checkAlreadyExpired).
    ctx.engine->Delete(db, key);
  } else if (opts.expire != nullptr) {
    ctx.engine->SetExpire(db, key, expire_at_ms);
  } else if ((opts.flags & kFlagPersist) && had_ttl) {
    ctx.engine->SetExpire(db, key, 0);
  }
}

// MGET: a null for each missing or non-string key; never an error.
void MGetCommand(CommandContext& ctx) {
  ctx.reply->ArrayHeader(ctx.args.size() - 1);
  for (size_t j = 1; j < ctx.args.size(); j++) {
    std::optional<RecordView> view =
        ctx.engine->Get(ctx.session->db, ctx.args[j], LookupMode::kRead);
    if (!view || !IsString(*view)) {
      ctx.reply->NullBulk();
    } else {
      ctx.reply->Bulk(view->value);
    }
  }
}

// MSET / MSETNX. The pair count is checked here (the table's arity check only knows "at least
// 3"); Redis reports it as a wrong number of arguments. With NX nothing is written if any key
// exists. Each write drops the key's TTL; a key repeated in the list ends with its last value.
void MSetGeneric(CommandContext& ctx, bool nx, std::string_view command) {
  if (ctx.args.size() % 2 == 0) {
    ctx.reply->Error("ERR wrong number of arguments for '" + std::string(command) + "' command");
    return;
  }
  const int db = ctx.session->db;
  if (nx) {
    for (size_t j = 1; j < ctx.args.size(); j += 2) {
      if (ctx.engine->Get(db, ctx.args[j], LookupMode::kWrite).has_value()) {
        ctx.reply->Integer(0);
        return;
      }
    }
  } else {
    // All or nothing, as in Redis: every key is looked up before the first write, so a key in
    // a damaged table block (a read error, which makes every later Put a no-op and the reply
    // ERR disk read failed) stops the command before it changed anything. MSETNX's Gets did it.
    for (size_t j = 1; j < ctx.args.size(); j += 2) ctx.engine->TierOf(db, ctx.args[j]);
  }
  for (size_t j = 1; j < ctx.args.size(); j += 2) {
    ctx.engine->Put(db, ctx.args[j], ValueType::kString, ctx.args[j + 1], 0);
  }
  if (nx) {
    ctx.reply->Integer(1);
  } else {
    ctx.reply->Ok();
  }
}

void MSetCommand(CommandContext& ctx) { MSetGeneric(ctx, false, "mset"); }
void MSetNxCommand(CommandContext& ctx) { MSetGeneric(ctx, true, "msetnx"); }

// ---------------------------------------------------------------------------------------------
// Counters. Redis overwrites the value in place, so the TTL survives.

void IncrDecrBy(CommandContext& ctx, int64_t incr) {
  const int db = ctx.session->db;
  std::optional<RecordView> old = ctx.engine->Get(db, ctx.args[1], LookupMode::kWrite);
  if (old && !IsString(*old)) {
    ctx.reply->Error(protocol::kWrongType);
    return;
  }
  int64_t value = 0;
  if (old && !ParseInt64(old->value, &value)) {
    ctx.reply->Error(protocol::kNotInteger);
    return;
  }
  if ((incr < 0 && value < 0 && incr < kInt64Min - value) ||
      (incr > 0 && value > 0 && incr > kInt64Max - value)) {
    ctx.reply->Error(protocol::kOverflow);
    return;
  }
  value += incr;
  const int64_t expire_at_ms = old ? old->expire_at_ms : 0;
  ctx.engine->Put(db, ctx.args[1], ValueType::kString, Int64ToString(value), expire_at_ms);
  ctx.reply->Integer(value);
}

void IncrCommand(CommandContext& ctx) { IncrDecrBy(ctx, 1); }
void DecrCommand(CommandContext& ctx) { IncrDecrBy(ctx, -1); }

void IncrByCommand(CommandContext& ctx) {
  int64_t incr;
  if (!ParseIntArg(ctx.args[2], ctx.reply, &incr)) return;
  IncrDecrBy(ctx, incr);
}

void DecrByCommand(CommandContext& ctx) {
  int64_t decr;
  if (!ParseIntArg(ctx.args[2], ctx.reply, &decr)) return;
  if (decr == kInt64Min) {  // its negation does not exist
    ctx.reply->Error("ERR decrement would overflow");
    return;
  }
  IncrDecrBy(ctx, -decr);
}

// INCRBYFLOAT: long double arithmetic, the result stored and replied in ld2string's human
// format (17 fractional digits, trailing zeros removed). The stored value is parsed before the
// increment, so a non-float value wins over a bad increment (both are the same error text).
void IncrByFloatCommand(CommandContext& ctx) {
  const int db = ctx.session->db;
  std::optional<RecordView> old = ctx.engine->Get(db, ctx.args[1], LookupMode::kWrite);
  if (old && !IsString(*old)) {
    ctx.reply->Error(protocol::kWrongType);
    return;
  }
  long double value = 0;
  long double incr = 0;
  if ((old && !ParseLongDoubleValue(old->value, &value)) ||
      !ParseLongDoubleValue(ctx.args[2], &incr)) {
    ctx.reply->Error(protocol::kNotFloat);
    return;
  }
  std::string formatted;
  if (!AddFloatOrReply(value, incr, ctx.reply, &formatted)) return;
  const int64_t expire_at_ms = old ? old->expire_at_ms : 0;
  ctx.engine->Put(db, ctx.args[1], ValueType::kString, formatted, expire_at_ms,
                  EncodingHint::kEmbstr);
  ctx.reply->Bulk(formatted);
}

// ---------------------------------------------------------------------------------------------
// Ranges and lengths.

void StrLenCommand(CommandContext& ctx) {
  std::optional<RecordView> view = ctx.engine->Get(ctx.session->db, ctx.args[1], LookupMode::kRead);
  if (!view) {
    ctx.reply->Integer(0);
  } else if (!IsString(*view)) {
    ctx.reply->Error(protocol::kWrongType);
  } else {
    ctx.reply->Integer(static_cast<int64_t>(view->value.size()));
  }
}

// APPEND: creates the key when missing (no size check: the argument is already within the
// protocol limit), else appends in place keeping the TTL. The engine stores whole records, so
// the new value is a copy (O(total size), unlike Redis's amortized O(1)).
void AppendCommand(CommandContext& ctx) {
  const int db = ctx.session->db;
  const std::string& key = ctx.args[1];
  const std::string& suffix = ctx.args[2];
  std::optional<RecordView> old = ctx.engine->Get(db, key, LookupMode::kWrite);
  if (!old) {
    ctx.engine->Put(db, key, ValueType::kString, suffix, 0);
    ctx.reply->Integer(static_cast<int64_t>(suffix.size()));
    return;
  }
  if (!IsString(*old)) {
    ctx.reply->Error(protocol::kWrongType);
    return;
  }
  if (!CheckStringLength(ctx, old->value.size(), suffix.size())) return;
  std::string value;
  value.reserve(old->value.size() + suffix.size());
  value.append(old->value);
  value.append(suffix);
  ctx.engine->Put(db, key, ValueType::kString, value, old->expire_at_ms, EncodingHint::kRaw);
  ctx.reply->Integer(static_cast<int64_t>(value.size()));
}

// GETRANGE / SUBSTR key start end: inclusive byte range, negative indexes count from the end,
// clamped to the string. Redis's quirks kept: both indexes negative with start > end is empty,
// and a negative end past the start clamps to 0 (so "0 -100" returns the first byte).
void GetRangeCommand(CommandContext& ctx) {
  int64_t start, end;
  if (!ParseIntArg(ctx.args[2], ctx.reply, &start)) return;
  if (!ParseIntArg(ctx.args[3], ctx.reply, &end)) return;
  std::optional<RecordView> view = ctx.engine->Get(ctx.session->db, ctx.args[1], LookupMode::kRead);
  if (!view) {
    ctx.reply->Bulk("");
    return;
  }
  if (!IsString(*view)) {
    ctx.reply->Error(protocol::kWrongType);
    return;
  }
  const std::string_view str = view->value;
  const int64_t len = static_cast<int64_t>(str.size());
  if (start < 0 && end < 0 && start > end) {
    ctx.reply->Bulk("");
    return;
  }
  if (start < 0) start += len;  // len >= 0, so no overflow
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len == 0) {
    ctx.reply->Bulk("");
    return;
  }
  ctx.reply->Bulk(str.substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1)));
}

// SETRANGE key offset value: overwrites from offset, zero-padding any gap; replies the new
// length. An empty value changes nothing (and does not create a missing key).
void SetRangeCommand(CommandContext& ctx) {
  const int db = ctx.session->db;
  const std::string& key = ctx.args[1];
  const std::string& patch = ctx.args[3];
  int64_t offset;
  if (!ParseIntArg(ctx.args[2], ctx.reply, &offset)) return;
  if (offset < 0) {
    ctx.reply->Error(protocol::kOffsetOutOfRange);
    return;
  }
  std::optional<RecordView> old = ctx.engine->Get(db, key, LookupMode::kWrite);
  if (old && !IsString(*old)) {
    ctx.reply->Error(protocol::kWrongType);
    return;
  }
  if (patch.empty()) {
    ctx.reply->Integer(old ? static_cast<int64_t>(old->value.size()) : 0);
    return;
  }
  if (!CheckStringLength(ctx, static_cast<uint64_t>(offset), patch.size())) return;

  const size_t pos = static_cast<size_t>(offset);
  std::string value;
  int64_t expire_at_ms = 0;
  if (old) {
    value.assign(old->value);
    expire_at_ms = old->expire_at_ms;
  }
  if (value.size() < pos + patch.size()) value.resize(pos + patch.size(), '\0');
  value.replace(pos, patch.size(), patch);
  ctx.engine->Put(db, key, ValueType::kString, value, expire_at_ms, EncodingHint::kRaw);
  ctx.reply->Integer(static_cast<int64_t>(value.size()));
}

// ---------------------------------------------------------------------------------------------
// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]

struct LcsMatch {
  uint32_t a_start, a_end, b_start, b_end;
};

void LcsCommand(CommandContext& ctx) {
  const int db = ctx.session->db;
  // Both values are copied: the reply is built after both lookups (the second lookup may
  // expire a key, which is a mutation that would invalidate the first view).
  std::string a, b;
  bool wrong_type = false;
  if (std::optional<RecordView> v = ctx.engine->Get(db, ctx.args[1], LookupMode::kRead)) {
    if (IsString(*v)) {
      a.assign(v->value);
    } else {
      wrong_type = true;
    }
  }
  if (std::optional<RecordView> v = ctx.engine->Get(db, ctx.args[2], LookupMode::kRead)) {
    if (IsString(*v)) {
      b.assign(v->value);
    } else {
      wrong_type = true;
    }
  }
  if (wrong_type) {
    ctx.reply->Error("ERR The specified keys must contain string values");
    return;
  }

  bool get_len = false, get_idx = false, with_match_len = false;
  int64_t min_match_len = 0;
  for (size_t j = 3; j < ctx.args.size(); j++) {
    const std::string& opt = ctx.args[j];
    const bool has_next = j + 1 < ctx.args.size();
    if (OptionIs(opt, "IDX")) {
      get_idx = true;
    } else if (OptionIs(opt, "LEN")) {
      get_len = true;
    } else if (OptionIs(opt, "WITHMATCHLEN")) {
      with_match_len = true;
    } else if (OptionIs(opt, "MINMATCHLEN") && has_next) {
      if (!ParseIntArg(ctx.args[++j], ctx.reply, &min_match_len)) return;
      if (min_match_len < 0) min_match_len = 0;
    } else {
      ctx.reply->Error(protocol::kSyntaxErr);
      return;
    }
  }
  if (get_idx && get_len) {
    ctx.reply->Error("ERR If you want both the length and indexes, please just use IDX.");
    return;
  }
  // Lengths and indexes are 32-bit in the table, as in Redis.
  if (a.size() >= UINT32_MAX - 1 || b.size() >= UINT32_MAX - 1) {
    ctx.reply->Error("ERR String too long for LCS");
    return;
  }

  // Dynamic programming table: cell (i, j) holds the LCS length of a[0..i) and b[0..j).
  const uint32_t alen = static_cast<uint32_t>(a.size());
  const uint32_t blen = static_cast<uint32_t>(b.size());
  const uint64_t cells = static_cast<uint64_t>(alen + 1) * (blen + 1);
  const uint64_t table_bytes = cells * sizeof(uint32_t);
  if (table_bytes > ctx.server->config().values().proto_max_bulk_len) {
    ctx.reply->Error(
        "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    return;
  }
  std::unique_ptr<uint32_t[]> table(new (std::nothrow) uint32_t[cells]);
  if (!table) {
    ctx.reply->Error("ERR Insufficient memory, failed allocating transient memory for LCS");
    return;
  }
  auto cell = [&](uint32_t i, uint32_t j) -> uint32_t& {
    return table[static_cast<uint64_t>(i) * (blen + 1) + j];
  };
  for (uint32_t i = 0; i <= alen; i++) {
    for (uint32_t j = 0; j <= blen; j++) {
      if (i == 0 || j == 0) {
        cell(i, j) = 0;
      } else if (a[i - 1] == b[j - 1]) {
        cell(i, j) = cell(i - 1, j - 1) + 1;
      } else {
        cell(i, j) = std::max(cell(i - 1, j), cell(i, j - 1));
      }
    }
  }
  const uint32_t lcs_len = cell(alen, blen);
  if (get_len) {
    ctx.reply->Integer(lcs_len);
    return;
  }

  // Walk back from the end, rebuilding the LCS string and the matching ranges from the last
  // to the first. Ties prefer moving in b (Redis's order), which decides which of several
  // equally long answers is returned. A range is emitted when the walk leaves it (a
  // mismatch step) or reaches the start of either string.
  std::string result(lcs_len, '\0');
  std::vector<LcsMatch> matches;
  uint32_t idx = lcs_len;
  bool in_range = false;
  LcsMatch range{};
  uint32_t i = alen, j = blen;
  while (i > 0 && j > 0) {
    bool emit = false;
    if (a[i - 1] == b[j - 1]) {
      result[--idx] = a[i - 1];
      if (!in_range) {
        range = LcsMatch{i - 1, i - 1, j - 1, j - 1};
        in_range = true;
      } else {
        // Consecutive matches along the diagonal extend the current range backwards.
        range.a_start--;
        range.b_start--;
      }
      if (range.a_start == 0 || range.b_start == 0) emit = true;
      i--;
      j--;
    } else {
      if (cell(i - 1, j) > cell(i, j - 1)) {
        i--;
      } else {
        j--;
      }
      if (in_range) emit = true;
    }
    if (emit) {
      const uint64_t match_len = range.a_end - range.a_start + 1;
      if (min_match_len == 0 || match_len >= static_cast<uint64_t>(min_match_len)) {
        matches.push_back(range);
      }
      in_range = false;
    }
  }

  if (!get_idx) {
    ctx.reply->Bulk(result);
    return;
  }
  ctx.reply->MapHeader(2);
  ctx.reply->Bulk("matches");
  ctx.reply->ArrayHeader(matches.size());
  for (const LcsMatch& m : matches) {
    ctx.reply->ArrayHeader(with_match_len ? 3 : 2);
    ctx.reply->ArrayHeader(2);
    ctx.reply->Integer(m.a_start);
    ctx.reply->Integer(m.a_end);
    ctx.reply->ArrayHeader(2);
    ctx.reply->Integer(m.b_start);
    ctx.reply->Integer(m.b_end);
    if (with_match_len) ctx.reply->Integer(m.a_end - m.a_start + 1);
  }
  ctx.reply->Bulk("len");
  ctx.reply->Integer(lcs_len);
}


// SET's key flags vary with its arguments (Redis's setGetKeys): with GET it also reads the old
// value. args is the full command line, SET first.
std::vector<std::string> SetKeyFlags(std::span<const std::string> args) {
  for (size_t i = 3; i < args.size(); i++) {
    if (OptionIs(args[i], "GET")) return {"RW", "access", "update"};
  }
  return {"OW", "update"};
}
}  // namespace

// Values from Redis 7.0.15's COMMAND INFO / COMMAND DOCS (arity, flags, key positions, ACL
// categories, summary, since, complexity).
void RegisterStringCommands(CommandTable* table) {
  const std::vector<std::string> kReadFast = {"@read", "@string", "@fast"};
  const std::vector<std::string> kReadSlow = {"@read", "@string", "@slow"};
  const std::vector<std::string> kWriteFast = {"@write", "@string", "@fast"};
  const std::vector<std::string> kWriteSlow = {"@write", "@string", "@slow"};
  const std::string kGetRangeComplexity =
      "O(N) where N is the length of the returned string. The complexity is ultimately "
      "determined by the returned length, but because creating a substring from an existing "
      "string is very cheap, it can be considered O(1) for small strings.";

  auto add = [&](std::string name, int arity, uint32_t flags, int first_key, int last_key,
                 int key_step, CommandHandler handler, std::string summary, std::string since,
                 std::string complexity, std::vector<std::string> acl) {
    table->Add(name.c_str(), arity, flags, first_key, last_key, key_step, handler, "string",
               summary.c_str(), since.c_str(), complexity.c_str(), std::move(acl));
  };

  add("get", 2, kReadOnly | kFast, 1, 1, 1, GetCommand, "Get the value of a key", "1.0.0", "O(1)",
      kReadFast);
  add("set", -3, kWrite | kDenyOom, 1, 1, 1, SetCommand, "Set the string value of a key", "1.0.0",
      "O(1)", kWriteSlow);
  add("setnx", 3, kWrite | kDenyOom | kFast, 1, 1, 1, SetNxCommand,
      "Set the value of a key, only if the key does not exist", "1.0.0", "O(1)", kWriteFast);
  add("setex", 4, kWrite | kDenyOom, 1, 1, 1, SetExCommand, "Set the value and expiration of a key",
      "2.0.0", "O(1)", kWriteSlow);
  add("psetex", 4, kWrite | kDenyOom, 1, 1, 1, PSetExCommand,
      "Set the value and expiration in milliseconds of a key", "2.6.0", "O(1)", kWriteSlow);
  add("mget", -2, kReadOnly | kFast, 1, -1, 1, MGetCommand, "Get the values of all the given keys",
      "1.0.0", "O(N) where N is the number of keys to retrieve.", kReadFast);
  add("mset", -3, kWrite | kDenyOom, 1, -1, 2, MSetCommand, "Set multiple keys to multiple values",
      "1.0.1", "O(N) where N is the number of keys to set.", kWriteSlow);
  add("msetnx", -3, kWrite | kDenyOom, 1, -1, 2, MSetNxCommand,
      "Set multiple keys to multiple values, only if none of the keys exist", "1.0.1",
      "O(N) where N is the number of keys to set.", kWriteSlow);
  add("getset", 3, kWrite | kDenyOom | kFast, 1, 1, 1, GetSetCommand,
      "Set the string value of a key and return its old value", "1.0.0", "O(1)", kWriteFast);
  add("getdel", 2, kWrite | kFast, 1, 1, 1, GetDelCommand,
      "Get the value of a key and delete the key", "6.2.0", "O(1)", kWriteFast);
  add("getex", -2, kWrite | kFast, 1, 1, 1, GetExCommand,
      "Get the value of a key and optionally set its expiration", "6.2.0", "O(1)", kWriteFast);
  add("append", 3, kWrite | kDenyOom | kFast, 1, 1, 1, AppendCommand, "Append a value to a key",
      "2.0.0",
      "O(1). The amortized time complexity is O(1) assuming the appended value is small and the "
      "already present value is of any size, since the dynamic string library used by Redis "
      "will double the free space available on every reallocation.",
      kWriteFast);
  add("strlen", 2, kReadOnly | kFast, 1, 1, 1, StrLenCommand,
      "Get the length of the value stored in a key", "2.2.0", "O(1)", kReadFast);
  add("incr", 2, kWrite | kDenyOom | kFast, 1, 1, 1, IncrCommand,
      "Increment the integer value of a key by one", "1.0.0", "O(1)", kWriteFast);
  add("decr", 2, kWrite | kDenyOom | kFast, 1, 1, 1, DecrCommand,
      "Decrement the integer value of a key by one", "1.0.0", "O(1)", kWriteFast);
  add("incrby", 3, kWrite | kDenyOom | kFast, 1, 1, 1, IncrByCommand,
      "Increment the integer value of a key by the given amount", "1.0.0", "O(1)", kWriteFast);
  add("decrby", 3, kWrite | kDenyOom | kFast, 1, 1, 1, DecrByCommand,
      "Decrement the integer value of a key by the given number", "1.0.0", "O(1)", kWriteFast);
  add("incrbyfloat", 3, kWrite | kDenyOom | kFast, 1, 1, 1, IncrByFloatCommand,
      "Increment the float value of a key by the given amount", "2.6.0", "O(1)", kWriteFast);
  add("getrange", 4, kReadOnly, 1, 1, 1, GetRangeCommand,
      "Get a substring of the string stored at a key", "2.4.0", kGetRangeComplexity, kReadSlow);
  add("substr", 4, kReadOnly, 1, 1, 1, GetRangeCommand,
      "Get a substring of the string stored at a key", "1.0.0", kGetRangeComplexity, kReadSlow);
  add("setrange", 4, kWrite | kDenyOom, 1, 1, 1, SetRangeCommand,
      "Overwrite part of a string at key starting at the specified offset", "2.2.0",
      "O(1), not counting the time taken to copy the new string in place. Usually, this string "
      "is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M "
      "being the length of the value argument.",
      kWriteSlow);
  add("lcs", -3, kReadOnly, 1, 2, 1, LcsCommand, "Find longest common substring", "7.0.0",
      "O(N*M) where N and M are the lengths of s1 and s2, respectively", kReadSlow);

  // COMMAND INFO key specs and tips, from Redis 7.0.15's command JSON files.
  for (const char* name : {"get", "getrange", "substr"}) {
    table->Mutable(name)->key_specs = {MakeKeySpec(1, 0, 1, {"RO", "access"})};
  }
  table->Mutable("strlen")->key_specs = {MakeKeySpec(1, 0, 1, {"RO"})};
  table->Mutable("lcs")->key_specs = {MakeKeySpec(1, 1, 1, {"RO", "access"})};
  table->Mutable("mget")->key_specs = {MakeKeySpec(1, -1, 1, {"RO", "access"})};
  table->Mutable("mget")->tips = {"request_policy:multi_shard"};
  table->Mutable("set")->key_specs = {
      MakeKeySpec(1, 0, 1, {"RW", "access", "update", "variable_flags"},
                  "RW and ACCESS due to the optional `GET` argument")};
  table->Mutable("set")->variable_key_flags = SetKeyFlags;
  table->Mutable("setnx")->key_specs = {MakeKeySpec(1, 0, 1, {"OW", "insert"})};
  for (const char* name : {"setex", "psetex"}) {
    table->Mutable(name)->key_specs = {MakeKeySpec(1, 0, 1, {"OW", "update"})};
  }
  table->Mutable("mset")->key_specs = {MakeKeySpec(1, -1, 2, {"OW", "update"})};
  table->Mutable("mset")->tips = {"request_policy:multi_shard", "response_policy:all_succeeded"};
  table->Mutable("msetnx")->key_specs = {MakeKeySpec(1, -1, 2, {"OW", "insert"})};
  table->Mutable("msetnx")->tips = {"request_policy:multi_shard", "response_policy:agg_min"};
  for (const char* name : {"getset", "incr", "decr", "incrby", "decrby", "incrbyfloat"}) {
    table->Mutable(name)->key_specs = {MakeKeySpec(1, 0, 1, {"RW", "access", "update"})};
  }
  table->Mutable("getex")->key_specs = {
      MakeKeySpec(1, 0, 1, {"RW", "access", "update"}, "RW and UPDATE because it changes the TTL")};
  table->Mutable("getdel")->key_specs = {MakeKeySpec(1, 0, 1, {"RW", "access", "delete"})};
  table->Mutable("append")->key_specs = {MakeKeySpec(1, 0, 1, {"RW", "insert"})};
  table->Mutable("setrange")->key_specs = {MakeKeySpec(1, 0, 1, {"RW", "update"})};
}

}  // namespace organic::commands
