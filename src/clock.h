// The two clocks treesync reads: a steady one for timeouts and rates, the
// system's for file times; and a retry that waits on the first.
#ifndef TREESYNC_CLOCK_H_
#define TREESYNC_CLOCK_H_

#include <chrono>
#include <cstdint>
#include <thread>

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

// Calls attempt() until it returns true or grace_ms have passed, pausing
// 50 ms between tries; returns its last answer. For a hold another session
// is about to let go of.
template <typename Attempt>
bool RetryWithin(int grace_ms, Attempt attempt) {
  for (int waited_ms = 0;; waited_ms += 50) {
    if (attempt()) return true;
    if (waited_ms >= grace_ms) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace treesync

#endif  // TREESYNC_CLOCK_H_
