// ct_check [--self-test | --self-test-index | --public-outcomes]: runs the
// crypto primitives with their secret inputs (keys, scalars, plaintexts,
// chaining keys, the psk) marked undefined for valgrind's memcheck, which
// then reports every conditional jump, conditional move and memory index
// that depends on a secret. Under `valgrind --error-exitcode=9` an exit of
// 0 means no primitive branched or indexed on a secret
// (tests/e2e/constant_time.sh). Prints one "ok" line per primitive.
//
// What a caller learns anyway is marked defined before anything branches on
// it: the answer of ConstantTimeEqual, whether a Diffie-Hellman result was
// zero, whether a tag matched, and every byte that goes on the wire. Every
// output is also compared with the same computation on defined inputs, so a
// primitive that skipped its work would not pass either.
//
// NoiseHandshake branches on those public outcomes inside its own code,
// where this tool can't declassify them, so the handshake here is a mirror
// of src/noise.cc built from the primitives, checked to give the real
// class's handshake hash and transport bytes. --public-outcomes runs the
// real NoiseHandshake and AeadOpen on secrets instead, for a reader to see
// that what valgrind flags there are those outcomes.
//
// --self-test branches on a secret byte and --self-test-index indexes a
// table with one, so a run under valgrind must report an error: the check
// can't pass by checking nothing.
//
// Built without <valgrind/memcheck.h> the marks are no-ops: the tool still
// runs, says so, and checks nothing.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "blake2s.h"
#include "chacha20_poly1305.h"
#include "noise.h"
#include "x25519.h"

#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
constexpr bool kHaveMemcheck = true;
#else
#define VALGRIND_MAKE_MEM_UNDEFINED(p, n) ((void)(p), (void)(n))
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)(p), (void)(n))
#define RUNNING_ON_VALGRIND 0
constexpr bool kHaveMemcheck = false;
#endif

