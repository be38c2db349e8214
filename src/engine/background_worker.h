// BackgroundWorker: one thread running posted tasks (WAL fsync in everysec mode, closing retired
// WAL files, metabolic flushes, compactions, manifest writes). Two FIFO queues: urgent tasks run
// before every normal task queued (never interrupting the one running). The loop thread posts
// and never waits for a task, except in Stop(), which drains the queues at shutdown.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace organic::engine {

class BackgroundWorker {
 public:
  BackgroundWorker() = default;
  ~BackgroundWorker() { Stop(); }
  BackgroundWorker(const BackgroundWorker&) = delete;
  BackgroundWorker& operator=(const BackgroundWorker&) = delete;

  void Start();
  // Runs every task already posted, then joins the thread. Idempotent.
  void Stop();
  // Queues task; thread-safe. Tasks posted after Stop() run inline on the caller's thread.
  void Post(std::function<void()> task);
  // Queues task ahead of every normal task not yet started (after earlier urgent ones). For
  // short tasks whose delay costs something (a manifest write frees the disk space of the
  // files it makes obsolete): they must not depend on a normal task queued before them.
  void PostUrgent(std::function<void()> task);
  // Runs the thread at kHurryNice instead of kNiceIncrement while hurry is true (the engine
  // sets it while a flush under a memory budget runs or compaction is at the stop trigger).
  // Thread-safe; cheap when the value does not change.
  void SetHurry(bool hurry);
  // Tasks queued and not yet finished (for INFO).
  size_t pending() const;

 private:
  // The worker thread's nice value (0 = the loop's; 19 = lowest). 19 rather than 10: on a
  // shared core every slice the scheduler grants the worker stalls the loop for that slice,
  // and at nice 10 (~10% of the core) those stalls set pipelined GET p99 (5.1-5.5 ms against
  // 4.0-4.9 ms at 19 and 3.6 ms with no flush at all; docs/benchmarks.md). Not SCHED_IDLE:
  // the worker also runs the everysec fsync, which must not starve behind a busy loop.
  static constexpr int kNiceIncrement = 19;
  // ... unless others wait for it. Under a memory budget the active MemTable fills while the
  // flush runs: a worker below the loop's priority made every flush end in a write stall and
  // compaction lag (tools/bench-space.sh: 233 stalls instead of 9, disk peak 2.2x instead of
  // 1.57x of the live data). So during such a flush, or with level 0 at its stop trigger, it
  // runs at the loop's priority.
  static constexpr int kHurryNice = 0;
  void ApplyNice();  // REQUIRES: mu_ held
  void Run();
  void Enqueue(std::function<void()> task, bool urgent);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> urgent_;  // guarded by mu_
  std::deque<std::function<void()>> tasks_;   // guarded by mu_
  size_t running_ = 0;                       // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  bool hurry_ = false;                       // guarded by mu_
  long tid_ = 0;  // the running thread's kernel id, 0 when none; guarded by mu_
  std::thread thread_;
};

}  // namespace organic::engine
