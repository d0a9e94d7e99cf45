#include "os_error_posix.h"

#include <cerrno>
#include <cstring>

namespace platform {

treesync::Status ErrnoStatus(treesync::ErrorKind kind, const std::string& what, int err) {
  if (kind == treesync::ErrorKind::kIo &&
      (err == ENAMETOOLONG || err == EILSEQ || err == EACCES || err == EPERM || err == EINVAL)) {
    kind = treesync::ErrorKind::kLocalName;
  }
  return treesync::Status::Make(kind, what + ": " + std::strerror(err));
}

}  // namespace platform
