// Manifest: the durable description of the engine's disk tier, rewritten whole and replaced
// atomically (write MANIFEST.tmp, fsync, rename over MANIFEST, fsync the directory) after every
// flush and compaction. Byte layout and recovery: docs/manifest-format.md.
//
// It describes the state at the WAL floor: replay starts from the databases listed here (their
// tables and table-only key counts) and applies every WAL generation >= wal_floor. Databases are
// named by id, not by number, because SWAPDB and FLUSHDB in the WAL re-map numbers to ids during
// replay (FLUSHDB of database i creates the empty id NewDatabaseId(sequence, i)).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "util/file.h"
#include "util/status.h"

namespace organic::engine {

struct ManifestTable {
  uint64_t db_id = 0;
  uint32_t level = 0;  // 0 = flushed, overlapping; 1.. = compacted, disjoint within a level
  uint64_t file_number = 0;  // sst-<file_number>.sst
  uint64_t file_size = 0;
  uint64_t entries = 0;
  std::string smallest;  // first and last key in the table
  std::string largest;
  // Version 2: the table holds no member record of a collection that died at or before this
  // sequence number (its flush or compaction dropped them); 0 = no such promise.
  uint64_t clean_since = 0;
};

struct ManifestDatabase {
  uint64_t id = 0;
  // Counts of the tables alone (the merged view of this id's tables): live keys and those with
  // a TTL. Replay adds the WAL's changes to them, which keeps DBSIZE exact after a restart.
  uint64_t table_keys = 0;
  uint64_t table_volatile_keys = 0;
  // Member spaces (version 2): collections that died (id, the sequence number of their death)
  // whose member records tables may still hold; flushes and compactions drop those records.
  std::vector<std::pair<uint64_t, uint64_t>> dead;
};

struct Manifest {
  uint64_t wal_floor = 1;         // replay WAL generations >= this; older ones are obsolete
  // Version 2: every mutation with a sequence number up to this one is in the tables (the
  // freeze that opened generation wal_floor came after it). Replay skips them: a record that
  // a WAL retry wrote a second time into a later generation (wal_log.h) must not be applied
  // again on top of the tables (a SWAPDB twice would swap back). 0 = unknown (version 1).
  uint64_t floor_sequence = 0;
  uint64_t last_sequence = 0;     // highest sequence number held by any table
  uint64_t next_file_number = 1;  // every sst-N.sst file has N < this
  // Version 2: databases[0, user_databases) are user databases 0, 1 ...; the next
  // user_databases entries are their member spaces, in the same order. A version 1 manifest
  // (before collections) has user databases only: user_databases = databases.size().
  uint64_t user_databases = 0;
  std::vector<ManifestDatabase> databases;  // database number i at the floor is databases[i]
  std::vector<ManifestTable> tables;        // tables of the ids in `databases`
};

// The id FLUSHDB/FLUSHALL (mutation `sequence`) gives the fresh, empty database `db`; ids of
// the first start are the database numbers (sequence 0). Deterministic, so replay recreates it.
inline uint64_t NewDatabaseId(uint64_t sequence, uint32_t db) { return (sequence << 16) | db; }

std::string SstableFileName(uint64_t file_number);  // "sst-<N>.sst"
// True if name is an SSTable file name; *number receives N.
bool ParseSstableFileName(const std::string& name, uint64_t* number);

void EncodeManifest(const Manifest& m, std::string* out);
// The format version EncodeManifest writes; DecodeManifest also reads version 1.
inline constexpr uint32_t kManifestVersion = 2;
// Corruption (naming `name`) if in is not a complete, checksummed manifest; NotSupported
// naming the version for a manifest of a newer format.
Status DecodeManifest(std::string_view in, const std::string& name, Manifest* m);

// Durably replaces dir/MANIFEST with m.
Status WriteManifest(FileSystem* fs, const std::string& dir, const Manifest& m);
// Reads dir/MANIFEST. *exists false (and OK) if there is none: a new or WAL-only directory.
Status ReadManifest(FileSystem* fs, const std::string& dir, Manifest* m, bool* exists);

}  // namespace organic::engine
