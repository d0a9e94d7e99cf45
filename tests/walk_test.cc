#include "walk.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "fs_meta.h"
#include "path.h"
#include "test_util.h"
#include "xattrs.h"

namespace fs = std::filesystem;

namespace treesync {
namespace {

using test::TempFolder;
using test::WriteFile;

std::vector<std::string> Paths(const WalkResult& w) {
  std::vector<std::string> out;
  for (const Entry& e : w.entries) out.push_back(e.path);
  return out;
}

const Entry* Find(const WalkResult& w, const std::string& path) {
  for (const Entry& e : w.entries) {
    if (e.path == path) return &e;
  }
  return nullptr;
}

TEST(Walk, ListsPreOrderWithNamesSortedBytewise) {
  TempFolder t;
  WriteFile(t.Join("b/x"), "1");
  WriteFile(t.Join("a"), "22");
  WriteFile(t.Join("c/d"), "");
  WriteFile(t.Join("c/B"), "");
  WriteFile(t.Join("c-sibling"), "");
  WriteFile(t.Join("c/\xc3\xa9"), "");  // above every ASCII byte
  fs::create_directories(t.Join("c/a/deeper"));
  WalkResult w;
  ASSERT_TRUE(WalkTree(t.path(), &w).ok());
  EXPECT_EQ(Paths(w), (std::vector<std::string>{"a", "b", "b/x", "c", "c/B", "c/a", "c/a/deeper",
                                                "c/d", "c/\xc3\xa9", "c-sibling"}));
  EXPECT_TRUE(w.problems.empty());
  EXPECT_TRUE(w.skipped.empty());
}

TEST(Walk, RecordsTypeSizeModeAndMtime) {
  TempFolder t;
  WriteFile(t.Join("f"), "hello");
  fs::create_directories(t.Join("d"));
  ASSERT_TRUE(platform::SetMode(t.Join("f"), 0751).ok());
  ASSERT_TRUE(platform::SetMtime(t.Join("f"), 1500000000123456789).ok());
  ASSERT_TRUE(platform::SetMode(t.Join("d"), 0705).ok());
  ASSERT_TRUE(platform::SetMtime(t.Join("d"), 1400000000000000001).ok());
  ASSERT_TRUE(platform::SetMtime(t.path(), 1300000000000000000).ok());
  WalkResult w;
  ASSERT_TRUE(WalkTree(t.path(), &w).ok());
  const Entry* f = Find(w, "f");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->type, EntryType::kFile);
  EXPECT_EQ(f->size, 5u);
  EXPECT_EQ(f->mode & 0777, 0751u);
  EXPECT_EQ(f->mtime_ns, 1500000000123456789);
  const Entry* d = Find(w, "d");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->type, EntryType::kFolder);
  EXPECT_EQ(d->mode & 0777, 0705u);
  EXPECT_EQ(d->mtime_ns, 1400000000000000001);
  EXPECT_EQ(w.root_mtime_ns, 1300000000000000000);
}

TEST(Walk, ListsEmptyFilesAndFolders) {
  TempFolder t;
  WriteFile(t.Join("empty"), "");
  fs::create_directories(t.Join("hollow"));
  WalkResult w;
  ASSERT_TRUE(WalkTree(t.path(), &w).ok());
  ASSERT_EQ(Paths(w), (std::vector<std::string>{"empty", "hollow"}));
  EXPECT_EQ(w.entries[0].type, EntryType::kFile);
  EXPECT_EQ(w.entries[0].size, 0u);
  EXPECT_EQ(w.entries[1].type, EntryType::kFolder);
}

TEST(Walk, EmptyRootGivesNoEntries) {
  TempFolder t;
  WalkResult w;
  ASSERT_TRUE(WalkTree(t.path(), &w).ok());
  EXPECT_TRUE(w.entries.empty());
}

