#include "net.h"

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include "os_error_win32.h"
#include "sockaddr_util.h"

namespace platform {

using treesync::ErrorKind;

namespace {

SOCKET Sock(const Socket& s) { return static_cast<SOCKET>(s.handle()); }

Status SockError(const std::string& what, int err) {
  if (err == WSAETIMEDOUT) return Status::Timeout(what + ": timed out");
  return WinErrorStatus(ErrorKind::kSocket, what, static_cast<unsigned long>(err));
}

Status LastSockError(const std::string& what) { return SockError(what, WSAGetLastError()); }

// Every socket here is non-blocking: Winsock has no per-call MSG_DONTWAIT,
// and the poll loop above never wants a call to block.
void SetNonBlocking(SOCKET s) {
  u_long one = 1;
  ioctlsocket(s, FIONBIO, &one);
}

void TuneConnected(SOCKET s) {
  BOOL one = TRUE;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&one), sizeof one);
  // A peer whose host vanished is noticed even on a session that waits.
  setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, reinterpret_cast<const char*>(&one), sizeof one);
  SetNonBlocking(s);
}

// A socket for ai that child processes don't inherit; on failure *err says why.
SOCKET NewSocket(const addrinfo* ai, int* err) {
  SOCKET s = WSASocketW(ai->ai_family, ai->ai_socktype, ai->ai_protocol, nullptr, 0,
                        WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET) *err = WSAGetLastError();
  return s;
}

// select() on one socket: Winsock's WSAPoll misses failed connects on older
// Windows, and one socket never meets FD_SETSIZE. Returns select's result.
int WaitOne(SOCKET s, bool want_read, bool want_write, int timeout_ms, bool* readable,
            bool* writable, bool* failed) {
  fd_set r, w, e;
  FD_ZERO(&r);
  FD_ZERO(&w);
  FD_ZERO(&e);
  if (want_read) FD_SET(s, &r);
  if (want_write) FD_SET(s, &w);
  FD_SET(s, &e);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  int n = select(0, &r, &w, &e, timeout_ms < 0 ? nullptr : &tv);
  *readable = n > 0 && FD_ISSET(s, &r);
  *writable = n > 0 && FD_ISSET(s, &w);
  *failed = n > 0 && FD_ISSET(s, &e);
  return n;
}

}  // namespace

void Socket::Close() {
  if (valid()) {
    closesocket(Sock(*this));
    h_ = kInvalid;
  }
}

Status Socket::Read(void* buf, size_t n, size_t* got, bool* eof) {
  *got = 0;
  *eof = false;
  int want = n > (1u << 30) ? (1 << 30) : static_cast<int>(n);
  int r = recv(Sock(*this), static_cast<char*>(buf), want, 0);
  if (r > 0) {
    *got = static_cast<size_t>(r);
    return Status::Ok();
  }
  if (r == 0) {
    *eof = n > 0;
    return Status::Ok();
  }
  int err = WSAGetLastError();
  if (err == WSAEWOULDBLOCK) return Status::Ok();
  return SockError("recv", err);
}

Status Socket::Write(const void* buf, size_t n, size_t* wrote) {
  *wrote = 0;
  int want = n > (1u << 30) ? (1 << 30) : static_cast<int>(n);
  int r = send(Sock(*this), static_cast<const char*>(buf), want, 0);
  if (r >= 0) {
    *wrote = static_cast<size_t>(r);
    return Status::Ok();
  }
  int err = WSAGetLastError();
  if (err == WSAEWOULDBLOCK) return Status::Ok();
  return SockError("send", err);
}

void Socket::ShutdownWrite() {
  if (valid()) shutdown(Sock(*this), SD_SEND);
}

Status NetInit() {
  WSADATA data;
  int err = WSAStartup(MAKEWORD(2, 2), &data);
  if (err != 0) return SockError("WSAStartup", err);
  return Status::Ok();
}

