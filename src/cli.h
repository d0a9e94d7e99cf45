// The command line: parses arguments, runs serve or pull, and maps the
// resulting Status to an exit code. The only place that decides exit codes.
#ifndef TREESYNC_CLI_H_
#define TREESYNC_CLI_H_

#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace treesync {

constexpr const char kVersionString[] = "0.1.0";

// Splits "HOST[:PORT]" ("[v6addr]:PORT" for IPv6; a bare address with
// several colons is taken as IPv6 without a port). *port is left alone
// when the argument has none.
Status ParseHostPort(const std::string& arg, std::string* host, uint16_t* port, bool* has_port);

// Runs treesync with args (without the program name); returns the exit code.
int RunCli(const std::vector<std::string>& args);

}  // namespace treesync

#endif  // TREESYNC_CLI_H_
