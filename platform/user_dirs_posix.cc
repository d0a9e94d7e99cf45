#include "user_dirs.h"

#include <cstdlib>

namespace platform {

std::string UserConfigFolder() {
  // The XDG spec says a relative $XDG_CONFIG_HOME is invalid and must be
  // ignored: it would put keys wherever the command happens to run.
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg != nullptr && xdg[0] == '/') {
    std::string folder = xdg;
    while (folder.size() > 1 && folder.back() == '/') folder.pop_back();
    return folder == "/" ? "/treesync" : folder + "/treesync";
  }
  const char* home = std::getenv("HOME");
  if (home == nullptr || home[0] == '\0') return std::string();
  std::string folder = home;
  while (!folder.empty() && folder.back() == '/') folder.pop_back();
  return folder + "/.config/treesync";
}

}  // namespace platform
