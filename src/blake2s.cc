// BLAKE2s written from RFC 7693 (sections 2 and 3, Appendix B's test);
// HMAC from RFC 2104; HKDF from the Noise spec, revision 34, section 4.3.
#include "blake2s.h"

#include <cstring>

#include "little_endian.h"
#include "secure_wipe.h"

namespace treesync {

namespace {

// RFC 7693 2.6: the same constants as SHA-256's initial state.
constexpr uint32_t kIv[8] = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                             0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};

// RFC 7693 2.7. BLAKE2s runs 10 rounds, so each row is used once. The
// indices depend only on the round, never on the data.
constexpr uint8_t kSigma[10][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
};

// HMAC's pads (RFC 2104 section 2).
constexpr uint8_t kInnerPad = 0x36;
constexpr uint8_t kOuterPad = 0x5C;

inline uint32_t Rotr(uint32_t v, int n) { return (v >> n) | (v << (32 - n)); }

// RFC 7693 3.1 with BLAKE2s's rotations (16, 12, 8, 7).
inline void G(uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d, uint32_t x, uint32_t y) {
  a = a + b + x;
  d = Rotr(d ^ a, 16);
  c = c + d;
  b = Rotr(b ^ c, 12);
  a = a + b + y;
  d = Rotr(d ^ a, 8);
  c = c + d;
  b = Rotr(b ^ c, 7);
}

// RFC 7693 3.2's F: mixes the message words m of one block into h.
// counter counts the bytes hashed including this block; final_mask is all
// ones for the last block and zero otherwise, so the flag costs no branch.
inline void Mix(uint32_t h[8], const uint32_t m[16], uint64_t counter, uint32_t final_mask) {
  // The working vector as locals rather than an array, so that with the
  // rounds unrolled the compiler keeps it in registers.
  uint32_t v0 = h[0], v1 = h[1], v2 = h[2], v3 = h[3];
  uint32_t v4 = h[4], v5 = h[5], v6 = h[6], v7 = h[7];
  uint32_t v8 = kIv[0], v9 = kIv[1], v10 = kIv[2], v11 = kIv[3];
  uint32_t v12 = kIv[4] ^ uint32_t(counter), v13 = kIv[5] ^ uint32_t(counter >> 32);
  uint32_t v14 = kIv[6] ^ final_mask, v15 = kIv[7];
  for (const auto& s : kSigma) {
    G(v0, v4, v8, v12, m[s[0]], m[s[1]]);
    G(v1, v5, v9, v13, m[s[2]], m[s[3]]);
    G(v2, v6, v10, v14, m[s[4]], m[s[5]]);
    G(v3, v7, v11, v15, m[s[6]], m[s[7]]);
    G(v0, v5, v10, v15, m[s[8]], m[s[9]]);
    G(v1, v6, v11, v12, m[s[10]], m[s[11]]);
    G(v2, v7, v8, v13, m[s[12]], m[s[13]]);
    G(v3, v4, v9, v14, m[s[14]], m[s[15]]);
  }
  h[0] ^= v0 ^ v8;
  h[1] ^= v1 ^ v9;
  h[2] ^= v2 ^ v10;
  h[3] ^= v3 ^ v11;
  h[4] ^= v4 ^ v12;
  h[5] ^= v5 ^ v13;
  h[6] ^= v6 ^ v14;
  h[7] ^= v7 ^ v15;
}

inline void LoadWords(uint32_t m[16], const uint8_t* block) {
  for (int i = 0; i < 16; ++i) m[i] = LoadLE32(block + 4 * i);
}

// Compresses count whole blocks, none of them the last, advancing counter.
void CompressBlocks(uint32_t h[8], uint64_t* counter, const uint8_t* blocks, size_t count) {
  uint32_t m[16];
  for (; count > 0; --count, blocks += kBlake2sBlockSize) {
    *counter += kBlake2sBlockSize;
    LoadWords(m, blocks);
    Mix(h, m, *counter, 0);
  }
  // The words are a copy of input that may be secret (a key block, an
  // HMAC pad). Wiped once per run of blocks, not per block, which would
  // cost about a tenth of the speed.
  SecureWipe(m, sizeof(m));
}

// Compresses the last block; counter already counts all the input.
void CompressLast(uint32_t h[8], uint64_t counter, const uint8_t block[kBlake2sBlockSize]) {
  uint32_t m[16];
  LoadWords(m, block);
  Mix(h, m, counter, ~uint32_t{0});
  SecureWipe(m, sizeof(m));
}

}  // namespace

