// Turns errno into a Status: the one place POSIX error numbers become ours.
#ifndef TREESYNC_PLATFORM_OS_ERROR_POSIX_H_
#define TREESYNC_PLATFORM_OS_ERROR_POSIX_H_

#include <string>

#include "status.h"

namespace platform {

// A Status of the given kind saying "<what>: <strerror(err)>". ENOSPC and
// friends stay of kind `kind`; the message names the operation and object.
treesync::Status ErrnoStatus(treesync::ErrorKind kind, const std::string& what,
                             int err);

}  // namespace platform

#endif  // TREESYNC_PLATFORM_OS_ERROR_POSIX_H_
