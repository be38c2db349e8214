// SSTable and manifest write failures (docs/reliability.md, "Tables, manifest and
// compaction"): the previous durable state stays in force, the write is retried backing off
// (1, 2, 4, 8, then every 16 second ticks), the failure is reported, and while a flush fails
// with the MemTables full, writes are to be refused rather than grow memory.
#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "engine/engine.h"
#include "fault_test_support.h"
#include "test_files.h"
#include "util/file.h"

using namespace organic;
using namespace organic::engine;

namespace {
using testing::Fault;
using testing::FaultOp;
using testing::TempDir;

std::unique_ptr<Engine> OpenOn(const std::string& dir, FileSystem* fs, uint64_t budget) {
  return testing::OpenEngineOn(dir, fs, FsyncPolicy::kAlways, 1, budget);
}

Fault MakeFault(FaultOp op, const std::string& path) {
  return testing::MakeFault(op, ENOSPC, path);
}

void PutKeys(Engine& e, int from, int to, size_t value_size = 100) {
  for (int i = from; i < to; i++) {
    e.Put(0, "k" + std::to_string(i), ValueType::kString, std::string(value_size, 'v'), 0);
  }
  REQUIRE(e.FlushWal().ok());
}

// Lets the worker finish what it was given and installs the results.
void Settle(Engine& e) {
  e.WaitForBackground();
  e.PollBackground();
}

}  // namespace

TEST_CASE("flush faults: a failed table write keeps the MemTables, retries backing off") {
  TempDir dir;
  FaultInjectionFileSystem fs(DefaultFileSystem());
  {
    auto e = OpenOn(dir.path(), &fs, 0);
    PutKeys(*e, 0, 100);
    fs.InjectFault(MakeFault(FaultOp::kWrite, "sst-"));
    Status st;
    REQUIRE(e->StartFlush(&st));
    Settle(*e);
    CHECK(e->flush_in_progress());
    CHECK(e->flush_error().sys_errno() == ENOSPC);
    CHECK(e->stats().last_flush_failed);
    CHECK(e->stats().flush_errors == 1);
    // Every key is still read from the frozen MemTable; writes and the WAL go on.
    CHECK(e->Get(0, "k7", LookupMode::kRead).has_value());
    PutKeys(*e, 100, 110);
    // Backing off: the retry waits for the first tick, then 2, then 4.
    e->OnSecondTick();  // due: retries, fails again
    Settle(*e);
    CHECK(e->stats().flush_errors == 2);
    e->OnSecondTick();  // 1 of 2
    Settle(*e);
    CHECK(e->stats().flush_errors == 2);
    e->OnSecondTick();  // due
    Settle(*e);
    CHECK(e->stats().flush_errors == 3);
    for (int i = 0; i < 3; i++) e->OnSecondTick();  // 3 of 4
    Settle(*e);
    CHECK(e->stats().flush_errors == 3);
    // The disk has room again: the next due retry installs the flush.
    fs.ClearFaults();
    e->OnSecondTick();
    Settle(*e);
    CHECK_FALSE(e->flush_in_progress());
    CHECK(e->flush_error().ok());
    CHECK_FALSE(e->stats().last_flush_failed);
    CHECK(e->stats().flushes == 1);
    REQUIRE(e->Close().ok());
  }
  REQUIRE(fs.DropUnsyncedData().ok());
  auto e = OpenOn(dir.path(), &fs, 0);
  CHECK(e->KeyCount(0) == 110);
}

