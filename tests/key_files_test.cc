#include "key_files.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "fs_meta.h"
#include "test_util.h"

namespace treesync {
namespace {

using test::ReadFile;
using test::TempFolder;
using test::WriteFile;

// RFC 7748 section 6.1: Alice's private key and its public key.
const char kAlicePrivate64[] = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=";
const char kAlicePublic64[] = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";

// The key 00 01 02 ... 1f.
struct CountingKey {
  uint8_t bytes[kKeySize];
  CountingKey() {
    for (size_t i = 0; i < kKeySize; ++i) bytes[i] = static_cast<uint8_t>(i);
  }
};
const char kCounting64[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

std::string Bytes(const uint8_t* p, size_t n) {
  return std::string(reinterpret_cast<const char*>(p), n);
}

std::string Decoded(const std::string& base64) {
  std::string out;
  EXPECT_TRUE(Base64Decode(base64, &out)) << base64;
  return out;
}

uint32_t ModeOf(const std::string& path) {
  platform::FileInfo info;
  EXPECT_TRUE(platform::Lstat(path, &info).ok());
  return info.mode & 0777;
}

// ---- base64

TEST(KeyFiles, ReadsAKeyListWholeAndAMissingOneAsEmptyWhenAllowed) {
  TempFolder t;
  WriteFile(t.Join("list"), "a\nb\n");
  std::string text = "stale";
  ASSERT_TRUE(ReadKeyListFile(t.Join("list"), false, &text).ok());
  EXPECT_EQ(text, "a\nb\n");
  ASSERT_TRUE(ReadKeyListFile(t.Join("missing"), true, &text).ok());
  EXPECT_EQ(text, "");
  Status s = ReadKeyListFile(t.Join("missing"), false, &text);
  EXPECT_EQ(s.kind(), ErrorKind::kUsage);
  EXPECT_NE(s.message().find("missing"), std::string::npos) << s.message();
}

TEST(KeyFiles, RefusesAKeyListPastItsBound) {
  TempFolder t;
  WriteFile(t.Join("huge"), std::string(kMaxKeyListFileBytes + 1, '#'));
  std::string text;
  Status s = ReadKeyListFile(t.Join("huge"), true, &text);
  EXPECT_EQ(s.kind(), ErrorKind::kUsage);
  EXPECT_NE(s.message().find("right file"), std::string::npos) << s.message();
}

TEST(KeyFiles, Base64EncodesRfc4648Vectors) {
  const char* const kVectors[][2] = {{"", ""},
                                     {"f", "Zg=="},
                                     {"fo", "Zm8="},
                                     {"foo", "Zm9v"},
                                     {"foob", "Zm9vYg=="},
                                     {"fooba", "Zm9vYmE="},
                                     {"foobar", "Zm9vYmFy"}};
  for (const auto& v : kVectors) {
    EXPECT_EQ(Base64Encode(v[0], std::strlen(v[0])), v[1]);
    std::string back;
    EXPECT_TRUE(Base64Decode(v[1], &back)) << v[1];
    EXPECT_EQ(back, v[0]);
  }
}

TEST(KeyFiles, Base64RoundTripsEveryByteValueAndLength) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); ++n) {
    const std::string encoded = Base64Encode(all.data(), n);
    ASSERT_EQ(encoded.size(), (n + 2) / 3 * 4);
    std::string back;
    ASSERT_TRUE(Base64Decode(encoded, &back)) << encoded;
    ASSERT_EQ(back, all.substr(0, n));
  }
  EXPECT_EQ(Base64Encode("\xfb\xff\xbf", 3), "+/+/");
}

TEST(KeyFiles, Base64RejectsMalformedText) {
  const char* const kBad[] = {
      "Zg",        // length not a multiple of 4
      "Zg=",       // likewise
      "Zm9vY",     // likewise
      "Zm9v!mFy",  // a character outside the alphabet
      "Zm9v YmF",  // a space is not skipped
      "Zm9-",      // the URL-safe alphabet is not this one
      "Z===",      // too much padding
      "====",      // nothing but padding
      "Zg==Zm8=",  // padding before the end
      "Zm=v",      // '=' in the middle of a group
      "Zh==",      // unused bits not zero (canonical is "Zg==")
      "Zm9=",      // likewise (canonical is "Zm8=")
      "Zm9v\n",    // a line end is not skipped
  };
  for (const char* text : kBad) {
    std::string out = "old";
    EXPECT_FALSE(Base64Decode(text, &out)) << text;
  }
  std::string nul_inside("Zm\0v", 4);
  std::string out;
  EXPECT_FALSE(Base64Decode(nul_inside, &out));
}

