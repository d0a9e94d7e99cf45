// SecureWipe: zeroes memory that held a secret (a key, a chaining key, a
// keystream block) in a way the compiler may not drop as a dead store.
#ifndef TREESYNC_SECURE_WIPE_H_
#define TREESYNC_SECURE_WIPE_H_

#include <cstddef>
#include <cstdint>

namespace treesync {

// Sets n bytes at p to zero; p may be null when n is 0.
inline void SecureWipe(void* p, size_t n) {
  // Stores through a volatile pointer are observable behaviour, so they
  // survive dead-store elimination even just before p is freed.
  volatile uint8_t* v = static_cast<volatile uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) v[i] = 0;
}

}  // namespace treesync

#endif  // TREESYNC_SECURE_WIPE_H_
