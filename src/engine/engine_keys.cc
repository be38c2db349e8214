// Point reads and writes of one key: the lookup across the tiers, Get, and the mutators (Put,
// Delete, SetExpire, expiry, and the whole-database FLUSHDB, FLUSHALL, SWAPDB) with Apply, the
// path live writes and the WAL replay share, and the key-change listener's calls. Split out of
// engine.cc (one job per file); loop thread only.
//
// Invariant (docs/sstable-format.md, "Damaged tables"): a live mutator looks the key up
// *before* it logs, and logs only a mutation it then applies. A lookup that fails on a table
// read leaves the command with the read error (the server replies ERR disk read failed) and
// nothing logged or applied, so the WAL never holds a write memory did not take. The replay,
// which must never fail on a table, applies a write whose old record cannot be read as if
// that record were a live key without a TTL (see ApplyKey).
#include <algorithm>

#include "engine/collection_meta.h"
#include "engine/engine.h"
#include "util/clock.h"
#include "util/log.h"

namespace organic::engine {

namespace {
constexpr uint8_t kShadowMask = MemTable::kShadowsLive | MemTable::kShadowsVolatile;
}  // namespace

Status Engine::Lookup(int db, std::string_view key, bool below_active_only, Found* found) {
  *found = Found();
  auto from_entry = [found](MemTable::Entry* e, bool active) {
    found->tier = Tier::kMemory;
    found->entry = e;
    found->in_active = active;
    TableRecord& r = found->record;
    r.tombstone = MemTable::IsTombstone(e);
    r.type = MemTable::Type(e);
    r.encoding = MemTable::Encoding(e);
    r.sequence = MemTable::Sequence(e);
    r.expire_at_ms = MemTable::ExpireAt(e);
    r.value = MemTable::Value(e);
  };
  if (!below_active_only) {
    MemTable::Entry* e = dbs_[db].active->Find(key);
    if (e != nullptr) {
      from_entry(e, true);
      return Status::Ok();
    }
  }
  const DbTiers& tiers = *version_->dbs[db];
  for (const auto& frozen : tiers.frozen) {
    MemTable::Entry* e = frozen->Find(key);
    if (e != nullptr) {
      from_entry(e, false);
      return Status::Ok();
    }
  }
  for (size_t level = 0; level < tiers.levels.size(); level++) {
    const TableList& tables = tiers.levels[level];
    size_t begin = 0, end = tables.size();
    if (level > 0) {
      // Disjoint and sorted: the one table whose range may hold key.
      auto it = std::lower_bound(tables.begin(), tables.end(), key,
                                 [](const std::shared_ptr<const TableFile>& t,
                                    std::string_view k) { return t->meta.largest < k; });
      begin = static_cast<size_t>(it - tables.begin());
      end = std::min(begin + 1, tables.size());
    }
    for (size_t i = begin; i < end; i++) {
      const TableFile& t = *tables[i];
      if (key < t.meta.smallest || key > t.meta.largest) continue;
      stats_.bloom_checks++;
      if (!t.reader->MayContain(key)) {
        stats_.bloom_skips++;
        continue;
      }
      std::string value;
      bool hit = false;
      // Point lookups go through the block cache; sequential readers never do (block_cache.h).
      BlockCache* cache = options_.block_cache_bytes != 0 ? block_cache_.get() : nullptr;
      Status st = t.reader->Get(key, &value, &hit, cache, t.meta.file_number);
      if (!st.ok()) {
        stats_.read_errors++;
        if (read_error_.ok()) read_error_ = st;
        NoteDamage(tiers.id, tables[i], st);
        return st;
      }
      if (!hit) continue;
      read_buffers_.push_back(std::move(value));
      if (!DecodeTableRecord(read_buffers_.back(), &found->record)) {
        Status bad = Status::Corruption(t.reader->name() + ": undecodable record for key '" +
                                        std::string(key) + "'");
        stats_.read_errors++;
        if (read_error_.ok()) read_error_ = bad;
        return bad;
      }
      found->tier = Tier::kDisk;
      return Status::Ok();
    }
  }
  return Status::Ok();
}

void Engine::NoteDamage(uint64_t db_id, const std::shared_ptr<const TableFile>& t,
                        const Status& why) {
  // Corruption only: an I/O error may pass (and the table then compacts as before).
  if (!why.IsCorruption() || !t->damage.ok() || damage_found_.size() >= 64) return;
  for (const FoundDamage& d : damage_found_) {
    if (d.table == t) return;
  }
  damage_found_.push_back({db_id, t, why});
}

uint8_t Engine::ShadowBits(const Found& old) {
  if (old.tier == Tier::kNone) return 0;
  if (old.entry != nullptr && old.in_active) {
    uint8_t tier = MemTable::Tier(old.entry);
    // A clean entry is a copy of a live table record: that record is what a new one shadows.
    if (tier & MemTable::kClean) {
      return MemTable::kShadowsLive |
             (old.record.expire_at_ms != 0 ? MemTable::kShadowsVolatile : 0);
    }
    return tier & kShadowMask;  // the replaced entry's view of the tiers below
  }
  // The newest record is below the active MemTable.
  if (old.record.tombstone) return 0;
  return MemTable::kShadowsLive |
         (old.record.expire_at_ms != 0 ? MemTable::kShadowsVolatile : 0);
}

Status Engine::TakeReadError() {
  Status st = read_error_;
  read_error_ = Status::Ok();
  return st;
}

Tier Engine::TierOf(int db, std::string_view key) {
  Found f;
  if (!Lookup(db, key, false, &f).ok() || !f.live()) return Tier::kNone;
  return f.tier;
}

// old: the key's newest record before m (Lookup's answer). old.unreadable (replay only): the
// record sits in a block that cannot be read; it is taken to be a live key without a TTL. That
// is the safe guess for the data (a later DEL writes a tombstone that hides the damaged record
// rather than erasing the entry and letting it show again) and usually the right one for the
// counts (the bloom filter let the lookup reach the block, so the table most likely holds the
// key); it is wrong by one key when the block held a tombstone, or the filter erred, or (for
// the TTL count) the key had a TTL. A SETEXPIRE over it cannot copy the value up and is dropped:
// the key keeps answering the read error.
Status Engine::ApplyKey(const Mutation& m, const Found& old) {
  const size_t index = IndexOf(m);
  Database& db = dbs_[index];
  // A collection whose metadata goes (DEL, expiry, overwrite, not RENAME's move) takes its
  // member records with it: its id becomes dead (KillCollection).
  if (!m.member_space && old.live() && !old.unreadable && !m.keep_members &&
      m.op != MutationOp::kSetExpire) {
    const uint64_t old_id = MembersIdOf(old.record.type, old.record.value);
    if (old_id != 0 && (m.op == MutationOp::kDelete || MembersIdOf(m.type, m.value) != old_id)) {
      KillCollection(index, old_id);
    }
  }
  switch (m.op) {
    case MutationOp::kPut: {
      uint8_t tier = ShadowBits(old);
      if (!old.live()) db.keys++;
      if (old.live() && old.record.expire_at_ms != 0) db.volatile_keys--;
      MemTable::Entry* e =
          db.active->Upsert(m.key, m.sequence, m.type, m.expire_at_ms, m.value, m.encoding, tier);
      MemTable::Touch(e, access_clock_);
      if (m.expire_at_ms != 0) {
        db.volatile_keys++;
        db.expires.Add(m.expire_at_ms, m.key);
      }
      break;
    }
    case MutationOp::kDelete: {
      if (!old.live()) break;
      db.keys--;
      if (old.record.expire_at_ms != 0) db.volatile_keys--;
      uint8_t shadows = ShadowBits(old);
      // While a checkpoint's table is on its way, the bits describe the tiers below with that
      // table in them, but reads do not see it yet: a key whose copied record is a tombstone
      // over an older live one, then written again and deleted, has bits saying "nothing live
      // below", and erasing it would show the older record until the install. A tombstone
      // that shadows nothing costs the counts nothing (CheckpointCopy in engine.h).
      if ((shadows & MemTable::kShadowsLive) || CheckpointPending()) {
        db.active->Upsert(m.key, m.sequence, ValueType::kString, 0, std::string_view(),
                          EncodingHint::kAuto, MemTable::kTombstone | shadows);
      } else {
        db.active->Erase(m.key);  // nothing below to hide: the key simply goes
      }
      break;
    }
    case MutationOp::kSetExpire: {
      if (!old.live() || old.unreadable) break;
      uint8_t tier = ShadowBits(old);
      MemTable::Entry* e;
      if (old.in_active) {
        e = db.active->SetExpire(m.key, m.sequence, m.expire_at_ms, tier);
      } else {
        // Copy the record up: the active MemTable holds every change.
        std::string value(old.record.value);
        e = db.active->Upsert(m.key, m.sequence, old.record.type, m.expire_at_ms, value,
                              old.record.encoding, tier);
      }
      MemTable::Touch(e, access_clock_);
      if (old.record.expire_at_ms != 0) db.volatile_keys--;
      if (m.expire_at_ms != 0) {
        db.volatile_keys++;
        db.expires.Add(m.expire_at_ms, m.key);
      }
      break;
    }
    default:
      return Status::InvalidArgument("ApplyKey: not a one-key mutation");
  }
  if (key_listener_ && !replaying_ && !m.member_space) {
    KeyChange change = KeyChange::kWritten;
    if (m.op == MutationOp::kSetExpire) change = KeyChange::kTtl;
    if (m.op == MutationOp::kDelete) change = expiring_ ? KeyChange::kExpired : KeyChange::kDeleted;
    if (m.op == MutationOp::kPut || old.live()) {
      key_listener_({change, static_cast<int>(m.db), 0, m.key});
    }
  }
  return Status::Ok();
}

Status Engine::Apply(const Mutation& m) {
  // m.db is a user database number; IndexOf adds the member space's offset.
  auto db_ok = [this](uint32_t db) { return db < static_cast<uint32_t>(databases()); };
  switch (m.op) {
    case MutationOp::kPut:
    case MutationOp::kDelete:
    case MutationOp::kSetExpire: {
      if (!db_ok(m.db)) return Status::Corruption("database index out of range");
      Found old;
      Status st = Lookup(static_cast<int>(IndexOf(m)), m.key, false, &old);
      if (!st.ok()) {
        // Live writes look up before they log (Put, Delete ...) and never get here with an
        // error. The replay must not fail on a table: the write goes in, over a record taken
        // to be a live key without a TTL (ApplyKey), and the counts may be off by one.
        if (!replaying_) return st;
        read_error_ = Status::Ok();  // not the first command's error after start-up
        if (stats_.replay_read_errors++ == 0) {
          organic::Log(LogLevel::kWarning,
                       "WAL replay: cannot read the old record of a replayed key (%s); the "
                       "write is applied, the key counts may be inexact until the table is "
                       "repaired (organic-check-sst --fix)",
                       st.ToString().c_str());
        }
        old = Found();
        old.tier = Tier::kDisk;
        old.unreadable = true;
      }
      // A record at or after m's sequence: a checkpoint's fuzzy copy (Engine::CheckpointCopy)
      // caught the key in a later state, which includes m's effect. The replay leaves the key
      // alone until its WAL records pass that state: applying m over it would mix the two (a
      // SETEXPIRE copies the later value up under m's older sequence) and take a collection
      // the later state names for the one m ended. The counts stay exact: the table's were
      // computed for the state it holds. Never on the live path (m is the newest record).
      if (replaying_ && old.tier != Tier::kNone && !old.unreadable &&
          old.record.sequence >= m.sequence) {
        return Status::Ok();
      }
      return ApplyKey(m, old);
    }
    case MutationOp::kFlushDb: {
      if (!db_ok(m.db)) return Status::Corruption("database index out of range");
      // The database and its member space go together: both get a fresh, empty id.
      auto v = EditVersion();
      for (size_t index : {size_t{m.db}, static_cast<size_t>(MemberSpace(m.db))}) {
        ResetDatabase(index);
        RetireIfOnFloor(v.get(), v->dbs[index]);
        auto fresh = std::make_shared<DbTiers>();
        fresh->id = NewDatabaseId(m.sequence, static_cast<uint32_t>(index));
        v->dbs[index] = fresh;
      }
      InstallVersion(v);
      break;
    }
    case MutationOp::kFlushAll: {
      auto v = EditVersion();
      for (size_t i = 0; i < dbs_.size(); i++) {
        ResetDatabase(i);
        RetireIfOnFloor(v.get(), v->dbs[i]);
        auto fresh = std::make_shared<DbTiers>();
        fresh->id = NewDatabaseId(m.sequence, static_cast<uint32_t>(i));
        v->dbs[i] = fresh;
      }
      InstallVersion(v);
      break;
    }
    case MutationOp::kSwapDb: {
      if (!db_ok(m.db) || !db_ok(m.other_db)) {
        return Status::Corruption("database index out of range");
      }
      auto v = EditVersion();
      // Each database moves with its member space.
      for (int space = 0; space < 2; space++) {
        const size_t a = m.db + (space ? databases() : 0);
        const size_t b = m.other_db + (space ? databases() : 0);
        std::swap(dbs_[a], dbs_[b]);
        std::swap(v->dbs[a], v->dbs[b]);
      }
      InstallVersion(v);
      break;
    }
    default:
      return Status::Corruption("unknown mutation op");
  }
  return Status::Ok();
}

bool Engine::MaybePromote(int db, std::string_view key, uint64_t hash, const TableRecord& r) {
  const uint32_t reads = sketch_.Estimate(hash);
  // Without a budget memory is not scarce: the first read brings the key back (after a
  // restart, the data comes into memory as it is used).
  if (options_.memtable_budget != 0 && reads < kAdmitReads) return false;
  Database& d = dbs_[db];
  MemTable::Entry* e = d.active->Upsert(key, r.sequence, r.type, r.expire_at_ms, r.value,
                                        r.encoding, MemTable::kClean);
  MemTable::SetAccess(e, reads);
  MemTable::Touch(e, access_clock_);
  if (r.expire_at_ms != 0) d.expires.Add(r.expire_at_ms, key);
  stats_.promotions++;
  return true;
}

std::optional<RecordView> Engine::Get(int db, std::string_view key, LookupMode mode) {
  Found f;
  Lookup(db, key, false, &f);  // an error counts as a miss and is kept in read_error_
  if (f.live() && IsExpired(f.record.expire_at_ms, UnixTimeMs())) {
    ExpireKey(db, key);
    f = Found();
  }
  // As Redis's lookupKey: reads count hits/misses (NOTOUCH only skips the access update);
  // reads made on behalf of writes count nothing.
  const bool counts = mode == LookupMode::kRead || mode == LookupMode::kNoTouch;
  const bool touches = mode == LookupMode::kRead || mode == LookupMode::kMember;
  if (!f.live()) {
    if (counts) stats_.keyspace_misses++;
    return std::nullopt;
  }
  if (counts) stats_.keyspace_hits++;
  if (f.entry != nullptr) {
    if (touches) {
      MemTable::BumpAccess(f.entry);
      // Memory reads count too: a key that cools out of memory comes back by its history.
      // Without a budget admission ignores the sketch, so the hot path skips it.
      if (options_.memtable_budget != 0) sketch_.Add(SketchHash(db, key));
      stats_.memory_hits++;
    }
    // The LRU clock follows Redis's lookupKey: reads made for writes touch the key too.
    if (mode != LookupMode::kNoTouch) MemTable::Touch(f.entry, access_clock_);
    return MemTable::View(f.entry);
  }
  if (touches) {
    stats_.disk_hits++;
    const uint64_t hash = SketchHash(db, key);
    if (options_.memtable_budget != 0) sketch_.Add(hash);
    std::string owned_key(key);  // key may point into a buffer the promotion replaces
    if (MaybePromote(db, owned_key, hash, f.record)) {
      return MemTable::View(dbs_[db].active->Find(owned_key));
    }
  }
  RecordView v;
  v.type = f.record.type;
  v.expire_at_ms = f.record.expire_at_ms;
  v.sequence = f.record.sequence;
  v.encoding = f.record.encoding;
  v.value = f.record.value;
  return v;
}

bool Engine::Put(int db, std::string_view key, ValueType type, std::string_view value,
                 int64_t expire_at_ms, EncodingHint encoding) {
  if (!read_error_.ok()) return false;  // see TakeReadError
  Mutation m;
  m.op = MutationOp::kPut;
  Address(db, &m);
  m.key = key;
  m.type = type;
  m.value = value;
  m.expire_at_ms = expire_at_ms;
  m.encoding = encoding;
  Found old;
  if (!Lookup(db, key, false, &old).ok()) return false;  // read_error_ set: nothing logged
  Log(m);
  ApplyKey(m, old);
  return old.live();
}

bool Engine::Delete(int db, std::string_view key, bool keep_members) {
  Found f;
  Lookup(db, key, false, &f);
  if (!f.live() || !read_error_.ok()) return false;
  bool live = !IsExpired(f.record.expire_at_ms, UnixTimeMs());
  if (!live) stats_.expired_keys++;
  Mutation m;
  m.op = MutationOp::kDelete;
  Address(db, &m);
  m.key = key;
  m.keep_members = keep_members && !m.member_space;
  Log(m);
  ApplyKey(m, f);
  return live;
}

void Engine::ExpireKey(int db, std::string_view key) {
  if (!read_error_.ok()) return;
  // Copy: key may point into the entry being deleted.
  std::string owned(key);
  Found old;
  if (!Lookup(db, owned, false, &old).ok()) return;  // read_error_ set: nothing logged
  Mutation m;
  m.op = MutationOp::kDelete;
  Address(db, &m);
  m.key = owned;
  Log(m);
  expiring_ = true;
  ApplyKey(m, old);
  expiring_ = false;
  stats_.expired_keys++;
}

bool Engine::SetExpire(int db, std::string_view key, int64_t expire_at_ms) {
  if (!Get(db, key, LookupMode::kWrite).has_value() || !read_error_.ok()) return false;
  Found old;
  if (!Lookup(db, key, false, &old).ok()) return false;  // read_error_ set: nothing logged
  Mutation m;
  m.op = MutationOp::kSetExpire;
  Address(db, &m);
  m.key = key;
  m.expire_at_ms = expire_at_ms;
  Log(m);
  ApplyKey(m, old);
  return true;
}

// Whole-database mutations: logged, applied (Apply), then told to the key listener.
void Engine::FlushDb(int db) {
  Mutation m;
  m.op = MutationOp::kFlushDb;
  m.db = static_cast<uint32_t>(db);
  Log(m);
  Apply(m);
  if (key_listener_) key_listener_({KeyChange::kFlushed, db, 0, {}});
}

void Engine::FlushAll() {
  Mutation m;
  m.op = MutationOp::kFlushAll;
  Log(m);
  Apply(m);
  if (key_listener_) key_listener_({KeyChange::kFlushed, -1, 0, {}});
}

void Engine::SwapDb(int a, int b) {
  Mutation m;
  m.op = MutationOp::kSwapDb;
  m.db = static_cast<uint32_t>(a);
  m.other_db = static_cast<uint32_t>(b);
  Log(m);
  Apply(m);
  if (key_listener_) key_listener_({KeyChange::kSwapped, a, b, {}});
}

}  // namespace organic::engine
