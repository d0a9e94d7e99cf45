// Shared helpers for the unit tests: a temporary folder that removes itself,
// file writing and reading, listing entries by hand. Header-only, because
// the build compiles only tests/*_test.cc.
#ifndef TREESYNC_TESTS_TEST_UTIL_H_
#define TREESYNC_TESTS_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "connection.h"
#include "frame.h"
#include "manifest.h"
#include "net.h"
#include "random.h"

namespace treesync {
namespace test {

// A fresh folder under the system's temp folder, removed with everything
// in it when the owner goes.
class TempFolder {
 public:
  TempFolder() {
    static const char kHex[] = "0123456789abcdef";
    std::string name = "treesync-test-";
    uint64_t r = platform::Random64();
    for (int i = 0; i < 16; ++i) name += kHex[(r >> (4 * i)) & 15];
    path_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::create_directories(path_);
  }
  ~TempFolder() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;

  std::string path() const { return path_.string(); }
  // The on-disk path of rel ("" gives the folder itself).
  std::string Join(const std::string& rel) const {
    return rel.empty() ? path() : (path_ / rel).string();
  }

 private:
  std::filesystem::path path_;
};

// Creates or overwrites a file (and its missing parent folders).
inline void WriteFile(const std::string& path, const std::string& contents) {
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// True when something (even a dangling symlink) is at path.
inline bool Exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::symlink_status(path, ec));
}

// Every path below root, relative and '/'-separated, symlinks not followed.
inline std::set<std::string> ListTree(const std::string& root) {
  std::set<std::string> out;
  namespace fs = std::filesystem;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    out.insert(fs::relative(it->path(), root).generic_string());
  }
  return out;
}

// Listing entries built by hand.
inline Entry FolderEntry(std::string path, uint32_t mode = 0755, int64_t mtime_ns = 0) {
  Entry e;
  e.path = std::move(path);
  e.type = EntryType::kFolder;
  e.mode = mode;
  e.mtime_ns = mtime_ns;
  return e;
}

inline Entry FileEntry(std::string path, uint64_t size, int64_t mtime_ns, uint32_t mode = 0644) {
  Entry e;
  e.path = std::move(path);
  e.type = EntryType::kFile;
  e.size = size;
  e.mtime_ns = mtime_ns;
  e.mode = mode;
  return e;
}

inline Entry SymlinkEntry(std::string path, std::string target, int64_t mtime_ns = 0) {
  Entry e;
  e.path = std::move(path);
  e.type = EntryType::kSymlink;
  e.target = std::move(target);
  e.mode = 0777;
  e.mtime_ns = mtime_ns;
  return e;
}

// A connected pair of sockets: in the tests, a is wrapped in a Connection,
// b too or used raw as the peer.
struct SocketPair {
  platform::Socket a, b;
};

inline SocketPair MakeSocketPair() {
  EXPECT_TRUE(platform::NetInit().ok());
  SocketPair p;
  Status s = platform::SocketPair(&p.a, &p.b);
  EXPECT_TRUE(s.ok()) << s.message();
  return p;
}

// Writes all of data to a raw socket (the peer side of a test).
inline void WriteAll(platform::Socket* s, const std::string& data) {
  size_t pos = 0;
  while (pos < data.size()) {
    platform::Readiness r;
    ASSERT_TRUE(platform::Poll(*s, false, true, 1000, &r).ok());
    size_t wrote = 0;
    ASSERT_TRUE(s->Write(data.data() + pos, data.size() - pos, &wrote).ok());
    pos += wrote;
  }
}

// Both connections send count frames of payload at once, flush, then take
// the other's: each side's output fills the link while the other's does
// too, as a session's peers may. Fails the test unless every frame
// arrives intact both ways.
inline void ExpectBothWaysAtOnce(Connection* a, Connection* b, const std::string& payload,
                                 int count) {
  auto run = [&](Connection* c, Status* out) {
    for (int i = 0; i < count && out->ok(); ++i) *out = c->Send(FrameType::kData, payload);
    if (out->ok()) *out = c->Flush();
    for (int i = 0; i < count && out->ok(); ++i) {
      Frame f;
      *out = c->Receive(&f);
      if (out->ok() && f.payload != payload) *out = Status::Protocol("frame differs");
    }
  };
  Status sa, sb;
  std::thread ta(run, a, &sa);
  std::thread tb(run, b, &sb);
  ta.join();
  tb.join();
  EXPECT_TRUE(sa.ok()) << sa.message();
  EXPECT_TRUE(sb.ok()) << sb.message();
}

}  // namespace test
}  // namespace treesync

#endif  // TREESYNC_TESTS_TEST_UTIL_H_
