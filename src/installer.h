// Installer: puts verified files in place on a thread of its own — sets
// their mode and time, closes them, renames each temporary over its final
// name — so that the receiver writes the next file's data meanwhile. On a
// tree of small files these calls are most of what a receiver does.
#ifndef TREESYNC_INSTALLER_H_
#define TREESYNC_INSTALLER_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fs_meta.h"
#include "owners.h"
#include "status.h"

namespace treesync {

struct InstallJob {
  uint32_t index = 0;     // the receiver's, handed back in the result
  platform::File file;    // the temporary, open, its data complete
  std::shared_ptr<platform::Folder> folder;  // holding the temporary
  std::string temp_name;  // in folder
  std::string final_name;
  bool set_mode = false;  // the temporary's mode is not mode yet
  // The owner and group to give it first (platform::kKeep: as it is).
  uint32_t uid = 0xFFFFFFFFu, gid = 0xFFFFFFFFu;
  uint32_t mode = 0;
  int64_t mtime_ns = 0;
  // Tell the file's identity in the result (a link group's file, which its
  // other names are then linked to).
  bool identify = false;
};

struct InstallResult {
  uint32_t index = 0;
  // OK: in place. Otherwise the temporary is gone and the final name keeps
  // whatever it had.
  Status status;
  // With identify, when known: the file's identity.
  bool identified = false;
  uint64_t device = 0, inode = 0;
};

class Installer {
 public:
  // Jobs handed over and not yet done, at most: a few hundred small files.
  static constexpr size_t kMaxQueued = 256;

  Installer() = default;
  // Does every job handed over, then stops.
  ~Installer();
  Installer(const Installer&) = delete;
  Installer& operator=(const Installer&) = delete;

  // Queues job, waiting while kMaxQueued are queued. The thread starts with
  // the first job.
  void Hand(InstallJob job);
  // Moves the results of jobs done since the last call into *out, in the
  // order handed over; with wait, first waits until every job is done.
  void Take(std::vector<InstallResult>* out, bool wait);
  // Jobs handed over whose results have not been taken.
  size_t unfinished() const { return handed_ - taken_; }

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<InstallJob> jobs_;
  std::vector<InstallResult> done_;
  bool stop_ = false;
  std::thread thread_;
  size_t handed_ = 0;  // by the owner's thread only
  size_t taken_ = 0;   // likewise
};

}  // namespace treesync

#endif  // TREESYNC_INSTALLER_H_
