// Connection: frames over a byte stream (a socket, pipes), driven by a poll loop that keeps reading
// while it has output pending, so two peers that both write can't deadlock
// on full TCP buffers as long as each takes the frames it is sent. Input is
// buffered up to kMaxInput meanwhile; a peer that floods us past that while
// we can't write meets our timeout instead of unbounded memory. Connections
// given a MemoryBudget (a server's) hold less on their own and share the
// rest, so many slow peers can't add up to unbounded memory either.
#ifndef TREESYNC_CONNECTION_H_
#define TREESYNC_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <string>

#include "byte_stream.h"
#include "compressed_stream.h"
#include "noise.h"
#include "frame.h"
#include "memory_budget.h"
#include "net.h"
#include "status.h"

namespace treesync {

class Connection {
 public:
  // timeout_ms: how long the peer may make no progress (-1: forever).
  // budget (may be null; must outlive the connection): with one, the
  // connection queues up to kBudgetFloor of output on its own; the first
  // time the OS can't take more, it takes the rest of kHighWater from the
  // budget if that much is left, and keeps it until its destructor gives
  // it back. It reads kBudgetReadChunk at a time and buffers only one
  // frame's worth of input (kBudgetMaxInput). Without a budget, it queues
  // up to kHighWater and buffers up to kMaxInput.
  Connection(std::unique_ptr<ByteStream> stream, int timeout_ms,
             MemoryBudget* budget = nullptr);
  Connection(platform::Socket sock, int timeout_ms, MemoryBudget* budget = nullptr)
      : Connection(SocketStream(std::move(sock)), timeout_ms, budget) {}
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Queues a frame; sends whatever fits now. When the queue grows past its
  // high water (kHighWater; with a budget, what it holds of it), waits
  // (reading input meanwhile) until it drains.
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
  // Tells the peer nothing more is coming, after flushing. A peer that
  // closes once every frame has reached the OS is not an error here.
  Status Finish();

  // Compression (docs/PROTOCOL.md, "Compression"). ReserveCompression
  // takes what a compressed session at level needs from budget (may be
  // null: no limit; must outlive the connection), which the destructor
  // gives back: false when too little is left (then go uncompressed).
  bool ReserveCompression(int level, MemoryBudget* budget);
  // From now on what this side sends is compressed at level, and what
  // arrives after the frames taken so far is decompressed. Flushes first.
  Status StartCompression(int level);

  // Encryption (docs/PROTOCOL.md, "Encryption"), after a Noise handshake
  // over this connection's frames: from now on what this side sends is
  // sealed with send, and what arrives after the frames taken so far is
  // opened with receive. Compression, if any, starts after it (above it).
  // Flushes first.
  Status StartEncryption(NoiseCipher send, NoiseCipher receive);
  bool encrypted() const { return encrypted_; }

  size_t pending_output() const { return out_end_ - out_pos_; }
  // Bytes of frames sent and taken.
  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t bytes_received() const { return bytes_received_; }
  // Bytes that crossed the stream: compressed ones once compression started.
  uint64_t wire_bytes_sent() const;
  uint64_t wire_bytes_received() const;
  // How long the peer may make no progress from now on (-1: forever).
  void set_timeout_ms(int timeout_ms) { timeout_ms_ = timeout_ms; }
  int timeout_ms() const { return timeout_ms_; }
  // A time (SteadyMs) by which what the caller waits for must have come,
  // however the peer trickles bytes: past it, waiting is kTimeout with
  // message. -1: none (the default). For the first frames of a session,
  // which a client that holds a session's place must not drag out.
  void set_deadline(int64_t steady_ms, std::string message) {
    deadline_ms_ = steady_ms;
    deadline_message_ = std::move(message);
  }
  // Whole frames taken so far.
  uint64_t frames_received() const { return frames_received_; }
  ByteStream& stream() { return *stream_; }
  // The budget given at construction (may be null), for the connection's
  // user to take its own buffers from.
  MemoryBudget* budget() const { return budget_; }
  // Output queued beyond this makes Send wait.
  size_t high_water() const { return high_water_; }

  // Output beyond this makes Send wait for the peer to catch up.
  static constexpr size_t kHighWater = 1 << 20;
  // Output is handed to the OS once this much has gathered.
  static constexpr size_t kBatchBytes = 64 << 10;
  // Input buffered beyond this is left in the socket until frames are taken:
  // it bounds memory even if the peer floods us while we are writing.
  static constexpr size_t kMaxInput = 4 << 20;
  // With a budget: output queued without taking from it. On loopback a
  // large-file pull is as fast with this as with kHighWater (the OS's
  // socket buffer keeps the link busy), so it costs a session little.
  static constexpr size_t kBudgetFloor = 64 << 10;
  // With a budget: input read at once. A server's input is requests, small
  // beside the file data that needs kReadChunk.
  static constexpr size_t kBudgetReadChunk = 64 << 10;
  // With a budget: input buffered. One whole frame must fit to be taken,
  // and more would be the peer's flood, not progress.
  static constexpr size_t kBudgetMaxInput = kFrameHeaderSize + kMaxFramePayload;

 private:
  // One round of the loop: waits for readiness (at most a slice of the
  // timeout, so interrupts are noticed), writes what fits, reads what came.
  Status Pump(bool want_read);
  // Makes room for n more output bytes at out_end_, the buffer growing to
  // the high water plus n.
  void EnsureRoom(size_t n);
  // Raises the high water to kHighWater with bytes from the budget, if
  // that many are left.
  bool TakeFromBudget();
  // After a frame is queued: hands big batches to the OS, and waits while
  // the queue is past kHighWater.
  Status AfterQueue();
  // Takes n sent bytes off the queue.
  void Consumed(size_t n);
  // Output queued here or held by the stream (a compressor's).
  bool OutputWaiting() const { return pending_output() > 0 || stream_->unsent() > 0; }

  std::unique_ptr<ByteStream> stream_;
  CompressedStream* compressed_ = nullptr;  // stream_, once compression started
  bool encrypted_ = false;
  MemoryBudget* compression_budget_ = nullptr;
  size_t compression_taken_ = 0;
  // Frame bytes when compression started, for the wire counts.
  uint64_t plain_sent_ = 0;
  uint64_t plain_received_ = 0;
  int timeout_ms_;
  MemoryBudget* budget_;
  size_t taken_ = 0;  // from budget_
  size_t high_water_;
  size_t read_chunk_;
  size_t max_input_;
  bool write_blocked_ = false;  // the last write took nothing: wait for a poll
  // Output queue: bytes [out_pos_, out_end_) of out_ (out_size_ bytes) are
  // still to send. out_ only grows (to the high water plus one frame), and
  // is never zero-filled.
  std::unique_ptr<char[]> out_;
  size_t out_size_ = 0;
  size_t out_pos_ = 0;
  size_t out_end_ = 0;
  FrameReader in_;
  bool peer_closed_ = false;
  int64_t last_progress_ms_;
  int64_t deadline_ms_ = -1;
  std::string deadline_message_;
  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
  uint64_t frames_received_ = 0;
};

}  // namespace treesync

#endif  // TREESYNC_CONNECTION_H_
