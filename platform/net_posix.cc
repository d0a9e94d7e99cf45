#include "net.h"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>

#include "os_error_posix.h"
#include "sockaddr_util.h"

namespace platform {

using treesync::ErrorKind;

namespace {

int Fd(const Socket& s) { return static_cast<int>(s.handle()); }

Status SockError(const std::string& what, int err) {
  if (err == ETIMEDOUT) return Status::Timeout(what + ": timed out");
  return ErrnoStatus(ErrorKind::kSocket, what, err);
}

void TuneConnected(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // A peer whose host vanished is noticed even on a session that waits.
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
}

// Waits for a nonblocking connect to finish; returns the connect error.
int FinishConnect(int fd, int timeout_ms) {
  pollfd p{fd, POLLOUT, 0};
  int r;
  do {
    r = poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return ETIMEDOUT;
  if (r < 0) return errno;
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
  return err;
}

}  // namespace

void Socket::Close() {
  if (valid()) {
    ::close(Fd(*this));
    h_ = kInvalid;
  }
}

Status Socket::Read(void* buf, size_t n, size_t* got, bool* eof) {
  *got = 0;
  *eof = false;
  for (;;) {
    ssize_t r = ::recv(Fd(*this), buf, n, MSG_DONTWAIT);
    if (r > 0) {
      *got = static_cast<size_t>(r);
      return Status::Ok();
    }
    if (r == 0) {
      *eof = n > 0;
      return Status::Ok();
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Ok();
    return SockError("recv", errno);
  }
}

Status Socket::Write(const void* buf, size_t n, size_t* wrote) {
  *wrote = 0;
  for (;;) {
    ssize_t r = ::send(Fd(*this), buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r >= 0) {
      *wrote = static_cast<size_t>(r);
      return Status::Ok();
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Ok();
    return SockError("send", errno);
  }
}

void Socket::ShutdownWrite() {
  if (valid()) ::shutdown(Fd(*this), SHUT_WR);
}

Status NetInit() {
  signal(SIGPIPE, SIG_IGN);
  return Status::Ok();
}

Status Listen(const std::string& bind_addr, uint16_t port, Socket* out) {
  addrinfo* res = nullptr;
  const bool wildcard = bind_addr.empty();
  int gai = sockaddr_util::ResolveListen(bind_addr, port, &res);
  if (gai != 0) {
    return Status::Socket("resolve " + bind_addr + ": " + gai_strerror(gai));
  }
  int last_err = EADDRNOTAVAIL;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_err = errno;
      continue;
    }
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6 && wildcard) {
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    }
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 128) == 0) {
      freeaddrinfo(res);
      *out = Socket(static_cast<Socket::Handle>(fd));
      return Status::Ok();
    }
    last_err = errno;
    ::close(fd);
  }
  freeaddrinfo(res);
  std::string where = (bind_addr.empty() ? "*" : bind_addr) + ":" + std::to_string(port);
  return SockError("listen " + where, last_err);
}

Status LocalPort(const Socket& s, uint16_t* port) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(Fd(s), reinterpret_cast<sockaddr*>(&ss), &len) < 0) {
    return SockError("getsockname", errno);
  }
  *port = sockaddr_util::PortOf(ss);
  return Status::Ok();
}

Status Accept(const Socket& listener, int timeout_ms, Socket* out, std::string* peer) {
  pollfd p{Fd(listener), POLLIN, 0};
  int r = poll(&p, 1, timeout_ms);
  if (r < 0) {
    if (errno == EINTR) return Status::Ok();
    return SockError("poll", errno);
  }
  if (r == 0) return Status::Ok();
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  int fd = ::accept(Fd(listener), reinterpret_cast<sockaddr*>(&ss), &len);
  if (fd < 0) {
    // The peer may have given up between poll and accept; a busy host may
    // be out of descriptors. Neither should stop a server, so the caller
    // just tries again.
    if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED || errno == EMFILE ||
        errno == ENFILE || errno == EPROTO) {
      return Status::Ok();
    }
    return SockError("accept", errno);
  }
  TuneConnected(fd);
  *peer = sockaddr_util::AddrToString(reinterpret_cast<sockaddr*>(&ss));
  *out = Socket(static_cast<Socket::Handle>(fd));
  return Status::Ok();
}

