// Bit operations on string values: SETBIT, GETBIT, BITCOUNT. Bit 0 is the most significant
// bit of the first byte, as in Redis.
#include "commands/args.h"
#include "commands/command_table.h"
#include "commands/server_api.h"
#include "server/config.h"

namespace organic::commands {

namespace {

using engine::LookupMode;
using engine::ValueType;

constexpr char kBitNotInteger[] = "ERR bit is not an integer or out of range";

// Redis's getBitOffsetFromArgument: non-negative, and the byte it addresses must fit below
// proto-max-bulk-len.
bool ParseBitOffset(CommandContext& ctx, const std::string& arg, uint64_t* offset) {
  int64_t v;
  uint64_t limit = ctx.server->config().values().proto_max_bulk_len;
  if (!ParseInt64(arg, &v) || v < 0 || (static_cast<uint64_t>(v) >> 3) >= limit) {
    ctx.reply->Error(protocol::kBitOffset);
    return false;
  }
  *offset = static_cast<uint64_t>(v);
  return true;
}

void SetBitCommand(CommandContext& ctx) {
  uint64_t offset;
  if (!ParseBitOffset(ctx, ctx.args[2], &offset)) return;
  const std::string& bit_arg = ctx.args[3];
  if (bit_arg != "0" && bit_arg != "1") {
    ctx.reply->Error(kBitNotInteger);
    return;
  }
  int db = ctx.session->db;
  auto rec = ctx.engine->Get(db, ctx.args[1], LookupMode::kWrite);
  if (rec && rec->type != ValueType::kString) {
    ctx.reply->Error(protocol::kWrongType);
    return;
  }
  std::string value = rec ? std::string(rec->value) : std::string();
  int64_t expire_at = rec ? rec->expire_at_ms : 0;
  size_t byte = offset >> 3;
  if (value.size() <= byte) value.resize(byte + 1, '\0');
  int shift = 7 - static_cast<int>(offset & 7);
  int old = (static_cast<unsigned char>(value[byte]) >> shift) & 1;
  if (bit_arg == "1") value[byte] = static_cast<char>(value[byte] | (1 << shift));
  else value[byte] = static_cast<char>(value[byte] & ~(1 << shift));
  ctx.engine->Put(db, ctx.args[1], ValueType::kString, value, expire_at, engine::EncodingHint::kRaw);
  ctx.reply->Integer(old);
}

void GetBitCommand(CommandContext& ctx) {
  uint64_t offset;
  if (!ParseBitOffset(ctx, ctx.args[2], &offset)) return;
  auto rec = ctx.engine->Get(ctx.session->db, ctx.args[1], LookupMode::kRead);
  if (rec && rec->type != ValueType::kString) {
    ctx.reply->Error(protocol::kWrongType);
    return;
  }
  size_t byte = offset >> 3;
  if (!rec || byte >= rec->value.size()) {
    ctx.reply->Integer(0);
    return;
  }
  int shift = 7 - static_cast<int>(offset & 7);
  ctx.reply->Integer((static_cast<unsigned char>(rec->value[byte]) >> shift) & 1);
}

void BitCountCommand(CommandContext& ctx) {
  int64_t start = 0, end = -1;
  bool ranged = false, bit_unit = false;
  if (ctx.args.size() == 3 || ctx.args.size() > 5) {
    ctx.reply->Error(protocol::kSyntaxErr);
    return;
  }
  if (ctx.args.size() >= 4) {
    if (!ParseIntArg(ctx.args[2], ctx.reply, &start) || !ParseIntArg(ctx.args[3], ctx.reply, &end)) {
      return;
    }
    ranged = true;
    if (ctx.args.size() == 5) {
      if (ArgIs(ctx.args[4], "BIT")) bit_unit = true;
      else if (!ArgIs(ctx.args[4], "BYTE")) {
        ctx.reply->Error(protocol::kSyntaxErr);
        return;
      }
    }
  }
  auto rec = ctx.engine->Get(ctx.session->db, ctx.args[1], LookupMode::kRead);
  if (rec && rec->type != ValueType::kString) {
    ctx.reply->Error(protocol::kWrongType);
    return;
  }
  if (!rec) {
    ctx.reply->Integer(0);
    return;
  }
  std::string_view v = rec->value;
  int64_t total = static_cast<int64_t>(bit_unit ? v.size() * 8 : v.size());
  if (ranged) {
    if (start < 0) start = std::max<int64_t>(0, total + start);
    if (end < 0) end = std::max<int64_t>(-1, total + end);
    if (end >= total) end = total - 1;
  } else {
    end = total - 1;
  }
  if (start > end || total == 0) {
    ctx.reply->Integer(0);
    return;
  }
  int64_t count = 0;
  if (!bit_unit) {
    for (int64_t i = start; i <= end; i++) {
      count += __builtin_popcount(static_cast<unsigned char>(v[static_cast<size_t>(i)]));
    }
  } else {
    for (int64_t i = start; i <= end; i++) {
      unsigned char c = static_cast<unsigned char>(v[static_cast<size_t>(i >> 3)]);
      count += (c >> (7 - (i & 7))) & 1;
    }
  }
  ctx.reply->Integer(count);
}

}  // namespace

void RegisterBitCommands(CommandTable* table) {
  table->Add("setbit", 4, kWrite | kDenyOom, 1, 1, 1, SetBitCommand, "bitmap",
             "Sets or clears the bit at offset in the string value stored at key", "2.2.0",
             "O(1)", {"@write", "@bitmap", "@slow"});
  table->Add("getbit", 3, kReadOnly | kFast, 1, 1, 1, GetBitCommand, "bitmap",
             "Returns the bit value at offset in the string value stored at key", "2.2.0",
             "O(1)", {"@read", "@bitmap", "@fast"});
  table->Add("bitcount", -2, kReadOnly, 1, 1, 1, BitCountCommand, "bitmap",
             "Count set bits in a string", "2.6.0", "O(N)", {"@read", "@bitmap", "@slow"});
  KeySpec rw;
  rw.flags = {"RW", "access", "update", "variable_flags"};
  table->Mutable("setbit")->key_specs = {rw};
  KeySpec ro;
  ro.flags = {"RO", "access"};
  table->Mutable("getbit")->key_specs = {ro};
  table->Mutable("bitcount")->key_specs = {ro};
}

}  // namespace organic::commands
