// ChaCha20 and Poly1305 written from RFC 8439. Poly1305 keeps its numbers
// in five 26-bit limbs so every product fits 64 bits on any compiler (the
// layout of Andrew Moon's poly1305-donna, 32-bit form).
#include "chacha20_poly1305.h"

#include <atomic>
#include <cstring>

#include "little_endian.h"
#include "secure_wipe.h"

// An AVX2 form of the block loop where the compiler can target it per
// function; whether the CPU has AVX2 is asked at run time.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TREESYNC_CHACHA_AVX2 1
#endif

// Poly1305 in 44-bit limbs where the compiler has a 128-bit product (GCC
// and Clang on 64-bit targets): a third of the multiplications of the
// portable 26-bit form.
#if defined(__SIZEOF_INT128__) && !defined(TREESYNC_POLY1305_PORTABLE)
#define TREESYNC_POLY1305_64 1
#endif

namespace treesync {

namespace {

constexpr size_t kBlock = 64;
// Blocks each call of a loop function makes.
constexpr size_t kLoopBlocks = 8;

inline uint32_t Rotl(uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }

#define TREESYNC_QUARTER(a, b, c, d) \
  a += b;                            \
  d = Rotl(d ^ a, 16);               \
  c += d;                            \
  b = Rotl(b ^ c, 12);               \
  a += b;                            \
  d = Rotl(d ^ a, 8);                \
  c += d;                            \
  b = Rotl(b ^ c, 7)

// The initial state for key and nonce, block counter in word 12.
void InitState(uint32_t s[16], const uint8_t* key, const uint8_t* nonce, uint32_t counter) {
  s[0] = 0x61707865;  // "expand 32-byte k"
  s[1] = 0x3320646e;
  s[2] = 0x79622d32;
  s[3] = 0x6b206574;
  for (int i = 0; i < 8; ++i) s[4 + i] = LoadLE32(key + 4 * i);
  s[12] = counter;
  for (int i = 0; i < 3; ++i) s[13 + i] = LoadLE32(nonce + 4 * i);
}

// One 64-byte keystream block of state s (RFC 8439 2.3).
void Block(const uint32_t s[16], uint8_t out[kBlock]) {
  uint32_t x[16];
  std::memcpy(x, s, sizeof(x));
  for (int i = 0; i < 10; ++i) {
    TREESYNC_QUARTER(x[0], x[4], x[8], x[12]);
    TREESYNC_QUARTER(x[1], x[5], x[9], x[13]);
    TREESYNC_QUARTER(x[2], x[6], x[10], x[14]);
    TREESYNC_QUARTER(x[3], x[7], x[11], x[15]);
    TREESYNC_QUARTER(x[0], x[5], x[10], x[15]);
    TREESYNC_QUARTER(x[1], x[6], x[11], x[12]);
    TREESYNC_QUARTER(x[2], x[7], x[8], x[13]);
    TREESYNC_QUARTER(x[3], x[4], x[9], x[14]);
  }
  for (int i = 0; i < 16; ++i) StoreLE32(out + 4 * i, x[i] + s[i]);
  SecureWipe(x, sizeof(x));
}

// XORs kLoopBlocks blocks of keystream, from s's counter on, over in into
// out, and advances the counter.
void XorBlocks(uint32_t s[16], const uint8_t* in, uint8_t* out) {
  uint8_t ks[kBlock];
  for (size_t b = 0; b < kLoopBlocks; ++b) {
    Block(s, ks);
    ++s[12];
    for (size_t i = 0; i < kBlock; ++i) out[b * kBlock + i] = uint8_t(in[b * kBlock + i] ^ ks[i]);
  }
  SecureWipe(ks, sizeof(ks));
}

#ifdef TREESYNC_CHACHA_AVX2
// Eight blocks at once, one per 32-bit lane: word i of every block in one
// register, then an 8x8 transpose puts each block's words back in order.
__attribute__((target("avx2"))) inline __m256i Rotl256(__m256i v, int n) {
  return _mm256_or_si256(_mm256_slli_epi32(v, n), _mm256_srli_epi32(v, 32 - n));
}

__attribute__((target("avx2"))) void XorBlocksAvx2(uint32_t s[16], const uint8_t* in,
                                                   uint8_t* out) {
  // Rotations by 16 and 8 are byte shuffles.
  const __m256i rot16 = _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13, 2,
                                         3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
  const __m256i rot8 = _mm256_setr_epi8(3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14, 3, 0,
                                        1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14);
  __m256i init[16], x[16];
  for (int i = 0; i < 16; ++i) init[i] = _mm256_set1_epi32(int(s[i]));
  init[12] = _mm256_add_epi32(init[12], _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  for (int i = 0; i < 16; ++i) x[i] = init[i];
#define TREESYNC_QUARTER8(a, b, c, d)                      \
  a = _mm256_add_epi32(a, b);                              \
  d = _mm256_shuffle_epi8(_mm256_xor_si256(d, a), rot16);  \
  c = _mm256_add_epi32(c, d);                              \
  b = Rotl256(_mm256_xor_si256(b, c), 12);                 \
  a = _mm256_add_epi32(a, b);                              \
  d = _mm256_shuffle_epi8(_mm256_xor_si256(d, a), rot8);   \
  c = _mm256_add_epi32(c, d);                              \
  b = Rotl256(_mm256_xor_si256(b, c), 7)
  for (int i = 0; i < 10; ++i) {
    TREESYNC_QUARTER8(x[0], x[4], x[8], x[12]);
    TREESYNC_QUARTER8(x[1], x[5], x[9], x[13]);
    TREESYNC_QUARTER8(x[2], x[6], x[10], x[14]);
    TREESYNC_QUARTER8(x[3], x[7], x[11], x[15]);
    TREESYNC_QUARTER8(x[0], x[5], x[10], x[15]);
    TREESYNC_QUARTER8(x[1], x[6], x[11], x[12]);
    TREESYNC_QUARTER8(x[2], x[7], x[8], x[13]);
    TREESYNC_QUARTER8(x[3], x[4], x[9], x[14]);
  }
#undef TREESYNC_QUARTER8
  for (int i = 0; i < 16; ++i) x[i] = _mm256_add_epi32(x[i], init[i]);
  // Each half of the state (words 0-7, then 8-15) transposes to the first
  // or second 32 bytes of the eight blocks.
  for (int half = 0; half < 2; ++half) {
    const __m256i* a = x + 8 * half;
    const __m256i t0 = _mm256_unpacklo_epi32(a[0], a[1]), t1 = _mm256_unpackhi_epi32(a[0], a[1]);
    const __m256i t2 = _mm256_unpacklo_epi32(a[2], a[3]), t3 = _mm256_unpackhi_epi32(a[2], a[3]);
    const __m256i t4 = _mm256_unpacklo_epi32(a[4], a[5]), t5 = _mm256_unpackhi_epi32(a[4], a[5]);
    const __m256i t6 = _mm256_unpacklo_epi32(a[6], a[7]), t7 = _mm256_unpackhi_epi32(a[6], a[7]);
    const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    const __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
    const __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
    const __m256i blocks[8] = {
        _mm256_permute2x128_si256(u0, u4, 0x20), _mm256_permute2x128_si256(u1, u5, 0x20),
        _mm256_permute2x128_si256(u2, u6, 0x20), _mm256_permute2x128_si256(u3, u7, 0x20),
        _mm256_permute2x128_si256(u0, u4, 0x31), _mm256_permute2x128_si256(u1, u5, 0x31),
        _mm256_permute2x128_si256(u2, u6, 0x31), _mm256_permute2x128_si256(u3, u7, 0x31)};
    for (size_t b = 0; b < 8; ++b) {
      const size_t at = b * kBlock + 32 * size_t(half);
      const __m256i m = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + at));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + at), _mm256_xor_si256(m, blocks[b]));
    }
  }
  // The keystream left in registers is not wiped: the caller's next block
  // overwrites them, and a register file can't be wiped from C++.
  s[12] += uint32_t(kLoopBlocks);
}
#endif