TEST(Walk, DoesNotFollowSymlinks) {
  TempFolder t;
  WriteFile(t.Join("real/inside"), "x");
  fs::create_directory_symlink("real", t.Join("link"));
  fs::create_symlink("nowhere/at/all", t.Join("dangling"));
  fs::create_symlink(t.Join("real/inside"), t.Join("absolute"));
  WalkResult w;
  ASSERT_TRUE(WalkTree(t.path(), &w).ok());
  EXPECT_EQ(Paths(w), (std::vector<std::string>{"absolute", "dangling", "link", "real",
                                                "real/inside"}));
  const Entry* link = Find(w, "link");
  ASSERT_NE(link, nullptr);
  EXPECT_EQ(link->type, EntryType::kSymlink);
  EXPECT_EQ(link->target, "real");
  const Entry* dangling = Find(w, "dangling");
  ASSERT_NE(dangling, nullptr);
  EXPECT_EQ(dangling->type, EntryType::kSymlink);
  EXPECT_EQ(dangling->target, "nowhere/at/all");
  EXPECT_EQ(Find(w, "absolute")->target, t.Join("real/inside"));
}

TEST(Walk, NotesSpecialFilesWithoutListingThem) {
  TempFolder t;
  WriteFile(t.Join("regular"), "r");
  std::string fifo = t.Join("pipe");
  if (std::system(("mkfifo '" + fifo + "' 2>/dev/null").c_str()) != 0) {
    GTEST_SKIP() << "mkfifo not available";
  }
  WalkResult w;
  ASSERT_TRUE(WalkTree(t.path(), &w).ok());
  EXPECT_EQ(Paths(w), (std::vector<std::string>{"regular"}));
  EXPECT_EQ(w.skipped, (std::vector<std::string>{"pipe"}));
}

TEST(Walk, MissingRootIsBadFolder) {
  TempFolder t;
  WalkResult w;
  Status s = WalkTree(t.Join("missing"), &w);
  EXPECT_EQ(s.kind(), ErrorKind::kBadFolder) << s.message();
}

TEST(Walk, RootThatIsAFileIsBadFolder) {
  TempFolder t;
  WriteFile(t.Join("file"), "x");
  WalkResult w;
  EXPECT_EQ(WalkTree(t.Join("file"), &w).kind(), ErrorKind::kBadFolder);
}

TEST(Walk, Handles24LevelsOfNesting) {
  TempFolder t;
  std::string rel = "n0";
  for (int i = 1; i < 24; ++i) rel += "/n" + std::to_string(i);
  WriteFile(t.Join(rel + "/leaf"), "deep");
  WalkResult w;
  ASSERT_TRUE(WalkTree(t.path(), &w).ok());
  ASSERT_EQ(w.entries.size(), 25u);
  EXPECT_EQ(w.entries[0].path, "n0");
  EXPECT_EQ(w.entries[23].path, rel);
  EXPECT_EQ(w.entries[23].type, EntryType::kFolder);
  EXPECT_EQ(w.entries[24].path, rel + "/leaf");
  EXPECT_EQ(w.entries[24].size, 4u);
}

TEST(Walk, KeepsOddNamesByteForByte) {
  TempFolder t;
  const std::string names[] = {"-dash", "new\nline", "back\\slash", "\xff\xfe", "sp ace"};
  for (const std::string& n : names) WriteFile(t.Join(n), n);
  WalkResult w;
  ASSERT_TRUE(WalkTree(t.path(), &w).ok());
  ASSERT_EQ(w.entries.size(), 5u);
  for (const std::string& n : names) {
    const Entry* e = Find(w, n);
    ASSERT_NE(e, nullptr) << Printable(n);
    EXPECT_EQ(e->size, n.size());
  }
}

