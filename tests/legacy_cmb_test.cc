#include "legacy_cmb.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "legacy_recording_handler.h"
#include "path.h"
#include "random.h"

namespace fs = std::filesystem;

namespace treesync {
namespace {

// ---------------------------------------------------------------------------
// The old client, exactly as the protocol's description has it, written
// independently of the code under test.

struct OldClientView {
  std::map<std::string, std::string> files;  // created only by data
  std::set<std::string> folders;
  int orphan_data = 0;  // data commands with no file open
};

OldClientView OldClientRead(const std::string& stream) {
  OldClientView v;
  std::string buf = stream;
  std::string current;
  bool open = false;
  for (;;) {
    size_t e = buf.find("CMB_END");
    if (e == std::string::npos) break;
    size_t b = buf.find("CMB_BEGIN");
    std::string cmd;
    if (b == std::string::npos) {
      cmd = buf.substr(0, e);
    } else if (b + 9 <= e) {
      cmd = buf.substr(b + 9, e - b - 9);
    }  // else: Python's buf[b+9:e] with b+9 > e is empty
    buf.erase(0, e + 7);
    if (cmd.compare(0, 3, "End") == 0) {
      open = false;
    } else if (cmd.rfind("File:", 0) == 0) {
      current = cmd.substr(5);
      open = true;
    } else if (cmd.rfind("Folder:", 0) == 0) {
      v.folders.insert(cmd.substr(7));
    } else if (cmd == "Sync") {
      v.files.clear();
      v.folders.clear();
    } else if (!open) {
      ++v.orphan_data;
    } else {
      v.files[current] += cmd;
    }
  }
  return v;
}

// The rule, restated: what the old client takes for data, byte for byte.
bool OldClientTakesAsData(const std::string& c) {
  return !c.empty() && c.size() <= 4096 && c.find("CMB_END") == std::string::npos &&
         c.compare(0, 3, "End") != 0 && c.rfind("File:", 0) != 0 && c.rfind("Folder:", 0) != 0 &&
         c != "Sync";
}

// Splits data, checks every command against the rule, and has the old
// client read the file back.
void ExpectSurvivesOldClient(const std::string& data) {
  std::vector<std::string> chunks = LegacySplitData(data);
  std::string joined;
  std::string stream = LegacyFrame("Sync") + LegacyFrame("File:f");
  for (const std::string& c : chunks) {
    ASSERT_TRUE(OldClientTakesAsData(c)) << "unsafe command '" << c << "' for '" << data << "'";
    ASSERT_TRUE(IsSafeLegacyData(c.data(), c.size()));
    joined += c;
    stream += LegacyFrame(c);
  }
  stream += LegacyFrame("End");
  ASSERT_EQ(joined, data);
  OldClientView v = OldClientRead(stream);
  EXPECT_EQ(v.orphan_data, 0);
  if (data.empty()) {
    EXPECT_EQ(v.files.count("f"), 0u);
  } else {
    ASSERT_EQ(v.files.count("f"), 1u) << data;
    EXPECT_EQ(v.files["f"], data);
  }
}

const std::vector<std::string> kTokens = {"CMB_END", "CMB_EN", "D",    "CMB_BEGIN", "End", "En",
                                          "File:",   "Folder:", "Sync", "S",         "x",   "\n"};

TEST(LegacySplit, EveryShortTokenSequenceSurvivesTheOldClient) {
  std::vector<std::string> level = {""};
  for (int len = 0; len <= 4; ++len) {
    std::vector<std::string> next;
    for (const std::string& d : level) {
      ExpectSurvivesOldClient(d);
      if (::testing::Test::HasFatalFailure()) return;
      if (len < 4) {
        for (const std::string& t : kTokens) next.push_back(d + t);
      }
    }
    level.swap(next);
  }
}

TEST(LegacySplit, MarkersAndWordsAtEveryOffsetAroundTheChunkSize) {
  for (size_t off = 4080; off <= 4100; ++off) {
    for (const std::string& t : kTokens) {
      ExpectSurvivesOldClient(std::string(off, 'a') + t + std::string(40, 'b') + t);
      ExpectSurvivesOldClient(std::string(off, 'a') + t);
      ExpectSurvivesOldClient(t + std::string(off, 'a') + t + t);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TEST(LegacySplit, RandomAdversarialData) {
  std::mt19937 rng(12345);
  for (int iter = 0; iter < 300; ++iter) {
    std::string d;
    size_t len = rng() % 20000;
    while (d.size() < len) {
      if (rng() % 3 == 0) {
        d += kTokens[rng() % kTokens.size()];
      } else {
        d += static_cast<char>(rng() % 256);
      }
    }
    ExpectSurvivesOldClient(d);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(LegacySplit, DataMadeOfMarkersOnly) {
  std::string d;
  for (int i = 0; i < 1000; ++i) d += "CMB_END";
  ExpectSurvivesOldClient(d);
  d.clear();
  for (int i = 0; i < 1000; ++i) d += "CMB_ENDCMB_BEGINEnd";
  ExpectSurvivesOldClient(d);
}

TEST(LegacySplit, PlainDataUsesFullChunks) {
  std::vector<std::string> chunks = LegacySplitData(std::string(10000, 'a'));
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].size(), 4096u);
  EXPECT_EQ(chunks[1].size(), 4096u);
  EXPECT_EQ(chunks[2].size(), 1808u);
}

TEST(LegacySplit, CutsInsideTheMarkerAndBeforeCommandWords) {
  std::vector<std::string> want = {"beforeCMB_EN", "D after"};
  EXPECT_EQ(LegacySplitData("beforeCMB_END after"), want);
  want = {"E", "nd"};
  EXPECT_EQ(LegacySplitData("End"), want);
  want = {"S", "ync"};
  EXPECT_EQ(LegacySplitData("Sync"), want);
  want = {"Syn"};
  EXPECT_EQ(LegacySplitData("Syn"), want);
  want = {"F", "older:x"};
  EXPECT_EQ(LegacySplitData("Folder:x"), want);
}

TEST(LegacySplit, EachReadSplitOnItsOwnStaysSafe) {
  // The server splits each read of a file separately: the rule is per data
  // command, so any read size works.
  std::string data;
  for (int i = 0; i < 300; ++i) data += kTokens[(i * 7) % kTokens.size()];
  for (size_t piece : {1, 2, 3, 5, 7, 4096, 4097}) {
    std::string stream = LegacyFrame("File:f");
    for (size_t p = 0; p < data.size(); p += piece) {
      for (const std::string& c : LegacySplitData(data.substr(p, piece))) {
        ASSERT_TRUE(OldClientTakesAsData(c));
        stream += LegacyFrame(c);
      }
    }
    stream += LegacyFrame("End");
    EXPECT_EQ(OldClientRead(stream).files["f"], data) << "piece " << piece;
  }
}

TEST(LegacySplit, IsSafeLegacyDataFollowsTheRule) {
  auto safe = [](const std::string& s) { return IsSafeLegacyData(s.data(), s.size()); };
  EXPECT_TRUE(safe("En"));
  EXPECT_TRUE(safe("Sync!"));
  EXPECT_TRUE(safe("CMB_EN"));
  EXPECT_TRUE(safe("xCMB_BEGIN"));
  EXPECT_FALSE(safe(""));
  EXPECT_FALSE(safe("Sync"));
  EXPECT_FALSE(safe("Ending"));
  EXPECT_FALSE(safe("File:"));
  EXPECT_FALSE(safe("Folder:a"));
  EXPECT_FALSE(safe("aCMB_ENDb"));
  EXPECT_FALSE(safe(std::string(4097, 'a')));
  EXPECT_TRUE(safe(std::string(4096, 'a')));
}

// ---------------------------------------------------------------------------
// LegacyCommandReader

std::vector<std::string> ReadAllCommands(const std::string& stream, size_t piece, bool* truncated,
                                         Status* status) {
  LegacyCommandReader r;
  std::vector<std::string> out;
  std::string c;
  *status = Status::Ok();
  for (size_t p = 0; p < stream.size(); p += piece) {
    std::string part = stream.substr(p, piece);
    r.Feed(part.data(), part.size());
    for (;;) {
      bool got = false;
      *status = r.Next(&c, &got);
      if (!status->ok()) return out;
      if (!got) break;
      out.push_back(c);
    }
  }
  bool got = false;
  r.Finish(&c, &got, truncated);
  if (got) out.push_back(c);
  return out;
}

std::vector<std::string> ReadAllCommands(const std::string& stream, size_t piece = 1 << 20) {
  bool truncated = false;
  Status s;
  std::vector<std::string> out = ReadAllCommands(stream, piece, &truncated, &s);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_FALSE(truncated);
  return out;
}

TEST(LegacyCommandReader, SkipsTheGreetingAndReadsCommands) {
  std::string stream = "Welcome, CMB_END is fine here\r\n" + LegacyFrame("Sync") +
                       LegacyFrame("File:a") + LegacyFrame("data") + LegacyFrame("End");
  std::vector<std::string> want = {"Sync", "File:a", "data", "End"};
  EXPECT_EQ(ReadAllCommands(stream), want);
}

TEST(LegacyCommandReader, ByteByByteEqualsWhole) {
  std::mt19937 rng(7);
  std::string stream = "greeting CMB_BEG\n";
  for (int i = 0; i < 400; ++i) {
    std::string c;
    size_t n = rng() % 40;
    for (size_t k = 0; k < n; ++k) {
      c += rng() % 4 == 0 ? kTokens[rng() % kTokens.size()] : std::string(1, 'a' + rng() % 26);
    }
    // A command that holds "CMB_ENDCMB_BEGIN" can't be told from two.
    if (c.find("CMB_ENDCMB_BEGIN") != std::string::npos) continue;
    if (c.size() >= 7 && c.compare(c.size() - 7, 7, "CMB_END") == 0) continue;
    stream += LegacyFrame(c);
  }
  std::vector<std::string> whole = ReadAllCommands(stream);
  EXPECT_GT(whole.size(), 300u);
  for (size_t piece : {1, 2, 3, 9, 16, 4096}) EXPECT_EQ(ReadAllCommands(stream, piece), whole);
}

TEST(LegacyCommandReader, KeepsAMarkerInsideNaiveData) {
  // What an old server sends for a file holding "aaCMB_ENDbb": the old
  // client loses "bb"; we don't.
  std::string stream = LegacyFrame("File:f") + LegacyFrame("aaCMB_ENDbb") + LegacyFrame("End");
  std::vector<std::string> want = {"File:f", "aaCMB_ENDbb", "End"};
  EXPECT_EQ(ReadAllCommands(stream, 1), want);
  EXPECT_EQ(ReadAllCommands(stream), want);
  EXPECT_NE(OldClientRead(stream).files["f"], "aaCMB_ENDbb");
  // Data ending in the marker, and a name holding it.
  stream = LegacyFrame("File:x/CMB_END") + LegacyFrame("tailCMB_END") + LegacyFrame("End");
  want = {"File:x/CMB_END", "tailCMB_END", "End"};
  EXPECT_EQ(ReadAllCommands(stream, 1), want);
}

TEST(LegacyCommandReader, RefusesAnEndlessCommand) {
  LegacyCommandReader r;
  std::string c;
  bool got = false;
  r.Feed(kCmbBegin, kCmbBeginSize);
  Status s;
  std::string block(1000, 'x');
  for (int i = 0; i < 100 && s.ok(); ++i) {
    r.Feed(block.data(), block.size());
    s = r.Next(&c, &got);
    EXPECT_FALSE(got);
  }
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol);
  // Just under the limit is fine.
  std::string big(kMaxLegacyCommandBytes, 'y');
  std::vector<std::string> want = {big, "End"};
  EXPECT_EQ(ReadAllCommands(LegacyFrame(big) + LegacyFrame("End"), 777), want);
}

TEST(LegacyCommandReader, RefusesAnEndlessGreeting) {
  bool truncated = false;
  Status s;
  ReadAllCommands(std::string(kMaxLegacyGreetingBytes + 100, 'g'), 100, &truncated, &s);
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol);
}

TEST(LegacyCommandReader, FinishTellsACutStream) {
  bool truncated = false;
  Status s;
  std::vector<std::string> got =
      ReadAllCommands(LegacyFrame("File:a") + "CMB_BEGINpart", 1, &truncated, &s);
  EXPECT_TRUE(s.ok());
  EXPECT_TRUE(truncated);
  EXPECT_EQ(got, std::vector<std::string>{"File:a"});
  got = ReadAllCommands(LegacyFrame("File:a") + LegacyFrame("End") + "CMB_BEG", 1, &truncated, &s);
  EXPECT_TRUE(truncated);
  got = ReadAllCommands(LegacyFrame("Sync"), 1, &truncated, &s);
  EXPECT_FALSE(truncated);
  EXPECT_EQ(got, std::vector<std::string>{"Sync"});
  // Cut inside a data command that holds CMB_END: that CMB_END is data, so
  // no command is taken from the cut piece.
  got = ReadAllCommands(LegacyFrame("File:a") + "CMB_BEGINxxCMB_ENDyy", 1, &truncated, &s);
  EXPECT_TRUE(truncated);
  EXPECT_EQ(got, std::vector<std::string>{"File:a"});
}

// ---------------------------------------------------------------------------
// LegacyParser

using test::RecordingHandler;

struct ParseResult {
  Status status;
  bool complete = false;
  std::vector<std::string> events;
};

ParseResult Parse(const std::string& stream, size_t piece = 1 << 20) {
  RecordingHandler h;
  LegacyParser p(&h);
  ParseResult r;
  for (size_t i = 0; i < stream.size() && r.status.ok(); i += piece) {
    std::string part = stream.substr(i, piece);
    r.status = p.Feed(part.data(), part.size());
  }
  if (r.status.ok()) r.status = p.Finish(&r.complete);
  r.events = h.events;
  return r;
}

std::string Frames(const std::vector<std::string>& commands) {
  std::string s;
  for (const std::string& c : commands) s += LegacyFrame(c);
  return s;
}

TEST(LegacyParser, PieceSizesNeverChangeTheOutcome) {
  // Random streams of commands an old server or an attacker could send,
  // cut at random: the events, the verdict and completeness must not
  // depend on how the bytes arrive.
  const std::vector<std::string> words = {"Sync", "End", "File:a", "File:d/b", "Folder:d",
                                          "Folder:../x", "data", "CMB_END", "CMB_BEGIN", "En",
                                          "Endx", ""};
  std::mt19937 rng(2024);
  for (int iter = 0; iter < 400; ++iter) {
    std::string stream = rng() % 2 ? "greeting\r\n" : "";
    size_t n = rng() % 12;
    for (size_t i = 0; i < n; ++i) {
      std::string c = words[rng() % words.size()];
      if (rng() % 4 == 0) c += words[rng() % words.size()];
      stream += LegacyFrame(c);
    }
    if (rng() % 4 == 0) stream.resize(rng() % (stream.size() + 1));  // cut
    ParseResult whole = Parse(stream);
    for (size_t piece : {size_t{1}, size_t{2}, size_t{1} + rng() % 20}) {
      ParseResult r = Parse(stream, piece);
      ASSERT_EQ(r.status.kind(), whole.status.kind()) << Printable(stream);
      ASSERT_EQ(r.events, whole.events) << Printable(stream);
      ASSERT_EQ(r.complete, whole.complete) << Printable(stream);
    }
  }
}

TEST(LegacyParser, AFileWhoseLastPieceIsEndKeepsIt) {
  // A naive server sends the file "End" as the data command "End".
  std::string stream = Frames({"Sync", "File:just-End", "End", "End", "File:b", "xEnd", "End",
                               "Folder:d", "File:c", "End", "End", "End", "End"});
  std::vector<std::string> want = {"sync", "begin:just-End", "data:End", "end",   "begin:b",
                                   "data:xEnd", "end", "folder:d", "begin:c", "data:EndEndEnd",
                                   "end"};
  for (size_t piece : {1, 5, 1 << 20}) {
    ParseResult r = Parse(stream, piece);
    ASSERT_TRUE(r.status.ok()) << r.status.message();
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(r.events, want);
  }
}

TEST(LegacyParser, CommandWordsInsideAFileAreData) {
  ParseResult r = Parse(Frames({"File:f", "File:g", "Folder:h", "Sync", "Ending", "End"}));
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  std::vector<std::string> want = {"begin:f", "data:File:gFolder:hSyncEnding", "end"};
  EXPECT_EQ(r.events, want);
}

TEST(LegacyParser, FileThenEndIsAnEmptyFile) {
  ParseResult r = Parse(Frames({"Sync", "File:empty", "End"}));
  ASSERT_TRUE(r.status.ok());
  std::vector<std::string> want = {"sync", "begin:empty", "end"};
  EXPECT_EQ(r.events, want);
  EXPECT_TRUE(r.complete);
}

TEST(LegacyParser, RefusesHostileNames) {
  const std::vector<std::string> bad = {"../evil",
                                        "/abs",
                                        "a/../../x",
                                        "a/./b",
                                        ".",
                                        "",
                                        "a//b",
                                        "a/",
                                        std::string("a\0b", 3),
                                        "x/.treesync-0123456789abcdef.tmp",
                                        std::string(kMaxPathBytes + 1, 'a')};
  for (const std::string& name : bad) {
    for (const char* kind : {"Folder:", "File:"}) {
      ParseResult r = Parse(Frames({"Sync", kind + name, "data", "End"}));
      EXPECT_EQ(r.status.kind(), ErrorKind::kProtocol) << kind << Printable(name);
      for (const std::string& e : r.events) EXPECT_EQ(e, "sync");  // nothing got through
    }
  }
}

TEST(LegacyParser, RefusesDataOrEndOutsideAFile) {
  EXPECT_EQ(Parse(Frames({"Sync", "stray"})).status.kind(), ErrorKind::kProtocol);
  EXPECT_EQ(Parse(Frames({"Sync", "End"})).status.kind(), ErrorKind::kProtocol);
  EXPECT_EQ(Parse(Frames({"Folder:a", "Endless"})).status.kind(), ErrorKind::kProtocol);
}

TEST(LegacyParser, AStreamCutInsideAFileIsIncomplete) {
  ParseResult r = Parse(Frames({"Sync", "File:a", "data"}));
  ASSERT_TRUE(r.status.ok());
  EXPECT_FALSE(r.complete);
  r = Parse(Frames({"Sync", "File:a", "data", "End"}) + "CMB_BEGINFile:b");
  ASSERT_TRUE(r.status.ok());
  EXPECT_FALSE(r.complete);
  std::vector<std::string> want = {"sync", "begin:a", "data:data", "end"};
  EXPECT_EQ(r.events, want);
}

TEST(LegacyParser, HasCompleteEntryCountsTheLastCommandStillPending) {
  RecordingHandler h;
  LegacyParser p(&h);
  auto feed = [&](const std::string& s) { ASSERT_TRUE(p.Feed(s.data(), s.size()).ok()); };
  feed(Frames({"Sync"}));
  EXPECT_FALSE(p.HasCompleteEntry());
  feed(Frames({"File:a", "data"}));
  EXPECT_FALSE(p.HasCompleteEntry());
  feed(LegacyFrame("End"));  // its end is not certain until more comes
  EXPECT_TRUE(p.HasCompleteEntry());
  RecordingHandler h2;
  LegacyParser p2(&h2);
  std::string s = Frames({"Sync", "Folder:x"});
  ASSERT_TRUE(p2.Feed(s.data(), s.size()).ok());
  EXPECT_TRUE(p2.HasCompleteEntry());
}

// ---------------------------------------------------------------------------
// Sessions over a socket pair

class TempDir {
 public:
  TempDir() {
    char name[64];
    std::snprintf(name, sizeof name, "treesync-legacy-test-%016llx",
                  static_cast<unsigned long long>(platform::Random64()));
    path_ = (fs::temp_directory_path() / name).string();
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& rel) const { return JoinPath(path_, rel); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(platform::Socket* s, const std::string& data) {
  size_t pos = 0;
  while (pos < data.size()) {
    platform::Readiness r;
    ASSERT_TRUE(platform::Poll(*s, false, true, 5000, &r).ok());
    size_t wrote = 0;
    Status st = s->Write(data.data() + pos, data.size() - pos, &wrote);
    if (!st.ok()) return;  // the peer gave up: the test checks why
    pos += wrote;
  }
}

std::string ReadUntilClosed(platform::Socket* s) {
  std::string out;
  char buf[65536];
  for (;;) {
    platform::Readiness r;
    if (!platform::Poll(*s, true, false, 10000, &r).ok() || !r.readable) return out;
    size_t got = 0;
    bool eof = false;
    if (!s->Read(buf, sizeof buf, &got, &eof).ok() || eof) return out;
    out.append(buf, got);
  }
}

// A tree whose files hold every marker and command word, where the old
// protocol is weakest.
std::map<std::string, std::string> AdversarialFiles() {
  std::map<std::string, std::string> f;
  f["just-End"] = "End";
  f["just-Sync"] = "Sync";
  f["marker-end.txt"] = "before CMB_END after";
  f["end-then-begin"] = "CMB_ENDCMB_BEGINSyncCMB_END";
  f["whole-command"] = "CMB_BEGINFile:../x" "CMB_END";
  f["starts-with-File"] = "File:notreal";
  f["starts-with-Folder"] = "Folder:notreal";
  f["dir/at-boundary"] = std::string(4093, 'a') + "CMB_ENDEnd" + std::string(4096, 'b') + "End";
  f["dir/sub/only-markers"] = "";
  for (int i = 0; i < 2000; ++i) f["dir/sub/only-markers"] += "CMB_END";
  f["dir/sub/CMB_BEGIN in name"] = "x";
  f["empty"] = "";
  std::mt19937 rng(99);
  std::string random(300000, '\0');
  for (char& c : random) c = static_cast<char>(rng());
  random.replace(100000, 16, "CMB_ENDCMB_BEGIN");
  f["random.bin"] = random;
  return f;
}

struct ServeResult {
  Status status;
  std::string log;
};

// Serves root over one end of a socket pair, in a thread.
std::thread ServeInThread(platform::Socket* sock, const std::string& root, ServeResult* out) {
  return std::thread([sock, root, out] {
    FILE* log = std::tmpfile();
    LegacyServeSummary summary;
    out->status = LegacyServeSession(sock, root, 10000, log, &summary);
    std::rewind(log);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, log)) > 0) out->log.append(buf, n);
    std::fclose(log);
    sock->Close();
  });
}

TEST(LegacySession, AnOldClientGetsEveryFileIntact) {
  TempDir src;
  std::map<std::string, std::string> files = AdversarialFiles();
  for (const auto& f : files) WriteFile(src / f.first, f.second);
  WriteFile(src / "skipped/CMB_END/inner", "never sent");
  fs::create_directories(src / "empty-folder");

  platform::Socket a, b;
  ASSERT_TRUE(platform::SocketPair(&a, &b).ok());
  ServeResult served;
  std::thread server = ServeInThread(&a, src.path(), &served);
  WriteAll(&b, "hello\r\n");
  std::string stream = ReadUntilClosed(&b);
  b.Close();
  server.join();
  ASSERT_TRUE(served.status.ok()) << served.status.message();

  OldClientView v = OldClientRead(stream);
  EXPECT_EQ(v.orphan_data, 0);
  for (const auto& f : files) {
    if (f.second.empty()) {
      EXPECT_EQ(v.files.count(f.first), 0u);  // the old client can't make it
    } else {
      EXPECT_EQ(v.files[f.first], f.second) << f.first;
    }
  }
  EXPECT_EQ(v.files.count("skipped/CMB_END/inner"), 0u);
  EXPECT_TRUE(v.folders.count("empty-folder"));
  EXPECT_TRUE(v.folders.count("dir/sub"));
  EXPECT_NE(served.log.find("empty: empty file"), std::string::npos) << served.log;
  EXPECT_NE(served.log.find("skipped/CMB_END: skipped with its contents"), std::string::npos)
      << served.log;
}

struct PullResult {
  Status status;
  PullStats stats;
};

// Pulls over sock into dir; the spool goes to a folder of its own, which
// must be empty again afterwards.
PullResult PullOver(platform::Socket* sock, const std::string& dir, int idle_ms,
                    int timeout_ms = -1, bool delete_extraneous = true) {
  PullResult r;
  TempDir spool;
  LegacyPullOptions lo;
  lo.idle_timeout_ms = idle_ms;
  lo.spool_dir = spool.path();
  TransferOptions o;
  o.dir = dir;
  o.timeout_ms = timeout_ms;
  o.delete_extraneous = delete_extraneous;
  ReceiverOptions ro;
  ro.delete_extraneous = delete_extraneous;
  ReportOptions report_options;
  Reporter reporter(report_options, stdout, stderr);
  Receiver rx(dir, ro, &reporter, &r.stats);
  r.status = rx.Open();
  if (r.status.ok()) r.status = LegacyPullSession(sock, o, lo, &rx, &r.stats);
  EXPECT_TRUE(fs::is_empty(spool.path())) << "spool left behind";
  return r;
}

TEST(LegacySession, TreesyncToTreesyncMirrorsEverythingIncludingEmptyFiles) {
  TempDir src, dst;
  std::map<std::string, std::string> files = AdversarialFiles();
  for (const auto& f : files) WriteFile(src / f.first, f.second);
  fs::create_directories(src / "empty-folder");
  WriteFile(dst / "extraneous/file", "goes");
  WriteFile(dst / "just-End", "End");  // already current: left alone
  auto kept_time = fs::last_write_time(dst / "just-End") - std::chrono::hours(24);
  fs::last_write_time(dst / "just-End", kept_time);
  kept_time = fs::last_write_time(dst / "just-End");

  platform::Socket a, b;
  ASSERT_TRUE(platform::SocketPair(&a, &b).ok());
  ServeResult served;
  std::thread server = ServeInThread(&a, src.path(), &served);
  PullResult r = PullOver(&b, dst.path(), 60000);  // the server closes: no idle wait
  server.join();
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  ASSERT_TRUE(served.status.ok()) << served.status.message();
  for (const auto& f : files) EXPECT_EQ(ReadFile(dst / f.first), f.second) << f.first;
  EXPECT_TRUE(fs::is_regular_file(dst / "empty"));
  EXPECT_TRUE(fs::is_directory(dst / "empty-folder"));
  EXPECT_FALSE(fs::exists(dst / "extraneous"));
  EXPECT_EQ(fs::last_write_time(dst / "just-End"), kept_time);
  EXPECT_EQ(r.stats.files_transferred, files.size() - 1);
  for (const auto& e : fs::recursive_directory_iterator(dst.path())) {
    EXPECT_FALSE(IsTempName(e.path().filename().string())) << e.path();
  }
}

// A naive old server's stream: greeting line, naive 4096-byte pieces.
std::string NaiveFile(const std::string& path, const std::string& data) {
  std::string s = LegacyFrame("File:" + path);
  for (size_t p = 0; p < data.size(); p += 4096) s += LegacyFrame(data.substr(p, 4096));
  return s + LegacyFrame("End");
}

// Writes stream, then keeps the connection open (an old server never
// closes) until the client closes it.
std::thread NaiveServerInThread(platform::Socket* sock, const std::string& stream) {
  return std::thread([sock, stream] {
    platform::Readiness r;  // the client's greeting first
    platform::Poll(*sock, true, false, 5000, &r);
    char buf[256];
    size_t got = 0;
    bool eof = false;
    sock->Read(buf, sizeof buf, &got, &eof);
    WriteAll(sock, stream);
    ReadUntilClosed(sock);
    sock->Close();
  });
}

TEST(LegacySession, PullsFromANaiveOldServer) {
  TempDir dst;
  std::string big = std::string(4090, 'a') + "CMB_END" + std::string(5000, 'b');
  std::string stream = "CMB folder sync server ready\r\n" + LegacyFrame("Sync") +
                       NaiveFile("just-End", "End") + NaiveFile("marker", "x CMB_END y") +
                       NaiveFile("no-folder/deeper/f", "parents left out") +
                       LegacyFrame("Folder:d") +
                       NaiveFile("d/big", big) + NaiveFile("d/empty", "") +
                       NaiveFile("d/File:odd name", "File:Folder:Sync") +
                       NaiveFile("resent", "first") + NaiveFile("resent", "second wins") +
                       LegacyFrame("Folder:d");  // again: harmless
  platform::Socket a, b;
  ASSERT_TRUE(platform::SocketPair(&a, &b).ok());
  std::thread server = NaiveServerInThread(&a, stream);
  auto start = std::chrono::steady_clock::now();
  PullResult r = PullOver(&b, dst.path(), 300);
  b.Close();
  server.join();
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(ReadFile(dst / "just-End"), "End");
  EXPECT_EQ(ReadFile(dst / "marker"), "x CMB_END y");
  EXPECT_EQ(ReadFile(dst / "no-folder/deeper/f"), "parents left out");
  EXPECT_EQ(ReadFile(dst / "d/big"), big);
  EXPECT_TRUE(fs::is_regular_file(dst / "d/empty"));
  EXPECT_EQ(ReadFile(dst / "d/File:odd name"), "File:Folder:Sync");
  EXPECT_EQ(ReadFile(dst / "resent"), "second wins");
}

TEST(LegacySession, AHostileNameLeavesTheTargetUntouched) {
  for (const char* cmd : {"Folder:../evil", "File:/tmp/evil-abs", "File:ok/../../evil"}) {
    TempDir dst;
    WriteFile(dst / "mine", "precious");
    std::string stream = LegacyFrame("Sync") + NaiveFile("a", "fine") + LegacyFrame(cmd) +
                         LegacyFrame("pwned") + LegacyFrame("End");
    platform::Socket a, b;
    ASSERT_TRUE(platform::SocketPair(&a, &b).ok());
    std::thread server = NaiveServerInThread(&a, stream);
    PullResult r = PullOver(&b, dst.path(), 300);
    b.Close();
    server.join();
    EXPECT_EQ(r.status.kind(), ErrorKind::kProtocol) << cmd << ": " << r.status.message();
    EXPECT_EQ(ReadFile(dst / "mine"), "precious");
    EXPECT_FALSE(fs::exists(dst / "a"));
    EXPECT_FALSE(fs::exists(fs::path(dst.path()).parent_path() / "evil"));
  }
}

TEST(LegacySession, AStreamCutInsideAFileInstallsTheRestAndDeletesNothing) {
  TempDir dst;
  WriteFile(dst / "extraneous", "stays: the listing may be incomplete");
  std::string stream = LegacyFrame("Sync") + NaiveFile("whole", "complete") +
                        LegacyFrame("File:cut") + LegacyFrame("part of it");
  platform::Socket a, b;
  ASSERT_TRUE(platform::SocketPair(&a, &b).ok());
  std::thread server([&a, stream] {
    platform::Readiness ready;  // the greeting, so closing is a clean close
    platform::Poll(a, true, false, 5000, &ready);
    char buf[256];
    size_t got = 0;
    bool eof = false;
    a.Read(buf, sizeof buf, &got, &eof);
    WriteAll(&a, stream);
    a.Close();  // cut
  });
  PullResult r = PullOver(&b, dst.path(), 300);
  server.join();
  EXPECT_EQ(r.status.kind(), ErrorKind::kPartial) << r.status.message();
  EXPECT_EQ(ReadFile(dst / "whole"), "complete");
  EXPECT_FALSE(fs::exists(dst / "cut"));
  EXPECT_TRUE(fs::exists(dst / "extraneous"));
}

TEST(LegacySession, ASecondSyncStartsTheListingOver) {
  TempDir dst;
  std::string stream = LegacyFrame("Sync") + NaiveFile("old", "from the first sync") +
                       LegacyFrame("Sync") + NaiveFile("new", "from the second");
  platform::Socket a, b;
  ASSERT_TRUE(platform::SocketPair(&a, &b).ok());
  std::thread server = NaiveServerInThread(&a, stream);
  PullResult r = PullOver(&b, dst.path(), 300);
  b.Close();
  server.join();
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  EXPECT_FALSE(fs::exists(dst / "old"));
  EXPECT_EQ(ReadFile(dst / "new"), "from the second");
}

TEST(LegacySession, TypeConflictsAreProtocolErrors) {
  for (const std::string& stream :
       {LegacyFrame("Folder:x") + NaiveFile("x", "file"),
        NaiveFile("x", "file") + LegacyFrame("Folder:x"),
        NaiveFile("x", "file") + NaiveFile("x/y", "inside a file")}) {
    TempDir dst;
    platform::Socket a, b;
    ASSERT_TRUE(platform::SocketPair(&a, &b).ok());
    std::thread server = NaiveServerInThread(&a, stream);
    PullResult r = PullOver(&b, dst.path(), 300);
    b.Close();
    server.join();
    EXPECT_EQ(r.status.kind(), ErrorKind::kProtocol) << r.status.message();
  }
}

TEST(LegacySession, SilenceBeforeAnyCompleteEntryIsATimeout) {
  TempDir dst;
  WriteFile(dst / "mine", "kept");
  platform::Socket a, b;
  ASSERT_TRUE(platform::SocketPair(&a, &b).ok());
  std::thread server = NaiveServerInThread(&a, LegacyFrame("Sync"));
  PullResult r = PullOver(&b, dst.path(), 100, 600);
  b.Close();
  server.join();
  EXPECT_EQ(r.status.kind(), ErrorKind::kTimeout) << r.status.message();
  EXPECT_EQ(ReadFile(dst / "mine"), "kept");
}

}  // namespace
}  // namespace treesync
