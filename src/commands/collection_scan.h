// HSCAN and SSCAN (and later ZSCAN): one implementation over CollectionObject.
#pragma once

#include "commands/command.h"
#include "engine/record.h"

namespace organic::commands {

// KEY cursor [MATCH pattern] [COUNT count] on a collection of `type`. A collection kept inline
// is returned whole with cursor 0, as Redis does for a listpack or an intset; one in member
// records is walked in member order, `count` members per call, its cursors saved in the
// server's cursor table (scan_cursors.h) against the member space, positioned at the last
// member key returned (which names the collection's id: a cursor of another collection
// restarts).
void ScanCollectionCommand(CommandContext& ctx, engine::ValueType type);

}  // namespace organic::commands
