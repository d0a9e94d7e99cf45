#include "change_set.h"

#include <algorithm>
#include <vector>

#include "manifest.h"
#include "path.h"

namespace treesync {

namespace {

bool Below(const std::string& path, const std::string& folder, bool direct) {
  if (folder.empty()) return !path.empty() && (!direct || path.find('/') == std::string::npos);
  if (path.size() <= folder.size() + 1 || path.compare(0, folder.size(), folder) != 0 ||
      path[folder.size()] != '/') {
    return false;
  }
  return !direct || path.find('/', folder.size() + 1) == std::string::npos;
}

}  // namespace

void ChangeSet::Note(const std::string& path, WalkScope::Kind kind, int64_t now_ms,
                     bool writing) {
  if (pending_.size() >= kMaxPendingPaths && pending_.count(path) == 0) {
    // Keep what is being written waiting; walk everything else.
    std::map<std::string, Pending> kept;
    for (auto& p : pending_) {
      if (p.second.writing) kept.emplace(p.first, p.second);
    }
    if (kept.size() >= kMaxPendingPaths / 2) kept.clear();
    pending_.swap(kept);
    Pending& all = pending_[""];
    all.kind = WalkScope::kTree;
    all.last_ms = now_ms;
    return;
  }
  Pending& p = pending_[path];
  if (kind > p.kind) p.kind = kind;
  p.last_ms = now_ms;
  p.writing = writing;
}

void ChangeSet::Add(const platform::WatchEvent& e, int64_t now_ms) {
  if (e.kind != platform::WatchEvent::kOverflow && !e.path.empty() &&
      IsReservedName(BaseName(e.path))) {
    return;
  }
  if (e.kind != platform::WatchEvent::kOverflow && e.kind != platform::WatchEvent::kFolderAdded &&
      std::find(rule_files_.begin(), rule_files_.end(), BaseName(e.path)) != rule_files_.end()) {
    Note(ParentOf(e.path), WalkScope::kTree, now_ms, e.kind == platform::WatchEvent::kWriting);
    return;
  }
  switch (e.kind) {
    case platform::WatchEvent::kChanged:
      Note(e.path, WalkScope::kEntry, now_ms, false);
      break;
    case platform::WatchEvent::kWriting:
      Note(e.path, WalkScope::kEntry, now_ms, true);
      break;
    case platform::WatchEvent::kFolderAdded:
      Note(e.path, WalkScope::kTree, now_ms, false);
      break;
    case platform::WatchEvent::kRemoved: {
      // Only a listing of its folder can say a name is gone.
      Note(ParentOf(e.path), WalkScope::kFolder, now_ms, false);
      auto it = pending_.find(e.path);
      if (it != pending_.end()) it->second.writing = false;
      break;
    }
    case platform::WatchEvent::kOverflow:
      AddEverything(now_ms);
      break;
  }
}

void ChangeSet::AddEverything(int64_t now_ms) { Note("", WalkScope::kTree, now_ms, false); }

int64_t ChangeSet::ReadyAt(const Pending& p) const {
  return p.last_ms + (p.writing ? open_wait_ms_ : settle_ms_);
}

int64_t ChangeSet::NextReadyMs() const {
  int64_t next = -1;
  for (const auto& p : pending_) {
    const int64_t at = ReadyAt(p.second);
    if (next < 0 || at < next) next = at;
  }
  return next;
}

bool ChangeSet::TakeReady(int64_t now_ms, WalkScope* scope) {
  std::vector<std::string> unsettled;
  for (const auto& p : pending_) {
    if (ReadyAt(p.second) > now_ms) unsettled.push_back(p.first);
  }
  std::vector<std::string> taken;
  for (const auto& p : pending_) {
    if (ReadyAt(p.second) > now_ms) continue;
    if (p.second.kind != WalkScope::kEntry) {
      const bool direct = p.second.kind == WalkScope::kFolder;
      const bool blocked = std::any_of(unsettled.begin(), unsettled.end(), [&](const std::string& u) {
        return Below(u, p.first, direct);
      });
      if (blocked) continue;
    }
    taken.push_back(p.first);
  }
  if (taken.empty()) return false;
  for (const std::string& t : taken) {
    scope->Add(t, pending_[t].kind);
    pending_.erase(t);
  }
  scope->Simplify();
  return true;
}

}  // namespace treesync
