// Connection: frames over a socket, driven by a poll loop that keeps reading
// while it has output pending, so two peers that both write can't deadlock
// on full TCP buffers as long as each takes the frames it is sent. Input is
// buffered up to kMaxInput meanwhile; a peer that floods us past that while
// we can't write meets our timeout instead of unbounded memory.
#ifndef TREESYNC_CONNECTION_H_
#define TREESYNC_CONNECTION_H_

#include <cstdint>
#include <string>

#include "frame.h"
#include "net.h"
#include "status.h"

namespace treesync {

class Connection {
 public:
  // timeout_ms: how long the peer may make no progress (-1: forever).
  Connection(platform::Socket sock, int timeout_ms);

  // Queues a frame; sends whatever fits now. When the queue grows past
  // kHighWater, waits (reading input meanwhile) until it drains.
  Status Send(FrameType type, const void* payload, size_t n);
  Status Send(FrameType type, const std::string& payload) {
    return Send(type, payload.data(), payload.size());
  }
  // Sends a frame whose payload is written in place, saving a copy:
  // ReserveFrame returns room for up to max payload bytes, valid until
  // CommitFrame(n) queues the first n of them (n == 0 queues nothing).
  // Nothing else may be called on the connection in between.
  char* ReserveFrame(FrameType type, size_t max);
  Status CommitFrame(size_t n);
  // Blocks until every queued byte is handed to the OS.
  Status Flush();
  // Hands queued output to the OS as far as it fits now, never waiting:
  // for small frames the peer should act on before more follow.
  Status Push();
  // Blocks until a frame arrives (sending queued output meanwhile).
  // The peer closing the connection, even mid-frame, is a kSocket error.
  Status Receive(Frame* f);
  // Receive without copying the payload; the view is valid until the next
  // call on this connection.
  Status ReceiveView(FrameView* f);
  // Takes a frame that has already arrived, without blocking.
  Status TryReceive(Frame* f, bool* got);
  // Tells the peer nothing more is coming, after flushing.
  Status Finish();

  size_t pending_output() const { return out_end_ - out_pos_; }
  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t bytes_received() const { return bytes_received_; }
  platform::Socket& socket() { return sock_; }

  // Output beyond this makes Send wait for the peer to catch up.
  static constexpr size_t kHighWater = 1 << 20;
  // Output is handed to the OS once this much has gathered.
  static constexpr size_t kBatchBytes = 64 << 10;
  // Input buffered beyond this is left in the socket until frames are taken:
  // it bounds memory even if the peer floods us while we are writing.
  static constexpr size_t kMaxInput = 4 << 20;

 private:
  // One round of the loop: waits for readiness (at most a slice of the
  // timeout, so interrupts are noticed), writes what fits, reads what came.
  Status Pump(bool want_read);
  // Makes room for n more output bytes at out_end_.
  void EnsureRoom(size_t n);
  // After a frame is queued: hands big batches to the OS, and waits while
  // the queue is past kHighWater.
  Status AfterQueue();
  // Takes n sent bytes off the queue.
  void Consumed(size_t n);

  platform::Socket sock_;
  int timeout_ms_;
  // Output queue: bytes [out_pos_, out_end_) of out_ are still to send.
  // out_ only grows (to about kHighWater plus one frame), so reserving room
  // costs no zero-filling once it has.
  std::string out_;
  size_t out_pos_ = 0;
  size_t out_end_ = 0;
  FrameReader in_;
  bool peer_closed_ = false;
  int64_t last_progress_ms_;
  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
};

}  // namespace treesync

#endif  // TREESYNC_CONNECTION_H_
