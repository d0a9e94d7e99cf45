#include "receiver.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <thread>

#include "clock.h"
#include "content_hash.h"
#include "owners.h"
#include "xattrs.h"
#include "path.h"
#include "sparse.h"
#include "walk.h"

namespace fs = std::filesystem;

namespace treesync {

namespace {

// A file may start over (a second Begin for it) this often after its first
// Begin: the sender rereads a file that changed while it was read twice
// before giving up with a FileError.
constexpr int kMaxBegins = 3;

EntryType TypeOf(platform::FileType t) {
  switch (t) {
    case platform::FileType::kDirectory: return EntryType::kFolder;
    case platform::FileType::kSymlink: return EntryType::kSymlink;
    case platform::FileType::kFifo:
    case platform::FileType::kSocket:
    case platform::FileType::kCharDevice:
    case platform::FileType::kBlockDevice: return EntryType::kSpecial;
    default: return EntryType::kFile;
  }
}

// Gives the entry at full e's mode, then its time (which the chmod would
// not move, but a write would).
Status SetModeAndTime(const Entry& e, const std::string& full) {
  Status s = platform::SetMode(full, e.mode);
  if (s.ok()) s = platform::SetMtime(full, e.mtime_ns);
  return s;
}

SpecialKind SpecialOf(platform::FileType t) {
  switch (t) {
    case platform::FileType::kSocket: return SpecialKind::kSocket;
    case platform::FileType::kCharDevice: return SpecialKind::kCharDevice;
    case platform::FileType::kBlockDevice: return SpecialKind::kBlockDevice;
    default: return SpecialKind::kFifo;
  }
}

platform::FileType FileTypeOf(SpecialKind k) {
  switch (k) {
    case SpecialKind::kSocket: return platform::FileType::kSocket;
    case SpecialKind::kCharDevice: return platform::FileType::kCharDevice;
    case SpecialKind::kBlockDevice: return platform::FileType::kBlockDevice;
    case SpecialKind::kFifo: break;
  }
  return platform::FileType::kFifo;
}

}  // namespace

Receiver::Receiver(std::string root, const ReceiverOptions& options, Reporter* reporter,
                   PullStats* stats)
    : root_(std::move(root)),
      options_(options),
      reporter_(reporter),
      stats_(stats),
      creation_mask_(platform::CreationMask()),
      mode_bits_(options.owners && options.groups ? 07777 : 0777) {
  platform::ProcessOwner(&my_uid_, &my_gid_);
  system_xattrs_ = platform::CanChown();
  plan_options_.checksum = options.checksum;
  plan_options_.size_only = options.size_only;
  plan_options_.ignore_existing = options.ignore_existing;
  plan_options_.update = options.update;
  if (!options.backup_dir.empty()) {
    if (platform::FsPath(options.backup_dir).is_absolute()) {
      backup_root_ = options.backup_dir;
    } else {
      backup_rel_ = options.backup_dir;
      while (backup_rel_.size() > 1 && backup_rel_.back() == '/') backup_rel_.pop_back();
      backup_root_ = Full(backup_rel_);
    }
  }
  // Deletions beyond a limit are all or nothing: they wait for the end.
  if (options.max_delete >= 0) defer_deletions_ = true;
  plan_options_.compare_mode = platform::KeepsPermissionBits();
  plan_options_.mtime_granularity_ns = platform::MtimeGranularityNs();
}

Receiver::~Receiver() {
  if (!file_open_) return;
  CloseTemp();
  if (!keep_partial_) platform::RemoveEntry(temp_path_);
}

std::string Receiver::Full(const std::string& rel) const { return JoinPath(root_, rel); }

Status Receiver::CheckParentIsFolder(const std::string& rel) const {
  // Every parent was made or found a real folder; checking again right
  // before writing keeps a symlink swapped in meanwhile from redirecting us.
  std::string parent = ParentOf(rel);
  if (parent.empty()) return Status::Ok();
  platform::FileInfo info;
  TS_RETURN_IF_ERROR(platform::Lstat(Full(parent), &info));
  if (info.type != platform::FileType::kDirectory) {
    return Status::Io("refusing to write below " + Printable(parent) + ": not a real folder");
  }
  return Status::Ok();
}

Status Receiver::Open() {
  std::error_code ec;
  fs::path root = platform::FsPath(root_);
  fs::file_status st = fs::status(root, ec);  // the root itself may be a symlink
  bool exists = fs::exists(st);
  if (exists) {
    if (!fs::is_directory(st)) return Status::BadFolder(Printable(root_) + ": not a folder");
  } else if (!options_.dry_run) {
    fs::create_directories(root, ec);
    if (ec) return Status::BadFolder("create " + Printable(root_) + ": " + ec.message());
  }
  // A dry run writes nothing, so it needs no hold and may run beside a
  // session that writes.
  if (!options_.dry_run) {
    // A session that just ended may not have let go yet (its peer vanished
    // a moment ago): a short grace before refusing spares a needless
    // failure to whoever retries at once.
    Status s;
    RetryWithin(kLockGraceMs, [&] {
      s = platform::FolderLock::TryLock(root_, kLockName, &lock_);
      return s.kind() != ErrorKind::kRefused;
    });
    TS_RETURN_IF_ERROR(s);
  }
  Entry root_entry;
  open_.clear();
  return PushFolder(root_entry, !exists && options_.dry_run, false);
}

void Receiver::EntryError(const std::string& path, const std::string& message) {
  ++stats_->errors;
  reporter_->OnEntryError(path, message);
}

Status Receiver::PushFolder(const Entry& e, bool made, bool skip) {
  OpenFolder f;
  f.path = e.path;
  f.mode = e.mode;
  f.mtime_ns = e.mtime_ns;
  f.skip = skip;
  f.tree = !open_.empty() && open_.back().tree;
  f.keep = options_.partial_listing && !f.tree;
  for (const platform::Xattr& x : e.xattrs) {
    if (x.name == "system.posix_acl_default") f.default_acl = true;
  }
  if (!skip && !options_.dry_run && options_.groups) {
    platform::FileInfo info;
    f.setgid = platform::Lstat(Full(e.path), &info).ok() && (info.mode & 02000) != 0;
  }
  const Filter* filter = options_.filter.get();
  if (filter != nullptr) {
    f.rules = open_.empty() ? filter->root_rules() : open_.back().rules;
    // The target's own rule files protect what they exclude here.
    if (!made && !skip && filter->reads_rule_files()) {
      std::vector<std::string> problems;
      const std::string full = Full(e.path);
      f.rules = filter->Enter(
          e.path, f.rules,
          [&](const std::string& name, std::string* text) {
            return ReadRuleFile(JoinPath(full, name), text, &problems);
          },
          &problems);
      // Rules that could not be read can't protect: delete nothing here.
      for (const std::string& p : problems) {
        reporter_->OnWarning(Printable(JoinRel(e.path, p)));
        f.gap = true;
      }
    }
  }
  if (!made && !skip) {
    std::vector<platform::FolderEntry> local;
    Status s = platform::ListFolder(Full(e.path), &local);
    if (!s.ok()) {
      // What can't be read can't be compared: keep it all.
      reporter_->OnWarning(Printable(s.message()));
      f.gap = true;
    }
    f.local.reserve(local.size());
    for (platform::FolderEntry& l : local) {
      // Temporaries are ours, never part of the mirror: partial data to
      // resume from, or leftovers to remove.
      if (l.info.type == platform::FileType::kRegular && IsTempName(l.name)) {
        // One with another name too (a hard link to a file elsewhere) is
        // not resumed from: appending would change that file.
        if (l.info.links == 1) f.temps.emplace(l.name, l.info.size);
      } else if (IsLockName(l.name)) {
        continue;  // a session's hold on this folder: ours, or another's
      } else if (l.error.empty() && l.info.type != platform::FileType::kMissing) {
        f.local.push_back(std::move(l));
      }
    }
    std::sort(f.local.begin(), f.local.end(),
              [](const platform::FolderEntry& a, const platform::FolderEntry& b) {
                return a.name < b.name;
              });
    f.listed.assign(f.local.size(), false);
  }
  open_.push_back(std::move(f));
  return Status::Ok();
}

Status Receiver::AddEntry(Entry e) {
  TS_RETURN_IF_ERROR(DrainInstalls());
  if (++entries_added_ > max_entries_) {
    return Status::Protocol("listing has more than " + std::to_string(max_entries_) + " entries");
  }
  if (e.has_link && e.link_first != kLinkFirst && e.link_first >= entries_added_ - 1) {
    return Status::Protocol(Printable(e.path) + " is listed as a hard link of entry #" +
                            std::to_string(e.link_first) + ", which is not listed before it");
  }
  const std::string parent = ParentOf(e.path);
  const std::string name = BaseName(e.path);
  // The parent must be the folder listed last or one of its ancestors: the
  // folders below it are then wholly listed.
  size_t depth = open_.size();
  while (depth > 0 && open_[depth - 1].path != parent) --depth;
  if (depth == 0) {
    return Status::Protocol("entry not inside the folder being listed (out of order, or inside "
                            "a file, a symlink or nothing listed): " + Printable(e.path));
  }
  while (open_.size() > depth) TS_RETURN_IF_ERROR(CloseFolder());
  OpenFolder& f = open_.back();
  if (f.any_child && !(f.last_name < name)) {
    return Status::Protocol("entry out of order or sent twice: " + Printable(e.path));
  }
  f.last_name = name;
  f.any_child = true;
  // A temporary name is ours: a sender could otherwise make us install over
  // a file we are writing.
  if (IsReservedName(name)) {
    return Status::Protocol("entry uses a name reserved for temporary files: " +
                            Printable(e.path));
  }
  // Left out by this side's own rules (a server's): neither applied nor, as
  // the local entry of that name stays unlisted, deleted.
  if (IsBackupFolder(e.path) ||
      (options_.filter != nullptr &&
       options_.filter->Refused(e.path, e.type == EntryType::kFolder, f.rules.get()))) {
    credit_ += EntryWeight(e);
    return e.type == EntryType::kFolder ? PushFolder(e, true, true) : Status::Ok();
  }
  if (e.type == EntryType::kFile) ++stats_->files_total;
  // What the target holds at this name: names arrive in order, so one pass.
  const platform::FolderEntry* local = nullptr;
  while (f.cursor < f.local.size() && f.local[f.cursor].name < name) ++f.cursor;
  if (f.cursor < f.local.size() && f.local[f.cursor].name == name) {
    local = &f.local[f.cursor];
    f.listed[f.cursor] = true;
    ++f.cursor;
  }
  // A name this target can't hold costs that entry (and what is inside
  // it), not the session.
  bool skip = f.skip;
  if (!skip) {
    std::string problem = platform::LocalNameProblem(name);
    if (!problem.empty()) {
      skip = true;
      EntryError(e.path, Printable(e.path) + ": " + problem);
    }
  }
  if (!skip && options_.names_ignore_case) {
    std::string folded = name;
    for (char& c : folded) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    auto twin = f.folded.try_emplace(std::move(folded), name);
    if (!twin.second) {
      skip = true;
      EntryError(e.path, Printable(e.path) + ": differs only in case from " +
                             Printable(JoinRel(f.path, twin.first->second)) +
                             ", and this file system can't hold both");
    }
  }
  if (skip) {
    credit_ += EntryWeight(e);
    return e.type == EntryType::kFolder ? PushFolder(e, true, true) : Status::Ok();
  }
  return Apply(std::move(e), local);
}

void Receiver::WantedOwner(const Entry& e, uint32_t* uid, uint32_t* gid) {
  *uid = *gid = platform::kKeep;
  if (!e.has_owner) return;
  // By name unless told otherwise; 0 is root everywhere, whatever its name.
  auto map = [this](uint32_t id, const std::string& name, bool user) {
    if (options_.numeric_ids || id == 0 || name.empty()) return id;
    auto& cache = user ? user_ids_ : group_ids_;
    auto it = cache.find(name);
    if (it == cache.end()) {
      uint32_t local = id;  // a name unknown here: its number
      if (!(user ? platform::FindUser(name, &local) : platform::FindGroup(name, &local))) local = id;
      it = cache.emplace(name, local).first;
    }
    return it->second;
  };
  if (options_.owners) {
    *uid = options_.chown_uid >= 0 ? static_cast<uint32_t>(options_.chown_uid)
                                   : map(e.uid, e.user, true);
  }
  if (options_.groups) {
    *gid = options_.chown_gid >= 0 ? static_cast<uint32_t>(options_.chown_gid)
                                   : map(e.gid, e.group, false);
  }
}

Status Receiver::FixOwner(const std::string& rel, const platform::FileInfo& info, uint32_t uid,
                          uint32_t gid, bool* changed) {
  *changed = false;
  if (uid == info.uid) uid = platform::kKeep;
  if (gid == info.gid) gid = platform::kKeep;
  if (uid == platform::kKeep && gid == platform::kKeep) return Status::Ok();
  Status s = platform::SetOwner(Full(rel), uid, gid);
  if (!s.ok()) {
    EntryError(rel, Printable(s.message()));
    return Status::Ok();
  }
  *changed = true;
  return Status::Ok();
}

bool Receiver::MirrorsXattrs(const Entry& e) const {
  return options_.xattrs && xattrs_listed_ && !options_.dry_run && e.type != EntryType::kSymlink;
}

bool Receiver::ManagesXattr(const std::string& name) const {
  if (name.compare(0, 5, "user.") == 0) return true;
  if (!system_xattrs_) return false;
  return name.compare(0, 8, "trusted.") == 0 || name.compare(0, 9, "security.") == 0 ||
         name == "system.posix_acl_access" || name == "system.posix_acl_default";
}

bool Receiver::SyncXattrs(const Entry& e, const std::string& full, bool fresh, bool apply) {
  bool changed = false;
  std::vector<platform::Xattr> local;
  if (!fresh) {
    Status s = platform::ListXattrs(full, &local);
    if (!s.ok()) {
      EntryError(e.path, Printable(s.message()));
      return false;
    }
  }
  // Both lists are sorted by name: one pass over the two.
  size_t i = 0, j = 0;
  Status s;
  while (s.ok() && (i < e.xattrs.size() || j < local.size())) {
    const platform::Xattr* want = i < e.xattrs.size() ? &e.xattrs[i] : nullptr;
    const platform::Xattr* have = j < local.size() ? &local[j] : nullptr;
    if (have == nullptr || (want != nullptr && want->name < have->name)) {
      if (ManagesXattr(want->name)) {
        if (!apply) return true;
        s = platform::SetXattr(full, *want);
        changed = true;
      }
      ++i;
    } else if (want == nullptr || have->name < want->name) {
      if (ManagesXattr(have->name)) {
        if (!apply) return true;
        s = platform::RemoveXattr(full, have->name);
        changed = true;
      }
      ++j;
    } else {
      if (want->value != have->value && ManagesXattr(want->name)) {
        if (!apply) return true;
        s = platform::SetXattr(full, *want);
        changed = true;
      }
      ++i;
      ++j;
    }
  }
  if (!s.ok()) {
    // Said of the entry's own name, not of the temporary it may be set on.
    std::string message = s.message();
    const size_t at = message.find(full);
    if (at != std::string::npos) message.replace(at, full.size(), Full(e.path));
    EntryError(e.path, Printable(message));
  }
  return changed;
}

Status Receiver::ApplyOwner(const Entry& e, const platform::FileInfo* info, uint32_t uid,
                            uint32_t gid, bool report) {
  if (uid == platform::kKeep && gid == platform::kKeep) return Status::Ok();
  platform::FileInfo now;
  if (info == nullptr) {
    TS_RETURN_IF_ERROR(platform::Lstat(Full(e.path), &now));
    info = &now;
  }
  bool changed = false;
  TS_RETURN_IF_ERROR(FixOwner(e.path, *info, uid, gid, &changed));
  if (changed && report) reporter_->OnChange(Change::kMetadata, e.type, e.path, 0);
  return Status::Ok();
}

Status Receiver::ApplySpecial(const Entry& e, EntryPlan p,
                              const platform::FolderEntry* local, uint32_t uid, uint32_t gid) {
  const std::string full = Full(e.path);
  if (p.create || local == nullptr) {
    // A device node is a door to the hardware it names: only where asked.
    if (IsDevice(e.special) && !(options_.devices && platform::CanChown())) {
      reporter_->OnWarning("device node skipped: " + Printable(e.path) +
                           (platform::CanChown() ? " (pass --devices to make device nodes)"
                                                 : " (only root makes device nodes)"));
      return Status::Ok();
    }
    Status st = platform::MakeSpecial(full, FileTypeOf(e.special), e.mode, e.rdev_major,
                                      e.rdev_minor);
    if (!st.ok()) {
      EntryError(e.path, Printable(st.message()));
      return Status::Ok();
    }
    // The owner before the mode: a change of owner clears set-uid and
    // set-gid.
    TS_RETURN_IF_ERROR(ApplyOwner(e, nullptr, uid, gid, false));
    st = SetModeAndTime(e, full);
    if (!st.ok()) {
      EntryError(e.path, Printable(st.message()));
      return Status::Ok();
    }
    reporter_->OnChange(Change::kCreate, e.type, e.path, 0);
    if (MirrorsXattrs(e)) SyncXattrs(e, full, !NewEntriesInherit());
    return Status::Ok();
  }
  bool owner_changed = false;
  TS_RETURN_IF_ERROR(FixOwner(e.path, local->info, uid, gid, &owner_changed));
  if (owner_changed && (e.mode & 07000) != 0) p.fix_metadata = true;
  if (p.fix_metadata) {
    Status st = SetModeAndTime(e, full);
    if (!st.ok()) {
      EntryError(e.path, Printable(st.message()));
      return Status::Ok();
    }
  }
  if (p.fix_metadata || owner_changed) reporter_->OnChange(Change::kMetadata, e.type, e.path, 0);
  return Status::Ok();
}

Status Receiver::Apply(Entry e, const platform::FolderEntry* local) {
  static const platform::FileInfo kNothing;  // what a missing entry has
  if (!e.xattrs.empty() && !xattrs_warned_ && !platform::HasXattrs()) {
    xattrs_warned_ = true;
    reporter_->OnWarning("extended attributes not kept: this system has none (" +
                         Printable(e.path) + " and others have some)");
  }
  const uint32_t index = static_cast<uint32_t>(entries_added_ - 1);
  const uint64_t weight = EntryWeight(e);
  const std::string full = Full(e.path);
  // Set-uid and the rest only with owners (the listing's and ours to set).
  e.mode &= e.has_owner ? mode_bits_ : 0777;
  uint32_t want_uid, want_gid;
  WantedOwner(e, &want_uid, &want_gid);
  Entry l;
  bool local_other = false;
  if (local != nullptr) {
    l.path = e.path;
    l.type = TypeOf(local->info.type);
    l.mode = local->info.mode;
    l.mtime_ns = local->info.mtime_ns;
    l.size = local->info.size;
    l.special = SpecialOf(local->info.type);
    l.rdev_major = local->info.rdev_major;
    l.rdev_minor = local->info.rdev_minor;
    local_other = local->info.type == platform::FileType::kOther;
    if (e.type == EntryType::kSymlink && l.type == EntryType::kSymlink) {
      platform::ReadSymlink(full, &l.target);
    }
    // Only a same-size file can be current, so only those are read.
    if (options_.checksum && e.type == EntryType::kFile && l.type == EntryType::kFile &&
        !local_other && l.size == e.size && e.has_hash) {
      platform::FileInfo info;
      l.has_hash = HashFile(full, &l.hash, &info).ok();
    }
  }
  EntryPlan p = PlanEntry(e, local != nullptr && !local_other ? &l : nullptr, plan_options_);
  const bool remove = local != nullptr && (p.remove_local || local_other);
  if (options_.dry_run) {
    if (remove) reporter_->OnChange(Change::kDelete, l.type, e.path, 0);
    if (p.create) reporter_->OnChange(Change::kCreate, e.type, e.path, 0);
    // A first name to fetch is new to all its names: every one would be
    // linked again.
    if (!p.fetch) {
      AddLinkGroup(e, index, local != nullptr && !remove ? &local->info : &kNothing);
    } else {
      AddLinkGroup(e, index, &kNothing, true);
    }
    if (GroupFor(e, remove ? nullptr : local) != nullptr) {
      Fetch f;
      f.entry = e;
      bool copy = false;
      return JoinGroup(e.link_first, f, index, remove || local == nullptr ? &kNothing : &local->info,
                       &copy);
    }
    if (p.fetch) {
      reporter_->OnChange(p.existing ? Change::kUpdate : Change::kCreate, e.type, e.path, e.size);
    }
    if (p.fix_metadata) reporter_->OnChange(Change::kMetadata, e.type, e.path, 0);
    if (!p.fetch && e.type == EntryType::kFile) ++stats_->files_skipped;
    credit_ += weight;
    return e.type == EntryType::kFolder ? PushFolder(e, p.create || remove, false) : Status::Ok();
  }
  if (remove) TS_RETURN_IF_ERROR(RemoveTree(e.path, local->info.type));
  if (remove || p.create) TS_RETURN_IF_ERROR(CheckParentIsFolder(e.path));
  switch (e.type) {
    case EntryType::kFolder: {
      bool made = p.create || remove;
      if (made) {
        Status s = platform::MakeFolder(full);
        if (!s.ok()) {
          if (s.kind() != ErrorKind::kLocalName) return s;
          EntryError(e.path, Printable(s.message()));
          credit_ += weight;
          return PushFolder(e, true, true);
        }
        ++stats_->dirs_created;
        reporter_->OnChange(Change::kCreate, e.type, e.path, 0);
      }
      TS_RETURN_IF_ERROR(ApplyOwner(e, made ? nullptr : &local->info, want_uid, want_gid, !made));
      if (MirrorsXattrs(e) && SyncXattrs(e, full, made && !NewEntriesInherit()) && !made) {
        reporter_->OnChange(Change::kMetadata, e.type, e.path, 0);
      }
      credit_ += weight;
      return PushFolder(e, made, false);
    }
    case EntryType::kSymlink: {
      credit_ += weight;
      if (!p.create && !remove) return ApplyOwner(e, &local->info, want_uid, want_gid, true);
      Status st = platform::MakeSymlink(e.target, full);
      if (!st.ok()) {
        if (st.kind() == ErrorKind::kLocalName) {
          EntryError(e.path, Printable(st.message()));
        } else {
          // Some hosts (Windows without the privilege, FAT) can't make
          // symlinks at all: the rest of the mirror is still worth having.
          reporter_->OnWarning("symlink skipped: " + st.message());
        }
        return Status::Ok();
      }
      // A link's own time is cosmetic, and some hosts (Wine, some network
      // file systems) can't set it without following the link.
      st = platform::SetMtime(full, e.mtime_ns);
      if (!st.ok()) reporter_->OnWarning("symlink time not kept: " + st.message());
      ++stats_->symlinks_created;
      reporter_->OnChange(Change::kCreate, e.type, e.path, 0);
      return ApplyOwner(e, nullptr, want_uid, want_gid, false);
    }
    case EntryType::kSpecial:
      credit_ += weight;
      return ApplySpecial(e, p, remove ? nullptr : local, want_uid, want_gid);
    case EntryType::kFile:
      break;
  }
  Fetch f;
  f.existing = p.existing && !remove;
  f.uid = want_uid;
  f.gid = want_gid;
  f.setgid_folder = open_.back().setgid;
  f.inherits = NewEntriesInherit();
  OpenFolder& folder = open_.back();
  // Not fetched: in place now, as the target has it.
  AddLinkGroup(e, index, p.fetch ? nullptr : local != nullptr ? &local->info : &kNothing);
  if (GroupFor(e, remove ? nullptr : local) != nullptr) {
    // Its data comes once, for the group's first name: this name becomes a
    // link of that file. A partial download under its own name is of no use.
    auto t = folder.temps.find(TempNameFor(e));
    if (t != folder.temps.end()) {
      TS_RETURN_IF_ERROR(platform::RemoveEntry(Full(JoinRel(folder.path, t->first))));
      folder.temps.erase(t);
    }
    f.entry = e;
    f.existing = local != nullptr && !remove && l.type == EntryType::kFile && !local_other;
    if (f.existing && e.size >= kMinDeltaBasis) f.basis = full;
    bool copy = false;
    TS_RETURN_IF_ERROR(JoinGroup(e.link_first, f, index,
                                 remove || local == nullptr ? &kNothing : &local->info, &copy));
    if (!copy) return Status::Ok();
    // No link to be had here: a file of its own after all.
    f.entry = Entry();
    f.basis.clear();
    f.existing = p.existing && !remove;
  }
  if (!p.fetch) {
    ++stats_->files_skipped;
    credit_ += weight;
    if (options_.unshare_links && local != nullptr && local->info.links > 1) {
      const platform::FileInfo& have = local->info;
      const bool owner_differs = (want_uid != platform::kKeep && want_uid != have.uid) ||
                                 (want_gid != platform::kKeep && want_gid != have.gid);
      if (p.fix_metadata || owner_differs ||
          (MirrorsXattrs(e) && SyncXattrs(e, full, false, /*apply=*/false))) {
        Status s = Unshare(e, full, have);
        if (!s.ok()) {
          if (s.kind() != ErrorKind::kLocalName) return s;
          EntryError(e.path, Printable(s.message()));
          return Status::Ok();
        }
      }
    }
    // A change of owner clears set-uid and set-gid: the mode goes after it.
    bool owner_changed = false;
    if (local != nullptr) {
      TS_RETURN_IF_ERROR(FixOwner(e.path, local->info, want_uid, want_gid, &owner_changed));
    }
    if (owner_changed && (e.mode & 07000) != 0) p.fix_metadata = true;
    const bool xattrs_changed = local != nullptr && MirrorsXattrs(e) && SyncXattrs(e, full, false);
    if ((owner_changed || xattrs_changed) && !p.fix_metadata) {
      reporter_->OnChange(Change::kMetadata, e.type, e.path, 0);
    }
    if (p.fix_metadata) {
      Status s = SetModeAndTime(e, full);
      if (!s.ok()) {
        if (s.kind() != ErrorKind::kLocalName) return s;
        EntryError(e.path, Printable(s.message()));
        return Status::Ok();
      }
      reporter_->OnChange(Change::kMetadata, e.type, e.path, 0);
    }
    if (e.size >= kMinDeltaBasis) AddCandidate(e.size, e.path);
    return Status::Ok();
  }
  auto t = folder.temps.find(TempNameFor(e));
  if (t != folder.temps.end()) {
    // Partial data of this very version (same name, size and mtime):
    // resume after it. The whole-file hash still checks the result.
    if (t->second > 0 && t->second <= e.size) {
      f.offset = t->second;
    } else {
      // Gone now, not when the folder's listing ends: by then the file may
      // be arriving under that very name.
      TS_RETURN_IF_ERROR(platform::RemoveEntry(Full(JoinRel(folder.path, t->first))));
    }
    folder.temps.erase(t);
  }
  bool hold_back = false;
  // A link group's first name is never held back: its other names wait
  // for it, holding listing credit the end of the listing may need.
  const bool first_name = e.has_link && e.link_first == kLinkFirst;
  if (e.size >= kMinDeltaBasis) {
    if (f.existing) {
      f.basis = full;
    } else {
      auto c = candidates_.find(e.size);
      if (c != candidates_.end()) {
        f.basis = Full(c->second);
      } else if (!first_name && held_back_weight_ + weight <= kMaxHeldBackWeight) {
        // A renamed file's old name may come later in the listing: wait
        // for its end before deciding this one has no basis.
        hold_back = true;
      }
    }
  }
  f.entry = std::move(e);
  QueueFetch(index, std::move(f), hold_back);
  return Status::Ok();
}

void Receiver::Hold(const Entry& e) {
  const std::string parent = ParentOf(e.path);
  if (!parent.empty()) {
    const OpenFolder& folder = open_.back();
    Unfinished& u = unfinished_[parent];
    u.mode = folder.mode;
    u.mtime_ns = folder.mtime_ns;
    ++u.outstanding;
  }
  outstanding_weight_ += EntryWeight(e);
}

Status Receiver::Release(const Entry& e, bool credit) {
  if (credit) credit_ += EntryWeight(e);
  outstanding_weight_ -= EntryWeight(e);
  const std::string parent = ParentOf(e.path);
  if (parent.empty()) return Status::Ok();
  auto u = unfinished_.find(parent);
  if (u == unfinished_.end() || --u->second.outstanding > 0 || !u->second.closed) {
    return Status::Ok();
  }
  Status s = ApplyFolderMetadata(parent, u->second.mode, u->second.mtime_ns);
  unfinished_.erase(u);
  return s;
}

void Receiver::QueueFetch(uint32_t index, Fetch f, bool hold_back) {
  Hold(f.entry);
  Enqueue(index, std::move(f), hold_back);
}

void Receiver::Enqueue(uint32_t index, Fetch f, bool hold_back) {
  bytes_total_ += f.entry.size - f.offset;
  ++files_wanted_;
  Want w{index, f.offset};
  if (hold_back) {
    held_back_.push_back(index);
    held_back_weight_ += EntryWeight(f.entry);
  } else {
    ready_.push_back(w);
  }
  fetches_.emplace(index, std::move(f));
}

void Receiver::AddCandidate(uint64_t size, const std::string& rel) {
  if (candidates_.size() < kMaxBasisCandidates) candidates_.emplace(size, rel);
}

Status Receiver::AddGap(const std::string& folder, const std::string& message) {
  auto it = std::find_if(open_.begin(), open_.end(),
                         [&](const OpenFolder& f) { return f.path == folder; });
  if (it == open_.end()) {
    return Status::Protocol("Gap for a folder that is not being listed: " + Printable(folder));
  }
  it->gap = true;
  EntryError(folder, message);
  return Status::Ok();
}

Status Receiver::Unshare(const Entry& e, const std::string& full,
                         const platform::FileInfo& info) {
  const std::string temp = JoinPath(Full(ParentOf(e.path)), TempNameFor(e));
  TS_RETURN_IF_ERROR(platform::RemoveEntry(temp));
  std::error_code ec;
  fs::copy_file(platform::FsPath(full), platform::FsPath(temp), ec);
  if (ec) {
    platform::RemoveEntry(temp);
    return Status::Io(Printable(full) + ": can't copy it before changing its metadata: " +
                      ec.message());
  }
  // As it was: the caller then changes what the listing says.
  if (platform::CanChown()) platform::SetOwner(temp, info.uid, info.gid);
  std::vector<platform::Xattr> attrs;
  if (platform::HasXattrs() && platform::ListXattrs(full, &attrs).ok()) {
    for (const platform::Xattr& x : attrs) platform::SetXattr(temp, x);
  }
  Status s = platform::SetMode(temp, info.mode);
  if (s.ok()) s = platform::SetMtime(temp, info.mtime_ns);
  if (s.ok()) s = platform::Rename(temp, full);
  if (!s.ok()) platform::RemoveEntry(temp);
  return s;
}

Status Receiver::AddWhole(const std::string& folder, bool tree) {
  if (!options_.partial_listing) return Status::Protocol("Whole frame outside a watch round");
  if (open_.empty() || open_.back().path != folder || open_.back().any_child) {
    return Status::Protocol("Whole frame for " + Printable(folder) +
                            ", which is not the folder listed last");
  }
  open_.back().keep = false;
  open_.back().tree = tree;
  return Status::Ok();
}

Status Receiver::CloseFolder() {
  OpenFolder f = std::move(open_.back());
  open_.pop_back();
  if (f.skip) return Status::Ok();
  for (size_t i = 0; i < f.local.size(); ++i) {
    if (f.listed[i] || !options_.delete_extraneous || f.gap || f.keep) continue;
    const platform::FolderEntry& l = f.local[i];
    const std::string rel = JoinRel(f.path, l.name);
    if (IsBackupFolder(rel)) continue;
    if (!options_.delete_excluded &&
        Excluded(rel, l.info.type == platform::FileType::kDirectory, f)) {
      continue;
    }
    if (options_.dry_run) {
      reporter_->OnChange(Change::kDelete, TypeOf(l.info.type), rel, 0);
      if (options_.max_delete >= 0) dry_run_deletions_ += CountRemoval(rel, TypeOf(l.info.type));
      continue;
    }
    bool candidate = l.info.type == platform::FileType::kRegular &&
                     l.info.size >= kMinDeltaBasis && candidates_.size() < kMaxBasisCandidates;
    // A folder renamed on the sender: its large files may be the bases of
    // files listed later, so the folder waits too if it holds any.
    if (l.info.type == platform::FileType::kDirectory && candidates_.size() < kMaxBasisCandidates) {
      TS_RETURN_IF_ERROR(FindCandidates(rel, &candidate));
    }
    if (candidate || defer_deletions_) {
      // A large file may be the old name of one listed later (a rename):
      // it goes once the transfer is over.
      Deferred d{rel, TypeOf(l.info.type), f.mode, f.mtime_ns};
      if (candidate) {
        if (l.info.type == platform::FileType::kRegular) AddCandidate(l.info.size, rel);
        deferred_removals_.push_back(std::move(d));
        continue;
      }
      waiting_removals_.push_back(std::move(d));
      if (!f.path.empty()) {
        Unfinished& u = unfinished_[f.path];
        u.mode = f.mode;
        u.mtime_ns = f.mtime_ns;
        ++u.outstanding;
      }
      continue;
    }
    TS_RETURN_IF_ERROR(RemoveTree(rel, l.info.type));
  }
  if (options_.dry_run) return Status::Ok();
  for (const auto& t : f.temps) TS_RETURN_IF_ERROR(platform::RemoveEntry(Full(JoinRel(f.path, t.first))));
  if (f.path.empty()) return Status::Ok();  // the root's time is set by Finish
  auto u = unfinished_.find(f.path);
  if (u != unfinished_.end() && u->second.outstanding > 0) {
    u->second.closed = true;
    return Status::Ok();
  }
  if (u != unfinished_.end()) u->second.closed = true;
  return ApplyFolderMetadata(f.path, f.mode, f.mtime_ns);
}

namespace {

// Gathers a local subtree's large files, without holding the subtree.
class CandidateFinder : public WalkVisitor {
 public:
  CandidateFinder(const std::string& prefix, std::unordered_map<uint64_t, std::string>* out)
      : prefix_(prefix), out_(out) {}
  Status OnEntry(Entry& e) override {
    if (e.type == EntryType::kFile && e.size >= kMinDeltaBasis &&
        out_->size() < kMaxBasisCandidates) {
      out_->emplace(e.size, prefix_ + "/" + e.path);
      found_ = true;
    }
    return Status::Ok();
  }
  Status OnGap(const std::string&, const std::string&) override { return Status::Ok(); }
  Status OnSkipped(const std::string&) override { return Status::Ok(); }
  bool found() const { return found_; }

