// Compaction shape rules that bound disk space (compaction.h, "Space"): level targets sized
// from the last level, and output tables cut by their overlap with the level below.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/compaction.h"
#include "engine/flush_job.h"
#include "engine/table_record.h"
#include "test_files.h"
#include "util/file.h"

namespace organic::engine {
namespace {

using organic::testing::TempDir;
constexpr uint64_t kMB = 1 << 20;

std::string Key(int i) {
  char buf[16];
  snprintf(buf, sizeof(buf), "k%06d", i);
  return buf;
}

// A table known by its metadata only: PickCompaction never reads a table.
std::shared_ptr<const TableFile> FakeTable(uint32_t level, int first, int last, uint64_t bytes) {
  auto t = std::make_shared<TableFile>();
  t->meta.level = level;
  t->meta.smallest = Key(first);
  t->meta.largest = Key(last);
  t->meta.file_size = bytes;
  return t;
}

// `count` disjoint tables of `bytes` each, covering keys [0, count * 1000).
TableList FakeLevel(uint32_t level, int count, uint64_t bytes) {
  TableList tables;
  for (int i = 0; i < count; i++) {
    tables.push_back(FakeTable(level, i * 1000, i * 1000 + 999, bytes));
  }
  return tables;
}

// Writes a table of keys [first, last] in steps of `step`, values of 100 random bytes.
std::shared_ptr<const TableFile> RealTable(const std::string& dir, uint64_t number,
                                           uint32_t level, int first, int last, int step,
                                           std::mt19937* rng) {
  std::shared_ptr<const TableFile> table;
  std::string encoded, value(100, '\0');
  Status st = WriteTable(
      DefaultFileSystem(), dir, number, 1, level, SstableOptions(),
      [&](const TableAdd& add) -> Status {
        for (int i = first; i <= last; i += step) {
          for (char& c : value) c = static_cast<char>((*rng)() & 0xff);
          TableRecord r;
          r.sequence = number;  // newer tables have higher numbers
          r.value = value;
          encoded.clear();
          EncodeTableRecord(r, &encoded);
          RETURN_IF_ERROR(add(Key(i), encoded));
        }
        return Status::Ok();
      },
      &table);
  REQUIRE_MESSAGE(st.ok(), st.ToString());
  return table;
}

}  // namespace

TEST_CASE("compaction: the levels above the last are sized from the last one") {
  DbTiers tiers;
  tiers.levels.resize(3);
  // Level 1 alone (the last level) keeps its fixed target: 20 MB is under it.
  tiers.levels[1] = FakeLevel(1, 2, 10 * kMB);
  CHECK(LevelTarget(tiers, 1) == LevelTargetBytes(1));
  std::vector<std::string> cursor;
  CompactionJob job;
  CHECK_FALSE(PickCompaction(tiers, &cursor, &job));

  // With 100 MB in level 2, level 1 may hold a tenth of that: its 20 MB are over target (a
  // fixed 32 MB target kept them, stale copies of level-2 keys under overwrites).
  tiers.levels[2] = FakeLevel(2, 10, 10 * kMB);
  CHECK(LevelTarget(tiers, 1) == 10 * kMB);
  CHECK(LevelTarget(tiers, 2) == LevelTargetBytes(2));
  REQUIRE(PickCompaction(tiers, &cursor, &job));
  CHECK(job.input_level == 1);
  CHECK(job.output_level == 2);
  CHECK(job.upper.size() == 1);

  // A small last level does not shrink the targets above it below a tenth of their maximum.
  tiers.levels[2] = FakeLevel(2, 1, 8 * kMB);
  CHECK(LevelTarget(tiers, 1) == LevelTargetBytes(1) / kLevelSizeMultiplier);
  // A last level past its maximum leaves the levels above at theirs.
  tiers.levels[2] = FakeLevel(2, 40, 10 * kMB);
  CHECK(LevelTarget(tiers, 1) == LevelTargetBytes(1));

  // Level 0 compacts into level 1 and knows level 2 as the grandparents that cut its outputs.
  tiers.levels[0] = {FakeTable(0, 0, 39999, kMB), FakeTable(0, 0, 39999, kMB),
                     FakeTable(0, 0, 39999, kMB), FakeTable(0, 0, 39999, kMB)};
  tiers.levels[1].clear();
  tiers.levels[2] = FakeLevel(2, 20, 10 * kMB);
  REQUIRE(PickCompaction(tiers, &cursor, &job));
  CHECK(job.input_level == 0);
  CHECK(job.grandparents.size() == 20);
}

TEST_CASE("compaction: an output table overlaps a bounded slice of the level below it") {
  TempDir dir;
  std::mt19937 rng(3);
  // Level 2: 20 disjoint tables of 200 keys each. Level 0: one table with every 4th key of
  // the whole range, compacted into an empty level 1.
  CompactionJob job;
  job.input_level = 0;
  job.output_level = 1;
  uint64_t number = 1;
  for (int i = 0; i < 20; i++) {
    job.grandparents.push_back(RealTable(dir.path(), number++, 2, i * 200, i * 200 + 199, 1,
                                         &rng));
    job.deeper_ranges.emplace_back(job.grandparents.back()->meta.smallest,
                                   job.grandparents.back()->meta.largest);
  }
  job.upper.push_back(RealTable(dir.path(), number++, 0, 0, 3999, 4, &rng));
  const uint64_t gp_bytes = job.grandparents[0]->meta.file_size;
  std::atomic<uint64_t> next_file{number};
  CompactionOptions options;
  options.fs = DefaultFileSystem();
  options.dir = dir.path();
  options.next_file_number = &next_file;
  options.target_table_bytes = 64 * kMB;  // never the reason for a cut here
  options.max_grandparent_overlap_bytes = 3 * gp_bytes;

  CompactionResult cut = RunCompaction(job, options);
  REQUIRE_MESSAGE(cut.status.ok(), cut.status.ToString());
  CHECK(cut.outputs.size() >= 4);
  uint64_t entries = 0;
  for (const auto& out : cut.outputs) {
    entries += out->meta.entries;
    uint64_t overlap = 0;
    for (const auto& gp : job.grandparents) {
      if (!(gp->meta.largest < out->meta.smallest || gp->meta.smallest > out->meta.largest)) {
        overlap += gp->meta.file_size;
      }
    }
    // The allowed bytes plus the two partly overlapped tables at its ends, at most.
    CHECK(overlap <= options.max_grandparent_overlap_bytes + 2 * gp_bytes);
  }
  CHECK(entries == 1000);  // every key once, none lost or repeated at a cut
  CHECK(cut.shadowed_dropped == 0);

  // Without grandparents the same input is one table.
  job.grandparents.clear();
  CompactionResult whole = RunCompaction(job, options);
  REQUIRE(whole.status.ok());
  CHECK(whole.outputs.size() == 1);
}

}  // namespace organic::engine
