#include "connection.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "memory_budget.h"
#include "net.h"
#include "subprocess.h"
#include "test_util.h"

namespace treesync {
namespace {

using Pair = test::SocketPair;
using test::WriteAll;
inline Pair MakePair() { return test::MakeSocketPair(); }

std::string Pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

TEST(Connection, FramesSentOneWayArriveInOrder) {
  Pair p = MakePair();
  Connection a(std::move(p.a), 5000);
  Connection b(std::move(p.b), 5000);
  const std::string big = Pattern(3 * kDataChunk + 17, 1);  // more than a socket buffer
  Status sent;
  std::thread sender([&] {
    sent = a.Send(FrameType::kHello, std::string("hi"));
    if (sent.ok()) sent = a.Send(FrameType::kData, big);
    if (sent.ok()) sent = a.Send(FrameType::kWantEnd, nullptr, 0);
    if (sent.ok()) sent = a.Flush();
  });
  Frame f1, f2, f3;
  Status s1 = b.Receive(&f1);
  Status s2 = s1.ok() ? b.Receive(&f2) : s1;
  Status s3 = s2.ok() ? b.Receive(&f3) : s2;
  sender.join();
  ASSERT_TRUE(sent.ok()) << sent.message();
  ASSERT_TRUE(s3.ok()) << s3.message();
  EXPECT_EQ(a.pending_output(), 0u);
  EXPECT_EQ(f1.type, FrameType::kHello);
  EXPECT_EQ(f1.payload, "hi");
  EXPECT_EQ(f2.type, FrameType::kData);
  EXPECT_EQ(f2.payload, big);
  EXPECT_EQ(f3.type, FrameType::kWantEnd);
  EXPECT_TRUE(f3.payload.empty());
  EXPECT_EQ(a.bytes_sent(), b.bytes_received());
  EXPECT_EQ(a.bytes_sent(), 3 * kFrameHeaderSize + 2 + big.size());
}

TEST(Connection, FramesWrittenInPlaceArriveInOrderWithSentOnes) {
  Pair p = MakePair();
  Connection a(std::move(p.a), 5000);
  Connection b(std::move(p.b), 5000);
  // 40 chunks: past kHighWater several times, so the queue slides and waits.
  std::vector<std::string> chunks;
  for (unsigned i = 0; i < 40; ++i) chunks.push_back(Pattern(kDataChunk - i * 1000, i));
  Status sent;
  std::thread sender([&] {
    for (size_t i = 0; i < chunks.size() && sent.ok(); ++i) {
      char* room = a.ReserveFrame(FrameType::kData, kDataChunk);
      std::copy(chunks[i].begin(), chunks[i].end(), room);
      sent = a.CommitFrame(chunks[i].size());
      // An empty commit queues nothing; an ordinary Send goes between.
      if (sent.ok()) a.ReserveFrame(FrameType::kData, 100);
      if (sent.ok()) sent = a.CommitFrame(0);
      if (sent.ok()) sent = a.Send(FrameType::kWantEnd, std::to_string(i));
    }
    if (sent.ok()) sent = a.Flush();
  });
  for (size_t i = 0; i < chunks.size(); ++i) {
    Frame f;
    ASSERT_TRUE(b.Receive(&f).ok());
    EXPECT_EQ(f.type, FrameType::kData);
    EXPECT_TRUE(f.payload == chunks[i]) << "chunk " << i;
    ASSERT_TRUE(b.Receive(&f).ok());
    EXPECT_EQ(f.type, FrameType::kWantEnd);
    EXPECT_EQ(f.payload, std::to_string(i));
  }
  sender.join();
  EXPECT_TRUE(sent.ok()) << sent.message();
}

TEST(Connection, PushHandsASmallFrameToThePeerWithoutFlushing) {
  Pair p = MakePair();
  Connection a(std::move(p.a), 5000);
  Connection b(std::move(p.b), 5000);
  ASSERT_TRUE(a.Send(FrameType::kCopy, std::string(8, 'c')).ok());
  EXPECT_GT(a.pending_output(), 0u);  // small frames wait for a batch
  ASSERT_TRUE(a.Push().ok());
  EXPECT_EQ(a.pending_output(), 0u);
  Frame f;
  ASSERT_TRUE(b.Receive(&f).ok());  // arrives though a never waits on it
  EXPECT_EQ(f.type, FrameType::kCopy);
}

TEST(Connection, TryReceiveDoesNotBlock) {
  Pair p = MakePair();
  Connection b(std::move(p.b), 5000);
  Frame f;
  bool got = true;
  ASSERT_TRUE(b.TryReceive(&f, &got).ok());
  EXPECT_FALSE(got);
}

// Each side queues 8 MiB before reading anything, then reads the other's
// 8 MiB. Without reading while writing, both would stall on full buffers.
constexpr size_t kPiece = kDataChunk;

// Both sides queue `total` bytes of Data frames before reading anything,
// then flush and read the other's. Without reading while writing, both
// would stall on full socket buffers.
void ExpectBothWaysWithoutDeadlock(size_t total) {
  Pair p = MakePair();
  // A generous timeout: a deadlock shows up as kTimeout instead of a hang.
  Connection a(std::move(p.a), 5000);
  Connection b(std::move(p.b), 5000);
  auto run = [total](Connection* c, unsigned seed, Status* result, size_t* received) {
    *received = 0;
    const std::string piece = Pattern(kPiece, seed);
    for (size_t sent = 0; sent < total; sent += kPiece) {
      Status s = c->Send(FrameType::kData, piece);
      if (!s.ok()) {
        *result = s.Prefixed("send");
        return;
      }
    }
    Status s = c->Send(FrameType::kDone, nullptr, 0);
    if (s.ok()) s = c->Flush();
    if (!s.ok()) {
      *result = s.Prefixed("flush");
      return;
    }
    const std::string want = Pattern(kPiece, seed ^ 1);
    for (;;) {
      Frame f;
      s = c->Receive(&f);
      if (!s.ok()) {
        *result = s.Prefixed("receive");
        return;
      }
      if (f.type == FrameType::kDone) break;
      if (f.type != FrameType::kData || f.payload != want) {
        *result = Status::Protocol("unexpected frame");
        return;
      }
      *received += f.payload.size();
    }
    *result = Status::Ok();
  };
  Status sa, sb;
  size_t ra = 0, rb = 0;
  std::thread ta(run, &a, 2u, &sa, &ra);
  std::thread tb(run, &b, 3u, &sb, &rb);
  ta.join();
  tb.join();
  EXPECT_TRUE(sa.ok()) << sa.message();
  EXPECT_TRUE(sb.ok()) << sb.message();
  EXPECT_EQ(ra, total);
  EXPECT_EQ(rb, total);
}

TEST(Connection, BothSidesSending2MiBAtOnceDoNotDeadlock) {
  ExpectBothWaysWithoutDeadlock(2u << 20);
}

// Both sides send 16 MiB at once and neither takes a frame; each result is
// how its sending ended.
void FloodBothWays(Connection* a, Connection* b, Status* sa, Status* sb) {
  const std::string piece(256 * 1024, 'x');
  auto flood = [&piece](Connection* c, Status* result) {
    for (int i = 0; i < 64 && result->ok(); ++i) *result = c->Send(FrameType::kData, piece);
    if (result->ok()) *result = c->Flush();
  };
  std::thread ta(flood, a, sa);
  std::thread tb(flood, b, sb);
  ta.join();
  tb.join();
}

// Past kMaxInput of untaken input while its own output is stuck, a side
// stops reading (bounded memory) and the pair ends in the timeout, never a
// hang: connection.h promises no deadlock only to peers that take frames.
TEST(Connection, PeersThatNeverTakeFramesTimeOutInsteadOfGrowing) {
  Pair p = MakePair();
  Connection a(std::move(p.a), 500);
  Connection b(std::move(p.b), 500);
  Status sa, sb;
  FloodBothWays(&a, &b, &sa, &sb);
  EXPECT_EQ(sa.kind(), ErrorKind::kTimeout) << sa.message();
  EXPECT_EQ(sb.kind(), ErrorKind::kTimeout) << sb.message();
}

TEST(Connection, PeerClosingIsASocketError) {
  Pair p = MakePair();
  Connection a(std::move(p.a), 5000);
  p.b.Close();
  Frame f;
  Status s = a.Receive(&f);
  EXPECT_EQ(s.kind(), ErrorKind::kSocket) << s.message();
}

TEST(Connection, PeerClosingAfterCompleteFramesDeliversThemFirst) {
  Pair p = MakePair();
  Connection a(std::move(p.a), 5000);
  {
    Connection b(std::move(p.b), 5000);
    ASSERT_TRUE(b.Send(FrameType::kSync, std::string("s")).ok());
    ASSERT_TRUE(b.Finish().ok());
  }
  Frame f;
  ASSERT_TRUE(a.Receive(&f).ok());
  EXPECT_EQ(f.type, FrameType::kSync);
  EXPECT_EQ(a.Receive(&f).kind(), ErrorKind::kSocket);
}

// A link dropped mid-frame is the connection's failure (exit 10, and the
// pull keeps its partial file for resuming), not a malformed stream.
TEST(Connection, PeerClosingMidFrameIsASocketError) {
  Pair p = MakePair();
  Connection a(std::move(p.a), 5000);
  std::string wire;
  AppendFrame(&wire, FrameType::kData, std::string(100, 'd'));
  WriteAll(&p.b, wire.substr(0, 50));
  p.b.Close();
  Frame f;
  Status s = a.Receive(&f);
  EXPECT_EQ(s.kind(), ErrorKind::kSocket) << s.message();
}

TEST(Connection, PeerClosingMidHeaderIsASocketError) {
  Pair p = MakePair();
  Connection a(std::move(p.a), 5000);
  WriteAll(&p.b, std::string("\x31\x10", 2));
  p.b.Close();
  Frame f;
  EXPECT_EQ(a.Receive(&f).kind(), ErrorKind::kSocket);
}

TEST(Connection, OversizedFrameFromPeerIsAProtocolError) {
  Pair p = MakePair();
  Connection a(std::move(p.a), 5000);
  WriteAll(&p.b, std::string("\x31\xff\xff\xff\x7f", 5));  // and nothing more
  Frame f;
  EXPECT_EQ(a.Receive(&f).kind(), ErrorKind::kProtocol);
}

TEST(Connection, SilentPeerTimesOut) {
  Pair p = MakePair();
  Connection a(std::move(p.a), 300);
  auto start = std::chrono::steady_clock::now();
  Frame f;
  Status s = a.Receive(&f);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start)
                .count();
  EXPECT_EQ(s.kind(), ErrorKind::kTimeout) << s.message();
  EXPECT_GE(ms, 250);
  EXPECT_LT(ms, 3000);
}

TEST(Connection, PeerThatNeverReadsTimesOutTheWriter) {
  Pair p = MakePair();  // p.b stays open and never reads
  Connection a(std::move(p.a), 300);
  Status s;
  std::string piece(kDataChunk, 'x');
  for (int i = 0; i < 64 && s.ok(); ++i) s = a.Send(FrameType::kData, piece);
  if (s.ok()) s = a.Flush();
  EXPECT_EQ(s.kind(), ErrorKind::kTimeout) << s.message();
}

// Sends Data frames to a peer that never reads until the sender gives up
// (its timeout), noting the most output it ever held queued: at most its
// high water plus the frame that went past it.
Status SendUntilStuck(Connection* c, size_t* most_pending) {
  Status s;
  std::string piece(kDataChunk, 'x');
  *most_pending = 0;
  for (int i = 0; i < 64 && s.ok(); ++i) {
    s = c->Send(FrameType::kData, piece);
    *most_pending = std::max(*most_pending, c->pending_output());
  }
  return s;
}

TEST(Connection, WithASpentBudgetQueuesOnlyItsFloor) {
  Pair p = MakePair();  // p.b never reads
  MemoryBudget budget(0);
  Connection a(std::move(p.a), 300, &budget);
  size_t most = 0;
  EXPECT_EQ(SendUntilStuck(&a, &most).kind(), ErrorKind::kTimeout);
  EXPECT_EQ(a.high_water(), Connection::kBudgetFloor);
  EXPECT_LE(most, Connection::kBudgetFloor + kFrameHeaderSize + kDataChunk);
}

TEST(Connection, TakesTheRestOfItsHighWaterFromTheBudgetAndGivesItBack) {
  Pair p = MakePair();
  MemoryBudget budget(4 << 20);
  {
    Connection a(std::move(p.a), 300, &budget);
    size_t most = 0;
    EXPECT_EQ(SendUntilStuck(&a, &most).kind(), ErrorKind::kTimeout);
    EXPECT_EQ(a.high_water(), Connection::kHighWater);
    EXPECT_EQ(budget.taken(), Connection::kHighWater - Connection::kBudgetFloor);
    EXPECT_LE(most, Connection::kHighWater + kFrameHeaderSize + kDataChunk);
  }
  EXPECT_EQ(budget.taken(), 0u);
}

TEST(Connection, SecondConnectionGetsOnlyItsFloorOnceTheFirstHoldsTheBudget) {
  Pair p1 = MakePair(), p2 = MakePair();
  MemoryBudget budget(Connection::kHighWater);  // room for one connection's rest
  Connection a(std::move(p1.a), 300, &budget);
  Connection b(std::move(p2.a), 300, &budget);
  size_t most = 0;
  EXPECT_EQ(SendUntilStuck(&a, &most).kind(), ErrorKind::kTimeout);
  EXPECT_EQ(SendUntilStuck(&b, &most).kind(), ErrorKind::kTimeout);
  EXPECT_EQ(a.high_water(), Connection::kHighWater);
  EXPECT_EQ(b.high_water(), Connection::kBudgetFloor);
  EXPECT_LE(budget.taken(), budget.total());
}

// A peer that takes its frames gets everything through a budgeted
// connection's small queue, in order.
TEST(Connection, BudgetedConnectionDeliversEverythingToAPeerThatReads) {
  Pair p = MakePair();
  MemoryBudget budget(0);
  Connection a(std::move(p.a), 5000, &budget);
  Connection b(std::move(p.b), 5000);
  std::vector<std::string> pieces;
  for (unsigned i = 0; i < 40; ++i) pieces.push_back(Pattern(kDataChunk - i * 1000, i));
  Status sent;
  std::thread sender([&] {
    for (const std::string& piece : pieces) {
      if (sent.ok()) sent = a.Send(FrameType::kData, piece);
    }
    if (sent.ok()) sent = a.Flush();
  });
  for (const std::string& piece : pieces) {
    Frame f;
    Status s = b.Receive(&f);
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_EQ(f.payload, piece);
  }
  sender.join();
  EXPECT_TRUE(sent.ok()) << sent.message();
}

// With a budget, input beyond one whole frame is left in the socket while
// our own output is stuck: the flood meets the timeout, not our memory.
TEST(Connection, BudgetedConnectionBuffersAtMostAFrameOfFlood) {
  Pair p = MakePair();
  MemoryBudget budget(0);
  Connection a(std::move(p.a), 500, &budget);
  Connection b(std::move(p.b), 500);
  Status sa, sb;
  FloodBothWays(&a, &b, &sa, &sb);
  EXPECT_EQ(sa.kind(), ErrorKind::kTimeout) << sa.message();
  EXPECT_EQ(sb.kind(), ErrorKind::kTimeout) << sb.message();
  EXPECT_LE(a.bytes_received(), Connection::kBudgetMaxInput + Connection::kBudgetReadChunk);
}

}  // namespace
}  // namespace treesync