TEST(Walk, FollowsARootThatIsASymlinkToAFolder) {
  // "A readable folder" includes one reached through a symlink the user
  // made (serve /srv/current, pull into ~/mirror -> /data/mirror); the
  // server's startup check and the receiver both allow it. Only the root
  // link is followed: links below it are still listed as links.
  TempFolder t;
  WriteFile(t.Join("real/f"), "x");
  fs::create_directory_symlink("f", t.Join("real/inner"));
  fs::create_directory_symlink(t.Join("real"), t.Join("link"));
  WalkResult w;
  Status s = WalkTree(t.Join("link"), &w);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Paths(w), (std::vector<std::string>{"f", "inner"}));
  EXPECT_EQ(w.entries[1].type, EntryType::kSymlink);
}

TEST(Walk, BackgroundWalkGivesTheSameItemsInTheSameOrder) {
  TempFolder t;
  for (int d = 0; d < 7; ++d) {
    std::string dir = "d" + std::to_string(d);
    for (int f = 0; f < 300; ++f) WriteFile(t.Join(dir + "/sub/f" + std::to_string(f)), "x");
    WriteFile(t.Join(dir + "/top"), "y");
  }
  WriteFile(t.Join("file-at-root"), "z");
  fs::create_symlink("d0", t.Join("link"));
  WalkResult w;
  ASSERT_TRUE(WalkTree(t.path(), &w).ok());
  BackgroundWalk bg(t.path());
  std::vector<std::string> got;
  std::vector<WalkItem> batch;
  for (bool done = false; !done;) {
    Status s = bg.Next(&batch, -1, &done);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_LE(batch.size(), BackgroundWalk::kBatchItems);
    for (const WalkItem& item : batch) got.push_back(item.entry.path);
  }
  EXPECT_EQ(got, Paths(w));
  EXPECT_EQ(got.size(), 7u * 303 + 2);
}

TEST(Walk, BackgroundWalkOfAMissingRootEndsWithItsError) {
  TempFolder t;
  BackgroundWalk bg(t.Join("missing"));
  std::vector<WalkItem> batch;
  bool done = false;
  Status s = bg.Next(&batch, -1, &done);
  EXPECT_TRUE(done);
  EXPECT_EQ(s.kind(), ErrorKind::kBadFolder);
}

TEST(Walk, BackgroundWalkStopsWhenItsReaderGoes) {
  TempFolder t;
  for (int f = 0; f < 5000; ++f) WriteFile(t.Join("d/f" + std::to_string(f)), "");
  // Destroyed while the walker waits on a full queue: must not hang.
  BackgroundWalk bg(t.path());
  std::vector<WalkItem> batch;
  bool done = false;
  ASSERT_TRUE(bg.Next(&batch, -1, &done).ok());
}

TEST(Walk, NeverListsReceivingTemporariesInAnyCase) {
  TempFolder t;
  WriteFile(t.Join("a"), "x");
  WriteFile(t.Join(".treesync-0123456789abcdef.tmp"), "partial");
  WriteFile(t.Join("d/.TREESYNC-0123456789ABCDEF.TMP"), "partial");
  WriteFile(t.Join("d/.treesync-notatemp.tmp"), "kept");
  WalkResult w;
  ASSERT_TRUE(WalkTree(t.path(), &w).ok());
  EXPECT_EQ(Paths(w), (std::vector<std::string>{"a", "d", "d/.treesync-notatemp.tmp"}));
}