namespace treesync {
namespace {

using Bytes = std::vector<uint8_t>;

// The lengths ChaCha20 runs at: empty, partial, exactly one block, one
// past it, a whole eight-block loop step, and a step plus partial blocks.
constexpr size_t kChaChaLengths[] = {0, 1, 63, 64, 65, 512, 1000};
// Lengths around Poly1305's and BLAKE2s's 16- and 64-byte blocks.
constexpr size_t kMessageLengths[] = {0, 1, 15, 16, 17, 63, 64, 65, 200, 1000};

int g_checked = 0;
bool g_failed = false;

void Secret(void* p, size_t n) { VALGRIND_MAKE_MEM_UNDEFINED(p, n); }
void Public(const void* p, size_t n) { VALGRIND_MAKE_MEM_DEFINED(p, n); }
void Secret(Bytes* b) { Secret(b->data(), b->size()); }
void Public(const Bytes& b) { Public(b.data(), b.size()); }
void Public(const std::string& s) { Public(s.data(), s.size()); }

// n bytes of a fixed pattern; `seed` tells buffers apart.
Bytes Pattern(size_t n, uint32_t seed) {
  Bytes b(n);
  uint32_t x = 0x9e3779b9u ^ (seed * 0x85ebca6bu);
  for (uint8_t& c : b) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = uint8_t(x >> 24);
  }
  return b;
}

// Declares one primitive checked, or failed when its outputs (already
// marked defined) did not match the run on defined inputs.
void Report(const char* what, bool same) {
  if (same) {
    std::printf("ok %s\n", what);
    ++g_checked;
  } else {
    std::printf("FAIL %s: output differs from the run on defined inputs\n", what);
    g_failed = true;
  }
}

// ---- X25519 ----

void CheckX25519() {
  const Bytes scalar = Pattern(kX25519KeySize, 1);
  Bytes u(kX25519KeySize);
  X25519PublicKey(u.data(), Pattern(kX25519KeySize, 2).data());
  Bytes want(kX25519KeySize);
  bool want_ok = X25519(want.data(), scalar.data(), u.data());

  // A secret scalar against a public point, as every handshake DH is.
  Bytes s = scalar, out(kX25519KeySize);
  Secret(&s);
  bool ok = X25519(out.data(), s.data(), u.data());
  Public(&ok, sizeof ok);
  Public(out);
  Report("X25519 (secret scalar)", ok == want_ok && out == want);

  // The header promises constant time in the point as well.
  Bytes secret_u = u;
  Secret(&s);
  Secret(&secret_u);
  ok = X25519(out.data(), s.data(), secret_u.data());
  Public(&ok, sizeof ok);
  Public(out);
  Report("X25519 (secret scalar and point)", ok == want_ok && out == want);

  Bytes pub_want(kX25519KeySize), pub(kX25519KeySize);
  X25519PublicKey(pub_want.data(), scalar.data());
  Secret(&s);
  X25519PublicKey(pub.data(), s.data());
  Public(pub);
  Report("X25519PublicKey (secret private key)", pub == pub_want);
}

// ---- ChaCha20 ----

// ChaCha20Xor at every length of kChaChaLengths with the loop now in use;
// *outputs gets the (declassified) results.
bool ChaChaRuns(std::vector<Bytes>* outputs) {
  const Bytes nonce = Pattern(kChaChaNonceSize, 3);
  bool same = true;
  for (size_t n : kChaChaLengths) {
    Bytes key = Pattern(kChaChaKeySize, 4), plain = Pattern(n, 5);
    Bytes want(n), out(n);
    ChaCha20Xor(key.data(), nonce.data(), 7, plain.data(), want.data(), n);
    Secret(&key);
    Secret(&plain);
    ChaCha20Xor(key.data(), nonce.data(), 7, plain.data(), out.data(), n);
    Public(out);
    same = same && out == want;
    outputs->push_back(out);
  }
  return same;
}

void CheckChaCha() {
  std::vector<Bytes> portable, avx2;
  ChaChaUseLoop(ChaChaLoop::kPortable);
  Report("ChaCha20Xor portable loop (0, 1, 63, 64, 65, 512, 1000 bytes)", ChaChaRuns(&portable));
  if (ChaChaUseLoop(ChaChaLoop::kAvx2)) {
    const bool same = ChaChaRuns(&avx2);
    Report("ChaCha20Xor AVX2 loop (0, 1, 63, 64, 65, 512, 1000 bytes)", same && avx2 == portable);
  } else {
    std::printf("skip ChaCha20Xor AVX2 loop: not available in this build or on this CPU\n");
  }
  ChaChaUseLoop(ChaChaLoop::kPortable);
}

// ---- Poly1305 and the AEAD ----

void CheckPoly1305() {
  bool same = true;
  for (size_t n : kMessageLengths) {
    Bytes key = Pattern(kPoly1305KeySize, 6), msg = Pattern(n, 7);
    uint8_t want[kAeadTagSize], tag[kAeadTagSize];
    {
      Poly1305 mac(key.data());
      mac.Update(msg.data(), n);
      mac.Final(want);
    }
    Secret(&key);
    Secret(&msg);
    {
      // Fed in two pieces, so the buffered path runs on secrets too.
      Poly1305 mac(key.data());
      mac.Update(msg.data(), n / 3);
      mac.Update(msg.data() + n / 3, n - n / 3);
      mac.Final(tag);
    }
    Public(tag, sizeof tag);
    same = same && std::memcmp(tag, want, sizeof tag) == 0;
  }
  Report("Poly1305 (secret key and message)", same);
}

void CheckAeadSeal() {
  const Bytes nonce = Pattern(kChaChaNonceSize, 8);
  bool same = true;
  for (size_t n : kChaChaLengths) {
    const Bytes ad = Pattern(n % 37, 9);  // public, of varied length
    Bytes key = Pattern(kChaChaKeySize, 10), plain = Pattern(n, 11);
    Bytes want(n + kAeadTagSize), out(n + kAeadTagSize);
    AeadSeal(key.data(), nonce.data(), ad.data(), ad.size(), plain.data(), n, want.data());
    Secret(&key);
    Secret(&plain);
    AeadSeal(key.data(), nonce.data(), ad.data(), ad.size(), plain.data(), n, out.data());
    Public(out);
    same = same && out == want;
  }
  Report("AeadSeal (secret key and plaintext, public ad)", same);
}

void CheckConstantTimeEqual() {
  bool same = true;
  for (size_t n : {size_t(1), size_t(16), size_t(32), size_t(100)}) {
    for (size_t differ_at : {n, size_t(0), n / 2, n - 1}) {  // n: equal
      Bytes a = Pattern(n, 12), b = a;
      if (differ_at < n) b[differ_at] ^= 0x10;
      Secret(&a);
      Secret(&b);
      bool eq = ConstantTimeEqual(a.data(), b.data(), n);
      // The answer of a comparison is public; the work to get it is not.
      Public(&eq, sizeof eq);
      same = same && eq == (differ_at == n);
    }
  }
  Report("ConstantTimeEqual (secret buffers)", same);
}

// ---- BLAKE2s, HMAC, HKDF ----

void CheckBlake2s() {
  bool same = true;
  for (size_t n : kMessageLengths) {
    Bytes msg = Pattern(n, 13);
    uint8_t want[kBlake2sOutSize], out[kBlake2sOutSize];
    Blake2sHash(want, msg.data(), n);
    Secret(&msg);
    Blake2sHash(out, msg.data(), n);
    Public(out, sizeof out);
    same = same && std::memcmp(out, want, sizeof out) == 0;
  }
  Report("Blake2s unkeyed (secret message)", same);

  same = true;
  for (size_t key_len : {size_t(1), size_t(16), size_t(32)}) {
    for (size_t n : kMessageLengths) {
      Bytes key = Pattern(key_len, 14), msg = Pattern(n, 15);
      uint8_t want[kBlake2sOutSize], out[kBlake2sOutSize];
      {
        Blake2s h(kBlake2sOutSize, key.data(), key_len);
        h.Update(msg.data(), n);
        h.Final(want);
      }
      Secret(&key);
      Secret(&msg);
      {
        Blake2s h(kBlake2sOutSize, key.data(), key_len);
        h.Update(msg.data(), n / 2);
        h.Update(msg.data() + n / 2, n - n / 2);
        h.Final(out);
      }
      Public(out, sizeof out);
      same = same && std::memcmp(out, want, sizeof out) == 0;
    }
  }
  Report("Blake2s keyed (secret key and message)", same);
}

void CheckHmac() {
  bool same = true;
  // 100: a key longer than a block is hashed first.
  for (size_t key_len : {size_t(0), size_t(16), size_t(32), size_t(64), size_t(100)}) {
    for (size_t n : {size_t(0), size_t(1), size_t(33), size_t(64), size_t(200)}) {
      Bytes key = Pattern(key_len, 16), msg = Pattern(n, 17);
      uint8_t want[kBlake2sOutSize], out[kBlake2sOutSize];
      HmacBlake2s(want, key.data(), key_len, msg.data(), n);
      Secret(&key);
      Secret(&msg);
      HmacBlake2s(out, key.data(), key_len, msg.data(), n);
      Public(out, sizeof out);
      same = same && std::memcmp(out, want, sizeof out) == 0;
    }
  }
  Report("HmacBlake2s (secret key and message)", same);
}

void CheckHkdf() {
  bool same = true;
  for (size_t outputs : {size_t(2), size_t(3)}) {
    for (size_t ikm_len : {size_t(0), size_t(32)}) {
      Bytes ck = Pattern(kBlake2sOutSize, 18), ikm = Pattern(ikm_len, 19);
      uint8_t want[3][kBlake2sOutSize] = {}, out[3][kBlake2sOutSize] = {};
      NoiseHkdf(ck.data(), ikm.data(), ikm_len, outputs, want[0], want[1],
                outputs == 3 ? want[2] : nullptr);
      Secret(&ck);
      Secret(&ikm);
      NoiseHkdf(ck.data(), ikm.data(), ikm_len, outputs, out[0], out[1],
                outputs == 3 ? out[2] : nullptr);
      Public(out, sizeof out);
      same = same && std::memcmp(out, want, sizeof out) == 0;
    }
  }
  Report("NoiseHkdf (secret chaining key and input key material)", same);
}

// ---- The Noise handshake ----

// What one run of IK (or IKpsk2) produced, all of it public.
struct HandshakeResult {
  std::string message1, message2, payload1, payload2;
  Bytes initiator_hash, responder_hash;
  // A transport message each way, sealed by each side's send cipher.
  std::string initiator_sends, responder_sends;
  bool ok = false;
};

// The keys of one run: static and ephemeral private keys for both sides,
// and the psk.
struct HandshakeKeys {
  Bytes si = Pattern(kNoiseKeySize, 20), ei = Pattern(kNoiseKeySize, 21);
  Bytes sr = Pattern(kNoiseKeySize, 22), er = Pattern(kNoiseKeySize, 23);
  Bytes psk = Pattern(kNoiseKeySize, 24);
  void MarkSecret() {
    Secret(&si);
    Secret(&ei);
    Secret(&sr);
    Secret(&er);
    Secret(&psk);
  }
};

const char kPrologue[] = "ct_check prologue";
const char kPayload1[] = "payload of message 1";
const char kPayload2[] = "payload of message 2";
const char kTransport[] = "a transport message";

std::string Seal(NoiseCipher* c, const std::string& plain) {
  std::string out(plain.size() + kNoiseTagSize, '\0');
  c->Encrypt(nullptr, 0, reinterpret_cast<const uint8_t*>(plain.data()), plain.size(),
             reinterpret_cast<uint8_t*>(&out[0]));
  return out;
}

// Noise's SymmetricState and CipherState (spec sections 5.1, 5.2) from the
// primitives, the way src/noise.cc computes them, with the two outcomes a
// handshake branches on marked public first.
class MirrorState {
 public:
  MirrorState(bool psk, const Bytes& responder_static_public) {
    const char* name =
        psk ? "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s" : "Noise_IK_25519_ChaChaPoly_BLAKE2s";
    Blake2sHash(h_, name, std::strlen(name));
    std::memcpy(ck_, h_, sizeof ck_);
    MixHash(reinterpret_cast<const uint8_t*>(kPrologue), std::strlen(kPrologue));
    MixHash(responder_static_public.data(), kNoiseKeySize);
  }

