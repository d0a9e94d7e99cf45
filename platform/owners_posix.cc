#include "owners.h"

#include <grp.h>
#include <pwd.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "os_error_posix.h"

namespace platform {

namespace {

// getpw*_r and getgr*_r want a buffer of a size sysconf may not know.
constexpr size_t kLookupBuffer = 16 * 1024;

}  // namespace

bool CanChown() { return ::geteuid() == 0; }

void ProcessOwner(uint32_t* uid, uint32_t* gid) {
  *uid = static_cast<uint32_t>(::geteuid());
  *gid = static_cast<uint32_t>(::getegid());
}

std::string UserName(uint32_t uid) {
  std::vector<char> buf(kLookupBuffer);
  struct passwd pw, *found = nullptr;
  if (::getpwuid_r(static_cast<uid_t>(uid), &pw, buf.data(), buf.size(), &found) != 0 ||
      found == nullptr) {
    return std::string();
  }
  return found->pw_name;
}

std::string GroupName(uint32_t gid) {
  std::vector<char> buf(kLookupBuffer);
  struct group gr, *found = nullptr;
  if (::getgrgid_r(static_cast<gid_t>(gid), &gr, buf.data(), buf.size(), &found) != 0 ||
      found == nullptr) {
    return std::string();
  }
  return found->gr_name;
}

bool FindUser(const std::string& name, uint32_t* uid) {
  std::vector<char> buf(kLookupBuffer);
  struct passwd pw, *found = nullptr;
  if (name.empty() || ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 ||
      found == nullptr) {
    return false;
  }
  *uid = static_cast<uint32_t>(found->pw_uid);
  return true;
}

bool FindGroup(const std::string& name, uint32_t* gid) {
  std::vector<char> buf(kLookupBuffer);
  struct group gr, *found = nullptr;
  if (name.empty() || ::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) != 0 ||
      found == nullptr) {
    return false;
  }
  *gid = static_cast<uint32_t>(found->gr_gid);
  return true;
}

Status SetOwner(const std::string& path, uint32_t uid, uint32_t gid) {
  if (::lchown(path.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid)) < 0) {
    return ErrnoStatus(treesync::ErrorKind::kIo, "chown " + path, errno);
  }
  return Status::Ok();
}

}  // namespace platform
