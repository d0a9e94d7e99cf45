#include "fs_meta.h"

#include <windows.h>
#include <winioctl.h>

#include <cstring>
#include <vector>

#include "os_error_win32.h"

namespace platform {

using treesync::ErrorKind;

namespace {

#ifndef SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE
#define SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE 0x2
#endif

// 100 ns ticks between 1601-01-01 (FILETIME's epoch) and 1970-01-01.
constexpr int64_t kEpochTicks = 116444736000000000LL;

Status IoError(const std::string& what, const std::string& path, DWORD err) {
  return WinErrorStatus(ErrorKind::kIo, what + " " + path, err);
}

Status BadName(const std::string& what, const std::string& path) {
  return Status::Io(what + " " + path + ": not valid UTF-8");
}

int64_t TicksToNs(int64_t ticks) { return (ticks - kEpochTicks) * 100; }

FILETIME NsToFileTime(int64_t ns) {
  int64_t ticks = ns / 100 - (ns % 100 < 0 ? 1 : 0) + kEpochTicks;
  if (ticks < 0) ticks = 0;  // before 1601: the earliest time Windows holds
  FILETIME ft;
  ft.dwLowDateTime = static_cast<DWORD>(static_cast<uint64_t>(ticks) & 0xffffffffu);
  ft.dwHighDateTime = static_cast<DWORD>(static_cast<uint64_t>(ticks) >> 32);
  return ft;
}

int64_t FileTimeTicks(const FILETIME& ft) {
  return static_cast<int64_t>((static_cast<uint64_t>(ft.dwHighDateTime) << 32) |
                              ft.dwLowDateTime);
}

// The type an entry's attributes and reparse tag describe. Symlinks are
// reported as such; junctions and other mount points are never followed.
FileType TypeOf(DWORD attributes, DWORD reparse_tag) {
  if (attributes & FILE_ATTRIBUTE_REPARSE_POINT) {
    if (reparse_tag == IO_REPARSE_TAG_SYMLINK) return FileType::kSymlink;
    if (reparse_tag == IO_REPARSE_TAG_MOUNT_POINT) return FileType::kOther;
  }
  if (attributes & FILE_ATTRIBUTE_DEVICE) return FileType::kOther;
  return (attributes & FILE_ATTRIBUTE_DIRECTORY) ? FileType::kDirectory : FileType::kRegular;
}

// Windows keeps no permission bits; these are what a POSIX peer expects.
uint32_t ModeOf(FileType type, DWORD attributes) {
  if (type == FileType::kDirectory) return 0755;
  return (attributes & FILE_ATTRIBUTE_READONLY) ? 0444 : 0644;
}

Status FillFromHandle(HANDLE h, const std::string& path, FileInfo* info) {
  BY_HANDLE_FILE_INFORMATION bh;
  if (!GetFileInformationByHandle(h, &bh)) return IoError("stat", path, GetLastError());
  DWORD tag = 0;
  if (bh.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) {
    FILE_ATTRIBUTE_TAG_INFO ti;
    // Unknown tag: treat it as a symlink, which is never followed.
    tag = GetFileInformationByHandleEx(h, FileAttributeTagInfo, &ti, sizeof ti)
              ? ti.ReparseTag
              : IO_REPARSE_TAG_SYMLINK;
  }
  info->type = TypeOf(bh.dwFileAttributes, tag);
  info->mode = ModeOf(info->type, bh.dwFileAttributes);
  info->size = info->type == FileType::kRegular
                   ? (static_cast<uint64_t>(bh.nFileSizeHigh) << 32) | bh.nFileSizeLow
                   : 0;
  info->mtime_ns = TicksToNs(FileTimeTicks(bh.ftLastWriteTime));
  FILE_BASIC_INFO basic;
  // ChangeTime moves on any write or attribute change, like POSIX ctime.
  info->ctime_ns = GetFileInformationByHandleEx(h, FileBasicInfo, &basic, sizeof basic)
                       ? TicksToNs(basic.ChangeTime.QuadPart)
                       : info->mtime_ns;
  info->device = bh.dwVolumeSerialNumber;
  info->inode = (static_cast<uint64_t>(bh.nFileIndexHigh) << 32) | bh.nFileIndexLow;
  info->links = bh.nNumberOfLinks;
  info->allocated = info->size;  // holes are not looked for here
  return Status::Ok();
}

// Opens path itself (a symlink, not its target; folders too) for metadata.
HANDLE OpenNoFollow(const std::wstring& w, DWORD access) {
  return CreateFileW(w.c_str(), access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                     nullptr, OPEN_EXISTING,
                     FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
}

bool IsMissing(DWORD err) {
  return err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND ||
         err == ERROR_INVALID_NAME || err == ERROR_BAD_PATHNAME || err == ERROR_DIRECTORY;
}

bool IsAbsolute(const std::string& p) {
  return (!p.empty() && (p[0] == '/' || p[0] == '\\')) || (p.size() >= 2 && p[1] == ':');
}

std::string ParentFolder(const std::string& path) {
  size_t slash = path.find_last_of("/\\");
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

// The layout of a symlink's reparse data (ntifs.h, not in the SDK headers).
struct SymlinkReparseData {
  ULONG tag;
  USHORT data_length;
  USHORT reserved;
  USHORT substitute_offset;
  USHORT substitute_length;
  USHORT print_offset;
  USHORT print_length;
  ULONG flags;  // 1: relative target
};
constexpr ULONG kSymlinkRelative = 1;

bool EqualsIgnoringCase(const std::string& a, const char* b) {
  if (a.size() != std::strlen(b)) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != b[i]) return false;
  }
  return true;
}

}  // namespace

std::filesystem::path FsPath(const std::string& path) {
  std::wstring w;
  if (!WidePath(path, &w)) return std::filesystem::u8path(path);  // fails later, with a message
  return std::filesystem::path(w);
}

// The find data lacks what Lstat gives (file IDs, the change time, whether
// a reparse point is a symlink), so each entry is asked on its own.
Status ListFolder(const std::string& path, std::vector<FolderEntry>* entries) {
  entries->clear();
  std::wstring w;
  if (!WidePath(path, &w)) return BadName("list", path);
  if (!w.empty() && w.back() != L'\\') w += L'\\';
  w += L'*';
  WIN32_FIND_DATAW d;
  HANDLE h = FindFirstFileExW(w.c_str(), FindExInfoBasic, &d, FindExSearchNameMatch, nullptr,
                              FIND_FIRST_EX_LARGE_FETCH);
  if (h == INVALID_HANDLE_VALUE) return IoError("list", path, GetLastError());
  do {
    std::wstring name = d.cFileName;
    if (name == L"." || name == L"..") continue;
    FolderEntry e;
    e.name = Narrow(name);
    Status st = Lstat(path + "/" + e.name, &e.info);
    if (!st.ok()) e.error = st.message();
    entries->push_back(std::move(e));
  } while (FindNextFileW(h, &d));
  DWORD err = GetLastError();
  FindClose(h);
  if (err != ERROR_NO_MORE_FILES) return IoError("list", path, err);
  return Status::Ok();
}

Status Lstat(const std::string& path, FileInfo* info) {
  *info = FileInfo();
  std::wstring w;
  if (!WidePath(path, &w)) return Status::Ok();  // no such name can exist here
  HANDLE h = OpenNoFollow(w, FILE_READ_ATTRIBUTES);
  if (h == INVALID_HANDLE_VALUE) {
    DWORD err = GetLastError();
    if (IsMissing(err)) return Status::Ok();
    // A file locked against opening (a page file) still has attributes.
    WIN32_FILE_ATTRIBUTE_DATA d;
    if (!GetFileAttributesExW(w.c_str(), GetFileExInfoStandard, &d)) {
      return IoError("stat", path, err);
    }
    info->type = TypeOf(d.dwFileAttributes, IO_REPARSE_TAG_SYMLINK);
    info->mode = ModeOf(info->type, d.dwFileAttributes);
    if (info->type == FileType::kRegular) {
      info->size = (static_cast<uint64_t>(d.nFileSizeHigh) << 32) | d.nFileSizeLow;
    }
    info->mtime_ns = info->ctime_ns = TicksToNs(FileTimeTicks(d.ftLastWriteTime));
    return Status::Ok();
  }
  Status s = FillFromHandle(h, path, info);
  CloseHandle(h);
  return s;
}

Status SetMtime(const std::string& path, int64_t mtime_ns) {
  std::wstring w;
  if (!WidePath(path, &w)) return BadName("set time of", path);
  HANDLE h = OpenNoFollow(w, FILE_WRITE_ATTRIBUTES);
  if (h == INVALID_HANDLE_VALUE) return IoError("set time of", path, GetLastError());
  FILETIME ft = NsToFileTime(mtime_ns);
  BOOL ok = SetFileTime(h, nullptr, nullptr, &ft);
  DWORD err = GetLastError();
  CloseHandle(h);
  if (!ok) return IoError("set time of", path, err);
  return Status::Ok();
}

Status SetMode(const std::string&, uint32_t) { return Status::Ok(); }

bool KeepsPermissionBits() { return false; }

int64_t MtimeGranularityNs() { return 100; }

uint32_t CreationMask() { return 0; }

bool NamesIgnoreCase() { return true; }

std::string LocalNameProblem(const std::string& name) {
  std::wstring unused;
  if (!Widen(name, &unused)) return "not valid UTF-8, which Windows names must be";
  for (unsigned char c : name) {
    if (c < 32) return "control characters are not allowed in Windows names";
    if (std::strchr("<>:\"/\\|?*", c) != nullptr) {
      return std::string("'") + static_cast<char>(c) + "' is not allowed in Windows names";
    }
  }
  if (name.back() == '.' || name.back() == ' ') {
    return "Windows names can't end in a dot or a space";
  }
  // Device names are reserved with any extension: "con.txt" is the console.
  std::string stem = name.substr(0, name.find('.'));
  while (!stem.empty() && stem.back() == ' ') stem.pop_back();
  static const char* const kReserved[] = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"};
  for (const char* r : kReserved) {
    if (EqualsIgnoringCase(stem, r)) return "'" + stem + "' is a reserved device name on Windows";
  }
  if (stem.size() == 4 && (EqualsIgnoringCase(stem.substr(0, 3), "COM") ||
                           EqualsIgnoringCase(stem.substr(0, 3), "LPT")) &&
      stem[3] >= '0' && stem[3] <= '9') {
    return "'" + stem + "' is a reserved device name on Windows";
  }
  return std::string();
}

bool MakesSpecialFiles() { return false; }

Status MakeSpecial(const std::string& path, FileType, uint32_t, uint32_t, uint32_t) {
  return Status::Io("create " + path + ": Windows has no FIFOs, sockets or device nodes");
}

Status MakeSymlink(const std::string& target, const std::string& path) {
  std::wstring wpath, wtarget;
  if (!WidePath(path, &wpath) || !Widen(target, &wtarget)) return BadName("symlink", path);
  for (wchar_t& c : wtarget) {
    if (c == L'/') c = L'\\';
  }
  // Windows links are of a file or of a folder; a dangling one is a file's.
  DWORD flags = SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE;
  std::wstring resolved;
  std::string where = IsAbsolute(target) ? target : ParentFolder(path) + "/" + target;
  if (WidePath(where, &resolved)) {
    DWORD a = GetFileAttributesW(resolved.c_str());
    if (a != INVALID_FILE_ATTRIBUTES && (a & FILE_ATTRIBUTE_DIRECTORY)) {
      flags |= SYMBOLIC_LINK_FLAG_DIRECTORY;
    }
  }
  BOOL ok = CreateSymbolicLinkW(wpath.c_str(), wtarget.c_str(), flags);
  if (!ok && GetLastError() == ERROR_INVALID_PARAMETER) {  // before Windows 10 1703
    flags &= ~static_cast<DWORD>(SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE);
    ok = CreateSymbolicLinkW(wpath.c_str(), wtarget.c_str(), flags);
  }
  if (!ok) return IoError("symlink", path, GetLastError());
  // Some hosts (Wine) report success and make nothing: say so rather than
  // count a link that is not there.
  FileInfo info;
  if (!Lstat(path, &info).ok() || info.type != FileType::kSymlink) {
    return Status::Io("symlink " + path + ": not supported here");
  }
  return Status::Ok();
}

Status ReadSymlink(const std::string& path, std::string* target) {
  std::wstring w;
  if (!WidePath(path, &w)) return BadName("readlink", path);
  HANDLE h = OpenNoFollow(w, FILE_READ_ATTRIBUTES);
  if (h == INVALID_HANDLE_VALUE) return IoError("readlink", path, GetLastError());
  std::vector<unsigned char> buf(MAXIMUM_REPARSE_DATA_BUFFER_SIZE);
  DWORD got = 0;
  BOOL ok = DeviceIoControl(h, FSCTL_GET_REPARSE_POINT, nullptr, 0, buf.data(),
                            static_cast<DWORD>(buf.size()), &got, nullptr);
  DWORD err = GetLastError();
  CloseHandle(h);
  if (!ok) return IoError("readlink", path, err);
  SymlinkReparseData d;
  if (got < sizeof d) return Status::Io("readlink " + path + ": short reparse data");
  std::memcpy(&d, buf.data(), sizeof d);
  if (d.tag != IO_REPARSE_TAG_SYMLINK) return Status::Io("readlink " + path + ": not a symlink");
  // The print name is the target as written; the substitute name is its
  // NT form ("\??\C:\..."), used only when there is no print name.
  size_t offset = d.print_length > 0 ? d.print_offset : d.substitute_offset;
  size_t length = d.print_length > 0 ? d.print_length : d.substitute_length;
  if (sizeof d + offset + length > got) return Status::Io("readlink " + path + ": bad reparse data");
  std::wstring wt(length / sizeof(wchar_t), L'\0');
  std::memcpy(&wt[0], buf.data() + sizeof d + offset, length);
  if (d.print_length == 0 && wt.compare(0, 4, L"\\??\\") == 0) wt.erase(0, 4);
  if (d.flags & kSymlinkRelative) {
    for (wchar_t& c : wt) {
      if (c == L'\\') c = L'/';  // relative targets travel in POSIX form
    }
  }
  *target = Narrow(wt);
  return Status::Ok();
}

Status MakeFolder(const std::string& path) {
  std::wstring w;
  if (!WidePath(path, &w)) return BadName("mkdir", path);
  if (CreateDirectoryW(w.c_str(), nullptr)) return Status::Ok();
  DWORD err = GetLastError();
  if (err == ERROR_ALREADY_EXISTS) {
    FileInfo info;
    if (Lstat(path, &info).ok() && info.type == FileType::kDirectory) return Status::Ok();
  }
  return IoError("mkdir", path, err);
}

Status RemoveEntry(const std::string& path) {
  std::wstring w;
  if (!WidePath(path, &w)) return Status::Ok();
  DWORD a = GetFileAttributesW(w.c_str());
  if (a == INVALID_FILE_ATTRIBUTES) {
    DWORD err = GetLastError();
    if (IsMissing(err)) return Status::Ok();
    return IoError("stat", path, err);
  }
  // A folder symlink or junction is removed as a folder, without following it.
  bool folder = (a & FILE_ATTRIBUTE_DIRECTORY) != 0;
  BOOL ok = folder ? RemoveDirectoryW(w.c_str()) : DeleteFileW(w.c_str());
  DWORD err = ok ? 0 : GetLastError();
  if (!ok && err == ERROR_ACCESS_DENIED && (a & FILE_ATTRIBUTE_READONLY)) {
    // Read-only files can't be deleted until the attribute goes.
    SetFileAttributesW(w.c_str(), a & ~static_cast<DWORD>(FILE_ATTRIBUTE_READONLY));
    ok = folder ? RemoveDirectoryW(w.c_str()) : DeleteFileW(w.c_str());
    err = ok ? 0 : GetLastError();
  }
  if (!ok && !IsMissing(err)) return IoError("remove", path, err);
  return Status::Ok();
}

Status Rename(const std::string& from, const std::string& to) {
  std::wstring wf, wt;
  if (!WidePath(from, &wf) || !WidePath(to, &wt)) return BadName("rename to", to);
  if (!MoveFileExW(wf.c_str(), wt.c_str(), MOVEFILE_REPLACE_EXISTING)) {
    return IoError("rename to", to, GetLastError());
  }
  return Status::Ok();
}

namespace {

HANDLE H(std::intptr_t fd) { return reinterpret_cast<HANDLE>(fd); }

// File::Open's flags on this side.
enum OpenFlags { kOpenRead, kOpenCreate, kOpenAppend };

// Largest single ReadFile/WriteFile: their counts are 32-bit.
constexpr size_t kMaxIo = 1u << 30;

}  // namespace

// A Windows folder handle can't be used to open names in it through this
// API, so Folder keeps its path and each call resolves the joined path.
Status Folder::Open(const std::string& path, bool follow_symlink, Folder* out) {
  FileInfo info;
  TS_RETURN_IF_ERROR(Lstat(path, &info));
  if (info.type == FileType::kSymlink && follow_symlink) {
    std::error_code ec;
    if (std::filesystem::is_directory(FsPath(path), ec)) info.type = FileType::kDirectory;
  }
  if (info.type != FileType::kDirectory) {
    return Status::Io("open folder " + path + ": not a folder");
  }
  Folder f;  // no handle: its path is all a Windows Folder holds
  f.path_ = path;
  *out = std::move(f);
  return Status::Ok();
}

Status Folder::OpenRead(const std::string& name, File* out) const {
  return File::Open(this, name, kOpenRead, "open", out);
}

Status Folder::CreateNew(const std::string& name, File* out, uint32_t mode) const {
  return File::Open(this, name, kOpenCreate, "create", out, mode);
}

Status Folder::Rename(const std::string& from, const std::string& to) const {
  return platform::Rename(PathOf(from), PathOf(to));
}

Status Folder::Link(const Folder& from, const std::string& from_name, const std::string& name,
                    LinkFailure* why) const {
  std::wstring existing, link;
  *why = LinkFailure::kOther;
  if (!WidePath(from.PathOf(from_name), &existing) || !WidePath(PathOf(name), &link)) {
    return BadName("hard link", PathOf(name));
  }
  if (CreateHardLinkW(link.c_str(), existing.c_str(), nullptr)) return Status::Ok();
  const DWORD err = GetLastError();
  if (err == ERROR_ALREADY_EXISTS || err == ERROR_FILE_EXISTS) *why = LinkFailure::kNameTaken;
  if (err == ERROR_TOO_MANY_LINKS) *why = LinkFailure::kTooManyLinks;
  if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND) *why = LinkFailure::kGone;
  return IoError("hard link", PathOf(name), err);
}

