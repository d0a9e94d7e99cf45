// A push's receiver runs on the server, but its user is at the client:
// what the receiver reports travels back as Event frames and a closing
// Summary (docs/PROTOCOL.md, "Push"), and the client prints them as a
// pull's own. Both halves live here.
#ifndef TREESYNC_REMOTE_REPORT_H_
#define TREESYNC_REMOTE_REPORT_H_

#include <cstdint>
#include <string>

#include "connection.h"
#include "protocol.h"
#include "report.h"
#include "status.h"

namespace treesync {

// The server's half: a Reporter that sends each event to the pushing
// client instead of printing it, progress at most every 250 ms.
class ForwardingReporter : public Reporter {
 public:
  explicit ForwardingReporter(Connection* conn);

  void OnChange(Change change, EntryType type, const std::string& path, uint64_t bytes) override;
  void OnEntryError(const std::string& path, const std::string& message) override;
  void OnWarning(const std::string& message) override;
  void OnProgress(uint64_t bytes_done, uint64_t bytes_total, uint64_t files_done,
                  uint64_t files_total) override;

  // The first failure to send an event; the session's next step meets the
  // same broken connection anyway.
  const Status& status() const { return status_; }

 private:
  void Forward(const Event& e);

  Connection* conn_;
  Status status_;
  int64_t last_progress_ms_ = -1;
};

// The receiver's totals and result as a Summary frame's payload. result
// must be OK or kPartial.
std::string EncodeSummaryOf(const PullStats& stats, const Status& result);

// The client's half: prints the event in an Event frame through reporter.
Status ReplayEvent(const Frame& f, Reporter* reporter);
// Takes a Summary frame into *stats (all but bytes_on_wire and elapsed_ms,
// which are the client's own) and returns the receiver's result: OK, or
// kPartial with the server's message.
Status TakeSummary(const Frame& f, PullStats* stats);

}  // namespace treesync

#endif  // TREESYNC_REMOTE_REPORT_H_
