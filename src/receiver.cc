#include "receiver.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "content_hash.h"
#include "path.h"
#include "walk.h"

namespace fs = std::filesystem;

namespace treesync {

const char kTempPrefix[] = ".treesync-";
const char kTempSuffix[] = ".tmp";

bool IsTempName(const std::string& name) {
  const size_t prefix = sizeof kTempPrefix - 1, suffix = sizeof kTempSuffix - 1;
  if (name.size() != prefix + 16 + suffix) return false;
  if (name.compare(0, prefix, kTempPrefix) != 0) return false;
  if (name.compare(name.size() - suffix, suffix, kTempSuffix) != 0) return false;
  for (size_t i = prefix; i < prefix + 16; ++i) {
    char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string TempNameFor(const Entry& e) {
  static const char kHex[] = "0123456789abcdef";
  PayloadWriter key;
  key.Bytes(BaseName(e.path));
  key.U64(e.size);
  key.I64(e.mtime_ns);
  uint64_t h = Xxh3_128(key.data().data(), key.data().size()).low;
  std::string name = kTempPrefix;
  for (int i = 0; i < 16; ++i) name += kHex[(h >> (60 - 4 * i)) & 15];
  return name + kTempSuffix;
}

Receiver::Receiver(std::string root, const ReceiverOptions& options, Reporter* reporter,
                   PullStats* stats)
    : root_(std::move(root)),
      options_(options),
      reporter_(reporter),
      stats_(stats),
      creation_mask_(platform::CreationMask()) {}

Receiver::~Receiver() {
  if (local_walk_.joinable()) local_walk_.join();
  if (!open_) return;
  CloseTemp();
  if (!keep_partial_) platform::RemoveEntry(temp_path_);
}

std::string Receiver::Full(const std::string& rel) const { return JoinPath(root_, rel); }

Status Receiver::Open() {
  std::error_code ec;
  fs::path root = platform::FsPath(root_);
  fs::file_status st = fs::status(root, ec);  // the root itself may be a symlink
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) return Status::BadFolder(Printable(root_) + ": not a folder");
  } else if (!options_.dry_run) {
    fs::create_directories(root, ec);
    if (ec) return Status::BadFolder("create " + Printable(root_) + ": " + ec.message());
  }
  // The local tree is read while the server lists its own: on a re-pull
  // the two walks are most of the work, and they need not take turns.
  local_walk_ = std::thread([this] { local_status_ = WalkTree(root_, &local_); });
  return Status::Ok();
}

Status Receiver::AddEntry(Entry e) {
  if (entries_.size() >= kMaxEntries) {
    return Status::Protocol("listing has more than " + std::to_string(kMaxEntries) + " entries");
  }
  const uint32_t index = static_cast<uint32_t>(entries_.size());
  // One lookup finds a duplicate and reserves the name; a refusal below
  // gives the name back.
  auto slot = index_.try_emplace(e.path, index);
  if (!slot.second) {
    const Entry& first = entries_[slot.first->second];
    return Status::Protocol("entry sent twice" +
                            std::string(first.type != e.type ? " with different types" : "") +
                            ": " + Printable(e.path));
  }
  auto refuse = [&](const std::string& why) {
    index_.erase(slot.first);
    return Status::Protocol(why);
  };
  std::string parent = ParentOf(e.path);
  if (!parent.empty()) {
    // Entries of one folder arrive together: its lookup serves them all.
    if (parent != last_parent_) {
      auto p = index_.find(parent);
      if (p == index_.end()) {
        return refuse("entry before its folder was listed: " + Printable(e.path));
      }
      last_parent_ = parent;
      last_parent_index_ = p->second;
    }
    const Entry& folder = entries_[last_parent_index_];
    if (folder.type != EntryType::kFolder) {
      return refuse("entry inside a " + std::string(EntryTypeName(folder.type)) + ": " +
                    Printable(e.path));
    }
  }
  // A temporary name is ours: a server could otherwise make us install over
  // a file we are writing.
  if (IsTempName(BaseName(e.path))) {
    return refuse("entry uses a name reserved for temporary files: " + Printable(e.path));
  }
  // A name this OS can't hold costs that entry (and what is inside it), not
  // the session.
  bool skip = !parent.empty() && skip_[last_parent_index_];
  if (!skip) {
    std::string problem = platform::LocalNameProblem(BaseName(e.path));
    if (!problem.empty()) {
      skip = true;
      ++stats_->errors;
      reporter_->OnEntryError(e.path, Printable(e.path) + ": " + problem);
    }
  }
  if (!skip && options_.names_ignore_case) {
    std::string folded = e.path;
    for (char& c : folded) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    auto twin = folded_.try_emplace(std::move(folded), index);
    if (!twin.second) {
      skip = true;
      ++stats_->errors;
      reporter_->OnEntryError(e.path, Printable(e.path) + ": differs only in case from " +
                                          Printable(entries_[twin.first->second].path) +
                                          ", and this file system can't hold both");
    }
  }
  if (e.type == EntryType::kFile) ++stats_->files_total;
  entries_.push_back(std::move(e));
  skip_.push_back(skip);
  return Status::Ok();
}

Status Receiver::CheckParentIsFolder(const std::string& rel) const {
  // The plan made every parent a real folder; checking again right before
  // writing keeps a symlink swapped in meanwhile from redirecting us.
  std::string parent = ParentOf(rel);
  if (parent.empty()) return Status::Ok();
  platform::FileInfo info;
  TS_RETURN_IF_ERROR(platform::Lstat(Full(parent), &info));
  if (info.type != platform::FileType::kDirectory) {
    return Status::Io("refusing to write below " + Printable(parent) + ": not a real folder");
  }
  return Status::Ok();
}

void Receiver::HashLocalFiles(std::vector<Entry>* local) const {
  for (Entry& l : *local) {
    if (l.type != EntryType::kFile) continue;
    auto it = index_.find(l.path);
    if (it == index_.end()) continue;
    const Entry& r = entries_[it->second];
    // Only a same-size file can be current, so only those are read.
    if (r.type != EntryType::kFile || r.size != l.size || !r.has_hash) continue;
    platform::FileInfo info;
    l.has_hash = HashFile(Full(l.path), &l.hash, &info).ok();
  }
}

Status Receiver::ApplyListing(bool complete) {
  std::vector<Entry> tree;
  std::unordered_map<std::string, uint64_t> temps;  // wire path -> size
  if (local_walk_.joinable()) local_walk_.join();
  WalkResult local = std::move(local_);
  Status s = local_status_;
  // A dry run into a folder that does not exist yet: everything is new.
  if (!s.ok() && !(options_.dry_run && s.kind() == ErrorKind::kBadFolder)) {
    return Status::Io(s.message());
  }
  for (const WalkProblem& p : local.problems) reporter_->OnWarning(p.message);
  tree.reserve(local.entries.size());
  // Temporaries are ours, never part of the mirror: partial data to resume
  // from, or leftovers to remove.
  for (Entry& e : local.entries) {
    if (e.type == EntryType::kFile && IsTempName(BaseName(e.path))) {
      temps.emplace(e.path, e.size);
    } else {
      tree.push_back(std::move(e));
    }
  }
  if (options_.checksum) HashLocalFiles(&tree);

  PlanOptions po;
  po.delete_extraneous = options_.delete_extraneous;
  po.listing_complete = complete;
  po.checksum = options_.checksum;
  po.compare_mode = platform::KeepsPermissionBits();
  po.mtime_granularity_ns = platform::MtimeGranularityNs();
  Plan plan = BuildPlan(entries_, tree, po, &skip_);
  stats_->files_skipped += plan.unchanged_files;

  std::vector<Removal> deferred;
  if (!options_.dry_run) deferred = ChooseBases(tree, &plan);
  existed_.assign(entries_.size(), false);
  wants_.clear();
  bytes_total_ = 0;
  for (const Plan::Fetch& f : plan.fetch) {
    const Entry& e = entries_[f.index];
    existed_[f.index] = f.existing;
    Want w{f.index, 0};
    auto t = temps.find(JoinPath(ParentOf(e.path), TempNameFor(e)));
    if (t != temps.end() && t->second > 0 && t->second <= e.size) {
      // Partial data of this very version (same name, size and mtime):
      // resume after it. The whole-file hash still checks the result.
      w.offset = t->second;
      temps.erase(t);
    }
    bytes_total_ += e.size - w.offset;
    wants_.push_back(w);
  }

  if (options_.dry_run) {
    for (const Removal& r : plan.removals) reporter_->OnChange(Change::kDelete, r.type, r.path, 0);
    for (uint32_t i : plan.create_folders) {
      reporter_->OnChange(Change::kCreate, EntryType::kFolder, entries_[i].path, 0);
    }
    for (uint32_t i : plan.create_symlinks) {
      reporter_->OnChange(Change::kCreate, EntryType::kSymlink, entries_[i].path, 0);
    }
    for (const Want& w : wants_) {
      const Entry& e = entries_[w.index];
      reporter_->OnChange(existed_[w.index] ? Change::kUpdate : Change::kCreate, e.type, e.path,
                          e.size);
    }
    for (uint32_t i : plan.fix_metadata) {
      reporter_->OnChange(Change::kMetadata, EntryType::kFile, entries_[i].path, 0);
    }
    wants_.clear();
    return Status::Ok();
  }

  for (const auto& t : temps) TS_RETURN_IF_ERROR(platform::RemoveEntry(Full(t.first)));
  for (const Removal& r : plan.removals) TS_RETURN_IF_ERROR(Remove(r));
  deferred_removals_ = std::move(deferred);
  for (uint32_t i : plan.create_folders) {
    const Entry& e = entries_[i];
    TS_RETURN_IF_ERROR(CheckParentIsFolder(e.path));
    TS_RETURN_IF_ERROR(platform::MakeFolder(Full(e.path)));
    ++stats_->dirs_created;
    reporter_->OnChange(Change::kCreate, e.type, e.path, 0);
  }
  for (uint32_t i : plan.create_symlinks) {
    const Entry& e = entries_[i];
    TS_RETURN_IF_ERROR(CheckParentIsFolder(e.path));
    Status st = platform::MakeSymlink(e.target, Full(e.path));
    if (!st.ok()) {
      // Some hosts (Windows without the privilege, FAT) can't make
      // symlinks at all: the rest of the mirror is still worth having.
      reporter_->OnWarning("symlink skipped: " + st.message());
      continue;
    }
    // A link's own time is cosmetic, and some hosts (Wine, some network
    // file systems) can't set it without following the link.
    st = platform::SetMtime(Full(e.path), e.mtime_ns);
    if (!st.ok()) reporter_->OnWarning("symlink time not kept: " + st.message());
    ++stats_->symlinks_created;
    reporter_->OnChange(Change::kCreate, e.type, e.path, 0);
  }
  for (uint32_t i : plan.fix_metadata) {
    const Entry& e = entries_[i];
    TS_RETURN_IF_ERROR(platform::SetMode(Full(e.path), e.mode));
    TS_RETURN_IF_ERROR(platform::SetMtime(Full(e.path), e.mtime_ns));
    reporter_->OnChange(Change::kMetadata, e.type, e.path, 0);
  }
  return Status::Ok();
}

Status Receiver::Remove(const Removal& r) {
  TS_RETURN_IF_ERROR(platform::RemoveEntry(Full(r.path)));
  if (r.type == EntryType::kFolder) {
    ++stats_->dirs_deleted;
  } else {
    ++stats_->files_deleted;
  }
  reporter_->OnChange(Change::kDelete, r.type, r.path, 0);
  return Status::Ok();
}

std::vector<Removal> Receiver::ChooseBases(const std::vector<Entry>& local, Plan* plan) {
  // Candidates for files that are new here: local files that stay as they
  // are during the transfer, found by size (cheap: nothing is read yet).
  std::unordered_map<std::string, bool> removed;  // path -> replaced
  for (const Removal& r : plan->removals) removed.emplace(r.path, r.replaced);
  std::unordered_map<std::string, bool> fetched;
  for (const Plan::Fetch& f : plan->fetch) fetched.emplace(entries_[f.index].path, true);
  std::unordered_map<uint64_t, const Entry*> by_size;
  for (const Entry& l : local) {
    if (l.type != EntryType::kFile || l.size < kMinDeltaBasis) continue;
    auto r = removed.find(l.path);
    // A file in the way of another kind of entry must go first; one about
    // to be rewritten is no stable basis for another file.
    if (r != removed.end() ? r->second : fetched.count(l.path) > 0) continue;
    by_size.emplace(l.size, &l);
  }
  std::unordered_map<std::string, bool> keep;  // paths whose removal waits
  for (const Plan::Fetch& f : plan->fetch) {
    const Entry& e = entries_[f.index];
    if (e.size < kMinDeltaBasis) continue;
    if (f.existing) {
      basis_[f.index] = Full(e.path);
      continue;
    }
    auto c = by_size.find(e.size);
    if (c == by_size.end()) continue;
    basis_[f.index] = Full(c->second->path);
    for (std::string p = c->second->path; !p.empty(); p = ParentOf(p)) keep[p] = true;
  }
  std::vector<Removal> now, later;
  for (Removal& r : plan->removals) (keep.count(r.path) ? later : now).push_back(std::move(r));
  plan->removals = std::move(now);
  return later;
}

const std::string& Receiver::BasisFor(uint32_t index) const {
  static const std::string kNone;
  auto it = basis_.find(index);
  return it == basis_.end() ? kNone : it->second;
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
  if (!open_ || !basis_file_.valid()) return Status::Protocol("Copy frame without a basis");
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
    TS_RETURN_IF_ERROR(FileData(copy_buf_.data(), got));
    offset += got;
    length -= got;
  }
  return Status::Ok();
}

