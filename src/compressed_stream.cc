#include "compressed_stream.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "little_endian.h"
#include "zstd_decoder.h"
#include "zstd_encoder.h"

namespace treesync {

namespace {

// Compressed input read from below at once.
constexpr size_t kReadChunk = 128 << 10;

// Input waiting for the compressor, at most, which the worker takes at
// once: enough for full blocks, and little enough that the first bytes go
// out while the caller queues the next (the queue refills while the
// worker compresses).
constexpr size_t kQueueMax = 512 << 10;
// While the compressor works and the caller also waits to read, how long
// a Poll waits for the worker before looking at the stream below again.
constexpr int kWorkerPollMs = 1;
// The longest wait for the worker alone (the caller polls interrupts).
constexpr int kPollSliceMs = 200;
// Stream bytes sent as they are, between frames (docs/PROTOCOL.md,
// "Compression"): a skippable frame with this magic, its length, then
// the bytes.
constexpr uint32_t kPassMagic = 0x184D2A5E;
constexpr size_t kPassHeader = 8;
// Of a pass, bytes copied behind its header so the two go below in one
// write; the rest go from the caller's buffer. A write this short goes to
// the compressor; a pass's last piece this short is not sampled.
constexpr size_t kPassHead = 4 << 10;
// The batch asked for while passing: passes as long as a connection's
// output queue.
constexpr size_t kPassBatch = 1 << 20;
// Bytes passed raw between batches given to the compressor again, which
// finds what the sample can't see (a file repeated in the window).
constexpr size_t kProbeEvery = 8 << 20;
// The smallest batch whose compression says whether passes begin.
constexpr size_t kStreakMin = 64 << 10;

// Writes are compressed by a thread of the stream's own, so the caller's
// thread goes on reading files and hashing (and the decoder reading) while
// the last batch is compressed. Reads are decoded in the caller's thread:
// decoding is several times faster than the link.
class ZstdStream : public CompressedStream {
 public:
  ZstdStream(std::unique_ptr<ByteStream> below, int level, std::string already_read)
      : below_(std::move(below)),
        enc_(level),
        in_(std::max(already_read.size(), kReadChunk)),
        in_end_(already_read.size()) {
    if (in_end_ > 0) std::memcpy(in_.data(), already_read.data(), in_end_);
  }

  ~ZstdStream() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    work_.notify_one();
    if (worker_.joinable()) worker_.join();
  }

  Status Read(void* buf, size_t n, size_t* got, bool* eof) override {
    *got = 0;
    *eof = false;
    TS_RETURN_IF_ERROR(Decode(static_cast<uint8_t*>(buf), n, got));
    if (*got > 0 || below_eof_ || in_pos_ < in_end_) {
      if (*got == 0 && below_eof_) TS_RETURN_IF_ERROR(AtEnd(eof));
      return Status::Ok();
    }
    // Nothing decoded is waiting: one read from below, as a plain stream's
    // Read makes one system call; a pass's bytes straight into buf.
    size_t read = 0;
    if (pass_left_in_ > 0) {
      TS_RETURN_IF_ERROR(below_->Read(buf, std::min<uint64_t>(n, pass_left_in_), &read,
                                      &below_eof_));
      pass_left_in_ -= read;
      wire_received_ += read;
      *got = read;
      if (read == 0 && below_eof_) TS_RETURN_IF_ERROR(AtEnd(eof));
      return Status::Ok();
    }
    in_pos_ = in_end_ = 0;
    // After a pass another likely follows: read just its header and head,
    // so its other bytes go straight to the caller.
    const size_t want = in_passes_ ? kPassHeader + kPassHead : kReadChunk;
    TS_RETURN_IF_ERROR(below_->Read(in_.data(), want, &read, &below_eof_));
    in_end_ = read;
    wire_received_ += read;
    TS_RETURN_IF_ERROR(Decode(static_cast<uint8_t*>(buf), n, got));
    if (*got == 0 && below_eof_) TS_RETURN_IF_ERROR(AtEnd(eof));
    return Status::Ok();
  }

  Status Write(const void* buf, size_t n, size_t* wrote) override {
    *wrote = 0;
    TS_RETURN_IF_ERROR(SendOut());
    if (n == 0 || shutdown_) return Status::Ok();
    bool passed = false;
    TS_RETURN_IF_ERROR(Pass(static_cast<const uint8_t*>(buf), n, wrote, &passed));
    if (passed) return Status::Ok();
    {
      std::lock_guard<std::mutex> lock(mu_);
      const size_t take = std::min(n, kQueueMax - std::min(kQueueMax, queued_.size()));
      if (take == 0) return Status::Ok();
      queued_.append(static_cast<const char*>(buf), take);
      *wrote = take;
      if (!worker_.joinable()) worker_ = std::thread([this] { Work(); });
    }
    work_.notify_one();
    return Status::Ok();
  }

