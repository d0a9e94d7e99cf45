#include "walk.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "fs_meta.h"
#include "path.h"
#include "xattrs.h"

namespace fs = std::filesystem;

namespace treesync {

namespace {

// One folder's entries with their info, sorted by name so the listing is
// the same on every run.
Status ListSorted(const std::string& dir, std::vector<platform::FolderEntry>* entries) {
  Status s = platform::ListFolder(dir, entries);
  if (!s.ok()) return Status::Io(Printable(s.message()));
  std::sort(entries->begin(), entries->end(),
            [](const platform::FolderEntry& a, const platform::FolderEntry& b) {
              return a.name < b.name;
            });
  return Status::Ok();
}

// An entry found in its folder's listing, waiting for its turn in the walk.
struct Pending {
  std::string rel;
  platform::FileInfo info;
  std::string error;
  // The per-folder rules in force in rel's folder.
  std::shared_ptr<const FolderRules> rules;
  // Everything below it is walked (no scope, or inside a kTree path).
  bool all = true;
};

// Queues the children of folder prefix (its wire path and a '/', or "")
// that the filter keeps, reading the folder's rule files first.
Status PushChildren(const std::string& root, const std::string& prefix,
                    std::shared_ptr<const FolderRules> above, const Filter* filter,
                    std::vector<platform::FolderEntry>* children, bool all,
                    WalkVisitor* visitor, std::vector<Pending>* stack) {
  std::shared_ptr<const FolderRules> here = std::move(above);
  const std::string folder = prefix.empty() ? prefix : prefix.substr(0, prefix.size() - 1);
  if (filter != nullptr && filter->reads_rule_files()) {
    std::vector<std::string> problems;
    const std::string full = JoinPath(root, folder);
    here = filter->Enter(folder, here,
                         [&](const std::string& name, std::string* text) {
                           return ReadRuleFile(JoinPath(full, name), text, &problems);
                         },
                         &problems);
    for (const std::string& p : problems) {
      TS_RETURN_IF_ERROR(visitor->OnGap(folder, Printable(JoinPath(folder, p))));
    }
  }
  // Reversed, so they pop in order.
  for (auto it = children->rbegin(); it != children->rend(); ++it) {
    if (IsReservedName(it->name)) continue;
    std::string rel = prefix + it->name;
    if (filter != nullptr && it->error.empty() &&
        filter->Excluded(rel, it->info.type == platform::FileType::kDirectory, here.get())) {
      continue;
    }
    stack->push_back({std::move(rel), it->info, std::move(it->error), here, all});
  }
  return Status::Ok();
}

Status RootStat(const std::string& root, platform::FileInfo* info) {
  TS_RETURN_IF_ERROR(platform::Lstat(root, info).Prefixed("folder"));
  if (info->type == platform::FileType::kSymlink) {
    // The user named a symlink to a folder: serve (or fill) that folder.
    std::error_code ec;
    std::filesystem::path real = fs::canonical(platform::FsPath(root), ec);
    if (!ec) TS_RETURN_IF_ERROR(platform::Lstat(real.u8string(), info).Prefixed("folder"));
  }
  if (info->type != platform::FileType::kDirectory) {
    return Status::BadFolder(Printable(root) + (info->type == platform::FileType::kMissing
                                                    ? ": no such folder"
                                                    : ": not a folder"));
  }
  return Status::Ok();
}

// A path cut to what a message can show of it.
std::string Shortened(const std::string& rel) {
  if (rel.size() <= 200) return Printable(rel);
  return Printable(rel.substr(0, 100)) + "..." + Printable(rel.substr(rel.size() - 60));
}

}  // namespace

void ReadXattrs(const std::string& full, Entry* e, std::vector<std::string>* problems) {
  // A symlink's own attributes are the file system's business (Linux
  // takes no user.* attributes on one).
  if (e->type == EntryType::kSymlink) return;
  std::vector<platform::Xattr> all;
  Status s = platform::ListXattrs(full, &all);
  if (!s.ok()) problems->push_back(Printable(s.message()));
  size_t bytes = 0;
  for (platform::Xattr& x : all) {
    const size_t size = x.name.size() + x.value.size();
    if (x.name.size() > kMaxXattrNameBytes || x.value.size() > kMaxXattrValueBytes ||
        bytes + size > kMaxXattrBytes || e->xattrs.size() == kMaxXattrs) {
      problems->push_back(Printable(e->path) + ": attribute " + Printable(x.name.substr(0, 64)) +
                          " not sent (" + std::to_string(x.value.size()) +
                          " bytes; the most an entry carries is " +
                          std::to_string(kMaxXattrBytes) + ", " +
                          std::to_string(kMaxXattrValueBytes) + " a value)");
      continue;
    }
    bytes += size;
    e->xattrs.push_back(std::move(x));
  }
}

std::string ResolveRoot(const std::string& root) {
  platform::FileInfo info;
  if (!platform::Lstat(root, &info).ok() || info.type != platform::FileType::kSymlink) return root;
  std::error_code ec;
  std::filesystem::path real = fs::canonical(platform::FsPath(root), ec);
  return ec ? root : real.u8string();
}

Status RootInfo(const std::string& root, uint32_t* mode, int64_t* mtime_ns) {
  platform::FileInfo info;
  TS_RETURN_IF_ERROR(RootStat(root, &info));
  *mode = info.mode;
  *mtime_ns = info.mtime_ns;
  return Status::Ok();
}

namespace {

// The entries of folder rel that scope names or leads through, each read
// on its own: a round that names one file in a folder of 100,000 reads one.
// Names that do not exist are left out.
void NamedChildren(const std::string& root, const std::string& rel, const WalkScope& scope,
                   std::vector<platform::FolderEntry>* children) {
  children->clear();
  for (std::string& name : scope.NamesBelow(rel)) {
    platform::FolderEntry c;
    c.name = std::move(name);
    Status s = platform::Lstat(JoinPath(root, JoinRel(rel, c.name)), &c.info);
    if (s.ok() && c.info.type == platform::FileType::kMissing) continue;
    if (!s.ok()) c.error = Printable(s.message());
    children->push_back(std::move(c));
  }
}

// How a folder's children are walked under a scope: *list whether to read
// them all (else NamedChildren), *all whether everything below them is
// walked too, *whole whether the folder is wholly listed (OnWhole); false
// when nothing below it is walked.
bool ScopeOf(const WalkScope& scope, const std::string& rel, bool* list, bool* all,
             bool* whole) {
  WalkScope::Kind kind = WalkScope::kEntry;
  const bool named = scope.Has(rel, &kind);
  *all = named && kind == WalkScope::kTree;
  *whole = named && kind != WalkScope::kEntry;
  *list = *whole;
  return *whole || scope.HasBelow(rel);
}

}  // namespace

void WalkScope::Add(const std::string& path, Kind kind) {
  auto it = paths_.emplace(path, kind).first;
  if (kind > it->second) it->second = kind;
}

bool WalkScope::Has(const std::string& path, Kind* kind) const {
  auto it = paths_.find(path);
  if (it == paths_.end()) return false;
  *kind = it->second;
  return true;
}

namespace {
std::string PrefixOf(const std::string& folder) { return folder.empty() ? folder : folder + "/"; }
bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}
}  // namespace

