#include "compressed_stream.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "zstd_decoder.h"
#include "zstd_encoder.h"

namespace treesync {

namespace {

// Input compressed by one Write: big enough that blocks are full (the
// connection hands over its batches whole), small enough that the first
// bytes go out while later ones are still being compressed.
constexpr size_t kCompressChunk = 256 << 10;
// Compressed input read from below at once.
constexpr size_t kReadChunk = 128 << 10;

// Input waiting for the compressor, at most: the next chunk while one is
// being compressed.
constexpr size_t kQueueMax = 2 * kCompressChunk;
// While the compressor works and the caller also waits to read, how long
// a Poll waits for the worker before looking at the stream below again.
constexpr int kWorkerPollMs = 1;
// The longest wait for the worker alone (the caller polls interrupts).
constexpr int kPollSliceMs = 200;

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
    // Read makes one system call.
    size_t read = 0;
    in_pos_ = in_end_ = 0;
    TS_RETURN_IF_ERROR(below_->Read(in_.data(), kReadChunk, &read, &below_eof_));
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
      room = !shutdown_ && queued_.size() < kQueueMax;
      ours = out_pos_ < out_.size() || !done_.empty() ||
             (shutdown_ && !below_shut_ && end_done_ && queued_.empty() && !busy_);
      working = busy_ || !queued_.empty() || (end_asked_ && !end_done_);
    }
    const bool take_now = want_write && room;
    if (read_now || take_now) {
      out->readable = read_now;
      out->writable = take_now;
      return Status::Ok();
    }
    const bool read_below = want_read && !below_eof_;
    if (ours) return below_->Poll(read_below, true, timeout_ms, out);
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
    out->writable = WorkerGave() || (want_write && !shutdown_ && queued_.size() < kQueueMax);
    return Status::Ok();
  }

  uint64_t wire_bytes_sent() const override { return wire_sent_; }
  uint64_t wire_bytes_received() const override { return wire_received_; }
  bool cut_short() const override { return cut_short_; }

 private:
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
      chunk.clear();
      lock.lock();
      busy_ = false;
      if (end) end_done_ = true;
      if (done_.empty()) {
        done_.swap(result);
      } else {
        done_.append(result);
      }
      done_cv_.notify_one();
    }
  }

  // Moves decoded bytes into buf, feeding the decoder what was read.
  Status Decode(uint8_t* buf, size_t n, size_t* got) {
    for (;;) {
      const size_t ready = std::min(n - *got, dec_.output_size());
      if (ready > 0) {
        std::memcpy(buf + *got, dec_.output(), ready);
        dec_.Take(ready);
        *got += ready;
      }
      if (*got == n || in_pos_ == in_end_) return Status::Ok();
      size_t used = 0;
      TS_RETURN_IF_ERROR(dec_.Feed(in_.data() + in_pos_, in_end_ - in_pos_, &used));
      in_pos_ += used;
      if (used == 0 && dec_.output_size() == 0) return Status::Ok();
    }
  }

  // The peer closed its side: the end, as for a plain stream, whether or
  // not its frame was complete (a peer done with the session may just
  // close). cut_short() tells the connection, should it need more.
  Status AtEnd(bool* eof) {
    cut_short_ = !dec_.at_frame_boundary();
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
  // The caller's side.
  std::string out_;  // compressed, [out_pos_, size) still to send
  size_t out_pos_ = 0;
  bool shutdown_ = false;
  bool below_shut_ = false;
  ZstdDecoder dec_;
  std::vector<uint8_t> in_;  // read from below, [in_pos_, in_end_) not yet decoded
  size_t in_pos_ = 0;
  size_t in_end_ = 0;
  bool below_eof_ = false;
  bool cut_short_ = false;
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
