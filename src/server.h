// The serving side: listens (or takes one session on stdin/stdout), and for
// each client settles from its Hello which way the tree flows: a pull runs
// the sending role on the served folder, a push (with --writable) the
// receiving role into it.
#ifndef TREESYNC_SERVER_H_
#define TREESYNC_SERVER_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "connection.h"
#include "filter.h"
#include "protocol.h"
#include "report.h"
#include "secure_channel.h"
#include "send_session.h"
#include "status.h"

namespace treesync {

class HashCache;

struct ServeOptions {
  std::string root;
  bool writable = false;    // accept pushes into root
  std::string bind;  // empty: every interface
  uint16_t port = 0;
  bool once = false;        // exit after the first session
  int max_sessions = 32;    // more concurrent clients are refused (exit 5)
  int timeout_ms = 300000;  // a client silent this long is dropped
  FilterList rules;         // the server's own filters (ServedTree::rules)
  uint64_t bwlimit = 0;     // bytes a second each way, per session; 0: no limit
  bool devices = false;     // pushes may make device nodes (ServedTree::devices)
  bool atomic = false;      // pushes switch in whole versions (ServedTree::atomic)
  int keep_previous = 0;
  // serve --key and --authorized-keys (and --psk-file): TCP clients must
  // then run the encrypted handshake, and get only what their line in the
  // authorized keys allows. Null: plain TCP, and encrypted clients are
  // refused.
  std::shared_ptr<const ServerSecurity> security;
};

// What one session did, for the server's log line.
struct SessionSummary {
  bool push = false;
  SendSummary sent;    // a pull
  PullStats received;  // a push
};

// The folders of a served tree that this server's pushes are writing, so
// two never write nested folders at once (a push into "a" and one into
// "a/b"): the receiver's lock file keeps out any other session writing the
// same folder, in any process, but can't see nesting.
class PushRegistry {
 public:
  // Claims sub (a wire path; "" for the root) unless it, a folder above it
  // or one below it is claimed already.
  bool TryClaim(const std::string& sub);
  void Release(const std::string& sub);

