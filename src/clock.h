// The two clocks treesync reads: a steady one for timeouts and rates, the
// system's for file times.
#ifndef TREESYNC_CLOCK_H_
#define TREESYNC_CLOCK_H_

#include <chrono>
#include <cstdint>

namespace treesync {

// Milliseconds on a clock that never goes back (for intervals only).
inline int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Nanoseconds since the Unix epoch, by the system clock.
inline int64_t WallClockNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace treesync

#endif  // TREESYNC_CLOCK_H_