Status Listen(const std::string& bind_addr, uint16_t port, Socket* out) {
  addrinfo* res = nullptr;
  const bool wildcard = bind_addr.empty();
  int gai = sockaddr_util::ResolveListen(bind_addr, port, &res);
  if (gai != 0) return SockError("resolve " + bind_addr, gai);
  int last_err = WSAEADDRNOTAVAIL;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    SOCKET s = NewSocket(ai, &last_err);
    if (s == INVALID_SOCKET) continue;
    // Windows' SO_REUSEADDR lets another process steal the port; exclusive
    // use is what POSIX's SO_REUSEADDR listener gets by default.
    BOOL one = TRUE, zero = FALSE;
    setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, reinterpret_cast<const char*>(&one),
               sizeof one);
    if (ai->ai_family == AF_INET6 && wildcard) {
      setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, reinterpret_cast<const char*>(&zero), sizeof zero);
    }
    if (bind(s, ai->ai_addr, static_cast<int>(ai->ai_addrlen)) == 0 && listen(s, 128) == 0) {
      freeaddrinfo(res);
      SetNonBlocking(s);
      *out = Socket(static_cast<Socket::Handle>(s));
      return Status::Ok();
    }
    last_err = WSAGetLastError();
    closesocket(s);
  }
  freeaddrinfo(res);
  std::string where = (bind_addr.empty() ? "*" : bind_addr) + ":" + std::to_string(port);
  return SockError("listen " + where, last_err);
}

Status LocalPort(const Socket& s, uint16_t* port) {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (getsockname(Sock(s), reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return LastSockError("getsockname");
  }
  *port = sockaddr_util::PortOf(ss);
  return Status::Ok();
}

Status Accept(const Socket& listener, int timeout_ms, Socket* out, std::string* peer) {
  bool readable, writable, failed;
  int n = WaitOne(Sock(listener), true, false, timeout_ms, &readable, &writable, &failed);
  if (n < 0) {
    int err = WSAGetLastError();
    if (err == WSAEINTR) return Status::Ok();
    return SockError("select", err);
  }
  if (n == 0) return Status::Ok();
  sockaddr_storage ss{};
  int len = sizeof ss;
  SOCKET s = accept(Sock(listener), reinterpret_cast<sockaddr*>(&ss), &len);
  if (s == INVALID_SOCKET) {
    // The peer may have given up between select and accept, or the host
    // is out of sockets: the caller just tries again.
    int err = WSAGetLastError();
    if (err == WSAEWOULDBLOCK || err == WSAECONNRESET || err == WSAEINTR ||
        err == WSAEMFILE || err == WSAENOBUFS) {
      return Status::Ok();
    }
    return SockError("accept", err);
  }
  TuneConnected(s);
  *peer = sockaddr_util::AddrToString(reinterpret_cast<sockaddr*>(&ss));
  *out = Socket(static_cast<Socket::Handle>(s));
  return Status::Ok();
}

Status Connect(const std::string& host, uint16_t port, int timeout_ms, Socket* out) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int gai = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  std::string where = sockaddr_util::HostPort(host, port);
  if (gai != 0) return SockError("resolve " + host, gai);
  int last_err = WSAECONNREFUSED;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    SOCKET s = NewSocket(ai, &last_err);
    if (s == INVALID_SOCKET) continue;
    SetNonBlocking(s);
    int err = 0;
    if (connect(s, ai->ai_addr, static_cast<int>(ai->ai_addrlen)) != 0) {
      err = WSAGetLastError();
      if (err == WSAEWOULDBLOCK) {
        bool readable, writable, failed;
        int n = WaitOne(s, false, true, timeout_ms, &readable, &writable, &failed);
        if (n == 0) {
          err = WSAETIMEDOUT;
        } else if (n < 0) {
          err = WSAGetLastError();
        } else {
          // A failed connect shows in the exception set; SO_ERROR says why.
          int so = 0;
          int len = sizeof so;
          getsockopt(s, SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&so), &len);
          err = failed && so == 0 ? WSAECONNREFUSED : so;
        }
      }
    }
    if (err == 0) {
      freeaddrinfo(res);
      TuneConnected(s);
      *out = Socket(static_cast<Socket::Handle>(s));
      return Status::Ok();
    }
    last_err = err;
    closesocket(s);
  }
  freeaddrinfo(res);
  return SockError("connect " + where, last_err);
}

