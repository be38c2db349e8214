// Finding the damaged parts of an SSTable: which data blocks cannot be read, and which keys they
// covered. Shared by compaction (which sets a damaged input aside, engine_compaction.cc) and
// organic-check-sst (which reports and drops such blocks). The policy for damaged tables is in
// docs/sstable-format.md, "Damaged tables".
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "engine/sstable_reader.h"
#include "util/status.h"

namespace organic::engine {

// One data block that fails its checks (checksum, decompression, entries, index agreement).
struct BlockDamage {
  size_t block = 0;      // index in the table's index block
  uint64_t offset = 0;   // of its stored bytes in the file
  uint64_t size = 0;     // stored bytes, without the 5-byte trailer
  // The keys it may hold: after `after_key` (exclusive; empty for the first block) up to and
  // including `last_key`, both from the index, which stays readable.
  std::string after_key;
  std::string last_key;
  Status status;
};

// Reads every data block of table in file order (SstableReader::VisitBlock) and returns the
// damaged ones, at most max_blocks of them. An unreadable table (no index) has no blocks to
// check: its damage is SstableReader::unreadable().
std::vector<BlockDamage> FindDamagedBlocks(
    const SstableReader& table, size_t max_blocks = std::numeric_limits<size_t>::max());

}  // namespace organic::engine
