#include "xattrs.h"

#include <sys/types.h>
#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>

#include "os_error_posix.h"

namespace platform {

namespace {

Status XattrError(const std::string& what, const std::string& path, int err) {
  return ErrnoStatus(treesync::ErrorKind::kIo, what + " " + path, err);
}

// A file system without attributes, or a path they don't apply to.
bool Unsupported(int err) { return err == ENOTSUP || err == EOPNOTSUPP; }

}  // namespace

bool HasXattrs() { return true; }

Status ListXattrs(const std::string& path, std::vector<Xattr>* out) {
  out->clear();
  std::string names;
  // The list may grow between the two calls: try again then.
  for (int attempt = 0; attempt < 4; ++attempt) {
    ssize_t n = ::llistxattr(path.c_str(), nullptr, 0);
    if (n < 0) return Unsupported(errno) ? Status::Ok() : XattrError("list attributes of", path, errno);
    if (n == 0) return Status::Ok();
    names.resize(static_cast<size_t>(n));
    n = ::llistxattr(path.c_str(), &names[0], names.size());
    if (n >= 0) {
      names.resize(static_cast<size_t>(n));
      break;
    }
    if (errno != ERANGE) return XattrError("list attributes of", path, errno);
    names.clear();
  }
  for (size_t at = 0; at < names.size();) {
    size_t end = names.find('\0', at);
    if (end == std::string::npos) end = names.size();
    Xattr x;
    x.name = names.substr(at, end - at);
    at = end + 1;
    if (x.name.empty()) continue;
    ssize_t n = ::lgetxattr(path.c_str(), x.name.c_str(), nullptr, 0);
    if (n < 0) {
      if (errno == ENODATA) continue;  // removed meanwhile
      return XattrError("read attribute " + x.name + " of", path, errno);
    }
    x.value.resize(static_cast<size_t>(n));
    n = ::lgetxattr(path.c_str(), x.name.c_str(), n > 0 ? &x.value[0] : nullptr, x.value.size());
    if (n < 0) {
      if (errno == ENODATA) continue;
      return XattrError("read attribute " + x.name + " of", path, errno);
    }
    x.value.resize(static_cast<size_t>(n));
    out->push_back(std::move(x));
  }
  std::sort(out->begin(), out->end(), [](const Xattr& a, const Xattr& b) { return a.name < b.name; });
  return Status::Ok();
}

Status SetXattr(const std::string& path, const Xattr& attr) {
  if (::lsetxattr(path.c_str(), attr.name.c_str(), attr.value.data(), attr.value.size(), 0) < 0) {
    return XattrError("set attribute " + attr.name + " of", path, errno);
  }
  return Status::Ok();
}

Status RemoveXattr(const std::string& path, const std::string& name) {
  if (::lremovexattr(path.c_str(), name.c_str()) < 0 && errno != ENODATA) {
    return XattrError("remove attribute " + name + " of", path, errno);
  }
  return Status::Ok();
}

}  // namespace platform
