// Manifest entries: what the server lists (folders, files, symlinks) and how
// an entry travels in a Folder/File/Symlink frame.
#ifndef TREESYNC_MANIFEST_H_
#define TREESYNC_MANIFEST_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "frame.h"
#include "status.h"
#include "xattrs.h"
#include "xxh3.h"

namespace treesync {

// kSpecial: a FIFO, socket or device node, listed only with the Specials
// flag (docs/PROTOCOL.md, "Special files").
enum class EntryType : uint8_t { kFolder = 1, kFile = 2, kSymlink = 3, kSpecial = 4 };
// What a kSpecial entry is.
enum class SpecialKind : uint8_t { kFifo = 1, kSocket = 2, kCharDevice = 3, kBlockDevice = 4 };
inline bool IsDevice(SpecialKind k) {
  return k == SpecialKind::kCharDevice || k == SpecialKind::kBlockDevice;
}

// Most entries a listing may hold when the sender must keep an index of it
// (a session that is not streaming, the legacy server): each costs roughly
// 150 bytes there. A streaming listing holds up to kMaxStreamedEntries,
// what ListEnd's count can say, since nobody keeps it whole.
constexpr uint32_t kMaxEntries = 1u << 22;
constexpr uint32_t kMaxStreamedEntries = 0xffffffffu;

struct Entry {
  std::string path;        // wire path, relative to the served folder
  EntryType type = EntryType::kFile;
  uint32_t mode = 0;       // permission bits, 0777 honoured
  int64_t mtime_ns = 0;    // modification time, ns since the Unix epoch
  uint64_t size = 0;       // files only
  std::string target;      // symlinks only: the link's text, not checked
  bool has_hash = false;   // files only: content hash known (--checksum)
  Hash128 hash;
  // Owner and group (with the Owners flag): numbers as the sender has
  // them, and their names there ("" when it has none, or --numeric-ids).
  bool has_owner = false;
  uint32_t uid = 0, gid = 0;
  std::string user, group;
  // Extended attributes (with the Xattrs flag), sorted by name.
  std::vector<platform::Xattr> xattrs;
  // kSpecial only: what it is, and for a device the device it stands for.
  SpecialKind special = SpecialKind::kFifo;
  uint32_t rdev_major = 0, rdev_minor = 0;
  // Files only, with the HardLinks flag (docs/PROTOCOL.md, "Hard links"):
  // the entry is a name of a file that has other names in the listing.
  // link_first: kLinkFirst for the group's first name, which then gives
  // link_names (the names the file has on the sender, at least 2); else
  // the listing index of the group's first name.
  bool has_link = false;
  uint32_t link_first = 0;
  uint32_t link_names = 0;
  // The sender's own: the file's identity and its number of names, as the
  // walk found them (never sent).
  uint64_t device = 0, inode = 0, links = 1;
};

// Entry::link_first of a link group's first name.
constexpr uint32_t kLinkFirst = 0xFFFFFFFFu;

// Longest user or group name a listing may carry.
constexpr size_t kMaxOwnerNameBytes = 255;
// Extended attributes of one entry, at most: this many, names this long,
// values this long, and this many bytes of names and values in all (the
// listing credit counts them, so they never pass a sixteenth of it).
constexpr size_t kMaxXattrs = 1024;
constexpr size_t kMaxXattrNameBytes = 255;
constexpr size_t kMaxXattrValueBytes = 64 * 1024;
constexpr size_t kMaxXattrBytes = 128 * 1024;
// The bytes e's attributes take: names and values.
size_t XattrBytes(const Entry& e);

// A file being received lives under kTempPrefix + 16 hex digits +
// kTempSuffix in its own folder until it is complete and verified. The hex
// digits derive from the file's name, size and mtime on the sender, so a
// pull that was cut off finds its partial data again (resume); any other
// such name is a leftover and is removed.
extern const char kTempPrefix[];
extern const char kTempSuffix[];
// Whether base_name is exactly a temporary name as TempNameFor makes them.
bool IsTempName(const std::string& base_name);
// The lock file a receiver holds in its target folder while it writes
// there (platform::FolderLock), so two sessions never write one tree.
extern const char kLockName[];
// Whether base_name is kLockName in any letter case.
bool IsLockName(const std::string& base_name);
// Whether base_name is a temporary name or the lock file's, in any letter
// case: never listed by a sender (another session's work in progress) and
// refused by a receiver (a case-blind file system would take it for one of
// its own).
bool IsReservedName(const std::string& base_name);

struct Entry;
// The temporary name (base name only) for receiving entry e.
std::string TempNameFor(const Entry& e);

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
  // owners: the Owners flag was granted, so every entry carries its owner
  // and group (written only where they change).
  explicit EntryPacker(bool owners = false) : owners_(owners) {}
  // Appends e. REQUIRES: e passed the checks DecodeEntry makes; a kSpecial
  // entry only in a session that granted the Specials flag.
  void Add(const Entry& e);
  bool full() const { return out_.size() >= kPackedListingBytes; }
  bool empty() const { return out_.empty(); }
  // The payload so far; the next entry starts a new one, sharing nothing.
  std::string Take();

 private:
  bool owners_;
  std::string out_;
  std::string prev_path_;
  uint32_t prev_mode_ = 0;
  int64_t prev_mtime_ns_ = 0;
  uint32_t prev_uid_ = 0, prev_gid_ = 0;
  std::string prev_user_, prev_group_;
};

// Decodes an Entries payload, handing each entry to visit in order. Every
// entry is checked as DecodeEntry checks it; a malformed one (a shared
// prefix longer than the previous path, an overlong varint, unknown flag
// bits, a truncated field) is kProtocol. Stops at the first error, the
// visitor's included. owners: the Owners flag was granted: each entry has
// an owner (a name over kMaxOwnerNameBytes is kProtocol, and so is a first
// entry without one); without it an owner record is a bad header.
// specials: the Specials flag was granted; without it a special entry is a
// bad header. xattrs: likewise for attributes, which must keep the limits
// above and come sorted by name, each name once. links: likewise for link
// records, on files only, a first name's with at least 2 names (whether a
// later name's index names an entry already listed is the receiver's check).
Status DecodeEntries(const char* data, size_t n, const std::function<Status(Entry& e)>& visit,
                     bool owners = false, bool specials = false, bool xattrs = false,
                     bool links = false);

}  // namespace treesync

#endif  // TREESYNC_MANIFEST_H_
