// XXH64 written from the algorithm description in xxHash's
// doc/xxhash_spec.md: four lanes over 32-byte stripes, then the tail in
// 8-, 4- and 1-byte steps, then the avalanche.
#include "xxh64.h"

#include <cstring>

#include "little_endian.h"

namespace treesync {

namespace {

constexpr uint64_t kPrime1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kPrime2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kPrime3 = 0x165667B19E3779F9ULL;
constexpr uint64_t kPrime4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t kPrime5 = 0x27D4EB2F165667C5ULL;

constexpr size_t kStripeLen = 32;

inline uint64_t Read64(const uint8_t* p) { return LoadLE64(p); }
inline uint32_t Read32(const uint8_t* p) { return LoadLE32(p); }

inline uint64_t Rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

inline uint64_t Round(uint64_t acc, uint64_t input) {
  acc += input * kPrime2;
  acc = Rotl64(acc, 31);
  return acc * kPrime1;
}

inline uint64_t MergeRound(uint64_t h, uint64_t acc) {
  h ^= Round(0, acc);
  return h * kPrime1 + kPrime4;
}

inline void InitAccs(uint64_t seed, uint64_t* acc) {
  acc[0] = seed + kPrime1 + kPrime2;
  acc[1] = seed + kPrime2;
  acc[2] = seed;
  acc[3] = seed - kPrime1;
}

// Whole stripes; the lanes are locals so they stay in registers.
inline const uint8_t* ConsumeStripes(uint64_t* acc_io, const uint8_t* p, size_t stripes) {
  uint64_t a0 = acc_io[0], a1 = acc_io[1], a2 = acc_io[2], a3 = acc_io[3];
  for (size_t i = 0; i < stripes; ++i, p += kStripeLen) {
    a0 = Round(a0, Read64(p));
    a1 = Round(a1, Read64(p + 8));
    a2 = Round(a2, Read64(p + 16));
    a3 = Round(a3, Read64(p + 24));
  }
  acc_io[0] = a0;
  acc_io[1] = a1;
  acc_io[2] = a2;
  acc_io[3] = a3;
  return p;
}

inline uint64_t MergeAccs(const uint64_t* acc) {
  uint64_t h = Rotl64(acc[0], 1) + Rotl64(acc[1], 7) + Rotl64(acc[2], 12) + Rotl64(acc[3], 18);
  for (int i = 0; i < 4; ++i) h = MergeRound(h, acc[i]);
  return h;
}

// The last len (< 32) bytes and the avalanche; h already includes the
// total length.
uint64_t Finish(uint64_t h, const uint8_t* p, size_t len) {
  for (; len >= 8; len -= 8, p += 8) {
    h ^= Round(0, Read64(p));
    h = Rotl64(h, 27) * kPrime1 + kPrime4;
  }
  if (len >= 4) {
    h ^= uint64_t{Read32(p)} * kPrime1;
    h = Rotl64(h, 23) * kPrime2 + kPrime3;
    p += 4;
    len -= 4;
  }
  for (; len > 0; --len, ++p) {
    h ^= *p * kPrime5;
    h = Rotl64(h, 11) * kPrime1;
  }
  h ^= h >> 33;
  h *= kPrime2;
  h ^= h >> 29;
  h *= kPrime3;
  h ^= h >> 32;
  return h;
}

}  // namespace

uint64_t Xxh64(const void* data, size_t len, uint64_t seed) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t h;
  if (len >= kStripeLen) {
    uint64_t acc[4];
    InitAccs(seed, acc);
    p = ConsumeStripes(acc, p, len / kStripeLen);
    h = MergeAccs(acc);
  } else {
    h = seed + kPrime5;
  }
  h += static_cast<uint64_t>(len);
  return Finish(h, p, len % kStripeLen);
}

Xxh64Hasher::Xxh64Hasher(uint64_t seed) : seed_(seed) { Reset(); }

void Xxh64Hasher::Reset() {
  InitAccs(seed_, acc_);
  total_len_ = 0;
  buffered_ = 0;
}

void Xxh64Hasher::Update(const void* data, size_t len) {
  if (len == 0) return;
  const auto* p = static_cast<const uint8_t*>(data);
  total_len_ += len;
  if (len < kStripeLen - buffered_) {
    std::memcpy(buffer_ + buffered_, p, len);
    buffered_ += len;
    return;
  }
  // Unlike XXH3, a full stripe can be accumulated as soon as it is whole:
  // the last stripe gets no special treatment.
  if (buffered_ > 0) {
    const size_t fill = kStripeLen - buffered_;
    std::memcpy(buffer_ + buffered_, p, fill);
    ConsumeStripes(acc_, buffer_, 1);
    p += fill;
    len -= fill;
    buffered_ = 0;
  }
  p = ConsumeStripes(acc_, p, len / kStripeLen);
  buffered_ = len % kStripeLen;
  std::memcpy(buffer_, p, buffered_);
}

uint64_t Xxh64Hasher::Digest() const {
  uint64_t h = total_len_ >= kStripeLen ? MergeAccs(acc_) : seed_ + kPrime5;
  h += total_len_;
  return Finish(h, buffer_, buffered_);
}

}  // namespace treesync
