#include "subprocess.h"

#include <winsock2.h>
#include <windows.h>
#include <fcntl.h>
#include <io.h>

#include <atomic>
#include <thread>
#include <utility>

#include "os_error_win32.h"

namespace platform {

using treesync::ErrorKind;

namespace {

// Bytes a pump moves per ReadFile or WriteFile: a pipe's worth, several
// times over, without holding much memory per stream.
constexpr DWORD kPumpChunk = 64 * 1024;
// How often a pump stalled on a full bridge looks whether its stream is
// gone. Only a stream whose owner stopped reading ever waits this long.
constexpr int kStallCheckMs = 200;
// How long a ChildProcess's destructor waits for the child to end on its
// own, then again after killing it.
constexpr DWORD kExitGraceMs = 5000;
// The exit code Kill gives a child: what POSIX reports for SIGKILL, so a
// killed child reads the same on every OS.
constexpr UINT kKilledExitCode = 128 + 9;

// What a stream's two pump threads share with it. The threads are never
// joined: one may sit in a ReadFile that nothing can end but the other
// side (our own stdin), so each owns its pipe handle and closes it itself,
// and the bridge socket closes with the last holder of this.
struct Bridge {
  Socket socket;                             // the pumps' end of the pair
  std::atomic<bool> abandoned{false};        // the stream was destroyed
  std::atomic<unsigned long> read_error{0};  // why the inbound pipe failed
  std::atomic<unsigned long> write_error{0};  // why the outbound pipe failed
  // Set once the outbound pump has written all it was given and closed
  // its pipe: a process about to exit waits for it, or its last bytes (an
  // Error frame) would die with the thread.
  HANDLE out_done = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  ~Bridge() {
    if (out_done != nullptr) CloseHandle(out_done);
  }
};

// Puts all n bytes into the bridge, waiting as a blocking send would;
// false when the bridge fails or the stream is gone.
bool SendAll(Bridge* b, const char* p, size_t n) {
  while (n > 0) {
    size_t wrote = 0;
    if (!b->socket.Write(p, n, &wrote).ok()) return false;
    p += wrote;
    n -= wrote;
    if (wrote == 0) {
      if (b->abandoned) return false;
      Readiness r;
      if (!Poll(b->socket, false, true, kStallCheckMs, &r).ok()) return false;
    }
  }
  return true;
}

// Pipe to bridge, until the pipe ends; then the stream reads end-of-file.
void PumpIn(std::shared_ptr<Bridge> b, HANDLE pipe) {
  // A zero-byte read is end-of-file: from a file or console always, and
  // from a pipe under Wine, whose Unix pipes read empty at their end where
  // Windows' fail with ERROR_BROKEN_PIPE. A writer's empty write would read
  // the same, but no peer of ours writes nothing.
  std::unique_ptr<char[]> buf(new char[kPumpChunk]);
  for (;;) {
    DWORD got = 0;
    if (!ReadFile(pipe, buf.get(), kPumpChunk, &got, nullptr)) {
      DWORD err = GetLastError();
      if (err != ERROR_BROKEN_PIPE && err != ERROR_HANDLE_EOF) b->read_error = err;
      break;
    }
    if (got == 0) break;
    if (!SendAll(b.get(), buf.get(), got)) break;
  }
  CloseHandle(pipe);
  b->socket.ShutdownWrite();
}

// Bridge to pipe, until the stream shuts its writing side or goes; closing
// the pipe then is what the reader at its other end sees as end-of-file.
void PumpOut(std::shared_ptr<Bridge> b, HANDLE pipe) {
  std::unique_ptr<char[]> buf(new char[kPumpChunk]);
  for (;;) {
    size_t got = 0;
    bool eof = false;
    if (!b->socket.Read(buf.get(), kPumpChunk, &got, &eof).ok() || eof) break;
    if (got == 0) {
      Readiness r;
      if (!Poll(b->socket, true, false, -1, &r).ok()) break;
      continue;
    }
    // Once the reader has gone, bytes are drained and dropped rather than
    // left to fill the bridge, so the stream's Write stays ready and can
    // report the failure instead of stalling.
    for (DWORD done = 0; pipe != nullptr && done < got;) {
      DWORD wrote = 0;
      if (!WriteFile(pipe, buf.get() + done, static_cast<DWORD>(got) - done, &wrote, nullptr)) {
        b->write_error = GetLastError();
        CloseHandle(pipe);
        pipe = nullptr;
      }
      done += wrote;
    }
  }
  if (pipe != nullptr) CloseHandle(pipe);
  if (b->out_done != nullptr) SetEvent(b->out_done);
}

// How long a stream being destroyed waits for its last bytes to leave.
constexpr DWORD kDrainMs = 5000;

// Closes a handle on every way out of a function, unless released.
class ScopedHandle {
 public:
  ScopedHandle() = default;
  ~ScopedHandle() {
    if (h_ != nullptr && h_ != INVALID_HANDLE_VALUE) CloseHandle(h_);
  }
  ScopedHandle(const ScopedHandle&) = delete;
  ScopedHandle& operator=(const ScopedHandle&) = delete;
  HANDLE get() const { return h_; }
  HANDLE* out() { return &h_; }
  HANDLE release() { return std::exchange(h_, nullptr); }