TEST_CASE("flush faults: a failed manifest write keeps the old manifest, and is retried") {
  for (FaultOp op : {FaultOp::kWrite, FaultOp::kRename, FaultOp::kSync}) {
    CAPTURE(static_cast<int>(op));
    TempDir dir;
    FaultInjectionFileSystem fs(DefaultFileSystem());
    {
      auto e = OpenOn(dir.path(), &fs, 0);
      PutKeys(*e, 0, 50);
      REQUIRE(e->Flush().ok());  // a first manifest
      PutKeys(*e, 50, 100);
      fs.InjectFault(MakeFault(op, "MANIFEST"));
      Status st;
      REQUIRE(e->StartFlush(&st));
      Settle(*e);
      CHECK(e->stats().last_flush_failed);
      CHECK(e->stats().flush_errors == 1);
      // A restart now would read the first manifest plus the WAL: a power cut here.
      REQUIRE(e->Close().ok());
      REQUIRE(fs.DropUnsyncedData().ok());
      REQUIRE(fs.RemoveFilesCreatedAfterLastDirSync().ok());
    }
    fs.ClearFaults();
    {
      auto e = OpenOn(dir.path(), &fs, 0);
      CHECK(e->KeyCount(0) == 100);
      CHECK(e->Get(0, "k99", LookupMode::kRead).has_value());
    }
  }
  // The retry: after the fault clears, the manifest is written and the old WAL goes.
  TempDir dir;
  FaultInjectionFileSystem fs(DefaultFileSystem());
  auto e = OpenOn(dir.path(), &fs, 0);
  PutKeys(*e, 0, 100);
  fs.InjectFault(MakeFault(FaultOp::kRename, "MANIFEST"));
  Status st;
  REQUIRE(e->StartFlush(&st));
  Settle(*e);
  CHECK(e->stats().flush_errors == 1);
  CHECK(fs.FileExists(dir.path() + "/wal-1.log"));  // still needed: the manifest is old
  fs.ClearFaults();
  e->OnSecondTick();
  Settle(*e);
  CHECK(e->stats().flush_errors == 1);
  CHECK_FALSE(e->background_busy());
  CHECK_FALSE(fs.FileExists(dir.path() + "/wal-1.log"));
}

TEST_CASE("flush faults: with a budget, a failing flush and full MemTables refuse writes") {
  TempDir dir;
  FaultInjectionFileSystem fs(DefaultFileSystem());
  const uint64_t budget = 64 * 1024;
  auto e = OpenOn(dir.path(), &fs, budget);
  fs.InjectFault(MakeFault(FaultOp::kWrite, "sst-"));
  int written = 0;
  // The server checks WritesRefusedForMemory before each write (Server::Execute).
  while (!e->WritesRefusedForMemory() && written < 10000) {
    e->Put(0, "k" + std::to_string(written), ValueType::kString, std::string(200, 'v'), 0);
    REQUIRE(e->FlushWal().ok());
    written++;
    e->MaybeStartAutoFlush(0, 0);
    e->PollBackground();
    if (e->flush_in_progress() && !e->flush_error().ok()) continue;
    Settle(*e);
  }
  REQUIRE(e->WritesRefusedForMemory());
  CHECK(e->active_memtable_bytes() >= budget);
  CHECK(e->active_memtable_bytes() < 2 * budget);  // bounded: refused, not grown
  CHECK(e->flush_error().sys_errno() == ENOSPC);
  // Space comes back: a retry flushes, memory is freed and writes are accepted again.
  fs.ClearFaults();
  for (int i = 0; i < 40 && e->WritesRefusedForMemory(); i++) {
    e->OnSecondTick();
    Settle(*e);
  }
  CHECK_FALSE(e->WritesRefusedForMemory());
  CHECK(e->KeyCount(0) == static_cast<uint64_t>(written));
}

TEST_CASE("flush faults: a failed compaction write backs off, keeps its inputs, then succeeds") {
  TempDir dir;
  FaultInjectionFileSystem fs(DefaultFileSystem());
  auto e = OpenOn(dir.path(), &fs, 0);
  // Four flushes make four level-0 tables (sst-1 .. sst-4): the fourth install starts a
  // compaction whose output is sst-5, which cannot be written.
  Fault f = MakeFault(FaultOp::kWrite, "sst-5");
  fs.InjectFault(f);
  for (int round = 0; round < 4; round++) {
    PutKeys(*e, round * 10, round * 10 + 40);  // overlapping ranges
    REQUIRE(e->Flush().ok());
  }
  Settle(*e);
  CHECK(e->stats().compaction_errors == 1);
  CHECK(e->stats().compactions == 0);
  CHECK(e->version()->dbs[0]->levels[0].size() == 4);  // the inputs stay in force
  // Backing off: not retried at the next cron tick (it would be, every 100 ms, before).
  CHECK_FALSE(e->MaybeStartCompaction());
  CHECK(e->Get(0, "k0", LookupMode::kRead).has_value());
  // After the back-off (1 s for the first failure) the retry writes a new table number.
  for (int i = 0; i < 300 && e->stats().compactions == 0; i++) {
    e->MaybeStartCompaction();
    Settle(*e);
    if (e->stats().compactions == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  CHECK(e->stats().compactions == 1);
  CHECK(e->KeyCount(0) == 70);
  REQUIRE(e->Close().ok());
  auto reopened = OpenOn(dir.path(), &fs, 0);
  CHECK(reopened->KeyCount(0) == 70);
  CHECK(reopened->Get(0, "k69", LookupMode::kRead).has_value());
}
