#include "xattrs.h"

namespace platform {

// NTFS has extended attributes and streams, but nothing a POSIX name maps
// onto: none are read, and setting one says so.
bool HasXattrs() { return false; }

Status ListXattrs(const std::string&, std::vector<Xattr>* out) {
  out->clear();
  return Status::Ok();
}

Status SetXattr(const std::string& path, const Xattr& attr) {
  return Status::Io("set attribute " + attr.name + " of " + path + ": not on Windows");
}

Status RemoveXattr(const std::string& path, const std::string& name) {
  return Status::Io("remove attribute " + name + " of " + path + ": not on Windows");
}

}  // namespace platform
