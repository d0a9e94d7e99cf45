#include "owners.h"

namespace platform {

// Windows files have security descriptors, not POSIX owners: owners are
// neither read (0) nor set.
bool CanChown() { return false; }
void ProcessOwner(uint32_t* uid, uint32_t* gid) { *uid = *gid = 0; }
std::string UserName(uint32_t) { return std::string(); }
std::string GroupName(uint32_t) { return std::string(); }
bool FindUser(const std::string&, uint32_t*) { return false; }
bool FindGroup(const std::string&, uint32_t*) { return false; }
Status SetOwner(const std::string&, uint32_t, uint32_t) { return Status::Ok(); }

}  // namespace platform
