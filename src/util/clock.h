// Wall-clock and monotonic time helpers. Expire times are absolute Unix milliseconds, like
// Redis, so they survive restarts; durations use the monotonic clock.
#pragma once

#include <cstdint>

namespace organic {

int64_t UnixTimeMs();  // wall clock, milliseconds since the epoch
int64_t UnixTimeUs();  // wall clock, microseconds since the epoch
int64_t MonotonicUs();  // monotonic clock, microseconds, for measuring durations

}  // namespace organic
