// Encryption under a Connection's frames, over socket pairs: frames arrive
// as sent and the wire never shows them; any record altered, replayed,
// reordered, dropped or cut ends the session with a protocol error, and a
// cut stream can't pass for a clean end.
#include "encrypted_stream.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "connection.h"
#include "frame.h"
#include "little_endian.h"
#include "test_util.h"

namespace treesync {
namespace {

NoiseCipher Keyed(char fill) {
  NoiseCipher c;
  const std::string key(32, fill);
  c.SetKey(reinterpret_cast<const uint8_t*>(key.data()));
  return c;
}

// The sending end: a Connection whose output is sealed with key 'a'.
std::unique_ptr<Connection> Sender(platform::Socket s, uint64_t rekey = kRekeyRecords) {
  return std::make_unique<Connection>(
      Encrypted(SocketStream(std::move(s)), Keyed('a'), Keyed('b'), "", rekey), 5000);
}
// The receiving end, opening what Sender seals.
std::unique_ptr<Connection> Receiver(platform::Socket s, uint64_t rekey = kRekeyRecords) {
  return std::make_unique<Connection>(
      Encrypted(SocketStream(std::move(s)), Keyed('b'), Keyed('a'), "", rekey), 5000);
}

// Everything a raw socket gives until the peer closes.
std::string ReadAll(platform::Socket* s) {
  std::string all;
  char buf[65536];
  for (;;) {
    platform::Readiness r;
    EXPECT_TRUE(platform::Poll(*s, true, false, 5000, &r).ok());
    if (!r.readable) break;
    size_t got = 0;
    bool eof = false;
    EXPECT_TRUE(s->Read(buf, sizeof(buf), &got, &eof).ok());
    if (eof || got == 0) break;
    all.append(buf, got);
  }
  return all;
}

// The records of a sealed stream, each with its length header.
std::vector<std::string> Records(const std::string& wire) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at + 2 <= wire.size()) {
    const size_t len = LoadLE16(reinterpret_cast<const uint8_t*>(wire.data() + at));
    out.push_back(wire.substr(at, 2 + len));
    at += 2 + len;
  }
  EXPECT_EQ(at, wire.size());
  return out;
}

// What a sender sealing frames "one", "two", "three" (each pushed alone)
// and then finishing puts on the wire.
std::string SealedThreeFrames() {
  test::SocketPair p = test::MakeSocketPair();
  std::unique_ptr<Connection> a = Sender(std::move(p.a));
  std::string wire;
  std::thread reader([&] { wire = ReadAll(&p.b); });
  for (const char* word : {"one", "two", "three"}) {
    EXPECT_TRUE(a->Send(FrameType::kData, std::string(word)).ok());
    EXPECT_TRUE(a->Flush().ok());
  }
  EXPECT_TRUE(a->Finish().ok());
  a.reset();
  reader.join();
  return wire;
}

// Feeds wire to a receiver; returns the frames it took and its last status.
Status ReceiveAll(const std::string& wire, std::vector<std::string>* frames) {
  test::SocketPair p = test::MakeSocketPair();
  std::unique_ptr<Connection> b = Receiver(std::move(p.b));
  test::WriteAll(&p.a, wire);
  p.a.ShutdownWrite();
  for (;;) {
    Frame f;
    Status s = b->Receive(&f);
    if (!s.ok()) return s;
    frames->push_back(f.payload);
  }
}

