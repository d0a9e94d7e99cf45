// TCP sockets and readiness polling: the only place that talks to the OS's
// socket API. One implementation file per OS (net_posix.cc, net_win32.cc).
#ifndef TREESYNC_PLATFORM_NET_H_
#define TREESYNC_PLATFORM_NET_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace platform {

using treesync::Status;

// A connected or listening TCP socket; move-only, closed by its destructor.
// The handle is opaque: wide enough for a POSIX fd or a Winsock SOCKET.
class Socket {
 public:
  using Handle = std::uintptr_t;
  static constexpr Handle kInvalid = ~Handle(0);

  Socket() = default;
  explicit Socket(Handle h) : h_(h) {}
  ~Socket() { Close(); }
  Socket(Socket&& o) noexcept : h_(o.h_) { o.h_ = kInvalid; }
  Socket& operator=(Socket&& o) noexcept {
    if (this != &o) {
      Close();
      h_ = o.h_;
      o.h_ = kInvalid;
    }
    return *this;
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  bool valid() const { return h_ != kInvalid; }
  Handle handle() const { return h_; }
  void Close();

  // Receives up to n bytes that are available now, never blocking; *eof is
  // set when the peer closed its side (*got is then 0).
  Status Read(void* buf, size_t n, size_t* got, bool* eof);
  // Sends as many of n bytes as fit now (possibly 0), never blocking.
  Status Write(const void* buf, size_t n, size_t* wrote);
  // Tells the peer we will send nothing more.
  void ShutdownWrite();

 private:
  Handle h_ = kInvalid;
};

// Prepares the socket library (WSAStartup on Windows) and process-wide
// settings such as ignoring SIGPIPE. Call once before any other function.
Status NetInit();

// Listens on bind_addr:port; an empty bind_addr means every interface, IPv6
// and IPv4 where the OS allows one socket for both. port 0 picks a free port.
Status Listen(const std::string& bind_addr, uint16_t port, Socket* out);
// The port a listening socket is bound to.
Status LocalPort(const Socket& s, uint16_t* port);
// Waits up to timeout_ms (-1: forever) for a connection. *out stays invalid
// on timeout. *peer gets "addr:port" ("[v6]:port" for IPv6).
Status Accept(const Socket& listener, int timeout_ms, Socket* out,
              std::string* peer);
// Resolves host (name, IPv4 or IPv6 literal) and connects to the first
// address that answers, giving up after timeout_ms (-1: OS default; then
// kTimeout). Accepted and connected sockets have TCP keepalive on.
Status Connect(const std::string& host, uint16_t port, int timeout_ms,
               Socket* out);
// Whether s has TCP keepalive on (false if it can't be asked).
bool KeepsAlive(const Socket& s);
// A connected pair of sockets: for tests, and for Windows to bridge pipes
// (subprocess_win32.cc).
Status SocketPair(Socket* a, Socket* b);

struct Readiness {
  bool readable = false;  // also set on hang-up or error, so a Read reports it
  bool writable = false;
};
// Waits up to timeout_ms (-1: forever) until s is readable (when want_read)
// or writable (when want_write). A timeout returns OK with both false.
Status Poll(const Socket& s, bool want_read, bool want_write, int timeout_ms,
            Readiness* out);

// One socket of a PollAll: what to wait for, and what was found.
struct PollItem {
  const Socket* socket = nullptr;
  bool want_read = false;
  bool want_write = false;
  Readiness ready;  // set by PollAll, as by Poll
};
// Poll for many sockets at once: waits up to timeout_ms (-1: forever) until
// any item is ready as asked, then sets every item's `ready`. A timeout, or
// a wait cut short by a signal, returns OK with nothing ready.
Status PollAll(std::vector<PollItem>* items, int timeout_ms);

// Raises this process's limit on open sockets as far as the OS lets it
// without privilege (POSIX: the soft RLIMIT_NOFILE up to the hard one; it
// counts every descriptor, not just sockets) and returns the limit now in
// force; SIZE_MAX where there is no such per-process limit (Windows).
size_t RaiseSocketLimit();

}  // namespace platform

#endif  // TREESYNC_PLATFORM_NET_H_
