#include "plan.h"

namespace treesync {

namespace {

bool SameContent(const Entry& local, const Entry& remote, const PlanOptions& options) {
  if (local.size != remote.size) return false;
  if (options.size_only) return true;
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

EntryPlan PlanEntry(const Entry& r, const Entry* l, const PlanOptions& options) {
  EntryPlan p;
  if (l != nullptr &&
      (l->type != r.type || (r.type == EntryType::kSymlink && l->target != r.target) ||
       (r.type == EntryType::kSpecial &&
        (l->special != r.special || l->rdev_major != r.rdev_major ||
         l->rdev_minor != r.rdev_minor)))) {
    p.remove_local = true;
    l = nullptr;
  }
  switch (r.type) {
    case EntryType::kFolder:
    case EntryType::kSymlink:
      p.create = l == nullptr;
      break;
    case EntryType::kSpecial:
      p.create = l == nullptr;
      p.fix_metadata = l != nullptr &&
                       ((options.compare_mode && (l->mode & 0777) != (r.mode & 0777)) ||
                        !SameMtime(l->mtime_ns, r.mtime_ns, options.mtime_granularity_ns));
      break;
    case EntryType::kFile:
      if (l != nullptr && (options.ignore_existing ||
                           (options.update && l->mtime_ns > r.mtime_ns &&
                            !SameMtime(l->mtime_ns, r.mtime_ns, options.mtime_granularity_ns)))) {
        break;  // left as it is, metadata too
      }
      if (l == nullptr || !SameContent(*l, r, options)) {
        p.fetch = true;
        p.existing = l != nullptr;
      } else {
        bool mode_differs = options.compare_mode && (l->mode & 0777) != (r.mode & 0777);
        p.fix_metadata =
            mode_differs || !SameMtime(l->mtime_ns, r.mtime_ns, options.mtime_granularity_ns);
      }
      break;
  }
  return p;
}

}  // namespace treesync