void Receiver::CloseTemp() {
  file_.Close();
  open_ = false;
}

void Receiver::ReportProgress() {
  reporter_->OnProgress(bytes_done_, bytes_total_, files_done_, wants_.size());
}

Status Receiver::BeginFile(const Begin& begin, bool with_basis) {
  bool restart = open_ && current_ == begin.index;
  if (open_) {  // a restart: what came so far may mix two versions
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
    platform::File::OpenRead(BasisFor(begin.index), &basis_file_);
  }
  const Entry& e = entries_[begin.index];
  // Files of one folder arrive together: one check per folder run.
  std::string parent = ParentOf(e.path);
  if (parent != checked_parent_ || !parent_checked_) {
    parent_checked_ = false;
    TS_RETURN_IF_ERROR(CheckParentIsFolder(e.path));
    // Opened without following a symlink, so none swapped in after the
    // check redirects us; the target folder itself may be one the user made.
    TS_RETURN_IF_ERROR(platform::Folder::Open(Full(parent), parent.empty(), &parent_folder_));
    checked_parent_ = parent;
    parent_checked_ = true;
  }
  temp_name_ = TempNameFor(e);
  temp_path_ = parent_folder_.PathOf(temp_name_);
  current_ = begin.index;
  received_ = 0;
  resume_mismatch_ = false;
  hasher_.Reset();
  if (begin.offset > 0) {
    TS_RETURN_IF_ERROR(platform::File::OpenAppend(temp_path_, &file_));
    open_ = true;
    platform::FileInfo info;
    TS_RETURN_IF_ERROR(file_.Stat(&info));
    // Partial data that is not what we asked to resume from can only fail
    // verification; it is dropped then and the file fetched whole.
    if (info.size != begin.offset || !HashPrefix(&file_, begin.offset, &hasher_).ok()) {
      resume_mismatch_ = true;
    }
    received_ = begin.offset;
    created_mode_ = ~0u;  // whatever mode the partial file has: set it
    stats_->bytes_resumed += begin.offset;
    return Status::Ok();
  }
  // The name is usually free (ApplyListing removed stale partial data, a
  // failed attempt removes its own); it is taken when partial data we
  // offered to resume from is refused by the server, which starts over.
  // Created with the listing's mode (an incomplete file is no secret the
  // final one isn't), which mostly spares a chmod at the end.
  if (!parent_folder_.CreateNew(temp_name_, &file_, e.mode).ok()) {
    TS_RETURN_IF_ERROR(platform::RemoveEntry(temp_path_));
    TS_RETURN_IF_ERROR(parent_folder_.CreateNew(temp_name_, &file_, e.mode));
  }
  created_mode_ = e.mode & 0777 & ~creation_mask_;
  open_ = true;
  return Status::Ok();
}

