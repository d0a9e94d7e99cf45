// Whole sessions in one process: ServeSession on one end of a socket pair,
// PullSession on the other, for what the end-to-end tests can't choose,
// such as which Hello flags the client asks for.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "client.h"
#include "connection.h"
#include "content_hash.h"
#include "fs_meta.h"
#include "manifest.h"
#include "net.h"
#include "protocol.h"
#include "receiver.h"
#include "report.h"
#include "server.h"
#include "test_util.h"
#include "xxh3.h"

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

// Pulls into `target` over sock, asking with hello_flags.
Status PullOver(platform::Socket sock, const std::string& target, uint32_t hello_flags,
                uint64_t* bytes_on_wire = nullptr) {
  FILE* log = std::tmpfile();
  Status s;
  {
    FILE* out = log != nullptr ? log : stderr;
    Reporter reporter(ReportOptions(), out, out);
    PullStats stats;
    Receiver rx(target, ReceiverOptions(), &reporter, &stats);
    s = rx.Open();
    if (s.ok()) {
      Connection conn(std::move(sock), 10000);
      s = PullSession(&conn, &rx, hello_flags);
      if (bytes_on_wire != nullptr) *bytes_on_wire = conn.bytes_sent() + conn.bytes_received();
    }
  }
  if (log != nullptr) std::fclose(log);
  return s;
}

// Serves tree over sock on a thread of its own, as a server's session
// does; *result gets how the session ended. Join the thread.
std::thread ServeInThread(platform::Socket sock, ServedTree tree, Status* result,
                          int timeout_ms = 10000) {
  return std::thread([sock = std::move(sock), tree, result, timeout_ms]() mutable {
    Connection conn(std::move(sock), timeout_ms);
    SessionSummary summary;
    *result = ServeSession(&conn, tree, &summary);
  });
}

