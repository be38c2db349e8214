// A power cut at every step of a flush, a manifest update and a compaction: the worker is
// stopped at the fault point (EngineOptions::fault_point), unsynced data is dropped
// (FaultInjectionFileSystem), and a new engine must hold exactly the acknowledged writes.
#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>

#include "engine/engine.h"
#include "test_files.h"
#include "util/clock.h"
#include "util/file.h"

using namespace organic;
using namespace organic::engine;

namespace {

// Stops the worker at the n-th time it reaches `point` until the test has cut the power.
class FaultGate {
 public:
  FaultGate(const char* point, int occurrence) : point_(point), occurrence_(occurrence) {}

  // The EngineOptions::fault_point hook (worker thread).
  bool Reach(const char* point) {
    std::unique_lock lock(mu_);
    if (released_) return true;  // the process is dead: no step runs after the cut
    if (std::strcmp(point, point_) != 0 || ++seen_ != occurrence_) return false;
    reached_ = true;
    cv_.wait(lock, [this] { return released_; });
    return true;
  }
  bool reached() {
    std::lock_guard lock(mu_);
    return reached_;
  }
  // After the power cut: lets the stopped job (and every later one) end without effect.
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  const char* point_;
  int occurrence_;
  std::mutex mu_;
  std::condition_variable cv_;
  int seen_ = 0;
  bool reached_ = false;
  bool released_ = false;
};

using Model = std::map<std::pair<int, std::string>, std::string>;

std::unique_ptr<Engine> OpenWith(const std::string& dir, FileSystem* fs, FaultGate* gate) {
  EngineOptions o;
  o.dir = dir;
  o.databases = 2;
  o.fsync = FsyncPolicy::kAlways;
  o.fs = fs;
  o.sstable.block_size = 512;
  if (gate != nullptr) o.fault_point = [gate](const char* p) { return gate->Reach(p); };
  auto e = std::make_unique<Engine>(o);
  Status st = e->Open();
  REQUIRE_MESSAGE(st.ok(), st.ToString());
  return e;
}

// Runs rounds of random writes (each acknowledged by a synced FlushWal) and flushes until the
// gate stops the worker. Returns whether it did; *model holds the acknowledged state.
bool RunUntilCrash(Engine* e, FaultGate* gate, Model* model, uint32_t seed) {
  std::mt19937 rng(seed);
  const int64_t far = UnixTimeMs() + 3600 * 1000;
  for (int round = 0; round < 8; round++) {
    for (int i = 0; i < 150; i++) {
      if (gate->reached()) return true;
      int db = static_cast<int>(rng() % 2);
      std::string key = "k" + std::to_string(rng() % 200);
      if (rng() % 4 == 0) {
        e->Delete(db, key);
        REQUIRE(e->FlushWal().ok());
        model->erase({db, key});
      } else {
        std::string value = "v" + std::to_string(round) + "." + std::to_string(i);
        e->Put(db, key, ValueType::kString, value, rng() % 3 == 0 ? far : 0);
        REQUIRE(e->FlushWal().ok());
        (*model)[{db, key}] = value;
      }
    }
    Status st;
    REQUIRE(e->StartFlush(&st));
    while (e->background_busy()) {
      if (gate->reached()) return true;
      e->PollBackground();
    }
  }
  return gate->reached();
}

}  // namespace

TEST_CASE("fault points: a power cut at every step of flush, manifest and compaction loses no "
          "acknowledged write and resurrects no deleted key") {
  int crashes = 0;
  for (const char* point : kFaultPoints) {
    bool crashed_once = false;
    for (int occurrence = 1; occurrence <= 3; occurrence++) {
      testing::TempDir dir;
      Model model;
      {
        FaultInjectionFileSystem fs(DefaultFileSystem());
        FaultGate gate(point, occurrence);
        auto e = OpenWith(dir.path(), &fs, &gate);
        bool crashed = RunUntilCrash(e.get(), &gate, &model, 1000u * occurrence);
        if (!crashed) {
          gate.Release();
          continue;  // this occurrence is never reached by the workload
        }
        crashed_once = true;
        crashes++;
        // The power cut, with the worker frozen at the point and the loop idle.
        REQUIRE(fs.DropUnsyncedData().ok());
        REQUIRE(fs.RemoveFilesCreatedAfterLastDirSync().ok());
        gate.Release();
        e.reset();  // the dead instance's files fail every write; nothing more lands
      }
      auto e = OpenWith(dir.path(), DefaultFileSystem(), nullptr);
      for (int db = 0; db < 2; db++) {
        uint64_t expected = 0;
        for (const auto& [k, v] : model) {
          if (k.first != db) continue;
          expected++;
          auto r = e->Get(db, k.second, LookupMode::kNoTouch);
          REQUIRE_MESSAGE(r.has_value(), point, " #", occurrence, ": lost db ", db, " ", k.second);
          CHECK_MESSAGE(r->value == v, point, " #", occurrence, " ", k.second);
        }
        CHECK_MESSAGE(e->KeyCount(db) == expected, point, " #", occurrence, " db ", db);
        std::string next;
        bool finished;
        uint64_t scanned = 0;
        e->Scan(db, "", false, 1 << 20, [&](std::string_view, const RecordView&) { scanned++; },
                &next, &finished);
        CHECK_MESSAGE(scanned == expected, point, " #", occurrence, ": a deleted key came back");
      }
      // And the recovered engine keeps working: one more flush and compaction round.
      e->Put(0, "after", ValueType::kString, "x", 0);
      REQUIRE(e->Flush().ok());
      REQUIRE(e->WaitForBackground().ok());
      CHECK(e->Get(0, "after", LookupMode::kNoTouch)->value == "x");
    }
    CHECK_MESSAGE(crashed_once, "fault point never reached: ", point);
  }
  MESSAGE("power cuts: ", crashes);
}