void Folder::Close() { fd_ = -1; }

Status File::Open(const Folder* in, const std::string& name, int flags, const char* what,
                  File* out, uint32_t) {
  const std::string path = in != nullptr ? in->PathOf(name) : name;
  std::wstring w;
  if (!WidePath(path, &w)) return BadName(what, path);
  DWORD access = GENERIC_READ;
  DWORD disposition = OPEN_EXISTING;
  DWORD share = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
  if (flags == kOpenCreate) {
    access = GENERIC_WRITE;
    disposition = CREATE_NEW;
    share = FILE_SHARE_READ | FILE_SHARE_DELETE;
  } else if (flags == kOpenAppend) {
    // Append data only (no FILE_WRITE_DATA), so every write lands at the end.
    access = GENERIC_READ | FILE_APPEND_DATA | FILE_WRITE_ATTRIBUTES;
    share = FILE_SHARE_READ | FILE_SHARE_DELETE;
  }
  // FILE_FLAG_OPEN_REPARSE_POINT: a symlink planted at the name is opened
  // as itself, then refused below, never followed.
  HANDLE h = CreateFileW(w.c_str(), access, share, nullptr, disposition,
                         FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT |
                             (flags == kOpenRead ? FILE_FLAG_SEQUENTIAL_SCAN : 0),
                         nullptr);
  if (h == INVALID_HANDLE_VALUE) return IoError(what, path, GetLastError());
  File f;
  f.fd_ = reinterpret_cast<std::intptr_t>(h);
  f.path_ = path;
  if (flags != kOpenCreate) {
    // One query for what was opened (callers Stat again for times and size).
    FILE_ATTRIBUTE_TAG_INFO ti;
    if (!GetFileInformationByHandleEx(h, FileAttributeTagInfo, &ti, sizeof ti)) {
      return IoError(what, path, GetLastError());
    }
    if (TypeOf(ti.FileAttributes, ti.ReparseTag) != FileType::kRegular) {
      return Status::Io(std::string(what) + " " + path + ": not a regular file");
    }
  }
  *out = std::move(f);
  return Status::Ok();
}

