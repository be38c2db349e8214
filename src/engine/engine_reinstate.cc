// The end of a keep-all flush: its frozen MemTable comes back into memory's front line
// (Engine::Reinstatement in engine.h says why and in which passes). Loop thread only.
#include <algorithm>

#include "engine/engine.h"
#include "util/clock.h"

namespace organic::engine {

void Engine::RemoveFrozen(uint64_t db_id, const std::shared_ptr<MemTable>& table) {
  std::shared_ptr<const DbTiers> current = version_->Find(db_id);
  if (current == nullptr) return;
  auto tiers = std::make_shared<DbTiers>(*current);
  auto& frozen = tiers->frozen;
  frozen.erase(std::remove(frozen.begin(), frozen.end(), table), frozen.end());
  auto v = EditVersion();
  for (auto* list : {&v->dbs, &v->retired}) {
    for (auto& d : *list) {
      if (d->id == db_id) d = tiers;
    }
  }
  InstallVersion(v);
}

void Engine::ReleaseOnWorker(std::shared_ptr<MemTable> table) {
  if (table == nullptr) return;
  worker_.Post([table = std::move(table), done = options_.return_memory]() mutable {
    table.reset();  // usually the last reference
    if (done) done();
  });
}

void Engine::DropReinstatements() {
  while (!reinstating_.empty()) {
    Reinstatement r = std::move(reinstating_.front());
    reinstating_.pop_front();
    RemoveFrozen(r.db_id, r.table);
    ReleaseOnWorker(std::move(r.table));
  }
}

bool Engine::ContinueReinstatement(int64_t budget_us) {
  const int64_t start = MonotonicUs();
  uint64_t steps = 0;
  auto out_of_time = [&] { return (++steps & 255) == 0 && MonotonicUs() - start > budget_us; };
  while (!reinstating_.empty()) {
    Reinstatement& r = reinstating_.front();
    // The database by id (SWAPDB moves it); gone, or its frozen list no longer holding the
    // table (FLUSHDB, FLUSHALL): nothing to bring back.
    int db = -1;
    for (size_t i = 0; i < dbs_.size(); i++) {
      const DbTiers& tiers = *version_->dbs[i];
      if (tiers.id == r.db_id &&
          std::find(tiers.frozen.begin(), tiers.frozen.end(), r.table) != tiers.frozen.end()) {
        db = static_cast<int>(i);
      }
    }
    if (db < 0) {
      ReleaseOnWorker(std::move(r.table));
      reinstating_.pop_front();
      continue;
    }
    MemTable& table = *r.table;
    MemTable& active = *dbs_[db].active;
    if (!r.marked && !r.copying && active.entry_count() > kMergeAtOnce) {
      r.copying = true;  // the merge is off already: marking would be wasted
    }
    if (!r.copying) {
      while (r.next != nullptr) {
        if (out_of_time()) return true;
        MemTable::Entry* e = r.next;
        r.next = MemTable::Next(e);
        // Tombstones go (the table holds them), and so do the members of collections
        // deleted since the freeze (their records are garbage, collection_meta.h).
        if (MemTable::IsTombstone(e) || IsDead(db, MemTable::Key(e))) {
          table.Erase(std::string(MemTable::Key(e)));  // copy: Erase frees the entry
          continue;
        }
        MemTable::SetTier(e, MemTable::kClean);
        MemTable::SetAccess(e, MemTable::AccessCount(e) / 2);
      }
      r.marked = true;
      r.copying = true;
      r.next = table.First();
      if (active.entry_count() <= kMergeAtOnce) {
        // The few writes since the freeze move down (they are newer), then the whole table
        // becomes the active one: later writes rewrite its entries in place.
        for (MemTable::Entry* e = active.First(); e != nullptr; e = MemTable::Next(e)) {
          const uint32_t access = MemTable::AccessCount(e);
          const uint32_t last = MemTable::LastAccess(e);
          MemTable::Entry* moved =
              table.Upsert(MemTable::Key(e), MemTable::Sequence(e), MemTable::Type(e),
                           MemTable::ExpireAt(e), MemTable::Value(e), MemTable::Encoding(e),
                           MemTable::Tier(e));
          MemTable::SetAccess(moved, std::max(access, MemTable::AccessCount(moved)));
          MemTable::Touch(moved, std::max(last, MemTable::LastAccess(moved)));
        }
        dbs_[db].active = r.table;
        // Entries marked before a collection died are in it still (its erase job went to the
        // MemTable active then): erase them from this one too.
        for (const auto& [id, since] : dbs_[db].dead_ids) member_erases_.push_back({r.table, id});
        RemoveFrozen(r.db_id, r.table);
        reinstating_.pop_front();
        continue;
      }
    }
    // Too many writes to move: copy what the active MemTable lacks, as a budgeted flush's
    // survivors come back.
    const int64_t now_ms = UnixTimeMs();
    while (r.next != nullptr) {
      if (out_of_time()) return true;
      MemTable::Entry* e = r.next;
      r.next = MemTable::Next(e);
      const int64_t exp = MemTable::ExpireAt(e);
      if (MemTable::IsTombstone(e) || (exp != 0 && exp <= now_ms)) continue;
      if (IsDead(db, MemTable::Key(e))) continue;
      if (active.Find(MemTable::Key(e)) != nullptr) continue;
      MemTable::Entry* copy =
          active.Upsert(MemTable::Key(e), MemTable::Sequence(e), MemTable::Type(e), exp,
                        MemTable::Value(e), MemTable::Encoding(e), MemTable::kClean);
      const uint32_t access = MemTable::AccessCount(e);
      MemTable::SetAccess(copy, r.marked ? access : access / 2);
      MemTable::Touch(copy, MemTable::LastAccess(e));
    }
    RemoveFrozen(r.db_id, r.table);
    ReleaseOnWorker(std::move(r.table));
    reinstating_.pop_front();
  }
  return false;
}

}  // namespace organic::engine