 private:
  const std::string& prefix_;
  std::unordered_map<uint64_t, std::string>* out_;
  bool found_ = false;
};

}  // namespace

Status Receiver::FindCandidates(const std::string& rel, bool* found) {
  CandidateFinder finder(rel, &candidates_);
  Status s = WalkTree(Full(rel), &finder);
  *found = finder.found();
  // A subtree we can't read is removed as usual, and fails there if at all.
  return s.kind() == ErrorKind::kInterrupted ? s : Status::Ok();
}

namespace {

class Counter : public WalkVisitor {
 public:
  Status OnEntry(Entry&) override { ++n; return Status::Ok(); }
  Status OnGap(const std::string&, const std::string&) override { return Status::Ok(); }
  Status OnSkipped(const std::string&) override { ++n; return Status::Ok(); }
  uint64_t n = 0;
};

}  // namespace

uint64_t Receiver::CountRemoval(const std::string& rel, EntryType type) {
  Counter c;
  if (type == EntryType::kFolder) WalkTree(Full(rel), &c);
  return 1 + c.n;
}

bool Receiver::Excluded(const std::string& rel, bool is_folder, const OpenFolder& f) const {
  return options_.filter != nullptr && options_.filter->Excluded(rel, is_folder, f.rules.get());
}

Status Receiver::BackUp(const std::string& rel, bool keep) {
  const std::string full = Full(rel);
  const std::string dest = JoinPath(backup_root_, rel) + options_.suffix;
  std::error_code ec;
  const fs::path to = platform::FsPath(dest);
  fs::create_directories(to.parent_path(), ec);
  if (ec) return Status::Io("backup folder " + Printable(ParentOf(dest)) + ": " + ec.message());
  fs::remove_all(to, ec);  // an older backup of the same path
  if (keep) {
    fs::create_hard_link(platform::FsPath(full), to, ec);
    if (!ec) return Status::Ok();
    // No hard links here (FAT, another file system): moved instead, so for
    // a moment the old file is only in the backup folder.
  }
  Status s = platform::Rename(full, dest);
  if (!s.ok()) return Status::Io("backup of " + Printable(rel) + ": " + s.message());
  return Status::Ok();
}

Status Receiver::RemoveTree(const std::string& rel, platform::FileType type) {
  const std::string full = Full(rel);
  if (!backup_root_.empty()) {
    // The whole entry moves, its contents with it.
    TS_RETURN_IF_ERROR(BackUp(rel, false));
  } else {
    if (type == platform::FileType::kDirectory) {
      std::vector<platform::FolderEntry> children;
      TS_RETURN_IF_ERROR(platform::ListFolder(full, &children));
      for (const platform::FolderEntry& c : children) {
        TS_RETURN_IF_ERROR(RemoveTree(JoinRel(rel, c.name), c.info.type));
      }
    }
    TS_RETURN_IF_ERROR(platform::RemoveEntry(full));
  }
  EntryType t = TypeOf(type);
  if (t == EntryType::kFolder) {
    ++stats_->dirs_deleted;
  } else {
    ++stats_->files_deleted;
  }
  reporter_->OnChange(Change::kDelete, t, rel, 0);
  return Status::Ok();
}

Status Receiver::ApplyFolderMetadata(const std::string& rel, uint32_t mode, int64_t mtime_ns) {
  std::string full = Full(rel);
  platform::FileInfo info;
  TS_RETURN_IF_ERROR(platform::Lstat(full, &info));
  if (info.type != platform::FileType::kDirectory) return Status::Ok();
  // Owner rwx always stays, so the next pull can write into the folder.
  uint32_t want = (mode & mode_bits_) | 0700;
  if ((info.mode & mode_bits_) != want) TS_RETURN_IF_ERROR(platform::SetMode(full, want));
  if (!SameMtime(info.mtime_ns, mtime_ns, platform::MtimeGranularityNs())) {
    TS_RETURN_IF_ERROR(platform::SetMtime(full, mtime_ns));
  }
  return Status::Ok();
}

Status Receiver::EndListing(bool complete) {
  TS_RETURN_IF_ERROR(DrainInstalls());
  while (!open_.empty()) TS_RETURN_IF_ERROR(CloseFolder());
  complete_ = complete;
  if (options_.max_delete >= 0) {
    uint64_t n = dry_run_deletions_;
    if (complete) {
      for (const Deferred& d : waiting_removals_) n += CountRemoval(d.path, d.type);
      for (const Deferred& d : deferred_removals_) n += CountRemoval(d.path, d.type);
    }
    if (n > static_cast<uint64_t>(options_.max_delete)) {
      deletions_held_ = n;
      deferred_removals_.clear();
      reporter_->OnWarning("would delete " + std::to_string(n) + " entries, more than --max-delete " +
                           std::to_string(options_.max_delete) + ": deleting none");
    }
  }
  for (const Deferred& d : waiting_removals_) {
    if (complete && !options_.dry_run && deletions_held_ == 0) {
      platform::FileInfo info;
      TS_RETURN_IF_ERROR(platform::Lstat(Full(d.path), &info));
      if (info.type != platform::FileType::kMissing) TS_RETURN_IF_ERROR(RemoveTree(d.path, info.type));
    }
    std::string parent = ParentOf(d.path);
    if (parent.empty()) continue;
    auto u = unfinished_.find(parent);
    if (u != unfinished_.end() && --u->second.outstanding == 0 && u->second.closed) {
      TS_RETURN_IF_ERROR(ApplyFolderMetadata(parent, u->second.mode, u->second.mtime_ns));
      unfinished_.erase(u);
    }
  }
  waiting_removals_.clear();
  for (uint32_t index : held_back_) {
    Fetch& f = fetches_.at(index);
    auto c = candidates_.find(f.entry.size);
    if (c != candidates_.end()) f.basis = Full(c->second);
    ready_.push_back({index, f.offset});
  }
  held_back_.clear();
  held_back_weight_ = 0;
  return Status::Ok();
}

bool Receiver::NextWant(Want* w) {
  if (ready_.empty()) return false;
  *w = ready_.front();
  ready_.pop_front();
  return true;
}

const Entry& Receiver::entry(uint32_t index) const { return fetches_.at(index).entry; }

uint64_t Receiver::TakeCredit() {
  uint64_t c = credit_;
  credit_ = 0;
  return c;
}

const std::string& Receiver::BasisFor(uint32_t index) const {
  static const std::string kNone;
  auto it = fetches_.find(index);
  return it == fetches_.end() ? kNone : it->second.basis;
}

Status Receiver::Finished(uint32_t index, bool credit) {
  auto it = fetches_.find(index);
  if (it == fetches_.end()) return Status::Ok();
  Entry e = std::move(it->second.entry);
  fetches_.erase(it);
  ++files_done_;
  return Release(e, credit);
}

void Receiver::AddLinkGroup(const Entry& e, uint32_t index, const platform::FileInfo* in_place,
                            bool fresh) {
  if (e.type != EntryType::kFile || !e.has_link || e.link_first != kLinkFirst) return;
  // A file the options keep as the target has it (--ignore-existing,
  // --update, --size-only) is not the listing's: its new names are not
  // linked to it, they arrive as copies.
  if (in_place != nullptr && in_place->type == platform::FileType::kRegular &&
      (in_place->size != e.size ||
       (!options_.checksum && !SameMtime(in_place->mtime_ns, e.mtime_ns,
                                         platform::MtimeGranularityNs())))) {
    return;
  }
  const uint64_t bytes = e.path.size() + 64;
  if (link_group_bytes_ + bytes > kMaxLinkGroupBytes) {
    if (!links_warned_) {
      links_warned_ = true;
      reporter_->OnWarning("more hard-linked files at once than fit in " +
                           std::to_string(kMaxLinkGroupBytes >> 20) + " MiB: other names of " +
                           Printable(e.path) + " and of files after it arrive as copies");
    }
    return;
  }
  LinkGroup g;
  g.path = e.path;
  g.size = e.size;
  g.mtime_ns = e.mtime_ns;
  g.in_place = in_place != nullptr;
  g.fresh = fresh;
  g.file_index = index;
  if (in_place != nullptr && in_place->type == platform::FileType::kRegular) {
    g.id_known = true;
    g.device = in_place->device;
    g.inode = in_place->inode;
  }
  g.names_left = e.link_names - 1;
  link_group_bytes_ += bytes;
  link_groups_.emplace(index, std::move(g));
}

std::unordered_map<uint32_t, Receiver::LinkGroup>::iterator Receiver::GroupOfFile(uint32_t index) {
  auto a = link_aliases_.find(index);
  return link_groups_.find(a != link_aliases_.end() ? a->second : index);
}

void Receiver::DropLinkGroup(std::unordered_map<uint32_t, LinkGroup>::iterator g) {
  if (g->second.file_index != g->first) link_aliases_.erase(g->second.file_index);
  link_group_bytes_ -= g->second.path.size() + 64;
  link_groups_.erase(g);
}

Receiver::LinkGroup* Receiver::GroupFor(const Entry& e, const platform::FolderEntry* local) {
  if (e.type != EntryType::kFile || !e.has_link || e.link_first == kLinkFirst) return nullptr;
  auto g = link_groups_.find(e.link_first);
  // One inode has one size and mtime: a name listed otherwise changed in
  // between, and goes as a file of its own.
  if (g == link_groups_.end() || g->second.size != e.size || g->second.mtime_ns != e.mtime_ns) {
    return nullptr;
  }
  // What the options keep as it is stays so, linked or not.
  const bool have_file = local != nullptr && local->info.type == platform::FileType::kRegular;
  if (have_file && (options_.ignore_existing ||
                    (options_.update && local->info.mtime_ns > e.mtime_ns))) {
    return nullptr;
  }
  return &g->second;
}

Status Receiver::JoinGroup(uint32_t first, const Fetch& f, uint32_t index,
                           const platform::FileInfo* have, bool* copy) {
  *copy = false;
  auto g = link_groups_.find(first);
  LinkGroup& group = g->second;
  if (group.names_left > 0) --group.names_left;
  if (!group.in_place) {
    Hold(f.entry);
    group.waiting.push_back({index, f});
    ++link_waiters_;
    return Status::Ok();
  }
  Status s = LinkName(group, f, have, copy);
  if (group.names_left == 0) DropLinkGroup(g);
  if (s.ok() && !*copy) credit_ += EntryWeight(f.entry);
  return s;
}

Status Receiver::LinkName(const LinkGroup& g, const Fetch& f, const platform::FileInfo* have_now,
                          bool* copy) {
  *copy = false;
  const Entry& e = f.entry;
  const std::string& first = g.path;
  const std::string full = Full(e.path);
  const std::string target_path = Full(first);
  platform::FileInfo target, have;
  if (g.id_known) {
    target.type = platform::FileType::kRegular;
    target.device = g.device;
    target.inode = g.inode;
  } else {
    TS_RETURN_IF_ERROR(platform::Lstat(target_path, &target));
  }
  if (have_now != nullptr) {
    have = *have_now;
  } else {
    TS_RETURN_IF_ERROR(platform::Lstat(full, &have));
  }
  if (options_.dry_run && g.fresh) {
    reporter_->OnChange(Change::kLink, e.type, e.path, 0);
    return Status::Ok();
  }
  if (target.type == platform::FileType::kRegular && have.type == platform::FileType::kRegular &&
      have.device == target.device && have.inode == target.inode) {
    ++stats_->files_skipped;
    return Status::Ok();
  }
  if (options_.dry_run) {
    reporter_->OnChange(Change::kLink, e.type, e.path, 0);
    return Status::Ok();
  }
  if (target.type != platform::FileType::kRegular) {
    *copy = true;  // the first name is no file here (its name refused, say)
    return Status::Ok();
  }
  // Linked by name in both folders, held open (POSIX: as descriptors), so
  // no symlink swapped in for either since it was checked redirects it.
  TS_RETURN_IF_ERROR(HoldFolder(first, &link_from_));
  TS_RETURN_IF_ERROR(HoldFolder(e.path, &link_to_));
  const platform::Folder& from = *link_from_.folder;
  const platform::Folder& to = *link_to_.folder;
  const std::string from_name = BaseName(first), name = BaseName(e.path);
  platform::Folder::LinkFailure why = platform::Folder::LinkFailure::kOther;
  auto cannot_link = [&](const Status& s) {
    // A file at its most names, or gone meanwhile, just gets a copy;
    // anything else means this file system won't link: worth saying once.
    if (!links_warned_ && why == platform::Folder::LinkFailure::kOther) {
      links_warned_ = true;
      reporter_->OnWarning("hard links can't be made in " + Printable(root_) + " (" +
                           Printable(s.message()) + "): linked files arrive as copies");
    }
    *copy = true;
    return Status::Ok();
  };
  // A new name is linked in place: it appears whole at once.
  if (have.type == platform::FileType::kMissing) {
    Status s = to.Link(from, from_name, name, &why);
    if (s.ok()) {
      reporter_->OnChange(Change::kLink, e.type, e.path, 0);
      return Status::Ok();
    }
    if (why != platform::Folder::LinkFailure::kNameTaken) return cannot_link(s);
    // Made meanwhile: replaced as below.
  }
  if (!backup_root_.empty() && have.type == platform::FileType::kRegular) {
    TS_RETURN_IF_ERROR(BackUp(e.path, true));
  }
  // Made under a temporary name and renamed over the old file, so the name
  // always holds one whole version.
  const std::string temp_name = TempNameFor(e);
  const std::string temp = to.PathOf(temp_name);
  TS_RETURN_IF_ERROR(platform::RemoveEntry(temp));
  Status s = to.Link(from, from_name, temp_name, &why);
  if (!s.ok()) return cannot_link(s);
  s = to.Rename(temp_name, name);
  if (!s.ok()) {
    platform::RemoveEntry(temp);
    if (s.kind() != ErrorKind::kLocalName) return s;
    EntryError(e.path, Printable(s.message()));
    return Status::Ok();
  }
  reporter_->OnChange(Change::kLink, e.type, e.path, 0);
  return Status::Ok();
}

Status Receiver::GroupInPlace(uint32_t index, const InstallResult* installed) {
  auto g = GroupOfFile(index);
  if (g == link_groups_.end() || g->second.file_index != index) return Status::Ok();
  LinkGroup& group = g->second;
  group.in_place = true;
  if (installed->identified) {
    group.id_known = true;
    group.device = installed->device;
    group.inode = installed->inode;
  }
  std::vector<LinkWaiter> waiting = std::move(group.waiting);
  group.waiting.clear();
  LinkGroup target = group;  // what linking takes of it, should it go now
  const std::string& first = target.path;
  if (group.names_left == 0) DropLinkGroup(g);
  for (LinkWaiter& w : waiting) {
    --link_waiters_;
    bool copy = false;
    TS_RETURN_IF_ERROR(LinkName(target, w.fetch, nullptr, &copy));
    if (copy && !finishing_) {
      Enqueue(w.index, std::move(w.fetch), false);
      continue;
    }
    if (copy) {
      EntryError(w.fetch.entry.path,
                 Printable(w.fetch.entry.path) + ": not received: it could not be made a hard "
                 "link of " + Printable(first) + ", whose data came for both");
    }
    TS_RETURN_IF_ERROR(Release(w.fetch.entry, true));
  }
  return Status::Ok();
}

Status Receiver::HoldFolder(const std::string& rel, HeldFolder* held) {
  const std::string parent = ParentOf(rel);
  if (held->folder != nullptr && held->rel == parent) return Status::Ok();
  held->folder.reset();
  TS_RETURN_IF_ERROR(CheckParentIsFolder(rel));
  auto folder = std::make_shared<platform::Folder>();
  TS_RETURN_IF_ERROR(platform::Folder::Open(Full(parent), parent.empty(), folder.get()));
  held->folder = std::move(folder);
  held->rel = parent;
  return Status::Ok();
}

Status Receiver::GroupFailed(uint32_t index) {
  auto g = GroupOfFile(index);
  if (g == link_groups_.end() || g->second.file_index != index) return Status::Ok();
  LinkGroup& group = g->second;
  if (group.waiting.empty() || finishing_) {
    std::vector<LinkWaiter> waiting = std::move(group.waiting);
    const std::string first = group.path;
    DropLinkGroup(g);
    for (LinkWaiter& w : waiting) {
      --link_waiters_;
      EntryError(w.fetch.entry.path, Printable(w.fetch.entry.path) + ": not received: " +
                                         Printable(first) + ", of which it is a hard "
                                         "link, failed");
      TS_RETURN_IF_ERROR(Release(w.fetch.entry, true));
    }
    return Status::Ok();
  }
  // The first name waiting is fetched in its place and leads the rest, and
  // the names listed later, which still name the group's first.
  LinkWaiter lead = std::move(group.waiting.front());
  group.waiting.erase(group.waiting.begin());
  --link_waiters_;
  link_group_bytes_ += lead.fetch.entry.path.size();
  link_group_bytes_ -= group.path.size();
  group.path = lead.fetch.entry.path;
  if (group.file_index != g->first) link_aliases_.erase(group.file_index);
  group.file_index = lead.index;
  link_aliases_[lead.index] = g->first;
  Enqueue(lead.index, std::move(lead.fetch), false);
  return Status::Ok();
}

namespace {

// Bases at least this large are signed in two halves at once: signing is the
// one step of a delta that nothing else overlaps (the server waits for the
// signature), so the second core would otherwise sit idle.
constexpr uint64_t kSplitSignatureBytes = 8 << 20;

// Signs bytes [begin, end) of the file at path, or fewer if it ends sooner.
Status SignRange(const std::string& path, uint64_t begin, uint64_t end, uint32_t block_size,
                 Signature* out) {
  platform::File file;
  TS_RETURN_IF_ERROR(platform::File::OpenRead(path, &file));
  SignatureBuilder builder(block_size);
  std::vector<char> buf(256 * 1024);
  for (uint64_t at = begin; at < end;) {
    size_t got = 0;
    size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), end - at));
    TS_RETURN_IF_ERROR(file.ReadAt(at, buf.data(), want, &got));
    if (got == 0) break;
    builder.Update(buf.data(), got);
    at += got;
  }
  *out = builder.Finish();
  return Status::Ok();
}

}  // namespace

