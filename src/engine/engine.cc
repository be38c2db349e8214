#include "engine/engine.h"

#include <algorithm>
#include <set>

#include "engine/collection_meta.h"
#include "engine/db_iterator.h"
#include "engine/key_index.h"
#include "util/clock.h"
#include "util/log.h"

namespace organic::engine {

namespace {
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
  // Each user database and then each one's member space (see databases()).
  dbs_.resize(2 * static_cast<size_t>(options_.databases));
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

void Engine::ResetDatabase(size_t index) {
  Database& db = dbs_[index];
  db.active = std::make_shared<MemTable>();
  db.expires.Clear();
  db.keys = 0;
  db.volatile_keys = 0;
  db.dead_ids.clear();
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

// ---------------------------------------------------------------------------------------------
// Mutations of whole databases (one key's reads and writes: engine_keys.cc)

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
          // An unreadable table (footer or index lost) has no blocks: start from its first key.
          size_t blocks = std::max<size_t>(1, t->reader->num_blocks());
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
  more = ContinueCheckpointCopy(kSurvivorSliceUs) || more;
  more = ContinueCheckpointMarks(kSurvivorSliceUs) || more;
  more = ContinueMemberErase(kEraseSliceUs) || more;
  if (more && options_.wake_loop) options_.wake_loop();
}

Manifest Engine::BuildManifest(const Version& v) const {
  Manifest m;
  m.wal_floor = v.wal_floor;
  m.floor_sequence = v.floor_sequence;
  m.last_sequence = sequence_;
  m.next_file_number = next_file_number_.load();
  m.user_databases = static_cast<uint64_t>(databases());
  for (uint64_t id : v.floor_ids) {
    std::shared_ptr<const DbTiers> tiers = v.Find(id);
    ManifestDatabase d;
    d.id = id;
    // A live member space's dead ids (a retired one's records are dropped with its tables).
    for (size_t i = static_cast<size_t>(databases()); i < v.dbs.size(); i++) {
      if (v.dbs[i]->id == id) d.dead.assign(dbs_[i].dead_ids.begin(), dbs_[i].dead_ids.end());
    }
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
  // A failed write's generations go with this one: it describes a newer Version, which needs
  // none of them either.
  wal_paths.insert(wal_paths.end(), manifest_wal_paths_.begin(), manifest_wal_paths_.end());
  manifest_wal_paths_.clear();
  manifest_failed_ = false;
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
    std::vector<std::string> unremoved = st.ok() ? std::vector<std::string>() : wal_paths;
    PostToLoop([this, st, unremoved = std::move(unremoved)] {
      manifests_pending_--;
      if (!st.ok()) {
        // The previous manifest (WriteManifest replaces it only by an atomic rename) and the
        // WAL generations it needs are still on disk: a restart finds the state before this
        // install, and the WAL replays the rest. Retried, backing off, by OnSecondTick.
        manifest_failed_ = true;
        manifest_wal_paths_.insert(manifest_wal_paths_.end(), unremoved.begin(), unremoved.end());
        manifest_retry_.Failed(second_ticks_);
        organic::Log(LogLevel::kWarning, "Writing the manifest failed (retry in %llu s): %s",
                     static_cast<unsigned long long>(manifest_retry_.due_tick - second_ticks_),
                     st.ToString().c_str());
        stats_.flush_errors++;
        stats_.last_flush_failed = true;
      } else {
        manifest_retry_.Succeeded();
      }
    });
  });
}

void Engine::OnSecondTick() {
  access_clock_ = static_cast<uint32_t>(UnixTimeMs() / 1000);
  SizeSketch();  // follows the budget (CONFIG SET) and the entry size
  // Also here, not only after installs: a reinstated or erased MemTable lets go of a dead id
  // between them.
  PruneDeadIds();
  // A latched WAL error (full disk, I/O error): try the kept records in a new generation.
  wal_->RetryAfterWriteError();
  wal_->ScheduleBackgroundSync();
  second_ticks_++;
  if (flush_.running && flush_.failed && flush_retry_.Due(second_ticks_)) {
    flush_.failed = false;
    PostFlushJob();
  }
  if (manifest_failed_ && manifests_pending_ == 0 && manifest_retry_.Due(second_ticks_)) {
    PostManifestWrite({});
  }
}

uint64_t Engine::PendingFileFloor() const {
  uint64_t floor = UINT64_MAX;
  for (const FlushInput& in : flush_.inputs) floor = std::min(floor, in.file_number);
  if (compaction_.running) floor = std::min(floor, compaction_.first_file);
  return floor;
}

Status Engine::WaitForBackground() {
  while (flush_.running || compaction_.running || manifests_pending_ > 0) {
    if (flush_.running && flush_.failed) return flush_.error;
    if (flush_.copying()) {
      ContinueCheckpointCopy(INT64_MAX);  // the loop's part of a checkpoint, all at once
      continue;
    }
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
  // Active and frozen together: counting the active MemTable alone let a flush that started
  // while the previous one ran freeze a whole budget's worth, then the active one fill another
  // (2x the budget, seen on a loaded machine by tiering_test's bound).
  return memtable_bytes() >= options_.memtable_budget;
}

bool Engine::CompactionBehind() const {
  for (const auto& d : version_->dbs) {
    if (d->levels.empty()) continue;
    // Damaged tables stay in level 0 with up to one undamaged table under each that no
    // compaction can merge (compaction.h, "Damaged tables"): they must not stall writes.
    size_t damaged = 0;
    for (const auto& t : d->levels[0]) damaged += t->damage.ok() ? 0 : 1;
    if (d->levels[0].size() >= kL0StopWritesTrigger + 2 * damaged) return true;
  }
  return false;
}

bool Engine::MaybeStartAutoFlush(int percentage, uint64_t min_size) {
  // While the WAL cannot be written no generation can start: nothing to try (writes are
  // refused meanwhile, so memory does not grow).
  if (flush_.running || !wal_->write_error().ok()) return false;
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
