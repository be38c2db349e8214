#include "engine/background_worker.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace organic::engine {

void BackgroundWorker::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void BackgroundWorker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void BackgroundWorker::Enqueue(std::function<void()> task, bool urgent) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (thread_.joinable() && !stopping_) {
      (urgent ? urgent_ : tasks_).push_back(std::move(task));
      cv_.notify_one();
      return;
    }
  }
  task();
}

void BackgroundWorker::Post(std::function<void()> task) { Enqueue(std::move(task), false); }

void BackgroundWorker::PostUrgent(std::function<void()> task) { Enqueue(std::move(task), true); }

void BackgroundWorker::SetHurry(bool hurry) {
  std::lock_guard<std::mutex> lock(mu_);
  if (hurry_ == hurry) return;
  hurry_ = hurry;
  ApplyNice();
}

void BackgroundWorker::ApplyNice() {
  if (tid_ == 0) return;
  setpriority(PRIO_PROCESS, static_cast<id_t>(tid_), hurry_ ? kHurryNice : kNiceIncrement);
}

size_t BackgroundWorker::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return urgent_.size() + tasks_.size() + running_;
}

void BackgroundWorker::Run() {
  // Far below the loop's priority (as RocksDB lowers its compaction threads): when both share
  // a core, client requests go first and flushes and compactions take the slack. Their lag is
  // bounded by the write stall (a flush that cannot keep up holds writes, at most 1 s each).
  // Per-thread on Linux; failure (a sandbox forbidding it) only costs the preference.
  std::unique_lock<std::mutex> lock(mu_);
  tid_ = syscall(SYS_gettid);
  ApplyNice();
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !urgent_.empty() || !tasks_.empty(); });
    std::deque<std::function<void()>>& queue = !urgent_.empty() ? urgent_ : tasks_;
    if (queue.empty()) {
      if (stopping_) {
        tid_ = 0;  // the id may be reused by another thread once this one exits
        return;
      }
      continue;
    }
    std::function<void()> task = std::move(queue.front());
    queue.pop_front();
    running_++;
    lock.unlock();
    task();
    lock.lock();
    running_--;
  }
}

}  // namespace organic::engine
