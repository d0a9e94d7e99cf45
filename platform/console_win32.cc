#include "console.h"

#include <windows.h>
#include <shellapi.h>

#include <atomic>

#include "os_error_win32.h"

namespace platform {

namespace {

std::atomic<bool> g_interrupted{false};

// Runs on a thread of its own: Ctrl+C, Ctrl+Break, closing the console,
// logoff and shutdown all mean "stop cleanly".
BOOL WINAPI OnConsoleEvent(DWORD) {
  g_interrupted.store(true);
  return TRUE;
}

}  // namespace

std::vector<std::string> Arguments(int argc, char** argv) {
  int n = 0;
  wchar_t** wide = CommandLineToArgvW(GetCommandLineW(), &n);
  if (wide == nullptr) return std::vector<std::string>(argv + 1, argv + argc);
  std::vector<std::string> args;
  for (int i = 1; i < n; ++i) args.push_back(Narrow(wide[i]));
  LocalFree(wide);
  return args;
}

void InstallInterruptHandlers() {
  SetConsoleCtrlHandler(OnConsoleEvent, TRUE);
  // Names and messages are UTF-8; a console shows them right only if told.
  SetConsoleOutputCP(CP_UTF8);
}

bool Interrupted() { return g_interrupted.load(); }

bool StderrIsTerminal() {
  DWORD mode;
  return GetConsoleMode(GetStdHandle(STD_ERROR_HANDLE), &mode) != 0;
}

}  // namespace platform
