// Compression under a Connection's frames, over a socket pair: what each
// side sends after StartCompression arrives as sent, in fewer bytes, both
// ways at once, and a broken compressed stream ends the connection with a
// protocol error.
#include "compressed_stream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "connection.h"
#include "frame.h"
#include "test_util.h"
#include "zstd_encoder.h"

namespace treesync {
namespace {

std::string Text(size_t n, unsigned seed) {
  static const char* kWords[] = {"alpha ", "beta ", "gamma\n", "delta ", "epsilon ", "zeta\n"};
  std::string s;
  uint32_t x = seed + 1;
  while (s.size() < n) {
    x = x * 1664525u + 1013904223u;
    s += kWords[(x >> 24) % 6];
  }
  s.resize(n);
  return s;
}

TEST(CompressedStream, FramesAfterTheSwitchArriveInOrderInFewerBytes) {
  test::SocketPair p = test::MakeSocketPair();
  Connection a(std::move(p.a), 5000);
  Connection b(std::move(p.b), 5000);
  const std::string big = Text(1000000, 1);
  Status sent;
  std::thread sender([&] {
    // The switch right after a plain frame: the peer reads both in one go,
    // so the compressed bytes it has buffered must reach its decoder.
    sent = a.Send(FrameType::kHello, std::string("hi"));
    if (sent.ok()) sent = a.StartCompression(ZstdEncoder::kDefaultLevel);
    for (int i = 0; i < 20 && sent.ok(); ++i) sent = a.Send(FrameType::kData, Text(1000, i));
    if (sent.ok()) sent = a.Send(FrameType::kData, big);
    if (sent.ok()) sent = a.Finish();
  });
  Frame f;
  ASSERT_TRUE(b.Receive(&f).ok());
  EXPECT_EQ(f.payload, "hi");
  ASSERT_TRUE(b.StartCompression(ZstdEncoder::kDefaultLevel).ok());
  for (int i = 0; i < 20; ++i) {
    Status s = b.Receive(&f);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(f.payload, Text(1000, i));
  }
  Status s = b.Receive(&f);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(f.payload == big);
  s = b.Receive(&f);
  EXPECT_EQ(s.kind(), ErrorKind::kSocket) << "a clean end after the last frame";
  sender.join();
  ASSERT_TRUE(sent.ok()) << sent.message();
  EXPECT_LT(a.wire_bytes_sent(), a.bytes_sent() / 4);
  EXPECT_EQ(a.wire_bytes_sent(), b.wire_bytes_received());
}

TEST(CompressedStream, BothSidesSendingAtOnceDoNotDeadlock) {
  test::SocketPair p = test::MakeSocketPair();
  Connection a(std::move(p.a), 5000);
  Connection b(std::move(p.b), 5000);
  ASSERT_TRUE(a.StartCompression(1).ok());
  ASSERT_TRUE(b.StartCompression(1).ok());
  // Random-looking data does not shrink, so each side's output fills the
  // socket while the other's does too: 3 MiB each way, under what a
  // connection buffers unread (kMaxInput), as a session's peers stay.
  std::string noise(1 << 20, '\0');
  uint64_t x = 88172645463325252ull;
  for (char& c : noise) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  test::ExpectBothWaysAtOnce(&a, &b, noise, 3);
}

TEST(CompressedStream, GarbageAfterTheSwitchIsAProtocolError) {
  test::SocketPair p = test::MakeSocketPair();
  Connection b(std::move(p.b), 5000);
  ASSERT_TRUE(b.StartCompression(ZstdEncoder::kDefaultLevel).ok());
  test::WriteAll(&p.a, "this is not a zstd frame at all");
  Frame f;
  Status s = b.Receive(&f);
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol);
  EXPECT_NE(s.message().find("compressed stream"), std::string::npos) << s.message();
}

// The compressed bytes of one Data frame, as a peer would send them.
std::string CompressedFrame(const std::string& payload) {
  std::string frame;
  AppendFrame(&frame, FrameType::kData, payload);
  ZstdEncoder enc;
  std::string z;
  enc.Compress(frame.data(), frame.size(), &z);
  return z;
}

TEST(CompressedStream, PeerClosingInsideABlockIsASocketError) {
  // A dropped link, as a plain stream cut inside a frame: the pull keeps
  // what arrived and resumes later.
  test::SocketPair p = test::MakeSocketPair();
  Connection b(std::move(p.b), 5000);
  ASSERT_TRUE(b.StartCompression(ZstdEncoder::kDefaultLevel).ok());
  const std::string z = CompressedFrame(Text(5000, 3));
  test::WriteAll(&p.a, z.substr(0, z.size() / 2));
  p.a.ShutdownWrite();
  Frame f;
  Status s = b.Receive(&f);
  EXPECT_EQ(s.kind(), ErrorKind::kSocket) << s.message();
}

TEST(CompressedStream, PeerClosingBetweenBlocksIsASocketError) {
  // Only the last block ends the frame cleanly.
  test::SocketPair p = test::MakeSocketPair();
  Connection b(std::move(p.b), 5000);
  ASSERT_TRUE(b.StartCompression(ZstdEncoder::kDefaultLevel).ok());
  test::WriteAll(&p.a, CompressedFrame("one whole frame"));
  p.a.ShutdownWrite();
  Frame f;
  ASSERT_TRUE(b.Receive(&f).ok());
  EXPECT_EQ(f.payload, "one whole frame");
  Status s = b.Receive(&f);
  EXPECT_EQ(s.kind(), ErrorKind::kSocket) << s.message();
}

std::string Noise(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (char& c : s) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x >> 56);
  }
  return s;
}