using XorBlocksFn = void (*)(uint32_t*, const uint8_t*, uint8_t*);

XorBlocksFn LoopFunction(ChaChaLoop loop) {
  switch (loop) {
    case ChaChaLoop::kPortable:
      return XorBlocks;
    case ChaChaLoop::kAvx2:
#ifdef TREESYNC_CHACHA_AVX2
      return __builtin_cpu_supports("avx2") ? XorBlocksAvx2 : nullptr;
#else
      return nullptr;
#endif
  }
  return nullptr;
}

XorBlocksFn FastestLoop() {
  XorBlocksFn avx2 = LoopFunction(ChaChaLoop::kAvx2);
  return avx2 != nullptr ? avx2 : XorBlocks;
}

std::atomic<XorBlocksFn> g_xor_blocks{FastestLoop()};

void Pad16(Poly1305* mac, size_t n) {
  static const uint8_t kZeros[16] = {};
  if (n % 16 != 0) mac->Update(kZeros, 16 - n % 16);
}

// The Poly1305 tag of ad and ciphertext as RFC 8439 2.8 lays them out,
// keyed by the first 32 bytes of block 0.
void AeadTag(const uint8_t* key, const uint8_t* nonce, const uint8_t* ad, size_t ad_len,
             const uint8_t* cipher, size_t n, uint8_t tag[kAeadTagSize]) {
  uint32_t s[16];
  uint8_t block0[kBlock];
  InitState(s, key, nonce, 0);
  Block(s, block0);
  Poly1305 mac(block0);
  SecureWipe(block0, sizeof(block0));
  SecureWipe(s, sizeof(s));
  mac.Update(ad, ad_len);
  Pad16(&mac, ad_len);
  mac.Update(cipher, n);
  Pad16(&mac, n);
  uint8_t lengths[16];
  StoreLE64(lengths, uint64_t(ad_len));
  StoreLE64(lengths + 8, uint64_t(n));
  mac.Update(lengths, sizeof(lengths));
  mac.Final(tag);
}

}  // namespace

