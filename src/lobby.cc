#include "lobby.h"
#include "clock.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <utility>

#include "protocol.h"

namespace treesync {

namespace {

uint32_t PayloadLength(const std::string& header) {
  uint32_t n = 0;
  for (int i = 4; i >= 1; --i) n = n << 8 | static_cast<unsigned char>(header[i]);
  return n;
}

// What a leaving connection reads at most per Wait: a client that floods
// instead of closing can't hold the accepting thread.
constexpr size_t kMaxDrainPerWait = 64 << 10;

// Whether a whole frame is a Handshake key query (step 0, nothing more).
bool IsKeyQuery(const std::string& frame) {
  return frame.size() == kFrameHeaderSize + 1 &&
         static_cast<uint8_t>(frame[0]) == static_cast<uint8_t>(FrameType::kHandshake) &&
         frame[kFrameHeaderSize] == 0;
}

}  // namespace

Lobby::Lobby(size_t capacity, int hello_timeout_ms, int linger_ms)
    : capacity_(std::max<size_t>(capacity, 1)),
      hello_timeout_ms_(hello_timeout_ms),
      linger_ms_(linger_ms) {}

Lobby::Guests::iterator Lobby::Remove(Guests::iterator it) {
  if (it->leaving) --leaving_;
  return guests_.erase(it);
}

void Lobby::MakeRoom() {
  while (guests_.size() >= capacity_) {
    Guest& oldest = guests_.front();
    // A leaving one was reported when it was turned away; its Error is
    // with the OS by now, and it has no unread Hello to cause a reset.
    if (!oldest.leaving) {
      Arrival a;
      a.peer = oldest.peer;
      a.status = Status::Refused("pushed out by newer connections before its Hello arrived (" +
                                 std::to_string(capacity_) + " wait at most)");
      pushed_out_.push_back(std::move(a));
    }
    Remove(guests_.begin());
  }
}

void Lobby::Add(platform::Socket sock, std::string peer) {
  MakeRoom();
  Guest g;
  g.sock = std::move(sock);
  g.peer = std::move(peer);
  g.deadline_ms = SteadyMs() + hello_timeout_ms_;
  guests_.push_back(std::move(g));
}

void Lobby::TurnAway(platform::Socket sock, std::string peer, const Status& why) {
  MakeRoom();
  Guest g;
  g.sock = std::move(sock);
  g.peer = std::move(peer);
  g.deadline_ms = SteadyMs() + linger_ms_;
  g.leaving = true;
  AppendFrame(&g.out, FrameType::kError, EncodeError(why.kind(), why.message()));
  guests_.push_back(std::move(g));
  ++leaving_;
  // Nothing was sent on it before, so the frame fits the OS's buffer now.
  platform::Readiness writable;
  writable.writable = true;
  if (Leave(&guests_.back(), writable)) Remove(std::prev(guests_.end()));
}

bool Lobby::ReadHello(Guest* g, Arrival* a) {
  a->peer = g->peer;
  for (;;) {
    size_t need = kFrameHeaderSize;
    if (g->in.size() >= kFrameHeaderSize) need += PayloadLength(g->in);
    if (g->in.size() == need && IsKeyQuery(g->in) && !key_reply_.empty()) {
      // Answered here: the session begins with what comes next.
      if (++g->key_queries > kMaxKeyQueries) {
        a->status = Status::Protocol("more than " + std::to_string(kMaxKeyQueries) +
                                     " key queries");
        a->sock = std::move(g->sock);
        return true;
      }
      size_t wrote = 0;
      // A few dozen bytes on a connection that has been sent nothing else
      // unanswered: the OS takes them whole.
      if (!g->sock.Write(key_reply_.data(), key_reply_.size(), &wrote).ok() ||
          wrote != key_reply_.size()) {
        a->status = Status::Socket("could not answer a key query");
        g->sock.Close();
        return true;
      }
      g->in.clear();
      continue;
    }
    if (g->in.size() == need) break;
    // Exactly the frame, no more: whatever the client sent after its Hello
    // stays in the socket for the session to read.
    char buf[kFrameHeaderSize + kMaxHelloPayload];
    size_t got = 0;
    bool eof = false;
    Status s = g->sock.Read(buf, need - g->in.size(), &got, &eof);
    if (!s.ok() || eof) {
      a->status = s.ok() ? Status::Socket("connection closed before its Hello arrived") : s;
      g->sock.Close();
      return true;
    }
    if (got == 0) return false;
    g->in.append(buf, got);
    if (g->in.size() == kFrameHeaderSize) {
      uint8_t type = static_cast<uint8_t>(g->in[0]);
      if (type != static_cast<uint8_t>(FrameType::kHello) &&
          type != static_cast<uint8_t>(FrameType::kHandshake)) {
        a->status = Status::Protocol("expected Hello, got " + FrameTypeName(type));
      } else if (PayloadLength(g->in) > kMaxHelloPayload) {
        a->status = Status::Protocol("a Hello of " + std::to_string(PayloadLength(g->in)) +
                                     " bytes (at most " + std::to_string(kMaxHelloPayload) + ")");
      }
      if (!a->status.ok()) {
        a->sock = std::move(g->sock);
        return true;
      }
    }
  }
  a->hello.type = static_cast<FrameType>(static_cast<uint8_t>(g->in[0]));
  a->hello.payload = g->in.substr(kFrameHeaderSize);
  a->sock = std::move(g->sock);
  return true;
}

bool Lobby::Leave(Guest* g, const platform::Readiness& ready) {
  if (ready.writable && !g->out.empty()) {
    size_t wrote = 0;
    if (!g->sock.Write(g->out.data(), g->out.size(), &wrote).ok()) return true;
    g->out.erase(0, wrote);
    if (g->out.empty()) g->sock.ShutdownWrite();
  }
  if (!ready.readable) return false;
  // Closing with unread input would reset the connection, and the client
  // might lose the Error before reading it: drop what comes until it closes.
  char buf[4096];
  for (size_t drained = 0; drained < kMaxDrainPerWait;) {
    size_t got = 0;
    bool eof = false;
    if (!g->sock.Read(buf, sizeof buf, &got, &eof).ok() || eof) return true;
    if (got == 0) return false;
    drained += got;
  }
  return false;
}

Status Lobby::Wait(const platform::Socket* listener, int timeout_ms, bool* listener_ready,
                   std::vector<Arrival>* out) {
  *listener_ready = false;
  int64_t now = SteadyMs();
  int64_t wait_ms = timeout_ms;
  for (auto it = guests_.begin(); it != guests_.end();) {
    if (now < it->deadline_ms) {
      if (wait_ms < 0 || it->deadline_ms - now < wait_ms) wait_ms = it->deadline_ms - now;
      ++it;
      continue;
    }
    if (!it->leaving) {
      Arrival a;
      a.peer = it->peer;
      a.status = Status::Timeout("no Hello within " + std::to_string(hello_timeout_ms_ / 1000) +
                                 " s");
      a.sock = std::move(it->sock);
      out->push_back(std::move(a));
    }
    it = Remove(it);
  }
  for (Arrival& a : pushed_out_) out->push_back(std::move(a));
  pushed_out_.clear();

  std::vector<platform::PollItem> items;
  items.reserve(guests_.size() + 1);
  if (listener != nullptr) {
    items.emplace_back();
    items.back().socket = listener;
    items.back().want_read = true;
  }
  for (const Guest& g : guests_) {
    items.emplace_back();
    items.back().socket = &g.sock;
    items.back().want_read = true;
    items.back().want_write = g.leaving && !g.out.empty();
  }
  // Arrivals already in hand are reported at once.
  if (!out->empty()) wait_ms = 0;
  TS_RETURN_IF_ERROR(platform::PollAll(&items, static_cast<int>(wait_ms)));
  size_t i = 0;
  if (listener != nullptr) *listener_ready = items[i++].ready.readable;
  for (auto it = guests_.begin(); it != guests_.end(); ++i) {
    const platform::Readiness& ready = items[i].ready;
    bool done = false;
    if (it->leaving) {
      done = (ready.readable || ready.writable) && Leave(&*it, ready);
    } else if (ready.readable) {
      Arrival a;
      done = ReadHello(&*it, &a);
      if (done) out->push_back(std::move(a));
    }
    it = done ? Remove(it) : std::next(it);
  }
  return Status::Ok();
}

}  // namespace treesync
