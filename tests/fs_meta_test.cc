// The platform's file-metadata layer (fs_meta.h) where the tree walk and
// the end-to-end tests don't reach: folder listings with their info, and
// folder handles.
#include "fs_meta.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "test_util.h"

namespace fs = std::filesystem;

namespace treesync {
namespace {

using test::ReadFile;
using test::TempFolder;
using test::WriteFile;

// The walk takes each entry's info from its folder's listing: it must be
// what Lstat says of the entry's own path, links included, never followed.
TEST(ListFolder, GivesEachEntryItsOwnLstatInfo) {
  TempFolder t;
  WriteFile(t.Join("file"), "12345");
  fs::create_directory(t.Join("sub"));
  fs::create_symlink("file", t.Join("link"));
  std::vector<platform::FolderEntry> entries;
  ASSERT_TRUE(platform::ListFolder(t.path(), &entries).ok());
  ASSERT_EQ(entries.size(), 3u);
  for (const platform::FolderEntry& e : entries) {
    SCOPED_TRACE(e.name);
    platform::FileInfo want;
    ASSERT_TRUE(platform::Lstat(t.Join(e.name), &want).ok());
    EXPECT_EQ(e.error, "");
    EXPECT_EQ(e.info.type, want.type);
    EXPECT_EQ(e.info.size, want.size);
    EXPECT_EQ(e.info.mode, want.mode);
    EXPECT_EQ(e.info.mtime_ns, want.mtime_ns);
    EXPECT_EQ(e.info.inode, want.inode);
  }
}

TEST(ListFolder, MissingFolderIsAnError) {
  TempFolder t;
  std::vector<platform::FolderEntry> entries;
  EXPECT_FALSE(platform::ListFolder(t.Join("nope"), &entries).ok());
}

TEST(Folder, CreatesOpensAndRenamesFilesByName) {
  TempFolder t;
  fs::create_directory(t.Join("sub"));
  platform::Folder folder;
  ASSERT_TRUE(platform::Folder::Open(t.Join("sub"), false, &folder).ok());
  EXPECT_EQ(folder.PathOf("x"), t.Join("sub") + "/x");
  platform::File f;
  ASSERT_TRUE(folder.CreateNew("new", &f, 0644).ok());
  ASSERT_TRUE(f.Write("abc", 3).ok());
  ASSERT_TRUE(f.Close().ok());
  // Like File::CreateNew: an existing name is not overwritten.
  platform::File again;
  Status s = folder.CreateNew("new", &again, 0644);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(t.Join("sub") + "/new"), std::string::npos) << s.message();
  ASSERT_TRUE(folder.Rename("new", "final").ok());
  EXPECT_FALSE(fs::exists(t.Join("sub/new")));
  EXPECT_EQ(ReadFile(t.Join("sub/final")), "abc");
  platform::File r;
  ASSERT_TRUE(folder.OpenRead("final", &r).ok());
  char buf[8];
  size_t got = 0;
  ASSERT_TRUE(r.Read(buf, sizeof buf, &got).ok());
  EXPECT_EQ(std::string(buf, got), "abc");
}

TEST(Folder, RefusesASymlinkUnlessToldToFollowIt) {
  TempFolder t;
  WriteFile(t.Join("real/f"), "x");
  fs::create_directory_symlink(t.Join("real"), t.Join("link"));
  platform::Folder folder;
  EXPECT_FALSE(platform::Folder::Open(t.Join("link"), false, &folder).ok());
  ASSERT_TRUE(platform::Folder::Open(t.Join("link"), true, &folder).ok());
  platform::File f;
  EXPECT_TRUE(folder.OpenRead("f", &f).ok());
}

TEST(Folder, RefusesAFileOrAMissingPath) {
  TempFolder t;
  WriteFile(t.Join("file"), "x");
  platform::Folder folder;
  EXPECT_FALSE(platform::Folder::Open(t.Join("file"), true, &folder).ok());
  EXPECT_FALSE(platform::Folder::Open(t.Join("missing"), true, &folder).ok());
}

TEST(Folder, NeverOpensASymlinkPlantedAtAName) {
  TempFolder t;
  WriteFile(t.Join("secret"), "s");
  fs::create_directory(t.Join("sub"));
  fs::create_symlink(t.Join("secret"), t.Join("sub/link"));
  platform::Folder folder;
  ASSERT_TRUE(platform::Folder::Open(t.Join("sub"), false, &folder).ok());
  platform::File f;
  EXPECT_FALSE(folder.OpenRead("link", &f).ok());
  EXPECT_FALSE(folder.CreateNew("link", &f, 0644).ok());
  EXPECT_EQ(ReadFile(t.Join("secret")), "s");
}

}  // namespace
}  // namespace treesync
