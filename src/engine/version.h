// Version: the tiers below the active MemTables — frozen MemTables and SSTables — of every
// database, as one immutable snapshot. The engine's generation pointer holds the current
// Version; every change (a freeze, a flush or compaction result, FLUSHDB, SWAPDB) builds a new
// one and swaps the pointer under a reader-writer lock held for the swap only. The worker takes
// a snapshot (a shared_ptr copy) under the read lock and never sees a Version change under it.
//
// Only the loop thread builds and installs Versions, so installs never race each other; the
// lock orders them against the worker's snapshots.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/manifest.h"
#include "engine/memtable.h"
#include "engine/sstable_reader.h"

namespace organic::engine {

// One live SSTable.
struct TableFile {
  ManifestTable meta;
  std::shared_ptr<const SstableReader> reader;
  // Not OK: the table is damaged and set aside (docs/sstable-format.md, "Damaged tables"). It
  // stays listed and readable where it can be (its bad parts answer their error) but is never a
  // compaction input, so a bad block cannot make compaction fail over and over. Set by the
  // loop in a new Version (a copy of this TableFile) at start-up or when a compaction met it.
  Status damage;
};
using TableList = std::vector<std::shared_ptr<const TableFile>>;

// The tiers of one database id (see manifest.h for ids).
struct DbTiers {
  uint64_t id = 0;
  // Frozen MemTables, newest first. Read-only: the loop reads them (bumping access counters)
  // while the worker flushes them.
  std::vector<std::shared_ptr<MemTable>> frozen;
  // levels[0]: flushed tables, newest first, key ranges may overlap.
  // levels[1..]: compacted tables, ordered by key, disjoint.
  std::vector<TableList> levels;
  // Live keys and keys with a TTL in the merged view of the tables alone (not the MemTables).
  uint64_t table_keys = 0;
  uint64_t table_volatile_keys = 0;

  uint64_t table_count() const {
    uint64_t n = 0;
    for (const TableList& level : levels) n += level.size();
    return n;
  }
  uint64_t table_entries() const {
    uint64_t n = 0;
    for (const TableList& level : levels) {
      for (const auto& t : level) n += t->meta.entries;
    }
    return n;
  }
};

struct Version {
  // The live databases, by number.
  std::vector<std::shared_ptr<const DbTiers>> dbs;
  // The databases as numbered at the WAL floor (what the manifest describes). Usually the same
  // ids as `dbs`; after FLUSHDB or SWAPDB, until the next flush moves the floor, they differ and
  // an id flushed away stays here (a "retired" database) so a manifest can still describe it.
  std::vector<uint64_t> floor_ids;
  std::vector<std::shared_ptr<const DbTiers>> retired;
  uint64_t wal_floor = 1;
  uint64_t floor_sequence = 0;  // see Manifest::floor_sequence

  // The current tiers of id (live or retired), nullptr if unknown.
  std::shared_ptr<const DbTiers> Find(uint64_t id) const {
    for (const auto& d : dbs) {
      if (d->id == id) return d;
    }
    for (const auto& d : retired) {
      if (d->id == id) return d;
    }
    return nullptr;
  }
};

}  // namespace organic::engine
