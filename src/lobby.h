// Lobby: the connections a server has accepted and not yet given a
// session. Each waits here, with no thread of its own, until its first
// frame, the client's Hello, has arrived; then the server either takes it
// out to serve it or turns it away. A turned-away connection gets its Error
// frame and stays here until its client has closed (or a short linger has
// passed), so the client reads why rather than a reset. The thread that
// accepts drives it all through Wait.
#ifndef TREESYNC_LOBBY_H_
#define TREESYNC_LOBBY_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <vector>

#include "frame.h"
#include "net.h"
#include "status.h"

namespace treesync {

// A Hello is 16 bytes today, the Handshake frame an encrypted session
// begins with 1 (a key query) or 97. A first frame announcing more than
// this is not one this server can read, and is refused from its header alone,
// so a waiting connection never holds more than a few dozen bytes.
constexpr uint32_t kMaxHelloPayload = 256;

class Lobby {
 public:
  // A connection that is through waiting for its Hello.
  struct Arrival {
    platform::Socket sock;  // invalid when the lobby has closed it already
    std::string peer;
    Status status;  // OK: `hello` is its first frame, a Hello or a Handshake; else why not
    Frame hello;
  };

  // capacity: connections held at once, waiting or turned away (at least 1);
  // one more pushes out the one held longest. hello_timeout_ms: how long a
  // connection may take to deliver its Hello. linger_ms: how long a turned-
  // away connection is kept for its client to read the Error and close.
  Lobby(size_t capacity, int hello_timeout_ms, int linger_ms);

  // Takes a connection just accepted from peer.
  void Add(platform::Socket sock, std::string peer);
  // For a server with keys: answers each connection's key queries
  // (Handshake step 0, docs/PROTOCOL.md "Encryption") with reply, a whole
  // frame, here and without a thread, so a client's first frame for its
  // session is its handshake message 1. At most kMaxKeyQueries each; the
  // wait for the first frame still ends kHelloTimeoutMs after connecting.
  void AnswerKeyQueries(std::string reply) { key_reply_ = std::move(reply); }
  static constexpr int kMaxKeyQueries = 4;
  // Sends the client an Error frame carrying why's kind and message, shuts
  // our side and reads (and drops) whatever comes until the client closes.
  // REQUIRES: !why.ok().
  void TurnAway(platform::Socket sock, std::string peer, const Status& why);

  // Waits up to timeout_ms until listener (may be null) is readable or a
  // connection here moves on, and moves it on: reads, sends, closes. Each
  // connection that is through waiting is appended to *out, exactly once:
  // with its Hello; with a timeout, or a first frame that is not a Hello
  // (sock still open: turn it away); or, sock closed already, because its
  // client closed first or it was pushed out to make room.
  Status Wait(const platform::Socket* listener, int timeout_ms, bool* listener_ready,
              std::vector<Arrival>* out);

  size_t waiting() const { return guests_.size() - leaving_; }
  size_t leaving() const { return leaving_; }

 private:
  struct Guest {
    platform::Socket sock;
    std::string peer;
    int64_t deadline_ms = 0;
    bool leaving = false;
    std::string in;   // waiting: the first frame's bytes so far
    int key_queries = 0;  // answered so far
    std::string out;  // leaving: the Error frame's bytes not yet sent
  };
  using Guests = std::list<Guest>;

  // Makes room for one more guest.
  void MakeRoom();
  // Reads what has come of a waiting guest's Hello. True when it is
  // through waiting, with *a filled in.
  bool ReadHello(Guest* g, Arrival* a);
  // Sends and drains a leaving guest. True when it can be closed.
  bool Leave(Guest* g, const platform::Readiness& ready);
  Guests::iterator Remove(Guests::iterator it);

  size_t capacity_;
  int hello_timeout_ms_;
  int linger_ms_;
  // In the order they came or were turned away: the front has been here
  // longest, and is the one pushed out.
  Guests guests_;
  size_t leaving_ = 0;
  std::vector<Arrival> pushed_out_;  // reported by the next Wait
  std::string key_reply_;  // empty: key queries go to the session
};

}  // namespace treesync

#endif  // TREESYNC_LOBBY_H_
