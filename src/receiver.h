// Receiver: applies a sender's listing and file data to the target folder,
// folder by folder as the listing arrives, holding only the folders being
// listed and the files still to come. It treats every byte from the sender
// as untrusted: it never creates, writes, follows or deletes anything
// outside the target folder, and a file appears under its final name only
// complete and verified.
#ifndef TREESYNC_RECEIVER_H_
#define TREESYNC_RECEIVER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "delta.h"
#include "filter.h"
#include "fs_meta.h"
#include "installer.h"
#include "manifest.h"
#include "plan.h"
#include "protocol.h"
#include "report.h"
#include "status.h"
#include "xxh3.h"

namespace treesync {

// Files smaller than this travel whole: their signature and the extra
// round of reading would cost more than the delta could save.
constexpr uint64_t kMinDeltaBasis = 128 * 1024;
// Local files kept in view as delta bases for files listed elsewhere (a
// rename or a copy on the sender): large ones only, so a few MiB at most.
constexpr size_t kMaxBasisCandidates = 65536;
// Most listing weight (protocol.h's EntryWeight) of new large files held
// back until the listing ends, so that a basis listed after them can still
// be found: a quarter of the listing credit (some 3,000 files), so the
// listing never stalls on them.
constexpr uint64_t kMaxHeldBackWeight = kInitialListCredit / 4;
// Most memory the link groups still expecting names may take (their first
// names' paths, and 64 bytes each): some 50,000 groups of short paths. A
// group listed past it is not kept: its later names arrive as copies.
constexpr uint64_t kMaxLinkGroupBytes = 8u << 20;

// How long Open() waits for another session's hold on the target folder
// before refusing: one that just lost its peer lets go within this.
constexpr int kLockGraceMs = 1000;

struct ReceiverOptions {
  bool delete_extraneous = true;  // false with --no-delete
  bool checksum = false;          // compare content hashes (--checksum)
  bool dry_run = false;           // report what would change, change nothing
  // What this side leaves out (may be null): a listed entry it excludes is
  // not applied, and an excluded local entry is not deleted unless
  // delete_excluded. Its per-folder rule files are read in the target's
  // own folders.
  std::shared_ptr<const Filter> filter;
  bool delete_excluded = false;
  // More deletions than this (-1: no limit): none at all, and
  // max_delete_exceeded() says how many there would have been.
  int64_t max_delete = -1;
  bool size_only = false;        // a same-size file is current (--size-only)
  bool ignore_existing = false;  // a file the target has is never updated
  bool update = false;           // a target file newer than the listing's is kept
  // Where replaced and deleted entries go instead of vanishing: a wire path
  // under the target (then never mirrored itself) or an absolute path on
  // this host; suffix is added to their names there. Empty: no backups.
  std::string backup_dir;
  std::string suffix;

  // Owners (from listings that carry them, and only where this process may
  // set them): owner and group as the listing names them, mapped by name
  // unless numeric_ids (uid and gid 0 always stay 0); chown_uid/gid (-1:
  // none) instead of the listing's. Set-uid, set-gid and sticky bits are
  // kept only where both owner and group are.
  bool owners = false;
  bool groups = false;
  // Device nodes listed are made (only where owners can be set: root);
  // otherwise each is skipped with a warning. FIFOs and sockets always are.
  bool devices = false;
  // Extended attributes are mirrored (unless --no-xattrs; only where the
  // OS has them): user.* ones, and where owners can be set (root) also
  // trusted.*, security.* and POSIX ACLs. Others are left alone.
  bool xattrs = false;
  bool numeric_ids = false;
  int64_t chown_uid = -1, chown_gid = -1;

  // A watch round (docs/PROTOCOL.md, "Watch"): the listing names what
  // changed, so nothing the target has is deleted as extraneous except in
  // the folders AddWhole names.
  bool partial_listing = false;
  // The target's files may be hard links of another tree's that must not
  // change (the current version, under --atomic): a current file whose
  // mode, time, owner or attributes differ is copied before they are set.
  bool unshare_links = false;

