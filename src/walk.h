// The tree walk: lists a folder recursively, never following symlinks, in
// the order the protocol sends it, reporting each entry as it is found so
// that nothing of the tree need be held.
#ifndef TREESYNC_WALK_H_
#define TREESYNC_WALK_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "filter.h"
#include "manifest.h"
#include "status.h"

namespace treesync {

// What a walk reports, in listing order: pre-order (a folder, then its whole
// subtree), names sorted bytewise within each folder; the root itself is not
// reported. Receiving temporaries (IsReservedName) are never reported: they
// are another pull's work in progress, not part of the tree.
class WalkVisitor {
 public:
  virtual ~WalkVisitor() = default;
  virtual Status OnEntry(Entry& entry) = 0;
  // Not everything directly in `folder` (a wire path; "" is the root) could
  // be listed: the folder itself can't be read, or an entry in it vanished,
  // can't be read, or has a path or link target too long to send. message
  // is one line naming the entry.
  virtual Status OnGap(const std::string& folder, const std::string& message) = 0;
  // A FIFO, socket or device, unless WantsSpecials(): never opened, only
  // noted. With WantsSpecials() it is an OnEntry of type kSpecial.
  virtual Status OnSkipped(const std::string& path) = 0;
  virtual bool WantsSpecials() const { return false; }
};

// Walks root (a symlink to a folder is followed; nothing below it is). Fails
// if root itself is not a readable folder (kBadFolder) or a visitor call
// fails (with that error). Memory: the folders on the path from the root to
// the entry being reported, each with its listing. With a filter, excluded
// entries are not reported and excluded folders not entered; the filter's
// per-folder rule files are read in each folder as it is listed (one that
// can't be read, or a line of it that can't be taken, is a gap there).
Status WalkTree(const std::string& root, WalkVisitor* visitor, const Filter* filter = nullptr);

struct WalkProblem {
  std::string folder;   // wire path of the folder not wholly listed
  std::string message;  // one line, naming the entry
};

// A whole walk held in memory: for tests, and for the legacy server, whose
// old clients need the tree before anything else.
struct WalkResult {
  std::vector<Entry> entries;
  std::vector<WalkProblem> problems;
  std::vector<std::string> skipped;
  uint32_t root_mode = 0;
  int64_t root_mtime_ns = 0;
};
// WalkTree into *out, failing with kIo past kMaxEntries entries.
Status WalkTree(const std::string& root, WalkResult* out, const Filter* filter = nullptr);

// The root's own mode and mtime (kBadFolder if it is not a folder).
Status RootInfo(const std::string& root, uint32_t* mode, int64_t* mtime_ns);

// One thing a walk reported (see WalkVisitor).
struct WalkItem {
  // kWarning: something about the entry that follows that it goes without
  // (an attribute not read).
  enum Kind : uint8_t { kEntry, kGap, kSkipped, kWarning } kind = kEntry;
  Entry entry;          // kEntry
  std::string path;     // kGap: the folder; kSkipped, kWarning: the entry
  std::string message;  // kGap, kWarning
};

// Reads the extended attributes of e (at full) into e->xattrs, leaving out
// what can't be read or would pass manifest.h's limits: one line each into
// *problems. A symlink's are never read.
void ReadXattrs(const std::string& full, Entry* e, std::vector<std::string>* problems);

// A walk on a thread of its own, handing its items over in order through a
// bounded queue: the walker waits while the queue is full, so the walk runs
// ahead of its reader by at most kMaxQueued items.
class BackgroundWalk {
 public:
  // A few hundred KiB of items at most: enough to keep the reader busy
  // while the walker waits on the disk, little enough for many sessions.
  static constexpr size_t kBatchItems = 256;
  static constexpr size_t kMaxQueued = 8 * kBatchItems;

  // specials: FIFOs, sockets and devices come as kSpecial entries, not
  // kSkipped items. xattrs: entries come with their attributes (ReadXattrs,
  // on the walk's thread), each problem a kWarning item before its entry.
  explicit BackgroundWalk(std::string root, std::shared_ptr<const Filter> filter = nullptr,
                          bool specials = false, bool xattrs = false);
  // Stops the walk where it is and waits for its thread.
  ~BackgroundWalk();
  BackgroundWalk(const BackgroundWalk&) = delete;
  BackgroundWalk& operator=(const BackgroundWalk&) = delete;

  // Moves the next batch of items (at most kBatchItems) into *batch, waiting
  // up to wait_ms (-1: forever) for one. Sets *done once every item has been
  // taken; then the walk's own status is returned.
  Status Next(std::vector<WalkItem>* batch, int wait_ms, bool* done);

 private:
  class Feeder;
  void Run();

  std::string root_;
  std::shared_ptr<const Filter> filter_;
  bool specials_;
  bool xattrs_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<std::vector<WalkItem>> queue_;
  size_t queued_ = 0;  // items in queue_
  bool finished_ = false;
  bool stop_ = false;
  Status status_;
  std::thread thread_;
};

}  // namespace treesync

#endif  // TREESYNC_WALK_H_
