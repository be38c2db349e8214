#include "engine/engine.h"

#include <algorithm>

#include "util/clock.h"
#include "util/log.h"

namespace organic::engine {

Engine::Engine(EngineOptions options)
    : options_(std::move(options)),
      fs_(options_.fs != nullptr ? options_.fs : DefaultFileSystem()),
      rng_(static_cast<uint32_t>(MonotonicUs())) {
  ResetDatabases();
}

Engine::~Engine() { Close(); }

void Engine::ResetDatabases() {
  dbs_.clear();
  dbs_.resize(static_cast<size_t>(options_.databases));
  for (Database& db : dbs_) db.table = std::make_unique<MemTable>();
}

Status Engine::Open() {
  int64_t start = MonotonicUs();
  worker_.Start();
  wal_ = std::make_unique<WalLog>(fs_, options_.dir, options_.fsync, &worker_);
  replaying_ = true;
  Status st = wal_->Recover(
      [this](std::string_view payload) {
        Mutation m;
        if (!DecodeMutation(payload, &m)) return Status::Corruption("undecodable mutation");
        sequence_ = std::max(sequence_, m.sequence);
        return Apply(m);
      },
      &stats_.recovery);
  replaying_ = false;
  if (!st.ok()) return st;
  stats_.recovery_duration_us = MonotonicUs() - start;
  stats_.last_save_unix = UnixTimeMs() / 1000;
  wal_base_size_ = wal_->total_size();
  open_ = true;
  return Status::Ok();
}

Status Engine::Close() {
  if (!open_) return Status::Ok();
  open_ = false;
  Status st = wal_->SyncNow();
  worker_.Stop();
  return st;
}

Status Engine::Apply(const Mutation& m) {
  auto db_ok = [this](uint32_t db) { return db < dbs_.size(); };
  switch (m.op) {
    case MutationOp::kPut: {
      if (!db_ok(m.db)) return Status::Corruption("database index out of range");
      Database& db = dbs_[m.db];
      bool existed;
      int64_t old_expire = 0;
      db.table->Upsert(m.key, m.sequence, m.type, m.expire_at_ms, m.value, m.encoding,
                       &existed, &old_expire);
      if (old_expire != 0) db.volatile_keys--;
      if (m.expire_at_ms != 0) {
        db.volatile_keys++;
        db.expires.Add(m.expire_at_ms, m.key);
      }
      break;
    }
    case MutationOp::kDelete: {
      if (!db_ok(m.db)) return Status::Corruption("database index out of range");
      Database& db = dbs_[m.db];
      MemTable::Entry* old = db.table->Find(m.key);
      if (old == nullptr) break;
      if (MemTable::ExpireAt(old) != 0) db.volatile_keys--;
      db.table->Erase(m.key);
      break;
    }
    case MutationOp::kSetExpire: {
      if (!db_ok(m.db)) return Status::Corruption("database index out of range");
      Database& db = dbs_[m.db];
      MemTable::Entry* old = db.table->Find(m.key);
      if (old == nullptr) break;
      bool had_ttl = MemTable::ExpireAt(old) != 0;
      db.table->SetExpire(m.key, m.sequence, m.expire_at_ms);
      if (had_ttl) db.volatile_keys--;
      if (m.expire_at_ms != 0) {
        db.volatile_keys++;
        db.expires.Add(m.expire_at_ms, m.key);
      }
      break;
    }
    case MutationOp::kFlushDb: {
      if (!db_ok(m.db)) return Status::Corruption("database index out of range");
      Database& db = dbs_[m.db];
      db.table = std::make_unique<MemTable>();
      db.expires.Clear();
      db.volatile_keys = 0;
      break;
    }
    case MutationOp::kFlushAll:
      ResetDatabases();
      break;
    case MutationOp::kSwapDb:
      if (!db_ok(m.db) || !db_ok(m.other_db)) {
        return Status::Corruption("database index out of range");
      }
      std::swap(dbs_[m.db], dbs_[m.other_db]);
      break;
    default:
      return Status::Corruption("unknown mutation op");
  }
  return Status::Ok();
}

void Engine::Log(Mutation& m) {
  m.sequence = ++sequence_;
  if (replaying_) return;
  encode_buf_.clear();
  EncodeMutation(m, &encode_buf_);
  Status st = wal_->Append(encode_buf_);
  if (!st.ok()) organic::Log(LogLevel::kWarning, "WAL append failed: %s", st.ToString().c_str());
  stats_.mutations_logged++;
  stats_.changes_since_save++;
}

std::optional<RecordView> Engine::Get(int db, std::string_view key, LookupMode mode) {
  MemTable::Entry* e = dbs_[db].table->Find(key);
  if (e != nullptr && IsExpired(MemTable::ExpireAt(e), UnixTimeMs())) {
    ExpireKey(db, key);
    e = nullptr;
  }
  // As Redis's lookupKey: reads count hits/misses (NOTOUCH only skips the access update);
  // reads made on behalf of writes count nothing.
  if (e == nullptr) {
    if (mode != LookupMode::kWrite) stats_.keyspace_misses++;
    return std::nullopt;
  }
  if (mode != LookupMode::kWrite) stats_.keyspace_hits++;
  if (mode == LookupMode::kRead) MemTable::BumpAccess(e);
  return MemTable::View(e);
}

void Engine::Put(int db, std::string_view key, ValueType type, std::string_view value,
                 int64_t expire_at_ms, EncodingHint encoding) {
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
  MemTable::Entry* e = dbs_[db].table->Find(key);
  if (e == nullptr) return false;
  bool live = !IsExpired(MemTable::ExpireAt(e), UnixTimeMs());
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
  if (!Get(db, key, LookupMode::kWrite).has_value()) return false;
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
  if (checkpoint_.active) RestartCheckpointWalk();
  Mutation m;
  m.op = MutationOp::kFlushDb;
  m.db = static_cast<uint32_t>(db);
  Log(m);
  Apply(m);
}

void Engine::FlushAll() {
  if (checkpoint_.active) RestartCheckpointWalk();
  Mutation m;
  m.op = MutationOp::kFlushAll;
  Log(m);
  Apply(m);
}

void Engine::SwapDb(int a, int b) {
  if (checkpoint_.active) RestartCheckpointWalk();
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

void Engine::Scan(int db, std::string_view start, bool after, size_t max_visits,
                  const std::function<void(std::string_view, const RecordView&)>& visit,
                  std::string* next_start, bool* finished) {
  MemTable* table = dbs_[db].table.get();
  MemTable::Entry* e = start.empty() && !after ? table->First() : table->Seek(start, after);
  int64_t now = UnixTimeMs();
  // Collect expired keys to delete after the walk: deleting while walking would free e.
  std::vector<std::string> expired;
  size_t visited = 0;
  for (; e != nullptr && visited < max_visits; e = MemTable::Next(e), visited++) {
    std::string_view key = MemTable::Key(e);
    next_start->assign(key);
    if (IsExpired(MemTable::ExpireAt(e), now)) {
      expired.emplace_back(key);
      continue;
    }
    visit(key, MemTable::View(e));
  }
  *finished = e == nullptr;
  for (const std::string& key : expired) ExpireKey(db, key);
}

bool Engine::RandomKey(int db, std::string* key) {
  MemTable* table = dbs_[db].table.get();
  int64_t now = UnixTimeMs();
  // Like Redis: give up on expired candidates after a bounded number of tries, deleting them.
  for (int tries = 0; tries < 100; tries++) {
    MemTable::Entry* e = table->RandomEntry(&rng_);
    if (e == nullptr) return false;
    if (!IsExpired(MemTable::ExpireAt(e), now)) {
      key->assign(MemTable::Key(e));
      return true;
    }
    ExpireKey(db, std::string(MemTable::Key(e)));
  }
  return false;
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
      MemTable::Entry* e = db.table->Find(item.key);
      if (e != nullptr && MemTable::ExpireAt(e) == item.expire_at_ms) {
        ExpireKey(static_cast<int>(i), item.key);
        expired++;
      }
      if ((++checked & 63) == 0 && MonotonicUs() - start > budget_us) return expired;
    }
    // Bound stale entries left by TTL changes and deletes.
    if (db.expires.size() > 2 * db.volatile_keys + 1024) {
      MemTable* table = db.table.get();
      db.expires.Compact([table](const ExpireIndex::Item& item) {
        MemTable::Entry* e = table->Find(item.key);
        return e != nullptr && MemTable::ExpireAt(e) == item.expire_at_ms;
      });
    }
  }
  return expired;
}

