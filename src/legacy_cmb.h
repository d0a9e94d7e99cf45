// The original CMB protocol, spoken with hosts that still run the old
// folder-sync scripts (docs/PROTOCOL.md, "Legacy CMB protocol").
//
// The stream: after the client's greeting (any bytes), the server sends
// commands framed as "CMB_BEGIN" command "CMB_END", with no lengths:
//   Sync              a sync starts (the old client wipes its folder)
//   Folder:<path>     create that folder
//   File:<path>       the data commands that follow belong to this file
//   <data>            up to 4096 bytes of the file, appended
//   End               the current file is complete
// The old client cuts a command at the first CMB_END in its buffer and
// recognises End by its first three bytes, File: and Folder: by prefix and
// Sync by equality. The old server never closes the connection.
//
// Serving: every data command is cut so that an old client reads it back
// as data, byte for byte (LegacySplitData). Pulling: the whole stream is
// received and spooled first, then handed to a Receiver, so the core
// mirror's path rules, plan and atomic install apply unchanged.
#ifndef TREESYNC_LEGACY_CMB_H_
#define TREESYNC_LEGACY_CMB_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "client.h"
#include "net.h"
#include "receiver.h"
#include "report.h"
#include "server.h"
#include "status.h"

namespace treesync {

constexpr char kCmbBegin[] = "CMB_BEGIN";
constexpr char kCmbEnd[] = "CMB_END";
constexpr size_t kCmbBeginSize = sizeof kCmbBegin - 1;
constexpr size_t kCmbEndSize = sizeof kCmbEnd - 1;

// Most file bytes in one data command: what the old scripts send, and all
// an old client is known to accept.
constexpr size_t kLegacyDataChunk = 4096;
// Longest command accepted from an old server: 16 times the data commands
// old servers send and far above "Folder:" plus kMaxPathBytes, while one
// endless command still costs us only this much memory.
constexpr size_t kMaxLegacyCommandBytes = 64 * 1024;
// Bytes skipped while looking for the first CMB_BEGIN (an old server may
// greet with a line first). A server that sends more and no command is not
// speaking CMB.
constexpr size_t kMaxLegacyGreetingBytes = 64 * 1024;
// How long an old server may stay silent, after at least one complete
// folder or file, before its stream is taken as finished (it never closes).
constexpr int kDefaultLegacyIdleTimeoutMs = 2000;
// How long the server waits for an old client's greeting before sending
// anyway: old clients greet at once, and one that doesn't loses nothing.
constexpr int kLegacyGreetingWaitMs = 5000;

// "CMB_BEGIN" + command + "CMB_END".
std::string LegacyFrame(const std::string& command);

// Whether an old client reads these bytes, framed as one command while a
// file is open, back as exactly these bytes of data: 1 to kLegacyDataChunk
// bytes, no CMB_END inside, not starting with "End", "File:" or "Folder:",
// not equal to "Sync".
bool IsSafeLegacyData(const char* data, size_t n);

// Splits file data into data commands that each pass IsSafeLegacyData and
// that concatenate to the input. The rule holds per command, so data may be
// split in pieces of any size (each read of a file on its own). A CMB_END is
// cut inside the marker ("...CMB_EN" then "D..."): CMB_END has no prefix
// that is also a suffix, so the frames' own markers can't complete it. A
// command word at the start gets a one-byte command of its own. Pure.
std::vector<std::string> LegacySplitData(const char* data, size_t n);
inline std::vector<std::string> LegacySplitData(const std::string& data) {
  return LegacySplitData(data.data(), data.size());
}

// Cuts an old server's byte stream, fed in pieces of any size, into
// commands. Bytes before the first CMB_BEGIN (a greeting) are skipped.
// Smarter than the old client: a CMB_END ends a command only when the next
// bytes are CMB_BEGIN (or the stream ends there), so a file whose data
// holds CMB_END arrives intact unless it holds "CMB_ENDCMB_BEGIN", which no
// reader can tell from a command boundary. Holds at most one command of
// kMaxLegacyCommandBytes with its markers, plus what the last Feed() brought.
class LegacyCommandReader {
 public:
  void Feed(const char* data, size_t n);
  // Takes the next command whose end is certain. kProtocol when a command
  // outgrows kMaxLegacyCommandBytes or no CMB_BEGIN comes in the first
  // kMaxLegacyGreetingBytes.
  Status Next(std::string* command, bool* got);
  // The stream has ended: takes the last command, which ends at the last
  // CMB_END followed by nothing or by (the start of) a CMB_BEGIN. *truncated
  // when bytes are left that form no whole command (the stream was cut).
  // REQUIRES: Next() returned no more commands.
  void Finish(std::string* command, bool* got, bool* truncated);
  // The command Finish() would take now, if any, without taking it.
  bool PeekLast(std::string* command) const;
  // A CMB_BEGIN has arrived.
  bool started() const { return started_; }

 private:
  void Compact();