bool WalkScope::HasBelow(const std::string& folder) const {
  const std::string prefix = PrefixOf(folder);
  auto it = paths_.upper_bound(prefix);
  if (folder.empty()) return it != paths_.end();
  return it != paths_.end() && StartsWith(it->first, prefix);
}

std::vector<std::string> WalkScope::NamesBelow(const std::string& folder) const {
  const std::string prefix = PrefixOf(folder);
  std::vector<std::string> names;
  for (auto it = paths_.upper_bound(prefix); it != paths_.end() && StartsWith(it->first, prefix);
       ++it) {
    names.push_back(it->first.substr(prefix.size(), it->first.find('/', prefix.size()) -
                                                        prefix.size()));
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

void WalkScope::Simplify() {
  std::vector<std::string> trees;
  for (const auto& p : paths_) {
    if (p.second == kTree) trees.push_back(p.first);
  }
  for (const std::string& t : trees) {
    if (paths_.count(t) == 0) continue;  // below a tree already dropped
    const std::string prefix = PrefixOf(t);
    auto first = paths_.upper_bound(prefix);
    auto last = first;
    while (last != paths_.end() && StartsWith(last->first, prefix)) ++last;
    if (t.empty()) {
      first = paths_.begin();
      last = paths_.end();
    }
    for (auto it = first; it != last;) {
      it = it->first == t ? std::next(it) : paths_.erase(it);
    }
  }
}

Status WalkTree(const std::string& root, WalkVisitor* visitor, const Filter* filter) {
  return WalkTree(root, visitor, filter, nullptr);
}

Status WalkTree(const std::string& root, WalkVisitor* visitor, const Filter* filter,
                const WalkScope* scope) {
  platform::FileInfo root_info;
  TS_RETURN_IF_ERROR(RootStat(root, &root_info));
  std::vector<platform::FolderEntry> children;
  bool list = true, all = true, whole = false;
  if (scope != nullptr && ScopeOf(*scope, "", &list, &all, &whole) && whole) {
    TS_RETURN_IF_ERROR(visitor->OnWhole("", all));
  }
  if (list) {
    Status s = ListSorted(root, &children);
    if (!s.ok()) return Status::BadFolder(s.message());
  } else {
    NamedChildren(root, "", *scope, &children);
  }
  // An explicit stack of pending entries keeps deep trees off the C++ stack.
  std::vector<Pending> stack;
  TS_RETURN_IF_ERROR(PushChildren(root, "", filter != nullptr ? filter->root_rules() : nullptr,
                                  filter, &children, all, visitor, &stack));
  while (!stack.empty()) {
    Pending p = std::move(stack.back());
    stack.pop_back();
    const std::string& rel = p.rel;
    const platform::FileInfo& info = p.info;
    if (!p.error.empty() || info.type == platform::FileType::kMissing) {
      TS_RETURN_IF_ERROR(visitor->OnGap(
          ParentOf(rel), p.error.empty() ? Printable(rel) + ": vanished while listing" : p.error));
      continue;
    }
    Entry e;
    e.path = rel;
    e.mode = info.mode;
    e.mtime_ns = info.mtime_ns;
    e.uid = info.uid;
    e.gid = info.gid;
    switch (info.type) {
      case platform::FileType::kRegular:
        e.type = EntryType::kFile;
        e.size = info.size;
        e.device = info.device;
        e.inode = info.inode;
        e.links = info.links;
        break;
      case platform::FileType::kDirectory:
        e.type = EntryType::kFolder;
        break;
      case platform::FileType::kSymlink: {
        e.type = EntryType::kSymlink;
        Status st = platform::ReadSymlink(JoinPath(root, rel), &e.target);
        if (!st.ok()) {
          TS_RETURN_IF_ERROR(visitor->OnGap(ParentOf(rel), st.message()));
          continue;
        }
        break;
      }
      case platform::FileType::kFifo:
      case platform::FileType::kSocket:
      case platform::FileType::kCharDevice:
      case platform::FileType::kBlockDevice:
        if (visitor->WantsSpecials()) {
          e.type = EntryType::kSpecial;
          e.special = info.type == platform::FileType::kFifo     ? SpecialKind::kFifo
                      : info.type == platform::FileType::kSocket ? SpecialKind::kSocket
                      : info.type == platform::FileType::kCharDevice ? SpecialKind::kCharDevice
                                                                     : SpecialKind::kBlockDevice;
          e.rdev_major = info.rdev_major;
          e.rdev_minor = info.rdev_minor;
          break;
        }
        TS_RETURN_IF_ERROR(visitor->OnSkipped(rel));
        continue;
      default:
        TS_RETURN_IF_ERROR(visitor->OnSkipped(rel));
        continue;
    }
    if (rel.size() > kMaxPathBytes || e.target.size() > kMaxLinkTargetBytes) {
      TS_RETURN_IF_ERROR(visitor->OnGap(
          ParentOf(rel), Shortened(rel) + ": path or link target too long to send (" +
                             std::to_string(rel.size()) + " bytes)"));
      continue;
    }
    bool is_folder = e.type == EntryType::kFolder;
    TS_RETURN_IF_ERROR(visitor->OnEntry(e));
    if (!is_folder) continue;
    bool list_all = true, below_all = true, whole = false;
    if (!p.all) {
      if (!ScopeOf(*scope, rel, &list_all, &below_all, &whole)) continue;
      if (whole) TS_RETURN_IF_ERROR(visitor->OnWhole(rel, below_all));
    }
    if (list_all) {
      Status st = ListSorted(JoinPath(root, rel), &children);
      if (!st.ok()) {
        TS_RETURN_IF_ERROR(visitor->OnGap(rel, st.message()));
        continue;
      }
    } else {
      NamedChildren(root, rel, *scope, &children);
    }
    TS_RETURN_IF_ERROR(
        PushChildren(root, rel + "/", p.rules, filter, &children, below_all, visitor, &stack));
  }
  return Status::Ok();
}

namespace {

class Collector : public WalkVisitor {
 public:
  Collector(const std::string& root, WalkResult* out) : root_(root), out_(out) {}
  Status OnEntry(Entry& e) override {
    if (out_->entries.size() >= kMaxEntries) {
      return Status::Io("more than " + std::to_string(kMaxEntries) + " entries under " +
                        Printable(root_));
    }
    out_->entries.push_back(std::move(e));
    return Status::Ok();
  }
  Status OnGap(const std::string& folder, const std::string& message) override {
    out_->problems.push_back({folder, message});
    return Status::Ok();
  }
  Status OnSkipped(const std::string& path) override {
    out_->skipped.push_back(path);
    return Status::Ok();
  }

 private:
  const std::string& root_;
  WalkResult* out_;
};

}  // namespace

Status WalkTree(const std::string& root, WalkResult* out, const Filter* filter) {
  *out = WalkResult();
  TS_RETURN_IF_ERROR(RootInfo(root, &out->root_mode, &out->root_mtime_ns));
  Collector c(root, out);
  return WalkTree(root, &c, filter);
}

// Gathers items into batches and hands each to the queue, waiting while
// the queue is full.
class BackgroundWalk::Feeder : public WalkVisitor {
 public:
  explicit Feeder(BackgroundWalk* w) : w_(w) { batch_.reserve(kBatchItems); }
  bool WantsSpecials() const override { return w_->specials_; }
  std::vector<std::string> problems_;
  Status OnEntry(Entry& e) override {
    if (w_->xattrs_) {
      problems_.clear();
      ReadXattrs(JoinPath(w_->root_, e.path), &e, &problems_);
      for (std::string& p : problems_) {
        batch_.emplace_back();
        batch_.back().kind = WalkItem::kWarning;
        batch_.back().path = e.path;
        batch_.back().message = std::move(p);
      }
    }
    batch_.emplace_back();
    batch_.back().entry = std::move(e);
    return MaybeHand();
  }
  Status OnGap(const std::string& folder, const std::string& message) override {
    batch_.emplace_back();
    batch_.back().kind = WalkItem::kGap;
    batch_.back().path = folder;
    batch_.back().message = message;
    return MaybeHand();
  }
  Status OnSkipped(const std::string& path) override {
    batch_.emplace_back();
    batch_.back().kind = WalkItem::kSkipped;
    batch_.back().path = path;
    return MaybeHand();
  }
  Status OnWhole(const std::string& folder, bool tree) override {
    batch_.emplace_back();
    batch_.back().kind = WalkItem::kWhole;
    batch_.back().path = folder;
    batch_.back().entry.size = tree ? 1 : 0;
    return MaybeHand();
  }
  // Hands over what is gathered.
  Status Hand() {
    if (batch_.empty()) return Status::Ok();
    std::unique_lock<std::mutex> lock(w_->mu_);
    w_->changed_.wait(lock, [this] { return w_->stop_ || w_->queued_ < kMaxQueued; });
    if (w_->stop_) return Status::Interrupted("walk stopped");
    w_->queued_ += batch_.size();
    w_->queue_.push_back(std::move(batch_));
    batch_ = std::vector<WalkItem>();
    batch_.reserve(kBatchItems);
    w_->changed_.notify_all();
    return Status::Ok();
  }

 private:
  Status MaybeHand() { return batch_.size() >= kBatchItems ? Hand() : Status::Ok(); }
  BackgroundWalk* w_;
  std::vector<WalkItem> batch_;
};

BackgroundWalk::BackgroundWalk(std::string root, std::shared_ptr<const Filter> filter,
                               bool specials, bool xattrs,
                               std::shared_ptr<const WalkScope> scope)
    : root_(std::move(root)),
      filter_(std::move(filter)),
      specials_(specials),
      xattrs_(xattrs),
      scope_(std::move(scope)) {
  thread_ = std::thread([this] { Run(); });
}

BackgroundWalk::~BackgroundWalk() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    changed_.notify_all();
  }
  thread_.join();
}

void BackgroundWalk::Run() {
  Feeder feeder(this);
  Status s = WalkTree(root_, &feeder, filter_.get(), scope_.get());
  if (s.ok()) s = feeder.Hand();
  std::lock_guard<std::mutex> lock(mu_);
  status_ = s;
  finished_ = true;
  changed_.notify_all();
}

Status BackgroundWalk::Next(std::vector<WalkItem>* batch, int wait_ms, bool* done) {
  std::unique_lock<std::mutex> lock(mu_);
  auto ready = [this] { return !queue_.empty() || finished_; };
  if (wait_ms < 0) {
    changed_.wait(lock, ready);
  } else {
    changed_.wait_for(lock, std::chrono::milliseconds(wait_ms), ready);
  }
  *done = false;
  batch->clear();
  if (!queue_.empty()) {
    *batch = std::move(queue_.front());
    queue_.pop_front();
    queued_ -= batch->size();
    changed_.notify_all();
    return Status::Ok();
  }
  if (!finished_) return Status::Ok();
  *done = true;
  return status_;
}

}  // namespace treesync
