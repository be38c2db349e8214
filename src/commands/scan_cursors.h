// ScanCursorTable: SCAN cursor ids -> resume positions.
//
// Why a table: Redis's SCAN cursor is a hash-table bucket index encoded in reverse binary, so
// the cursor itself carries the position and the server keeps no state. Our keyspace is an
// ordered skip list, and the only stable position in it is a key: "resume strictly after key
// K". A key cannot be put into a numeric cursor, so each SCAN reply hands out a fresh numeric
// id and this table remembers which (database, last key examined) it stands for.
//
// Contract seen by clients:
//  - Cursor 0 starts at the first key; the reply cursor is 0 once the end was reached.
//  - Every other reply cursor is a new non-zero id. Ids are never reused for a different
//    position while they are in the table, and a cursor may be sent again (a client retrying
//    after a lost reply resumes from the same place: ids are not consumed by use).
//  - Guarantee (Redis's SCAN contract): a key present in the database for the whole iteration
//    is returned at least once. It holds because a resume position is a key, and the walk
//    continues strictly after it in key order, whatever was inserted or deleted meanwhile.
//  - An unknown id (evicted, issued before a restart, issued for another database, or made up)
//    restarts the iteration from the first key. Trade-off: Redis's contract allows duplicates
//    but never skipping, so restarting (duplicates) is the safe answer; continuing from a
//    guessed position could skip keys. The cost: a client whose cursor is evicted between two
//    calls sees keys again, and one that is always evicted (more than max_entries other SCAN
//    replies between each of its calls) would never finish. With the default 64k entries that
//    takes tens of thousands of concurrent iterations.
//
// Bounds: at most max_entries cursors and about max_key_bytes bytes of stored keys; the
// oldest cursor is evicted first. The most recently saved cursor is never evicted, even if its
// key alone exceeds max_key_bytes, so an iteration always makes progress.
//
// Ids: a bijective mix of a counter that starts at a random value, truncated to 48 bits so
// clients that parse cursors as signed 64-bit integers or as JavaScript numbers (2^53) keep
// them exact. The random start makes a cursor kept across a server restart unlikely to name a
// position of another iteration (it then simply restarts).
//
// Threading: owned by the server (ServerApi::scan_cursors()), used by the loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace organic::commands {

class ScanCursorTable {
 public:
  static constexpr size_t kDefaultMaxEntries = 64 * 1024;
  static constexpr size_t kDefaultMaxKeyBytes = 64ull * 1024 * 1024;

  ScanCursorTable() : ScanCursorTable(kDefaultMaxEntries, kDefaultMaxKeyBytes) {}
  // REQUIRES: max_entries >= 1.
  ScanCursorTable(size_t max_entries, size_t max_key_bytes);
  ScanCursorTable(const ScanCursorTable&) = delete;
  ScanCursorTable& operator=(const ScanCursorTable&) = delete;

  // Remembers "resume in database db strictly after last_key" and returns its new id, which is
  // non-zero, below 2^48 and distinct from every id in the table. May evict the oldest entries.
  uint64_t Save(int db, std::string_view last_key);

  // If cursor is a known id saved for database db, sets *last_key to its resume key and
  // returns true. Returns false for an unknown id or one saved for another database (the
  // caller then starts from the first key).
  bool Lookup(uint64_t cursor, int db, std::string* last_key) const;

  void Clear();
  size_t size() const { return positions_.size(); }
  size_t key_bytes() const { return key_bytes_; }

 private:
  struct Position {
    int db;
    std::string last_key;
  };

  uint64_t NextId();
  void EvictOldest();

  const size_t max_entries_;
  const size_t max_key_bytes_;
  uint64_t counter_;      // next value to mix into an id
  size_t key_bytes_ = 0;  // sum of last_key sizes in positions_
  std::unordered_map<uint64_t, Position> positions_;
  std::deque<uint64_t> order_;  // ids, oldest first; same set as positions_' keys
};

// Parses a SCAN cursor with Redis's rules (strtoul, base 10): no leading space, an optional
// sign ("-1" wraps around as in C), the whole string must be digits, no overflow. An empty
// string is cursor 0, as in Redis. Returns false for "ERR invalid cursor".
bool ParseScanCursor(std::string_view s, uint64_t* out);

}  // namespace organic::commands
