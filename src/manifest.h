// Manifest entries: what the server lists (folders, files, symlinks) and how
// an entry travels in a Folder/File/Symlink frame.
#ifndef TREESYNC_MANIFEST_H_
#define TREESYNC_MANIFEST_H_

#include <cstdint>
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

}  // namespace treesync

#endif  // TREESYNC_MANIFEST_H_
