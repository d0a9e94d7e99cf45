// The tree watcher (platform/watch.h) on Linux, through its interface: each
// kind of change on disk and the events it gives, folders that appear, move
// and go, and the watcher keeping up with them.
#include "watch.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "test_util.h"

namespace fs = std::filesystem;

namespace treesync {
namespace {

#ifdef __linux__

using platform::TreeWatcher;
using platform::WatchEvent;
using test::TempFolder;
using test::WriteFile;
using Clock = std::chrono::steady_clock;

// How long an expected event may take to show up.
constexpr int kDeadlineMs = 2000;
// How long to listen for events that should not come.
constexpr int kQuietMs = 200;

std::string KindName(WatchEvent::Kind k) {
  switch (k) {
    case WatchEvent::kChanged: return "changed";
    case WatchEvent::kWriting: return "writing";
    case WatchEvent::kFolderAdded: return "folder-added";
    case WatchEvent::kRemoved: return "removed";
    case WatchEvent::kOverflow: return "overflow";
  }
  return "?";
}

std::string Describe(const std::vector<WatchEvent>& events) {
  std::string out;
  for (const WatchEvent& e : events) out += " " + KindName(e.kind) + "(" + e.path + ")";
  return out.empty() ? " (none)" : out;
}

bool Has(const std::vector<WatchEvent>& events, WatchEvent::Kind kind, const std::string& path) {
  for (const WatchEvent& e : events) {
    if (e.kind == kind && e.path == path) return true;
  }
  return false;
}

bool HasKind(const std::vector<WatchEvent>& events, WatchEvent::Kind kind) {
  for (const WatchEvent& e : events) {
    if (e.kind == kind) return true;
  }
  return false;
}

// A watcher on a fresh temp folder, and what it has reported.
class WatchTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }

  void Start() {
    Status s = platform::WatchTree(t_.path(), &w_);
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_TRUE(w_ != nullptr);
  }

  std::string P(const std::string& rel) const { return t_.Join(rel); }

  // Collects events until one of kind at path arrives (true) or the
  // deadline passes (false); everything seen is left in seen_.
  bool WaitFor(WatchEvent::Kind kind, const std::string& path) {
    auto deadline = Clock::now() + std::chrono::milliseconds(kDeadlineMs);
    while (!Has(seen_, kind, path)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      Status s = w_->Wait(static_cast<int>(left.count()), &seen_);
      if (!s.ok()) {
        ADD_FAILURE() << "Wait: " << s.message();
        return false;
      }
    }
    return true;
  }

  // Collects what arrives within ms.
  void Listen(int ms) {
    auto deadline = Clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return;
      Status s = w_->Wait(static_cast<int>(left.count()), &seen_);
      ASSERT_TRUE(s.ok()) << s.message();
    }
  }

  // Forgets what was seen after letting the previous step's events land.
  void Settle() {
    Listen(50);
    seen_.clear();
  }

  TempFolder t_;
  std::unique_ptr<TreeWatcher> w_;
  std::vector<WatchEvent> seen_;
};

#define EXPECT_EVENT(kind, path) \
  EXPECT_TRUE(WaitFor(WatchEvent::kind, path)) << "saw" << Describe(seen_)

TEST_F(WatchTest, CreatedFileIsChanged) {
  WriteFile(P("f"), "x");
  EXPECT_EVENT(kChanged, "f");
  EXPECT_FALSE(HasKind(seen_, WatchEvent::kOverflow)) << Describe(seen_);
}

TEST_F(WatchTest, WriteToOpenFileIsWritingUntilClosedThenChanged) {
  WriteFile(P("f"), "x");
  Settle();
  int fd = open(P("f").c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "more", 4), 4);
  EXPECT_EVENT(kWriting, "f");
  Listen(kQuietMs);
  EXPECT_FALSE(Has(seen_, WatchEvent::kChanged, "f")) << "before close:" << Describe(seen_);
  seen_.clear();
  close(fd);
  EXPECT_EVENT(kChanged, "f");
}

TEST_F(WatchTest, ChmodIsChanged) {
  WriteFile(P("f"), "x");
  Settle();
  ASSERT_EQ(chmod(P("f").c_str(), 0600), 0);
  EXPECT_EVENT(kChanged, "f");
}

TEST_F(WatchTest, ChmodOfFolderIsChangedOfThatFolder) {
  fs::create_directory(P("sub"));
  Settle();
  ASSERT_EQ(chmod(P("sub").c_str(), 0700), 0);
  EXPECT_EVENT(kChanged, "sub");
}

TEST_F(WatchTest, ChmodOfRootIsChangedOfEmptyPath) {
  ASSERT_EQ(chmod(t_.path().c_str(), 0700), 0);
  EXPECT_EVENT(kChanged, "");
}

