// Engine: the keyspace of every database, its durability (WAL), its tiers (MemTables in
// memory, SSTables on disk) and expiry. The engine never sees RESP or clients; commands call it
// with user keys and get records or Status back.
//
// Threading: every public method runs on the loop thread. The background worker runs
// self-contained jobs (WAL fsync, metabolic flushes, manifest writes, file deletion) on
// snapshots it owns, and hands results back through a completion queue that the loop drains
// in PollBackground(); only the loop installs a new Version (see version.h).
//
// Durability contract: each mutating call appends one mutation to the WAL buffer before it
// returns. FlushWal(), called once per loop iteration before replies are written, moves the
// batch to the OS (and to the disk in `always` mode), so no reply acknowledges a write the WAL
// does not hold. A WAL generation is deleted only once a durable manifest lists tables holding
// every record it had (docs/manifest-format.md).
//
// Tiers: reads look in the active MemTable, then the frozen ones, then the SSTables newest
// first; the first record found for a key (value or tombstone) is the answer. Every MemTable
// entry carries tier flags (MemTable::TierFlag) set from that lookup when it is written, which
// keeps DBSIZE and the volatile-key count exact without scanning the disk. Point lookups read
// table blocks through a BlockCache of decompressed blocks; iterators (SCAN, compaction, the
// expire-index rebuild) read around it.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/admission.h"
#include "engine/background_worker.h"
#include "engine/block_cache.h"
#include "engine/collection_meta.h"
#include "engine/compaction.h"
#include "engine/expire_index.h"
#include "engine/flush_job.h"
#include "engine/memtable.h"
#include "engine/mutation.h"
#include "engine/record.h"
#include "engine/sstable_builder.h"
#include "engine/table_record.h"
#include "engine/version.h"
#include "engine/wal_log.h"
#include "util/file.h"
#include "util/status.h"

