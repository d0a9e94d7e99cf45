// Watch sessions (docs/PROTOCOL.md, "Watch"): after the first round, the
// sender watches its tree and runs one more round for each batch of
// changes, listing only what changed, over the same connection. Either
// role may be the client's (pull --watch, push --watch).
#ifndef TREESYNC_WATCH_SESSION_H_
#define TREESYNC_WATCH_SESSION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "connection.h"
#include "filter.h"
#include "report.h"
#include "status.h"
#include "walk.h"

namespace treesync {

// Between rounds the sender says it is still there this often...
constexpr int kTickMs = 10000;
// ...and a receiver that has heard nothing for this long takes the
// connection for lost.
constexpr int kWatchSilenceMs = 35000;
// Where the OS gives no change notifications (or too few for the tree),
// the sender walks the whole tree again this often.
constexpr int kRescanMs = 5000;

struct WatchTimes {
  int tick_ms = kTickMs;
  int rescan_ms = kRescanMs;
};

// One round's sending role and what follows it (a push's Summary). scope:
// what the round lists; null for the first round, which lists everything.
using SendRound = std::function<Status(std::shared_ptr<const WalkScope> scope)>;
// One round's receiving role; round counts from 1, and only round 1's
// listing is the whole tree.
using ReceiveRound = std::function<Status(uint64_t round)>;

// The sending side of a watch session, after the Hellos. Starts watching
// root before the first round, so nothing that changes during it is
// missed; runs the first round, then a Round frame and a round for each
// batch of settled changes, a Tick when idle. Where the OS gives no
// notifications it rescans every times.rescan_ms, and it rescans after
// lost events; local (may be null) is told once. Returns the first
// round's failure, or how the session ended: kSocket when the receiver
// went away, kInterrupted on a signal.
// filter (may be null): the session's, whose per-folder rule files, when
// they change, make their folders' next rounds whole.
Status RunWatchSender(Connection* conn, const std::string& root, const SendRound& round,
                      const Filter* filter, Reporter* local,
                      const WatchTimes& times = WatchTimes());

// The receiving side, after the Hellos: round(1), then for each Round
// frame the next round; Ticks are taken in between. A round's failure
// other than kPartial or kMaxDelete ends the session with it; silence
// past kWatchSilenceMs is kTimeout. OK when the sender closes between
// rounds.
Status RunWatchReceiver(Connection* conn, const ReceiveRound& round);

}  // namespace treesync

#endif  // TREESYNC_WATCH_SESSION_H_
