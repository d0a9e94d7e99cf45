// The Win32 side's shared helpers: the one place Windows error codes
// (GetLastError, WSAGetLastError) become our Status, and the conversions
// between our UTF-8 paths and the UTF-16 the Windows API takes.
#ifndef TREESYNC_PLATFORM_OS_ERROR_WIN32_H_
#define TREESYNC_PLATFORM_OS_ERROR_WIN32_H_

#include <string>

#include "status.h"

namespace platform {

// A Status of the given kind saying "<what>: <the system's message for err>",
// for a GetLastError() or WSAGetLastError() code. A kIo error about the one
// name (too long, invalid, access denied) becomes kLocalName.
treesync::Status WinErrorStatus(treesync::ErrorKind kind, const std::string& what,
                                unsigned long err);

// UTF-8 to UTF-16; false if utf8 is not valid UTF-8.
bool Widen(const std::string& utf8, std::wstring* out);
// UTF-16 to UTF-8 (unpaired surrogates become U+FFFD).
std::string Narrow(const std::wstring& utf16);

// A path for the wide file API: '/' becomes '\', and a path too long for
// MAX_PATH is made absolute under the "\\?\" prefix, which lifts the limit.
// False if path is not valid UTF-8.
bool WidePath(const std::string& path, std::wstring* out);

}  // namespace platform

#endif  // TREESYNC_PLATFORM_OS_ERROR_WIN32_H_