Status Receiver::BuildSignature(uint32_t index, Signature* signature) {
  const std::string& path = BasisFor(index);
  platform::FileInfo info;
  TS_RETURN_IF_ERROR(platform::Lstat(path, &info));
  uint32_t block_size = ChooseBlockSize(info.size);
  if (block_size == 0) return Status::Io("basis too large for a delta");
  // The signature covers at most the size seen now, so its block count stays
  // within what ChooseBlockSize allowed; a basis that changes meanwhile only
  // fails the final hash.
  uint64_t mid = info.size;
  if (info.size >= kSplitSignatureBytes && std::thread::hardware_concurrency() > 1) {
    mid = (info.size / block_size + 1) / 2 * block_size;
  }
  Signature second;
  Status second_status;
  std::thread second_half;
  if (mid < info.size) {
    second_half = std::thread([&] {
      second_status = SignRange(path, mid, info.size, block_size, &second);
    });
  }
  Status s = SignRange(path, 0, mid, block_size, signature);
  if (second_half.joinable()) second_half.join();
  TS_RETURN_IF_ERROR(s);
  TS_RETURN_IF_ERROR(second_status);
  // A first half cut short (the file shrank) already ends the signature.
  if (signature->basis_size == mid) {
    signature->basis_size += second.basis_size;
    signature->blocks.insert(signature->blocks.end(), second.blocks.begin(), second.blocks.end());
  }
  signature_[index] = *signature;
  return Status::Ok();
}

