// Socket-address helpers that read the same on POSIX and Winsock, shared by
// net_posix.cc and net_win32.cc. Not an interface: include it only from
// those files, after their OS socket headers.
#ifndef TREESYNC_PLATFORM_SOCKADDR_UTIL_H_
#define TREESYNC_PLATFORM_SOCKADDR_UTIL_H_

#include <cstdint>
#include <string>

namespace platform {
namespace sockaddr_util {

// Resolves where to listen: bind_addr, or the dual-stack IPv6 wildcard
// (IPv4's where the host has no IPv6) when it is empty. Returns
// getaddrinfo's code; on 0 the caller frees *res.
inline int ResolveListen(const std::string& bind_addr, uint16_t port, addrinfo** res) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  // Bind addresses are numeric in practice; names still work where NSS does.
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  hints.ai_family = bind_addr.empty() ? AF_INET6 : AF_UNSPEC;
  std::string service = std::to_string(port);
  const char* node = bind_addr.empty() ? nullptr : bind_addr.c_str();
  int gai = getaddrinfo(node, service.c_str(), &hints, res);
  if (gai != 0 && node == nullptr) {
    hints.ai_family = AF_INET;
    gai = getaddrinfo(node, service.c_str(), &hints, res);
  }
  return gai;
}

// "addr:port", "[v6]:port", or the IPv4 form for a v4-mapped address.
inline std::string AddrToString(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    uint16_t port = ntohs(in6->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {  // an IPv4 client on a dual-stack socket
      inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof host);
      return std::string(host) + ":" + std::to_string(port);
    }
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return "?";
}

// The port in an address of either family.
inline uint16_t PortOf(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
}

// "host:port", bracketing an IPv6 literal.
inline std::string HostPort(const std::string& host, uint16_t port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

}  // namespace sockaddr_util
}  // namespace platform

#endif  // TREESYNC_PLATFORM_SOCKADDR_UTIL_H_
