#include "plan.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "test_util.h"

namespace treesync {
namespace {

using test::FileEntry;
using test::FolderEntry;
using test::SymlinkEntry;

constexpr int64_t kT1 = 1600000000123456789;
constexpr int64_t kT2 = 1700000000987654321;

std::vector<std::string> RemovedPaths(const Plan& p) {
  std::vector<std::string> out;
  for (const Removal& r : p.removals) out.push_back(r.path);
  return out;
}

// Every folder comes after everything inside it.
void ExpectChildrenBeforeParents(const Plan& p) {
  for (size_t i = 0; i < p.removals.size(); ++i) {
    const std::string prefix = p.removals[i].path + "/";
    for (size_t j = i + 1; j < p.removals.size(); ++j) {
      EXPECT_NE(p.removals[j].path.compare(0, prefix.size(), prefix), 0)
          << p.removals[j].path << " removed after its folder " << p.removals[i].path;
    }
  }
}

PlanOptions Options(bool delete_extraneous = true, bool listing_complete = true) {
  PlanOptions o;
  o.delete_extraneous = delete_extraneous;
  o.listing_complete = listing_complete;
  return o;
}

TEST(Plan, CreatesEverythingInAnEmptyFolder) {
  std::vector<Entry> remote = {
      FolderEntry("d"),
      FileEntry("d/f", 10, kT1),
      SymlinkEntry("d/l", "f"),
      FolderEntry("d/e"),
      FileEntry("g", 0, kT1),
  };
  Plan p = BuildPlan(remote, {}, Options());
  EXPECT_TRUE(p.removals.empty());
  EXPECT_EQ(p.create_folders, (std::vector<uint32_t>{0, 3}));
  EXPECT_EQ(p.create_symlinks, (std::vector<uint32_t>{2}));
  ASSERT_EQ(p.fetch.size(), 2u);
  EXPECT_EQ(p.fetch[0].index, 1u);
  EXPECT_FALSE(p.fetch[0].existing);
  EXPECT_EQ(p.fetch[1].index, 4u);
  EXPECT_FALSE(p.fetch[1].existing);
  EXPECT_TRUE(p.fix_metadata.empty());
  EXPECT_EQ(p.unchanged_files, 0u);
}

TEST(Plan, SkipsFilesWithEqualSizeAndMtime) {
  std::vector<Entry> remote = {FolderEntry("d"), FileEntry("d/f", 10, kT1), SymlinkEntry("l", "x")};
  std::vector<Entry> local = remote;
  Plan p = BuildPlan(remote, local, Options());
  EXPECT_TRUE(p.removals.empty());
  EXPECT_TRUE(p.create_folders.empty());
  EXPECT_TRUE(p.create_symlinks.empty());
  EXPECT_TRUE(p.fetch.empty());
  EXPECT_TRUE(p.fix_metadata.empty());
  EXPECT_EQ(p.unchanged_files, 1u);
}

TEST(Plan, FetchesFileWhoseSizeChanged) {
  std::vector<Entry> remote = {FileEntry("f", 11, kT1)};
  std::vector<Entry> local = {FileEntry("f", 10, kT1)};
  Plan p = BuildPlan(remote, local, Options());
  ASSERT_EQ(p.fetch.size(), 1u);
  EXPECT_EQ(p.fetch[0].index, 0u);
  EXPECT_TRUE(p.fetch[0].existing);
  EXPECT_TRUE(p.removals.empty());
  EXPECT_EQ(p.unchanged_files, 0u);
}

TEST(Plan, FetchesFileWhoseMtimeChanged) {
  std::vector<Entry> remote = {FileEntry("f", 10, kT2)};
  std::vector<Entry> local = {FileEntry("f", 10, kT1)};
  Plan p = BuildPlan(remote, local, Options());
  ASSERT_EQ(p.fetch.size(), 1u);
  EXPECT_TRUE(p.fetch[0].existing);
  EXPECT_TRUE(p.fix_metadata.empty());
  EXPECT_EQ(p.unchanged_files, 0u);
}

TEST(Plan, MtimeDifferingOnlyInNanosecondsIsAChange) {
  std::vector<Entry> remote = {FileEntry("f", 10, kT1 + 1)};
  std::vector<Entry> local = {FileEntry("f", 10, kT1)};
  Plan p = BuildPlan(remote, local, Options());
  EXPECT_EQ(p.fetch.size(), 1u);
}

TEST(Plan, RemovesExtraneousEntriesChildrenBeforeParents) {
  std::vector<Entry> remote = {FolderEntry("keep"), FileEntry("keep/f", 1, kT1)};
  std::vector<Entry> local = {
      FolderEntry("keep"),      FileEntry("keep/f", 1, kT1),   FileEntry("keep/old", 1, kT1),
      FolderEntry("x"),         FolderEntry("x/y"),            FileEntry("x/y/z", 1, kT1),
      SymlinkEntry("x/y/l", "z"), FileEntry("x/w", 1, kT1),    FolderEntry("x-sibling"),
      FileEntry("zz", 1, kT1),
  };
  Plan p = BuildPlan(remote, local, Options());
  std::vector<std::string> removed = RemovedPaths(p);
  std::multiset<std::string> got(removed.begin(), removed.end());
  EXPECT_EQ(got, (std::multiset<std::string>{"keep/old", "x", "x/y", "x/y/z", "x/y/l", "x/w",
                                             "x-sibling", "zz"}));
  ExpectChildrenBeforeParents(p);
  for (const Removal& r : p.removals) EXPECT_FALSE(r.replaced) << r.path;
  std::map<std::string, EntryType> types;
  for (const Removal& r : p.removals) types[r.path] = r.type;
  EXPECT_EQ(types["x/y"], EntryType::kFolder);
  EXPECT_EQ(types["x/y/l"], EntryType::kSymlink);
  EXPECT_EQ(types["zz"], EntryType::kFile);
  EXPECT_EQ(p.unchanged_files, 1u);
  EXPECT_TRUE(p.fetch.empty());
}

TEST(Plan, NoDeleteKeepsExtraneousEntries) {
  std::vector<Entry> remote = {FileEntry("a", 1, kT1)};
  std::vector<Entry> local = {FileEntry("a", 1, kT1), FolderEntry("x"), FileEntry("x/y", 1, kT1),
                              SymlinkEntry("l", "a")};
  Plan p = BuildPlan(remote, local, Options(/*delete_extraneous=*/false));
  EXPECT_TRUE(p.removals.empty());
  EXPECT_EQ(p.unchanged_files, 1u);
}

TEST(Plan, IncompleteListingNeverDeletesExtraneousEntries) {
  std::vector<Entry> remote = {FileEntry("a", 1, kT1)};
  std::vector<Entry> local = {FileEntry("a", 1, kT1), FolderEntry("x"), FileEntry("x/y", 1, kT1)};
  Plan p = BuildPlan(remote, local, Options(/*delete_extraneous=*/true,
                                            /*listing_complete=*/false));
  EXPECT_TRUE(p.removals.empty());
}

TEST(Plan, ReplacesLocalFolderWithContentsWhereServerHasFile) {
  std::vector<Entry> remote = {FileEntry("d", 5, kT1)};
  std::vector<Entry> local = {FolderEntry("d"), FileEntry("d/a", 1, kT1), FolderEntry("d/b"),
                              FileEntry("d/b/c", 1, kT1)};
  for (bool del : {true, false}) {
    for (bool complete : {true, false}) {
      Plan p = BuildPlan(remote, local, Options(del, complete));
      std::vector<std::string> removed = RemovedPaths(p);
      std::multiset<std::string> got(removed.begin(), removed.end());
      EXPECT_EQ(got, (std::multiset<std::string>{"d", "d/a", "d/b", "d/b/c"}));
      ASSERT_FALSE(p.removals.empty());
      EXPECT_EQ(p.removals.back().path, "d");
      EXPECT_EQ(p.removals.back().type, EntryType::kFolder);
      ExpectChildrenBeforeParents(p);
      for (const Removal& r : p.removals) EXPECT_TRUE(r.replaced) << r.path;
      ASSERT_EQ(p.fetch.size(), 1u);
      EXPECT_EQ(p.fetch[0].index, 0u);
    }
  }
}

TEST(Plan, ReplacesLocalFileWhereServerHasFolder) {
  std::vector<Entry> remote = {FolderEntry("d"), FileEntry("d/x", 3, kT1)};
  std::vector<Entry> local = {FileEntry("d", 3, kT1)};
  Plan p = BuildPlan(remote, local, Options(/*delete_extraneous=*/false));
  ASSERT_EQ(p.removals.size(), 1u);
  EXPECT_EQ(p.removals[0].path, "d");
  EXPECT_EQ(p.removals[0].type, EntryType::kFile);
  EXPECT_TRUE(p.removals[0].replaced);
  EXPECT_EQ(p.create_folders, (std::vector<uint32_t>{0}));
  ASSERT_EQ(p.fetch.size(), 1u);
  EXPECT_EQ(p.fetch[0].index, 1u);
  EXPECT_FALSE(p.fetch[0].existing);
}

TEST(Plan, ReplacesSymlinkWithADifferentTarget) {
  std::vector<Entry> remote = {SymlinkEntry("l", "new"), SymlinkEntry("same", "t")};
  std::vector<Entry> local = {SymlinkEntry("l", "old"), SymlinkEntry("same", "t")};
  Plan p = BuildPlan(remote, local, Options(/*delete_extraneous=*/false));
  ASSERT_EQ(p.removals.size(), 1u);
  EXPECT_EQ(p.removals[0].path, "l");
  EXPECT_EQ(p.removals[0].type, EntryType::kSymlink);
  EXPECT_TRUE(p.removals[0].replaced);
  EXPECT_EQ(p.create_symlinks, (std::vector<uint32_t>{0}));
}

TEST(Plan, ReplacesSymlinkWhereServerHasFolderOrFile) {
  std::vector<Entry> remote = {FolderEntry("d"), FileEntry("d/f", 1, kT1), FileEntry("f", 1, kT1)};
  // A local symlink to a folder is listed as a symlink, never entered.
  std::vector<Entry> local = {SymlinkEntry("d", "/etc"), SymlinkEntry("f", "elsewhere")};
  Plan p = BuildPlan(remote, local, Options(/*delete_extraneous=*/false));
  std::vector<std::string> removed = RemovedPaths(p);
  std::multiset<std::string> got(removed.begin(), removed.end());
  EXPECT_EQ(got, (std::multiset<std::string>{"d", "f"}));
  for (const Removal& r : p.removals) EXPECT_TRUE(r.replaced) << r.path;
  EXPECT_EQ(p.create_folders, (std::vector<uint32_t>{0}));
  ASSERT_EQ(p.fetch.size(), 2u);
  EXPECT_FALSE(p.fetch[0].existing);
  EXPECT_FALSE(p.fetch[1].existing);
}

TEST(Plan, MtimesEqualToTheTargetsGranularityAreTheSame) {
  // A Windows target keeps 100 ns ticks: the server's last two digits are
  // lost when the time is set, and must not make every re-pull a fetch.
  std::vector<Entry> remote = {FileEntry("f", 10, 1600000000123456789),
                               FileEntry("g", 10, 1600000000123456789)};
  std::vector<Entry> local = {FileEntry("f", 10, 1600000000123456700),
                              FileEntry("g", 10, 1600000000123456600)};
  PlanOptions o = Options();
  o.mtime_granularity_ns = 100;
  Plan p = BuildPlan(remote, local, o);
  ASSERT_EQ(p.fetch.size(), 1u);
  EXPECT_EQ(p.fetch[0].index, 1u);
  EXPECT_TRUE(p.fix_metadata.empty());
  EXPECT_EQ(p.unchanged_files, 1u);
}

TEST(Plan, SameMtimeRoundsTimesBefore1970Down) {
  EXPECT_TRUE(SameMtime(-150, -101, 100));
  EXPECT_FALSE(SameMtime(-100, -101, 100));
  EXPECT_TRUE(SameMtime(-100, -1, 100));
  EXPECT_FALSE(SameMtime(-1, 0, 100));
  EXPECT_FALSE(SameMtime(5, 6, 1));
}

TEST(Plan, PermissionBitsAreNotComparedWhereTheTargetKeepsNone) {
  std::vector<Entry> remote = {FileEntry("f", 10, kT1, 0755)};
  std::vector<Entry> local = {FileEntry("f", 10, kT1, 0644)};
  PlanOptions o = Options();
  o.compare_mode = false;
  Plan p = BuildPlan(remote, local, o);
  EXPECT_TRUE(p.fetch.empty());
  EXPECT_TRUE(p.fix_metadata.empty());
  EXPECT_EQ(p.unchanged_files, 1u);
}

TEST(Plan, FixesModeWhenOnlyPermissionBitsDiffer) {
  std::vector<Entry> remote = {FileEntry("f", 10, kT1, 0755), FileEntry("g", 10, kT1, 0644)};
  std::vector<Entry> local = {FileEntry("f", 10, kT1, 0644), FileEntry("g", 10, kT1, 0644)};
  Plan p = BuildPlan(remote, local, Options());
  EXPECT_TRUE(p.fetch.empty());
  EXPECT_EQ(p.fix_metadata, (std::vector<uint32_t>{0}));
  EXPECT_EQ(p.unchanged_files, 2u);
}

TEST(Plan, ChecksumComparesHashesNotMtimes) {
  Hash128 h1{1, 2}, h2{3, 4};
  Entry r_same = FileEntry("same", 10, kT2);
  r_same.has_hash = true;
  r_same.hash = h1;
  Entry r_diff = FileEntry("diff", 10, kT1);
  r_diff.has_hash = true;
  r_diff.hash = h1;
  Entry r_nohash = FileEntry("nohash", 10, kT1);
  std::vector<Entry> remote = {r_same, r_diff, r_nohash};

  Entry l_same = FileEntry("same", 10, kT1);  // older mtime, same content
  l_same.has_hash = true;
  l_same.hash = h1;
  Entry l_diff = FileEntry("diff", 10, kT1);  // same mtime, other content
  l_diff.has_hash = true;
  l_diff.hash = h2;
  Entry l_nohash = FileEntry("nohash", 10, kT1);
  std::vector<Entry> local = {l_same, l_diff, l_nohash};

  PlanOptions o = Options();
  o.checksum = true;
  Plan p = BuildPlan(remote, local, o);
  ASSERT_EQ(p.fetch.size(), 2u);
  EXPECT_EQ(p.fetch[0].index, 1u);
  EXPECT_TRUE(p.fetch[0].existing);
  EXPECT_EQ(p.fetch[1].index, 2u);
  EXPECT_EQ(p.unchanged_files, 1u);
  EXPECT_EQ(p.fix_metadata, (std::vector<uint32_t>{0}));  // only its mtime is set
}

TEST(Plan, SkippedEntriesAreLeftOut) {
  std::vector<Entry> remote = {FolderEntry("bad"), FileEntry("bad/f", 1, kT1),
                               FileEntry("ok", 1, kT1)};
  std::vector<bool> skip = {true, true, false};
  Plan p = BuildPlan(remote, {}, Options(), &skip);
  EXPECT_TRUE(p.create_folders.empty());
  ASSERT_EQ(p.fetch.size(), 1u);
  EXPECT_EQ(p.fetch[0].index, 2u);
}

// The plan guesses that the listing follows the local walk's order; a
// listing in another order (any server may send one) must plan the same.
TEST(Plan, ListingOrderDoesNotChangeThePlan) {
  std::vector<Entry> local = {FolderEntry("a"),          FileEntry("a/f", 1, kT1),
                              FileEntry("a/g", 2, kT1),  FileEntry("a/old", 1, kT1),
                              SymlinkEntry("l", "a/f"),  FileEntry("z", 3, kT1)};
  std::vector<Entry> remote = {FolderEntry("a"),         FileEntry("a/f", 1, kT1),
                               FileEntry("a/g", 2, kT2), FileEntry("a/new", 4, kT1),
                               SymlinkEntry("l", "a/g"), FileEntry("z", 3, kT1)};
  auto summary = [](const std::vector<Entry>& listing, const Plan& p) {
    std::set<std::string> out;
    for (const Removal& r : p.removals) out.insert("remove " + r.path);
    for (uint32_t i : p.create_symlinks) out.insert("link " + listing[i].path);
    for (const Plan::Fetch& f : p.fetch) out.insert("fetch " + listing[f.index].path);
    out.insert("unchanged " + std::to_string(p.unchanged_files));
    return out;
  };
  std::set<std::string> in_order = summary(remote, BuildPlan(remote, local, Options()));
  EXPECT_EQ(in_order, (std::set<std::string>{"remove a/old", "remove l", "link l", "fetch a/g",
                                             "fetch a/new", "unchanged 2"}));
  std::vector<Entry> reversed(remote.rbegin(), remote.rend());
  EXPECT_EQ(summary(reversed, BuildPlan(reversed, local, Options())), in_order);
}

}  // namespace
}  // namespace treesync
