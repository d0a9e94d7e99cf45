#include "remote_report.h"

#include "clock.h"

namespace treesync {

namespace {

// The counts a Summary carries, in its order, as pointers into stats.
void SummaryFields(PullStats* s, uint64_t* fields[kSummaryCounts]) {
  uint64_t* all[kSummaryCounts] = {&s->files_total,       &s->files_transferred,
                                   &s->files_skipped,     &s->files_deleted,
                                   &s->dirs_created,      &s->dirs_deleted,
                                   &s->symlinks_created,  &s->bytes_transferred,
                                   &s->bytes_resumed,     &s->errors};
  for (size_t i = 0; i < kSummaryCounts; ++i) fields[i] = all[i];
}

}  // namespace

ForwardingReporter::ForwardingReporter(Connection* conn)
    : Reporter(ReportOptions(), nullptr, nullptr), conn_(conn) {}

void ForwardingReporter::Forward(const Event& e) {
  if (!status_.ok()) return;
  status_ = conn_->Send(FrameType::kEvent, EncodeEvent(e));
}

void ForwardingReporter::OnChange(Change change, EntryType type, const std::string& path,
                                  uint64_t bytes) {
  Event e;
  e.kind = Event::kChange;
  e.change = static_cast<uint8_t>(change);
  e.type = type;
  e.bytes = bytes;
  e.path = path;
  Forward(e);
}

void ForwardingReporter::OnEntryError(const std::string& path, const std::string& message) {
  Event e;
  e.kind = Event::kEntryError;
  e.path = path;
  e.message = message;
  Forward(e);
}

void ForwardingReporter::OnWarning(const std::string& message) {
  Event e;
  e.kind = Event::kWarning;
  e.message = message;
  Forward(e);
}

void ForwardingReporter::OnProgress(uint64_t bytes_done, uint64_t bytes_total,
                                    uint64_t files_done, uint64_t files_total) {
  // The client redraws at most this often anyway; more would be bytes on
  // the wire for nothing.
  const int64_t now = SteadyMs();
  if (last_progress_ms_ >= 0 && now - last_progress_ms_ < 250 && files_done < files_total) return;
  last_progress_ms_ = now;
  Event e;
  e.kind = Event::kProgress;
  e.progress[0] = bytes_done;
  e.progress[1] = bytes_total;
  e.progress[2] = files_done;
  e.progress[3] = files_total;
  Forward(e);
}

std::string EncodeSummaryOf(const PullStats& stats, const Status& result) {
  Summary s;
  s.result = result.kind();
  s.message = result.message();
  PullStats copy = stats;
  uint64_t* fields[kSummaryCounts];
  SummaryFields(&copy, fields);
  for (size_t i = 0; i < kSummaryCounts; ++i) s.counts[i] = *fields[i];
  return EncodeSummary(s);
}

Status ReplayEvent(const Frame& f, Reporter* reporter) {
  Event e;
  TS_RETURN_IF_ERROR(DecodeEvent(f, &e));
  switch (e.kind) {
    case Event::kChange:
      reporter->OnChange(static_cast<Change>(e.change), e.type, e.path, e.bytes);
      break;
    case Event::kEntryError:
      // As a pull's own: the messages name the entry, in the tree the user
      // asked to write.
      reporter->OnEntryError(e.path, e.message);
      break;
    case Event::kWarning:
      reporter->OnWarning(e.message);
      break;
    case Event::kProgress:
      reporter->OnProgress(e.progress[0], e.progress[1], e.progress[2], e.progress[3]);
      break;
  }
  return Status::Ok();
}

Status TakeSummary(const Frame& f, PullStats* stats) {
  Summary s;
  TS_RETURN_IF_ERROR(DecodeSummary(f, &s));
  uint64_t* fields[kSummaryCounts];
  SummaryFields(stats, fields);
  for (size_t i = 0; i < kSummaryCounts; ++i) *fields[i] = s.counts[i];
  if (s.result != ErrorKind::kOk) return Status::Make(s.result, "server: " + s.message);
  return Status::Ok();
}

}  // namespace treesync
