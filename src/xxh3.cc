// XXH3-128 written from the algorithm description in xxHash's
// doc/xxhash_spec.md. Input-length classes: 0, 1-3, 4-8, 9-16, 17-128,
// 129-240 bytes each have their own short formula; longer input goes
// through the striped accumulator loop, which is where the time goes.
#include "xxh3.h"

#include <algorithm>
#include <atomic>
#include <cstring>

// An AVX2 form of the hot loop where the compiler can target it per
// function; whether the CPU has AVX2 is asked at run time.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TREESYNC_XXH3_AVX2 1
#endif

namespace treesync {

namespace {

constexpr uint64_t kPrime32_1 = 0x9E3779B1U;
constexpr uint64_t kPrime32_2 = 0x85EBCA77U;
constexpr uint64_t kPrime32_3 = 0xC2B2AE3DU;
constexpr uint64_t kPrime64_1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kPrime64_2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kPrime64_3 = 0x165667B19E3779F9ULL;
constexpr uint64_t kPrime64_4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t kPrime64_5 = 0x27D4EB2F165667C5ULL;
constexpr uint64_t kPrimeMx1 = 0x165667919E3779F9ULL;
constexpr uint64_t kPrimeMx2 = 0x9FB21C651E98DF25ULL;

constexpr size_t kStripeLen = 64;
constexpr size_t kSecretLen = 192;
// Each stripe of a block uses the secret shifted by 8 more bytes; a block
// ends when the shifted window would run past the secret.
constexpr size_t kStripesPerBlock = (kSecretLen - kStripeLen) / 8;  // 16
constexpr size_t kMidSizeMax = 240;
// Secret offsets fixed by the algorithm.
constexpr size_t kLastStripeSecret = kSecretLen - kStripeLen - 7;
constexpr size_t kMergeLowSecret = 11;
constexpr size_t kMergeHighSecret = kSecretLen - kStripeLen - 11;
constexpr size_t kMidLastSecret = 136 - 17 - 16;  // from the minimum secret size, 136

alignas(64) constexpr uint8_t kSecret[kSecretLen] = {
    0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
    0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
    0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
    0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
    0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
    0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
    0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
    0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
    0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
    0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
    0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
    0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
};

constexpr uint64_t kInitAcc[8] = {kPrime32_3, kPrime64_1, kPrime64_2, kPrime64_3,
                                  kPrime64_4, kPrime32_2, kPrime64_5, kPrime32_1};

// ---- Byte order and arithmetic helpers ------------------------------------

// The hash is defined on little-endian words. Asking the object
// representation instead of testing platform macros keeps this portable;
// compilers fold it to a constant, so on little-endian hosts every read
// below is one plain (unaligned) load.
inline bool IsLittleEndian() {
  const uint32_t one = 1;
  uint8_t first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

inline uint32_t Swap32(uint32_t x) {
  return (x >> 24) | ((x >> 8) & 0x0000FF00U) | ((x << 8) & 0x00FF0000U) | (x << 24);
}

inline uint64_t Swap64(uint64_t x) {
  return (uint64_t{Swap32(static_cast<uint32_t>(x))} << 32) | Swap32(static_cast<uint32_t>(x >> 32));
}

inline uint32_t Read32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return IsLittleEndian() ? v : Swap32(v);
}

inline uint64_t Read64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return IsLittleEndian() ? v : Swap64(v);
}

inline void Write64(uint8_t* p, uint64_t v) {
  if (!IsLittleEndian()) v = Swap64(v);
  std::memcpy(p, &v, sizeof v);
}

inline uint32_t Rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

struct U128 {
  uint64_t lo;
  uint64_t hi;
};

// Full 64x64->128 product. The native 128-bit type is one instruction on
// 64-bit GCC/Clang targets; elsewhere (MSVC, 32-bit) the schoolbook
// version on 32-bit halves gives the same result.
#if defined(__SIZEOF_INT128__) && !defined(TREESYNC_XXH3_NO_INT128)
inline U128 Mul128(uint64_t a, uint64_t b) {
  __extension__ typedef unsigned __int128 uint128;
  const uint128 p = static_cast<uint128>(a) * b;
  return {static_cast<uint64_t>(p), static_cast<uint64_t>(p >> 64)};
}
#else
inline U128 Mul128(uint64_t a, uint64_t b) {
  const uint64_t lo_lo = (a & 0xFFFFFFFFU) * (b & 0xFFFFFFFFU);
  const uint64_t hi_lo = (a >> 32) * (b & 0xFFFFFFFFU);
  const uint64_t lo_hi = (a & 0xFFFFFFFFU) * (b >> 32);
  const uint64_t hi_hi = (a >> 32) * (b >> 32);
  // Middle column: at most (2^32 - 1) + (2^32 - 1) + (2^32 - 1)^2 < 2^64.
  const uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFU) + lo_hi;
  return {(cross << 32) | (lo_lo & 0xFFFFFFFFU), (hi_lo >> 32) + (cross >> 32) + hi_hi};
}
#endif

