#include "plan.h"

#include <unordered_map>

#include "path.h"

namespace treesync {

namespace {

bool SameContent(const Entry& local, const Entry& remote, const PlanOptions& options) {
  if (local.size != remote.size) return false;
  if (!options.checksum) {
    return SameMtime(local.mtime_ns, remote.mtime_ns, options.mtime_granularity_ns);
  }
  return local.has_hash && remote.has_hash && local.hash == remote.hash;
}

// Floor division, so times before 1970 round the same way as after.
int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Finds local paths in the listing. Both sides list in the same order
// (pre-order, names sorted bytewise), so the entry after the last one found
// is almost always the next match: that guess is checked first, and the
// hash index is built only when a guess misses (the listing is the server's
// and need not follow that order).
class RemoteLookup {
 public:
  RemoteLookup(const std::vector<Entry>& remote, const std::vector<bool>* skip)
      : remote_(remote), skip_(skip) {}

  // The listing index of path, or -1 when the listing lacks it (or skips it).
  int64_t Find(const std::string& path) {
    if (next_ < remote_.size() && remote_[next_].path == path) return Found(next_);
    if (!indexed_) {
      index_.reserve(remote_.size());
      for (uint32_t i = 0; i < remote_.size(); ++i) index_.emplace(remote_[i].path, i);
      indexed_ = true;
    }
    auto it = index_.find(path);
    return it == index_.end() ? -1 : Found(it->second);
  }

 private:
  int64_t Found(uint32_t i) {
    next_ = i + 1;
    return skip_ != nullptr && (*skip_)[i] ? -1 : int64_t(i);
  }

  const std::vector<Entry>& remote_;
  const std::vector<bool>* skip_;
  std::unordered_map<std::string, uint32_t> index_;
  bool indexed_ = false;
  uint32_t next_ = 0;
};

}  // namespace

bool SameMtime(int64_t a_ns, int64_t b_ns, int64_t granularity_ns) {
  if (granularity_ns <= 1) return a_ns == b_ns;
  return FloorDiv(a_ns, granularity_ns) == FloorDiv(b_ns, granularity_ns);
}

Plan BuildPlan(const std::vector<Entry>& remote, const std::vector<Entry>& local,
               const PlanOptions& options, const std::vector<bool>* skip) {
  Plan plan;
  auto skipped = [skip](uint32_t i) { return skip != nullptr && (*skip)[i]; };
  RemoteLookup lookup(remote, skip);

  // Walk the local tree in pre-order and decide, for each local entry,
  // whether it stays. Once a folder goes, everything below it goes too.
  // kept[i]: the local entry that stays at the path of listing entry i.
  std::vector<const Entry*> kept(remote.size(), nullptr);
  std::vector<Removal> removals;  // pre-order; reversed below
  std::string removed_prefix;     // "dir/" of the folder being removed, if any
  for (const Entry& l : local) {
    if (!removed_prefix.empty() && l.path.compare(0, removed_prefix.size(), removed_prefix) == 0) {
      removals.push_back({l.path, l.type, removals.back().replaced});
      continue;
    }
    removed_prefix.clear();
    int64_t found = lookup.Find(l.path);
    bool replaced = false;
    bool remove;
    if (found < 0) {
      remove = options.delete_extraneous && options.listing_complete;
    } else {
      const Entry& r = remote[found];
      replaced = r.type != l.type ||
                 (r.type == EntryType::kSymlink && r.target != l.target);
      remove = replaced;
    }
    if (!remove) {
      if (found >= 0) kept[found] = &l;
      continue;
    }
    removals.push_back({l.path, l.type, replaced});
    if (l.type == EntryType::kFolder) removed_prefix = l.path + "/";
  }
  // A kept entry inside a folder that is not kept can't happen: the folder's
  // removal took its subtree. Children come after parents in pre-order, so
  // reversing puts every folder's contents before the folder.
  plan.removals.assign(removals.rbegin(), removals.rend());

  for (uint32_t i = 0; i < remote.size(); ++i) {
    if (skipped(i)) continue;
    const Entry& r = remote[i];
    const Entry* l = kept[i];
    switch (r.type) {
      case EntryType::kFolder:
        if (l == nullptr) plan.create_folders.push_back(i);
        break;
      case EntryType::kSymlink:
        if (l == nullptr) plan.create_symlinks.push_back(i);
        break;
      case EntryType::kFile:
        if (l == nullptr) {
          plan.fetch.push_back({i, false});
        } else if (!SameContent(*l, r, options)) {
          plan.fetch.push_back({i, true});
        } else {
          ++plan.unchanged_files;
          bool mode_differs = options.compare_mode && (l->mode & 0777) != (r.mode & 0777);
          if (mode_differs ||
              !SameMtime(l->mtime_ns, r.mtime_ns, options.mtime_granularity_ns)) {
            plan.fix_metadata.push_back(i);
          }
        }
        break;
    }
  }
  return plan;
}

}  // namespace treesync
