#include "random.h"

#include <fcntl.h>
#include <unistd.h>

namespace platform {

uint64_t Random64() {
  uint64_t v = 0;
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = ::read(fd, &v, sizeof v);
    ::close(fd);
    if (n == static_cast<ssize_t>(sizeof v)) return v;
  }
  return FallbackRandom64(static_cast<uint64_t>(::getpid()));  // a bare chroot
}

}  // namespace platform