 private:
  HANDLE h_ = nullptr;
};

}  // namespace

struct PipeStream::Impl {
  Socket socket;                   // our end of the bridge
  std::shared_ptr<Bridge> bridge;  // the pumps' end, and how they fared
  ~Impl() {
    if (!bridge) return;
    // What was written still goes out (the pump sees the end after it),
    // unless the reader stopped reading long ago.
    socket.ShutdownWrite();
    if (bridge->out_done != nullptr) WaitForSingleObject(bridge->out_done, kDrainMs);
    bridge->abandoned = true;
  }
};

namespace {

// A stream with its bridge made but no pumps yet, so a failure to start
// the other side leaves no thread behind.
Status NewBridge(std::unique_ptr<PipeStream::Impl>* out) {
  auto impl = std::make_unique<PipeStream::Impl>();
  impl->bridge = std::make_shared<Bridge>();
  TS_RETURN_IF_ERROR(SocketPair(&impl->socket, &impl->bridge->socket));
  *out = std::move(impl);
  return Status::Ok();
}

// Starts the pumps, which take over both handles.
void StartPumps(const std::shared_ptr<Bridge>& bridge, HANDLE from, HANDLE to) {
  std::thread(PumpIn, bridge, from).detach();
  std::thread(PumpOut, bridge, to).detach();
}

bool IsSeparator(wchar_t c) { return c == L'/' || c == L'\\' || c == L':'; }

// Where argv[0] is: the path as given when it has a folder in it, else the
// first match in PATH, with ".exe" added when it has no extension. Not the
// current folder and our own, which CreateProcess would search first, so a
// program planted in a folder being synced is never run by name.
Status FindProgram(const std::string& name, std::wstring* out) {
  std::wstring w;
  // No file name holds a quote, and the command line could not carry one.
  if (name.empty() || !Widen(name, &w) || w.find(L'"') != std::wstring::npos ||
      w.find(L'\0') != std::wstring::npos) {
    return Status::Socket("'" + name + "': not a program name");
  }
  size_t base = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    if (IsSeparator(w[i])) base = i + 1;
  }
  const bool has_extension = w.find(L'.', base) != std::wstring::npos;
  if (base > 0) {
    *out = has_extension ? w : w + L".exe";
    return Status::Ok();
  }
  DWORD n = GetEnvironmentVariableW(L"PATH", nullptr, 0);
  if (n == 0) return WinErrorStatus(ErrorKind::kSocket, name, ERROR_FILE_NOT_FOUND);
  std::wstring path(n, L'\0');
  path.resize(GetEnvironmentVariableW(L"PATH", &path[0], n));
  std::wstring found(MAX_PATH, L'\0');
  for (;;) {
    n = SearchPathW(path.c_str(), w.c_str(), L".exe", static_cast<DWORD>(found.size()),
                    &found[0], nullptr);
    if (n == 0) return WinErrorStatus(ErrorKind::kSocket, name, GetLastError());
    bool fits = n < found.size();  // else n is the size needed
    found.resize(n);
    if (fits) break;
  }
  *out = std::move(found);
  return Status::Ok();
}

// One argument as CommandLineToArgvW and the C runtime read it back:
// quoted when empty or holding a blank or a quote. Backslashes are literal
// except before a quote, so only those runs are doubled.
void AppendQuoted(const std::wstring& arg, std::wstring* line) {
  if (!arg.empty() && arg.find_first_of(L" \t\n\v\"") == std::wstring::npos) {
    *line += arg;
    return;
  }
  *line += L'"';
  size_t backslashes = 0;
  for (wchar_t c : arg) {
    if (c == L'\\') {
      ++backslashes;
      continue;
    }
    line->append(c == L'"' ? 2 * backslashes + 1 : backslashes, L'\\');
    backslashes = 0;
    *line += c;
  }
  line->append(2 * backslashes, L'\\');
  *line += L'"';
}

// The command line for argv. The program name is read by a simpler rule
// (up to a blank, or between quotes, with no escapes), so it is quoted
// whole; FindProgram has refused names with a quote.
Status CommandLine(const std::vector<std::string>& argv, std::wstring* line) {
  std::wstring w;
  Widen(argv[0], &w);
  *line = L"\"" + w + L"\"";
  for (size_t i = 1; i < argv.size(); ++i) {
    if (!Widen(argv[i], &w) || w.find(L'\0') != std::wstring::npos) {
      return Status::Socket(argv[0] + ": argument " + std::to_string(i) +
                            " is not valid UTF-8 text");
    }
    *line += L' ';
    AppendQuoted(w, line);
  }
  return Status::Ok();
}

// An inheritable copy of our stderr for a child, or null when we have none.
HANDLE InheritableStderr() {
  HANDLE self = GetCurrentProcess(), copy = nullptr;
  HANDLE err = GetStdHandle(STD_ERROR_HANDLE);
  if (err == nullptr || err == INVALID_HANDLE_VALUE ||
      !DuplicateHandle(self, err, self, &copy, 0, TRUE, DUPLICATE_SAME_ACCESS)) {
    return nullptr;
  }
  return copy;
}

}  // namespace

