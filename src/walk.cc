#include "walk.h"

#include <algorithm>
#include <atomic>
#include <iterator>
#include <thread>
#include <filesystem>
#include <system_error>

#include "fs_meta.h"
#include "path.h"

namespace fs = std::filesystem;

namespace treesync {

namespace {

// One folder's entries with their info, sorted by name so the listing is
// the same on every run.
Status ListSorted(const std::string& dir, std::vector<platform::FolderEntry>* entries) {
  Status s = platform::ListFolder(dir, entries);
  if (!s.ok()) return Status::Io(Printable(s.message()));
  std::sort(entries->begin(), entries->end(),
            [](const platform::FolderEntry& a, const platform::FolderEntry& b) {
              return a.name < b.name;
            });
  return Status::Ok();
}

// An entry found in its folder's listing, waiting for its turn in the walk.
struct Pending {
  std::string rel;
  platform::FileInfo info;
  std::string error;
};

void PushChildren(const std::string& prefix, std::vector<platform::FolderEntry>* children,
                  std::vector<Pending>* stack) {
  // Reversed, so they pop in order.
  for (auto it = children->rbegin(); it != children->rend(); ++it) {
    stack->push_back({prefix + it->name, it->info, std::move(it->error)});
  }
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

namespace {

// The walk below the root: takes entries off `stack` (pushed in reverse, so
// they pop in listing order) and everything below them, appending to out.
// *listed counts the entries of every thread walking the same tree, so the
// kMaxEntries bound holds for the whole of it.
Status WalkStack(const std::string& root, std::vector<Pending> stack, WalkResult* out,
                 const EntryVisitor& visit, std::atomic<size_t>* listed,
                 const std::atomic<bool>* stop) {
  std::vector<platform::FolderEntry> children;
  while (!stack.empty()) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) return Status::Ok();
    Pending p = std::move(stack.back());
    stack.pop_back();
    const std::string& rel = p.rel;
    const platform::FileInfo& info = p.info;
    if (!p.error.empty() || info.type == platform::FileType::kMissing) {
      out->problems.push_back(
          {rel, p.error.empty() ? Printable(rel) + ": vanished while listing" : p.error});
      continue;
    }
    Status st;
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
        st = platform::ReadSymlink(JoinPath(root, rel), &e.target);
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
    if (listed->fetch_add(1, std::memory_order_relaxed) >= kMaxEntries) {
      return Status::Io("more than " + std::to_string(kMaxEntries) + " entries under " +
                        Printable(root));
    }
    bool is_folder = e.type == EntryType::kFolder;
    if (visit) TS_RETURN_IF_ERROR(visit(e));
    out->entries.push_back(std::move(e));
    if (is_folder) {
      st = ListSorted(JoinPath(root, rel), &children);
      if (!st.ok()) {
        out->problems.push_back({rel, st.message()});
        continue;
      }
      PushChildren(rel + "/", &children, &stack);
    }
  }
  return Status::Ok();
}

}  // namespace

Status WalkTree(const std::string& root, WalkResult* out, const EntryVisitor& visit,
                WalkThreads threads) {
  *out = WalkResult();
  platform::FileInfo root_info;
  TS_RETURN_IF_ERROR(RootStat(root, &root_info));
  out->root_mode = root_info.mode;
  out->root_mtime_ns = root_info.mtime_ns;
  std::vector<platform::FolderEntry> children;
  Status s = ListSorted(root, &children);
  if (!s.ok()) return Status::BadFolder(s.message());
  // An explicit stack of pending entries keeps deep trees off the C++ stack.
  std::vector<Pending> stack;
  PushChildren("", &children, &stack);
  std::atomic<size_t> listed{0};
  if (threads == WalkThreads::kOne || stack.size() < 2) {
    return WalkStack(root, std::move(stack), out, visit, &listed, nullptr);
  }
  // Two threads: the root's second half of entries (the bottom of the
  // stack) is walked on its own thread meanwhile, then visited in order.
  size_t later = stack.size() / 2;
  std::vector<Pending> second(std::make_move_iterator(stack.begin()),
                              std::make_move_iterator(stack.begin() + later));
  stack.erase(stack.begin(), stack.begin() + later);
  WalkResult rest;
  Status rest_status;
  std::atomic<bool> stop{false};
  std::thread helper([&] {
    rest_status = WalkStack(root, std::move(second), &rest, nullptr, &listed, &stop);
  });
  s = WalkStack(root, std::move(stack), out, visit, &listed, nullptr);
  if (!s.ok()) stop = true;
  helper.join();
  TS_RETURN_IF_ERROR(s);
  TS_RETURN_IF_ERROR(rest_status);
  out->entries.reserve(out->entries.size() + rest.entries.size());
  for (Entry& e : rest.entries) {
    if (visit) TS_RETURN_IF_ERROR(visit(e));
    out->entries.push_back(std::move(e));
  }
  for (WalkProblem& p : rest.problems) out->problems.push_back(std::move(p));
  for (std::string& p : rest.skipped) out->skipped.push_back(std::move(p));
  return Status::Ok();
}

}  // namespace treesync