// ---- public keys

TEST(KeyFiles, FormatsAndParsesAPublicKeyLine) {
  CountingKey key;
  const std::string line = FormatPublicKey(key.bytes, "alice@laptop work key");
  EXPECT_EQ(line, std::string("treesync-x25519 ") + kCounting64 + " alice@laptop work key");
  uint8_t parsed[kKeySize];
  std::string comment;
  ASSERT_TRUE(ParsePublicKey(line + "\n", parsed, &comment).ok());
  EXPECT_EQ(Bytes(parsed, kKeySize), Bytes(key.bytes, kKeySize));
  EXPECT_EQ(comment, "alice@laptop work key");
}

TEST(KeyFiles, FormatsAPublicKeyWithoutComment) {
  CountingKey key;
  EXPECT_EQ(FormatPublicKey(key.bytes, ""), std::string("treesync-x25519 ") + kCounting64);
  EXPECT_EQ(FormatPublicKey(key.bytes, "two\nlines"),
            std::string("treesync-x25519 ") + kCounting64 + " two lines");
}

TEST(KeyFiles, ParsesABareBase64PublicKey) {
  uint8_t parsed[kKeySize];
  std::string comment = "stale";
  ASSERT_TRUE(ParsePublicKey(kCounting64, parsed, &comment).ok());
  EXPECT_EQ(Bytes(parsed, kKeySize), Bytes(CountingKey().bytes, kKeySize));
  EXPECT_EQ(comment, "");
  EXPECT_TRUE(ParsePublicKey(std::string("  ") + kCounting64 + "\r\n", parsed, nullptr).ok());
}

TEST(KeyFiles, ParsesAPublicKeyFileWithCrlfAndByteOrderMark) {
  uint8_t parsed[kKeySize];
  std::string comment;
  ASSERT_TRUE(ParsePublicKey(std::string("\xEF\xBB\xBFtreesync-x25519\t") + kCounting64 + " c\r\n",
                             parsed, &comment)
                  .ok());
  EXPECT_EQ(comment, "c");
}

TEST(KeyFiles, RefusesMalformedPublicKeys) {
  const std::string k = kCounting64;
  const std::string kBad[] = {
      "",
      "   \n",
      "ssh-ed25519 " + k + " me",                          // another type
      "treesync-x25519",                                   // no key
      "treesync-x25519 " + k.substr(4),                    // bad base64 length
      "treesync-x25519 AAAA",                              // 3 bytes
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8fHw==",  // 34 bytes
      "not-base64!",
      "treesync-x25519 " + k + "\ntreesync-x25519 " + k,  // two lines
      "treesync-x25519-private " + k,                     // a private key
  };
  for (const std::string& text : kBad) {
    uint8_t parsed[kKeySize];
    Status s = ParsePublicKey(text, parsed, nullptr);
    EXPECT_EQ(s.kind(), ErrorKind::kUsage) << text;
    EXPECT_EQ(s.message().find('\n'), std::string::npos) << s.message();
  }
  uint8_t parsed[kKeySize];
  EXPECT_NE(ParsePublicKey("ssh-ed25519 " + k, parsed, nullptr).message().find("ssh-ed25519"),
            std::string::npos);
  EXPECT_NE(ParsePublicKey("AAAA", parsed, nullptr).message().find("3 bytes"), std::string::npos);
  // The private key is not echoed back in the message.
  EXPECT_EQ(ParsePublicKey("treesync-x25519-private " + k, parsed, nullptr).message().find(k),
            std::string::npos);
}

TEST(KeyFiles, FingerprintIsBlake2sOfTheKeyInUnpaddedBase64) {
  CountingKey key;
  // python3: base64.b64encode(hashlib.blake2s(bytes(range(32))).digest())
  EXPECT_EQ(Fingerprint(key.bytes), "BLAKE2s:BYJWB9f98tgu9MPIwq6pYa2Y1g7f99AYmD4hIEwNk9E");
  EXPECT_EQ(Fingerprint(key.bytes).size(), 51u);
  key.bytes[31] ^= 1;
  EXPECT_NE(Fingerprint(key.bytes), "BLAKE2s:BYJWB9f98tgu9MPIwq6pYa2Y1g7f99AYmD4hIEwNk9E");
}

// ---- key pair files