  // Entries whose paths differ only in ASCII case are refused after the
  // first (the target's file system would make them one).
  bool names_ignore_case = platform::NamesIgnoreCase();
};

class Receiver {
 public:
  Receiver(std::string root, const ReceiverOptions& options, Reporter* reporter,
           PullStats* stats);
  // Removes a temporary file still open, unless KeepPartial() was called.
  ~Receiver();

  // Checks the target folder, creating it if missing, and holds it against
  // other sessions that would write into it until Finish() or destruction
  // (neither in a dry run). kBadFolder when it exists but is not a folder or can't be
  // created; kRefused when another session holds it.
  Status Open();

  // Extraneous entries are then deleted only by EndListing(true), not as
  // each folder's listing completes: for a sender whose listing says only
  // at its end whether it is complete (not streaming, the legacy stream).
  void DeferDeletions() { defer_deletions_ = true; }
  // Whether the listing carries attributes (the Xattrs flag was granted):
  // only then are the target's attributes brought in line with it.
  void SetXattrsListed(bool listed) { xattrs_listed_ = listed; }
  // The served folder's mtime, given to the target folder by Finish().
  void SetRootTime(int64_t mtime_ns) { root_mtime_ns_ = mtime_ns; }

  // Applies one listing entry: makes folders and symlinks, removes what is
  // in the way, decides whether the file must be fetched (NextWant), and
  // once the entry shows that folders before it are wholly listed, deletes
  // their extraneous entries. kProtocol when the entry breaks the listing
  // rules (docs/PROTOCOL.md): an order other than pre-order with names
  // increasing in each folder, a parent that is not a listed folder, a
  // reserved temporary name, more than max_entries entries. A local
  // failure about this entry's name costs that entry only (an error line,
  // counted); others (a full disk) are returned.
  Status AddEntry(Entry e);
  // The sender could not list all of folder ("" is the root), which must be
  // one still being listed: nothing extraneous in it is deleted, and
  // message (which says who could not read it) is an entry error.
  Status AddGap(const std::string& folder, const std::string& message);
  // A watch round lists every entry directly in folder ("" is the root),
  // and with tree everything below it: what else the target has there is
  // extraneous. kProtocol unless folder is the one listed last (the root:
  // nothing listed yet) and nothing inside it has been listed yet.
  Status AddWhole(const std::string& folder, bool tree);
  // After the whole listing: completes the folders still open and decides
  // the files held back for a basis. complete: the sender listed everything
  // (with DeferDeletions, extraneous entries are deleted only then).
  Status EndListing(bool complete);
  // Most entries AddEntry takes (kMaxEntries unless set).
  void set_max_entries(uint64_t n) { max_entries_ = n; }

  // The next file to request, in the order decided; false if none is ready.
  bool NextWant(Want* w);
  // A file decided and not yet finished. REQUIRES: index came from NextWant
  // and the file has not ended (installed or FileFailed) since.
  const Entry& entry(uint32_t index) const;
  // Listing weight of entries finished with since the last call: what a
  // streaming session grants back to the sender.
  uint64_t TakeCredit();
  // Files decided whose data has not all arrived (requested or not), and
  // the listing weight of the files not yet finished.
  size_t outstanding() const { return fetches_.size() - installing_; }
  uint64_t outstanding_weight() const { return outstanding_weight_; }
  // Names of link groups wait for a file the installer has not yet put in
  // place: DrainInstalls(true) lets them (and their listing weight) go.
  bool LinksWaitOnInstalls() const { return link_waiters_ > 0 && installing_ > 0; }

  // The local file a requested file can be rebuilt from with a delta: the
  // old version at the same path, or a same-size file elsewhere (a rename
  // or copy on the sender). Empty if none.
  const std::string& BasisFor(uint32_t index) const;
  // Reads the basis of index and describes it for the sender: at most the
  // size the basis has when called. A large basis is read by two threads,
  // one half each.
  Status BuildSignature(uint32_t index, Signature* signature);

