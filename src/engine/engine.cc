#include "engine/engine.h"

#include <algorithm>
#include <set>

#include "engine/db_iterator.h"
#include "engine/key_index.h"
#include "util/clock.h"
#include "util/log.h"

namespace organic::engine {

namespace {
constexpr uint8_t kShadowMask = MemTable::kShadowsLive | MemTable::kShadowsVolatile;
// Sketch sizes, in MemTable entries (see SizeSketch): the default (no budget), the bounds.
// 16,384 entries make a 128 KiB sketch; the upper bound 16 MiB.
constexpr uint64_t kDefaultSketchEntries = 1 << 14;
constexpr uint64_t kMinSketchEntries = 1 << 12;
constexpr uint64_t kMaxSketchEntries = 1 << 21;
}  // namespace

Engine::Engine(EngineOptions options)
    : options_(std::move(options)),
      fs_(options_.fs != nullptr ? options_.fs : DefaultFileSystem()),
      block_cache_(std::make_unique<BlockCache>(options_.block_cache_bytes)),
      sketch_(4 * kDefaultSketchEntries, 10 * kDefaultSketchEntries),
      rng_(static_cast<uint32_t>(MonotonicUs())) {
  ResetDatabases();
  SizeSketch();
}

void Engine::SizeSketch() {
  uint64_t entries = kDefaultSketchEntries;
  if (options_.memtable_budget != 0) {
    // What the MemTables hold when a flush starts (half the budget), at the current mean entry
    // size; 1 KiB entries until there are enough to measure.
    const uint64_t n = memtable_entries();
    const uint64_t entry_bytes = n >= 256 ? std::max<uint64_t>(memtable_bytes() / n, 1) : 1024;
    entries = options_.memtable_budget / 2 / entry_bytes;
  }
  entries = std::clamp(entries, kMinSketchEntries, kMaxSketchEntries);
  sketch_.Resize(4 * entries);  // only when the power of two changes
  sketch_.set_sample_size(10 * entries);
}

uint64_t Engine::SketchHash(int db, std::string_view key) {
  return HashKey(key) ^ (static_cast<uint64_t>(db) * 0x9e3779b97f4a7c15ull);
}

Engine::~Engine() { Close(); }

void Engine::ResetDatabases() {
  dbs_.clear();
  dbs_.resize(static_cast<size_t>(options_.databases));
  auto v = std::make_shared<Version>();
  for (size_t i = 0; i < dbs_.size(); i++) {
    dbs_[i].active = std::make_shared<MemTable>();
    auto tiers = std::make_shared<DbTiers>();
    tiers->id = NewDatabaseId(0, static_cast<uint32_t>(i));
    v->dbs.push_back(tiers);
    v->floor_ids.push_back(tiers->id);
  }
  std::unique_lock lock(version_mu_);
  version_ = v;
}

std::shared_ptr<const Version> Engine::version() const {
  std::shared_lock lock(version_mu_);
  return version_;
}

void Engine::InstallVersion(std::shared_ptr<const Version> v) {
  std::unique_lock lock(version_mu_);
  version_ = std::move(v);
}

void Engine::RetireIfOnFloor(Version* v, std::shared_ptr<const DbTiers> tiers) {
  for (uint64_t id : v->floor_ids) {
    if (id == tiers->id) {
      v->retired.push_back(std::move(tiers));
      return;
    }
  }
}

Status Engine::OpenTables(const Manifest& manifest) {
  if (manifest.databases.size() > dbs_.size()) {
    return Status::InvalidArgument(
        "the data directory holds " + std::to_string(manifest.databases.size()) +
        " databases but 'databases' is " + std::to_string(dbs_.size()));
  }
  auto v = std::make_shared<Version>(*version_);
  std::vector<std::shared_ptr<DbTiers>> tiers;
  for (size_t i = 0; i < dbs_.size(); i++) {
    auto t = std::make_shared<DbTiers>();
    if (i < manifest.databases.size()) {
      t->id = manifest.databases[i].id;
      t->table_keys = manifest.databases[i].table_keys;
      t->table_volatile_keys = manifest.databases[i].table_volatile_keys;
    } else {
      t->id = NewDatabaseId(0, static_cast<uint32_t>(i));
    }
    tiers.push_back(t);
  }
  for (const ManifestTable& meta : manifest.tables) {
    DbTiers* owner = nullptr;
    for (auto& t : tiers) {
      if (t->id == meta.db_id) owner = t.get();
    }
    if (owner == nullptr) continue;  // belongs to no database at the floor
    std::string name = SstableFileName(meta.file_number);
    std::unique_ptr<RandomAccessFile> file;
    RETURN_IF_ERROR(fs_->NewRandomAccessFile(options_.dir + "/" + name, &file));
    std::unique_ptr<SstableReader> reader;
    RETURN_IF_ERROR(SstableReader::Open(std::move(file), meta.file_size, name, &reader));
    auto table = std::make_shared<TableFile>();
    table->meta = meta;
    table->reader = std::move(reader);
    if (owner->levels.size() <= meta.level) owner->levels.resize(meta.level + 1);
    owner->levels[meta.level].push_back(std::move(table));
  }
  v->dbs.clear();
  v->floor_ids.clear();
  v->retired.clear();
  for (size_t i = 0; i < tiers.size(); i++) {
    // The manifest lists level 0 newest first and deeper levels in key order, as the Version.
    dbs_[i].keys = tiers[i]->table_keys;
    dbs_[i].volatile_keys = tiers[i]->table_volatile_keys;
    v->floor_ids.push_back(tiers[i]->id);
    v->dbs.push_back(tiers[i]);
  }
  v->wal_floor = manifest.wal_floor;
  InstallVersion(v);
  return Status::Ok();
}

Status Engine::Open() {
  int64_t start = MonotonicUs();
  access_clock_ = static_cast<uint32_t>(UnixTimeMs() / 1000);  // replayed keys count as fresh
  RETURN_IF_ERROR(fs_->CreateDirIfMissing(options_.dir));
  Manifest manifest;
  bool have_manifest = false;
  RETURN_IF_ERROR(ReadManifest(fs_, options_.dir, &manifest, &have_manifest));
  if (have_manifest) {
    RETURN_IF_ERROR(OpenTables(manifest));
    sequence_ = manifest.last_sequence;
    next_file_number_.store(manifest.next_file_number);
  }
  // Table files the manifest does not list were being written when the server stopped.
  std::vector<std::string> children;
  RETURN_IF_ERROR(fs_->GetChildren(options_.dir, &children));
  std::set<uint64_t> listed;
  for (const ManifestTable& t : manifest.tables) listed.insert(t.file_number);
  for (const std::string& name : children) {
    uint64_t number;
    if ((ParseSstableFileName(name, &number) && listed.count(number) == 0) ||
        name == "MANIFEST.tmp") {
      fs_->RemoveFile(options_.dir + "/" + name);
    }
    if (ParseSstableFileName(name, &number) && number >= next_file_number_.load()) {
      next_file_number_.store(number + 1);
    }
  }
  worker_.Start();
  wal_ = std::make_unique<WalLog>(fs_, options_.dir, options_.fsync, &worker_);
  replaying_ = true;
  // Sequence numbers rise through the log. A mutation not above the last one replayed is a
  // second copy that a retry after a WAL write error wrote to a new generation (wal_log.h):
  // applying it again would undo what followed it (SWAPDB) or repeat it.
  uint64_t last_replayed = 0;
  Status st = wal_->Recover(
      [this, &last_replayed](std::string_view payload) {
        Status st;
        bool ok = ForEachMutationPayload(payload, [&](std::string_view one) {
          Mutation m;
          if (!DecodeMutation(one, &m)) return false;
          if (m.sequence <= last_replayed) return true;
          last_replayed = m.sequence;
          sequence_ = std::max(sequence_, m.sequence);
          st = Apply(m);
          return st.ok();
        });
        if (!st.ok()) return st;
        return ok ? Status::Ok() : Status::Corruption("undecodable mutation");
      },
      &stats_.recovery, version_->wal_floor);
  replaying_ = false;
  if (!st.ok()) return st;
  read_buffers_.clear();
  stats_.recovery_duration_us = MonotonicUs() - start;
  stats_.last_save_unix = UnixTimeMs() / 1000;
  wal_base_size_ = wal_->total_size();
  open_ = true;
  expire_rebuild_cancel_ = std::make_shared<std::atomic<bool>>(false);
  StartExpireIndexRebuild();
  return Status::Ok();
}

Status Engine::Close() {
  if (!open_) return Status::Ok();
  open_ = false;
  Status st = wal_->SyncNow();
  if (expire_rebuild_cancel_) expire_rebuild_cancel_->store(true);
  worker_.Stop();
  std::lock_guard lock(done_mu_);
  done_.clear();
  return st;
}

// ---------------------------------------------------------------------------------------------
// Lookups

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

// ---------------------------------------------------------------------------------------------
// Mutations

Status Engine::Apply(const Mutation& m) {
  auto db_ok = [this](uint32_t db) { return db < dbs_.size(); };
  switch (m.op) {
    case MutationOp::kPut: {
      if (!db_ok(m.db)) return Status::Corruption("database index out of range");
      Database& db = dbs_[m.db];
      Found old;
      RETURN_IF_ERROR(Lookup(static_cast<int>(m.db), m.key, false, &old));
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
      if (!db_ok(m.db)) return Status::Corruption("database index out of range");
      Database& db = dbs_[m.db];
      Found old;
      RETURN_IF_ERROR(Lookup(static_cast<int>(m.db), m.key, false, &old));
      if (!old.live()) break;
      db.keys--;
      if (old.record.expire_at_ms != 0) db.volatile_keys--;
      uint8_t shadows = ShadowBits(old);
      if (shadows & MemTable::kShadowsLive) {
        db.active->Upsert(m.key, m.sequence, ValueType::kString, 0, std::string_view(),
                          EncodingHint::kAuto, MemTable::kTombstone | shadows);
      } else {
        db.active->Erase(m.key);  // nothing below to hide: the key simply goes
      }
      break;
    }
    case MutationOp::kSetExpire: {
      if (!db_ok(m.db)) return Status::Corruption("database index out of range");
      Database& db = dbs_[m.db];
      Found old;
      RETURN_IF_ERROR(Lookup(static_cast<int>(m.db), m.key, false, &old));
      if (!old.live()) break;
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
    case MutationOp::kFlushDb: {
      if (!db_ok(m.db)) return Status::Corruption("database index out of range");
      Database& db = dbs_[m.db];
      db.active = std::make_shared<MemTable>();
      db.expires.Clear();
      db.keys = 0;
      db.volatile_keys = 0;
      auto v = EditVersion();
      RetireIfOnFloor(v.get(), v->dbs[m.db]);
      auto fresh = std::make_shared<DbTiers>();
      fresh->id = NewDatabaseId(m.sequence, m.db);
      v->dbs[m.db] = fresh;
      InstallVersion(v);
      break;
    }
    case MutationOp::kFlushAll: {
      auto v = EditVersion();
      for (size_t i = 0; i < dbs_.size(); i++) {
        Database& db = dbs_[i];
        db.active = std::make_shared<MemTable>();
        db.expires.Clear();
        db.keys = 0;
        db.volatile_keys = 0;
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
      std::swap(dbs_[m.db], dbs_[m.other_db]);
      auto v = EditVersion();
      std::swap(v->dbs[m.db], v->dbs[m.other_db]);
      InstallVersion(v);
      break;
    }
    default:
      return Status::Corruption("unknown mutation op");
  }
  return Status::Ok();
}

void Engine::Log(Mutation& m) {
  m.sequence = ++sequence_;
  if (replaying_) return;
  stats_.mutations_logged++;
  stats_.changes_since_save++;
  if (batching_) {
    if (batch_.size() <= batch_count_) batch_.emplace_back();
    std::string& slot = batch_[batch_count_++];
    slot.clear();
    EncodeMutation(m, &slot);
    return;
  }
  encode_buf_.clear();
  EncodeMutation(m, &encode_buf_);
  AppendToWal(encode_buf_);
}

void Engine::AppendToWal(std::string_view payload) {
  // Only a record over the WAL's size limit fails here (write errors surface in FlushWal, and
  // the WAL keeps the record for its retry).
  Status st = wal_->Append(payload);
  if (!st.ok()) organic::Log(LogLevel::kWarning, "WAL append failed: %s", st.ToString().c_str());
}

void Engine::BeginCommand() {
  batching_ = true;
  batch_count_ = 0;
}

void Engine::EndCommand() {
  AppendBatch();
  batching_ = false;
}

void Engine::AppendBatch() {
  if (batch_count_ == 0) return;
  if (batch_count_ == 1) {
    AppendToWal(batch_[0]);  // the common case costs no batch header
  } else {
    EncodeMutationBatch(batch_, batch_count_, &encode_buf_);
    AppendToWal(encode_buf_);
  }
  batch_count_ = 0;
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
  if (!f.live()) {
    if (mode != LookupMode::kWrite) stats_.keyspace_misses++;
    return std::nullopt;
  }
  if (mode != LookupMode::kWrite) stats_.keyspace_hits++;
  if (f.entry != nullptr) {
    if (mode == LookupMode::kRead) {
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
  if (mode == LookupMode::kRead) {
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

void Engine::Put(int db, std::string_view key, ValueType type, std::string_view value,
                 int64_t expire_at_ms, EncodingHint encoding) {
  if (!read_error_.ok()) return;  // see TakeReadError
  Mutation m;
  m.op = MutationOp::kPut;
  m.db = static_cast<uint32_t>(db);
  m.key = key;
  m.type = type;
  m.value = value;
  m.expire_at_ms = expire_at_ms;
  m.encoding = encoding;
  Log(m);
  Apply(m);
}

bool Engine::Delete(int db, std::string_view key) {
  Found f;
  Lookup(db, key, false, &f);
  if (!f.live() || !read_error_.ok()) return false;
  bool live = !IsExpired(f.record.expire_at_ms, UnixTimeMs());
  if (!live) stats_.expired_keys++;
  Mutation m;
  m.op = MutationOp::kDelete;
  m.db = static_cast<uint32_t>(db);
  m.key = key;
  Log(m);
  Apply(m);
  return live;
}

void Engine::ExpireKey(int db, std::string_view key) {
  if (!read_error_.ok()) return;
  // Copy: key may point into the entry being deleted.
  std::string owned(key);
  Mutation m;
  m.op = MutationOp::kDelete;
  m.db = static_cast<uint32_t>(db);
  m.key = owned;
  Log(m);
  Apply(m);
  stats_.expired_keys++;
}

bool Engine::SetExpire(int db, std::string_view key, int64_t expire_at_ms) {
  if (!Get(db, key, LookupMode::kWrite).has_value() || !read_error_.ok()) return false;
  Mutation m;
  m.op = MutationOp::kSetExpire;
  m.db = static_cast<uint32_t>(db);
  m.key = key;
  m.expire_at_ms = expire_at_ms;
  Log(m);
  Apply(m);
  return true;
}

void Engine::FlushDb(int db) {
  Mutation m;
  m.op = MutationOp::kFlushDb;
  m.db = static_cast<uint32_t>(db);
  Log(m);
  Apply(m);
}

void Engine::FlushAll() {
  Mutation m;
  m.op = MutationOp::kFlushAll;
  Log(m);
  Apply(m);
}

void Engine::SwapDb(int a, int b) {
  Mutation m;
  m.op = MutationOp::kSwapDb;
  m.db = static_cast<uint32_t>(a);
  m.other_db = static_cast<uint32_t>(b);
  Log(m);
  Apply(m);
}

int64_t Engine::AverageTtlMs(int db) const {
  const Database& d = dbs_[db];
  if (d.volatile_keys == 0) return 0;
  int64_t now = UnixTimeMs();
  int64_t sum = 0, n = 0;
  d.expires.Sample(64, [&](const ExpireIndex::Item& item) {
    if (item.expire_at_ms > now) {
      sum += item.expire_at_ms - now;
      n++;
    }
  });
  return n == 0 ? 0 : sum / n;
}

// ---------------------------------------------------------------------------------------------
// Iteration

void Engine::Scan(int db, std::string_view start, bool after, size_t max_visits,
                  const std::function<void(std::string_view, const RecordView&)>& visit,
                  std::string* next_start, bool* finished) {
  std::shared_ptr<const DbTiers> tiers = version_->dbs[db];
  DbIterator it(dbs_[db].active.get(), *tiers);
  if (start.empty() && !after) it.SeekToFirst();
  else it.Seek(start, after);
  int64_t now = UnixTimeMs();
  // Collect expired keys to delete after the walk: deleting while walking would free entries.
  std::vector<std::string> expired;
  size_t visited = 0;
  for (; it.Valid() && visited < max_visits; it.Next(), visited++) {
    std::string_view key = it.key();
    next_start->assign(key);
    if (it.tombstone()) continue;
    RecordView v = it.record();
    if (IsExpired(v.expire_at_ms, now)) {
      expired.emplace_back(key);
      continue;
    }
    visit(key, v);
  }
  if (!it.status().ok()) {
    stats_.read_errors++;
    if (read_error_.ok()) read_error_ = it.status();
  }
  *finished = !it.Valid();
  for (const std::string& key : expired) ExpireKey(db, key);
}

bool Engine::RandomKey(int db, std::string* key) {
  if (dbs_[db].keys == 0) return false;
  int64_t now = UnixTimeMs();
  std::shared_ptr<const DbTiers> tiers = version_->dbs[db];
  MemTable* active = dbs_[db].active.get();
  uint64_t in_memory = active->entry_count();
  std::vector<const TableFile*> tables;
  uint64_t on_disk = 0;
  for (const TableList& level : tiers->levels) {
    for (const auto& t : level) {
      tables.push_back(t.get());
      on_disk += t->meta.entries;
    }
  }
  for (const auto& f : tiers->frozen) on_disk += f->entry_count();
  // Like Redis: give up on expired candidates after a bounded number of tries, deleting them.
  for (int tries = 0; tries < 100; tries++) {
    uint64_t pick = (static_cast<uint64_t>(rng_()) << 31 ^ rng_()) % (in_memory + on_disk);
    if (pick < in_memory) {
      // The active MemTable holds newest records only.
      MemTable::Entry* e = active->RandomEntry(&rng_);
      if (e == nullptr || MemTable::IsTombstone(e)) continue;
      if (!IsExpired(MemTable::ExpireAt(e), now)) {
        key->assign(MemTable::Key(e));
        return true;
      }
      ExpireKey(db, std::string(MemTable::Key(e)));
      continue;
    }
    // A random point of the key space below: a random entry of a random frozen MemTable, or
    // a random position in a random table (the start of a random block, found from the
    // in-memory index, plus a random number of steps within a block's average entry count);
    // then the first live key of the merged view from there.
    std::string hint;
    bool exclusive = false;
    uint64_t steps = 0;
    uint64_t r = pick - in_memory;
    for (const auto& f : tiers->frozen) {
      if (r < f->entry_count()) {
        MemTable::Entry* e = f->RandomEntry(&rng_);
        if (e != nullptr) hint.assign(MemTable::Key(e));
        break;
      }
      r -= f->entry_count();
    }
    if (hint.empty()) {
      for (const TableFile* t : tables) {
        if (r < t->meta.entries) {
          size_t blocks = t->reader->num_blocks();
          size_t block = rng_() % blocks;
          if (block > 0) {
            hint.assign(t->reader->BlockLastKey(block - 1));
            exclusive = true;
          }
          steps = rng_() % std::max<uint64_t>(1, t->meta.entries / blocks);
          break;
        }
        r -= t->meta.entries;
      }
    }
    DbIterator it(active, *tiers);
    it.Seek(hint, exclusive);
    for (; steps > 0 && it.Valid(); steps--) it.Next();
    for (int wrapped = 0; wrapped < 2; wrapped++) {
      for (; it.Valid() && it.tombstone(); it.Next()) {
      }
      if (it.Valid()) break;
      it.SeekToFirst();
    }
    if (!it.Valid()) return false;
    std::string candidate(it.key());
    if (!IsExpired(it.record().expire_at_ms, now)) {
      *key = candidate;
      return true;
    }
    ExpireKey(db, candidate);
  }
  return false;
}

void Engine::SampleMemoryKeys(int db, size_t n, bool volatile_only,
                              std::vector<MemoryKeySample>* out, bool soonest_first) {
  Database& d = dbs_[db];
  const MemTable& table = *d.active;
  if (n == 0 || table.entry_count() == table.tombstone_count()) return;
  if (volatile_only && d.volatile_keys == 0) return;
  auto candidate = [volatile_only](const MemTable::Entry* e) {
    return !MemTable::IsTombstone(e) && (!volatile_only || MemTable::ExpireAt(e) != 0);
  };
  size_t added = 0;
  auto add = [out, &added](const MemTable::Entry* e) {
    MemoryKeySample s;
    s.key = MemTable::Key(e);
    s.access_count = MemTable::AccessCount(e);
    s.last_access_s = MemTable::LastAccess(e);
    s.expire_at_ms = MemTable::ExpireAt(e);
    out->push_back(s);
    added++;
  };
  if (volatile_only) {
    // A heap's first positions are the top of its tree: the 64 + 4n first ones hold keys
    // expiring about the soonest; 4096 cover more keys for the other volatile policies.
    const size_t window = soonest_first ? 64 + 4 * n : kSmallExpireIndex;
    SampleExpireIndex(db, n, window, [&](const MemTable::Entry* e) { add(e); });
    // A small index was sampled whole; a large one only at its front (the keys expiring
    // soonest), so random descents below add keys from anywhere.
    if (added >= n || d.expires.size() <= kSmallExpireIndex) return;
  }
  // A random descent lands on any entry; a short walk from there skips tombstones (and, for
  // volatile_only, keys without a TTL) so a sparse population is still found.
  constexpr int kMaxWalk = 32;
  const size_t wanted = n - added;
  for (size_t tries = 0; added < n && tries < 2 * wanted; tries++) {
    const MemTable::Entry* e = table.RandomEntry(&rng_);
    for (int steps = 0; e != nullptr && !candidate(e) && steps < kMaxWalk; steps++) {
      e = MemTable::Next(e);
    }
    if (e != nullptr && candidate(e)) add(e);
  }
  if (added == 0) {
    // Candidates are rare among the entries: a longer walk, wrapping at the end.
    constexpr int kMaxFallbackWalk = 4096;
    const MemTable::Entry* e = table.RandomEntry(&rng_);
    for (int steps = 0; steps < kMaxFallbackWalk && added == 0; steps++) {
      if (e == nullptr) e = table.First();
      if (candidate(e)) add(e);
      e = MemTable::Next(e);
    }
  }
}

void Engine::SampleExpireIndex(int db, size_t n, size_t window,
                               const std::function<void(const MemTable::Entry*)>& add) {
  Database& d = dbs_[db];
  const MemTable& table = *d.active;
  auto valid = [this, db](const ExpireIndex::Item& item) {
    Found f;
    Lookup(db, item.key, false, &f);
    return f.live() && f.record.expire_at_ms == item.expire_at_ms;
  };
  // Stale items at the top (evicting the soonest-expiring keys leaves them there) would crowd
  // the front the picks come from: drop them, as the active expire cycle would when due. Only
  // items known stale without a table read: the active MemTable holds a different record, or
  // holds none and no lower tier may have the key (bloom filters).
  auto surely_stale = [&](const ExpireIndex::Item& item) {
    const MemTable::Entry* e = table.Find(item.key);
    if (e != nullptr) {
      return MemTable::IsTombstone(e) || MemTable::ExpireAt(e) != item.expire_at_ms;
    }
    return !MayBeBelowActive(db, item.key);
  };
  for (int i = 0; i < 64 && !d.expires.empty() && surely_stale(d.expires.top()); i++) {
    d.expires.Pop();
  }
  // An item is a candidate if its key is a live record of the active MemTable with that TTL
  // (the index also holds stale items and keys that live on disk now).
  auto in_memory = [&](const ExpireIndex::Item& item) -> const MemTable::Entry* {
    const MemTable::Entry* e = table.Find(item.key);
    return e != nullptr && !MemTable::IsTombstone(e) &&
                   MemTable::ExpireAt(e) == item.expire_at_ms
               ? e
               : nullptr;
  };
  size_t added = 0;
  auto pick = [&] {
    if (d.expires.empty()) return;
    // Random positions among the first kSmallExpireIndex items, visited in index order
    // (Sample walks from the start); the hits are shuffled so that taking the first ones does
    // not favour low positions.
    size_t range = std::min(d.expires.size(), window);
    std::vector<size_t> picks;
    for (size_t i = 0; i < 2 * n + 8; i++) picks.push_back(rng_() % range);
    std::sort(picks.begin(), picks.end());
    std::vector<const MemTable::Entry*> hits;
    size_t index = 0, next = 0;
    d.expires.Sample(picks.back() + 1, [&](const ExpireIndex::Item& item) {
      for (; next < picks.size() && picks[next] == index; next++) {
        if (const MemTable::Entry* e = in_memory(item)) hits.push_back(e);
      }
      index++;
    });
    std::shuffle(hits.begin(), hits.end(), rng_);
    for (const MemTable::Entry* e : hits) {
      if (added < n) {
        add(e);
        added++;
      }
    }
  };
  pick();
  if (added < n && d.expires.size() > 2 * d.volatile_keys) {
    // Mostly stale items (every deleted volatile key leaves one): drop them, as the active
    // expire cycle does, then draw again. Amortized O(1) per stale item.
    d.expires.Compact(valid);
    pick();
  }
  if (added == 0 && d.expires.size() <= kSmallExpireIndex) {
    // Unlucky draws or few candidates: one pass over the small index finds any there is.
    d.expires.Sample(d.expires.size(), [&](const ExpireIndex::Item& item) {
      const MemTable::Entry* e = added < n ? in_memory(item) : nullptr;
      if (e != nullptr) {
        add(e);
        added++;
      }
    });
  }
}

bool Engine::MayBeBelowActive(int db, std::string_view key) const {
  const DbTiers& tiers = *version_->dbs[db];
  for (const auto& frozen : tiers.frozen) {
    if (frozen->Find(key) != nullptr) return true;
  }
  for (const TableList& level : tiers.levels) {
    for (const auto& t : level) {
      if (key >= t->meta.smallest && key <= t->meta.largest && t->reader->MayContain(key)) {
        return true;
      }
    }
  }
  return false;
}

bool Engine::IsMemoryKey(int db, std::string_view key, bool volatile_only) const {
  const MemTable::Entry* e = dbs_[db].active->Find(key);
  return e != nullptr && !MemTable::IsTombstone(e) &&
         (!volatile_only || MemTable::ExpireAt(e) != 0);
}

uint32_t Engine::IdleSeconds(int db, std::string_view key) const {
  const MemTable::Entry* e = dbs_[db].active->Find(key);
  if (e == nullptr) {
    for (const auto& frozen : version_->dbs[db]->frozen) {
      if ((e = frozen->Find(key)) != nullptr) break;
    }
  }
  if (e == nullptr || MemTable::IsTombstone(e)) return 0;
  uint32_t last = MemTable::LastAccess(e);
  return last != 0 && access_clock_ > last ? access_clock_ - last : 0;
}

uint64_t Engine::ActiveExpireCycle(int64_t budget_us) {
  if (!active_expire_enabled_) return 0;
  int64_t start = MonotonicUs();
  int64_t now = UnixTimeMs();
  uint64_t expired = 0;
  for (size_t i = 0; i < dbs_.size(); i++) {
    Database& db = dbs_[i];
    int checked = 0;
    while (!db.expires.empty() && db.expires.top().expire_at_ms <= now) {
      ExpireIndex::Item item = db.expires.top();
      db.expires.Pop();
      Found f;
      Lookup(static_cast<int>(i), item.key, false, &f);
      if (f.live() && f.record.expire_at_ms == item.expire_at_ms) {
        ExpireKey(static_cast<int>(i), item.key);
        expired++;
      }
      if ((++checked & 63) == 0 && MonotonicUs() - start > budget_us) return expired;
    }
    // Bound stale entries left by TTL changes and deletes.
    if (db.expires.size() > 2 * db.volatile_keys + 1024) {
      int index = static_cast<int>(i);
      db.expires.Compact([this, index](const ExpireIndex::Item& item) {
        Found f;
        Lookup(index, item.key, false, &f);
        return f.live() && f.record.expire_at_ms == item.expire_at_ms;
      });
    }
  }
  return expired;
}

struct Engine::ExpireRebuild {
  std::vector<std::shared_ptr<const DbTiers>> dbs;  // tables only (no frozen MemTables)
  size_t next_db = 0;
  MemTable empty;  // DbIterator's active tier
  std::unique_ptr<DbIterator> it;
  std::shared_ptr<std::atomic<bool>> cancel;
};

void Engine::StartExpireIndexRebuild() {
  auto job = std::make_shared<ExpireRebuild>();
  for (const auto& tiers : version_->dbs) {
    if (tiers->table_volatile_keys == 0) continue;
    auto tables = std::make_shared<DbTiers>(*tiers);
    tables->frozen.clear();
    job->dbs.push_back(std::move(tables));
  }
  if (job->dbs.empty()) return;
  job->cancel = expire_rebuild_cancel_;
  worker_.Post([this, job] { ExpireRebuildStep(job); });
}

void Engine::ExpireRebuildStep(std::shared_ptr<ExpireRebuild> job) {
  constexpr size_t kBatch = 4096;
  if (job->cancel->load()) return;
  const DbTiers& tiers = *job->dbs[job->next_db];
  if (job->it == nullptr) {
    job->it = std::make_unique<DbIterator>(&job->empty, tiers);
    job->it->SeekToFirst();
  }
  std::vector<ExpireIndex::Item> items;
  for (; job->it->Valid() && items.size() < kBatch; job->it->Next()) {
    int64_t expire_at = job->it->record().expire_at_ms;
    if (!job->it->tombstone() && expire_at != 0) {
      items.push_back(ExpireIndex::Item{expire_at, std::string(job->it->key())});
    }
  }
  if (!job->it->Valid()) {
    // A table that cannot be read leaves its keys to lazy expiry (reads, compaction).
    if (!job->it->status().ok()) {
      organic::Log(LogLevel::kWarning, "Expire index rebuild stopped early: %s",
                   job->it->status().ToString().c_str());
    }
    job->it.reset();
    job->next_db++;
  }
  if (!items.empty()) {
    // By database id: a SWAPDB or FLUSHDB may have run since the snapshot.
    PostToLoop([this, id = tiers.id, items = std::move(items)]() mutable {
      for (size_t i = 0; i < dbs_.size(); i++) {
        if (version_->dbs[i]->id != id) continue;
        for (ExpireIndex::Item& item : items) dbs_[i].expires.Add(item.expire_at_ms, item.key);
      }
    });
  }
  if (job->next_db < job->dbs.size()) worker_.Post([this, job] { ExpireRebuildStep(job); });
}

// ---------------------------------------------------------------------------------------------
// Metabolic flush

void Engine::PostToLoop(std::function<void()> fn) {
  {
    std::lock_guard lock(done_mu_);
    done_.push_back(std::move(fn));
  }
  done_cv_.notify_all();
  if (options_.wake_loop) options_.wake_loop();
}

void Engine::PollBackground() {
  access_clock_ = static_cast<uint32_t>(UnixTimeMs() / 1000);
  read_buffers_.clear();
  std::deque<std::function<void()>> ready;
  {
    std::lock_guard lock(done_mu_);
    ready.swap(done_);
  }
  for (auto& fn : ready) fn();
  // Writes will wait for this flush, or already wait for compaction: the worker goes at the
  // loop's priority (background_worker.h).
  // (Only on a change: this runs every loop iteration and SetHurry takes the worker's lock.)
  const bool hurry = (flush_.running && options_.memtable_budget != 0) || CompactionBehind();
  if (hurry != worker_hurry_) {
    worker_hurry_ = hurry;
    worker_.SetHurry(hurry);
  }
  // More work than one slice: come back on the next iteration even if no I/O wakes it.
  bool more = InstallSurvivors(kSurvivorSliceUs);
  more = ContinueReinstatement(kSurvivorSliceUs) || more;
  if (more && options_.wake_loop) options_.wake_loop();
}

bool Engine::StartFlush(Status* status, bool no_survivors) {
  *status = Status::Ok();
  if (flush_.running) return false;
  AppendBatch();  // this command's earlier changes belong to the generation being frozen
  // Survivors of the previous flush not installed yet are dropped: their records are in the
  // tables, and a copy installed after this flush could be older than what this flush writes.
  pending_survivors_.clear();
  DropReinstatements();
  *status = wal_->NewGeneration();
  if (!status->ok()) return false;
  auto v = EditVersion();
  FlushState next;
  next.generation = wal_->current_generation();
  next.no_survivors = no_survivors;
  next.changes_at_start = stats_.changes_since_save;
  for (size_t i = 0; i < dbs_.size(); i++) {
    Database& db = dbs_[i];
    next.floor_ids.push_back(v->dbs[i]->id);
    if (db.active->entry_count() == 0) continue;
    auto tiers = std::make_shared<DbTiers>(*v->dbs[i]);
    tiers->frozen.insert(tiers->frozen.begin(), db.active);
    FlushInput in;
    in.db_id = tiers->id;
    in.table = db.active;
    in.file_number = next_file_number_.fetch_add(1);
    next.inputs.push_back(std::move(in));
    v->dbs[i] = tiers;
    db.active = std::make_shared<MemTable>();
  }
  InstallVersion(v);
  next.running = true;
  flush_ = std::move(next);
  PostFlushJob();
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
  opts.keep_all = options_.memtable_budget == 0 && options_.memory_unlimited;
  flush_.keep_all = opts.keep_all && !opts.no_survivors;
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
    // second tick retries.
    stats_.flush_errors++;
    stats_.last_flush_failed = true;
    flush_.failed = true;
    organic::Log(LogLevel::kWarning, "Metabolic flush failed (will retry): %s",
                 result.status.ToString().c_str());
    return;
  }
  auto v = EditVersion();
  for (FlushOutput& out : result.outputs) {
    std::shared_ptr<const DbTiers> current = v->Find(out.db_id);
    if (current == nullptr) continue;
    auto tiers = std::make_shared<DbTiers>(*current);
    const FlushInput* input = nullptr;
    for (const FlushInput& in : flush_.inputs) {
      if (in.db_id == out.db_id) input = &in;
    }
    // A keep-all flush leaves a live database's frozen MemTable in place to come back.
    bool live = false;
    for (const auto& d : v->dbs) live = live || d->id == out.db_id;
    if (input != nullptr && live && flush_.keep_all) {
      reinstating_.push_back(Reinstatement{out.db_id, input->table, input->table->First()});
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
  stats_.flush_bytes_written += result.bytes_written;
  stats_.last_save_unix = UnixTimeMs() / 1000;
  // As Redis after a BGSAVE: writes made while the flush ran are not in it, so they still count.
  stats_.changes_since_save -= std::min(stats_.changes_since_save, flush_.changes_at_start);
  // A keep-all flush's tables are the whole data set (a million entries take ~50 ms to free):
  // the worker frees those it does not hand back. A budgeted flush's are at most half the
  // budget and are freed here, so that the server's purge right after the install returns
  // their pages (queued behind a compaction on the worker, they let RSS pass its bound).
  if (flush_.keep_all) {
    for (FlushInput& in : flush_.inputs) ReleaseOnWorker(std::move(in.table));
  }
  flush_ = FlushState();
  PostManifestWrite(wal_->ForgetGenerationsBefore(version_->wal_floor));
  wal_base_size_ = wal_->total_size();
  MaybeStartCompaction();
}

Manifest Engine::BuildManifest(const Version& v) const {
  Manifest m;
  m.wal_floor = v.wal_floor;
  m.last_sequence = sequence_;
  m.next_file_number = next_file_number_.load();
  for (uint64_t id : v.floor_ids) {
    std::shared_ptr<const DbTiers> tiers = v.Find(id);
    ManifestDatabase d;
    d.id = id;
    if (tiers != nullptr) {
      d.table_keys = tiers->table_keys;
      d.table_volatile_keys = tiers->table_volatile_keys;
      for (const TableList& level : tiers->levels) {
        for (const auto& t : level) m.tables.push_back(t->meta);
      }
    }
    m.databases.push_back(d);
  }
  return m;
}

void Engine::PostManifestWrite(std::vector<std::string> wal_paths) {
  Manifest manifest = BuildManifest(*version_);
  // Files any Version may still read: the manifest's and the live databases' tables.
  std::set<uint64_t> keep;
  for (const ManifestTable& t : manifest.tables) keep.insert(t.file_number);
  for (const auto& d : version_->dbs) {
    for (const TableList& level : d->levels) {
      for (const auto& t : level) keep.insert(t->meta.file_number);
    }
  }
  uint64_t pending_floor = PendingFileFloor();
  manifests_pending_++;
  FileSystem* fs = fs_;
  BlockCache* cache = block_cache_.get();
  std::string dir = options_.dir;
  // Urgent: the files this manifest makes obsolete keep their disk space until it is written,
  // and a queued flush or compaction would hold it for its whole run. Safe ahead of them: it
  // describes tables already durable, and PendingFileFloor spares the files they are writing.
  worker_.PostUrgent([this, fs, cache, dir, manifest = std::move(manifest),
                      keep = std::move(keep), wal_paths = std::move(wal_paths), pending_floor] {
    if (Crash("manifest:before-write")) return;
    Status st = WriteManifest(fs, dir, manifest);
    if (st.ok()) {
      if (Crash("manifest:written")) return;
      for (const std::string& path : wal_paths) fs->RemoveFile(path);
      if (Crash("manifest:wal-deleted")) return;
      std::vector<std::string> children;
      if (fs->GetChildren(dir, &children).ok()) {
        for (const std::string& name : children) {
          uint64_t number;
          if (ParseSstableFileName(name, &number) && number < pending_floor &&
              keep.count(number) == 0) {
            fs->RemoveFile(dir + "/" + name);
            // No Version the loop reads holds the table any more: its blocks are dead weight.
            cache->EraseFile(number);
          }
        }
      }
    }
    PostToLoop([this, st] {
      manifests_pending_--;
      if (!st.ok()) {
        // The previous manifest and the WAL generations it needs are still on disk.
        organic::Log(LogLevel::kWarning, "Writing the manifest failed: %s",
                     st.ToString().c_str());
        stats_.flush_errors++;
        stats_.last_flush_failed = true;
      }
    });
  });
}

void Engine::OnSecondTick() {
  access_clock_ = static_cast<uint32_t>(UnixTimeMs() / 1000);
  SizeSketch();  // follows the budget (CONFIG SET) and the entry size
  // A latched WAL error (full disk, I/O error): try the kept records in a new generation.
  wal_->RetryAfterWriteError();
  wal_->ScheduleBackgroundSync();
  if (flush_.running && flush_.failed) {
    flush_.failed = false;
    PostFlushJob();
  }
}

uint64_t Engine::PendingFileFloor() const {
  uint64_t floor = UINT64_MAX;
  for (const FlushInput& in : flush_.inputs) floor = std::min(floor, in.file_number);
  if (compaction_.running) floor = std::min(floor, compaction_.first_file);
  return floor;
}

bool Engine::MaybeStartCompaction() {
  if (compaction_.running || !open_) return false;
  for (size_t i = 0; i < dbs_.size(); i++) {
    const DbTiers& tiers = *version_->dbs[i];
    CompactionJob job;
    if (!PickCompaction(tiers, &compaction_cursors_[tiers.id], &job)) continue;
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
    return true;
  }
  return false;
}

void Engine::InstallCompaction(CompactionResult result) {
  compaction_.running = false;
  if (!result.status.ok()) {
    stats_.compaction_errors++;
    organic::Log(LogLevel::kWarning, "Compaction failed: %s", result.status.ToString().c_str());
    return;
  }
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
  remove(&tiers->levels[job.input_level], job.upper);
  remove(&tiers->levels[job.output_level], job.lower);
  TableList& out = tiers->levels[job.output_level];
  out.insert(out.end(), result.outputs.begin(), result.outputs.end());
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a->meta.smallest < b->meta.smallest; });
  auto v = EditVersion();
  for (auto& d : v->dbs) {
    if (d->id == job.db_id) d = tiers;
  }
  for (auto& d : v->retired) {
    if (d->id == job.db_id) d = tiers;
  }
  InstallVersion(v);
  stats_.compactions++;
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

Status Engine::WaitForBackground() {
  while (flush_.running || compaction_.running || manifests_pending_ > 0) {
    if (flush_.running && flush_.failed) return Status::IOError("metabolic flush failed");
    {
      std::unique_lock lock(done_mu_);
      done_cv_.wait(lock, [this] { return !done_.empty(); });
    }
    PollBackground();
  }
  return Status::Ok();
}

Status Engine::Flush() {
  RETURN_IF_ERROR(WaitForBackground());
  Status st;
  if (!StartFlush(&st)) return st;
  return WaitForBackground();
}

bool Engine::WritesShouldStall() const {
  if (options_.memtable_budget == 0 || (!flush_.running && !CompactionBehind())) return false;
  return active_memtable_bytes() >= options_.memtable_budget;
}

bool Engine::CompactionBehind() const {
  for (const auto& d : version_->dbs) {
    if (!d->levels.empty() && d->levels[0].size() >= kL0StopWritesTrigger) return true;
  }
  return false;
}

bool Engine::MaybeStartAutoFlush(int percentage, uint64_t min_size) {
  if (flush_.running) return false;
  // Without a budget nothing stalls writes, so deferring the flush would only grow the WAL.
  if (options_.memtable_budget != 0 && CompactionBehind()) return false;
  bool over_budget = options_.memtable_budget != 0 &&
                     dbs_.size() > 0 && memtable_bytes() >= options_.memtable_budget / 2;
  uint64_t size = wal_->total_size();
  uint64_t threshold = wal_base_size_ + wal_base_size_ * static_cast<uint64_t>(percentage) / 100;
  bool wal_grown = percentage > 0 && size >= min_size && size >= threshold;
  if (!over_budget && !wal_grown) return false;
  Status st;
  if (!StartFlush(&st)) {
    if (!st.ok()) organic::Log(LogLevel::kWarning, "Metabolic flush failed to start: %s",
                               st.ToString().c_str());
    return false;
  }
  return true;
}

Status Engine::Reload() {
  RETURN_IF_ERROR(WaitForBackground());
  Status st;
  if (!StartFlush(&st, /*no_survivors=*/true)) return st;
  RETURN_IF_ERROR(WaitForBackground());
  RETURN_IF_ERROR(Close());
  wal_.reset();
  block_cache_->Clear();  // see block_cache_
  ResetDatabases();
  sequence_ = 0;
  stats_.recovery = WalRecoveryReport();
  flush_ = FlushState();
  compaction_ = CompactionState();
  pending_survivors_.clear();
  reinstating_.clear();
  return Open();
}

void Engine::ResetStats() {
  stats_.keyspace_hits = 0;
  stats_.keyspace_misses = 0;
  stats_.expired_keys = 0;
  stats_.memory_hits = 0;
  stats_.disk_hits = 0;
  stats_.bloom_checks = 0;
  stats_.bloom_skips = 0;
  stats_.promotions = 0;
  block_cache_->ResetStats();
}

void Engine::set_block_cache_capacity(uint64_t bytes) {
  options_.block_cache_bytes = bytes;
  block_cache_->SetCapacity(bytes);
}

namespace {
// Sums of(table) over the frozen MemTables of every database, live or retired.
template <typename Fn>
uint64_t SumFrozen(const Version& v, Fn of) {
  uint64_t total = 0;
  for (const auto* list : {&v.dbs, &v.retired}) {
    for (const auto& d : *list) {
      for (const auto& f : d->frozen) total += of(*f);
    }
  }
  return total;
}
}  // namespace

size_t Engine::active_memtable_bytes() const {
  size_t total = 0;
  for (const Database& db : dbs_) total += db.active->memory_bytes();
  return total;
}

size_t Engine::memtable_bytes() const { return active_memtable_bytes() + frozen_memtable_bytes(); }

size_t Engine::frozen_memtable_bytes() const {
  return SumFrozen(*version_, [](const MemTable& t) { return t.memory_bytes(); });
}

uint64_t Engine::memtable_entries() const {
  uint64_t n = frozen_memtable_entries();
  for (const Database& db : dbs_) n += db.active->entry_count();
  return n;
}

uint64_t Engine::frozen_memtable_entries() const {
  return SumFrozen(*version_, [](const MemTable& t) { return t.entry_count(); });
}

}  // namespace organic::engine