TEST(KeyFiles, WritesAKeyPairThatReadsBack) {
  TempFolder dir;
  const std::string path = dir.Join("sub/key");  // the folder is created
  uint8_t written_public[kKeySize];
  Status s = WriteKeyPair(path, "me@here", written_public);
  ASSERT_TRUE(s.ok()) << s.message();

  uint8_t private_key[kKeySize], public_key[kKeySize];
  s = ReadPrivateKey(path, private_key, public_key);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Bytes(public_key, kKeySize), Bytes(written_public, kKeySize));

  const std::string private_text = ReadFile(path);
  EXPECT_EQ(private_text.compare(0, 24, "treesync-x25519-private "), 0) << private_text;
  EXPECT_EQ(private_text.size(), 24u + 44u + 1u);
  EXPECT_EQ(private_text.back(), '\n');

  const std::string pub_text = ReadFile(path + ".pub");
  EXPECT_EQ(pub_text, FormatPublicKey(written_public, "me@here") + "\n");
  uint8_t from_pub[kKeySize];
  ASSERT_TRUE(ParsePublicKey(pub_text, from_pub, nullptr).ok());
  EXPECT_EQ(Bytes(from_pub, kKeySize), Bytes(written_public, kKeySize));
}

TEST(KeyFiles, WritesThePrivateKeyOwnerOnlyAndThePublicKeyReadable) {
  if (!platform::KeepsPermissionBits()) GTEST_SKIP() << "no permission bits here";
  TempFolder dir;
  const std::string path = dir.Join("key");
  uint8_t pub[kKeySize];
  ASSERT_TRUE(WriteKeyPair(path, "", pub).ok());
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(ModeOf(path + ".pub"), 0644u);
}

TEST(KeyFiles, TwoKeyPairsDiffer) {
  TempFolder dir;
  uint8_t a[kKeySize], b[kKeySize];
  ASSERT_TRUE(WriteKeyPair(dir.Join("a"), "", a).ok());
  ASSERT_TRUE(WriteKeyPair(dir.Join("b"), "", b).ok());
  EXPECT_NE(Bytes(a, kKeySize), Bytes(b, kKeySize));
}

TEST(KeyFiles, RefusesToOverwriteAKeyFile) {
  TempFolder dir;
  const std::string path = dir.Join("key");
  WriteFile(path, "precious");
  uint8_t pub[kKeySize];
  Status s = WriteKeyPair(path, "", pub);
  EXPECT_EQ(s.kind(), ErrorKind::kUsage);
  EXPECT_NE(s.message().find("already exists"), std::string::npos) << s.message();
  EXPECT_EQ(ReadFile(path), "precious");
  EXPECT_FALSE(test::Exists(path + ".pub"));
}

TEST(KeyFiles, RefusesToOverwriteAPublicKeyFile) {
  TempFolder dir;
  const std::string path = dir.Join("key");
  WriteFile(path + ".pub", "precious");
  uint8_t pub[kKeySize];
  Status s = WriteKeyPair(path, "", pub);
  EXPECT_EQ(s.kind(), ErrorKind::kUsage);
  EXPECT_NE(s.message().find(".pub"), std::string::npos) << s.message();
  EXPECT_EQ(ReadFile(path + ".pub"), "precious");
  EXPECT_FALSE(test::Exists(path));
}

TEST(KeyFiles, ReadsAKnownPrivateKey) {
  TempFolder dir;
  const std::string path = dir.Join("alice");
  WriteFile(path, std::string("treesync-x25519-private ") + kAlicePrivate64 + "\r\n");
  ASSERT_TRUE(platform::SetMode(path, 0600).ok());
  uint8_t private_key[kKeySize], public_key[kKeySize];
  Status s = ReadPrivateKey(path, private_key, public_key);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Bytes(private_key, kKeySize), Decoded(kAlicePrivate64));
  EXPECT_EQ(Bytes(public_key, kKeySize), Decoded(kAlicePublic64));
}

TEST(KeyFiles, RefusesAPrivateKeyReadableByOthers) {
  if (!platform::KeepsPermissionBits()) GTEST_SKIP() << "no permission bits here";
  TempFolder dir;
  const std::string path = dir.Join("key");
  uint8_t pub[kKeySize], private_key[kKeySize], public_key[kKeySize];
  ASSERT_TRUE(WriteKeyPair(path, "", pub).ok());
  for (uint32_t mode : {0644u, 0640u, 0604u, 0620u}) {
    ASSERT_TRUE(platform::SetMode(path, mode).ok());
    Status s = ReadPrivateKey(path, private_key, public_key);
    EXPECT_EQ(s.kind(), ErrorKind::kUsage) << mode;
    EXPECT_NE(s.message().find("chmod 600 " + path), std::string::npos) << s.message();
  }
  ASSERT_TRUE(platform::SetMode(path, 0400).ok());
  EXPECT_TRUE(ReadPrivateKey(path, private_key, public_key).ok());
}

