// Owners and groups: their names, and giving a file another owner.
#ifndef TREESYNC_PLATFORM_OWNERS_H_
#define TREESYNC_PLATFORM_OWNERS_H_

#include <cstdint>
#include <string>

#include "status.h"

namespace platform {

using treesync::Status;

// Whether this process may give files any owner and group (POSIX: euid 0;
// never on Windows, whose files have no POSIX owners).
bool CanChown();
// The owner and group this process gives the files it creates (POSIX: its
// effective ids; 0 on Windows). A folder with the set-gid bit gives its own
// group instead.
void ProcessOwner(uint32_t* uid, uint32_t* gid);
// The name of user uid / group gid here, or "" if it has none.
std::string UserName(uint32_t uid);
std::string GroupName(uint32_t gid);
// The number of the user / group named name here; false if there is none.
bool FindUser(const std::string& name, uint32_t* uid);
bool FindGroup(const std::string& name, uint32_t* gid);
// Gives path itself (a symlink is not followed) owner uid and group gid.
// kKeep leaves one as it is. A no-op where files have no owners.
constexpr uint32_t kKeep = 0xFFFFFFFFu;
Status SetOwner(const std::string& path, uint32_t uid, uint32_t gid);

}  // namespace platform

#endif  // TREESYNC_PLATFORM_OWNERS_H_