Status Receiver::CopyBlocks(uint32_t first_block, uint32_t block_count) {
  if (!file_open_ || !basis_file_.valid()) return Status::Protocol("Copy frame without a basis");
  uint64_t offset = 0, length = 0;
  TS_RETURN_IF_ERROR(CopyRange(basis_signature_.block_size, basis_signature_.basis_size,
                               first_block, block_count, &offset, &length));
  if (copy_buf_.empty()) copy_buf_.resize(256 * 1024);
  while (length > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(length, copy_buf_.size()));
    size_t got = 0;
    TS_RETURN_IF_ERROR(basis_file_.ReadAt(offset, copy_buf_.data(), want, &got));
    // The basis changed under us since its signature: the hash will fail
    // and the file is fetched whole.
    if (got == 0) return Status::Ok();
    // The basis's holes stay holes in the new version.
    const char* data = copy_buf_.data();
    TS_RETURN_IF_ERROR(CheckRoomFor(got, "data"));
    // Zeros at a piece's edges are skipped too: a run of them copied to an
    // offset the basis did not have it at still makes whole holes.
    TS_RETURN_IF_ERROR(WriteSparse(data, got));
    ReportProgress();
    offset += got;
    length -= got;
  }
  return Status::Ok();
}


void Receiver::CloseTemp() {
  file_.Close();
  file_open_ = false;
}

