#include "user_dirs.h"

#include <windows.h>

#include "os_error_win32.h"

namespace platform {

// %APPDATA% rather than SHGetKnownFolderPath: the same folder for a normal
// login, without pulling shell32 and ole32 into the link.
std::string UserConfigFolder() {
  DWORD n = GetEnvironmentVariableW(L"APPDATA", nullptr, 0);
  if (n == 0) return std::string();
  std::wstring w(n, L'\0');
  // n counted the terminating NUL; on success the call returns the length
  // without it. The variable may change in between, so check again.
  DWORD got = GetEnvironmentVariableW(L"APPDATA", &w[0], n);
  if (got == 0 || got >= n) return std::string();
  w.resize(got);
  while (!w.empty() && (w.back() == L'\\' || w.back() == L'/')) w.pop_back();
  if (w.empty()) return std::string();
  return Narrow(w) + "\\treesync";
}

}  // namespace platform
