#include "random.h"

#include <windows.h>
#include <bcrypt.h>

namespace platform {

uint64_t Random64() {
  uint64_t v = 0;
  if (BCryptGenRandom(nullptr, reinterpret_cast<PUCHAR>(&v), sizeof v,
                      BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0) {
    return v;
  }
  return FallbackRandom64(GetCurrentProcessId());
}

}  // namespace platform
