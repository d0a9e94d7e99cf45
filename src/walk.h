// The tree walk: lists a folder recursively, never following symlinks, in
// the order the protocol sends it, reporting each entry as it is found so
// that nothing of the tree need be held.
#ifndef TREESYNC_WALK_H_
#define TREESYNC_WALK_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
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
  // A scoped walk (WalkScope) lists every entry directly in folder, and with
  // tree everything below it too: called right after the folder's OnEntry
  // (for the root, before anything), before any entry inside it.
  virtual Status OnWhole(const std::string& folder, bool tree) {
    (void)folder;
    (void)tree;
    return Status::Ok();
  }
};

// What a watch round lists of a tree (docs/PROTOCOL.md, "Watch"): entries
// by path, the entries of some folders, whole subtrees, and the folders on
// the way to each. Paths are wire paths; "" is the root.
class WalkScope {
 public:
  enum Kind : uint8_t {
    kEntry,   // the entry itself (if it exists), not what is in a folder
    kFolder,  // the folder's entry and every entry directly in it
    kTree,    // the folder (or entry) and everything below it
  };
  // A path added again keeps the wider kind.
  void Add(const std::string& path, Kind kind);
  bool empty() const { return paths_.empty(); }
  size_t size() const { return paths_.size(); }
  bool Has(const std::string& path, Kind* kind) const;
  // Whether a path strictly below folder was added.
  bool HasBelow(const std::string& folder) const;
  // The names directly in folder that are added paths or lie above one,
  // sorted, each once.
  std::vector<std::string> NamesBelow(const std::string& folder) const;
  // Drops every path below a kTree path (the tree covers them).
  void Simplify();
  const std::map<std::string, Kind>& paths() const { return paths_; }

 private:
  std::map<std::string, Kind> paths_;
};

// Walks root (a symlink to a folder is followed; nothing below it is). Fails
// if root itself is not a readable folder (kBadFolder) or a visitor call
// fails (with that error). Memory: the folders on the path from the root to
// the entry being reported, each with its listing. With a filter, excluded
// entries are not reported and excluded folders not entered; the filter's
// per-folder rule files are read in each folder as it is listed (one that
// can't be read, or a line of it that can't be taken, is a gap there).
Status WalkTree(const std::string& root, WalkVisitor* visitor, const Filter* filter = nullptr);
// Walks only what scope names (and the folders on the way to it), in the
// same order, with OnWhole for each kFolder and kTree folder. An entry
// named that does not exist is left out, not a gap: whoever named it
// also names its folder when a name goes.
Status WalkTree(const std::string& root, WalkVisitor* visitor, const Filter* filter,
                const WalkScope* scope);

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

// root with a final symlink to a folder resolved (else root as it is), so
// a walk and the reads after it see one folder even when the symlink is
// switched meanwhile (a tree kept by --atomic).
std::string ResolveRoot(const std::string& root);

// The root's own mode and mtime (kBadFolder if it is not a folder).
Status RootInfo(const std::string& root, uint32_t* mode, int64_t* mtime_ns);

// One thing a walk reported (see WalkVisitor).
struct WalkItem {
  // kWarning: something about the entry that follows that it goes without
  // (an attribute not read).
  // kWhole: a WalkVisitor::OnWhole, its tree flag in entry.size (1 or 0).
  enum Kind : uint8_t { kEntry, kGap, kSkipped, kWarning, kWhole } kind = kEntry;
  Entry entry;          // kEntry
  std::string path;     // kGap, kWhole: the folder; kSkipped, kWarning: the entry
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
  // scope (may be null: all of it): what a watch round walks.
  explicit BackgroundWalk(std::string root, std::shared_ptr<const Filter> filter = nullptr,
                          bool specials = false, bool xattrs = false,
                          std::shared_ptr<const WalkScope> scope = nullptr);
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
  std::shared_ptr<const WalkScope> scope_;
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