Status Receiver::FileData(const char* data, size_t n) {
  if (!open_) return Status::Protocol("Data frame outside a file");
  TS_RETURN_IF_ERROR(file_.Write(data, n));
  hasher_.Update(data, n);
  received_ += n;
  bytes_done_ += n;
  ReportProgress();
  return Status::Ok();
}

Status Receiver::EndFile(const End& end, bool* verified) {
  *verified = false;
  if (!open_) return Status::Protocol("End frame outside a file");
  const Entry& e = entries_[current_];
  basis_file_.Close();  // Windows can't rename over an open file
  if (resume_mismatch_ || end.size != received_ || end.hash != hasher_.Digest()) {
    CloseTemp();
    platform::RemoveEntry(temp_path_);
    return Status::Ok();
  }
  Status s;
  if ((end.mode & 0777) != created_mode_) s = file_.SetMode(end.mode);
  if (s.ok()) s = file_.SetMtime(end.mtime_ns);
  Status closed = file_.Close();
  open_ = false;
  if (s.ok()) s = closed;
  if (s.ok()) s = parent_folder_.Rename(temp_name_, BaseName(e.path));
  if (!s.ok()) {
    platform::RemoveEntry(temp_path_);
    return s;
  }
  *verified = true;
  ++stats_->files_transferred;
  ++files_done_;
  stats_->bytes_transferred += received_;
  ReportProgress();
  reporter_->OnChange(existed_[current_] ? Change::kUpdate : Change::kCreate, e.type, e.path,
                      received_);
  return Status::Ok();
}