inline uint64_t MulFold64(uint64_t a, uint64_t b) {
  const U128 p = Mul128(a, b);
  return p.lo ^ p.hi;
}

// XXH64's final mix; used where XXH3 reuses it (0-3 byte inputs).
inline uint64_t AvalancheXxh64(uint64_t h) {
  h ^= h >> 33;
  h *= kPrime64_2;
  h ^= h >> 29;
  h *= kPrime64_3;
  h ^= h >> 32;
  return h;
}

// XXH3's cheaper final mix.
inline uint64_t Avalanche(uint64_t h) {
  h ^= h >> 37;
  h *= kPrimeMx1;
  h ^= h >> 32;
  return h;
}

// ---- 0 to 240 bytes: each length class has its own formula ------------------

Hash128 Len0(const uint8_t* secret, uint64_t seed) {
  return {AvalancheXxh64(seed ^ Read64(secret + 64) ^ Read64(secret + 72)),
          AvalancheXxh64(seed ^ Read64(secret + 80) ^ Read64(secret + 88))};
}

Hash128 Len1To3(const uint8_t* p, size_t len, const uint8_t* secret, uint64_t seed) {
  // First, middle and last byte (they coincide for short input) plus length.
  const uint32_t combined_lo = (uint32_t{p[0]} << 16) | (uint32_t{p[len >> 1]} << 24) |
                               uint32_t{p[len - 1]} | (static_cast<uint32_t>(len) << 8);
  const uint32_t combined_hi = Rotl32(Swap32(combined_lo), 13);
  const uint64_t flip_lo = uint64_t{Read32(secret) ^ Read32(secret + 4)} + seed;
  const uint64_t flip_hi = uint64_t{Read32(secret + 8) ^ Read32(secret + 12)} - seed;
  return {AvalancheXxh64(combined_lo ^ flip_lo), AvalancheXxh64(combined_hi ^ flip_hi)};
}

Hash128 Len4To8(const uint8_t* p, size_t len, const uint8_t* secret, uint64_t seed) {
  seed ^= uint64_t{Swap32(static_cast<uint32_t>(seed))} << 32;
  const uint64_t input = Read32(p) + (uint64_t{Read32(p + len - 4)} << 32);
  const uint64_t flip = (Read64(secret + 16) ^ Read64(secret + 24)) + seed;
  U128 m = Mul128(input ^ flip, kPrime64_1 + (uint64_t{len} << 2));
  m.hi += m.lo << 1;
  m.lo ^= m.hi >> 3;
  m.lo ^= m.lo >> 35;
  m.lo *= kPrimeMx2;
  m.lo ^= m.lo >> 28;
  return {m.lo, Avalanche(m.hi)};
}

Hash128 Len9To16(const uint8_t* p, size_t len, const uint8_t* secret, uint64_t seed) {
  const uint64_t flip_lo = (Read64(secret + 32) ^ Read64(secret + 40)) - seed;
  const uint64_t flip_hi = (Read64(secret + 48) ^ Read64(secret + 56)) + seed;
  const uint64_t in_lo = Read64(p);
  const uint64_t in_hi = Read64(p + len - 8);  // overlaps in_lo when len < 16
  U128 m = Mul128(in_lo ^ in_hi ^ flip_lo, kPrime64_1);
  m.lo += uint64_t{len - 1} << 54;
  // Adds the keyed in_hi times PRIME32_2, spelled as the algorithm defines
  // it: k + lo32(k) * (PRIME32_2 - 1), a 32x32 multiply.
  const uint64_t k = in_hi ^ flip_hi;
  m.hi += k + uint64_t{static_cast<uint32_t>(k)} * (kPrime32_2 - 1);
  m.lo ^= Swap64(m.hi);
  // (hi:lo) * PRIME64_2 modulo 2^128.
  U128 h = Mul128(m.lo, kPrime64_2);
  h.hi += m.hi * kPrime64_2;
  return {Avalanche(h.lo), Avalanche(h.hi)};
}

