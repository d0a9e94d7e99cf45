#include "fs_meta.h"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "os_error_posix.h"

namespace platform {

using treesync::ErrorKind;

namespace {

Status IoError(const std::string& what, const std::string& path, int err) {
  return ErrnoStatus(ErrorKind::kIo, what + " " + path, err);
}

void FillInfo(const struct stat& st, FileInfo* info) {
  if (S_ISREG(st.st_mode)) {
    info->type = FileType::kRegular;
  } else if (S_ISDIR(st.st_mode)) {
    info->type = FileType::kDirectory;
  } else if (S_ISLNK(st.st_mode)) {
    info->type = FileType::kSymlink;
  } else if (S_ISFIFO(st.st_mode)) {
    info->type = FileType::kFifo;
  } else if (S_ISSOCK(st.st_mode)) {
    info->type = FileType::kSocket;
  } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    info->type = S_ISCHR(st.st_mode) ? FileType::kCharDevice : FileType::kBlockDevice;
    info->rdev_major = static_cast<uint32_t>(major(st.st_rdev));
    info->rdev_minor = static_cast<uint32_t>(minor(st.st_rdev));
  } else {
    info->type = FileType::kOther;
  }
  info->mode = static_cast<uint32_t>(st.st_mode & 07777);
  info->size = static_cast<uint64_t>(st.st_size);
  info->mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  info->ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  info->device = static_cast<uint64_t>(st.st_dev);
  info->inode = static_cast<uint64_t>(st.st_ino);
  info->links = static_cast<uint64_t>(st.st_nlink);
  info->allocated = static_cast<uint64_t>(st.st_blocks) * 512;
  info->uid = static_cast<uint32_t>(st.st_uid);
  info->gid = static_cast<uint32_t>(st.st_gid);
}

// utimensat's pair: access time left alone, modification time set.
void MtimeSpec(int64_t mtime_ns, timespec ts[2]) {
  ts[0].tv_sec = 0;
  ts[0].tv_nsec = UTIME_OMIT;
  int64_t sec = mtime_ns / 1000000000;
  int64_t nsec = mtime_ns % 1000000000;
  if (nsec < 0) {  // times before 1970 round toward minus infinity
    nsec += 1000000000;
    sec -= 1;
  }
  ts[1].tv_sec = static_cast<time_t>(sec);
  ts[1].tv_nsec = static_cast<long>(nsec);
}

}  // namespace

std::filesystem::path FsPath(const std::string& path) { return std::filesystem::u8path(path); }

Status ListFolder(const std::string& path, std::vector<FolderEntry>* entries) {
  entries->clear();
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return IoError("list", path, errno);
  const int fd = ::dirfd(dir);
  int err = 0;
  for (;;) {
    errno = 0;
    const dirent* d = ::readdir(dir);
    if (d == nullptr) {
      err = errno;
      break;
    }
    if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
    FolderEntry e;
    e.name = d->d_name;
    struct stat st;
    if (::fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      FillInfo(st, &e.info);
    } else if (errno != ENOENT && errno != ENOTDIR) {
      e.error = IoError("stat", path + "/" + e.name, errno).message();
    }
    entries->push_back(std::move(e));
  }
  ::closedir(dir);
  if (err != 0) return IoError("list", path, err);
  return Status::Ok();
}

Status Lstat(const std::string& path, FileInfo* info) {
  *info = FileInfo();
  struct stat st;
  if (::lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();
    return IoError("stat", path, errno);
  }
  FillInfo(st, info);
  return Status::Ok();
}

Status SetMtime(const std::string& path, int64_t mtime_ns) {
  timespec ts[2];
  MtimeSpec(mtime_ns, ts);
  if (::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) < 0) {
    return IoError("set time of", path, errno);
  }
  return Status::Ok();
}

Status SetMode(const std::string& path, uint32_t mode) {
  if (::chmod(path.c_str(), static_cast<mode_t>(mode & 07777)) < 0) {
    return IoError("chmod", path, errno);
  }
  return Status::Ok();
}

Status MakeSpecial(const std::string& path, FileType type, uint32_t mode, uint32_t maj,
                   uint32_t min) {
  mode_t kind = 0;
  switch (type) {
    case FileType::kFifo: kind = S_IFIFO; break;
    case FileType::kSocket: kind = S_IFSOCK; break;
    case FileType::kCharDevice: kind = S_IFCHR; break;
    case FileType::kBlockDevice: kind = S_IFBLK; break;
    default: return IoError("create", path, EINVAL);
  }
  const bool device = type == FileType::kCharDevice || type == FileType::kBlockDevice;
  dev_t dev = device ? makedev(maj, min) : 0;
  if (::mknod(path.c_str(), kind | static_cast<mode_t>(mode & 0777), dev) < 0) {
    return IoError("create", path, errno);
  }
  return Status::Ok();
}

