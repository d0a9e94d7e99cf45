// ZstdDecoder against frames made by the reference tool (`zstd`, when it is
// installed) and by hand: every compression level, the block and literal
// kinds, concatenated and skippable frames, input cut at any byte, and
// malformed input of every kind, which must fail cleanly and stay failed.
#include "zstd_decoder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "test_util.h"
#include "xxh64.h"

namespace treesync {
namespace {

constexpr size_t kMiB = size_t(1) << 20;

std::string Random(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Text-like data: words from a small vocabulary, as source files are.
std::string Words(size_t n, uint64_t seed) {
  static const char* kWords[] = {"int ",   "return ",    "struct ",     "const ",  "char* ",
                                 "void ",  "#include ",  "<stdio.h>\n", "if (",    ") {\n",
                                 "}\n",    "x",          "y",           "size_t ", "static ",
                                 "= 0;\n", "namespace ", "// ",         "the "};
  std::mt19937_64 rng(seed);
  std::string s;
  while (s.size() < n) s += kWords[rng() % (sizeof kWords / sizeof kWords[0])];
  s.resize(n);
  return s;
}

// Mostly text with runs and random stretches, so blocks mix every kind of
// literals and sequences.
std::string Mixed(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s;
  while (s.size() < n) {
    const uint64_t pick = rng() % 10;
    if (pick == 0) {
      s += std::string(1 + rng() % 3000, static_cast<char>(rng()));
    } else if (pick == 1) {
      s += Random(1 + rng() % 500, rng());
    } else {
      s += Words(1 + rng() % 4000, rng());
    }
  }
  s.resize(n);
  return s;
}

bool HaveZstd() { return std::system("zstd --version >/dev/null 2>&1") == 0; }

#define REQUIRE_ZSTD() \
  if (!HaveZstd()) GTEST_SKIP() << "the zstd tool is not installed"

// What `zstd <args>` makes of data (empty and a test failure if it fails).
std::string Compress(const std::string& data, const std::string& args) {
  test::TempFolder tmp;
  const std::string in = tmp.Join("in"), out = tmp.Join("out.zst");
  test::WriteFile(in, data);
  const std::string cmd = "zstd -q -f " + args + " -o '" + out + "' '" + in + "' 2>&1";
  if (std::system(cmd.c_str()) != 0) {
    ADD_FAILURE() << "failed: " << cmd;
    return std::string();
  }
  return test::ReadFile(out);
}

Status Decode(const std::string& z, std::string* out,
              size_t max_window = ZstdDecoder::kDefaultMaxWindow) {
  return ZstdDecompress(z.data(), z.size(), out, size_t(1) << 30, max_window);
}

// Decodes z fed in pieces whose sizes come from next_piece, taking only
// part of the output at times. *ended says whether the input ended at a
// frame boundary.
template <typename NextPiece>
Status DecodeInPieces(const std::string& z, std::string* out, NextPiece next_piece,
                      std::mt19937_64* rng, bool* ended) {
  ZstdDecoder d;
  out->clear();
  size_t at = 0;
  while (at < z.size()) {
    const size_t piece = std::min(z.size() - at, next_piece());
    size_t fed = 0;
    while (fed < piece) {
      size_t used = 0;
      Status s = d.Feed(z.data() + at + fed, piece - fed, &used);
      if (!s.ok()) return s;
      fed += used;
      EXPECT_LE(d.output_size(), 2 * ZstdDecoder::kMaxBlock);
      // Now and then leave some output for later, as a slow writer would;
      // but when Feed stopped for room, take it all.
      size_t take = d.output_size();
      if (fed == piece && (*rng)() % 4 == 0) take = static_cast<size_t>((*rng)() % (take + 1));
      if (used == 0) {
        if (take == 0) return Status::Protocol("test: Feed made no progress");
        take = d.output_size();
      }
      out->append(reinterpret_cast<const char*>(d.output()), take);
      d.Take(take);
    }
    at += piece;
  }
  // Drain: with no more input, everything decoded is already output.
  out->append(reinterpret_cast<const char*>(d.output()), d.output_size());
  d.Take(d.output_size());
  *ended = d.at_frame_boundary();
  return Status::Ok();
}

void ExpectDecodes(const std::string& z, const std::string& want, const std::string& what,
                   size_t max_window = ZstdDecoder::kDefaultMaxWindow) {
  std::string got;
  const Status s = Decode(z, &got, max_window);
  ASSERT_TRUE(s.ok()) << what << ": " << s.message();
  EXPECT_EQ(got.size(), want.size()) << what;
  EXPECT_TRUE(got == want) << what;
}

void ExpectProtocolError(const Status& s, const std::string& what) {
  EXPECT_FALSE(s.ok()) << what;
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol) << what << ": " << s.message();
  EXPECT_EQ(s.message().rfind("compressed stream: ", 0), 0u) << what << ": " << s.message();
}

// ---- Hand-made frames -------------------------------------------------------

const std::string kMagic("\x28\xb5\x2f\xfd", 4);

std::string Le32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

std::string BlockHeader(bool last, int type, uint32_t size) {
  const uint32_t v = (size << 3) | (static_cast<uint32_t>(type) << 1) | (last ? 1 : 0);
  return std::string{static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16)};
}

// Single_Segment header with a one-byte Frame_Content_Size (so the window
// is content_size bytes).
std::string SingleSegmentFrame(uint8_t content_size, bool checksum = false) {
  return kMagic + static_cast<char>(0x20 | (checksum ? 0x04 : 0)) + static_cast<char>(content_size);
}

// A frame with a Window_Descriptor and no content size: window 2^(10+exp).
std::string WindowedFrame(unsigned exponent, bool checksum = false) {
  return kMagic + static_cast<char>(checksum ? 0x04 : 0x00) + static_cast<char>(exponent << 3);
}

const std::string kHello = SingleSegmentFrame(5) + BlockHeader(true, 0, 5) + "hello";

// A compressed block of one sequence, all three codes in RLE mode so the
// bitstream holds only extra bits: `literals` raw, then the sequence.
std::string OneSequenceBlock(const std::string& literals, uint8_t ll_code, uint8_t of_code,
                             uint8_t ml_code, uint8_t bitstream) {
  std::string b;
  b += static_cast<char>(literals.size() << 3);  // raw literals, 5-bit size
  b += literals;
  b += '\x01';  // one sequence
  b += '\x54';  // LL, OF, ML all RLE_Mode
  b += static_cast<char>(ll_code);
  b += static_cast<char>(of_code);
  b += static_cast<char>(ml_code);
  b += static_cast<char>(bitstream);
  return BlockHeader(true, 2, static_cast<uint32_t>(b.size())) + b;
}

// Made by `zstd -19 --check` from 200 bytes drawn from a skewed 12-letter
// alphabet: a Huffman tree sent as direct 4-bit weights, one stream,
// predefined sequence tables.
const uint8_t kDirectWeightsFrame[] = {
    0x28, 0xb5, 0x2f, 0xfd, 0x24, 0xc8, 0xad, 0x01, 0x00, 0xe2, 0x4b, 0x0b, 0x83, 0x13,
    0x12, 0x7b, 0x65, 0x4e, 0xfb, 0x97, 0x9d, 0x59, 0xab, 0xa5, 0x99, 0xa3, 0x46, 0x47,
    0x2a, 0x7e, 0x32, 0xbf, 0xdb, 0xa4, 0x33, 0x6f, 0x0c, 0x2f, 0xab, 0x22, 0xdd, 0xe9,
    0xdb, 0xe5, 0x39, 0x3f, 0x33, 0x9f, 0x38, 0x33, 0x73, 0xf2, 0xac, 0xa8, 0x39, 0x9f,
    0x07, 0x01, 0x00, 0xde, 0x40, 0x19, 0x37, 0x8b, 0x76, 0xd9,
};
constexpr size_t kDirectWeightsSize = 200;
constexpr uint64_t kDirectWeightsXxh64 = 0x1673925ED9768B37ULL;

// Made by `zstd -19 --check --zstd=wlog=10` from 1515 bytes of text with
// runs and random bytes: two blocks, the first with FSE-coded Huffman
// weights and FSE-compressed tables for all three codes, the second with
// raw literals and Repeat_Mode for all three.
const uint8_t kRepeatModesFrame[] = {
    0x28, 0xb5, 0x2f, 0xfd, 0x44, 0x00, 0xeb, 0x04, 0x6c, 0x09, 0x00, 0xe2, 0x08, 0x21, 0x22, 0x90,
    0xcf, 0x01, 0x18, 0x0e, 0x09, 0x40, 0x62, 0x96, 0xfe, 0x5f, 0x9f, 0x65, 0x72, 0x2c, 0xb2, 0x06,
    0x1e, 0x0a, 0xd4, 0x8f, 0x90, 0xa5, 0xb4, 0xff, 0xd1, 0xa6, 0xb0, 0x05, 0x3f, 0xa7, 0x91, 0x9e,
    0x01, 0x9d, 0xe6, 0x5b, 0xf3, 0xee, 0x64, 0xad, 0x73, 0x77, 0x78, 0xee, 0x5a, 0xe9, 0xba, 0xdf,
    0x54, 0xa6, 0x75, 0x45, 0xe5, 0xae, 0x37, 0xe7, 0xb9, 0xef, 0xdc, 0xff, 0x3f, 0x77, 0xfe, 0x66,
    0x1e, 0x3d, 0x94, 0xb5, 0x75, 0x3d, 0xf7, 0xfd, 0xd9, 0xd6, 0xae, 0x0c, 0xdb, 0xb9, 0xff, 0xff,
    0xf3, 0xcf, 0xb0, 0xca, 0xda, 0x19, 0x31, 0x3e, 0xf9, 0xea, 0xd2, 0x32, 0xe8, 0xfa, 0xac, 0xa2,
    0xb2, 0xf7, 0x04, 0xd7, 0xc3, 0x47, 0x54, 0x17, 0x7c, 0x61, 0xb1, 0x36, 0xcd, 0x41, 0x82, 0x2c,
    0x83, 0xba, 0xf1, 0x29, 0x8e, 0x53, 0xba, 0x58, 0x12, 0xcc, 0x95, 0x80, 0xda, 0x9a, 0xc2, 0x43,
    0x53, 0x16, 0x50, 0xa8, 0xa1, 0x1a, 0x06, 0x92, 0xb4, 0xb0, 0xcf, 0x1a, 0x10, 0x10, 0x63, 0x98,
    0xc3, 0xda, 0x01, 0x12, 0xe0, 0x44, 0x35, 0x66, 0xb2, 0x40, 0x69, 0xcb, 0xff, 0xef, 0xba, 0x03,
    0xe4, 0x10, 0x91, 0x87, 0xd7, 0xad, 0x20, 0x44, 0x6a, 0x86, 0xe5, 0x80, 0x3a, 0x50, 0x01, 0xb1,
    0xa0, 0x5a, 0xb0, 0x4e, 0xa0, 0x69, 0xd1, 0x52, 0x59, 0xca, 0xab, 0xb4, 0xd1, 0x69, 0xef, 0x3b,
    0x84, 0x14, 0x18, 0x0c, 0x2a, 0xda, 0x9c, 0xbf, 0x49, 0x1e, 0x87, 0xa9, 0x6e, 0x2c, 0x1a, 0x2b,
    0xd5, 0x00, 0x22, 0xb0, 0x68, 0xb2, 0x1f, 0x8a, 0xc1, 0x2b, 0x5a, 0x38, 0x33, 0x91, 0x42, 0xd6,
    0x2c, 0x0e, 0x03, 0x8b, 0x91, 0x54, 0x14, 0x01, 0x65, 0xff, 0x58, 0xbc, 0xd8, 0x7c, 0x49, 0xd8,
    0xdb, 0xac, 0xcb, 0x6e, 0xe3, 0xaf, 0x74, 0x0e, 0xbe, 0x9b, 0x13, 0x3c, 0x02, 0x7c, 0x18, 0x4a,
    0x84, 0x2a, 0x47, 0xf3, 0x11, 0xe8, 0x97, 0x07, 0x22, 0x82, 0xe2, 0x74, 0x3b, 0x4d, 0xf0, 0xbd,
    0xef, 0x68, 0x01, 0xa8, 0x01, 0x60, 0x5f, 0xad, 0xbd, 0x48, 0x6a, 0x4f, 0x34, 0x28, 0xab, 0xab,
    0x4a, 0x49, 0x9d, 0xfe, 0xcc, 0x87, 0x56, 0x01, 0x1d, 0x05, 0x00, 0x34, 0x07, 0x7d, 0x0a, 0xf3,
    0xc6, 0xcb, 0xd4, 0x3b, 0x27, 0xa7, 0x87, 0x13, 0xdb, 0x81, 0xfe, 0xfe, 0x6f, 0x86, 0xb3, 0x8b,
    0x97, 0x2a, 0xd5, 0xa1, 0xe7, 0xe3, 0xca, 0x12, 0xd0, 0x4c, 0xbb, 0x60, 0xa4, 0x19, 0xd7, 0xac,
    0x57, 0xcc, 0x9f, 0x62, 0xd8, 0x0a, 0x63, 0x78, 0x62, 0x78, 0x7d, 0x0a, 0x78, 0x62, 0xcc, 0x3d,
    0xba, 0x03, 0x3b, 0x63, 0x79, 0x28, 0x8f, 0xd9, 0x83, 0x9c, 0xba, 0xe8, 0xee, 0xfc, 0xf1, 0xad,
    0x6e, 0xa0, 0xdb, 0xd6, 0x48, 0x14, 0xa3, 0x71, 0xd2, 0x91, 0x98, 0x90, 0x71, 0x52, 0x89, 0x96,
    0xaf, 0xd9, 0x9f, 0x40, 0x45, 0xb8, 0xb1, 0x47, 0xde, 0x62, 0x35, 0x50, 0x07, 0x60, 0x6e, 0xd9,
    0x49, 0xd2, 0xbb, 0xf7, 0xd2, 0x59, 0x17, 0x7d, 0x1d, 0x4c, 0xcd, 0x47, 0xf8, 0xd6, 0xa0, 0x29,
    0x17, 0xfc, 0xa1, 0x40, 0xb4, 0x53, 0x9b, 0x4f, 0x10, 0xf0, 0x38, 0x19, 0x05, 0xcf, 0xdb, 0x4d,
    0x9a, 0x63, 0x86, 0x18, 0xd7, 0x56, 0x0d, 0x69, 0xc4, 0x8d, 0x1a, 0xe9, 0xfd, 0x16, 0xc2, 0x6f,
    0x24, 0x6f, 0xe8, 0xa5, 0x20, 0x65, 0x64, 0x23, 0x66, 0xee, 0x45, 0x7b, 0x94, 0xbb, 0x4e, 0x73,
    0x56, 0xf1,
};
constexpr size_t kRepeatModesSize = 1515;
constexpr uint64_t kRepeatModesXxh64 = 0xF453433AF156734EULL;

std::string Bytes(const uint8_t* p, size_t n) {
  return std::string(reinterpret_cast<const char*>(p), n);
}

TEST(ZstdDecoder, DecodesHandMadeRawBlock) {
  std::string out;
  ASSERT_TRUE(Decode(kHello, &out).ok());
  EXPECT_EQ(out, "hello");
}

TEST(ZstdDecoder, DecodesHandMadeRleBlock) {
  // Frame_Content_Size 300 in the two-byte form (value - 256).
  const std::string z = kMagic + std::string("\x60\x2c\x00", 3) + BlockHeader(true, 1, 300) + "z";
  std::string out;
  ASSERT_TRUE(Decode(z, &out).ok());
  EXPECT_EQ(out, std::string(300, 'z'));
}

TEST(ZstdDecoder, DecodesCompressedBlockWithOnlyLiterals) {
  // Raw literals "hello", then an empty sequences section.
  const std::string body = std::string("\x28", 1) + "hello" + std::string("\x00", 1);
  std::string out;
  // Not single-segment: there the 5-byte content would also cap blocks,
  // compressed ones included, at 5 bytes.
  ASSERT_TRUE(Decode(WindowedFrame(0) + BlockHeader(true, 2, 7) + body, &out).ok());
  EXPECT_EQ(out, "hello");
}

TEST(ZstdDecoder, CopiesOverlappingMatchWithOffsetOne) {
  // One literal 'a', then a match of 8 at repeat offset 1 (the initial
  // Repeated_Offset1): no extra bits, so the bitstream is just its marker.
  std::string out;
  ASSERT_TRUE(Decode(SingleSegmentFrame(9) + OneSequenceBlock("a", 1, 0, 5, 0x01), &out).ok());
  EXPECT_EQ(out, std::string(9, 'a'));
}

TEST(ZstdDecoder, DecodesEmbeddedFramesWithoutTheTool) {
  std::string out;
  ASSERT_TRUE(Decode(Bytes(kDirectWeightsFrame, sizeof kDirectWeightsFrame), &out).ok());
  EXPECT_EQ(out.size(), kDirectWeightsSize);
  EXPECT_EQ(Xxh64(out.data(), out.size()), kDirectWeightsXxh64);
  ASSERT_TRUE(Decode(Bytes(kRepeatModesFrame, sizeof kRepeatModesFrame), &out).ok());
  EXPECT_EQ(out.size(), kRepeatModesSize);
  EXPECT_EQ(Xxh64(out.data(), out.size()), kRepeatModesXxh64);
}

TEST(ZstdDecoder, VerifiesContentChecksum) {
  const std::string good = SingleSegmentFrame(5, true) + BlockHeader(true, 0, 5) + "hello" +
                           Le32(static_cast<uint32_t>(Xxh64("hello", 5)));
  std::string out;
  ASSERT_TRUE(Decode(good, &out).ok());
  EXPECT_EQ(out, "hello");
  std::string bad = good;
  bad[bad.size() - 2] ^= 0x10;
  const Status s = Decode(bad, &out);
  ExpectProtocolError(s, "wrong checksum");
  EXPECT_NE(s.message().find("checksum"), std::string::npos) << s.message();
}

TEST(ZstdDecoder, SkipsSkippableFramesBetweenFrames) {
  const std::string skippable = std::string("\x5a\x2a\x4d\x18", 4) + Le32(6) + "ignore";
  const std::string empty_skippable = std::string("\x50\x2a\x4d\x18", 4) + Le32(0);
  std::string out;
  ASSERT_TRUE(Decode(skippable + kHello + empty_skippable + kHello + skippable, &out).ok());
  EXPECT_EQ(out, "hellohello");
}

TEST(ZstdDecoder, StopsAtTheEndOfEachFrame) {
  // So that a caller can look between frames before going on.
  const std::string two = kHello + kHello;
  ZstdDecoder d;
  size_t used = 0;
  ASSERT_TRUE(d.Feed(two.data(), two.size(), &used).ok());
  EXPECT_EQ(used, kHello.size());
  EXPECT_TRUE(d.at_frame_boundary());
  size_t more = 0;
  ASSERT_TRUE(d.Feed(two.data() + used, two.size() - used, &more).ok());
  EXPECT_EQ(used + more, two.size());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(d.output()), d.output_size()),
            "hellohello");
}

