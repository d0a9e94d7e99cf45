// Random bytes from the OS, for unguessable temporary names.
#ifndef TREESYNC_PLATFORM_RANDOM_H_
#define TREESYNC_PLATFORM_RANDOM_H_

#include <cstdint>

namespace platform {

// A random 64-bit value from the OS's generator (falls back to a clock and
// counter mix if the OS source fails; never blocks for long).
uint64_t Random64();

}  // namespace platform

#endif  // TREESYNC_PLATFORM_RANDOM_H_
