// organic-bench's run, --load and --verify modes: the worker threads, each driving its share
// of the connections with poll() in a closed loop, and RunBenchmark, which starts them, prints
// progress once a second and collects the report.
#include "run.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "histogram.h"
#include "options.h"
#include "report.h"
#include "server_info.h"
#include "workload.h"

namespace organic::bench {
namespace {

// ---------------------------------------------------------------------------------------------
// The run

// Set by SIGINT: stop sending new batches, finish those in flight, report. A signal handler can
// only reach a global; nothing else uses it. A lock-free atomic, because the handler may run on
// any thread while the main thread polls it.
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);
void OnInterrupt(int) { g_interrupted.store(true); }

// State shared by all workers of one run.
struct SharedRun {
  SharedRun(const Options& o, const KeyChooser& c) : opt(o), chooser(c) {}

  const Options& opt;
  const KeyChooser& chooser;
  Clock::time_point start;
  Clock::time_point deadline;  // timed runs: no batch starts after it
  uint64_t total_ops = 0;      // counted runs (--requests, load, verify): ops to issue; else 0
  std::atomic<uint64_t> next_op{0};       // counted runs: first op number not yet claimed
  std::atomic<bool> stop_issuing{false};  // SIGINT: drain in-flight batches, start no more
  std::atomic<bool> abort{false};         // a connection failed: stop now
  std::atomic<int> workers_running{0};

  std::mutex mu;
  std::string fatal_error;  // GUARDED_BY(mu): the first connection failure
  std::string first_error;  // GUARDED_BY(mu): the first error reply
  std::string first_bad;    // GUARDED_BY(mu): verify: the first missing or wrong key
};

// Counters of one worker. Written only by that worker; `completed` and `latency` may be read
// concurrently (progress line), the rest only after the worker is joined.
struct WorkerStats {
  std::atomic<uint64_t> completed{0};
  uint64_t gets = 0, sets = 0, hits = 0, misses = 0, errors = 0, missing = 0, wrong = 0;
  Clock::time_point finished;
  LatencyHistogram latency;
};

struct Connection {
  int id = 0;
  ContextPtr ctx;
  std::vector<uint64_t> batch_keys;  // key index of each command of the batch in flight
  std::vector<uint8_t> batch_gets;   // 1 if that command is a GET
  size_t replies = 0;                // replies received for the batch in flight
  bool write_pending = false;        // part of the batch is still in hiredis's output buffer
  bool active = true;                // false once it has no more work (or failed)
  Clock::time_point batch_start;
};

class Worker {
 public:
  Worker(SharedRun* run, int index)
      : run_(run),
        keys_(run->opt.key_prefix, run->opt.keys),
        rng_(run->opt.seed * 0x100000001b3ULL + static_cast<uint64_t>(index)) {}
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void AddConnection(Connection c) { connections_.push_back(std::move(c)); }
  WorkerStats& stats() { return stats_; }