TEST(Walk, APathTooLongToSendIsAGapOfItsFolder) {
  TempFolder t;
  // Folders of 250-byte names, deep enough that a file in the deepest
  // passes the wire limit while the folder's own path (and the host's,
  // below the test folder) stays within it.
  std::string rel;
  const std::string name(250, 'n');
  for (int i = 0; i < 16; ++i) rel += (rel.empty() ? "" : "/") + name;
  ASSERT_LT(rel.size(), kMaxPathBytes);
  const std::string file(100, 'f');
  std::error_code ec;
  fs::create_directories(platform::FsPath(t.Join(rel)), ec);
  if (ec || t.Join(rel).size() >= 4095) GTEST_SKIP() << "can't make a path that long here";
  {
    // Made from inside the folder: its whole path is past what the host's
    // calls take.
    fs::path back = fs::current_path();
    fs::current_path(platform::FsPath(t.Join(rel)));
    WriteFile(file, "x");
    fs::current_path(back);
  }
  WriteFile(t.Join("ok"), "y");
  WalkResult w;
  ASSERT_TRUE(WalkTree(t.path(), &w).ok());
  ASSERT_EQ(w.problems.size(), 1u);
  EXPECT_EQ(w.problems[0].folder, rel);
  EXPECT_NE(w.problems[0].message.find("too long"), std::string::npos);
  EXPECT_LE(w.problems[0].message.size(), 400u);
  EXPECT_EQ(w.entries.back().path, "ok");
}

TEST(Walk, ReadsAttributesAndLeavesOutWhatPassesTheEntryLimit) {
  // ext4 keeps a few KiB of attributes a file; tmpfs, where there is one,
  // holds these.
  TempFolder t;
  std::string f = t.Join("f");
  const std::string shm = "/dev/shm/treesync-walk-test-" + std::to_string(platform::Random64());
  if (std::filesystem::is_directory("/dev/shm")) f = shm;
  struct Remove {
    std::string path;
    ~Remove() { platform::RemoveEntry(path); }
  } remove{f};
  WriteFile(f, "x");
  const std::string big(60 * 1024, 'v');
  if (!platform::HasXattrs() || !platform::SetXattr(f, {"user.a", big}).ok()) {
    GTEST_SKIP() << "no user attributes here";
  }
  ASSERT_TRUE(platform::SetXattr(f, {"user.b", big}).ok());
  if (!platform::SetXattr(f, {"user.c", big}).ok()) GTEST_SKIP() << "no room for 180 KiB";
  Entry e;
  e.path = "f";
  std::vector<std::string> problems;
  ReadXattrs(f, &e, &problems);
  // 120 KiB fit in the 128 KiB an entry carries; the third is left out.
  ASSERT_EQ(e.xattrs.size(), 2u);
  EXPECT_EQ(e.xattrs[0].name, "user.a");
  EXPECT_EQ(e.xattrs[1].value, big);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("user.c not sent"), std::string::npos) << problems[0];
}

// What a scoped walk reports, with its Whole marks as "whole:PATH" and
// "tree:PATH" in place.
class ScopeRecorder : public WalkVisitor {
 public:
  Status OnEntry(Entry& e) override {
    items.push_back(e.path);
    return Status::Ok();
  }
  Status OnGap(const std::string& folder, const std::string& message) override {
    items.push_back("gap:" + folder + ":" + message);
    return Status::Ok();
  }
  Status OnSkipped(const std::string& path) override {
    items.push_back("skipped:" + path);
    return Status::Ok();
  }
  Status OnWhole(const std::string& folder, bool tree) override {
    items.push_back((tree ? "tree:" : "whole:") + folder);
    return Status::Ok();
  }
  std::vector<std::string> items;
};

std::vector<std::string> ScopedWalk(const TempFolder& t, const WalkScope& scope) {
  ScopeRecorder r;
  EXPECT_TRUE(WalkTree(t.path(), &r, nullptr, &scope).ok());
  return r.items;
}

TEST(WalkScope, AnEntryBringsOnlyTheFoldersOnTheWayToIt) {
  TempFolder t;
  WriteFile(t.Join("a/b/changed"), "1");
  WriteFile(t.Join("a/b/other"), "1");
  WriteFile(t.Join("a/sibling"), "1");
  WriteFile(t.Join("z"), "1");
  WalkScope scope;
  scope.Add("a/b/changed", WalkScope::kEntry);
  EXPECT_EQ(ScopedWalk(t, scope), (std::vector<std::string>{"a", "a/b", "a/b/changed"}));
}