Hash128 Len0To16(const uint8_t* p, size_t len, const uint8_t* secret, uint64_t seed) {
  if (len > 8) return Len9To16(p, len, secret, seed);
  if (len >= 4) return Len4To8(p, len, secret, seed);
  if (len > 0) return Len1To3(p, len, secret, seed);
  return Len0(secret, seed);
}

inline uint64_t Mix16(const uint8_t* p, const uint8_t* secret, uint64_t seed) {
  return MulFold64(Read64(p) ^ (Read64(secret) + seed), Read64(p + 8) ^ (Read64(secret + 8) - seed));
}

// Mixes two 16-byte chunks into the two halves, each half also taking the
// plain sum of the other chunk so neither chunk can cancel itself out.
inline void Mix32(U128* acc, const uint8_t* a, const uint8_t* b, const uint8_t* secret,
                  uint64_t seed) {
  acc->lo += Mix16(a, secret, seed);
  acc->lo ^= Read64(b) + Read64(b + 8);
  acc->hi += Mix16(b, secret + 16, seed);
  acc->hi ^= Read64(a) + Read64(a + 8);
}

Hash128 FinishMid(const U128& acc, size_t len, uint64_t seed) {
  const uint64_t lo = acc.lo + acc.hi;
  const uint64_t hi = acc.lo * kPrime64_1 + acc.hi * kPrime64_4 + (uint64_t{len} - seed) * kPrime64_2;
  return {Avalanche(lo), 0 - Avalanche(hi)};
}

Hash128 Len17To128(const uint8_t* p, size_t len, const uint8_t* secret, uint64_t seed) {
  U128 acc = {uint64_t{len} * kPrime64_1, 0};
  // Pairs chunk i from the front with chunk i from the back, innermost
  // first; the chunks overlap in the middle when len is not a multiple of 32.
  for (size_t i = (len - 1) / 32 + 1; i-- > 0;) {
    Mix32(&acc, p + 16 * i, p + len - 16 * (i + 1), secret + 32 * i, seed);
  }
  return FinishMid(acc, len, seed);
}

Hash128 Len129To240(const uint8_t* p, size_t len, const uint8_t* secret, uint64_t seed) {
  U128 acc = {uint64_t{len} * kPrime64_1, 0};
  for (size_t i = 0; i < 4; ++i) Mix32(&acc, p + 32 * i, p + 32 * i + 16, secret + 32 * i, seed);
  acc.lo = Avalanche(acc.lo);
  acc.hi = Avalanche(acc.hi);
  // Rounds past the first four reuse the secret from offset 3.
  for (size_t i = 4; i < len / 32; ++i) {
    Mix32(&acc, p + 32 * i, p + 32 * i + 16, secret + 3 + 32 * (i - 4), seed);
  }
  Mix32(&acc, p + len - 16, p + len - 32, secret + kMidLastSecret, 0 - seed);
  return FinishMid(acc, len, seed);
}

// ---- Long input: 8 lanes of 64-bit accumulators over 64-byte stripes -------

// Two neighbouring lanes of one stripe: each adds the product of the two
// 32-bit halves of its keyed input, plus its neighbour's raw input (so a
// lane whose product is zero still depends on the data).
inline void AccumulatePair(uint64_t* acc, const uint8_t* p, const uint8_t* s) {
  const uint64_t d0 = Read64(p);
  const uint64_t d1 = Read64(p + 8);
  const uint64_t k0 = d0 ^ Read64(s);
  const uint64_t k1 = d1 ^ Read64(s + 8);
  acc[0] += d1 + (k0 & 0xFFFFFFFF) * (k0 >> 32);
  acc[1] += d0 + (k1 & 0xFFFFFFFF) * (k1 >> 32);
}

