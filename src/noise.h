// The Noise protocol framework (revision 34) as encrypted sessions use it:
// Noise_IK_25519_ChaChaPoly_BLAKE2s, WireGuard's pattern, and its
// IKpsk2 form with a pre-shared key. The initiator (the client) knows the
// responder's static public key beforehand; the two messages
//
//   -> e, es, s, ss   (the initiator's static key travels encrypted)
//   <- e, ee, se      (psk2: then the pre-shared key is mixed in)
//
// authenticate both sides, give forward secrecy, and hide the initiator's
// identity from a passive observer. After them each side has a NoiseCipher
// for each direction. Pure computation: the caller brings the keys
// (ephemeral ones from platform::SecretRandom) and moves the bytes.
#ifndef TREESYNC_NOISE_H_
#define TREESYNC_NOISE_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace treesync {

constexpr size_t kNoiseKeySize = 32;
constexpr size_t kNoiseTagSize = 16;
// Noise's limit on one message, handshake or transport.
constexpr size_t kNoiseMaxMessage = 65535;

// An X25519 key pair. Wipes its private key when destroyed.
struct NoiseKeyPair {
  uint8_t private_key[kNoiseKeySize] = {};
  uint8_t public_key[kNoiseKeySize] = {};

  NoiseKeyPair() = default;
  // The pair of private_key (its public key computed).
  explicit NoiseKeyPair(const uint8_t private_key[kNoiseKeySize]);
  NoiseKeyPair(const NoiseKeyPair& o);
  NoiseKeyPair& operator=(const NoiseKeyPair& o);
  ~NoiseKeyPair();
};

// One direction of a session: ChaChaPoly under one key, with a nonce that
// counts the messages and never repeats. Wipes its key when destroyed.
class NoiseCipher {
 public:
  NoiseCipher() = default;
  ~NoiseCipher();
  // Moving takes the key; the source is left without one.
  NoiseCipher(NoiseCipher&& o) noexcept;
  NoiseCipher& operator=(NoiseCipher&& o) noexcept;
  NoiseCipher(const NoiseCipher&) = delete;
  NoiseCipher& operator=(const NoiseCipher&) = delete;

  // Keys the cipher; the nonce starts at 0.
  void SetKey(const uint8_t key[kNoiseKeySize]);
  bool has_key() const { return has_key_; }
  // The nonce the next message will use.
  uint64_t nonce() const { return nonce_; }

  // Writes n + kNoiseTagSize bytes to out (out may equal plain). Returns
  // false, writing nothing, once the nonce reaches 2^64 - 1 (Noise's
  // reserved value): the session must end or rekey long before.
  // REQUIRES: has_key().
  bool Encrypt(const uint8_t* ad, size_t ad_len, const uint8_t* plain, size_t n, uint8_t* out);
  // Writes sealed_len - kNoiseTagSize bytes to out (out may equal sealed).
  // Returns false if the message was not sealed under this key and nonce
  // (flipped, replayed, reordered, dropped before it, or cut), with out
  // zeroed and the nonce unchanged. REQUIRES: has_key().
  bool Decrypt(const uint8_t* ad, size_t ad_len, const uint8_t* sealed, size_t sealed_len,
               uint8_t* out);
  // Noise's Rekey(): the key becomes the first 32 bytes of the encryption
  // of 32 zeros under the nonce 2^64 - 1; the nonce is kept.
  void Rekey();

 private:
  uint8_t key_[kNoiseKeySize] = {};
  uint64_t nonce_ = 0;
  bool has_key_ = false;
};

// One side of a Noise_IK (or IKpsk2) handshake.
class NoiseHandshake {
 public:
  // The initiator: its static pair s, a fresh ephemeral pair e, the
  // responder's static public key, the prologue both sides must agree on,
  // and a 32-byte pre-shared key or null (plain IK).
  static NoiseHandshake Initiator(const NoiseKeyPair& s, const NoiseKeyPair& e,
                                  const uint8_t remote_static[kNoiseKeySize],
                                  const std::string& prologue, const uint8_t* psk);
  // The responder: the initiator's static key arrives in message 1.
  static NoiseHandshake Responder(const NoiseKeyPair& s, const NoiseKeyPair& e,
                                  const std::string& prologue, const uint8_t* psk);
  ~NoiseHandshake();
  NoiseHandshake(NoiseHandshake&&) = default;
  NoiseHandshake& operator=(NoiseHandshake&&) = delete;
  NoiseHandshake(const NoiseHandshake&) = delete;

  // The initiator writes message 1, the responder message 2, carrying
  // payload (encrypted); appended to *out. Returns false if it is not this
  // side's turn to write, the payload would pass kNoiseMaxMessage, or a
  // Diffie-Hellman result is all zeros (a low-order key).
  bool WriteMessage(const std::string& payload, std::string* out);
  // The responder reads message 1, the initiator message 2; the payload it
  // carried is put in *payload. Returns false if it is not this side's turn
  // to read or the message is not what the peer holding the expected keys
  // would have sent: malformed, cut, altered, sealed with other keys. The
  // handshake is then dead.
  bool ReadMessage(const std::string& message, std::string* payload);

  // Whether both messages have passed.
  bool done() const { return step_ == 2; }
  // The peer's static public key: the responder learns it from message 1
  // (and should decide whether it may connect before answering).
  const uint8_t* remote_static() const { return rs_; }
  // A hash of everything the handshake said (Noise's handshake hash): the
  // same on both sides; usable as a session identifier. Final once done().
  const uint8_t* handshake_hash() const { return h_; }

  // Keys the transport ciphers once done(): *send for this side's
  // messages, *receive for the peer's. The handshake's secrets are wiped.
  void Split(NoiseCipher* send, NoiseCipher* receive);

 private:
  NoiseHandshake(bool initiator, const NoiseKeyPair& s, const NoiseKeyPair& e,
                 const uint8_t* remote_static, const std::string& prologue, const uint8_t* psk);
  void MixHash(const uint8_t* data, size_t n);
  void MixKey(const uint8_t* ikm, size_t n);
  void MixKeyAndHash(const uint8_t* ikm, size_t n);
  // Mixes the shared secret of our private key and their public key;
  // false if it is all zeros.
  bool MixDh(const uint8_t* private_key, const uint8_t* public_key);
  void EncryptAndHash(const uint8_t* plain, size_t n, std::string* out);
  bool DecryptAndHash(const uint8_t* data, size_t n, uint8_t* out);
  bool Fail();

  bool initiator_;
  bool has_psk_;
  int step_ = 0;  // messages passed; -1 once failed
  NoiseKeyPair s_, e_;
  uint8_t rs_[kNoiseKeySize] = {}, re_[kNoiseKeySize] = {};
  uint8_t psk_[kNoiseKeySize] = {};
  uint8_t ck_[kNoiseKeySize] = {}, h_[kNoiseKeySize] = {};
  NoiseCipher cipher_;
};

}  // namespace treesync

#endif  // TREESYNC_NOISE_H_