bool ChaChaUseLoop(ChaChaLoop loop) {
  XorBlocksFn f = LoopFunction(loop);
  if (f == nullptr) return false;
  g_xor_blocks.store(f);
  return true;
}

void ChaCha20Xor(const uint8_t key[kChaChaKeySize], const uint8_t nonce[kChaChaNonceSize],
                 uint32_t counter, const uint8_t* in, uint8_t* out, size_t n) {
  uint32_t s[16];
  InitState(s, key, nonce, counter);
  const XorBlocksFn xor_blocks = g_xor_blocks.load(std::memory_order_relaxed);
  constexpr size_t kStep = kLoopBlocks * kBlock;
  for (; n >= kStep; n -= kStep, in += kStep, out += kStep) xor_blocks(s, in, out);
  uint8_t ks[kBlock];
  while (n > 0) {
    Block(s, ks);
    ++s[12];
    const size_t take = n < kBlock ? n : kBlock;
    for (size_t i = 0; i < take; ++i) out[i] = uint8_t(in[i] ^ ks[i]);
    in += take;
    out += take;
    n -= take;
  }
  SecureWipe(ks, sizeof(ks));
  SecureWipe(s, sizeof(s));
}

// ---- Poly1305 ----

#ifdef TREESYNC_POLY1305_64
namespace {

using u128 = unsigned __int128;
constexpr uint64_t kMask44 = 0xfffffffffffull, kMask42 = 0x3ffffffffffull;

// a * b mod 2^130 - 5 before the carries, in three 44/44/42-bit limbs;
// 2^130 = 5 (mod p), so limbs past the top wrap around times 5 (times 4
// more for the 2 bits the top limb is short).
inline void MulLimbs(const uint64_t* a, const uint64_t* b, u128* d) {
  const uint64_t s1 = b[1] * (5 << 2), s2 = b[2] * (5 << 2);
  d[0] = u128(a[0]) * b[0] + u128(a[1]) * s2 + u128(a[2]) * s1;
  d[1] = u128(a[0]) * b[1] + u128(a[1]) * b[0] + u128(a[2]) * s2;
  d[2] = u128(a[0]) * b[2] + u128(a[1]) * b[1] + u128(a[2]) * b[0];
}

// Carries d into h, partly reduced: h0, h2 within their limbs, h1 at most
// a little over.
inline void Carry(u128* d, uint64_t* h) {
  uint64_t c = uint64_t(d[0] >> 44);
  h[0] = uint64_t(d[0]) & kMask44;
  d[1] += c;
  c = uint64_t(d[1] >> 44);
  h[1] = uint64_t(d[1]) & kMask44;
  d[2] += c;
  c = uint64_t(d[2] >> 42);
  h[2] = uint64_t(d[2]) & kMask42;
  h[0] += c * 5;
  c = h[0] >> 44;
  h[0] &= kMask44;
  h[1] += c;
}

// A 16-byte block as limbs, with its 2^128 bit (high) added.
inline void Limbs(const uint8_t* m, uint64_t high, uint64_t* out) {
  const uint64_t t0 = LoadLE64(m), t1 = LoadLE64(m + 8);
  out[0] = t0 & kMask44;
  out[1] = ((t0 >> 44) | (t1 << 20)) & kMask44;
  out[2] = ((t1 >> 24) & kMask42) | high;
}

}  // namespace
#endif