TEST(ZstdDecoder, AcceptsZeroDictionaryIdAndRefusesOthers) {
  // Dictionary_ID present (one byte) but 0: no dictionary.
  const std::string zero =
      kMagic + "\x21" + std::string("\x00", 1) + "\x05" + BlockHeader(true, 0, 5) + "hello";
  std::string out;
  ASSERT_TRUE(Decode(zero, &out).ok());
  EXPECT_EQ(out, "hello");
  const std::string seven = kMagic + "\x21\x07\x05" + BlockHeader(true, 0, 5) + "hello";
  Status s = Decode(seven, &out);
  ExpectProtocolError(s, "dictionary 7");
  EXPECT_NE(s.message().find("dictionary 7"), std::string::npos) << s.message();
  // Four-byte id.
  const std::string big =
      kMagic + "\x23" + Le32(0xDEADBEEF) + "\x05" + BlockHeader(true, 0, 5) + "hello";
  ExpectProtocolError(Decode(big, &out), "four-byte dictionary id");
}

TEST(ZstdDecoder, RefusesWindowLargerThanItsLimit) {
  // Window_Descriptor exponent 14: 16 MiB, above the default 8 MiB.
  const std::string z = WindowedFrame(14) + BlockHeader(true, 0, 0);
  std::string out;
  const Status s = Decode(z, &out);
  ExpectProtocolError(s, "16 MiB window");
  EXPECT_NE(s.message().find("window"), std::string::npos) << s.message();
  EXPECT_TRUE(Decode(z, &out, 16 * kMiB).ok());
  // The largest descriptor (3.75 TB) must not overflow anything.
  ExpectProtocolError(Decode(kMagic + std::string("\x00\xff", 2) + BlockHeader(true, 0, 0), &out),
                      "3.75 TB window");
  // Single-segment frames: the content size is the window.
  ExpectProtocolError(ZstdDecompress(kHello.data(), kHello.size(), &out, 1000, 4),
                      "5-byte window, limit 4");
  EXPECT_TRUE(ZstdDecompress(kHello.data(), kHello.size(), &out, 1000, 5).ok());
}