TEST(KeyFiles, RefusesMalformedPrivateKeyFiles) {
  TempFolder dir;
  const std::string k = kAlicePrivate64;
  const std::string kBad[] = {
      "",
      "treesync-x25519-private\n",
      "treesync-x25519-private " + k + " extra\n",
      "treesync-x25519-private\n" + k + "\n",
      "treesync-x25519-private " + k.substr(4) + "\n",
      "treesync-x25519-private AAAA\n",
      "treesync-x25519-private " + k + "\ntreesync-x25519-private " + k + "\n",
      "ssh-ed25519 " + k + "\n",
      "treesync-x25519 " + k + "\n",  // the .pub given by mistake
  };
  int i = 0;
  for (const std::string& text : kBad) {
    const std::string path = dir.Join("bad" + std::to_string(i++));
    WriteFile(path, text);
    ASSERT_TRUE(platform::SetMode(path, 0600).ok());
    uint8_t private_key[kKeySize], public_key[kKeySize];
    Status s = ReadPrivateKey(path, private_key, public_key);
    EXPECT_EQ(s.kind(), ErrorKind::kUsage) << text;
    EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
    EXPECT_EQ(s.message().find(k.substr(0, 20)), std::string::npos) << s.message();
  }
}

TEST(KeyFiles, ReportsAMissingPrivateKeyFile) {
  TempFolder dir;
  uint8_t private_key[kKeySize], public_key[kKeySize];
  Status s = ReadPrivateKey(dir.Join("nothing"), private_key, public_key);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(dir.Join("nothing")), std::string::npos) << s.message();
}

// ---- addresses

TEST(KeyFiles, ParsesIpAddresses) {
  uint8_t a[16];
  ASSERT_TRUE(ParseIpAddress("192.168.1.20", a));
  const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 20};
  EXPECT_EQ(Bytes(a, 16), Bytes(mapped, 16));
  ASSERT_TRUE(ParseIpAddress("::ffff:192.168.1.20", a));
  EXPECT_EQ(Bytes(a, 16), Bytes(mapped, 16));
  ASSERT_TRUE(ParseIpAddress("2001:DB8::8:800:200c:417a", a));
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 8, 8, 0, 0x20, 0x0c, 0x41, 0x7a};
  EXPECT_EQ(Bytes(a, 16), Bytes(v6, 16));
  ASSERT_TRUE(ParseIpAddress("2001:db8:0:0:8:800:200c:417a", a));
  EXPECT_EQ(Bytes(a, 16), Bytes(v6, 16));
  ASSERT_TRUE(ParseIpAddress("::", a));
  EXPECT_EQ(Bytes(a, 16), std::string(16, '\0'));
  ASSERT_TRUE(ParseIpAddress("::1", a));
  EXPECT_EQ(a[15], 1);
  ASSERT_TRUE(ParseIpAddress("fe80::", a));
  EXPECT_EQ(a[0], 0xfe);
  EXPECT_TRUE(ParseIpAddress("1:2:3:4:5:6:7::", a));
  EXPECT_TRUE(ParseIpAddress("1:2:3:4:5:6:1.2.3.4", a));
  EXPECT_TRUE(ParseIpAddress("0.0.0.0", a));
  EXPECT_TRUE(ParseIpAddress("255.255.255.255", a));

  const char* const kBad[] = {"",
                              "1.2.3",
                              "1.2.3.4.5",
                              "256.1.1.1",
                              "01.2.3.4",
                              "1.2.3.4 ",
                              "a.b.c.d",
                              "1..2.3",
                              ":",
                              ":::",
                              "1::2::3",
                              "1:2:3:4:5:6:7:8:9",
                              "1:2:3:4:5:6:7",
                              "12345::",
                              "g::",
                              ":1:2:3:4:5:6:7",
                              "1:2:3:4:5:6:7:",
                              "1.2.3.4::",
                              "::1.2.3",
                              "1:2:3:4:5:6:7:1.2.3.4",
                              "[::1]",
                              "fe80::1%eth0",
                              "1:2:3:4:5:6:7:8::"};
  for (const char* text : kBad) EXPECT_FALSE(ParseIpAddress(text, a)) << text;
}