  void MixHash(const uint8_t* data, size_t n) {
    Blake2s hash;
    hash.Update(h_, sizeof h_);
    hash.Update(data, n);
    hash.Final(h_);
  }
  void MixKey(const uint8_t* ikm, size_t n) {
    NoiseHkdf(ck_, ikm, n, 2, ck_, k_, nullptr);
    nonce_ = 0;
  }
  void MixKeyAndHash(const uint8_t* ikm, size_t n) {
    uint8_t temp_h[kNoiseKeySize];
    NoiseHkdf(ck_, ikm, n, 3, ck_, temp_h, k_);
    MixHash(temp_h, sizeof temp_h);
    nonce_ = 0;
  }
  // Whether the shared secret was nonzero: public, as the handshake aborts
  // on it for everyone to see.
  bool MixDh(const Bytes& private_key, const Bytes& public_key) {
    uint8_t shared[kX25519KeySize];
    bool nonzero = X25519(shared, private_key.data(), public_key.data());
    Public(&nonzero, sizeof nonzero);
    MixKey(shared, sizeof shared);
    return nonzero;
  }
  // Appends the sealed plain to *wire, which is public.
  void EncryptAndHash(const uint8_t* plain, size_t n, std::string* wire) {
    Bytes sealed(n + kAeadTagSize);
    AeadSeal(k_, Nonce(), h_, sizeof h_, plain, n, sealed.data());
    ++nonce_;
    Public(sealed);
    wire->append(sealed.begin(), sealed.end());
    MixHash(sealed.data(), sealed.size());
  }
  // AeadOpen branches on its tag check inside src/, so opening is done
  // here as decrypt, reseal, compare, with the comparison's answer public.
  bool DecryptAndHash(const uint8_t* sealed, size_t sealed_len, uint8_t* plain) {
    const size_t n = sealed_len - kAeadTagSize;
    uint8_t nonce[kChaChaNonceSize];
    std::memcpy(nonce, Nonce(), sizeof nonce);
    ChaCha20Xor(k_, nonce, 1, sealed, plain, n);
    Bytes resealed(sealed_len);
    AeadSeal(k_, nonce, h_, sizeof h_, plain, n, resealed.data());
    bool match = ConstantTimeEqual(resealed.data() + n, sealed + n, kAeadTagSize);
    Public(&match, sizeof match);
    if (!match) return false;
    ++nonce_;
    MixHash(sealed, sealed_len);
    return true;
  }
  void Split(bool initiator, NoiseCipher* send) {
    uint8_t k1[kNoiseKeySize], k2[kNoiseKeySize];
    NoiseHkdf(ck_, nullptr, 0, 2, k1, k2, nullptr);
    send->SetKey(initiator ? k1 : k2);
  }
  Bytes hash() const {
    Bytes h(h_, h_ + sizeof h_);
    Public(h);
    return h;
  }

