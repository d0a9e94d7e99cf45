// fault_proxy --to HOST:PORT --port-file F [--flip-at N] [--cut-at N]
//             [--faults down|up] [--throttle BYTES_PER_SEC] [--delay-ms MS]
//             [--bytes-file F2]
// A TCP proxy on 127.0.0.1 for fault-injection tests. Faults apply to the
// first connection's server-to-client bytes (client-to-server with
// --faults up, where a push's file data flows): --flip-at flips the low bit of
// byte N, --cut-at forwards N bytes then drops both sides. --throttle limits
// that direction's rate; --delay-ms holds every chunk in both directions for
// MS milliseconds (a WAN-like round trip, still pipelined). --bytes-file
// gets "up=U down=D" per finished connection. Exits after 120 s idle.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "net.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host;
  uint16_t port = 0;
  long long flip_at = -1, cut_at = -1, throttle = 0;
  int delay_ms = 0;
  bool faults_up = false;
  std::string bytes_file;
};

std::atomic<bool> g_first{true};
std::mutex g_file_mutex;

// Moves bytes from `from` to `to` until `from` closes or a fault cuts it.
// Returns the bytes forwarded.
long long Pump(platform::Socket* from, platform::Socket* to, const Options& o, bool faults,
               std::atomic<bool>* stop) {
  struct Chunk {
    Clock::time_point due;
    std::string data;
  };
  std::deque<Chunk> queue;
  long long total = 0;
  bool eof = false;
  auto start = Clock::now();
  char buf[65536];
  while (!*stop) {
    if (!eof && queue.size() < 1024) {
      // Wait for input no longer than until the oldest chunk falls due.
      // Rounded up: a wait of 0 for a chunk due within the millisecond
      // would spin, and the spinning took a core from the peers measured.
      int wait_ms = 50;
      if (!queue.empty()) {
        auto left = std::chrono::duration_cast<std::chrono::microseconds>(queue.front().due -
                                                                          Clock::now());
        long long ms = (left.count() + 999) / 1000;
        wait_ms = static_cast<int>(std::max<long long>(0, std::min<long long>(50, ms)));
      }
      platform::Readiness r;
      platform::Poll(*from, true, false, wait_ms, &r);
      // Drain what is there now, so throughput is not one chunk per wait.
      for (int i = 0; r.readable && i < 64 && queue.size() < 1024; ++i) {
        size_t got = 0;
        bool closed = false;
        if (!from->Read(buf, sizeof buf, &got, &closed).ok() || closed) {
          eof = true;
          break;
        }
        if (got == 0) break;
        queue.push_back({Clock::now() + std::chrono::milliseconds(o.delay_ms), std::string(buf, got)});
      }
    }
    while (!queue.empty() && queue.front().due <= Clock::now()) {
      std::string& d = queue.front().data;
      if (faults && o.cut_at >= 0 && total + (long long)d.size() >= o.cut_at) {
        d.resize(static_cast<size_t>(o.cut_at - total));
      }
      if (faults && o.flip_at >= total && o.flip_at < total + (long long)d.size()) {
        d[static_cast<size_t>(o.flip_at - total)] ^= 1;
      }
      size_t off = 0;
      while (off < d.size() && !*stop) {
        if (o.throttle > 0) {
          double allowed = std::chrono::duration<double>(Clock::now() - start).count() * o.throttle;
          if (total + 1 > allowed) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            continue;
          }
        }
        size_t n = d.size() - off;
        if (o.throttle > 0) n = std::min<size_t>(n, 4096);
        platform::Readiness w;
        platform::Poll(*to, false, true, 50, &w);
        size_t wrote = 0;
        if (!to->Write(d.data() + off, n, &wrote).ok()) {
          *stop = true;
          break;
        }
        off += wrote;
        total += (long long)wrote;
      }
      queue.pop_front();
      if (faults && o.cut_at >= 0 && total >= o.cut_at) {
        *stop = true;  // the cut: both sides are dropped
        return total;
      }
    }
    if (eof && queue.empty()) {
      to->ShutdownWrite();
      return total;
    }
    if (eof && !queue.empty() && queue.front().due > Clock::now()) {
      std::this_thread::sleep_until(queue.front().due);
    }
  }
  return total;
}

void Serve(platform::Socket client, const Options& o) {
  bool faults = g_first.exchange(false);
  platform::Socket server;
  if (!platform::Connect(o.host, o.port, 5000, &server).ok()) return;
  std::atomic<bool> stop{false};
  long long up = 0, down = 0;
  std::thread t([&] { up = Pump(&client, &server, o, faults && o.faults_up, &stop); });
  down = Pump(&server, &client, o, faults && !o.faults_up, &stop);
  if (stop) {
    client.Close();
    server.Close();
  }
  t.join();
  if (!o.bytes_file.empty()) {
    std::lock_guard<std::mutex> lock(g_file_mutex);
    if (FILE* f = std::fopen(o.bytes_file.c_str(), "a")) {
      std::fprintf(f, "up=%lld down=%lld\n", up, down);
      std::fclose(f);
    }
  }
}

int Usage(const char* why) {
  std::fprintf(stderr, "fault_proxy: %s\nusage: fault_proxy --to HOST:PORT --port-file F "
                       "[--flip-at N] [--cut-at N] [--throttle BPS] [--delay-ms MS] [--bytes-file F]\n", why);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string port_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return Usage(("missing value for " + a).c_str());
    std::string v = argv[++i];
    if (a == "--to") {
      size_t colon = v.rfind(':');
      if (colon == std::string::npos) return Usage("--to needs HOST:PORT");
      o.host = v.substr(0, colon);
      o.port = static_cast<uint16_t>(std::atoi(v.c_str() + colon + 1));
    } else if (a == "--port-file") {
      port_file = v;
    } else if (a == "--flip-at") {
      o.flip_at = std::atoll(v.c_str());
    } else if (a == "--cut-at") {
      o.cut_at = std::atoll(v.c_str());
    } else if (a == "--throttle") {
      o.throttle = std::atoll(v.c_str());
    } else if (a == "--delay-ms") {
      o.delay_ms = std::atoi(v.c_str());
    } else if (a == "--faults") {
      o.faults_up = v == "up";
    } else if (a == "--bytes-file") {
      o.bytes_file = v;
    } else {
      return Usage(("unknown option " + a).c_str());
    }
  }
  if (o.host.empty() || port_file.empty()) return Usage("--to and --port-file are required");
  platform::NetInit();
  platform::Socket listener;
  uint16_t port = 0;
  if (!platform::Listen("127.0.0.1", 0, &listener).ok() || !platform::LocalPort(listener, &port).ok()) {
    return Usage("cannot listen");
  }
  std::string tmp = port_file + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return Usage("cannot write the port file");
  std::fprintf(f, "%u\n", port);
  std::fclose(f);
  std::rename(tmp.c_str(), port_file.c_str());
  auto last = Clock::now();
  while (Clock::now() - last < std::chrono::seconds(120)) {
    platform::Socket s;
    std::string peer;
    platform::Accept(listener, 200, &s, &peer);
    if (!s.valid()) continue;
    last = Clock::now();
    std::thread([o](platform::Socket c) { Serve(std::move(c), o); }, std::move(s)).detach();
  }
  return 0;
}
