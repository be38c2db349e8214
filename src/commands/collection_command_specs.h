#pragma once
#include "commands/command_table.h"
namespace organic::commands {
// Handlers of the hash commands, filled by hash_commands.cc; registration data below.
struct HashHandlers { CommandHandler hset, hsetnx, hmset, hget, hmget, hdel, hlen, hstrlen, hexists, hkeys, hvals, hgetall, hincrby, hincrbyfloat, hrandfield, hscan; };
struct SetHandlers { CommandHandler sadd, srem, smembers, sismember, smismember, scard, spop, srandmember, smove, sinter, sintercard, sinterstore, sunion, sunionstore, sdiff, sdiffstore, sscan; };
// Registers each command with Redis 7.0.15's arity, flags, key positions, group, summary,
// since, complexity, ACL categories, key specs and tips.
void RegisterHashCommandSpecs(CommandTable* table, const HashHandlers& h);
void RegisterSetCommandSpecs(CommandTable* table, const SetHandlers& h);
}