  // A requested file's data is coming (again, if it was already started),
  // from byte begin.offset; with_basis when it was asked for as a delta
  // against the signature BuildSignature made. A file's data beyond the
  // size its listing gave is kProtocol.
  Status BeginFile(const Begin& begin, bool with_basis = false);
  Status FileData(const char* data, size_t n);
  // The next n bytes of the current file are a hole (a Hole frame): the
  // temporary grows by n bytes of zeros it leaves unwritten. Past the
  // listing's size is kProtocol, as with data.
  Status FileHole(uint64_t n);
  // Copies blocks of the basis into the current file (a Copy frame).
  Status CopyBlocks(uint32_t first_block, uint32_t block_count);
  enum class EndResult {
    kInstalled,  // verified and in place
    kMismatch,   // size or hash differ from the sender's: nothing installed, may be asked again
    kFailed,     // this file system refused the name: reported and counted, finished
  };
  // Verifies the current file and, if its data matched, installs it (on
  // the installer's thread: kInstalled means it is on its way, and a name
  // this file system refuses is reported later, as kFailed would be).
  Status EndFile(const End& end, EndResult* result);
  // Takes what the installer finished: reports each file, sets the
  // metadata of folders now complete. An error other than a refused name
  // (a full disk) is returned. wait: until every file handed over is in.
  Status DrainInstalls(bool wait = false);
  // Drops the current file (if any), counts a per-entry failure, and
  // finishes with index.
  void FileFailed(uint32_t index, const std::string& message);
  // Removes entries kept as delta bases until now, sets the metadata of
  // folders not yet done, lets go of the folder (Open), then sets the
  // root's time.
  Status Finish();
  // Keeps the data of a file cut off mid-transfer for the next pull.
  void KeepPartial() { keep_partial_ = true; }

  uint64_t failures() const { return stats_->errors; }
  // With max_delete: how many entries it would have deleted when that was
  // more than max_delete (none were), else 0.
  uint64_t deletions_held() const { return deletions_held_; }
  int64_t max_delete() const { return options_.max_delete; }
  Reporter* reporter() const { return reporter_; }

 private:
  // A listed folder whose listing has not ended yet, with what the target
  // holds in it.
  struct OpenFolder {
    std::string path;  // wire path; "" for the root
    uint32_t mode = 0;
    int64_t mtime_ns = 0;
    bool skip = false;  // this target can't hold it: nothing below is applied
    bool gap = false;   // the sender could not list it all: delete nothing
    // A watch round that did not list it wholly: delete nothing (partial_listing).
    bool keep = false;
    bool tree = false;  // a watch round lists all below it (AddWhole)
    bool setgid = false;  // with groups: the target's folder is set-gid now
    // Its listing gives it a default ACL: what is made in it inherits one.
    bool default_acl = false;
    std::string last_name;
    bool any_child = false;
    // The target's entries here, sorted by name, temporaries left out; a
    // listed name marks its entry (listed[i]).
    std::vector<platform::FolderEntry> local;
    std::vector<bool> listed;
    size_t cursor = 0;
    // Receiving temporaries found here: base name -> size.
    std::unordered_map<std::string, uint64_t> temps;
    // With names_ignore_case: the names listed here, ASCII-lowercased.
    std::unordered_map<std::string, std::string> folded;  // -> the name
    // The per-folder filter rules in force for the entries here.
    std::shared_ptr<const FolderRules> rules;
  };
  // A file decided for fetching and not yet finished.
  struct Fetch {
    Entry entry;
    bool existing = false;
    uint64_t offset = 0;
    std::string basis;  // full path, or empty
    uint32_t uid = 0xFFFFFFFFu, gid = 0xFFFFFFFFu;  // to give it (WantedOwner)
    bool setgid_folder = false;  // its folder gives new files its group
    bool inherits = false;       // its folder gives new files an ACL
  };
  // A later name of a link group, waiting for the group's file to be in
  // place; fetch: what fetching it as a file of its own would take.
  struct LinkWaiter {
    uint32_t index = 0;  // its place in the listing
    Fetch fetch;
  };
  // A link group whose first name this receiver applied (docs/PROTOCOL.md,
  // "Hard links"): its later names become links of the file there.
  struct LinkGroup {
    std::string path;  // wire path of the first name
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    bool in_place = false;   // the file is there: current, or installed
    bool id_known = false;   // in place, with this identity
    bool fresh = false;      // dry run: its file would be new, linked to nothing
    // The listing index of the file whose arrival puts the group in place:
    // its first name's, or the later name fetched when that failed.
    uint32_t file_index = 0;
    uint64_t device = 0, inode = 0;
    uint64_t names_left = 0;  // names still to come in the listing
    std::vector<LinkWaiter> waiting;  // until in_place
  };
  // A folder whose listing ended while files in it were still to come.
  struct Unfinished {
    uint32_t mode = 0;
    int64_t mtime_ns = 0;
    uint32_t outstanding = 0;
    bool closed = false;
  };
  struct Deferred {
    std::string path;  // wire path
    EntryType type;
    uint32_t parent_mode;  // its folder's, as listed
    int64_t parent_mtime_ns;
  };
  // Whether rel (an entry in folder f) is left out by the filter.
  bool Excluded(const std::string& rel, bool is_folder, const OpenFolder& f) const;
  // Whether rel is the backup folder inside the target (never mirrored).
  bool IsBackupFolder(const std::string& rel) const {
    return !backup_rel_.empty() && rel == backup_rel_;
  }
  // Puts the entry at rel into the backup folder under its path (and the
  // suffix): moved, or with keep a hard link made (so the old file stays in
  // place until the new one is renamed over it); a folder's holdings go with it.
  Status BackUp(const std::string& rel, bool keep);
  // Removes rel and, for a folder, everything in it, deepest first (with
  // a backup folder: moves it there instead).
  Status RemoveTree(const std::string& rel, platform::FileType type);