TEST(WalkScope, AFolderIsListedWholeButNotWhatIsBelowItsFolders) {
  TempFolder t;
  WriteFile(t.Join("a/f"), "1");
  WriteFile(t.Join("a/sub/deep"), "1");
  WriteFile(t.Join("b"), "1");
  WalkScope scope;
  scope.Add("a", WalkScope::kFolder);
  EXPECT_EQ(ScopedWalk(t, scope), (std::vector<std::string>{"a", "whole:a", "a/f", "a/sub"}));
}

TEST(WalkScope, ATreeIsListedWholeAndAllBelowIt) {
  TempFolder t;
  WriteFile(t.Join("a/f"), "1");
  WriteFile(t.Join("a/sub/deep"), "1");
  WriteFile(t.Join("b"), "1");
  WalkScope scope;
  scope.Add("a", WalkScope::kTree);
  EXPECT_EQ(ScopedWalk(t, scope),
            (std::vector<std::string>{"a", "tree:a", "a/f", "a/sub", "a/sub/deep"}));
}

TEST(WalkScope, TheRootAsATreeIsTheWholeWalkMarkedFirst) {
  TempFolder t;
  WriteFile(t.Join("a/f"), "1");
  WriteFile(t.Join("b"), "1");
  WalkScope scope;
  scope.Add("", WalkScope::kTree);
  scope.Add("a/f", WalkScope::kEntry);
  scope.Simplify();
  EXPECT_EQ(scope.size(), 1u);
  EXPECT_EQ(ScopedWalk(t, scope), (std::vector<std::string>{"tree:", "a", "a/f", "b"}));
}

TEST(WalkScope, NamesThatNoLongerExistAreLeftOutWithoutAGap) {
  TempFolder t;
  WriteFile(t.Join("a/here"), "1");
  WalkScope scope;
  scope.Add("a/gone", WalkScope::kEntry);
  scope.Add("a/here", WalkScope::kEntry);
  scope.Add("missing/x", WalkScope::kEntry);
  EXPECT_EQ(ScopedWalk(t, scope), (std::vector<std::string>{"a", "a/here"}));
}

TEST(WalkScope, KeepsListingOrderAcrossNamesThatSortAroundTheSlash) {
  TempFolder t;
  WriteFile(t.Join("a/x"), "1");
  WriteFile(t.Join("a-b"), "1");
  WriteFile(t.Join("a.c"), "1");
  WalkScope scope;
  scope.Add("a-b", WalkScope::kEntry);
  scope.Add("a/x", WalkScope::kEntry);
  scope.Add("a.c", WalkScope::kEntry);
  EXPECT_EQ(scope.NamesBelow(""), (std::vector<std::string>{"a", "a-b", "a.c"}));
  EXPECT_EQ(ScopedWalk(t, scope), (std::vector<std::string>{"a", "a/x", "a-b", "a.c"}));
}

TEST(WalkScope, AWiderKindWinsAndTreesSwallowWhatIsBelowThem) {
  WalkScope scope;
  scope.Add("a", WalkScope::kEntry);
  scope.Add("a", WalkScope::kFolder);
  scope.Add("a", WalkScope::kEntry);
  WalkScope::Kind kind = WalkScope::kEntry;
  ASSERT_TRUE(scope.Has("a", &kind));
  EXPECT_EQ(kind, WalkScope::kFolder);
  scope.Add("t", WalkScope::kTree);
  scope.Add("t/x/y", WalkScope::kEntry);
  scope.Add("t-sibling", WalkScope::kEntry);
  scope.Simplify();
  EXPECT_FALSE(scope.Has("t/x/y", &kind));
  EXPECT_TRUE(scope.Has("t-sibling", &kind));
  EXPECT_TRUE(scope.HasBelow(""));
  EXPECT_FALSE(scope.HasBelow("t"));
}

}  // namespace
}  // namespace treesync
