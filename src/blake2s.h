// BLAKE2s (RFC 7693), the hash of the encrypted sessions (Noise's
// "BLAKE2s"), and the two constructions the Noise protocol framework
// (revision 34, section 4.3) builds on it: HMAC-BLAKE2s (RFC 2104 with
// BLOCKLEN 64 and HASHLEN 32) and Noise's HKDF. Portable C++17 and constant
// time: no branch or table index depends on a key or a message, only on
// lengths. Key material that passes through these functions (keys, HMAC
// pads, intermediate keys, hash state) is wiped once it is no longer needed.
#ifndef TREESYNC_BLAKE2S_H_
#define TREESYNC_BLAKE2S_H_

#include <cstddef>
#include <cstdint>

namespace treesync {

constexpr size_t kBlake2sOutSize = 32;    // the largest (and Noise's) digest
constexpr size_t kBlake2sBlockSize = 64;  // also HMAC's BLOCKLEN
constexpr size_t kBlake2sMaxKey = 32;     // RFC 7693's limit for BLAKE2s

// Streaming BLAKE2s, plain or keyed (RFC 7693's MAC mode), fed in any
// split: Final gives the same digest as hashing the concatenated input at
// once. Copyable (a copy continues independently, e.g. to hash a common
// prefix once); memory is fixed-size. Wipes its state when destroyed.
class Blake2s {
 public:
  // A hash with a digest of out_len bytes, keyed with key_len bytes at key.
  // key may be null when key_len is 0 (unkeyed).
  // REQUIRES: 1 <= out_len <= kBlake2sOutSize, key_len <= kBlake2sMaxKey.
  explicit Blake2s(size_t out_len = kBlake2sOutSize, const void* key = nullptr,
                   size_t key_len = 0);
  ~Blake2s();

  // Appends n bytes; data may be null when n is 0.
  void Update(const void* data, size_t n);

  // Writes the out_len-byte digest of everything appended to out.
  // REQUIRES: called once; the object is not updated after.
  void Final(uint8_t* out);

 private:
  uint32_t h_[8];
  uint64_t counter_;  // bytes compressed so far, RFC 7693's t
  uint8_t buffer_[kBlake2sBlockSize];
  // Bytes in buffer_, 0..64. A full block stays here until more input
  // arrives, because the last block must be compressed with the final flag.
  size_t buffered_;
  size_t out_len_;
};

// out = BLAKE2s-256 of the n bytes at data (data may be null when n is 0).
void Blake2sHash(uint8_t out[kBlake2sOutSize], const void* data, size_t n);

// out = HMAC-BLAKE2s(key, data) per RFC 2104: a key longer than 64 bytes
// is hashed first. This is HMAC, not BLAKE2s's own keyed mode; it is what
// Noise's HMAC-HASH is, and equals Python's hmac.new(key, data,
// hashlib.blake2s). key or data may be null when their length is 0; out may
// overlap key or data.
void HmacBlake2s(uint8_t out[kBlake2sOutSize], const void* key, size_t key_len, const void* data,
                 size_t n);

// Noise's HKDF(chaining_key, input_key_material, num_outputs):
//   temp_key = HMAC(chaining_key, ikm)
//   out1 = HMAC(temp_key, 0x01)
//   out2 = HMAC(temp_key, out1 || 0x02)
//   out3 = HMAC(temp_key, out2 || 0x03)   (only when num_outputs is 3)
// Each output is 32 bytes. ikm may be null when ikm_len is 0. The outputs
// may overlap chaining_key or ikm (MixKey writes the new chaining key over
// the old), but not each other. out3 may be null when num_outputs is 2.
// REQUIRES: num_outputs is 2 or 3.
void NoiseHkdf(const uint8_t chaining_key[kBlake2sOutSize], const void* ikm, size_t ikm_len,
               size_t num_outputs, uint8_t* out1, uint8_t* out2, uint8_t* out3);

}  // namespace treesync

#endif  // TREESYNC_BLAKE2S_H_
