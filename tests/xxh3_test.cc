#include "xxh3.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace treesync {
namespace {

constexpr uint64_t kPrime32 = 2654435761u;
constexpr uint64_t kPrime64 = 11400714785074694797ull;

// xxHash's sanity buffer (tests/sanity_test_vectors.h, cli/xsum_sanity_check.c).
std::vector<unsigned char> SanityBuffer() {
  std::vector<unsigned char> buf(4096 + 64 + 1);
  uint64_t gen = kPrime32;
  for (unsigned char& c : buf) {
    c = static_cast<unsigned char>(gen >> 56);
    gen *= kPrime64;
  }
  return buf;
}

struct Vector {
  size_t len;
  uint64_t seed;
  uint64_t low, high;
};

// XSUM_XXH128_testdata from xxHash's cli/xsum_sanity_check.c: every length
// class (0, 1-3, 4-8, 9-16, 17-128, 129-240, one block, several blocks,
// stripe- and block-aligned and overlapping last stripes), with and without
// a seed.
const Vector kVectors[] = {
    {0, 0, 0x6001C324468D497Full, 0x99AA06D3014798D8ull},
    {0, kPrime32, 0x5444F7869C671AB0ull, 0x92220AE55E14AB50ull},
    {1, 0, 0xC44BDFF4074EECDBull, 0xA6CD5E9392000F6Aull},
    {1, kPrime32, 0xB53D5557E7F76F8Dull, 0x89B99554BA22467Cull},
    {6, 0, 0x3E7039BDDA43CFC6ull, 0x082AFE0B8162D12Aull},
    {6, kPrime32, 0x269D8F70BE98856Eull, 0x5A865B5389ABD2B1ull},
    {12, 0, 0x061A192713F69AD9ull, 0x6E3EFD8FC7802B18ull},
    {12, kPrime32, 0x9BE9F9A67F3C7DFBull, 0xD7E09D518A3405D3ull},
    {24, 0, 0x1E7044D28B1B901Dull, 0x0CE966E4678D3761ull},
    {24, kPrime32, 0xD7304C54EBAD40A9ull, 0x3162026714A6A243ull},
    {48, 0, 0xF942219AED80F67Bull, 0xA002AC4E5478227Eull},
    {48, kPrime32, 0x7BA3C3E453A1934Eull, 0x163ADDE36C072295ull},
    {81, 0, 0x5E8BAFB9F95FB803ull, 0x4952F58181AB0042ull},
    {81, kPrime32, 0x703FBB3D7A5F755Cull, 0x2724EC7ADC750FB6ull},
    {222, 0, 0xF1AEBD597CEC6B3Aull, 0x337E09641B948717ull},
    {222, kPrime32, 0xAE995BB8AF917A8Dull, 0x91820016621E97F1ull},
    {403, 0, 0xCDEB804D65C6DEA4ull, 0x1B6DE21E332DD73Dull},
    {403, kPrime64, 0x6259F6ECFD6443FDull, 0xBED311971E0BE8F2ull},
    {512, 0, 0x617E49599013CB6Bull, 0x18D2D110DCC9BCA1ull},
    {512, kPrime64, 0x3CE457DE14C27708ull, 0x925D06B8EC5B8040ull},
    {2048, 0, 0xDD59E2C3A5F038E0ull, 0xF736557FD47073A5ull},
    {2048, kPrime32, 0x230D43F30206260Bull, 0x7FB03F7E7186C3EAull},
    {2240, 0, 0x6E73A90539CF2948ull, 0xCCB134FBFA7CE49Dull},
    {2240, kPrime32, 0xED385111126FBA6Full, 0x50A1FE17B338995Full},
    {2367, 0, 0xCB37AEB9E5D361EDull, 0xE89C0F6FF369B427ull},
    {2367, kPrime32, 0x6F5360AE69C2F406ull, 0xD23AAE4B76C31ECBull},
};

TEST(Xxh3, MatchesPublishedVectors) {
  std::vector<unsigned char> buf = SanityBuffer();
  for (const Vector& v : kVectors) {
    Hash128 h = Xxh3_128(buf.data(), v.len, v.seed);
    EXPECT_EQ(h.low, v.low) << "len " << v.len << " seed " << v.seed;
    EXPECT_EQ(h.high, v.high) << "len " << v.len << " seed " << v.seed;
  }
}

TEST(Xxh3, EmptyInputMatchesXxhsum) {
  EXPECT_EQ(Hash128Hex(Xxh3_128(nullptr, 0)), "99aa06d3014798d86001c324468d497f");
}

TEST(Xxh3, StreamingByteByByteMatchesVectors) {
  std::vector<unsigned char> buf = SanityBuffer();
  for (const Vector& v : kVectors) {
    Xxh3Hasher h(v.seed);
    for (size_t i = 0; i < v.len; ++i) h.Update(&buf[i], 1);
    EXPECT_EQ(h.Digest(), (Hash128{v.low, v.high})) << "len " << v.len;
  }
}

TEST(Xxh3, StreamingAnySplitEqualsOneShot) {
  std::mt19937 rng(7);
  std::vector<unsigned char> data(5000);
  for (unsigned char& c : data) c = static_cast<unsigned char>(rng());
  for (size_t len = 0; len <= data.size(); len += (len < 2200 ? 1 : 97)) {
    for (uint64_t seed : {uint64_t(0), kPrime64}) {
      Xxh3Hasher h(seed);
      size_t pos = 0;
      while (pos < len) {
        size_t n = std::min<size_t>(len - pos, rng() % 1500);
        h.Update(data.data() + pos, n);
        pos += n;
      }
      ASSERT_EQ(h.Digest(), Xxh3_128(data.data(), len, seed)) << "len " << len;
    }
  }
}

TEST(Xxh3, StreamingLargeInputEqualsOneShot) {
  std::mt19937_64 rng(11);
  std::vector<unsigned char> data(3 * 1024 * 1024 + 17);
  for (unsigned char& c : data) c = static_cast<unsigned char>(rng());
  Xxh3Hasher h;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = std::min<size_t>(data.size() - pos, 1 + rng() % 300000);
    h.Update(data.data() + pos, n);
    pos += n;
  }
  EXPECT_EQ(h.Digest(), Xxh3_128(data.data(), data.size()));
}

TEST(Xxh3, DigestDoesNotChangeState) {
  std::vector<unsigned char> buf = SanityBuffer();
  Xxh3Hasher h;
  h.Update(buf.data(), 3000);
  Hash128 first = h.Digest();
  EXPECT_EQ(h.Digest(), first);
  h.Update(buf.data() + 3000, 1000);
  EXPECT_EQ(h.Digest(), Xxh3_128(buf.data(), 4000));
  h.Reset();
  EXPECT_EQ(h.Digest(), Xxh3_128(nullptr, 0));
}

TEST(Xxh3, BytesRoundTripInCanonicalOrder) {
  Hash128 h{0x0123456789abcdefull, 0xfedcba9876543210ull};
  uint8_t b[16];
  Hash128ToBytes(h, b);
  EXPECT_EQ(b[0], 0xfe);
  EXPECT_EQ(b[15], 0xef);
  EXPECT_EQ(Hash128FromBytes(b), h);
  EXPECT_EQ(Hash128Hex(h), "fedcba98765432100123456789abcdef");
}

}  // namespace
}  // namespace treesync
