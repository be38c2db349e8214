// Collections' member records in the engine: the walk over one collection's records (the
// member space is an ordinary keyspace, see Engine::databases()), and the end of a collection
// whose metadata went away (dead ids: its in-memory records are erased in slices on the loop,
// flushes and compactions drop the rest). Loop thread only.
#include "engine/collection_meta.h"
#include "engine/db_iterator.h"
#include "engine/engine.h"
#include "util/clock.h"

namespace organic::engine {

void Engine::ScanPrefix(int index, std::string_view prefix, std::string_view after,
                        const std::function<bool(std::string_view, const RecordView&)>& visit) {
  std::shared_ptr<const DbTiers> tiers = version_->dbs[index];
  DbIterator it(dbs_[index].active.get(), *tiers);
  if (after.empty()) {
    it.Seek(prefix, false);
  } else {
    it.Seek(after, true);
  }
  for (; it.Valid(); it.Next()) {
    std::string_view key = it.key();
    if (key.substr(0, prefix.size()) != prefix) break;
    if (it.tombstone()) continue;
    if (!visit(key, it.record())) break;
  }
  if (!it.status().ok()) {
    stats_.read_errors++;
    if (read_error_.ok()) read_error_ = it.status();
  }
}

void Engine::KillCollection(size_t user_index, uint64_t id) {
  // During SWAPDB's replay the user index and its member space always move together, so the
  // member space of user_index is the collection's.
  Database& space = dbs_[user_index + static_cast<size_t>(options_.databases)];
  space.dead_ids.emplace(id, sequence_);
  if (space.active->entry_count() != 0) member_erases_.push_back({space.active, id});
  // Small collections go at once (the common case: a DEL replies with its memory back).
  ContinueMemberErase(kEraseSliceUs);
}

bool Engine::ContinueMemberErase(int64_t budget_us) {
  const int64_t start = MonotonicUs();
  int steps = 0;
  while (!member_erases_.empty()) {
    MemberErase& job = member_erases_.front();
    // Only an active MemTable may change: one frozen since (a flush reads it on the worker)
    // is left to the flush, which drops dead ids, and one flushed away needs nothing.
    bool active = false;
    for (size_t i = static_cast<size_t>(options_.databases); i < dbs_.size(); i++) {
      active = active || dbs_[i].active == job.table;
    }
    if (active) {
      const std::string prefix = MemberPrefix(job.id, MemberKind::kMember).substr(0, 8);
      while (true) {
        MemTable::Entry* e = job.table->Seek(prefix, false);
        if (e == nullptr || MemTable::Key(e).substr(0, 8) != prefix) break;
        // Erasing hides nothing a reader could see: no metadata names this id any more.
        job.table->Erase(std::string(MemTable::Key(e)));
        if ((++steps & 63) == 0 && MonotonicUs() - start > budget_us) return true;
      }
    }
    member_erases_.pop_front();
  }
  return false;
}

bool Engine::RandomMemoryKeyWithPrefix(int index, std::string_view prefix, int tries,
                                       std::string* key) {
  const MemTable& active = *dbs_[index].active;
  for (int i = 0; i < tries; i++) {
    const MemTable::Entry* e = active.RandomEntry(&rng_);
    if (e == nullptr) return false;
    if (MemTable::IsTombstone(e) || MemTable::Key(e).substr(0, prefix.size()) != prefix) continue;
    key->assign(MemTable::Key(e));
    return true;
  }
  return false;
}

void Engine::PruneDeadIds() {
  for (size_t i = static_cast<size_t>(databases()); i < dbs_.size(); i++) {
    std::map<uint64_t, uint64_t>& dead = dbs_[i].dead_ids;
    if (dead.empty()) continue;
    const DbTiers& tiers = *version_->dbs[i];
    auto holds = [&](uint64_t id, uint64_t since) {
      // A checkpoint copying or writing may hold records of a collection that died after its
      // start (CheckpointCopy): they are in no tier the checks below see yet.
      if (CheckpointPending() && since > flush_.freeze_sequence) return true;
      const std::string lo = MemberPrefix(id, MemberKind::kMember).substr(0, 8);
      const std::string hi = MemberPrefix(id + 1, MemberKind::kMember).substr(0, 8);
      auto in_memory = [&](const MemTable& t) {
        const MemTable::Entry* e = t.Seek(lo, false);
        return e != nullptr && MemTable::Key(e) < hi;
      };
      if (in_memory(*dbs_[i].active)) return true;
      for (const auto& f : tiers.frozen) {
        if (in_memory(*f)) return true;
      }
      for (const TableList& level : tiers.levels) {
        for (const auto& t : level) {
          if (t->meta.clean_since < since && t->meta.largest >= lo && t->meta.smallest < hi) {
            return true;
          }
        }
      }
      return false;
    };
    for (auto it = dead.begin(); it != dead.end();) {
      it = holds(it->first, it->second) ? std::next(it) : dead.erase(it);
    }
  }
}

DeadIds Engine::DeadIdsOf(size_t index) const {
  const std::map<uint64_t, uint64_t>& dead = dbs_[index].dead_ids;
  if (dead.empty()) return nullptr;
  auto ids = std::make_shared<std::vector<uint64_t>>();
  ids->reserve(dead.size());
  for (const auto& [id, since] : dead) ids->push_back(id);
  return ids;
}

uint64_t Engine::member_memtable_entries() const {
  uint64_t n = 0;
  for (size_t i = static_cast<size_t>(databases()); i < dbs_.size(); i++) {
    n += dbs_[i].active->entry_count();
  }
  return n;
}

uint64_t Engine::dead_collections() const {
  uint64_t n = 0;
  for (const Database& d : dbs_) n += d.dead_ids.size();
  return n;
}

}  // namespace organic::engine
