#include "manifest.h"

#include "path.h"

namespace treesync {

const char* EntryTypeName(EntryType t) {
  switch (t) {
    case EntryType::kFolder: return "folder";
    case EntryType::kFile: return "file";
    case EntryType::kSymlink: return "symlink";
  }
  return "?";
}

FrameType EntryFrameType(EntryType t) {
  switch (t) {
    case EntryType::kFolder: return FrameType::kFolder;
    case EntryType::kSymlink: return FrameType::kSymlink;
    case EntryType::kFile: break;
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
  e->mode &= 07777;
  if (e->type == EntryType::kSymlink && e->target.empty()) {
    return Status::Protocol("symlink with an empty target: " + Printable(e->path));
  }
  if (e->target.find('\0') != std::string::npos) {
    return Status::Protocol("symlink target contains a NUL byte: " + Printable(e->path));
  }
  return CheckWirePath(e->path);
}

}  // namespace treesync