// Pulls `root` into `target` over a socket pair, asking with hello_flags.
// The server uses `cache` if given, as a long-running server does.
SessionResult RunSession(const std::string& root, const std::string& target,
                         uint32_t hello_flags, HashCache* cache = nullptr) {
  SessionResult r;
  platform::Socket a, b;
  Status s = platform::SocketPair(&a, &b);
  EXPECT_TRUE(s.ok()) << s.message();
  std::thread server = ServeInThread(std::move(b), ServedTree{root, false, cache}, &r.serve);
  r.pull = PullOver(std::move(a), target, hello_flags, &r.bytes_on_wire);
  server.join();
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

// Answers request `index` with a one-byte file holding "x".
Status SendX(Connection* conn, uint32_t index) {
  Begin b;
  b.index = index;
  TS_RETURN_IF_ERROR(conn->Send(FrameType::kBegin, EncodeBegin(b)));
  TS_RETURN_IF_ERROR(conn->Send(FrameType::kData, "x"));
  End e;
  e.size = 1;
  e.mode = 0644;
  e.hash = Xxh3_128("x", 1);
  return conn->Send(FrameType::kEnd, EncodeEnd(e));
}

// A server that sends a listing of `files` one-byte files, then answers
// nothing until the client has asked for every one of them: a client that
// waited for each file before asking for the next would stall here, and
// the connection's timeout would end the session.
Status WithholdingServer(platform::Socket sock, uint32_t files) {
  Connection conn(std::move(sock), 5000);
  Frame f;
  TS_RETURN_IF_ERROR(conn.Receive(&f));
  Hello hello;
  TS_RETURN_IF_ERROR(DecodeHello(f, &hello));
  TS_RETURN_IF_ERROR(conn.Send(FrameType::kHello, EncodeHello(Hello())));
  SyncStart sync;
  sync.mode = 0755;
  TS_RETURN_IF_ERROR(conn.Send(FrameType::kSync, EncodeSync(sync)));
  for (uint32_t i = 0; i < files; ++i) {
    Entry e;
    char name[16];
    std::snprintf(name, sizeof name, "f%05u", i);  // in bytewise order
    e.path = name;
    e.mode = 0644;
    e.size = 1;
    TS_RETURN_IF_ERROR(conn.Send(FrameType::kFile, EncodeEntry(e)));
  }
  ListEnd end;
  end.count = files;
  TS_RETURN_IF_ERROR(conn.Send(FrameType::kListEnd, EncodeListEnd(end)));
  std::vector<bool> asked(files, false);
  uint32_t distinct = 0;
  while (distinct < files) {
    TS_RETURN_IF_ERROR(conn.Receive(&f));
    std::vector<Want> wants;
    TS_RETURN_IF_ERROR(DecodeWants(f, &wants));
    for (const Want& w : wants) {
      if (w.index >= files) return Status::Protocol("asked for a file not listed");
      if (!asked[w.index]) ++distinct;
      asked[w.index] = true;
    }
  }
  for (uint32_t i = 0; i < files; ++i) TS_RETURN_IF_ERROR(SendX(&conn, i));
  TS_RETURN_IF_ERROR(conn.Receive(&f));
  if (f.type != FrameType::kWantEnd) return Status::Protocol("expected WantEnd");
  TS_RETURN_IF_ERROR(conn.Send(FrameType::kDone, std::string()));
  return conn.Finish();
}

TEST(Session, ClientAsksForEveryFileBeforeTheFirstArrives) {
  TempFolder dir;
  constexpr uint32_t kFiles = 2000;
  platform::Socket a, b;
  ASSERT_TRUE(platform::SocketPair(&a, &b).ok());
  Status served;
  std::thread server([&served, sock = std::move(b)]() mutable {
    served = WithholdingServer(std::move(sock), kFiles);
  });
  Status pulled = PullOver(std::move(a), dir.Join("copy"), 0);
  server.join();
  ASSERT_TRUE(pulled.ok()) << pulled.message();
  ASSERT_TRUE(served.ok()) << served.message();
  EXPECT_EQ(ReadFile(dir.Join("copy/f00000")), "x");
  EXPECT_EQ(ReadFile(dir.Join("copy/f01999")), "x");
}

// A client by hand: takes the listing, lets `between` change the served
// tree, then asks for the file listed as wanted_path and returns the first
// frame of the answer.
Status AskAfterListing(platform::Socket sock, const std::function<void()>& between,
                       const std::string& wanted_path, Frame* answer) {
  Connection conn(std::move(sock), 5000);
  TS_RETURN_IF_ERROR(conn.Send(FrameType::kHello, EncodeHello(Hello())));
  Frame f;
  TS_RETURN_IF_ERROR(conn.Receive(&f));  // Hello
  uint32_t index = 0, count = 0;
  bool found = false;
  for (;;) {
    TS_RETURN_IF_ERROR(conn.Receive(&f));
    if (f.type == FrameType::kListEnd) break;
    if (f.type != FrameType::kFile && f.type != FrameType::kFolder) continue;
    Entry e;
    TS_RETURN_IF_ERROR(DecodeEntry(f, &e));
    if (e.path == wanted_path) {
      index = count;
      found = true;
    }
    ++count;
  }
  if (!found) return Status::Protocol(wanted_path + " not listed");
  between();
  Want w;
  w.index = index;
  TS_RETURN_IF_ERROR(conn.Send(FrameType::kWant, EncodeWants(&w, 1)));
  return conn.Receive(answer);
}

TEST(Session, ServerNeverFollowsAFolderSwappedForASymlinkAfterItsWalk) {
  TempFolder dir;
  WriteFile(dir.Join("src/sub/file"), "served");
  WriteFile(dir.Join("outside/file"), "secret");
  platform::Socket a, b;
  ASSERT_TRUE(platform::SocketPair(&a, &b).ok());
  Status served;
  std::thread server =
      ServeInThread(std::move(b), ServedTree{dir.Join("src"), false, nullptr}, &served, 5000);
  Frame answer;
  Status asked = AskAfterListing(
      std::move(a),
      [&dir] {
        std::filesystem::rename(dir.Join("src/sub"), dir.Join("moved"));
        std::filesystem::create_directory_symlink(dir.Join("outside"), dir.Join("src/sub"));
      },
      "sub/file", &answer);
  server.join();
  ASSERT_TRUE(asked.ok()) << asked.message();
  EXPECT_EQ(answer.type, FrameType::kFileError) << FrameName(answer);
}

TEST(Session, StreamingSessionMirrorsTheTree) {
  TempFolder dir;
  MakeTree(dir);
  SessionResult r = RunSession(dir.Join("src"), dir.Join("copy"),
                               kHelloPackedListing | kHelloStreaming);
  ASSERT_TRUE(r.pull.ok()) << r.pull.message();
  ASSERT_TRUE(r.serve.ok()) << r.serve.message();
  ExpectMirror(dir, "copy");
}

// A server that lists `files` files in two halves and sends the second
// half only once the client has asked for a file of the first: a client
// that waited for the listing's end before asking would stall here.
Status HalfListingServer(platform::Socket sock, uint32_t files) {
  Connection conn(std::move(sock), 5000);
  Frame f;
  TS_RETURN_IF_ERROR(conn.Receive(&f));
  Hello reply;
  reply.flags = kHelloStreaming | kHelloPackedListing;
  TS_RETURN_IF_ERROR(conn.Send(FrameType::kHello, EncodeHello(reply)));
  TS_RETURN_IF_ERROR(conn.Send(FrameType::kSync, EncodeSync(SyncStart{0755, 0})));
  auto send_half = [&](uint32_t from, uint32_t to) {
    EntryPacker packer;
    for (uint32_t i = from; i < to; ++i) {
      Entry e;
      char name[16];
      std::snprintf(name, sizeof name, "f%05u", i);
      e.path = name;
      e.mode = 0644;
      e.size = 1;
      packer.Add(e);
    }
    return conn.Send(FrameType::kEntries, packer.Take());
  };
  TS_RETURN_IF_ERROR(send_half(0, files / 2));
  std::vector<PathWant> wants;
  while (wants.empty()) {
    TS_RETURN_IF_ERROR(conn.Receive(&f));
    if (f.type == FrameType::kWantPaths) TS_RETURN_IF_ERROR(DecodePathWants(f, &wants));
  }
  TS_RETURN_IF_ERROR(send_half(files / 2, files));
  ListEnd end;
  end.count = files;
  TS_RETURN_IF_ERROR(conn.Send(FrameType::kListEnd, EncodeListEnd(end)));
  size_t answered = 0;
  for (;;) {
    for (; answered < wants.size(); ++answered) {
      TS_RETURN_IF_ERROR(SendX(&conn, wants[answered].tag));
    }
    TS_RETURN_IF_ERROR(conn.Receive(&f));
    if (f.type == FrameType::kWantEnd) break;
    if (f.type == FrameType::kWantPaths) TS_RETURN_IF_ERROR(DecodePathWants(f, &wants));
  }
  TS_RETURN_IF_ERROR(conn.Send(FrameType::kDone, std::string()));
  return conn.Finish();
}

TEST(Session, ClientAsksForFilesWhileTheListingIsStillComing) {
  TempFolder dir;
  platform::Socket a, b;
  ASSERT_TRUE(platform::SocketPair(&a, &b).ok());
  Status served;
  std::thread server([&served, sock = std::move(b)]() mutable {
    served = HalfListingServer(std::move(sock), 200);
  });
  Status pulled = PullOver(std::move(a), dir.Join("copy"), kHelloPackedListing | kHelloStreaming);
  server.join();
  ASSERT_TRUE(pulled.ok()) << pulled.message();
  ASSERT_TRUE(served.ok()) << served.message();
  EXPECT_EQ(ReadFile(dir.Join("copy/f00000")), "x");
  EXPECT_EQ(ReadFile(dir.Join("copy/f00199")), "x");
}

// A hand-written streaming client: Hello, then whatever `speak` does.
Status StreamingClient(platform::Socket sock, const std::function<Status(Connection*)>& speak) {
  Connection conn(std::move(sock), 1000);
  Hello h;
  h.flags = kHelloStreaming | kHelloPackedListing;
  TS_RETURN_IF_ERROR(conn.Send(FrameType::kHello, EncodeHello(h)));
  Frame f;
  TS_RETURN_IF_ERROR(conn.Receive(&f));
  return speak(&conn);
}

Status ServeTo(const std::string& root, const std::function<Status(Connection*)>& speak,
               Status* client, const FilterList& rules = FilterList()) {
  platform::Socket a, b;
  TS_RETURN_IF_ERROR(platform::SocketPair(&a, &b));
  std::thread c([&client, &speak, sock = std::move(a)]() mutable {
    *client = StreamingClient(std::move(sock), speak);
  });
  Connection conn(std::move(b), 5000);
  SessionSummary summary;
  Status s = ServeSession(&conn, ServedTree{root, false, nullptr, nullptr, rules}, &summary);
  conn.Finish();
  c.join();
  return s;
}

TEST(Session, ServerSendsNoMoreListingThanItsCredit) {
  TempFolder dir;
  // Names of 200 bytes: 328 bytes of weight each, so the initial credit
  // covers 6,393 of them and no more.
  Entry probe;
  probe.path = std::string(200, 'n');
  const uint64_t weight = EntryWeight(probe);
  const uint64_t fit = kInitialListCredit / weight;
  for (uint64_t i = 0; i < fit + 100; ++i) {
    char n[16];
    std::snprintf(n, sizeof n, "%06llu", static_cast<unsigned long long>(i));
    WriteFile(dir.Join("src/" + std::string(194, 'n') + n), "");
  }
  uint64_t listed = 0;
  Status client;
  Status served = ServeTo(dir.Join("src"), [&](Connection* conn) -> Status {
    Frame f;
    for (;;) {
      Status s = conn->Receive(&f);
      // The server stops at its credit; our timeout ends the wait.
      if (!s.ok()) return Status::Ok();
      if (f.type == FrameType::kEntries) {
        TS_RETURN_IF_ERROR(DecodeEntries(f.payload.data(), f.payload.size(), [&](Entry&) {
          ++listed;
          return Status::Ok();
        }));
      }
      if (f.type == FrameType::kListEnd) return Status::Protocol("listing ended");
    }
  }, &client);
  EXPECT_TRUE(client.ok()) << client.message();
  EXPECT_EQ(listed, fit);
  EXPECT_FALSE(served.ok());  // the client went quiet and away
}

// How a server of root ends a session whose client asks for path by name
// (WantPaths) and then reads until the server hangs up.
Status ServeWantingPath(const std::string& root, const std::string& path,
                        const FilterList& rules = FilterList()) {
  Status client;
  return ServeTo(root, [&](Connection* conn) {
    std::string payload;
    AppendPathWant(PathWant{0, 0, 1, path}, &payload);
    TS_RETURN_IF_ERROR(conn->Send(FrameType::kWantPaths, payload));
    // Until the server hangs up, so it reads the request first.
    for (Frame f;;) TS_RETURN_IF_ERROR(conn->Receive(&f));
  }, &client, rules);
}

TEST(Session, ServerRefusesARequestForAPathOutsideTheRules) {
  TempFolder dir;
  WriteFile(dir.Join("src/a"), "a");
  WriteFile(dir.Join("secret"), "s");
  for (const std::string& path : {std::string("../secret"), std::string("/etc/passwd"),
                                  std::string(".treesync-0123456789abcdef.tmp"),
                                  std::string("a/../../secret")}) {
    Status served = ServeWantingPath(dir.Join("src"), path);
    EXPECT_EQ(served.kind(), ErrorKind::kProtocol) << path << ": " << served.message();
  }
}

TEST(Session, ServerRefusesARequestForAnEntryItsFiltersExclude) {
  TempFolder dir;
  WriteFile(dir.Join("src/pub/ok"), "o");
  WriteFile(dir.Join("src/pub/.ignore"), "- hidden.txt\n");
  WriteFile(dir.Join("src/pub/hidden.txt"), "h");
  WriteFile(dir.Join("src/secret/key"), "k");
  WriteFile(dir.Join("src/top.key"), "k");
  FilterList rules;
  ASSERT_TRUE(rules.AddPattern(false, "secret/").ok());
  ASSERT_TRUE(rules.AddPattern(false, "*.key").ok());
  ASSERT_TRUE(rules.AddPerFolderFile(".ignore").ok());
  for (const std::string& path : {std::string("secret/key"), std::string("top.key"),
                                  std::string("pub/hidden.txt")}) {
    Status served = ServeWantingPath(dir.Join("src"), path, rules);
    EXPECT_EQ(served.kind(), ErrorKind::kProtocol) << path << ": " << served.message();
    EXPECT_NE(served.message().find("excluded"), std::string::npos) << served.message();
  }
}

TEST(Session, ServerRefusesAWantByIndexForAnEntryItsFiltersExclude) {
  TempFolder dir;
  WriteFile(dir.Join("src/a"), "a");
  WriteFile(dir.Join("src/b.key"), "k");
  WriteFile(dir.Join("src/c"), "c");
  FilterList rules;
  ASSERT_TRUE(rules.AddPattern(false, "*.key").ok());
  platform::Socket a, b;
  ASSERT_TRUE(platform::SocketPair(&a, &b).ok());
  Status served;
  std::thread server = ServeInThread(
      std::move(b), ServedTree{dir.Join("src"), false, nullptr, nullptr, rules}, &served);
  {
    // A client without streaming: one frame per entry, files by index.
    Connection conn(std::move(a), 5000);
    ASSERT_TRUE(conn.Send(FrameType::kHello, EncodeHello(Hello())).ok());
    std::vector<std::string> listed;
    for (;;) {
      Frame f;
      ASSERT_TRUE(conn.Receive(&f).ok());
      if (f.type == FrameType::kListEnd) break;
      if (f.type == FrameType::kFile) {
        Entry e;
        ASSERT_TRUE(DecodeEntry(f, &e).ok());
        listed.push_back(e.path);
      }
    }
    EXPECT_EQ(listed, (std::vector<std::string>{"a", "c"}));
    // The index the excluded file would have had, had it been listed.
    Want w{2, 0};
    ASSERT_TRUE(conn.Send(FrameType::kWant, EncodeWants(&w, 1)).ok());
    // No data comes for it: the server ends the session.
    Frame f;
    Status s;
    while ((s = conn.Receive(&f)).ok()) EXPECT_NE(f.type, FrameType::kBegin);
  }
  server.join();
  EXPECT_EQ(served.kind(), ErrorKind::kProtocol) << served.message();
  EXPECT_NE(served.message().find("entry #2"), std::string::npos) << served.message();
}

TEST(Session, ServerAnswersFileErrorForAFileThatGrewSinceItWasListed) {
  TempFolder dir;
  WriteFile(dir.Join("src/a"), "now longer");
  Status client;
  Frame answer;
  Status served = ServeTo(dir.Join("src"), [&](Connection* conn) -> Status {
    std::string payload;
    AppendPathWant(PathWant{7, 0, 3, "a"}, &payload);  // listed at 3 bytes
    TS_RETURN_IF_ERROR(conn->Send(FrameType::kWantPaths, payload));
    for (;;) {
      TS_RETURN_IF_ERROR(conn->Receive(&answer));
      if (answer.type == FrameType::kFileError || answer.type == FrameType::kBegin) break;
    }
    return conn->Send(FrameType::kWantEnd, std::string());
  }, &client);
  ASSERT_TRUE(client.ok()) << client.message();
  ASSERT_EQ(answer.type, FrameType::kFileError);
  uint32_t tag = 0;
  std::string message;
  ASSERT_TRUE(DecodeFileError(answer, &tag, &message).ok());
  EXPECT_EQ(tag, 7u);
  EXPECT_NE(message.find("grew"), std::string::npos) << message;
}

}  // namespace
}  // namespace treesync

