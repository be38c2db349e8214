// BackgroundWorker: FIFO per queue, urgent tasks ahead of queued normal ones, Stop drains both.
#include "engine/background_worker.h"

#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

using organic::engine::BackgroundWorker;

TEST_CASE("worker: urgent tasks run before queued normal ones, each queue in order") {
  BackgroundWorker worker;
  worker.Start();
  std::mutex mu;
  std::condition_variable cv;
  bool started = false, release = false;
  std::vector<std::string> order;  // written by the worker only, read after Stop
  // Hold the worker inside a first task so that the others queue up behind it.
  worker.Post([&] {
    std::unique_lock lock(mu);
    started = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    order.push_back("running");
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return started; });
  }
  worker.Post([&] { order.push_back("normal-1"); });
  worker.Post([&] { order.push_back("normal-2"); });
  worker.PostUrgent([&] { order.push_back("urgent-1"); });
  worker.PostUrgent([&] { order.push_back("urgent-2"); });
  CHECK(worker.pending() == 5);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  worker.Stop();
  CHECK(order == std::vector<std::string>{"running", "urgent-1", "urgent-2", "normal-1",
                                          "normal-2"});
  CHECK(worker.pending() == 0);
  // After Stop, tasks run inline.
  worker.PostUrgent([&] { order.push_back("inline"); });
  CHECK(order.back() == "inline");
}
