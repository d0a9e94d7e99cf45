#include "blake2s.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "json_reader.h"

namespace treesync {
namespace {

using namespace test_vectors;  // NOLINT: the vector readers

std::string Hex(const uint8_t* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += kDigits[p[i] >> 4];
    s += kDigits[p[i] & 15];
  }
  return s;
}

// The bytes 0, 1, ..., n-1 (mod 256).
std::string Counting(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = char(i & 0xFF);
  return s;
}

std::string Hash(const std::string& in, const std::string& key = "", size_t out_len = 32) {
  Blake2s hash(out_len, key.data(), key.size());
  hash.Update(in.data(), in.size());
  uint8_t out[kBlake2sOutSize];
  hash.Final(out);
  return Hex(out, out_len);
}

std::string Hmac(const std::string& key, const std::string& data) {
  uint8_t out[kBlake2sOutSize];
  HmacBlake2s(out, key.data(), key.size(), data.data(), data.size());
  return Hex(out, sizeof(out));
}

TEST(Blake2s, MatchesRfc7693AppendixB) {
  EXPECT_EQ(Hash("abc"), "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
  uint8_t out[kBlake2sOutSize];
  Blake2sHash(out, "abc", 3);
  EXPECT_EQ(Hex(out, sizeof(out)),
            "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
}

struct Kat {
  std::string in, key, out;
};

std::vector<Kat> ReadKats() {
  const JsonValue doc = ReadJsonFile(VectorPath(__FILE__, "blake2s-kat.json"));
  std::vector<Kat> kats;
  for (const JsonValue& v : doc.array) {
    EXPECT_EQ(v["hash"].string, "blake2s");
    kats.push_back({Unhex(v["in"].string), Unhex(v["key"].string), v["out"].string});
  }
  return kats;
}

TEST(Blake2s, MatchesEveryKnownAnswer) {
  const std::vector<Kat> kats = ReadKats();
  // 256 unkeyed and 256 keyed (32-byte key) answers, inputs of 0..255 bytes.
  ASSERT_EQ(kats.size(), 512u);
  size_t keyed = 0;
  for (size_t i = 0; i < kats.size(); ++i) {
    SCOPED_TRACE("entry " + std::to_string(i));
    const Kat& k = kats[i];
    if (!k.key.empty()) ++keyed;
    EXPECT_EQ(Hash(k.in, k.key), k.out);
    if (k.key.empty()) {
      uint8_t out[kBlake2sOutSize];
      Blake2sHash(out, k.in.data(), k.in.size());
      EXPECT_EQ(Hex(out, sizeof(out)), k.out);
    }
  }
  EXPECT_EQ(keyed, 256u);
}

TEST(Blake2s, GivesTheSameAnswerForAnySplit) {
  const std::vector<Kat> kats = ReadKats();
  ASSERT_EQ(kats.size(), 512u);
  for (size_t i = 0; i < kats.size(); ++i) {
    SCOPED_TRACE("entry " + std::to_string(i));
    const Kat& k = kats[i];
    uint8_t out[kBlake2sOutSize];
    {
      Blake2s hash(kBlake2sOutSize, k.key.data(), k.key.size());
      for (char c : k.in) hash.Update(&c, 1);
      hash.Final(out);
      EXPECT_EQ(Hex(out, sizeof(out)), k.out) << "byte by byte";
    }
    {
      Blake2s hash(kBlake2sOutSize, k.key.data(), k.key.size());
      const size_t half = k.in.size() / 2;
      hash.Update(k.in.data(), half);
      hash.Update(nullptr, 0);
      hash.Update(k.in.data() + half, k.in.size() - half);
      hash.Final(out);
      EXPECT_EQ(Hex(out, sizeof(out)), k.out) << "two halves";
    }
    {
      // A split exactly at a block boundary, where the buffered full block
      // must not be compressed as the last one too early.
      Blake2s hash(kBlake2sOutSize, k.key.data(), k.key.size());
      const size_t first = k.in.size() < 64 ? k.in.size() : 64;
      hash.Update(k.in.data(), first);
      hash.Update(k.in.data() + first, k.in.size() - first);
      hash.Final(out);
      EXPECT_EQ(Hex(out, sizeof(out)), k.out) << "block then rest";
    }
  }
}

TEST(Blake2s, HashesLongInputInRandomPiecesLikeAtOnce) {
  std::string data(100000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = char((i * 7 + 3) & 0xFF);
  // Python: hashlib.blake2s(bytes((i*7+3) & 0xff for i in range(100000)))
  const std::string expected = "537e1a8baaa0888b5fe4e55e122566d8f4acc5c27ca9570ef2dc26b34ffaff85";
  EXPECT_EQ(Hash(data), expected);
  std::mt19937 rng(7);
  Blake2s hash;
  for (size_t at = 0; at < data.size();) {
    size_t n = std::uniform_int_distribution<size_t>(0, 200)(rng);
    if (n > data.size() - at) n = data.size() - at;
    hash.Update(data.data() + at, n);
    at += n;
  }
  uint8_t out[kBlake2sOutSize];
  hash.Final(out);
  EXPECT_EQ(Hex(out, sizeof(out)), expected);
}

TEST(Blake2s, TruncatedAndKeyedDigestsMatchPython) {
  // Python: hashlib.blake2s(msg, digest_size=n, key=key).hexdigest(). The
  // digest length is part of the parameter block, so a short digest is not
  // a prefix of the long one.
  EXPECT_EQ(Hash("abc", "", 16), "aa4938119b1dc7b87cbad0ffd200d0ae");
  EXPECT_EQ(Hash("abc", "", 1), "0d");
  EXPECT_EQ(Hash("abc", Counting(32), 20), "3a2bef77b62bbf673ccf403ad0f8d2110e3147b9");
  EXPECT_EQ(Hash("", "k", 16), "5175c87d8aa9480d45ba9a546f2a436f");
}

TEST(Blake2s, CopyContinuesIndependently) {
  Blake2s prefix;
  prefix.Update("ab", 2);
  Blake2s copy = prefix;
  prefix.Update("c", 1);
  copy.Update("x", 1);
  uint8_t a[kBlake2sOutSize], b[kBlake2sOutSize];
  prefix.Final(a);
  copy.Final(b);
  EXPECT_EQ(Hex(a, sizeof(a)), Hash("abc"));
  EXPECT_EQ(Hex(b, sizeof(b)), Hash("abx"));
}

TEST(Blake2s, HashesNoiseProtocolNameToWireGuardsInitialChainingKey) {
  // WireGuard's initial chaining key is the hash of its protocol name.
  uint8_t out[kBlake2sOutSize];
  const char kName[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
  Blake2sHash(out, kName, std::strlen(kName));
  EXPECT_EQ(Hex(out, sizeof(out)),
            "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
}

// Expected values: Python's hmac.new(key, msg, hashlib.blake2s).hexdigest().
TEST(HmacBlake2s, MatchesPythonHmac) {
  EXPECT_EQ(Hmac("", ""), "eaf4bb25938f4d20e72656bbbc7a9bf63c0c18537333c35bdb67db1402661acd");
  EXPECT_EQ(Hmac("key", "The quick brown fox jumps over the lazy dog"),
            "f93215bb90d4af4c3061cd932fb169fb8bb8a91d0b4022baea1271e1323cd9a0");
  EXPECT_EQ(Hmac(Counting(32), Counting(100)),
            "a81c95080ba2a7c4ed1b7b4c21dec2c4fd6dc9f03ff37b6d65289dc95a7d1ef1");
}

TEST(HmacBlake2s, UsesKeyOfExactlyOneBlockAsIs) {
  EXPECT_EQ(Hmac(Counting(64), "abc"),
            "3a0ef09eac123871fb79852ec512086d013abff437bd68ca03630932bd6ba81f");
}

TEST(HmacBlake2s, HashesKeyLongerThanOneBlockFirst) {
  EXPECT_EQ(Hmac(Counting(65), "abc"),
            "44d87b3939dec16bc76cbd83e3982ac0a4eafab8a5b87c8c2adbd0da7d5c9695");
  const std::string forward = Counting(200);
  const std::string backward(forward.rbegin(), forward.rend());
  EXPECT_EQ(Hmac(forward, backward),
            "07174f18813d7b9954d009ae1d28022f236997f1eae31f9e84baeb0fb34fbd54");
}

TEST(HmacBlake2s, AllowsOutputOverKeyOrData) {
  const std::string expected = Hmac(Counting(32), Counting(32));
  uint8_t buf[kBlake2sOutSize];
  std::memcpy(buf, Counting(32).data(), sizeof(buf));
  HmacBlake2s(buf, buf, sizeof(buf), Counting(32).data(), 32);
  EXPECT_EQ(Hex(buf, sizeof(buf)), expected);
  std::memcpy(buf, Counting(32).data(), sizeof(buf));
  const std::string key = Counting(32);
  HmacBlake2s(buf, key.data(), key.size(), buf, sizeof(buf));
  EXPECT_EQ(Hex(buf, sizeof(buf)), expected);
}

// Expected values: a Python reimplementation of the Noise spec's HKDF,
//   def hkdf(ck, ikm, n):
//       t = hmac.new(ck, ikm, hashlib.blake2s).digest()
//       o1 = hmac.new(t, b"\x01", hashlib.blake2s).digest()
//       o2 = hmac.new(t, o1 + b"\x02", hashlib.blake2s).digest()
//       o3 = hmac.new(t, o2 + b"\x03", hashlib.blake2s).digest()
//       return [o1, o2, o3][:n]
// with ck = hashlib.blake2s(b"Noise_IK_25519_ChaChaPoly_BLAKE2s").digest().
struct HkdfCase {
  size_t ikm_len;  // of Counting(ikm_len)
  const char* out1;
  const char* out2;
  const char* out3;
};

const HkdfCase kHkdfCases[] = {
    {0, "26937cb281910d8b8fd9937e44450633ee3c908791cc8d50b45a7f4126a3c054",
     "c7ff3af72c3e5fc94f8c3f84fd52f9e5568a8ef4dd46e2ca0d7e99969decd81f",
     "2098dd194d716506b19dda0532db9ac71cb3e5bfdae13a9ee80a1078d3e1940a"},
    {32, "d6c8db9d60f7cc6250043f8765ad17667f831b9294262a60d9d6fa92b75771c7",
     "872d10ac2deb53cbebb2f567005133f16b3918b6d57fd1a6f1121a4715abb144",
     "279a03f7a7acfaaee26c7fc89e380109903358186886f5ad3c6aaa14381beea2"},
    {100, "55ade4c80cfe3061058a1c0f1195faf92fa329cfe986791a18f4af594a16eb82",
     "73e8101266fa89cf4218951e31d23338c0c1394cdb6438fe6eb156bbc8cf61f4",
     "3514b101234e9c9898ba38135dc8c851f23b77b9d446e3c0748b47a556fadfb0"},
};

void NoiseIkChainingKey(uint8_t ck[kBlake2sOutSize]) {
  const char kName[] = "Noise_IK_25519_ChaChaPoly_BLAKE2s";
  Blake2sHash(ck, kName, std::strlen(kName));
  ASSERT_EQ(Hex(ck, kBlake2sOutSize),
            "bbea022b948cf3bc5857d70804229179e1116bc40cb8cc074835349c464bca36");
}

TEST(NoiseHkdf, MatchesPythonForTwoAndThreeOutputs) {
  uint8_t ck[kBlake2sOutSize];
  NoiseIkChainingKey(ck);
  for (const HkdfCase& c : kHkdfCases) {
    SCOPED_TRACE("ikm length " + std::to_string(c.ikm_len));
    const std::string ikm = Counting(c.ikm_len);
    // Null ikm for the empty case, as Split passes it.
    const void* ikm_ptr = c.ikm_len == 0 ? nullptr : ikm.data();
    uint8_t o1[kBlake2sOutSize], o2[kBlake2sOutSize], o3[kBlake2sOutSize];
    NoiseHkdf(ck, ikm_ptr, ikm.size(), 2, o1, o2, nullptr);
    EXPECT_EQ(Hex(o1, sizeof(o1)), c.out1);
    EXPECT_EQ(Hex(o2, sizeof(o2)), c.out2);
    std::memset(o1, 0, sizeof(o1));
    std::memset(o2, 0, sizeof(o2));
    NoiseHkdf(ck, ikm_ptr, ikm.size(), 3, o1, o2, o3);
    EXPECT_EQ(Hex(o1, sizeof(o1)), c.out1);
    EXPECT_EQ(Hex(o2, sizeof(o2)), c.out2);
    EXPECT_EQ(Hex(o3, sizeof(o3)), c.out3);
  }
}

TEST(NoiseHkdf, MatchesPythonForZeroChainingKey) {
  const uint8_t ck[kBlake2sOutSize] = {};
  uint8_t o1[kBlake2sOutSize], o2[kBlake2sOutSize], o3[kBlake2sOutSize];
  NoiseHkdf(ck, nullptr, 0, 3, o1, o2, o3);
  EXPECT_EQ(Hex(o1, sizeof(o1)),
            "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0");
  EXPECT_EQ(Hex(o2, sizeof(o2)),
            "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e");
  EXPECT_EQ(Hex(o3, sizeof(o3)),
            "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e");
}

TEST(NoiseHkdf, AllowsFirstOutputOverChainingKey) {
  // MixKey writes the new chaining key over the old one.
  const HkdfCase& c = kHkdfCases[1];
  const std::string ikm = Counting(c.ikm_len);
  uint8_t ck[kBlake2sOutSize];
  NoiseIkChainingKey(ck);
  uint8_t o2[kBlake2sOutSize];
  NoiseHkdf(ck, ikm.data(), ikm.size(), 2, ck, o2, nullptr);
  EXPECT_EQ(Hex(ck, sizeof(ck)), c.out1);
  EXPECT_EQ(Hex(o2, sizeof(o2)), c.out2);
  NoiseIkChainingKey(ck);
  uint8_t o3[kBlake2sOutSize];
  NoiseHkdf(ck, ikm.data(), ikm.size(), 3, ck, o2, o3);
  EXPECT_EQ(Hex(ck, sizeof(ck)), c.out1);
  EXPECT_EQ(Hex(o2, sizeof(o2)), c.out2);
  EXPECT_EQ(Hex(o3, sizeof(o3)), c.out3);
}

}  // namespace
}  // namespace treesync
