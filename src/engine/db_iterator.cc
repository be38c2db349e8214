#include "engine/db_iterator.h"

namespace organic::engine {

// One tier's cursor. Key order within a source is strict (a tier holds one record per key).
class DbIterator::Source {
 public:
  virtual ~Source() = default;
  virtual void SeekToFirst() = 0;
  virtual void Seek(std::string_view target) = 0;  // first key >= target
  virtual bool Valid() const = 0;
  virtual void Next() = 0;
  virtual std::string_view key() const = 0;
  // Decodes the current record; false on a damaged table record.
  virtual bool Decode(TableRecord* r) const = 0;
  virtual MemTable::Entry* entry() const { return nullptr; }
  virtual Status status() const { return Status::Ok(); }
};

namespace {

class MemTableSource : public DbIterator::Source {
 public:
  explicit MemTableSource(const MemTable* table) : table_(table) {}
  void SeekToFirst() override { e_ = table_->First(); }
  void Seek(std::string_view target) override { e_ = table_->Seek(target, false); }
  bool Valid() const override { return e_ != nullptr; }
  void Next() override { e_ = MemTable::Next(e_); }
  std::string_view key() const override { return MemTable::Key(e_); }
  bool Decode(TableRecord* r) const override {
    r->tombstone = MemTable::IsTombstone(e_);
    r->type = MemTable::Type(e_);
    r->encoding = MemTable::Encoding(e_);
    r->sequence = MemTable::Sequence(e_);
    r->expire_at_ms = MemTable::ExpireAt(e_);
    r->value = MemTable::Value(e_);
    return true;
  }
  MemTable::Entry* entry() const override { return e_; }

 private:
  const MemTable* table_;
  MemTable::Entry* e_ = nullptr;
};

// The tables of one level in key order: one table for a level-0 table (they overlap), the
// whole level for deeper ones (disjoint, sorted), moving from table to table.
class LevelSource : public DbIterator::Source {
 public:
  explicit LevelSource(TableList tables) : tables_(std::move(tables)) {}
  void SeekToFirst() override { Open(0, nullptr); }
  void Seek(std::string_view target) override {
    size_t i = 0;
    while (i < tables_.size() && tables_[i]->meta.largest < target) i++;
    Open(i, &target);
  }
  bool Valid() const override { return it_ != nullptr && it_->Valid(); }
  void Next() override {
    it_->Next();
    if (!it_->Valid() && it_->status().ok()) Open(index_ + 1, nullptr);
  }
  std::string_view key() const override { return it_->key(); }
  bool Decode(TableRecord* r) const override { return DecodeTableRecord(it_->value(), r); }
  Status status() const override { return it_ == nullptr ? Status::Ok() : it_->status(); }

 private:
  // Positions at table i (at target, or its first key), skipping empty tables.
  void Open(size_t i, const std::string_view* target) {
    for (index_ = i; index_ < tables_.size(); index_++) {
      it_ = tables_[index_]->reader->NewIterator();
      if (target != nullptr) it_->Seek(*target);
      else it_->SeekToFirst();
      if (it_->Valid() || !it_->status().ok()) return;
      target = nullptr;
    }
  }

  TableList tables_;
  size_t index_ = 0;
  std::unique_ptr<SstableReader::Iterator> it_;
};

}  // namespace

DbIterator::DbIterator(const MemTable* active, const DbTiers& tiers) {
  sources_.push_back(std::make_unique<MemTableSource>(active));
  for (const auto& frozen : tiers.frozen) sources_.push_back(std::make_unique<MemTableSource>(frozen.get()));
  for (size_t level = 0; level < tiers.levels.size(); level++) {
    if (level == 0) {
      for (const auto& t : tiers.levels[0]) sources_.push_back(std::make_unique<LevelSource>(TableList{t}));
    } else if (!tiers.levels[level].empty()) {
      sources_.push_back(std::make_unique<LevelSource>(tiers.levels[level]));
    }
  }
}

DbIterator::~DbIterator() = default;

void DbIterator::SeekToFirst() {
  for (auto& s : sources_) s->SeekToFirst();
  FindCurrent();
}

void DbIterator::Seek(std::string_view target, bool exclusive) {
  std::string copy(target);  // target may point into a source's buffer
  for (auto& s : sources_) {
    s->Seek(copy);
    if (exclusive && s->Valid() && s->key() == copy) s->Next();
  }
  FindCurrent();
}

void DbIterator::Next() {
  std::string current(key());
  for (auto& s : sources_) {
    if (s->Valid() && s->key() == current) s->Next();
  }
  FindCurrent();
}

void DbIterator::FindCurrent() {
  current_ = -1;
  for (size_t i = 0; i < sources_.size(); i++) {
    const Source& s = *sources_[i];
    if (!s.status().ok()) {
      status_ = s.status();
      current_ = -1;
      return;
    }
    if (!s.Valid()) continue;
    if (current_ < 0 || s.key() < sources_[current_]->key()) current_ = static_cast<int>(i);
  }
  if (current_ >= 0 && !sources_[current_]->Decode(&record_)) {
    status_ = Status::Corruption("undecodable table record for key '" +
                                 std::string(sources_[current_]->key()) + "'");
    current_ = -1;
  }
}

std::string_view DbIterator::key() const { return sources_[current_]->key(); }

MemTable::Entry* DbIterator::memtable_entry() const { return sources_[current_]->entry(); }

RecordView DbIterator::record() const {
  RecordView v;
  v.type = record_.type;
  v.expire_at_ms = record_.expire_at_ms;
  v.sequence = record_.sequence;
  v.encoding = record_.encoding;
  v.value = record_.value;
  MemTable::Entry* e = memtable_entry();
  v.access_count = e != nullptr ? MemTable::AccessCount(e) : 0;
  return v;
}

}  // namespace organic::engine
