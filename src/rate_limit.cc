#include "rate_limit.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace treesync {

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class RateLimitedStream : public ByteStream {
 public:
  RateLimitedStream(std::unique_ptr<ByteStream> inner, uint64_t rate)
      : inner_(std::move(inner)), read_(rate), write_(rate) {}

  Status Read(void* buf, size_t n, size_t* got, bool* eof) override {
    *got = 0;
    *eof = false;
    size_t allowed = read_.Take(n);
    if (allowed == 0) return Status::Ok();
    Status s = inner_->Read(buf, allowed, got, eof);
    if (*got < allowed) read_.Refund(allowed - *got);
    return s;
  }

  Status Write(const void* buf, size_t n, size_t* wrote) override {
    *wrote = 0;
    size_t allowed = write_.Take(n);
    if (allowed == 0) return Status::Ok();
    Status s = inner_->Write(buf, allowed, wrote);
    if (*wrote < allowed) write_.Refund(allowed - *wrote);
    return s;
  }

  void ShutdownWrite() override { inner_->ShutdownWrite(); }

  Status Poll(bool want_read, bool want_write, int timeout_ms,
              platform::Readiness* out) override {
    *out = platform::Readiness();
    const int read_wait = want_read ? read_.WaitMs() : 0;
    const int write_wait = want_write ? write_.WaitMs() : 0;
    const bool can_read = want_read && read_wait == 0;
    const bool can_write = want_write && write_wait == 0;
    // Sleep no longer than until the first blocked direction may move.
    int wait = timeout_ms;
    for (int w : {want_read && !can_read ? read_wait : -1,
                  want_write && !can_write ? write_wait : -1}) {
      if (w >= 0 && (wait < 0 || w < wait)) wait = w;
    }
    if (!can_read && !can_write) {
      if (wait != 0) std::this_thread::sleep_for(std::chrono::milliseconds(wait < 0 ? 0 : wait));
      return Status::Ok();
    }
    return inner_->Poll(can_read, can_write, wait, out);
  }

 private:
  std::unique_ptr<ByteStream> inner_;
  TokenBucket read_;
  TokenBucket write_;
};

}  // namespace

Status ParseRate(const std::string& text, uint64_t* out) {
  size_t i = 0;
  uint64_t n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9' && n < (uint64_t(1) << 40)) {
    n = n * 10 + static_cast<uint64_t>(text[i++] - '0');
  }
  std::string unit = text.substr(i);
  uint64_t scale = 1024;
  if (!unit.empty()) {
    char u = unit[0];
    std::string rest = unit.substr(1);
    if (u == 'k' || u == 'K') scale = 1024;
    else if (u == 'm' || u == 'M') scale = uint64_t(1) << 20;
    else if (u == 'g' || u == 'G') scale = uint64_t(1) << 30;
    else scale = 0;
    if (rest != "" && rest != "B" && rest != "b" && rest != "iB" && rest != "ib") scale = 0;
  }
  const bool digits = i > 0;
  if (!digits || scale == 0 || n > (uint64_t(1) << 40) / scale ||
      (n > 0 && n * scale < 1024)) {
    return Status::Usage("--bwlimit takes a rate like 500 (KiB/s), 100K, 10M or 1G, not '" +
                         text + "'");
  }
  *out = n * scale;
  return Status::Ok();
}

TokenBucket::TokenBucket(uint64_t rate)
    : rate_(static_cast<double>(rate) / 1e9),
      burst_(std::max(4096.0, static_cast<double>(rate) / 10)),
      tokens_(0),
      last_ns_(NowNs()) {}

void TokenBucket::Refill() {
  const int64_t now = NowNs();
  tokens_ = std::min(burst_, tokens_ + static_cast<double>(now - last_ns_) * rate_);
  last_ns_ = now;
}

size_t TokenBucket::Take(size_t n) {
  Refill();
  if (tokens_ < 1) return 0;
  size_t allowed = static_cast<size_t>(std::min<double>(static_cast<double>(n), tokens_));
  tokens_ -= static_cast<double>(allowed);
  return allowed;
}

void TokenBucket::Refund(size_t n) { tokens_ = std::min(burst_, tokens_ + static_cast<double>(n)); }

int TokenBucket::WaitMs() {
  Refill();
  if (tokens_ >= 1) return 0;
  return std::max(1, static_cast<int>((1 - tokens_) / rate_ / 1e6) + 1);
}

std::unique_ptr<ByteStream> RateLimited(std::unique_ptr<ByteStream> inner,
                                        uint64_t bytes_per_second) {
  return std::make_unique<RateLimitedStream>(std::move(inner), bytes_per_second);
}

}  // namespace treesync
