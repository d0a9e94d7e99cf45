// Where a user's own treesync files live (keys, known hosts), the way ssh
// keeps its in ~/.ssh.
#ifndef TREESYNC_PLATFORM_USER_DIRS_H_
#define TREESYNC_PLATFORM_USER_DIRS_H_

#include <string>

namespace platform {

// The folder for this user's treesync configuration, which may not exist
// yet: POSIX, $XDG_CONFIG_HOME/treesync when that variable is set and
// absolute, else $HOME/.config/treesync (the XDG base directory rules);
// Windows, %APPDATA%\treesync. "" when the environment names no such
// place (no HOME, no APPDATA). UTF-8, no trailing separator.
std::string UserConfigFolder();

}  // namespace platform

#endif  // TREESYNC_PLATFORM_USER_DIRS_H_