  std::string Full(const std::string& rel) const;
  Status CheckParentIsFolder(const std::string& rel) const;
  // Opens folder e (listed at path) for its entries: reads what the target
  // holds in it, unless it was just made.
  Status PushFolder(const Entry& e, bool made, bool skip);
  // The folder on top ends: its extraneous entries go (or wait), temporaries
  // nobody resumes are removed, and its metadata is set once its files are in.
  Status CloseFolder();
  // The owner and group entry e is to have here (platform::kKeep for what
  // is left as it is), by the owner options.
  void WantedOwner(const Entry& e, uint32_t* uid, uint32_t* gid);
  // Gives rel owner uid and group gid where info (what it has) differs.
  // *changed: it did. A refusal is an entry error, not the session's.
  Status FixOwner(const std::string& rel, const platform::FileInfo& info, uint32_t uid,
                  uint32_t gid, bool* changed);
  // FixOwner for entry e, just made (info null: read now) or as the target
  // had it; report: say so when it changed.
  Status ApplyOwner(const Entry& e, const platform::FileInfo* info, uint32_t uid, uint32_t gid,
                    bool report);
  // Makes (or brings up to date) the special file e, as planned; local is
  // what the target has there (null: nothing, or removed).
  Status ApplySpecial(const Entry& e, EntryPlan p, const platform::FolderEntry* local,
                      uint32_t uid, uint32_t gid);
  // Whether this receiver mirrors attributes of entry e, and which.
  bool MirrorsXattrs(const Entry& e) const;
  bool ManagesXattr(const std::string& name) const;
  // Whether what is made in the open folder on top starts with attributes
  // of its own (a default ACL's).
  bool NewEntriesInherit() const { return !open_.empty() && open_.back().default_acl; }
  // Brings the attributes of the entry at rel (full: its path, maybe a
  // temporary's) in line with e's listing: sets what differs, removes what
  // the listing lacks; fresh: nothing to compare with or remove. A refusal
  // is an entry error. Returns whether anything was changed.
  // apply false: only says whether anything differs, changing nothing.
  bool SyncXattrs(const Entry& e, const std::string& full, bool fresh, bool apply = true);
  // Gives the current file e at full (info: what it is now) an inode of its
  // own, a copy with the same data and metadata, so a change to its
  // metadata leaves the other names of its old inode alone (unshare_links).
  Status Unshare(const Entry& e, const std::string& full, const platform::FileInfo& info);
  // Sets a folder's mode and time (owner rwx always kept).
  Status ApplyFolderMetadata(const std::string& rel, uint32_t mode, int64_t mtime_ns);
  // Applies an entry under the open folder on top; local is what the target
  // holds at its path (or null).
  Status Apply(Entry e, const platform::FolderEntry* local);
  void QueueFetch(uint32_t index, Fetch f, bool hold_back);
  // QueueFetch for a file already held (Hold).
  void Enqueue(uint32_t index, Fetch f, bool hold_back);
  // Counts e as still to come in its folder (whose metadata then waits)
  // and holds its listing weight; Release undoes it (credit: the weight is
  // given back now), setting the folder's metadata if it was the last.
  void Hold(const Entry& e);
  Status Release(const Entry& e, bool credit);
  // The file index has finished (installed or failed); credit: its weight
  // is given back now (not when it was handed to the installer).
  Status Finished(uint32_t index, bool credit = true);

