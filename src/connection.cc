#include "connection.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "console.h"

namespace treesync {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Interrupts are polled, so no wait may be longer than this.
constexpr int kPollSliceMs = 200;
constexpr size_t kReadChunk = 256 * 1024;

}  // namespace

Connection::Connection(platform::Socket sock, int timeout_ms)
    : sock_(std::move(sock)), timeout_ms_(timeout_ms), last_progress_ms_(NowMs()) {}

Status Connection::Pump(bool want_read) {
  if (platform::Interrupted()) return Status::Interrupted("interrupted by a signal");
  bool want_write = pending_output() > 0;
  want_read = want_read && !peer_closed_ && in_.buffered() < kMaxInput;
  if (!want_read && !want_write) {
    return Status::Protocol("peer sent more than " + std::to_string(kMaxInput) +
                            " bytes without reading ours");
  }
  platform::Readiness ready;
  TS_RETURN_IF_ERROR(platform::Poll(sock_, want_read, want_write, kPollSliceMs, &ready));
  bool progress = false;
  if (ready.writable && want_write) {
    size_t wrote = 0;
    TS_RETURN_IF_ERROR(sock_.Write(out_.data() + out_pos_, pending_output(), &wrote));
    Consumed(wrote);
    progress = progress || wrote > 0;
  }
  if (ready.readable && want_read) {
    size_t got = 0;
    bool eof = false;
    TS_RETURN_IF_ERROR(sock_.Read(in_.Prepare(kReadChunk), kReadChunk, &got, &eof));
    in_.Commit(got);
    bytes_received_ += got;
    progress = progress || got > 0 || eof;
    if (eof) peer_closed_ = true;
  }
  int64_t now = NowMs();
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
  if (out_.size() - out_end_ >= n) return;
  // Slide what is left to send down only when at least as much has been
  // sent before it, so each byte is moved at most about once; otherwise
  // grow (the queue stays near kHighWater, so the buffer stays bounded).
  if (out_pos_ > 0 && out_pos_ >= pending_output()) {
    std::memmove(&out_[0], out_.data() + out_pos_, pending_output());
    out_end_ -= out_pos_;
    out_pos_ = 0;
  }
  if (out_.size() - out_end_ < n) out_.resize(std::max(out_end_ + n, out_.size() * 3 / 2));
}

Status Connection::AfterQueue() {
  // Small frames are batched into larger writes, but not held back for
  // long: the peer can start on them while we produce the rest.
  if (pending_output() >= kBatchBytes && pending_output() <= kHighWater) TS_RETURN_IF_ERROR(Push());
  while (pending_output() > kHighWater) TS_RETURN_IF_ERROR(Pump(true));
  return Status::Ok();
}

Status Connection::Send(FrameType type, const void* payload, size_t n) {
  if (pending_output() == 0) last_progress_ms_ = NowMs();
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
  if (pending_output() == 0) last_progress_ms_ = NowMs();
  WriteFrameHeader(&out_[out_end_], static_cast<FrameType>(out_[out_end_]), n);
  out_end_ += kFrameHeaderSize + n;
  return AfterQueue();
}

Status Connection::Push() {
  if (pending_output() == 0) return Status::Ok();
  size_t wrote = 0;
  TS_RETURN_IF_ERROR(sock_.Write(out_.data() + out_pos_, pending_output(), &wrote));
  Consumed(wrote);
  return Status::Ok();
}

Status Connection::Flush() {
  last_progress_ms_ = NowMs();
  while (pending_output() > 0) TS_RETURN_IF_ERROR(Pump(true));
  return Status::Ok();
}

Status Connection::TryReceive(Frame* f, bool* got) { return in_.Next(f, got); }

Status Connection::Receive(Frame* f) {
  FrameView v;
  TS_RETURN_IF_ERROR(ReceiveView(&v));
  *f = v.ToFrame();
  return Status::Ok();
}

Status Connection::ReceiveView(FrameView* f) {
  last_progress_ms_ = NowMs();
  for (;;) {
    bool got = false;
    TS_RETURN_IF_ERROR(in_.NextView(f, &got));
    if (got) return Status::Ok();
    if (peer_closed_) {
      // A dropped link looks just like this: it is the connection's fault,
      // not the stream's, and a later pull resumes from it.
      if (in_.buffered() > 0) return Status::Socket("connection closed in the middle of a frame");
      return Status::Socket("connection closed by the peer");
    }
    TS_RETURN_IF_ERROR(Pump(true));
  }
}

Status Connection::Finish() {
  TS_RETURN_IF_ERROR(Flush());
  sock_.ShutdownWrite();
  return Status::Ok();
}

}  // namespace treesync
