// XXH3-128: the 128-bit variant of xxHash's XXH3 (default secret, optional
// 64-bit seed), bit-for-bit compatible with the reference library
// (XXH3_128bits_withSeed) and `xxhsum -H2`. Portable C++17, with an AVX2
// form of the long-input loop where the compiler and CPU have it.
// Not a cryptographic hash: it detects accidents, not adversaries.
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

// One-shot XXH3-128 of len bytes with seed 0 / given seed. data may be null
// when len is 0.
Hash128 Xxh3_128(const void* data, size_t len, uint64_t seed = 0);

// Streaming XXH3-128: Update any number of times with any split, Digest
// equals the one-shot result of the concatenated input with the same seed.
// Copyable; memory is fixed-size and does not grow with input.
class Xxh3Hasher {
 public:
  explicit Xxh3Hasher(uint64_t seed = 0);
  // Starts over with the seed given at construction.
  void Reset();
  // Appends len bytes; data may be null when len is 0.
  void Update(const void* data, size_t len);
  // Appends n zero bytes (a hole in a sparse file).
  void UpdateZeros(uint64_t n);
  // The hash of everything appended since construction or Reset. May be
  // called repeatedly, does not change state; Update may continue after it.
  Hash128 Digest() const;

 private:
  static constexpr size_t kStripeLen = 64;
  static constexpr size_t kSecretLen = 192;
  static constexpr size_t kBufferLen = 4 * kStripeLen;  // >= 240, see .cc

  uint64_t seed_;
  uint64_t acc_[8];
  uint64_t total_len_;
  size_t stripes_in_block_;  // stripes accumulated since the last scramble
  size_t buffered_;          // bytes in buffer_ not yet accumulated
  uint8_t secret_[kSecretLen];
  uint8_t buffer_[kBufferLen];
  uint8_t last_stripe_[kStripeLen];  // the last 64 accumulated bytes
};

// The forms of the long-input loop. The fastest this build and CPU can run
// is used; Xxh3UseLoop switches to another (false if it can't run here), so
// tests can check that every form gives the same hashes. Not for use while
// other threads hash.
enum class Xxh3Loop { kPortable, kAvx2 };
bool Xxh3UseLoop(Xxh3Loop loop);

// Canonical 16-byte big-endian form (high then low), as xxhsum prints it,
// and lowercase hex of that (32 characters).
void Hash128ToBytes(const Hash128& h, uint8_t out[16]);
Hash128 Hash128FromBytes(const uint8_t in[16]);
std::string Hash128Hex(const Hash128& h);

}  // namespace treesync

#endif  // TREESYNC_XXH3_H_