 private:
  std::mutex mu_;
  std::vector<std::string> claimed_;
};

// The served folder, as every session sees it.
struct ServedTree {
  std::string root;
  bool writable = false;  // pushes accepted
  // Remembers content hashes between sessions (may be null): for
  // --checksum clients, and so a file sent again unchanged is not hashed
  // again.
  HashCache* cache = nullptr;
  // This server's pushes in progress (may be null: one session only).
  PushRegistry* pushes = nullptr;
  // The server's own filter rules (serve --exclude and the rest), about the
  // whole served folder: nothing they exclude is offered, asked for (by
  // index or sub-folder), written or deleted.
  FilterList rules = FilterList();
  // serve --devices: a push may create device nodes here (when root).
  bool devices = false;
  // What compressed sessions hold, all together (may be null: no limit).
  MemoryBudget* compression = nullptr;
  // serve --atomic: a push's target is kept as versions, each switched in
  // whole (versioned_folder.h), keep_previous older ones kept.
  bool atomic = false;
  int keep_previous = 0;
};

// Serves one session over a connection: the Hellos (and the client's
// Session frame), then the sending role for a pull or, when the tree is
// writable, the receiving role for a push, until the client's part is
// done. A push is refused (Error 5) before any data moves when the tree is
// not writable or another session is writing into the target folder.
// received_hello: the client's Hello when the caller has received and
// checked it already (the accept loop does, to admit only clients that
// speak), else null: the session receives it first.
Status ServeSession(Connection* conn, const ServedTree& tree, SessionSummary* summary,
                    const Hello* received_hello = nullptr);

// The folder a session's sub-folder path (already checked by the wire path
// rules; "" for the root) names under root. Each part of it that exists
// must be a folder, not a symlink, so nothing outside root is reached;
// parts missing are fine only when missing_ok (a push creates them).
Status ServedFolder(const std::string& root, const std::string& sub, bool missing_ok,
                    std::string* folder);

// One session on this process's stdin and stdout (serve --stdio): whoever
// started us (ssh, inetd, a --via command) is the client. Logs nothing:
// the client reports the session. OK also when a push was partly done (the
// client's summary says so); an error when the session failed.
Status RunStdioServer(const ServeOptions& options);

// Listens and serves clients, each in its own thread, until interrupted (OK)
// or, with options.once, until the first session ends. Logs one line per
// session to `log`. Fails with kBadFolder if root is not a folder.
Status RunServer(const ServeOptions& options, FILE* log);

// A client must deliver its Hello within this long of connecting, or it is
// turned away (Error 30). Not --timeout, which is how long a session's
// client may stall: a Hello is the first thing a client sends and takes one
// trip, while a connection that hasn't sent it holds a socket and a place
// among those waiting, and should give them up long before 300 s. 10 s is
// still far beyond any link's round trip.
constexpr int kHelloTimeoutMs = 10000;
// Connections waiting for their Hello, or being told why they won't be
// served, at once (fewer when the process may open fewer than four times
// as many descriptors). They take no thread and a few hundred bytes each,
// but a descriptor each: past this, the one that has waited longest is
// closed. So a flood of idle connections can neither run the server out of
// descriptors nor keep out a real client, whose Hello arrives within a
// round trip, unless the flood opens 1024 connections within that trip.
constexpr size_t kMaxWaitingConnections = 1024;
// How long a client turned away is given to read its Error frame and close.
constexpr int kTurnAwayLingerMs = 5000;
// What all sessions together may queue for their clients beyond each one's
// own floor (Connection::kBudgetFloor, 64 KiB): 32 sessions, the default
// --max-clients, can each still queue Connection::kHighWater (1 MiB) as a
// lone one does, while 64 or 1000 whose clients have stopped reading add
// their floors, not 1 MiB each, to what the server holds.
constexpr size_t kSessionMemoryBudget = 32 << 20;
// What all compressed sessions together may hold for their windows and
// tables (CompressionMemory: 15.5 MiB at the default level 3, 50.8 MiB at
// level 9): 16 compressed sessions at the default level, 4 at the highest.
// More are served uncompressed, so compression can't multiply the
// server's memory.
constexpr size_t kCompressionMemoryBudget = 256 << 20;

// Runs a session over an accepted connection from peer ("addr:port").
// first: the client's first frame, a Hello (checked) or the Handshake that
// begins an encrypted session (when options.security is set); null when
// the protocol has none (Greeting::kNone).
using SessionHandler =
    std::function<void(platform::Socket sock, const std::string& peer, const Frame* first)>;
// What the listening half waits for before a connection becomes a session.
enum class Greeting {
  // Nothing: each connection is a session at once, or is closed at once
  // past options.max_sessions (the legacy CMB protocol, which has no Hello
  // and no way to say "busy").
  kNone,
  // The client's Hello (or, with keys, its first Handshake frame), within
  // kHelloTimeoutMs. Only then does a client
  // count against options.max_sessions; past it the client is sent Error 5
  // ("server busy"), and a first frame that isn't a good Hello gets its
  // Error too, all without a thread (see Lobby).
  kHello,
};
// The listening half of any server: checks options.root is a folder, logs
// "serving ROOT on ADDR:PORT", then runs `session` for each client in a
// thread of its own (the first one only, inline, with options.once), at
// most options.max_sessions at once. Returns OK when interrupted.
Status AcceptLoop(const ServeOptions& options, Greeting greeting, FILE* log,
                  SessionHandler session);
// One line to the server log, whole even when sessions log at once.
void LogLine(FILE* log, const std::string& line);
// The one log line of a finished session: "WHO ok COUNTS 1.23s", or
// "WHO failed: WHY COUNTS 1.23s"; the time runs from start.
void LogSessionEnd(FILE* log, const std::string& who, const Status& s, const std::string& counts,
                   std::chrono::steady_clock::time_point start);

}  // namespace treesync

#endif  // TREESYNC_SERVER_H_
