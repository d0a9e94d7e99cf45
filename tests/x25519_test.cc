#include "x25519.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "json_reader.h"

namespace treesync {
namespace {

using namespace test_vectors;  // NOLINT: the vector readers

struct Key {
  uint8_t bytes[kX25519KeySize];
};

Key KeyFromHex(const std::string& hex) {
  const std::string raw = Unhex(hex);
  EXPECT_EQ(raw.size(), kX25519KeySize) << hex;
  Key k = {};
  std::memcpy(k.bytes, raw.data(), raw.size() < kX25519KeySize ? raw.size() : kX25519KeySize);
  return k;
}

std::string Hex(const Key& k) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : k.bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

std::string Compute(const std::string& scalar_hex, const std::string& u_hex) {
  const Key scalar = KeyFromHex(scalar_hex);
  const Key u = KeyFromHex(u_hex);
  Key out;
  EXPECT_TRUE(X25519(out.bytes, scalar.bytes, u.bytes));
  return Hex(out);
}

// RFC 7748 section 5.2, the two single-multiplication vectors.
TEST(X25519, MatchesRfc7748Vectors) {
  EXPECT_EQ(Compute("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                    "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"),
            "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
  EXPECT_EQ(Compute("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
                    "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"),
            "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

// RFC 7748 section 5.2, the iterated test: k = u = 9, then repeatedly
// k, u = X25519(k, u), k.
TEST(X25519, MatchesRfc7748IteratedVectors) {
  Key k = KeyFromHex("0900000000000000000000000000000000000000000000000000000000000000");
  Key u = k;
  for (int i = 1; i <= 1000; ++i) {
    Key r;
    ASSERT_TRUE(X25519(r.bytes, k.bytes, u.bytes));
    u = k;
    k = r;
    if (i == 1) {
      EXPECT_EQ(Hex(k), "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
    }
  }
  EXPECT_EQ(Hex(k), "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

// RFC 7748 section 6.1: both sides derive the other's public key and the
// same shared secret.
TEST(X25519, AgreesOnRfc7748DiffieHellmanSecret) {
  const Key alice_private =
      KeyFromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const Key bob_private =
      KeyFromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  Key alice_public, bob_public;
  X25519PublicKey(alice_public.bytes, alice_private.bytes);
  X25519PublicKey(bob_public.bytes, bob_private.bytes);
  EXPECT_EQ(Hex(alice_public), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(Hex(bob_public), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");

  Key alice_shared, bob_shared;
  EXPECT_TRUE(X25519(alice_shared.bytes, alice_private.bytes, bob_public.bytes));
  EXPECT_TRUE(X25519(bob_shared.bytes, bob_private.bytes, alice_public.bytes));
  const std::string expected = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  EXPECT_EQ(Hex(alice_shared), expected);
  EXPECT_EQ(Hex(bob_shared), expected);
}

// Every Wycheproof case, valid and acceptable alike (there are no invalid
// ones for X25519): the shared secret must match, and an all-zero one must
// be reported as such.
TEST(X25519, MatchesAllWycheproofVectors) {
  const JsonValue doc = ReadJsonFile(VectorPath(__FILE__, "wycheproof_x25519_test.json"));
  const Key zero = {};
  int cases = 0;
  for (const JsonValue& group : doc["testGroups"].array) {
    ASSERT_EQ(group["curve"].string, "curve25519");
    for (const JsonValue& test : group["tests"].array) {
      SCOPED_TRACE("tcId " + std::to_string(static_cast<int>(test["tcId"].number)) + ": " +
                   test["comment"].string);
      const Key scalar = KeyFromHex(test["private"].string);
      const Key u = KeyFromHex(test["public"].string);
      const Key expected = KeyFromHex(test["shared"].string);
      Key out;
      const bool ok = X25519(out.bytes, scalar.bytes, u.bytes);
      EXPECT_EQ(Hex(out), Hex(expected));
      EXPECT_EQ(ok, std::memcmp(expected.bytes, zero.bytes, kX25519KeySize) != 0);
      ++cases;
    }
  }
  EXPECT_EQ(cases, 518);
  EXPECT_EQ(cases, static_cast<int>(doc["numberOfTests"].number));
}

// Points of small order (0, 1, one of order 8, and p, which encodes 0)
// give an all-zero result whatever the scalar; X25519 must say so.
TEST(X25519, RejectsLowOrderPoints) {
  const Key scalar =
      KeyFromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const char* const kLowOrder[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  };
  for (const char* hex : kLowOrder) {
    SCOPED_TRACE(hex);
    const Key u = KeyFromHex(hex);
    Key out;
    std::memset(out.bytes, 0xAA, sizeof out.bytes);
    EXPECT_FALSE(X25519(out.bytes, scalar.bytes, u.bytes));
    EXPECT_EQ(Hex(out), std::string(64, '0'));
  }
}

// The top bit of u is not part of the coordinate (RFC 7748 section 5).
TEST(X25519, IgnoresTopBitOfU) {
  const Key scalar =
      KeyFromHex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
  Key u = KeyFromHex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
  Key plain, flagged;
  ASSERT_TRUE(X25519(plain.bytes, scalar.bytes, u.bytes));
  u.bytes[31] ^= 0x80;
  ASSERT_TRUE(X25519(flagged.bytes, scalar.bytes, u.bytes));
  EXPECT_EQ(Hex(plain), Hex(flagged));
}

// The header promises out may be the same buffer as u or as the scalar.
TEST(X25519, AllowsOutputToAliasInputs) {
  const Key scalar =
      KeyFromHex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
  const Key u = KeyFromHex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
  const std::string expected = "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552";

  Key in_place_u = u;
  ASSERT_TRUE(X25519(in_place_u.bytes, scalar.bytes, in_place_u.bytes));
  EXPECT_EQ(Hex(in_place_u), expected);

  Key in_place_scalar = scalar;
  ASSERT_TRUE(X25519(in_place_scalar.bytes, in_place_scalar.bytes, u.bytes));
  EXPECT_EQ(Hex(in_place_scalar), expected);

  Key key = KeyFromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  X25519PublicKey(key.bytes, key.bytes);
  EXPECT_EQ(Hex(key), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
}

}  // namespace
}  // namespace treesync