Poly1305::Poly1305(const uint8_t key[kPoly1305KeySize]) {
  for (int i = 0; i < 5; ++i) h_[i] = 0;
  for (int i = 0; i < 6; ++i) r_[i] = 0;
  for (int i = 0; i < 4; ++i) pad_[i] = LoadLE32(key + 16 + 4 * i);
#ifdef TREESYNC_POLY1305_64
  // r is clamped (RFC 8439 2.5) as it is split into limbs.
  const uint64_t t0 = LoadLE64(key), t1 = LoadLE64(key + 8);
  r_[0] = t0 & 0xffc0fffffffull;
  r_[1] = ((t0 >> 44) | (t1 << 20)) & 0xfffffc0ffffull;
  r_[2] = (t1 >> 24) & 0x00ffffffc0full;
  // r^2 beside r, for Blocks' two-block steps.
  u128 d[3];
  MulLimbs(r_, r_, d);
  Carry(d, r_ + 3);
#else
  r_[0] = LoadLE32(key + 0) & 0x3ffffff;
  r_[1] = (LoadLE32(key + 3) >> 2) & 0x3ffff03;
  r_[2] = (LoadLE32(key + 6) >> 4) & 0x3ffc0ff;
  r_[3] = (LoadLE32(key + 9) >> 6) & 0x3f03fff;
  r_[4] = (LoadLE32(key + 12) >> 8) & 0x00fffff;
#endif
}

Poly1305::~Poly1305() {
  SecureWipe(r_, sizeof(r_));
  SecureWipe(h_, sizeof(h_));
  SecureWipe(pad_, sizeof(pad_));
  SecureWipe(buffer_, sizeof(buffer_));
}

#ifdef TREESYNC_POLY1305_64

void Poly1305::Blocks(const uint8_t* m, size_t n, uint32_t hibit) {
  const uint64_t high = uint64_t(hibit) << 16;  // 2^128 in the top limb
  const uint64_t* r = r_;
  const uint64_t* rr = r_ + 3;  // r^2
  uint64_t h[3] = {h_[0], h_[1], h_[2]};
  // Two blocks a step: ((h + m1) r + m2) r = (h + m1) r^2 + m2 r, two
  // products that don't wait for each other, and one carry chain.
  for (; n >= 32; n -= 32, m += 32) {
    uint64_t m1[3], m2[3];
    Limbs(m, high, m1);
    Limbs(m + 16, high, m2);
    for (int i = 0; i < 3; ++i) h[i] += m1[i];
    u128 d[3], e[3];
    MulLimbs(h, rr, d);
    MulLimbs(m2, r, e);
    for (int i = 0; i < 3; ++i) d[i] += e[i];
    Carry(d, h);
  }
  for (; n >= 16; n -= 16, m += 16) {
    uint64_t m1[3];
    Limbs(m, high, m1);
    for (int i = 0; i < 3; ++i) h[i] += m1[i];
    u128 d[3];
    MulLimbs(h, r, d);
    Carry(d, h);
  }
  h_[0] = h[0];
  h_[1] = h[1];
  h_[2] = h[2];
}
#else
void Poly1305::Blocks(const uint8_t* m, size_t n, uint32_t hibit) {
  constexpr uint32_t kMask = 0x3ffffff;
  const uint32_t r0 = r_[0], r1 = r_[1], r2 = r_[2], r3 = r_[3], r4 = r_[4];
  // 2^130 = 5 (mod p): limbs past the top wrap around times 5.
  const uint32_t s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5;
  uint32_t h0 = h_[0], h1 = h_[1], h2 = h_[2], h3 = h_[3], h4 = h_[4];
  for (; n >= 16; n -= 16, m += 16) {
    h0 += LoadLE32(m + 0) & kMask;
    h1 += (LoadLE32(m + 3) >> 2) & kMask;
    h2 += (LoadLE32(m + 6) >> 4) & kMask;
    h3 += (LoadLE32(m + 9) >> 6) & kMask;
    h4 += (LoadLE32(m + 12) >> 8) | hibit;
    const uint64_t d0 = uint64_t(h0) * r0 + uint64_t(h1) * s4 + uint64_t(h2) * s3 +
                        uint64_t(h3) * s2 + uint64_t(h4) * s1;
    uint64_t d1 = uint64_t(h0) * r1 + uint64_t(h1) * r0 + uint64_t(h2) * s4 +
                  uint64_t(h3) * s3 + uint64_t(h4) * s2;
    uint64_t d2 = uint64_t(h0) * r2 + uint64_t(h1) * r1 + uint64_t(h2) * r0 +
                  uint64_t(h3) * s4 + uint64_t(h4) * s3;
    uint64_t d3 = uint64_t(h0) * r3 + uint64_t(h1) * r2 + uint64_t(h2) * r1 +
                  uint64_t(h3) * r0 + uint64_t(h4) * s4;
    uint64_t d4 = uint64_t(h0) * r4 + uint64_t(h1) * r3 + uint64_t(h2) * r2 +
                  uint64_t(h3) * r1 + uint64_t(h4) * r0;
    uint32_t c = uint32_t(d0 >> 26);
    h0 = uint32_t(d0) & kMask;
    d1 += c;
    c = uint32_t(d1 >> 26);
    h1 = uint32_t(d1) & kMask;
    d2 += c;
    c = uint32_t(d2 >> 26);
    h2 = uint32_t(d2) & kMask;
    d3 += c;
    c = uint32_t(d3 >> 26);
    h3 = uint32_t(d3) & kMask;
    d4 += c;
    c = uint32_t(d4 >> 26);
    h4 = uint32_t(d4) & kMask;
    h0 += c * 5;
    c = h0 >> 26;
    h0 &= kMask;
    h1 += c;
  }
  h_[0] = h0;
  h_[1] = h1;
  h_[2] = h2;
  h_[3] = h3;
  h_[4] = h4;
}
#endif

