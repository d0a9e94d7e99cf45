#include "receiver.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fs_meta.h"
#include "path.h"
#include "test_util.h"
#include "xxh3.h"

namespace fs = std::filesystem;

namespace treesync {
namespace {

using test::Exists;
using test::FileEntry;
using test::FolderEntry;
using test::ReadFile;
using test::SymlinkEntry;
using test::TempFolder;
using test::WriteFile;

constexpr int64_t kMtime = 1600000000123456789;

// A receiver pointed at a fresh temp folder, reporting into a scratch file.
class ReceiverTest : public ::testing::Test {
 protected:
  ReceiverTest()
      : log_(std::tmpfile()),
        reporter_(ReportOptions(), log_ != nullptr ? log_ : stderr,
                  log_ != nullptr ? log_ : stderr) {}
  ~ReceiverTest() override {
    rx_.reset();
    if (log_ != nullptr) std::fclose(log_);
  }

  std::vector<Want> wants_;

  std::string Root() const { return dir_.Join("target"); }

  Receiver* Make(const ReceiverOptions& options = ReceiverOptions()) {
    rx_.reset();
    wants_.clear();
    stats_ = PullStats();
    rx_ = std::make_unique<Receiver>(Root(), options, &reporter_, &stats_);
    Status s = rx_->Open();
    EXPECT_TRUE(s.ok()) << s.message();
    return rx_.get();
  }

  // The files the receiver decided to fetch so far, in order.
  const std::vector<Want>& Wants(Receiver* rx) {
    for (Want w; rx->NextWant(&w);) wants_.push_back(w);
    return wants_;
  }

  // Receives the file with listing index `index` and contents `data`, in
  // pieces, and returns whether it was verified and installed.
  bool Transfer(Receiver* rx, uint32_t index, const std::string& data, uint32_t mode,
                int64_t mtime_ns) {
    Begin b;
    b.index = index;
    EXPECT_TRUE(rx->BeginFile(b).ok());
    for (size_t pos = 0; pos < data.size(); pos += 1000) {
      size_t n = std::min<size_t>(1000, data.size() - pos);
      EXPECT_TRUE(rx->FileData(data.data() + pos, n).ok());
    }
    End e;
    e.size = data.size();
    e.mtime_ns = mtime_ns;
    e.mode = mode;
    e.hash = Xxh3_128(data.data(), data.size());
    Receiver::EndResult result;
    Status s = rx->EndFile(e, &result);
    EXPECT_TRUE(s.ok()) << s.message();
    s = rx->DrainInstalls(true);  // installed on the installer's thread
    EXPECT_TRUE(s.ok()) << s.message();
    return result == Receiver::EndResult::kInstalled;
  }

  // Names anywhere under the target that are receiver temporaries.
  std::vector<std::string> Temporaries() const {
    std::vector<std::string> out;
    if (!Exists(Root())) return out;
    for (const std::string& p : test::ListTree(Root())) {
      if (IsTempName(BaseName(p))) out.push_back(p);
    }
    return out;
  }

  TempFolder dir_;
  FILE* log_;
  Reporter reporter_;
  PullStats stats_;
  std::unique_ptr<Receiver> rx_;
};

std::string Data(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + 7) & 0xff);
  return s;
}

// ------------------------------------------------------------ listing rules

TEST_F(ReceiverTest, RefusesTheSameNameTwice) {
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(FileEntry("a", 1, kMtime)).ok());
  Status s = rx->AddEntry(FileEntry("a", 2, kMtime));
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol);
}

TEST_F(ReceiverTest, RefusesTheSameNameTwiceWithDifferentTypes) {
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(FolderEntry("a")).ok());
  Status s = rx->AddEntry(FileEntry("a", 1, kMtime));
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol);
  EXPECT_NE(s.message().find("sent twice"), std::string::npos) << s.message();
  EXPECT_EQ(rx->AddEntry(SymlinkEntry("a", "t")).kind(), ErrorKind::kProtocol);
}

TEST_F(ReceiverTest, RefusesAnEntryWhoseParentWasNotListed) {
  Receiver* rx = Make();
  EXPECT_EQ(rx->AddEntry(FileEntry("x/y", 1, kMtime)).kind(), ErrorKind::kProtocol);
  ASSERT_TRUE(rx->AddEntry(FolderEntry("x")).ok());
  EXPECT_EQ(rx->AddEntry(FileEntry("x/y/z", 1, kMtime)).kind(), ErrorKind::kProtocol);
  EXPECT_TRUE(rx->AddEntry(FileEntry("x/y", 1, kMtime)).ok());
}

TEST_F(ReceiverTest, RefusesAnEntryInsideAListedSymlink) {
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(SymlinkEntry("l", "/etc")).ok());
  EXPECT_EQ(rx->AddEntry(FileEntry("l/passwd", 1, kMtime)).kind(), ErrorKind::kProtocol);
  EXPECT_EQ(rx->AddEntry(FolderEntry("l/d")).kind(), ErrorKind::kProtocol);
}

TEST_F(ReceiverTest, RefusesAnEntryInsideAListedFile) {
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(FileEntry("f", 1, kMtime)).ok());
  EXPECT_EQ(rx->AddEntry(FileEntry("f/g", 1, kMtime)).kind(), ErrorKind::kProtocol);
}