void Receiver::ReportProgress() {
  reporter_->OnProgress(bytes_done_, bytes_total_, files_done_, files_wanted_);
}

Status Receiver::BeginFile(const Begin& begin, bool with_basis) {
  auto it = fetches_.find(begin.index);
  if (it == fetches_.end()) {
    return Status::Protocol("data for file #" + std::to_string(begin.index) +
                            ", which was not requested");
  }
  const Entry& e = it->second.entry;
  bool restart = file_open_ && current_ == begin.index;
  if (restart) {
    if (++begins_ > kMaxBegins) {
      return Status::Protocol(Printable(e.path) + ": started over more than " +
                              std::to_string(kMaxBegins - 1) + " times");
    }
  } else {
    begins_ = 1;
  }
  if (begin.offset > e.size) {
    return Status::Protocol(Printable(e.path) + ": resumed past the size the listing gave");
  }
  if (file_open_) {  // a restart: what came so far may mix two versions
    CloseTemp();
    platform::RemoveEntry(temp_path_);
  }
  basis_file_.Close();
  if (with_basis) {
    if (!restart) {  // a restart keeps the signature it had
      auto sig = signature_.find(begin.index);
      if (sig == signature_.end()) return Status::Protocol("delta for a file sent without one");
      basis_signature_ = std::move(sig->second);
      signature_.erase(sig);
    }
    // A basis that vanished since is no reason to fail: Copy frames will be
    // refused below, and the hash check refetches the file whole.
    platform::File::OpenRead(it->second.basis, &basis_file_);
  }
  // A file whose old version has holes is taken to have them still (its
  // data's zero blocks become holes), as is one that comes with Hole frames.
  sparse_ = false;
  platform::FileInfo basis_info;
  if (basis_file_.valid() && basis_file_.Stat(&basis_info).ok()) {
    sparse_ = basis_info.allocated < basis_info.size;
  }
  // Files of one folder arrive together: one check per folder run.
  std::string parent = ParentOf(e.path);
  if (parent != checked_parent_ || !parent_checked_) {
    parent_checked_ = false;
    TS_RETURN_IF_ERROR(CheckParentIsFolder(e.path));
    // Opened without following a symlink, so none swapped in since the
    // folder was listed redirects us; the target folder itself may be one
    // the user made.
    // Files handed to the installer keep the folder they were opened in.
    auto folder = std::make_shared<platform::Folder>();
    TS_RETURN_IF_ERROR(platform::Folder::Open(Full(parent), parent.empty(), folder.get()));
    parent_folder_ = std::move(folder);
    checked_parent_ = parent;
    parent_checked_ = true;
  }
  temp_name_ = TempNameFor(e);
  temp_path_ = parent_folder_->PathOf(temp_name_);
  current_ = begin.index;
  received_ = 0;
  resume_mismatch_ = false;
  hasher_.Reset();
  if (begin.offset > 0) {
    TS_RETURN_IF_ERROR(platform::File::OpenAppend(temp_path_, &file_));
    platform::FileInfo info;
    TS_RETURN_IF_ERROR(file_.Stat(&info));
    received_ = begin.offset;
    // A temporary with another name too (a hard link someone made to a
    // file elsewhere) is not ours to append to: writing would change that
    // file. It loses this name and the file is fetched again whole.
    if (info.links == 1) {
      file_open_ = true;
      // Partial data that is not what we asked to resume from can only fail
      // verification; it is dropped then and the file fetched whole.
      if (info.size != begin.offset || !HashPrefix(&file_, begin.offset, &hasher_).ok()) {
        resume_mismatch_ = true;
      }
      created_mode_ = ~0u;  // whatever mode the partial file has: set it
      stats_->bytes_resumed += begin.offset;
      return Status::Ok();
    }
    file_.Close();
    TS_RETURN_IF_ERROR(platform::RemoveEntry(temp_path_));
    resume_mismatch_ = true;
  }
  // The name is usually free (leftovers were removed with their folder's
  // listing, a failed attempt removes its own); it is taken when partial
  // data we offered to resume from is refused by the sender, which starts
  // over. Created with the listing's mode (an incomplete file is no secret
  // the final one isn't), which mostly spares a chmod at the end.
  if (!parent_folder_->CreateNew(temp_name_, &file_, e.mode).ok()) {
    TS_RETURN_IF_ERROR(platform::RemoveEntry(temp_path_));
    TS_RETURN_IF_ERROR(parent_folder_->CreateNew(temp_name_, &file_, e.mode));
  }
  created_mode_ = e.mode & 0777 & ~creation_mask_;
  file_open_ = true;
  return Status::Ok();
}

