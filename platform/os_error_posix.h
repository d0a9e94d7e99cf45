// Turns errno into a Status: the one place POSIX error numbers become ours.
#ifndef TREESYNC_PLATFORM_OS_ERROR_POSIX_H_
#define TREESYNC_PLATFORM_OS_ERROR_POSIX_H_

#include <string>

#include "status.h"

namespace platform {

// A Status of the given kind saying "<what>: <strerror(err)>"; the message
// names the operation and object. A kIo error that is about the one name
// (ENAMETOOLONG, EILSEQ, EACCES, EPERM, EINVAL) becomes kLocalName; ENOSPC
// and friends stay kIo.
treesync::Status ErrnoStatus(treesync::ErrorKind kind, const std::string& what,
                             int err);

}  // namespace platform

#endif  // TREESYNC_PLATFORM_OS_ERROR_POSIX_H_
