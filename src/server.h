// The serve side: listens, and for each client walks the folder, sends the
// listing and streams the files the client asks for.
#ifndef TREESYNC_SERVER_H_
#define TREESYNC_SERVER_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "connection.h"
#include "status.h"

namespace treesync {

struct ServeOptions {
  std::string root;
  std::string bind;  // empty: every interface
  uint16_t port = 0;
  bool once = false;        // exit after the first session
  int max_sessions = 32;    // more concurrent clients are refused (exit 5)
  int timeout_ms = 300000;  // a client silent this long is dropped
};

struct SessionSummary {
  uint64_t entries = 0;
  uint64_t files_sent = 0;
  uint64_t file_errors = 0;
};

class HashCache;

// Serves one session over an accepted connection: handshake, listing, file
// data until the client says it wants nothing more. cache (may be null)
// remembers content hashes between sessions: for --checksum clients, and so
// that a file sent again unchanged is not hashed again.
Status ServeSession(Connection* conn, const std::string& root, HashCache* cache,
                    SessionSummary* summary);

// Listens and serves clients, each in its own thread, until interrupted (OK)
// or, with options.once, until the first session ends. Logs one line per
// session to `log`. Fails with kBadFolder if root is not a folder.
Status RunServer(const ServeOptions& options, FILE* log);

// Runs a session over an accepted connection from peer ("addr:port").
using SessionHandler = std::function<void(platform::Socket sock, const std::string& peer)>;
// The listening half of any server: checks options.root is a folder, logs
// "serving ROOT on ADDR:PORT", then runs `session` for each client in a
// thread of its own (the first one only, inline, with options.once). Past
// options.max_sessions at once, `refuse` runs instead, or the connection is
// just closed if refuse is null. Returns OK when interrupted.
Status AcceptLoop(const ServeOptions& options, FILE* log, SessionHandler session,
                  SessionHandler refuse);
// One line to the server log, whole even when sessions log at once.
void LogLine(FILE* log, const std::string& line);
// The one log line of a finished session: "WHO ok COUNTS 1.23s", or
// "WHO failed: WHY COUNTS 1.23s"; the time runs from start.
void LogSessionEnd(FILE* log, const std::string& who, const Status& s, const std::string& counts,
                   std::chrono::steady_clock::time_point start);

}  // namespace treesync

#endif  // TREESYNC_SERVER_H_
