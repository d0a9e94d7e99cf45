// The sending role of a session, whichever side connected: walks the tree,
// sends the listing (within the receiver's credit when streaming) and
// answers the receiver's requests with file data and deltas. A server runs
// it for a pull, a client for a push (docs/PROTOCOL.md, "Roles").
#ifndef TREESYNC_SEND_SESSION_H_
#define TREESYNC_SEND_SESSION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "connection.h"
#include "filter.h"
#include "protocol.h"
#include "report.h"
#include "status.h"
#include "walk.h"

namespace treesync {

class HashCache;

struct SendSummary {
  uint64_t entries = 0;
  uint64_t files_sent = 0;
  uint64_t file_errors = 0;
};

// How a sender gives owners in its listing, when the Owners flag is granted.
struct OwnerListing {
  bool numeric_ids = false;  // no names: the receiver goes by the numbers
  // --chown on a push: this owner / group for every entry (-1: its own).
  int64_t uid = -1, gid = -1;
  std::string user, group;
};

// Takes an Event frame from the receiver (push); an error ends the session.
using EventHandler = std::function<Status(const Frame& f)>;

// Runs the sending role after the Hellos, over the tree at root: Sync, the
// listing, answers to requests, and Done once the receiver's WantEnd has
// come. It does not close the connection: a pushing client waits for the
// receiver's Summary after Done. flags: the granted Hello flags. cache
// (may be null) remembers content hashes between sessions. on_event (may
// be empty) takes Event frames; without it they are a protocol error. An
// Error frame from the receiver ends it with the receiver's error, its
// message prefixed with who the receiver is (PeerOfSender). local (may
// be null): the user at this end, told of special files skipped (a
// pushing client; a folder it can't read comes back from the receiver as
// an entry error). filter (may be null): what the listing leaves out (the
// walk neither reports nor enters excluded entries, so nobody can ask for
// them). owners: how owners are listed. scope (may be null: the whole
// tree): what a watch round lists, with Whole frames for the folders it
// lists wholly; files then carry no link records.
Status RunSender(Connection* conn, const std::string& root, HashCache* cache,
                 std::shared_ptr<const Filter> filter, uint32_t flags,
                 const EventHandler& on_event, Reporter* local, SendSummary* summary,
                 const OwnerListing& owners = OwnerListing(),
                 std::shared_ptr<const WalkScope> scope = nullptr);

// A fatal Error frame from the peer as our error of the same kind, its
// message prefixed with peer and ": ".
Status PeerError(const Frame& f, const std::string& peer);

}  // namespace treesync

#endif  // TREESYNC_SEND_SESSION_H_