  void ShutdownWrite() override {
    if (shutdown_) return;
    shutdown_ = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      end_asked_ = true;
      if (!worker_.joinable()) worker_ = std::thread([this] { Work(); });
    }
    work_.notify_one();
  }

  size_t unsent() const override {
    std::lock_guard<std::mutex> lock(mu_);
    // Work in progress counts as a byte: what it will give is not known.
    const bool working = busy_ || (end_asked_ && !end_done_);
    return (out_.size() - out_pos_) + done_.size() + queued_.size() + (working ? 1 : 0) +
           (shutdown_ && !below_shut_ ? 1 : 0);
  }

  Status Poll(bool want_read, bool want_write, int timeout_ms,
              platform::Readiness* out) override {
    *out = platform::Readiness();
    // The end of the stream below reads at once too, as on a socket.
    const bool read_now =
        want_read && (dec_.output_size() > 0 || in_pos_ < in_end_ || below_eof_);
    bool room, ours, working;
    {
      std::lock_guard<std::mutex> lock(mu_);
      room = Room();
      ours = out_pos_ < out_.size() || !done_.empty() ||
             (shutdown_ && !below_shut_ && end_done_ && queued_.empty() && !busy_);
      working = busy_ || !queued_.empty() || (end_asked_ && !end_done_);
    }
    // Mid raw block the caller's bytes go straight below.
    const bool direct = pass_left_out_ > 0;
    const bool take_now = want_write && room && !direct;
    if (read_now || take_now) {
      out->readable = read_now;
      out->writable = take_now;
      return Status::Ok();
    }
    const bool read_below = want_read && !below_eof_;
    if (ours || direct) return below_->Poll(read_below, true, timeout_ms, out);
    if (!working) return below_->Poll(read_below, false, timeout_ms, out);
    // Only the compressor can make progress: wait for it (woken the moment
    // it is done), looking at the stream below between short waits when
    // asked to read.
    if (read_below) {
      TS_RETURN_IF_ERROR(below_->Poll(true, false, 0, out));
      if (out->readable) return Status::Ok();
    }
    const int wait = read_below ? kWorkerPollMs : timeout_ms < 0 ? kPollSliceMs
                                                                : std::min(timeout_ms, kPollSliceMs);
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait_for(lock, std::chrono::milliseconds(wait), [this] { return WorkerGave(); });
    out->writable = WorkerGave() || (want_write && Room());
    return Status::Ok();
  }

  size_t preferred_write() const override {
    std::lock_guard<std::mutex> lock(mu_);
    // Each pass costs a write of its own below and a read at the peer.
    return raw_streak_ ? kPassBatch : 0;
  }

  uint64_t wire_bytes_sent() const override { return wire_sent_; }
  uint64_t wire_bytes_received() const override { return wire_received_; }
  bool cut_short() const override { return cut_short_; }

 private:
  // Under mu_: whether Write takes bytes now (a pass waits for all
  // before it to be sent).
  bool Room() const {
    return !shutdown_ && queued_.size() < kQueueMax &&
           !(raw_streak_ && (busy_ || !queued_.empty() || !done_.empty() || out_pos_ < out_.size()));
  }

  // Under mu_: whether the worker left something to send.
  bool WorkerGave() const { return !done_.empty() || (end_done_ && queued_.empty() && !busy_); }

