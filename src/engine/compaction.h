// Compaction: merges SSTables of one database into the next level, on the worker.
//
// Shape (leveled, as LevelDB): level 0 holds flushed tables whose key ranges overlap; each
// deeper level is one sorted run of disjoint tables, 10x the size of the level above.
// - Level 0 is compacted into level 1 once it holds kL0CompactionTrigger tables: all of them
//   plus the level-1 tables their range overlaps.
// - Level n >= 1 is compacted once it outgrows LevelTargetBytes(n): one table, picked
//   round-robin by key, plus the overlapping tables of level n + 1.
// A lookup therefore reads at most kL0CompactionTrigger (+ what arrives meanwhile) level-0
// tables and one table per deeper level (their bloom filters first), and under a steady
// overwrite load the deeper levels hold ~1/10 of the data twice at most: space stays well
// within 2x the live data.
//
// The merge keeps only the newest record of each key (shadowed versions go). A tombstone is
// dropped when no table deeper than the output level can hold the key: nothing is left for it
// to hide. Expired records are kept (dropping one would change the exact key count the loop
// keeps) but reported, so the loop deletes them through the normal path; that is how keys
// that expired on disk, unknown to the in-memory expire index after a restart, go away.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/sstable_builder.h"
#include "engine/version.h"
#include "util/file.h"
#include "util/status.h"

namespace organic::engine {

inline constexpr size_t kL0CompactionTrigger = 4;
// Size of one output table; a compaction's output is cut into tables of about this size so a
// later compaction of level n rewrites only a slice of level n + 1.
inline constexpr uint64_t kTargetTableBytes = 8ull << 20;
// Level 1 holds up to 32 MB, each deeper level 10x more.
inline uint64_t LevelTargetBytes(size_t level) {
  uint64_t bytes = 32ull << 20;
  for (size_t i = 1; i < level; i++) bytes *= 10;
  return bytes;
}

struct CompactionJob {
  uint64_t db_id = 0;
  uint32_t input_level = 0;
  uint32_t output_level = 1;
  TableList upper;  // input_level tables (level 0: newest first)
  TableList lower;  // overlapping output_level tables, in key order
  // Key ranges of the tables deeper than output_level (for dropping tombstones).
  std::vector<std::pair<std::string, std::string>> deeper_ranges;
};

struct CompactionOptions {
  FileSystem* fs = nullptr;
  std::string dir;
  SstableOptions sstable;
  uint64_t target_table_bytes = kTargetTableBytes;
  std::atomic<uint64_t>* next_file_number = nullptr;  // shared with the loop
  size_t max_expired_reported = 10000;
};

struct CompactionResult {
  Status status;
  CompactionJob job;
  TableList outputs;  // in key order
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  uint64_t shadowed_dropped = 0;
  uint64_t tombstones_dropped = 0;
  // Newest records found expired (key, expire-at), for the loop to delete.
  std::vector<std::pair<std::string, int64_t>> expired;
  int64_t duration_us = 0;
};

// Runs on the worker. On error no output is kept (written files are deleted).
CompactionResult RunCompaction(CompactionJob job, const CompactionOptions& options);

// Picks the most urgent compaction of tiers (score >= 1), or returns false. *cursor is the
// round-robin key of each level (the largest key compacted last), updated when a table of
// level n >= 1 is picked.
bool PickCompaction(const DbTiers& tiers, std::vector<std::string>* cursor, CompactionJob* job);

}  // namespace organic::engine
