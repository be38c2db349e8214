// Engine: the keyspace of every database, its durability (WAL) and expiry. The engine never
// sees RESP or clients; commands call it with user keys and get records or Status back.
//
// Threading: every method runs on the loop thread. The background worker only receives
// self-contained tasks (fsync of already-written WAL bytes, closing retired files).
//
// Durability contract: each mutating call appends one mutation to the WAL buffer before it
// returns. FlushWal(), called once per loop iteration before replies are written, moves the
// batch to the OS (and to the disk in `always` mode), so no reply acknowledges a write the WAL
// does not hold.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "engine/background_worker.h"
#include "engine/expire_index.h"
#include "engine/memtable.h"
#include "engine/mutation.h"
#include "engine/record.h"
#include "engine/wal_log.h"
#include "util/file.h"
#include "util/status.h"

namespace organic::engine {

struct EngineOptions {
  std::string dir = "./organic-data";
  int databases = 16;
  FsyncPolicy fsync = FsyncPolicy::kEverySec;
  FileSystem* fs = nullptr;  // nullptr = DefaultFileSystem()
};

// How a read treats the key, as Redis's lookupKey flags do.
enum class LookupMode {
  kRead,     // counts keyspace hits/misses and the access counter
  kWrite,    // a read on behalf of a write (no hit/miss statistics)
  kNoTouch,  // counts hits/misses but not the access counter (EXISTS, TYPE, TTL, OBJECT ...)
};

struct EngineStats {
  uint64_t keyspace_hits = 0;
  uint64_t keyspace_misses = 0;
  uint64_t expired_keys = 0;
  uint64_t expired_stale_perc_dummy = 0;
  uint64_t mutations_logged = 0;
  int64_t last_save_unix = 0;      // seconds; last durable checkpoint (SAVE) or start
  uint64_t changes_since_save = 0;
  int64_t last_checkpoint_duration_us = 0;
  uint64_t checkpoints = 0;
  WalRecoveryReport recovery;
  int64_t recovery_duration_us = 0;
};

class Engine {
 public:
  explicit Engine(EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Creates the data directory if needed, replays the WAL, starts the worker.
  Status Open();
  // Flushes and fsyncs the WAL and stops the worker. Idempotent.
  Status Close();

  int databases() const { return static_cast<int>(dbs_.size()); }

  // The live record for key, or nullopt (absent or expired; an expired key is deleted here,
  // and the delete is logged). The view is valid until the next mutation.
  std::optional<RecordView> Get(int db, std::string_view key, LookupMode mode);

  // Writes a whole record (expire_at_ms 0 = no TTL).
  // encoding: the OBJECT ENCODING hint (see EncodingHint).
  void Put(int db, std::string_view key, ValueType type, std::string_view value,
           int64_t expire_at_ms, EncodingHint encoding = EncodingHint::kAuto);
  // Returns false if the key was absent (or already expired).
  bool Delete(int db, std::string_view key);
  // Sets (or with 0 removes) the TTL of a live key; false if absent.
  bool SetExpire(int db, std::string_view key, int64_t expire_at_ms);
  void FlushDb(int db);
  void FlushAll();
  void SwapDb(int a, int b);

  uint64_t KeyCount(int db) const { return dbs_[db].table->entry_count(); }
  uint64_t VolatileCount(int db) const { return dbs_[db].volatile_keys; }
  // Average remaining TTL in ms of a sample of the volatile keys (INFO's avg_ttl), 0 if none.
  int64_t AverageTtlMs(int db) const;

  // Visits live keys in key order starting at start (exclusive when `after` is true), at most
  // max_visits entries examined; visit returns nothing. *next_start is the last key examined
  // (resume with after=true), *finished true when the end was reached.
  void Scan(int db, std::string_view start, bool after, size_t max_visits,
            const std::function<void(std::string_view key, const RecordView&)>& visit,
            std::string* next_start, bool* finished);
  // A random live key; false if the database is empty.
  bool RandomKey(int db, std::string* key);

  // Deletes keys whose TTL is due, for at most budget_us microseconds. Returns the count.
  uint64_t ActiveExpireCycle(int64_t budget_us);
  void set_active_expire_enabled(bool on) { active_expire_enabled_ = on; }
  bool active_expire_enabled() const { return active_expire_enabled_; }

  // Once per loop iteration, before replies are sent (see the durability contract).
  Status FlushWal() { return wal_->FlushBatch(); }
  // Called once a second by the server cron (everysec fsync on the worker).
  void OnSecondTick() { wal_->ScheduleBackgroundSync(); }
  // Checkpoints keep the WAL proportional to the live data. A checkpoint opens a new WAL
  // generation (all later mutations go there), then copies every live record into it, a slice
  // at a time, and once the copy is complete and synced deletes the older generations.
  //
  // Why this is safe at any crash point: the new generation does not start with a FLUSHALL, so
  // a half-copied generation replays on top of the old ones (copied records are the current
  // values, idempotent); and a record changed after its copy is logged after it. The copy
  // walks each database in key order; FLUSHDB/FLUSHALL/SWAPDB move keys behind the cursor, so
  // they restart the walk from the first database (repeats are harmless, misses are not).
  //
  // SAVE: a whole checkpoint now (finishing one in progress). Synchronous.
  Status Checkpoint();
  // BGSAVE and the automatic trigger: start a checkpoint that CheckpointStep advances.
  // Returns false (nothing started) if one is already running.
  bool StartCheckpoint(Status* status);
  // Copies records for at most budget_us microseconds; finishes the checkpoint when done.
  Status CheckpointStep(int64_t budget_us);
  bool checkpoint_in_progress() const { return checkpoint_.active; }
  // Starts a checkpoint when the WAL has grown past max(min_size, base * (1 + percentage/100)),
  // base being its size after the last checkpoint (Redis's auto-aof-rewrite rule). percentage
  // 0 disables. Returns true if one was started.
  bool MaybeStartAutoCheckpoint(int percentage, uint64_t min_size);
  // DEBUG RELOAD: checkpoint, drop all in-memory state and replay the WAL from disk.
  Status Reload();

  void set_fsync_policy(FsyncPolicy p) { wal_->set_policy(p); }
  const WalLog& wal() const { return *wal_; }
  const EngineStats& stats() const { return stats_; }
  void ResetStats();
  size_t memtable_bytes() const;
  uint64_t sequence() const { return sequence_; }

 private:
  struct Database {
    std::unique_ptr<MemTable> table;
    ExpireIndex expires;
    uint64_t volatile_keys = 0;
  };

  struct CheckpointState {
    bool active = false;
    uint64_t generation = 0;  // the generation being filled
    size_t db = 0;            // database being copied
    std::string resume_after; // last key copied in db (empty with fresh_db = start of db)
    bool fresh_db = true;
    int64_t started_us = 0;
  };
  // Restarts the copy from the first database (after FLUSHDB/FLUSHALL/SWAPDB).
  void RestartCheckpointWalk();
  Status FinishCheckpoint();

  // Applies a mutation to the in-memory state (replay and live writes share this path).
  Status Apply(const Mutation& m);
  void Log(Mutation& m);  // assigns the sequence number and appends to the WAL
  bool IsExpired(int64_t expire_at_ms, int64_t now_ms) const {
    return expire_at_ms != 0 && expire_at_ms <= now_ms;
  }
  // Deletes an expired key found by a read or the cycle (logged like a DEL).
  void ExpireKey(int db, std::string_view key);
  void ResetDatabases();

  EngineOptions options_;
  FileSystem* fs_;
  BackgroundWorker worker_;
  std::unique_ptr<WalLog> wal_;
  std::vector<Database> dbs_;
  uint64_t sequence_ = 0;
  bool replaying_ = false;
  bool open_ = false;
  bool active_expire_enabled_ = true;
  std::string encode_buf_;  // reused for WAL encoding
  std::minstd_rand rng_;
  EngineStats stats_;
  CheckpointState checkpoint_;
  uint64_t wal_base_size_ = 0;  // WAL bytes after the last checkpoint (or at start)
};

}  // namespace organic::engine
