#include "lobby.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "connection.h"
#include "net.h"
#include "protocol.h"
#include "test_util.h"

namespace treesync {
namespace {

using Clock = std::chrono::steady_clock;

using Pair = test::SocketPair;
using test::WriteAll;
inline Pair MakePair() { return test::MakeSocketPair(); }

std::string HelloFrame() {
  std::string out;
  AppendFrame(&out, FrameType::kHello, EncodeHello(Hello()));
  return out;
}

// Runs Wait until `n` connections are through waiting, or about 5 s pass.
std::vector<Lobby::Arrival> WaitFor(Lobby* lobby, size_t n) {
  std::vector<Lobby::Arrival> out;
  auto end = Clock::now() + std::chrono::seconds(5);
  while (out.size() < n && Clock::now() < end) {
    bool listener_ready = false;
    Status s = lobby->Wait(nullptr, 50, &listener_ready, &out);
    EXPECT_TRUE(s.ok()) << s.message();
  }
  return out;
}

// Everything the client receives until the other side closes (at most 5 s).
std::string ReadToEnd(platform::Socket* s, bool* closed) {
  std::string got;
  *closed = false;
  auto end = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < end) {
    platform::Readiness r;
    if (!platform::Poll(*s, true, false, 50, &r).ok()) break;
    if (!r.readable) continue;
    char buf[4096];
    size_t n = 0;
    bool eof = false;
    if (!s->Read(buf, sizeof buf, &n, &eof).ok() || eof) {
      *closed = true;
      break;
    }
    got.append(buf, n);
  }
  return got;
}

TEST(Lobby, HandsOverTheHelloAndLeavesWhatFollowsInTheSocket) {
  Pair p = MakePair();
  Lobby lobby(8, 5000, 1000);
  lobby.Add(std::move(p.a), "peer");
  std::string want;
  AppendFrame(&want, FrameType::kWantEnd, std::string());
  WriteAll(&p.b, HelloFrame() + want);
  std::vector<Lobby::Arrival> out = WaitFor(&lobby, 1);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].status.ok()) << out[0].status.message();
  EXPECT_EQ(out[0].peer, "peer");
  Hello h;
  ASSERT_TRUE(DecodeHello(out[0].hello, &h).ok());
  EXPECT_EQ(h.version, kProtocolVersion);
  EXPECT_EQ(lobby.waiting(), 0u);
  // The session reads on from the frame after the Hello.
  Connection conn(std::move(out[0].sock), 5000);
  Frame f;
  ASSERT_TRUE(conn.Receive(&f).ok());
  EXPECT_EQ(f.type, FrameType::kWantEnd);
}

TEST(Lobby, TakesAHelloThatArrivesInPieces) {
  Pair p = MakePair();
  Lobby lobby(8, 5000, 1000);
  lobby.Add(std::move(p.a), "peer");
  const std::string hello = HelloFrame();
  std::vector<Lobby::Arrival> out;
  for (size_t i = 0; i < hello.size(); ++i) {
    WriteAll(&p.b, hello.substr(i, 1));
    bool ready = false;
    ASSERT_TRUE(lobby.Wait(nullptr, 20, &ready, &out).ok());
    if (i + 1 < hello.size()) {
      EXPECT_TRUE(out.empty()) << "after byte " << i;
    }
  }
  if (out.empty()) out = WaitFor(&lobby, 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].status.ok()) << out[0].status.message();
  EXPECT_EQ(out[0].hello.payload, hello.substr(kFrameHeaderSize));
}

TEST(Lobby, ReportsATimeoutForASilentConnectionAndKeepsItOpen) {
  Pair p = MakePair();
  Lobby lobby(8, 100, 1000);
  auto start = Clock::now();
  lobby.Add(std::move(p.a), "silent");
  std::vector<Lobby::Arrival> out = WaitFor(&lobby, 1);
  ASSERT_EQ(out.size(), 1u);
  // The lobby counts whole milliseconds, so it may see 100 up to 1 ms early.
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(99));
  EXPECT_EQ(out[0].status.kind(), ErrorKind::kTimeout);
  EXPECT_TRUE(out[0].sock.valid());  // for the server to say why
}

TEST(Lobby, RefusesAFirstFrameThatIsNotAHelloFromItsHeader) {
  Pair p = MakePair();
  Lobby lobby(8, 5000, 1000);
  lobby.Add(std::move(p.a), "peer");
  std::string want;
  AppendFrame(&want, FrameType::kWantEnd, std::string());
  WriteAll(&p.b, want);
  std::vector<Lobby::Arrival> out = WaitFor(&lobby, 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status.kind(), ErrorKind::kProtocol);
  EXPECT_NE(out[0].status.message().find("expected Hello"), std::string::npos);
}

TEST(Lobby, RefusesAHelloTooLongToBeOneWithoutReadingIt) {
  Pair p = MakePair();
  Lobby lobby(8, 5000, 1000);
  lobby.Add(std::move(p.a), "peer");
  std::string header(kFrameHeaderSize, '\0');
  WriteFrameHeader(&header[0], FrameType::kHello, kMaxFramePayload);
  WriteAll(&p.b, header);
  std::vector<Lobby::Arrival> out = WaitFor(&lobby, 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status.kind(), ErrorKind::kProtocol);
}