// The hot loop. The lanes live in a local array that nothing else can
// alias (the input is bytes, which may alias anything), so they stay in
// registers across stripes. Writing the lane swap as explicit pairs rather
// than as acc[i ^ 1] matters for GCC: at -O2 on x86-64 (SSE2 baseline)
// GCC 12 does not vectorize the 32x32->64 products profitably in any
// form we tried, but this one keeps all eight lanes in registers and ran
// about 1.7x faster than the acc[i ^ 1] loop (~14 vs ~9 GB/s).
inline void AccumulateStripes(uint64_t* acc_io, const uint8_t* in, size_t stripes,
                              const uint8_t* secret) {
  uint64_t acc[8];
  for (size_t i = 0; i < 8; ++i) acc[i] = acc_io[i];
  for (size_t n = 0; n < stripes; ++n) {
    const uint8_t* p = in + n * kStripeLen;
    const uint8_t* s = secret + n * 8;
    AccumulatePair(acc + 0, p + 0, s + 0);
    AccumulatePair(acc + 2, p + 16, s + 16);
    AccumulatePair(acc + 4, p + 32, s + 32);
    AccumulatePair(acc + 6, p + 48, s + 48);
  }
  for (size_t i = 0; i < 8; ++i) acc_io[i] = acc[i];
}

#ifdef TREESYNC_XXH3_AVX2
// AccumulateStripes four lanes to a register: the 64-bit halves of each
// 128-bit half of the input swap places (the neighbour's raw input), and
// _mm256_mul_epu32 multiplies the low halves of the keyed input by its high
// halves, shuffled down. (SSE2's two lanes ran no faster than the portable
// loop, so there is no SSE2 form.)
__attribute__((target("avx2"))) void AccumulateStripesAvx2(uint64_t* acc_io, const uint8_t* in,
                                                           size_t stripes, const uint8_t* secret) {
  __m256i acc[2];
  for (int i = 0; i < 2; ++i) {
    acc[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc_io) + i);
  }
  for (size_t n = 0; n < stripes; ++n) {
    const __m256i* p = reinterpret_cast<const __m256i*>(in + n * kStripeLen);
    const __m256i* s = reinterpret_cast<const __m256i*>(secret + n * 8);
    for (int i = 0; i < 2; ++i) {
      __m256i d = _mm256_loadu_si256(p + i);
      __m256i k = _mm256_xor_si256(d, _mm256_loadu_si256(s + i));
      __m256i product = _mm256_mul_epu32(k, _mm256_shuffle_epi32(k, _MM_SHUFFLE(0, 3, 0, 1)));
      __m256i swapped = _mm256_shuffle_epi32(d, _MM_SHUFFLE(1, 0, 3, 2));
      acc[i] = _mm256_add_epi64(acc[i], _mm256_add_epi64(product, swapped));
    }
  }
  for (int i = 0; i < 2; ++i) _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc_io) + i, acc[i]);
}
#endif

using AccumulateFn = void (*)(uint64_t*, const uint8_t*, size_t, const uint8_t*);

AccumulateFn LoopFunction(Xxh3Loop loop) {
  switch (loop) {
    case Xxh3Loop::kPortable:
      return AccumulateStripes;
    case Xxh3Loop::kAvx2:
#ifdef TREESYNC_XXH3_AVX2
      return __builtin_cpu_supports("avx2") ? AccumulateStripesAvx2 : nullptr;
#else
      return nullptr;
#endif
  }
  return nullptr;
}

AccumulateFn FastestLoop() {
  AccumulateFn avx2 = LoopFunction(Xxh3Loop::kAvx2);
  return avx2 != nullptr ? avx2 : AccumulateStripes;
}

std::atomic<AccumulateFn> g_accumulate{FastestLoop()};

inline void Scramble(uint64_t* acc, const uint8_t* secret) {
  const uint8_t* s = secret + kSecretLen - kStripeLen;
  for (size_t i = 0; i < 8; ++i) {
    uint64_t a = acc[i];
    a ^= a >> 47;
    a ^= Read64(s + 8 * i);
    acc[i] = a * kPrime32_1;
  }
}