TEST(KeyFiles, ParsesCidrsAndRefusesHostBits) {
  Cidr net;
  ASSERT_TRUE(ParseCidr("10.0.0.0/8", &net).ok());
  EXPECT_EQ(net.prefix_bits, 104);
  ASSERT_TRUE(ParseCidr("10.1.2.3", &net).ok());
  EXPECT_EQ(net.prefix_bits, 128);
  ASSERT_TRUE(ParseCidr("2001:db8::/32", &net).ok());
  EXPECT_EQ(net.prefix_bits, 32);
  ASSERT_TRUE(ParseCidr("::1", &net).ok());
  EXPECT_EQ(net.prefix_bits, 128);
  ASSERT_TRUE(ParseCidr("0.0.0.0/0", &net).ok());
  EXPECT_EQ(net.prefix_bits, 96);
  ASSERT_TRUE(ParseCidr("::/0", &net).ok());
  EXPECT_EQ(net.prefix_bits, 0);

  Status s = ParseCidr("10.0.0.1/8", &net);
  EXPECT_EQ(s.kind(), ErrorKind::kUsage);
  EXPECT_NE(s.message().find("10.0.0.0/8"), std::string::npos) << s.message();
  s = ParseCidr("2001:db8::1/64", &net);
  EXPECT_NE(s.message().find("2001:db8::/64"), std::string::npos) << s.message();

  const char* const kBad[] = {"10.0.0.0/33",  "::/129",         "10.0.0.0/",
                              "/8",           "10.0.0.0/08",    "10.0.0.0/-1",
                              "10.0.0.0/8/8", "host.example/8", "10.0.0.0/1000000000000"};
  for (const char* text : kBad) EXPECT_EQ(ParseCidr(text, &net).kind(), ErrorKind::kUsage) << text;
}

// ---- authorized keys

std::string KeyLine(const std::string& options, const uint8_t key[kKeySize],
                    const std::string& comment = "") {
  return (options.empty() ? "" : options + " ") + FormatPublicKey(key, comment) + "\n";
}

TEST(KeyFiles, ParsesAuthorizedKeysWithEveryOption) {
  CountingKey a;
  uint8_t b[kKeySize];
  std::memset(b, 0x42, sizeof b);
  const std::string text =
      "# who may connect\n\n   \n" + KeyLine("", a.bytes, "plain reader") +
      "  # indented comment\r\n" +
      KeyLine("writable,from=10.0.0.0/8,from=2001:db8::/32,folder=photos/2024", b, "backup box") +
      KeyLine("read-only,from=192.168.1.7", b) + "\t" + KeyLine("folder=x", a.bytes);
  std::vector<AuthorizedKey> keys;
  Status s = ParseAuthorizedKeys(text, &keys);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(keys.size(), 4u);

  EXPECT_EQ(Bytes(keys[0].key, kKeySize), Bytes(a.bytes, kKeySize));
  EXPECT_FALSE(keys[0].writable);
  EXPECT_TRUE(keys[0].from.empty());
  EXPECT_EQ(keys[0].folder, "");
  EXPECT_EQ(keys[0].comment, "plain reader");
  EXPECT_EQ(keys[0].line, 4);

  EXPECT_EQ(Bytes(keys[1].key, kKeySize), Bytes(b, kKeySize));
  EXPECT_TRUE(keys[1].writable);
  ASSERT_EQ(keys[1].from.size(), 2u);
  EXPECT_EQ(keys[1].from[0].prefix_bits, 104);
  EXPECT_EQ(keys[1].from[1].prefix_bits, 32);
  EXPECT_EQ(keys[1].folder, "photos/2024");
  EXPECT_EQ(keys[1].comment, "backup box");
  EXPECT_EQ(keys[1].line, 6);

  EXPECT_FALSE(keys[2].writable);
  ASSERT_EQ(keys[2].from.size(), 1u);
  EXPECT_EQ(keys[2].from[0].prefix_bits, 128);
  EXPECT_EQ(keys[2].line, 7);

  EXPECT_EQ(keys[3].folder, "x");
  EXPECT_EQ(keys[3].line, 8);
}

