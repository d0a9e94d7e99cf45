#include "server.h"

#include "rate_limit.h"

#include <atomic>
#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "clock.h"
#include "console.h"
#include "content_hash.h"
#include "delta.h"
#include "fs_meta.h"
#include "lobby.h"
#include "memory_budget.h"
#include "owners.h"
#include "xattrs.h"
#include "path.h"
#include "protocol.h"
#include "receive_session.h"
#include "receiver.h"
#include "remote_report.h"
#include "versioned_folder.h"
#include "walk.h"
#include "watch_session.h"
#include "zstd_encoder.h"

namespace treesync {

namespace {

// Decodes the client's first frame, which must be a Hello of our version.
Status CheckHello(const Frame& f, Hello* h) {
  TS_RETURN_IF_ERROR(DecodeHello(f, h));
  if (h->version != kProtocolVersion) {
    return Status::Version("client speaks protocol version " + std::to_string(h->version) +
                           ", this server speaks " + std::to_string(kProtocolVersion));
  }
  return Status::Ok();
}

// Grants flags; what follows a granted compression is compressed.
Status SendHelloReply(Connection* conn, uint32_t flags, int level) {
  Hello reply;
  reply.flags = flags;
  TS_RETURN_IF_ERROR(conn->Send(FrameType::kHello, EncodeHello(reply)));
  if ((flags & kHelloCompress) != 0) TS_RETURN_IF_ERROR(conn->StartCompression(level));
  return Status::Ok();
}

Status ReceiveHello(Connection* conn, Hello* h) {
  Frame f;
  TS_RETURN_IF_ERROR(conn->Receive(&f));
  return CheckHello(f, h);
}

}  // namespace

Status ServedFolder(const std::string& root, const std::string& sub, bool missing_ok,
                    std::string* folder) {
  *folder = root;
  size_t start = 0;
  while (start < sub.size()) {
    size_t slash = sub.find('/', start);
    if (slash == std::string::npos) slash = sub.size();
    *folder = JoinPath(*folder, sub.substr(start, slash - start));
    start = slash + 1;
    platform::FileInfo info;
    TS_RETURN_IF_ERROR(platform::Lstat(*folder, &info));
    if (info.type == platform::FileType::kMissing) {
      // What is missing holds no symlink: the receiver makes it all.
      *folder = JoinPath(root, sub);
      if (missing_ok) return Status::Ok();
      return Status::BadFolder(Printable(sub) + ": no such folder in the served tree");
    }
    // A folder serve --atomic keeps as versions: its symlink leads to a
    // sibling inside the same folder, never out of the tree.
    if (info.type != platform::FileType::kDirectory && !IsVersionLink(*folder)) {
      return Status::BadFolder(Printable(sub) + ": not a folder in the served tree");
    }
  }
  return Status::Ok();
}

namespace {

// Whether one of two wire paths is the other or a folder above it.
bool Nested(const std::string& a, const std::string& b) {
  const std::string& shorter = a.size() <= b.size() ? a : b;
  const std::string& longer = a.size() <= b.size() ? b : a;
  return shorter.empty() || longer == shorter ||
         (longer.compare(0, shorter.size(), shorter) == 0 && longer[shorter.size()] == '/');
}

}  // namespace

bool PushRegistry::TryClaim(const std::string& sub) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string& c : claimed_) {
    if (Nested(c, sub)) return false;
  }
  claimed_.push_back(sub);
  return true;
}

void PushRegistry::Release(const std::string& sub) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find(claimed_.begin(), claimed_.end(), sub);
  if (it != claimed_.end()) claimed_.erase(it);
}