// A stream below that hands over its bytes a few at a time, so headers
// and passes arrive cut at every point.
class Trickle : public ByteStream {
 public:
  explicit Trickle(std::string data) : data_(std::move(data)) {}
  Status Read(void* buf, size_t n, size_t* got, bool* eof) override {
    step_ = step_ % 13 + 1;
    *got = std::min({n, step_, data_.size() - pos_});
    std::memcpy(buf, data_.data() + pos_, *got);
    pos_ += *got;
    *eof = *got == 0 && pos_ == data_.size();
    return Status::Ok();
  }
  Status Write(const void*, size_t, size_t* wrote) override {
    *wrote = 0;
    return Status::Ok();
  }
  void ShutdownWrite() override {}
  Status Poll(bool want_read, bool, int, platform::Readiness* out) override {
    *out = platform::Readiness();
    out->readable = want_read;
    return Status::Ok();
  }

 private:
  std::string data_;
  size_t pos_ = 0;
  size_t step_ = 0;
};

TEST(CompressedStream, RandomBytesPassAsTheyAreAndWhatFollowsIsCompressed) {
  test::SocketPair p = test::MakeSocketPair();
  Connection a(std::move(p.a), 5000);
  std::string plain;
  std::vector<std::string> payloads;
  for (int i = 0; i < 6; ++i) payloads.push_back(Noise(1 << 20, i));
  payloads.push_back(Text(1000000, 7));
  for (const std::string& s : payloads) AppendFrame(&plain, FrameType::kData, s);
  Status sent;
  std::thread sender([&] {
    sent = a.StartCompression(ZstdEncoder::kDefaultLevel);
    for (size_t i = 0; i < payloads.size() && sent.ok(); ++i) {
      sent = a.Send(FrameType::kData, payloads[i]);
    }
    if (sent.ok()) sent = a.Finish();
  });
  std::string wire;
  for (;;) {
    platform::Readiness r;
    ASSERT_TRUE(platform::Poll(p.b, true, false, 5000, &r).ok());
    char buf[65536];
    size_t got = 0;
    bool eof = false;
    ASSERT_TRUE(p.b.Read(buf, sizeof buf, &got, &eof).ok());
    if (eof) break;
    wire.append(buf, got);
  }
  sender.join();
  ASSERT_TRUE(sent.ok()) << sent.message();
  EXPECT_NE(wire.find(std::string("\x5e\x2a\x4d\x18", 4)), std::string::npos)
      << "no pass: random bytes went through the compressor";
  EXPECT_LT(wire.size(), 6 * (1 << 20) + 1000000 / 4) << "the text after the noise is compressed";

  // Read back in pieces of every size: the same bytes.
  std::unique_ptr<CompressedStream> in =
      Compressed(std::make_unique<Trickle>(wire), ZstdEncoder::kDefaultLevel, "");
  std::string back;
  size_t ask = 1;
  for (;;) {
    char buf[70000];
    ask = ask * 7 % 69997 + 1;
    size_t got = 0;
    bool eof = false;
    Status s = in->Read(buf, ask, &got, &eof);
    ASSERT_TRUE(s.ok()) << s.message();
    if (eof) break;
    back.append(buf, got);
  }
  EXPECT_FALSE(in->cut_short());
  EXPECT_TRUE(back == plain);
}

TEST(CompressedStream, StreamEndingInsideAPassIsCutShort) {
  std::string plain;
  AppendFrame(&plain, FrameType::kData, "x");
  std::string wire = std::string("\x5e\x2a\x4d\x18", 4) + std::string("\x10\0\0\0", 4) +
                     plain;  // 16 bytes promised, fewer sent
  std::unique_ptr<CompressedStream> in =
      Compressed(std::make_unique<Trickle>(wire), ZstdEncoder::kDefaultLevel, "");
  std::string back;
  for (;;) {
    char buf[100];
    size_t got = 0;
    bool eof = false;
    ASSERT_TRUE(in->Read(buf, sizeof buf, &got, &eof).ok());
    if (eof) break;
    back.append(buf, got);
  }
  EXPECT_EQ(back, plain);
  EXPECT_TRUE(in->cut_short());
}

}  // namespace
}  // namespace treesync
