// XXH64: xxHash's 64-bit hash (optional 64-bit seed), bit-for-bit
// compatible with the reference library (XXH64) and `xxhsum -H1`. Zstandard
// frames carry the low 32 bits of the XXH64 (seed 0) of their content as
// the content checksum (RFC 8878, Content_Checksum).
// Not a cryptographic hash: it detects accidents, not adversaries.
#ifndef TREESYNC_XXH64_H_
#define TREESYNC_XXH64_H_

#include <cstddef>
#include <cstdint>

namespace treesync {

// One-shot XXH64 of len bytes with the given seed. data may be null when
// len is 0.
uint64_t Xxh64(const void* data, size_t len, uint64_t seed = 0);

// Streaming XXH64: Update any number of times with any split, Digest
// equals the one-shot result of the concatenated input with the same seed.
// Copyable; memory is fixed-size and does not grow with input.
class Xxh64Hasher {
 public:
  explicit Xxh64Hasher(uint64_t seed = 0);
  // Starts over with the seed given at construction.
  void Reset();
  // Appends len bytes; data may be null when len is 0.
  void Update(const void* data, size_t len);
  // The hash of everything appended since construction or Reset. May be
  // called repeatedly, does not change state; Update may continue after it.
  uint64_t Digest() const;

 private:
  static constexpr size_t kStripeLen = 32;

  uint64_t seed_;
  uint64_t acc_[4];
  uint64_t total_len_;
  size_t buffered_;  // bytes in buffer_ not yet accumulated, < kStripeLen
  uint8_t buffer_[kStripeLen];
};

}  // namespace treesync

#endif  // TREESYNC_XXH64_H_