Status File::OpenRead(const std::string& path, File* out) {
  return Open(nullptr, path, kOpenRead, "open", out);
}

Status File::CreateNew(const std::string& path, File* out, uint32_t mode) {
  return Open(nullptr, path, kOpenCreate, "create", out, mode);
}

Status File::OpenAppend(const std::string& path, File* out) {
  return Open(nullptr, path, kOpenAppend, "open", out);
}

Status File::Read(void* buf, size_t n, size_t* got) {
  DWORD r = 0;
  if (!ReadFile(H(fd_), buf, static_cast<DWORD>(n < kMaxIo ? n : kMaxIo), &r, nullptr)) {
    DWORD err = GetLastError();
    if (err != ERROR_HANDLE_EOF) return IoError("read", path_, err);
  }
  *got = r;
  return Status::Ok();
}

Status File::ReadAt(uint64_t offset, void* buf, size_t n, size_t* got) {
  *got = 0;
  // A positioned ReadFile moves a synchronous handle's position: keep it.
  LARGE_INTEGER zero{}, saved{};
  if (!SetFilePointerEx(H(fd_), zero, &saved, FILE_CURRENT)) {
    return IoError("read", path_, GetLastError());
  }
  char* p = static_cast<char*>(buf);
  Status s;
  while (*got < n) {
    uint64_t at = offset + *got;
    OVERLAPPED ov{};
    ov.Offset = static_cast<DWORD>(at & 0xffffffffu);
    ov.OffsetHigh = static_cast<DWORD>(at >> 32);
    size_t want = n - *got < kMaxIo ? n - *got : kMaxIo;
    DWORD r = 0;
    if (!ReadFile(H(fd_), p + *got, static_cast<DWORD>(want), &r, &ov)) {
      DWORD err = GetLastError();
      if (err != ERROR_HANDLE_EOF) s = IoError("read", path_, err);
      break;
    }
    if (r == 0) break;
    *got += r;
  }
  SetFilePointerEx(H(fd_), saved, nullptr, FILE_BEGIN);
  return s;
}