bool Engine::StartCheckpoint(Status* status) {
  if (checkpoint_.active) return false;
  *status = wal_->NewGeneration();
  if (!status->ok()) return false;
  checkpoint_ = CheckpointState();
  checkpoint_.active = true;
  checkpoint_.generation = wal_->current_generation();
  checkpoint_.started_us = MonotonicUs();
  return true;
}

void Engine::RestartCheckpointWalk() {
  checkpoint_.db = 0;
  checkpoint_.resume_after.clear();
  checkpoint_.fresh_db = true;
}

Status Engine::CheckpointStep(int64_t budget_us) {
  if (!checkpoint_.active) return Status::Ok();
  int64_t start = MonotonicUs();
  int64_t now = UnixTimeMs();
  size_t copied = 0;
  while (checkpoint_.db < dbs_.size()) {
    MemTable* table = dbs_[checkpoint_.db].table.get();
    MemTable::Entry* e = checkpoint_.fresh_db ? table->First()
                                              : table->Seek(checkpoint_.resume_after, true);
    for (; e != nullptr; e = MemTable::Next(e)) {
      if (!IsExpired(MemTable::ExpireAt(e), now)) {
        Mutation m;
        m.op = MutationOp::kPut;
        m.sequence = MemTable::Sequence(e);
        m.db = static_cast<uint32_t>(checkpoint_.db);
        m.key = MemTable::Key(e);
        m.type = MemTable::Type(e);
        m.expire_at_ms = MemTable::ExpireAt(e);
        m.value = MemTable::Value(e);
        m.encoding = MemTable::Encoding(e);
        encode_buf_.clear();
        EncodeMutation(m, &encode_buf_);
        RETURN_IF_ERROR(wal_->Append(encode_buf_));
      }
      if ((++copied & 255) == 0 && MonotonicUs() - start > budget_us) {
        checkpoint_.resume_after.assign(MemTable::Key(e));
        checkpoint_.fresh_db = false;
        return Status::Ok();
      }
    }
    checkpoint_.db++;
    checkpoint_.resume_after.clear();
    checkpoint_.fresh_db = true;
  }
  return FinishCheckpoint();
}

