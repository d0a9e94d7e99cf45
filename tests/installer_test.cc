#include "installer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "fs_meta.h"
#include "test_util.h"

namespace treesync {
namespace {

using test::Exists;
using test::ReadFile;
using test::TempFolder;

// A job for a temporary `temp` written with `data` in folder, to go to `name`.
InstallJob Job(const std::shared_ptr<platform::Folder>& folder, uint32_t index,
               const std::string& temp, const std::string& name, const std::string& data) {
  InstallJob job;
  job.index = index;
  EXPECT_TRUE(folder->CreateNew(temp, &job.file, 0600).ok());
  EXPECT_TRUE(job.file.Write(data.data(), data.size()).ok());
  job.folder = folder;
  job.temp_name = temp;
  job.final_name = name;
  job.set_mode = true;
  job.mode = 0640;
  job.mtime_ns = 1600000000123456789;
  return job;
}

std::shared_ptr<platform::Folder> OpenFolder(const std::string& path) {
  auto folder = std::make_shared<platform::Folder>();
  EXPECT_TRUE(platform::Folder::Open(path, true, folder.get()).ok());
  return folder;
}

TEST(Installer, PutsFilesInPlaceWithTheirTimeAndReportsInOrder) {
  TempFolder dir;
  auto folder = OpenFolder(dir.path());
  Installer installer;
  for (uint32_t i = 0; i < 600; ++i) {  // more than it queues at once
    installer.Hand(Job(folder, i, "t" + std::to_string(i), "f" + std::to_string(i),
                       std::to_string(i)));
  }
  std::vector<InstallResult> results;
  installer.Take(&results, true);
  ASSERT_EQ(results.size(), 600u);
  for (uint32_t i = 0; i < 600; ++i) {
    EXPECT_EQ(results[i].index, i);
    EXPECT_TRUE(results[i].status.ok()) << results[i].status.message();
  }
  EXPECT_EQ(installer.unfinished(), 0u);
  EXPECT_EQ(ReadFile(dir.Join("f599")), "599");
  EXPECT_FALSE(Exists(dir.Join("t599")));
  platform::FileInfo info;
  ASSERT_TRUE(platform::Lstat(dir.Join("f7"), &info).ok());
  EXPECT_EQ(info.mtime_ns, 1600000000123456789);
}

TEST(Installer, AFailedRenameRemovesTheTemporaryAndSaysWhy) {
  TempFolder dir;
  std::filesystem::create_directories(dir.Join("taken/inside"));  // a folder can't be renamed over
  auto folder = OpenFolder(dir.path());
  Installer installer;
  installer.Hand(Job(folder, 5, "t", "taken", "x"));
  std::vector<InstallResult> results;
  installer.Take(&results, true);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].index, 5u);
  EXPECT_FALSE(results[0].status.ok());
  EXPECT_FALSE(Exists(dir.Join("t")));
  EXPECT_TRUE(Exists(dir.Join("taken/inside")));
}

TEST(Installer, FinishesWhatItWasHandedWhenDestroyed) {
  TempFolder dir;
  {
    auto folder = OpenFolder(dir.path());
    Installer installer;
    for (uint32_t i = 0; i < 50; ++i) {
      installer.Hand(Job(folder, i, "t" + std::to_string(i), "f" + std::to_string(i), "d"));
    }
  }
  for (int i = 0; i < 50; ++i) EXPECT_EQ(ReadFile(dir.Join("f" + std::to_string(i))), "d");
}

}  // namespace
}  // namespace treesync
