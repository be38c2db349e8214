#include "util/clock.h"

#include <ctime>

namespace organic {

namespace {
int64_t ReadClockUs(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}
}  // namespace

int64_t UnixTimeMs() { return ReadClockUs(CLOCK_REALTIME) / 1000; }
int64_t UnixTimeUs() { return ReadClockUs(CLOCK_REALTIME); }
int64_t MonotonicUs() { return ReadClockUs(CLOCK_MONOTONIC); }

}  // namespace organic
