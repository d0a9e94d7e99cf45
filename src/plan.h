// The mirror plan: compares the server's listing with what the target folder
// holds and decides what to delete, create, fetch and touch up. Pure: it
// reads no disk, so every decision is unit-testable.
#ifndef TREESYNC_PLAN_H_
#define TREESYNC_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "manifest.h"

namespace treesync {

struct PlanOptions {
  bool delete_extraneous = true;  // false with --no-delete
  bool listing_complete = true;   // false: never delete extraneous entries
  // Compare content hashes instead of modification times (--checksum).
  bool checksum = false;
  // What the target folder's file system keeps (platform::KeepsPermissionBits
  // and MtimeGranularityNs): unkept bits are not compared, and times that
  // agree to the granularity are equal.
  bool compare_mode = true;
  int64_t mtime_granularity_ns = 1;
};

// Whether two modification times are the same once stored with the given
// granularity (1: exactly equal).
bool SameMtime(int64_t a_ns, int64_t b_ns, int64_t granularity_ns);

struct Removal {
  std::string path;  // local wire path
  EntryType type;    // what it is on disk
  bool replaced;     // true: in the way of a server entry of another kind
};

struct Plan {
  // Local entries to remove, every folder's contents before the folder.
  std::vector<Removal> removals;
  // Indices into the listing, in listing order (parents first).
  std::vector<uint32_t> create_folders;
  std::vector<uint32_t> create_symlinks;
  // Files to transfer; `existing` says whether a local file is replaced.
  struct Fetch {
    uint32_t index;
    bool existing;
  };
  std::vector<Fetch> fetch;
  // Files whose content is current but whose permission bits (or, with
  // checksum, modification time) differ.
  std::vector<uint32_t> fix_metadata;
  // Files skipped by the quick check (size and mtime equal).
  uint32_t unchanged_files = 0;
};

// remote: the listing (pre-order, validated); entries marked in skip (if
// given) are left out, as if the server had not listed them. local: the target folder's
// walk (pre-order). A local file is current when its size and mtime equal
// the server's (the quick check) or, with options.checksum, when its size
// and content hash do (both sides must carry has_hash, else it is fetched);
// a symlink when its target does.
Plan BuildPlan(const std::vector<Entry>& remote, const std::vector<Entry>& local,
               const PlanOptions& options, const std::vector<bool>* skip = nullptr);

}  // namespace treesync

#endif  // TREESYNC_PLAN_H_
