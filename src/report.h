// What a pull tells its user: nothing on success by default, one line per
// change with -v, one JSON object per line with --json. Errors and warnings
// always go to stderr as one line each.
#ifndef TREESYNC_REPORT_H_
#define TREESYNC_REPORT_H_

#include <cstdint>
#include <cstdio>
#include <string>

#include "manifest.h"

namespace treesync {

enum class OutputMode { kQuiet, kVerbose, kJson };
enum class Change { kCreate, kUpdate, kDelete };

struct PullStats {
  uint64_t files_total = 0;        // regular files in the server's listing
  uint64_t files_transferred = 0;  // files whose data crossed the wire
  uint64_t files_skipped = 0;      // files already current
  uint64_t files_deleted = 0;      // files and symlinks removed
  uint64_t dirs_created = 0;
  uint64_t dirs_deleted = 0;
  uint64_t symlinks_created = 0;
  uint64_t bytes_transferred = 0;  // file data written
  uint64_t bytes_on_wire = 0;      // all bytes sent and received
  int64_t elapsed_ms = 0;
  uint64_t errors = 0;             // entries that failed
};

class Reporter {
 public:
  Reporter(OutputMode mode, FILE* out, FILE* err) : mode_(mode), out_(out), err_(err) {}

  void OnChange(Change change, EntryType type, const std::string& path, uint64_t bytes);
  // A per-entry failure: always a line on stderr, and an event with --json.
  void OnEntryError(const std::string& path, const std::string& message);
  // Something worth knowing that is not a failure.
  void OnWarning(const std::string& message);
  // The session's end: a summary event with --json, nothing otherwise.
  void OnSummary(const PullStats& stats, const std::string& result);

 private:
  OutputMode mode_;
  FILE* out_;
  FILE* err_;
};

// s as a JSON string literal. Bytes that are not UTF-8 become U+FFFD, so
// the output stays valid JSON.
std::string JsonString(const std::string& s);

}  // namespace treesync

#endif  // TREESYNC_REPORT_H_