TEST(EncryptedStream, FramesArriveAsSentAndTheWireNeverShowsThem) {
  test::SocketPair p = test::MakeSocketPair();
  std::unique_ptr<Connection> a = Sender(std::move(p.a));
  std::unique_ptr<Connection> b = Receiver(std::move(p.b));
  const std::string secret = "a file name nobody may read on the wire";
  std::string big(kMaxFramePayload, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = char('a' + i % 23);
  Status sent;
  std::thread sender([&] {
    sent = a->Send(FrameType::kData, secret);
    if (sent.ok()) sent = a->Send(FrameType::kData, big);
    if (sent.ok()) sent = a->Finish();
  });
  Frame f;
  ASSERT_TRUE(b->Receive(&f).ok());
  EXPECT_EQ(f.payload, secret);
  Status s = b->Receive(&f);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(f.payload == big);
  s = b->Receive(&f);
  EXPECT_EQ(s.kind(), ErrorKind::kSocket) << "a clean, authenticated end: " << s.message();
  sender.join();
  ASSERT_TRUE(sent.ok()) << sent.message();

  const std::string wire = SealedThreeFrames();
  EXPECT_EQ(wire.find("one"), std::string::npos);
  EXPECT_EQ(wire.find("three"), std::string::npos);
}

TEST(EncryptedStream, BothWaysAtOnceWithRekeyingEveryFewRecords) {
  test::SocketPair p = test::MakeSocketPair();
  // Rekey after every 3 records: many rekeys in a few MiB.
  Connection a(Encrypted(SocketStream(std::move(p.a)), Keyed('a'), Keyed('b'), "", 3), 5000);
  Connection b(Encrypted(SocketStream(std::move(p.b)), Keyed('b'), Keyed('a'), "", 3), 5000);
  std::string payload(1 << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = char(i * 7 + (i >> 9));
  test::ExpectBothWaysAtOnce(&a, &b, payload, 3);
}

TEST(EncryptedStream, AnUntamperedStreamOpensWhole) {
  std::vector<std::string> frames;
  Status s = ReceiveAll(SealedThreeFrames(), &frames);
  EXPECT_EQ(s.kind(), ErrorKind::kSocket) << s.message();
  EXPECT_EQ(frames, (std::vector<std::string>{"one", "two", "three"}));
}

TEST(EncryptedStream, RefusesAFlippedBitAnywhere) {
  const std::string wire = SealedThreeFrames();
  for (size_t at = 0; at < wire.size(); at += 3) {
    std::string bad = wire;
    bad[at] = char(bad[at] ^ 0x10);
    std::vector<std::string> frames;
    Status s = ReceiveAll(bad, &frames);
    EXPECT_EQ(s.kind(), ErrorKind::kProtocol) << "byte " << at << ": " << s.message();
  }
}

TEST(EncryptedStream, RefusesReplayedReorderedAndDroppedRecords) {
  const std::vector<std::string> r = Records(SealedThreeFrames());
  ASSERT_EQ(r.size(), 4u) << "three frames and the end";
  const std::vector<std::vector<int>> orders = {
      {0, 0, 1, 2, 3},  // replayed
      {1, 0, 2, 3},     // reordered
      {0, 2, 3},        // dropped
      {0, 1, 2, 3, 3},  // the end replayed
  };
  for (const std::vector<int>& order : orders) {
    std::string wire;
    for (int i : order) wire += r[i];
    std::vector<std::string> frames;
    Status s = ReceiveAll(wire, &frames);
    EXPECT_EQ(s.kind(), ErrorKind::kProtocol) << s.message();
  }
}

TEST(EncryptedStream, BytesAfterTheEndAreRefusedHoweverTheyArrive) {
  const std::string wire = SealedThreeFrames();
  // In the same read as the end record.
  std::vector<std::string> frames;
  Status s = ReceiveAll(wire + "x", &frames);
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol) << s.message();
  // Or in a later one, once the end record was taken.
  test::SocketPair p = test::MakeSocketPair();
  std::unique_ptr<Connection> b = Receiver(std::move(p.b));
  test::WriteAll(&p.a, wire);
  Frame f;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(b->Receive(&f).ok());
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    test::WriteAll(&p.a, "x");
    p.a.ShutdownWrite();
  });
  s = b->Receive(&f);
  late.join();
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol) << s.message();
}

TEST(EncryptedStream, ACutStreamIsNotACleanEnd) {
  const std::vector<std::string> r = Records(SealedThreeFrames());
  ASSERT_EQ(r.size(), 4u);
  // Cut between records: every frame so far arrived, but the sealed end
  // did not.
  std::vector<std::string> frames;
  Status s = ReceiveAll(r[0] + r[1] + r[2], &frames);
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol) << s.message();
  EXPECT_NE(s.message().find("cut"), std::string::npos) << s.message();
  // Cut inside a record.
  frames.clear();
  s = ReceiveAll(r[0] + r[1].substr(0, 5), &frames);
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol) << s.message();
}

}  // namespace
}  // namespace treesync
