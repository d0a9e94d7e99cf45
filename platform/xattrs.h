// Extended attributes (POSIX ACLs among them, as system.posix_acl_*), of a
// path itself: a symlink's own, never its target's.
#ifndef TREESYNC_PLATFORM_XATTRS_H_
#define TREESYNC_PLATFORM_XATTRS_H_

#include <string>
#include <vector>

#include "status.h"

namespace platform {

using treesync::Status;

struct Xattr {
  std::string name;   // with its namespace: "user.comment"
  std::string value;  // bytes
  bool operator==(const Xattr& o) const { return name == o.name && value == o.value; }
};

// Whether this OS has extended attributes (POSIX: Linux; not Windows).
bool HasXattrs();
// The attributes of path, sorted by name. A file system without them gives
// none (OK).
Status ListXattrs(const std::string& path, std::vector<Xattr>* out);
// Sets (creating or replacing) or removes one attribute of path.
Status SetXattr(const std::string& path, const Xattr& attr);
Status RemoveXattr(const std::string& path, const std::string& name);

}  // namespace platform

#endif  // TREESYNC_PLATFORM_XATTRS_H_
