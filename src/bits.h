// Bit scans the codecs need, one instruction where the compiler offers
// it and a loop where it does not.
#ifndef TREESYNC_BITS_H_
#define TREESYNC_BITS_H_

#include <cstdint>

namespace treesync {

// Index of the highest set bit of v; v must not be 0.
inline unsigned HighBit(uint32_t v) {
#if defined(__GNUC__) || defined(__clang__)
  return 31 - static_cast<unsigned>(__builtin_clz(v));
#else
  unsigned r = 0;
  while (v >>= 1) ++r;
  return r;
#endif
}

// Index of the lowest set bit of v; v must not be 0.
inline unsigned LowBit(uint64_t v) {
#if defined(__GNUC__) || defined(__clang__)
  return static_cast<unsigned>(__builtin_ctzll(v));
#else
  unsigned r = 0;
  while ((v & 1) == 0) {
    v >>= 1;
    ++r;
  }
  return r;
#endif
}

}  // namespace treesync

#endif  // TREESYNC_BITS_H_
