#include "encrypted_stream.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "little_endian.h"

namespace treesync {

namespace {

constexpr size_t kRecordHeader = 2;
constexpr size_t kMaxRecord = kRecordHeader + kNoiseMaxMessage;
// Read from below at once: two whole records, so a read rarely ends
// inside the second.
constexpr size_t kReadChunk = 2 * kMaxRecord;
// Sealed records waiting for the stream below, at most, before Write
// takes no more: enough to keep a socket's buffer full.
constexpr size_t kOutMax = 4 * kMaxRecord;

class NoiseStream : public ByteStream {
 public:
  NoiseStream(std::unique_ptr<ByteStream> below, NoiseCipher send, NoiseCipher receive,
              std::string already_read, uint64_t rekey_records)
      : below_(std::move(below)),
        send_(std::move(send)),
        receive_(std::move(receive)),
        rekey_records_(rekey_records),
        in_(std::max(kReadChunk, already_read.size())),
        in_end_(already_read.size()),
        plain_(kMaxRecordPlain) {
    if (in_end_ > 0) std::memcpy(in_.data(), already_read.data(), in_end_);
    out_.reserve(kOutMax + kMaxRecord);
  }

  Status Read(void* buf, size_t n, size_t* got, bool* eof) override {
    *got = 0;
    *eof = false;
    uint8_t* const p = static_cast<uint8_t*>(buf);
    TS_RETURN_IF_ERROR(Deliver(p, n, got));
    if (*got > 0) return Status::Ok();
    if (end_seen_) return AfterEnd(eof);
    if (below_eof_) return Cut();
    // Nothing whole is waiting: one read from below, as a plain stream's
    // Read makes one system call.
    if (in_pos_ > 0) {
      std::memmove(in_.data(), in_.data() + in_pos_, in_end_ - in_pos_);
      in_end_ -= in_pos_;
      in_pos_ = 0;
    }
    size_t read = 0;
    TS_RETURN_IF_ERROR(below_->Read(in_.data() + in_end_, in_.size() - in_end_, &read, &below_eof_));
    in_end_ += read;
    TS_RETURN_IF_ERROR(Deliver(p, n, got));
    if (*got == 0 && end_seen_) *eof = true;
    if (*got == 0 && !end_seen_ && below_eof_) return Cut();
    return Status::Ok();
  }

  Status Write(const void* buf, size_t n, size_t* wrote) override {
    *wrote = 0;
    TS_RETURN_IF_ERROR(SendOut());
    if (n == 0 || shutdown_) return Status::Ok();
    const uint8_t* const p = static_cast<const uint8_t*>(buf);
    while (*wrote < n && pending() < kOutMax) {
      const size_t take = std::min(n - *wrote, kMaxRecordPlain);
      TS_RETURN_IF_ERROR(Seal(p + *wrote, take));
      *wrote += take;
    }
    return SendOut();
  }

  void ShutdownWrite() override {
    if (shutdown_) return;
    shutdown_ = true;
    // The end is a record of its own, sealed like the data: a peer that
    // sees the stream below end without it knows it was cut.
    if (!Seal(nullptr, 0).ok()) return;
    SendOut();  // a failure shows at the next Write
  }

  size_t unsent() const override { return pending() + (shutdown_ && !below_shut_ ? 1 : 0); }

  Status Poll(bool want_read, bool want_write, int timeout_ms,
              platform::Readiness* out) override {
    *out = platform::Readiness();
    // After the end record only the end below (or bytes past it) is news.
    const bool read_now =
        want_read && (plain_pos_ < plain_end_ || below_eof_ ||
                      (end_seen_ ? in_pos_ < in_end_ : WholeRecord()));
    const bool take_now = want_write && !shutdown_ && pending() < kOutMax;
    if (read_now || take_now) {
      out->readable = read_now;
      out->writable = take_now;
      return Status::Ok();
    }
    const bool ours = pending() > 0 || (shutdown_ && !below_shut_);
    return below_->Poll(want_read && !below_eof_, ours || want_write, timeout_ms, out);
  }

 private:
  size_t pending() const { return out_.size() - out_pos_; }

  // Whether in_ holds a whole record (or a header no record can have,
  // which Deliver reports).
  bool WholeRecord() const {
    if (in_end_ - in_pos_ < kRecordHeader) return false;
    const size_t len = LoadLE16(in_.data() + in_pos_);
    return len < kNoiseTagSize || in_end_ - in_pos_ >= kRecordHeader + len;
  }

  Status Cut() const {
    return Status::Protocol(
        "the encrypted stream ended without its sealed end: the connection was cut");
  }

  static Status Forged() {
    return Status::Protocol(
        "an encrypted record failed authentication (altered, replayed, reordered or dropped)");
  }

  // After the end record: the stream below must end too, with nothing
  // more, however its bytes are split into reads.
  Status AfterEnd(bool* eof) {
    if (in_pos_ == in_end_ && !below_eof_) {
      in_pos_ = in_end_ = 0;
      size_t read = 0;
      TS_RETURN_IF_ERROR(below_->Read(in_.data(), in_.size(), &read, &below_eof_));
      in_end_ = read;
    }
    if (in_pos_ < in_end_) return Status::Protocol("bytes after the encrypted stream's end");
    *eof = below_eof_;
    return Status::Ok();
  }

