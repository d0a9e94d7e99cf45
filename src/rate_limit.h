// Rate limits for --bwlimit: a ByteStream over another that moves at most
// a given number of bytes a second each way, so a transfer shares a link.
// Reading slower makes the peer send slower (TCP and pipes push back), so
// either side can limit a transfer in both directions.
#ifndef TREESYNC_RATE_LIMIT_H_
#define TREESYNC_RATE_LIMIT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "byte_stream.h"
#include "status.h"

namespace treesync {

// Parses rsync's --bwlimit RATE: a number of KiB/s, or with a K, M or G
// suffix (1024-based; a trailing "B" or "iB" is allowed, so "2MiB" too) into
// bytes a second. 0 means no limit. kUsage names the value when it is not
// a rate or is under 1 KiB/s (other than 0) or over 1 TiB/s.
Status ParseRate(const std::string& text, uint64_t* bytes_per_second);

// A token bucket: Take(n) says how many of n bytes may move now. The
// bucket holds at most a tenth of a second of tokens (at least 4 KiB), so
// the rate holds over any window much longer than that.
class TokenBucket {
 public:
  explicit TokenBucket(uint64_t bytes_per_second);
  size_t Take(size_t n);
  // Gives back tokens taken and not used.
  void Refund(size_t n);
  // Milliseconds until at least one byte may move (0 if now).
  int WaitMs();

 private:
  void Refill();
  double rate_;   // bytes per nanosecond
  double burst_;  // most tokens held
  double tokens_;
  int64_t last_ns_;
};

// inner, each direction limited to bytes_per_second.
std::unique_ptr<ByteStream> RateLimited(std::unique_ptr<ByteStream> inner,
                                        uint64_t bytes_per_second);

}  // namespace treesync

#endif  // TREESYNC_RATE_LIMIT_H_
