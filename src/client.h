// The pull side of a session: connects, receives the listing, requests what
// changed and hands everything to a Receiver.
#ifndef TREESYNC_CLIENT_H_
#define TREESYNC_CLIENT_H_

#include <cstdint>
#include <string>

#include "connection.h"
#include "receiver.h"
#include "report.h"
#include "status.h"

namespace treesync {

struct PullOptions {
  std::string host;
  uint16_t port = 0;
  std::string dir;
  bool delete_extraneous = true;
  bool checksum = false;  // compare content hashes, not size and mtime
  bool dry_run = false;   // report what would change, change nothing
  int timeout_ms = -1;    // -1: wait forever, like rsync without --timeout
};

// The receiver's share of the pull options.
ReceiverOptions ReceiverOptionsFor(const PullOptions& options);

// Opens the target folder (Receiver::Open) and connects to the server.
Status OpenAndConnect(const PullOptions& options, Receiver* rx, platform::Socket* sock);

// Runs a whole pull. OK when the target folder mirrors the server; kPartial
// when some entries failed but the rest is done; another error otherwise.
Status RunPull(const PullOptions& options, Reporter* reporter, PullStats* stats);

// The protocol part of a pull over an established connection, for tests.
// hello_flags: what to ask the server for (kHelloWantHashes,
// kHelloPackedListing); one frame per entry is accepted from servers that
// don't grant the packed listing.
// REQUIRES: receiver->Open() succeeded.
Status PullSession(Connection* conn, Receiver* receiver, uint32_t hello_flags);

}  // namespace treesync

#endif  // TREESYNC_CLIENT_H_
