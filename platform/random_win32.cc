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

bool SecretRandom(void* out, size_t n) {
  uint8_t* p = static_cast<uint8_t*>(out);
  while (n > 0) {
    const ULONG take = n > 0x10000000 ? 0x10000000 : static_cast<ULONG>(n);
    if (BCryptGenRandom(nullptr, p, take, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0) return false;
    p += take;
    n -= take;
  }
  return true;
}

}  // namespace platform
