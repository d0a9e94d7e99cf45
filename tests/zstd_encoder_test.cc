// The encoder against the reference decoder (`zstd -d`, when installed) and
// ours, on the inputs where a compressor's bookkeeping goes wrong: nothing,
// one byte, long runs, offsets of one, matches exactly at the window's
// edge, random data, and a stream flushed after every small write.
#include "zstd_encoder.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "test_util.h"
#include "zstd_decoder.h"

namespace treesync {
namespace {

std::string Random(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>(x >> 56);
  }
  return s;
}

// Text-like data: words from a small vocabulary, as source files are.
std::string Words(size_t n, uint64_t seed) {
  static const char* kWords[] = {"int ", "return ", "struct ", "const ", "char* ", "void ",
                                 "#include ", "<stdio.h>\n", "if (", ") {\n", "}\n", "x", "y",
                                 "size_t ", "static ", "= 0;\n", "namespace ", "// ", "the "};
  std::string s;
  uint64_t x = seed + 7;
  while (s.size() < n) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    s += kWords[(x >> 33) % (sizeof kWords / sizeof kWords[0])];
  }
  s.resize(n);
  return s;
}

bool HaveZstd() { return std::system("zstd --version >/dev/null 2>&1") == 0; }

// What `zstd -d` makes of compressed.
std::string ReferenceDecode(const std::string& compressed) {
  test::TempFolder tmp;
  const std::string in = tmp.Join("in.zst"), out = tmp.Join("out");
  test::WriteFile(in, compressed);
  const std::string cmd = "zstd -q -d -f -o '" + out + "' '" + in + "' 2>&1";
  if (std::system(cmd.c_str()) != 0) return "zstd -d failed";
  return test::ReadFile(out);
}

std::string OurDecode(const std::string& compressed) {
  std::string out;
  Status s = ZstdDecompress(compressed.data(), compressed.size(), &out, size_t(1) << 30,
                            ZstdDecoder::kDefaultMaxWindow);
  return s.ok() ? out : "our decoder failed: " + s.message();
}

void ExpectRoundTrip(const std::string& data, int level) {
  const std::string z = ZstdCompress(data.data(), data.size(), level);
  EXPECT_TRUE(OurDecode(z) == data) << "level " << level << ", " << data.size() << " bytes";
  if (HaveZstd()) {
    EXPECT_TRUE(ReferenceDecode(z) == data) << "level " << level << ", " << data.size() << " bytes";
  }
}

TEST(ZstdEncoder, EdgeInputsRoundTripThroughBothDecoders) {
  std::vector<std::string> inputs = {
      "", "a", std::string(1 << 20, '\0'), std::string(300000, 'x'),
      // Offset 1 and 2 overlaps after literals.
      "ab" + std::string(1000, 'b') + "cdcdcdcdcdcdcdcdcdcd" + std::string(70000, 'z'),
      Words(200000, 1), Random(1000, 2),
  };
  std::string mixed = Random(100000, 3) + Words(100000, 4) + Random(50000, 5);
  inputs.push_back(mixed + mixed);
  for (const std::string& in : inputs) ExpectRoundTrip(in, ZstdEncoder::kDefaultLevel);
}

TEST(ZstdEncoder, EveryLevelRoundTrips) {
  const std::string text = Words(600000, 9) + Random(20000, 10) + Words(300000, 9);
  for (int level = ZstdEncoder::kMinLevel; level <= ZstdEncoder::kMaxLevel; ++level) {
    ExpectRoundTrip(text, level);
  }
}

TEST(ZstdEncoder, SixteenMiBOfRandomIsSentAsIs) {
  const std::string data = Random(16 << 20, 11);
  const std::string z = ZstdCompress(data.data(), data.size());
  // Raw blocks: three bytes a block of 128 KiB, and the frame's header and
  // end.
  EXPECT_LE(z.size(), data.size() + 3 * (data.size() / (128 << 10)) + 16);
  EXPECT_TRUE(OurDecode(z) == data);
  if (HaveZstd()) {
    EXPECT_TRUE(ReferenceDecode(z) == data);
  }
}

TEST(ZstdEncoder, MatchesReachExactlyToTheWindowsEdge) {
  // A random piece, then filler, then the piece again at exactly the
  // window's distance (the farthest allowed), then one byte farther.
  ZstdEncoder probe;
  const size_t window = probe.window_size();
  const std::string piece = Random(4096, 12);
  std::string data = piece + Random(window - piece.size(), 13) + piece;
  ExpectRoundTrip(data, ZstdEncoder::kDefaultLevel);
  const std::string z = ZstdCompress(data.data(), data.size());
  EXPECT_LT(z.size(), data.size() - piece.size() / 2) << "the repeat at the window's edge is found";
  std::string beyond = piece + Random(window + 1 - piece.size(), 14) + piece;
  ExpectRoundTrip(beyond, ZstdEncoder::kDefaultLevel);
}

TEST(ZstdEncoder, EachCompressCallIsDecodableAtOnce) {
  // A session's requests: each must reach the peer whole before the reply.
  ZstdEncoder enc;
  ZstdDecoder dec;
  std::string expected;
  for (int i = 0; i < 200; ++i) {
    const std::string msg = "request " + std::to_string(i) + " " + Words(size_t(10 + i * 37), i);
    std::string z;
    enc.Compress(msg.data(), msg.size(), &z);
    size_t used = 0;
    ASSERT_TRUE(dec.Feed(z.data(), z.size(), &used).ok());
    ASSERT_EQ(used, z.size());
    std::string got(reinterpret_cast<const char*>(dec.output()), dec.output_size());
    dec.Take(dec.output_size());
    ASSERT_EQ(got, msg) << "message " << i;
  }
  std::string end;
  enc.End(&end);
  size_t used = 0;
  ASSERT_TRUE(dec.Feed(end.data(), end.size(), &used).ok());
  EXPECT_TRUE(dec.at_frame_boundary());
}