TEST_F(ReceiverTest, WhereNamesIgnoreCaseSkipsEntriesDifferingOnlyInCase) {
  ReceiverOptions o;
  o.names_ignore_case = true;
  Receiver* rx = Make(o);
  ASSERT_TRUE(rx->AddEntry(FolderEntry("Dir")).ok());
  ASSERT_TRUE(rx->AddEntry(FileEntry("Dir/a", 1, kMtime)).ok());
  ASSERT_TRUE(rx->AddEntry(FileEntry("README", 1, kMtime)).ok());
  ASSERT_TRUE(rx->AddEntry(FolderEntry("dir")).ok());           // skipped, with
  ASSERT_TRUE(rx->AddEntry(FileEntry("dir/b", 1, kMtime)).ok());  // what is inside
  ASSERT_TRUE(rx->AddEntry(FileEntry("readme", 1, kMtime)).ok());  // skipped
  ASSERT_TRUE(rx->AddEntry(FileEntry("r\xc3\xa9sum\xc3\xa9", 1, kMtime)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  EXPECT_EQ(rx->failures(), 2u);
  std::vector<uint32_t> wanted;
  for (const Want& w : Wants(rx)) wanted.push_back(w.index);
  EXPECT_EQ(wanted, (std::vector<uint32_t>{1, 2, 6}));
  std::rewind(log_);
  char line[512] = "";
  ASSERT_NE(std::fgets(line, sizeof line, log_), nullptr);
  EXPECT_NE(std::string(line).find("dir: differs only in case from Dir"), std::string::npos)
      << line;
}

TEST_F(ReceiverTest, WhereNamesKeepCaseTakesEntriesDifferingOnlyInCase) {
  ReceiverOptions o;
  o.names_ignore_case = false;
  Receiver* rx = Make(o);
  ASSERT_TRUE(rx->AddEntry(FileEntry("README", 1, kMtime)).ok());
  ASSERT_TRUE(rx->AddEntry(FileEntry("readme", 1, kMtime)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  EXPECT_EQ(rx->failures(), 0u);
  EXPECT_EQ(Wants(rx).size(), 2u);
}

TEST_F(ReceiverTest, RefusesATemporaryName) {
  Receiver* rx = Make();
  Entry victim = FileEntry("d/victim", 10, kMtime);
  std::string temp = TempNameFor(victim);
  ASSERT_TRUE(IsTempName(temp));
  EXPECT_EQ(rx->AddEntry(FolderEntry(std::string(kTempPrefix) + "0123456789abcdef" + kTempSuffix))
                .kind(),
            ErrorKind::kProtocol);
  // Names that merely look alike are fine.
  EXPECT_TRUE(rx->AddEntry(FileEntry(std::string(kTempPrefix) + "notes.txt", 1, kMtime)).ok());
  ASSERT_TRUE(rx->AddEntry(FolderEntry("d")).ok());
  EXPECT_EQ(rx->AddEntry(FileEntry("d/" + temp, 1, kMtime)).kind(), ErrorKind::kProtocol);
  // In any letter case: a case-blind file system would take it for ours.
  std::string upper = temp;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(rx->AddEntry(FileEntry("d/" + upper, 1, kMtime)).kind(), ErrorKind::kProtocol);
}

// ------------------------------------------------------------ watch rounds

TEST_F(ReceiverTest, APartialListingDeletesNothingItDoesNotListWhole) {
  WriteFile(Root() + "/a/keep", "k");
  WriteFile(Root() + "/a/sub/deep", "d");
  WriteFile(Root() + "/top", "t");
  ReceiverOptions o;
  o.partial_listing = true;
  Receiver* rx = Make(o);
  ASSERT_TRUE(rx->AddEntry(FolderEntry("a")).ok());
  ASSERT_TRUE(rx->AddEntry(FileEntry("a/new", 0, kMtime)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  EXPECT_EQ(Wants(rx).size(), 1u);  // what it lists is applied as ever
  ASSERT_TRUE(Transfer(rx, 1, "", 0644, kMtime));
  ASSERT_TRUE(rx->Finish().ok());
  EXPECT_TRUE(Exists(Root() + "/a/keep"));
  EXPECT_TRUE(Exists(Root() + "/a/sub/deep"));
  EXPECT_TRUE(Exists(Root() + "/top"));
  EXPECT_TRUE(Exists(Root() + "/a/new"));
}

TEST_F(ReceiverTest, AWholeFolderLosesWhatItsListingLacksButNotBelowItsFolders) {
  WriteFile(Root() + "/a/gone", "g");
  WriteFile(Root() + "/a/sub/deep", "d");
  WriteFile(Root() + "/top", "t");
  ReceiverOptions o;
  o.partial_listing = true;
  Receiver* rx = Make(o);
  ASSERT_TRUE(rx->AddEntry(FolderEntry("a")).ok());
  ASSERT_TRUE(rx->AddWhole("a", false).ok());
  ASSERT_TRUE(rx->AddEntry(FolderEntry("a/sub")).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  ASSERT_TRUE(rx->Finish().ok());
  EXPECT_FALSE(Exists(Root() + "/a/gone"));
  EXPECT_TRUE(Exists(Root() + "/a/sub/deep"));  // a/sub was not listed whole
  EXPECT_TRUE(Exists(Root() + "/top"));
}

TEST_F(ReceiverTest, AWholeTreeLosesEverythingItsListingLacks) {
  WriteFile(Root() + "/a/gone", "g");
  WriteFile(Root() + "/a/sub/deep", "d");
  WriteFile(Root() + "/top", "t");
  ReceiverOptions o;
  o.partial_listing = true;
  Receiver* rx = Make(o);
  ASSERT_TRUE(rx->AddEntry(FolderEntry("a")).ok());
  ASSERT_TRUE(rx->AddWhole("a", true).ok());
  ASSERT_TRUE(rx->AddEntry(FolderEntry("a/sub")).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  ASSERT_TRUE(rx->Finish().ok());
  EXPECT_FALSE(Exists(Root() + "/a/gone"));
  EXPECT_FALSE(Exists(Root() + "/a/sub/deep"));
  EXPECT_TRUE(Exists(Root() + "/top"));
}

TEST_F(ReceiverTest, WholeMustNameTheFolderJustListedBeforeItsEntries) {
  ReceiverOptions o;
  o.partial_listing = true;
  Receiver* rx = Make(o);
  ASSERT_TRUE(rx->AddWhole("", false).ok());  // the root, before anything
  ASSERT_TRUE(rx->AddEntry(FolderEntry("a")).ok());
  EXPECT_EQ(rx->AddWhole("", false).kind(), ErrorKind::kProtocol);
  EXPECT_EQ(rx->AddWhole("b", false).kind(), ErrorKind::kProtocol);
  ASSERT_TRUE(rx->AddEntry(FileEntry("a/f", 0, kMtime)).ok());
  EXPECT_EQ(rx->AddWhole("a", false).kind(), ErrorKind::kProtocol);  // after its first entry
}

TEST_F(ReceiverTest, WholeOutsideAWatchRoundIsAProtocolError) {
  Receiver* rx = Make();
  EXPECT_EQ(rx->AddWhole("", true).kind(), ErrorKind::kProtocol);
}

TEST_F(ReceiverTest, UnsharingLinksCopiesAFileBeforeChangingItsMode) {
  WriteFile(Root() + "/f", "shared");
  ASSERT_TRUE(platform::SetMode(Root() + "/f", 0644).ok());
  ASSERT_TRUE(platform::SetMtime(Root() + "/f", kMtime).ok());
  const std::string other = dir_.Join("other-name");
  fs::create_hard_link(Root() + "/f", other);
  ReceiverOptions o;
  o.unshare_links = true;
  Receiver* rx = Make(o);
  ASSERT_TRUE(rx->AddEntry(FileEntry("f", 6, kMtime, 0600)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  ASSERT_TRUE(rx->Finish().ok());
  EXPECT_TRUE(Wants(rx).empty());  // the data was current: not fetched
  platform::FileInfo mine, theirs;
  ASSERT_TRUE(platform::Lstat(Root() + "/f", &mine).ok());
  ASSERT_TRUE(platform::Lstat(other, &theirs).ok());
  if (platform::KeepsPermissionBits()) {
    EXPECT_EQ(mine.mode & 0777, 0600u);
    EXPECT_EQ(theirs.mode & 0777, 0644u);
  }
  EXPECT_NE(mine.inode, theirs.inode);
  EXPECT_EQ(ReadFile(Root() + "/f"), "shared");
  EXPECT_TRUE(Temporaries().empty());
}

TEST(TempName, IsStableAndRecognised) {
  Entry e = FileEntry("a/b", 5, kMtime);
  EXPECT_EQ(TempNameFor(e), TempNameFor(e));
  EXPECT_TRUE(IsTempName(TempNameFor(e)));
  Entry other = e;
  other.size = 6;
  EXPECT_NE(TempNameFor(e), TempNameFor(other));
  EXPECT_FALSE(IsTempName("b"));
  EXPECT_FALSE(IsTempName(std::string(kTempPrefix) + "0123456789ABCDEF" + kTempSuffix));
  EXPECT_FALSE(IsTempName(std::string(kTempPrefix) + "0123456789abcde" + kTempSuffix));
}

// --------------------------------------------------------------- opening

TEST_F(ReceiverTest, OpenCreatesAMissingTarget) {
  ASSERT_FALSE(Exists(Root()));
  Make();
  EXPECT_TRUE(fs::is_directory(Root()));
}

TEST_F(ReceiverTest, OpenOnARegularFileIsBadFolder) {
  WriteFile(Root(), "not a folder");
  Receiver rx(Root(), ReceiverOptions(), &reporter_, &stats_);
  EXPECT_EQ(rx.Open().kind(), ErrorKind::kBadFolder);
  EXPECT_EQ(ReadFile(Root()), "not a folder");
}

// ----------------------------------------------------------- transfers

TEST_F(ReceiverTest, InstallsAFileWithItsBytesModeAndMtime) {
  Receiver* rx = Make();
  const std::string data = Data(5000);
  ASSERT_TRUE(rx->AddEntry(FolderEntry("d", 0755, kMtime)).ok());
  ASSERT_TRUE(rx->AddEntry(FileEntry("d/f", data.size(), kMtime, 0751)).ok());
  ASSERT_TRUE(rx->AddEntry(FileEntry("empty", 0, kMtime + 1, 0600)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  ASSERT_EQ(Wants(rx).size(), 2u);
  EXPECT_EQ(Wants(rx)[0].index, 1u);
  EXPECT_EQ(Wants(rx)[0].offset, 0u);
  EXPECT_EQ(Wants(rx)[1].index, 2u);
  EXPECT_TRUE(fs::is_directory(dir_.Join("target/d")));

  EXPECT_TRUE(Transfer(rx, 1, data, 0751, kMtime));
  EXPECT_TRUE(Transfer(rx, 2, "", 0600, kMtime + 1));
  ASSERT_TRUE(rx->Finish().ok());

  EXPECT_EQ(ReadFile(dir_.Join("target/d/f")), data);
  platform::FileInfo info;
  ASSERT_TRUE(platform::Lstat(dir_.Join("target/d/f"), &info).ok());
  EXPECT_EQ(info.type, platform::FileType::kRegular);
  EXPECT_EQ(info.mode & 0777, 0751u);
  EXPECT_EQ(info.mtime_ns, kMtime);
  ASSERT_TRUE(platform::Lstat(dir_.Join("target/empty"), &info).ok());
  EXPECT_EQ(info.type, platform::FileType::kRegular);
  EXPECT_EQ(info.size, 0u);
  EXPECT_EQ(info.mode & 0777, 0600u);
  EXPECT_EQ(info.mtime_ns, kMtime + 1);
  ASSERT_TRUE(platform::Lstat(dir_.Join("target/d"), &info).ok());
  EXPECT_EQ(info.mtime_ns, kMtime);  // set by Finish, after the file went in
  EXPECT_TRUE(Temporaries().empty());
  EXPECT_EQ(stats_.files_transferred, 2u);
  EXPECT_EQ(stats_.bytes_transferred, data.size());
}

TEST_F(ReceiverTest, CreatesFoldersAndSymlinks) {
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(FolderEntry("a")).ok());
  ASSERT_TRUE(rx->AddEntry(FolderEntry("a/b")).ok());
  ASSERT_TRUE(rx->AddEntry(SymlinkEntry("a/b/l", "../../elsewhere", kMtime)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  EXPECT_TRUE(Wants(rx).empty());
  ASSERT_TRUE(rx->Finish().ok());
  EXPECT_TRUE(fs::is_directory(dir_.Join("target/a/b")));
  std::string target;
  ASSERT_TRUE(platform::ReadSymlink(dir_.Join("target/a/b/l"), &target).ok());
  EXPECT_EQ(target, "../../elsewhere");
  platform::FileInfo info;
  ASSERT_TRUE(platform::Lstat(dir_.Join("target/a/b/l"), &info).ok());
  EXPECT_EQ(info.mtime_ns, kMtime);
}

TEST_F(ReceiverTest, HolesAreLeftUnwrittenAndCountInTheHash) {
  Receiver* rx = Make();
  const uint64_t size = 64ull << 20;
  const std::string data = Data(4096);
  ASSERT_TRUE(rx->AddEntry(FileEntry("img", size, kMtime)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  ASSERT_EQ(Wants(rx).size(), 1u);
  Begin b;
  ASSERT_TRUE(rx->BeginFile(b).ok());
  ASSERT_TRUE(rx->FileHole(1 << 20).ok());
  ASSERT_TRUE(rx->FileData(data.data(), data.size()).ok());
  ASSERT_TRUE(rx->FileHole(size - (1 << 20) - data.size()).ok());  // ends in a hole
  Xxh3Hasher h;
  h.UpdateZeros(1 << 20);
  h.Update(data.data(), data.size());
  h.UpdateZeros(size - (1 << 20) - data.size());
  End e;
  e.size = size;
  e.mtime_ns = kMtime;
  e.mode = 0644;
  e.hash = h.Digest();
  Receiver::EndResult result;
  ASSERT_TRUE(rx->EndFile(e, &result).ok());
  ASSERT_TRUE(rx->DrainInstalls(true).ok());
  ASSERT_EQ(result, Receiver::EndResult::kInstalled);
  platform::FileInfo info;
  ASSERT_TRUE(platform::Lstat(dir_.Join("target/img"), &info).ok());
  EXPECT_EQ(info.size, size);
  EXPECT_LT(info.allocated, 1u << 20);  // the holes took no disk
  const std::string got = ReadFile(dir_.Join("target/img"));
  EXPECT_EQ(got.substr(1 << 20, data.size()), data);
  EXPECT_EQ(got.find_first_not_of('\0', (1 << 20) + data.size()), std::string::npos);
}

TEST_F(ReceiverTest, RefusesAHolePastTheListedSize) {
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(FileEntry("f", 10000, kMtime)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  Begin b;
  ASSERT_TRUE(rx->BeginFile(b).ok());
  const std::string data = Data(5000);
  ASSERT_TRUE(rx->FileData(data.data(), data.size()).ok());
  EXPECT_EQ(rx->FileHole(5001).kind(), ErrorKind::kProtocol);
  EXPECT_EQ(rx->FileHole(1ull << 62).kind(), ErrorKind::kProtocol);
  EXPECT_TRUE(rx->FileHole(5000).ok());
}

TEST_F(ReceiverTest, HashMismatchLeavesNoFileAndNoTemporary) {
  Receiver* rx = Make();
  const std::string data = Data(3000);
  ASSERT_TRUE(rx->AddEntry(FileEntry("f", data.size(), kMtime)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  Begin b;
  b.index = 0;
  ASSERT_TRUE(rx->BeginFile(b).ok());
  ASSERT_TRUE(rx->FileData(data.data(), data.size()).ok());
  End e;
  e.size = data.size();
  e.mtime_ns = kMtime;
  e.mode = 0644;
  e.hash = Xxh3_128(data.data(), data.size());
  e.hash.low ^= 1;
  Receiver::EndResult result;
  ASSERT_TRUE(rx->EndFile(e, &result).ok());
  EXPECT_FALSE(result == Receiver::EndResult::kInstalled);
  EXPECT_FALSE(Exists(dir_.Join("target/f")));
  EXPECT_TRUE(Temporaries().empty());
}

TEST_F(ReceiverTest, SizeMismatchLeavesNoFileAndNoTemporary) {
  Receiver* rx = Make();
  const std::string data = Data(3000);
  ASSERT_TRUE(rx->AddEntry(FileEntry("f", data.size(), kMtime)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  Begin b;
  ASSERT_TRUE(rx->BeginFile(b).ok());
  ASSERT_TRUE(rx->FileData(data.data(), 100).ok());
  End e;
  e.size = data.size();
  e.mtime_ns = kMtime;
  e.hash = Xxh3_128(data.data(), 100);
  Receiver::EndResult result;
  ASSERT_TRUE(rx->EndFile(e, &result).ok());
  EXPECT_FALSE(result == Receiver::EndResult::kInstalled);
  EXPECT_FALSE(Exists(dir_.Join("target/f")));
  EXPECT_TRUE(Temporaries().empty());
}

TEST_F(ReceiverTest, FailedVerificationKeepsTheOldFile) {
  WriteFile(dir_.Join("target/f"), "old contents");
  ASSERT_TRUE(platform::SetMtime(dir_.Join("target/f"), kMtime - 1).ok());
  Receiver* rx = Make();
  const std::string data = Data(100);
  ASSERT_TRUE(rx->AddEntry(FileEntry("f", data.size(), kMtime)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  ASSERT_EQ(Wants(rx).size(), 1u);
  Begin b;
  ASSERT_TRUE(rx->BeginFile(b).ok());
  ASSERT_TRUE(rx->FileData(data.data(), data.size()).ok());
  End e;
  e.size = data.size();
  e.hash = Xxh3_128("other", 5);
  Receiver::EndResult result;
  ASSERT_TRUE(rx->EndFile(e, &result).ok());
  EXPECT_FALSE(result == Receiver::EndResult::kInstalled);
  EXPECT_EQ(ReadFile(dir_.Join("target/f")), "old contents");
  EXPECT_TRUE(Temporaries().empty());
}

TEST_F(ReceiverTest, DestroyedMidFileLeavesNoTemporaryAndNoFile) {
  {
    Receiver* rx = Make();
    ASSERT_TRUE(rx->AddEntry(FolderEntry("d")).ok());
    ASSERT_TRUE(rx->AddEntry(FileEntry("d/f", 10000, kMtime)).ok());
    ASSERT_TRUE(rx->EndListing(true).ok());
    Begin b;
    b.index = 1;
    ASSERT_TRUE(rx->BeginFile(b).ok());
    const std::string half = Data(5000);
    ASSERT_TRUE(rx->FileData(half.data(), half.size()).ok());
    ASSERT_FALSE(Temporaries().empty());  // the data is somewhere meanwhile
    rx_.reset();
  }
  EXPECT_TRUE(Temporaries().empty());
  EXPECT_FALSE(Exists(dir_.Join("target/d/f")));
}

TEST_F(ReceiverTest, KeptPartialDataIsResumed) {
  const std::string data = Data(20000);
  Entry f = FileEntry("f", data.size(), kMtime);
  {
    Receiver* rx = Make();
    ASSERT_TRUE(rx->AddEntry(f).ok());
    ASSERT_TRUE(rx->EndListing(true).ok());
    Begin b;
    ASSERT_TRUE(rx->BeginFile(b).ok());
    ASSERT_TRUE(rx->FileData(data.data(), 8000).ok());
    rx->KeepPartial();
    rx_.reset();
  }
  EXPECT_EQ(Temporaries(), (std::vector<std::string>{TempNameFor(f)}));
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(f).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  ASSERT_EQ(Wants(rx).size(), 1u);
  EXPECT_EQ(Wants(rx)[0].offset, 8000u);
  Begin b;
  b.offset = 8000;
  ASSERT_TRUE(rx->BeginFile(b).ok());
  ASSERT_TRUE(rx->FileData(data.data() + 8000, data.size() - 8000).ok());
  End e;
  e.size = data.size();
  e.mtime_ns = kMtime;
  e.mode = 0644;
  e.hash = Xxh3_128(data.data(), data.size());
  Receiver::EndResult result;
  ASSERT_TRUE(rx->EndFile(e, &result).ok());
  EXPECT_TRUE(result == Receiver::EndResult::kInstalled);
  ASSERT_TRUE(rx->DrainInstalls(true).ok());
  EXPECT_EQ(ReadFile(dir_.Join("target/f")), data);
  EXPECT_TRUE(Temporaries().empty());
}

// Temporaries are created with the listing's mode. Partial data of a
// read-only file must still be resumable by a user who is not root (as
// root the permission bits are not enforced, so this passes either way).
TEST_F(ReceiverTest, KeptPartialDataOfAReadOnlyFileIsResumed) {
  const std::string data = Data(4000);
  Entry f = FileEntry("ro", data.size(), kMtime, 0444);
  {
    Receiver* rx = Make();
    ASSERT_TRUE(rx->AddEntry(f).ok());
    ASSERT_TRUE(rx->EndListing(true).ok());
    Begin b;
    ASSERT_TRUE(rx->BeginFile(b).ok());
    ASSERT_TRUE(rx->FileData(data.data(), 1000).ok());
    rx->KeepPartial();
    rx_.reset();
  }
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(f).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  ASSERT_EQ(Wants(rx).size(), 1u);
  ASSERT_EQ(Wants(rx)[0].offset, 1000u);
  Begin b;
  b.offset = 1000;
  Status s = rx->BeginFile(b);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(rx->FileData(data.data() + 1000, data.size() - 1000).ok());
  End e;
  e.size = data.size();
  e.mtime_ns = kMtime;
  e.mode = 0444;
  e.hash = Xxh3_128(data.data(), data.size());
  Receiver::EndResult result;
  ASSERT_TRUE(rx->EndFile(e, &result).ok());
  EXPECT_TRUE(result == Receiver::EndResult::kInstalled);
  ASSERT_TRUE(rx->DrainInstalls(true).ok());
  EXPECT_EQ(ReadFile(dir_.Join("target/ro")), data);
  platform::FileInfo info;
  ASSERT_TRUE(platform::Lstat(dir_.Join("target/ro"), &info).ok());
  EXPECT_EQ(info.mode & 0777, 0444u);
}

TEST_F(ReceiverTest, ApplyListingRemovesLeftoverTemporaries) {
  const std::string stale = std::string(kTempPrefix) + "0123456789abcdef" + kTempSuffix;
  WriteFile(dir_.Join("target/" + stale), "junk");
  WriteFile(dir_.Join("target/d/" + stale), "junk");
  Receiver* rx = Make(ReceiverOptions());
  ASSERT_TRUE(rx->AddEntry(FolderEntry("d")).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  EXPECT_TRUE(Temporaries().empty());
  EXPECT_TRUE(fs::is_directory(dir_.Join("target/d")));
}

TEST_F(ReceiverTest, ApplyListingRemovesLeftoverTemporariesEvenWithNoDelete) {
  const std::string stale = std::string(kTempPrefix) + "fedcba9876543210" + kTempSuffix;
  WriteFile(dir_.Join("target/" + stale), "junk");
  ReceiverOptions o;
  o.delete_extraneous = false;
  Receiver* rx = Make(o);
  ASSERT_TRUE(rx->EndListing(true).ok());
  EXPECT_TRUE(Temporaries().empty());
}

// ------------------------------------------------------------- the plan, applied

TEST_F(ReceiverTest, SkipsCurrentFilesAndDeletesExtraneousOnes) {
  WriteFile(dir_.Join("target/same"), "12345");
  ASSERT_TRUE(platform::SetMtime(dir_.Join("target/same"), kMtime).ok());
  WriteFile(dir_.Join("target/gone/deep/x"), "x");
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(FileEntry("same", 5, kMtime)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  EXPECT_TRUE(Wants(rx).empty());
  EXPECT_FALSE(Exists(dir_.Join("target/gone")));
  EXPECT_EQ(ReadFile(dir_.Join("target/same")), "12345");
  EXPECT_EQ(stats_.files_skipped, 1u);
}

TEST_F(ReceiverTest, NoDeleteKeepsExtraneousEntries) {
  WriteFile(dir_.Join("target/extra"), "x");
  ReceiverOptions o;
  o.delete_extraneous = false;
  Receiver* rx = Make(o);
  ASSERT_TRUE(rx->AddEntry(FolderEntry("d")).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  EXPECT_EQ(ReadFile(dir_.Join("target/extra")), "x");
}

TEST_F(ReceiverTest, IncompleteListingKeepsExtraneousEntries) {
  // A sender that says only at its end whether it listed everything.
  WriteFile(dir_.Join("target/extra"), "x");
  Receiver* rx = Make();
  rx->DeferDeletions();
  ASSERT_TRUE(rx->EndListing(false).ok());
  EXPECT_EQ(ReadFile(dir_.Join("target/extra")), "x");
}

TEST_F(ReceiverTest, DeferredDeletionsWaitForACompleteListing) {
  WriteFile(dir_.Join("target/d/extra"), "x");
  Receiver* rx = Make();
  rx->DeferDeletions();
  ASSERT_TRUE(rx->AddEntry(FolderEntry("d")).ok());
  ASSERT_TRUE(rx->AddEntry(FileEntry("e", 1, kMtime)).ok());  // d's listing is over
  EXPECT_TRUE(Exists(dir_.Join("target/d/extra")));
  ASSERT_TRUE(rx->EndListing(true).ok());
  EXPECT_FALSE(Exists(dir_.Join("target/d/extra")));
}

TEST_F(ReceiverTest, DeletesAFoldersExtraneousEntriesOnceItsListingIsOver) {
  WriteFile(dir_.Join("target/a/extra"), "x");
  WriteFile(dir_.Join("target/b/extra"), "x");
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(FolderEntry("a")).ok());
  ASSERT_TRUE(rx->AddEntry(FileEntry("a/f", 1, kMtime)).ok());
  EXPECT_TRUE(Exists(dir_.Join("target/a/extra")));  // a is still being listed
  ASSERT_TRUE(rx->AddEntry(FolderEntry("b")).ok());
  EXPECT_FALSE(Exists(dir_.Join("target/a/extra")));
  EXPECT_TRUE(Exists(dir_.Join("target/b/extra")));
  ASSERT_TRUE(rx->AddGap("b", "b/x: unreadable").ok());
  ASSERT_TRUE(rx->EndListing(false).ok());
  // The sender could not list all of b: nothing in it goes.
  EXPECT_TRUE(Exists(dir_.Join("target/b/extra")));
  EXPECT_EQ(rx->failures(), 1u);
}

TEST_F(ReceiverTest, RefusesAGapForAFolderNoLongerListed) {
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(FolderEntry("a")).ok());
  ASSERT_TRUE(rx->AddEntry(FolderEntry("b")).ok());
  EXPECT_TRUE(rx->AddGap("b", "m").ok());
  EXPECT_TRUE(rx->AddGap("", "m").ok());
  EXPECT_EQ(rx->AddGap("a", "m").kind(), ErrorKind::kProtocol);
  EXPECT_EQ(rx->AddGap("c", "m").kind(), ErrorKind::kProtocol);
}

TEST_F(ReceiverTest, RefusesNamesOutOfOrderInAFolder) {
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(FolderEntry("d")).ok());
  ASSERT_TRUE(rx->AddEntry(FileEntry("d/b", 1, kMtime)).ok());
  EXPECT_EQ(rx->AddEntry(FileEntry("d/a", 1, kMtime)).kind(), ErrorKind::kProtocol);
}

TEST_F(ReceiverTest, RefusesAnEntryOfAFolderWhoseListingIsOver) {
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(FolderEntry("a")).ok());
  ASSERT_TRUE(rx->AddEntry(FolderEntry("b")).ok());
  EXPECT_EQ(rx->AddEntry(FileEntry("a/late", 1, kMtime)).kind(), ErrorKind::kProtocol);
}

TEST_F(ReceiverTest, RefusesMoreDataThanTheListingGave) {
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(FileEntry("f", 10, kMtime)).ok());
  ASSERT_EQ(Wants(rx).size(), 1u);
  Begin b;
  ASSERT_TRUE(rx->BeginFile(b).ok());
  ASSERT_TRUE(rx->FileData("0123456789", 10).ok());
  EXPECT_EQ(rx->FileData("x", 1).kind(), ErrorKind::kProtocol);
  rx_.reset();  // the pull ends there
  EXPECT_TRUE(Temporaries().empty());
  EXPECT_FALSE(Exists(dir_.Join("target/f")));
}

TEST_F(ReceiverTest, RefusesAFileStartedOverTooOften) {
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(FileEntry("f", 10, kMtime)).ok());
  ASSERT_EQ(Wants(rx).size(), 1u);
  Begin b;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(rx->BeginFile(b).ok()) << i;
  EXPECT_EQ(rx->BeginFile(b).kind(), ErrorKind::kProtocol);
  rx_.reset();
  EXPECT_TRUE(Temporaries().empty());
}

TEST_F(ReceiverTest, AFileInstalledBeforeItsFolderIsListedGetsTheFoldersTimeAfterIt) {
  const int64_t folder_time = kMtime - 1000000000;
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(FolderEntry("d", 0755, folder_time)).ok());
  ASSERT_TRUE(rx->AddEntry(FileEntry("d/f", 2, kMtime)).ok());
  ASSERT_EQ(Wants(rx).size(), 1u);
  EXPECT_TRUE(Transfer(rx, 1, "hi", 0644, kMtime));
  ASSERT_TRUE(rx->AddEntry(FileEntry("e", 0, kMtime)).ok());  // d is over
  ASSERT_TRUE(rx->EndListing(true).ok());
  platform::FileInfo info;
  ASSERT_TRUE(platform::Lstat(dir_.Join("target/d"), &info).ok());
  EXPECT_EQ(info.mtime_ns, folder_time);
  ASSERT_TRUE(rx->Finish().ok());
}

TEST_F(ReceiverTest, ReplacesALocalSymlinkToAFolderWithoutTouchingItsTarget) {
  // The symlink points outside the target: replacing it by a folder must
  // remove the link, never what it points at.
  TempFolder outside;
  WriteFile(outside.Join("precious"), "keep me");
  fs::create_directories(Root());
  fs::create_directory_symlink(outside.path(), dir_.Join("target/d"));
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(FolderEntry("d")).ok());
  ASSERT_TRUE(rx->AddEntry(FileEntry("d/precious", 3, kMtime)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  EXPECT_TRUE(Transfer(rx, 1, "new", 0644, kMtime));
  ASSERT_TRUE(rx->Finish().ok());
  EXPECT_EQ(ReadFile(outside.Join("precious")), "keep me");
  platform::FileInfo info;
  ASSERT_TRUE(platform::Lstat(dir_.Join("target/d"), &info).ok());
  EXPECT_EQ(info.type, platform::FileType::kDirectory);
  EXPECT_EQ(ReadFile(dir_.Join("target/d/precious")), "new");
}

TEST_F(ReceiverTest, ChecksumSkipsSameContentAndFetchesChangedContent) {
  WriteFile(dir_.Join("target/same"), "abcde");
  ASSERT_TRUE(platform::SetMtime(dir_.Join("target/same"), kMtime - 5).ok());
  WriteFile(dir_.Join("target/changed"), "abcde");
  ASSERT_TRUE(platform::SetMtime(dir_.Join("target/changed"), kMtime).ok());
  ReceiverOptions o;
  o.checksum = true;
  Receiver* rx = Make(o);
  Entry same = FileEntry("same", 5, kMtime);
  same.has_hash = true;
  same.hash = Xxh3_128("abcde", 5);
  Entry changed = FileEntry("changed", 5, kMtime);  // same size and time
  changed.has_hash = true;
  changed.hash = Xxh3_128("vwxyz", 5);
  ASSERT_TRUE(rx->AddEntry(changed).ok());
  ASSERT_TRUE(rx->AddEntry(same).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  ASSERT_EQ(Wants(rx).size(), 1u);
  EXPECT_EQ(Wants(rx)[0].index, 0u);
  // The current file only had its modification time put right.
  platform::FileInfo info;
  ASSERT_TRUE(platform::Lstat(dir_.Join("target/same"), &info).ok());
  EXPECT_EQ(info.mtime_ns, kMtime);
}

TEST_F(ReceiverTest, PartialDataLargerThanTheFileIsDiscarded) {
  Entry f = FileEntry("f", 10, kMtime);
  WriteFile(dir_.Join("target/" + TempNameFor(f)), std::string(11, 'x'));
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(f).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  ASSERT_EQ(Wants(rx).size(), 1u);
  EXPECT_EQ(Wants(rx)[0].offset, 0u);
  EXPECT_TRUE(Temporaries().empty());
}

TEST_F(ReceiverTest, RenamedFileKeepsItsBasisUntilFinish) {
  // A new file with the size of an extraneous local one may be rebuilt from
  // it, so that one is removed only once the transfer is over.
  const std::string big(kMinDeltaBasis + 1, 'b');
  WriteFile(dir_.Join("target/old/name"), big);
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(FileEntry("new", big.size(), kMtime)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  ASSERT_EQ(Wants(rx).size(), 1u);
  EXPECT_EQ(fs::path(rx->BasisFor(0)), fs::path(dir_.Join("target/old/name")));
  EXPECT_TRUE(Exists(dir_.Join("target/old/name")));
  EXPECT_TRUE(Transfer(rx, 0, big, 0644, kMtime));
  ASSERT_TRUE(rx->Finish().ok());
  rx_.reset();  // and with it the receiver's hold on the folder
  EXPECT_FALSE(Exists(dir_.Join("target/old")));
  EXPECT_EQ(test::ListTree(Root()), (std::set<std::string>{"new"}));
}

TEST_F(ReceiverTest, SignatureOfALargeBasisIsTheOnePassSignature) {
  // Large bases are signed in two halves at once; the halves must join
  // into exactly the signature of one pass, short last block included.
  std::string old(9 * 1024 * 1024 + 12345, '\0');
  uint32_t x = 1;
  for (char& c : old) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  WriteFile(dir_.Join("target/big"), old);
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(FileEntry("big", old.size() + 1, kMtime)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  ASSERT_FALSE(rx->BasisFor(0).empty());
  Signature sig;
  ASSERT_TRUE(rx->BuildSignature(0, &sig).ok());
  SignatureBuilder one_pass(ChooseBlockSize(old.size()));
  one_pass.Update(old.data(), old.size());
  Signature want = one_pass.Finish();
  EXPECT_EQ(sig.block_size, want.block_size);
  EXPECT_EQ(sig.basis_size, want.basis_size);
  ASSERT_EQ(sig.blocks.size(), want.blocks.size());
  for (size_t i = 0; i < want.blocks.size(); ++i) {
    EXPECT_EQ(sig.blocks[i].weak, want.blocks[i].weak) << i;
    EXPECT_EQ(sig.blocks[i].strong, want.blocks[i].strong) << i;
  }
}

TEST_F(ReceiverTest, DryRunChangesNothing) {
  WriteFile(dir_.Join("target/extra"), "x");
  ReceiverOptions o;
  o.dry_run = true;
  Receiver* rx = Make(o);
  ASSERT_TRUE(rx->AddEntry(FolderEntry("d")).ok());
  ASSERT_TRUE(rx->AddEntry(FileEntry("d/f", 3, kMtime)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  EXPECT_TRUE(Wants(rx).empty());
  ASSERT_TRUE(rx->Finish().ok());
  EXPECT_EQ(test::ListTree(Root()), (std::set<std::string>{"extra"}));
}

TEST_F(ReceiverTest, PullsIntoATargetThatIsASymlinkToAFolder) {
  // Open() and Finish() both allow the target to be a symlink the user
  // made; the listing must then apply inside the folder it points at.
  fs::create_directories(dir_.Join("real"));
  fs::create_directory_symlink(dir_.Join("real"), Root());
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(FileEntry("f", 2, kMtime)).ok());
  Status s = rx->EndListing(true);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(Wants(rx).size(), 1u);
  EXPECT_TRUE(Transfer(rx, 0, "hi", 0644, kMtime));
  ASSERT_TRUE(rx->Finish().ok());
  EXPECT_EQ(ReadFile(dir_.Join("real/f")), "hi");
}

// ------------------------------------------------------------ hard links

// A file entry that is a name of a link group: the first (names: how many
// the file has) or a later one naming the first's listing index.
Entry LinkedEntry(std::string path, uint64_t size, uint32_t first, uint32_t names = 0) {
  Entry e = FileEntry(std::move(path), size, kMtime);
  e.has_link = true;
  e.link_first = first;
  e.link_names = names;
  return e;
}

bool SameInode(const std::string& a, const std::string& b) {
  platform::FileInfo x, y;
  return platform::Lstat(a, &x).ok() && platform::Lstat(b, &y).ok() &&
         x.type == platform::FileType::kRegular && x.device == y.device && x.inode == y.inode;
}

TEST_F(ReceiverTest, LaterNamesOfALinkGroupBecomeLinksOfItsFileOnceItIsIn) {
  Receiver* rx = Make();
  const std::string data = Data(4000);
  ASSERT_TRUE(rx->AddEntry(FolderEntry("a", 0755, kMtime)).ok());
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("a/f", data.size(), kLinkFirst, 3)).ok());
  ASSERT_TRUE(rx->AddEntry(FolderEntry("b", 0755, kMtime)).ok());
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("b/g", data.size(), 1)).ok());
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("c", data.size(), 1)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  // The data is asked for once; the other names wait for it, holding their
  // listing weight and their folder's time.
  ASSERT_EQ(Wants(rx).size(), 1u);
  EXPECT_EQ(Wants(rx)[0].index, 1u);
  EXPECT_FALSE(Exists(dir_.Join("target/b/g")));
  const uint64_t waiting = EntryWeight(LinkedEntry("b/g", 0, 1)) + EntryWeight(LinkedEntry("c", 0, 1));
  EXPECT_EQ(rx->outstanding_weight(), waiting + EntryWeight(LinkedEntry("a/f", 0, kLinkFirst)));
  EXPECT_TRUE(Transfer(rx, 1, data, 0644, kMtime));
  EXPECT_EQ(rx->outstanding_weight(), 0u);
  ASSERT_TRUE(rx->Finish().ok());
  EXPECT_TRUE(SameInode(dir_.Join("target/a/f"), dir_.Join("target/b/g")));
  EXPECT_TRUE(SameInode(dir_.Join("target/a/f"), dir_.Join("target/c")));
  EXPECT_EQ(ReadFile(dir_.Join("target/c")), data);
  platform::FileInfo info;
  ASSERT_TRUE(platform::Lstat(dir_.Join("target/b"), &info).ok());
  EXPECT_EQ(info.mtime_ns, kMtime);  // set after its link went in
  EXPECT_TRUE(Temporaries().empty());
  EXPECT_EQ(stats_.files_transferred, 1u);
}

TEST_F(ReceiverTest, AFailedFirstNameHandsTheTransferToTheNextName) {
  Receiver* rx = Make();
  const std::string data = Data(100);
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("a", data.size(), kLinkFirst, 3)).ok());
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("b", data.size(), 0)).ok());
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("c", data.size(), 0)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  ASSERT_EQ(Wants(rx).size(), 1u);
  rx->FileFailed(0, "a: unreadable");
  ASSERT_EQ(Wants(rx).size(), 2u);
  EXPECT_EQ(Wants(rx)[1].index, 1u);
  EXPECT_TRUE(Transfer(rx, 1, data, 0644, kMtime));
  ASSERT_TRUE(rx->Finish().ok());
  EXPECT_FALSE(Exists(dir_.Join("target/a")));
  EXPECT_TRUE(SameInode(dir_.Join("target/b"), dir_.Join("target/c")));
  EXPECT_EQ(rx->failures(), 1u);
}

TEST_F(ReceiverTest, TheNameFetchedForAFailedFirstNameLeadsNamesListedLater) {
  Receiver* rx = Make();
  const std::string data = Data(100);
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("a", data.size(), kLinkFirst, 3)).ok());
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("b", data.size(), 0)).ok());
  ASSERT_EQ(Wants(rx).size(), 1u);
  rx->FileFailed(0, "a: unreadable");
  ASSERT_EQ(Wants(rx).size(), 2u);  // b, in a's place
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("c", data.size(), 0)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  EXPECT_EQ(Wants(rx).size(), 2u);  // c waits for b's data
  EXPECT_TRUE(Transfer(rx, 1, data, 0644, kMtime));
  ASSERT_TRUE(rx->Finish().ok());
  EXPECT_TRUE(SameInode(dir_.Join("target/b"), dir_.Join("target/c")));
}

TEST_F(ReceiverTest, AFirstNameKeptAsTheTargetHasItLendsItsDataToNoNewName) {
  WriteFile(dir_.Join("target/a"), "LOCAL EDIT");
  ASSERT_TRUE(platform::SetMtime(dir_.Join("target/a"), kMtime - 5).ok());
  ReceiverOptions o;
  o.ignore_existing = true;
  Receiver* rx = Make(o);
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("a", 4, kLinkFirst, 2)).ok());
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("b", 4, 0)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  ASSERT_EQ(Wants(rx).size(), 1u);  // b comes as a copy of its own
  EXPECT_EQ(Wants(rx)[0].index, 1u);
  EXPECT_TRUE(Transfer(rx, 1, "good", 0644, kMtime));
  ASSERT_TRUE(rx->Finish().ok());
  EXPECT_EQ(ReadFile(dir_.Join("target/a")), "LOCAL EDIT");
  EXPECT_EQ(ReadFile(dir_.Join("target/b")), "good");
}

TEST_F(ReceiverTest, SplitCopiesOfALinkGroupAreLinkedAgain) {
  WriteFile(dir_.Join("target/a"), "same");
  WriteFile(dir_.Join("target/b"), "same");
  ASSERT_TRUE(platform::SetMtime(dir_.Join("target/a"), kMtime).ok());
  ASSERT_TRUE(platform::SetMtime(dir_.Join("target/b"), kMtime).ok());
  ASSERT_TRUE(platform::SetMode(dir_.Join("target/a"), 0644).ok());
  ASSERT_FALSE(SameInode(dir_.Join("target/a"), dir_.Join("target/b")));
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("a", 4, kLinkFirst, 2)).ok());
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("b", 4, 0)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  EXPECT_TRUE(Wants(rx).empty());
  ASSERT_TRUE(rx->Finish().ok());
  EXPECT_TRUE(SameInode(dir_.Join("target/a"), dir_.Join("target/b")));
  EXPECT_TRUE(Temporaries().empty());
}

TEST_F(ReceiverTest, ANameThatDiffersFromItsGroupsFileIsAFileOfItsOwn) {
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("a", 4, kLinkFirst, 2)).ok());
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("b", 5, 0)).ok());  // changed in between
  ASSERT_TRUE(rx->EndListing(true).ok());
  ASSERT_EQ(Wants(rx).size(), 2u);
  EXPECT_TRUE(Transfer(rx, 0, "aaaa", 0644, kMtime));
  EXPECT_TRUE(Transfer(rx, 1, "bbbbb", 0644, kMtime));
  ASSERT_TRUE(rx->Finish().ok());
  EXPECT_FALSE(SameInode(dir_.Join("target/a"), dir_.Join("target/b")));
}

TEST_F(ReceiverTest, RefusesALinkToAnEntryNotListedBeforeIt) {
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("a", 4, kLinkFirst, 2)).ok());
  EXPECT_EQ(rx->AddEntry(LinkedEntry("b", 4, 1)).kind(), ErrorKind::kProtocol);  // itself
  rx = Make();
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("a", 4, kLinkFirst, 2)).ok());
  EXPECT_EQ(rx->AddEntry(LinkedEntry("b", 4, 7)).kind(), ErrorKind::kProtocol);  // not yet
  EXPECT_TRUE(Temporaries().empty());
}

