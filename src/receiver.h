// Receiver: applies a server's listing and file data to the target folder.
// It treats every byte from the server as untrusted: it never creates,
// writes, follows or deletes anything outside the target folder, and a file
// appears under its final name only complete and verified.
#ifndef TREESYNC_RECEIVER_H_
#define TREESYNC_RECEIVER_H_

#include <cstdint>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "delta.h"
#include "fs_meta.h"
#include "manifest.h"
#include "plan.h"
#include "protocol.h"
#include "report.h"
#include "status.h"
#include "walk.h"
#include "xxh3.h"

namespace treesync {

// Files smaller than this travel whole: their signature and the extra
// round of reading would cost more than the delta could save.
constexpr uint64_t kMinDeltaBasis = 128 * 1024;

struct ReceiverOptions {
  bool delete_extraneous = true;  // false with --no-delete
  bool checksum = false;          // compare content hashes (--checksum)
  bool dry_run = false;           // report what would change, change nothing
  // Entries whose paths differ only in ASCII case are refused after the
  // first (the target's file system would make them one).
  bool names_ignore_case = platform::NamesIgnoreCase();
};

// A file being received lives under kTempPrefix + 16 hex digits +
// kTempSuffix in its own folder until it is complete and verified. The hex
// digits derive from the file's name, size and mtime on the server, so a
// pull that was cut off finds its partial data again (resume); any other
// such name is a leftover and is removed.
extern const char kTempPrefix[];
extern const char kTempSuffix[];
bool IsTempName(const std::string& base_name);
// The temporary name (base name only) for receiving entry e.
std::string TempNameFor(const Entry& e);

class Receiver {
 public:
  Receiver(std::string root, const ReceiverOptions& options, Reporter* reporter,
           PullStats* stats);
  // Removes a temporary file still open, unless KeepPartial() was called.
  ~Receiver();

  // Checks the target folder, creating it if missing (not in a dry run),
  // and starts reading it in the background for ApplyListing. kBadFolder
  // when it exists but is not a folder or can't be created.
  Status Open();

  // The served folder's mtime, given to the target folder by Finish().
  void SetRootTime(int64_t mtime_ns) { root_mtime_ns_ = mtime_ns; }
  // Adds one listing entry. kProtocol when the entry breaks the listing
  // rules: a name sent twice, a parent that was not listed as a folder
  // before it, a reserved temporary name, more than kMaxEntries entries.
  Status AddEntry(Entry e);
  // After the whole listing: removes what must go, creates folders and
  // symlinks, and works out which files to request (wants(), with resume
  // offsets). In a dry run it only reports.
  Status ApplyListing(bool complete);
  const std::vector<Want>& wants() const { return wants_; }
  const std::vector<Entry>& entries() const { return entries_; }

  // The local file a requested file can be rebuilt from with a delta: the
  // old version at the same path, or a same-size file elsewhere (a rename
  // or copy on the server). Empty if none.
  const std::string& BasisFor(uint32_t index) const;
  // Reads the basis of index and describes it for the server: at most the
  // size the basis has when called. A large basis is read by two threads,
  // one half each.
  Status BuildSignature(uint32_t index, Signature* signature);

  // A requested file's data is coming (again, if it was already started),
  // from byte begin.offset; with_basis when it was asked for as a delta
  // against the signature BuildSignature made. REQUIRES: ApplyListing done.
  Status BeginFile(const Begin& begin, bool with_basis = false);
  Status FileData(const char* data, size_t n);
  // Copies blocks of the basis into the current file (a Copy frame).
  Status CopyBlocks(uint32_t first_block, uint32_t block_count);
  // Verifies and installs the current file. *verified is false when the
  // data did not match the server's size and hash; nothing was installed
  // and the temporary is gone.
  Status EndFile(const End& end, bool* verified);
  // Drops the current file (if any) and counts a per-entry failure.
  void FileFailed(uint32_t index, const std::string& message);
  // Removes entries kept as delta bases until now, then sets folder times
  // and modes, deepest first, then the root's time.
  Status Finish();
  // Keeps the data of a file cut off mid-transfer for the next pull.
  void KeepPartial() { keep_partial_ = true; }

  uint64_t failures() const { return stats_->errors; }
  Reporter* reporter() const { return reporter_; }

 private:
  // The on-disk path of a wire path.
  std::string Full(const std::string& rel) const;
  Status CheckParentIsFolder(const std::string& rel) const;
  // Reads local content hashes where --checksum needs them.
  void HashLocalFiles(std::vector<Entry>* local) const;
  // Picks delta bases for the files to fetch; returns the removals that
  // must wait until the transfer is over because a basis lies in them.
  std::vector<Removal> ChooseBases(const std::vector<Entry>& local, Plan* plan);
  Status Remove(const Removal& r);
  void CloseTemp();
  void ReportProgress();

  std::string root_;
  ReceiverOptions options_;
  Reporter* reporter_;
  PullStats* stats_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, uint32_t> index_;
  // The folder of the entry added last, and its listing index.
  std::string last_parent_;
  uint32_t last_parent_index_ = 0;
  std::vector<Want> wants_;
  std::vector<bool> existed_;  // per listing entry: a local file was replaced
  std::vector<bool> skip_;     // per listing entry: this OS can't hold it
  // With names_ignore_case: each kept path, ASCII-lowercased -> its index.
  std::unordered_map<std::string, uint32_t> folded_;
  std::unordered_map<uint32_t, std::string> basis_;  // listing index -> full path
  std::unordered_map<uint32_t, Signature> signature_;  // sent, not yet used
  std::vector<Removal> deferred_removals_;
  int64_t root_mtime_ns_ = 0;
  bool keep_partial_ = false;
  uint32_t creation_mask_;  // the umask

  // The walk of the target folder, started by Open().
  std::thread local_walk_;
  WalkResult local_;
  Status local_status_;

  // Progress over the files requested.
  uint64_t bytes_total_ = 0, bytes_done_ = 0, files_done_ = 0;

  // The folder last checked to be real before writing into it, held open:
  // files are created and renamed in it by name.
  std::string checked_parent_;
  bool parent_checked_ = false;
  platform::Folder parent_folder_;

  // The file being received.
  bool open_ = false;
  bool resume_mismatch_ = false;  // partial data was not what we expected
  uint32_t current_ = 0;
  platform::File file_;
  std::string temp_name_;  // in parent_folder_
  std::string temp_path_;
  uint64_t received_ = 0;
  uint32_t created_mode_ = 0;  // the temporary's mode; ~0 when unknown
  Xxh3Hasher hasher_;
  // The basis of the current file, when it comes as a delta.
  platform::File basis_file_;
  Signature basis_signature_;
  std::vector<char> copy_buf_;
};

}  // namespace treesync

#endif  // TREESYNC_RECEIVER_H_
