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

}  // namespace

bool SameMtime(int64_t a_ns, int64_t b_ns, int64_t granularity_ns) {
  if (granularity_ns <= 1) return a_ns == b_ns;
  return FloorDiv(a_ns, granularity_ns) == FloorDiv(b_ns, granularity_ns);
}

Plan BuildPlan(const std::vector<Entry>& remote, const std::vector<Entry>& local,
               const PlanOptions& options, const std::vector<bool>* skip) {
  Plan plan;
  auto skipped = [skip](uint32_t i) { return skip != nullptr && (*skip)[i]; };
  std::unordered_map<std::string, uint32_t> remote_index;
  remote_index.reserve(remote.size());
  for (uint32_t i = 0; i < remote.size(); ++i) {
    if (!skipped(i)) remote_index.emplace(remote[i].path, i);
  }

  // Walk the local tree in pre-order and decide, for each local entry,
  // whether it stays. Once a folder goes, everything below it goes too.
  std::unordered_map<std::string, const Entry*> kept;
  kept.reserve(local.size());
  std::vector<Removal> removals;  // pre-order; reversed below
  std::string removed_prefix;     // "dir/" of the folder being removed, if any
  for (const Entry& l : local) {
    if (!removed_prefix.empty() && l.path.compare(0, removed_prefix.size(), removed_prefix) == 0) {
      removals.push_back({l.path, l.type, removals.back().replaced});
      continue;
    }
    removed_prefix.clear();
    auto it = remote_index.find(l.path);
    bool replaced = false;
    bool remove;
    if (it == remote_index.end()) {
      remove = options.delete_extraneous && options.listing_complete;
    } else {
      const Entry& r = remote[it->second];
      replaced = r.type != l.type ||
                 (r.type == EntryType::kSymlink && r.target != l.target);
      remove = replaced;
    }
    if (!remove) {
      kept.emplace(l.path, &l);
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
    auto it = kept.find(r.path);
    const Entry* l = it == kept.end() ? nullptr : it->second;
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
