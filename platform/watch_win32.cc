#include "watch.h"

#include <windows.h>

#include <cstddef>
#include <cstring>
#include <utility>
#include <vector>

#include "os_error_win32.h"

namespace platform {

using treesync::ErrorKind;

namespace {

constexpr DWORD kNotifyFilter = FILE_NOTIFY_CHANGE_FILE_NAME | FILE_NOTIFY_CHANGE_DIR_NAME |
                                FILE_NOTIFY_CHANGE_ATTRIBUTES | FILE_NOTIFY_CHANGE_SIZE |
                                FILE_NOTIFY_CHANGE_LAST_WRITE | FILE_NOTIFY_CHANGE_CREATION |
                                FILE_NOTIFY_CHANGE_SECURITY;

// ReadDirectoryChangesW fails with a larger buffer on a network share; 64
// KiB holds a few hundred changes, and the system keeps collecting into a
// buffer of the same size between our reads.
constexpr DWORD kBufferBytes = 64 * 1024;

// An 8.3 short name ("PROGRA~1", "LONGFI~2.TXT"). ReadDirectoryChangesW
// may report a name that has both forms in either one.
bool LooksShort(const std::wstring& name) {
  if (name.empty() || name.size() > 12) return false;
  size_t dot = name.find(L'.');
  size_t base = dot == std::wstring::npos ? name.size() : dot;
  if (base > 8 || (dot != std::wstring::npos && name.size() - dot - 1 > 3)) return false;
  size_t tilde = name.find(L'~');
  if (tilde == std::wstring::npos || tilde == 0 || tilde + 1 >= base) return false;
  if (name[tilde + 1] < L'0' || name[tilde + 1] > L'9') return false;
  for (wchar_t c : name) {
    if (c >= L'a' && c <= L'z') return false;  // short names are upper case
  }
  return true;
}

// The '\'-separated components of a relative name.
std::vector<std::wstring> Components(const std::wstring& rel) {
  std::vector<std::wstring> out;
  size_t start = 0;
  for (;;) {
    size_t end = rel.find(L'\\', start);
    out.push_back(rel.substr(start, end == std::wstring::npos ? std::wstring::npos : end - start));
    if (end == std::wstring::npos) return out;
    start = end + 1;
  }
}

// Narrow() would turn an unpaired surrogate into U+FFFD, naming a
// different entry than the one that changed.
bool IsValidUtf16(const std::wstring& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    wchar_t c = s[i];
    if (c >= 0xD800 && c <= 0xDBFF) {
      if (i + 1 >= s.size() || s[i + 1] < 0xDC00 || s[i + 1] > 0xDFFF) return false;
      ++i;
    } else if (c >= 0xDC00 && c <= 0xDFFF) {
      return false;
    }
  }
  return true;
}

class DirectoryWatcher : public TreeWatcher {
 public:
  DirectoryWatcher(std::string root, HANDLE dir, HANDLE event)
      : root_(std::move(root)), dir_(dir), event_(event), buffer_(kBufferBytes / sizeof(DWORD)) {}

  ~DirectoryWatcher() override {
    if (pending_) {
      // The system writes into buffer_ until the read is done: wait for the
      // cancelled read to finish before the buffer goes.
      CancelIoEx(dir_, &overlapped_);
      DWORD unused = 0;
      GetOverlappedResult(dir_, &overlapped_, &unused, TRUE);
    }
    CloseHandle(event_);
    CloseHandle(dir_);
  }
  DirectoryWatcher(const DirectoryWatcher&) = delete;
  DirectoryWatcher& operator=(const DirectoryWatcher&) = delete;

  // Starts the next read of changes.
  Status Issue() {
    ResetEvent(event_);
    std::memset(&overlapped_, 0, sizeof overlapped_);
    overlapped_.hEvent = event_;
    if (!ReadDirectoryChangesW(dir_, buffer_.data(), kBufferBytes, TRUE, kNotifyFilter, nullptr,
                               &overlapped_, nullptr)) {
      return WinErrorStatus(ErrorKind::kIo, "watch " + root_, GetLastError())
          .Prefixed("change notifications");
    }
    pending_ = true;
    return Status::Ok();
  }

