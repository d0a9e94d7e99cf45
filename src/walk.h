// The tree walk: lists a folder recursively with std::filesystem, never
// following symlinks, in the order the protocol sends it.
#ifndef TREESYNC_WALK_H_
#define TREESYNC_WALK_H_

#include <functional>
#include <string>
#include <vector>

#include "manifest.h"
#include "status.h"

namespace treesync {

struct WalkProblem {
  std::string path;     // wire path of the entry
  std::string message;  // one line, already naming the path
};

struct WalkResult {
  // Pre-order (a folder before its contents), names sorted bytewise within
  // each folder; the root itself is not listed.
  std::vector<Entry> entries;
  // Entries that could not be read (the walk went on without them).
  std::vector<WalkProblem> problems;
  // FIFOs, sockets and devices: never opened, only noted.
  std::vector<std::string> skipped;
  // The root folder's own permission bits and modification time.
  uint32_t root_mode = 0;
  int64_t root_mtime_ns = 0;
};

// Called with each entry as soon as it is found, in listing order, so a
// caller can stream the listing while the walk goes on. An error stops the
// walk and is returned by WalkTree.
using EntryVisitor = std::function<Status(Entry& entry)>;

// kTwo walks the later half of the root's entries on a second thread while
// the first half is walked and visited: for a caller with a core to spare.
// The result and the order of visits are the same either way.
enum class WalkThreads { kOne, kTwo };

// Walks root (a symlink to a folder is followed; nothing below it is).
// Fails if root itself is not a readable folder (kBadFolder), the tree has
// more than kMaxEntries entries (kIo), or the visitor fails.
Status WalkTree(const std::string& root, WalkResult* out,
                const EntryVisitor& visit = nullptr, WalkThreads threads = WalkThreads::kOne);
// The root's own mode and mtime, as WalkTree would record them.
Status RootInfo(const std::string& root, uint32_t* mode, int64_t* mtime_ns);

}  // namespace treesync

#endif  // TREESYNC_WALK_H_