bool MakesSpecialFiles() { return true; }

bool KeepsPermissionBits() { return true; }

int64_t MtimeGranularityNs() { return 1; }

uint32_t CreationMask() {
  // umask can only be read by setting it; this puts it straight back.
  mode_t mask = ::umask(022);
  ::umask(mask);
  return static_cast<uint32_t>(mask);
}

bool NamesIgnoreCase() { return false; }

std::string LocalNameProblem(const std::string&) { return std::string(); }

Status MakeSymlink(const std::string& target, const std::string& path) {
  if (::symlink(target.c_str(), path.c_str()) < 0) return IoError("symlink", path, errno);
  return Status::Ok();
}

Status ReadSymlink(const std::string& path, std::string* target) {
  std::vector<char> buf(256);
  for (;;) {
    ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) return IoError("readlink", path, errno);
    if (static_cast<size_t>(n) < buf.size()) {
      target->assign(buf.data(), static_cast<size_t>(n));
      return Status::Ok();
    }
    if (buf.size() >= (1u << 20)) return Status::Io("readlink " + path + ": target too long");
    buf.resize(buf.size() * 4);
  }
}

Status MakeFolder(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0) return Status::Ok();
  int err = errno;
  struct stat st;
  if (err == EEXIST && ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status::Ok();
  }
  return IoError("mkdir", path, err);
}

Status RemoveEntry(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) return Status::Ok();
    return IoError("stat", path, errno);
  }
  int r = S_ISDIR(st.st_mode) ? ::rmdir(path.c_str()) : ::unlink(path.c_str());
  if (r < 0 && errno != ENOENT) return IoError("remove", path, errno);
  return Status::Ok();
}

Status Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) < 0) return IoError("rename to", to, errno);
  return Status::Ok();
}

Status Folder::Open(const std::string& path, bool follow_symlink, Folder* out) {
  int fd;
  do {
    fd = ::open(path.c_str(),
                O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow_symlink ? 0 : O_NOFOLLOW));
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return IoError("open folder", path, errno);
  Folder f;
  f.fd_ = fd;
  f.path_ = path;
  *out = std::move(f);
  return Status::Ok();
}

Status Folder::OpenRead(const std::string& name, File* out) const {
  return File::Open(this, name, O_RDONLY, "open", out);
}

Status Folder::CreateNew(const std::string& name, File* out, uint32_t mode) const {
  return File::Open(this, name, O_WRONLY | O_CREAT | O_EXCL, "create", out, mode);
}

Status Folder::Rename(const std::string& from, const std::string& to) const {
  int dir = static_cast<int>(fd_);
  if (::renameat(dir, from.c_str(), dir, to.c_str()) < 0) {
    return IoError("rename to", PathOf(to), errno);
  }
  return Status::Ok();
}

Status Folder::Link(const Folder& from, const std::string& from_name, const std::string& name,
                    LinkFailure* why) const {
  if (::linkat(static_cast<int>(from.fd_), from_name.c_str(), static_cast<int>(fd_),
               name.c_str(), 0) == 0) {
    return Status::Ok();
  }
  const int err = errno;
  *why = err == EEXIST ? LinkFailure::kNameTaken
         : err == EMLINK ? LinkFailure::kTooManyLinks
         : err == ENOENT ? LinkFailure::kGone
                         : LinkFailure::kOther;
  return IoError("hard link", PathOf(name), err);
}

void Folder::Close() {
  if (fd_ >= 0) ::close(static_cast<int>(fd_));
  fd_ = -1;
}

Status File::Open(const Folder* in, const std::string& path, int flags, const char* what,
                  File* out, uint32_t mode) {
  int dir = in != nullptr ? static_cast<int>(in->fd_) : AT_FDCWD;
  int fd;
  do {
    // O_NOFOLLOW: a symlink planted at the final name must never redirect
    // a read or a write.
    fd = ::openat(dir, path.c_str(), flags | O_CLOEXEC | O_NOFOLLOW,
                  static_cast<mode_t>(mode & 0777));
  } while (fd < 0 && errno == EINTR);
  std::string full = in != nullptr ? in->PathOf(path) : path;
  if (fd < 0) return IoError(what, full, errno);
  File f;
  f.fd_ = fd;
  f.path_ = std::move(full);
  *out = std::move(f);
  return Status::Ok();
}

Status File::OpenRead(const std::string& path, File* out) {
  return Open(nullptr, path, O_RDONLY, "open", out);
}

Status File::CreateNew(const std::string& path, File* out, uint32_t mode) {
  return Open(nullptr, path, O_WRONLY | O_CREAT | O_EXCL, "create", out, mode);
}

Status File::OpenAppend(const std::string& path, File* out) {
  return Open(nullptr, path, O_RDWR | O_APPEND, "open", out);
}