namespace treesync {
namespace {

struct PushResult {
  Status push;
  Status serve;
  PullStats stats;
  std::string report;  // what the client printed
};

// Pushes `dir` into the served `root` (writable or not) over a socket pair.
PushResult Push(const std::string& dir, const std::string& root, bool writable,
                const SessionRequest& request) {
  PushResult r;
  platform::Socket a, b;
  Status s = platform::SocketPair(&a, &b);
  EXPECT_TRUE(s.ok()) << s.message();
  std::thread server =
      ServeInThread(std::move(b), ServedTree{root, writable, nullptr}, &r.serve);
  FILE* out = std::tmpfile();
  {
    ReportOptions ro;
    ro.itemize = true;
    Reporter reporter(ro, out, out);
    Connection conn(std::move(a), 10000);
    r.push = PushSession(&conn, dir, kHelloPackedListing | kHelloStreaming, request, &reporter,
                         &r.stats);
  }
  server.join();
  std::rewind(out);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, out)) > 0) r.report.append(buf, n);
  std::fclose(out);
  return r;
}

TEST(Push, MirrorsTheClientsTreeIntoTheServedFolder) {
  TempFolder dir;
  MakeTree(dir);
  std::filesystem::create_directories(dir.Join("served"));
  WriteFile(dir.Join("served/extraneous"), "x");
  PushResult r = Push(dir.Join("src"), dir.Join("served"), true, SessionRequest());
  ASSERT_TRUE(r.push.ok()) << r.push.message();
  EXPECT_TRUE(r.serve.ok()) << r.serve.message();
  EXPECT_EQ(ListTree(dir.Join("src")), ListTree(dir.Join("served")));
  // The server's receiver counted and reported it all, and the client has it.
  EXPECT_EQ(r.stats.files_transferred, 5u);
  EXPECT_EQ(r.stats.files_deleted, 1u);
  EXPECT_NE(r.report.find("+f a/b/two.txt\n"), std::string::npos) << r.report;
  EXPECT_NE(r.report.find("-f extraneous\n"), std::string::npos) << r.report;
}

