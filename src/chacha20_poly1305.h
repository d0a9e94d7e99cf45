// ChaCha20, Poly1305 and their AEAD, AEAD_CHACHA20_POLY1305 (RFC 8439):
// the cipher of the encrypted sessions (Noise's "ChaChaPoly"). Portable
// C++17 and constant time: no branch or table index depends on a key, a
// keystream or a message; tags are compared without early exit. ChaCha20
// runs eight blocks at a time with AVX2 where the compiler can target it
// and the CPU has it, chosen at run time as XXH3's loop is.
#ifndef TREESYNC_CHACHA20_POLY1305_H_
#define TREESYNC_CHACHA20_POLY1305_H_

#include <cstddef>
#include <cstdint>

namespace treesync {

constexpr size_t kChaChaKeySize = 32;
constexpr size_t kChaChaNonceSize = 12;
constexpr size_t kPoly1305KeySize = 32;
constexpr size_t kAeadTagSize = 16;

// Writes to out the n bytes of in XORed with ChaCha20's keystream for key
// and nonce (RFC 8439 2.4), starting at block `counter`. out may equal in;
// otherwise they must not overlap. REQUIRES: counter + the blocks n needs
// stay below 2^32 (RFC 8439's limit of 256 GiB per nonce).
void ChaCha20Xor(const uint8_t key[kChaChaKeySize], const uint8_t nonce[kChaChaNonceSize],
                 uint32_t counter, const uint8_t* in, uint8_t* out, size_t n);

// Poly1305 (RFC 8439 2.5), fed in any split. The key is one-time: a key
// must never authenticate two messages. Wipes its state when destroyed.
class Poly1305 {
 public:
  explicit Poly1305(const uint8_t key[kPoly1305KeySize]);
  ~Poly1305();
  Poly1305(const Poly1305&) = delete;
  Poly1305& operator=(const Poly1305&) = delete;

  void Update(const uint8_t* data, size_t n);
  // Writes the 16-byte tag; no Update may follow.
  void Final(uint8_t tag[kAeadTagSize]);

 private:
  void Blocks(const uint8_t* m, size_t n, uint32_t hibit);
  // r and the accumulator h in three limbs of 44, 44 and 42 bits where the
  // compiler multiplies 64 x 64 -> 128 bits, else in five of 26; the pad
  // s in 32-bit words.
  uint64_t r_[6], h_[5], pad_[4];  // r_[3..5]: r^2, in the 44-bit form
  uint8_t buffer_[16];
  size_t buffered_ = 0;
};

// Whether the n bytes at a and b are equal, in time that depends on n only.
bool ConstantTimeEqual(const uint8_t* a, const uint8_t* b, size_t n);

// AEAD_CHACHA20_POLY1305 (RFC 8439 2.8). Seal writes n bytes of ciphertext
// and then the tag to out (n + kAeadTagSize bytes); out may equal plain.
void AeadSeal(const uint8_t key[kChaChaKeySize], const uint8_t nonce[kChaChaNonceSize],
              const uint8_t* ad, size_t ad_len, const uint8_t* plain, size_t n, uint8_t* out);
// Open checks the tag of sealed (sealed_len >= kAeadTagSize bytes:
// ciphertext, then tag) and writes sealed_len - kAeadTagSize bytes of
// plaintext to out (out may equal sealed). Returns false, with out zeroed,
// if the tag does not match or sealed_len is too short: nothing of a
// forged message is ever released.
bool AeadOpen(const uint8_t key[kChaChaKeySize], const uint8_t nonce[kChaChaNonceSize],
              const uint8_t* ad, size_t ad_len, const uint8_t* sealed, size_t sealed_len,
              uint8_t* out);

// The forms of ChaCha20's loop. The fastest this build and CPU can run is
// used; ChaChaUseLoop switches to another (false if it can't run here), so
// tests can check that every form gives the same keystream. Not for use
// while other threads encrypt.
enum class ChaChaLoop { kPortable, kAvx2 };
bool ChaChaUseLoop(ChaChaLoop loop);

}  // namespace treesync

#endif  // TREESYNC_CHACHA20_POLY1305_H_