void Poly1305::Update(const uint8_t* data, size_t n) {
  if (n == 0) return;
  if (buffered_ > 0) {
    const size_t take = n < 16 - buffered_ ? n : 16 - buffered_;
    std::memcpy(buffer_ + buffered_, data, take);
    buffered_ += take;
    data += take;
    n -= take;
    if (buffered_ < 16) return;
    Blocks(buffer_, 16, 1u << 24);
    buffered_ = 0;
  }
  const size_t whole = n & ~size_t(15);
  Blocks(data, whole, 1u << 24);
  data += whole;
  n -= whole;
  if (n > 0) {
    std::memcpy(buffer_, data, n);
    buffered_ = n;
  }
}

void Poly1305::Final(uint8_t tag[kAeadTagSize]) {
  if (buffered_ > 0) {
    // The last partial block carries its 1 bit in the byte after it.
    buffer_[buffered_] = 1;
    for (size_t i = buffered_ + 1; i < 16; ++i) buffer_[i] = 0;
    Blocks(buffer_, 16, 0);
    buffered_ = 0;
  }
#ifdef TREESYNC_POLY1305_64
  {
    uint64_t h0 = h_[0], h1 = h_[1], h2 = h_[2];
    uint64_t c = 0;
    // Two full carry passes leave every limb within its bits.
    for (int pass = 0; pass < 2; ++pass) {
      c = h1 >> 44;
      h1 &= kMask44;
      h2 += c;
      c = h2 >> 42;
      h2 &= kMask42;
      h0 += c * 5;
      c = h0 >> 44;
      h0 &= kMask44;
      h1 += c;
    }
    // g = h - p; h >= p exactly when g does not go negative, chosen by mask.
    uint64_t g0 = h0 + 5;
    c = g0 >> 44;
    g0 &= kMask44;
    uint64_t g1 = h1 + c;
    c = g1 >> 44;
    g1 &= kMask44;
    const uint64_t g2 = h2 + c - (uint64_t(1) << 42);
    const uint64_t take_g = (g2 >> 63) - 1;
    h0 = (h0 & ~take_g) | (g0 & take_g);
    h1 = (h1 & ~take_g) | (g1 & take_g);
    h2 = (h2 & ~take_g) | (g2 & take_g);
    // Plus the pad, mod 2^128.
    const uint64_t t0 = pad_[0] | (pad_[1] << 32), t1 = pad_[2] | (pad_[3] << 32);
    h0 += t0 & kMask44;
    c = h0 >> 44;
    h0 &= kMask44;
    h1 += (((t0 >> 44) | (t1 << 20)) & kMask44) + c;
    c = h1 >> 44;
    h1 &= kMask44;
    h2 += ((t1 >> 24) & kMask42) + c;
    h2 &= kMask42;
    StoreLE64(tag, h0 | (h1 << 44));
    StoreLE64(tag + 8, (h1 >> 20) | (h2 << 24));
    SecureWipe(h_, sizeof(h_));
    return;
  }
#else
  constexpr uint32_t kMask = 0x3ffffff;
  uint32_t h0 = h_[0], h1 = h_[1], h2 = h_[2], h3 = h_[3], h4 = h_[4];
  uint32_t c = h1 >> 26;
  h1 &= kMask;
  h2 += c;
  c = h2 >> 26;
  h2 &= kMask;
  h3 += c;
  c = h3 >> 26;
  h3 &= kMask;
  h4 += c;
  c = h4 >> 26;
  h4 &= kMask;
  h0 += c * 5;
  c = h0 >> 26;
  h0 &= kMask;
  h1 += c;
  // g = h - p = h + 5 - 2^130; h >= p exactly when g does not go negative,
  // and the choice is made with a mask, not a branch.
  uint32_t g0 = h0 + 5;
  c = g0 >> 26;
  g0 &= kMask;
  uint32_t g1 = h1 + c;
  c = g1 >> 26;
  g1 &= kMask;
  uint32_t g2 = h2 + c;
  c = g2 >> 26;
  g2 &= kMask;
  uint32_t g3 = h3 + c;
  c = g3 >> 26;
  g3 &= kMask;
  uint32_t g4 = h4 + c - (1u << 26);
  uint32_t take_g = (g4 >> 31) - 1;
  h0 = (h0 & ~take_g) | (g0 & take_g);
  h1 = (h1 & ~take_g) | (g1 & take_g);
  h2 = (h2 & ~take_g) | (g2 & take_g);
  h3 = (h3 & ~take_g) | (g3 & take_g);
  h4 = (h4 & ~take_g) | (g4 & take_g);
  // To 128 bits, plus the pad mod 2^128.
  const uint32_t w0 = h0 | (h1 << 26);
  const uint32_t w1 = (h1 >> 6) | (h2 << 20);
  const uint32_t w2 = (h2 >> 12) | (h3 << 14);
  const uint32_t w3 = (h3 >> 18) | (h4 << 8);
  uint64_t f = uint64_t(w0) + pad_[0];
  StoreLE32(tag, uint32_t(f));
  f = uint64_t(w1) + pad_[1] + (f >> 32);
  StoreLE32(tag + 4, uint32_t(f));
  f = uint64_t(w2) + pad_[2] + (f >> 32);
  StoreLE32(tag + 8, uint32_t(f));
  f = uint64_t(w3) + pad_[3] + (f >> 32);
  StoreLE32(tag + 12, uint32_t(f));
  SecureWipe(h_, sizeof(h_));
#endif
}

