#include "send_session.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

#include "clock.h"
#include "content_hash.h"
#include "delta.h"
#include "fs_meta.h"
#include "manifest.h"
#include "owners.h"
#include "path.h"
#include "sparse.h"
#include "walk.h"

namespace treesync {

namespace {

// How many times a file that changes while being read is read again before
// it is reported as failed.
constexpr int kMaxReadAttempts = 3;
// Smaller files hash faster than the cache answers (and would crowd it).
constexpr uint64_t kCachedSendHashBytes = 1 << 20;
// A queued request: a plain Want, or a WantDelta carrying the signature of
// the client's basis.
struct Request {
  Want want;            // index: the client's tag
  uint64_t size = 0;    // the listing's size: never more is sent
  std::string path;
  bool delta = false;
  Signature basis;
  size_t bytes = 0;     // what the request cost on the wire
};

// Delta instructions straight onto the connection.
class ConnectionSink : public DeltaSink {
 public:
  explicit ConnectionSink(Connection* conn) : conn_(conn) {}
  Status Literal(const char* data, size_t n) override {
    return conn_->Send(FrameType::kData, data, n);
  }
  // A Copy is tiny but stands for up to kMaxCopyRun bytes of work for the
  // client: it goes out now rather than waiting for a batch to fill.
  Status Copy(uint32_t first_block, uint32_t block_count) override {
    TS_RETURN_IF_ERROR(conn_->Send(FrameType::kCopy, EncodeCopy(first_block, block_count)));
    return conn_->Push();
  }

