#include "walk.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "fs_meta.h"
#include "path.h"

namespace fs = std::filesystem;

namespace treesync {

namespace {

// Names in one folder, sorted so the listing is the same on every run.
Status ListNames(const std::string& dir, std::vector<std::string>* names) {
  Status s = platform::ListFolder(dir, names);
  if (!s.ok()) return Status::Io(Printable(s.message()));
  std::sort(names->begin(), names->end());
  return Status::Ok();
}

Status RootStat(const std::string& root, platform::FileInfo* info) {
  TS_RETURN_IF_ERROR(platform::Lstat(root, info).Prefixed("folder"));
  if (info->type == platform::FileType::kSymlink) {
    // The user named a symlink to a folder: serve (or fill) that folder.
    std::error_code ec;
    std::filesystem::path real = fs::canonical(platform::FsPath(root), ec);
    if (!ec) TS_RETURN_IF_ERROR(platform::Lstat(real.u8string(), info).Prefixed("folder"));
  }
  if (info->type != platform::FileType::kDirectory) {
    return Status::BadFolder(Printable(root) + (info->type == platform::FileType::kMissing
                                                    ? ": no such folder"
                                                    : ": not a folder"));
  }
  return Status::Ok();
}

}  // namespace

Status RootInfo(const std::string& root, uint32_t* mode, int64_t* mtime_ns) {
  platform::FileInfo info;
  TS_RETURN_IF_ERROR(RootStat(root, &info));
  *mode = info.mode;
  *mtime_ns = info.mtime_ns;
  return Status::Ok();
}

Status WalkTree(const std::string& root, WalkResult* out, const EntryVisitor& visit) {
  *out = WalkResult();
  platform::FileInfo info;
  TS_RETURN_IF_ERROR(RootStat(root, &info));
  out->root_mode = info.mode;
  out->root_mtime_ns = info.mtime_ns;
  std::vector<std::string> names;
  Status s = ListNames(root, &names);
  if (!s.ok()) return Status::BadFolder(s.message());

  // An explicit stack of pending names keeps deep trees off the C++ stack.
  // Each folder's children are pushed in reverse so they pop in order.
  std::vector<std::string> stack;
  for (auto it = names.rbegin(); it != names.rend(); ++it) stack.push_back(*it);
  while (!stack.empty()) {
    std::string rel = std::move(stack.back());
    stack.pop_back();
    std::string full = JoinPath(root, rel);
    Status st = platform::Lstat(full, &info);
    if (!st.ok() || info.type == platform::FileType::kMissing) {
      out->problems.push_back(
          {rel, st.ok() ? Printable(rel) + ": vanished while listing" : st.message()});
      continue;
    }
    Entry e;
    e.path = rel;
    e.mode = info.mode;
    e.mtime_ns = info.mtime_ns;
    switch (info.type) {
      case platform::FileType::kRegular:
        e.type = EntryType::kFile;
        e.size = info.size;
        break;
      case platform::FileType::kDirectory:
        e.type = EntryType::kFolder;
        break;
      case platform::FileType::kSymlink:
        e.type = EntryType::kSymlink;
        st = platform::ReadSymlink(full, &e.target);
        if (!st.ok()) {
          out->problems.push_back({rel, st.message()});
          continue;
        }
        break;
      default:
        out->skipped.push_back(rel);
        continue;
    }
    if (rel.size() > kMaxPathBytes || e.target.size() > kMaxLinkTargetBytes) {
      out->problems.push_back({rel, Printable(rel) + ": path or link target too long to send"});
      continue;
    }
    if (out->entries.size() >= kMaxEntries) {
      return Status::Io("more than " + std::to_string(kMaxEntries) + " entries under " +
                        Printable(root));
    }
    bool is_folder = e.type == EntryType::kFolder;
    if (visit) TS_RETURN_IF_ERROR(visit(e));
    out->entries.push_back(std::move(e));
    if (is_folder) {
      st = ListNames(full, &names);
      if (!st.ok()) {
        out->problems.push_back({rel, st.message()});
        continue;
      }
      for (auto it = names.rbegin(); it != names.rend(); ++it) stack.push_back(rel + "/" + *it);
    }
  }
  return Status::Ok();
}

}  // namespace treesync
