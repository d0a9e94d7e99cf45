// A folder kept as whole versions, switched in one step (pull --atomic,
// serve --atomic): readers of it never see a tree half old, half new.
#ifndef TREESYNC_VERSIONED_FOLDER_H_
#define TREESYNC_VERSIONED_FOLDER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "fs_meta.h"
#include "status.h"

namespace treesync {

// The layout, beside DIR (its parent's folder): DIR is a symlink to
// ".NAME.treesync/vN", the current version, N counting up from 1; the
// next version is built in ".NAME.treesync/next" and renamed to its number
// when complete; ".NAME.treesync/.treesync-lock" keeps out a second
// builder while one works. NAME is DIR's own name.
class VersionedFolder {
 public:
  // keep_previous: versions kept after a switch besides the current one.
  VersionedFolder(std::string dir, int keep_previous);

  // Gets the next version ready to receive into, holding the versions
  // folder against other builders until Commit() or destruction: the
  // folder an interrupted session left (taken as it is: a whole listing
  // brings it up to date), else a copy of the current version whose
  // files, special files and folders' metadata are the current ones' (its
  // files are hard links of theirs, so a receiver into it must not change
  // a file in place: ReceiverOptions::unshare_links), else an empty folder.
  // A DIR that is still a plain folder becomes version 1 first (moved, then
  // the symlink made: the one moment DIR is missing). *build: where to
  // receive. kBadFolder when DIR is something else; kRefused when another
  // session is building; kIo when the file system refuses.
  Status Prepare(std::string* build);
  // Makes what Prepare built the current version: renamed to the next
  // number, then DIR's symlink replaced by a new one in one rename; then
  // removes all but the newest keep_previous versions before it (a
  // failure to remove one is returned, the switch stands).
  Status Commit();
  // The current version's number (0: none yet), as Prepare found it.
  uint64_t current() const { return current_; }

 private:
  Status FindCurrent();
  Status AdoptPlainFolder();
  Status CloneCurrent(const std::string& to);

  std::string dir_;       // DIR, as given, without a trailing '/'
  std::string name_;      // DIR's last component
  std::string versions_;  // the .NAME.treesync folder's path
  int keep_previous_;
  uint64_t current_ = 0;
  platform::FolderLock lock_;
};

// Receives into a folder: target is where to write, and unshare says its
// files are another version's too (ReceiverOptions::unshare_links).
using ReceiveIntoFolder = std::function<Status(const std::string& target, bool unshare)>;

// receive(dir, false) or, with versioned, receive(the next version of dir)
// between Prepare and, once receive's status is Completed, Commit. A
// failure to prepare or to switch is returned instead of receive's status.
Status ReceiveVersioned(const std::string& dir, bool versioned, int keep_previous,
                        const ReceiveIntoFolder& receive);

// Whether path is a symlink Commit made: one to a version in the versions
// folder beside it, so following it stays within path's own folder.
bool IsVersionLink(const std::string& path);

}  // namespace treesync

#endif  // TREESYNC_VERSIONED_FOLDER_H_