PipeStream::PipeStream() = default;
PipeStream::~PipeStream() = default;
PipeStream::PipeStream(PipeStream&& o) noexcept = default;
PipeStream& PipeStream::operator=(PipeStream&& o) noexcept = default;
PipeStream::PipeStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Status PipeStream::Read(void* buf, size_t n, size_t* got, bool* eof) {
  TS_RETURN_IF_ERROR(impl_->socket.Read(buf, n, got, eof));
  unsigned long err = impl_->bridge->read_error;
  if (*eof && err != 0) return WinErrorStatus(ErrorKind::kSocket, "read from pipe", err);
  return Status::Ok();
}

Status PipeStream::Write(const void* buf, size_t n, size_t* wrote) {
  *wrote = 0;
  unsigned long err = impl_->bridge->write_error;
  if (err != 0) return WinErrorStatus(ErrorKind::kSocket, "write to pipe", err);
  return impl_->socket.Write(buf, n, wrote);
}

void PipeStream::ShutdownWrite() { impl_->socket.ShutdownWrite(); }

Status PipeStream::Poll(bool want_read, bool want_write, int timeout_ms, Readiness* out) {
  return platform::Poll(impl_->socket, want_read, want_write, timeout_ms, out);
}

Status OpenStdio(PipeStream* out) {
  std::unique_ptr<PipeStream::Impl> impl;
  TS_RETURN_IF_ERROR(NewBridge(&impl));
  HANDLE self = GetCurrentProcess();
  ScopedHandle in, output;
  if (!DuplicateHandle(self, GetStdHandle(STD_INPUT_HANDLE), self, in.out(), 0, FALSE,
                       DUPLICATE_SAME_ACCESS)) {
    return WinErrorStatus(ErrorKind::kSocket, "standard input", GetLastError());
  }
  if (!DuplicateHandle(self, GetStdHandle(STD_OUTPUT_HANDLE), self, output.out(), 0, FALSE,
                       DUPLICATE_SAME_ACCESS)) {
    return WinErrorStatus(ErrorKind::kSocket, "standard output", GetLastError());
  }
  // The pumps' copies must be the only handles to our stdin and stdout, or
  // closing one would not give the peer its end-of-file. So the C runtime's
  // descriptors 0 and 1 (_dup2 closes the handles they held, the standard
  // ones) and the standard handles now lead to NUL, where a stray printf
  // can't reach the peer, nor a later handle that reuses the number.
  int nul = _open("NUL", _O_RDWR | _O_BINARY);
  if (nul >= 0) {
    _dup2(nul, 0);
    _dup2(nul, 1);
    if (nul > 1) _close(nul);
  }
  SetStdHandle(STD_INPUT_HANDLE, reinterpret_cast<HANDLE>(_get_osfhandle(0)));
  SetStdHandle(STD_OUTPUT_HANDLE, reinterpret_cast<HANDLE>(_get_osfhandle(1)));
  StartPumps(impl->bridge, in.release(), output.release());
  *out = PipeStream(std::move(impl));
  return Status::Ok();
}

