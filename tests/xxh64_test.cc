#include "xxh64.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace treesync {
namespace {

constexpr uint64_t kPrime32 = 2654435761ULL;            // 0x9E3779B1
constexpr uint64_t kPrime64 = 11400714785074694797ULL;  // 0x9E3779B185EBCA8D

// The input xxHash's sanity vectors are computed on (XSUM_fillTestBuffer in
// xxHash's cli/xsum_sanity_check.c): the top byte of a multiplicative
// generator. Vectors for length n hash the first n bytes.
std::vector<uint8_t> SanityBuffer(size_t len) {
  std::vector<uint8_t> buf(len);
  uint64_t gen = kPrime32;
  for (uint8_t& b : buf) {
    b = static_cast<uint8_t>(gen >> 56);
    gen *= kPrime64;
  }
  return buf;
}

struct Vector {
  size_t len;
  uint64_t seed;
  uint64_t hash;
};

// Sources:
//  [X] xxHash cli/xsum_sanity_check.c, XSUM_XXH64_testdata;
//  [L] the reference library (libxxhash 0.8.1, XXH64) on the same buffer,
//      filling in the length classes: < 4, 4-7, 8-31 (8-byte tail steps),
//      exactly 32 (one stripe), and stripes plus every kind of tail.
const Vector kVectors[] = {
    {0, 0, 0xEF46DB3751D8E999ULL},            // [X]
    {0, kPrime32, 0xAC75FDA2929B17EFULL},     // [X]
    {1, 0, 0xE934A84ADB052768ULL},            // [X]
    {1, kPrime32, 0x5014607643A9B4C3ULL},     // [X]
    {3, 0, 0xFF7E1959CB50794AULL},            // [L]
    {4, 0, 0x9136A0DCA57457EEULL},            // [X]
    {4, kPrime32, 0xCAAB286BD8E9FDB5ULL},     // [L]
    {7, 0, 0x6C83909A9F01ED25ULL},            // [L]
    {8, 0, 0xCDBCF538E71D1348ULL},            // [L]
    {14, 0, 0x8282DCC4994E35C8ULL},           // [X]
    {14, kPrime32, 0xC3BD6BF63DEB6DF0ULL},    // [X]
    {15, kPrime32, 0xD61105C20E91F99FULL},    // [L]
    {16, 0, 0x98C90B57FDFCB55CULL},           // [L]
    {31, 0, 0x299B39A290E6D783ULL},           // [L]
    {32, 0, 0x18B216492BB44B70ULL},           // [L]
    {32, kPrime32, 0xB3F33BDF93ADE409ULL},    // [L]
    {33, 0, 0x55C8DC3E578F5B59ULL},           // [L]
    {63, kPrime32, 0x6C911FADB05B6FC2ULL},    // [L]
    {64, 0, 0xEF558F8ACAC2B5CDULL},           // [L]
    {100, 0, 0x4BFE019CD91D9EA4ULL},          // [L]
    {222, 0, 0xB641AE8CB691C174ULL},          // [X]
    {222, kPrime32, 0x20CB8AB7AE10C14AULL},   // [X]
    {1000, kPrime32, 0x72751A2408017E26ULL},  // [L]
    {2367, 0, 0xA82418DDEC0EA581ULL},         // [L]
    {4096, 0, 0xAB77F4AF85F4E70BULL},         // [L]
    {4096, kPrime32, 0xCB8B60CBA513125DULL},  // [L]
};

TEST(Xxh64, MatchesPublishedAndReferenceVectors) {
  const std::vector<uint8_t> buf = SanityBuffer(4096);
  for (const Vector& v : kVectors) {
    SCOPED_TRACE(testing::Message() << "len " << v.len << " seed 0x" << std::hex << v.seed);
    EXPECT_EQ(Xxh64(v.len ? buf.data() : nullptr, v.len, v.seed), v.hash);
    Xxh64Hasher whole(v.seed);
    whole.Update(buf.data(), v.len);
    EXPECT_EQ(whole.Digest(), v.hash);
    Xxh64Hasher bytewise(v.seed);
    for (size_t i = 0; i < v.len; ++i) bytewise.Update(&buf[i], 1);
    EXPECT_EQ(bytewise.Digest(), v.hash);
  }
}

TEST(Xxh64, MatchesPublishedStringHashes) {
  EXPECT_EQ(Xxh64(nullptr, 0), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(Xxh64("a", 1), 0xD24EC4F1A98C6E5BULL);
  EXPECT_EQ(Xxh64("abc", 3), 0x44BC2CF5AD770999ULL);
  const std::string fox = "The quick brown fox jumps over the lazy dog";
  EXPECT_EQ(Xxh64(fox.data(), fox.size()), 0x0B242D361FDA71BCULL);
  EXPECT_EQ(Xxh64Hasher().Digest(), 0xEF46DB3751D8E999ULL);
}

TEST(Xxh64, DefaultSeedIsZero) {
  const std::vector<uint8_t> buf = SanityBuffer(300);
  for (size_t len : {0, 5, 31, 32, 100, 300}) {
    EXPECT_EQ(Xxh64(buf.data(), len), Xxh64(buf.data(), len, 0));
  }
}

TEST(Xxh64, StreamingWithRandomSplitsEqualsOneShot) {
  std::mt19937_64 rng(20261202);
  std::vector<uint8_t> data(3000);
  for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
  // Chunk caps below, around and above the 32-byte stripe.
  const size_t kMaxChunk[] = {1, 7, 31, 33, 100, 3000};
  for (size_t len = 0; len <= data.size(); ++len) {
    for (uint64_t seed : {uint64_t{0}, kPrime64}) {
      const size_t cap = kMaxChunk[(len + seed) % 6];
      Xxh64Hasher h(seed);
      size_t pos = 0;
      while (pos < len) {
        const size_t n = std::min<size_t>(len - pos, rng() % (cap + 1));  // 0 is allowed
        h.Update(data.data() + pos, n);
        pos += n;
      }
      ASSERT_EQ(h.Digest(), Xxh64(data.data(), len, seed)) << "len " << len << " seed " << seed;
    }
  }
}

TEST(Xxh64, UnalignedInputHashesLikeAligned) {
  const std::vector<uint8_t> buf = SanityBuffer(4096);
  std::vector<uint8_t> shifted(4096 + 7);
  for (size_t offset = 1; offset < 8; ++offset) {
    std::copy(buf.begin(), buf.end(), shifted.begin() + offset);
    for (size_t len : {3, 15, 32, 100, 2367, 4096}) {
      EXPECT_EQ(Xxh64(shifted.data() + offset, len), Xxh64(buf.data(), len))
          << "offset " << offset << " len " << len;
    }
  }
}

TEST(Xxh64, DigestDoesNotChangeStateAndUpdateCanContinue) {
  const std::vector<uint8_t> buf = SanityBuffer(4096);
  Xxh64Hasher h(kPrime32);
  size_t pos = 0;
  for (size_t step : {5, 27, 32, 1, 100, 31, 1, 1000, 2000}) {
    h.Update(buf.data() + pos, step);
    pos += step;
    const uint64_t first = h.Digest();
    EXPECT_EQ(h.Digest(), first);
    EXPECT_EQ(first, Xxh64(buf.data(), pos, kPrime32)) << "len " << pos;
  }
}

TEST(Xxh64, ResetStartsOverWithTheSameSeed) {
  const std::vector<uint8_t> buf = SanityBuffer(4096);
  Xxh64Hasher h(kPrime32);
  h.Update(buf.data(), 3000);
  h.Reset();
  EXPECT_EQ(h.Digest(), 0xAC75FDA2929B17EFULL);
  h.Update(buf.data(), 222);
  EXPECT_EQ(h.Digest(), 0x20CB8AB7AE10C14AULL);
}

TEST(Xxh64, CopiedHasherContinuesIndependently) {
  const std::vector<uint8_t> buf = SanityBuffer(4096);
  Xxh64Hasher a;
  a.Update(buf.data(), 1500);
  Xxh64Hasher b = a;
  a.Update(buf.data() + 1500, 867);
  b.Update(buf.data() + 1500, 10);
  EXPECT_EQ(a.Digest(), Xxh64(buf.data(), 2367));
  EXPECT_EQ(b.Digest(), Xxh64(buf.data(), 1510));
}

TEST(Xxh64, SeedChangesEveryLengthClass) {
  const std::vector<uint8_t> buf = SanityBuffer(4096);
  for (size_t len : {0, 2, 6, 12, 32, 100, 1000}) {
    EXPECT_NE(Xxh64(buf.data(), len, 1), Xxh64(buf.data(), len, 0)) << "len " << len;
  }
}

}  // namespace
}  // namespace treesync