TEST(Push, TakesTheClientsOptionsAndSubFolder) {
  TempFolder dir;
  MakeTree(dir);
  std::filesystem::create_directories(dir.Join("served/sub"));
  WriteFile(dir.Join("served/sub/mine"), "kept");
  SessionRequest request;
  request.path = "sub";
  request.options = kSessionKeepExtraneous;
  PushResult r = Push(dir.Join("src"), dir.Join("served"), true, request);
  ASSERT_TRUE(r.push.ok()) << r.push.message();
  EXPECT_EQ(ReadFile(dir.Join("served/sub/mine")), "kept");
  EXPECT_EQ(ReadFile(dir.Join("served/sub/top")), "CMB_END");

  request.options = kSessionDryRun;
  request.path = "dry/run";
  r = Push(dir.Join("src"), dir.Join("served"), true, request);
  ASSERT_TRUE(r.push.ok()) << r.push.message();
  EXPECT_FALSE(std::filesystem::exists(dir.Join("served/dry")));
  EXPECT_NE(r.report.find("+f top\n"), std::string::npos) << r.report;
}

TEST(Push, AReadOnlyServerRefusesBeforeAnyData) {
  TempFolder dir;
  MakeTree(dir);
  std::filesystem::create_directories(dir.Join("served"));
  PushResult r = Push(dir.Join("src"), dir.Join("served"), false, SessionRequest());
  EXPECT_EQ(r.push.kind(), ErrorKind::kRefused) << r.push.message();
  EXPECT_TRUE(ListTree(dir.Join("served")).empty());
}

