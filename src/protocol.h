// Session messages of the treesync protocol, version kProtocolVersion: the
// payloads that travel inside frames (frame.h). docs/PROTOCOL.md is the
// full description; this file is its executable form.
#ifndef TREESYNC_PROTOCOL_H_
#define TREESYNC_PROTOCOL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "delta.h"
#include "filter.h"
#include "frame.h"
#include "manifest.h"
#include "status.h"
#include "xxh3.h"

namespace treesync {

constexpr char kMagic[8] = {'T', 'R', 'E', 'E', 'S', 'Y', 'N', 'C'};
constexpr uint32_t kProtocolVersion = 1;
constexpr uint16_t kDefaultPort = 1234;  // the original design's port
// How often one file may be asked for in a session: a first try plus one
// re-fetch after a failed verification, and one more after a resume.
constexpr int kMaxRequestsPerFile = 3;
// Most requests in one Want frame (12 bytes each, well under a frame).
constexpr size_t kMaxWantsPerFrame = 4096;
// Longest message in an Error, Warning or FileError frame.
constexpr size_t kMaxMessageBytes = 4096;

// Hello flags. The connecting side sets what it asks for; the serving side
// answers with the ones it grants. Unknown bits are ignored.
constexpr uint32_t kHelloWantHashes = 1;  // File entries carry content hashes
constexpr uint32_t kHelloPackedListing = 2;  // the listing comes in Entries frames
// A streaming session (docs/PROTOCOL.md, "Streaming"): the listing is
// applied folder by folder under a credit, and files are requested by path
// while it arrives, so neither side holds the whole tree.
constexpr uint32_t kHelloStreaming = 4;
// A push: the connecting side sends the tree and the serving side receives
// it (docs/PROTOCOL.md, "Roles"). Granted only by a server that takes
// pushes; one that doesn't answers with Error 5 instead.
constexpr uint32_t kHelloPush = 8;
// A Session frame follows this Hello at once: a sub-folder, and for a push
// the receiver's options. A push always sends one.
constexpr uint32_t kHelloSession = 16;
// File data may come with Hole frames: runs of zeros the sender's file
// holds as holes, neither sent nor written (docs/PROTOCOL.md, "Holes").
constexpr uint32_t kHelloHoles = 32;
// Listing entries carry their owner and group (docs/PROTOCOL.md, "Owners").
// Granted only with the packed listing; a serving receiver grants it only
// where it may set owners.
constexpr uint32_t kHelloOwners = 64;
// FIFOs, sockets and device nodes are listed, as special entries
// (docs/PROTOCOL.md, "Special files"). Granted only with the packed listing.
constexpr uint32_t kHelloSpecials = 128;
// Listing entries carry their extended attributes (docs/PROTOCOL.md,
// "Extended attributes"). Granted only with the packed listing.
constexpr uint32_t kHelloXattrs = 256;
// Files that are names of one another on the sender (one inode) are listed
// as a link group, and the receiver makes them so from one copy of the data
// (docs/PROTOCOL.md, "Hard links"). Granted only with the packed listing.
constexpr uint32_t kHelloHardLinks = 512;
// Everything either side sends after the Hello exchange is compressed:
// Zstandard frames and passes (docs/PROTOCOL.md, "Compression"). The asking side may put in
// kHelloLevelBits the level it wants the serving side to compress at (0:
// the server's choice); the reply leaves them 0.
constexpr uint32_t kHelloCompress = 1024;
// Signatures name how many bytes of each block's strong sum they carry
// (docs/PROTOCOL.md, "Delta transfer"), which the receiver picks by the
// basis's size, as rsync does.
constexpr uint32_t kHelloSizedSums = 2048;
// The session goes on after Done: the sender watches its tree and sends
// a Round for each batch of changes, listing only what changed
// (docs/PROTOCOL.md, "Watch"). Needs streaming.
constexpr uint32_t kHelloWatch = 4096;
constexpr unsigned kHelloLevelShift = 16;
constexpr uint32_t kHelloLevelBits = uint32_t(0xF) << kHelloLevelShift;
inline int HelloLevel(uint32_t flags) {
  return static_cast<int>((flags & kHelloLevelBits) >> kHelloLevelShift);
}
// The other side of a session, for messages: the server unless we are the
// server of a push (the receiver, kHelloPush granted) or of a pull (the
// sender, not granted).
inline const char* PeerOfSender(uint32_t granted) {
  return (granted & kHelloPush) != 0 ? "server" : "client";
}
inline const char* PeerOfReceiver(uint32_t granted) {
  return (granted & kHelloPush) != 0 ? "client" : "server";
}

// The flags a serving side of this version can grant.
constexpr uint32_t kHelloKnownFlags =
    kHelloWantHashes | kHelloPackedListing | kHelloStreaming | kHelloPush | kHelloSession | kHelloHoles | kHelloOwners | kHelloSpecials | kHelloXattrs |
    kHelloHardLinks | kHelloCompress | kHelloSizedSums | kHelloWatch;

// Streaming: the listing credit a session starts with. An entry weighs
// kEntryWeightBase plus its path's length; the receiver grants credit back
// as it finishes with entries, so this bounds what it holds of a listing
// it has not finished with: about 13,000 files of short paths, or 500 of
// the longest, about 3 MiB of memory either way; with a few thousand files
// in flight, enough to keep a 20 ms round trip busy.
constexpr uint64_t kInitialListCredit = 2u << 20;
constexpr uint64_t kEntryWeightBase = 128;
// An entry's attributes weigh what their names and values take.
inline uint64_t EntryWeight(const Entry& e) {
  return kEntryWeightBase + e.path.size() + XattrBytes(e);
}

struct Hello {
  uint32_t version = kProtocolVersion;
  uint32_t flags = 0;
};
std::string EncodeHello(const Hello& h);
// A wrong magic is kProtocol; another version is reported in h->version.
Status DecodeHello(const Frame& f, Hello* h);

// Session: what the connecting side asks of the served tree.
constexpr uint32_t kSessionKeepExtraneous = 1;  // push --no-delete
constexpr uint32_t kSessionChecksum = 2;        // push --checksum
constexpr uint32_t kSessionDryRun = 4;          // push --dry-run
constexpr uint32_t kSessionSettings = 8;        // a settings list follows the path
constexpr uint32_t kSessionDeleteExcluded = 16;  // push --delete-excluded
constexpr uint32_t kSessionSizeOnly = 32;        // push --size-only
constexpr uint32_t kSessionIgnoreExisting = 64;  // push --ignore-existing
constexpr uint32_t kSessionUpdate = 128;         // push --update
constexpr uint32_t kSessionNoOwner = 256;       // push --no-owner
constexpr uint32_t kSessionNoGroup = 512;       // push --no-group
constexpr uint32_t kSessionNumericIds = 1024;   // push --numeric-ids
constexpr uint32_t kSessionKnownOptions = 2047;
// Keys of the settings list (docs/PROTOCOL.md, "Settings").
enum SettingKey : uint8_t {
  kSettingExclude = 1,     // a filter rule: FilterRule::kExclude
  kSettingInclude = 2,     // FilterRule::kInclude
  kSettingFilterFile = 3,  // FilterRule::kPerFolder
  kSettingMaxDelete = 4,   // push --max-delete: decimal digits
  kSettingBackupDir = 5,   // push --backup-dir: a wire path under the target
  kSettingSuffix = 6,      // push --suffix: no '/'
};
struct SessionRequest {
  uint32_t options = 0;  // kSession* bits; unknown bits are refused
  std::string path;      // a sub-folder of the served tree; "" for all of it
  // The client's filter rules, in order (sent with kSessionSettings).
  FilterList rules;
  int64_t max_delete = -1;  // -1: no limit
  std::string backup_dir;   // relative to the target; "" none
  std::string suffix;
};
// Sets kSessionSettings when there is anything to put in the list.
std::string EncodeSession(const SessionRequest& r);
// Checks path by the wire path rules (or empty), the option bits and every
// setting (rules by MakeRule; an unknown key, a bad number, a backup-dir
// that is not a wire path or a suffix with a '/' is kProtocol).
Status DecodeSession(const Frame& f, SessionRequest* r);

// A fatal error sent before closing. code is an exit code (status.h).
struct ErrorMessage {
  ErrorKind kind = ErrorKind::kProtocol;
  std::string message;
};
std::string EncodeError(ErrorKind kind, const std::string& message);
Status DecodeError(const Frame& f, ErrorMessage* e);

// Warning: a per-entry problem found while listing.
std::string EncodeWarning(const std::string& path, const std::string& message);
Status DecodeWarning(const Frame& f, std::string* path, std::string* message);

// Gap (streaming): the sender could not list everything directly in the
// folder at `folder` ("" is the served folder).
std::string EncodeGap(const std::string& folder, const std::string& message);
// Checks folder by the wire path rules (or empty) and the message length.
Status DecodeGap(const Frame& f, std::string* folder, std::string* message);

// Whole (watch rounds): every entry directly in folder ("" is the served
// folder) is listed, and with tree everything below it too, so what the
// receiver has there beyond them goes.
std::string EncodeWhole(const std::string& folder, bool tree);
// Checks folder by the wire path rules (or empty).
Status DecodeWhole(const Frame& f, std::string* folder, bool* tree);

// Round (watch): the number of the round that follows (2, 3, ...).
std::string EncodeRound(uint64_t round);
Status DecodeRound(const Frame& f, uint64_t* round);

// ListCredit (streaming): `bytes` more listing weight may be sent.
std::string EncodeListCredit(uint32_t bytes);
Status DecodeListCredit(const Frame& f, uint32_t* bytes);

// A message cut to at most kMaxMessageBytes, at a UTF-8 boundary, so it fits
// a Warning, Gap, Error or FileError frame whatever path it names.
std::string FitMessage(const std::string& message);

// Sync: the listing starts; carries the served folder's own metadata.
struct SyncStart {
  uint32_t mode = 0;
  int64_t mtime_ns = 0;
};
std::string EncodeSync(const SyncStart& s);
Status DecodeSync(const Frame& f, SyncStart* s);

struct ListEnd {
  uint32_t count = 0;     // entries sent, for a cross-check
  bool complete = true;   // false: some folders could not be read
};
std::string EncodeListEnd(const ListEnd& l);
Status DecodeListEnd(const Frame& f, ListEnd* l);

struct Want {
  uint32_t index = 0;   // position of the file in the listing
  uint64_t offset = 0;  // bytes the client already holds (resume)
};
std::string EncodeWants(const Want* w, size_t n);
Status DecodeWants(const Frame& f, std::vector<Want>* out);

// WantPaths (streaming): requests by path. tag comes back in Begin and
// FileError; size is the listing's, which the data never exceeds.
struct PathWant {
  uint32_t tag = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  std::string path;
};
// Appends one request's record to a WantPaths payload.
void AppendPathWant(const PathWant& w, std::string* payload);
// Bytes AppendPathWant adds for w.
inline size_t PathWantBytes(const PathWant& w) { return 24 + w.path.size(); }
// Checks every path by the wire path rules and that it names no temporary
// (the caller checks the base name: see receiver.h's IsReservedName).
Status DecodePathWants(const Frame& f, std::vector<PathWant>* out);

// WantDeltaPath (streaming): one file by path, with its basis signature.
// sized: kHelloSizedSums was granted (see EncodeSignature).
std::string EncodeWantDeltaPath(const PathWant& w, const Signature& basis, bool sized);
Status DecodeWantDeltaPath(const Frame& f, bool sized, PathWant* w, Signature* basis);

// WantDelta: one file, with the signature of the client's basis for it.
std::string EncodeWantDelta(uint32_t index, const Signature& basis, bool sized);
Status DecodeWantDelta(const Frame& f, bool sized, uint32_t* index, Signature* basis);

// Copy: block_count blocks of the basis, from first_block on, come next.
std::string EncodeCopy(uint32_t first_block, uint32_t block_count);
Status DecodeCopy(const Frame& f, uint32_t* first_block, uint32_t* block_count);

struct Begin {
  uint32_t index = 0;
  uint64_t offset = 0;  // data starts at this byte of the file
};
std::string EncodeBegin(const Begin& b);
Status DecodeBegin(const Frame& f, Begin* b);

// End: the file as the server read it. hash covers the whole file, from
// byte 0, whatever the Begin offset was.
struct End {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint32_t mode = 0;
  Hash128 hash;
};
std::string EncodeEnd(const End& e);
Status DecodeEnd(const Frame& f, End* e);

// Hole: the next `bytes` bytes of the current file are zeros.
std::string EncodeHole(uint64_t bytes);
// A zero length is kProtocol.
Status DecodeHole(const Frame& f, uint64_t* bytes);

std::string EncodeFileError(uint32_t index, const std::string& message);
Status DecodeFileError(const Frame& f, uint32_t* index, std::string* message);

// Event (push): something the receiver did or found, for the pushing
// user's -v, -i, --json and progress.
struct Event {
  enum Kind : uint8_t { kChange = 1, kEntryError = 2, kWarning = 3, kProgress = 4 };
  Kind kind = kChange;
  uint8_t change = 0;     // kChange: report.h's Change
  EntryType type = EntryType::kFile;  // kChange
  uint64_t bytes = 0;     // kChange
  std::string path;       // kChange, kEntryError
  std::string message;    // kEntryError, kWarning
  uint64_t progress[4] = {0, 0, 0, 0};  // kProgress: bytes done, total, files done, total
};
std::string EncodeEvent(const Event& e);
// Messages come back Printable; paths as sent (the reporter prints them).
Status DecodeEvent(const Frame& f, Event* e);

// Summary (push): the receiver's totals and how its part ended. counts:
// kSummaryCounts values in report.h's PullStats order (files_total,
// files_transferred, files_skipped, files_deleted, dirs_created,
// dirs_deleted, symlinks_created, bytes_transferred, bytes_resumed, errors).
constexpr size_t kSummaryCounts = 10;
struct Summary {
  ErrorKind result = ErrorKind::kOk;  // kOk or kPartial; a failure is an Error frame
  std::string message;
  uint64_t counts[kSummaryCounts] = {};
};
std::string EncodeSummary(const Summary& s);
Status DecodeSummary(const Frame& f, Summary* s);

// The name of a frame's type, for "expected X, got Y" messages.
std::string FrameName(const Frame& f);

}  // namespace treesync

#endif  // TREESYNC_PROTOCOL_H_
