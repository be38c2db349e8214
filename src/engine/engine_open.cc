// Opening and closing the engine: the manifest's tables, the WAL replay, DEBUG RELOAD.
// Split out of engine.cc (one job per file); loop thread only.
#include <algorithm>
#include <set>

#include "engine/engine.h"
#include "util/clock.h"
#include "util/log.h"

namespace organic::engine {

// A table that cannot be opened never stops a restart (docs/sstable-format.md, "Damaged
// tables"): a bad filter block is dropped (the table answers "may contain" for every key and
// loses nothing), and a table whose footer or index cannot be read (or whose file is missing)
// stays listed, set aside, behind a reader that answers every key of its manifest range with
// the error. Either way the table keeps its place in the Version and the manifest, so nothing
// deletes the file and the keys it shadows stay shadowed.
std::shared_ptr<const SstableReader> Engine::OpenListedTable(const ManifestTable& meta,
                                                             Status* damage) {
  std::string name = SstableFileName(meta.file_number);
  std::unique_ptr<RandomAccessFile> file;
  Status st = fs_->NewRandomAccessFile(options_.dir + "/" + name, &file);
  std::unique_ptr<SstableReader> reader;
  if (st.ok()) {
    st = SstableReader::Open(std::move(file), meta.file_size, name, &reader,
                             /*allow_bad_filter=*/true);
  }
  if (!st.ok()) {
    organic::Log(LogLevel::kWarning,
                 "Damaged table %s set aside (keys '%s' to '%s' answer the error): %s",
                 name.c_str(), meta.smallest.c_str(), meta.largest.c_str(),
                 st.ToString().c_str());
    *damage = st;
    return SstableReader::Unreadable(name, st);
  }
  if (!reader->filter_status().ok()) {
    organic::Log(LogLevel::kWarning,
                 "Damaged bloom filter in %s ignored (every lookup in its range reads the "
                 "table until a compaction rewrites it): %s",
                 name.c_str(), reader->filter_status().ToString().c_str());
  }
  return reader;
}

Status Engine::OpenTables(const Manifest& manifest) {
  const size_t users = manifest.user_databases;
  if (users > static_cast<size_t>(databases())) {
    return Status::InvalidArgument("the data directory holds " + std::to_string(users) +
                                   " databases but 'databases' is " +
                                   std::to_string(databases()));
  }
  auto v = std::make_shared<Version>(*version_);
  std::vector<std::shared_ptr<DbTiers>> tiers;
  for (size_t i = 0; i < dbs_.size(); i++) {
    // Internal index i is user database i, or the member space of database i - databases();
    // the manifest lists its `users` databases, then their member spaces (version 2).
    const bool member = i >= static_cast<size_t>(databases());
    const size_t user = member ? i - static_cast<size_t>(databases()) : i;
    const size_t listed = member ? users + user : user;
    auto t = std::make_shared<DbTiers>();
    if (user < users && listed < manifest.databases.size()) {
      const ManifestDatabase& d = manifest.databases[listed];
      t->id = d.id;
      t->table_keys = d.table_keys;
      t->table_volatile_keys = d.table_volatile_keys;
      dbs_[i].dead_ids.insert(d.dead.begin(), d.dead.end());
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
    auto table = std::make_shared<TableFile>();
    table->meta = meta;
    table->reader = OpenListedTable(meta, &table->damage);
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
  v->floor_sequence = manifest.floor_sequence;
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
  wal_worker_.Start();
  wal_worker_.SetHurry(true);
  wal_ = std::make_unique<WalLog>(fs_, options_.dir, options_.fsync, &wal_worker_);
  replaying_ = true;
  // Sequence numbers rise through the log. A mutation not above the last one replayed is a
  // second copy that a retry after a WAL write error wrote to a new generation (wal_log.h):
  // applying it again would undo what followed it (SWAPDB) or repeat it.
  // Mutations up to the manifest's floor sequence are in the tables already.
  uint64_t last_replayed = version_->floor_sequence;
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
  read_error_ = Status::Ok();  // a replayed lookup's error is no command's (see Apply)
  if (stats_.replay_read_errors > 0) {
    organic::Log(LogLevel::kWarning,
                 "WAL replay: %llu replayed writes met an unreadable table block; DBSIZE and "
                 "INFO keyspace may be off by up to that many keys",
                 static_cast<unsigned long long>(stats_.replay_read_errors));
  }
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
  wal_worker_.Stop();  // its queued fsyncs and closes run first
  worker_.Stop();
  std::lock_guard lock(done_mu_);
  done_.clear();
  return st;
}

Status Engine::Reload() {
  RETURN_IF_ERROR(WaitForBackground());
  // Reopening reads the durable manifest: with a manifest write still failing, that is an
  // older one than the Version in memory, and the retry after the reopen would write a
  // manifest of the reloaded state and delete WAL generations it does not cover.
  if (manifest_failed_) {
    return Status::IOError("a manifest write failed and waits for its retry; see the log");
  }
  Status st;
  if (!StartFlush(&st, /*no_survivors=*/true)) return st;
  RETURN_IF_ERROR(WaitForBackground());
  RETURN_IF_ERROR(Close());
  wal_.reset();
  block_cache_->Clear();  // see block_cache_
  ResetDatabases();
  sequence_ = 0;
  stats_.recovery = WalRecoveryReport();
  stats_.replay_read_errors = 0;
  flush_ = FlushState();
  compaction_ = CompactionState();
  damage_found_.clear();  // tables of the Version being dropped
  pending_survivors_.clear();
  checkpoint_marks_.clear();
  return Open();
}

}  // namespace organic::engine
