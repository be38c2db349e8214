// Fuzz target: SstableReader, the reader of the engine's SSTables: Open (footer, filter and
// index blocks), Get with and without a block cache, iteration, Seek, and DecodeTableRecord on
// every value (what the engine does with them).
//
// Input: flags:u8  file:byte[]
//   flags bit 0  rewrite the footer and block checksums first (checksum_repair.h), so mutated
//                blocks get past the checksum check
//
// Besides memory errors, checks what the reader promises about a table it accepts: iteration
// yields strictly increasing keys, and a Get that finds a key returns the value iteration saw
// for it. A violation aborts the run.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "checksum_repair.h"
#include "engine/block_cache.h"
#include "engine/sstable_reader.h"
#include "engine/table_record.h"
#include "fuzz_check.h"
#include "memory_files.h"

namespace {

using organic::engine::SstableReader;

// Keys (and values) seen by a full iteration; a few are enough to probe Get and Seek.
constexpr size_t kMaxProbes = 16;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string file(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1) organic::fuzz::RepairSstableChecksums(&file);
  const uint64_t file_size = file.size();
  std::unique_ptr<SstableReader> table;
  if (!SstableReader::Open(std::make_unique<organic::fuzz::MemoryRandomAccessFile>(file),
                           file_size, "sst-1.sst", &table)
           .ok()) {
    return 0;
  }

  std::vector<std::pair<std::string, std::string>> seen;
  std::string previous;
  uint64_t count = 0;
  auto it = table->NewIterator();
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (count > 0) FUZZ_CHECK(previous < it->key());
    previous.assign(it->key());
    organic::engine::TableRecord record;
    organic::engine::DecodeTableRecord(it->value(), &record);
    if (seen.size() < kMaxProbes && (count % 3 == 0 || seen.empty())) {
      seen.emplace_back(std::string(it->key()), std::string(it->value()));
    }
    ++count;
  }
  // Whether every block was read and agreed with the index: only then must Seek find each key.
  const bool clean = it->status().ok();

  organic::engine::BlockCache cache(1 << 20);
  for (const auto& [key, value] : seen) {
    for (organic::engine::BlockCache* c : {static_cast<organic::engine::BlockCache*>(nullptr),
                                          &cache, &cache}) {
      std::string got;
      bool found = false;
      // The filter may say no (it is not cross-checked against the keys), so only a found key
      // is checked, and only in a table iterated without error: before a block fails its end
      // check, it may have yielded keys past its index key, which Get looks for elsewhere.
      if (table->Get(key, &got, &found, c, 1).ok() && found && clean) FUZZ_CHECK(got == value);
    }
    it->Seek(key);
    if (clean) {
      FUZZ_CHECK(it->status().ok() && it->Valid());
      FUZZ_CHECK(it->key() == key && it->value() == value);
    }
    std::string before = key.substr(0, key.size() / 2);
    it->Seek(before);
    if (it->Valid()) FUZZ_CHECK(it->key() >= before);
  }
  for (size_t b = 0; b < table->num_blocks(); ++b) {
    std::string got;
    bool found = false;
    (void)table->Get(table->BlockLastKey(b), &got, &found);
  }
  std::string got;
  bool found = false;
  (void)table->Get("", &got, &found);
  (void)table->Get(std::string(300, '\xff'), &got, &found);
  return 0;
}