Status Receiver::CheckRoomFor(uint64_t n, const char* what) const {
  const Entry& e = fetches_.at(current_).entry;
  if (n > e.size - received_) {
    return Status::Protocol(Printable(e.path) + ": more " + what + " than the " +
                            std::to_string(e.size) + " bytes the listing gave");
  }
  return Status::Ok();
}

Status Receiver::FileData(const char* data, size_t n) {
  if (!file_open_) return Status::Protocol("Data frame outside a file");
  TS_RETURN_IF_ERROR(CheckRoomFor(n, "data"));
  // A file with holes keeps them where its new data is zeros: a delta's
  // literals come whole, zeros and all.
  TS_RETURN_IF_ERROR(sparse_ ? WriteSparse(data, n) : WriteData(data, n));
  ReportProgress();
  return Status::Ok();
}

Status Receiver::FileHole(uint64_t n) {
  if (!file_open_) return Status::Protocol("Hole frame outside a file");
  TS_RETURN_IF_ERROR(CheckRoomFor(n, "data and holes"));
  sparse_ = true;
  TS_RETURN_IF_ERROR(WriteHole(n));
  ReportProgress();
  return Status::Ok();
}

Status Receiver::WriteData(const char* data, size_t n) {
  TS_RETURN_IF_ERROR(file_.Write(data, n));
  hasher_.Update(data, n);
  received_ += n;
  bytes_done_ += n;
  return Status::Ok();
}

