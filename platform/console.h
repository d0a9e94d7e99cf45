// The console: interrupts (SIGINT/SIGTERM, console control events on
// Windows) set a flag that long-running loops poll; terminal detection.
#ifndef TREESYNC_PLATFORM_CONSOLE_H_
#define TREESYNC_PLATFORM_CONSOLE_H_

#include <string>
#include <vector>

namespace platform {

// The program's arguments after its name, as UTF-8 (Windows: from the wide
// command line, since argv there is in the ANSI code page).
std::vector<std::string> Arguments(int argc, char** argv);

// Installs handlers so that an interrupt sets the flag instead of killing
// the process.
void InstallInterruptHandlers();
// True once an interrupt arrived.
bool Interrupted();
// Whether standard error / output is a terminal (for progress display).
bool StderrIsTerminal();

}  // namespace platform

#endif  // TREESYNC_PLATFORM_CONSOLE_H_