bool ConstantTimeEqual(const uint8_t* a, const uint8_t* b, size_t n) {
  uint32_t diff = 0;
  for (size_t i = 0; i < n; ++i) diff |= uint32_t(a[i] ^ b[i]);
  // (diff - 1) >> 31 is 1 exactly when diff is 0 (diff < 256).
  return ((diff - 1) >> 31) == 1;
}

void AeadSeal(const uint8_t key[kChaChaKeySize], const uint8_t nonce[kChaChaNonceSize],
              const uint8_t* ad, size_t ad_len, const uint8_t* plain, size_t n, uint8_t* out) {
  ChaCha20Xor(key, nonce, 1, plain, out, n);
  AeadTag(key, nonce, ad, ad_len, out, n, out + n);
}

bool AeadOpen(const uint8_t key[kChaChaKeySize], const uint8_t nonce[kChaChaNonceSize],
              const uint8_t* ad, size_t ad_len, const uint8_t* sealed, size_t sealed_len,
              uint8_t* out) {
  if (sealed_len < kAeadTagSize) return false;
  const size_t n = sealed_len - kAeadTagSize;
  uint8_t tag[kAeadTagSize];
  AeadTag(key, nonce, ad, ad_len, sealed, n, tag);
  const bool ok = ConstantTimeEqual(tag, sealed + n, kAeadTagSize);
  SecureWipe(tag, sizeof(tag));
  if (!ok) {
    if (n > 0) std::memset(out, 0, n);
    return false;
  }
  ChaCha20Xor(key, nonce, 1, sealed, out, n);
  return true;
}

}  // namespace treesync
