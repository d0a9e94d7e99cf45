// File metadata and file handles beyond what std::filesystem offers:
// lstat-style info with nanosecond times, setting times without following
// symlinks, permission bits, symlinks, and raw binary file handles.
#ifndef TREESYNC_PLATFORM_FS_META_H_
#define TREESYNC_PLATFORM_FS_META_H_

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "status.h"

namespace platform {

using treesync::Status;

// kFifo to kBlockDevice: special files, never opened (POSIX only).
enum class FileType {
  kMissing, kRegular, kDirectory, kSymlink, kFifo, kSocket, kCharDevice, kBlockDevice, kOther
};

struct FileInfo {
  FileType type = FileType::kMissing;
  uint32_t mode = 0;       // permission bits (0777 and friends)
  uint64_t size = 0;
  int64_t mtime_ns = 0;    // nanoseconds since the Unix epoch
  int64_t ctime_ns = 0;    // status change time: moves on any write or
                           // metadata change and can't be set back
  uint64_t device = 0;     // with inode: identity of the file
  uint64_t inode = 0;
  uint64_t links = 1;      // names the file has (hard links)
  // Bytes the file takes on disk (POSIX st_blocks × 512; the size where the
  // OS doesn't say): less than size means it has holes.
  uint64_t allocated = 0;
  uint32_t uid = 0, gid = 0;  // owner and group (0 where the OS has none)
  uint32_t rdev_major = 0, rdev_minor = 0;  // devices: the device they stand for
};

// Paths here are native byte strings (UTF-8 on Windows), as used on the wire
// after joining with the target folder.

// The std::filesystem path for a native path. Use it, never fs::u8path, so
// that Windows gets the long-path form and deep trees list correctly.
std::filesystem::path FsPath(const std::string& path);

struct FolderEntry {
  std::string name;
  FileInfo info;      // as Lstat gives it; kMissing if it vanished meanwhile
  std::string error;  // why its info couldn't be read, or ""
};
// The entries of folder `path` (not "." or ".."), in no particular order,
// each with its Lstat info. POSIX reads the info relative to the open
// folder, which spares resolving the whole path once per entry; Windows
// uses the wide find API, since MinGW's directory_iterator can't open paths
// past MAX_PATH.
Status ListFolder(const std::string& path, std::vector<FolderEntry>* entries);

// Information about path itself, not following a final symlink. A missing
// path is OK with info->type == kMissing.
Status Lstat(const std::string& path, FileInfo* info);
// Sets the modification time of path, not following a final symlink.
Status SetMtime(const std::string& path, int64_t mtime_ns);
// Sets permission bits (07777 honoured: set-uid, set-gid and sticky too);
// no-op where not supported.
Status SetMode(const std::string& path, uint32_t mode);
// Whether names that differ only in the case of ASCII letters are one name
// here (Windows), so such siblings can't both be held.
bool NamesIgnoreCase();
// Why this OS can't hold a file or folder named `name` (one path component
// as it came off the wire), or "" if it can. POSIX takes any byte but '/'
// and NUL; Windows refuses reserved characters and device names.
std::string LocalNameProblem(const std::string& name);
// Whether files here keep permission bits. Where they don't (Windows) the
// bits still travel on the wire but are neither stored nor compared.
bool KeepsPermissionBits();
// How finely this OS stores modification times, in nanoseconds (1 on POSIX,
// 100 on Windows): times that agree to this step are the same time.
int64_t MtimeGranularityNs();
// The bits a new file's mode loses on creation (the umask on POSIX, 0 where
// there is none). Call before starting threads that create files.
uint32_t CreationMask();
// Creates a symlink at path pointing at target (not checked).
Status MakeSymlink(const std::string& target, const std::string& path);
// Creates a FIFO, socket or device node (type kFifo to kBlockDevice) at
// path with permission bits mode & 0777 less the umask. Devices need root.
// kIo where the OS has no such files (Windows).
Status MakeSpecial(const std::string& path, FileType type, uint32_t mode, uint32_t major,
                   uint32_t minor);
// Whether MakeSpecial can work here (POSIX; not Windows).
bool MakesSpecialFiles();
// Reads the target of the symlink at path.
Status ReadSymlink(const std::string& path, std::string* target);
// Creates one folder (parent must exist); OK if it already is a folder.
Status MakeFolder(const std::string& path);
// Removes a file, symlink or empty folder; OK if already missing.
Status RemoveEntry(const std::string& path);
// Atomically replaces `to` with `from` (same folder).
Status Rename(const std::string& from, const std::string& to);

// What File and Folder share: an OS handle (a POSIX fd or a Windows
// HANDLE) and the path it was opened by, for messages. Move-only; the
// derived class's Close() releases the handle, and its destructor calls it.
template <typename Owner>
class OwnedHandle {
 public:
  OwnedHandle(const OwnedHandle&) = delete;
  OwnedHandle& operator=(const OwnedHandle&) = delete;