  // Link groups. Records e (listed at index) as a group's first name if it
  // is one and there is room; in_place (null: its data is to come): what
  // the target has there, needing no data.
  // A file kept though it is not the listing's (other size or mtime: the
  // options keep it) records no group. fresh: see LinkGroup.
  void AddLinkGroup(const Entry& e, uint32_t index, const platform::FileInfo* in_place,
                    bool fresh = false);
  // The group whose file is the fetch of index (or end()).
  std::unordered_map<uint32_t, LinkGroup>::iterator GroupOfFile(uint32_t index);
  // The group e is a later name of, if this receiver keeps it and e can
  // join it (same size and mtime; not a file the options keep as it is).
  LinkGroup* GroupFor(const Entry& e, const platform::FolderEntry* local);
  // f's file (listed at index; have: what the target has at its path)
  // joins the group whose first name is listed at first: made a link now
  // if the group's file is in place, else waits for it. *copy: it must be
  // fetched as a file of its own after all (the link could not be made).
  Status JoinGroup(uint32_t first, const Fetch& f, uint32_t index,
                   const platform::FileInfo* have, bool* copy);
  // Makes f's file a hard link of group g's file, unless it already is
  // one; have (null: read now) as above, *copy as above.
  Status LinkName(const LinkGroup& g, const Fetch& f, const platform::FileInfo* have, bool* copy);
  // The group whose first name is index: its file is in place (its waiting
  // names are linked), or it failed (the first waiting name is fetched
  // instead and leads the rest).
  Status GroupInPlace(uint32_t index, const InstallResult* installed);
  Status GroupFailed(uint32_t index);
  void DropLinkGroup(std::unordered_map<uint32_t, LinkGroup>::iterator g);
  // A folder held open for making links in or from, and its wire path.
  struct HeldFolder {
    std::string rel;
    std::shared_ptr<platform::Folder> folder;
  };
  // Holds the folder rel is in, checked to be a real folder, in *held
  // (kept if it already holds it).
  Status HoldFolder(const std::string& rel, HeldFolder* held);
  void AddCandidate(uint64_t size, const std::string& rel);
  // Adds the large files below local folder rel as candidates; *found: any.
  Status FindCandidates(const std::string& rel, bool* found);
  void ReportProgress();
  void CloseTemp();
  // kProtocol unless n more bytes of the current file stay within its
  // listed size.
  Status CheckRoomFor(uint64_t n, const char* what) const;
  // Appends n bytes of data, or of a hole, to the current file.
  Status WriteData(const char* data, size_t n);
  Status WriteHole(uint64_t n);
  // Appends n bytes, leaving their zero blocks unwritten as holes (zeros at
  // either edge too: see SplitHoles).
  Status WriteSparse(const char* data, size_t n);
  // An entry error, counted: the entry is skipped.
  void EntryError(const std::string& path, const std::string& message);

