#include "engine/flush_job.h"

#include <algorithm>

#include "engine/table_record.h"
#include "util/clock.h"

namespace organic::engine {

Status WriteTable(FileSystem* fs, const std::string& dir, uint64_t file_number, uint64_t db_id,
                  uint32_t level, const SstableOptions& options,
                  const TableEmitter& emit,
                  std::shared_ptr<const TableFile>* out) {
  out->reset();
  std::string path = dir + "/" + SstableFileName(file_number);
  std::unique_ptr<WritableFile> file;
  RETURN_IF_ERROR(fs->NewWritableFile(path, /*append=*/false, &file));
  SstableBuilder builder(std::move(file), options);
  ManifestTable meta;
  Status st = emit([&](std::string_view key, std::string_view value) -> Status {
    if (builder.entries() == 0) meta.smallest.assign(key);
    meta.largest.assign(key);
    return builder.Add(key, value);
  });
  if (st.ok() && builder.entries() == 0) {
    fs->RemoveFile(path);
    return Status::Ok();
  }
  if (st.ok()) st = builder.Finish();
  std::unique_ptr<RandomAccessFile> reader_file;
  std::unique_ptr<SstableReader> reader;
  if (st.ok()) st = fs->NewRandomAccessFile(path, &reader_file);
  if (st.ok()) st = SstableReader::Open(std::move(reader_file), builder.file_size(),
                                        SstableFileName(file_number), &reader);
  if (!st.ok()) {
    fs->RemoveFile(path);
    return st;
  }
  auto table = std::make_shared<TableFile>();
  meta.db_id = db_id;
  meta.level = level;
  meta.file_number = file_number;
  meta.file_size = builder.file_size();
  meta.entries = builder.entries();
  table->meta = std::move(meta);
  table->reader = std::move(reader);
  *out = std::move(table);
  return Status::Ok();
}

void EncodeEntryForTable(const MemTable::Entry* e, std::string* out, int64_t* keys_delta,
                         int64_t* volatile_delta) {
  const uint8_t tier = MemTable::Tier(e);
  const bool tombstone = tier & MemTable::kTombstone;
  const int64_t exp = MemTable::ExpireAt(e);
  TableRecord r;
  r.tombstone = tombstone;
  r.type = MemTable::Type(e);
  r.encoding = MemTable::Encoding(e);
  r.sequence = MemTable::Sequence(e);
  r.expire_at_ms = tombstone ? 0 : exp;
  if (!tombstone) r.value = MemTable::Value(e);
  EncodeTableRecord(r, out);
  *keys_delta += (tombstone ? 0 : 1) - ((tier & MemTable::kShadowsLive) ? 1 : 0);
  *volatile_delta +=
      (!tombstone && exp != 0 ? 1 : 0) - ((tier & MemTable::kShadowsVolatile) ? 1 : 0);
}

namespace {

// The access count above which an entry survives: above the temperature, and high enough that
// the survivors fit the budget (hottest first).
uint32_t SurvivalThreshold(const std::vector<FlushInput>& inputs, double temperature,
                           uint64_t budget_bytes, int64_t now_ms) {
  std::vector<std::pair<uint32_t, uint64_t>> hot;  // (access, bytes)
  for (const FlushInput& in : inputs) {
    for (MemTable::Entry* e = in.table->First(); e != nullptr; e = MemTable::Next(e)) {
      uint32_t access = MemTable::AccessCount(e);
      int64_t exp = MemTable::ExpireAt(e);
      if (MemTable::IsTombstone(e) || access <= temperature || (exp != 0 && exp <= now_ms)) {
        continue;
      }
      hot.emplace_back(access, MemTable::Key(e).size() + MemTable::Value(e).size() + 64);
    }
  }
  std::sort(hot.begin(), hot.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  uint64_t bytes = 0;
  uint32_t threshold = static_cast<uint32_t>(std::min<double>(temperature, UINT32_MAX - 1.0));
  for (size_t i = 0; i < hot.size(); i++) {
    bytes += hot[i].second;
    if (bytes > budget_bytes) {
      // Entries with this count no longer all fit: survive only above it.
      return std::max(threshold, hot[i].first);
    }
  }
  return threshold;
}

}  // namespace

FlushResult RunFlush(const std::vector<FlushInput>& inputs, const FlushOptions& options) {
  FlushResult result;
  int64_t start = MonotonicUs();
  int64_t now_ms = UnixTimeMs();

  // Temperature: EWMA of the mean access count of live entries.
  uint64_t live = 0, access_sum = 0;
  for (const FlushInput& in : inputs) {
    if (in.records != nullptr) {  // a checkpoint: the copy measured them
      live += in.records->live;
      access_sum += in.records->access_sum;
      continue;
    }
    for (MemTable::Entry* e = in.table->First(); e != nullptr; e = MemTable::Next(e)) {
      if (MemTable::IsTombstone(e)) continue;
      live++;
      access_sum += MemTable::AccessCount(e);
    }
  }
  double mean = live == 0 ? 0 : static_cast<double>(access_sum) / static_cast<double>(live);
  result.temperature =
      options.ewma_alpha * mean + (1 - options.ewma_alpha) * options.previous_temperature;
  uint32_t threshold = options.no_survivors || options.keep_all
                           ? UINT32_MAX
                           : SurvivalThreshold(inputs, result.temperature,
                                               options.survivor_budget_bytes, now_ms);

  std::string encoded;
  for (const FlushInput& in : inputs) {
    FlushOutput out;
    out.db_id = in.db_id;
    Status st = WriteTable(
        options.fs, options.dir, in.file_number, in.db_id, 0, options.sstable,
        [&](const TableAdd& add) -> Status {
          if (in.records != nullptr) {
            // A checkpoint: the loop chose and encoded the records, and memory keeps them all.
            const CheckpointRecords& r = *in.records;
            result.entries += r.examined;
            result.dead_dropped += r.dead_dropped;
            result.written += r.count();
            result.survivors += r.examined - r.dead_dropped;
            out.table_keys_delta = r.table_keys_delta;
            out.table_volatile_delta = r.table_volatile_delta;
            return r.ForEach(add);
          }
          for (MemTable::Entry* e = in.table->First(); e != nullptr; e = MemTable::Next(e)) {
            result.entries++;
            if (IsDeadMember(in.dead_ids, MemTable::Key(e))) {
              result.dead_dropped++;
              continue;
            }
            uint8_t tier = MemTable::Tier(e);
            bool tombstone = tier & MemTable::kTombstone;
            int64_t exp = MemTable::ExpireAt(e);
            uint32_t access = MemTable::AccessCount(e);
            bool survives = !tombstone && access > threshold && (exp == 0 || exp > now_ms);
            if (survives) {
              Survivor s;
              s.key.assign(MemTable::Key(e));
              s.value.assign(MemTable::Value(e));
              s.type = MemTable::Type(e);
              s.encoding = MemTable::Encoding(e);
              s.sequence = MemTable::Sequence(e);
              s.expire_at_ms = exp;
              s.access = access / 2;
              s.last_access = MemTable::LastAccess(e);
              out.survivors.push_back(std::move(s));
            }
            if (tier & MemTable::kClean) {
              if (!survives) result.clean_dropped++;
              continue;
            }
            encoded.clear();
            EncodeEntryForTable(e, &encoded, &out.table_keys_delta, &out.table_volatile_delta);
            RETURN_IF_ERROR(add(MemTable::Key(e), encoded));
            result.written++;
          }
          return Status::Ok();
        },
        &out.table);
    if (st.ok() && out.table != nullptr) {
      auto marked = std::make_shared<TableFile>(*out.table);
      marked->meta.clean_since = in.clean_since;
      out.table = std::move(marked);
    }
    if (!st.ok()) {
      // Drop the tables this flush already wrote: the frozen MemTables stay authoritative.
      for (const FlushOutput& done : result.outputs) {
        if (done.table != nullptr) {
          options.fs->RemoveFile(options.dir + "/" + SstableFileName(done.table->meta.file_number));
        }
      }
      result.outputs.clear();
      result.status = st;
      return result;
    }
    if (out.table != nullptr) result.bytes_written += out.table->meta.file_size;
    result.survivors += out.survivors.size();
    result.outputs.push_back(std::move(out));
  }
  result.duration_us = MonotonicUs() - start;
  return result;
}

}  // namespace organic::engine
