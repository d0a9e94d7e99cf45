// Change notifications for a folder tree: inotify on Linux,
// ReadDirectoryChangesW on Windows. Where neither works (another OS, or the
// watch limit reached) WatchTree fails and the caller rescans instead.
#ifndef TREESYNC_PLATFORM_WATCH_H_
#define TREESYNC_PLATFORM_WATCH_H_

#include <memory>
#include <string>
#include <vector>

#include "status.h"

namespace platform {

using treesync::Status;

// One change a watcher saw. path is relative to the watched root,
// '/'-separated ("" is the root itself).
struct WatchEvent {
  enum Kind : unsigned char {
    // An entry appeared (made, moved in, a symlink or link made), was
    // replaced, had its metadata changed, or is a file closed after writing.
    kChanged,
    // A file's data changed and it may still be open for writing: more is
    // likely to follow, ending with a kChanged when it is closed (Linux).
    kWriting,
    // A folder appeared (made or moved in): everything below it is new too,
    // and is now watched.
    kFolderAdded,
    // A name went away (deleted, or moved out or over).
    kRemoved,
    // Events were lost (a queue overflowed, the root moved): anything may
    // have changed.
    kOverflow,
  };
  Kind kind = kChanged;
  std::string path;
};

class TreeWatcher {
 public:
  virtual ~TreeWatcher() = default;
  // Waits up to timeout_ms (0: not at all) for changes and appends what
  // arrived to *events (nothing when the time ran out). An error means the
  // watcher can no longer be trusted: rescan and watch anew.
  virtual Status Wait(int timeout_ms, std::vector<WatchEvent>* events) = 0;
};

// Starts watching root and every folder below it; folders that appear
// later are watched as they do. Events for names a watcher can't map back
// to a path are reported as kOverflow, never dropped. kIo when this OS has
// no notifications or they can't cover the tree (the message says why).
Status WatchTree(const std::string& root, std::unique_ptr<TreeWatcher>* out);

}  // namespace platform

#endif  // TREESYNC_PLATFORM_WATCH_H_