TEST(KeyFiles, AcceptsAnEmptyAuthorizedKeysFile) {
  std::vector<AuthorizedKey> keys(1);
  ASSERT_TRUE(ParseAuthorizedKeys("", &keys).ok());
  EXPECT_TRUE(keys.empty());
  ASSERT_TRUE(ParseAuthorizedKeys("# nobody yet\n", &keys).ok());
  EXPECT_TRUE(keys.empty());
}

TEST(KeyFiles, RefusesBadAuthorizedKeysLinesNamingTheLine) {
  CountingKey a;
  const std::string good = KeyLine("", a.bytes);
  const std::string k = kCounting64;
  struct Case {
    std::string line;
    const char* says;
  };
  const Case kCases[] = {
      {KeyLine("no-pty", a.bytes), "unknown option"},
      {KeyLine("writable,,from=10.0.0.0/8", a.bytes), "empty option"},
      {KeyLine("writable,", a.bytes), "empty option"},
      {KeyLine("writable,read-only", a.bytes), "both"},
      {KeyLine("from=10.0.0.1/8", a.bytes), "10.0.0.0/8"},
      {KeyLine("from=10.0.0.0/40", a.bytes), "prefix"},
      {KeyLine("from=example.com", a.bytes), "address"},
      {KeyLine("from=", a.bytes), "address"},
      {KeyLine("folder=../etc", a.bytes), ".."},
      {KeyLine("folder=a/../b", a.bytes), ".."},
      {KeyLine("folder=/etc", a.bytes), "absolute"},
      {KeyLine("folder=a//b", a.bytes), "empty"},
      {KeyLine("folder=a/", a.bytes), "empty"},
      {KeyLine("folder=", a.bytes), "folder="},
      {KeyLine("folder=a\\..\\b", a.bytes), "'\\'"},
      {KeyLine("folder=a,folder=b", a.bytes), "twice"},
      {"treesync-x25519\n", "no key"},
      {"treesync-x25519 AAAA\n", "3 bytes"},
      {"treesync-x25519 " + k.substr(1) + "\n", "base64"},
      {"ssh-ed25519 " + k + " me\n", "expected"},
      {"writable ssh-ed25519 " + k + "\n", "expected"},
      {"treesync-x25519-private " + k + "\n", "private"},
  };
  for (const Case& c : kCases) {
    std::vector<AuthorizedKey> keys;
    Status s = ParseAuthorizedKeys("# header\n" + good + c.line + good, &keys);
    EXPECT_EQ(s.kind(), ErrorKind::kUsage) << c.line;
    EXPECT_EQ(s.message().compare(0, 8, "line 3: "), 0) << s.message();
    EXPECT_NE(s.message().find(c.says), std::string::npos) << c.line << " -> " << s.message();
  }
}

TEST(KeyFiles, FindsTheFirstAuthorizedEntryForAKeyAndAddress) {
  CountingKey a;
  uint8_t b[kKeySize], c[kKeySize];
  std::memset(b, 0x42, sizeof b);
  std::memset(c, 0x43, sizeof c);
  std::vector<AuthorizedKey> keys;
  ASSERT_TRUE(ParseAuthorizedKeys(KeyLine("writable,from=10.0.0.0/8,from=2001:db8::/32", a.bytes) +
                                      KeyLine("folder=public", a.bytes) +
                                      KeyLine("from=192.168.1.7", b) + KeyLine("from=::1", b) +
                                      KeyLine("from=0.0.0.0/0", c),
                                  &keys)
                  .ok());
  ASSERT_EQ(keys.size(), 5u);

  EXPECT_EQ(FindAuthorizedKey(keys, a.bytes, "10.20.30.40"), &keys[0]);
  EXPECT_EQ(FindAuthorizedKey(keys, a.bytes, "::ffff:10.20.30.40"), &keys[0]);
  EXPECT_EQ(FindAuthorizedKey(keys, a.bytes, "2001:db8:1::5"), &keys[0]);
  EXPECT_EQ(FindAuthorizedKey(keys, a.bytes, "2001:DB8::5%eth0"), &keys[0]);
  EXPECT_EQ(FindAuthorizedKey(keys, a.bytes, "11.0.0.1"),
            &keys[1]);  // falls to the open entry
  EXPECT_EQ(FindAuthorizedKey(keys, a.bytes, "2001:db9::1"), &keys[1]);
  EXPECT_EQ(FindAuthorizedKey(keys, a.bytes, "not an address"), &keys[1]);

  EXPECT_EQ(FindAuthorizedKey(keys, b, "192.168.1.7"), &keys[2]);
  EXPECT_EQ(FindAuthorizedKey(keys, b, "::ffff:192.168.1.7"), &keys[2]);
  EXPECT_EQ(FindAuthorizedKey(keys, b, "192.168.1.8"), nullptr);
  EXPECT_EQ(FindAuthorizedKey(keys, b, "::1"), &keys[3]);
  EXPECT_EQ(FindAuthorizedKey(keys, b, "::2"), nullptr);
  EXPECT_EQ(FindAuthorizedKey(keys, b, "garbage"), nullptr);

  // An IPv4 /0 is every IPv4 address, mapped or not, but no IPv6 one.
  EXPECT_EQ(FindAuthorizedKey(keys, c, "203.0.113.9"), &keys[4]);
  EXPECT_EQ(FindAuthorizedKey(keys, c, "::ffff:203.0.113.9"), &keys[4]);
  EXPECT_EQ(FindAuthorizedKey(keys, c, "2001:db8::1"), nullptr);

  uint8_t stranger[kKeySize];
  std::memset(stranger, 0x99, sizeof stranger);
  EXPECT_EQ(FindAuthorizedKey(keys, stranger, "10.0.0.1"), nullptr);
}

