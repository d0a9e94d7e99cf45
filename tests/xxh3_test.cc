#include "xxh3.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

namespace treesync {
namespace {

constexpr uint64_t kPrime32 = 2654435761ULL;            // 0x9E3779B1
constexpr uint64_t kPrime64 = 11400714785074694797ULL;  // 0x9E3779B185EBCA8D

// The input every xxHash sanity vector is computed on (XSUM_fillTestBuffer
// in xxHash's cli/xsum_sanity_check.c): the top byte of a multiplicative
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
  uint64_t low;
  uint64_t high;
};

// Published XXH3-128 vectors on the sanity buffer. Sources:
//  [X] xxHash cli/xsum_sanity_check.c, XSUM_XXH128_testdata;
//  [B] Boost.Hash2's xxh3_128 tests (same buffer), which fill in the exact
//      class boundaries 3, 4, 8, 9, 16, 17, 128, 129, 240, 241 and more.
// Length classes: 0 | 1-3 | 4-8 | 9-16 | 17-128 | 129-240 | >240, where
// >240 splits into 64-byte stripes and 1024-byte blocks.
const Vector kSeedZeroVectors[] = {
    {0, 0, 0x6001C324468D497FULL, 0x99AA06D3014798D8ULL},     // [X]
    {1, 0, 0xC44BDFF4074EECDBULL, 0xA6CD5E9392000F6AULL},     // [X]
    {3, 0, 0x54247382A8D6B94DULL, 0x20EFC49FF02422EAULL},     // [B]
    {4, 0, 0x2E7D8D6876A39FE9ULL, 0x970D585AC632BF8EULL},     // [B]
    {6, 0, 0x3E7039BDDA43CFC6ULL, 0x082AFE0B8162D12AULL},     // [X]
    {8, 0, 0x64C69CAB4BB21DC5ULL, 0x47A7F080D82BB456ULL},     // [B]
    {9, 0, 0xED7CCBC501EB7501ULL, 0x564EF6078950D457ULL},     // [B]
    {12, 0, 0x061A192713F69AD9ULL, 0x6E3EFD8FC7802B18ULL},    // [X]
    {16, 0, 0x562980258A998629ULL, 0xC68C368ECF8A9C05ULL},    // [B]
    {17, 0, 0xABBC12D11973D7DBULL, 0x955FA78643ED3669ULL},    // [B]
    {24, 0, 0x1E7044D28B1B901DULL, 0x0CE966E4678D3761ULL},    // [X]
    {48, 0, 0xF942219AED80F67BULL, 0xA002AC4E5478227EULL},    // [X]
    {81, 0, 0x5E8BAFB9F95FB803ULL, 0x4952F58181AB0042ULL},    // [X]
    {128, 0, 0xEBB15E34A7FB5AB1ULL, 0x39992220E045260AULL},   // [B]
    {129, 0, 0x86C9E3BC8F0A3B5CULL, 0x03815FC91F1B30B6ULL},   // [B]
    {222, 0, 0xF1AEBD597CEC6B3AULL, 0x337E09641B948717ULL},   // [X]
    {240, 0, 0x5C9AAE94C8EBE5A0ULL, 0xAA4202DAA2769DC8ULL},   // [B]
    {241, 0, 0xC5A639ECD2030E5EULL, 0x99A80ECF0ECFC647ULL},   // [B]
    {255, 0, 0xE98F979F4ED8A197ULL, 0x961375C87E09EFBCULL},   // [B]
    {256, 0, 0x55DE574AD89D0AC5ULL, 0x8B1C66091423D288ULL},   // [B]
    {257, 0, 0xB17FD5A8AE75BB0BULL, 0xF15FEE7F9F457599ULL},   // [B]
    {403, 0, 0xCDEB804D65C6DEA4ULL, 0x1B6DE21E332DD73DULL},   // [X]
    {511, 0, 0x8089715B163E7FC0ULL, 0x9F7619CB8D250F0DULL},   // [B]
    {512, 0, 0x617E49599013CB6BULL, 0x18D2D110DCC9BCA1ULL},   // [X]
    {2048, 0, 0xDD59E2C3A5F038E0ULL, 0xF736557FD47073A5ULL},  // [X] 2 blocks
    {2240, 0, 0x6E73A90539CF2948ULL, 0xCCB134FBFA7CE49DULL},  // [X] 3 blocks
    {2367, 0, 0xCB37AEB9E5D361EDULL, 0xE89C0F6FF369B427ULL},  // [X] 3 blocks
};

const Vector kSeededVectors[] = {
    {0, kPrime32, 0x5444F7869C671AB0ULL, 0x92220AE55E14AB50ULL},     // [X]
    {0, kPrime64, 0xA986DFC5D7605BFEULL, 0x00FEAA732A3CE25EULL},     // [B]
    {1, kPrime32, 0xB53D5557E7F76F8DULL, 0x89B99554BA22467CULL},     // [X]
    {1, kPrime64, 0x032BE332DD766EF8ULL, 0x20E49ABCC53B3842ULL},     // [B]
    {3, kPrime32, 0xF173D14DAD53A5DCULL, 0x48F82C2FE0ABD468ULL},     // [B]
    {3, kPrime64, 0x634B8990B4976373ULL, 0x1C7ECF6A308CF00EULL},     // [B]
    {4, kPrime32, 0xEF78D5C489CFE10BULL, 0x7170492A2AA08992ULL},     // [B]
    {4, kPrime64, 0xBFAF51F1E67E0B0FULL, 0x3D53E5DFD837D927ULL},     // [B]
    {6, kPrime32, 0x269D8F70BE98856EULL, 0x5A865B5389ABD2B1ULL},     // [X]
    {8, kPrime32, 0x5F462F3DE2E8B940ULL, 0xF959013232655FF1ULL},     // [B]
    {8, kPrime64, 0x7B29471DC729B5FFULL, 0xF50CEC145BCD5C5AULL},     // [B]
    {9, kPrime32, 0x07DE00B45EEE033AULL, 0x75FB6D1BD353B45CULL},     // [B]
    {9, kPrime64, 0xAEF5DFC0AC9F9044ULL, 0x6B380B43FFA61042ULL},     // [B]
    {12, kPrime32, 0x9BE9F9A67F3C7DFBULL, 0xD7E09D518A3405D3ULL},    // [X]
    {16, kPrime32, 0xB07EEEAB4C56392BULL, 0x3767C90D0CDBB93DULL},    // [B]
    {16, kPrime64, 0x0346D13A7A5498C7ULL, 0x6FFCB80CD33085C8ULL},    // [B]
    {17, kPrime32, 0x3CC9FF6CAE79ACCBULL, 0x99E7C628E75D6431ULL},    // [B]
    {17, kPrime64, 0x980A14119985A7DFULL, 0xD77681219E464828ULL},    // [B]
    {24, kPrime32, 0xD7304C54EBAD40A9ULL, 0x3162026714A6A243ULL},    // [X]
    {48, kPrime32, 0x7BA3C3E453A1934EULL, 0x163ADDE36C072295ULL},    // [X]
    {81, kPrime32, 0x703FBB3D7A5F755CULL, 0x2724EC7ADC750FB6ULL},    // [X]
    {128, kPrime32, 0x1453819941D93C1DULL, 0x98801187DF8D614DULL},   // [B]
    {128, kPrime64, 0x8394F5C51F1D8246ULL, 0xA0F7CCB68EE02ADDULL},   // [B]
    {129, kPrime32, 0xB37B716F66B40F02ULL, 0xB7F7349A47B39E56ULL},   // [B]
    {129, kPrime64, 0xD4AAE26FCEC7DC03ULL, 0xAD559266067C0BF3ULL},   // [B]
    {222, kPrime32, 0xAE995BB8AF917A8DULL, 0x91820016621E97F1ULL},   // [X]
    {240, kPrime32, 0xCA19087F1D335DAEULL, 0xDA888104BEAE5AE0ULL},   // [B]
    {240, kPrime64, 0x604E98DB085C1864ULL, 0x29D2133D6EA58C5BULL},   // [B]
    {241, kPrime32, 0x5927E3637BAC8149ULL, 0x4BF2229C3A8FC3C3ULL},   // [B]
    {241, kPrime64, 0xDDA9B0A161D4829AULL, 0xEC64AFAE6A137582ULL},   // [B]
    {255, kPrime32, 0x437EA109CB7CE24DULL, 0xEE657E12607ADFFEULL},   // [B]
    {255, kPrime64, 0x2ACA7901D9538C75ULL, 0xE72EC0137D62DF44ULL},   // [B]
    {256, kPrime32, 0x443D04D43F60C57FULL, 0xD540CC8620D8DD65ULL},   // [B]
    {256, kPrime64, 0x4D30234B7A3AA61CULL, 0xAAA57235B92D5E7CULL},   // [B]
    {257, kPrime32, 0x02F16A1476C65D95ULL, 0x52C36CA232FC662BULL},   // [B]
    {257, kPrime64, 0x802A6FBF3CACD97CULL, 0x15C1F9C667C815BAULL},   // [B]
    {403, kPrime64, 0x6259F6ECFD6443FDULL, 0xBED311971E0BE8F2ULL},   // [X]
    {511, kPrime32, 0x96736274A52C7DB2ULL, 0x24E3BB97C7C584D4ULL},   // [B]
    {511, kPrime64, 0x90EC0377BA8D6002ULL, 0xB52CAE55536E9FB9ULL},   // [B]
    {512, kPrime32, 0x545F610E9F5A78ECULL, 0x06EEB0D56508040FULL},   // [B]
    {512, kPrime64, 0x3CE457DE14C27708ULL, 0x925D06B8EC5B8040ULL},   // [X]
    {2048, kPrime32, 0x230D43F30206260BULL, 0x7FB03F7E7186C3EAULL},  // [X]
    {2240, kPrime32, 0xED385111126FBA6FULL, 0x50A1FE17B338995FULL},  // [X]
    {2367, kPrime32, 0x6F5360AE69C2F406ULL, 0xD23AAE4B76C31ECBULL},  // [X]
};

// Not published: computed on the same buffer with the reference library
// (libxxhash 0.8.1, XXH3_128bits_withSeed), to pin the block boundaries
// (1024 bytes = 16 stripes) that the published set only touches at 2048.
const Vector kReferenceVectors[] = {
    {1023, 0, 0x87A8F7B2F2E22496ULL, 0xE8083E4D83214C3CULL},
    {1023, kPrime64, 0x0F0F02DE8590E1B5ULL, 0x96B80FE329CE5E35ULL},
    {1024, 0, 0xDD85C9B5C1109C5CULL, 0x0D30D24071C64C57ULL},
    {1024, kPrime64, 0xEF368A8A2EBABAEFULL, 0x17600EFE2B493A18ULL},
    {1025, 0, 0xD870C0FA13211C6AULL, 0xFD3EE4FE7F2954C6ULL},
    {1025, kPrime64, 0x96792BCF9AF88519ULL, 0x2C383949F57BF7E1ULL},
    {1087, 0, 0x047F181E7C8A41B9ULL, 0xB67E858CF9E0959EULL},
    {1087, kPrime64, 0x9DDA30BBBF69BF13ULL, 0x0C85F8B06D204747ULL},
    {1088, 0, 0xCC1450EA6B52A8F4ULL, 0xE0FA3B9E9FB69D83ULL},
    {1088, kPrime64, 0x542632D046F3DDE4ULL, 0xC0DD009B78C40121ULL},
    {1089, 0, 0xEF727B2EFFC4CC8CULL, 0x6E026F1A15E62B39ULL},
    {1089, kPrime64, 0xFF8423D886707134ULL, 0x79983408B95BAC9DULL},
    {2047, 0, 0xB36ECE19FCA2197FULL, 0x763A9143F0523D15ULL},
    {2047, kPrime64, 0x8111BB82842ED0AEULL, 0x47C992688E710651ULL},
    {2049, 0, 0xD3AFA4329779B921ULL, 0x4CD2BD192F2D70BDULL},
    {2049, kPrime64, 0xE48083836CD58024ULL, 0xE4000F7A288A82CEULL},
    {3072, 0, 0x696BF231F32AB848ULL, 0x27DFCD2295AB7006ULL},
    {3072, kPrime64, 0xFE150E487CFF7C10ULL, 0x85521B34251EF4FFULL},
    {4096, 0, 0xE91206429D1F48F9ULL, 0xB9CFAEA2CA5626A4ULL},
    {4096, kPrime64, 0x2A3BBB20A5439DCDULL, 0x8FBC8FD4D526D1BDULL},
    {4160, 0, 0x4F323B15321E94E1ULL, 0x67140711C1E3E335ULL},
    {4160, kPrime64, 0x1BF6F5FAF9EECABDULL, 0xEE430626BA3B2F3CULL},
    {4161, 0, 0xEFB6CCB06C0B206AULL, 0x06E30DA044FBC01EULL},
    {4161, kPrime64, 0xA7E2D104DA48B297ULL, 0xE65C436B63ED1423ULL},
};

constexpr size_t kSanityLen = 4161;

// Checks one-shot, single-Update and byte-by-byte streaming for each vector.
template <size_t N>
void ExpectVectors(const Vector (&vectors)[N]) {
  const std::vector<uint8_t> buf = SanityBuffer(kSanityLen);
  for (const Vector& v : vectors) {
    SCOPED_TRACE(testing::Message() << "len " << v.len << " seed 0x" << std::hex << v.seed);
    const Hash128 want{v.low, v.high};
    // len 0 must not read the pointer: pass null, as the reference tests do.
    EXPECT_EQ(Xxh3_128(v.len ? buf.data() : nullptr, v.len, v.seed), want);
    Xxh3Hasher whole(v.seed);
    whole.Update(buf.data(), v.len);
    EXPECT_EQ(whole.Digest(), want);
    Xxh3Hasher bytewise(v.seed);
    for (size_t i = 0; i < v.len; ++i) bytewise.Update(&buf[i], 1);
    EXPECT_EQ(bytewise.Digest(), want);
  }
}

TEST(Xxh3, MatchesPublishedVectorsSeedZero) { ExpectVectors(kSeedZeroVectors); }

TEST(Xxh3, MatchesPublishedVectorsWithSeed) { ExpectVectors(kSeededVectors); }

TEST(Xxh3, MatchesReferenceLibraryAroundBlockBoundaries) { ExpectVectors(kReferenceVectors); }

// Every form of the long-input loop this build and CPU can run gives the
// published hashes and agrees with the portable one on a large input.
TEST(Xxh3, EveryLoopFormMatchesPublishedVectors) {
  std::mt19937_64 rng(11);
  std::vector<uint8_t> big(1024 * 1024 + 77);
  for (uint8_t& b : big) b = static_cast<uint8_t>(rng());
  ASSERT_TRUE(Xxh3UseLoop(Xxh3Loop::kPortable));
  const Hash128 portable = Xxh3_128(big.data(), big.size(), kPrime64);
  int ran = 0;
  for (Xxh3Loop loop : {Xxh3Loop::kPortable, Xxh3Loop::kAvx2}) {
    SCOPED_TRACE(testing::Message() << "loop " << static_cast<int>(loop));
    if (!Xxh3UseLoop(loop)) continue;
    ++ran;
    ExpectVectors(kSeedZeroVectors);
    ExpectVectors(kSeededVectors);
    ExpectVectors(kReferenceVectors);
    EXPECT_EQ(Xxh3_128(big.data(), big.size(), kPrime64), portable);
    Xxh3Hasher h(kPrime64);
    h.Update(big.data(), 1000);
    h.Update(big.data() + 1000, big.size() - 1000);
    EXPECT_EQ(h.Digest(), portable);
  }
  std::printf("[          ] %d loop form(s) run here\n", ran);
  // Back to the fastest, as the rest of the tests expect.
  Xxh3UseLoop(Xxh3Loop::kAvx2);
}

TEST(Xxh3, DefaultSeedIsZero) {
  const std::vector<uint8_t> buf = SanityBuffer(3000);
  for (size_t len : {0, 5, 100, 200, 300, 3000}) {
    EXPECT_EQ(Xxh3_128(buf.data(), len), Xxh3_128(buf.data(), len, 0));
  }
}

TEST(Xxh3, EmptyInputHexMatchesXxhsum) {
  // `printf '' | xxhsum -H2` prints 99aa06d3014798d86001c324468d497f.
  EXPECT_EQ(Hash128Hex(Xxh3_128(nullptr, 0)), "99aa06d3014798d86001c324468d497f");
  EXPECT_EQ(Hash128Hex(Xxh3Hasher().Digest()), "99aa06d3014798d86001c324468d497f");
}

TEST(Xxh3, StreamingWithRandomSplitsEqualsOneShot) {
  std::mt19937_64 rng(20261125);
  std::vector<uint8_t> data(5000);
  for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
  // Chunk size caps from byte-sized to larger than a block, so splits land
  // inside and across stripes, the internal buffer and blocks.
  const size_t kMaxChunk[] = {2, 17, 65, 300, 1500, 5000};
  for (size_t len = 0; len <= data.size(); ++len) {
    for (uint64_t seed : {uint64_t{0}, kPrime64}) {
      const size_t cap = kMaxChunk[(len + seed) % 6];
      Xxh3Hasher h(seed);
      size_t pos = 0;
      while (pos < len) {
        const size_t n = std::min<size_t>(len - pos, rng() % (cap + 1));  // 0 is allowed
        h.Update(data.data() + pos, n);
        pos += n;
      }
      ASSERT_EQ(h.Digest(), Xxh3_128(data.data(), len, seed)) << "len " << len << " seed " << seed;
    }
  }
}

TEST(Xxh3, StreamingLargeBufferEqualsOneShot) {
  std::mt19937_64 rng(7);
  std::vector<uint8_t> data(3 * 1024 * 1024 + 123);
  for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
  for (uint64_t seed : {uint64_t{0}, kPrime32}) {
    const Hash128 want = Xxh3_128(data.data(), data.size(), seed);
    Xxh3Hasher h(seed);
    size_t pos = 0;
    while (pos < data.size()) {
      // Mostly large reads as a file copy does, with some odd small ones.
      const size_t n = std::min<size_t>(data.size() - pos,
                                        rng() % 4 == 0 ? rng() % 100 : rng() % 300000);
      h.Update(data.data() + pos, n);
      pos += n;
    }
    EXPECT_EQ(h.Digest(), want) << "seed " << seed;
    Xxh3Hasher fixed(seed);
    for (pos = 0; pos < data.size(); pos += 65536) {
      fixed.Update(data.data() + pos, std::min<size_t>(65536, data.size() - pos));
    }
    EXPECT_EQ(fixed.Digest(), want) << "seed " << seed;
  }
}

TEST(Xxh3, UnalignedInputHashesLikeAligned) {
  const std::vector<uint8_t> buf = SanityBuffer(kSanityLen);
  std::vector<uint8_t> shifted(kSanityLen + 7);
  for (size_t offset = 1; offset < 8; ++offset) {
    std::copy(buf.begin(), buf.end(), shifted.begin() + offset);
    for (size_t len : {7, 15, 100, 239, 2367, 4161}) {
      EXPECT_EQ(Xxh3_128(shifted.data() + offset, len), Xxh3_128(buf.data(), len))
          << "offset " << offset << " len " << len;
    }
  }
}

TEST(Xxh3, DigestDoesNotChangeStateAndUpdateCanContinue) {
  const std::vector<uint8_t> buf = SanityBuffer(kSanityLen);
  Xxh3Hasher h(kPrime64);
  size_t pos = 0;
  // Digest at lengths in every class, including with a partly buffered stripe.
  for (size_t step : {5, 100, 200, 1, 700, 63, 1, 1024, 2000}) {
    h.Update(buf.data() + pos, step);
    pos += step;
    const Hash128 first = h.Digest();
    EXPECT_EQ(h.Digest(), first);
    EXPECT_EQ(first, Xxh3_128(buf.data(), pos, kPrime64)) << "len " << pos;
  }
}

TEST(Xxh3, ResetStartsOverWithTheSameSeed) {
  const std::vector<uint8_t> buf = SanityBuffer(kSanityLen);
  Xxh3Hasher h(kPrime32);
  h.Update(buf.data(), 3000);
  h.Reset();
  EXPECT_EQ(h.Digest(), Xxh3_128(nullptr, 0, kPrime32));
  h.Update(buf.data(), 2048);
  EXPECT_EQ(h.Digest(), (Hash128{0x230D43F30206260BULL, 0x7FB03F7E7186C3EAULL}));
}

TEST(Xxh3, CopiedHasherContinuesIndependently) {
  const std::vector<uint8_t> buf = SanityBuffer(kSanityLen);
  Xxh3Hasher a;
  a.Update(buf.data(), 1500);
  Xxh3Hasher b = a;
  a.Update(buf.data() + 1500, 867);
  b.Update(buf.data() + 1500, 10);
  EXPECT_EQ(a.Digest(), Xxh3_128(buf.data(), 2367));
  EXPECT_EQ(b.Digest(), Xxh3_128(buf.data(), 1510));
}

TEST(Xxh3, SeedChangesEveryLengthClass) {
  const std::vector<uint8_t> buf = SanityBuffer(kSanityLen);
  for (size_t len : {0, 2, 6, 12, 100, 200, 1000, 4000}) {
    EXPECT_NE(Xxh3_128(buf.data(), len, 1), Xxh3_128(buf.data(), len, 0)) << "len " << len;
  }
}

TEST(Xxh3, BytesAreBigEndianHighThenLow) {
  const Hash128 h{0x0123456789ABCDEFULL, 0xFEDCBA9876543210ULL};
  uint8_t b[16];
  Hash128ToBytes(h, b);
  const uint8_t want[16] = {0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10,
                            0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};
  EXPECT_TRUE(std::equal(b, b + 16, want));
  EXPECT_EQ(Hash128Hex(h), "fedcba98765432100123456789abcdef");
}

TEST(Xxh3, BytesAndHexRoundTrip) {
  std::mt19937_64 rng(99);
  for (int i = 0; i < 1000; ++i) {
    const Hash128 h{rng(), rng()};
    uint8_t b[16];
    Hash128ToBytes(h, b);
    EXPECT_EQ(Hash128FromBytes(b), h);
    const std::string hex = Hash128Hex(h);
    ASSERT_EQ(hex.size(), 32u);
    // The hex spells the canonical bytes in order, lowercase.
    for (int j = 0; j < 16; ++j) {
      EXPECT_EQ(std::stoul(hex.substr(2 * j, 2), nullptr, 16), b[j]);
    }
    EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos);
  }
}

}  // namespace
}  // namespace treesync
