#include "xxh3.h"

#include <cstring>

namespace treesync {

namespace {

constexpr uint64_t kPrime32_1 = 0x9E3779B1u;
constexpr uint64_t kPrime32_2 = 0x85EBCA77u;
constexpr uint64_t kPrime32_3 = 0xC2B2AE3Du;
constexpr uint64_t kPrime64_1 = 0x9E3779B185EBCA87ull;
constexpr uint64_t kPrime64_2 = 0xC2B2AE3D27D4EB4Full;
constexpr uint64_t kPrime64_3 = 0x165667B19E3779F9ull;
constexpr uint64_t kPrime64_4 = 0x85EBCA77C2B2AE63ull;
constexpr uint64_t kPrime64_5 = 0x27D4EB2F165667C5ull;

constexpr size_t kSecretSize = 192;
constexpr size_t kSecretSizeMin = 136;
constexpr size_t kStripe = 64;
constexpr size_t kStripesPerBlock = (kSecretSize - kStripe) / 8;  // 16
constexpr size_t kBlock = kStripe * kStripesPerBlock;              // 1024
constexpr size_t kMidSizeMax = 240;
constexpr size_t kLastAccStart = 7;
constexpr size_t kMergeAccsStart = 11;
constexpr size_t kMidSizeStartOffset = 3;
constexpr size_t kMidSizeLastOffset = 17;
static_assert(kBlock == Xxh3Hasher::kBlockBytes, "block size");

// The algorithm's default secret.
const unsigned char kSecret[kSecretSize] = {
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

using Bytes = const unsigned char*;

// Loads are byte-wise so the hash is the same on any endianness and any
// alignment; compilers turn them into single loads on little-endian hosts.
inline uint32_t Read32(Bytes p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline uint64_t Read64(Bytes p) { return uint64_t(Read32(p)) | uint64_t(Read32(p + 4)) << 32; }
inline void Write64(unsigned char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
inline uint32_t Swap32(uint32_t x) {
  return (x >> 24) | ((x >> 8) & 0xFF00u) | ((x << 8) & 0xFF0000u) | (x << 24);
}
inline uint64_t Swap64(uint64_t x) {
  return uint64_t(Swap32(static_cast<uint32_t>(x))) << 32 | Swap32(static_cast<uint32_t>(x >> 32));
}
inline uint32_t Rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

// The full 64x64 -> 128-bit product.
inline Hash128 Mul128(uint64_t a, uint64_t b) {
#if defined(__SIZEOF_INT128__)
  unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  return {static_cast<uint64_t>(p), static_cast<uint64_t>(p >> 64)};
#else
  uint64_t lo_lo = (a & 0xFFFFFFFF) * (b & 0xFFFFFFFF);
  uint64_t hi_lo = (a >> 32) * (b & 0xFFFFFFFF);
  uint64_t lo_hi = (a & 0xFFFFFFFF) * (b >> 32);
  uint64_t hi_hi = (a >> 32) * (b >> 32);
  uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFF) + lo_hi;
  uint64_t upper = (hi_lo >> 32) + (cross >> 32) + hi_hi;
  uint64_t lower = (cross << 32) | (lo_lo & 0xFFFFFFFF);
  return {lower, upper};
#endif
}

inline uint64_t MulFold64(uint64_t a, uint64_t b) {
  Hash128 p = Mul128(a, b);
  return p.low ^ p.high;
}

inline uint64_t Xxh64Avalanche(uint64_t h) {
  h ^= h >> 33;
  h *= kPrime64_2;
  h ^= h >> 29;
  h *= kPrime64_3;
  return h ^ (h >> 32);
}

inline uint64_t Xxh3Avalanche(uint64_t h) {
  h ^= h >> 37;
  h *= 0x165667919E3779F9ull;
  return h ^ (h >> 32);
}

inline uint64_t Mix16(Bytes in, Bytes secret, uint64_t seed) {
  return MulFold64(Read64(in) ^ (Read64(secret) + seed), Read64(in + 8) ^ (Read64(secret + 8) - seed));
}

inline Hash128 Mix32(Hash128 acc, Bytes in1, Bytes in2, Bytes secret, uint64_t seed) {
  acc.low += Mix16(in1, secret, seed);
  acc.low ^= Read64(in2) + Read64(in2 + 8);
  acc.high += Mix16(in2, secret + 16, seed);
  acc.high ^= Read64(in1) + Read64(in1 + 8);
  return acc;
}

Hash128 Len1To3(Bytes in, size_t len, Bytes secret, uint64_t seed) {
  uint32_t c1 = in[0], c2 = in[len >> 1], c3 = in[len - 1];
  uint32_t combined_lo = (c1 << 16) | (c2 << 24) | c3 | (uint32_t(len) << 8);
  uint32_t combined_hi = Rotl32(Swap32(combined_lo), 13);
  uint64_t flip_lo = (Read32(secret) ^ Read32(secret + 4)) + seed;
  uint64_t flip_hi = (Read32(secret + 8) ^ Read32(secret + 12)) - seed;
  return {Xxh64Avalanche(combined_lo ^ flip_lo), Xxh64Avalanche(combined_hi ^ flip_hi)};
}

Hash128 Len4To8(Bytes in, size_t len, Bytes secret, uint64_t seed) {
  seed ^= uint64_t(Swap32(static_cast<uint32_t>(seed))) << 32;
  uint64_t in64 = Read32(in) + (uint64_t(Read32(in + len - 4)) << 32);
  uint64_t flip = (Read64(secret + 16) ^ Read64(secret + 24)) + seed;
  Hash128 m = Mul128(in64 ^ flip, kPrime64_1 + (len << 2));
  m.high += m.low << 1;
  m.low ^= m.high >> 3;
  m.low ^= m.low >> 35;
  m.low *= 0x9FB21C651E98DF25ull;
  m.low ^= m.low >> 28;
  m.high = Xxh3Avalanche(m.high);
  return m;
}

Hash128 Len9To16(Bytes in, size_t len, Bytes secret, uint64_t seed) {
  uint64_t flip_lo = (Read64(secret + 32) ^ Read64(secret + 40)) - seed;
  uint64_t flip_hi = (Read64(secret + 48) ^ Read64(secret + 56)) + seed;
  uint64_t in_lo = Read64(in);
  uint64_t in_hi = Read64(in + len - 8);
  Hash128 m = Mul128(in_lo ^ in_hi ^ flip_lo, kPrime64_1);
  m.low += uint64_t(len - 1) << 54;
  in_hi ^= flip_hi;
  m.high += in_hi + (in_hi & 0xFFFFFFFF) * (kPrime32_2 - 1);
  m.low ^= Swap64(m.high);
  Hash128 h = Mul128(m.low, kPrime64_2);
  h.high += m.high * kPrime64_2;
  return {Xxh3Avalanche(h.low), Xxh3Avalanche(h.high)};
}

Hash128 Len0To16(Bytes in, size_t len, Bytes secret, uint64_t seed) {
  if (len > 8) return Len9To16(in, len, secret, seed);
  if (len >= 4) return Len4To8(in, len, secret, seed);
  if (len > 0) return Len1To3(in, len, secret, seed);
  return {Xxh64Avalanche(seed ^ Read64(secret + 64) ^ Read64(secret + 72)),
          Xxh64Avalanche(seed ^ Read64(secret + 80) ^ Read64(secret + 88))};
}

Hash128 FinishMid(Hash128 acc, size_t len, uint64_t seed) {
  uint64_t lo = acc.low + acc.high;
  uint64_t hi = acc.low * kPrime64_1 + acc.high * kPrime64_4 + (uint64_t(len) - seed) * kPrime64_2;
  return {Xxh3Avalanche(lo), 0 - Xxh3Avalanche(hi)};
}

Hash128 Len17To128(Bytes in, size_t len, Bytes secret, uint64_t seed) {
  Hash128 acc{len * kPrime64_1, 0};
  if (len > 32) {
    if (len > 64) {
      if (len > 96) acc = Mix32(acc, in + 48, in + len - 64, secret + 96, seed);
      acc = Mix32(acc, in + 32, in + len - 48, secret + 64, seed);
    }
    acc = Mix32(acc, in + 16, in + len - 32, secret + 32, seed);
  }
  acc = Mix32(acc, in, in + len - 16, secret, seed);
  return FinishMid(acc, len, seed);
}

Hash128 Len129To240(Bytes in, size_t len, Bytes secret, uint64_t seed) {
  Hash128 acc{len * kPrime64_1, 0};
  size_t rounds = len / 32;
  for (size_t i = 0; i < 4; ++i) acc = Mix32(acc, in + 32 * i, in + 32 * i + 16, secret + 32 * i, seed);
  acc.low = Xxh3Avalanche(acc.low);
  acc.high = Xxh3Avalanche(acc.high);
  for (size_t i = 4; i < rounds; ++i) {
    acc = Mix32(acc, in + 32 * i, in + 32 * i + 16, secret + kMidSizeStartOffset + 32 * (i - 4),
                seed);
  }
  acc = Mix32(acc, in + len - 16, in + len - 32, secret + kSecretSizeMin - kMidSizeLastOffset - 16,
              0 - seed);
  return FinishMid(acc, len, seed);
}

// One 64-byte stripe into the eight lanes. Plain loops over uint64_t
// lanes, which the compiler vectorizes.
inline void Accumulate512(uint64_t* acc, Bytes in, Bytes secret) {
  uint64_t data[8], key[8];
  for (int i = 0; i < 8; ++i) {
    data[i] = Read64(in + 8 * i);
    key[i] = data[i] ^ Read64(secret + 8 * i);
  }
  for (int i = 0; i < 8; ++i) {
    acc[i ^ 1] += data[i];
    acc[i] += (key[i] & 0xFFFFFFFF) * (key[i] >> 32);
  }
}

inline void Accumulate(uint64_t* acc, Bytes in, Bytes secret, size_t stripes) {
  for (size_t n = 0; n < stripes; ++n) Accumulate512(acc, in + n * kStripe, secret + n * 8);
}

inline void Scramble(uint64_t* acc, Bytes secret) {
  for (int i = 0; i < 8; ++i) {
    uint64_t a = acc[i];
    a ^= a >> 47;
    a ^= Read64(secret + 8 * i);
    acc[i] = a * kPrime32_1;
  }
}

void InitAcc(uint64_t* acc) {
  const uint64_t init[8] = {kPrime32_3, kPrime64_1, kPrime64_2, kPrime64_3,
                            kPrime64_4, kPrime32_2, kPrime64_5, kPrime32_1};
  std::memcpy(acc, init, sizeof init);
}

uint64_t MergeAccs(const uint64_t* acc, Bytes secret, uint64_t start) {
  uint64_t r = start;
  for (int i = 0; i < 4; ++i) {
    r += MulFold64(acc[2 * i] ^ Read64(secret + 16 * i), acc[2 * i + 1] ^ Read64(secret + 16 * i + 8));
  }
  return Xxh3Avalanche(r);
}

Hash128 FinishLong(const uint64_t* acc, size_t len, Bytes secret) {
  return {MergeAccs(acc, secret + kMergeAccsStart, uint64_t(len) * kPrime64_1),
          MergeAccs(acc, secret + kSecretSize - 64 - kMergeAccsStart, ~(uint64_t(len) * kPrime64_2))};
}

// The stripes of a final, partial block, then the last stripe of the input.
// `last` points at the input's last 64 bytes.
void AccumulateTail(uint64_t* acc, Bytes block, size_t block_len, Bytes last, Bytes secret) {
  Accumulate(acc, block, secret, (block_len - 1) / kStripe);
  Accumulate512(acc, last, secret + kSecretSize - kStripe - kLastAccStart);
}

Hash128 HashLong(Bytes in, size_t len, Bytes secret) {
  uint64_t acc[8];
  InitAcc(acc);
  size_t blocks = (len - 1) / kBlock;
  for (size_t b = 0; b < blocks; ++b) {
    Accumulate(acc, in + b * kBlock, secret, kStripesPerBlock);
    Scramble(acc, secret + kSecretSize - kStripe);
  }
  AccumulateTail(acc, in + blocks * kBlock, len - blocks * kBlock, in + len - kStripe, secret);
  return FinishLong(acc, len, secret);
}

void MakeSecret(uint64_t seed, unsigned char* out) {
  for (size_t i = 0; i < kSecretSize / 16; ++i) {
    Write64(out + 16 * i, Read64(kSecret + 16 * i) + seed);
    Write64(out + 16 * i + 8, Read64(kSecret + 16 * i + 8) - seed);
  }
}

// Every length class; `secret` is the seed-derived one (used only by the
// long path, as in the reference).
Hash128 HashAny(Bytes in, size_t len, uint64_t seed, Bytes secret) {
  if (len <= 16) return Len0To16(in, len, kSecret, seed);
  if (len <= 128) return Len17To128(in, len, kSecret, seed);
  if (len <= kMidSizeMax) return Len129To240(in, len, kSecret, seed);
  return HashLong(in, len, secret);
}

}  // namespace

Hash128 Xxh3_128(const void* data, size_t len, uint64_t seed) {
  Bytes in = static_cast<Bytes>(data);
  if (len <= kMidSizeMax || seed == 0) return HashAny(in, len, seed, kSecret);
  unsigned char secret[kSecretSize];
  MakeSecret(seed, secret);
  return HashLong(in, len, secret);
}

Xxh3Hasher::Xxh3Hasher(uint64_t seed) : seed_(seed) {
  if (seed == 0) {
    std::memcpy(secret_, kSecret, kSecretSize);
  } else {
    MakeSecret(seed, secret_);
  }
  Reset();
}

void Xxh3Hasher::Reset() {
  InitAcc(acc_);
  total_ = 0;
  buffered_ = 0;
}

void Xxh3Hasher::Update(const void* data, size_t len) {
  Bytes in = static_cast<Bytes>(data);
  total_ += len;
  // A full buffer is folded in only once more input shows it is not the
  // last block: the last block is finished differently (AccumulateTail).
  if (buffered_ + len <= kBlock) {
    std::memcpy(buf_ + buffered_, in, len);
    buffered_ += len;
    return;
  }
  if (buffered_ > 0) {
    size_t fill = kBlock - buffered_;
    std::memcpy(buf_ + buffered_, in, fill);
    in += fill;
    len -= fill;
    Accumulate(acc_, buf_, secret_, kStripesPerBlock);
    Scramble(acc_, secret_ + kSecretSize - kStripe);
    std::memcpy(tail_, buf_ + kBlock - kStripe, kStripe);
    buffered_ = 0;
  }
  // Whole blocks straight from the caller's memory, keeping at least one
  // byte back for the final block.
  while (len > kBlock) {
    Accumulate(acc_, in, secret_, kStripesPerBlock);
    Scramble(acc_, secret_ + kSecretSize - kStripe);
    std::memcpy(tail_, in + kBlock - kStripe, kStripe);
    in += kBlock;
    len -= kBlock;
  }
  std::memcpy(buf_, in, len);
  buffered_ = len;
}

Hash128 Xxh3Hasher::Digest() const {
  if (total_ <= kBlock) return Xxh3_128(buf_, buffered_, seed_);
  uint64_t acc[8];
  std::memcpy(acc, acc_, sizeof acc);
  // The last stripe may reach back into the block already folded in.
  unsigned char last[kStripe];
  if (buffered_ >= kStripe) {
    std::memcpy(last, buf_ + buffered_ - kStripe, kStripe);
  } else {
    std::memcpy(last, tail_ + buffered_, kStripe - buffered_);
    std::memcpy(last + kStripe - buffered_, buf_, buffered_);
  }
  AccumulateTail(acc, buf_, buffered_, last, secret_);
  return FinishLong(acc, static_cast<size_t>(total_), secret_);
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
    h.high = h.high << 8 | in[i];
    h.low = h.low << 8 | in[8 + i];
  }
  return h;
}

std::string Hash128Hex(const Hash128& h) {
  static const char kHex[] = "0123456789abcdef";
  uint8_t b[16];
  Hash128ToBytes(h, b);
  std::string s;
  for (uint8_t c : b) {
    s += kHex[c >> 4];
    s += kHex[c & 15];
  }
  return s;
}

}  // namespace treesync