namespace organic::engine {

struct EngineOptions {
  std::string dir = "./organic-data";
  int databases = 16;
  FsyncPolicy fsync = FsyncPolicy::kEverySec;
  FileSystem* fs = nullptr;  // nullptr = DefaultFileSystem()
  SstableOptions sstable;
  // Weight of the newest flush's mean access count in the temperature (organic-ewma-alpha).
  double ewma_alpha = 0.5;
  // Bytes the MemTables may hold; a flush starts when the active one reaches half of it.
  // 0 = no flush for size (only BGSAVE, SAVE, the WAL-size rule and DEBUG RELOAD flush).
  uint64_t memtable_budget = 0;
  // Bytes of decompressed SSTable blocks kept for point lookups (block_cache.h); 0 = no cache.
  // The server derives it from its config (ConfigValues::EffectiveBlockCacheSize).
  uint64_t block_cache_bytes = 0;
  // Without a budget, whether memory is unlimited (no maxmemory): then a flush keeps every
  // live entry in memory as a clean copy (FlushOptions::keep_all), as Redis keeps everything
  // across a BGSAVE. Under a Redis maxmemory policy it is false: the copies would push a full
  // cache over maxmemory and make it evict for a mere SAVE.
  bool memory_unlimited = true;
  // Called from the worker thread when a result waits for PollBackground (the server wakes its
  // loop with it). May be empty: then results wait for the next PollBackground call.
  std::function<void()> wake_loop;
  // Called on the worker thread right after it freed a MemTable's entries (ReleaseOnWorker):
  // the server returns the freed pages to the OS (jemalloc keeps them for seconds otherwise,
  // which let RSS pass the maxmemory bound). May be empty.
  std::function<void()> return_memory;
  // Test-only fault points: called on the worker before each step of a flush, compaction or
  // manifest update with the step's name (kFaultPoints in engine.cc). Returning true stops the
  // job right there, as if the process died: nothing after it happens and no result reaches
  // the loop. Crash tests pair it with FaultInjectionFileSystem::DropUnsyncedData.
  std::function<bool(const char* point)> fault_point;
};

// Every fault point name, in the order a flush and its manifest update reach them.
inline constexpr const char* kFaultPoints[] = {
    "flush:before-tables",       "flush:tables-written",      "manifest:before-write",
    "manifest:written",          "manifest:wal-deleted",      "compaction:before-tables",
    "compaction:tables-written",
};

// How a read treats the key, as Redis's lookupKey flags do.
enum class LookupMode {
  kRead,     // counts keyspace hits/misses and the access counter
  kWrite,    // a read on behalf of a write (no hit/miss statistics)
  kNoTouch,  // counts hits/misses but not the access counter (EXISTS, TYPE, TTL, OBJECT ...)
  // A collection's member record, read on behalf of a command on its key: bumps the access
  // counter (members tier by their own temperature) but counts no keyspace hit or miss, which
  // the key's metadata lookup already did.
  kMember,
};

// What happened to a user key (Engine::set_key_change_listener).
enum class KeyChange : uint8_t {
  kWritten,  // its value was written (a Put, or a collection's member records changed)
  kTtl,      // its TTL was set or removed
  kDeleted,  // deleted by a command (DEL, an emptied collection, RENAME's source, eviction)
  kExpired,  // deleted because its TTL passed (a read, the expiry cycle)
  kFlushed,  // FLUSHDB (db) or FLUSHALL (db -1): every key of the database(s); key empty
  kSwapped,  // SWAPDB db other_db; key empty
};
struct KeyChangeEvent {
  KeyChange change;
  int db;
  int other_db;           // kSwapped only
  std::string_view key;   // valid during the call only
};
// Called on the loop thread after each change is applied (never during the WAL replay):
// the one place WATCH, keyspace notifications, client-side caching and blocking pops learn
// that a key changed. It must not change the engine.
using KeyChangeListener = std::function<void(const KeyChangeEvent&)>;

// Where the newest record of a key lives.
enum class Tier { kNone, kMemory, kDisk };

// A key of an active MemTable as eviction sees it (see Engine::SampleMemoryKeys). key points
// into the entry: valid until the next mutation of the engine.
struct MemoryKeySample {
  std::string_view key;
  uint32_t access_count = 0;
  uint32_t last_access_s = 0;  // Unix seconds of the last read or write; 0 = never stamped
  int64_t expire_at_ms = 0;    // 0 = persistent
};

struct EngineStats {
  uint64_t keyspace_hits = 0;
  uint64_t keyspace_misses = 0;
  uint64_t expired_keys = 0;
  uint64_t mutations_logged = 0;
  int64_t last_save_unix = 0;  // seconds; last completed flush (SAVE/BGSAVE) or start
  uint64_t changes_since_save = 0;
  WalRecoveryReport recovery;
  int64_t recovery_duration_us = 0;
  // Tiering (INFO organic).
  uint64_t memory_hits = 0;  // reads answered by a MemTable
  uint64_t disk_hits = 0;    // reads answered by an SSTable
  uint64_t bloom_checks = 0;
  uint64_t bloom_skips = 0;  // table reads the bloom filter avoided
  uint64_t promotions = 0;
  uint64_t flushes = 0;
  uint64_t flush_errors = 0;
  bool last_flush_failed = false;  // the last flush or manifest write failed (INFO *_status)
  int64_t last_flush_duration_us = 0;
  uint64_t last_flush_entries = 0;
  uint64_t last_flush_survivors = 0;
  uint64_t last_flush_written = 0;
  uint64_t last_flush_clean_dropped = 0;
  uint64_t flush_bytes_written = 0;
  uint64_t read_errors = 0;
  uint64_t compactions = 0;
  uint64_t compaction_errors = 0;
  uint64_t compaction_bytes_read = 0;
  uint64_t compaction_bytes_written = 0;
  uint64_t compaction_expired_found = 0;
  // Damaged tables (docs/sstable-format.md, "Damaged tables").
  uint64_t tables_set_aside = 0;    // tables a compaction found damaged and set aside
  uint64_t replay_read_errors = 0;  // replayed writes whose old record could not be read
  // Member records of dead collections that flushes and compactions dropped.
  uint64_t dead_records_dropped = 0;
};

class Engine {
 public:
  explicit Engine(EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Creates the data directory if needed, reads the manifest and opens its tables, replays the
  // WAL from the manifest's floor, starts the worker.
  Status Open();
  // Flushes and fsyncs the WAL and stops the worker (a flush in progress finishes; its result
  // is not installed, the WAL still holds its records). Idempotent.
  Status Close();

  // User databases (SELECT's 0 .. databases()-1). Internally each has a second keyspace, its
  // member space, at index MemberSpace(db): the member records of its large collections
  // (engine/collection_meta.h), keyed by collection id, so that SCAN, DBSIZE, RANDOMKEY,
  // eviction sampling and the expire index keep seeing one record per user key. Get, Put,
  // Delete and Scan take either index; flushes, compactions and the manifest treat a member
  // space as one more database.
  int databases() const { return options_.databases; }
  int MemberSpace(int db) const { return options_.databases + db; }
  // A new collection id, never handed out before (a sequence number: ids and sequence numbers
  // share one counter, which only grows, across restarts too).
  uint64_t NewCollectionId() { return ++sequence_; }
  // Member records of collections that no longer exist, not yet dropped (DEL, expiry and
  // overwrite of a large collection leave them to the background: see KillCollection).
  uint64_t dead_collections() const;
  // Entries of the member spaces' active MemTables (member records in memory).
  uint64_t member_memtable_entries() const;

  // The live record for key, or nullopt (absent or expired; an expired key is deleted here,
  // and the delete is logged). The view is valid until the next mutation or loop iteration
  // (PollBackground). A table that cannot be read counts as a miss and sets read_error().
  std::optional<RecordView> Get(int db, std::string_view key, LookupMode mode);

  // Writes a whole record (expire_at_ms 0 = no TTL). Like every mutator it looks the key up
  // before logging: when that lookup fails on a table (or a read error is pending, see
  // TakeReadError) nothing is logged or applied, so the WAL never holds a write memory lacks.
  // encoding: the OBJECT ENCODING hint (see EncodingHint).
  // Returns whether it replaced a live record (expired or not): a member record's Put tells
  // its collection whether the member is new without a second lookup.
  bool Put(int db, std::string_view key, ValueType type, std::string_view value,
           int64_t expire_at_ms, EncodingHint encoding = EncodingHint::kAuto);
  // Returns false if the key was absent (or already expired). keep_members: the key is a
  // collection whose member records live on under another key (RENAME): its id stays live.
  bool Delete(int db, std::string_view key, bool keep_members = false);
  // The listener of every key change (replaces the previous one; empty: none).
  void set_key_change_listener(KeyChangeListener fn) { key_listener_ = std::move(fn); }
  // A collection changed through its member records alone (no metadata write): tells the
  // listener, as a write of its metadata would have (collection_ops.h).
  void NotifyKeyWritten(int db, std::string_view key) {
    if (key_listener_) key_listener_({KeyChange::kWritten, db, 0, key});
  }
  // Sets (or with 0 removes) the TTL of a live key; false if absent.
  bool SetExpire(int db, std::string_view key, int64_t expire_at_ms);
  void FlushDb(int db);
  void FlushAll();
  void SwapDb(int a, int b);

  // Exact, O(1): keys whose newest record is not a tombstone (expired ones count until deleted,
  // as in Redis), whatever tier they are on.
  uint64_t KeyCount(int db) const { return dbs_[db].keys; }
  uint64_t VolatileCount(int db) const { return dbs_[db].volatile_keys; }
  // Average remaining TTL in ms of a sample of the volatile keys (INFO's avg_ttl), 0 if none.
  int64_t AverageTtlMs(int db) const;
  // Where key's newest record is (no statistics, no access count).
  Tier TierOf(int db, std::string_view key);

  // Visits live keys in key order starting at start (exclusive when `after` is true), at most
  // max_visits records examined; visit returns nothing. *next_start is the last key examined
  // (resume with after=true), *finished true when the end was reached.
  void Scan(int db, std::string_view start, bool after, size_t max_visits,
            const std::function<void(std::string_view key, const RecordView&)>& visit,
            std::string* next_start, bool* finished);
  // Visits the live records whose key starts with prefix, in key order, from the first one
  // (after empty) or the first after `after`, while visit returns true: one collection's
  // member records (index: a member space). Reads every tier, promotes nothing, deletes
  // nothing; visit must not change the engine (its views die with the next mutation). A table
  // read error ends the walk and is kept as the read error (TakeReadError).
  void ScanPrefix(int index, std::string_view prefix, std::string_view after,
                  const std::function<bool(std::string_view key, const RecordView&)>& visit);
  // A uniformly random live record of database index's active MemTable whose key starts with
  // prefix, found within `tries` O(1) draws (MemTable::RandomEntry); false if none was. For
  // random picks among a collection's member records in memory (collection_ops.h).
  bool RandomMemoryKeyWithPrefix(int index, std::string_view prefix, int tries, std::string* key);
  // A random live key; false if the database is empty.
  bool RandomKey(int db, std::string* key);

  // Eviction support (the Redis maxmemory policies, server/eviction.h). Only live records of
  // the active MemTable are candidates: deleting them is what frees memory (a key on disk or
  // in a frozen MemTable being flushed would only gain a tombstone).
  //
  // Appends to *out up to n pseudo-random such keys of db (volatile_only: keys with a TTL
  // only), fewer when there are few; duplicates are possible. Expired keys not deleted yet are
  // included (evicting them is as good as expiring them).
  //   All keys: uniform draws from the active MemTable (MemTable::RandomEntry, O(1)).
  //   Volatile keys: random items of the expire index when it has at most kSmallExpireIndex
  //   items (uniform over the keys with a TTL); beyond that, items among its first
  //   kSmallExpireIndex (the keys expiring soonest) plus random descents.
  // At least one key is returned when the database has a candidate, except in two corners
  // where the search is bounded (4096 entries walked): live keys among mostly tombstones, and
  // a large expire index whose front keys are all on disk while few MemTable entries have a
  // TTL. Sampling volatile keys may drop stale expire-index items (see SampleExpireIndex).
  // soonest_first (volatile-ttl): volatile keys come only from the top of the expire index
  // (its first positions hold the keys expiring soonest; a wider front would also hold late
  // keys whose whole heap subtree is late, which the TTL order must not evict).
  void SampleMemoryKeys(int db, size_t n, bool volatile_only, std::vector<MemoryKeySample>* out,
                        bool soonest_first = false);
  // Whether key is a live record of db's active MemTable (with a TTL when volatile_only): a
  // candidate SampleMemoryKeys could return.
  bool IsMemoryKey(int db, std::string_view key, bool volatile_only) const;
  // Seconds since the last read or write of key (OBJECT IDLETIME), from the access clock; 0 for
  // a key only on disk (a table record carries no access time) or absent.
  uint32_t IdleSeconds(int db, std::string_view key) const;
  // The access clock (Unix seconds) that reads and writes stamp on MemTable entries. Cached
  // like Redis's LRU clock: Open, PollBackground (once per loop iteration) and OnSecondTick set
  // it from the wall clock; tests may set it directly (until the next of those calls).
  uint32_t access_clock() const { return access_clock_; }
  void set_access_clock(uint32_t unix_seconds) { access_clock_ = unix_seconds; }
  // Admission: a key read from disk is copied into memory once it has been read this many
  // times lately, this read included (MaybePromote); on its first read when there is no
  // MemTable budget (memory is not scarce then).
  static constexpr uint32_t kAdmitReads = 4;
  // Expire-index sizes up to which volatile keys are sampled from the index (exact, uniform)
  // rather than by random descents into the MemTable (which miss when few keys have a TTL).
  static constexpr size_t kSmallExpireIndex = 4096;

  // Deletes keys whose TTL is due, for at most budget_us microseconds. Returns the count.
  uint64_t ActiveExpireCycle(int64_t budget_us);
  void set_active_expire_enabled(bool on) { active_expire_enabled_ = on; }
  bool active_expire_enabled() const { return active_expire_enabled_; }

  // The mutations logged between BeginCommand and EndCommand (one command: MSET, RENAME, a
  // SET that expired a key first ...) go to the WAL as one record, so a torn WAL tail keeps
  // all of a command's changes or none. Outside a command each mutation is its own record.
  void BeginCommand();
  void EndCommand();

  // Once per loop iteration, before replies are sent (see the durability contract). An error
  // means this iteration's writes are not durable yet: their replies must wait until
  // wal_error() clears (WalLog::FlushBatch).
  Status FlushWal() { return wal_->FlushBatch(); }
  // A WAL write or fsync failure that stands (full disk, I/O error): write commands must be
  // refused until it clears. OnSecondTick retries; Ok while the WAL is healthy.
  const Status& wal_error() const { return wal_->write_error(); }
  // Called once a second by the server cron (everysec fsync on the worker, flush retries).
  void OnSecondTick();
  // Installs what the worker finished (flush results, durable manifests). Once per loop
  // iteration; also drops the buffers behind views of records read from tables.
  void PollBackground();

  // Metabolic flush (see flush_job.h): freezes the active MemTables, opens a new WAL
  // generation and hands the frozen tables to the worker. Returns false (nothing started) if a
  // flush is already running or *status is an error. no_survivors puts every key on disk.
  bool StartFlush(Status* status, bool no_survivors = false);
  bool flush_in_progress() const { return flush_.running; }
  // The error of a flush that failed and waits for its retry (OnSecondTick, backing off); Ok
  // when none. Its frozen MemTables stay in memory and readable meanwhile.
  Status flush_error() const { return flush_.running && flush_.failed ? flush_.error : Status(); }
  // Writes must be refused: the active MemTables have reached the whole budget and the flush
  // that would free memory fails (a full disk). Waiting would not help: the server answers
  // write commands with an error until a retry succeeds, so memory stays bounded.
  bool WritesRefusedForMemory() const {
    return options_.memtable_budget != 0 && flush_.running && flush_.failed &&
           active_memtable_bytes() >= options_.memtable_budget;
  }
  // True while a flush runs, or compaction is behind (CompactionBehind), and the MemTables
  // (active and frozen) have reached the whole budget: the server then holds write commands until a
  // flush can free memory (a bounded stall).
  bool WritesShouldStall() const;
  // A database's level 0 holds kL0StopWritesTrigger tables or more. With a MemTable budget, no
  // flush starts for size or WAL growth meanwhile: writes wait for compaction instead.
  bool CompactionBehind() const;
  // SAVE: a whole flush now, waiting until its manifest is durable. Blocks the caller.
  Status Flush();
  // Starts a flush when the MemTables outgrow their budget, or when the WAL has grown past
  // max(min_size, base * (1 + percentage/100)), base being its size after the last flush
  // (Redis's auto-aof-rewrite rule; percentage 0 disables it), unless compaction is behind.
  // True if one was started.
  bool MaybeStartAutoFlush(int percentage, uint64_t min_size);
  // DEBUG RELOAD: writes every MemTable to SSTables, then reopens the engine from disk with
  // empty MemTables.
  Status Reload();
  // Starts the most urgent compaction of any database (compaction.h) if none is running.
  // Returns true if one was started. Damaged tables are never inputs (TableFile::damage): a
  // compaction that meets a bad block sets that table aside and the next one works around it.
  bool MaybeStartCompaction();
  // Tables of the current Version (live or retired databases) known to be damaged: set aside
  // (TableFile::damage) or with a bad filter block. INFO organic's organic_damaged_tables.
  uint64_t DamagedTables() const;
  bool compaction_in_progress() const { return compaction_.running; }
  // A flush, compaction or manifest write is still pending.
  bool background_busy() const {
    return flush_.running || compaction_.running || manifests_pending_ > 0;
  }
  // Blocks until no flush, compaction or manifest write is pending (SAVE, tests).
  Status WaitForBackground();

  // The first table read error since the last call (then cleared); OK if none. While one is
  // pending, Put/Delete/SetExpire change nothing: a command that could not read a key must not
  // write on the belief that it is absent. The server takes it after every command.
  Status TakeReadError();

  void set_fsync_policy(FsyncPolicy p) { wal_->set_policy(p); }
  void set_memtable_budget(uint64_t bytes) { options_.memtable_budget = bytes; }
  void set_memory_unlimited(bool unlimited) { options_.memory_unlimited = unlimited; }
  uint64_t memtable_budget() const { return options_.memtable_budget; }
  void set_ewma_alpha(double alpha) { options_.ewma_alpha = alpha; }
  // Resizes the block cache (0 disables it: lookups then read every block from its file).
  void set_block_cache_capacity(uint64_t bytes);
  // Decompressed blocks of the tables, filled by point lookups (Lookup) only. Thread-safe.
  const BlockCache& block_cache() const { return *block_cache_; }
  const WalLog& wal() const { return *wal_; }
  const EngineStats& stats() const { return stats_; }
  void ResetStats();
  size_t memtable_bytes() const;         // active + frozen
  size_t active_memtable_bytes() const;
  size_t frozen_memtable_bytes() const;  // frozen only
  uint64_t memtable_entries() const;
  uint64_t frozen_memtable_entries() const;
  double temperature() const { return temperature_; }
  uint64_t generation() const { return wal_->current_generation(); }
  std::shared_ptr<const Version> version() const;
  uint64_t sequence() const { return sequence_; }

 private:
  // The loop's part of a database: the active MemTable and the exact counts.
  struct Database {
    std::shared_ptr<MemTable> active;
    ExpireIndex expires;
    uint64_t keys = 0;  // a member space counts member records (not exact, never reported)
    uint64_t volatile_keys = 0;
    // Member spaces only: collections that are gone while records of theirs may remain, id ->
    // the sequence number of the death (a table with a clean_since at or above it holds none).
    std::map<uint64_t, uint64_t> dead_ids;
  };
  // The mutation's database index: its user database, or that database's member space.
  size_t IndexOf(const Mutation& m) const {
    return m.db + (m.member_space ? static_cast<size_t>(options_.databases) : 0);
  }
  // Addresses m to database index (user or member space).
  void Address(int index, Mutation* m) const {
    m->member_space = index >= options_.databases;
    m->db = static_cast<uint32_t>(m->member_space ? index - options_.databases : index);
  }
  // Empties database index's loop state (FLUSHDB, FLUSHALL).
  void ResetDatabase(size_t index);
  // The collection id of user database index's metadata went away: its member records are
  // garbage. Their entries in the active MemTable are erased in slices (ContinueMemberErase),
  // the rest are dropped by flushes and compactions (dead_ids).
  void KillCollection(size_t user_index, uint64_t id);
  // The dead ids of database index, sorted, for a job on the worker (nullptr when none).
  DeadIds DeadIdsOf(size_t index) const;
  // Whether key of database index is a member record of a dead collection.
  bool IsDead(size_t index, std::string_view key) const {
    const std::map<uint64_t, uint64_t>& dead = dbs_[index].dead_ids;
    return !dead.empty() && dead.count(MemberKeyId(key)) != 0;
  }
  // Forgets dead ids no tier can hold a record of any more: no table's key range overlaps the
  // id, and no MemTable has a record of it. After each flush and compaction install.
  void PruneDeadIds();
  struct MemberErase {
    std::shared_ptr<MemTable> table;  // the member space's active MemTable when killed
    uint64_t id;
  };
  std::deque<MemberErase> member_erases_;
  static constexpr int64_t kEraseSliceUs = 250;
  // Erases dead members from active MemTables for about budget_us; true if work remains.
  bool ContinueMemberErase(int64_t budget_us);

  // The newest record of a key.
  struct Found {
    Tier tier = Tier::kNone;
    MemTable::Entry* entry = nullptr;  // set when the record is in a MemTable
    bool in_active = false;
    TableRecord record;                // always set when tier != kNone
    // Replay only: the record sits in a table block that cannot be read (see ApplyKey).
    bool unreadable = false;
    bool live() const { return tier != Tier::kNone && !record.tombstone; }
  };
  // Looks key up from the active MemTable down (or below it only). Table values are kept in
  // read_buffers_. Errors: the table's Status (also recorded as the read error).
  Status Lookup(int db, std::string_view key, bool below_active_only, Found* found);
  // Records a corrupt table met by a lookup in damage_found_ (once per table).
  void NoteDamage(uint64_t db_id, const std::shared_ptr<const TableFile>& t, const Status& why);
  // The shadows bits (MemTable::TierFlag) a new record of key written to the active MemTable
  // gets, given the key's current newest record.
  static uint8_t ShadowBits(const Found& old);

  // A keep-all flush (FlushOptions::keep_all: no memory limit) is a checkpoint: memory keeps
  // every record, the flush only puts the dirty ones in a table so that the WAL before it can
  // go. It freezes nothing (engine_checkpoint.cc). After a freeze, every write of an existing
  // key inserted a new entry into a fresh skip list instead of rewriting one in place, and the
  // frozen entries then had to come back: that cost 15-20% of the SET throughput of a run with
  // one checkpoint. Instead, a *fuzzy* checkpoint:
  //   1. StartFlush rolls the WAL at sequence S and starts a CheckpointCopy per database;
  //   2. the loop copies the dirty records of each active MemTable into CheckpointRecords, in
  //      key order, kSurvivorSliceUs per loop iteration, while writes go on between slices;
  //   3. the worker writes each copy as a level-0 table; the loop installs them and moves the
  //      WAL floor to S;
  //   4. then marks, in slices (CheckpointMark), the dirty entries still at a sequence <= S
  //      clean (the table holds exactly them) and erases such tombstones.
  // Why a fuzzy copy is a checkpoint: replay applies every record after S over the tables.
  // A key not written after S was not changed during the copy, so its table record is its
  // state at S; a key written after S gets its final record from the WAL whatever version the
  // copy caught.
  // Invariant during a copy: an entry's shadow bits (MemTable::TierFlag) describe the tiers
  // below it *including the copy's table-to-be*: copying an entry resets its bits to describe
  // the record copied (a copied live key that is then deleted leaves a tombstone, not nothing,
  // or the table would bring it back), and an entry the cursor has not passed describes the
  // old tiers, which the copy will not change for it. So the copy is never redone: a failed
  // write is retried with the same records. Reads do not see the table-to-be, so until the
  // install a delete never erases an entry (ApplyKey leaves a tombstone): the bits may say
  // "nothing live below" where the old tiers still hold a record the copy's tombstone hides.
  struct CheckpointCopy {
    std::shared_ptr<MemTable> table;  // the database's active MemTable at the start
    std::shared_ptr<CheckpointRecords> records;
    std::string last_key;  // the cursor: the last key copied (valid when started)
    bool started = false;
    bool done = false;
  };
  struct FlushState {
    bool running = false;
    uint64_t generation = 0;         // WAL generation opened by the freeze
    uint64_t freeze_sequence = 0;    // sequence_ at the freeze: all before it is in the tables
    std::vector<uint64_t> floor_ids; // database ids at the freeze
    std::vector<FlushInput> inputs;  // for a retry after an error
    bool no_survivors = false;
    bool keep_all = false;           // FlushOptions::keep_all of this flush
    bool failed = false;             // the last attempt failed; OnSecondTick retries
    Status error;                    // why the last attempt failed
    uint64_t changes_at_start = 0;   // changes_since_save at the freeze (later ones still count)
    // A checkpoint's copies (keep_all), one per input; the write is posted once all are done.
    std::vector<CheckpointCopy> copies;
    bool copying() const {
      for (const CheckpointCopy& c : copies) {
        if (!c.done) return true;
      }
      return false;
    }
  };
  // Retries of a failed flush or manifest write back off: after 1, 2, 4, 8, then every 16
  // seconds (OnSecondTick counts them), so that a full disk is not hammered with the writing of
  // a whole table every second, and a disk that comes back is used again within 16 s.
  struct RetryBackoff {
    uint32_t failures = 0;
    uint64_t due_tick = 0;  // second_ticks_ at which the next attempt may start
    void Failed(uint64_t now_tick) {
      due_tick = now_tick + (uint64_t{1} << std::min<uint32_t>(failures, 4));
      failures++;
    }
    void Succeeded() { *this = RetryBackoff(); }
    bool Due(uint64_t now_tick) const { return now_tick >= due_tick; }
  };
  RetryBackoff flush_retry_;
  RetryBackoff manifest_retry_;
  uint64_t second_ticks_ = 0;
  // A manifest write failed: its WAL generations (to delete once a manifest is durable) wait
  // for the retry, which writes the manifest of the then current Version.
  bool manifest_failed_ = false;
  std::vector<std::string> manifest_wal_paths_;
  void PostFlushJob();
  void InstallFlush(FlushResult result);
  void InstallCompaction(CompactionResult result);
  // Posts job (for database index) to the worker.
  void PostCompaction(size_t index, CompactionJob job);
  // A compaction of member space `index` that drops records of its dead collections: a table
  // whose key range holds a dead id it made no promise about (clean_since). False if none.
  bool PickGarbage(size_t index, CompactionJob* job) const;
  // Table files numbered >= this may belong to a job not installed yet: never garbage.
  uint64_t PendingFileFloor() const;
  // Writes the manifest of the current Version on the worker; deletes wal_paths and the table
  // files no Version references once it is durable.
  void PostManifestWrite(std::vector<std::string> wal_paths);
  Manifest BuildManifest(const Version& v) const;
  // The expire index after Open: the WAL replay adds the keys it replays, but keys with a TTL
  // that live only in tables (flushed before the stop) would be expired only when read or
  // compacted, and counted meanwhile. The worker walks the merged tables of every database with
  // volatile keys and hands their (expire time, key) to the loop in batches, one task per batch
  // so flushes queued meanwhile are not held up. Close cancels it. Items that a newer write
  // made stale are dropped by the expiry cycle, which checks the key's current expire time.
  struct ExpireRebuild;
  void StartExpireIndexRebuild();
  void ExpireRebuildStep(std::shared_ptr<ExpireRebuild> job);
  std::shared_ptr<std::atomic<bool>> expire_rebuild_cancel_;
  // Runs on the worker: queues fn for the loop and wakes it.
  void PostToLoop(std::function<void()> fn);
  // Runs on the worker: true if the test hook stops the job at this point.
  bool Crash(const char* point) const {
    return options_.fault_point && options_.fault_point(point);
  }

  void InstallVersion(std::shared_ptr<const Version> v);
  // A copy of the current Version for modification.
  std::shared_ptr<Version> EditVersion() const {
    return std::make_shared<Version>(*version_);
  }
  // Marks a database id that left the live set as retired if the floor still names it.
  static void RetireIfOnFloor(Version* v, std::shared_ptr<const DbTiers> tiers);

  // Applies a mutation to the in-memory state (the replay's path; FLUSHDB and SWAPDB's too).
  // A one-key mutation looks the key up first; during the replay a read error there is not
  // fatal (engine_keys.cc).
  Status Apply(const Mutation& m);
  // Applies a Put, Delete or SetExpire given the key's newest record before it (old). Live
  // mutators call it after their own lookup succeeded and the mutation was logged.
  Status ApplyKey(const Mutation& m, const Found& old);
  void Log(Mutation& m);  // assigns the sequence number and appends to the WAL (or batch)
  void AppendToWal(std::string_view payload);
  void AppendBatch();  // the command's batch so far, as one record
  bool IsExpired(int64_t expire_at_ms, int64_t now_ms) const {
    return expire_at_ms != 0 && expire_at_ms <= now_ms;
  }
  // Whether a tier below the active MemTable may hold a record of key: a frozen MemTable has
  // it, or a table's key range and bloom filter admit it. No table read.
  bool MayBeBelowActive(int db, std::string_view key) const;
  // SampleMemoryKeys for volatile keys: up to n random items of db's expire index (the whole
  // index when small, else its front) whose key is a live active-MemTable record, each passed
  // to add. Drops stale items from the top, and compacts the index when most items are stale.
  // window: how many positions of the index's front the picks come from.
  void SampleExpireIndex(int db, size_t n, size_t window,
                         const std::function<void(const MemTable::Entry*)>& add);
  // Deletes an expired key found by a read or the cycle (logged like a DEL).
  void ExpireKey(int db, std::string_view key);
  // Promotes a record read from a table into the active MemTable as a clean entry when the
  // admission rule lets it in: the key was read at least kAdmitReads times lately (sketch_,
  // this read included; any read without a budget). The entry starts with that count as its
  // access count, so the next
  // flush weighs it by the reads that earned it. See docs/architecture.md for the measurements
  // behind the rule. hash: SketchHash(db, key).
  bool MaybePromote(int db, std::string_view key, uint64_t hash, const TableRecord& r);
  // The sketch's hash of (db, key): a key of the same name in another database counts apart.
  static uint64_t SketchHash(int db, std::string_view key);
  // Sizes sketch_ for the entries the MemTables hold at the flush point (TinyLFU: 4 counters
  // per row and 10 reads between halvings per cached entry). At construction and once a second.
  void SizeSketch();
  void ResetDatabases();
  Status OpenTables(const Manifest& manifest);
  // Opens one table the manifest lists; never fails (engine_open.cc): a table that cannot be
  // opened comes back as SstableReader::Unreadable with *damage set.
  std::shared_ptr<const SstableReader> OpenListedTable(const ManifestTable& meta, Status* damage);

  EngineOptions options_;
  FileSystem* fs_;
  // Declared before worker_ so that it outlives the worker's tasks (which call EraseFile).
  // Lookup fills it on the loop. Reload clears it: Open restarts file numbering from the
  // manifest and the directory, so the cache must not rely on numbers used before.
  std::unique_ptr<BlockCache> block_cache_;
  BackgroundWorker worker_;
  bool worker_hurry_ = false;  // what PollBackground last passed to worker_.SetHurry
  // The WAL's own thread (everysec fsyncs, a rotation's directory fsync and the retired
  // generation's last fsync): on worker_ they could not start before the flush or compaction
  // running there ends (seconds for a large level), and everysec promises ~1 s. At the loop's
  // priority: it waits on the disk, not the CPU.
  BackgroundWorker wal_worker_;
  std::unique_ptr<WalLog> wal_;
  std::vector<Database> dbs_;

  // The generation pointer. Written by the loop only (under the exclusive lock); the worker
  // copies it under the shared lock. The loop reads version_ without locking.
  mutable std::shared_mutex version_mu_;
  std::shared_ptr<const Version> version_;

  // Worker -> loop results.
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  std::deque<std::function<void()>> done_;  // guarded by done_mu_
  uint64_t manifests_pending_ = 0;          // manifest writes posted, not yet durable

  FlushState flush_;
  // Survivors of the last flush not yet back in the active MemTable, in slices of
  // kSurvivorSliceUs per loop iteration (PollBackground); meanwhile reads of the others go to
  // the table, which holds the same record.
  struct PendingSurvivors {
    uint64_t db_id;
    std::vector<Survivor> survivors;
    size_t next = 0;
  };
  std::deque<PendingSurvivors> pending_survivors_;
  // Short: every request that arrives during a slice waits for it.
  static constexpr int64_t kSurvivorSliceUs = 250;
  // Installs pending survivors for about budget_us; true if some remain.
  bool InstallSurvivors(int64_t budget_us);

  // A checkpoint's table is being copied or written: not yet in the version.
  bool CheckpointPending() const { return flush_.running && flush_.keep_all; }
  // Copies for about budget_us; true if work remains. Posts the write when the copy is whole.
  bool ContinueCheckpointCopy(int64_t budget_us);
  struct CheckpointMark {
    std::shared_ptr<MemTable> table;
    uint64_t sequence = 0;  // S: entries at or below it are in the checkpoint's table
    std::string last_key;
    bool started = false;
  };
  std::deque<CheckpointMark> checkpoint_marks_;
  // Marks for about budget_us; true if work remains.
  bool ContinueCheckpointMarks(int64_t budget_us);
  // The database index whose active MemTable is table, or -1 (FLUSHDB replaced it: the
  // copy or mark has nothing left to do).
  int IndexOfActive(const std::shared_ptr<MemTable>& table) const;
  // Frees a MemTable's entries on the worker (a million frees would stall the loop ~50 ms).
  void ReleaseOnWorker(std::shared_ptr<MemTable> table);
  struct CompactionState {
    bool running = false;
    uint64_t first_file = 0;  // next_file_number_ when the job was posted
    // Failures in a row that no damaged input explains (a full disk ...): the next attempt
    // waits kCompactionRetryUs << failures (at most kCompactionRetryMaxUs), not the next tick.
    int failures = 0;
    int64_t retry_at_us = 0;
  };
  static constexpr int64_t kCompactionRetryUs = 1000000;
  static constexpr int64_t kCompactionRetryMaxUs = 60000000;
  // Replaces table t of database id db_id by a copy marked damaged (TableFile::damage = why),
  // reported in the log and by DamagedTables(). No-op if t is no longer in the Version.
  void SetTableAside(uint64_t db_id, const std::shared_ptr<const TableFile>& t, Status why);
  // Tables a point lookup found damaged (a corrupt block), set aside by the next
  // MaybeStartCompaction: not from Lookup itself, whose callers may hold the current Version's
  // tiers by reference.
  struct FoundDamage {
    uint64_t db_id;
    std::shared_ptr<const TableFile> table;
    Status why;
  };
  std::vector<FoundDamage> damage_found_;
  CompactionState compaction_;
  // Round-robin key per level of each database id (PickCompaction's cursor).
  std::map<uint64_t, std::vector<std::string>> compaction_cursors_;
  double temperature_ = 0;
  // Next sst-N.sst number; the flush (loop) and compaction (worker) both allocate.
  std::atomic<uint64_t> next_file_number_{1};
  std::deque<std::string> read_buffers_;  // values of table records handed out as views
  Status read_error_;
  // Recent reads per key (memory and disk), for the admission rule (MaybePromote).
  FrequencySketch sketch_;

  uint64_t sequence_ = 0;
  uint32_t access_clock_ = 0;  // Unix seconds, see access_clock()
  bool replaying_ = false;
  bool open_ = false;
  bool active_expire_enabled_ = true;
  std::string encode_buf_;  // reused for WAL encoding
  bool batching_ = false;            // inside BeginCommand/EndCommand
  std::vector<std::string> batch_;   // encoded mutations of the command (reused slots)
  size_t batch_count_ = 0;
  std::minstd_rand rng_;
  EngineStats stats_;
  KeyChangeListener key_listener_;
  bool expiring_ = false;  // inside ExpireKey: its delete is reported as kExpired
  uint64_t wal_base_size_ = 0;  // WAL bytes after the last flush (or at start)
};

}  // namespace organic::engine
