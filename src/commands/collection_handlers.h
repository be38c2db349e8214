// What the collection command handlers (hash_commands.cc, set_commands.cc, and later lists
// and sorted sets) share: loading a key with Redis's replies for a missing key or another
// type. (Their random numbers: collection_ops.h.)
#pragma once

#include <cstdint>

#include "commands/collection_ops.h"
#include "protocol/errors.h"

namespace organic::commands {

// Loads the collection; false (with the reply written) when it is missing or of another type.
// on_missing writes the missing-key reply. mode kWrite for the commands that write (Redis's
// lookupKeyWriteOrReply: no keyspace hit/miss statistics).
template <typename OnMissing>
bool LoadOrReply(CommandContext& ctx, CollectionObject* coll, engine::LookupMode mode,
                 OnMissing on_missing) {
  switch (coll->Load(mode)) {
    case OpStatus::kWrongType:
      ctx.reply->Error(protocol::kWrongType);
      return false;
    case OpStatus::kNotFound:
      on_missing();
      return false;
    case OpStatus::kOk:
      return true;
  }
  return false;
}

// LoadOrReply for a command that only reads (Redis's lookupKeyReadOrReply).
template <typename OnMissing>
bool LoadForRead(CommandContext& ctx, CollectionObject* coll, OnMissing on_missing) {
  return LoadOrReply(ctx, coll, engine::LookupMode::kRead, on_missing);
}

// For a command that creates a missing collection: only another type stops it.
inline bool LoadForWrite(CommandContext& ctx, CollectionObject* coll) {
  if (coll->Load(engine::LookupMode::kWrite) == OpStatus::kWrongType) {
    ctx.reply->Error(protocol::kWrongType);
    return false;
  }
  return true;
}

}  // namespace organic::commands