 private:
  Connection* conn_;
};

// The folder of the file sent last, held open: files are requested in
// listing order, so most are opened by name in the folder before. Until
// the first open succeeds the folder has no path.
struct OpenFolder {
  std::string rel;  // of the folder held
  platform::Folder folder;
};

// Opens the file at rel under root through *last. Folders below the root
// are opened without following a symlink, so none swapped in for a folder
// since the walk leads the read elsewhere.
Status OpenServed(const std::string& root, const std::string& rel, OpenFolder* last,
                  platform::File* out) {
  std::string parent = ParentOf(rel);
  if (!last->folder.path().empty() && last->rel == parent) {
    // The folder may have been replaced since it was opened: then look again.
    if (last->folder.OpenRead(BaseName(rel), out).ok()) return Status::Ok();
  }
  // A failed open leaves the folder held before, still paired with its rel.
  TS_RETURN_IF_ERROR(
      platform::Folder::Open(JoinPath(root, parent), parent.empty(), &last->folder));
  last->rel = parent;
  return last->folder.OpenRead(BaseName(rel), out);
}

// Sends one file. A problem with the file itself is a FileError frame to the
// client (the session goes on); only connection trouble is returned.
Status SendFile(Connection* conn, const std::string& root, const Request& req, HashCache* cache,
                bool holes, OpenFolder* folder, std::vector<char>* buf, SendSummary* summary) {
  const Want& want = req.want;
  std::string problem;
  for (int attempt = 0; attempt < kMaxReadAttempts; ++attempt) {
    platform::File file;
    Status s = OpenServed(root, req.path, folder, &file);
    platform::FileInfo before, after;
    if (s.ok()) s = file.Stat(&before);
    if (s.ok() && before.type != platform::FileType::kRegular) {
      s = Status::Io(Printable(req.path) + ": not a regular file");
    }
    // The client holds no room for more than the listing said.
    if (s.ok() && before.size > req.size) {
      s = Status::Io(Printable(req.path) + ": grew since it was listed (" +
                     std::to_string(before.size) + " bytes now); pull again");
    }
    if (!s.ok()) {
      problem = s.message();
      break;
    }
    // A hash this server already took of the same bytes (same identity and
    // stamps) spares hashing them again; the client checks them anyway.
    Hash128 known;
    const bool use_cache = cache != nullptr && before.size >= kCachedSendHashBytes;
    const bool hash_known = use_cache && cache->Lookup(before, &known);
    Xxh3Hasher hasher;
    Begin b;
    b.index = want.index;
    // Resume: the client holds the first want.offset bytes. They still go
    // into the whole-file hash, so they are read here, just not sent.
    if (want.offset > 0 && want.offset <= before.size && attempt == 0) {
      if (HashPrefix(&file, want.offset, &hasher).ok()) {
        b.offset = want.offset;
      } else {
        problem = Printable(req.path) + ": shrank while being read";
        continue;
      }
    }
    TS_RETURN_IF_ERROR(conn->Send(FrameType::kBegin, EncodeBegin(b)));
    ConnectionSink sink(conn);
    std::unique_ptr<DeltaEncoder> encoder;
    if (req.delta) encoder.reset(new DeltaEncoder(req.basis));
    uint64_t total = b.offset;
    // A file with holes (fewer bytes on disk than its size) is read run of
    // data by run of data; the holes between go as Hole frames, unread.
    const bool sparse = holes && !encoder && before.allocated < before.size;
    uint64_t data_end = 0;  // sparse: end of the run of data being read
    // Read up to the size seen at open: a file that grew or shrank since is
    // caught by the second stat below, so no read is spent finding EOF.
    while (s.ok() && total < before.size) {
      if (sparse && total >= data_end) {
        uint64_t data_begin = total;
        s = file.NextData(total, before.size, &data_begin, &data_end);
        if (!s.ok()) break;
        if (data_begin > total) {
          TS_RETURN_IF_ERROR(conn->Send(FrameType::kHole, EncodeHole(data_begin - total)));
          if (!hash_known) hasher.UpdateZeros(data_begin - total);
          total = data_begin;
          continue;
        }
      }
      size_t got = 0;
      size_t want_bytes = static_cast<size_t>(std::min<uint64_t>(
          buf->size(), (sparse ? data_end : before.size) - total));
      // Whole data is read straight into the output queue: a copy of every
      // byte was a quarter of the server's time on large files.
      char* into = encoder || sparse ? buf->data()
                                     : conn->ReserveFrame(FrameType::kData, want_bytes);
      s = file.Read(into, want_bytes, &got);
      if (!s.ok() || got == 0) break;
      if (!hash_known) hasher.Update(into, got);
      if (encoder) {
        s = encoder->Update(into, got, &sink);
        if (!s.ok() && s.kind() == ErrorKind::kSocket) return s;
      } else if (sparse) {
        // Allocated zeros go as holes too, as with rsync -S.
        TS_RETURN_IF_ERROR(SplitHoles(into, got, total, [&](bool hole, size_t at, size_t n) {
          return hole ? conn->Send(FrameType::kHole, EncodeHole(n))
                      : conn->Send(FrameType::kData, into + at, n);
        }));
      } else {
        TS_RETURN_IF_ERROR(conn->CommitFrame(got));
      }
      total += got;
    }
    if (s.ok() && encoder) s = encoder->Finish(&sink);
    if (s.ok()) s = file.Stat(&after);
    if (!s.ok()) {
      if (s.kind() != ErrorKind::kIo) return s;  // the connection, not the file
      problem = s.message();
      break;
    }
    // A writer got in while we read: what we sent may mix two versions.
    // The next Begin tells the client to discard it.
    if (after.size != total || after.mtime_ns != before.mtime_ns) {
      problem = Printable(req.path) + ": kept changing while being read";
      continue;
    }
    End e;
    e.size = total;
    e.mtime_ns = before.mtime_ns;
    e.mode = before.mode;
    e.hash = hash_known ? known : hasher.Digest();
    if (use_cache && !hash_known && after.ctime_ns == before.ctime_ns) {
      cache->Store(before, e.hash, WallClockNs());
    }
    ++summary->files_sent;
    return conn->Send(FrameType::kEnd, EncodeEnd(e));
  }
  ++summary->file_errors;
  return conn->Send(FrameType::kFileError, EncodeFileError(want.index, problem));
}

// Requests and signatures held for files not yet sent, at most. A client
// keeps only a few delta requests in flight; this bounds what a hostile one
// can make us hold. A session holds kRequestFloor on its own and takes the
// rest from the server's shared budget in kRequestStep steps, if it can.
constexpr size_t kMaxQueuedRequestBytes = 16 << 20;
constexpr size_t kRequestFloor = 256 << 10;
constexpr size_t kRequestStep = 1 << 20;

// Link groups whose names have not all been listed yet, at most: about
// 4 MiB. A file with more names past that is listed as a file of its own
// (the receiver then gets a copy, not a link).
constexpr size_t kMaxOpenLinkGroups = 65536;

// A file's identity, for its link group.
struct FileId {
  uint64_t device, inode;
  bool operator==(const FileId& o) const { return device == o.device && inode == o.inode; }
};
struct FileIdHash {
  size_t operator()(const FileId& id) const {
    return std::hash<uint64_t>()(id.inode * 0x9E3779B97F4A7C15ull ^ id.device);
  }
};
// A link group being listed: its first name's index, and how many of the
// file's names are still to come.
struct OpenLinkGroup {
  uint32_t first;
  uint64_t names_left;
};

// One session after the Hello: the walk on a thread of its own, the listing
// sent as it comes (within the client's credit when streaming), requests
// answered between listing frames.
class Sender {
 public:
  Sender(Connection* conn, const std::string& root, HashCache* cache,
         std::shared_ptr<const Filter> filter, uint32_t flags,
         const EventHandler& on_event, Reporter* local, SendSummary* summary,
         const OwnerListing& owners, std::shared_ptr<const WalkScope> scope)
      : conn_(conn),
        peer_(PeerOfSender(flags)),
        on_event_(on_event),
        local_(local),
        root_(root),
        cache_(cache),
        hashes_((flags & kHelloWantHashes) != 0),
        packed_((flags & kHelloPackedListing) != 0),
        streaming_((flags & kHelloStreaming) != 0),
        holes_((flags & kHelloHoles) != 0),
        sized_sums_((flags & kHelloSizedSums) != 0),
        owners_((flags & kHelloOwners) != 0 && (flags & kHelloPackedListing) != 0),
        specials_((flags & kHelloSpecials) != 0 && (flags & kHelloPackedListing) != 0),
        xattrs_((flags & kHelloXattrs) != 0 && (flags & kHelloPackedListing) != 0),
        // A round lists a link group's changed names, not all of them: its
        // files travel as files of their own.
        links_((flags & kHelloHardLinks) != 0 && (flags & kHelloPackedListing) != 0 &&
               scope == nullptr),
        owner_listing_(owners),
        summary_(summary),
        filter_(std::move(filter)),
        walk_(root, filter_, specials_, xattrs_, std::move(scope)),
        packer_(owners_),
        buf_(kDataChunk) {}
  ~Sender() {
    if (conn_->budget() != nullptr) conn_->budget()->Give(taken_);
  }

