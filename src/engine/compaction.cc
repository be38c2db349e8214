#include "engine/compaction.h"

#include <algorithm>
#include <limits>

#include "engine/db_iterator.h"
#include "engine/flush_job.h"
#include "engine/table_damage.h"
#include "engine/table_record.h"
#include "util/clock.h"

namespace organic::engine {

namespace {

bool Overlaps(const TableFile& t, std::string_view smallest, std::string_view largest) {
  return !(t.meta.largest < smallest || t.meta.smallest > largest);
}

uint64_t LevelBytes(const TableList& level) {
  uint64_t n = 0;
  for (const auto& t : level) n += t->meta.file_size;
  return n;
}

}  // namespace

uint64_t LevelTarget(const DbTiers& tiers, size_t level) {
  size_t last = 0;
  for (size_t n = 1; n < tiers.levels.size(); n++) {
    if (!tiers.levels[n].empty()) last = n;
  }
  uint64_t most = LevelTargetBytes(level);
  if (level >= last) return most;
  uint64_t bytes = LevelBytes(tiers.levels[last]);
  for (size_t n = level; n < last; n++) bytes /= kLevelSizeMultiplier;
  return std::clamp(bytes, most / kLevelSizeMultiplier, most);
}

namespace {

bool AnyDamaged(const TableList& tables) {
  for (const auto& t : tables) {
    if (!t->damage.ok()) return true;
  }
  return false;
}

// The key range of tables (non-empty).
std::pair<std::string, std::string> RangeOf(const TableList& tables) {
  std::string smallest = tables.front()->meta.smallest;
  std::string largest = tables.front()->meta.largest;
  for (const auto& t : tables) {
    smallest = std::min(smallest, t->meta.smallest);
    largest = std::max(largest, t->meta.largest);
  }
  return {smallest, largest};
}

TableList OverlapsIn(const DbTiers& tiers, size_t level, const TableList& upper) {
  TableList lower;
  if (level >= tiers.levels.size()) return lower;
  auto [smallest, largest] = RangeOf(upper);
  for (const auto& t : tiers.levels[level]) {
    if (Overlaps(*t, smallest, largest)) lower.push_back(t);
  }
  return lower;
}

// Level 0 into level 1, or a run of level 0 into one level-0 table (see compaction.h).
bool PickLevel0(const DbTiers& tiers, CompactionJob* job) {
  const TableList& l0 = tiers.levels[0];
  size_t tail = 0;  // first table below every damaged one
  for (size_t i = 0; i < l0.size(); i++) {
    if (!l0[i]->damage.ok()) tail = i + 1;
  }
  if (tail < l0.size()) {
    TableList upper(l0.begin() + static_cast<std::ptrdiff_t>(tail), l0.end());
    TableList lower = OverlapsIn(tiers, 1, upper);
    if (!AnyDamaged(lower)) {
      job->input_level = 0;
      job->output_level = 1;
      job->upper = std::move(upper);
      job->lower = std::move(lower);
      return true;
    }
  }
  size_t best_begin = 0, best_size = 0;
  for (size_t i = 0; i < l0.size();) {
    if (!l0[i]->damage.ok()) {
      i++;
      continue;
    }
    size_t end = i;
    while (end < l0.size() && l0[end]->damage.ok()) end++;
    if (end - i > best_size) {
      best_begin = i;
      best_size = end - i;
    }
    i = end;
  }
  if (best_size < 2) return false;
  job->input_level = 0;
  job->output_level = 0;
  job->upper.assign(l0.begin() + static_cast<std::ptrdiff_t>(best_begin),
                    l0.begin() + static_cast<std::ptrdiff_t>(best_begin + best_size));
  job->lower.clear();
  return true;
}

// One table of level >= 1, round robin from *after, skipping damaged ones and those whose
// overlap below holds a damaged table.
bool PickLevelN(const DbTiers& tiers, size_t level, std::string* after, CompactionJob* job) {
  const TableList& upper = tiers.levels[level];
  auto it = std::find_if(upper.begin(), upper.end(), [&](const auto& t) {
    return after->empty() || t->meta.smallest > *after;
  });
  size_t start = it == upper.end() ? 0 : static_cast<size_t>(it - upper.begin());
  for (size_t n = 0; n < upper.size(); n++) {
    const auto& t = upper[(start + n) % upper.size()];
    if (!t->damage.ok()) continue;
    TableList lower = OverlapsIn(tiers, level + 1, TableList{t});
    if (AnyDamaged(lower)) continue;
    job->input_level = static_cast<uint32_t>(level);
    job->output_level = static_cast<uint32_t>(level + 1);
    job->upper = TableList{t};
    job->lower = std::move(lower);
    *after = t->meta.largest;
    return true;
  }
  return false;
}

}  // namespace

bool PickCompaction(const DbTiers& tiers, std::vector<std::string>* cursor, CompactionJob* job) {
  // Levels over their target, most urgent first (ties: the upper level); the first that yields
  // a job without a damaged input wins. Without damage that is always the most urgent one.
  std::vector<std::pair<double, size_t>> urgent;
  for (size_t level = 0; level < tiers.levels.size(); level++) {
    const TableList& tables = tiers.levels[level];
    if (tables.empty()) continue;
    double score = level == 0 ? static_cast<double>(tables.size()) / kL0CompactionTrigger
                              : static_cast<double>(LevelBytes(tables)) /
                                    static_cast<double>(LevelTarget(tiers, level));
    if (score >= 1) urgent.emplace_back(score, level);
  }
  std::stable_sort(urgent.begin(), urgent.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [score, level] : urgent) {
    *job = CompactionJob();
    job->db_id = tiers.id;
    bool picked;
    if (level == 0) {
      picked = PickLevel0(tiers, job);
    } else {
      if (cursor->size() <= level) cursor->resize(level + 1);
      picked = PickLevelN(tiers, level, &(*cursor)[level], job);
    }
    if (!picked) continue;
    FinishJob(tiers, job);
    return true;
  }
  return false;
}

bool PickTableCompaction(const DbTiers& tiers, size_t level,
                         const std::shared_ptr<const TableFile>& table, CompactionJob* job) {
  *job = CompactionJob();
  job->db_id = tiers.id;
  if (level == 0) {
    // A level-0 table moves down with the whole run it belongs to (PickLevel0): moving it
    // alone would put it under older level-0 tables that may hold the same keys.
    if (!PickLevel0(tiers, job)) return false;
  } else {
    if (!table->damage.ok()) return false;
    // Nothing below: the table is rewritten in its own level (its output stays within its key
    // range, so the level stays disjoint). Moving it down instead would sink a member space
    // one level deeper at every collection's death (the crash test reached level 65, which a
    // manifest refuses as damage).
    const bool deepest = level + 1 >= tiers.levels.size() || tiers.levels[level + 1].empty();
    TableList lower = deepest ? TableList() : OverlapsIn(tiers, level + 1, TableList{table});
    if (AnyDamaged(lower)) return false;
    job->input_level = static_cast<uint32_t>(level);
    job->output_level = static_cast<uint32_t>(deepest ? level : level + 1);
    job->upper = TableList{table};
    job->lower = std::move(lower);
  }
  FinishJob(tiers, job);
  return true;
}

void FinishJob(const DbTiers& tiers, CompactionJob* job) {
  {
    if (job->output_level == 0) {
      // Tombstones stay unless nothing else in the database may hold the key: every level-0
      // table outside the run and every deeper table count as below it.
      for (const auto& t : tiers.levels[0]) {
        if (std::find(job->upper.begin(), job->upper.end(), t) == job->upper.end()) {
          job->deeper_ranges.emplace_back(t->meta.smallest, t->meta.largest);
        }
      }
    } else if (job->output_level + 1 < tiers.levels.size()) {
      job->grandparents = tiers.levels[job->output_level + 1];
    }
    for (size_t l = std::max<size_t>(job->output_level + 1, 1); l < tiers.levels.size(); l++) {
      for (const auto& t : tiers.levels[l]) {
        job->deeper_ranges.emplace_back(t->meta.smallest, t->meta.largest);
      }
    }
  }
}

CompactionResult RunCompaction(CompactionJob job, const CompactionOptions& options) {
  CompactionResult result;
  int64_t start = MonotonicUs();
  int64_t now_ms = UnixTimeMs();
  // The merge reuses the read path's iterator: level 0 tables newest first, then the two runs.
  DbTiers view;
  view.id = job.db_id;
  view.levels.resize(3);
  if (job.input_level == 0) view.levels[0] = job.upper;
  else view.levels[1] = job.upper;
  view.levels[2] = job.lower;
  for (const auto& t : job.upper) result.bytes_read += t->meta.file_size;
  for (const auto& t : job.lower) result.bytes_read += t->meta.file_size;
  uint64_t input_entries = 0;
  for (const auto& t : job.upper) input_entries += t->meta.entries;
  for (const auto& t : job.lower) input_entries += t->meta.entries;

  MemTable empty;
  DbIterator it(&empty, view);
  it.SeekToFirst();
  auto deeper_may_hold = [&job](std::string_view key) {
    for (const auto& [lo, hi] : job.deeper_ranges) {
      if (!(key < lo) && !(key > hi)) return true;
    }
    return false;
  };
  // LevelDB's ShouldStopBefore: true when the table being written, extended to key, would
  // overlap more than the allowed bytes of the grandparent level. Called once per added key.
  size_t grandparent = 0;
  uint64_t overlapped = 0;
  bool seen_key = false;
  auto stop_before = [&](std::string_view key) {
    const TableList& gp = job.grandparents;
    for (; grandparent < gp.size() && key > gp[grandparent]->meta.largest; grandparent++) {
      if (seen_key) overlapped += gp[grandparent]->meta.file_size;
    }
    seen_key = true;
    if (overlapped <= options.max_grandparent_overlap_bytes) return false;
    overlapped = 0;
    return true;
  };
  // A level-0 merge writes one table: cut, its outputs would be merged again and again.
  const uint64_t target_bytes = job.output_level == 0 ? std::numeric_limits<uint64_t>::max()
                                                      : options.target_table_bytes;
  std::string encoded;
  uint64_t emitted = 0;
  Status st;
  while (st.ok() && it.Valid()) {
    std::shared_ptr<const TableFile> table;
    uint64_t number = options.next_file_number->fetch_add(1);
    st = WriteTable(
        options.fs, options.dir, number, job.db_id, job.output_level, options.sstable,
        [&](const TableAdd& add) -> Status {
          uint64_t bytes = 0;
          for (; it.Valid(); it.Next()) {
            if (it.tombstone() && !deeper_may_hold(it.key())) {
              emitted++;
              result.tombstones_dropped++;
              continue;
            }
            // A dead collection's member: garbage at any level (no metadata names its id, and
            // ids are never reused, so no reader can reach an older record it would uncover).
            if (IsDeadMember(job.dead_ids, it.key())) {
              emitted++;
              result.dead_dropped++;
              continue;
            }
            // Cut here; the next table starts at this key (not counted twice: no emitted++).
            if (stop_before(it.key()) && bytes > 0) break;
            emitted++;
            RecordView v = it.record();
            TableRecord r;
            r.tombstone = it.tombstone();
            r.type = v.type;
            r.encoding = v.encoding;
            r.sequence = v.sequence;
            r.expire_at_ms = r.tombstone ? 0 : v.expire_at_ms;
            r.value = r.tombstone ? std::string_view() : v.value;
            if (!r.tombstone && r.expire_at_ms != 0 && r.expire_at_ms <= now_ms &&
                result.expired.size() < options.max_expired_reported) {
              result.expired.emplace_back(std::string(it.key()), r.expire_at_ms);
            }
            encoded.clear();
            EncodeTableRecord(r, &encoded);
            RETURN_IF_ERROR(add(it.key(), encoded));
            bytes += it.key().size() + encoded.size();
            if (bytes >= target_bytes) {
              it.Next();
              break;  // cut here; the next table starts at the next key
            }
          }
          return it.status();
        },
        &table);
    if (st.ok() && table != nullptr) {
      result.bytes_written += table->meta.file_size;
      auto marked = std::make_shared<TableFile>(*table);
      // Every collection dead when the job was picked was dropped (job.dead_ids).
      marked->meta.clean_since = job.clean_since;
      result.outputs.push_back(std::move(marked));
    }
  }
  if (st.ok()) st = it.status();
  if (!st.ok()) {
    for (const auto& t : result.outputs) {
      options.fs->RemoveFile(options.dir + "/" + SstableFileName(t->meta.file_number));
    }
    result.outputs.clear();
    result.status = st;
    // Which input is damaged? Read each again block by block (only after a failure), so the
    // loop can set it aside instead of retrying a merge that cannot succeed.
    TableList inputs = job.upper;
    inputs.insert(inputs.end(), job.lower.begin(), job.lower.end());
    for (const auto& t : inputs) {
      if (!t->reader->unreadable().ok()) {
        result.damaged = t;
        result.damage = t->reader->unreadable();
        break;
      }
      std::vector<BlockDamage> bad = FindDamagedBlocks(*t->reader, 1);
      if (!bad.empty()) {
        result.damaged = t;
        result.damage = bad.front().status;
        break;
      }
    }
  }
  result.shadowed_dropped = input_entries - emitted;
  result.job = std::move(job);
  result.duration_us = MonotonicUs() - start;
  return result;
}

}  // namespace organic::engine