  // The compressor's thread: takes what is queued, compresses it outside
  // the lock, hands the result to the caller's thread.
  void Work() {
    std::string chunk, result;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      work_.wait(lock, [this] { return stop_ || !queued_.empty() || (end_asked_ && !end_done_); });
      if (stop_) return;
      const bool end = queued_.empty();
      chunk.swap(queued_);
      busy_ = true;
      lock.unlock();
      result.clear();
      if (!chunk.empty()) enc_.Compress(chunk.data(), chunk.size(), &result);
      if (end) enc_.End(&result);
      const bool judged = chunk.size() >= kStreakMin;
      const bool all_raw = judged && enc_.last_all_raw();
      chunk.clear();
      lock.lock();
      busy_ = false;
      if (judged) raw_streak_ = all_raw;
      if (end) end_done_ = true;
      if (done_.empty()) {
        done_.swap(result);
      } else {
        done_.append(result);
      }
      done_cv_.notify_one();
    }
  }

  // While the compressor finds nothing (random or already compressed
  // data), the caller's bytes pass as they are, from its thread, with no
  // copy and no match finding, as long as a sample of each block looks
  // random; every kProbeEvery bytes one block is compressed again to see.
  // *passed: whether this took care of the write (possibly taking
  // nothing yet).
  Status Pass(const uint8_t* p, size_t n, size_t* wrote, bool* passed) {
    *passed = false;
    for (;;) {
      if (pass_left_out_ > 0) {
        *passed = true;
        if (out_pos_ < out_.size() || *wrote == n) return Status::Ok();
        size_t w = 0;
        TS_RETURN_IF_ERROR(below_->Write(p + *wrote, std::min(n - *wrote, pass_left_out_), &w));
        pass_left_out_ -= w;
        wire_sent_ += w;
        *wrote += w;
        if (pass_left_out_ > 0 || *wrote == n) return Status::Ok();
      }
      bool more = false;
      TS_RETURN_IF_ERROR(NextPass(p + *wrote, n - *wrote, wrote, &more));
      if (!more) return Status::Ok();
      *passed = true;
      TS_RETURN_IF_ERROR(SendOut());
      if (out_pos_ < out_.size() || *wrote == n) return Status::Ok();
    }
  }

  // Begins the next pass over n bytes at p if passing goes on (*more):
  // the open frame's end, the pass's header and head in out_, the rest
  // owed in pass_left_out_; or, every kProbeEvery bytes, a block
  // compressed. Adds what it took to *wrote.
  Status NextPass(const uint8_t* p, size_t n, size_t* wrote, bool* more) {
    *more = false;
    // A short write (a small frame between files) is cheaper compressed,
    // in a frame, than behind a pass's header.
    if (n <= kPassHead) return Status::Ok();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!raw_streak_) return Status::Ok();
      // The pass waits for what is ahead of it (Poll says when).
      *more = true;
      if (busy_ || !queued_.empty() || !done_.empty() || out_pos_ < out_.size()) {
        return Status::Ok();
      }
    }
    // Only this thread touches the encoder until something is queued.
    out_.clear();
    out_pos_ = 0;
    if (passed_ >= kProbeEvery) {
      passed_ = 0;
      const size_t b = std::min(n, ZstdEncoder::kBlockMax);
      enc_.Compress(p, b, &out_);
      *wrote += b;
      std::lock_guard<std::mutex> lock(mu_);
      raw_streak_ = enc_.last_all_raw();
      return Status::Ok();
    }
    const size_t limit = std::min<uint64_t>(n, kProbeEvery - passed_);
    size_t len = 0;
    while (len < limit) {
      const size_t b = std::min(limit - len, ZstdEncoder::kBlockMax);
      if ((b > kPassHead || len == 0) && !LooksIncompressible(p + len, b)) break;
      len += b;
    }
    if (len == 0) {
      std::lock_guard<std::mutex> lock(mu_);
      raw_streak_ = false;
      *more = false;
      return Status::Ok();
    }
    if (enc_.frame_open()) enc_.End(&out_);
    uint8_t h[kPassHeader];
    StoreLE32(h, kPassMagic);
    StoreLE32(h + 4, uint32_t(len));
    out_.append(reinterpret_cast<const char*>(h), sizeof(h));
    const size_t head = std::min(len, kPassHead);
    out_.append(reinterpret_cast<const char*>(p), head);
    *wrote += head;
    pass_left_out_ = len - head;
    passed_ += len;
    return Status::Ok();
  }

  // Moves decoded bytes into buf, feeding the decoder what was read and
  // taking passes' bytes as they are.
  Status Decode(uint8_t* buf, size_t n, size_t* got) {
    for (;;) {
      const size_t ready = std::min(n - *got, dec_.output_size());
      if (ready > 0) {
        std::memcpy(buf + *got, dec_.output(), ready);
        dec_.Take(ready);
        *got += ready;
      }
      if (pass_left_in_ > 0) {
        const size_t k = std::min<uint64_t>({n - *got, pass_left_in_, in_end_ - in_pos_});
        std::memcpy(buf + *got, in_.data() + in_pos_, k);
        in_pos_ += k;
        *got += k;
        pass_left_in_ -= k;
      }
      if (*got == n || in_pos_ == in_end_) return Status::Ok();
      if (pass_left_in_ > 0) continue;
      if (dec_.at_frame_boundary() && dec_.output_size() == 0) {
        bool is_pass = false;
        TS_RETURN_IF_ERROR(PassHeader(&is_pass));
        if (is_pass) continue;
        if (in_pos_ == in_end_) return Status::Ok();
      }
      size_t used = 0;
      TS_RETURN_IF_ERROR(dec_.Feed(in_.data() + in_pos_, in_end_ - in_pos_, &used));
      in_pos_ += used;
      if (used > 0) in_passes_ = false;
      if (used == 0 && dec_.output_size() == 0) return Status::Ok();
    }
  }

  // Between frames: gathers a pass's header (*is_pass once it is whole),
  // or hands the decoder the bytes that turned out not to begin one.
  Status PassHeader(bool* is_pass) {
    *is_pass = false;
    while (pass_hdr_len_ < kPassHeader && in_pos_ < in_end_) {
      const uint8_t c = in_[in_pos_];
      if (pass_hdr_len_ < 4 && c != uint8_t(kPassMagic >> (8 * pass_hdr_len_))) {
        if (pass_hdr_len_ == 0) return Status::Ok();
        size_t used = 0;
        TS_RETURN_IF_ERROR(dec_.Feed(pass_hdr_, pass_hdr_len_, &used));
        pass_hdr_len_ = 0;
        return Status::Ok();
      }
      pass_hdr_[pass_hdr_len_++] = c;
      ++in_pos_;
    }
    if (pass_hdr_len_ < kPassHeader) return Status::Ok();  // more to come
    pass_hdr_len_ = 0;
    pass_left_in_ = LoadLE32(pass_hdr_ + 4);
    *is_pass = true;
    in_passes_ = true;
    return Status::Ok();
  }

  // The peer closed its side: the end, as for a plain stream, whether or
  // not its frame was complete (a peer done with the session may just
  // close). cut_short() tells the connection, should it need more.
  Status AtEnd(bool* eof) {
    cut_short_ = !dec_.at_frame_boundary() || pass_left_in_ > 0 || pass_hdr_len_ > 0;
    *eof = true;
    return Status::Ok();
  }

  // Hands compressed bytes below as far as they fit; once the frame's end
  // has gone after ShutdownWrite, shuts the stream below.
  Status SendOut() {
    for (;;) {
      if (out_pos_ == out_.size()) {
        std::lock_guard<std::mutex> lock(mu_);
        if (done_.empty()) {
          if (shutdown_ && !below_shut_ && end_done_ && queued_.empty() && !busy_) {
            below_shut_ = true;
            below_->ShutdownWrite();
          }
          return Status::Ok();
        }
        out_.clear();
        out_.swap(done_);
        out_pos_ = 0;
      }
      size_t wrote = 0;
      TS_RETURN_IF_ERROR(below_->Write(out_.data() + out_pos_, out_.size() - out_pos_, &wrote));
      if (wrote == 0) return Status::Ok();
      out_pos_ += wrote;
      wire_sent_ += wrote;
    }
  }

  std::unique_ptr<ByteStream> below_;
  // The compressor's side, under mu_ (enc_ is the worker's alone).
  ZstdEncoder enc_;
  mutable std::mutex mu_;
  std::condition_variable work_;
  std::condition_variable done_cv_;  // the worker finished a chunk
  std::thread worker_;
  std::string queued_;  // written, not yet compressed
  std::string done_;    // compressed, not yet taken for sending
  bool busy_ = false;   // the worker is compressing
  bool end_asked_ = false;
  bool end_done_ = false;  // the frame's end is in done_ or sent
  bool stop_ = false;
  bool raw_streak_ = false;  // the last batch judged did not shrink: Pass
  // The caller's side.
  std::string out_;  // compressed, [out_pos_, size) still to send
  size_t out_pos_ = 0;
  size_t pass_left_out_ = 0;  // of the pass begun, bytes the caller still owes
  uint64_t passed_ = 0;  // bytes passed raw since the compressor last saw some
  bool shutdown_ = false;
  bool below_shut_ = false;
  ZstdDecoder dec_;
  std::vector<uint8_t> in_;  // read from below, [in_pos_, in_end_) not yet decoded
  size_t in_pos_ = 0;
  size_t in_end_ = 0;
  bool below_eof_ = false;
  bool cut_short_ = false;
  uint64_t pass_left_in_ = 0;   // of the peer's pass, bytes still to come
  uint8_t pass_hdr_[kPassHeader];  // a pass's header as it arrives
  size_t pass_hdr_len_ = 0;
  bool in_passes_ = false;  // the last thing read was a pass
  uint64_t wire_sent_ = 0;
  uint64_t wire_received_ = 0;
};

}  // namespace

size_t CompressionMemory(int level) {
  // The encoder's window and tables, the decoder's (the most a peer may
  // ask for, with its pending output, one block in, its literals and its
  // tables: ZstdDecoder::memory_used's bound) and the batches in flight.
  return ZstdEncoder::MemoryFor(level) + ZstdDecoder::kDefaultMaxWindow +
         4 * ZstdDecoder::kMaxBlock + (32 << 10) +
         2 * kQueueMax + kReadChunk;
}

std::unique_ptr<CompressedStream> Compressed(std::unique_ptr<ByteStream> below, int level,
                                             std::string already_read) {
  return std::make_unique<ZstdStream>(std::move(below), level, std::move(already_read));
}

}  // namespace treesync