Status File::Write(const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    DWORD w = 0;
    if (!WriteFile(H(fd_), p, static_cast<DWORD>(n < kMaxIo ? n : kMaxIo), &w, nullptr)) {
      return IoError("write", path_, GetLastError());
    }
    p += w;
    n -= w;
  }
  return Status::Ok();
}

Status File::Stat(FileInfo* info) {
  *info = FileInfo();
  return FillFromHandle(H(fd_), path_, info);
}

Status File::NextData(uint64_t offset, uint64_t size, uint64_t* begin, uint64_t* end) {
  // Sparse ranges are not asked for (FSCTL_QUERY_ALLOCATED_RANGES): all data.
  *begin = offset < size ? offset : size;
  *end = size;
  return Status::Ok();
}

Status File::ExtendTo(uint64_t size) {
  LARGE_INTEGER at;
  at.QuadPart = static_cast<LONGLONG>(size);
  if (!SetFilePointerEx(H(fd_), at, nullptr, FILE_BEGIN) || !SetEndOfFile(H(fd_))) {
    return IoError("extend", path_, GetLastError());
  }
  return Status::Ok();
}

Status File::SetMode(uint32_t) { return Status::Ok(); }

Status File::SetMtime(int64_t mtime_ns) {
  FILETIME ft = NsToFileTime(mtime_ns);
  if (!SetFileTime(H(fd_), nullptr, nullptr, &ft)) {
    return IoError("set time of", path_, GetLastError());
  }
  return Status::Ok();
}