TEST(Lobby, ClientClosingBeforeItsHelloIsReportedClosed) {
  Pair p = MakePair();
  Lobby lobby(8, 5000, 1000);
  lobby.Add(std::move(p.a), "peer");
  p.b.Close();
  std::vector<Lobby::Arrival> out = WaitFor(&lobby, 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status.kind(), ErrorKind::kSocket);
  EXPECT_FALSE(out[0].sock.valid());
}

TEST(Lobby, FullLobbyPushesOutTheConnectionHeldLongest) {
  Pair first = MakePair(), second = MakePair(), third = MakePair();
  Lobby lobby(2, 5000, 1000);
  lobby.Add(std::move(first.a), "first");
  lobby.Add(std::move(second.a), "second");
  lobby.Add(std::move(third.a), "third");
  EXPECT_EQ(lobby.waiting(), 2u);
  std::vector<Lobby::Arrival> out = WaitFor(&lobby, 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].peer, "first");
  EXPECT_FALSE(out[0].status.ok());
  bool closed = false;
  ReadToEnd(&first.b, &closed);
  EXPECT_TRUE(closed);
  // The newer two still get through.
  WriteAll(&second.b, HelloFrame());
  WriteAll(&third.b, HelloFrame());
  out = WaitFor(&lobby, 2);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].status.ok());
  EXPECT_TRUE(out[1].status.ok());
}

TEST(Lobby, TurnedAwayClientReadsTheErrorThenTheClose) {
  Pair p = MakePair();
  Lobby lobby(8, 5000, 5000);
  lobby.Add(std::move(p.a), "peer");
  WriteAll(&p.b, HelloFrame());
  std::vector<Lobby::Arrival> out = WaitFor(&lobby, 1);
  ASSERT_EQ(out.size(), 1u);
  lobby.TurnAway(std::move(out[0].sock), "peer", Status::Refused("server busy"));
  EXPECT_EQ(lobby.leaving(), 1u);
  // The client sends more before it reads: the lobby drains it, so the
  // close that follows is not a reset.
  WriteAll(&p.b, std::string(10000, 'x'));
  bool closed = false;
  std::string got = ReadToEnd(&p.b, &closed);
  EXPECT_TRUE(closed);
  FrameReader reader;
  reader.Feed(got.data(), got.size());
  Frame f;
  bool have = false;
  ASSERT_TRUE(reader.Next(&f, &have).ok());
  ASSERT_TRUE(have);
  ErrorMessage e;
  ASSERT_TRUE(DecodeError(f, &e).ok());
  EXPECT_EQ(e.kind, ErrorKind::kRefused);
  EXPECT_EQ(e.message, "server busy");
  // Once the client closes, the lobby lets the connection go.
  p.b.Close();
  auto end = Clock::now() + std::chrono::seconds(5);
  while (lobby.leaving() > 0 && Clock::now() < end) {
    ASSERT_TRUE(lobby.Wait(nullptr, 50, &have, &out).ok());
  }
  EXPECT_EQ(lobby.leaving(), 0u);
}

TEST(Lobby, TurnedAwayConnectionIsClosedAfterTheLingerEvenIfTheClientStays) {
  Pair p = MakePair();
  Lobby lobby(8, 5000, 100);
  lobby.TurnAway(std::move(p.a), "peer", Status::Refused("busy"));
  bool closed = false;
  ReadToEnd(&p.b, &closed);  // the lobby shuts its side at once
  EXPECT_TRUE(closed);
  std::vector<Lobby::Arrival> out;
  auto end = Clock::now() + std::chrono::seconds(5);
  bool ready = false;
  while (lobby.leaving() > 0 && Clock::now() < end) lobby.Wait(nullptr, 50, &ready, &out);
  EXPECT_EQ(lobby.leaving(), 0u);
  EXPECT_TRUE(out.empty());  // reported once, when it was turned away
}

TEST(Lobby, WaitSaysWhenTheListenerHasAConnection) {
  ASSERT_TRUE(platform::NetInit().ok());
  platform::Socket listener;
  ASSERT_TRUE(platform::Listen("127.0.0.1", 0, &listener).ok());
  uint16_t port = 0;
  ASSERT_TRUE(platform::LocalPort(listener, &port).ok());
  Lobby lobby(8, 5000, 1000);
  std::vector<Lobby::Arrival> out;
  bool ready = true;
  ASSERT_TRUE(lobby.Wait(&listener, 0, &ready, &out).ok());
  EXPECT_FALSE(ready);
  platform::Socket client;
  ASSERT_TRUE(platform::Connect("127.0.0.1", port, 5000, &client).ok());
  ready = false;
  for (int i = 0; i < 100 && !ready; ++i) ASSERT_TRUE(lobby.Wait(&listener, 50, &ready, &out).ok());
  EXPECT_TRUE(ready);
}

}  // namespace
}  // namespace treesync