 protected:
  OwnedHandle() = default;
  ~OwnedHandle() = default;
  OwnedHandle(OwnedHandle&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
  OwnedHandle& operator=(OwnedHandle&& o) noexcept {
    if (this != &o) {
      static_cast<Owner*>(this)->Close();
      fd_ = o.fd_;
      path_ = std::move(o.path_);
      o.fd_ = -1;
    }
    return *this;
  }

  std::intptr_t fd_ = -1;
  std::string path_;
};

class File;

// An open folder in which files are created and renamed by name, so each
// call resolves one path component instead of the whole path (POSIX: a
// descriptor and the *at calls; Windows joins the path). Move-only, closed
// by its destructor.
class Folder : public OwnedHandle<Folder> {
 public:
  Folder() = default;
  ~Folder() { Close(); }
  Folder(Folder&&) noexcept = default;
  Folder& operator=(Folder&&) noexcept = default;

  // Opens the folder at path. Unless follow_symlink, a symlink there is
  // refused (kIo) rather than followed.
  static Status Open(const std::string& path, bool follow_symlink, Folder* out);
  const std::string& path() const { return path_; }
  // The whole path of `name` in this folder.
  std::string PathOf(const std::string& name) const {
    return !path_.empty() && path_.back() == '/' ? path_ + name : path_ + "/" + name;
  }
  // File::OpenRead for `name` in this folder.
  Status OpenRead(const std::string& name, File* out) const;
  // File::CreateNew for `name` in this folder.
  Status CreateNew(const std::string& name, File* out, uint32_t mode) const;
  // Rename for two names in this folder.
  Status Rename(const std::string& from, const std::string& to) const;
  // Why a Link failed, where the caller can do better than report it.
  enum class LinkFailure { kOther, kNameTaken, kTooManyLinks, kGone };
  // Makes `name` in this folder a new hard link of `from_name` in folder
  // from (a symlink there is linked as itself, never followed). On failure
  // *why says whether name was taken, the file has its most names, or
  // from_name is not there.
  Status Link(const Folder& from, const std::string& from_name, const std::string& name,
              LinkFailure* why) const;
  void Close();

 private:
  friend class File;
};

// A binary file handle; move-only, closed by its destructor.
class File : public OwnedHandle<File> {
 public:
  File() = default;
  ~File() { Close(); }
  File(File&&) noexcept = default;
  File& operator=(File&&) noexcept = default;

  // Opens an existing file for reading, refusing to follow a final symlink.
  static Status OpenRead(const std::string& path, File* out);
  // Creates a new file for writing; fails if path exists (no symlink is ever
  // followed). Permissions start as mode & 0777 less the process's umask.
  static Status CreateNew(const std::string& path, File* out, uint32_t mode = 0600);
  // Opens an existing regular file for reading and appending (resume), not
  // following a final symlink.
  static Status OpenAppend(const std::string& path, File* out);

  bool valid() const { return fd_ >= 0; }
  // Reads up to n bytes; *got == 0 at end of file.
  Status Read(void* buf, size_t n, size_t* got);
  // Reads up to n bytes at offset, leaving the file position alone;
  // *got < n only at end of file.
  Status ReadAt(uint64_t offset, void* buf, size_t n, size_t* got);
  // Writes all n bytes.
  Status Write(const void* buf, size_t n);
  // Info about the open file (size and mtime at this moment).
  Status Stat(FileInfo* info);
  // Where the data at or after offset lies: [*begin, *end) is the next run
  // of data (POSIX SEEK_DATA/SEEK_HOLE), everything in [offset, *begin) a
  // hole. Past the last data, *begin == *end == size. Where the OS or file
  // system can't tell, the whole rest of the file is data.
  Status NextData(uint64_t offset, uint64_t size, uint64_t* begin, uint64_t* end);
  // Makes the file `size` bytes long, the new bytes a hole (zeros that take
  // no disk where the file system can), and moves the write position to
  // its end. REQUIRES: size >= the current size.
  Status ExtendTo(uint64_t size);
  // Sets the open file's permission bits (07777 honoured; no-op where the
  // OS has none) and modification time. Set the time after the last write.
  Status SetMode(uint32_t mode);
  Status SetMtime(int64_t mtime_ns);
  Status Close();

 private:
  friend class Folder;
  // Opens path (a name in *in when in is not null) with OS flags; defined
  // by each platform file.
  static Status Open(const Folder* in, const std::string& path, int flags, const char* what,
                     File* out, uint32_t mode = 0600);
};

// An exclusive hold on a folder among treesync sessions, in this process or
// any other, so two sessions never write one tree at once. It lives in a
// lock file in the folder, named by the caller, which the holder removes
// as it lets go (POSIX: flock, re-checked against the name after locking so
// a file removed meanwhile is not mistaken for the lock; Windows: a file
// opened for no sharing, deleted on close). A holder that dies lets go
// too. Move-only; released by its destructor.
class FolderLock {
 public:
  FolderLock() = default;
  ~FolderLock() { Release(); }
  FolderLock(FolderLock&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
  FolderLock& operator=(FolderLock&& o) noexcept {
    if (this != &o) {
      Release();
      fd_ = o.fd_;
      path_ = std::move(o.path_);
      o.fd_ = -1;
    }
    return *this;
  }
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

  // Takes the hold on folder through the file `name` in it, never waiting:
  // kRefused when another session holds it; kIo when the lock file can't
  // be made (a read-only folder).
  static Status TryLock(const std::string& folder, const std::string& name, FolderLock* out);
  bool held() const { return fd_ >= 0; }
  // Removes the lock file and lets go; a no-op when not held.
  void Release();

 private:
  std::intptr_t fd_ = -1;
  std::string path_;
};

}  // namespace platform

#endif  // TREESYNC_PLATFORM_FS_META_H_