bool KeepsAlive(const Socket& s) {
  BOOL on = FALSE;
  int len = sizeof on;
  return getsockopt(Sock(s), SOL_SOCKET, SO_KEEPALIVE, reinterpret_cast<char*>(&on), &len) == 0 &&
         on != FALSE;
}

Status SocketPair(Socket* a, Socket* b) {
  // No AF_UNIX pairs before Windows 10: a loopback connection instead.
  Socket listener;
  TS_RETURN_IF_ERROR(Listen("127.0.0.1", 0, &listener));
  uint16_t port = 0;
  TS_RETURN_IF_ERROR(LocalPort(listener, &port));
  TS_RETURN_IF_ERROR(Connect("127.0.0.1", port, 5000, a));
  sockaddr_in mine{};
  int len = sizeof mine;
  if (getsockname(Sock(*a), reinterpret_cast<sockaddr*>(&mine), &len) != 0) {
    return LastSockError("getsockname");
  }
  // Any local process may connect to the listener too, and the pair carries
  // session data (a child's pipes): only our own connection is taken.
  // Strangers queue before it at most, so the wait stays bounded.
  const ULONGLONG deadline = GetTickCount64() + 5000;
  while (GetTickCount64() < deadline) {
    std::string peer;
    TS_RETURN_IF_ERROR(Accept(listener, 1000, b, &peer));
    if (!b->valid()) continue;
    sockaddr_in theirs{};
    len = sizeof theirs;
    if (getpeername(Sock(*b), reinterpret_cast<sockaddr*>(&theirs), &len) == 0 &&
        theirs.sin_port == mine.sin_port && theirs.sin_addr.s_addr == mine.sin_addr.s_addr) {
      return Status::Ok();
    }
    b->Close();
  }
  return Status::Socket("socketpair: loopback accept timed out");
}

Status Poll(const Socket& s, bool want_read, bool want_write, int timeout_ms,
            Readiness* out) {
  *out = Readiness();
  bool readable, writable, failed;
  int n = WaitOne(Sock(s), want_read, want_write, timeout_ms, &readable, &writable, &failed);
  if (n < 0) {
    int err = WSAGetLastError();
    if (err == WSAEINTR) return Status::Ok();
    return SockError("select", err);
  }
  out->readable = readable || (failed && want_read);
  out->writable = writable || (failed && want_write);
  return Status::Ok();
}

// WSAPoll, not select: an fd_set holds only FD_SETSIZE (64) sockets. Its
// flaw, missing a failed connect, can't bite here: Connect waits with
// select, and PollAll is for connected and listening sockets.
Status PollAll(std::vector<PollItem>* items, int timeout_ms) {
  std::vector<WSAPOLLFD> fds(items->size());
  for (size_t i = 0; i < fds.size(); ++i) {
    const PollItem& it = (*items)[i];
    fds[i].fd = Sock(*it.socket);
    fds[i].events = static_cast<short>((it.want_read ? POLLRDNORM : 0) |
                                       (it.want_write ? POLLWRNORM : 0));
    fds[i].revents = 0;
    (*items)[i].ready = Readiness();
  }
  if (fds.empty()) {
    // WSAPoll fails on an empty set; waiting for nothing is a sleep.
    if (timeout_ms > 0) Sleep(static_cast<DWORD>(timeout_ms));
    return Status::Ok();
  }
  int r = WSAPoll(fds.data(), static_cast<ULONG>(fds.size()), timeout_ms);
  if (r == SOCKET_ERROR) {
    int err = WSAGetLastError();
    if (err == WSAEINTR) return Status::Ok();
    return SockError("WSAPoll", err);
  }
  for (size_t i = 0; r > 0 && i < fds.size(); ++i) {
    PollItem& it = (*items)[i];
    bool trouble = (fds[i].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
    it.ready.readable = (fds[i].revents & POLLRDNORM) != 0 || (trouble && it.want_read);
    it.ready.writable = (fds[i].revents & POLLWRNORM) != 0 || (trouble && it.want_write);
  }
  return Status::Ok();
}

// Winsock has no per-process limit of the RLIMIT_NOFILE kind.
size_t RaiseSocketLimit() { return SIZE_MAX; }

}  // namespace platform
