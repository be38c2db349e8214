// Compaction scheduling on the loop: picking a job, handing it to the worker, installing its
// result (compaction.h holds the merge itself). Split out of engine.cc; loop thread only.
#include <algorithm>

#include "engine/engine.h"
#include "util/clock.h"
#include "util/log.h"

namespace organic::engine {

bool Engine::MaybeStartCompaction() {
  if (compaction_.running || !open_) return false;
  // Set aside what lookups found damaged, before a job could pick it.
  for (FoundDamage& d : damage_found_) SetTableAside(d.db_id, d.table, std::move(d.why));
  damage_found_.clear();
  if (compaction_.retry_at_us != 0 && MonotonicUs() < compaction_.retry_at_us) return false;
  for (size_t i = 0; i < dbs_.size(); i++) {
    const DbTiers& tiers = *version_->dbs[i];
    CompactionJob job;
    if (!PickCompaction(tiers, &compaction_cursors_[tiers.id], &job)) continue;
    PostCompaction(i, std::move(job));
    return true;
  }
  // Nothing urgent: reclaim the disk space of dead collections, one table at a time.
  for (size_t i = static_cast<size_t>(databases()); i < dbs_.size(); i++) {
    CompactionJob job;
    if (PickGarbage(i, &job)) {
      PostCompaction(i, std::move(job));
      return true;
    }
  }
  return false;
}

bool Engine::PickGarbage(size_t index, CompactionJob* job) const {
  const std::map<uint64_t, uint64_t>& dead = dbs_[index].dead_ids;
  if (dead.empty()) return false;
  const DbTiers& tiers = *version_->dbs[index];
  for (size_t level = 0; level < tiers.levels.size(); level++) {
    for (const auto& t : tiers.levels[level]) {
      // Dead ids within the table's range that it may still hold records of.
      const uint64_t lo = MemberKeyId(t->meta.smallest), hi = MemberKeyId(t->meta.largest);
      for (auto it = dead.lower_bound(lo); it != dead.end() && it->first <= hi; ++it) {
        if (t->meta.clean_since < it->second && PickTableCompaction(tiers, level, t, job)) {
          return true;
        }
      }
    }
  }
  return false;
}

void Engine::PostCompaction(size_t index, CompactionJob job) {
  job.dead_ids = DeadIdsOf(index);
  job.clean_since = sequence_;
  compaction_.running = true;
  compaction_.first_file = next_file_number_.load();
  CompactionOptions opts;
  opts.fs = fs_;
  opts.dir = options_.dir;
  opts.sstable = options_.sstable;
  opts.next_file_number = &next_file_number_;
  worker_.Post([this, job = std::move(job), opts]() mutable {
    if (Crash("compaction:before-tables")) return;
    CompactionResult result = RunCompaction(std::move(job), opts);
    if (Crash("compaction:tables-written")) return;
    PostToLoop([this, result = std::move(result)]() mutable {
      InstallCompaction(std::move(result));
    });
  });
}

void Engine::InstallCompaction(CompactionResult result) {
  compaction_.running = false;
  if (!result.status.ok()) {
    stats_.compaction_errors++;
    if (result.damaged != nullptr) {
      // Retrying would meet the same block: set the table aside and compact around it.
      SetTableAside(result.job.db_id, result.damaged, result.damage);
      compaction_.failures = 0;
      compaction_.retry_at_us = 0;
      MaybeStartCompaction();
      return;
    }
    // Not a damaged input (a full disk, an I/O error): retry later, backing off.
    compaction_.failures++;
    const int shift = std::min(compaction_.failures - 1, 6);
    compaction_.retry_at_us =
        MonotonicUs() + std::min(kCompactionRetryUs << shift, kCompactionRetryMaxUs);
    organic::Log(LogLevel::kWarning, "Compaction failed (retry in %lld ms): %s",
                 static_cast<long long>(std::min(kCompactionRetryUs << shift,
                                                 kCompactionRetryMaxUs) / 1000),
                 result.status.ToString().c_str());
    return;
  }
  compaction_.failures = 0;
  compaction_.retry_at_us = 0;
  const CompactionJob& job = result.job;
  std::shared_ptr<const DbTiers> current = version_->Find(job.db_id);
  auto holds = [](const TableList& level, const std::shared_ptr<const TableFile>& t) {
    return std::find(level.begin(), level.end(), t) != level.end();
  };
  bool intact = current != nullptr && current->levels.size() > job.input_level;
  for (const auto& t : job.upper) intact = intact && holds(current->levels[job.input_level], t);
  for (const auto& t : job.lower) {
    intact = intact && current->levels.size() > job.output_level &&
             holds(current->levels[job.output_level], t);
  }
  // A FLUSHDB that removed the database drops the outputs (the next manifest's garbage pass
  // deletes their files).
  if (!intact) return;
  auto tiers = std::make_shared<DbTiers>(*current);
  if (tiers->levels.size() <= job.output_level) tiers->levels.resize(job.output_level + 1);
  auto remove = [](TableList* level, const TableList& gone) {
    level->erase(std::remove_if(level->begin(), level->end(),
                                [&](const auto& t) {
                                  return std::find(gone.begin(), gone.end(), t) != gone.end();
                                }),
                 level->end());
  };
  if (job.output_level == 0) {
    // A level-0 merge: the output takes the run's place (flushes installed meanwhile went in
    // front of it), so every table keeps its age order.
    TableList& l0 = tiers->levels[0];
    auto at = std::find(l0.begin(), l0.end(), job.upper.front());
    const auto pos = at - l0.begin();
    l0.erase(at, at + static_cast<std::ptrdiff_t>(job.upper.size()));
    l0.insert(l0.begin() + pos, result.outputs.begin(), result.outputs.end());
  } else {
    remove(&tiers->levels[job.input_level], job.upper);
    remove(&tiers->levels[job.output_level], job.lower);
    TableList& out = tiers->levels[job.output_level];
    out.insert(out.end(), result.outputs.begin(), result.outputs.end());
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a->meta.smallest < b->meta.smallest; });
  }
  auto v = EditVersion();
  for (auto& d : v->dbs) {
    if (d->id == job.db_id) d = tiers;
  }
  for (auto& d : v->retired) {
    if (d->id == job.db_id) d = tiers;
  }
  InstallVersion(v);
  PruneDeadIds();
  stats_.compactions++;
  stats_.dead_records_dropped += result.dead_dropped;
  stats_.compaction_bytes_read += result.bytes_read;
  stats_.compaction_bytes_written += result.bytes_written;
  PostManifestWrite({});
  MaybeStartCompaction();  // the output level may now be over its target
  // Keys the merge found expired go through the normal delete (exact counts, WAL record).
  int64_t now = UnixTimeMs();
  for (size_t i = 0; i < dbs_.size(); i++) {
    if (version_->dbs[i]->id != job.db_id) continue;
    for (const auto& [key, expire_at] : result.expired) {
      Found f;
      Lookup(static_cast<int>(i), key, false, &f);
      if (f.live() && f.record.expire_at_ms == expire_at && IsExpired(expire_at, now)) {
        ExpireKey(static_cast<int>(i), key);
        stats_.compaction_expired_found++;
      }
    }
  }
}

