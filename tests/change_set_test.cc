#include "change_set.h"

#include <gtest/gtest.h>

#include <string>

namespace treesync {
namespace {

using platform::WatchEvent;

WatchEvent Ev(WatchEvent::Kind kind, const std::string& path) {
  WatchEvent e;
  e.kind = kind;
  e.path = path;
  return e;
}

WalkScope::Kind KindOf(const WalkScope& s, const std::string& path) {
  WalkScope::Kind k = WalkScope::kEntry;
  EXPECT_TRUE(s.Has(path, &k)) << path;
  return k;
}

TEST(ChangeSet, AChangeIsReadyOnceItHasSettled) {
  ChangeSet c(200, 5000);
  c.Add(Ev(WatchEvent::kChanged, "a/f"), 1000);
  WalkScope scope;
  EXPECT_FALSE(c.TakeReady(1100, &scope));
  EXPECT_EQ(c.NextReadyMs(), 1200);
  c.Add(Ev(WatchEvent::kChanged, "a/f"), 1150);  // still changing
  EXPECT_FALSE(c.TakeReady(1300, &scope));
  ASSERT_TRUE(c.TakeReady(1350, &scope));
  EXPECT_EQ(KindOf(scope, "a/f"), WalkScope::kEntry);
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.NextReadyMs(), -1);
}

TEST(ChangeSet, AFileStillOpenForWritingWaitsForItsClose) {
  ChangeSet c(200, 5000);
  c.Add(Ev(WatchEvent::kWriting, "log"), 0);
  WalkScope scope;
  EXPECT_FALSE(c.TakeReady(1000, &scope));
  c.Add(Ev(WatchEvent::kChanged, "log"), 1500);  // closed
  ASSERT_TRUE(c.TakeReady(1700, &scope));
  EXPECT_EQ(KindOf(scope, "log"), WalkScope::kEntry);
}

TEST(ChangeSet, AFileKeptOpenGoesAfterItsWritesStopForLong) {
  ChangeSet c(200, 5000);
  c.Add(Ev(WatchEvent::kWriting, "log"), 0);
  WalkScope scope;
  EXPECT_FALSE(c.TakeReady(4999, &scope));
  EXPECT_TRUE(c.TakeReady(5000, &scope));
}

TEST(ChangeSet, ARemovedNameListsItsFolderWhole) {
  ChangeSet c(200, 5000);
  c.Add(Ev(WatchEvent::kRemoved, "a/b/gone"), 0);
  c.Add(Ev(WatchEvent::kRemoved, "top"), 0);
  WalkScope scope;
  ASSERT_TRUE(c.TakeReady(200, &scope));
  EXPECT_EQ(KindOf(scope, "a/b"), WalkScope::kFolder);
  EXPECT_EQ(KindOf(scope, ""), WalkScope::kFolder);
}

TEST(ChangeSet, ANewFolderIsWalkedWhole) {
  ChangeSet c(200, 5000);
  c.Add(Ev(WatchEvent::kFolderAdded, "new"), 0);
  c.Add(Ev(WatchEvent::kChanged, "new/inside"), 0);
  WalkScope scope;
  ASSERT_TRUE(c.TakeReady(200, &scope));
  EXPECT_EQ(scope.size(), 1u);
  EXPECT_EQ(KindOf(scope, "new"), WalkScope::kTree);
}

TEST(ChangeSet, AFolderWaitsWhileAFileInItIsBeingWritten) {
  ChangeSet c(200, 5000);
  c.Add(Ev(WatchEvent::kRemoved, "d/old"), 0);
  c.Add(Ev(WatchEvent::kWriting, "d/new"), 0);
  c.Add(Ev(WatchEvent::kChanged, "elsewhere"), 0);
  WalkScope scope;
  ASSERT_TRUE(c.TakeReady(300, &scope));
  EXPECT_EQ(scope.size(), 1u);  // only "elsewhere": "d" would list d/new half written
  EXPECT_EQ(KindOf(scope, "elsewhere"), WalkScope::kEntry);
  c.Add(Ev(WatchEvent::kChanged, "d/new"), 400);
  WalkScope next;
  ASSERT_TRUE(c.TakeReady(600, &next));
  EXPECT_EQ(KindOf(next, "d"), WalkScope::kFolder);
  EXPECT_EQ(KindOf(next, "d/new"), WalkScope::kEntry);
}

TEST(ChangeSet, LostEventsWalkEverything) {
  ChangeSet c(200, 5000);
  c.Add(Ev(WatchEvent::kChanged, "a"), 0);
  c.Add(Ev(WatchEvent::kOverflow, ""), 0);
  WalkScope scope;
  ASSERT_TRUE(c.TakeReady(200, &scope));
  EXPECT_EQ(scope.size(), 1u);
  EXPECT_EQ(KindOf(scope, ""), WalkScope::kTree);
}

TEST(ChangeSet, TemporariesAreNotChanges) {
  ChangeSet c(200, 5000);
  c.Add(Ev(WatchEvent::kChanged, "a/.treesync-0123456789abcdef.tmp"), 0);
  c.Add(Ev(WatchEvent::kChanged, ".treesync-lock"), 0);
  EXPECT_TRUE(c.empty());
}

TEST(ChangeSet, AChangedRuleFileWalksItsFolderWhole) {
  ChangeSet c(200, 5000);
  c.SetRuleFiles({".rules"});
  c.Add(Ev(WatchEvent::kChanged, "a/.rules"), 0);
  c.Add(Ev(WatchEvent::kChanged, "a/other"), 0);
  WalkScope scope;
  ASSERT_TRUE(c.TakeReady(200, &scope));
  EXPECT_EQ(scope.size(), 1u);
  EXPECT_EQ(KindOf(scope, "a"), WalkScope::kTree);
}

TEST(ChangeSet, AFloodOfPathsBecomesOneWalkOfEverything) {
  ChangeSet c(200, 5000);
  for (size_t i = 0; i <= kMaxPendingPaths; ++i) {
    c.Add(Ev(WatchEvent::kChanged, "f" + std::to_string(i)), 0);
  }
  EXPECT_LE(c.size(), 2u);
  WalkScope scope;
  ASSERT_TRUE(c.TakeReady(200, &scope));
  EXPECT_EQ(KindOf(scope, ""), WalkScope::kTree);
}

}  // namespace
}  // namespace treesync
