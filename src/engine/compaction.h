// Compaction: merges SSTables of one database into the next level, on the worker.
//
// Shape (leveled, as LevelDB): level 0 holds flushed tables whose key ranges overlap; each
// deeper level is one sorted run of disjoint tables, 10x the size of the level above.
// - Level 0 is compacted into level 1 once it holds kL0CompactionTrigger tables: all of them
//   plus the level-1 tables their range overlaps.
// - Level n >= 1 is compacted once it outgrows LevelTarget(n): one table, picked
//   round-robin by key, plus the overlapping tables of level n + 1.
// A lookup therefore reads at most kL0CompactionTrigger (+ what arrives meanwhile) level-0
// tables and one table per deeper level (their bloom filters first).
//
// Space. Under a steady overwrite load the levels above the last hold mostly older copies of
// keys the last level has too, and a compaction's inputs stay on disk until its outputs are
// installed. Three rules keep both small next to the live data (docs/benchmarks.md, "Space"):
// - The levels above the last are sized from the last one's actual bytes, a tenth per level
//   (as RocksDB's level_compaction_dynamic_level_bytes), not by fixed targets alone: with
//   fixed ones a 100 MB data set kept 32-47 MB of stale copies in level 1.
// - An output table is cut before it overlaps more than kMaxGrandparentOverlapBytes of the
//   level below its own (LevelDB's grandparent rule), so compacting it later rewrites a
//   bounded slice of that level rather than, under uniform keys, a quarter of it or more.
// - Writes faster than the worker compacts wait (kL0StopWritesTrigger) instead of growing
//   levels 0 and 1 without bound.
// The last level itself spills into a new one past LevelTargetBytes(n). Not bounded: a data
// set that fits level 1 is rewritten whole by each level-0 compaction, old and new copies on
// disk together, so with live data only a few MemTable budgets large the peak passes 2x.
//
// Damaged tables (TableFile::damage, docs/sstable-format.md "Damaged tables") are never inputs:
// a compaction that meets a bad block fails, names the damaged input (CompactionResult::
// damaged), and the loop sets that table aside. PickCompaction then works around it without
// changing which record of a key is newest:
// - Level 0 (newest first) is cut into runs of undamaged tables by its damaged ones. The oldest
//   run may go down to level 1 unless a damaged level-1 table overlaps it; otherwise the
//   longest run of two or more tables is merged into one level-0 table that takes the run's
//   place (RocksDB's intra-L0 compaction), above every older table as before. Level 0 then
//   holds at most kL0CompactionTrigger - 1 tables above each damaged one, plus the damaged
//   ones, so it never reaches the stop trigger for good (Engine::CompactionBehind counts the
//   damaged ones out).
// - Level n >= 1 takes the next undamaged table (round robin) whose level n + 1 overlap holds
//   no damaged table; if there is none the level waits (it grows, nothing stalls).
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

#include "engine/collection_meta.h"
#include "engine/sstable_builder.h"
#include "engine/version.h"
#include "util/file.h"
#include "util/status.h"

namespace organic::engine {

inline constexpr size_t kL0CompactionTrigger = 4;
// Level-0 tables at which size-triggered flushes wait for compaction, so writes stall on the
// MemTable budget (LevelDB's stop trigger): writes faster than the worker compacts would
// otherwise pile stale copies into levels 0 and 1 without bound.
inline constexpr size_t kL0StopWritesTrigger = 2 * kL0CompactionTrigger;
// Size of one output table; a compaction's output is cut into tables of about this size so a
// later compaction of level n rewrites only a slice of level n + 1.
inline constexpr uint64_t kTargetTableBytes = 8ull << 20;
// An output table stops before it would overlap more than this many bytes of the next level.
inline constexpr uint64_t kMaxGrandparentOverlapBytes = kTargetTableBytes;
inline constexpr uint64_t kLevelSizeMultiplier = 10;
// The most level n >= 1 holds: 32 MB for level 1, each deeper level 10x more. The last
// non-empty level spills into the next past it.
inline uint64_t LevelTargetBytes(size_t level) {
  uint64_t bytes = 32ull << 20;
  for (size_t i = 1; i < level; i++) bytes *= kLevelSizeMultiplier;
  return bytes;
}

// What level n >= 1 of tiers may hold before it is compacted. The last non-empty level and any
// below it: LevelTargetBytes(n). A level above the last: the last level's bytes divided by 10
// per level between them, within [LevelTargetBytes(n) / 10, LevelTargetBytes(n)]. The floor
// keeps a new, still small last level from making the levels above it look far over target
// (they would outrank level 0 until all their data had moved down).
uint64_t LevelTarget(const DbTiers& tiers, size_t level);

struct CompactionJob {
  uint64_t db_id = 0;
  uint32_t input_level = 0;
  uint32_t output_level = 1;
  TableList upper;  // input_level tables (level 0: newest first)
  TableList lower;  // overlapping output_level tables, in key order
  // Key ranges of the tables deeper than output_level (for dropping tombstones).
  std::vector<std::pair<std::string, std::string>> deeper_ranges;
  // The output_level + 1 tables, in key order: where outputs are cut (kMaxGrandparentOverlapBytes).
  TableList grandparents;
  // A member space's dead collections when the job was picked (collection_meta.h), and the
  // sequence number then: the outputs promise no record of them (ManifestTable::clean_since).
  DeadIds dead_ids;
  uint64_t clean_since = 0;
  // input_level = output_level = 0 is a merge of a run of level-0 tables into one level-0 table
  // (see "Damaged tables" above): one output, never cut.
};

// Fills the job's tombstone and cut information (deeper_ranges, grandparents) once its inputs
// are chosen.
void FinishJob(const DbTiers& tiers, CompactionJob* job);

// A job that rewrites `table` (of `level`) whatever the level sizes: for a member space, a
// table that may hold records of dead collections (Engine::MaybeStartCompaction), so their
// disk space comes back. A level-0 table goes down with its run; a deeper one merges into the
// next level, or is rewritten in its own level when nothing is below it.
// False if a damaged table is in the way.
bool PickTableCompaction(const DbTiers& tiers, size_t level,
                         const std::shared_ptr<const TableFile>& table, CompactionJob* job);

struct CompactionOptions {
  FileSystem* fs = nullptr;
  std::string dir;
  SstableOptions sstable;
  uint64_t target_table_bytes = kTargetTableBytes;
  uint64_t max_grandparent_overlap_bytes = kMaxGrandparentOverlapBytes;
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
  uint64_t dead_dropped = 0;  // member records of dead collections
  // Newest records found expired (key, expire-at), for the loop to delete.
  std::vector<std::pair<std::string, int64_t>> expired;
  int64_t duration_us = 0;
  // On failure: the first input found damaged when the inputs were read again block by block
  // (nullptr if none was, e.g. the failure was a write), and its first bad block's error.
  std::shared_ptr<const TableFile> damaged;
  Status damage;
};

// Runs on the worker. On error no output is kept (written files are deleted).
CompactionResult RunCompaction(CompactionJob job, const CompactionOptions& options);

// Picks the most urgent compaction of tiers (score >= 1), or returns false. *cursor is the
// round-robin key of each level (the largest key compacted last), updated when a table of
// level n >= 1 is picked.
bool PickCompaction(const DbTiers& tiers, std::vector<std::string>* cursor, CompactionJob* job);

}  // namespace organic::engine
