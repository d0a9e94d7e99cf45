#include "watch.h"

#ifdef __linux__

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace platform {

namespace {

// IN_EXCL_UNLINK: a file deleted while still open reports nothing more.
// IN_ONLYDIR: a name that is no longer a folder when the watch is added
// (the walk raced a change) is refused rather than watched.
constexpr uint32_t kWatchMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB |
                                IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF |
                                IN_EXCL_UNLINK | IN_ONLYDIR;

// One read takes this much of the queue: a thousand events or more, where
// the largest single event is sizeof(inotify_event) + NAME_MAX + 1.
constexpr size_t kReadBufferSize = 64 * 1024;

// Wait stops reading after this many full buffers (about 1 MiB, tens of
// thousands of events) even if more keep coming, so a tree that never goes
// quiet can't keep the caller from its timeouts and interrupts; the rest
// stays queued for the next Wait.
constexpr int kMaxReadsPerWait = 16;

std::string Join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

Status WatchLimitError(const std::string& path) {
  return Status::Io("watch " + path +
                    ": the inotify watch limit is reached (raise "
                    "/proc/sys/fs/inotify/max_user_watches)");
}

class InotifyWatcher : public TreeWatcher {
 public:
  InotifyWatcher(int fd, std::string root) : fd_(fd), root_(std::move(root)) {}
  ~InotifyWatcher() override { close(fd_); }
  InotifyWatcher(const InotifyWatcher&) = delete;
  InotifyWatcher& operator=(const InotifyWatcher&) = delete;

  // Watches root and everything below it; the first call, from WatchTree.
  Status Start() {
    return AddSubtree("", nullptr);
  }

  Status Wait(int timeout_ms, std::vector<WatchEvent>* events) override {
    if (!broken_.ok()) return broken_;
    // A caller counting down to a deadline that has passed means "don't
    // wait", not poll()'s "wait forever".
    if (timeout_ms < 0) timeout_ms = 0;
    struct pollfd p;
    p.fd = fd_;
    p.events = POLLIN;
    p.revents = 0;
    int n = poll(&p, 1, timeout_ms);
    // EINTR counts as the time running out: the caller's loop checks for
    // an interrupt sooner than a retry here would let it.
    if (n < 0 && errno == EINTR) return Status::Ok();
    if (n < 0) return Broken(Status::Io(std::string("poll inotify: ") + strerror(errno)));
    if (n == 0) return Status::Ok();

    out_ = events;
    overflow_reported_ = false;
    resync_ = false;
    Status s;
    for (int reads = 0; reads < kMaxReadsPerWait && s.ok(); ++reads) {
      ssize_t got = read(fd_, buffer_, sizeof buffer_);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) break;
      if (got < 0) {
        s = Status::Io(std::string("read inotify: ") + strerror(errno));
        break;
      }
      s = Translate(static_cast<size_t>(got));
    }
    if (s.ok() && resync_) s = Resync();
    // The tree is no longer covered (or the map no longer known): say so
    // in the events too, for a caller that looks only at them.
    if (!s.ok()) Emit(WatchEvent::kOverflow, "");
    out_ = nullptr;
    return s.ok() ? s : Broken(s);
  }

 private:
  Status Broken(Status s) {
    broken_ = s;
    return s;
  }

  std::string FullPath(const std::string& rel) const {
    return rel.empty() ? root_ : root_ + "/" + rel;
  }

  void Emit(WatchEvent::Kind kind, const std::string& path) {
    if (kind == WatchEvent::kOverflow) {
      if (overflow_reported_) return;  // once per Wait says it all
      overflow_reported_ = true;
    }
    WatchEvent e;
    e.kind = kind;
    e.path = path;
    out_->push_back(std::move(e));
  }

  // Events were lost or the map no longer matches the disk: report it, and
  // re-walk the tree at the end of this Wait so folders whose events were
  // lost are watched from now on.
  void Overflow() {
    Emit(WatchEvent::kOverflow, "");
    resync_ = true;
  }

  Status Translate(size_t size) {
    size_t pos = 0;
    while (pos + sizeof(struct inotify_event) <= size) {
      const struct inotify_event* ev = reinterpret_cast<const struct inotify_event*>(buffer_ + pos);
      pos += sizeof(struct inotify_event) + ev->len;
      TS_RETURN_IF_ERROR(Handle(*ev));
    }
    return Status::Ok();
  }

  Status Handle(const struct inotify_event& ev) {
    const uint32_t m = ev.mask;
    if (m & IN_Q_OVERFLOW) {
      Overflow();
      return Status::Ok();
    }
    auto it = paths_.find(ev.wd);
    if (it == paths_.end()) {
      // A watch we removed ourselves still has events queued, the last
      // being IN_IGNORED; any other wd means the map lost track.
      auto dropped = dropped_.find(ev.wd);
      if (dropped == dropped_.end()) {
        Overflow();
      } else if (m & IN_IGNORED) {
        dropped_.erase(dropped);
      }
      return Status::Ok();
    }
    const std::string dir = it->second;
    const bool is_root = ev.wd == root_wd_;
    if (m & IN_IGNORED) {
      // The kernel dropped the watch (its folder is gone or unmounted).
      // For a folder below the root its parent reports the removal.
      Forget(ev.wd);
      if (is_root) {
        root_wd_ = -1;
        Overflow();
      }
      return Status::Ok();
    }
    if (m & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) {
      // Below the root the parent's IN_DELETE or IN_MOVED_FROM says it.
      if (is_root || (m & IN_UNMOUNT)) Overflow();
      return Status::Ok();
    }
    // The kernel pads names with NULs up to len.
    const std::string name(ev.name, ev.len > 0 ? strnlen(ev.name, ev.len) : 0);
    const std::string path = name.empty() ? dir : Join(dir, name);
    const bool is_dir = (m & IN_ISDIR) != 0;

    if (is_dir && (m & (IN_CREATE | IN_MOVED_TO))) {
      // A folder moved here took its old watches' removal with its
      // IN_MOVED_FROM (if it came from inside the tree); what was at this
      // name before (a folder replaced by the move) is gone too. Watch
      // the subtree afresh under its new path.
      if (m & IN_MOVED_TO) DropSubtree(path);
      Emit(WatchEvent::kFolderAdded, path);
      return AddSubtree(path, nullptr);
    }
    if (m & (IN_DELETE | IN_MOVED_FROM)) {
      Emit(WatchEvent::kRemoved, path);
      // A folder that moved keeps its watches, which would go on reporting
      // under the old path (or from outside the tree); one deleted leaves
      // watches whose IN_IGNORED is still to come. Either way drop them
      // now, and let IN_MOVED_TO (if it was a move within the tree) watch
      // the subtree anew. inotify numbers watches cyclically, so the new
      // ones get new wds and what the old ones still have queued is
      // recognised as dropped.
      if (is_dir) DropSubtree(path);
      return Status::Ok();
    }
    if (m & IN_MODIFY) {
      Emit(WatchEvent::kWriting, path);
      return Status::Ok();
    }
    if (m & (IN_CREATE | IN_MOVED_TO | IN_ATTRIB | IN_CLOSE_WRITE)) {
      Emit(WatchEvent::kChanged, path);
      // A folder we could not watch (unreadable) may just have become
      // watchable; if so everything in it is news to the caller.
      if (is_dir && (m & IN_ATTRIB) && !name.empty() && by_path_.count(path) == 0) {
        size_t before = paths_.size();
        TS_RETURN_IF_ERROR(AddSubtree(path, nullptr));
        if (paths_.size() > before) Emit(WatchEvent::kFolderAdded, path);
      }
      return Status::Ok();
    }
    return Status::Ok();
  }

  // Watches the folder at rel (relative to the root) and every folder
  // below it, not following symlinks. A folder that is gone, is no longer
  // a folder or can't be read is skipped: its parent's events cover it.
  // Adds each wd to *touched if given. Fails when the root can't be
  // watched, on the watch limit, and on other errors.
  Status AddSubtree(const std::string& rel, std::unordered_set<int>* touched) {
    std::vector<std::string> pending{rel};
    while (!pending.empty()) {
      std::string folder = std::move(pending.back());
      pending.pop_back();
      const std::string full = FullPath(folder);
      // A root that is a symlink is followed, as the walk does (the user
      // named it); below the root nothing is.
      const bool follow = folder.empty();
      int wd = inotify_add_watch(fd_, full.c_str(), kWatchMask | (follow ? 0 : IN_DONT_FOLLOW));
      if (wd < 0) {
        int err = errno;
        if (err == ENOSPC) return WatchLimitError(full);
        if (!folder.empty() && (err == ENOENT || err == ENOTDIR || err == EACCES)) continue;
        return Status::Io("watch " + full + ": " + strerror(err));
      }
      SetPath(wd, folder);
      if (folder.empty()) root_wd_ = wd;
      if (touched != nullptr) touched->insert(wd);

      // O_NOFOLLOW: the name may have become a symlink since the watch.
      int dfd = open(full.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
      if (dfd < 0) continue;  // gone or unreadable: as above
      DIR* d = fdopendir(dfd);
      if (d == nullptr) {
        close(dfd);
        continue;
      }
      while (struct dirent* e = readdir(d)) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        bool is_dir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN) {
          struct stat st;
          is_dir =
              fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
        }
        if (is_dir) pending.push_back(Join(folder, e->d_name));
      }
      closedir(d);
    }
    return Status::Ok();
  }

  // After lost events: watches every folder in the tree under its current
  // path and drops the watches the walk didn't reach (their folders are
  // gone or outside the tree).
  Status Resync() {
    std::unordered_set<int> touched;
    root_wd_ = -1;
    Status s = AddSubtree("", &touched);
    if (!s.ok()) return s;
    std::vector<int> stale;
    for (const auto& entry : paths_) {
      if (touched.count(entry.first) == 0) stale.push_back(entry.first);
    }
    for (int wd : stale) Drop(wd);
    return Status::Ok();
  }

  // Records that wd watches the folder at rel, replacing what it watched
  // before (inotify gives an already-watched folder its existing wd).
  void SetPath(int wd, const std::string& rel) {
    Forget(wd);
    paths_[wd] = rel;
    by_path_.emplace(rel, wd);
    dropped_.erase(wd);  // only if wds were ever reused
  }

  // Removes wd from the maps; the watch itself stays.
  void Forget(int wd) {
    auto it = paths_.find(wd);
    if (it == paths_.end()) return;
    auto range = by_path_.equal_range(it->second);
    for (auto p = range.first; p != range.second; ++p) {
      if (p->second == wd) {
        by_path_.erase(p);
        break;
      }
    }
    paths_.erase(it);
  }

  // Removes the watch and remembers that its remaining events are expected.
  void Drop(int wd) {
    Forget(wd);
    inotify_rm_watch(fd_, wd);  // fails if the kernel removed it already: fine
    dropped_.insert(wd);
  }

  // Drops the watches of the folder at rel and of every folder below it.
  void DropSubtree(const std::string& rel) {
    std::vector<int> wds;
    auto range = by_path_.equal_range(rel);
    for (auto p = range.first; p != range.second; ++p) wds.push_back(p->second);
    // All paths with this prefix sort together.
    const std::string prefix = rel + "/";
    for (auto p = by_path_.lower_bound(prefix);
         p != by_path_.end() && p->first.compare(0, prefix.size(), prefix) == 0; ++p) {
      wds.push_back(p->second);
    }
    for (int wd : wds) {
      if (wd == root_wd_) continue;  // a name below the root is never the root
      Drop(wd);
    }
  }

  const int fd_;
  const std::string root_;
  int root_wd_ = -1;
  // What each watch watches, and the same by path (a path can briefly have
  // two wds: a folder's replacement watched before the old one's events
  // are read).
  std::unordered_map<int, std::string> paths_;
  std::multimap<std::string, int> by_path_;
  // Watches removed on purpose whose IN_IGNORED hasn't arrived yet.
  std::unordered_set<int> dropped_;
  // Set when an error made the watcher untrustworthy; every Wait returns it.
  Status broken_;
  // For the duration of one Wait.
  std::vector<WatchEvent>* out_ = nullptr;
  bool overflow_reported_ = false;
  bool resync_ = false;
  alignas(struct inotify_event) char buffer_[kReadBufferSize];
};

}  // namespace

Status WatchTree(const std::string& root, std::unique_ptr<TreeWatcher>* out) {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == EMFILE) {
      return Status::Io(
          "inotify: the limit of inotify instances is reached (raise "
          "/proc/sys/fs/inotify/max_user_instances)");
    }
    return Status::Io(std::string("inotify: ") + strerror(err));
  }
  std::unique_ptr<InotifyWatcher> w(new InotifyWatcher(fd, root));
  TS_RETURN_IF_ERROR(w->Start());
  *out = std::move(w);
  return Status::Ok();
}

}  // namespace platform

#else  // !__linux__

namespace platform {

Status WatchTree(const std::string& root, std::unique_ptr<TreeWatcher>* out) {
  (void)root;
  (void)out;
  return Status::Io("change notifications are not available on this system");
}

}  // namespace platform

#endif  // __linux__