TEST(ZstdEncoder, SmallSimilarFilesCompressTogether) {
  // 2,000 small files that differ a little. Written in batches, as a
  // session hands them over, they cost about what one stream does; even
  // flushed one by one, the context carried across calls makes them a
  // fraction of what each costs compressed on its own.
  std::vector<std::string> files;
  for (int i = 0; i < 2000; ++i) {
    files.push_back("#ifndef HEADER_" + std::to_string(i) + "_H\n#define HEADER_" +
                    std::to_string(i) + "_H\n" + Words(300, uint64_t(i % 7)) + "\n#endif\n");
  }
  std::string joined;
  size_t alone = 0;
  for (const std::string& f : files) {
    joined += f;
    alone += ZstdCompress(f.data(), f.size()).size();
  }
  const std::string together = ZstdCompress(joined.data(), joined.size());
  ZstdEncoder batched, flushed;
  std::string in_batches, one_by_one, batch;
  for (const std::string& f : files) {
    flushed.Compress(f.data(), f.size(), &one_by_one);
    batch += f;
    if (batch.size() >= (64 << 10)) {
      batched.Compress(batch.data(), batch.size(), &in_batches);
      batch.clear();
    }
  }
  batched.Compress(batch.data(), batch.size(), &in_batches);
  batched.End(&in_batches);
  flushed.End(&one_by_one);
  EXPECT_LT(in_batches.size(), together.size() * 11 / 10);
  EXPECT_LT(one_by_one.size(), alone / 4);
  EXPECT_TRUE(OurDecode(in_batches) == joined);
  EXPECT_TRUE(OurDecode(one_by_one) == joined);
  if (HaveZstd()) {
    EXPECT_TRUE(ReferenceDecode(one_by_one) == joined);
  }
}

TEST(ZstdEncoder, EndWithoutDataMakesAnEmptyFrame) {
  ZstdEncoder enc;
  std::string z;
  enc.End(&z);
  EXPECT_EQ(OurDecode(z), "");
  if (HaveZstd()) {
    EXPECT_EQ(ReferenceDecode(z), "");
  }
  // And the next frame starts with an empty window.
  const std::string again = Words(5000, 3);
  std::string z2;
  enc.Compress(again.data(), again.size(), &z2);
  enc.End(&z2);
  EXPECT_TRUE(OurDecode(z + z2) == again);
}

TEST(ZstdEncoder, AFrameAfterEndReachesNothingBeforeIt) {
  // The same text twice, a frame each: the second must not match the
  // first (each frame's window starts empty), so it is as long.
  const std::string text = Words(50000, 9);
  ZstdEncoder enc;
  std::string first, second;
  enc.Compress(text.data(), text.size(), &first);
  EXPECT_TRUE(enc.frame_open());
  enc.End(&first);
  EXPECT_FALSE(enc.frame_open());
  enc.Compress(text.data(), text.size(), &second);
  enc.End(&second);
  EXPECT_EQ(second.size(), first.size());
  EXPECT_TRUE(OurDecode(first + second) == text + text);
  if (HaveZstd()) {
    EXPECT_TRUE(ReferenceDecode(first + second) == text + text);
  }
}

TEST(ZstdEncoder, HoldsNoMoreThanMemoryForSays) {
  // What a server counts against its budget before granting compression.
  for (int level = ZstdEncoder::kMinLevel; level <= ZstdEncoder::kMaxLevel; ++level) {
    ZstdEncoder enc(level);
    std::string z;
    const std::string text = Words(3 << 20, level);
    enc.Compress(text.data(), text.size(), &z);
    EXPECT_LE(enc.memory_used(), ZstdEncoder::MemoryFor(level)) << "level " << level;
  }
}

TEST(ZstdEncoder, SaysWhetherTheLastCallWentAllRaw) {
  ZstdEncoder enc;
  std::string z;
  const std::string noise = Random(300000, 4), text = Words(300000, 4);
  enc.Compress(noise.data(), noise.size(), &z);
  EXPECT_TRUE(enc.last_all_raw());
  enc.Compress(text.data(), text.size(), &z);
  EXPECT_FALSE(enc.last_all_raw());
}

TEST(ZstdEncoder, RandomLooksIncompressibleAndStructuredDataDoesNot) {
  EXPECT_TRUE(LooksIncompressible(Random(128 << 10, 1).data(), 128 << 10));
  EXPECT_TRUE(LooksIncompressible(Random(1024, 2).data(), 1024));
  EXPECT_FALSE(LooksIncompressible(Words(128 << 10, 1).data(), 128 << 10));
  EXPECT_FALSE(LooksIncompressible(std::string(128 << 10, '\0').data(), 128 << 10));
  EXPECT_FALSE(LooksIncompressible(Random(1000, 3).data(), 1000)) << "too short to judge";
  // Bytes of 7 random bits (ASCII-armoured data, say) shrink by an eighth.
  std::string seven = Random(128 << 10, 5);
  for (char& c : seven) c = static_cast<char>(c & 0x7f);
  EXPECT_FALSE(LooksIncompressible(seven.data(), seven.size()));
  // Half random, half text: Huffman coding alone would save a quarter.
  std::string mixed = Random(128 << 10, 6);
  const std::string words = Words(64 << 10, 6);
  mixed.replace(64 << 10, words.size(), words);
  EXPECT_FALSE(LooksIncompressible(mixed.data(), mixed.size()));
}

}  // namespace
}  // namespace treesync
