// Wire paths: relative, '/'-separated byte strings. Everything a peer sends
// is checked here before it gets near the file system.
#ifndef TREESYNC_PATH_H_
#define TREESYNC_PATH_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "status.h"

namespace treesync {

// Longest wire path we accept: Linux's PATH_MAX. Longer ones could not be
// opened on most hosts anyway, and the bound caps listing memory.
constexpr size_t kMaxPathBytes = 4096;
// Longest symlink target we send or accept (PATH_MAX again).
constexpr size_t kMaxLinkTargetBytes = 4096;

// OK when p is a safe relative path: non-empty, at most kMaxPathBytes, no
// NUL, not absolute, no empty, "." or ".." component. Otherwise a kProtocol
// error naming the problem.
Status CheckWirePath(const std::string& p);
// "a/b/c" -> "a/b"; "a" -> "".
std::string ParentOf(const std::string& p);
// "a/b/c" -> "c".
std::string BaseName(const std::string& p);
// A name in a folder, as a wire path ("" is the root: the name itself).
std::string JoinRel(const std::string& folder, const std::string& name);
// root joined with a wire path ("" gives root).
std::string JoinPath(const std::string& root, const std::string& rel);
// A printable form of a path for messages: control characters (C0, DEL and
// the C1 range U+0080..U+009F), backslashes and invalid UTF-8 escaped byte
// by byte as \xNN (a backslash as \\), so a hostile name can't rewrite the
// terminal.
std::string Printable(const std::string& p);
// Length of the valid UTF-8 sequence starting at s[i] (1 for ASCII), or 0
// if the bytes there are not valid UTF-8.
size_t Utf8SequenceLength(const std::string& s, size_t i);

}  // namespace treesync

#endif  // TREESYNC_PATH_H_