namespace {

// Tells the client why its session ends, then closes our side.
void SendError(Connection* conn, const Status& s) {
  conn->Send(FrameType::kError, EncodeError(s.kind(), FitMessage(s.message())));
  conn->Finish();
}

// The receiving half of a push, from the Hello reply on. Everything that
// could refuse the push (the folder, another session's hold on it) is
// settled before the reply, so a refused push moves no data.
Status ServePush(Connection* conn, const std::string& folder, const ServedTree& tree,
                 const SessionRequest& request,
                 std::shared_ptr<const Filter> filter, uint32_t flags, int level,
                 SessionSummary* summary) {
  summary->push = true;
  ReceiverOptions ro;
  ro.delete_extraneous = (request.options & kSessionKeepExtraneous) == 0;
  ro.checksum = (request.options & kSessionChecksum) != 0;
  ro.dry_run = (request.options & kSessionDryRun) != 0;
  ro.delete_excluded = (request.options & kSessionDeleteExcluded) != 0;
  ro.size_only = (request.options & kSessionSizeOnly) != 0;
  ro.ignore_existing = (request.options & kSessionIgnoreExisting) != 0;
  ro.update = (request.options & kSessionUpdate) != 0;
  ro.owners = (flags & kHelloOwners) != 0 && (request.options & kSessionNoOwner) == 0;
  ro.groups = (flags & kHelloOwners) != 0 && (request.options & kSessionNoGroup) == 0;
  ro.numeric_ids = (request.options & kSessionNumericIds) != 0;
  ro.devices = tree.devices;
  ro.xattrs = (flags & kHelloXattrs) != 0 && platform::HasXattrs();
  ro.max_delete = request.max_delete;
  ro.backup_dir = request.backup_dir;  // a wire path: inside the target
  ro.suffix = request.suffix;
  ro.filter = std::move(filter);
  ForwardingReporter reporter(conn);
  // One round of a push; a push that does not watch has only the first.
  auto receive = [&](uint64_t round) {
    ro.partial_listing = round > 1;
    PullStats stats;
    // Everything that could refuse the push (the folder, the lock, serve
    // --atomic's version) is settled before the Hello reply; its refusal
    // goes out as an Error, and moves no data.
    bool replied = round > 1;
    // serve --atomic: each push (each round) builds a version and switches
    // it in before the client hears it is done.
    Status s = ReceiveVersioned(
        folder, tree.atomic && !ro.dry_run, tree.keep_previous,
        [&](const std::string& target, bool unshare) {
          ro.unshare_links = unshare;
          Receiver rx(target, ro, &reporter, &stats);
          TS_RETURN_IF_ERROR(rx.Open());
          if (!replied) {
            replied = true;
            TS_RETURN_IF_ERROR(SendHelloReply(conn, flags, level));
          }
          Status r = RunReceiver(conn, &rx, flags);
          if (Completed(r)) {
            TS_RETURN_IF_ERROR(reporter.status());
          } else if (r.kind() == ErrorKind::kSocket || r.kind() == ErrorKind::kTimeout ||
                     r.kind() == ErrorKind::kInterrupted) {
            // Cut off, not refused: what arrived of the current file is
            // kept so the next push resumes after it.
            rx.KeepPartial();
          }
          return r;
        });
    summary->received = stats;
    if (Completed(s)) {
      TS_RETURN_IF_ERROR(conn->Send(FrameType::kSummary, EncodeSummaryOf(stats, s)));
      TS_RETURN_IF_ERROR(conn->Flush());
      return s;
    }
    // A client that stalled may still read why it was dropped, but is not
    // waited for as long again.
    if (s.kind() == ErrorKind::kTimeout) conn->set_timeout_ms(kTurnAwayLingerMs);
    if (s.kind() != ErrorKind::kSocket) SendError(conn, s);
    return s;
  };
  Status s = (flags & kHelloWatch) != 0 ? RunWatchReceiver(conn, receive) : receive(1);
  if (Completed(s)) {
    TS_RETURN_IF_ERROR(conn->Finish());
  }
  return s;
}

}  // namespace

