#include "random.h"

#include <errno.h>
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

bool SecretRandom(void* out, size_t n) {
  // /dev/urandom rather than getrandom(2): the same generator, and present
  // on every POSIX system we build for. After boot it never blocks and
  // never weakens.
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  uint8_t* p = static_cast<uint8_t*>(out);
  while (n > 0) {
    const ssize_t got = ::read(fd, p, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      ::close(fd);
      return false;
    }
    p += got;
    n -= static_cast<size_t>(got);
  }
  ::close(fd);
  return true;
}

}  // namespace platform