TEST(ZstdDecoder, RefusesMalformedHeaders) {
  std::string out;
  ExpectProtocolError(Decode("PK\x03\x04 not zstd", &out), "zip magic");
  ExpectProtocolError(Decode(std::string("\x28\xb5\x2f\xfe", 4), &out), "near miss magic");
  // Garbage is refused at its first byte, not waited on.
  ExpectProtocolError(Decode("x", &out), "one garbage byte");
  ExpectProtocolError(Decode(kMagic + "\x28\x05" + BlockHeader(true, 0, 5) + "hello", &out),
                      "reserved descriptor bit");
  ExpectProtocolError(Decode(SingleSegmentFrame(5) + BlockHeader(true, 3, 5) + "hello", &out),
                      "reserved block type");
  // Block_Maximum_Size is the window (here the content size, 5) when smaller than 128 KiB.
  Status s = Decode(SingleSegmentFrame(6) + BlockHeader(true, 0, 6) + "hello!", &out);
  EXPECT_TRUE(s.ok()) << s.message();
  s = Decode(SingleSegmentFrame(5) + BlockHeader(true, 0, 6) + "hello!", &out);
  ExpectProtocolError(s, "block above the window");
  s = Decode(SingleSegmentFrame(5) + BlockHeader(true, 1, 6) + "x", &out);
  ExpectProtocolError(s, "RLE block above the window");
  // 128 KiB + 1 in a frame with an 8 MiB window.
  ExpectProtocolError(Decode(WindowedFrame(13) + BlockHeader(true, 0, (128 << 10) + 1), &out),
                      "block above 128 KiB");
}

