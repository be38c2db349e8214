// The loop's half of a flush: starting one (a freeze, or without a memory limit a checkpoint's
// copy, engine_checkpoint.cc), bringing survivors back, and installing the worker's tables
// (flush_job.h is the worker's half). Split out of engine.cc (one job per file); loop thread
// only.
#include <algorithm>

#include "engine/collection_meta.h"
#include "engine/engine.h"
#include "util/clock.h"
#include "util/log.h"

namespace organic::engine {

bool Engine::StartFlush(Status* status, bool no_survivors) {
  *status = Status::Ok();
  if (flush_.running) return false;
  // Before any side effect: a flush needs a new WAL generation, which a latched WAL error
  // refuses.
  if (!wal_->write_error().ok()) {
    *status = wal_->write_error();
    return false;
  }
  AppendBatch();  // this command's earlier changes belong to the generation being frozen
  // Survivors of the previous flush not installed yet are dropped: their records are in the
  // tables, and a copy installed after this flush could be older than what this flush writes.
  pending_survivors_.clear();
  *status = wal_->NewGeneration();
  if (!status->ok()) return false;
  auto v = EditVersion();
  FlushState next;
  next.generation = wal_->current_generation();
  next.freeze_sequence = sequence_;
  next.no_survivors = no_survivors;
  next.changes_at_start = stats_.changes_since_save;
  // Without a memory limit the flush is a checkpoint: nothing is frozen, the loop copies the
  // dirty records first (CheckpointCopy).
  next.keep_all = !no_survivors && options_.memtable_budget == 0 && options_.memory_unlimited;
  for (size_t i = 0; i < dbs_.size(); i++) {
    Database& db = dbs_[i];
    next.floor_ids.push_back(v->dbs[i]->id);
    if (db.active->entry_count() == 0) continue;
    if (next.keep_all) {
      CheckpointCopy copy;
      copy.table = db.active;
      copy.records = std::make_shared<CheckpointRecords>();
      FlushInput in;
      in.db_id = v->dbs[i]->id;
      in.records = copy.records;
      in.file_number = next_file_number_.fetch_add(1);
      in.clean_since = sequence_;
      next.inputs.push_back(std::move(in));
      next.copies.push_back(std::move(copy));
      continue;
    }
    auto tiers = std::make_shared<DbTiers>(*v->dbs[i]);
    tiers->frozen.insert(tiers->frozen.begin(), db.active);
    FlushInput in;
    in.db_id = tiers->id;
    in.table = db.active;
    in.file_number = next_file_number_.fetch_add(1);
    in.dead_ids = DeadIdsOf(i);
    in.clean_since = sequence_;
    next.inputs.push_back(std::move(in));
    v->dbs[i] = tiers;
    db.active = std::make_shared<MemTable>();
  }
  InstallVersion(v);
  next.running = true;
  flush_ = std::move(next);
  if (flush_.copying()) {
    ContinueCheckpointCopy(kSurvivorSliceUs);  // posts the write once the copies are whole
  } else {
    PostFlushJob();
  }
  return true;
}

bool Engine::InstallSurvivors(int64_t budget_us) {
  if (pending_survivors_.empty()) return false;
  const int64_t start = MonotonicUs();
  size_t done = 0;
  while (!pending_survivors_.empty()) {
    PendingSurvivors& p = pending_survivors_.front();
    Database* db = nullptr;
    for (size_t i = 0; i < dbs_.size(); i++) {
      if (version_->dbs[i]->id == p.db_id) db = &dbs_[i];
    }
    for (; db != nullptr && p.next < p.survivors.size(); p.next++) {
      if ((++done & 255) == 0 && MonotonicUs() - start > budget_us) return true;
      const Survivor& s = p.survivors[p.next];
      if (db->active->Find(s.key) != nullptr) continue;
      // A collection deleted since the freeze: its members stay out.
      if (!db->dead_ids.empty() && db->dead_ids.count(MemberKeyId(s.key)) != 0) continue;
      MemTable::Entry* e = db->active->Upsert(s.key, s.sequence, s.type, s.expire_at_ms, s.value,
                                              s.encoding, MemTable::kClean);
      MemTable::SetAccess(e, s.access);
      MemTable::Touch(e, s.last_access);
    }
    pending_survivors_.pop_front();
  }
  return false;
}

void Engine::PostFlushJob() {
  FlushOptions opts;
  opts.fs = fs_;
  opts.dir = options_.dir;
  opts.sstable = options_.sstable;
  opts.ewma_alpha = options_.ewma_alpha;
  opts.previous_temperature = temperature_;
  opts.survivor_budget_bytes = options_.memtable_budget == 0 ? UINT64_MAX / 2
                                                             : options_.memtable_budget / 4;
  opts.no_survivors = flush_.no_survivors;
  opts.keep_all = flush_.keep_all;  // decided at the start: a checkpoint's inputs are records
  std::vector<FlushInput> inputs = flush_.inputs;
  worker_.Post([this, inputs = std::move(inputs), opts = std::move(opts)] {
    if (Crash("flush:before-tables")) return;
    FlushResult result = RunFlush(inputs, opts);
    if (Crash("flush:tables-written")) return;
    PostToLoop([this, result = std::move(result)]() mutable { InstallFlush(std::move(result)); });
  });
}

void Engine::InstallFlush(FlushResult result) {
  if (!result.status.ok()) {
    // The frozen MemTables stay readable and the WAL floor stays put: nothing is lost. The
    // second tick retries, backing off.
    stats_.flush_errors++;
    stats_.last_flush_failed = true;
    flush_.failed = true;
    flush_.error = result.status;
    flush_retry_.Failed(second_ticks_);
    organic::Log(LogLevel::kWarning, "Metabolic flush failed (retry in %llu s): %s",
                 static_cast<unsigned long long>(flush_retry_.due_tick - second_ticks_),
                 result.status.ToString().c_str());
    return;
  }
  if (flush_retry_.failures > 0) {
    organic::Log(LogLevel::kWarning, "Metabolic flush succeeded after %u failed attempts",
                 flush_retry_.failures);
  }
  flush_retry_.Succeeded();
  auto v = EditVersion();
  for (FlushOutput& out : result.outputs) {
    std::shared_ptr<const DbTiers> current = v->Find(out.db_id);
    if (current == nullptr) continue;
    auto tiers = std::make_shared<DbTiers>(*current);
    const FlushInput* input = nullptr;
    for (const FlushInput& in : flush_.inputs) {
      if (in.db_id == out.db_id) input = &in;
    }
    if (input != nullptr && flush_.keep_all) {
      // The copied entries still at or below the checkpoint's sequence become clean.
      for (const CheckpointCopy& copy : flush_.copies) {
        if (copy.records == input->records) {
          checkpoint_marks_.push_back(CheckpointMark{copy.table, flush_.freeze_sequence, {}});
        }
      }
    } else if (input != nullptr) {
      auto& frozen = tiers->frozen;
      frozen.erase(std::remove(frozen.begin(), frozen.end(), input->table), frozen.end());
    }
    if (out.table != nullptr) {
      if (tiers->levels.empty()) tiers->levels.resize(1);
      tiers->levels[0].insert(tiers->levels[0].begin(), out.table);
    }
    tiers->table_keys = static_cast<uint64_t>(static_cast<int64_t>(tiers->table_keys) +
                                              out.table_keys_delta);
    tiers->table_volatile_keys = static_cast<uint64_t>(
        static_cast<int64_t>(tiers->table_volatile_keys) + out.table_volatile_delta);
    for (auto& d : v->dbs) {
      if (d->id == out.db_id) d = tiers;
    }
    for (auto& d : v->retired) {
      if (d->id == out.db_id) d = tiers;
    }
  }
  // The floor moves to the freeze: every older record is now in a table.
  v->floor_ids = flush_.floor_ids;
  v->wal_floor = flush_.generation;
  v->floor_sequence = flush_.freeze_sequence;
  std::vector<std::shared_ptr<const DbTiers>> retired;
  for (uint64_t id : v->floor_ids) {
    bool live = false;
    for (const auto& d : v->dbs) live = live || d->id == id;
    if (live) continue;
    for (const auto& d : v->retired) {
      if (d->id == id) retired.push_back(d);
    }
  }
  v->retired = std::move(retired);
  InstallVersion(v);
  PruneDeadIds();

  // Survivors come back as clean copies unless a newer write (or FLUSHDB) got there first; a
  // flush without a budget returns every entry, so they go in by slices (InstallSurvivors).
  for (FlushOutput& out : result.outputs) {
    if (!out.survivors.empty()) {
      pending_survivors_.push_back(PendingSurvivors{out.db_id, std::move(out.survivors), 0});
    }
  }

  temperature_ = result.temperature;
  stats_.flushes++;
  stats_.last_flush_failed = false;
  stats_.last_flush_duration_us = result.duration_us;
  stats_.last_flush_entries = result.entries;
  stats_.last_flush_survivors = result.survivors;
  stats_.last_flush_written = result.written;
  stats_.last_flush_clean_dropped = result.clean_dropped;
  stats_.dead_records_dropped += result.dead_dropped;
  stats_.flush_bytes_written += result.bytes_written;
  stats_.last_save_unix = UnixTimeMs() / 1000;
  // As Redis after a BGSAVE: writes made while the flush ran are not in it, so they still count.
  stats_.changes_since_save -= std::min(stats_.changes_since_save, flush_.changes_at_start);
  // A budgeted flush's frozen tables are at most half the budget and are freed here, so that
  // the server's purge right after the install returns their pages (queued behind a
  // compaction on the worker, they let RSS pass its bound). A checkpoint's copies are a few
  // large chunks.
  flush_ = FlushState();
  PostManifestWrite(wal_->ForgetGenerationsBefore(version_->wal_floor));
  wal_base_size_ = wal_->total_size();
  MaybeStartCompaction();
}

}  // namespace organic::engine
