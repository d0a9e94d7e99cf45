// The mirror plan, one listed entry at a time: compares a listing entry with
// what the target folder holds at its path and decides what to do. Pure: it
// reads no disk, so every decision is unit-testable.
#ifndef TREESYNC_PLAN_H_
#define TREESYNC_PLAN_H_

#include <cstdint>

#include "manifest.h"

namespace treesync {

struct PlanOptions {
  // Compare content hashes instead of modification times (--checksum).
  bool checksum = false;
  // What the target folder's file system keeps (platform::KeepsPermissionBits
  // and MtimeGranularityNs): unkept bits are not compared, and times that
  // agree to the granularity are equal.
  bool compare_mode = true;
  int64_t mtime_granularity_ns = 1;
  // rsync's --size-only: a local file of the listed size is current (its
  // mode and time are still set).
  bool size_only = false;
  // --ignore-existing: a local file of any content is left as it is.
  bool ignore_existing = false;
  // --update: a local file newer than the listed one is left as it is (one
  // of the same time is fetched only if its size differs).
  bool update = false;
};

// Whether two modification times are the same once stored with the given
// granularity (1: exactly equal).
bool SameMtime(int64_t a_ns, int64_t b_ns, int64_t granularity_ns);

struct EntryPlan {
  // The local entry is in the way (another kind, or a symlink with another
  // target): it goes before the listed one is made.
  bool remove_local = false;
  // A folder or symlink to make.
  bool create = false;
  // A file whose data must be transferred; `existing`: it replaces a local
  // file (whose old version can serve as a delta basis).
  bool fetch = false;
  bool existing = false;
  // A current file whose permission bits (or, with checksum, mtime) differ.
  bool fix_metadata = false;
};

// remote: a listing entry. local: what the target holds at its path, or
// null; a local symlink carries its target when remote is a symlink, and
// with options.checksum a same-size local file carries its hash if it
// could be read. A local file is current when its size and mtime equal the
// listing's (the quick check) or, with checksum, when its size and content
// hash do (both must carry has_hash, else it is fetched); a symlink when
// its target does; a special file when its kind and device numbers do
// (then fix_metadata for its mode and time); a folder always (its metadata
// is set once its contents are in). The rsync options above narrow what is fetched.
EntryPlan PlanEntry(const Entry& remote, const Entry* local, const PlanOptions& options);

}  // namespace treesync

#endif  // TREESYNC_PLAN_H_