void Engine::SetTableAside(uint64_t db_id, const std::shared_ptr<const TableFile>& t, Status why) {
  std::shared_ptr<const DbTiers> current = version_->Find(db_id);
  if (current == nullptr) return;
  auto tiers = std::make_shared<DbTiers>(*current);
  bool found = false;
  for (TableList& level : tiers->levels) {
    for (auto& table : level) {
      if (table != t) continue;
      auto marked = std::make_shared<TableFile>(*t);  // same reader, same place
      marked->damage = why;
      table = std::move(marked);
      found = true;
    }
  }
  if (!found) return;
  auto v = EditVersion();
  for (auto* list : {&v->dbs, &v->retired}) {
    for (auto& d : *list) {
      if (d->id == db_id) d = tiers;
    }
  }
  InstallVersion(v);
  stats_.tables_set_aside++;
  organic::Log(LogLevel::kWarning,
               "Damaged table %s set aside: compaction works around it, its readable keys are "
               "still served and the keys of its bad blocks answer the error "
               "(organic-check-sst --fix drops them): %s",
               SstableFileName(t->meta.file_number).c_str(), why.ToString().c_str());
}

uint64_t Engine::DamagedTables() const {
  uint64_t n = 0;
  for (const auto* list : {&version_->dbs, &version_->retired}) {
    for (const auto& d : *list) {
      for (const TableList& level : d->levels) {
        for (const auto& t : level) {
          if (!t->damage.ok() || !t->reader->filter_status().ok()) n++;
        }
      }
    }
  }
  return n + damage_found_.size();  // found by lookups, set aside at the next compaction tick
}

}  // namespace organic::engine