Blake2s::Blake2s(size_t out_len, const void* key, size_t key_len)
    : counter_(0), buffered_(0), out_len_(out_len) {
  // Out-of-contract lengths are clamped so that a broken caller gets a
  // wrong digest rather than a buffer overrun.
  if (out_len_ < 1) out_len_ = 1;
  if (out_len_ > kBlake2sOutSize) out_len_ = kBlake2sOutSize;
  if (key_len > kBlake2sMaxKey) key_len = kBlake2sMaxKey;
  for (int i = 0; i < 8; ++i) h_[i] = kIv[i];
  // RFC 7693 2.5's parameter block for sequential hashing: depth 1,
  // fanout 1, the key length and the digest length; the rest is zero.
  h_[0] ^= 0x01010000u ^ (uint32_t(key_len) << 8) ^ uint32_t(out_len_);
  std::memset(buffer_, 0, sizeof(buffer_));
  if (key_len > 0) {
    // The key, zero-padded, is the first block (RFC 7693 3.3). It stays
    // buffered: with an empty message it is the last block.
    std::memcpy(buffer_, key, key_len);
    buffered_ = kBlake2sBlockSize;
  }
}

Blake2s::~Blake2s() {
  SecureWipe(h_, sizeof(h_));
  SecureWipe(buffer_, sizeof(buffer_));
  SecureWipe(&counter_, sizeof(counter_));
  SecureWipe(&buffered_, sizeof(buffered_));
}

void Blake2s::Update(const void* data, size_t n) {
  if (n == 0) return;
  const auto* p = static_cast<const uint8_t*>(data);
  const size_t room = kBlake2sBlockSize - buffered_;
  if (n > room) {
    // More input follows the buffered block, so it is not the last one.
    std::memcpy(buffer_ + buffered_, p, room);
    p += room;
    n -= room;
    CompressBlocks(h_, &counter_, buffer_, 1);
    buffered_ = 0;
    // (n - 1) / 64, not n / 64: the input's last block, even when whole, is
    // left for the buffer and Final.
    const size_t whole = (n - 1) / kBlake2sBlockSize;
    CompressBlocks(h_, &counter_, p, whole);
    p += whole * kBlake2sBlockSize;
    n -= whole * kBlake2sBlockSize;
  }
  std::memcpy(buffer_ + buffered_, p, n);
  buffered_ += n;
}

void Blake2s::Final(uint8_t* out) {
  counter_ += buffered_;
  std::memset(buffer_ + buffered_, 0, kBlake2sBlockSize - buffered_);
  CompressLast(h_, counter_, buffer_);
  uint8_t digest[kBlake2sOutSize];
  for (int i = 0; i < 8; ++i) StoreLE32(digest + 4 * i, h_[i]);
  std::memcpy(out, digest, out_len_);
  SecureWipe(digest, sizeof(digest));
}

void Blake2sHash(uint8_t out[kBlake2sOutSize], const void* data, size_t n) {
  Blake2s hash;
  hash.Update(data, n);
  hash.Final(out);
}

void HmacBlake2s(uint8_t out[kBlake2sOutSize], const void* key, size_t key_len, const void* data,
                 size_t n) {
  uint8_t pad[kBlake2sBlockSize] = {};
  if (key_len > kBlake2sBlockSize) {
    Blake2sHash(pad, key, key_len);
  } else if (key_len > 0) {
    std::memcpy(pad, key, key_len);
  }
  for (uint8_t& b : pad) b ^= kInnerPad;
  // out is written only by the last Final, after key and data have been
  // read, so it may overlap them.
  Blake2s inner;
  inner.Update(pad, sizeof(pad));
  inner.Update(data, n);
  uint8_t inner_digest[kBlake2sOutSize];
  inner.Final(inner_digest);
  for (uint8_t& b : pad) b ^= kInnerPad ^ kOuterPad;
  Blake2s outer;
  outer.Update(pad, sizeof(pad));
  outer.Update(inner_digest, sizeof(inner_digest));
  outer.Final(out);
  SecureWipe(pad, sizeof(pad));
  SecureWipe(inner_digest, sizeof(inner_digest));
}

void NoiseHkdf(const uint8_t chaining_key[kBlake2sOutSize], const void* ikm, size_t ikm_len,
               size_t num_outputs, uint8_t* out1, uint8_t* out2, uint8_t* out3) {
  uint8_t temp_key[kBlake2sOutSize];
  HmacBlake2s(temp_key, chaining_key, kBlake2sOutSize, ikm, ikm_len);
  // outputs[i] || (i + 2) is the input of output i + 2. The outputs are
  // built here and copied out last, so they may overlap chaining_key or ikm.
  uint8_t outputs[3][kBlake2sOutSize + 1];
  const uint8_t one = 0x01;
  HmacBlake2s(outputs[0], temp_key, sizeof(temp_key), &one, 1);
  outputs[0][kBlake2sOutSize] = 0x02;
  HmacBlake2s(outputs[1], temp_key, sizeof(temp_key), outputs[0], kBlake2sOutSize + 1);
  const bool three = num_outputs == 3;
  if (three) {
    outputs[1][kBlake2sOutSize] = 0x03;
    HmacBlake2s(outputs[2], temp_key, sizeof(temp_key), outputs[1], kBlake2sOutSize + 1);
  }
  std::memcpy(out1, outputs[0], kBlake2sOutSize);
  std::memcpy(out2, outputs[1], kBlake2sOutSize);
  if (three) std::memcpy(out3, outputs[2], kBlake2sOutSize);
  SecureWipe(temp_key, sizeof(temp_key));
  SecureWipe(outputs, sizeof(outputs));
}

}  // namespace treesync
