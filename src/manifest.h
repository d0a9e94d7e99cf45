// Manifest entries: what the server lists (folders, files, symlinks) and how
// an entry travels in a Folder/File/Symlink frame.
#ifndef TREESYNC_MANIFEST_H_
#define TREESYNC_MANIFEST_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "frame.h"
#include "status.h"
#include "xxh3.h"

namespace treesync {

enum class EntryType : uint8_t { kFolder = 1, kFile = 2, kSymlink = 3 };

// Most entries one listing may hold. Each costs the client roughly 150
// bytes, so this caps a hostile listing near 600 MiB while leaving room for
// trees far larger than any we have met.
constexpr uint32_t kMaxEntries = 1u << 22;

struct Entry {
  std::string path;        // wire path, relative to the served folder
  EntryType type = EntryType::kFile;
  uint32_t mode = 0;       // permission bits, 0777 honoured
  int64_t mtime_ns = 0;    // modification time, ns since the Unix epoch
  uint64_t size = 0;       // files only
  std::string target;      // symlinks only: the link's text, not checked
  bool has_hash = false;   // files only: content hash known (--checksum)
  Hash128 hash;
};

const char* EntryTypeName(EntryType t);  // "folder", "file", "symlink"
FrameType EntryFrameType(EntryType t);

// The payload of e's listing frame (see docs/PROTOCOL.md).
std::string EncodeEntry(const Entry& e);
// Decodes a Folder/File/Symlink frame; checks the path rules (path.h) and
// every length. Errors are kProtocol.
Status DecodeEntry(const Frame& f, Entry* e);

// An Entries payload gets no more entries once it holds this many bytes:
// large enough that frame headers are noise (~1,500 small entries), small
// enough that the client starts on the listing while the walk goes on.
constexpr size_t kPackedListingBytes = 16 * 1024;

// Packs entries into Entries payloads (docs/PROTOCOL.md, "Packed
// listing"): each path as the bytes it shares with the previous entry's
// plus the rest, numbers as varints, the mtime as a difference, the mode
// only when it changes. A payload never exceeds kPackedListingBytes plus
// one entry (about 8 KiB at most), far below kMaxFramePayload.
class EntryPacker {
 public:
  // Appends e. REQUIRES: e passed the checks DecodeEntry makes.
  void Add(const Entry& e);
  bool full() const { return out_.size() >= kPackedListingBytes; }
  bool empty() const { return out_.empty(); }
  // The payload so far; the next entry starts a new one, sharing nothing.
  std::string Take();

 private:
  std::string out_;
  std::string prev_path_;
  uint32_t prev_mode_ = 0;
  int64_t prev_mtime_ns_ = 0;
};

// Decodes an Entries payload, handing each entry to visit in order. Every
// entry is checked as DecodeEntry checks it; a malformed one (a shared
// prefix longer than the previous path, an overlong varint, unknown flag
// bits, a truncated field) is kProtocol. Stops at the first error, the
// visitor's included.
Status DecodeEntries(const char* data, size_t n, const std::function<Status(Entry& e)>& visit);

}  // namespace treesync

#endif  // TREESYNC_MANIFEST_H_