  // Drives all connections until none has work left, or the run aborts.
  void Run() {
    for (Connection& c : connections_) c.active = StartBatch(&c);
    std::vector<pollfd> fds;
    std::vector<Connection*> polled;
    while (!run_->abort.load(std::memory_order_relaxed)) {
      fds.clear();
      polled.clear();
      for (Connection& c : connections_) {
        if (!c.active) continue;
        const short events = POLLIN | (c.write_pending ? POLLOUT : 0);
        fds.push_back(pollfd{c.ctx->fd, events, 0});
        polled.push_back(&c);
      }
      if (fds.empty()) break;
      // The timeout only bounds how late we notice an abort from another thread.
      if (poll(fds.data(), fds.size(), 100) < 0) {
        if (errno == EINTR) continue;
        Fail(*polled[0], std::strerror(errno));
        break;
      }
      const Clock::time_point now = Clock::now();
      for (size_t i = 0; i < fds.size(); i++) {
        Connection* c = polled[i];
        if ((fds[i].revents & POLLOUT) && c->active) c->active = Flush(c);
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) && c->active) {
          c->active = ReadReplies(c, now);
        }
      }
    }
    stats_.finished = Clock::now();
  }

 private:
  // Claims the next batch of work and sends it. Returns false when there is no work left or the
  // connection failed (the connection is then done).
  bool StartBatch(Connection* c) {
    const Options& opt = run_->opt;
    if (run_->abort.load(std::memory_order_relaxed) ||
        run_->stop_issuing.load(std::memory_order_relaxed)) {
      return false;
    }
    const Clock::time_point now = Clock::now();
    uint64_t first = 0;
    uint64_t count = static_cast<uint64_t>(opt.pipeline);
    if (run_->total_ops > 0) {
      first = run_->next_op.fetch_add(count, std::memory_order_relaxed);
      if (first >= run_->total_ops) return false;
      count = std::min(count, run_->total_ops - first);
    } else if (now >= run_->deadline) {
      return false;
    }
    uint64_t hot_epoch = 0;
    if (opt.distribution == Distribution::kHotspot && opt.hotspot_shift_s > 0) {
      hot_epoch = static_cast<uint64_t>(std::chrono::duration<double>(now - run_->start).count() /
                                        opt.hotspot_shift_s);
    }
    c->batch_keys.clear();
    c->batch_gets.clear();
    c->replies = 0;
    for (uint64_t i = 0; i < count; i++) {
      uint64_t key;
      bool get;
      switch (opt.mode) {
        case Mode::kLoad:
          key = first + i;
          get = false;
          break;
        case Mode::kVerify:
          key = first + i;
          get = true;
          break;
        default:
          get = rng_.Below(opt.get_weight + opt.set_weight) < opt.get_weight;
          key = run_->chooser.Next(rng_, hot_epoch);
          break;
      }
      std::string_view key_text = keys_.Format(key);
      if (get) {
        const char* argv[] = {"GET", key_text.data()};
        const size_t lens[] = {3, key_text.size()};
        redisAppendCommandArgv(c->ctx.get(), 2, argv, lens);
      } else {
        ValueFor(key, opt.value_size, opt.value_kind, &value_);
        const char* argv[] = {"SET", key_text.data(), value_.data()};
        const size_t lens[] = {3, key_text.size(), value_.size()};
        redisAppendCommandArgv(c->ctx.get(), 3, argv, lens);
      }
      c->batch_keys.push_back(key);
      c->batch_gets.push_back(get ? 1 : 0);
    }
    c->batch_start = Clock::now();
    return Flush(c);
  }

  // Writes as much of the output buffer as the socket takes. False if the connection failed.
  bool Flush(Connection* c) {
    int done = 0;
    if (redisBufferWrite(c->ctx.get(), &done) != REDIS_OK) {
      Fail(*c, c->ctx->errstr);
      return false;
    }
    c->write_pending = done == 0;
    return true;
  }

  // Reads what arrived, handles every complete reply and starts the next batch once the current
  // one is complete. Returns whether the connection stays active.
  bool ReadReplies(Connection* c, Clock::time_point now) {
    if (redisBufferRead(c->ctx.get()) != REDIS_OK) {
      Fail(*c, c->ctx->errstr);
      return false;
    }
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::microseconds>(now - c->batch_start);
    const uint64_t latency_us = static_cast<uint64_t>(std::max<int64_t>(0, elapsed.count()));
    uint64_t completed = 0;
    bool active = true;
    while (active) {
      void* raw = nullptr;
      if (redisGetReplyFromReader(c->ctx.get(), &raw) != REDIS_OK) {
        Fail(*c, c->ctx->errstr);
        active = false;
        break;
      }
      if (raw == nullptr) break;
      auto* reply = static_cast<redisReply*>(raw);
      if (c->replies >= c->batch_keys.size()) {
        freeReplyObject(reply);
        Fail(*c, "reply without a request (protocol out of sync)");
        active = false;
        break;
      }
      HandleReply(*c, reply, c->replies);
      freeReplyObject(reply);
      stats_.latency.Record(latency_us);
      completed++;
      if (++c->replies == c->batch_keys.size()) active = StartBatch(c);
    }
    stats_.completed.store(stats_.completed.load(std::memory_order_relaxed) + completed,
                           std::memory_order_relaxed);
    return active;
  }

  void HandleReply(const Connection& c, const redisReply* reply, size_t slot) {
    const uint64_t key = c.batch_keys[slot];
    const bool get = c.batch_gets[slot] != 0;
    (get ? stats_.gets : stats_.sets)++;
    if (reply->type == REDIS_REPLY_ERROR) {
      if (stats_.errors++ == 0) {
        std::lock_guard<std::mutex> lock(run_->mu);
        if (run_->first_error.empty()) {
          run_->first_error = std::string(reply->str, reply->len) + " (" + (get ? "GET " : "SET ") +
                              std::string(keys_.Format(key)) + ")";
          if (!run_->opt.quiet) {
            std::fprintf(stderr, "\norganic-bench: first error reply: %s\n",
                         run_->first_error.c_str());
          }
        }
      }
      return;
    }
    if (!get) return;
    if (reply->type == REDIS_REPLY_NIL) {
      stats_.misses++;
      if (run_->opt.mode == Mode::kVerify && stats_.missing++ == 0) {
        NoteBad("missing " + std::string(keys_.Format(key)));
      }
      return;
    }
    stats_.hits++;
    if (run_->opt.mode != Mode::kVerify) return;
    ValueFor(key, run_->opt.value_size, run_->opt.value_kind, &value_);
    if (reply->type != REDIS_REPLY_STRING ||
        std::string_view(reply->str, reply->len) != std::string_view(value_)) {
      if (stats_.wrong++ == 0) {
        const size_t shown =
            reply->type == REDIS_REPLY_STRING ? std::min<size_t>(reply->len, 40) : 0;
        NoteBad("wrong value for " + std::string(keys_.Format(key)) + ": \"" +
                std::string(reply->str ? reply->str : "", shown) + "\"...");
      }
    }
  }

  void NoteBad(const std::string& what) {
    std::lock_guard<std::mutex> lock(run_->mu);
    if (run_->first_bad.empty()) run_->first_bad = what;
  }

  void Fail(const Connection& c, const char* why) {
    {
      std::lock_guard<std::mutex> lock(run_->mu);
      if (run_->fatal_error.empty()) {
        run_->fatal_error = "connection " + std::to_string(c.id) + " to " + run_->opt.host + ":" +
                            std::to_string(run_->opt.port) + " failed: " + why;
      }
    }
    run_->abort.store(true, std::memory_order_relaxed);
  }

  SharedRun* run_;
  KeyFormatter keys_;
  Rng rng_;
  std::string value_;  // scratch for ValueFor
  std::vector<Connection> connections_;
  WorkerStats stats_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Entry points