TEST(ZstdDecoder, ChecksFrameContentSize) {
  std::string out;
  ExpectProtocolError(Decode(SingleSegmentFrame(6) + BlockHeader(true, 0, 5) + "hello", &out),
                      "content shorter than declared");
  // Two blocks, the second going past the declared 5 bytes.
  ExpectProtocolError(Decode(kMagic + std::string("\x60\x00\x00", 3) /* 256 */ +
                                 BlockHeader(false, 1, 200) + "a" + BlockHeader(true, 1, 57) + "b",
                             &out),
                      "content longer than declared");
  EXPECT_TRUE(Decode(kMagic + std::string("\x60\x00\x00", 3) + BlockHeader(false, 1, 200) + "a" +
                         BlockHeader(true, 1, 56) + "b",
                     &out)
                  .ok());
  EXPECT_EQ(out, std::string(200, 'a') + std::string(56, 'b'));
}

void ExpectErrorMentioning(const std::string& z, const std::string& what,
                           const std::string& words) {
  std::string out;
  const Status s = Decode(z, &out);
  ExpectProtocolError(s, what);
  EXPECT_NE(s.message().find(words), std::string::npos) << what << ": " << s.message();
}

TEST(ZstdDecoder, RefusesBadSequences) {
  // A 1 KiB window and no content size, so only the sequence is at fault.
  const std::string frame = WindowedFrame(0);
  // Offset_Value 32 (code 5, extra bits 0): offset 29, with one byte decoded.
  ExpectErrorMentioning(frame + OneSequenceBlock("a", 1, 5, 5, 0x20), "offset before the frame",
                        "before the start of the frame");
  // Literal length 0 with Offset_Value 3 means Repeated_Offset1 - 1 = 0.
  ExpectErrorMentioning(frame + OneSequenceBlock("", 0, 1, 0, 0x03), "zero repeat offset",
                        "repeat offset of zero");
  ExpectErrorMentioning(frame + OneSequenceBlock("a", 2, 0, 5, 0x01),
                        "two literals wanted, one there", "more literals");
  ExpectErrorMentioning(frame + OneSequenceBlock("a", 1, 0, 5, 0x02), "a bit left over",
                        "not consumed exactly");
  ExpectErrorMentioning(SingleSegmentFrame(8) + OneSequenceBlock("a", 1, 0, 5, 0x01),
                        "output past Frame_Content_Size", "past its size limit");
  ExpectErrorMentioning(frame + OneSequenceBlock("a", 36, 0, 5, 0x01), "literal length code 36",
                        "code out of range");
  ExpectErrorMentioning(frame + OneSequenceBlock("a", 1, 32, 5, 0x01), "offset code 32",
                        "code out of range");
  // Repeat_Mode for the literal lengths in the first block: no table yet.
  std::string rep = frame + OneSequenceBlock("a", 1, 0, 5, 0x01);
  const size_t body = frame.size() + 3;
  rep[body + 3] = '\xd4';
  rep.erase(body + 4, 1);                                        // no RLE byte for LL now
  rep[frame.size()] = static_cast<char>(rep[frame.size()] - 8);  // block size - 1
  ExpectErrorMentioning(rep, "repeat mode without a table", "no previous sequence table");
  // Treeless literals in the first block: no Huffman table yet.
  const std::string treeless = std::string("\x03\x00\x00", 3) + std::string("\x00", 1);
  ExpectErrorMentioning(frame + BlockHeader(true, 2, 4) + treeless, "treeless without a table",
                        "no previous Huffman table");
  // Reserved bits in Symbol_Compression_Modes.
  std::string reserved = frame + OneSequenceBlock("a", 1, 0, 5, 0x01);
  reserved[body + 3] = '\x55';
  ExpectErrorMentioning(reserved, "reserved mode bits", "reserved bits");
  // Data after a sequences section of zero sequences.
  const std::string trailing = std::string("\x08", 1) + "a" + std::string("\x00", 1) + "x";
  ExpectErrorMentioning(frame + BlockHeader(true, 2, 4) + trailing, "bytes after no sequences",
                        "after an empty sequences section");
}

