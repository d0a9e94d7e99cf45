// flood_client [--idle N] [--stall N --want K] [--half-open N] [--hold-ms MS]
//              [--ready-file F] HOST PORT
// Opens many connections to a treesync server at once, for the tests of a
// server that stays available:
//   --idle N   connections that never send a byte (they never finish the
//              handshake);
//   --stall N  connections that send Hello and one Want for the entries
//              0 .. K-1 of the listing (--want K, default 1), then never
//              read: their sessions fill every buffer they have;
//   --half-open N  connections that ask a server with keys for its key
//              (a Handshake key query) and go no further.
// Writes "ready" to F (if given) once every connection is open and has sent
// what it sends, then holds them for MS milliseconds (default 5000) and
// prints "open=O closed=C first_close_s=A last_close_s=B": how many the
// server closed (or answered, for the idle ones) while they were held, and
// when, in seconds from ready. Exits 1 if a connection can't be opened.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "frame.h"
#include "net.h"
#include "protocol.h"

using namespace treesync;

namespace {

using Clock = std::chrono::steady_clock;

struct Held {
  platform::Socket sock;
  bool idle = true;
  bool closed = false;
  double closed_at = 0;
};

// Writes all of data, waiting for room (the data here is small).
bool WriteAll(platform::Socket* s, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    size_t n = 0;
    if (!s->Write(data.data() + done, data.size() - done, &n).ok()) return false;
    done += n;
    if (n == 0) {
      platform::Readiness r;
      if (!platform::Poll(*s, false, true, 1000, &r).ok()) return false;
    }
  }
  return true;
}

int Usage() {
  std::fprintf(stderr,
               "usage: flood_client [--idle N] [--stall N --want K] [--half-open N] [--hold-ms MS] "
               "[--ready-file F] HOST PORT\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int idle = 0, stall = 0, half_open = 0, want = 1, hold_ms = 5000;
  std::string ready_file, host;
  int port = -1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--idle" && has_value) {
      idle = std::atoi(argv[++i]);
    } else if (a == "--stall" && has_value) {
      stall = std::atoi(argv[++i]);
    } else if (a == "--half-open" && has_value) {
      half_open = std::atoi(argv[++i]);
    } else if (a == "--want" && has_value) {
      want = std::atoi(argv[++i]);
    } else if (a == "--hold-ms" && has_value) {
      hold_ms = std::atoi(argv[++i]);
    } else if (a == "--ready-file" && has_value) {
      ready_file = argv[++i];
    } else if (host.empty()) {
      host = a;
    } else if (port < 0) {
      port = std::atoi(a.c_str());
    } else {
      return Usage();
    }
  }
  if (host.empty() || port <= 0 || port > 65535 || want < 1) return Usage();
  if (!platform::NetInit().ok()) return 1;

  // What a stalling client sends: a Hello asking for the packed listing, as
  // treesync's client does, and a Want for the first entries. The served
  // tree is laid out so that those are large files.
  Hello hello;
  hello.flags = kHelloPackedListing;
  std::vector<Want> wants(static_cast<size_t>(want));
  for (int i = 0; i < want; ++i) wants[static_cast<size_t>(i)].index = static_cast<uint32_t>(i);
  std::string stall_bytes;
  AppendFrame(&stall_bytes, FrameType::kHello, EncodeHello(hello));
  AppendFrame(&stall_bytes, FrameType::kWant, EncodeWants(wants.data(), wants.size()));

  std::string half_open_bytes;
  AppendFrame(&half_open_bytes, FrameType::kHandshake, std::string(1, '\0'));

  std::vector<Held> held(static_cast<size_t>(idle + stall + half_open));
  for (size_t i = 0; i < held.size(); ++i) {
    Status s = platform::Connect(host, static_cast<uint16_t>(port), 5000, &held[i].sock);
    if (!s.ok()) {
      std::fprintf(stderr, "flood_client: connection %zu: %s\n", i + 1, s.message().c_str());
      return 1;
    }
    held[i].idle = i < static_cast<size_t>(idle);
    const bool half = i >= static_cast<size_t>(idle + stall);
    if (!held[i].idle && !WriteAll(&held[i].sock, half ? half_open_bytes : stall_bytes)) {
      std::fprintf(stderr, "flood_client: connection %zu: could not send its requests\n", i + 1);
      return 1;
    }
  }
  if (!ready_file.empty()) {
    FILE* f = std::fopen(ready_file.c_str(), "w");
    if (f != nullptr) {
      std::fputs("ready\n", f);
      std::fclose(f);
    }
  }

  // Idle connections are watched for the server's answer (an Error frame,
  // a close); stalling ones are never read, only held.
  auto start = Clock::now();
  auto end = start + std::chrono::milliseconds(hold_ms);
  while (Clock::now() < end) {
    for (Held& h : held) {
      if (!h.idle || h.closed) continue;
      platform::Readiness r;
      if (!platform::Poll(h.sock, true, false, 0, &r).ok() || !r.readable) continue;
      char buf[256];
      size_t got = 0;
      bool eof = false;
      Status s = h.sock.Read(buf, sizeof buf, &got, &eof);
      if (!s.ok() || got > 0 || eof) {
        h.closed = true;
        h.closed_at = std::chrono::duration<double>(Clock::now() - start).count();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int open = 0, closed = 0;
  double first = 0, last = 0;
  for (const Held& h : held) {
    if (!h.closed) {
      ++open;
      continue;
    }
    if (closed == 0 || h.closed_at < first) first = h.closed_at;
    if (h.closed_at > last) last = h.closed_at;
    ++closed;
  }
  std::printf("open=%d closed=%d first_close_s=%.2f last_close_s=%.2f\n", open, closed, first,
              last);
  return 0;
}