void Receiver::FileFailed(uint32_t index, const std::string& message) {
  if (open_ && current_ == index) {
    CloseTemp();
    platform::RemoveEntry(temp_path_);
  }
  ++files_done_;
  ++stats_->errors;
  reporter_->OnEntryError(entries_[index].path, message);
}

Status Receiver::Finish() {
  basis_file_.Close();
  for (const Removal& r : deferred_removals_) TS_RETURN_IF_ERROR(Remove(r));
  deferred_removals_.clear();
  // Children before parents: creating or touching an entry changes its
  // folder's mtime, so folder times are set last and deepest first.
  if (options_.dry_run) return Status::Ok();
  for (size_t i = entries_.size(); i-- > 0;) {
    const Entry& e = entries_[i];
    if (e.type != EntryType::kFolder) continue;
    std::string full = Full(e.path);
    platform::FileInfo info;
    TS_RETURN_IF_ERROR(platform::Lstat(full, &info));
    if (info.type != platform::FileType::kDirectory) continue;
    // Owner rwx always stays, so the next pull can write into the folder.
    uint32_t mode = (e.mode & 0777) | 0700;
    if ((info.mode & 0777) != mode) TS_RETURN_IF_ERROR(platform::SetMode(full, mode));
    if (!SameMtime(info.mtime_ns, e.mtime_ns, platform::MtimeGranularityNs())) {
      TS_RETURN_IF_ERROR(platform::SetMtime(full, e.mtime_ns));
    }
  }
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