// Accumulates n stripes that are known not to be the input's last one,
// scrambling whenever a block of kStripesPerBlock stripes completes.
// *stripes_in_block carries the position within the block across calls,
// which is what lets streaming split the input anywhere.
void ConsumeStripes(uint64_t* acc, size_t* stripes_in_block, const uint8_t* in, size_t n,
                    const uint8_t* secret) {
  while (n > 0) {
    size_t k = kStripesPerBlock - *stripes_in_block;
    if (k > n) k = n;
    g_accumulate.load(std::memory_order_relaxed)(acc, in, k, secret + *stripes_in_block * 8);
    in += k * kStripeLen;
    n -= k;
    *stripes_in_block += k;
    if (*stripes_in_block == kStripesPerBlock) {
      Scramble(acc, secret);
      *stripes_in_block = 0;
    }
  }
}

uint64_t MergeAccs(const uint64_t* acc, const uint8_t* secret, uint64_t start) {
  uint64_t r = start;
  for (size_t i = 0; i < 4; ++i) {
    r += MulFold64(acc[2 * i] ^ Read64(secret + 16 * i), acc[2 * i + 1] ^ Read64(secret + 16 * i + 8));
  }
  return Avalanche(r);
}

// Final stripe (always the input's last 64 bytes, overlapping earlier
// stripes if need be) and the merge of the lanes into two halves.
Hash128 FinishLong(uint64_t* acc, const uint8_t* last_stripe, uint64_t total_len,
                   const uint8_t* secret) {
  AccumulateStripes(acc, last_stripe, 1, secret + kLastStripeSecret);
  return {MergeAccs(acc, secret + kMergeLowSecret, total_len * kPrime64_1),
          MergeAccs(acc, secret + kMergeHighSecret, ~(total_len * kPrime64_2))};
}

// Long input with a seed uses a secret derived from it (short input instead
// mixes the seed in directly).
void DeriveSecret(uint64_t seed, uint8_t* out) {
  for (size_t i = 0; i < kSecretLen; i += 16) {
    Write64(out + i, Read64(kSecret + i) + seed);
    Write64(out + i + 8, Read64(kSecret + i + 8) - seed);
  }
}

Hash128 HashLong(const uint8_t* p, size_t len, const uint8_t* secret) {
  uint64_t acc[8];
  for (size_t i = 0; i < 8; ++i) acc[i] = kInitAcc[i];
  size_t stripes_in_block = 0;
  // Every stripe but the last; len - 1 keeps a trailing full stripe for
  // FinishLong rather than accumulating it twice.
  ConsumeStripes(acc, &stripes_in_block, p, (len - 1) / kStripeLen, secret);
  return FinishLong(acc, p + len - kStripeLen, len, secret);
}

}  // namespace

Hash128 Xxh3_128(const void* data, size_t len, uint64_t seed) {
  const auto* p = static_cast<const uint8_t*>(data);
  if (len <= 16) return Len0To16(p, len, kSecret, seed);
  if (len <= 128) return Len17To128(p, len, kSecret, seed);
  if (len <= kMidSizeMax) return Len129To240(p, len, kSecret, seed);
  if (seed == 0) return HashLong(p, len, kSecret);
  alignas(64) uint8_t secret[kSecretLen];
  DeriveSecret(seed, secret);
  return HashLong(p, len, secret);
}

// Streaming. buffer_ holds input not yet accumulated. A stripe is only
// accumulated once more input is known to follow it, because the final
// stripe is treated differently (FinishLong); so buffered_ >= 1 after any
// non-empty input. Since the buffer (256) is larger than kMidSizeMax (240),
// an input of at most 240 bytes is still wholly in the buffer at Digest
// time and gets the short-input formulas.
Xxh3Hasher::Xxh3Hasher(uint64_t seed) : seed_(seed) {
  static_assert(kBufferLen >= kMidSizeMax && kBufferLen % kStripeLen == 0, "buffer size");
  static_assert(Xxh3Hasher::kSecretLen == treesync::kSecretLen, "secret size");
  if (seed == 0) {
    std::memcpy(secret_, kSecret, kSecretLen);
  } else {
    DeriveSecret(seed, secret_);
  }
  Reset();
}