TEST(Push, NeverReachesOutsideThroughASymlinkedSubFolder) {
  TempFolder dir;
  MakeTree(dir);
  std::filesystem::create_directories(dir.Join("served"));
  std::filesystem::create_directories(dir.Join("outside"));
  std::filesystem::create_directory_symlink(dir.Join("outside"), dir.Join("served/link"));
  for (const char* path : {"link", "link/deeper"}) {
    SessionRequest request;
    request.path = path;
    PushResult r = Push(dir.Join("src"), dir.Join("served"), true, request);
    EXPECT_EQ(r.push.kind(), ErrorKind::kBadFolder) << path << ": " << r.push.message();
  }
  EXPECT_TRUE(ListTree(dir.Join("outside")).empty());
}

TEST(Push, ASecondWriterIsRefusedWhileTheFolderIsHeld) {
  TempFolder dir;
  MakeTree(dir);
  std::filesystem::create_directories(dir.Join("served"));
  platform::FolderLock held;
  ASSERT_TRUE(platform::FolderLock::TryLock(dir.Join("served"), kLockName, &held).ok());
  PushResult r = Push(dir.Join("src"), dir.Join("served"), true, SessionRequest());
  EXPECT_EQ(r.push.kind(), ErrorKind::kRefused) << r.push.message();
  held.Release();
  r = Push(dir.Join("src"), dir.Join("served"), true, SessionRequest());
  EXPECT_TRUE(r.push.ok()) << r.push.message();
  EXPECT_FALSE(std::filesystem::exists(dir.Join("served/.treesync-lock")));
}

TEST(Push, APullOfASubFolderServesOnlyIt) {
  TempFolder dir;
  MakeTree(dir);
  platform::Socket a, b;
  ASSERT_TRUE(platform::SocketPair(&a, &b).ok());
  Status served;
  std::thread server =
      ServeInThread(std::move(b), ServedTree{dir.Join("src"), false, nullptr}, &served);
  Reporter reporter(ReportOptions(), stderr, stderr);
  PullStats stats;
  Status s;
  {
    Receiver rx(dir.Join("copy"), ReceiverOptions(), &reporter, &stats);
    ASSERT_TRUE(rx.Open().ok());
    Connection conn(std::move(a), 10000);
    SessionRequest request;
    request.path = "a/b";
    s = PullSession(&conn, &rx, kHelloPackedListing | kHelloStreaming, request);
  }
  server.join();
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(ListTree(dir.Join("copy")), ListTree(dir.Join("src/a/b")));
}

}  // namespace
}  // namespace treesync