  // Both sides rekey a cipher after every rekey_records_ records, before
  // the record that would be the next.
  void MaybeRekey(NoiseCipher* c, uint64_t* rekeyed_at) const {
    const uint64_t n = c->nonce();
    if (n > 0 && n % rekey_records_ == 0 && *rekeyed_at != n) {
      c->Rekey();
      *rekeyed_at = n;
    }
  }

  // Appends a record holding n bytes at p (n == 0: the end) to out_.
  Status Seal(const uint8_t* p, size_t n) {
    // Drop what was sent once it is at least as much as what waits, so
    // out_ stays within twice kOutMax and each byte moves about once.
    if (out_pos_ > 0 && out_pos_ >= pending()) {
      out_.erase(out_.begin(), out_.begin() + std::ptrdiff_t(out_pos_));
      out_pos_ = 0;
    }
    MaybeRekey(&send_, &send_rekeyed_at_);
    const size_t at = out_.size();
    const size_t len = n + kNoiseTagSize;
    out_.resize(at + kRecordHeader + len);
    uint8_t* r = out_.data() + at;
    StoreLE16(r, uint16_t(len));
    // The length is the associated data: a record can't be cut or grown
    // without its tag failing.
    if (!send_.Encrypt(r, kRecordHeader, p, n, r + kRecordHeader)) {
      out_.resize(at);
      return Status::Protocol("the encrypted session used up its nonces");
    }
    return Status::Ok();
  }

  // Hands sealed records below as far as they fit; once the end record
  // has gone after ShutdownWrite, shuts the stream below.
  Status SendOut() {
    while (out_pos_ < out_.size()) {
      size_t wrote = 0;
      TS_RETURN_IF_ERROR(below_->Write(out_.data() + out_pos_, out_.size() - out_pos_, &wrote));
      if (wrote == 0) return Status::Ok();
      out_pos_ += wrote;
    }
    out_.clear();
    out_pos_ = 0;
    if (shutdown_ && !below_shut_) {
      below_shut_ = true;
      below_->ShutdownWrite();
    }
    return Status::Ok();
  }

  // Moves authenticated plaintext into buf: what an earlier record left,
  // then whole records from in_, opened straight into buf when they fit.
  Status Deliver(uint8_t* buf, size_t n, size_t* got) {
    for (;;) {
      if (plain_pos_ < plain_end_) {
        const size_t k = std::min(n - *got, plain_end_ - plain_pos_);
        std::memcpy(buf + *got, plain_.data() + plain_pos_, k);
        plain_pos_ += k;
        *got += k;
      }
      if (*got == n || plain_pos_ < plain_end_) return Status::Ok();
      if (end_seen_) {
        if (in_pos_ < in_end_) return Status::Protocol("bytes after the encrypted stream's end");
        return Status::Ok();
      }
      if (!WholeRecord()) return Status::Ok();
      uint8_t* r = in_.data() + in_pos_;
      const size_t len = LoadLE16(r);
      if (len < kNoiseTagSize) return Forged();
      const size_t plain = len - kNoiseTagSize;
      MaybeRekey(&receive_, &receive_rekeyed_at_);
      uint8_t* dst = n - *got >= plain ? buf + *got : plain_.data();
      if (!receive_.Decrypt(r, kRecordHeader, r + kRecordHeader, len, dst)) return Forged();
      in_pos_ += kRecordHeader + len;
      if (plain == 0) {
        end_seen_ = true;
        continue;
      }
      if (dst == plain_.data()) {
        plain_pos_ = 0;
        plain_end_ = plain;
      } else {
        *got += plain;
      }
    }
  }

  std::unique_ptr<ByteStream> below_;
  NoiseCipher send_, receive_;
  const uint64_t rekey_records_;
  uint64_t send_rekeyed_at_ = 0, receive_rekeyed_at_ = 0;
  std::vector<uint8_t> in_;  // read from below, [in_pos_, in_end_) not yet opened
  size_t in_pos_ = 0, in_end_;
  std::vector<uint8_t> plain_;  // an opened record, [plain_pos_, plain_end_) not yet read
  size_t plain_pos_ = 0, plain_end_ = 0;
  std::vector<uint8_t> out_;  // sealed records, [out_pos_, size) still to send
  size_t out_pos_ = 0;
  bool below_eof_ = false;
  bool end_seen_ = false;
  bool shutdown_ = false;
  bool below_shut_ = false;
};

}  // namespace

std::unique_ptr<ByteStream> Encrypted(std::unique_ptr<ByteStream> below, NoiseCipher send,
                                      NoiseCipher receive, std::string already_read,
                                      uint64_t rekey_records) {
  return std::make_unique<NoiseStream>(std::move(below), std::move(send), std::move(receive),
                                       std::move(already_read), rekey_records);
}

size_t EncryptionMemory() { return kReadChunk + kMaxRecordPlain + 2 * (kOutMax + kMaxRecord); }

}  // namespace treesync
