#include "versioned_folder.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include "manifest.h"
#include "owners.h"
#include "path.h"
#include "xattrs.h"

namespace treesync {

namespace {

constexpr char kNext[] = "next";
constexpr char kLinkTemp[] = "link.tmp";

// "v12" -> 12; 0 for any other name.
uint64_t VersionNumber(const std::string& name) {
  if (name.size() < 2 || name.size() > 20 || name[0] != 'v') return 0;
  uint64_t n = 0;
  for (size_t i = 1; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return 0;
    n = n * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return n;
}

std::string VersionName(uint64_t n) { return "v" + std::to_string(n); }

Status IoError(const std::string& what, const std::error_code& ec) {
  return Status::Io(Printable(what) + ": " + ec.message());
}

// Gives to the metadata of from (a folder or symlink we made a copy of).
void CopyMetadata(const std::string& from, const platform::FileInfo& info, const std::string& to,
                  bool symlink) {
  if (platform::CanChown()) platform::SetOwner(to, info.uid, info.gid);
  if (!symlink) {
    platform::SetMode(to, info.mode);
    std::vector<platform::Xattr> attrs;
    if (platform::HasXattrs() && platform::ListXattrs(from, &attrs).ok()) {
      for (const platform::Xattr& x : attrs) platform::SetXattr(to, x);
    }
  }
  platform::SetMtime(to, info.mtime_ns);
}

// A file copied whole, for where a hard link can't be made (a file at its
// most names): its mode and time go with it.
Status CopyFile(const std::string& from, const platform::FileInfo& info, const std::string& to) {
  std::error_code ec;
  std::filesystem::copy_file(platform::FsPath(from), platform::FsPath(to), ec);
  if (ec) return IoError(to, ec);
  CopyMetadata(from, info, to, false);
  return Status::Ok();
}

}  // namespace

VersionedFolder::VersionedFolder(std::string dir, int keep_previous)
    : dir_(std::move(dir)), keep_previous_(keep_previous) {
  while (dir_.size() > 1 && (dir_.back() == '/' || dir_.back() == '\\')) dir_.pop_back();
  std::filesystem::path p = platform::FsPath(dir_);
  name_ = p.filename().u8string();
  versions_ = (p.parent_path() / ("." + name_ + ".treesync")).u8string();
}

namespace {

// The version a symlink at path made by Commit names (0: it is not one).
uint64_t LinkedVersion(const std::string& path, const std::string& name) {
  std::string target;
  if (!platform::ReadSymlink(path, &target).ok()) return 0;
  const std::string prefix = "." + name + ".treesync/";
  if (target.compare(0, prefix.size(), prefix) != 0) return 0;
  return VersionNumber(target.substr(prefix.size()));
}

}  // namespace

Status ReceiveVersioned(const std::string& dir, bool versioned, int keep_previous,
                        const ReceiveIntoFolder& receive) {
  if (!versioned) return receive(dir, false);
  VersionedFolder versions(dir, keep_previous);
  std::string build;
  TS_RETURN_IF_ERROR(versions.Prepare(&build));
  Status s = receive(build, versions.current() > 0);
  if (!Completed(s)) return s;
  Status switched = versions.Commit();
  return switched.ok() ? s : switched;
}

bool IsVersionLink(const std::string& path) {
  platform::FileInfo info;
  if (!platform::Lstat(path, &info).ok() || info.type != platform::FileType::kSymlink) return false;
  return LinkedVersion(path, platform::FsPath(path).filename().u8string()) > 0;
}

Status VersionedFolder::FindCurrent() {
  current_ = 0;
  platform::FileInfo info;
  TS_RETURN_IF_ERROR(platform::Lstat(dir_, &info));
  if (info.type == platform::FileType::kMissing) return Status::Ok();
  if (info.type == platform::FileType::kDirectory) return AdoptPlainFolder();
  if (info.type == platform::FileType::kSymlink) current_ = LinkedVersion(dir_, name_);
  if (current_ == 0) {
    return Status::BadFolder(Printable(dir_) + ": not a folder, nor a symlink to a version " +
                             "--atomic made (it keeps DIR as a symlink into " +
                             Printable(versions_) + ")");
  }
  return Status::Ok();
}

Status VersionedFolder::AdoptPlainFolder() {
  // The folder itself becomes version 1, then DIR a symlink to it.
  const std::string v1 = JoinPath(versions_, VersionName(1));
  std::error_code ec;
  if (std::filesystem::exists(platform::FsPath(v1), ec)) {
    return Status::BadFolder(Printable(dir_) + " is a folder, and " + Printable(v1) +
                             " exists too: move one of them away");
  }
  TS_RETURN_IF_ERROR(platform::Rename(dir_, v1));
  const std::string link = JoinPath(versions_, kLinkTemp);
  platform::RemoveEntry(link);
  TS_RETURN_IF_ERROR(platform::MakeSymlink("." + name_ + ".treesync/" + VersionName(1), link));
  TS_RETURN_IF_ERROR(platform::Rename(link, dir_));
  current_ = 1;
  return Status::Ok();
}

Status VersionedFolder::CloneCurrent(const std::string& to) {
  const std::string from_root = JoinPath(versions_, VersionName(current_));
  const std::string part = to + ".part";
  std::error_code ec;
  std::filesystem::remove_all(platform::FsPath(part), ec);
  TS_RETURN_IF_ERROR(platform::MakeFolder(part));
  // Folders in pre-order, their metadata set deepest first once all that
  // goes in them is in.
  struct Made {
    std::string rel;
    platform::FileInfo info;
  };
  std::vector<Made> folders;
  platform::FileInfo root_info;
  TS_RETURN_IF_ERROR(platform::Lstat(from_root, &root_info));
  folders.push_back({"", root_info});
  for (size_t next = 0; next < folders.size(); ++next) {
    const std::string rel = folders[next].rel;
    const std::string src = JoinPath(from_root, rel), dst = JoinPath(part, rel);
    std::vector<platform::FolderEntry> entries;
    TS_RETURN_IF_ERROR(platform::ListFolder(src, &entries));
    platform::Folder from, into;
    TS_RETURN_IF_ERROR(platform::Folder::Open(src, false, &from));
    TS_RETURN_IF_ERROR(platform::Folder::Open(dst, false, &into));
    for (const platform::FolderEntry& e : entries) {
      if (IsReservedName(e.name)) continue;
      const std::string child = JoinRel(rel, e.name);
      const std::string s = JoinPath(from_root, child), d = JoinPath(part, child);
      switch (e.info.type) {
        case platform::FileType::kMissing:
          break;
        case platform::FileType::kDirectory:
          TS_RETURN_IF_ERROR(platform::MakeFolder(d));
          folders.push_back({child, e.info});
          break;
        case platform::FileType::kSymlink: {
          // A copy, not a link: its time is set in place, which a shared
          // inode would show in the current version too.
          std::string target;
          TS_RETURN_IF_ERROR(platform::ReadSymlink(s, &target));
          TS_RETURN_IF_ERROR(platform::MakeSymlink(target, d));
          CopyMetadata(s, e.info, d, true);
          break;
        }
        default: {
          platform::Folder::LinkFailure why;
          Status linked = into.Link(from, e.name, e.name, &why);
          if (!linked.ok() && e.info.type == platform::FileType::kRegular) {
            TS_RETURN_IF_ERROR(CopyFile(s, e.info, d));
          } else if (!linked.ok() && why != platform::Folder::LinkFailure::kGone) {
            return linked;
          }
        }
      }
    }
  }
  for (auto it = folders.rbegin(); it != folders.rend(); ++it) {
    CopyMetadata(JoinPath(from_root, it->rel), it->info, JoinPath(part, it->rel), false);
  }
  return platform::Rename(part, to);
}

Status VersionedFolder::Prepare(std::string* build) {
  std::error_code ec;
  std::filesystem::create_directories(platform::FsPath(versions_), ec);
  if (ec) return IoError(versions_, ec);
  Status locked = platform::FolderLock::TryLock(versions_, kLockName, &lock_);
  if (locked.kind() == ErrorKind::kRefused) {
    return Status::Refused("another treesync session is building a version of " +
                           Printable(dir_) + "; try again when it ends");
  }
  TS_RETURN_IF_ERROR(locked);
  TS_RETURN_IF_ERROR(FindCurrent());
  *build = JoinPath(versions_, kNext);
  platform::FileInfo info;
  TS_RETURN_IF_ERROR(platform::Lstat(*build, &info));
  if (info.type == platform::FileType::kDirectory) return Status::Ok();  // resumed
  if (info.type != platform::FileType::kMissing) TS_RETURN_IF_ERROR(platform::RemoveEntry(*build));
  if (current_ == 0) return platform::MakeFolder(*build);
  return CloneCurrent(*build);
}

Status VersionedFolder::Commit() {
  std::vector<platform::FolderEntry> entries;
  TS_RETURN_IF_ERROR(platform::ListFolder(versions_, &entries));
  std::vector<uint64_t> numbers;
  for (const platform::FolderEntry& e : entries) {
    if (const uint64_t n = VersionNumber(e.name)) numbers.push_back(n);
  }
  std::sort(numbers.begin(), numbers.end());
  const uint64_t made = (numbers.empty() ? 0 : numbers.back()) + 1;
  const std::string version = JoinPath(versions_, VersionName(made));
  TS_RETURN_IF_ERROR(platform::Rename(JoinPath(versions_, kNext), version));
  const std::string link = JoinPath(versions_, kLinkTemp);
  TS_RETURN_IF_ERROR(platform::RemoveEntry(link));
  TS_RETURN_IF_ERROR(platform::MakeSymlink("." + name_ + ".treesync/" + VersionName(made), link));
  // The switch: readers resolving DIR from here on get the new version.
  TS_RETURN_IF_ERROR(platform::Rename(link, dir_));
  current_ = made;
  lock_.Release();
  Status removed;
  const size_t keep = static_cast<size_t>(std::max(keep_previous_, 0));
  for (size_t i = 0; i + keep < numbers.size(); ++i) {
    std::error_code ec;
    const std::string old = JoinPath(versions_, VersionName(numbers[i]));
    std::filesystem::remove_all(platform::FsPath(old), ec);
    if (ec && removed.ok()) removed = IoError(old, ec);
  }
  return removed;
}

}  // namespace treesync
