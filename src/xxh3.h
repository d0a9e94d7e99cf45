// XXH3-128 (xxHash's 128-bit XXH3, default secret), the content hash of the
// treesync protocol. Written for this project from the published algorithm
// and checked against xxHash's own sanity test vectors.
#ifndef TREESYNC_XXH3_H_
#define TREESYNC_XXH3_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace treesync {

struct Hash128 {
  uint64_t low = 0;
  uint64_t high = 0;
  bool operator==(const Hash128& o) const { return low == o.low && high == o.high; }
  bool operator!=(const Hash128& o) const { return !(*this == o); }
};

// One-shot XXH3-128 of len bytes with the given seed (0 by default).
Hash128 Xxh3_128(const void* data, size_t len, uint64_t seed = 0);

// Streaming XXH3-128: Update any number of times with any split; Digest
// equals the one-shot result. Memory is fixed, whatever the input size.
class Xxh3Hasher {
 public:
  explicit Xxh3Hasher(uint64_t seed = 0);
  void Reset();
  void Update(const void* data, size_t len);
  // May be called repeatedly; does not change the state.
  Hash128 Digest() const;

  static constexpr size_t kBlockBytes = 1024;  // 16 stripes of 64 bytes

 private:
  uint64_t seed_;
  unsigned char secret_[192];
  uint64_t acc_[8];
  uint64_t total_ = 0;
  // Input not yet folded into acc_: 1..kBlockBytes bytes once total_ > 0.
  unsigned char buf_[kBlockBytes];
  size_t buffered_ = 0;
  // The last 64 bytes of the last block folded in, for a final stripe that
  // reaches back into it.
  unsigned char tail_[64];
};

// Canonical 16-byte big-endian form (high then low), as xxhsum prints it,
// and its lowercase hex.
void Hash128ToBytes(const Hash128& h, uint8_t out[16]);
Hash128 Hash128FromBytes(const uint8_t in[16]);
std::string Hash128Hex(const Hash128& h);

}  // namespace treesync

#endif  // TREESYNC_XXH3_H_
