// The command line: parses arguments, runs serve, pull or push, and maps the
// resulting Status to an exit code. The only place that decides exit codes.
#ifndef TREESYNC_CLI_H_
#define TREESYNC_CLI_H_

#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace treesync {

constexpr const char kVersionString[] = "0.1.0";

// Runs treesync with args (without the program name); returns the exit code.
int RunCli(const std::vector<std::string>& args);

}  // namespace treesync

#endif  // TREESYNC_CLI_H_