Status Receiver::WriteSparse(const char* data, size_t n) {
  return SplitHoles(data, n, received_, [&](bool hole, size_t at, size_t len) {
    return hole ? WriteHole(len) : WriteData(data + at, len);
  }, true);
}

Status Receiver::WriteHole(uint64_t n) {
  TS_RETURN_IF_ERROR(file_.ExtendTo(received_ + n));
  hasher_.UpdateZeros(n);
  received_ += n;
  bytes_done_ += n;
  return Status::Ok();
}

Status Receiver::EndFile(const End& end, EndResult* result) {
  *result = EndResult::kMismatch;
  if (!file_open_) return Status::Protocol("End frame outside a file");
  const uint32_t index = current_;
  const Entry& e = fetches_.at(index).entry;
  basis_file_.Close();  // Windows can't rename over an open file
  if (resume_mismatch_ || end.size != received_ || end.hash != hasher_.Digest()) {
    CloseTemp();
    platform::RemoveEntry(temp_path_);
    return Status::Ok();
  }
  fetches_.at(index).entry.size = received_;  // what was verified
  // The old version goes to the backup folder as a second name first, so a
  // crash leaves it in place or in both places, never nowhere.
  if (!backup_root_.empty() && fetches_.at(index).existing) {
    platform::FileInfo old;
    if (platform::Lstat(Full(e.path), &old).ok() && old.type == platform::FileType::kRegular) {
      TS_RETURN_IF_ERROR(BackUp(e.path, true));
    }
  }
  InstallJob job;
  job.index = index;
  job.file = std::move(file_);
  file_open_ = false;
  job.folder = parent_folder_;
  job.temp_name = temp_name_;
  job.final_name = BaseName(e.path);
  job.mode = end.mode & (e.has_owner ? mode_bits_ : 0777);
  job.uid = fetches_.at(index).uid;
  job.gid = fetches_.at(index).gid;
  // The temporary already has our owner, and our group unless its folder
  // is set-gid: a chown per file is a tenth of a small file's work.
  if (job.uid == my_uid_) job.uid = platform::kKeep;
  if (job.gid == my_gid_ && !fetches_.at(index).setgid_folder) job.gid = platform::kKeep;
  if (MirrorsXattrs(e)) SyncXattrs(e, temp_path_, !fetches_.at(index).inherits);
  const bool owned = job.uid != platform::kKeep || job.gid != platform::kKeep;
  job.set_mode = job.mode != created_mode_ || (owned && (job.mode & 07000) != 0);
  job.mtime_ns = end.mtime_ns;
  job.identify = e.has_link;  // a group's file, or a name that may lead one
  // Its data is all here: its listing weight goes back now, and the
  // installer's result is taken later.
  credit_ += EntryWeight(e);
  ++installing_;
  installer_.Hand(std::move(job));
  *result = EndResult::kInstalled;
  return DrainInstalls();
}

