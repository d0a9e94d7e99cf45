#include "random.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>

namespace platform {

uint64_t Random64() {
  uint64_t v = 0;
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = ::read(fd, &v, sizeof v);
    ::close(fd);
    if (n == static_cast<ssize_t>(sizeof v)) return v;
  }
  // No /dev/urandom (a bare chroot): names only need to be unlikely to
  // collide, and creation is exclusive anyway.
  static std::atomic<uint64_t> counter{0};
  uint64_t t = static_cast<uint64_t>(
      std::chrono::high_resolution_clock::now().time_since_epoch().count());
  v = t ^ (static_cast<uint64_t>(::getpid()) << 32) ^ (++counter * 0x9E3779B97F4A7C15ull);
  v ^= v >> 33;
  v *= 0xff51afd7ed558ccdull;
  v ^= v >> 33;
  return v;
}

}  // namespace platform
