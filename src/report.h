// What a pull or push tells its user. Nothing on success by default; -v: a line per
// change; -i: a line per change with an action code; --json: one JSON
// object per line. Progress on a terminal. Errors and warnings always go to
// stderr, one line each.
#ifndef TREESYNC_REPORT_H_
#define TREESYNC_REPORT_H_

#include <cstdint>
#include <cstdio>
#include <string>

#include "manifest.h"

namespace treesync {

// The version of what --json prints (docs/JSON.md): a member removed or
// changed in meaning bumps it; members may be added within one version.
constexpr int kJsonSchemaVersion = 1;

struct ReportOptions {
  bool verbose = false;   // -v
  bool itemize = false;   // -i
  bool json = false;      // --json
  bool progress = false;  // a live progress line on err (a terminal)
};

// kMetadata: content already current, only mode or time fixed. kLink: a
// file made a hard link of another name of its link group (no data).
enum class Change { kCreate, kUpdate, kDelete, kMetadata, kLink };

// The -i action code: a change character (+ created, > data transferred,
// - deleted, . metadata only, h hard-linked) and a type character (f file,
// d folder, l symlink, S special file), e.g. "+f".
std::string ItemizeCode(Change change, EntryType type);

struct PullStats {
  uint64_t files_total = 0;        // regular files in the server's listing
  uint64_t files_transferred = 0;  // files whose data crossed the wire
  uint64_t files_skipped = 0;      // files already current
  uint64_t files_deleted = 0;      // files and symlinks removed
  uint64_t dirs_created = 0;
  uint64_t dirs_deleted = 0;
  uint64_t symlinks_created = 0;
  uint64_t bytes_transferred = 0;  // file data written
  uint64_t bytes_resumed = 0;      // file data kept from earlier partial pulls
  uint64_t bytes_on_wire = 0;      // all bytes sent and received
  int64_t elapsed_ms = 0;
  uint64_t errors = 0;             // entries that failed
  uint64_t round = 0;              // a watch session's round (from 1); 0: not watching
};

// Prints what a receiver reports. Its event calls are virtual so that a
// push's receiver, on the server, can send them to the pushing user
// instead (remote_report.h).
class Reporter {
 public:
  Reporter(const ReportOptions& options, FILE* out, FILE* err)
      : options_(options), out_(out), err_(err) {}
  virtual ~Reporter() = default;

  virtual void OnChange(Change change, EntryType type, const std::string& path, uint64_t bytes);
  // A per-entry failure: always a line on stderr, and an event with --json.
  virtual void OnEntryError(const std::string& path, const std::string& message);
  // Something worth knowing that is not a failure.
  virtual void OnWarning(const std::string& message);
  // Transfer progress. Cheap to call often: redraws at most every 250 ms.
  virtual void OnProgress(uint64_t bytes_done, uint64_t bytes_total, uint64_t files_done,
                          uint64_t files_total);
  // The session's end: finishes the progress line, prints the summary
  // event with --json, a summary line with -v.
  void OnSummary(const PullStats& stats, const std::string& result);

 private:
  void DrawProgress();
  void ClearProgress();

  ReportOptions options_;
  FILE* out_;
  FILE* err_;
  // Progress state.
  bool progress_shown_ = false;
  int64_t start_ms_ = -1;
  int64_t last_draw_ms_ = 0;
  uint64_t bytes_done_ = 0, bytes_total_ = 0, files_done_ = 0, files_total_ = 0;
};

// s as a JSON string literal. Bytes that are not UTF-8 become U+FFFD, so
// the output stays valid JSON.
std::string JsonString(const std::string& s);

}  // namespace treesync

#endif  // TREESYNC_REPORT_H_
