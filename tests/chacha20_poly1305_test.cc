#include "chacha20_poly1305.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "json_reader.h"

namespace treesync {
namespace {

using namespace test_vectors;  // NOLINT: the vector readers


const char kSunscreen[] =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, "
    "sunscreen would be it.";

std::string Key0To31() {
  std::string k(32, '\0');
  for (int i = 0; i < 32; ++i) k[i] = char(i);
  return k;
}

// Runs the test body once with every loop this machine can run.
template <typename F>
void ForEachLoop(F f) {
  for (ChaChaLoop loop : {ChaChaLoop::kPortable, ChaChaLoop::kAvx2}) {
    if (!ChaChaUseLoop(loop)) continue;
    SCOPED_TRACE(loop == ChaChaLoop::kAvx2 ? "avx2" : "portable");
    f();
  }
  ChaChaUseLoop(ChaChaLoop::kAvx2) || ChaChaUseLoop(ChaChaLoop::kPortable);
}

TEST(ChaCha20, MatchesRfc8439BlockFunction) {
  // RFC 8439 2.3.2: the keystream block for counter 1 is the XOR of zeros.
  const std::string key = Key0To31(), nonce = Unhex("000000090000004a00000000");
  ForEachLoop([&] {
    std::string out(64, '\0');
    ChaCha20Xor(U(key), U(nonce), 1, U(out), reinterpret_cast<uint8_t*>(&out[0]), out.size());
    EXPECT_EQ(out, Unhex("10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
                         "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e"));
  });
}

TEST(ChaCha20, MatchesRfc8439Encryption) {
  const std::string key = Key0To31(), nonce = Unhex("000000000000004a00000000");
  const std::string plain(kSunscreen);
  ForEachLoop([&] {
    std::string out(plain.size(), '\0');
    ChaCha20Xor(U(key), U(nonce), 1, U(plain), reinterpret_cast<uint8_t*>(&out[0]), out.size());
    EXPECT_EQ(out, Unhex("6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
                         "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
                         "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
                         "5af90bbf74a35be6b40b8eedf2785e42874d"));
  });
}

TEST(ChaCha20, EveryLoopGivesTheSameKeystreamAtAnyLengthAndCounter) {
  if (!ChaChaUseLoop(ChaChaLoop::kAvx2)) GTEST_SKIP() << "no AVX2 here";
  std::mt19937 rng(7);
  std::string key(32, '\0'), nonce(12, '\0');
  for (char& c : key) c = char(rng());
  for (char& c : nonce) c = char(rng());
  std::vector<uint8_t> in(5000);
  for (uint8_t& b : in) b = uint8_t(rng());
  for (size_t n : {0, 1, 63, 64, 65, 511, 512, 513, 1023, 1024, 1100, 4096, 5000}) {
    for (uint32_t counter : {0u, 1u, 7u, 1000000u}) {
      std::vector<uint8_t> a(n), b(n);
      ChaChaUseLoop(ChaChaLoop::kPortable);
      ChaCha20Xor(U(key), U(nonce), counter, in.data(), a.data(), n);
      ChaChaUseLoop(ChaChaLoop::kAvx2);
      ChaCha20Xor(U(key), U(nonce), counter, in.data(), b.data(), n);
      EXPECT_EQ(a, b) << "n " << n << " counter " << counter;
    }
  }
}

TEST(ChaCha20, EncryptsInPlace) {
  const std::string key = Key0To31(), nonce = Unhex("000000000000004a00000000");
  std::string buf(kSunscreen);
  std::string copy(buf.size(), '\0');
  ChaCha20Xor(U(key), U(nonce), 1, U(buf), reinterpret_cast<uint8_t*>(&copy[0]), buf.size());
  ChaCha20Xor(U(key), U(nonce), 1, U(buf), reinterpret_cast<uint8_t*>(&buf[0]), buf.size());
  EXPECT_EQ(buf, copy);
}

std::string Tag(const std::string& key, const std::string& msg) {
  Poly1305 mac(U(key));
  mac.Update(U(msg), msg.size());
  std::string tag(16, '\0');
  mac.Final(reinterpret_cast<uint8_t*>(&tag[0]));
  return tag;
}

TEST(Poly1305, MatchesRfc8439Vector) {
  EXPECT_EQ(Tag(Unhex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b"),
                "Cryptographic Forum Research Group"),
            Unhex("a8061dc1305136c6c22b8baf0c0127a9"));
}

TEST(Poly1305, HandlesRfc8439EdgeCases) {
  // RFC 8439 A.3, vectors 5-11: h >= p at the end, the 2^130 - 5
  // wraparound, carries through every limb.
  struct Case {
    const char *key, *msg, *tag;
  };
  const Case cases[] = {
      {"0200000000000000000000000000000000000000000000000000000000000000",
       "ffffffffffffffffffffffffffffffff", "03000000000000000000000000000000"},
      {"02000000000000000000000000000000ffffffffffffffffffffffffffffffff",
       "02000000000000000000000000000000", "03000000000000000000000000000000"},
      {"0100000000000000000000000000000000000000000000000000000000000000",
       "fffffffffffffffffffffffffffffffff0ffffffffffffffffffffffffffffff"
       "11000000000000000000000000000000",
       "05000000000000000000000000000000"},
      {"0100000000000000000000000000000000000000000000000000000000000000",
       "fffffffffffffffffffffffffffffffffbfefefefefefefefefefefefefefefe"
       "01010101010101010101010101010101",
       "00000000000000000000000000000000"},
      {"0200000000000000000000000000000000000000000000000000000000000000",
       "fdffffffffffffffffffffffffffffff", "faffffffffffffffffffffffffffffff"},
      {"0100000000000000040000000000000000000000000000000000000000000000",
       "e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000"
       "0000000000000000000000000000000001000000000000000000000000000000",
       "14000000000000005500000000000000"},
      {"0100000000000000040000000000000000000000000000000000000000000000",
       "e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000"
       "00000000000000000000000000000000",
       "13000000000000000000000000000000"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Tag(Unhex(c.key), Unhex(c.msg)), Unhex(c.tag)) << c.msg;
  }
}

TEST(Poly1305, GivesTheSameTagForAnySplitOfTheMessage) {
  std::string key(32, '\0'), msg(300, '\0');
  std::mt19937 rng(3);
  for (char& c : key) c = char(rng());
  for (char& c : msg) c = char(rng());
  const std::string whole = Tag(key, msg);
  for (size_t step : {1, 3, 15, 16, 17, 100}) {
    Poly1305 mac(U(key));
    for (size_t at = 0; at < msg.size(); at += step) {
      mac.Update(U(msg) + at, std::min(step, msg.size() - at));
    }
    std::string tag(16, '\0');
    mac.Final(reinterpret_cast<uint8_t*>(&tag[0]));
    EXPECT_EQ(tag, whole) << "step " << step;
  }
}

std::string Seal(const std::string& key, const std::string& nonce, const std::string& ad,
                 const std::string& plain) {
  std::string out(plain.size() + kAeadTagSize, '\0');
  AeadSeal(U(key), U(nonce), U(ad), ad.size(), U(plain), plain.size(),
           reinterpret_cast<uint8_t*>(&out[0]));
  return out;
}

bool Open(const std::string& key, const std::string& nonce, const std::string& ad,
          const std::string& sealed, std::string* plain) {
  plain->assign(sealed.size() >= kAeadTagSize ? sealed.size() - kAeadTagSize : 0, 'x');
  return AeadOpen(U(key), U(nonce), U(ad), ad.size(), U(sealed), sealed.size(),
                  reinterpret_cast<uint8_t*>(&(*plain)[0]));
}

TEST(Aead, MatchesRfc8439Vector) {
  std::string key(32, '\0');
  for (int i = 0; i < 32; ++i) key[i] = char(0x80 + i);
  const std::string nonce = Unhex("070000004041424344454647");
  const std::string ad = Unhex("50515253c0c1c2c3c4c5c6c7");
  const std::string sealed = Seal(key, nonce, ad, kSunscreen);
  EXPECT_EQ(sealed, Unhex("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
                          "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
                          "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
                          "3ff4def08e4b7a9de576d26586cec64b6116"
                          "1ae10b594f09e26a7e902ecbd0600691"));
  std::string plain;
  ASSERT_TRUE(Open(key, nonce, ad, sealed, &plain));
  EXPECT_EQ(plain, kSunscreen);
}

TEST(Aead, RefusesAnyFlippedBitAndReleasesNothing) {
  const std::string key(32, 'k'), nonce(12, 'n'), ad = "header";
  const std::string plain = "a message that must not be forged";
  const std::string sealed = Seal(key, nonce, ad, plain);
  for (size_t bit = 0; bit < sealed.size() * 8; ++bit) {
    std::string bad = sealed;
    bad[bit / 8] = char(bad[bit / 8] ^ (1 << (bit % 8)));
    std::string out;
    EXPECT_FALSE(Open(key, nonce, ad, bad, &out)) << "bit " << bit;
    EXPECT_EQ(out, std::string(out.size(), '\0'));
  }
  std::string out;
  EXPECT_FALSE(Open(key, nonce, "Header", sealed, &out));
  EXPECT_FALSE(Open(key, std::string(12, 'm'), ad, sealed, &out));
  EXPECT_FALSE(Open(key, nonce, ad, sealed.substr(0, sealed.size() - 1), &out));
  EXPECT_FALSE(Open(key, nonce, ad, sealed.substr(0, 15), &out));
  EXPECT_TRUE(Open(key, nonce, ad, sealed, &out));
  EXPECT_EQ(out, plain);
}

TEST(Aead, OpensInPlace) {
  const std::string key(32, 'k'), nonce(12, 'n');
  const std::string plain(1000, 'p');
  std::string buf = Seal(key, nonce, "", plain);
  uint8_t* p = reinterpret_cast<uint8_t*>(&buf[0]);
  ASSERT_TRUE(AeadOpen(U(key), U(nonce), nullptr, 0, p, buf.size(), p));
  EXPECT_EQ(buf.substr(0, plain.size()), plain);
}

TEST(Aead, PassesEveryWycheproofCase) {
  const JsonValue doc = ReadJsonFile(VectorPath(__FILE__, "wycheproof_chacha20_poly1305_test.json"));
  size_t cases = 0;
  ForEachLoop([&] {
    cases = 0;
    for (const JsonValue& group : doc["testGroups"].array) {
      for (const JsonValue& t : group["tests"].array) {
        ++cases;
        const std::string key = Unhex(t["key"].string), iv = Unhex(t["iv"].string);
        const std::string aad = Unhex(t["aad"].string), msg = Unhex(t["msg"].string);
        const std::string ct = Unhex(t["ct"].string), tag = Unhex(t["tag"].string);
        const bool valid = t["result"].string == "valid";
        const std::string id = "tcId " + std::to_string(int(t["tcId"].number));
        if (key.size() != kChaChaKeySize || iv.size() != kChaChaNonceSize) {
          // Other key or nonce sizes: not this AEAD's, and invalid by definition.
          EXPECT_FALSE(valid) << id;
          continue;
        }
        std::string out;
        const bool opened = Open(key, iv, aad, ct + tag, &out);
        EXPECT_EQ(opened, valid) << id;
        if (valid) {
          EXPECT_EQ(out, msg) << id;
          EXPECT_EQ(Seal(key, iv, aad, msg), ct + tag) << id;
        }
      }
    }
  });
  EXPECT_EQ(cases, size_t(doc["numberOfTests"].number));
}

TEST(ConstantTimeEqual, ComparesWholeBuffers) {
  const uint8_t a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 5};
  EXPECT_TRUE(ConstantTimeEqual(a, a, 4));
  EXPECT_FALSE(ConstantTimeEqual(a, b, 4));
  EXPECT_TRUE(ConstantTimeEqual(a, b, 3));
  EXPECT_TRUE(ConstantTimeEqual(a, b, 0));
}

}  // namespace
}  // namespace treesync
