// The loop's part of a checkpoint (a flush without a memory limit): copying the dirty records
// out of the active MemTables while writes go on, and marking them clean once their table is
// durable. Engine::CheckpointCopy in engine.h says why it is fuzzy and why that is correct.
// Loop thread only.
#include "engine/engine.h"
#include "util/clock.h"

namespace organic::engine {

int Engine::IndexOfActive(const std::shared_ptr<MemTable>& table) const {
  for (size_t i = 0; i < dbs_.size(); i++) {
    if (dbs_[i].active == table) return static_cast<int>(i);
  }
  return -1;
}

bool Engine::ContinueCheckpointCopy(int64_t budget_us) {
  if (!flush_.running || !flush_.copying()) return false;
  const int64_t start = MonotonicUs();
  uint64_t steps = 0;
  std::string encoded;
  for (CheckpointCopy& c : flush_.copies) {
    if (c.done) continue;
    // Followed by its MemTable, which SWAPDB moves to another index. FLUSHDB replaced it:
    // what is copied so far goes to the retired database's table, which nothing reads.
    const int index = IndexOfActive(c.table);
    if (index < 0) {
      c.done = true;
      continue;
    }
    CheckpointRecords& out = *c.records;
    // Writes between slices may have inserted or erased entries anywhere: resume by key.
    MemTable::Entry* e = c.started ? c.table->Seek(c.last_key, /*exclusive=*/true)
                                   : c.table->First();
    c.started = true;
    const MemTable::Entry* last = nullptr;
    for (; e != nullptr; e = MemTable::Next(e)) {
      if ((++steps & 127) == 0 && MonotonicUs() - start > budget_us) {
        if (last != nullptr) c.last_key.assign(MemTable::Key(last));
        return true;
      }
      last = e;
      out.examined++;
      const uint8_t tier = MemTable::Tier(e);
      if (!(tier & MemTable::kTombstone)) {
        out.live++;
        out.access_sum += MemTable::AccessCount(e);
      }
      if (tier & MemTable::kClean) continue;  // a table holds it already
      if (IsDead(static_cast<size_t>(index), MemTable::Key(e))) {
        out.dead_dropped++;
        continue;
      }
      encoded.clear();
      EncodeEntryForTable(e, &encoded, &out.table_keys_delta, &out.table_volatile_delta);
      out.Add(MemTable::Key(e), encoded);
      // From now on the tiers below this entry include the record just copied (the invariant
      // in engine.h): a later write of the key shadows it, a later delete must hide it.
      const bool tombstone = tier & MemTable::kTombstone;
      MemTable::SetTier(e, tombstone ? MemTable::kTombstone
                                     : MemTable::kShadowsLive |
                                           (MemTable::ExpireAt(e) != 0
                                                ? MemTable::kShadowsVolatile
                                                : 0));
    }
    c.done = true;
  }
  PostFlushJob();  // every copy is whole
  return false;
}

bool Engine::ContinueCheckpointMarks(int64_t budget_us) {
  const int64_t start = MonotonicUs();
  uint64_t steps = 0;
  while (!checkpoint_marks_.empty()) {
    CheckpointMark& m = checkpoint_marks_.front();
    // A MemTable no longer active (FLUSHDB, or frozen by a budgeted flush since) is left
    // alone: its dirty entries are merely written again.
    const int index = IndexOfActive(m.table);
    if (index >= 0) {
      MemTable& table = *m.table;
      MemTable::Entry* e = m.started ? table.Seek(m.last_key, /*exclusive=*/true) : table.First();
      m.started = true;
      const MemTable::Entry* last = nullptr;  // nullptr: m.last_key is already the cursor
      while (e != nullptr) {
        if ((++steps & 127) == 0 && MonotonicUs() - start > budget_us) {
          if (last != nullptr) m.last_key.assign(MemTable::Key(last));
          return true;
        }
        MemTable::Entry* next = MemTable::Next(e);
        const uint8_t tier = MemTable::Tier(e);
        // At or below S and dirty: unchanged since the copy took it, so the table holds
        // exactly this record. (Dead members were not copied; their erase job takes them.)
        if (!(tier & MemTable::kClean) && MemTable::Sequence(e) <= m.sequence &&
            !IsDead(static_cast<size_t>(index), MemTable::Key(e))) {
          if (tier & MemTable::kTombstone) {
            m.last_key.assign(MemTable::Key(e));  // Erase frees e
            table.Erase(m.last_key);
            last = nullptr;
            e = next;
            continue;
          }
          MemTable::SetTier(e, MemTable::kClean);
        }
        last = e;
        e = next;
      }
    }
    checkpoint_marks_.pop_front();
  }
  return false;
}

}  // namespace organic::engine