Status ServeSession(Connection* conn, const ServedTree& tree, SessionSummary* summary,
                    const Hello* received_hello) {
  Hello hello = received_hello != nullptr ? *received_hello : Hello();
  Status s = received_hello != nullptr ? Status::Ok() : ReceiveHello(conn, &hello);
  SessionRequest request;
  if (s.ok() && (hello.flags & kHelloSession) != 0) {
    // It travels with the Hello, so it gets the Hello's time, not the
    // session's (a client that never sends it holds a session's place).
    const int session_timeout = conn->timeout_ms();
    const int wait_ms = session_timeout >= 0 ? std::min(session_timeout, kHelloTimeoutMs)
                                              : kHelloTimeoutMs;
    conn->set_timeout_ms(wait_ms);
    Frame f;
    s = conn->Receive(&f);
    if (s.kind() == ErrorKind::kTimeout) {
      s = Status::Timeout("no Session frame within " + std::to_string(wait_ms / 1000) + " s");
    }
    if (s.ok()) s = DecodeSession(f, &request);
    conn->set_timeout_ms(session_timeout);
  } else if (s.ok() && (hello.flags & kHelloPush) != 0) {
    s = Status::Protocol("a push without its Session frame");
  }
  const bool push = (hello.flags & kHelloPush) != 0;
  if (s.ok() && push && !tree.writable) {
    s = Status::Refused("this server does not accept pushes (serve --writable does)");
  }
  // The server's rules and the client's, each about its own root.
  std::shared_ptr<Filter> filter;
  if (s.ok() && (!tree.rules.empty() || !request.rules.empty())) {
    filter = std::make_shared<Filter>();
    if (!tree.rules.empty()) {
      Filter own;
      own.AddList(tree.rules);
      std::shared_ptr<const FolderRules> above;
      s = CheckServedPath(own, tree.root, request.path, &above);
      filter->AddList(tree.rules, request.path, /*binding=*/true);
      filter->set_root_rules(std::move(above));
    }
    if (!request.rules.empty()) filter->AddList(request.rules);
  }
  std::string folder;
  // A push makes what is missing (a dry run only says it would).
  if (s.ok()) s = ServedFolder(tree.root, request.path, push, &folder);
  if (!s.ok()) {
    SendError(conn, s);
    return s;
  }
  uint32_t flags = hello.flags & kHelloKnownFlags;
  // Owners travel in the packed listing only, and into a receiver here
  // only where it may set them.
  if ((flags & kHelloPackedListing) == 0 || (push && !platform::CanChown())) {
    flags &= ~kHelloOwners;
  }
  if ((flags & kHelloPackedListing) == 0 || (push && !platform::MakesSpecialFiles())) {
    flags &= ~kHelloSpecials;
  }
  if ((flags & kHelloPackedListing) == 0) flags &= ~kHelloXattrs;
  if ((flags & kHelloPackedListing) == 0) flags &= ~kHelloHardLinks;
  // Rounds are listed as streaming ones are.
  if ((flags & kHelloStreaming) == 0) flags &= ~kHelloWatch;
  // The level the client asked for, else ours; granted only within the
  // memory budget.
  const int level = HelloLevel(hello.flags) > 0 ? HelloLevel(hello.flags) : ZstdEncoder::kDefaultLevel;
  if ((flags & kHelloCompress) != 0 && !conn->ReserveCompression(level, tree.compression)) {
    flags &= ~kHelloCompress;
  }
  if (push) {
    const bool dry_run = (request.options & kSessionDryRun) != 0;
    // The same grace as the receiver's lock (Receiver::Open): a push whose
    // client just vanished may not have ended yet.
    const bool claimed =
        tree.pushes == nullptr || dry_run ||
        RetryWithin(kLockGraceMs, [&] { return tree.pushes->TryClaim(request.path); });
    if (!claimed) {
      s = Status::Refused("another treesync session is writing into " +
                          (request.path.empty() ? std::string("the served folder")
                                                : Printable(request.path)) +
                          " or a folder around it; try again when it ends");
      SendError(conn, s);
      return s;
    }
    s = ServePush(conn, folder, tree, request, std::move(filter), flags, level, summary);
    if (tree.pushes != nullptr && !dry_run) tree.pushes->Release(request.path);
    return s;
  }

  TS_RETURN_IF_ERROR(SendHelloReply(conn, flags, level));
  if ((flags & kHelloWatch) != 0) {
    s = RunWatchSender(
        conn, folder,
        [&](std::shared_ptr<const WalkScope> scope) {
          SendSummary sent;
          Status r = RunSender(conn, folder, tree.cache, filter, flags, EventHandler(), nullptr,
                               &sent, OwnerListing(), std::move(scope));
          summary->sent.entries += sent.entries;
          summary->sent.files_sent += sent.files_sent;
          summary->sent.file_errors += sent.file_errors;
          return r;
        },
        filter.get(), nullptr);
    // The client going away or a signal is how a watch session ends.
    if (s.kind() == ErrorKind::kSocket || s.kind() == ErrorKind::kInterrupted) return Status::Ok();
  } else {
    s = RunSender(conn, folder, tree.cache, std::move(filter), flags, EventHandler(), nullptr,
                  &summary->sent);
  }
  if (s.ok()) return conn->Finish();
  // The served folder itself is gone or the tree is too large: tell the
  // client why rather than just hanging up.
  if (s.kind() == ErrorKind::kBadFolder || s.kind() == ErrorKind::kIo) SendError(conn, s);
  return s;
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
// to a reset caused by unread input. A pushing client may still be sending
// file data when we stop it with an Error: that is read and dropped, for
// as long as it keeps coming (at most kLingerMaxMs), until it reads why.
constexpr int kLingerIdleMs = 5000;
constexpr int kLingerMaxMs = 30000;
void Linger(Connection* conn) {
  Frame f;
  const int64_t start = SteadyMs();
  int64_t last = start;
  std::vector<char> sink(64 << 10);
  for (;;) {
    const int64_t now = SteadyMs();
    if (now - last > kLingerIdleMs || now - start > kLingerMaxMs) return;
    bool got = true;
    while (got) {
      if (!conn->TryReceive(&f, &got).ok()) return;
    }
    platform::Readiness r;
    if (!conn->stream().Poll(true, false, 100, &r).ok()) return;
    if (!r.readable) continue;
    size_t n = 0;
    bool eof = false;
    if (!conn->stream().Read(sink.data(), sink.size(), &n, &eof).ok() || eof) return;
    if (n > 0) last = SteadyMs();
  }
}

// The counts of a session's log line.
std::string Counts(const SessionSummary& summary, const Connection& conn) {
  std::string counts;
  if (summary.push) {
    const PullStats& r = summary.received;
    counts = "push entries_received=" + std::to_string(r.files_total) +
             " files_received=" + std::to_string(r.files_transferred) +
             " deleted=" + std::to_string(r.files_deleted + r.dirs_deleted) +
             " errors=" + std::to_string(r.errors);
  } else {
    counts = "entries=" + std::to_string(summary.sent.entries) +
             " files_sent=" + std::to_string(summary.sent.files_sent) +
             " file_errors=" + std::to_string(summary.sent.file_errors);
  }
  return counts + " bytes_out=" + std::to_string(conn.wire_bytes_sent()) +
         " bytes_in=" + std::to_string(conn.wire_bytes_received());
}

// ServeSession, then Linger: also after an error the client was sent (all
// but a broken link), which a pushing client may still be sending past.
Status ServeAndLinger(Connection* conn, const ServedTree& tree, SessionSummary* summary,
                      const Hello* hello) {
  Status s = ServeSession(conn, tree, summary, hello);
  if (s.kind() != ErrorKind::kSocket) Linger(conn);
  return s;
}

// Runs the server's half of the encrypted handshake, then narrows *tree
// to what the client's authorized key allows: its folder= and whether it
// may push. *who: the key's comment or fingerprint, for the log. *told:
// the client was sent an Error already (the returned status is for the
// log, and may name what the client must not learn).
Status SecureSession(Connection* conn, const Frame& first, const ServeOptions& options,
                     const std::string& peer, ServedTree* tree, std::string* who, bool* told) {
  *told = false;
  const AuthorizedKey* key = nullptr;
  Status s = SecureAsServer(conn, first, *options.security, PeerAddress(peer), &key);
  if (s.kind() == ErrorKind::kRefused) options.security->throttle.Failed(PeerAddress(peer), SteadyMs());
  TS_RETURN_IF_ERROR(s);
  *who = key->comment.empty() ? Fingerprint(key->key) : key->comment;
  tree->writable = key->writable;
  if (!key->folder.empty()) {
    std::string folder;
    s = ServedFolder(tree->root, key->folder, false, &folder);
    if (!s.ok()) {
      SendError(conn, Status::BadFolder("the folder this key is limited to is missing"));
      *told = true;
      return s;
    }
    tree->root = folder;
  }
  return Status::Ok();
}

void RunSession(Connection* conn, const std::string& peer, const Hello* hello,
                const ServedTree& tree, FILE* log) {
  auto start = std::chrono::steady_clock::now();
  SessionSummary summary;
  Status s = ServeAndLinger(conn, tree, &summary, hello);
  LogSessionEnd(log, peer, s, Counts(summary, *conn), start);
}

// Connections accepted at once when the listener is ready: a burst is
// taken in quickly, without starving the connections already waiting.
constexpr int kAcceptBatch = 64;

// Whether a client's first frame may begin a session: a good Hello on a
// server without keys, a Handshake on one with them.
Status AdmitFirstFrame(const ServeOptions& options, const std::string& peer, const Frame& first,
                       Hello* hello) {
  if (first.type == FrameType::kHandshake) {
    if (options.security == nullptr) {
      return Status::Refused("this server takes no encrypted sessions (it runs without --key)");
    }
    if (!options.security->throttle.Allowed(PeerAddress(peer), SteadyMs())) {
      return Status::Refused("too many failed attempts from " + PeerAddress(peer) +
                             "; try again in a minute");
    }
    return Status::Ok();
  }
  TS_RETURN_IF_ERROR(CheckHello(first, hello));
  if (options.security != nullptr) {
    return Status::Refused("this server takes encrypted sessions only: connect with a key "
                           "(treesync keygen, then pull --key)");
  }
  return Status::Ok();
}

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
  auto run = [&shared](platform::Socket sock, const std::string& peer, const Frame* first) {
    ++shared->active;
    const bool has_first = first != nullptr;
    std::thread([shared, has_first](platform::Socket s, std::string p, Frame f) {
      shared->session(std::move(s), p, has_first ? &f : nullptr);
      --shared->active;
    }, std::move(sock), peer, has_first ? *first : Frame()).detach();
  };

  // A quarter of the descriptors at most wait for a Hello: the rest are for
  // sessions, their files and the server itself.
  const size_t waiting_cap =
      std::min(kMaxWaitingConnections, std::max<size_t>(platform::RaiseSocketLimit() / 4, 16));
  Lobby lobby(waiting_cap, kHelloTimeoutMs, kTurnAwayLingerMs);
  if (options.security != nullptr) {
    // Key queries are answered without a thread: only a client that sends
    // a handshake message takes a session's place.
    std::string reply;
    AppendFrame(&reply, FrameType::kHandshake,
                std::string(1, char(HandshakeStep::kKeyQuery)) +
                    std::string(reinterpret_cast<const char*>(options.security->key.public_key),
                                kNoiseKeySize));
    lobby.AnswerKeyQueries(std::move(reply));
  }
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
      Status s = AdmitFirstFrame(options, a.peer, a.hello, &hello);
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
        shared->session(std::move(a.sock), a.peer, &a.hello);
        return Status::Ok();
      }
      run(std::move(a.sock), a.peer, &a.hello);
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
  auto pushes = std::make_shared<PushRegistry>();
  auto compression = std::make_shared<MemoryBudget>(kCompressionMemoryBudget);
  return AcceptLoop(options, Greeting::kHello, log,
                    [options, cache, budget, pushes, compression, log](platform::Socket s,
                                                          const std::string& peer,
                                                          const Frame* first) {
                      std::unique_ptr<ByteStream> stream = SocketStream(std::move(s));
                      if (options.bwlimit > 0) {
                        stream = RateLimited(std::move(stream), options.bwlimit);
                      }
                      Connection conn(std::move(stream), options.timeout_ms, budget.get());
                      ServedTree tree{options.root, options.writable, cache.get(),
                                      pushes.get(), options.rules, options.devices,
                                      compression.get()};
                      tree.atomic = options.atomic;
                      tree.keep_previous = options.keep_previous;
                      if (first->type == FrameType::kHandshake) {
                        // The Hello comes sealed, after the handshake: both
                        // within the time a clear Hello gets in the lobby,
                        // however slowly the client sends them.
                        conn.set_deadline(SteadyMs() + kHelloTimeoutMs,
                                          "no handshake and Hello within " +
                                              std::to_string(kHelloTimeoutMs / 1000) + " s");
                        std::string who;
                        bool told = false;
                        Status s =
                            SecureSession(&conn, *first, options, peer, &tree, &who, &told);
                        Hello hello;
                        if (s.ok()) s = ReceiveHello(&conn, &hello);
                        if (!s.ok()) {
                          // A refusal was answered already; a dropped link can't be.
                          if (!told && s.kind() != ErrorKind::kRefused &&
                              s.kind() != ErrorKind::kSocket) {
                            SendError(&conn, s);
                          }
                          LogLine(log, peer + (s.kind() == ErrorKind::kRefused ? " refused: "
                                                                               : " failed: ") +
                                           s.message());
                          return;
                        }
                        conn.set_deadline(-1, "");
                        RunSession(&conn, peer + " (" + who + ")", &hello, tree, log);
                        return;
                      }
                      Hello hello;
                      DecodeHello(*first, &hello);
                      RunSession(&conn, peer, &hello, tree, log);
                    });
}

Status RunStdioServer(const ServeOptions& options) {
  platform::PipeStream pipes;
  TS_RETURN_IF_ERROR(platform::OpenStdio(&pipes));
  std::unique_ptr<ByteStream> stream = PipeByteStream(std::move(pipes));
  if (options.bwlimit > 0) stream = RateLimited(std::move(stream), options.bwlimit);
  Connection conn(std::move(stream), options.timeout_ms);
  HashCache cache;
  SessionSummary summary;
  ServedTree tree{options.root, options.writable, &cache, nullptr, options.rules, options.devices};
  tree.atomic = options.atomic;
  tree.keep_previous = options.keep_previous;
  Status s = ServeAndLinger(&conn, tree, &summary, nullptr);
  // Whoever started us shows our stderr to the user (ssh does), who has the
  // client's report already, and its summary of a push partly done.
  if (s.kind() == ErrorKind::kPartial || s.kind() == ErrorKind::kMaxDelete) return Status::Ok();
  return s;
}

}  // namespace treesync
