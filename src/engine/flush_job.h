// The worker's half of a metabolic flush: given the frozen MemTables of one freeze, decide which
// entries are hot (survivors) and write every dirty entry to one SSTable per database.
//
// Temperature. T = alpha * mean(access count of the live entries) + (1 - alpha) * T_prev, an
// EWMA over flushes, so one burst does not reset what "hot" means. An entry survives when its
// count is above T, hottest first, until the survivors would exceed survivor_budget_bytes (the
// flush must free memory even when every key is warm). A survivor's count is halved: it has to
// keep being read to survive the next flush too.
//
// What goes to disk. Every dirty entry (written since it was last on disk, tombstones included)
// is written, survivors too: a survivor then returns to memory as a *clean* copy, so it needs no
// WAL record and the next flush drops it for free if it cooled down. Clean entries are on disk
// already and are never rewritten. (design.md moves survivors through the new WAL instead; this
// writes a hot key once per change rather than once per flush.)
//
// Counts. The tables' key count changes by (entry live) - (entry shadowed a live record) for
// each written entry, from the entry's tier flags (MemTable::TierFlag): no lookups.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/checkpoint_records.h"
#include "engine/collection_meta.h"
#include "engine/memtable.h"
#include "engine/record.h"
#include "engine/sstable_builder.h"
#include "engine/version.h"
#include "util/file.h"
#include "util/status.h"

namespace organic::engine {

struct FlushInput {
  uint64_t db_id = 0;
  std::shared_ptr<MemTable> table;  // frozen (nullptr for a checkpoint's input)
  // A checkpoint's input instead of a frozen MemTable: the records the loop copied out of the
  // active one (Engine::CheckpointCopy), written as they are.
  std::shared_ptr<const CheckpointRecords> records;
  uint64_t file_number = 0;         // for this database's table, if it gets one
  // A member space's dead collections at the freeze: their records are dropped, not written
  // and not kept (collection_meta.h).
  DeadIds dead_ids;
  // The sequence number at the freeze: every collection dead by then is in dead_ids, so the
  // table promises no record of one (ManifestTable::clean_since).
  uint64_t clean_since = 0;
};

struct FlushOptions {
  FileSystem* fs = nullptr;
  std::string dir;
  SstableOptions sstable;
  double ewma_alpha = 0.5;
  double previous_temperature = 0;
  uint64_t survivor_budget_bytes = 0;
  // DEBUG RELOAD: everything goes to disk, nothing survives.
  bool no_survivors = false;
  // No memory budget (none configured, or a Redis maxmemory policy): memory is not what the
  // flush frees, so every live entry stays. The flush is then a checkpoint (its inputs are
  // CheckpointRecords, not frozen MemTables): the WAL generation becomes deletable, the data
  // stays in memory, as Redis keeps everything in RAM across a BGSAVE. no_survivors wins.
  bool keep_all = false;
};

// An entry kept in memory after the flush, as a clean copy.
struct Survivor {
  std::string key;
  std::string value;
  ValueType type = ValueType::kString;
  EncodingHint encoding = EncodingHint::kAuto;
  uint64_t sequence = 0;
  int64_t expire_at_ms = 0;
  uint32_t access = 0;  // already decayed
  uint32_t last_access = 0;  // MemTable::LastAccess of the frozen entry (LRU eviction)
};

struct FlushOutput {
  uint64_t db_id = 0;
  std::shared_ptr<const TableFile> table;  // nullptr if no dirty entry
  std::vector<Survivor> survivors;
  int64_t table_keys_delta = 0;
  int64_t table_volatile_delta = 0;
};

struct FlushResult {
  Status status;
  double temperature = 0;
  std::vector<FlushOutput> outputs;
  uint64_t entries = 0;        // entries examined
  uint64_t written = 0;        // entries written to tables
  uint64_t clean_dropped = 0;  // clean cold entries dropped
  uint64_t dead_dropped = 0;   // member records of dead collections dropped
  uint64_t survivors = 0;
  uint64_t bytes_written = 0;  // table bytes
  int64_t duration_us = 0;
};

// Appends the table record of a MemTable entry to *out (EncodeTableRecord), and adds what
// writing it changes in the tables' key counts to *keys_delta and *volatile_delta: (entry live)
// - (it shadows a live record), from its tier flags, with no lookup.
void EncodeEntryForTable(const MemTable::Entry* e, std::string* out, int64_t* keys_delta,
                         int64_t* volatile_delta);

// Runs on the worker. On error the result's status says why and no table of this flush is kept
// (partial files are deleted); the frozen MemTables are untouched and stay readable.
FlushResult RunFlush(const std::vector<FlushInput>& inputs, const FlushOptions& options);

// Adds one entry to the table being written; keys in increasing order.
using TableAdd = std::function<Status(std::string_view key, std::string_view value)>;
// Produces a table's entries by calling the TableAdd it is given.
using TableEmitter = std::function<Status(const TableAdd& add)>;

// Writes one table from a sorted stream; shared by flush and compaction. `emit` is called with
// an Add function until it returns; on success *out describes the durable table (nullptr if no
// entry was added, and then no file is left behind).
Status WriteTable(FileSystem* fs, const std::string& dir, uint64_t file_number, uint64_t db_id,
                  uint32_t level, const SstableOptions& options,
                  const TableEmitter& emit,
                  std::shared_ptr<const TableFile>* out);

}  // namespace organic::engine
