#include "subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "os_error_posix.h"

namespace platform {

using treesync::ErrorKind;

struct PipeStream::Impl {
  int in = -1;   // read
  int out = -1;  // written
  ~Impl() {
    if (in >= 0) close(in);
    if (out >= 0 && out != in) close(out);
  }
};

PipeStream::PipeStream() = default;
PipeStream::~PipeStream() = default;
PipeStream::PipeStream(PipeStream&& o) noexcept = default;
PipeStream& PipeStream::operator=(PipeStream&& o) noexcept = default;
PipeStream::PipeStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

namespace {

Status PipeError(const std::string& what, int err) {
  return ErrnoStatus(ErrorKind::kSocket, what, err);
}

void SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// A pipe holds 64 KiB by default: one frame of file data would take many
// wakeups of both processes to cross it. Linux lets a pipe grow to 1 MiB
// unprivileged; where it can't, the default just costs some speed.
void Enlarge(int fd) {
#ifdef F_SETPIPE_SZ
  fcntl(fd, F_SETPIPE_SZ, 1 << 20);
#else
  (void)fd;
#endif
}

}  // namespace

Status PipeStream::Read(void* buf, size_t n, size_t* got, bool* eof) {
  *got = 0;
  *eof = false;
  for (;;) {
    ssize_t r = read(impl_->in, buf, n);
    if (r > 0) {
      *got = static_cast<size_t>(r);
      return Status::Ok();
    }
    if (r == 0) {
      *eof = true;
      return Status::Ok();
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Ok();
    // A reset socket (stdin may be one, under inetd or ssh) is an end too.
    if (errno == ECONNRESET) {
      *eof = true;
      return Status::Ok();
    }
    return PipeError("read", errno);
  }
}

Status PipeStream::Write(const void* buf, size_t n, size_t* wrote) {
  *wrote = 0;
  if (impl_->out < 0) return Status::Socket("write after the stream was shut");
  for (;;) {
    ssize_t r = write(impl_->out, buf, n);
    if (r >= 0) {
      *wrote = static_cast<size_t>(r);
      return Status::Ok();
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Ok();
    if (errno == EPIPE) return Status::Socket("the other side closed the pipe");
    return PipeError("write", errno);
  }
}

void PipeStream::ShutdownWrite() {
  if (impl_->out < 0) return;
  if (impl_->out == impl_->in) {
    shutdown(impl_->out, SHUT_WR);  // one socket for both ways
  } else {
    close(impl_->out);
  }
  impl_->out = -1;
}

Status PipeStream::Poll(bool want_read, bool want_write, int timeout_ms, Readiness* out) {
  *out = Readiness();
  pollfd p[2] = {{impl_->in, static_cast<short>(want_read ? POLLIN : 0), 0},
                 {impl_->out, static_cast<short>(want_write ? POLLOUT : 0), 0}};
  // A write side already shut can never become writable: poll only the
  // read side then, as -1 is skipped.
  if (!want_write) p[1].fd = -1;
  if (!want_read) p[0].fd = -1;
  int r = poll(p, 2, timeout_ms);
  if (r < 0) {
    if (errno == EINTR) return Status::Ok();
    return PipeError("poll", errno);
  }
  if (r == 0) return Status::Ok();
  const short trouble = POLLERR | POLLHUP | POLLNVAL;
  out->readable = want_read && (p[0].revents & (POLLIN | trouble)) != 0;
  out->writable = want_write && (p[1].revents & (POLLOUT | trouble)) != 0;
  return Status::Ok();
}

Status OpenStdio(PipeStream* out) {
  auto impl = std::make_unique<PipeStream::Impl>();
  // Our own copies, so stdio's descriptors 0 and 1 can be pointed at
  // /dev/null: nothing printed by mistake can then corrupt the stream.
  impl->in = fcntl(0, F_DUPFD_CLOEXEC, 3);
  impl->out = fcntl(1, F_DUPFD_CLOEXEC, 3);
  if (impl->in < 0 || impl->out < 0) return PipeError("stdin/stdout", errno);
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    close(null_fd);
  }
  // As for a child's pipes: sshd gives us 64 KiB ones.
  Enlarge(impl->in);
  Enlarge(impl->out);
  SetNonBlocking(impl->in);
  SetNonBlocking(impl->out);
  *out = PipeStream(std::move(impl));
  return Status::Ok();
}

struct ChildProcess::Impl {
  pid_t pid = -1;
  bool exited = false;
  int code = 0;
};

ChildProcess::ChildProcess() = default;
ChildProcess::ChildProcess(ChildProcess&& o) noexcept = default;
ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept = default;
ChildProcess::ChildProcess(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ChildProcess::~ChildProcess() {
  if (impl_ == nullptr) return;
  bool exited = false;
  int code = 0;
  if (Wait(5000, &exited, &code).ok() && exited) return;
  Kill();
  Wait(-1, &exited, &code);
}

Status ChildProcess::Wait(int timeout_ms, bool* exited, int* code) {
  // Polled with a short sleep: SIGCHLD would need a handler that the rest
  // of the program would have to know about, for a wait that is rare and
  // short.
  for (int waited = 0;;) {
    if (!impl_->exited) {
      int st = 0;
      pid_t r = waitpid(impl_->pid, &st, WNOHANG);
      if (r < 0 && errno != EINTR) return PipeError("waitpid", errno);
      if (r == impl_->pid) {
        impl_->exited = true;
        impl_->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
    }
    if (impl_->exited || (timeout_ms >= 0 && waited >= timeout_ms)) break;
    timespec ts{0, 10 * 1000 * 1000};
    nanosleep(&ts, nullptr);
    waited += 10;
  }
  *exited = impl_->exited;
  *code = impl_->code;
  return Status::Ok();
}

void ChildProcess::Kill() {
  if (!impl_->exited) kill(impl_->pid, SIGKILL);
}

Status Spawn(const std::vector<std::string>& argv, ChildProcess* child, PipeStream* io) {
  // to_child: our writes to its stdin; from_child: its stdout to us;
  // report: exec's errno, if exec fails (the pipe closes unread on success).
  int to_child[2], from_child[2], report[2];
  if (pipe2(to_child, O_CLOEXEC) != 0) return PipeError("pipe", errno);
  if (pipe2(from_child, O_CLOEXEC) != 0) {
    int err = errno;
    close(to_child[0]);
    close(to_child[1]);
    return PipeError("pipe", err);
  }
  if (pipe2(report, O_CLOEXEC) != 0) {
    int err = errno;
    for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) close(fd);
    return PipeError("pipe", err);
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    // The child: only async-signal-safe calls until exec.
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    signal(SIGPIPE, SIG_DFL);  // ignored in us; ssh expects the default
    execvp(args[0], args.data());
    int err = errno;
    ssize_t ignored = write(report[1], &err, sizeof err);
    (void)ignored;
    _exit(127);
  }
  int fork_err = errno;
  close(to_child[0]);
  close(from_child[1]);
  close(report[1]);
  if (pid < 0) {
    close(to_child[1]);
    close(from_child[0]);
    close(report[0]);
    return PipeError("fork", fork_err);
  }
  auto impl = std::make_unique<ChildProcess::Impl>();
  impl->pid = pid;
  *child = ChildProcess(std::move(impl));
  int exec_err = 0;
  ssize_t r;
  do {
    r = read(report[0], &exec_err, sizeof exec_err);
  } while (r < 0 && errno == EINTR);
  close(report[0]);
  if (r == static_cast<ssize_t>(sizeof exec_err)) {
    close(to_child[1]);
    close(from_child[0]);
    *child = ChildProcess();  // reaps it
    return Status::Socket("cannot run " + argv[0] + ": " + strerror(exec_err));
  }
  auto pipes = std::make_unique<PipeStream::Impl>();
  pipes->in = from_child[0];
  pipes->out = to_child[1];
  Enlarge(pipes->in);
  Enlarge(pipes->out);
  SetNonBlocking(pipes->in);
  SetNonBlocking(pipes->out);
  *io = PipeStream(std::move(pipes));
  return Status::Ok();
}

}  // namespace platform