  std::string root_;
  ReceiverOptions options_;
  platform::FolderLock lock_;  // while writing: Open() to Finish() or destruction
  PlanOptions plan_options_;
  Reporter* reporter_;
  PullStats* stats_;
  bool defer_deletions_ = false;
  uint64_t max_entries_ = kMaxEntries;
  uint64_t entries_added_ = 0;
  int64_t root_mtime_ns_ = 0;
  bool keep_partial_ = false;
  std::string backup_root_;  // full path of the backup folder, or empty
  std::string backup_rel_;   // its wire path when inside the target
  uint64_t deletions_held_ = 0;
  uint64_t dry_run_deletions_ = 0;  // counted as reported, for max_delete
  // Entries removing rel would delete: 1, plus what a folder holds.
  uint64_t CountRemoval(const std::string& rel, EntryType type);
  bool complete_ = true;  // as EndListing was told
  uint32_t creation_mask_;  // the umask
  uint32_t mode_bits_;      // what of a listed mode is kept: 0777, or 07777 with owners
  uint32_t my_uid_ = 0, my_gid_ = 0;  // what files this process creates get
  bool xattrs_listed_ = false;
  bool xattrs_warned_ = false;  // that this OS keeps none
  bool system_xattrs_ = false;  // root: trusted.*, security.* and ACLs are ours too
  std::unordered_map<std::string, uint32_t> user_ids_, group_ids_;  // names mapped so far

  std::vector<OpenFolder> open_;  // the root, then each open folder below it
  std::unordered_map<uint32_t, Fetch> fetches_;
  std::deque<Want> ready_;
  std::vector<uint32_t> held_back_;  // new large files waiting for a basis
  uint64_t held_back_weight_ = 0;
  std::unordered_map<std::string, Unfinished> unfinished_;  // by wire path
  std::unordered_map<uint32_t, LinkGroup> link_groups_;  // by their first name's index
  // A later name fetched for a group whose first failed -> the group's key.
  std::unordered_map<uint32_t, uint32_t> link_aliases_;
  uint64_t link_group_bytes_ = 0;  // what they take, against kMaxLinkGroupBytes
  size_t link_waiters_ = 0;        // names waiting in them
  bool links_warned_ = false;      // that links can't be made here, or kept
  bool finishing_ = false;         // Finish: nothing more can be fetched
  HeldFolder link_from_, link_to_;  // the folders of the last link made
  std::unordered_map<uint64_t, std::string> candidates_;    // size -> wire path
  std::vector<Deferred> deferred_removals_;  // delta bases, removed by Finish
  std::vector<Deferred> waiting_removals_;   // with DeferDeletions
  uint64_t credit_ = 0;
  uint64_t outstanding_weight_ = 0;
  std::unordered_map<uint32_t, Signature> signature_;  // sent, not yet used

  // Progress over the files requested.
  uint64_t bytes_total_ = 0, bytes_done_ = 0, files_done_ = 0, files_wanted_ = 0;

  // The folder last checked to be real before writing into it, held open:
  // files are created and renamed in it by name.
  std::string checked_parent_;
  bool parent_checked_ = false;
  std::shared_ptr<platform::Folder> parent_folder_;

  // The file being received.
  bool file_open_ = false;
  bool resume_mismatch_ = false;  // partial data was not what we expected
  bool sparse_ = false;  // the current file has holes: its zero blocks become holes too
  uint32_t current_ = 0;
  int begins_ = 0;  // Begins for the current file
  platform::File file_;
  std::string temp_name_;  // in parent_folder_
  std::string temp_path_;
  uint64_t received_ = 0;
  uint32_t created_mode_ = 0;  // the temporary's mode; ~0 when unknown
  Xxh3Hasher hasher_;
  platform::File basis_file_;
  Signature basis_signature_;
  std::vector<char> copy_buf_;

  // Declared last: destroyed first, it puts in place what it was handed.
  Installer installer_;
  size_t installing_ = 0;  // handed over, results not yet taken
  std::vector<InstallResult> installed_;
};

}  // namespace treesync

#endif  // TREESYNC_RECEIVER_H_