TEST(ZstdDecoder, StaysFailedAfterAnError) {
  ZstdDecoder d;
  size_t used = 0;
  const Status first = d.Feed("garbage", 7, &used);
  ExpectProtocolError(first, "garbage");
  const Status again = d.Feed(kHello.data(), kHello.size(), &used);
  EXPECT_FALSE(again.ok());
  EXPECT_EQ(again.message(), first.message());
  EXPECT_EQ(used, 0u);
  EXPECT_EQ(d.output_size(), 0u);
}

TEST(ZstdDecoder, TruncatedInputIsNotAtFrameBoundary) {
  const std::string z = Bytes(kRepeatModesFrame, sizeof kRepeatModesFrame);
  for (size_t len = 0; len < z.size(); ++len) {
    ZstdDecoder d;
    size_t used = 0;
    ASSERT_TRUE(d.Feed(z.data(), len, &used).ok()) << "len " << len;
    EXPECT_EQ(used, len);
    EXPECT_EQ(d.at_frame_boundary(), len == 0) << "len " << len;
    std::string out;
    const Status s = ZstdDecompress(z.data(), len, &out);
    if (len > 0) ExpectProtocolError(s, "cut at " + std::to_string(len));
  }
  ZstdDecoder d;
  size_t used = 0;
  ASSERT_TRUE(d.Feed(z.data(), z.size(), &used).ok());
  EXPECT_TRUE(d.at_frame_boundary());
}

