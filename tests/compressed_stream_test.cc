// Compression under a Connection's frames, over a socket pair: what each
// side sends after StartCompression arrives as sent, in fewer bytes, both
// ways at once, and a broken compressed stream ends the connection with a
// protocol error.
#include "compressed_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "connection.h"
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
  // socket while the other's does too.
  std::string noise(1 << 20, '\0');
  uint64_t x = 88172645463325252ull;
  for (char& c : noise) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  auto run = [&](Connection* c, Status* out) {
    for (int i = 0; i < 8 && out->ok(); ++i) *out = c->Send(FrameType::kData, noise);
    if (out->ok()) *out = c->Flush();
    for (int i = 0; i < 8 && out->ok(); ++i) {
      Frame f;
      *out = c->Receive(&f);
      if (out->ok() && f.payload != noise) *out = Status::Protocol("frame differs");
    }
  };
  Status sa, sb;
  std::thread ta(run, &a, &sa);
  std::thread tb(run, &b, &sb);
  ta.join();
  tb.join();
  EXPECT_TRUE(sa.ok()) << sa.message();
  EXPECT_TRUE(sb.ok()) << sb.message();
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

}  // namespace
}  // namespace treesync
