#include "manifest.h"

#include <algorithm>
#include <cstring>

#include "path.h"

namespace treesync {

namespace {

// The first byte of a packed entry: the entry type in the low two bits,
// then flags.
constexpr uint8_t kTypeMask = 3;
constexpr uint8_t kHasHash = 4;   // a File: 16 hash bytes follow its size
constexpr uint8_t kSameMode = 8;  // the mode is the previous entry's (omitted)
// With the Owners flag: an owner record follows the mode (uid, user name,
// gid, group name); without it the owner is the previous entry's.
constexpr uint8_t kNewOwner = 16;
// With the Specials flag: type bits 0, a special file (its kind after the
// mtime, then a device's numbers).
constexpr uint8_t kSpecialEntry = 32;
// With the Xattrs flag: the entry's attributes follow its type's fields.
constexpr uint8_t kHasXattrs = 64;
// With the HardLinks flag, on a File: a link record follows its size and
// hash (0 and the names for a group's first name, else 1 + the first
// name's listing index).
constexpr uint8_t kHasLink = 128;

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Signed differences as zigzag, so small ones of either sign stay short.
uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ (v < 0 ? ~0ull : 0); }
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1)); }

// Reads fields of a packed payload; after the first failure every read fails.
class PackedReader {
 public:
  PackedReader(const char* p, size_t n) : p_(reinterpret_cast<const uint8_t*>(p)), n_(n) {}
  bool AtEnd() const { return pos_ == n_; }
  bool failed() const { return failed_; }
  bool U8(uint8_t* v) {
    if (failed_ || pos_ >= n_) return Fail();
    *v = p_[pos_++];
    return true;
  }
  // At most 10 bytes, and the tenth may only hold the top bit.
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b;
      if (!U8(&b)) return false;
      if (shift == 63 && b > 1) return Fail();
      *v |= uint64_t(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return Fail();
  }
  // A varint length of at most max, then that many bytes appended to *s.
  bool Append(std::string* s, uint64_t max) {
    uint64_t len;
    if (!Varint(&len) || len > max || len > n_ - pos_) return Fail();
    s->append(reinterpret_cast<const char*>(p_ + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return true;
  }
  bool Raw(uint8_t* out, size_t len) {
    if (failed_ || len > n_ - pos_) return Fail();
    std::memcpy(out, p_ + pos_, len);
    pos_ += len;
    return true;
  }

 private:
  bool Fail() {
    failed_ = true;
    return false;
  }
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  bool failed_ = false;
};

// The checks every entry gets, whichever frame it came in.
Status CheckEntry(Entry* e) {
  e->mode &= 07777;
  if (e->type == EntryType::kSymlink && e->target.empty()) {
    return Status::Protocol("symlink with an empty target: " + Printable(e->path));
  }
  if (e->user.find('\0') != std::string::npos || e->group.find('\0') != std::string::npos) {
    return Status::Protocol("owner or group name contains a NUL byte: " + Printable(e->path));
  }
  if (e->target.find('\0') != std::string::npos) {
    return Status::Protocol("symlink target contains a NUL byte: " + Printable(e->path));
  }
  return CheckWirePath(e->path);
}

}  // namespace

const char kTempPrefix[] = ".treesync-";
const char kTempSuffix[] = ".tmp";
const char kLockName[] = ".treesync-lock";

bool IsTempName(const std::string& name) {
  const size_t prefix = sizeof kTempPrefix - 1, suffix = sizeof kTempSuffix - 1;
  if (name.size() != prefix + 16 + suffix) return false;
  if (name.compare(0, prefix, kTempPrefix) != 0) return false;
  if (name.compare(name.size() - suffix, suffix, kTempSuffix) != 0) return false;
  for (size_t i = prefix; i < prefix + 16; ++i) {
    char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

namespace {

std::string AsciiLower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

}  // namespace

bool IsLockName(const std::string& name) { return AsciiLower(name) == kLockName; }

bool IsReservedName(const std::string& name) {
  std::string lower = AsciiLower(name);
  return IsTempName(lower) || lower == kLockName;
}

std::string TempNameFor(const Entry& e) {
  static const char kHex[] = "0123456789abcdef";
  PayloadWriter key;
  key.Bytes(BaseName(e.path));
  key.U64(e.size);
  key.I64(e.mtime_ns);
  uint64_t h = Xxh3_128(key.data().data(), key.data().size()).low;
  std::string name = kTempPrefix;
  for (int i = 0; i < 16; ++i) name += kHex[(h >> (60 - 4 * i)) & 15];
  return name + kTempSuffix;
}

const char* EntryTypeName(EntryType t) {
  switch (t) {
    case EntryType::kFolder: return "folder";
    case EntryType::kFile: return "file";
    case EntryType::kSymlink: return "symlink";
    case EntryType::kSpecial: return "special file";
  }
  return "?";
}

FrameType EntryFrameType(EntryType t) {
  switch (t) {
    case EntryType::kFolder: return FrameType::kFolder;
    case EntryType::kSymlink: return FrameType::kSymlink;
    case EntryType::kFile:
    case EntryType::kSpecial:  // none of its own: listed only packed
      break;
  }
  return FrameType::kFile;
}

std::string EncodeEntry(const Entry& e) {
  PayloadWriter w;
  w.Bytes(e.path);
  w.U32(e.mode);
  w.I64(e.mtime_ns);
  if (e.type == EntryType::kFile) w.U64(e.size);
  if (e.type == EntryType::kSymlink) w.Bytes(e.target);
  if (e.type == EntryType::kFile && e.has_hash) {
    uint8_t h[16];
    Hash128ToBytes(e.hash, h);
    w.Raw(h, sizeof h);
  }
  return w.Take();
}

Status DecodeEntry(const Frame& f, Entry* e) {
  *e = Entry();
  switch (f.type) {
    case FrameType::kFolder: e->type = EntryType::kFolder; break;
    case FrameType::kFile: e->type = EntryType::kFile; break;
    case FrameType::kSymlink: e->type = EntryType::kSymlink; break;
    default:
      return Status::Protocol("expected an entry, got a " +
                              FrameTypeName(static_cast<uint8_t>(f.type)) + " frame");
  }
  const std::string name = FrameTypeName(static_cast<uint8_t>(f.type));
  PayloadReader r(f.payload, name.c_str());
  r.Bytes(&e->path, kMaxPathBytes);
  r.U32(&e->mode);
  r.I64(&e->mtime_ns);
  if (e->type == EntryType::kFile) r.U64(&e->size);
  if (e->type == EntryType::kSymlink) r.Bytes(&e->target, kMaxLinkTargetBytes);
  if (e->type == EntryType::kFile && !r.AtEnd()) {
    uint8_t h[16];
    if (r.Raw(h, sizeof h)) {
      e->hash = Hash128FromBytes(h);
      e->has_hash = true;
    }
  }
  TS_RETURN_IF_ERROR(r.Finish());
  return CheckEntry(e);
}

void EntryPacker::Add(const Entry& e) {
  size_t shared = 0;
  size_t most = std::min(prev_path_.size(), e.path.size());
  while (shared < most && prev_path_[shared] == e.path[shared]) ++shared;
  uint8_t head = e.type == EntryType::kSpecial ? kSpecialEntry : static_cast<uint8_t>(e.type);
  if (e.type == EntryType::kFile && e.has_hash) head |= kHasHash;
  if (!out_.empty() && e.mode == prev_mode_) head |= kSameMode;
  const bool new_owner = owners_ && (out_.empty() || e.uid != prev_uid_ || e.gid != prev_gid_ ||
                                     e.user != prev_user_ || e.group != prev_group_);
  if (new_owner) head |= kNewOwner;
  if (!e.xattrs.empty()) head |= kHasXattrs;
  if (e.type == EntryType::kFile && e.has_link) head |= kHasLink;
  out_.push_back(static_cast<char>(head));
  PutVarint(&out_, shared);
  PutVarint(&out_, e.path.size() - shared);
  out_.append(e.path, shared, std::string::npos);
  if (!(head & kSameMode)) PutVarint(&out_, e.mode);
  if (new_owner) {
    PutVarint(&out_, e.uid);
    PutVarint(&out_, e.user.size());
    out_ += e.user;
    PutVarint(&out_, e.gid);
    PutVarint(&out_, e.group.size());
    out_ += e.group;
    prev_uid_ = e.uid;
    prev_gid_ = e.gid;
    prev_user_ = e.user;
    prev_group_ = e.group;
  }
  // Two's complement difference: wraps, and unwraps, the same on both ends.
  PutVarint(&out_, ZigZag(static_cast<int64_t>(static_cast<uint64_t>(e.mtime_ns) -
                                               static_cast<uint64_t>(prev_mtime_ns_))));
  if (e.type == EntryType::kFile) {
    PutVarint(&out_, e.size);
    if (e.has_hash) {
      uint8_t h[16];
      Hash128ToBytes(e.hash, h);
      out_.append(reinterpret_cast<const char*>(h), sizeof h);
    }
    if (e.has_link && e.link_first == kLinkFirst) {
      PutVarint(&out_, 0);
      PutVarint(&out_, e.link_names);
    } else if (e.has_link) {
      PutVarint(&out_, uint64_t(e.link_first) + 1);
    }
  }
  if (e.type == EntryType::kSymlink) {
    PutVarint(&out_, e.target.size());
    out_ += e.target;
  }
  if (e.type == EntryType::kSpecial) {
    PutVarint(&out_, static_cast<uint8_t>(e.special));
    if (IsDevice(e.special)) {
      PutVarint(&out_, e.rdev_major);
      PutVarint(&out_, e.rdev_minor);
    }
  }
  if (!e.xattrs.empty()) {
    PutVarint(&out_, e.xattrs.size());
    for (const platform::Xattr& x : e.xattrs) {
      PutVarint(&out_, x.name.size());
      out_ += x.name;
      PutVarint(&out_, x.value.size());
      out_ += x.value;
    }
  }
  prev_path_.assign(e.path);
  prev_mode_ = e.mode;
  prev_mtime_ns_ = e.mtime_ns;
}

std::string EntryPacker::Take() {
  prev_path_.clear();
  prev_mode_ = 0;
  prev_mtime_ns_ = 0;
  std::string out;
  out.swap(out_);
  return out;
}

size_t XattrBytes(const Entry& e) {
  size_t n = 0;
  for (const platform::Xattr& x : e.xattrs) n += x.name.size() + x.value.size();
  return n;
}

Status DecodeEntries(const char* data, size_t n, const std::function<Status(Entry& e)>& visit,
                     bool owners, bool specials, bool xattrs, bool links) {
  if (n == 0) return Status::Protocol("bad Entries frame: empty");
  PackedReader r(data, n);
  std::string prev_path;
  uint32_t prev_mode = 0;
  int64_t prev_mtime_ns = 0;
  uint64_t uid = 0, gid = 0;
  std::string user, group;
  bool first = true;
  while (!r.AtEnd()) {
    Entry e;
    uint8_t head = 0;
    uint64_t shared = 0, mode = prev_mode, mtime_diff = 0;
    r.U8(&head);
    uint8_t type = head & kTypeMask;
    const uint8_t known =
        kTypeMask | kHasHash | kSameMode | (owners ? kNewOwner : 0) |
        (specials ? kSpecialEntry : 0) | (xattrs ? kHasXattrs : 0) | (links ? kHasLink : 0);
    const bool special = (head & kSpecialEntry) != 0;
    if (r.failed() || (type == 0) != special || (head & ~known) != 0 ||
        ((head & (kHasHash | kHasLink)) && type != static_cast<uint8_t>(EntryType::kFile)) ||
        ((head & kSameMode) && first) || (owners && first && !(head & kNewOwner))) {
      return Status::Protocol("bad Entries frame: bad entry header");
    }
    e.type = special ? EntryType::kSpecial : static_cast<EntryType>(type);
    if (!r.Varint(&shared) || shared > prev_path.size()) {
      return Status::Protocol("bad Entries frame: shares more than the previous path");
    }
    e.path.assign(prev_path, 0, static_cast<size_t>(shared));
    r.Append(&e.path, kMaxPathBytes - shared);
    if (!(head & kSameMode)) r.Varint(&mode);
    if (head & kNewOwner) {
      user.clear();
      group.clear();
      r.Varint(&uid);
      bool names = r.Append(&user, kMaxOwnerNameBytes);
      r.Varint(&gid);
      names = names && r.Append(&group, kMaxOwnerNameBytes);
      if (!names) {
        return Status::Protocol("bad Entries frame: an owner or group name over " +
                                std::to_string(kMaxOwnerNameBytes) + " bytes, or truncated");
      }
      if (uid > 0xFFFFFFFFu || gid > 0xFFFFFFFFu) {
        return Status::Protocol("bad Entries frame: owner or group number out of range");
      }
    }
    if (owners) {
      e.has_owner = true;
      e.uid = static_cast<uint32_t>(uid);
      e.gid = static_cast<uint32_t>(gid);
      e.user = user;
      e.group = group;
    }
    r.Varint(&mtime_diff);
    if (e.type == EntryType::kFile) {
      r.Varint(&e.size);
      uint8_t h[16];
      if ((head & kHasHash) && r.Raw(h, sizeof h)) {
        e.hash = Hash128FromBytes(h);
        e.has_hash = true;
      }
      uint64_t link = 0, names = 0;
      if ((head & kHasLink) && r.Varint(&link)) {
        if (link == 0 && (!r.Varint(&names) || names < 2 || names > 0xFFFFFFFFu)) {
          return Status::Protocol("bad Entries frame: a link group's first name with fewer "
                                  "than 2 names, or too many");
        }
        if (link > 0xFFFFFFFFu) {
          return Status::Protocol("bad Entries frame: link index out of range");
        }
        e.has_link = true;
        e.link_first = link == 0 ? kLinkFirst : static_cast<uint32_t>(link - 1);
        e.link_names = static_cast<uint32_t>(names);
      }
    }
    if (e.type == EntryType::kSymlink) r.Append(&e.target, kMaxLinkTargetBytes);
    uint64_t kind = 0, rdev_major = 0, rdev_minor = 0;
    if (special) {
      r.Varint(&kind);
      if (kind < 1 || kind > 4) return Status::Protocol("bad Entries frame: unknown special file");
      e.special = static_cast<SpecialKind>(kind);
      if (IsDevice(e.special)) {
        r.Varint(&rdev_major);
        r.Varint(&rdev_minor);
      }
      if (rdev_major > 0xFFFFFFFFu || rdev_minor > 0xFFFFFFFFu) {
        return Status::Protocol("bad Entries frame: device number out of range");
      }
      e.rdev_major = static_cast<uint32_t>(rdev_major);
      e.rdev_minor = static_cast<uint32_t>(rdev_minor);
    }
    if (head & kHasXattrs) {
      uint64_t count = 0;
      size_t bytes = 0;
      if (!r.Varint(&count) || count == 0 || count > kMaxXattrs) {
        return Status::Protocol("bad Entries frame: attribute count out of range");
      }
      for (uint64_t i = 0; i < count; ++i) {
        platform::Xattr x;
        if (!r.Append(&x.name, kMaxXattrNameBytes) || !r.Append(&x.value, kMaxXattrValueBytes) ||
            x.name.empty() || x.name.find('\0') != std::string::npos) {
          return Status::Protocol("bad Entries frame: an attribute too long, empty or truncated");
        }
        bytes += x.name.size() + x.value.size();
        if (bytes > kMaxXattrBytes) {
          return Status::Protocol("bad Entries frame: attributes over " +
                                  std::to_string(kMaxXattrBytes) + " bytes");
        }
        if (!e.xattrs.empty() && !(e.xattrs.back().name < x.name)) {
          return Status::Protocol("bad Entries frame: attributes out of order or repeated");
        }
        e.xattrs.push_back(std::move(x));
      }
    }
    if (r.failed() || mode > 0xFFFFFFFFu) {
      return Status::Protocol("bad Entries frame: truncated or out-of-range field");
    }
    e.mode = static_cast<uint32_t>(mode);
    e.mtime_ns = static_cast<int64_t>(static_cast<uint64_t>(prev_mtime_ns) +
                                      static_cast<uint64_t>(UnZigZag(mtime_diff)));
    prev_path = e.path;
    prev_mode = e.mode;
    prev_mtime_ns = e.mtime_ns;
    first = false;
    TS_RETURN_IF_ERROR(CheckEntry(&e));
    TS_RETURN_IF_ERROR(visit(e));
  }
  return Status::Ok();
}

}  // namespace treesync
