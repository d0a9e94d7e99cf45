// Little-endian loads and stores of unaligned bytes, the same on any host:
// the formats here (XXH64's words, Zstandard's headers and bit streams) are
// little-endian. Asking the object representation folds each to a plain
// move where the host is little-endian.
#ifndef TREESYNC_LITTLE_ENDIAN_H_
#define TREESYNC_LITTLE_ENDIAN_H_

#include <cstdint>
#include <cstring>

namespace treesync {

inline bool HostIsLittleEndian() {
  const uint32_t one = 1;
  uint8_t first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

inline uint16_t LoadLE16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }

inline uint32_t LoadLE32(const uint8_t* p) {
  if (HostIsLittleEndian()) {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

inline uint64_t LoadLE64(const uint8_t* p) {
  if (HostIsLittleEndian()) {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  return uint64_t{LoadLE32(p)} | (uint64_t{LoadLE32(p + 4)} << 32);
}

inline void StoreLE16(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
}
inline void StoreLE24(uint8_t* p, uint32_t v) {
  StoreLE16(p, v);
  p[2] = uint8_t(v >> 16);
}
inline void StoreLE32(uint8_t* p, uint32_t v) {
  StoreLE16(p, v);
  StoreLE16(p + 2, v >> 16);
}
inline void StoreLE64(uint8_t* p, uint64_t v) {
  StoreLE32(p, uint32_t(v));
  StoreLE32(p + 4, uint32_t(v >> 32));
}

}  // namespace treesync

#endif  // TREESYNC_LITTLE_ENDIAN_H_