  Status Run();

 private:
  // Sends what the walk has ready, as far as the credit goes. *waiting:
  // the walk has nothing ready yet.
  Status SendListing(bool* progress, bool* waiting);
  Status SendEntry(Entry& e);
  Status FlushPacker();
  Status OnReceiverFrame(const Frame& f);
  Status QueueRequest(Request r);
  // kProtocol for a path the receiver may not ask for: a temporary, or one
  // the filter excludes.
  Status CheckAskedPath(const std::string& path);
  // Whether queued requests leave room to read more, taking room from the
  // shared budget when they don't.
  bool RequestRoom();

  Connection* conn_;
  const std::string peer_;
  const EventHandler& on_event_;
  Reporter* local_;
  const std::string& root_;
  HashCache* cache_;
  const bool hashes_, packed_, streaming_, holes_, sized_sums_, owners_, specials_, xattrs_,
      links_;
  // Gives e (listed at index) its link record, if it has other names.
  void ListLink(Entry* e, uint64_t index);
  std::unordered_map<FileId, OpenLinkGroup, FileIdHash> link_groups_;
  // Sets e's owner and group as the listing gives them.
  void ListOwner(Entry* e);
  const OwnerListing owner_listing_;
  std::unordered_map<uint32_t, std::string> user_names_, group_names_;  // looked up so far
  SendSummary* summary_;
  // What the listing leaves out; a path asked for by name is checked
  // against it (the walk never listed it, but a peer may ask anyway).
  std::shared_ptr<const Filter> filter_;
  std::unique_ptr<PathGuard> guard_;
  BackgroundWalk walk_;
  std::vector<WalkItem> batch_;
  size_t batch_pos_ = 0;
  bool walk_done_ = false;
  bool list_end_sent_ = false;
  bool complete_ = true;
  uint64_t credit_ = kInitialListCredit;
  uint64_t count_ = 0;
  EntryPacker packer_;
  int64_t now_ns_ = WallClockNs();
  // Without streaming: the listing's files by index, for Want frames.
  std::vector<Entry> index_;
  std::vector<uint8_t> requests_;  // per index
  std::deque<Request> queue_;
  size_t queued_bytes_ = 0;
  size_t taken_ = 0;  // from the connection's budget, for requests
  bool want_end_ = false;
  std::vector<char> buf_;
  OpenFolder folder_;
};

Status Sender::FlushPacker() {
  return packer_.empty() ? Status::Ok() : conn_->Send(FrameType::kEntries, packer_.Take());
}

void Sender::ListOwner(Entry* e) {
  const OwnerListing& o = owner_listing_;
  e->has_owner = true;
  if (o.uid >= 0) e->uid = static_cast<uint32_t>(o.uid);
  if (o.gid >= 0) e->gid = static_cast<uint32_t>(o.gid);
  if (o.numeric_ids) return;
  auto name = [](std::unordered_map<uint32_t, std::string>* cache, uint32_t id, bool user) {
    auto it = cache->find(id);
    if (it == cache->end()) {
      it = cache->emplace(id, user ? platform::UserName(id) : platform::GroupName(id)).first;
    }
    return it->second;
  };
  e->user = o.uid >= 0 ? o.user : name(&user_names_, e->uid, true);
  e->group = o.gid >= 0 ? o.group : name(&group_names_, e->gid, false);
}

void Sender::ListLink(Entry* e, uint64_t index) {
  if (e->type != EntryType::kFile || e->links < 2) return;
  const FileId id{e->device, e->inode};
  auto it = link_groups_.find(id);
  if (it != link_groups_.end()) {
    e->has_link = true;
    e->link_first = it->second.first;
    // Its last name: nothing more can join the group.
    if (--it->second.names_left == 0) link_groups_.erase(it);
    return;
  }
  if (link_groups_.size() >= kMaxOpenLinkGroups || index >= kLinkFirst) return;
  e->has_link = true;
  e->link_first = kLinkFirst;
  e->link_names = static_cast<uint32_t>(std::min<uint64_t>(e->links, 0xFFFFFFFFu));
  link_groups_.emplace(id, OpenLinkGroup{static_cast<uint32_t>(index), e->links - 1});
}

Status Sender::SendEntry(Entry& e) {
  if (owners_) ListOwner(&e);
  if (links_) ListLink(&e, count_);
  if (hashes_ && e.type == EntryType::kFile) {
    platform::FileInfo info;
    // A file that can't be hashed goes without: the client then fetches
    // it and learns the problem from the FileError.
    e.has_hash = HashFileCached(JoinPath(root_, e.path), cache_, now_ns_, &e.hash, &info).ok();
  }
  ++count_;
  if (!streaming_) {
    if (count_ > kMaxEntries) {
      return Status::Io("more than " + std::to_string(kMaxEntries) + " entries under " +
                        Printable(root_) + " (a client that streams can take more)");
    }
    Entry held;
    held.path = e.path;
    held.type = e.type;
    held.size = e.size;
    index_.push_back(std::move(held));
  } else if (count_ > kMaxStreamedEntries) {
    return Status::Io("more entries than one listing can count under " + Printable(root_));
  }
  if (!packed_) return conn_->Send(EntryFrameType(e.type), EncodeEntry(e));
  packer_.Add(e);
  return packer_.full() ? FlushPacker() : Status::Ok();
}

Status Sender::SendListing(bool* progress, bool* waiting) {
  *progress = false;
  *waiting = false;
  for (;;) {
    if (batch_pos_ == batch_.size()) {
      if (walk_done_) {
        TS_RETURN_IF_ERROR(FlushPacker());
        ListEnd end;
        end.count = static_cast<uint32_t>(count_);
        end.complete = complete_;
        TS_RETURN_IF_ERROR(conn_->Send(FrameType::kListEnd, EncodeListEnd(end)));
        list_end_sent_ = true;
        *progress = true;
        return Status::Ok();
      }
      batch_pos_ = 0;
      TS_RETURN_IF_ERROR(walk_.Next(&batch_, 0, &walk_done_));
      if (batch_.empty() && !walk_done_) {
        *waiting = true;
        return Status::Ok();
      }
      continue;
    }
    WalkItem& item = batch_[batch_pos_];
    switch (item.kind) {
      case WalkItem::kEntry: {
        uint64_t weight = EntryWeight(item.entry);
        if (streaming_ && weight > credit_) return Status::Ok();  // until the client grants more
        if (streaming_) credit_ -= weight;
        TS_RETURN_IF_ERROR(SendEntry(item.entry));
        break;
      }
      case WalkItem::kGap:
        complete_ = false;
        TS_RETURN_IF_ERROR(FlushPacker());  // it speaks of the entries before it
        TS_RETURN_IF_ERROR(streaming_
                               ? conn_->Send(FrameType::kGap, EncodeGap(item.path, item.message))
                               : conn_->Send(FrameType::kWarning,
                                             EncodeWarning(item.path, item.message)));
        break;
      case WalkItem::kWarning:
        if (local_ != nullptr) local_->OnWarning(item.message);
        TS_RETURN_IF_ERROR(FlushPacker());  // it speaks of the entry after it
        TS_RETURN_IF_ERROR(conn_->Send(FrameType::kWarning,
                                       EncodeWarning(item.path, FitMessage(item.message))));
        break;
      case WalkItem::kWhole:
        TS_RETURN_IF_ERROR(FlushPacker());  // it speaks of the entries after it
        TS_RETURN_IF_ERROR(
            conn_->Send(FrameType::kWhole, EncodeWhole(item.path, item.entry.size == 1)));
        break;
      case WalkItem::kSkipped:
        if (local_ != nullptr) local_->OnWarning(Printable(item.path) + ": special file skipped");
        TS_RETURN_IF_ERROR(FlushPacker());
        TS_RETURN_IF_ERROR(conn_->Send(
            FrameType::kWarning,
            EncodeWarning(item.path, Printable(item.path) + ": special file skipped")));
        break;
    }
    ++batch_pos_;
    *progress = true;
  }
}

bool Sender::RequestRoom() {
  const size_t room = conn_->budget() != nullptr ? kRequestFloor + taken_ : kMaxQueuedRequestBytes;
  if (queued_bytes_ < room) return true;
  if (conn_->budget() == nullptr || room >= kMaxQueuedRequestBytes ||
      !conn_->budget()->TryTake(kRequestStep)) {
    return false;
  }
  taken_ += kRequestStep;
  return true;
}

Status Sender::QueueRequest(Request r) {
  if (!list_end_sent_ && !streaming_) {
    return Status::Protocol("request before the listing ended");
  }
  queued_bytes_ += r.bytes;
  queue_.push_back(std::move(r));
  return Status::Ok();
}

Status Sender::OnReceiverFrame(const Frame& f) {
  if (f.type == FrameType::kError) return PeerError(f, peer_);
  if (f.type == FrameType::kEvent && on_event_) return on_event_(f);
  if (want_end_) return Status::Protocol(FrameName(f) + " frame after WantEnd");
  switch (f.type) {
    case FrameType::kWantEnd:
      if (!list_end_sent_) return Status::Protocol("WantEnd before the listing ended");
      want_end_ = true;
      return Status::Ok();
    case FrameType::kListCredit: {
      if (!streaming_) break;
      uint32_t bytes = 0;
      TS_RETURN_IF_ERROR(DecodeListCredit(f, &bytes));
      credit_ = std::min<uint64_t>(credit_ + bytes, uint64_t(1) << 62);
      return Status::Ok();
    }
    case FrameType::kWantPaths: {
      if (!streaming_) break;
      std::vector<PathWant> wants;
      TS_RETURN_IF_ERROR(DecodePathWants(f, &wants));
      for (PathWant& w : wants) {
        TS_RETURN_IF_ERROR(CheckAskedPath(w.path));
        Request r;
        r.want = {w.tag, w.offset};
        r.size = w.size;
        r.bytes = PathWantBytes(w);
        r.path = std::move(w.path);
        TS_RETURN_IF_ERROR(QueueRequest(std::move(r)));
      }
      return Status::Ok();
    }
    case FrameType::kWantDeltaPath: {
      if (!streaming_) break;
      PathWant w;
      Request r;
      r.delta = true;
      TS_RETURN_IF_ERROR(DecodeWantDeltaPath(f, sized_sums_, &w, &r.basis));
      TS_RETURN_IF_ERROR(CheckAskedPath(w.path));
      r.want = {w.tag, 0};
      r.size = w.size;
      r.path = std::move(w.path);
      r.bytes = f.payload.size();
      return QueueRequest(std::move(r));
    }
    case FrameType::kWant:
    case FrameType::kWantDelta: {
      if (streaming_) break;
      std::vector<Want> wants;
      Signature basis;
      if (f.type == FrameType::kWant) {
        TS_RETURN_IF_ERROR(DecodeWants(f, &wants));
      } else {
        wants.emplace_back();
        TS_RETURN_IF_ERROR(DecodeWantDelta(f, sized_sums_, &wants[0].index, &basis));
      }
      requests_.resize(index_.size(), 0);
      for (const Want& w : wants) {
        if (w.index >= index_.size() || index_[w.index].type != EntryType::kFile) {
          return Status::Protocol("receiver asked for entry #" + std::to_string(w.index) +
                                  ", which is not a file in the listing");
        }
        if (++requests_[w.index] > kMaxRequestsPerFile) {
          return Status::Protocol("receiver asked for entry #" + std::to_string(w.index) +
                                  " too many times");
        }
        Request r;
        r.want = w;
        r.size = index_[w.index].size;
        r.path = index_[w.index].path;
        r.delta = f.type == FrameType::kWantDelta;
        if (r.delta) r.basis = std::move(basis);
        r.bytes = r.delta ? f.payload.size() : 12;
        TS_RETURN_IF_ERROR(QueueRequest(std::move(r)));
      }
      return Status::Ok();
    }
    default:
      break;
  }
  return Status::Protocol("unexpected " + FrameName(f) + " frame from the receiver");
}

Status Sender::CheckAskedPath(const std::string& path) {
  if (IsReservedName(BaseName(path))) {
    return Status::Protocol("receiver asked for a temporary file: " + Printable(path));
  }
  if (filter_ == nullptr) return Status::Ok();
  if (guard_ == nullptr) guard_.reset(new PathGuard(filter_.get(), root_));
  if (guard_->Excluded(path)) {
    return Status::Protocol("receiver asked for an excluded entry: " + Printable(path));
  }
  return Status::Ok();
}

Status Sender::Run() {
  for (;;) {
    // Take the requests that have already arrived. Past a bound of what
    // they hold, the client's frames are left unread for now.
    while (RequestRoom()) {
      Frame f;
      bool got = false;
      TS_RETURN_IF_ERROR(conn_->TryReceive(&f, &got));
      if (!got) break;
      TS_RETURN_IF_ERROR(OnReceiverFrame(f));
    }
    if (!queue_.empty()) {
      Request r = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= r.bytes;
      TS_RETURN_IF_ERROR(SendFile(conn_, root_, r, cache_, holes_, &folder_, &buf_, summary_));
      continue;
    }
    bool waiting = false;
    if (!list_end_sent_) {
      bool progress = false;
      TS_RETURN_IF_ERROR(SendListing(&progress, &waiting));
      if (progress) continue;
    }
    if (list_end_sent_ && want_end_) break;
    // Nothing to send now: what the client has of the listing goes out,
    // then we wait for the walk or for the client.
    TS_RETURN_IF_ERROR(FlushPacker());
    if (waiting) {
      TS_RETURN_IF_ERROR(conn_->Push());
      // Briefly, so requests that arrive meanwhile are answered soon.
      TS_RETURN_IF_ERROR(walk_.Next(&batch_, 1, &walk_done_));
      batch_pos_ = 0;
      continue;
    }
    if (!RequestRoom()) continue;
    Frame f;
    TS_RETURN_IF_ERROR(conn_->Receive(&f));
    TS_RETURN_IF_ERROR(OnReceiverFrame(f));
  }
  summary_->entries = count_;
  return conn_->Send(FrameType::kDone, std::string());
}

}  // namespace

Status PeerError(const Frame& f, const std::string& peer) {
  ErrorMessage e;
  TS_RETURN_IF_ERROR(DecodeError(f, &e));
  return Status::Make(e.kind, peer + ": " + e.message);
}

Status RunSender(Connection* conn, const std::string& root, HashCache* cache,
                 std::shared_ptr<const Filter> filter, uint32_t flags,
                 const EventHandler& on_event, Reporter* local, SendSummary* summary,
                 const OwnerListing& owners, std::shared_ptr<const WalkScope> scope) {
  // One version of a tree --atomic switches, for the whole session.
  const std::string resolved = ResolveRoot(root);
  SyncStart sync;
  TS_RETURN_IF_ERROR(RootInfo(resolved, &sync.mode, &sync.mtime_ns));
  TS_RETURN_IF_ERROR(conn->Send(FrameType::kSync, EncodeSync(sync)));
  Sender sender(conn, resolved, cache, std::move(filter), flags, on_event, local, summary, owners,
                std::move(scope));
  return sender.Run();
}

}  // namespace treesync