TEST(ZstdDecoder, StopsTakingInputUntilOutputIsTaken) {
  // 64 RLE blocks of 128 KiB: 8 MiB from a few hundred bytes.
  std::string z = WindowedFrame(13);
  for (int i = 0; i < 64; ++i)
    z += BlockHeader(i == 63, 1, 128 << 10) + static_cast<char>('a' + i % 26);
  ZstdDecoder d;
  size_t used = 0;
  ASSERT_TRUE(d.Feed(z.data(), z.size(), &used).ok());
  EXPECT_LT(used, z.size());
  EXPECT_EQ(d.output_size(), ZstdDecoder::kMaxBlock);
  size_t more = 0;
  ASSERT_TRUE(d.Feed(z.data() + used, z.size() - used, &more).ok());
  EXPECT_EQ(more, 0u);
  // Below kMaxBlock pending, one more block comes.
  std::string out(reinterpret_cast<const char*>(d.output()), 10);
  d.Take(10);
  ASSERT_TRUE(d.Feed(z.data() + used, z.size() - used, &more).ok());
  EXPECT_GT(more, 0u);
  EXPECT_EQ(d.output_size(), 2 * ZstdDecoder::kMaxBlock - 10);
  used += more;
  while (true) {
    out.append(reinterpret_cast<const char*>(d.output()), d.output_size());
    d.Take(d.output_size());
    if (used == z.size()) break;
    ASSERT_TRUE(d.Feed(z.data() + used, z.size() - used, &more).ok());
    ASSERT_GT(more, 0u);
    used += more;
  }
  EXPECT_TRUE(d.at_frame_boundary());
  ASSERT_EQ(out.size(), 64 * ZstdDecoder::kMaxBlock);
  for (int i = 0; i < 64; ++i) {
    EXPECT_EQ(out[i * ZstdDecoder::kMaxBlock], 'a' + i % 26);
    EXPECT_EQ(out[(i + 1) * ZstdDecoder::kMaxBlock - 1], 'a' + i % 26);
  }
}