namespace treesync {
namespace {

// `cat` as the peer: every frame comes back. The connection reads while it
// writes on pipes as on sockets, so 16 MiB echoed never stalls.
TEST(Connection, FramesCrossAChildsPipesBothWays) {
  platform::ChildProcess child;
  platform::PipeStream pipes;
  Status s = platform::Spawn({"cat"}, &child, &pipes);
  ASSERT_TRUE(s.ok()) << s.message();
  Connection conn(PipeByteStream(std::move(pipes)), 10000);
  const std::string piece(256 * 1024, 'p');
  size_t echoed = 0;
  Frame f;
  for (int i = 0; i < 64; ++i) {
    ASSERT_TRUE(conn.Send(FrameType::kData, piece).ok());
    for (bool got = true; got;) {
      ASSERT_TRUE(conn.TryReceive(&f, &got).ok());
      if (got) echoed += f.payload.size();
    }
  }
  ASSERT_TRUE(conn.Finish().ok());
  while (echoed < 64 * piece.size()) {
    ASSERT_TRUE(conn.Receive(&f).ok());
    ASSERT_EQ(f.payload, piece);
    echoed += f.payload.size();
  }
  // cat saw our end of input, so the stream ends and the child exits 0.
  EXPECT_EQ(conn.Receive(&f).kind(), ErrorKind::kSocket);
  bool exited = false;
  int code = -1;
  ASSERT_TRUE(child.Wait(5000, &exited, &code).ok());
  EXPECT_TRUE(exited);
  EXPECT_EQ(code, 0);
}

TEST(Connection, AProgramThatCannotStartFailsAtSpawnNamingIt) {
  platform::ChildProcess child;
  platform::PipeStream pipes;
  Status s = platform::Spawn({"/nonexistent/ssh", "host"}, &child, &pipes);
  EXPECT_EQ(s.kind(), ErrorKind::kSocket);
  EXPECT_NE(s.message().find("/nonexistent/ssh"), std::string::npos) << s.message();
  EXPECT_FALSE(child.valid());
}

TEST(Connection, AChildThatExitsEarlyEndsTheStreamAndGivesItsStatus) {
  platform::ChildProcess child;
  platform::PipeStream pipes;
  ASSERT_TRUE(platform::Spawn({"sh", "-c", "exit 7"}, &child, &pipes).ok());
  Connection conn(PipeByteStream(std::move(pipes)), 10000);
  Frame f;
  EXPECT_EQ(conn.Receive(&f).kind(), ErrorKind::kSocket);
  bool exited = false;
  int code = -1;
  ASSERT_TRUE(child.Wait(5000, &exited, &code).ok());
  EXPECT_TRUE(exited);
  EXPECT_EQ(code, 7);
}

}  // namespace
}  // namespace treesync