TEST_F(WatchTest, RenamedFileIsRemovedOldAndChangedNew) {
  WriteFile(P("old"), "x");
  Settle();
  fs::rename(P("old"), P("new"));
  EXPECT_EVENT(kRemoved, "old");
  EXPECT_EVENT(kChanged, "new");
}

TEST_F(WatchTest, DeletedFileIsRemoved) {
  WriteFile(P("f"), "x");
  Settle();
  fs::remove(P("f"));
  EXPECT_EVENT(kRemoved, "f");
}

TEST_F(WatchTest, CreatedSymlinkIsChanged) {
  fs::create_symlink("nowhere", P("link"));
  EXPECT_EVENT(kChanged, "link");
}

TEST_F(WatchTest, DoesNotFollowSymlinkToFolderOutside) {
  TempFolder outside;
  fs::create_directory_symlink(outside.path(), P("link"));
  w_.reset();
  Start();
  WriteFile(outside.Join("f"), "x");
  Listen(kQuietMs);
  EXPECT_TRUE(seen_.empty()) << Describe(seen_);
}

TEST_F(WatchTest, FilesInFoldersPresentAtStartAreReported) {
  fs::create_directories(P("a/b/c"));
  w_.reset();
  Start();
  WriteFile(P("a/b/c/f"), "x");
  EXPECT_EVENT(kChanged, "a/b/c/f");
}

TEST_F(WatchTest, NewFolderIsFolderAddedAndThenWatched) {
  fs::create_directory(P("new"));
  EXPECT_EVENT(kFolderAdded, "new");
  WriteFile(P("new/f"), "x");
  EXPECT_EVENT(kChanged, "new/f");
}

// A whole tree made at once: the folders below the new one exist before
// the watcher gets to watch them; it must find them when it does.
TEST_F(WatchTest, FoldersMadeInsideANewFolderAreWatchedToo) {
  fs::create_directories(P("x/y/z"));
  EXPECT_EVENT(kFolderAdded, "x");
  Settle();
  WriteFile(P("x/y/z/f"), "x");
  EXPECT_EVENT(kChanged, "x/y/z/f");
}

TEST_F(WatchTest, RenamedFolderIsRemovedOldAndFolderAddedNew) {
  fs::create_directories(P("a/inner"));
  Settle();
  fs::rename(P("a"), P("b"));
  EXPECT_EVENT(kRemoved, "a");
  EXPECT_EVENT(kFolderAdded, "b");
}

TEST_F(WatchTest, FileInRenamedFolderReportsItsNewPath) {
  fs::create_directories(P("a/inner"));
  Settle();
  fs::rename(P("a"), P("b"));
  EXPECT_EVENT(kFolderAdded, "b");
  Settle();
  WriteFile(P("b/f"), "x");
  WriteFile(P("b/inner/g"), "x");
  EXPECT_EVENT(kChanged, "b/f");
  EXPECT_EVENT(kChanged, "b/inner/g");
  Listen(kQuietMs);
  for (const WatchEvent& e : seen_) {
    EXPECT_NE(e.path.substr(0, 2), "a/") << Describe(seen_);
    EXPECT_NE(e.kind, WatchEvent::kOverflow) << Describe(seen_);
  }
}

TEST_F(WatchTest, FolderRenamedTwiceReportsTheLatestPath) {
  fs::create_directories(P("a/inner"));
  Settle();
  fs::rename(P("a"), P("b"));
  fs::rename(P("b"), P("c"));
  EXPECT_EVENT(kFolderAdded, "c");
  Settle();
  WriteFile(P("c/inner/f"), "x");
  EXPECT_EVENT(kChanged, "c/inner/f");
  Listen(kQuietMs);
  EXPECT_FALSE(HasKind(seen_, WatchEvent::kOverflow)) << Describe(seen_);
}

TEST_F(WatchTest, FolderMovedOutIsRemovedAndNoLongerWatched) {
  TempFolder outside;
  fs::create_directories(P("a/inner"));
  Settle();
  fs::rename(P("a"), outside.Join("a"));
  EXPECT_EVENT(kRemoved, "a");
  Settle();
  WriteFile(outside.Join("a/f"), "x");
  WriteFile(outside.Join("a/inner/g"), "x");
  Listen(kQuietMs);
  EXPECT_TRUE(seen_.empty()) << Describe(seen_);
}

TEST_F(WatchTest, FolderMovedInIsFolderAddedAndWatched) {
  TempFolder outside;
  fs::create_directories(outside.Join("c/inner"));
  fs::rename(outside.Join("c"), P("c"));
  EXPECT_EVENT(kFolderAdded, "c");
  Settle();
  WriteFile(P("c/inner/f"), "x");
  EXPECT_EVENT(kChanged, "c/inner/f");
}