TEST(ZstdDecoder, MemoryIsBoundedByTheWindow) {
  // A small-window frame needs little; the largest allowed window needs
  // its size plus a few blocks.
  std::string out;
  ZstdDecoder small;
  size_t used = 0;
  ASSERT_TRUE(small.Feed(kHello.data(), kHello.size(), &used).ok());
  EXPECT_LT(small.memory_used(), 400u << 10);
  std::string z = WindowedFrame(13);  // 8 MiB
  for (int i = 0; i < 80; ++i) z += BlockHeader(i == 79, 1, 128 << 10) + 'q';
  ZstdDecoder big;
  size_t at = 0;
  while (at < z.size()) {
    ASSERT_TRUE(big.Feed(z.data() + at, std::min<size_t>(z.size() - at, 3), &used).ok());
    at += used;
    big.Take(big.output_size());
    EXPECT_LE(big.memory_used(),
              ZstdDecoder::kDefaultMaxWindow + 4 * ZstdDecoder::kMaxBlock + (64 << 10));
  }
  EXPECT_TRUE(big.at_frame_boundary());
}

TEST(ZstdDecoder, DecompressRefusesOutputAboveItsLimit) {
  std::string out;
  ExpectProtocolError(ZstdDecompress(kHello.data(), kHello.size(), &out, 4), "limit 4");
  EXPECT_TRUE(ZstdDecompress(kHello.data(), kHello.size(), &out, 5).ok());
  EXPECT_EQ(out, "hello");
  EXPECT_TRUE(ZstdDecompress(nullptr, 0, &out).ok());
  EXPECT_EQ(out, "");
}

// ---- Frames made by the reference tool -----------------------------------

TEST(ZstdDecoder, DecodesOutputOfReferenceToolAtEveryLevel) {
  REQUIRE_ZSTD();
  const std::string data = Mixed(96 << 10, 1);
  for (int level = 1; level <= 19; ++level) {
    ExpectDecodes(Compress(data, "-" + std::to_string(level)), data,
                  "level " + std::to_string(level));
  }
  ExpectDecodes(Compress(data, "--ultra -22"), data, "level 22");
  ExpectDecodes(Compress(data, "--fast=5"), data, "fast 5");
}

TEST(ZstdDecoder, DecodesReferenceToolFramesOfEdgeInputs) {
  REQUIRE_ZSTD();
  std::string overlaps = "a" + std::string(10000, 'b') + "cd";
  for (int i = 0; i < 2000; ++i) overlaps += "xyz"[i % 3] + std::string(i % 17, 'q');
  const std::vector<std::pair<std::string, std::string>> inputs = {
      {"empty", ""},
      {"one byte", "a"},
      {"1 MiB of zeros", std::string(kMiB, '\0')},
      {"text", Words(300000, 2)},
      {"offset-1 overlaps", overlaps},
      {"mixed", Mixed(400000, 3)},
  };
  for (const auto& in : inputs) {
    for (const char* args : {"-1 --no-check", "-3 --check", "-19 --check"}) {
      ExpectDecodes(Compress(in.second, args), in.second, in.first + " " + args);
    }
  }
  const std::string random = Random(16 * kMiB, 4);
  ExpectDecodes(Compress(random, "-1 --check"), random, "16 MiB random");
}

TEST(ZstdDecoder, DecodesSmallBlocksAndMultithreadedJobs) {
  REQUIRE_ZSTD();
  const std::string data = Mixed(600000, 5);
  // A 1 KiB window makes every block at most 1 KiB, and the window buffer
  // wraps around many times.
  ExpectDecodes(Compress(data, "-3 --check --zstd=wlog=10"), data, "1 KiB window");
  ExpectDecodes(Compress(data, "-12 --check --zstd=wlog=12"), data, "4 KiB window");
  ExpectDecodes(Compress(data, "-3 -B1024 -T2"), data, "-B1024 -T2");
}

