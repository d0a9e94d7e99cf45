#include "console.h"

#include <csignal>
#include <unistd.h>

#include <atomic>

namespace platform {

namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void OnInterrupt(int) { g_interrupted.store(true); }

}  // namespace

std::vector<std::string> Arguments(int argc, char** argv) {
  return std::vector<std::string>(argv + 1, argv + argc);
}

void InstallInterruptHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  // A file-size limit should fail the write (EFBIG), not kill the process.
  signal(SIGXFSZ, SIG_IGN);
}

bool Interrupted() { return g_interrupted.load(); }

bool StderrIsTerminal() { return ::isatty(2) == 1; }

}  // namespace platform