 private:
  const uint8_t* Nonce() {
    std::memset(nonce_bytes_, 0, sizeof nonce_bytes_);
    for (int i = 0; i < 8; ++i) nonce_bytes_[4 + i] = uint8_t(nonce_ >> (8 * i));
    return nonce_bytes_;
  }
  uint8_t ck_[kNoiseKeySize], h_[kNoiseKeySize], k_[kNoiseKeySize] = {};
  uint8_t nonce_bytes_[kChaChaNonceSize];
  uint64_t nonce_ = 0;
};

// The public key of a (possibly secret) private key; public keys are public.
Bytes PublicKeyOf(const Bytes& private_key) {
  Bytes pub(kNoiseKeySize);
  X25519PublicKey(pub.data(), private_key.data());
  Public(pub);
  return pub;
}

// IK (or IKpsk2) through MirrorState, step by step as src/noise.cc's
// WriteMessage and ReadMessage go.
HandshakeResult MirrorHandshake(const HandshakeKeys& k, bool psk) {
  HandshakeResult r;
  const Bytes si_pub = PublicKeyOf(k.si), ei_pub = PublicKeyOf(k.ei);
  const Bytes sr_pub = PublicKeyOf(k.sr), er_pub = PublicKeyOf(k.er);
  MirrorState init(psk, sr_pub), resp(psk, sr_pub);
  Bytes p1(kPayload1, kPayload1 + std::strlen(kPayload1));
  Bytes p2(kPayload2, kPayload2 + std::strlen(kPayload2));
  Secret(&p1);  // payloads may be secret too
  Secret(&p2);

  // -> e, es, s, ss
  r.message1.assign(ei_pub.begin(), ei_pub.end());
  init.MixHash(ei_pub.data(), kNoiseKeySize);
  if (psk) init.MixKey(ei_pub.data(), kNoiseKeySize);
  if (!init.MixDh(k.ei, sr_pub)) return r;
  init.EncryptAndHash(si_pub.data(), kNoiseKeySize, &r.message1);
  if (!init.MixDh(k.si, sr_pub)) return r;
  init.EncryptAndHash(p1.data(), p1.size(), &r.message1);

  const uint8_t* m = reinterpret_cast<const uint8_t*>(r.message1.data());
  const Bytes re(m, m + kNoiseKeySize);
  resp.MixHash(re.data(), kNoiseKeySize);
  if (psk) resp.MixKey(re.data(), kNoiseKeySize);
  if (!resp.MixDh(k.sr, re)) return r;
  Bytes rs(kNoiseKeySize);
  if (!resp.DecryptAndHash(m + kNoiseKeySize, kNoiseKeySize + kAeadTagSize, rs.data())) return r;
  Public(rs);  // the initiator's static public key
  if (!resp.MixDh(k.sr, rs)) return r;
  const size_t payload_at = 2 * kNoiseKeySize + kAeadTagSize;
  Bytes got1(r.message1.size() - payload_at - kAeadTagSize);
  if (!resp.DecryptAndHash(m + payload_at, r.message1.size() - payload_at, got1.data())) return r;
  Public(got1);
  r.payload1.assign(got1.begin(), got1.end());

  // <- e, ee, se (psk)
  r.message2.assign(er_pub.begin(), er_pub.end());
  resp.MixHash(er_pub.data(), kNoiseKeySize);
  if (psk) resp.MixKey(er_pub.data(), kNoiseKeySize);
  if (!resp.MixDh(k.er, re)) return r;
  if (!resp.MixDh(k.er, rs)) return r;
  if (psk) resp.MixKeyAndHash(k.psk.data(), kNoiseKeySize);
  resp.EncryptAndHash(p2.data(), p2.size(), &r.message2);

  m = reinterpret_cast<const uint8_t*>(r.message2.data());
  const Bytes re2(m, m + kNoiseKeySize);
  init.MixHash(re2.data(), kNoiseKeySize);
  if (psk) init.MixKey(re2.data(), kNoiseKeySize);
  if (!init.MixDh(k.ei, re2)) return r;
  if (!init.MixDh(k.si, re2)) return r;
  if (psk) init.MixKeyAndHash(k.psk.data(), kNoiseKeySize);
  Bytes got2(r.message2.size() - kNoiseKeySize - kAeadTagSize);
  if (!init.DecryptAndHash(m + kNoiseKeySize, r.message2.size() - kNoiseKeySize, got2.data())) {
    return r;
  }
  Public(got2);
  r.payload2.assign(got2.begin(), got2.end());

  r.initiator_hash = init.hash();
  r.responder_hash = resp.hash();
  // The transport: the real NoiseCipher, keyed with the secret split keys.
  NoiseCipher init_send, resp_send;
  init.Split(true, &init_send);
  resp.Split(false, &resp_send);
  std::string t(kTransport);
  Secret(&t[0], t.size());
  r.initiator_sends = Seal(&init_send, t);
  r.responder_sends = Seal(&resp_send, t);
  Public(r.initiator_sends);
  Public(r.responder_sends);
  r.ok = true;
  return r;
}

// IK (or IKpsk2) through the real NoiseHandshake. With k secret, valgrind
// flags the branches noise.cc and AeadOpen take on public outcomes.
HandshakeResult RealHandshake(const HandshakeKeys& k, bool psk) {
  HandshakeResult r;
  const NoiseKeyPair si(k.si.data()), ei(k.ei.data()), sr(k.sr.data()), er(k.er.data());
  Public(si.public_key, kNoiseKeySize);
  Public(ei.public_key, kNoiseKeySize);
  Public(sr.public_key, kNoiseKeySize);
  Public(er.public_key, kNoiseKeySize);
  const uint8_t* psk_bytes = psk ? k.psk.data() : nullptr;
  NoiseHandshake init = NoiseHandshake::Initiator(si, ei, sr.public_key, kPrologue, psk_bytes);
  NoiseHandshake resp = NoiseHandshake::Responder(sr, er, kPrologue, psk_bytes);
  // Public payloads: the class hashes its ciphertext before this can mark
  // it public, so secret ones would taint what follows (the mirror has them).
  const std::string p1(kPayload1), p2(kPayload2);
  if (!init.WriteMessage(p1, &r.message1)) return r;
  Public(r.message1);
  if (!resp.ReadMessage(r.message1, &r.payload1)) return r;
  Public(r.payload1);
  if (!resp.WriteMessage(p2, &r.message2)) return r;
  Public(r.message2);
  if (!init.ReadMessage(r.message2, &r.payload2)) return r;
  Public(r.payload2);
  r.initiator_hash.assign(init.handshake_hash(), init.handshake_hash() + kNoiseKeySize);
  r.responder_hash.assign(resp.handshake_hash(), resp.handshake_hash() + kNoiseKeySize);
  Public(r.initiator_hash);
  Public(r.responder_hash);
  NoiseCipher init_send, init_receive, resp_send, resp_receive;
  init.Split(&init_send, &init_receive);
  resp.Split(&resp_send, &resp_receive);
  const std::string t(kTransport);
  r.initiator_sends = Seal(&init_send, t);
  r.responder_sends = Seal(&resp_send, t);
  Public(r.initiator_sends);
  Public(r.responder_sends);
  r.ok = true;
  return r;
}

bool Same(const HandshakeResult& a, const HandshakeResult& b) {
  return a.ok && b.ok && a.message1 == b.message1 && a.message2 == b.message2 &&
         a.payload1 == b.payload1 && a.payload2 == b.payload2 && a.payload1 == kPayload1 &&
         a.payload2 == kPayload2 && a.initiator_hash == b.initiator_hash &&
         a.responder_hash == b.responder_hash && a.initiator_hash == a.responder_hash &&
         a.initiator_sends == b.initiator_sends && a.responder_sends == b.responder_sends;
}

void CheckNoise() {
  for (bool psk : {false, true}) {
    // The real class on defined keys is the reference the mirror must match.
    const HandshakeResult want = RealHandshake(HandshakeKeys(), psk);
    HandshakeKeys k;
    k.MarkSecret();
    const HandshakeResult got = MirrorHandshake(k, psk);
    Report(psk ? "Noise IKpsk2 handshake + transport Encrypt (secret static, ephemeral keys, psk)"
               : "Noise IK handshake + transport Encrypt (secret static and ephemeral keys)",
           Same(got, want));
  }
}

// ---- Modes that must or may make valgrind report ----

// The real NoiseHandshake and AeadOpen on secrets. Not part of the check:
// both branch, by design, on outcomes that are public (a DH result was
// zero, a tag did not match), which valgrind reports as it can't tell.
void RunPublicOutcomes() {
  for (bool psk : {false, true}) {
    const HandshakeResult want = RealHandshake(HandshakeKeys(), psk);
    HandshakeKeys k;
    k.MarkSecret();
    Report(psk ? "NoiseHandshake IKpsk2 (real class, secret keys and psk)"
               : "NoiseHandshake IK (real class, secret keys)",
           Same(RealHandshake(k, psk), want));
  }
  Bytes key = Pattern(kChaChaKeySize, 25), plain = Pattern(100, 26);
  const Bytes nonce = Pattern(kChaChaNonceSize, 27);
  Bytes sealed(plain.size() + kAeadTagSize), opened(plain.size());
  AeadSeal(key.data(), nonce.data(), nullptr, 0, plain.data(), plain.size(), sealed.data());
  Secret(&key);
  bool ok = AeadOpen(key.data(), nonce.data(), nullptr, 0, sealed.data(), sealed.size(),
                     opened.data());
  Public(&ok, sizeof ok);
  Public(opened);
  Report("AeadOpen (secret key)", ok && opened == plain);
}

volatile int g_sink;

// A secret-dependent branch, which valgrind must report.
void SelfTestBranch() {
  Bytes b = Pattern(1, 28);
  Secret(&b);
  if (b[0] & 1) {
    g_sink = 1;
    std::printf("self-test: branched one way on a secret byte\n");
  } else {
    g_sink = 2;
    std::printf("self-test: branched the other way on a secret byte\n");
  }
}

// A secret-dependent table index, which valgrind must report.
void SelfTestIndex() {
  static const uint8_t kTable[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  Bytes b = Pattern(1, 29);
  Secret(&b);
  uint8_t v = kTable[b[0] & 15];
  Public(&v, sizeof v);
  g_sink = v;
  std::printf("self-test: indexed a table with a secret byte\n");
}

}  // namespace
}  // namespace treesync

