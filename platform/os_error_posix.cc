#include "os_error_posix.h"

#include <cstring>

namespace platform {

treesync::Status ErrnoStatus(treesync::ErrorKind kind, const std::string& what, int err) {
  return treesync::Status::Make(kind, what + ": " + std::strerror(err));
}

}  // namespace platform