TEST(KeyFiles, MatchesIpv6PrefixesOfEveryLength) {
  CountingKey a;
  std::vector<AuthorizedKey> keys;
  ASSERT_TRUE(ParseAuthorizedKeys(KeyLine("from=::/0", a.bytes) +
                                      KeyLine("from=2001:db8::1/128", a.bytes) +
                                      KeyLine("from=2001:db8:8000::/33", a.bytes),
                                  &keys)
                  .ok());
  EXPECT_EQ(FindAuthorizedKey(keys, a.bytes, "1.2.3.4"),
            &keys[0]);  // ::/0 holds mapped IPv4
  EXPECT_EQ(FindAuthorizedKey(keys, a.bytes, "fe80::1"), &keys[0]);

  std::vector<AuthorizedKey> narrow(keys.begin() + 1, keys.end());
  EXPECT_EQ(FindAuthorizedKey(narrow, a.bytes, "2001:db8::1"), &narrow[0]);
  EXPECT_EQ(FindAuthorizedKey(narrow, a.bytes, "2001:db8::2"), nullptr);
  EXPECT_EQ(FindAuthorizedKey(narrow, a.bytes, "2001:db8:8000::7"), &narrow[1]);
  EXPECT_EQ(FindAuthorizedKey(narrow, a.bytes, "2001:db8:ffff::7"), &narrow[1]);
  EXPECT_EQ(FindAuthorizedKey(narrow, a.bytes, "2001:db8:7fff::7"), nullptr);
}

// ---- known hosts

TEST(KeyFiles, FormatsKnownHostLines) {
  CountingKey key;
  EXPECT_EQ(KnownHostLine("backup.example", 7651, key.bytes),
            std::string("backup.example:7651 treesync-x25519 ") + kCounting64);
  EXPECT_EQ(KnownHostLine("::1", 1234, key.bytes),
            std::string("[::1]:1234 treesync-x25519 ") + kCounting64);
}

TEST(KeyFiles, LooksUpKnownHostsByHostAndPort) {
  uint8_t k1[kKeySize], k2[kKeySize], k3[kKeySize], k4[kKeySize];
  std::memset(k1, 1, sizeof k1);
  std::memset(k2, 2, sizeof k2);
  std::memset(k3, 3, sizeof k3);
  std::memset(k4, 4, sizeof k4);
  const std::string text = "# known servers\n" + KnownHostLine("backup.example", 7651, k1) +
                           "\n\n" + KnownHostLine("backup.example", 9000, k2) + "   old box\r\n" +
                           KnownHostLine("2001:db8::1", 7651, k3) + "\n" +
                           KnownHostLine("10.0.0.5", 7651, k4) + "\n" +
                           KnownHostLine("backup.example", 7651, k4);  // later: ignored
  struct Case {
    const char* host;
    int port;
    const uint8_t* key;  // nullptr: not found
  };
  const Case kCases[] = {
      {"backup.example", 7651, k1},    {"BACKUP.Example", 7651, k1}, {"backup.example", 9000, k2},
      {"backup.example", 22, nullptr}, {"2001:db8::1", 7651, k3},    {"2001:db8::1", 7652, nullptr},
      {"10.0.0.5", 7651, k4},          {"10.0.0.6", 7651, nullptr},  {"backup", 7651, nullptr},
  };
  for (const Case& c : kCases) {
    bool found = true;
    uint8_t key[kKeySize];
    Status s = LookupKnownHost(text, c.host, c.port, &found, key);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(found, c.key != nullptr) << c.host << ":" << c.port;
    if (found && c.key != nullptr) {
      EXPECT_EQ(Bytes(key, kKeySize), Bytes(c.key, kKeySize)) << c.host << ":" << c.port;
    }
  }
  bool found = true;
  uint8_t key[kKeySize];
  ASSERT_TRUE(LookupKnownHost("", "x", 1, &found, key).ok());
  EXPECT_FALSE(found);
}

