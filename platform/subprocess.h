// Child processes and pipes: a session's byte stream over a child's stdin
// and stdout (ssh, --via), or over this process's own (serve --stdio). The
// only place that spawns processes. One implementation file per OS
// (subprocess_posix.cc: fork/exec and non-blocking pipes polled directly;
// subprocess_win32.cc: CreateProcess, with each pipe bridged to a loopback
// socket by a thread, since Windows can't select() on a pipe).
#ifndef TREESYNC_PLATFORM_SUBPROCESS_H_
#define TREESYNC_PLATFORM_SUBPROCESS_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "net.h"
#include "status.h"

namespace platform {

using treesync::Status;

// A duplex byte stream made of two one-way OS handles: one read, one
// written. Move-only; closes both by its destructor. The same calls as a
// Socket, with the same rules: Read and Write never block, Poll waits.
class PipeStream {
 public:
  PipeStream();
  ~PipeStream();
  PipeStream(PipeStream&& o) noexcept;
  PipeStream& operator=(PipeStream&& o) noexcept;
  PipeStream(const PipeStream&) = delete;
  PipeStream& operator=(const PipeStream&) = delete;

  bool valid() const { return impl_ != nullptr; }
  // Up to n bytes available now; *eof when the writing end was closed
  // (*got is then 0).
  Status Read(void* buf, size_t n, size_t* got, bool* eof);
  // As many of n bytes as fit now (possibly 0). Writing after the reader
  // has gone is a kSocket error, not a signal.
  Status Write(const void* buf, size_t n, size_t* wrote);
  // Closes the writing handle, so the other side reads end-of-file.
  void ShutdownWrite();
  // Waits up to timeout_ms (-1: forever) as Poll does for a socket. A
  // timeout returns OK with nothing ready.
  Status Poll(bool want_read, bool want_write, int timeout_ms, Readiness* out);

  struct Impl;
  explicit PipeStream(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

// This process's standard input and output as one stream, for a session
// run by whoever started us (ssh, inetd, a --via command). Afterwards
// nothing else may read stdin or write stdout. Call once, after NetInit()
// (Windows bridges the pipes through sockets).
Status OpenStdio(PipeStream* out);

// A child started by Spawn. Move-only. The destructor waits for a child
// still running, briefly (it normally exits once its stdin is closed),
// then kills it, so none is ever left behind.
class ChildProcess {
 public:
  ChildProcess();
  ~ChildProcess();
  ChildProcess(ChildProcess&& o) noexcept;
  ChildProcess& operator=(ChildProcess&& o) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool valid() const { return impl_ != nullptr; }
  // Waits up to timeout_ms (-1: forever) for the child to end. *exited
  // says whether it has; then *code is its exit status (POSIX: 128 + N
  // when killed by signal N; Windows: the raw code, 137 after Kill()).
  // Once it has exited, later calls say so again.
  Status Wait(int timeout_ms, bool* exited, int* code);
  // Ends the child at once (SIGKILL; TerminateProcess).
  void Kill();

  struct Impl;
  explicit ChildProcess(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

// Starts argv[0] (looked up in PATH when it has no slash; on Windows, with
// ".exe" added when it has no extension) with arguments argv[1...], its
// stdin and stdout connected to *io and its stderr to ours. A program that
// can't be started fails here with kSocket, naming it and why ("ssh: No
// such file or directory"), not later as an early exit.
// REQUIRES: !argv.empty(); NetInit() was called.
Status Spawn(const std::vector<std::string>& argv, ChildProcess* child, PipeStream* io);

}  // namespace platform

#endif  // TREESYNC_PLATFORM_SUBPROCESS_H_
