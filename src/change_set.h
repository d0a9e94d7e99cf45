// ChangeSet: what a tree watcher reported, gathered until it settles, then
// handed over as the scope of one watch round (docs/PROTOCOL.md, "Watch").
#ifndef TREESYNC_CHANGE_SET_H_
#define TREESYNC_CHANGE_SET_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "walk.h"
#include "watch.h"

namespace treesync {

// A path is ready for a round once no event has come for it this long: a
// burst of changes (an unpacked archive, an editor's save) goes in one
// round, and the round still starts within a second of the last change.
constexpr int kSettleMs = 200;
// A file whose data changed and that has not been closed since (Linux
// says when) waits for its writer: it is sent whole once closed, or once
// it has had no write for this long (a log kept open).
constexpr int kOpenWaitMs = 5000;
// Most paths held; past it the next round walks the whole tree, so a
// flood of changes costs one rescan, not unbounded memory.
constexpr size_t kMaxPendingPaths = 100000;

class ChangeSet {
 public:
  explicit ChangeSet(int settle_ms = kSettleMs, int open_wait_ms = kOpenWaitMs)
      : settle_ms_(settle_ms), open_wait_ms_(open_wait_ms) {}

  // Names of per-folder rule files (--filter-file): a change to one changes
  // what is left out of its folder and all below, which is then walked whole.
  void SetRuleFiles(std::vector<std::string> names) { rule_files_ = std::move(names); }
  // Takes one event, seen at now_ms (SteadyMs). Events about temporaries
  // (IsReservedName) are dropped: they are some receiver's work in progress.
  void Add(const platform::WatchEvent& e, int64_t now_ms);
  // Anything may have changed (an overflow, a rescan): the next round walks
  // the whole tree, once what is being written settles.
  void AddEverything(int64_t now_ms);
  bool empty() const { return pending_.empty(); }
  size_t size() const { return pending_.size(); }
  // When the next pending path could be ready (-1: none pending).
  int64_t NextReadyMs() const;
  // Moves the paths ready at now_ms into *scope (simplified), leaving the
  // rest; false if none is ready. A folder or tree waits while something
  // below it is still unsettled: its listing would show that half done.
  bool TakeReady(int64_t now_ms, WalkScope* scope);

 private:
  struct Pending {
    WalkScope::Kind kind = WalkScope::kEntry;
    int64_t last_ms = 0;
    bool writing = false;  // written to and not closed since
  };
  void Note(const std::string& path, WalkScope::Kind kind, int64_t now_ms, bool writing);
  int64_t ReadyAt(const Pending& p) const;

  const int settle_ms_;
  const int open_wait_ms_;
  std::map<std::string, Pending> pending_;
  std::vector<std::string> rule_files_;
};

}  // namespace treesync

#endif  // TREESYNC_CHANGE_SET_H_