TEST(KeyFiles, RefusesMalformedKnownHostsLinesNamingTheLine) {
  CountingKey key;
  const std::string good = KnownHostLine("good.example", 1, key.bytes) + "\n";
  const std::string k = kCounting64;
  const std::string kBad[] = {
      "host.example treesync-x25519 " + k,    // no port
      "host.example:0 treesync-x25519 " + k,  // port out of range
      "host.example:65536 treesync-x25519 " + k,
      "host.example:http treesync-x25519 " + k,
      ":22 treesync-x25519 " + k,     // no host
      "::1:22 treesync-x25519 " + k,  // IPv6 without brackets
      "[::1 treesync-x25519 " + k,
      "[::1]22 treesync-x25519 " + k,
      "[::1]: treesync-x25519 " + k,
      "host.example:22 ssh-ed25519 " + k,
      "host.example:22 treesync-x25519",
      "host.example:22",
      "host.example:22 treesync-x25519 AAAA",
  };
  for (const std::string& line : kBad) {
    bool found = false;
    uint8_t out[kKeySize];
    Status s = LookupKnownHost(good + "\n" + line + "\n" + good, "good.example", 1, &found, out);
    EXPECT_EQ(s.kind(), ErrorKind::kUsage) << line;
    EXPECT_EQ(s.message().compare(0, 8, "line 3: "), 0) << line << " -> " << s.message();
  }
}

TEST(KeyFiles, AppendingAKnownHostCreatesFolderAndFile) {
  TempFolder dir;
  const std::string path = dir.Join("config/treesync/known_hosts");
  uint8_t k1[kKeySize], k2[kKeySize];
  std::memset(k1, 1, sizeof k1);
  std::memset(k2, 2, sizeof k2);
  Status s = AppendKnownHost(path, "one.example", 7651, k1);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(ReadFile(path), KnownHostLine("one.example", 7651, k1) + "\n");
  ASSERT_TRUE(AppendKnownHost(path, "::1", 7651, k2).ok());

  const std::string text = ReadFile(path);
  bool found = false;
  uint8_t key[kKeySize];
  ASSERT_TRUE(LookupKnownHost(text, "one.example", 7651, &found, key).ok());
  EXPECT_TRUE(found);
  EXPECT_EQ(Bytes(key, kKeySize), Bytes(k1, kKeySize));
  ASSERT_TRUE(LookupKnownHost(text, "::1", 7651, &found, key).ok());
  EXPECT_TRUE(found);
  EXPECT_EQ(Bytes(key, kKeySize), Bytes(k2, kKeySize));
}

TEST(KeyFiles, AppendingAKnownHostEndsAnUnfinishedLastLine) {
  TempFolder dir;
  const std::string path = dir.Join("known_hosts");
  uint8_t k1[kKeySize];
  std::memset(k1, 1, sizeof k1);
  WriteFile(path, "# hand-edited, no newline");
  ASSERT_TRUE(AppendKnownHost(path, "one.example", 7651, k1).ok());
  EXPECT_EQ(ReadFile(path),
            "# hand-edited, no newline\n" + KnownHostLine("one.example", 7651, k1) + "\n");
}

TEST(KeyFiles, DefaultPathsLiveInTheUserConfigFolder) {
  const std::string key = DefaultKeyPath();
  const std::string hosts = DefaultKnownHostsPath();
  if (key.empty()) {
    EXPECT_TRUE(hosts.empty());
    return;
  }
  EXPECT_EQ(key.substr(key.size() - 3), "key");
  EXPECT_EQ(hosts.substr(hosts.size() - 11), "known_hosts");
  EXPECT_EQ(key.substr(0, key.size() - 3), hosts.substr(0, hosts.size() - 11));
  EXPECT_NE(key.find("treesync"), std::string::npos);
}

}  // namespace
}  // namespace treesync
