#include "server.h"

#include <atomic>
#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "console.h"
#include "content_hash.h"
#include "delta.h"
#include "fs_meta.h"
#include "lobby.h"
#include "memory_budget.h"
#include "path.h"
#include "protocol.h"
#include "walk.h"

namespace treesync {

namespace {

// How many times a file that changes while being read is read again before
// it is reported as failed.
constexpr int kMaxReadAttempts = 3;
// Smaller files hash faster than the cache answers (and would crowd it).
constexpr uint64_t kCachedSendHashBytes = 1 << 20;
// Signatures held for files not yet sent. A client keeps only a few delta
// requests in flight; this bounds what a hostile one can make us hold.
constexpr size_t kMaxQueuedSignatureBytes = 16 << 20;

// Decodes the client's first frame, which must be a Hello of our version.
Status CheckHello(const Frame& f, Hello* h) {
  TS_RETURN_IF_ERROR(DecodeHello(f, h));
  if (h->version != kProtocolVersion) {
    return Status::Version("client speaks protocol version " + std::to_string(h->version) +
                           ", this server speaks " + std::to_string(kProtocolVersion));
  }
  return Status::Ok();
}

Status ReceiveHello(Connection* conn, Hello* h) {
  Frame f;
  TS_RETURN_IF_ERROR(conn->Receive(&f));
  return CheckHello(f, h);
}

// Walks root and streams the listing as the walk goes, so the client
// starts on it at once. With a cache, File entries carry content hashes.
// packed: in Entries frames, else one frame per entry.
Status SendListing(Connection* conn, const std::string& root, HashCache* cache, bool packed,
                   WalkResult* walk) {
  SyncStart sync;
  TS_RETURN_IF_ERROR(RootInfo(root, &sync.mode, &sync.mtime_ns));
  TS_RETURN_IF_ERROR(conn->Send(FrameType::kSync, EncodeSync(sync)));
  int64_t now = WallClockNs();
  EntryPacker packer;
  // The client has little to do until the listing ends, so a second core
  // is usually free to walk half the tree.
  const WalkThreads threads =
      std::thread::hardware_concurrency() > 1 ? WalkThreads::kTwo : WalkThreads::kOne;
  TS_RETURN_IF_ERROR(WalkTree(root, walk, [&](Entry& e) {
    if (cache != nullptr && e.type == EntryType::kFile) {
      platform::FileInfo info;
      // A file that can't be hashed goes without: the client then fetches
      // it and learns the problem from the FileError.
      e.has_hash = HashFileCached(JoinPath(root, e.path), cache, now, &e.hash, &info).ok();
    }
    if (!packed) return conn->Send(EntryFrameType(e.type), EncodeEntry(e));
    packer.Add(e);
    return packer.full() ? conn->Send(FrameType::kEntries, packer.Take()) : Status::Ok();
  }, threads));
  if (!packer.empty()) TS_RETURN_IF_ERROR(conn->Send(FrameType::kEntries, packer.Take()));
  for (const WalkProblem& p : walk->problems) {
    TS_RETURN_IF_ERROR(conn->Send(FrameType::kWarning, EncodeWarning(p.path, p.message)));
  }
  for (const std::string& p : walk->skipped) {
    TS_RETURN_IF_ERROR(conn->Send(
        FrameType::kWarning, EncodeWarning(p, Printable(p) + ": special file skipped")));
  }
  ListEnd end;
  end.count = static_cast<uint32_t>(walk->entries.size());
  end.complete = walk->problems.empty();
  return conn->Send(FrameType::kListEnd, EncodeListEnd(end));
}

// A queued request: a plain Want, or a WantDelta carrying the signature of
// the client's basis.
struct Request {
  Want want;
  bool delta = false;
  Signature basis;
  size_t signature_bytes = 0;  // what the signature cost on the wire
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
Status SendFile(Connection* conn, const std::string& root, const Entry& entry, const Request& req,
                HashCache* cache, OpenFolder* folder, std::vector<char>* buf,
                SessionSummary* summary) {
  const Want& want = req.want;
  std::string problem;
  for (int attempt = 0; attempt < kMaxReadAttempts; ++attempt) {
    platform::File file;
    Status s = OpenServed(root, entry.path, folder, &file);
    platform::FileInfo before, after;
    if (s.ok()) s = file.Stat(&before);
    if (s.ok() && before.type != platform::FileType::kRegular) {
      s = Status::Io(Printable(entry.path) + ": no longer a regular file");
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
        problem = Printable(entry.path) + ": shrank while being read";
        continue;
      }
    }
    TS_RETURN_IF_ERROR(conn->Send(FrameType::kBegin, EncodeBegin(b)));
    ConnectionSink sink(conn);
    std::unique_ptr<DeltaEncoder> encoder;
    if (req.delta) encoder.reset(new DeltaEncoder(req.basis));
    uint64_t total = b.offset;
    // Read up to the size seen at open: a file that grew or shrank since is
    // caught by the second stat below, so no read is spent finding EOF.
    while (s.ok() && total < before.size) {
      size_t got = 0;
      size_t want_bytes = static_cast<size_t>(
          std::min<uint64_t>(buf->size(), before.size - total));
      // Whole data is read straight into the output queue: a copy of every
      // byte was a quarter of the server's time on large files.
      char* into = encoder ? buf->data() : conn->ReserveFrame(FrameType::kData, want_bytes);
      s = file.Read(into, want_bytes, &got);
      if (!s.ok() || got == 0) break;
      if (!hash_known) hasher.Update(into, got);
      total += got;
      if (encoder) {
        s = encoder->Update(into, got, &sink);
        if (!s.ok() && s.kind() == ErrorKind::kSocket) return s;
      } else {
        TS_RETURN_IF_ERROR(conn->CommitFrame(got));
      }
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
      problem = Printable(entry.path) + ": kept changing while being read";
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

// Checks a request against the listing and the per-file request limit.
Status CheckRequest(const WalkResult& walk, uint32_t idx, std::vector<uint8_t>* requests) {
  if (idx >= walk.entries.size() || walk.entries[idx].type != EntryType::kFile) {
    return Status::Protocol("client asked for entry #" + std::to_string(idx) +
                            ", which is not a file in the listing");
  }
  if (++(*requests)[idx] > kMaxRequestsPerFile) {
    return Status::Protocol("client asked for entry #" + std::to_string(idx) +
                            " too many times");
  }
  return Status::Ok();
}

}  // namespace

Status ServeSession(Connection* conn, const std::string& root, HashCache* cache,
                    SessionSummary* summary, const Hello* received_hello) {
  Hello hello = received_hello != nullptr ? *received_hello : Hello();
  Status s = received_hello != nullptr ? Status::Ok() : ReceiveHello(conn, &hello);
  if (!s.ok()) {
    conn->Send(FrameType::kError, EncodeError(s.kind(), s.message()));
    conn->Finish();
    return s;
  }
  Hello reply;
  reply.flags = hello.flags & (kHelloWantHashes | kHelloPackedListing);
  TS_RETURN_IF_ERROR(conn->Send(FrameType::kHello, EncodeHello(reply)));
  WalkResult walk;
  s = SendListing(conn, root, (reply.flags & kHelloWantHashes) ? cache : nullptr,
                  (reply.flags & kHelloPackedListing) != 0, &walk);
  if (!s.ok()) {
    // The served folder itself is gone or the tree is too large: tell the
    // client why rather than just hanging up.
    if (s.kind() == ErrorKind::kBadFolder || s.kind() == ErrorKind::kIo) {
      conn->Send(FrameType::kError, EncodeError(s.kind(), s.message()));
      conn->Finish();
    }
    return s;
  }
  summary->entries = static_cast<uint32_t>(walk.entries.size());

  std::vector<uint8_t> requests(walk.entries.size(), 0);
  std::deque<Request> queue;
  size_t queued_signature_bytes = 0;
  bool want_end = false;
  std::vector<char> buf(kDataChunk);
  OpenFolder folder;
  for (;;) {
    // Take the requests that have already arrived, blocking only when there
    // is nothing left to send. Signatures wait in memory until their file is
    // sent, so past a bound the client's frames are left unread for now.
    Frame f;
    bool got = false;
    if (queue.empty() && !want_end) {
      TS_RETURN_IF_ERROR(conn->Receive(&f));
      got = true;
    } else if (queued_signature_bytes < kMaxQueuedSignatureBytes) {
      TS_RETURN_IF_ERROR(conn->TryReceive(&f, &got));
    }
    if (got) {
      if (want_end) return Status::Protocol(FrameName(f) + " frame after WantEnd");
      if (f.type == FrameType::kWantEnd) {
        want_end = true;
      } else if (f.type == FrameType::kWant) {
        std::vector<Want> wants;
        TS_RETURN_IF_ERROR(DecodeWants(f, &wants));
        for (const Want& w : wants) {
          TS_RETURN_IF_ERROR(CheckRequest(walk, w.index, &requests));
          queue.emplace_back();
          queue.back().want = w;
        }
      } else if (f.type == FrameType::kWantDelta) {
        Request r;
        r.delta = true;
        TS_RETURN_IF_ERROR(DecodeWantDelta(f, &r.want.index, &r.basis));
        TS_RETURN_IF_ERROR(CheckRequest(walk, r.want.index, &requests));
        r.signature_bytes = f.payload.size();
        queued_signature_bytes += r.signature_bytes;
        queue.push_back(std::move(r));
      } else {
        return Status::Protocol("unexpected " + FrameName(f) + " frame from the client");
      }
      continue;
    }
    if (!queue.empty()) {
      Request r = std::move(queue.front());
      queue.pop_front();
      queued_signature_bytes -= r.signature_bytes;
      TS_RETURN_IF_ERROR(SendFile(conn, root, walk.entries[r.want.index], r, cache, &folder, &buf,
                                      summary));
      continue;
    }
    if (want_end) break;
  }
  TS_RETURN_IF_ERROR(conn->Send(FrameType::kDone, std::string()));
  return conn->Finish();
}

std::mutex g_log_mutex;

void LogLine(FILE* log, const std::string& line) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  std::fprintf(log, "treesync: %s\n", line.c_str());
  std::fflush(log);
}

void LogSessionEnd(FILE* log, const std::string& who, const Status& s, const std::string& counts,
                   std::chrono::steady_clock::time_point start) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char tail[32];
  std::snprintf(tail, sizeof tail, " %.2fs", secs);
  LogLine(log, who + " " + (s.ok() ? "ok" : "failed: " + s.message()) + " " + counts + tail);
}

namespace {

// Waits (briefly) for the client to close, so our last frames are not lost
// to a reset caused by unread input.
void Linger(Connection* conn) {
  Frame f;
  for (int i = 0; i < 50; ++i) {
    bool got = true;
    while (got) {
      if (!conn->TryReceive(&f, &got).ok()) return;
    }
    platform::Readiness r;
    if (!platform::Poll(conn->socket(), true, false, 100, &r).ok()) return;
    if (!r.readable) continue;
    char sink[4096];
    size_t n = 0;
    bool eof = false;
    if (!conn->socket().Read(sink, sizeof sink, &n, &eof).ok() || eof) return;
  }
}

void RunSession(platform::Socket sock, const std::string& peer, const Hello& hello,
                const ServeOptions& options, HashCache* cache, MemoryBudget* budget,
                FILE* log) {
  auto start = std::chrono::steady_clock::now();
  Connection conn(std::move(sock), options.timeout_ms, budget);
  SessionSummary summary;
  Status s = ServeSession(&conn, options.root, cache, &summary, &hello);
  if (s.ok()) Linger(&conn);
  LogSessionEnd(log, peer, s,
                "entries=" + std::to_string(summary.entries) +
                    " files_sent=" + std::to_string(summary.files_sent) +
                    " file_errors=" + std::to_string(summary.file_errors) +
                    " bytes_out=" + std::to_string(conn.bytes_sent()) +
                    " bytes_in=" + std::to_string(conn.bytes_received()),
                start);
}

// Connections accepted at once when the listener is ready: a burst is
// taken in quickly, without starving the connections already waiting.
constexpr int kAcceptBatch = 64;

}  // namespace

Status AcceptLoop(const ServeOptions& options, Greeting greeting, FILE* log,
                  SessionHandler session) {
  std::error_code ec;
  // fs::is_directory follows symlinks: a symlink to a folder is fine as the root.
  if (!std::filesystem::is_directory(platform::FsPath(options.root), ec)) {
    return Status::BadFolder(Printable(options.root) + ": not a folder");
  }
  platform::Socket listener;
  TS_RETURN_IF_ERROR(platform::Listen(options.bind, options.port, &listener));
  uint16_t port = 0;
  TS_RETURN_IF_ERROR(platform::LocalPort(listener, &port));
  LogLine(log, "serving " + Printable(options.root) + " on " +
                   (options.bind.empty() ? std::string("*") : options.bind) + ":" +
                   std::to_string(port));

  // Session threads are detached and may outlive this function by a moment
  // when the process is asked to stop, so what they share is owned jointly.
  struct Shared {
    SessionHandler session;
    std::atomic<int> active{0};
  };
  auto shared = std::make_shared<Shared>();
  shared->session = std::move(session);
  auto run = [&shared](platform::Socket sock, const std::string& peer, const Hello* hello) {
    ++shared->active;
    const bool has_hello = hello != nullptr;
    std::thread([shared, has_hello](platform::Socket s, std::string p, Hello h) {
      shared->session(std::move(s), p, has_hello ? &h : nullptr);
      --shared->active;
    }, std::move(sock), peer, has_hello ? *hello : Hello()).detach();
  };

  // A quarter of the descriptors at most wait for a Hello: the rest are for
  // sessions, their files and the server itself.
  const size_t waiting_cap =
      std::min(kMaxWaitingConnections, std::max<size_t>(platform::RaiseSocketLimit() / 4, 16));
  Lobby lobby(waiting_cap, kHelloTimeoutMs, kTurnAwayLingerMs);
  std::vector<Lobby::Arrival> arrivals;
  while (!platform::Interrupted()) {
    bool listener_ready = false;
    arrivals.clear();
    TS_RETURN_IF_ERROR(lobby.Wait(&listener, 200, &listener_ready, &arrivals));
    for (Lobby::Arrival& a : arrivals) {
      // Every client turned away is told why (unless it is gone already),
      // and only one that spoke a good Hello takes a session's place.
      if (!a.status.ok()) {
        LogLine(log, a.peer + " dropped: " + a.status.message());
        if (a.sock.valid()) lobby.TurnAway(std::move(a.sock), a.peer, a.status);
        continue;
      }
      Hello hello;
      Status s = CheckHello(a.hello, &hello);
      if (!s.ok()) {
        LogLine(log, a.peer + " failed: " + s.message());
        lobby.TurnAway(std::move(a.sock), a.peer, s);
        continue;
      }
      if (shared->active.load() >= options.max_sessions) {
        LogLine(log, a.peer + " refused: too many sessions");
        lobby.TurnAway(std::move(a.sock), a.peer, Status::Refused("server busy, try again later"));
        continue;
      }
      if (options.once) {
        shared->session(std::move(a.sock), a.peer, &hello);
        return Status::Ok();
      }
      run(std::move(a.sock), a.peer, &hello);
    }
    for (int i = 0; listener_ready && i < kAcceptBatch; ++i) {
      platform::Socket sock;
      std::string peer;
      TS_RETURN_IF_ERROR(platform::Accept(listener, 0, &sock, &peer));
      if (!sock.valid()) break;
      if (greeting == Greeting::kHello) {
        lobby.Add(std::move(sock), std::move(peer));
      } else if (options.once) {
        shared->session(std::move(sock), peer, nullptr);
        return Status::Ok();
      } else if (shared->active.load() >= options.max_sessions) {
        LogLine(log, peer + " refused: too many sessions");
      } else {
        run(std::move(sock), peer, nullptr);
      }
    }
  }
  return Status::Ok();
}

Status RunServer(const ServeOptions& options, FILE* log) {
  // Shared by all sessions, and owned by them jointly for the same reason.
  auto cache = std::make_shared<HashCache>();
  auto budget = std::make_shared<MemoryBudget>(kSessionMemoryBudget);
  return AcceptLoop(options, Greeting::kHello, log,
                    [options, cache, budget, log](platform::Socket s, const std::string& peer,
                                                  const Hello* hello) {
                      RunSession(std::move(s), peer, *hello, options, cache.get(), budget.get(),
                                 log);
                    });
}

}  // namespace treesync