Status Engine::FinishCheckpoint() {
  RETURN_IF_ERROR(wal_->SyncNow());
  RETURN_IF_ERROR(wal_->RemoveGenerationsBefore(checkpoint_.generation));
  checkpoint_.active = false;
  wal_base_size_ = wal_->total_size();
  stats_.last_save_unix = UnixTimeMs() / 1000;
  stats_.changes_since_save = 0;
  stats_.last_checkpoint_duration_us = MonotonicUs() - checkpoint_.started_us;
  stats_.checkpoints++;
  return Status::Ok();
}

Status Engine::Checkpoint() {
  Status st;
  if (!checkpoint_.active && !StartCheckpoint(&st)) return st;
  while (checkpoint_.active) RETURN_IF_ERROR(CheckpointStep(INT64_MAX / 2));
  return Status::Ok();
}

bool Engine::MaybeStartAutoCheckpoint(int percentage, uint64_t min_size) {
  if (checkpoint_.active || percentage <= 0) return false;
  uint64_t size = wal_->total_size();
  uint64_t threshold = wal_base_size_ + wal_base_size_ * static_cast<uint64_t>(percentage) / 100;
  if (size < min_size || size < threshold) return false;
  Status st;
  if (!StartCheckpoint(&st)) {
    if (!st.ok()) organic::Log(LogLevel::kWarning, "Automatic checkpoint failed to start: %s",
                               st.ToString().c_str());
    return false;
  }
  organic::Log(LogLevel::kNotice, "Starting automatic WAL checkpoint: WAL is %llu bytes",
               static_cast<unsigned long long>(size));
  return true;
}

Status Engine::Reload() {
  RETURN_IF_ERROR(Checkpoint());
  worker_.Stop();
  wal_.reset();
  ResetDatabases();
  sequence_ = 0;
  stats_.recovery = WalRecoveryReport();
  open_ = false;
  checkpoint_ = CheckpointState();
  return Open();
}

void Engine::ResetStats() {
  stats_.keyspace_hits = 0;
  stats_.keyspace_misses = 0;
  stats_.expired_keys = 0;
}

size_t Engine::memtable_bytes() const {
  size_t total = 0;
  for (const Database& db : dbs_) total += db.table->memory_bytes();
  return total;
}

}  // namespace organic::engine
