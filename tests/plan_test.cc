#include "plan.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace treesync {
namespace {

using test::FileEntry;
using test::FolderEntry;
using test::SymlinkEntry;

constexpr int64_t kT1 = 1600000000123456789;
constexpr int64_t kT2 = 1700000000987654321;

TEST(Plan, CreatesWhatTheTargetLacks) {
  PlanOptions o;
  EntryPlan folder = PlanEntry(FolderEntry("d"), nullptr, o);
  EXPECT_TRUE(folder.create);
  EXPECT_FALSE(folder.remove_local);
  EntryPlan link = PlanEntry(SymlinkEntry("l", "target"), nullptr, o);
  EXPECT_TRUE(link.create);
  EntryPlan file = PlanEntry(FileEntry("f", 10, kT1), nullptr, o);
  EXPECT_TRUE(file.fetch);
  EXPECT_FALSE(file.existing);
}

TEST(Plan, ReplacesASpecialFileOfAnotherKindOrDevice) {
  Entry fifo;
  fifo.path = "x";
  fifo.type = EntryType::kSpecial;
  fifo.special = SpecialKind::kFifo;
  fifo.mode = 0644;
  Entry same = fifo;
  EntryPlan p = PlanEntry(fifo, &same, PlanOptions());
  EXPECT_FALSE(p.remove_local || p.create || p.fix_metadata);
  same.mode = 0600;
  EXPECT_TRUE(PlanEntry(fifo, &same, PlanOptions()).fix_metadata);
  Entry sock = fifo;
  sock.special = SpecialKind::kSocket;
  p = PlanEntry(fifo, &sock, PlanOptions());
  EXPECT_TRUE(p.remove_local && p.create);
  Entry dev = fifo, other = fifo;
  dev.special = other.special = SpecialKind::kBlockDevice;
  dev.rdev_minor = 1;
  other.rdev_minor = 2;
  p = PlanEntry(dev, &other, PlanOptions());
  EXPECT_TRUE(p.remove_local && p.create);
}

TEST(Plan, SkipsFilesWithEqualSizeAndMtime) {
  Entry f = FileEntry("f", 10, kT1);
  EntryPlan p = PlanEntry(f, &f, PlanOptions());
  EXPECT_FALSE(p.fetch);
  EXPECT_FALSE(p.fix_metadata);
  EXPECT_FALSE(p.remove_local);
}

TEST(Plan, FetchesFileWhoseSizeOrMtimeChanged) {
  Entry remote = FileEntry("f", 10, kT1);
  Entry bigger = FileEntry("f", 11, kT1);
  Entry newer = FileEntry("f", 10, kT2);
  Entry nanos = FileEntry("f", 10, kT1 + 1);
  for (const Entry* local : {&bigger, &newer, &nanos}) {
    EntryPlan p = PlanEntry(remote, local, PlanOptions());
    EXPECT_TRUE(p.fetch);
    EXPECT_TRUE(p.existing);
    EXPECT_FALSE(p.remove_local);
  }
}

TEST(Plan, AnEntryOfAnotherKindIsRemovedFirst) {
  PlanOptions o;
  Entry folder = FolderEntry("x"), file = FileEntry("x", 3, kT1), link = SymlinkEntry("x", "t");
  EntryPlan p = PlanEntry(file, &folder, o);
  EXPECT_TRUE(p.remove_local);
  EXPECT_TRUE(p.fetch);
  EXPECT_FALSE(p.existing);  // a folder is no basis for a file
  p = PlanEntry(folder, &file, o);
  EXPECT_TRUE(p.remove_local);
  EXPECT_TRUE(p.create);
  p = PlanEntry(folder, &link, o);
  EXPECT_TRUE(p.remove_local);
  EXPECT_TRUE(p.create);
  p = PlanEntry(folder, &folder, o);
  EXPECT_FALSE(p.remove_local);
  EXPECT_FALSE(p.create);
}

TEST(Plan, ReplacesSymlinkWithADifferentTarget) {
  Entry remote = SymlinkEntry("l", "new"), same = SymlinkEntry("l", "new"),
        other = SymlinkEntry("l", "old");
  EXPECT_FALSE(PlanEntry(remote, &same, PlanOptions()).create);
  EntryPlan p = PlanEntry(remote, &other, PlanOptions());
  EXPECT_TRUE(p.remove_local);
  EXPECT_TRUE(p.create);
}

TEST(Plan, MtimesEqualToTheTargetsGranularityAreTheSame) {
  // A Windows target keeps 100 ns ticks: the server's last two digits are
  // lost when the time is set, and must not make every re-pull a fetch.
  PlanOptions o;
  o.mtime_granularity_ns = 100;
  Entry remote = FileEntry("f", 10, 1600000000123456789);
  Entry same_tick = FileEntry("f", 10, 1600000000123456700);
  Entry other_tick = FileEntry("f", 10, 1600000000123456600);
  EntryPlan p = PlanEntry(remote, &same_tick, o);
  EXPECT_FALSE(p.fetch);
  EXPECT_FALSE(p.fix_metadata);
  EXPECT_TRUE(PlanEntry(remote, &other_tick, o).fetch);
}

TEST(Plan, SameMtimeRoundsTimesBefore1970Down) {
  EXPECT_TRUE(SameMtime(-150, -101, 100));
  EXPECT_FALSE(SameMtime(-100, -101, 100));
  EXPECT_TRUE(SameMtime(-100, -1, 100));
  EXPECT_FALSE(SameMtime(-1, 0, 100));
  EXPECT_FALSE(SameMtime(5, 6, 1));
}

TEST(Plan, PermissionBitsAreNotComparedWhereTheTargetKeepsNone) {
  PlanOptions o;
  o.compare_mode = false;
  Entry remote = FileEntry("f", 10, kT1, 0755), local = FileEntry("f", 10, kT1, 0644);
  EntryPlan p = PlanEntry(remote, &local, o);
  EXPECT_FALSE(p.fetch);
  EXPECT_FALSE(p.fix_metadata);
}

TEST(Plan, FixesModeWhenOnlyPermissionBitsDiffer) {
  Entry remote = FileEntry("f", 10, kT1, 0755), local = FileEntry("f", 10, kT1, 0644);
  EntryPlan p = PlanEntry(remote, &local, PlanOptions());
  EXPECT_FALSE(p.fetch);
  EXPECT_TRUE(p.fix_metadata);
}

TEST(Plan, ChecksumComparesHashesNotMtimes) {
  PlanOptions o;
  o.checksum = true;
  Hash128 h1{1, 2}, h2{3, 4};
  Entry remote = FileEntry("f", 10, kT2);
  remote.has_hash = true;
  remote.hash = h1;
  Entry same = FileEntry("f", 10, kT1);  // older mtime, same content
  same.has_hash = true;
  same.hash = h1;
  Entry other = FileEntry("f", 10, kT2);  // same mtime, other content
  other.has_hash = true;
  other.hash = h2;
  Entry unread = FileEntry("f", 10, kT2);  // its hash could not be read
  EntryPlan p = PlanEntry(remote, &same, o);
  EXPECT_FALSE(p.fetch);
  EXPECT_TRUE(p.fix_metadata);  // only its mtime is set
  p = PlanEntry(remote, &other, o);
  EXPECT_TRUE(p.fetch);
  EXPECT_TRUE(p.existing);
  EXPECT_TRUE(PlanEntry(remote, &unread, o).fetch);
}

}  // namespace
}  // namespace treesync
