// What a user can do about the OS errors they meet most, said once for
// every OS: platform/ maps its own error numbers onto these, and adds the
// advice to the message ("create /data/x: Permission denied (run as ...)").
#ifndef TREESYNC_ERROR_HINT_H_
#define TREESYNC_ERROR_HINT_H_

namespace treesync {

enum class OsProblem {
  kNone,
  kAccessDenied,
  kNoSpace,
  kQuota,
  kReadOnlyFileSystem,
  kConnectionRefused,
  kUnreachable,
  kTooManyOpenFiles,
  kNameTooLong,
  kAddressInUse,
};

// The advice for problem, in parentheses with a leading space, or "".
inline const char* WhatToDo(OsProblem problem) {
  switch (problem) {
    case OsProblem::kNone:
      return "";
    case OsProblem::kAccessDenied:
      return " (run as a user allowed there, such as the folder's owner, or use another folder)";
    case OsProblem::kNoSpace:
      return " (free some space there, or use another disk)";
    case OsProblem::kQuota:
      return " (this user's disk quota is used up)";
    case OsProblem::kReadOnlyFileSystem:
      return " (that file system is mounted read-only)";
    case OsProblem::kConnectionRefused:
      return " (is treesync serve running there, on that port? the default is 1234)";
    case OsProblem::kUnreachable:
      return " (check the host's name or address, and the network between)";
    case OsProblem::kTooManyOpenFiles:
      return " (raise the open-files limit: ulimit -n)";
    case OsProblem::kNameTooLong:
      return " (a name or path longer than this file system takes)";
    case OsProblem::kAddressInUse:
      return " (another program has that port: choose another with --port)";
  }
  return "";
}

}  // namespace treesync

#endif  // TREESYNC_ERROR_HINT_H_