  Status Wait(int timeout_ms, std::vector<WatchEvent>* events) override {
    if (!broken_.ok()) return broken_;
    // A deadline already passed means "don't wait", not INFINITE.
    DWORD wait = timeout_ms < 0 ? 0 : static_cast<DWORD>(timeout_ms);
    DWORD r = WaitForSingleObject(event_, wait);
    if (r == WAIT_TIMEOUT) return Status::Ok();
    if (r != WAIT_OBJECT_0) {
      return Broken(WinErrorStatus(ErrorKind::kIo, "wait for changes in " + root_, GetLastError()),
                    events);
    }
    DWORD bytes = 0;
    DWORD err = 0;
    if (!GetOverlappedResult(dir_, &overlapped_, &bytes, FALSE)) err = GetLastError();
    if (err == ERROR_IO_INCOMPLETE) return Status::Ok();
    pending_ = false;
    if (err != 0 && err != ERROR_NOTIFY_ENUM_DIR) {
      return Broken(WinErrorStatus(ErrorKind::kIo, "watch " + root_, err), events);
    }
    // Copy the changes out and read again at once: the less time between
    // reads, the less likely the system's own buffer overflows meanwhile.
    std::vector<DWORD> data;
    if (err == 0) data.assign(buffer_.begin(), buffer_.begin() + (bytes + 3) / sizeof(DWORD));
    Status s = Issue();
    overflow_reported_ = false;
    // No bytes: more changed than fitted, and the system dropped them all.
    if (err == ERROR_NOTIFY_ENUM_DIR || bytes == 0) {
      Overflow(events);
    } else {
      Translate(reinterpret_cast<const unsigned char*>(data.data()), bytes, events);
    }
    if (!s.ok()) return Broken(s, events);
    return Status::Ok();
  }

 private:
  Status Broken(Status s, std::vector<WatchEvent>* events) {
    Overflow(events);  // for a caller that looks only at the events
    broken_ = s;
    return s;
  }

  void Emit(WatchEvent::Kind kind, std::string path, std::vector<WatchEvent>* events) {
    WatchEvent e;
    e.kind = kind;
    e.path = std::move(path);
    events->push_back(std::move(e));
  }

  void Overflow(std::vector<WatchEvent>* events) {
    if (overflow_reported_) return;  // once per Wait says it all
    overflow_reported_ = true;
    Emit(WatchEvent::kOverflow, std::string(), events);
  }

  void Translate(const unsigned char* data, DWORD size, std::vector<WatchEvent>* events) {
    const size_t header = offsetof(FILE_NOTIFY_INFORMATION, FileName);
    size_t pos = 0;
    for (;;) {
      if (pos + header > size) return Overflow(events);
      const FILE_NOTIFY_INFORMATION* info =
          reinterpret_cast<const FILE_NOTIFY_INFORMATION*>(data + pos);
      if (pos + header + info->FileNameLength > size) return Overflow(events);
      std::wstring name(info->FileName, info->FileNameLength / sizeof(WCHAR));
      Handle(info->Action, name, events);
      if (info->NextEntryOffset == 0) return;
      pos += info->NextEntryOffset;
    }
  }