struct ChildProcess::Impl {
  HANDLE process = nullptr;
  bool exited = false;
  int code = 0;
  ~Impl() {
    if (!exited && WaitForSingleObject(process, kExitGraceMs) == WAIT_TIMEOUT) {
      TerminateProcess(process, kKilledExitCode);
      WaitForSingleObject(process, kExitGraceMs);
    }
    CloseHandle(process);
  }
};

ChildProcess::ChildProcess() = default;
ChildProcess::~ChildProcess() = default;
ChildProcess::ChildProcess(ChildProcess&& o) noexcept = default;
ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept = default;
ChildProcess::ChildProcess(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Status ChildProcess::Wait(int timeout_ms, bool* exited, int* code) {
  if (!impl_->exited) {
    DWORD r = WaitForSingleObject(impl_->process,
                                  timeout_ms < 0 ? INFINITE : static_cast<DWORD>(timeout_ms));
    DWORD status = 0;
    if (r == WAIT_FAILED ||
        (r == WAIT_OBJECT_0 && !GetExitCodeProcess(impl_->process, &status))) {
      return WinErrorStatus(ErrorKind::kSocket, "wait for child", GetLastError());
    }
    if (r == WAIT_OBJECT_0) {
      impl_->exited = true;
      impl_->code = static_cast<int>(status);
    }
  }
  *exited = impl_->exited;
  *code = impl_->code;
  return Status::Ok();
}

void ChildProcess::Kill() {
  if (!impl_->exited) TerminateProcess(impl_->process, kKilledExitCode);
}

Status Spawn(const std::vector<std::string>& argv, ChildProcess* child, PipeStream* io) {
  std::wstring program, line;
  TS_RETURN_IF_ERROR(FindProgram(argv[0], &program));
  TS_RETURN_IF_ERROR(CommandLine(argv, &line));
  std::unique_ptr<PipeStream::Impl> stream;
  TS_RETURN_IF_ERROR(NewBridge(&stream));

  // Our ends are never inheritable, so no other child can hold them open and
  // keep end-of-file from this one. The child's ends must be, but only a
  // CreateProcess that lists them passes them on, and every one here lists
  // just its own.
  ScopedHandle child_in, to_child, from_child, child_out, child_err;
  if (!CreatePipe(child_in.out(), to_child.out(), nullptr, 0) ||
      !CreatePipe(from_child.out(), child_out.out(), nullptr, 0) ||
      !SetHandleInformation(child_in.get(), HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT) ||
      !SetHandleInformation(child_out.get(), HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT)) {
    return WinErrorStatus(ErrorKind::kSocket, argv[0] + ": pipe", GetLastError());
  }
  *child_err.out() = InheritableStderr();
  HANDLE inherit[] = {child_in.get(), child_out.get(), child_err.get()};
  SIZE_T inherit_bytes = (child_err.get() != nullptr ? 3 : 2) * sizeof(HANDLE);

  SIZE_T attr_bytes = 0;
  InitializeProcThreadAttributeList(nullptr, 1, 0, &attr_bytes);
  std::unique_ptr<char[]> attr_buf(new char[attr_bytes]);
  auto* attrs = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(attr_buf.get());
  if (!InitializeProcThreadAttributeList(attrs, 1, 0, &attr_bytes)) {
    return WinErrorStatus(ErrorKind::kSocket, argv[0], GetLastError());
  }
  STARTUPINFOEXW si{};
  si.StartupInfo.cb = sizeof si;
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = child_in.get();
  si.StartupInfo.hStdOutput = child_out.get();
  si.StartupInfo.hStdError = child_err.get();
  si.lpAttributeList = attrs;
  PROCESS_INFORMATION pi{};
  BOOL ok = UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inherit,
                                      inherit_bytes, nullptr, nullptr) &&
            CreateProcessW(program.c_str(), &line[0], nullptr, nullptr, TRUE,
                           EXTENDED_STARTUPINFO_PRESENT, nullptr, nullptr, &si.StartupInfo, &pi);
  DWORD err = GetLastError();
  DeleteProcThreadAttributeList(attrs);
  if (!ok) return WinErrorStatus(ErrorKind::kSocket, argv[0], err);
  CloseHandle(pi.hThread);

  auto impl = std::make_unique<ChildProcess::Impl>();
  impl->process = pi.hProcess;
  *child = ChildProcess(std::move(impl));
  StartPumps(stream->bridge, from_child.release(), to_child.release());
  *io = PipeStream(std::move(stream));
  return Status::Ok();
}

}  // namespace platform
