#include "client.h"

#include "rate_limit.h"

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "clock.h"
#include "console.h"
#include "fs_meta.h"
#include "owners.h"
#include "xattrs.h"
#include "path.h"
#include "receive_session.h"
#include "remote_report.h"
#include "send_session.h"
#include "versioned_folder.h"
#include "watch_session.h"

namespace treesync {

namespace {

// Sends our Hello (and the Session frame the flags announce), then takes
// the server's. *granted: the flags the server granted.
Status Handshake(Connection* conn, uint32_t flags, const SessionRequest* request,
                 uint32_t* granted) {
  Hello mine;
  mine.flags = flags | (request != nullptr ? kHelloSession : 0);
  TS_RETURN_IF_ERROR(conn->Send(FrameType::kHello, EncodeHello(mine)));
  if (request != nullptr) {
    TS_RETURN_IF_ERROR(conn->Send(FrameType::kSession, EncodeSession(*request)));
  }
  Frame f;
  TS_RETURN_IF_ERROR(conn->Receive(&f));
  if (f.type == FrameType::kError) return PeerError(f, "server");
  Hello h;
  TS_RETURN_IF_ERROR(DecodeHello(f, &h));
  if (h.version != kProtocolVersion) {
    return Status::Version("server speaks protocol version " + std::to_string(h.version) +
                           ", this client speaks " + std::to_string(kProtocolVersion));
  }
  *granted = h.flags & mine.flags;
  // The server's next bytes are compressed: ours may be too from here.
  if ((*granted & kHelloCompress) != 0) {
    TS_RETURN_IF_ERROR(conn->StartCompression(HelloLevel(mine.flags)));
  }
  // An older server ignores what it does not know: it would serve its
  // whole tree, or send it when we meant to push.
  if (request != nullptr && (*granted & kHelloSession) == 0) {
    return Status::Version("the server is too old for " +
                           std::string((flags & kHelloPush) != 0 ? "pushes" : "sub-folders"));
  }
  return Status::Ok();
}

// What a session over a child's pipes that broke says: the child's end
// (ssh's exit status) explains more than "connection closed".
Status ExplainTransport(const Status& s, const TransferOptions& options,
                        platform::ChildProcess* child, const Connection& conn) {
  if (!child->valid()) return s;
  // Bytes that are not frames before any frame: most often a login shell
  // on the far side that prints something (a .bashrc's echo).
  if (s.kind() == ErrorKind::kProtocol && conn.frames_received() == 0) {
    return Status::Protocol(s.message() + " (what came first was not treesync: does the far " +
                            "side's shell print something at login?)");
  }
  if (s.kind() != ErrorKind::kSocket) return s;
  bool exited = false;
  int code = 0;
  if (!child->Wait(2000, &exited, &code).ok() || !exited) return s;
  std::string name = BaseName(options.command[0]);
  std::string why = name + " exited with status " + std::to_string(code);
  if (code == 127) why += " (treesync not found on the far side? see --remote-path)";
  return Status::Socket(why + ": " + s.message());
}

// Connects to options.host:port within --contimeout (else --timeout).
Status ConnectTcp(const TransferOptions& options, platform::Socket* sock) {
  const int wait_ms = options.contimeout_ms >= 0 ? options.contimeout_ms : options.timeout_ms;
  Status s = platform::Connect(options.host, options.port, wait_ms, sock);
  if (s.kind() == ErrorKind::kTimeout && options.contimeout_ms >= 0) {
    return Status::Make(ErrorKind::kConnectTimeout,
                        s.message() + " (--contimeout " +
                            std::to_string(options.contimeout_ms / 1000) + ")");
  }
  return s;
}

// The packed listing always: a quarter of the bytes of one frame per
// entry, and far fewer frames to take apart.
const uint32_t kClientFlags =
    kHelloPackedListing | kHelloStreaming | kHelloHoles | kHelloSizedSums;

// Cut off, not refused: what arrived of the current file is kept so the
// next pull resumes after it.
bool CutOff(const Status& s) {
  return s.kind() == ErrorKind::kSocket || s.kind() == ErrorKind::kTimeout ||
         s.kind() == ErrorKind::kInterrupted;
}

// Reaches the server, runs session over the connection, and counts its
// bytes; a broken transport is explained by the child's end.
Status OverTransport(const TransferOptions& options, PullStats* stats,
                     const std::function<Status(Connection*)>& session) {
  platform::ChildProcess child;
  std::unique_ptr<ByteStream> stream;
  TS_RETURN_IF_ERROR(OpenTransport(options, &stream, &child));
  if (options.bwlimit > 0) stream = RateLimited(std::move(stream), options.bwlimit);
  Connection conn(std::move(stream), options.timeout_ms);
  Status s = Status::Ok();
  // ssh and --via bring their own security; keys are for TCP.
  if (options.security != nullptr && options.command.empty()) {
    s = SecureAsClient(&conn, *options.security);
  }
  if (s.ok()) s = session(&conn);
  stats->bytes_on_wire = conn.wire_bytes_sent() + conn.wire_bytes_received();
  return ExplainTransport(s, options, &child, conn);
}

int64_t MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

// The user's rules as a filter; null when there are none.
std::shared_ptr<const Filter> FilterOf(const FilterList& rules) {
  if (rules.empty()) return nullptr;
  auto filter = std::make_shared<Filter>();
  filter->AddList(rules);
  return filter;
}

// After Done a push's receiver finishes (deletions, folder times) and says
// how it went: its Events, then its Summary, whose result goes to *result.
// The session's failure (a bad Summary among them) is returned instead.
Status AwaitSummary(Connection* conn, Reporter* reporter, PullStats* stats, Status* result) {
  for (;;) {
    Frame f;
    TS_RETURN_IF_ERROR(conn->Receive(&f));
    if (f.type == FrameType::kError) return PeerError(f, "server");
    if (f.type == FrameType::kEvent) {
      TS_RETURN_IF_ERROR(ReplayEvent(f, reporter));
      continue;
    }
    *result = TakeSummary(f, stats);
    return result->kind() == ErrorKind::kProtocol ? *result : Status::Ok();
  }
}

// Prints a finished round's summary, and what went wrong in it (the
// session goes on, so this is the only word of it).
void ReportRound(Reporter* reporter, PullStats* stats, const Status& s,
                 std::chrono::steady_clock::time_point start) {
  stats->elapsed_ms = MsSince(start);
  if (!s.ok()) reporter->OnWarning("round " + std::to_string(stats->round) + ": " + s.message());
  reporter->OnSummary(*stats, s.ok() ? "ok" : s.message());
}

// Watch sessions, one after another, until one fails in a way a retry
// can't mend or an interrupt comes. session says when a round completed.
Status KeepWatching(const TransferOptions& options, Reporter* reporter,
                    const std::function<Status(Connection*, bool*)>& session) {
  int backoff_ms = 1000;
  for (;;) {
    bool progressed = false;
    PullStats wire;
    Status s = OverTransport(options, &wire,
                             [&](Connection* conn) { return session(conn, &progressed); });
    if (s.kind() == ErrorKind::kInterrupted || platform::Interrupted()) {
      return Status::Interrupted("interrupted by a signal");
    }
    const bool retry = s.ok() || s.kind() == ErrorKind::kSocket ||
                       s.kind() == ErrorKind::kTimeout || s.kind() == ErrorKind::kConnectTimeout ||
                       s.kind() == ErrorKind::kRefused;
    if (!retry) return s;
    if (progressed) backoff_ms = 1000;
    reporter->OnWarning((s.ok() ? std::string("the server ended the session") : s.message()) +
                        "; trying again in " + std::to_string(backoff_ms / 1000) + " s");
    for (int64_t until = SteadyMs() + backoff_ms; SteadyMs() < until;) {
      if (platform::Interrupted()) return Status::Interrupted("interrupted by a signal");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    backoff_ms = std::min(backoff_ms * 2, kMaxBackoffMs);
  }
}

Status CheckWatchGranted(uint32_t granted) {
  if ((granted & kHelloWatch) == 0) return Status::Version("the server is too old for --watch");
  return Status::Ok();
}

}  // namespace

Status PullSession(Connection* conn, Receiver* rx, uint32_t hello_flags,
                   const SessionRequest& request) {
  uint32_t granted = 0;
  const bool send = !request.path.empty() || !request.rules.empty();
  TS_RETURN_IF_ERROR(Handshake(conn, hello_flags, send ? &request : nullptr, &granted));
  return RunReceiver(conn, rx, granted);
}

Status PushSession(Connection* conn, const std::string& dir, uint32_t hello_flags,
                   const SessionRequest& request, Reporter* reporter, PullStats* stats,
                   const OwnerListing& owners) {
  uint32_t granted = 0;
  TS_RETURN_IF_ERROR(Handshake(conn, hello_flags | kHelloPush, &request, &granted));
  if ((granted & kHelloPush) == 0) return Status::Refused("the server does not accept pushes");
  EventHandler on_event = [reporter](const Frame& f) { return ReplayEvent(f, reporter); };
  SendSummary sent;
  std::shared_ptr<const Filter> filter = FilterOf(request.rules);
  TS_RETURN_IF_ERROR(
      RunSender(conn, dir, nullptr, std::move(filter), granted, on_event, reporter, &sent,
                owners));
  Status result;
  TS_RETURN_IF_ERROR(AwaitSummary(conn, reporter, stats, &result));
  TS_RETURN_IF_ERROR(conn->Finish());
  return result;
}

namespace {

// push --watch over one connection: a push per round, each ending with the
// server's Summary.
Status WatchPush(Connection* conn, const std::string& dir, uint32_t hello_flags,
                 const SessionRequest& request, Reporter* reporter, const OwnerListing& owners,
                 bool* progressed) {
  uint32_t granted = 0;
  TS_RETURN_IF_ERROR(
      Handshake(conn, hello_flags | kHelloPush | kHelloWatch, &request, &granted));
  if ((granted & kHelloPush) == 0) return Status::Refused("the server does not accept pushes");
  TS_RETURN_IF_ERROR(CheckWatchGranted(granted));
  EventHandler on_event = [reporter](const Frame& f) { return ReplayEvent(f, reporter); };
  std::shared_ptr<const Filter> filter = FilterOf(request.rules);
  uint64_t round = 0;
  return RunWatchSender(
      conn, dir,
      [&](std::shared_ptr<const WalkScope> scope) {
        auto start = std::chrono::steady_clock::now();
        const uint64_t wire_before = conn->wire_bytes_sent() + conn->wire_bytes_received();
        PullStats stats;
        stats.round = ++round;
        SendSummary sent;
        TS_RETURN_IF_ERROR(RunSender(conn, dir, nullptr, filter, granted, on_event, reporter,
                                     &sent, owners, std::move(scope)));
        Status result;
        TS_RETURN_IF_ERROR(AwaitSummary(conn, reporter, &stats, &result));
        stats.bytes_on_wire = conn->wire_bytes_sent() + conn->wire_bytes_received() - wire_before;
        ReportRound(reporter, &stats, result, start);
        *progressed = true;
        return result;
      },
      filter.get(), reporter);
}

}  // namespace

ReceiverOptions ReceiverOptionsFor(const TransferOptions& options) {
  ReceiverOptions ro;
  ro.delete_extraneous = options.delete_extraneous;
  ro.checksum = options.checksum;
  ro.dry_run = options.dry_run;
  ro.filter = FilterOf(options.rules);
  ro.delete_excluded = options.delete_excluded;
  ro.max_delete = options.max_delete;
  ro.size_only = options.size_only;
  ro.ignore_existing = options.ignore_existing;
  ro.update = options.update;
  ro.backup_dir = options.backup_dir;
  ro.suffix = options.suffix;
  ro.owners = options.owner && platform::CanChown();
  ro.groups = options.group && platform::CanChown();
  ro.numeric_ids = options.numeric_ids;
  ro.devices = options.devices;
  ro.xattrs = options.xattrs && platform::HasXattrs();
  ro.chown_uid = options.chown_uid;
  ro.chown_gid = options.chown_gid;
  return ro;
}

Status ResolveChown(const std::string& part, bool user, int64_t* id, std::string* name) {
  *id = -1;
  name->clear();
  if (part.empty()) return Status::Ok();
  if (part.find_first_not_of("0123456789") == std::string::npos && part.size() <= 10) {
    uint64_t n = std::stoull(part);
    if (n >= platform::kKeep) return Status::Usage("--chown: " + part + " is out of range");
    *id = static_cast<int64_t>(n);
    return Status::Ok();
  }
  uint32_t found = 0;
  if (!(user ? platform::FindUser(part, &found) : platform::FindGroup(part, &found))) {
    return Status::Usage("--chown: no " + std::string(user ? "user" : "group") + " named " +
                         Printable(part) + " here; give its number");
  }
  *id = found;
  *name = part;
  return Status::Ok();
}

namespace {

// Whether this side asks for owners in the listing: as a receiver only
// where it may set them, as a sender whenever the user keeps them.
uint32_t OwnerFlag(const TransferOptions& options, bool receiving) {
  if (!options.owner && !options.group) return 0;
  return !receiving || platform::CanChown() ? kHelloOwners : 0;
}

// The Hello flags either role asks for by these options.
uint32_t AskedFlags(const TransferOptions& options, bool receiving) {
  return kClientFlags | OwnerFlag(options, receiving) |
         (options.specials && (!receiving || platform::MakesSpecialFiles()) ? kHelloSpecials : 0) |
         // Asked for even where this OS keeps none, so that a receiver
         // here can say which entries' attributes it could not keep.
         (options.xattrs ? kHelloXattrs : 0) |
         (options.hard_links ? kHelloHardLinks : 0) |
         (options.compress_level > 0
              ? kHelloCompress | (uint32_t(options.compress_level) << kHelloLevelShift)
              : 0) |
         (options.checksum ? kHelloWantHashes : 0);
}

}  // namespace

Status OpenAndConnect(const TransferOptions& options, Receiver* rx, platform::Socket* sock) {
  TS_RETURN_IF_ERROR(rx->Open());
  return ConnectTcp(options, sock);
}

Status OpenTransport(const TransferOptions& options, std::unique_ptr<ByteStream>* stream,
                     platform::ChildProcess* child) {
  if (!options.command.empty()) {
    platform::PipeStream pipes;
    TS_RETURN_IF_ERROR(platform::Spawn(options.command, child, &pipes));
    *stream = PipeByteStream(std::move(pipes));
    return Status::Ok();
  }
  platform::Socket sock;
  TS_RETURN_IF_ERROR(ConnectTcp(options, &sock));
  *stream = SocketStream(std::move(sock));
  return Status::Ok();
}

namespace {

// Runs receive(target, unshare) on the folder a pull writes: options.dir,
// or with --atomic the next version of it, switched in once receive has
// done its part (OK, kPartial, kMaxDelete); unshare: the target's files
// are the current version's too (ReceiverOptions::unshare_links).
Status IntoTarget(const TransferOptions& options, const ReceiveIntoFolder& receive) {
  return ReceiveVersioned(options.dir, options.atomic && !options.dry_run, options.keep_previous,
                          receive);
}

Status WatchPull(const TransferOptions& options, Reporter* reporter, Connection* conn,
                 bool* progressed) {
  SessionRequest request;
  request.path = options.remote_folder;
  request.rules = options.rules;
  uint32_t granted = 0;
  TS_RETURN_IF_ERROR(Handshake(conn, AskedFlags(options, true) | kHelloWatch, &request, &granted));
  TS_RETURN_IF_ERROR(CheckWatchGranted(granted));
  return RunWatchReceiver(conn, [&](uint64_t round) {
    auto start = std::chrono::steady_clock::now();
    const uint64_t wire_before = conn->wire_bytes_sent() + conn->wire_bytes_received();
    PullStats stats;
    stats.round = round;
    Status s = IntoTarget(options, [&](const std::string& target, bool unshare) {
      ReceiverOptions ro = ReceiverOptionsFor(options);
      ro.partial_listing = round > 1;
      ro.unshare_links = unshare;
      // Interrupted, it removes what it had of a file: a watch leaves no
      // temporaries behind (the next round starts the file again).
      Receiver rx(target, ro, reporter, &stats);
      Status r = rx.Open();
      if (r.ok()) r = RunReceiver(conn, &rx, granted);
      if (CutOff(r) && r.kind() != ErrorKind::kInterrupted) rx.KeepPartial();
      return r;
    });
    stats.bytes_on_wire = conn->wire_bytes_sent() + conn->wire_bytes_received() - wire_before;
    if (Completed(s)) {
      ReportRound(reporter, &stats, s, start);
      *progressed = true;
    }
    return s;
  });
}

}  // namespace

Status RunPull(const TransferOptions& options, Reporter* reporter, PullStats* stats) {
  if (options.watch) {
    return KeepWatching(options, reporter, [&](Connection* conn, bool* progressed) {
      return WatchPull(options, reporter, conn, progressed);
    });
  }
  auto start = std::chrono::steady_clock::now();
  Status s = IntoTarget(options, [&](const std::string& target, bool unshare) {
    ReceiverOptions ro = ReceiverOptionsFor(options);
    ro.unshare_links = unshare;
    Receiver rx(target, ro, reporter, stats);
    Status opened = rx.Open();
    if (!opened.ok()) return opened;
    return OverTransport(options, stats, [&](Connection* conn) {
      SessionRequest request;
      request.path = options.remote_folder;
      request.rules = options.rules;
      Status pulled =
          PullSession(conn, &rx, AskedFlags(options, true), request);
      if (CutOff(pulled)) rx.KeepPartial();
      return pulled;
    });
  });
  stats->elapsed_ms = MsSince(start);
  return s;
}

Status RunPush(const TransferOptions& options, Reporter* reporter, PullStats* stats) {
  auto start = std::chrono::steady_clock::now();
  Status s;
  // The folder to push may be a symlink to one, as a served root may.
  std::error_code ec;
  if (!std::filesystem::is_directory(platform::FsPath(options.dir), ec)) {
    s = Status::BadFolder(Printable(options.dir) + ": not a folder");
  }
  SessionRequest request;
  request.path = options.remote_folder;
  request.options = (options.delete_extraneous ? 0 : kSessionKeepExtraneous) |
                    (options.checksum ? kSessionChecksum : 0) |
                    (options.dry_run ? kSessionDryRun : 0) |
                    (options.delete_excluded ? kSessionDeleteExcluded : 0) |
                    (options.size_only ? kSessionSizeOnly : 0) |
                    (options.ignore_existing ? kSessionIgnoreExisting : 0) |
                    (options.update ? kSessionUpdate : 0) |
                    (options.owner ? 0 : kSessionNoOwner) | (options.group ? 0 : kSessionNoGroup) |
                    (options.numeric_ids ? kSessionNumericIds : 0);
  OwnerListing owners;
  owners.numeric_ids = options.numeric_ids;
  owners.uid = options.chown_uid;
  owners.gid = options.chown_gid;
  owners.user = options.chown_user;
  owners.group = options.chown_group;
  request.rules = options.rules;
  request.max_delete = options.max_delete;
  request.backup_dir = options.backup_dir;
  request.suffix = options.suffix;

  if (s.ok() && options.watch) {
    return KeepWatching(options, reporter, [&](Connection* conn, bool* progressed) {
      return WatchPush(conn, options.dir, AskedFlags(options, false), request, reporter, owners,
                       progressed);
    });
  }
  if (s.ok()) {
    s = OverTransport(options, stats, [&](Connection* conn) {
      return PushSession(conn, options.dir, AskedFlags(options, false), request, reporter, stats,
                         owners);
    });
  }
  stats->elapsed_ms = MsSince(start);
  return s;
}

}  // namespace treesync
