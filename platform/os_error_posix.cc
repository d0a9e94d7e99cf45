#include "os_error_posix.h"

#include <cerrno>
#include <cstring>

#include "error_hint.h"

namespace platform {

namespace {

treesync::OsProblem ProblemOf(int err) {
  using treesync::OsProblem;
  switch (err) {
    case EACCES:
    case EPERM:
      return OsProblem::kAccessDenied;
    case ENOSPC:
      return OsProblem::kNoSpace;
    case EDQUOT:
      return OsProblem::kQuota;
    case EROFS:
      return OsProblem::kReadOnlyFileSystem;
    case ECONNREFUSED:
      return OsProblem::kConnectionRefused;
    case EHOSTUNREACH:
    case ENETUNREACH:
      return OsProblem::kUnreachable;
    case EMFILE:
    case ENFILE:
      return OsProblem::kTooManyOpenFiles;
    case ENAMETOOLONG:
      return OsProblem::kNameTooLong;
    case EADDRINUSE:
      return OsProblem::kAddressInUse;
    default:
      return OsProblem::kNone;
  }
}

}  // namespace

treesync::Status ErrnoStatus(treesync::ErrorKind kind, const std::string& what, int err) {
  if (kind == treesync::ErrorKind::kIo &&
      (err == ENAMETOOLONG || err == EILSEQ || err == EACCES || err == EPERM || err == EINVAL)) {
    kind = treesync::ErrorKind::kLocalName;
  }
  return treesync::Status::Make(kind, what + ": " + std::strerror(err) +
                                          treesync::WhatToDo(ProblemOf(err)));
}

}  // namespace platform