Status File::Close() {
  if (fd_ < 0) return Status::Ok();
  BOOL ok = CloseHandle(H(fd_));
  fd_ = -1;
  if (!ok) return IoError("close", path_, GetLastError());
  return Status::Ok();
}

// No sharing makes the open itself the lock, and delete-on-close makes the
// file go with the handle, also when the holder dies.
Status FolderLock::TryLock(const std::string& folder, const std::string& name, FolderLock* out) {
  const std::string path =
      !folder.empty() && folder.back() == '/' ? folder + name : folder + "/" + name;
  std::wstring w;
  if (!WidePath(path, &w)) return BadName("lock", path);
  HANDLE h = CreateFileW(w.c_str(), GENERIC_READ | GENERIC_WRITE | DELETE, 0, nullptr,
                         OPEN_ALWAYS, FILE_ATTRIBUTE_HIDDEN | FILE_FLAG_DELETE_ON_CLOSE, nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    DWORD err = GetLastError();
    if (err == ERROR_SHARING_VIOLATION) {
      return Status::Refused("lock " + path + ": another treesync session is writing into " +
                             folder);
    }
    // Denied access means a folder we can't write, not a bad name: kIo.
    return Status::Io(IoError("lock", path, err).message());
  }
  out->Release();
  out->fd_ = reinterpret_cast<std::intptr_t>(h);
  out->path_ = path;
  return Status::Ok();
}

void FolderLock::Release() {
  if (fd_ < 0) return;
  CloseHandle(H(fd_));
  fd_ = -1;
}

}  // namespace platform