TEST_F(ReceiverTest, ALinkToAnEntryOfNoGroupIsAFileOfItsOwn) {
  Receiver* rx = Make();
  ASSERT_TRUE(rx->AddEntry(FolderEntry("d")).ok());
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("d/f", 3, 0)).ok());  // names a folder
  ASSERT_TRUE(rx->EndListing(true).ok());
  ASSERT_EQ(Wants(rx).size(), 1u);
  EXPECT_TRUE(Transfer(rx, 1, "abc", 0644, kMtime));
  ASSERT_TRUE(rx->Finish().ok());
  EXPECT_EQ(ReadFile(dir_.Join("target/d/f")), "abc");
}

TEST_F(ReceiverTest, LinkGroupsPastTheirMemoryBudgetArriveAsCopies) {
  Receiver* rx = Make();
  std::string dir;
  for (int i = 0; i < 15; ++i) {
    dir += (i > 0 ? "/" : "") + std::string(250, static_cast<char>('a' + i));
    ASSERT_TRUE(rx->AddEntry(FolderEntry(dir)).ok());
  }
  // Paths of about 3.8 KiB: the budget holds some 2,000 such groups.
  const uint32_t first = 15;
  const uint32_t groups = static_cast<uint32_t>(kMaxLinkGroupBytes / (dir.size() + 8 + 64)) + 10;
  auto name = [&](char c, uint32_t i) {
    char b[16];
    std::snprintf(b, sizeof b, "/%c%06u", c, i);
    return dir + b;
  };
  for (uint32_t i = 0; i < groups; ++i) {
    ASSERT_TRUE(rx->AddEntry(LinkedEntry(name('f', i), 3, kLinkFirst, 2)).ok());
  }
  ASSERT_EQ(Wants(rx).size(), groups);
  ASSERT_TRUE(rx->AddEntry(LinkedEntry(name('g', 0), 3, first)).ok());
  EXPECT_EQ(Wants(rx).size(), groups);  // a kept group's later name waits
  ASSERT_TRUE(rx->AddEntry(LinkedEntry(name('g', groups - 1), 3, first + groups - 1)).ok());
  ASSERT_EQ(Wants(rx).size(), groups + 1);  // one past the budget is a copy
  EXPECT_EQ(Wants(rx).back().index, first + groups + 1);
}

TEST_F(ReceiverTest, DryRunOfALinkGroupLinksNothing) {
  ReceiverOptions o;
  o.dry_run = true;
  Receiver* rx = Make(o);
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("a", 4, kLinkFirst, 2)).ok());
  ASSERT_TRUE(rx->AddEntry(LinkedEntry("b", 4, 0)).ok());
  ASSERT_TRUE(rx->EndListing(true).ok());
  EXPECT_TRUE(Wants(rx).empty());
  ASSERT_TRUE(rx->Finish().ok());
  EXPECT_FALSE(Exists(Root()));
}

}  // namespace
}  // namespace treesync