int RunBenchmark(const Options& opt) {
  // A dead server must show up as an error from write(), not kill us with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {};
  sa.sa_handler = OnInterrupt;
  sa.sa_flags = SA_RESETHAND;  // a second Ctrl-C kills us outright
  sigaction(SIGINT, &sa, nullptr);

  std::string error;
  ContextPtr info_ctx = Connect(opt, &error);
  if (info_ctx == nullptr) {
    std::fprintf(stderr, "organic-bench: cannot connect to %s:%d: %s\n", opt.host.c_str(), opt.port,
                 error.c_str());
    return 1;
  }
  timeval info_timeout{60, 0};  // INFO after a heavy run may queue behind other clients
  redisSetTimeout(info_ctx.get(), info_timeout);
  const std::optional<InfoFields> info_before = FetchInfo(info_ctx.get());

  // Precomputes zeta before any connection exists, so it is not part of the measured time.
  const KeyChooser chooser(opt);
  SharedRun run(opt, chooser);
  const int thread_count = std::min(opt.threads, opt.connections);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < thread_count; t++) workers.push_back(std::make_unique<Worker>(&run, t));
  for (int i = 0; i < opt.connections; i++) {
    Connection c;
    c.id = i;
    c.ctx = Connect(opt, &error);
    if (c.ctx == nullptr || !MakeNonBlocking(c.ctx.get())) {
      if (c.ctx != nullptr) error = std::strerror(errno);
      std::fprintf(stderr, "organic-bench: connection %d to %s:%d failed: %s\n", i,
                   opt.host.c_str(), opt.port, error.c_str());
      return 1;
    }
    workers[i % thread_count]->AddConnection(std::move(c));
  }

  if (opt.mode != Mode::kRun) {
    run.total_ops = opt.keys;
  } else {
    run.total_ops = opt.requests;
  }
  run.start = Clock::now();
  run.deadline = run.start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(opt.duration_s));
  run.workers_running.store(thread_count);
  std::vector<std::thread> threads;
  for (auto& w : workers) {
    threads.emplace_back([&run, worker = w.get()] {
      worker->Run();
      run.workers_running.fetch_sub(1);
    });
  }

  // Progress, once a second, until every worker is done.
  Clock::time_point next_tick = run.start + std::chrono::seconds(1);
  uint64_t last_ops = 0;
  bool printed = false;
  while (run.workers_running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (g_interrupted) run.stop_issuing.store(true);
    const Clock::time_point now = Clock::now();
    if (opt.quiet || now < next_tick) continue;
    next_tick += std::chrono::seconds(1);
    LatencyHistogram merged;
    uint64_t ops = 0;
    for (auto& w : workers) {
      ops += w->stats().completed.load(std::memory_order_relaxed);
      merged.Merge(w->stats().latency);
    }
    std::fprintf(stderr, "\r[%6.1fs] %9" PRIu64 " ops/s  p99 %7.3f ms  total %" PRIu64 "   ",
                 std::chrono::duration<double>(now - run.start).count(), ops - last_ops,
                 Ms(merged.Percentile(99)), ops);
    std::fflush(stderr);
    last_ops = ops;
    printed = true;
  }
  for (std::thread& t : threads) t.join();
  if (printed) std::fputc('\n', stderr);

  if (!run.fatal_error.empty()) {
    std::fprintf(stderr, "organic-bench: %s\n", run.fatal_error.c_str());
    return 1;
  }

  LatencyHistogram latency;
  Report r;
  r.mode = opt.mode;
  Clock::time_point end = run.start;
  for (auto& w : workers) {
    const WorkerStats& s = w->stats();
    latency.Merge(s.latency);
    r.ops += s.completed.load();
    r.gets += s.gets;
    r.sets += s.sets;
    r.hits += s.hits;
    r.misses += s.misses;
    r.errors += s.errors;
    r.missing += s.missing;
    r.wrong += s.wrong;
    end = std::max(end, s.finished);
  }
  r.elapsed_s = std::chrono::duration<double>(end - run.start).count();
  r.latency = &latency;
  r.first_error = run.first_error;
  r.first_bad = run.first_bad;

  std::optional<InfoFields> info_after = FetchInfo(info_ctx.get());
  if (!info_after && info_ctx->err != 0) {
    // The idle INFO connection may have been closed (server `timeout`); counters survive that.
    if (ContextPtr again = Connect(opt, &error)) {
      info_ctx = std::move(again);
      info_after = FetchInfo(info_ctx.get());
    }
  }
  if (!info_after) {
    std::fprintf(stderr, "organic-bench: INFO after the run failed%s%s\n",
                 info_ctx->err ? ": " : "", info_ctx->err ? info_ctx->errstr : "");
  }
  r.keyspace_hit_ratio = DeltaRatio(info_before, info_after, "keyspace_hits", "keyspace_misses");
  r.memory_hit_ratio =
      DeltaRatio(info_before, info_after, "organic_memory_hits", "organic_disk_hits");
  r.used_memory = InfoNumber(info_after, "used_memory");
  r.evicted_keys = InfoNumber(info_after, "evicted_keys");

  if (opt.json) {
    PrintJson(opt, r);
  } else {
    PrintText(opt, r);
  }
  if (g_interrupted && opt.mode != Mode::kRun) {
    std::fprintf(stderr, "organic-bench: interrupted; not every key was %s\n",
                 opt.mode == Mode::kLoad ? "written" : "checked");
    return 1;
  }
  if (opt.mode != Mode::kRun && r.missing + r.wrong + r.errors > 0) return 1;
  return 0;
}

}  // namespace organic::bench
