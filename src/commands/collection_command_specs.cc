// Registration data of the hash and set families: arity, flags, key positions, COMMAND DOCS
// fields, ACL categories, key specs and tips. Every value is copied from Redis 7.0.15's own
// COMMAND INFO / COMMAND DOCS replies (redis-server 7.0.15, read with redis-cli), not from
// memory. The handlers live in the family files and are passed in.
#include "commands/collection_command_specs.h"

#include <string>
#include <utility>
#include <vector>

namespace organic::commands {

namespace {

const char kScanComplexity[] =
    "O(1) for every call. O(N) for a complete iteration, including enough command calls for the "
    "cursor to return back to 0. N is the number of elements inside the collection..";

}  // namespace

void RegisterHashCommandSpecs(CommandTable* table, const HashHandlers& h) {
  const std::vector<std::string> kReadFast = {"@read", "@hash", "@fast"};
  const std::vector<std::string> kReadSlow = {"@read", "@hash", "@slow"};
  const std::vector<std::string> kWriteFast = {"@write", "@hash", "@fast"};

  auto add = [&](const char* name, int arity, uint32_t flags, int first_key, int last_key,
                 int key_step, CommandHandler handler, const char* summary, const char* since,
                 const char* complexity, std::vector<std::string> acl) {
    table->Add(name, arity, flags, first_key, last_key, key_step, handler, "hash", summary, since,
               complexity, std::move(acl));
  };

  // Redis's DOCS history for HSET ("4.0.0: Accepts multiple `field` and `value` arguments.")
  // has no CommandSpec field and is not reported.
  add("hset", -4, kWrite | kDenyOom | kFast, 1, 1, 1, h.hset,
      "Set the string value of a hash field", "2.0.0",
      "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command "
      "is called with multiple field/value pairs.",
      kWriteFast);
  add("hsetnx", 4, kWrite | kDenyOom | kFast, 1, 1, 1, h.hsetnx,
      "Set the value of a hash field, only if the field does not exist", "2.0.0", "O(1)",
      kWriteFast);
  // Redis's DOCS also has doc_flags [deprecated], deprecated_since "4.0.0" and replaced_by
  // "`HSET` with multiple field-value pairs" for HMSET; CommandSpec has no fields for them.
  add("hmset", -4, kWrite | kDenyOom | kFast, 1, 1, 1, h.hmset,
      "Set multiple hash fields to multiple values", "2.0.0",
      "O(N) where N is the number of fields being set.", kWriteFast);
  add("hget", 3, kReadOnly | kFast, 1, 1, 1, h.hget, "Get the value of a hash field", "2.0.0",
      "O(1)", kReadFast);
  add("hmget", -3, kReadOnly | kFast, 1, 1, 1, h.hmget,
      "Get the values of all the given hash fields", "2.0.0",
      "O(N) where N is the number of fields being requested.", kReadFast);
  // DOCS history (not reported): "2.4.0: Accepts multiple `field` arguments."
  add("hdel", -3, kWrite | kFast, 1, 1, 1, h.hdel, "Delete one or more hash fields", "2.0.0",
      "O(N) where N is the number of fields to be removed.", kWriteFast);
  add("hlen", 2, kReadOnly | kFast, 1, 1, 1, h.hlen, "Get the number of fields in a hash",
      "2.0.0", "O(1)", kReadFast);
  add("hstrlen", 3, kReadOnly | kFast, 1, 1, 1, h.hstrlen,
      "Get the length of the value of a hash field", "3.2.0", "O(1)", kReadFast);
  add("hexists", 3, kReadOnly | kFast, 1, 1, 1, h.hexists, "Determine if a hash field exists",
      "2.0.0", "O(1)", kReadFast);
  add("hkeys", 2, kReadOnly, 1, 1, 1, h.hkeys, "Get all the fields in a hash", "2.0.0",
      "O(N) where N is the size of the hash.", kReadSlow);
  add("hvals", 2, kReadOnly, 1, 1, 1, h.hvals, "Get all the values in a hash", "2.0.0",
      "O(N) where N is the size of the hash.", kReadSlow);
  add("hgetall", 2, kReadOnly, 1, 1, 1, h.hgetall, "Get all the fields and values in a hash",
      "2.0.0", "O(N) where N is the size of the hash.", kReadSlow);
  add("hincrby", 4, kWrite | kDenyOom | kFast, 1, 1, 1, h.hincrby,
      "Increment the integer value of a hash field by the given number", "2.0.0", "O(1)",
      kWriteFast);
  add("hincrbyfloat", 4, kWrite | kDenyOom | kFast, 1, 1, 1, h.hincrbyfloat,
      "Increment the float value of a hash field by the given amount", "2.6.0", "O(1)",
      kWriteFast);
  add("hrandfield", -2, kReadOnly, 1, 1, 1, h.hrandfield,
      "Get one or multiple random fields from a hash", "6.2.0",
      "O(N) where N is the number of fields returned", kReadSlow);
  add("hscan", -3, kReadOnly, 1, 1, 1, h.hscan,
      "Incrementally iterate hash fields and associated values", "2.8.0", kScanComplexity,
      kReadSlow);

  // COMMAND INFO key specs and tips (none of these key specs has notes).
  for (const char* name : {"hset", "hmset"}) {
    table->Mutable(name)->key_specs = {MakeKeySpec(1, 0, 1, {"RW", "update"})};
  }
  table->Mutable("hsetnx")->key_specs = {MakeKeySpec(1, 0, 1, {"RW", "insert"})};
  for (const char* name : {"hget", "hmget", "hkeys", "hvals", "hgetall", "hrandfield", "hscan"}) {
    table->Mutable(name)->key_specs = {MakeKeySpec(1, 0, 1, {"RO", "access"})};
  }
  table->Mutable("hdel")->key_specs = {MakeKeySpec(1, 0, 1, {"RW", "delete"})};
  for (const char* name : {"hlen", "hstrlen", "hexists"}) {
    table->Mutable(name)->key_specs = {MakeKeySpec(1, 0, 1, {"RO"})};
  }
  for (const char* name : {"hincrby", "hincrbyfloat"}) {
    table->Mutable(name)->key_specs = {MakeKeySpec(1, 0, 1, {"RW", "access", "update"})};
  }
  for (const char* name : {"hkeys", "hvals", "hgetall"}) {
    table->Mutable(name)->tips = {"nondeterministic_output_order"};
  }
  for (const char* name : {"hrandfield", "hscan"}) {
    table->Mutable(name)->tips = {"nondeterministic_output"};
  }
}

void RegisterSetCommandSpecs(CommandTable* table, const SetHandlers& h) {
  const std::vector<std::string> kReadFast = {"@read", "@set", "@fast"};
  const std::vector<std::string> kReadSlow = {"@read", "@set", "@slow"};
  const std::vector<std::string> kWriteFast = {"@write", "@set", "@fast"};
  const std::vector<std::string> kWriteSlow = {"@write", "@set", "@slow"};
  const char kInterComplexity[] =
      "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of "
      "sets.";
  const char kUnionDiffComplexity[] =
      "O(N) where N is the total number of elements in all given sets.";

  auto add = [&](const char* name, int arity, uint32_t flags, int first_key, int last_key,
                 int key_step, CommandHandler handler, const char* summary, const char* since,
                 const char* complexity, std::vector<std::string> acl) {
    table->Add(name, arity, flags, first_key, last_key, key_step, handler, "set", summary, since,
               complexity, std::move(acl));
  };

  // DOCS history (not reported): "2.4.0: Accepts multiple `member` arguments."
  add("sadd", -3, kWrite | kDenyOom | kFast, 1, 1, 1, h.sadd, "Add one or more members to a set",
      "1.0.0",
      "O(1) for each element added, so O(N) to add N elements when the command is called with "
      "multiple arguments.",
      kWriteFast);
  // DOCS history (not reported): "2.4.0: Accepts multiple `member` arguments."
  add("srem", -3, kWrite | kFast, 1, 1, 1, h.srem, "Remove one or more members from a set",
      "1.0.0", "O(N) where N is the number of members to be removed.", kWriteFast);
  add("smembers", 2, kReadOnly, 1, 1, 1, h.smembers, "Get all the members in a set", "1.0.0",
      "O(N) where N is the set cardinality.", kReadSlow);
  add("sismember", 3, kReadOnly | kFast, 1, 1, 1, h.sismember,
      "Determine if a given value is a member of a set", "1.0.0", "O(1)", kReadFast);
  add("smismember", -3, kReadOnly | kFast, 1, 1, 1, h.smismember,
      "Returns the membership associated with the given elements for a set", "6.2.0",
      "O(N) where N is the number of elements being checked for membership", kReadFast);
  add("scard", 2, kReadOnly | kFast, 1, 1, 1, h.scard, "Get the number of members in a set",
      "1.0.0", "O(1)", kReadFast);
  // DOCS history (not reported): "3.2.0: Added the `count` argument."
  add("spop", -2, kWrite | kFast, 1, 1, 1, h.spop,
      "Remove and return one or multiple random members from a set", "1.0.0",
      "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
      kWriteFast);
  // DOCS history (not reported): "2.6.0: Added the optional `count` argument."
  add("srandmember", -2, kReadOnly, 1, 1, 1, h.srandmember,
      "Get one or multiple random members from a set", "1.0.0",
      "Without the count argument O(1), otherwise O(N) where N is the absolute value of the "
      "passed count.",
      kReadSlow);
  add("smove", 4, kWrite | kFast, 1, 2, 1, h.smove, "Move a member from one set to another",
      "1.0.0", "O(1)", kWriteFast);
  add("sinter", -2, kReadOnly, 1, -1, 1, h.sinter, "Intersect multiple sets", "1.0.0",
      kInterComplexity, kReadSlow);
  // Redis reports SINTERCARD's flags as [readonly, movablekeys] with first/last/step 0 0 0:
  // its keys are found from the numkeys argument. CommandFlag has no movablekeys bit, so only
  // readonly is reported (see the key spec note below).
  add("sintercard", -3, kReadOnly, 0, 0, 0, h.sintercard,
      "Intersect multiple sets and return the cardinality of the result", "7.0.0",
      kInterComplexity, kReadSlow);
  add("sinterstore", -3, kWrite | kDenyOom, 1, -1, 1, h.sinterstore,
      "Intersect multiple sets and store the resulting set in a key", "1.0.0", kInterComplexity,
      kWriteSlow);
  add("sunion", -2, kReadOnly, 1, -1, 1, h.sunion, "Add multiple sets", "1.0.0",
      kUnionDiffComplexity, kReadSlow);
  add("sunionstore", -3, kWrite | kDenyOom, 1, -1, 1, h.sunionstore,
      "Add multiple sets and store the resulting set in a key", "1.0.0", kUnionDiffComplexity,
      kWriteSlow);
  add("sdiff", -2, kReadOnly, 1, -1, 1, h.sdiff, "Subtract multiple sets", "1.0.0",
      kUnionDiffComplexity, kReadSlow);
  add("sdiffstore", -3, kWrite | kDenyOom, 1, -1, 1, h.sdiffstore,
      "Subtract multiple sets and store the resulting set in a key", "1.0.0",
      kUnionDiffComplexity, kWriteSlow);
  add("sscan", -3, kReadOnly, 1, 1, 1, h.sscan, "Incrementally iterate Set elements", "2.8.0",
      kScanComplexity, kReadSlow);

  // COMMAND INFO key specs and tips (none of these key specs has notes).
  table->Mutable("sadd")->key_specs = {MakeKeySpec(1, 0, 1, {"RW", "insert"})};
  table->Mutable("srem")->key_specs = {MakeKeySpec(1, 0, 1, {"RW", "delete"})};
  for (const char* name : {"smembers", "smismember", "srandmember", "sscan"}) {
    table->Mutable(name)->key_specs = {MakeKeySpec(1, 0, 1, {"RO", "access"})};
  }
  for (const char* name : {"sismember", "scard"}) {
    table->Mutable(name)->key_specs = {MakeKeySpec(1, 0, 1, {"RO"})};
  }
  table->Mutable("spop")->key_specs = {MakeKeySpec(1, 0, 1, {"RW", "access", "delete"})};
  table->Mutable("smove")->key_specs = {MakeKeySpec(1, 0, 1, {"RW", "access", "delete"}),
                                        MakeKeySpec(2, 0, 1, {"RW", "insert"})};
  for (const char* name : {"sinter", "sunion", "sdiff"}) {
    table->Mutable(name)->key_specs = {MakeKeySpec(1, -1, 1, {"RO", "access"})};
  }
  // Redis 7.0.15's SINTERCARD key spec is not a range, which KeySpec cannot express:
  //   flags [RO, access], begin_search {type: index, spec: {index: 1}},
  //   find_keys {type: keynum, spec: {keynumidx: 0, firstkey: 1, keystep: 1}}
  // (keys are args[2 .. 1+numkeys]). It is left without key specs rather than given a wrong
  // range: with first_key 0 COMMAND INFO lists no key spec and COMMAND GETKEYS reports no keys.
  table->Mutable("sinterstore")->key_specs = {MakeKeySpec(1, 0, 1, {"RW", "update"}),
                                              MakeKeySpec(2, -1, 1, {"RO", "access"})};
  for (const char* name : {"sunionstore", "sdiffstore"}) {
    table->Mutable(name)->key_specs = {MakeKeySpec(1, 0, 1, {"OW", "update"}),
                                       MakeKeySpec(2, -1, 1, {"RO", "access"})};
  }
  for (const char* name : {"smembers", "sinter", "sunion", "sdiff"}) {
    table->Mutable(name)->tips = {"nondeterministic_output_order"};
  }
  for (const char* name : {"spop", "srandmember", "sscan"}) {
    table->Mutable(name)->tips = {"nondeterministic_output"};
  }
}

}  // namespace organic::commands