  void Handle(DWORD action, std::wstring name, std::vector<WatchEvent>* events) {
    if (name.empty() || !IsValidUtf16(name)) return Overflow(events);
    const bool removed = action == FILE_ACTION_REMOVED || action == FILE_ACTION_RENAMED_OLD_NAME;
    if (!ExpandShortNames(&name, removed)) return Overflow(events);
    std::string path = Narrow(name);
    for (char& c : path) {
      if (c == '\\') c = '/';
    }
    switch (action) {
      case FILE_ACTION_ADDED:
      case FILE_ACTION_RENAMED_NEW_NAME: {
        // A folder made or moved in; a symlink or junction to one is an
        // entry like a file, never followed.
        std::wstring full;
        DWORD attrs = WidePath(root_ + "/" + path, &full) ? GetFileAttributesW(full.c_str())
                                                          : INVALID_FILE_ATTRIBUTES;
        bool folder = attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY) &&
                      !(attrs & FILE_ATTRIBUTE_REPARSE_POINT);
        return Emit(folder ? WatchEvent::kFolderAdded : WatchEvent::kChanged, std::move(path),
                    events);
      }
      case FILE_ACTION_MODIFIED:
        // Windows has no "closed after writing": every write is a change.
        // On a folder this is mostly noise (its listing changed, which the
        // entries' own events report); the caller sorts that out.
        return Emit(WatchEvent::kChanged, std::move(path), events);
      case FILE_ACTION_REMOVED:
      case FILE_ACTION_RENAMED_OLD_NAME: return Emit(WatchEvent::kRemoved, std::move(path), events);
      default: return Overflow(events);
    }
  }

  // Replaces 8.3 components of the relative name with their long names.
  // False if there is one that can't be looked up (the entry is gone, as
  // it always is for a removal): the event can't be mapped to its path.
  bool ExpandShortNames(std::wstring* name, bool removed) {
    std::vector<std::wstring> parts = Components(*name);
    bool any = false;
    for (const std::wstring& p : parts) any = any || LooksShort(p);
    if (!any) return true;
    if (removed) return false;
    std::wstring full;
    if (!WidePath(root_ + "/" + Narrow(*name), &full)) return false;
    DWORD n = GetLongPathNameW(full.c_str(), nullptr, 0);
    if (n == 0) return false;
    std::wstring expanded(n, L'\0');
    n = GetLongPathNameW(full.c_str(), &expanded[0], n);
    if (n == 0 || n >= expanded.size()) return false;
    expanded.resize(n);
    // The same number of trailing components, now long: the relative name.
    std::vector<std::wstring> long_parts = Components(expanded);
    if (long_parts.size() < parts.size()) return false;
    std::wstring out;
    for (size_t i = long_parts.size() - parts.size(); i < long_parts.size(); ++i) {
      if (!out.empty()) out += L'\\';
      out += long_parts[i];
    }
    *name = std::move(out);
    return true;
  }

  const std::string root_;
  const HANDLE dir_;
  const HANDLE event_;
  OVERLAPPED overlapped_;
  // DWORDs: the entries ReadDirectoryChangesW writes are DWORD-aligned.
  std::vector<DWORD> buffer_;
  bool pending_ = false;
  bool overflow_reported_ = false;
  // Set when an error made the watcher untrustworthy; every Wait returns it.
  Status broken_;
};

}  // namespace

Status WatchTree(const std::string& root, std::unique_ptr<TreeWatcher>* out) {
  std::wstring w;
  if (!WidePath(root, &w)) return Status::Io("watch " + root + ": not valid UTF-8");
  HANDLE dir = CreateFileW(
      w.c_str(), FILE_LIST_DIRECTORY, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
      nullptr, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OVERLAPPED, nullptr);
  if (dir == INVALID_HANDLE_VALUE) {
    // kIo, as the header promises, even for access denied.
    return Status::Io(WinErrorStatus(ErrorKind::kIo, "watch " + root, GetLastError()).message());
  }
  BY_HANDLE_FILE_INFORMATION info;
  if (!GetFileInformationByHandle(dir, &info) ||
      !(info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
    CloseHandle(dir);
    return Status::Io("watch " + root + ": not a folder");
  }
  // Manual reset: the event stays signalled until the next read starts.
  HANDLE event = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (event == nullptr) {
    Status s =
        Status::Io(WinErrorStatus(ErrorKind::kIo, "watch " + root, GetLastError()).message());
    CloseHandle(dir);
    return s;
  }
  std::unique_ptr<DirectoryWatcher> watcher(new DirectoryWatcher(root, dir, event));
  Status s = watcher->Issue();
  if (!s.ok()) return Status::Io(s.message());
  *out = std::move(watcher);
  return Status::Ok();
}

}  // namespace platform