TEST_F(WatchTest, RemovedFolderTreeIsRemovedWithoutOverflow) {
  fs::create_directories(P("a/b/c"));
  WriteFile(P("a/b/c/f"), "x");
  WriteFile(P("a/g"), "x");
  Settle();
  fs::remove_all(P("a"));
  EXPECT_EVENT(kRemoved, "a");
  Listen(kQuietMs);
  EXPECT_FALSE(HasKind(seen_, WatchEvent::kOverflow)) << Describe(seen_);
}

TEST_F(WatchTest, FolderReplacedByAnotherKeepsTheNewOneWatched) {
  fs::create_directory(P("a"));
  fs::create_directory(P("b"));
  Settle();
  fs::rename(P("b"), P("a"));  // over the empty "a"
  EXPECT_EVENT(kFolderAdded, "a");
  Settle();
  WriteFile(P("a/f"), "x");
  EXPECT_EVENT(kChanged, "a/f");
  Listen(kQuietMs);
  EXPECT_FALSE(HasKind(seen_, WatchEvent::kOverflow)) << Describe(seen_);
}

TEST_F(WatchTest, WaitWithZeroTimeoutAndNothingHappeningReturnsAtOnce) {
  auto start = Clock::now();
  std::vector<WatchEvent> events;
  Status s = w_->Wait(0, &events);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(events.empty()) << Describe(events);
  EXPECT_LT(took.count(), 100);
}

TEST_F(WatchTest, WaitTimesOutWithNoEvents) {
  auto start = Clock::now();
  std::vector<WatchEvent> events;
  Status s = w_->Wait(100, &events);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  EXPECT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(events.empty()) << Describe(events);
  EXPECT_GE(took.count(), 90);
}

TEST_F(WatchTest, RemovedRootIsOverflowAndThenAnError) {
  fs::remove_all(t_.path());
  auto deadline = Clock::now() + std::chrono::milliseconds(kDeadlineMs);
  Status s;
  while (s.ok() && Clock::now() < deadline) s = w_->Wait(100, &seen_);
  EXPECT_TRUE(HasKind(seen_, WatchEvent::kOverflow)) << Describe(seen_);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(w_->Wait(0, &seen_).ok()) << "stays broken";
}

// Fills the kernel's queue past its limit; a folder made meanwhile (its
// event lost) must still be watched once the overflow is reported.
TEST_F(WatchTest, QueueOverflowIsReportedAndLostFoldersAreWatched) {
  std::ifstream limit_file("/proc/sys/fs/inotify/max_queued_events");
  long limit = 0;
  if (!(limit_file >> limit) || limit <= 0 || limit > 200000) {
    GTEST_SKIP() << "can't overflow the inotify queue cheaply here";
  }
  const std::string churn = P("churn");
  for (long i = 0; i < limit / 2 + 100; ++i) {
    ASSERT_EQ(mkdir(churn.c_str(), 0755), 0);
    ASSERT_EQ(rmdir(churn.c_str()), 0);
  }
  fs::create_directories(P("late/inner"));
  EXPECT_EVENT(kOverflow, "");
  Settle();
  WriteFile(P("late/inner/f"), "x");
  EXPECT_EVENT(kChanged, "late/inner/f");
}

TEST(WatchTree, FailsOnMissingFolder) {
  TempFolder t;
  std::unique_ptr<platform::TreeWatcher> w;
  Status s = platform::WatchTree(t.Join("missing"), &w);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.kind(), ErrorKind::kIo);
  EXPECT_NE(s.message().find("missing"), std::string::npos) << s.message();
}

TEST(WatchTree, FailsOnAFile) {
  TempFolder t;
  WriteFile(t.Join("f"), "x");
  std::unique_ptr<platform::TreeWatcher> w;
  EXPECT_FALSE(platform::WatchTree(t.Join("f"), &w).ok());
}

TEST(WatchTree, FollowsARootThatIsASymlink) {
  TempFolder t;
  fs::create_directory(t.Join("real"));
  fs::create_directory_symlink(t.Join("real"), t.Join("link"));
  std::unique_ptr<platform::TreeWatcher> w;
  Status s = platform::WatchTree(t.Join("link"), &w);
  ASSERT_TRUE(s.ok()) << s.message();
  WriteFile(t.Join("real/f"), "x");
  std::vector<WatchEvent> events;
  auto deadline = Clock::now() + std::chrono::milliseconds(kDeadlineMs);
  while (!Has(events, WatchEvent::kChanged, "f") && Clock::now() < deadline) {
    ASSERT_TRUE(w->Wait(100, &events).ok());
  }
  EXPECT_TRUE(Has(events, WatchEvent::kChanged, "f")) << Describe(events);
}

#else  // !__linux__

TEST(WatchTree, NeedsLinux) { GTEST_SKIP() << "the watcher tests exercise inotify"; }

#endif  // __linux__

}  // namespace
}  // namespace treesync