  std::string buf_;    // from start_: the current command, CMB_BEGIN first
  size_t start_ = 0;
  size_t scan_ = 0;    // where to look for the next CMB_END (from start_)
  bool started_ = false;
  size_t skipped_ = 0;  // greeting bytes dropped so far
};

// What a legacy stream says, in order: Sync; Folder; FileBegin, FileData
// (any number), FileEnd. Paths are already checked with CheckWirePath and
// hold no temporary-file name. A file cut off by the end of the stream gets
// no FileEnd.
class LegacyHandler {
 public:
  virtual ~LegacyHandler() = default;
  virtual Status OnSync() = 0;
  virtual Status OnFolder(const std::string& path) = 0;
  virtual Status OnFileBegin(const std::string& path) = 0;
  virtual Status OnFileData(const char* data, size_t n) = 0;
  virtual Status OnFileEnd() = 0;
};

// Turns an old server's commands into handler calls. Smarter than the old
// client where the stream allows: while a file is open everything is data
// except exactly "End"; and an "End" followed by anything but Sync, Folder:
// or File: was data too (a file whose last piece is the bytes "End"), so a
// file's FileEnd is given only when the next command, or the end of the
// stream, confirms it. Outside a file, data or a stray End is kProtocol, as
// is a path that fails CheckWirePath or uses a temporary-file name.
class LegacyParser {
 public:
  explicit LegacyParser(LegacyHandler* handler) : handler_(handler) {}

  Status Feed(const char* data, size_t n);
  // The stream ended (closed, or idle). *complete is false when it was cut:
  // inside a command, or with a file still open.
  Status Finish(bool* complete);
  // A whole folder or file has arrived (counting a last command that is
  // still waiting for the stream to go on or end).
  bool HasCompleteEntry() const;
  // At least one command arrived.
  bool received_commands() const { return commands_ > 0; }

 private:
  Status Command(const std::string& c);

  enum class State { kOutside, kInFile, kAfterEnd };
  LegacyHandler* handler_;
  LegacyCommandReader reader_;
  State state_ = State::kOutside;
  bool entry_done_ = false;
  uint64_t commands_ = 0;
};

struct LegacyServeSummary {
  uint32_t folders_sent = 0;
  uint64_t files_sent = 0;
  uint32_t skipped = 0;  // symlinks, special files and unsendable names
  uint64_t bytes_out = 0;
  uint64_t bytes_in = 0;
};

// Serves root to one old client over an accepted socket: waits for its
// greeting (at most kLegacyGreetingWaitMs), sends Sync, then every folder
// and file in pre-order, then closes the connection so the client stops.
// Symlinks, special files and names holding CMB_END (a folder's with its
// contents) are skipped, empty files sent as File: and End (old clients
// never create them): each such entry is a warning line on `log`. A client
// that takes no data for timeout_ms is dropped (kTimeout). A file that
// can't be read once its File: is out ends the session (kIo): the old
// protocol has no way to take a file back.
Status LegacyServeSession(platform::Socket* sock, const std::string& root, int timeout_ms,
                          FILE* log, LegacyServeSummary* summary);

// Like RunServer (server.h), speaking the legacy protocol: listens, logs
// "serving ROOT on ADDR:PORT", serves each client in its own thread until
// interrupted (OK) or, with options.once, until the first session ends.
// Clients beyond options.max_sessions are closed at once.
Status RunLegacyServer(const ServeOptions& options, FILE* log);

struct LegacyPullOptions {
  // How long an old server may stay silent, once at least one complete
  // folder or file arrived, before its stream is taken as finished
  // (--idle-timeout).
  int idle_timeout_ms = kDefaultLegacyIdleTimeoutMs;
  // Where the stream's file data waits until it is installed; empty: the
  // system's temporary folder (TMPDIR).
  std::string spool_dir;
};

// The protocol part of a legacy pull over a connected socket: greets,
// receives the stream until the server closes the connection or, once at
// least one complete folder or file arrived, stays silent for
// legacy.idle_timeout_ms; then mirrors it into options.dir through rx.
// - Before the first complete entry, silence longer than options.timeout_ms
//   (-1: forever) is kTimeout. A connection error is kSocket. Either way
//   nothing in options.dir has changed.
// - The file data is spooled to one file in legacy.spool_dir, removed on
//   every path out. Nothing in options.dir changes until the stream has
//   ended, and a hostile path (kProtocol, exit 12) leaves it untouched.
// - Sync never wipes anything; a second Sync starts the listing over. A
//   File: sent twice: the later data wins. Missing parent folders are
//   added. An empty file (File: then End) is created.
// - No times or modes travel: a file whose content equals the local copy
//   keeps the local file (and its time and mode); other files get mode
//   0644 (an existing file's mode is kept) and the pull's start time; an
//   existing folder keeps its time and mode, a new one gets 0755 and the
//   start time.
// - A stream cut inside a command or a file: the complete files are
//   installed, nothing is deleted, and the result is kPartial.
// - options.delete_extraneous, checksum and dry_run work as for RunPull
//   (rx must have been made with the same ReceiverOptions).
// REQUIRES: rx was made for options.dir and Open() succeeded.
Status LegacyPullSession(platform::Socket* sock, const TransferOptions& options,
                         const LegacyPullOptions& legacy, Receiver* rx, PullStats* stats);

// Runs a whole legacy pull (connect, LegacyPullSession), like RunPull
// (client.h). options.timeout_ms bounds the connect as well.
Status RunLegacyPull(const TransferOptions& options, const LegacyPullOptions& legacy,
                     Reporter* reporter, PullStats* stats);

}  // namespace treesync

#endif  // TREESYNC_LEGACY_CMB_H_
