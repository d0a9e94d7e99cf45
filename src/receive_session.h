// The receiving role of a session, whichever side connected: takes the
// listing and file data the sender streams and hands them to a Receiver,
// requesting what changed as the listing arrives. A client runs it for a
// pull, a server for a push (docs/PROTOCOL.md, "Roles").
#ifndef TREESYNC_RECEIVE_SESSION_H_
#define TREESYNC_RECEIVE_SESSION_H_

#include <cstdint>
#include <string>

#include "connection.h"
#include "receiver.h"
#include "status.h"

namespace treesync {

// Runs the receiving role after the Hellos, until the sender's Done and
// the Receiver's Finish. granted: the granted Hello flags, which also say
// who the sender is for messages (PeerOfReceiver). OK when the
// target mirrors the sender's tree; kPartial when some entries failed or
// the sender could not list everything, the rest done; another error
// otherwise. It does not close the connection.
// REQUIRES: rx->Open() succeeded.
Status RunReceiver(Connection* conn, Receiver* rx, uint32_t granted);

}  // namespace treesync

#endif  // TREESYNC_RECEIVE_SESSION_H_
