#include "watch_session.h"

#include <algorithm>
#include <thread>
#include <vector>

#include "change_set.h"
#include "clock.h"
#include "console.h"
#include "path.h"
#include "protocol.h"
#include "send_session.h"
#include "watch.h"

namespace treesync {

namespace {

// How long the sender sleeps at most between looks at the connection and
// the interrupt flag while nothing happens.
constexpr int kPollMs = 200;

// Whether the receiver has gone away or sent something it should not have
// between rounds.
Status CheckReceiver(Connection* conn) {
  Frame f;
  bool got = false;
  TS_RETURN_IF_ERROR(conn->TryReceive(&f, &got));
  if (!got) return Status::Ok();
  if (f.type == FrameType::kError) return PeerError(f, "receiver");
  return Status::Protocol("unexpected " + FrameName(f) + " frame between watch rounds");
}

}  // namespace

Status RunWatchSender(Connection* conn, const std::string& root, const SendRound& round,
                      const Filter* filter, Reporter* local, const WatchTimes& times) {
  std::unique_ptr<platform::TreeWatcher> watcher;
  // A root that is a symlink --atomic switches: the folder it leads to.
  std::string watched = ResolveRoot(root);
  auto start_watching = [&]() {
    Status s = platform::WatchTree(watched, &watcher);
    if (!s.ok()) watcher.reset();
    return s;
  };
  Status watching = start_watching();
  if (!watching.ok() && local != nullptr) {
    local->OnWarning(watching.message() + "; rescanning every " +
                     std::to_string(times.rescan_ms / 1000) + " s instead");
  }
  Status first = round(nullptr);
  if (!Completed(first)) return first;
  // The round's last frames go now, not with the next round.
  TS_RETURN_IF_ERROR(conn->Flush());

  ChangeSet changes;
  if (filter != nullptr) changes.SetRuleFiles(filter->rule_files());
  uint64_t number = 1;
  int64_t now = SteadyMs();
  int64_t next_tick = now + times.tick_ms;
  int64_t next_rescan = now + times.rescan_ms;
  std::vector<platform::WatchEvent> events;
  for (;;) {
    if (platform::Interrupted()) return Status::Interrupted("interrupted by a signal");
    TS_RETURN_IF_ERROR(CheckReceiver(conn));
    now = SteadyMs();
    int64_t wake = std::min(next_tick, now + kPollMs);
    if (watcher == nullptr) wake = std::min(wake, next_rescan);
    const int64_t ready = changes.NextReadyMs();
    if (ready >= 0) wake = std::min(wake, ready);
    const int wait_ms = static_cast<int>(std::max<int64_t>(0, wake - now));
    events.clear();
    if (watcher != nullptr) {
      if (!watcher->Wait(wait_ms, &events).ok()) {
        // What it missed is unknown: walk everything, watch anew later.
        watcher.reset();
        changes.AddEverything(SteadyMs());
        next_rescan = SteadyMs() + times.rescan_ms;
      }
    } else if (wait_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    }
    now = SteadyMs();
    for (const platform::WatchEvent& e : events) changes.Add(e, now);
    const std::string resolved = ResolveRoot(root);
    if (resolved != watched) {
      // A new version switched in: its changes are unknown, and the old
      // version's events are of no use any more.
      watched = resolved;
      start_watching();
      changes.AddEverything(now);
    }
    if (watcher == nullptr && now >= next_rescan) {
      // A walk of everything, as if nothing had been seen; and a new try
      // at watching, which may work now (a limit raised, a tree shrunk).
      start_watching();
      changes.AddEverything(now - kSettleMs);
      next_rescan = now + times.rescan_ms;
    }
    auto scope = std::make_shared<WalkScope>();
    if (changes.TakeReady(now, scope.get())) {
      TS_RETURN_IF_ERROR(conn->Send(FrameType::kRound, EncodeRound(++number)));
      Status s = round(std::move(scope));
      if (!Completed(s)) return s;
      TS_RETURN_IF_ERROR(conn->Flush());
      next_tick = SteadyMs() + times.tick_ms;
      continue;
    }
    if (now >= next_tick) {
      TS_RETURN_IF_ERROR(conn->Send(FrameType::kTick, std::string()));
      TS_RETURN_IF_ERROR(conn->Flush());
      next_tick = now + times.tick_ms;
    }
  }
}

Status RunWatchReceiver(Connection* conn, const ReceiveRound& round) {
  const int session_timeout = conn->timeout_ms();
  for (uint64_t number = 1;;) {
    Status s = round(number);
    if (!Completed(s)) return s;
    // Between rounds the sender's Ticks say it is there.
    conn->set_timeout_ms(kWatchSilenceMs);
    for (;;) {
      Frame f;
      Status got = conn->Receive(&f);
      if (got.kind() == ErrorKind::kTimeout) {
        return Status::Timeout("nothing from the sender for " +
                               std::to_string(kWatchSilenceMs / 1000) + " s");
      }
      // A sender that closes between rounds has ended the session.
      if (got.kind() == ErrorKind::kSocket) return Status::Ok();
      TS_RETURN_IF_ERROR(got);
      if (f.type == FrameType::kTick) continue;
      if (f.type == FrameType::kError) return PeerError(f, "sender");
      if (f.type != FrameType::kRound) {
        return Status::Protocol("unexpected " + FrameName(f) + " frame between watch rounds");
      }
      uint64_t next = 0;
      TS_RETURN_IF_ERROR(DecodeRound(f, &next));
      if (next != number + 1) {
        return Status::Protocol("round " + std::to_string(next) + " after round " +
                                std::to_string(number));
      }
      number = next;
      break;
    }
    conn->set_timeout_ms(session_timeout);
  }
}

}  // namespace treesync