Status Receiver::DrainInstalls(bool wait) {
  if (installing_ == 0) return Status::Ok();
  installer_.Take(&installed_, wait);
  Status fatal;
  for (const InstallResult& r : installed_) {
    --installing_;
    const Fetch& f = fetches_.at(r.index);
    if (r.status.ok()) {
      ++stats_->files_transferred;
      stats_->bytes_transferred += f.entry.size;
      reporter_->OnChange(f.existing ? Change::kUpdate : Change::kCreate, f.entry.type,
                          f.entry.path, f.entry.size);
    } else if (r.status.kind() == ErrorKind::kLocalName) {
      // This file system refuses the name (too long, say): that file only.
      EntryError(f.entry.path, Printable(r.status.message()));
    } else if (fatal.ok()) {
      fatal = r.status;
    }
    Status s = Finished(r.index, false);
    if (fatal.ok()) fatal = s;
    s = r.status.ok() ? GroupInPlace(r.index, &r) : GroupFailed(r.index);
    if (fatal.ok()) fatal = s;
  }
  ReportProgress();
  return fatal;
}

void Receiver::FileFailed(uint32_t index, const std::string& message) {
  if (file_open_ && current_ == index) {
    CloseTemp();
    platform::RemoveEntry(temp_path_);
  }
  auto it = fetches_.find(index);
  EntryError(it != fetches_.end() ? it->second.entry.path : std::string(), message);
  // The folder's metadata is set all the same; a failure to set it shows
  // again at the next pull.
  Finished(index);
  GroupFailed(index);
}

Status Receiver::Finish() {
  basis_file_.Close();
  finishing_ = true;
  TS_RETURN_IF_ERROR(DrainInstalls(true));
  // Names still waiting for a file that never came (the session ended
  // without it) are not in place: say so.
  for (auto& g : link_groups_) {
    for (const LinkWaiter& w : g.second.waiting) {
      EntryError(w.fetch.entry.path, Printable(w.fetch.entry.path) + ": not received: " +
                                         Printable(g.second.path) +
                                         ", of which it is a hard link, never came");
    }
  }
  link_groups_.clear();
  link_aliases_.clear();
  if (options_.dry_run) return Status::Ok();
  if (complete_ || !defer_deletions_) {
    for (const Deferred& d : deferred_removals_) {
      platform::FileInfo info;
      TS_RETURN_IF_ERROR(platform::Lstat(Full(d.path), &info));
      if (info.type == platform::FileType::kMissing) continue;
      TS_RETURN_IF_ERROR(RemoveTree(d.path, info.type));
      // The removal moved its folder's time.
      std::string parent = ParentOf(d.path);
      if (!parent.empty()) {
        TS_RETURN_IF_ERROR(ApplyFolderMetadata(parent, d.parent_mode, d.parent_mtime_ns));
      }
    }
  }
  deferred_removals_.clear();
  for (const auto& u : unfinished_) {
    TS_RETURN_IF_ERROR(ApplyFolderMetadata(u.first, u.second.mode, u.second.mtime_ns));
  }
  unfinished_.clear();
  // Removing the lock file moves the folder's time: it goes first. The
  // tree is complete by now, so the hold is no longer needed.
  lock_.Release();
  // The target folder itself may be a symlink the user made: leave that
  // alone rather than re-time the link.
  platform::FileInfo info;
  TS_RETURN_IF_ERROR(platform::Lstat(root_, &info));
  if (info.type == platform::FileType::kDirectory &&
      !SameMtime(info.mtime_ns, root_mtime_ns_, platform::MtimeGranularityNs())) {
    TS_RETURN_IF_ERROR(platform::SetMtime(root_, root_mtime_ns_));
  }
  return Status::Ok();
}

}  // namespace treesync