Status Connect(const std::string& host, uint16_t port, int timeout_ms, Socket* out) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  // A numeric address first: that path needs no NSS or DNS library, so a
  // static binary on a bare host still connects by address.
  hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int gai = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (gai == EAI_NONAME) {
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    gai = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  }
  if (gai == EAI_BADFLAGS || gai == EAI_NONAME) {
    hints.ai_flags = AI_NUMERICSERV;  // AI_ADDRCONFIG hides loopback on hosts without a route
    gai = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  }
  std::string where = sockaddr_util::HostPort(host, port);
  if (gai != 0) {
    return Status::Socket("resolve " + host + ": " + gai_strerror(gai));
  }
  int last_err = ECONNREFUSED;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_err = errno;
      continue;
    }
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int err = 0;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
      err = errno == EINPROGRESS ? FinishConnect(fd, timeout_ms) : errno;
    }
    if (err == 0) {
      fcntl(fd, F_SETFL, flags);
      freeaddrinfo(res);
      TuneConnected(fd);
      *out = Socket(static_cast<Socket::Handle>(fd));
      return Status::Ok();
    }
    last_err = err;
    ::close(fd);
  }
  freeaddrinfo(res);
  return SockError("connect " + where, last_err);
}

bool KeepsAlive(const Socket& s) {
  int on = 0;
  socklen_t len = sizeof on;
  return getsockopt(Fd(s), SOL_SOCKET, SO_KEEPALIVE, &on, &len) == 0 && on != 0;
}

Status SocketPair(Socket* a, Socket* b) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) {
    return SockError("socketpair", errno);
  }
  *a = Socket(static_cast<Socket::Handle>(fds[0]));
  *b = Socket(static_cast<Socket::Handle>(fds[1]));
  return Status::Ok();
}

Status Poll(const Socket& s, bool want_read, bool want_write, int timeout_ms,
            Readiness* out) {
  *out = Readiness();
  pollfd p{Fd(s), static_cast<short>((want_read ? POLLIN : 0) | (want_write ? POLLOUT : 0)), 0};
  int r = poll(&p, 1, timeout_ms);
  if (r < 0) {
    if (errno == EINTR) return Status::Ok();
    return SockError("poll", errno);
  }
  if (r == 0) return Status::Ok();
  bool trouble = (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
  out->readable = (p.revents & POLLIN) != 0 || (trouble && want_read);
  out->writable = (p.revents & POLLOUT) != 0 || (trouble && want_write);
  return Status::Ok();
}

Status PollAll(std::vector<PollItem>* items, int timeout_ms) {
  std::vector<pollfd> fds(items->size());
  for (size_t i = 0; i < fds.size(); ++i) {
    const PollItem& it = (*items)[i];
    fds[i].fd = Fd(*it.socket);
    fds[i].events = static_cast<short>((it.want_read ? POLLIN : 0) | (it.want_write ? POLLOUT : 0));
    (*items)[i].ready = Readiness();
  }
  int r = poll(fds.data(), static_cast<nfds_t>(fds.size()), timeout_ms);
  if (r < 0) {
    if (errno == EINTR) return Status::Ok();
    return SockError("poll", errno);
  }
  for (size_t i = 0; r > 0 && i < fds.size(); ++i) {
    PollItem& it = (*items)[i];
    bool trouble = (fds[i].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
    it.ready.readable = (fds[i].revents & POLLIN) != 0 || (trouble && it.want_read);
    it.ready.writable = (fds[i].revents & POLLOUT) != 0 || (trouble && it.want_write);
  }
  return Status::Ok();
}

size_t RaiseSocketLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;  // what most systems start with
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    // Some systems refuse a soft limit as high as an unlimited hard one
    // (macOS: OPEN_MAX); the old limit then stays.
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur > SIZE_MAX) return SIZE_MAX;
  return static_cast<size_t>(lim.rlim_cur);
}

}  // namespace platform
