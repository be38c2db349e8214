#include "engine/compaction.h"

#include <algorithm>

#include "engine/db_iterator.h"
#include "engine/flush_job.h"
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

bool PickCompaction(const DbTiers& tiers, std::vector<std::string>* cursor, CompactionJob* job) {
  double best = 0;
  size_t best_level = 0;
  for (size_t level = 0; level < tiers.levels.size(); level++) {
    const TableList& tables = tiers.levels[level];
    if (tables.empty()) continue;
    double score = level == 0 ? static_cast<double>(tables.size()) / kL0CompactionTrigger
                              : static_cast<double>(LevelBytes(tables)) /
                                    static_cast<double>(LevelTarget(tiers, level));
    if (score > best) {
      best = score;
      best_level = level;
    }
  }
  if (best < 1) return false;
  *job = CompactionJob();
  job->db_id = tiers.id;
  job->input_level = static_cast<uint32_t>(best_level);
  job->output_level = static_cast<uint32_t>(best_level + 1);
  const TableList& upper = tiers.levels[best_level];
  if (best_level == 0) {
    job->upper = upper;
  } else {
    if (cursor->size() <= best_level) cursor->resize(best_level + 1);
    std::string& after = (*cursor)[best_level];
    auto it = std::find_if(upper.begin(), upper.end(),
                           [&](const auto& t) { return after.empty() || t->meta.smallest > after; });
    if (it == upper.end()) it = upper.begin();
    job->upper.push_back(*it);
    after = (*it)->meta.largest;
  }
  std::string smallest = job->upper.front()->meta.smallest;
  std::string largest = job->upper.front()->meta.largest;
  for (const auto& t : job->upper) {
    smallest = std::min(smallest, t->meta.smallest);
    largest = std::max(largest, t->meta.largest);
  }
  if (job->output_level < tiers.levels.size()) {
    for (const auto& t : tiers.levels[job->output_level]) {
      if (Overlaps(*t, smallest, largest)) job->lower.push_back(t);
    }
  }
  if (job->output_level + 1 < tiers.levels.size()) {
    job->grandparents = tiers.levels[job->output_level + 1];
  }
  for (size_t level = job->output_level + 1; level < tiers.levels.size(); level++) {
    for (const auto& t : tiers.levels[level]) {
      job->deeper_ranges.emplace_back(t->meta.smallest, t->meta.largest);
    }
  }
  return true;
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
            if (bytes >= options.target_table_bytes) {
              it.Next();
              break;  // cut here; the next table starts at the next key
            }
          }
          return it.status();
        },
        &table);
    if (st.ok() && table != nullptr) {
      result.bytes_written += table->meta.file_size;
      result.outputs.push_back(std::move(table));
    }
  }
  if (st.ok()) st = it.status();
  if (!st.ok()) {
    for (const auto& t : result.outputs) {
      options.fs->RemoveFile(options.dir + "/" + SstableFileName(t->meta.file_number));
    }
    result.outputs.clear();
    result.status = st;
  }
  result.shadowed_dropped = input_entries - emitted;
  result.job = std::move(job);
  result.duration_us = MonotonicUs() - start;
  return result;
}

}  // namespace organic::engine