Status File::Read(void* buf, size_t n, size_t* got) {
  for (;;) {
    ssize_t r = ::read(static_cast<int>(fd_), buf, n);
    if (r >= 0) {
      *got = static_cast<size_t>(r);
      return Status::Ok();
    }
    if (errno != EINTR) return IoError("read", path_, errno);
  }
}

Status File::ReadAt(uint64_t offset, void* buf, size_t n, size_t* got) {
  *got = 0;
  char* p = static_cast<char*>(buf);
  while (*got < n) {
    ssize_t r = ::pread(static_cast<int>(fd_), p + *got, n - *got,
                        static_cast<off_t>(offset + *got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return IoError("read", path_, errno);
    }
    if (r == 0) break;
    *got += static_cast<size_t>(r);
  }
  return Status::Ok();
}

Status File::Write(const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t r = ::write(static_cast<int>(fd_), p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return IoError("write", path_, errno);
    }
    p += r;
    n -= static_cast<size_t>(r);
  }
  return Status::Ok();
}

Status File::Stat(FileInfo* info) {
  struct stat st;
  if (::fstat(static_cast<int>(fd_), &st) < 0) return IoError("stat", path_, errno);
  FillInfo(st, info);
  return Status::Ok();
}

Status File::NextData(uint64_t offset, uint64_t size, uint64_t* begin, uint64_t* end) {
  *begin = offset;
  *end = size;
  if (offset >= size) return Status::Ok();
  const int fd = static_cast<int>(fd_);
  off_t data = ::lseek(fd, static_cast<off_t>(offset), SEEK_DATA);
  if (data < 0) {
    if (errno == ENXIO) {  // nothing but a hole from offset on
      *begin = size;
      return Status::Ok();
    }
    if (errno == EINVAL || errno == ENOTSUP) return Status::Ok();  // can't tell: all data
    return IoError("seek in", path_, errno);
  }
  off_t hole = ::lseek(fd, data, SEEK_HOLE);
  if (hole < 0) return IoError("seek in", path_, errno);
  *begin = std::min<uint64_t>(static_cast<uint64_t>(data), size);
  *end = std::min<uint64_t>(static_cast<uint64_t>(hole), size);
  if (*end < *begin) *end = *begin;
  // Reads go on from the position; put it where the data starts.
  if (::lseek(fd, static_cast<off_t>(*begin), SEEK_SET) < 0) return IoError("seek in", path_, errno);
  return Status::Ok();
}

Status File::ExtendTo(uint64_t size) {
  const int fd = static_cast<int>(fd_);
  if (::ftruncate(fd, static_cast<off_t>(size)) < 0) return IoError("extend", path_, errno);
  if (::lseek(fd, 0, SEEK_END) < 0) return IoError("seek in", path_, errno);
  return Status::Ok();
}

Status File::SetMode(uint32_t mode) {
  if (::fchmod(static_cast<int>(fd_), static_cast<mode_t>(mode & 07777)) < 0) {
    return IoError("chmod", path_, errno);
  }
  return Status::Ok();
}

Status File::SetMtime(int64_t mtime_ns) {
  timespec ts[2];
  MtimeSpec(mtime_ns, ts);
  if (::futimens(static_cast<int>(fd_), ts) < 0) return IoError("set time of", path_, errno);
  return Status::Ok();
}

Status File::Close() {
  if (fd_ < 0) return Status::Ok();
  int r = ::close(static_cast<int>(fd_));
  fd_ = -1;
  // close() reports delayed write errors (NFS, quota): they mean lost data.
  if (r < 0 && errno != EINTR) return IoError("close", path_, errno);
  return Status::Ok();
}

Status FolderLock::TryLock(const std::string& folder, const std::string& name, FolderLock* out) {
  out->Release();
  const std::string path = folder + "/" + name;
  // A holder that lets go removes the file: we may have locked a file just
  // unlinked, and then try again with the one now at the name.
  for (int attempt = 0; attempt < 8; ++attempt) {
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return IoError("create lock file", path, errno);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      close(fd);
      if (err == EWOULDBLOCK) {
        return Status::Refused("another treesync session is writing into " + folder);
      }
      return IoError("lock", path, err);
    }
    struct stat held, named;
    if (fstat(fd, &held) == 0 && lstat(path.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
        held.st_ino == named.st_ino) {
      out->fd_ = fd;
      out->path_ = path;
      return Status::Ok();
    }
    close(fd);
  }
  return Status::Refused("another treesync session is writing into " + folder);
}

void FolderLock::Release() {
  if (fd_ < 0) return;
  // Unlinked while still locked, so no one can lock this file and think
  // they hold the name.
  unlink(path_.c_str());
  close(static_cast<int>(fd_));
  fd_ = -1;
}

}  // namespace platform