TEST(ZstdDecoder, DecodesMatchesAtTheWindowsEdge) {
  REQUIRE_ZSTD();
  // Random 128 KiB repeated: the only matches are exactly one window back.
  const std::string block = Random(128 << 10, 6);
  std::string data;
  for (int i = 0; i < 5; ++i) data += block;
  // Level 5 (lazy matching) checks the window per position; the fast
  // levels check it per block and find none of these.
  const std::string z = Compress(data, "-5 --zstd=wlog=17");
  ASSERT_LT(z.size(), data.size() / 2) << "expected matches one window back";
  ExpectDecodes(z, data, "offsets of exactly the window", 128 << 10);
  std::string out;
  ExpectProtocolError(Decode(z, &out, (128 << 10) - 1), "window above its limit");
}

TEST(ZstdDecoder, DecodesLargerWindowWhenAllowed) {
  REQUIRE_ZSTD();
  std::string data = Random(9 * kMiB, 7);
  data += data.substr(0, kMiB);
  const std::string z = Compress(data, "-1 --zstd=wlog=24");
  std::string out;
  ExpectProtocolError(Decode(z, &out), "16 MiB window by default");
  ExpectDecodes(z, data, "16 MiB window allowed", 16 * kMiB);
}

TEST(ZstdDecoder, DecodesConcatenatedFramesAndSkippableFrames) {
  REQUIRE_ZSTD();
  const std::string a = Words(50000, 8), b = Mixed(70000, 9);
  const std::string skippable = std::string("\x53\x2a\x4d\x18", 4) + Le32(10) + "0123456789";
  const std::string z = Compress(a, "-5 --check") + skippable + Compress(b, "-1 --no-check") +
                        Compress("", "-3") + Compress(a, "-19");
  ExpectDecodes(z, a + b + a, "concatenated");
}

TEST(ZstdDecoder, FeedingInPiecesGivesIdenticalOutput) {
  REQUIRE_ZSTD();
  const std::string data = Mixed(700000, 10);
  // Small window and blocks: many wraps of the window buffer.
  const std::string z = Compress(data, "-7 --check --zstd=wlog=12") + Compress(data, "-2");
  std::mt19937_64 rng(11);
  std::string out;
  bool ended = false;
  for (size_t fixed : {size_t{1}, size_t{7}}) {
    ASSERT_TRUE(DecodeInPieces(
                    z, &out, [&] { return fixed; }, &rng, &ended)
                    .ok())
        << fixed;
    EXPECT_TRUE(out == data + data) << "pieces of " << fixed;
    EXPECT_TRUE(ended);
  }
  for (int round = 0; round < 4; ++round) {
    const size_t cap = size_t(1) << (4 * round + 2);
    ASSERT_TRUE(DecodeInPieces(
                    z, &out, [&] { return 1 + rng() % cap; }, &rng, &ended)
                    .ok());
    EXPECT_TRUE(out == data + data) << "random pieces up to " << cap;
    EXPECT_TRUE(ended);
  }
}

TEST(ZstdDecoder, CorruptedFramesFailCleanlyWhateverTheCuts) {
  REQUIRE_ZSTD();
  const std::string data = Mixed(20000, 12);
  std::mt19937_64 rng(13);
  int failed = 0, decoded = 0;
  for (const char* args : {"-19 --check", "-3 --no-check --zstd=wlog=10"}) {
    const std::string z = Compress(data, args);
    for (size_t pos = 0; pos < z.size(); ++pos) {
      std::string bad = z;
      bad[pos] = static_cast<char>(bad[pos] ^ (1 + rng() % 255));
      std::string whole, pieces;
      const Status s = Decode(bad, &whole);
      bool ended = false;
      const Status p = DecodeInPieces(
          bad, &pieces, [&] { return 1 + rng() % 64; }, &rng, &ended);
      ASSERT_EQ(s.ok(), p.ok() && ended) << args << " flip at " << pos;
      if (s.ok()) {
        ++decoded;
        EXPECT_TRUE(whole == pieces) << args << " flip at " << pos;
      } else {
        ++failed;
        ExpectProtocolError(s, std::string(args) + " flip at " + std::to_string(pos));
        if (!p.ok()) {
          EXPECT_EQ(s.message(), p.message()) << args << " flip at " << pos;
        }
      }
    }
  }
  // With a checksum nothing corrupted gets through; without, some flips
  // in literals just change the output.
  EXPECT_GT(failed, 0);
  std::printf("[          ] %d corrupted frames refused, %d decoded to other output\n", failed,
              decoded);
}

TEST(ZstdDecoder, TruncatedReferenceFramesNeverEndAtABoundary) {
  REQUIRE_ZSTD();
  const std::string data = Mixed(30000, 14);
  const std::string z = Compress(data, "-9 --check");
  for (size_t len = 1; len < z.size(); ++len) {
    std::string out;
    ExpectProtocolError(ZstdDecompress(z.data(), len, &out), "cut at " + std::to_string(len));
  }
}

}  // namespace
}  // namespace treesync
