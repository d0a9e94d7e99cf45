// Random bytes from the OS: for unguessable temporary names, and for keys.
#ifndef TREESYNC_PLATFORM_RANDOM_H_
#define TREESYNC_PLATFORM_RANDOM_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace platform {

// A random 64-bit value from the OS's generator (falls back to a clock and
// counter mix if the OS source fails; never blocks for long).
uint64_t Random64();

// Fills n bytes at out from the OS's cryptographic generator, for keys:
// returns false (out unspecified) if that source can't be read. Never
// falls back to anything weaker.
bool SecretRandom(void* out, size_t n);

// The fallback when the OS source fails: a clock, the process id and a
// counter, mixed. Names only need to be unlikely to collide; creation is
// exclusive anyway.
inline uint64_t FallbackRandom64(uint64_t process_id) {
  static std::atomic<uint64_t> counter{0};
  uint64_t v = static_cast<uint64_t>(
      std::chrono::high_resolution_clock::now().time_since_epoch().count());
  v ^= (process_id << 32) ^ (++counter * 0x9E3779B97F4A7C15ull);
  v ^= v >> 33;
  v *= 0xff51afd7ed558ccdull;
  v ^= v >> 33;
  return v;
}

}  // namespace platform

#endif  // TREESYNC_PLATFORM_RANDOM_H_
