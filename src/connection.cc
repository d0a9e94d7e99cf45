#include "connection.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "clock.h"
#include "console.h"
#include "encrypted_stream.h"

namespace treesync {

namespace {

// Interrupts are polled, so no wait may be longer than this.
constexpr int kPollSliceMs = 200;
constexpr size_t kReadChunk = 256 * 1024;

}  // namespace

Connection::Connection(std::unique_ptr<ByteStream> stream, int timeout_ms, MemoryBudget* budget)
    : stream_(std::move(stream)),
      timeout_ms_(timeout_ms),
      budget_(budget),
      high_water_(budget != nullptr ? kBudgetFloor : kHighWater),
      read_chunk_(budget != nullptr ? kBudgetReadChunk : kReadChunk),
      max_input_(budget != nullptr ? kBudgetMaxInput : kMaxInput),
      last_progress_ms_(SteadyMs()) {}

Connection::~Connection() {
  if (budget_ != nullptr) budget_->Give(taken_);
  if (compression_budget_ != nullptr) compression_budget_->Give(compression_taken_);
}

bool Connection::TakeFromBudget() {
  // All at once: the buffer then grows once, not in steps that each leave
  // a freed copy behind.
  if (budget_ == nullptr || high_water_ >= kHighWater) return false;
  const size_t rest = kHighWater - high_water_;
  if (!budget_->TryTake(rest)) return false;
  taken_ += rest;
  high_water_ = kHighWater;
  return true;
}

Status Connection::Pump(bool want_read) {
  if (platform::Interrupted()) return Status::Interrupted("interrupted by a signal");
  const bool want_write = pending_output() > 0;
  const bool output_waiting = OutputWaiting();
  want_read = want_read && !peer_closed_ && in_.buffered() < max_input_;
  if (!want_read && !output_waiting) {
    return Status::Protocol("peer sent more than " + std::to_string(max_input_) +
                            " bytes without reading ours");
  }
  platform::Readiness ready;
  TS_RETURN_IF_ERROR(stream_->Poll(want_read, want_write, kPollSliceMs, &ready));
  bool progress = false;
  if (ready.writable && output_waiting) {
    write_blocked_ = false;
    size_t wrote = 0;
    const uint64_t below = wire_bytes_sent();
    TS_RETURN_IF_ERROR(stream_->Write(out_.get() + out_pos_, pending_output(), &wrote));
    Consumed(wrote);
    progress = progress || wrote > 0 || wire_bytes_sent() > below;
  }
  if (ready.readable && want_read) {
    size_t got = 0;
    bool eof = false;
    TS_RETURN_IF_ERROR(stream_->Read(in_.Prepare(read_chunk_), read_chunk_, &got, &eof));
    in_.Commit(got);
    bytes_received_ += got;
    progress = progress || got > 0 || eof;
    if (eof) peer_closed_ = true;
  }
  int64_t now = SteadyMs();
  if (deadline_ms_ >= 0 && now > deadline_ms_) return Status::Timeout(deadline_message_);
  if (progress) {
    last_progress_ms_ = now;
  } else if (timeout_ms_ >= 0 && now - last_progress_ms_ > timeout_ms_) {
    return Status::Timeout("no progress from the peer for " + std::to_string(timeout_ms_ / 1000) +
                           " s");
  }
  return Status::Ok();
}

void Connection::Consumed(size_t n) {
  out_pos_ += n;
  bytes_sent_ += n;
  if (out_pos_ == out_end_) out_pos_ = out_end_ = 0;
}

void Connection::EnsureRoom(size_t n) {
  if (out_size_ - out_end_ >= n) return;
  // The queue holds at most the high water before a frame is added, so
  // this much room suffices.
  const size_t cap = std::max(high_water_, pending_output()) + n;
  // Slide what is left to send down when at least as much has been sent
  // before it, so each byte is moved at most about once, or when the
  // buffer is as large as it needs to be: then the queue is near full,
  // which means the peer is the slower side.
  if (out_pos_ > 0 && (out_pos_ >= pending_output() || out_size_ >= cap)) {
    std::memmove(out_.get(), out_.get() + out_pos_, pending_output());
    out_end_ -= out_pos_;
    out_pos_ = 0;
  }
  if (out_size_ - out_end_ >= n) return;
  // Grow straight to cap, once for each rise of the high water: the new
  // room is neither zeroed nor touched until it is written, so it costs
  // memory only as the queue fills, and no chain of growing copies is left
  // to fragment the heap.
  std::unique_ptr<char[]> bigger(new char[cap]);
  if (pending_output() > 0) std::memcpy(bigger.get(), out_.get() + out_pos_, pending_output());
  out_end_ -= out_pos_;
  out_pos_ = 0;
  out_ = std::move(bigger);
  out_size_ = cap;
}

Status Connection::AfterQueue() {
  // Small frames are batched into larger writes, but not held back for
  // long: the peer can start on them while we produce the rest.
  // A stream that took nothing last time is left alone until a poll says
  // it has room: on a full pipe every try would be a wasted system call.
  const size_t batch = std::max(kBatchBytes, stream_->preferred_write());
  if (pending_output() >= batch && pending_output() <= high_water_ && !write_blocked_) {
    TS_RETURN_IF_ERROR(Push());
  }
  if (pending_output() > high_water_) {
    // The budget is only for what the OS can't take now.
    TS_RETURN_IF_ERROR(Push());
    if (pending_output() > high_water_) TakeFromBudget();
  }
  while (pending_output() > high_water_) TS_RETURN_IF_ERROR(Pump(true));
  return Status::Ok();
}

Status Connection::Send(FrameType type, const void* payload, size_t n) {
  if (pending_output() == 0) last_progress_ms_ = SteadyMs();
  EnsureRoom(kFrameHeaderSize + n);
  WriteFrameHeader(&out_[out_end_], type, n);
  if (n > 0) std::memcpy(&out_[out_end_ + kFrameHeaderSize], payload, n);
  out_end_ += kFrameHeaderSize + n;
  return AfterQueue();
}

char* Connection::ReserveFrame(FrameType type, size_t max) {
  EnsureRoom(kFrameHeaderSize + max);
  WriteFrameHeader(&out_[out_end_], type, max);  // CommitFrame sets the length
  return &out_[out_end_ + kFrameHeaderSize];
}

Status Connection::CommitFrame(size_t n) {
  if (n == 0) return Status::Ok();
  if (pending_output() == 0) last_progress_ms_ = SteadyMs();
  WriteFrameHeader(&out_[out_end_], static_cast<FrameType>(out_[out_end_]), n);
  out_end_ += kFrameHeaderSize + n;
  return AfterQueue();
}

Status Connection::Push() {
  if (!OutputWaiting()) return Status::Ok();
  size_t wrote = 0;
  TS_RETURN_IF_ERROR(stream_->Write(out_.get() + out_pos_, pending_output(), &wrote));
  write_blocked_ = wrote == 0;
  Consumed(wrote);
  return Status::Ok();
}

Status Connection::Flush() {
  last_progress_ms_ = SteadyMs();
  while (OutputWaiting()) TS_RETURN_IF_ERROR(Pump(true));
  return Status::Ok();
}

Status Connection::TryReceive(Frame* f, bool* got) {
  TS_RETURN_IF_ERROR(in_.Next(f, got));
  if (*got) ++frames_received_;
  return Status::Ok();
}

Status Connection::Receive(Frame* f) {
  FrameView v;
  TS_RETURN_IF_ERROR(ReceiveView(&v));
  *f = v.ToFrame();
  return Status::Ok();
}

Status Connection::ReceiveView(FrameView* f) {
  last_progress_ms_ = SteadyMs();
  for (;;) {
    bool got = false;
    TS_RETURN_IF_ERROR(in_.NextView(f, &got));
    if (got) {
      ++frames_received_;
      return Status::Ok();
    }
    if (peer_closed_) {
      // A dropped link looks just like this: it is the connection's fault,
      // not the stream's, and a later pull resumes from it.
      if (in_.buffered() > 0) return Status::Socket("connection closed in the middle of a frame");
      if (compressed_ != nullptr && compressed_->cut_short()) {
        return Status::Socket("connection closed in the middle of the compressed stream");
      }
      return Status::Socket("connection closed by the peer");
    }
    TS_RETURN_IF_ERROR(Pump(true));
  }
}

Status Connection::Finish() {
  TS_RETURN_IF_ERROR(Flush());
  stream_->ShutdownWrite();
  // A layer may have more to send before the stream below is shut: only
  // its closing bytes (a compressed frame's end, the sealed end record),
  // every frame being with the OS already. A peer that read them all and
  // left doesn't need those.
  Status s = Flush();
  return s.kind() == ErrorKind::kSocket ? Status::Ok() : s;
}

bool Connection::ReserveCompression(int level, MemoryBudget* budget) {
  if (budget == nullptr) return true;
  const size_t need = CompressionMemory(level);
  if (!budget->TryTake(need)) return false;
  if (compression_budget_ != nullptr) compression_budget_->Give(compression_taken_);
  compression_budget_ = budget;
  compression_taken_ = need;
  return true;
}

Status Connection::StartCompression(int level) {
  TS_RETURN_IF_ERROR(Flush());
  plain_sent_ = bytes_sent_;
  plain_received_ = bytes_received_;
  std::unique_ptr<CompressedStream> c = Compressed(std::move(stream_), level, in_.TakeBuffered());
  compressed_ = c.get();
  stream_ = std::move(c);
  return Status::Ok();
}

Status Connection::StartEncryption(NoiseCipher send, NoiseCipher receive) {
  TS_RETURN_IF_ERROR(Flush());
  stream_ = Encrypted(std::move(stream_), std::move(send), std::move(receive), in_.TakeBuffered());
  encrypted_ = true;
  return Status::Ok();
}

uint64_t Connection::wire_bytes_sent() const {
  return compressed_ == nullptr ? bytes_sent_ : plain_sent_ + compressed_->wire_bytes_sent();
}

uint64_t Connection::wire_bytes_received() const {
  return compressed_ == nullptr ? bytes_received_
                                : plain_received_ + compressed_->wire_bytes_received();
}

}  // namespace treesync
