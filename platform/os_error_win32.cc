#include "os_error_win32.h"

#include <winsock2.h>
#include <windows.h>

#include "error_hint.h"

namespace platform {

namespace {

treesync::OsProblem ProblemOf(unsigned long err) {
  using treesync::OsProblem;
  switch (err) {
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case WSAEACCES:
      return OsProblem::kAccessDenied;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
      return OsProblem::kNoSpace;
    case ERROR_WRITE_PROTECT:
      return OsProblem::kReadOnlyFileSystem;
    case WSAECONNREFUSED:
      return OsProblem::kConnectionRefused;
    case WSAEHOSTUNREACH:
    case WSAENETUNREACH:
      return OsProblem::kUnreachable;
    case ERROR_TOO_MANY_OPEN_FILES:
    case WSAEMFILE:
      return OsProblem::kTooManyOpenFiles;
    case ERROR_FILENAME_EXCED_RANGE:
      return OsProblem::kNameTooLong;
    case WSAEADDRINUSE:
      return OsProblem::kAddressInUse;
    default:
      return OsProblem::kNone;
  }
}

}  // namespace

treesync::Status WinErrorStatus(treesync::ErrorKind kind, const std::string& what,
                                unsigned long err) {
  wchar_t* text = nullptr;
  DWORD n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
                               FORMAT_MESSAGE_IGNORE_INSERTS,
                           nullptr, err, MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT),
                           reinterpret_cast<wchar_t*>(&text), 0, nullptr);
  std::string message;
  if (n > 0 && text != nullptr) {
    message = Narrow(std::wstring(text, n));
    // System messages end in ".\r\n"; our messages are one line.
    while (!message.empty() &&
           (message.back() == '\n' || message.back() == '\r' || message.back() == '.' ||
            message.back() == ' ')) {
      message.pop_back();
    }
  }
  if (text != nullptr) LocalFree(text);
  if (message.empty()) message = "error " + std::to_string(err);
  if (kind == treesync::ErrorKind::kIo &&
      (err == ERROR_FILENAME_EXCED_RANGE || err == ERROR_INVALID_NAME ||
       err == ERROR_ACCESS_DENIED || err == ERROR_BAD_PATHNAME)) {
    kind = treesync::ErrorKind::kLocalName;
  }
  return treesync::Status::Make(kind, what + ": " + message + treesync::WhatToDo(ProblemOf(err)));
}

bool Widen(const std::string& utf8, std::wstring* out) {
  out->clear();
  if (utf8.empty()) return true;
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(),
                              static_cast<int>(utf8.size()), nullptr, 0);
  if (n <= 0) return false;
  out->resize(static_cast<size_t>(n));
  MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(), static_cast<int>(utf8.size()),
                      &(*out)[0], n);
  return true;
}

std::string Narrow(const std::wstring& utf16) {
  if (utf16.empty()) return std::string();
  int n = WideCharToMultiByte(CP_UTF8, 0, utf16.data(), static_cast<int>(utf16.size()), nullptr,
                              0, nullptr, nullptr);
  if (n <= 0) return std::string();
  std::string out(static_cast<size_t>(n), '\0');
  WideCharToMultiByte(CP_UTF8, 0, utf16.data(), static_cast<int>(utf16.size()), &out[0], n,
                      nullptr, nullptr);
  return out;
}

bool WidePath(const std::string& path, std::wstring* out) {
  if (!Widen(path, out)) return false;
  for (wchar_t& c : *out) {
    if (c == L'/') c = L'\\';
  }
  // Short paths stay as given so relative names and the usual rules apply.
  if (out->size() < 240 || out->compare(0, 4, L"\\\\?\\") == 0) return true;
  DWORD n = GetFullPathNameW(out->c_str(), 0, nullptr, nullptr);
  if (n == 0) return true;  // let the call itself report the problem
  std::wstring full(n, L'\0');
  n = GetFullPathNameW(out->c_str(), n, &full[0], nullptr);
  full.resize(n);
  if (full.compare(0, 2, L"\\\\") == 0) {
    *out = L"\\\\?\\UNC\\" + full.substr(2);  // \\server\share\...
  } else {
    *out = L"\\\\?\\" + full;
  }
  return true;
}

}  // namespace platform
