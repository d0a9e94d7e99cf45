// Whole sessions in one process: ServeSession on one end of a socket pair,
// PullSession on the other, for what the end-to-end tests can't choose,
// such as which Hello flags the client asks for.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "client.h"
#include "connection.h"
#include "content_hash.h"
#include "fs_meta.h"
#include "net.h"
#include "protocol.h"
#include "receiver.h"
#include "report.h"
#include "server.h"
#include "test_util.h"

namespace treesync {
namespace {

using test::ListTree;
using test::ReadFile;
using test::TempFolder;
using test::WriteFile;

struct SessionResult {
  Status pull;
  Status serve;
  uint64_t bytes_on_wire = 0;
};

// Pulls `root` into `target` over a socket pair, asking with hello_flags.
// The server uses `cache` if given, as a long-running server does.
SessionResult RunSession(const std::string& root, const std::string& target,
                         uint32_t hello_flags, HashCache* cache = nullptr) {
  SessionResult r;
  platform::Socket a, b;
  Status s = platform::SocketPair(&a, &b);
  EXPECT_TRUE(s.ok()) << s.message();
  std::thread server([&r, &root, cache, sock = std::move(b)]() mutable {
    Connection conn(std::move(sock), 10000);
    SessionSummary summary;
    r.serve = ServeSession(&conn, root, cache, &summary);
  });
  FILE* log = std::tmpfile();
  {
    Reporter reporter(ReportOptions(), log != nullptr ? log : stderr, log != nullptr ? log : stderr);
    PullStats stats;
    Receiver rx(target, ReceiverOptions(), &reporter, &stats);
    r.pull = rx.Open();
    if (r.pull.ok()) {
      Connection conn(std::move(a), 10000);
      r.pull = PullSession(&conn, &rx, hello_flags);
      r.bytes_on_wire = conn.bytes_sent() + conn.bytes_received();
    }
  }
  a.Close();
  server.join();
  if (log != nullptr) std::fclose(log);
  return r;
}

// Large enough for the server to cache its hash (smaller files are just
// hashed again).
constexpr size_t kBigFileBytes = 1 << 20;

void MakeTree(const TempFolder& dir) {
  WriteFile(dir.Join("src/a/one.txt"), "one");
  WriteFile(dir.Join("src/a/b/two.txt"), std::string(5000, 'x'));
  WriteFile(dir.Join("src/big"), std::string(kBigFileBytes, 'b'));
  WriteFile(dir.Join("src/a/empty"), "");
  WriteFile(dir.Join("src/top"), "CMB_END");
  std::filesystem::create_directories(dir.Join("src/empty-folder"));
}

void ExpectMirror(const TempFolder& dir, const std::string& copy) {
  EXPECT_EQ(ListTree(dir.Join("src")), ListTree(dir.Join(copy)));
  EXPECT_EQ(ReadFile(dir.Join(copy + "/a/b/two.txt")), std::string(5000, 'x'));
  EXPECT_EQ(ReadFile(dir.Join(copy + "/top")), "CMB_END");
  EXPECT_EQ(ReadFile(dir.Join(copy + "/big")), std::string(kBigFileBytes, 'b'));
}

TEST(Session, ClientWithoutPackedListingGetsOneFramePerEntry) {
  TempFolder dir;
  MakeTree(dir);
  SessionResult r = RunSession(dir.Join("src"), dir.Join("copy"), 0);
  ASSERT_TRUE(r.pull.ok()) << r.pull.message();
  EXPECT_TRUE(r.serve.ok()) << r.serve.message();
  ExpectMirror(dir, "copy");
}

TEST(Session, PackedListingMirrorsTheSameTreeInFewerBytes) {
  TempFolder dir;
  MakeTree(dir);
  for (int i = 0; i < 200; ++i) WriteFile(dir.Join("src/many/file-" + std::to_string(i)), "");
  ASSERT_TRUE(RunSession(dir.Join("src"), dir.Join("plain"), 0).pull.ok());
  ASSERT_TRUE(RunSession(dir.Join("src"), dir.Join("packed"), kHelloPackedListing).pull.ok());
  ExpectMirror(dir, "plain");
  ExpectMirror(dir, "packed");
  // A no-op re-pull is all listing: there the packing shows.
  SessionResult plain = RunSession(dir.Join("src"), dir.Join("plain"), 0);
  SessionResult packed = RunSession(dir.Join("src"), dir.Join("packed"), kHelloPackedListing);
  ASSERT_TRUE(plain.pull.ok()) << plain.pull.message();
  ASSERT_TRUE(packed.pull.ok()) << packed.pull.message();
  EXPECT_LT(packed.bytes_on_wire * 2, plain.bytes_on_wire);
}

TEST(Session, ServerSendsTheHashItAlreadyHoldsInsteadOfHashingAgain) {
  TempFolder dir;
  MakeTree(dir);
  // A wrong hash cached for the file's exact identity and stamps: the server
  // sends it as is, so the client refuses the data; nothing else suffers.
  platform::FileInfo info;
  ASSERT_TRUE(platform::Lstat(dir.Join("src/big"), &info).ok());
  HashCache cache;
  cache.Store(info, Xxh3_128("not these bytes", 15), WallClockNs() + HashCache::kSettleNs);
  SessionResult r = RunSession(dir.Join("src"), dir.Join("copy"), kHelloPackedListing, &cache);
  EXPECT_EQ(r.pull.kind(), ErrorKind::kPartial) << r.pull.message();
  EXPECT_FALSE(std::filesystem::exists(dir.Join("copy/big")));
  EXPECT_EQ(ReadFile(dir.Join("copy/top")), "CMB_END");
}

TEST(Session, ServerCachesTheHashOfASettledFileItSent) {
  TempFolder dir;
  MakeTree(dir);
  // Only files unchanged for a while are cached (see HashCache::kSettleNs).
  std::this_thread::sleep_for(std::chrono::nanoseconds(HashCache::kSettleNs + 100000000));
  HashCache cache;
  SessionResult r = RunSession(dir.Join("src"), dir.Join("copy"), kHelloPackedListing, &cache);
  ASSERT_TRUE(r.pull.ok()) << r.pull.message();
  platform::FileInfo info;
  ASSERT_TRUE(platform::Lstat(dir.Join("src/big"), &info).ok());
  Hash128 cached;
  ASSERT_TRUE(cache.Lookup(info, &cached));
  EXPECT_EQ(cached, Xxh3_128(std::string(kBigFileBytes, 'b').data(), kBigFileBytes));
  // A small file is hashed again each time rather than cached.
  ASSERT_TRUE(platform::Lstat(dir.Join("src/a/b/two.txt"), &info).ok());
  EXPECT_FALSE(cache.Lookup(info, &cached));
  ExpectMirror(dir, "copy");
}

}  // namespace
}  // namespace treesync
