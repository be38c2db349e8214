// DbIterator: the merged, key-ordered view of one database across its tiers — the active
// MemTable, the frozen MemTables and the SSTables — yielding for each key only its newest
// record (a tier earlier in that list shadows a later one). SCAN, KEYS and RANDOMKEY walk it.
//
// Tombstones are yielded too (tombstone() is true), so a caller can count them as examined
// without returning them. Views (key(), record().value) stay valid until the next positioning
// call. The caller keeps the MemTables and the DbTiers alive and unmodified while iterating
// (the engine creates an iterator per call on the loop thread and mutates nothing meanwhile).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/memtable.h"
#include "engine/record.h"
#include "engine/table_record.h"
#include "engine/version.h"
#include "util/status.h"

namespace organic::engine {

class DbIterator {
 public:
  DbIterator(const MemTable* active, const DbTiers& tiers);
  ~DbIterator();
  DbIterator(const DbIterator&) = delete;
  DbIterator& operator=(const DbIterator&) = delete;

  void SeekToFirst();
  // First key >= target (> target when exclusive).
  void Seek(std::string_view target, bool exclusive);
  bool Valid() const { return current_ >= 0; }
  void Next();

  // REQUIRES: Valid().
  std::string_view key() const;
  bool tombstone() const { return record_.tombstone; }
  // The newest record's view (access_count is 0 for a record read from a table).
  RecordView record() const;
  // The MemTable entry holding the record, or nullptr when it comes from a table.
  MemTable::Entry* memtable_entry() const;

  // OK unless a table could not be read (the iteration then ends early).
  const Status& status() const { return status_; }

  class Source;  // one tier: a MemTable or one level of tables

 private:
  // Picks the smallest key among the sources (newest source first on ties) and decodes it.
  void FindCurrent();

  std::vector<std::unique_ptr<Source>> sources_;  // newest first
  int current_ = -1;                              // index in sources_, -1 = not Valid
  TableRecord record_;
  Status status_;
};

}  // namespace organic::engine