int main(int argc, char** argv) {
  using namespace treesync;
  const std::string mode = argc > 1 ? argv[1] : "";
  if (argc > 2 || (!mode.empty() && mode != "--self-test" && mode != "--self-test-index" &&
                   mode != "--public-outcomes")) {
    std::fprintf(stderr, "usage: ct_check [--self-test | --self-test-index | --public-outcomes]\n");
    return 2;
  }
  if (!kHaveMemcheck) {
    std::printf("note: built without <valgrind/memcheck.h>: secrets are not marked, "
                "so nothing is checked\n");
  } else if (!RUNNING_ON_VALGRIND) {
    std::printf("note: not running under valgrind, so nothing is checked; run it as "
                "valgrind --error-exitcode=9 ct_check\n");
  }
  std::fflush(stdout);
  if (mode == "--self-test") {
    SelfTestBranch();
    return 0;
  }
  if (mode == "--self-test-index") {
    SelfTestIndex();
    return 0;
  }
  if (mode == "--public-outcomes") {
    RunPublicOutcomes();
  } else {
    CheckX25519();
    CheckChaCha();
    CheckPoly1305();
    CheckAeadSeal();
    CheckConstantTimeEqual();
    CheckBlake2s();
    CheckHmac();
    CheckHkdf();
    CheckNoise();
  }
  std::printf("ct_check: %d checked, %s\n", g_checked, g_failed ? "some FAILED" : "all ok");
  return g_failed ? 1 : 0;
}
