// Noise_IK(psk2)_25519_ChaChaPoly_BLAKE2s, following the Noise spec's
// CipherState / SymmetricState / HandshakeState (sections 5.1-5.3) with
// IK's two message patterns written out rather than interpreted.
#include "noise.h"

#include <cstring>
#include <utility>

#include "blake2s.h"
#include "chacha20_poly1305.h"
#include "little_endian.h"
#include "secure_wipe.h"
#include "x25519.h"

namespace treesync {

namespace {

constexpr char kIkName[] = "Noise_IK_25519_ChaChaPoly_BLAKE2s";
constexpr char kIkPsk2Name[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
constexpr uint64_t kMaxNonce = ~uint64_t(0);

// ChaChaPoly's nonce: 32 bits of zeros, then the counter little-endian.
void NonceBytes(uint64_t n, uint8_t out[kChaChaNonceSize]) {
  std::memset(out, 0, 4);
  StoreLE64(out + 4, n);
}

}  // namespace

// ---- NoiseKeyPair ----

NoiseKeyPair::NoiseKeyPair(const uint8_t private_key_in[kNoiseKeySize]) {
  std::memcpy(private_key, private_key_in, kNoiseKeySize);
  X25519PublicKey(public_key, private_key);
}

NoiseKeyPair::NoiseKeyPair(const NoiseKeyPair& o) { *this = o; }

NoiseKeyPair& NoiseKeyPair::operator=(const NoiseKeyPair& o) {
  std::memcpy(private_key, o.private_key, kNoiseKeySize);
  std::memcpy(public_key, o.public_key, kNoiseKeySize);
  return *this;
}

NoiseKeyPair::~NoiseKeyPair() { SecureWipe(private_key, kNoiseKeySize); }

// ---- NoiseCipher ----

NoiseCipher::~NoiseCipher() { SecureWipe(key_, sizeof(key_)); }

NoiseCipher::NoiseCipher(NoiseCipher&& o) noexcept { *this = std::move(o); }

NoiseCipher& NoiseCipher::operator=(NoiseCipher&& o) noexcept {
  if (this == &o) return *this;
  std::memcpy(key_, o.key_, sizeof(key_));
  nonce_ = o.nonce_;
  has_key_ = o.has_key_;
  SecureWipe(o.key_, sizeof(o.key_));
  o.has_key_ = false;
  o.nonce_ = 0;
  return *this;
}

void NoiseCipher::SetKey(const uint8_t key[kNoiseKeySize]) {
  std::memcpy(key_, key, kNoiseKeySize);
  nonce_ = 0;
  has_key_ = true;
}

bool NoiseCipher::Encrypt(const uint8_t* ad, size_t ad_len, const uint8_t* plain, size_t n,
                          uint8_t* out) {
  if (nonce_ == kMaxNonce) return false;
  uint8_t nonce[kChaChaNonceSize];
  NonceBytes(nonce_, nonce);
  AeadSeal(key_, nonce, ad, ad_len, plain, n, out);
  ++nonce_;
  return true;
}

bool NoiseCipher::Decrypt(const uint8_t* ad, size_t ad_len, const uint8_t* sealed,
                          size_t sealed_len, uint8_t* out) {
  if (nonce_ == kMaxNonce) {
    if (sealed_len > kNoiseTagSize) std::memset(out, 0, sealed_len - kNoiseTagSize);
    return false;
  }
  uint8_t nonce[kChaChaNonceSize];
  NonceBytes(nonce_, nonce);
  if (!AeadOpen(key_, nonce, ad, ad_len, sealed, sealed_len, out)) return false;
  ++nonce_;
  return true;
}

void NoiseCipher::Rekey() {
  uint8_t nonce[kChaChaNonceSize];
  NonceBytes(kMaxNonce, nonce);
  uint8_t zeros[kNoiseKeySize + kAeadTagSize] = {};
  AeadSeal(key_, nonce, nullptr, 0, zeros, kNoiseKeySize, zeros);
  std::memcpy(key_, zeros, kNoiseKeySize);
  SecureWipe(zeros, sizeof(zeros));
}

// ---- NoiseHandshake ----

NoiseHandshake NoiseHandshake::Initiator(const NoiseKeyPair& s, const NoiseKeyPair& e,
                                         const uint8_t remote_static[kNoiseKeySize],
                                         const std::string& prologue, const uint8_t* psk) {
  return NoiseHandshake(true, s, e, remote_static, prologue, psk);
}

NoiseHandshake NoiseHandshake::Responder(const NoiseKeyPair& s, const NoiseKeyPair& e,
                                         const std::string& prologue, const uint8_t* psk) {
  return NoiseHandshake(false, s, e, nullptr, prologue, psk);
}

NoiseHandshake::NoiseHandshake(bool initiator, const NoiseKeyPair& s, const NoiseKeyPair& e,
                               const uint8_t* remote_static, const std::string& prologue,
                               const uint8_t* psk)
    : initiator_(initiator), has_psk_(psk != nullptr), s_(s), e_(e) {
  if (psk != nullptr) std::memcpy(psk_, psk, kNoiseKeySize);
  if (remote_static != nullptr) std::memcpy(rs_, remote_static, kNoiseKeySize);
  // Both names are longer than a hash, so h starts as their hash.
  const char* name = has_psk_ ? kIkPsk2Name : kIkName;
  Blake2sHash(h_, name, std::strlen(name));
  std::memcpy(ck_, h_, kNoiseKeySize);
  MixHash(reinterpret_cast<const uint8_t*>(prologue.data()), prologue.size());
  // IK's pre-message: the responder's static key, known to both.
  MixHash(initiator_ ? rs_ : s_.public_key, kNoiseKeySize);
}

NoiseHandshake::~NoiseHandshake() {
  SecureWipe(psk_, sizeof(psk_));
  SecureWipe(ck_, sizeof(ck_));
}

void NoiseHandshake::MixHash(const uint8_t* data, size_t n) {
  Blake2s hash;
  hash.Update(h_, kNoiseKeySize);
  hash.Update(data, n);
  hash.Final(h_);
}

void NoiseHandshake::MixKey(const uint8_t* ikm, size_t n) {
  uint8_t key[kNoiseKeySize];
  NoiseHkdf(ck_, ikm, n, 2, ck_, key, nullptr);
  cipher_.SetKey(key);
  SecureWipe(key, sizeof(key));
}

void NoiseHandshake::MixKeyAndHash(const uint8_t* ikm, size_t n) {
  uint8_t temp_h[kNoiseKeySize], key[kNoiseKeySize];
  NoiseHkdf(ck_, ikm, n, 3, ck_, temp_h, key);
  MixHash(temp_h, sizeof(temp_h));
  cipher_.SetKey(key);
  SecureWipe(key, sizeof(key));
  SecureWipe(temp_h, sizeof(temp_h));
}

bool NoiseHandshake::MixDh(const uint8_t* private_key, const uint8_t* public_key) {
  uint8_t shared[kNoiseKeySize];
  const bool ok = X25519(shared, private_key, public_key);
  MixKey(shared, sizeof(shared));
  SecureWipe(shared, sizeof(shared));
  return ok;
}

void NoiseHandshake::EncryptAndHash(const uint8_t* plain, size_t n, std::string* out) {
  const size_t at = out->size();
  // In IK every encrypted field comes after a key is mixed in.
  out->resize(at + n + kNoiseTagSize);
  uint8_t* p = reinterpret_cast<uint8_t*>(&(*out)[at]);
  cipher_.Encrypt(h_, kNoiseKeySize, plain, n, p);
  MixHash(p, n + kNoiseTagSize);
}

bool NoiseHandshake::DecryptAndHash(const uint8_t* data, size_t n, uint8_t* out) {
  if (n < kNoiseTagSize) return false;
  // h before this field is the associated data; the field is hashed as
  // it came, so keep h until the check passed.
  uint8_t ad[kNoiseKeySize];
  std::memcpy(ad, h_, sizeof(ad));
  if (!cipher_.Decrypt(ad, sizeof(ad), data, n, out)) return false;
  MixHash(data, n);
  return true;
}

bool NoiseHandshake::Fail() {
  step_ = -1;
  SecureWipe(ck_, sizeof(ck_));
  cipher_ = NoiseCipher();
  return false;
}

bool NoiseHandshake::WriteMessage(const std::string& payload, std::string* out) {
  const bool my_turn = initiator_ ? step_ == 0 : step_ == 1;
  if (!my_turn) return false;
  const size_t fixed = initiator_ ? 2 * kNoiseKeySize + 2 * kNoiseTagSize
                                  : kNoiseKeySize + kNoiseTagSize;
  if (payload.size() > kNoiseMaxMessage - fixed) return false;
  const uint8_t* p = reinterpret_cast<const uint8_t*>(payload.data());
  // -> e / <- e; a psk handshake also mixes e into the key.
  out->append(reinterpret_cast<const char*>(e_.public_key), kNoiseKeySize);
  MixHash(e_.public_key, kNoiseKeySize);
  if (has_psk_) MixKey(e_.public_key, kNoiseKeySize);
  if (initiator_) {
    if (!MixDh(e_.private_key, rs_)) return Fail();  // es
    EncryptAndHash(s_.public_key, kNoiseKeySize, out);  // s
    if (!MixDh(s_.private_key, rs_)) return Fail();  // ss
  } else {
    if (!MixDh(e_.private_key, re_)) return Fail();  // ee
    if (!MixDh(e_.private_key, rs_)) return Fail();  // se
    if (has_psk_) MixKeyAndHash(psk_, kNoiseKeySize);
  }
  EncryptAndHash(p, payload.size(), out);
  ++step_;
  return true;
}

bool NoiseHandshake::ReadMessage(const std::string& message, std::string* payload) {
  const bool my_turn = initiator_ ? step_ == 1 : step_ == 0;
  if (!my_turn) return false;
  const uint8_t* m = reinterpret_cast<const uint8_t*>(message.data());
  size_t left = message.size();
  const size_t fixed = initiator_ ? kNoiseKeySize + kNoiseTagSize
                                  : 2 * kNoiseKeySize + 2 * kNoiseTagSize;
  if (left < fixed || left > kNoiseMaxMessage) return Fail();
  std::memcpy(re_, m, kNoiseKeySize);
  m += kNoiseKeySize;
  left -= kNoiseKeySize;
  MixHash(re_, kNoiseKeySize);
  if (has_psk_) MixKey(re_, kNoiseKeySize);
  if (!initiator_) {
    if (!MixDh(s_.private_key, re_)) return Fail();  // es
    if (!DecryptAndHash(m, kNoiseKeySize + kNoiseTagSize, rs_)) return Fail();  // s
    m += kNoiseKeySize + kNoiseTagSize;
    left -= kNoiseKeySize + kNoiseTagSize;
    if (!MixDh(s_.private_key, rs_)) return Fail();  // ss
  } else {
    if (!MixDh(e_.private_key, re_)) return Fail();  // ee
    if (!MixDh(s_.private_key, re_)) return Fail();  // se
    if (has_psk_) MixKeyAndHash(psk_, kNoiseKeySize);
  }
  payload->assign(left - kNoiseTagSize, '\0');
  if (!DecryptAndHash(m, left, reinterpret_cast<uint8_t*>(&(*payload)[0]))) {
    payload->clear();
    return Fail();
  }
  ++step_;
  return true;
}

void NoiseHandshake::Split(NoiseCipher* send, NoiseCipher* receive) {
  uint8_t k1[kNoiseKeySize], k2[kNoiseKeySize];
  NoiseHkdf(ck_, nullptr, 0, 2, k1, k2, nullptr);
  // The initiator sends with the first key, the responder with the second.
  send->SetKey(initiator_ ? k1 : k2);
  receive->SetKey(initiator_ ? k2 : k1);
  SecureWipe(k1, sizeof(k1));
  SecureWipe(k2, sizeof(k2));
  SecureWipe(ck_, sizeof(ck_));
  SecureWipe(psk_, sizeof(psk_));
  cipher_ = NoiseCipher();
}

}  // namespace treesync