void Xxh3Hasher::Reset() {
  for (size_t i = 0; i < 8; ++i) acc_[i] = kInitAcc[i];
  total_len_ = 0;
  stripes_in_block_ = 0;
  buffered_ = 0;
}

void Xxh3Hasher::Update(const void* data, size_t len) {
  if (len == 0) return;
  const auto* p = static_cast<const uint8_t*>(data);
  total_len_ += len;
  if (len <= kBufferLen - buffered_) {
    std::memcpy(buffer_ + buffered_, p, len);
    buffered_ += len;
    return;
  }
  // More arrives than fits, so everything buffered is followed by more input.
  if (buffered_ > 0) {
    const size_t fill = kBufferLen - buffered_;
    std::memcpy(buffer_ + buffered_, p, fill);
    p += fill;
    len -= fill;
    ConsumeStripes(acc_, &stripes_in_block_, buffer_, kBufferLen / kStripeLen, secret_);
    std::memcpy(last_stripe_, buffer_ + kBufferLen - kStripeLen, kStripeLen);
    buffered_ = 0;
  }
  // Large input is accumulated straight from the caller's memory; only the
  // final 1..64 bytes are kept back, as the stripe that may be the last.
  if (len > kBufferLen) {
    const size_t stripes = (len - 1) / kStripeLen;
    ConsumeStripes(acc_, &stripes_in_block_, p, stripes, secret_);
    p += stripes * kStripeLen;
    len -= stripes * kStripeLen;
    std::memcpy(last_stripe_, p - kStripeLen, kStripeLen);
  }
  std::memcpy(buffer_, p, len);
  buffered_ = len;
}

void Xxh3Hasher::UpdateZeros(uint64_t n) {
  static const char kZeros[64 * 1024] = {};
  while (n > 0) {
    size_t step = static_cast<size_t>(std::min<uint64_t>(n, sizeof kZeros));
    Update(kZeros, step);
    n -= step;
  }
}

Hash128 Xxh3Hasher::Digest() const {
  if (total_len_ <= kMidSizeMax) return Xxh3_128(buffer_, buffered_, seed_);
  // Work on copies so the state can keep taking input.
  uint64_t acc[8];
  for (size_t i = 0; i < 8; ++i) acc[i] = acc_[i];
  size_t stripes_in_block = stripes_in_block_;
  if (buffered_ >= kStripeLen) {
    ConsumeStripes(acc, &stripes_in_block, buffer_, (buffered_ - 1) / kStripeLen, secret_);
    return FinishLong(acc, buffer_ + buffered_ - kStripeLen, total_len_, secret_);
  }
  // The last 64 input bytes straddle what was accumulated and the buffer.
  uint8_t last[kStripeLen];
  std::memcpy(last, last_stripe_ + buffered_, kStripeLen - buffered_);
  std::memcpy(last + kStripeLen - buffered_, buffer_, buffered_);
  return FinishLong(acc, last, total_len_, secret_);
}

bool Xxh3UseLoop(Xxh3Loop loop) {
  AccumulateFn f = LoopFunction(loop);
  if (f == nullptr) return false;
  g_accumulate.store(f);
  return true;
}

void Hash128ToBytes(const Hash128& h, uint8_t out[16]) {
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<uint8_t>(h.high >> (56 - 8 * i));
    out[8 + i] = static_cast<uint8_t>(h.low >> (56 - 8 * i));
  }
}

Hash128 Hash128FromBytes(const uint8_t in[16]) {
  Hash128 h;
  for (int i = 0; i < 8; ++i) {
    h.high = (h.high << 8) | in[i];
    h.low = (h.low << 8) | in[8 + i];
  }
  return h;
}

std::string Hash128Hex(const Hash128& h) {
  static const char kDigits[] = "0123456789abcdef";
  uint8_t bytes[16];
  Hash128ToBytes(h, bytes);
  std::string hex(32, '0');
  for (size_t i = 0; i < 16; ++i) {
    hex[2 * i] = kDigits[bytes[i] >> 4];
    hex[2 * i + 1] = kDigits[bytes[i] & 0xF];
  }
  return hex;
}

}  // namespace treesync
