#include "x25519.h"

#include <cstring>

#include "secure_wipe.h"

namespace treesync {
namespace {

constexpr int kLimbs = 10;

// An element of GF(p), p = 2^255 - 19, as ten signed limbs in radix 2^25.5
// (the layout of ref10): limb i has weight 2^ceil(25.5 i), so even limbs
// span 26 bits and odd limbs 25. Products of two limbs fit an int64_t with
// room for a sum of ten, which is what lets the code stay portable: no
// 128-bit type, no compiler intrinsics.
//
// Bounds. A "tight" element has |even limb| <= 1.01 * 2^25 and
// |odd limb| <= 1.01 * 2^24; Mul, Square, MulA24 and FromBytes return tight
// elements. The sum or difference of two tight elements is "loose"
// (limbs up to 2.02 * 2^25 / 2.02 * 2^24); Mul, Square and MulA24 accept
// loose inputs (ref10 shows they are safe up to 1.65 * 2^26 / 1.65 * 2^25).
// Add and Sub never carry, so nothing may add three elements or feed a sum
// into another sum; the ladder below never does.
struct FieldElement {
  int32_t limb[kLimbs];
};

constexpr int LimbBits(int i) { return (i & 1) ? 25 : 26; }

// floor(x / 2^bits) for |x| < 2^62. Right-shifting a negative number is
// implementation-defined in C++17, so the shift is applied to x moved up
// by a multiple of 2^bits that makes it non-negative.
inline int64_t FloorShift(int64_t x, int bits) {
  constexpr int64_t kBias = int64_t{1} << 62;
  return ((x + kBias) >> bits) - (kBias >> bits);
}

// Moves limb i's excess above its width (rounded, so the limb ends centred
// on zero) into limb i + 1, or into limb 0 times 19 from limb 9, because
// 2^255 = 19 mod p.
inline void CarryLimb(int64_t t[kLimbs], int i) {
  const int bits = LimbBits(i);
  const int64_t carry = FloorShift(t[i] + (int64_t{1} << (bits - 1)), bits);
  t[i] -= carry * (int64_t{1} << bits);
  if (i == kLimbs - 1) {
    t[0] += 19 * carry;
  } else {
    t[i + 1] += carry;
  }
}

// Carries limbs of magnitude below 2^61 into a tight element. Two chains
// (from limb 0 and from limb 4) run interleaved to halve the dependency
// length; the order and the bounds it gives are ref10's.
inline void Reduce(FieldElement* h, int64_t t[kLimbs]) {
  CarryLimb(t, 0);
  CarryLimb(t, 4);
  CarryLimb(t, 1);
  CarryLimb(t, 5);
  CarryLimb(t, 2);
  CarryLimb(t, 6);
  CarryLimb(t, 3);
  CarryLimb(t, 7);
  CarryLimb(t, 4);
  CarryLimb(t, 8);
  CarryLimb(t, 9);
  CarryLimb(t, 0);
  for (int i = 0; i < kLimbs; ++i) h->limb[i] = static_cast<int32_t>(t[i]);
}

void SetSmall(FieldElement* h, int32_t value) {
  std::memset(h, 0, sizeof *h);
  h->limb[0] = value;
}

void Add(FieldElement* h, const FieldElement& f, const FieldElement& g) {
  for (int i = 0; i < kLimbs; ++i) h->limb[i] = f.limb[i] + g.limb[i];
}

void Sub(FieldElement* h, const FieldElement& f, const FieldElement& g) {
  for (int i = 0; i < kLimbs; ++i) h->limb[i] = f.limb[i] - g.limb[i];
}

// h may alias f or g: the product is built in locals first.
//
// Schoolbook: f_i * g_j lands in limb i + j. Two odd limbs' weights add up
// to one bit more than limb i + j's weight, hence the doubled odd f limbs
// (f1_2 ...) in the even sums; weight 2^255 and above wraps to limb
// i + j - 10 times 19, hence g1_19 ... Written out rather than looped so
// every compiler keeps the sums in registers: the loop ran about 5x slower
// under g++ -O2.
void Mul(FieldElement* h, const FieldElement& f, const FieldElement& g) {
  const int64_t f0 = f.limb[0], f1 = f.limb[1], f2 = f.limb[2], f3 = f.limb[3], f4 = f.limb[4];
  const int64_t f5 = f.limb[5], f6 = f.limb[6], f7 = f.limb[7], f8 = f.limb[8], f9 = f.limb[9];
  const int64_t g0 = g.limb[0], g1 = g.limb[1], g2 = g.limb[2], g3 = g.limb[3], g4 = g.limb[4];
  const int64_t g5 = g.limb[5], g6 = g.limb[6], g7 = g.limb[7], g8 = g.limb[8], g9 = g.limb[9];
  const int64_t f1_2 = 2 * f1, f3_2 = 2 * f3, f5_2 = 2 * f5, f7_2 = 2 * f7, f9_2 = 2 * f9;
  const int64_t g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;
  const int64_t g5_19 = 19 * g5, g6_19 = 19 * g6, g7_19 = 19 * g7, g8_19 = 19 * g8;
  const int64_t g9_19 = 19 * g9;
  int64_t t[kLimbs];
  t[0] = f0 * g0 + f1_2 * g9_19 + f2 * g8_19 + f3_2 * g7_19 + f4 * g6_19 + f5_2 * g5_19 +
         f6 * g4_19 + f7_2 * g3_19 + f8 * g2_19 + f9_2 * g1_19;
  t[1] = f0 * g1 + f1 * g0 + f2 * g9_19 + f3 * g8_19 + f4 * g7_19 + f5 * g6_19 + f6 * g5_19 +
         f7 * g4_19 + f8 * g3_19 + f9 * g2_19;
  t[2] = f0 * g2 + f1_2 * g1 + f2 * g0 + f3_2 * g9_19 + f4 * g8_19 + f5_2 * g7_19 + f6 * g6_19 +
         f7_2 * g5_19 + f8 * g4_19 + f9_2 * g3_19;
  t[3] = f0 * g3 + f1 * g2 + f2 * g1 + f3 * g0 + f4 * g9_19 + f5 * g8_19 + f6 * g7_19 +
         f7 * g6_19 + f8 * g5_19 + f9 * g4_19;
  t[4] = f0 * g4 + f1_2 * g3 + f2 * g2 + f3_2 * g1 + f4 * g0 + f5_2 * g9_19 + f6 * g8_19 +
         f7_2 * g7_19 + f8 * g6_19 + f9_2 * g5_19;
  t[5] = f0 * g5 + f1 * g4 + f2 * g3 + f3 * g2 + f4 * g1 + f5 * g0 + f6 * g9_19 + f7 * g8_19 +
         f8 * g7_19 + f9 * g6_19;
  t[6] = f0 * g6 + f1_2 * g5 + f2 * g4 + f3_2 * g3 + f4 * g2 + f5_2 * g1 + f6 * g0 +
         f7_2 * g9_19 + f8 * g8_19 + f9_2 * g7_19;
  t[7] = f0 * g7 + f1 * g6 + f2 * g5 + f3 * g4 + f4 * g3 + f5 * g2 + f6 * g1 + f7 * g0 +
         f8 * g9_19 + f9 * g8_19;
  t[8] = f0 * g8 + f1_2 * g7 + f2 * g6 + f3_2 * g5 + f4 * g4 + f5_2 * g3 + f6 * g2 + f7_2 * g1 +
         f8 * g0 + f9_2 * g9_19;
  t[9] = f0 * g9 + f1 * g8 + f2 * g7 + f3 * g6 + f4 * g5 + f5 * g4 + f6 * g3 + f7 * g2 +
         f8 * g1 + f9 * g0;
  Reduce(h, t);
}

// Mul(h, f, f) with each cross product f_i * f_j (i < j) computed once and
// doubled (the f0_2 ... factors): 55 multiplications instead of 100. The
// wrapped terms carry 19 or, with the odd-limb doubling, 38.
void Square(FieldElement* h, const FieldElement& f) {
  const int64_t f0 = f.limb[0], f1 = f.limb[1], f2 = f.limb[2], f3 = f.limb[3], f4 = f.limb[4];
  const int64_t f5 = f.limb[5], f6 = f.limb[6], f7 = f.limb[7], f8 = f.limb[8], f9 = f.limb[9];
  const int64_t f0_2 = 2 * f0, f1_2 = 2 * f1, f2_2 = 2 * f2, f3_2 = 2 * f3;
  const int64_t f4_2 = 2 * f4, f5_2 = 2 * f5, f6_2 = 2 * f6, f7_2 = 2 * f7;
  const int64_t f5_38 = 38 * f5, f6_19 = 19 * f6, f7_38 = 38 * f7, f8_19 = 19 * f8;
  const int64_t f9_38 = 38 * f9;
  int64_t t[kLimbs];
  t[0] = f0 * f0 + f1_2 * f9_38 + f2_2 * f8_19 + f3_2 * f7_38 + f4_2 * f6_19 + f5 * f5_38;
  t[1] = f0_2 * f1 + f2 * f9_38 + f3_2 * f8_19 + f4 * f7_38 + f5_2 * f6_19;
  t[2] = f0_2 * f2 + f1_2 * f1 + f3_2 * f9_38 + f4_2 * f8_19 + f5_2 * f7_38 + f6 * f6_19;
  t[3] = f0_2 * f3 + f1_2 * f2 + f4 * f9_38 + f5_2 * f8_19 + f6 * f7_38;
  t[4] = f0_2 * f4 + f1_2 * f3_2 + f2 * f2 + f5_2 * f9_38 + f6_2 * f8_19 + f7 * f7_38;
  t[5] = f0_2 * f5 + f1_2 * f4 + f2_2 * f3 + f6 * f9_38 + f7_2 * f8_19;
  t[6] = f0_2 * f6 + f1_2 * f5_2 + f2_2 * f4 + f3_2 * f3 + f7_2 * f9_38 + f8 * f8_19;
  t[7] = f0_2 * f7 + f1_2 * f6 + f2_2 * f5 + f3_2 * f4 + f8 * f9_38;
  t[8] = f0_2 * f8 + f1_2 * f7_2 + f2_2 * f6 + f3_2 * f5_2 + f4 * f4 + f9 * f9_38;
  t[9] = f0_2 * f9 + f1_2 * f8 + f2_2 * f7 + f3_2 * f6 + f4_2 * f5;
  Reduce(h, t);
}

// h = f^(2^n), n >= 1.
void SquareTimes(FieldElement* h, const FieldElement& f, int n) {
  Square(h, f);
  for (int i = 1; i < n; ++i) Square(h, *h);
}

// h = f * a24, a24 = (486662 - 2) / 4, the curve constant the ladder's
// doubling formula uses (RFC 7748 section 5).
void MulA24(FieldElement* h, const FieldElement& f) {
  constexpr int64_t kA24 = 121665;
  int64_t t[kLimbs];
  for (int i = 0; i < kLimbs; ++i) t[i] = f.limb[i] * kA24;
  Reduce(h, t);
}

// h = z^(p - 2) = 1 / z (0 for z = 0), by ref10's fixed chain of 254
// squarings and 11 multiplications, so the time is the same for every z.
void Invert(FieldElement* h, const FieldElement& z) {
  struct {
    FieldElement z2, z9, z11, z2_5_0, z2_10_0, z2_20_0, z2_50_0, z2_100_0, t;
  } s;
  Square(&s.z2, z);                         // 2
  SquareTimes(&s.t, s.z2, 2);               // 8
  Mul(&s.z9, s.t, z);                       // 9
  Mul(&s.z11, s.z9, s.z2);                  // 11
  Square(&s.t, s.z11);                      // 22
  Mul(&s.z2_5_0, s.t, s.z9);                // 2^5 - 1
  SquareTimes(&s.t, s.z2_5_0, 5);           // 2^10 - 2^5
  Mul(&s.z2_10_0, s.t, s.z2_5_0);           // 2^10 - 1
  SquareTimes(&s.t, s.z2_10_0, 10);         // 2^20 - 2^10
  Mul(&s.z2_20_0, s.t, s.z2_10_0);          // 2^20 - 1
  SquareTimes(&s.t, s.z2_20_0, 20);         // 2^40 - 2^20
  Mul(&s.t, s.t, s.z2_20_0);                // 2^40 - 1
  SquareTimes(&s.t, s.t, 10);               // 2^50 - 2^10
  Mul(&s.z2_50_0, s.t, s.z2_10_0);          // 2^50 - 1
  SquareTimes(&s.t, s.z2_50_0, 50);         // 2^100 - 2^50
  Mul(&s.z2_100_0, s.t, s.z2_50_0);         // 2^100 - 1
  SquareTimes(&s.t, s.z2_100_0, 100);       // 2^200 - 2^100
  Mul(&s.t, s.t, s.z2_100_0);               // 2^200 - 1
  SquareTimes(&s.t, s.t, 50);               // 2^250 - 2^50
  Mul(&s.t, s.t, s.z2_50_0);                // 2^250 - 1
  SquareTimes(&s.t, s.t, 5);                // 2^255 - 2^5
  Mul(h, s.t, s.z11);                       // 2^255 - 21 = p - 2
  SecureWipe(&s, sizeof s);
}

// Swaps f and g if swap is 1, leaves them if it is 0, in the same time
// either way: the choice is a mask, not a branch.
void ConditionalSwap(FieldElement* f, FieldElement* g, int32_t swap) {
  const int32_t mask = -swap;
  for (int i = 0; i < kLimbs; ++i) {
    const int32_t x = (f->limb[i] ^ g->limb[i]) & mask;
    f->limb[i] ^= x;
    g->limb[i] ^= x;
  }
}

// Bits 0..254 of the little-endian bytes; bit 255 is dropped, as RFC 7748
// requires for u-coordinates. The value may be up to 2^255 - 1, i.e. not
// reduced; the arithmetic works mod p regardless.
void FromBytes(FieldElement* h, const uint8_t in[kX25519KeySize]) {
  int64_t t[kLimbs];
  uint64_t bits = 0;
  int bit_count = 0;
  size_t next = 0;
  for (int i = 0; i < kLimbs; ++i) {
    const int width = LimbBits(i);
    while (bit_count < width) {
      bits |= uint64_t{in[next++]} << bit_count;
      bit_count += 8;
    }
    t[i] = static_cast<int64_t>(bits & ((uint64_t{1} << width) - 1));
    bits >>= width;
    bit_count -= width;
  }
  Reduce(h, t);  // centres the limbs so the element is tight
  SecureWipe(t, sizeof t);
}

// The canonical encoding: the value reduced into [0, p), little-endian.
// REQUIRES: f is tight.
void ToBytes(uint8_t out[kX25519KeySize], const FieldElement& f) {
  int64_t t[kLimbs];
  for (int i = 0; i < kLimbs; ++i) t[i] = f.limb[i];
  // q = floor(f / p), which is -1, 0 or 1 for a tight f. ref10's argument:
  // it equals floor((f + 19 * 2^-25 * t9 + 1/2) / 2^255), which a carry
  // pass that keeps only the carries computes.
  int64_t q = FloorShift(19 * t[9] + (int64_t{1} << 24), 25);
  for (int i = 0; i < kLimbs; ++i) q = FloorShift(t[i] + q, LimbBits(i));
  // f - q * p = f + 19 q - q * 2^255; the carry out of limb 9 below is
  // exactly the q * 2^255 to drop.
  t[0] += 19 * q;
  for (int i = 0; i < kLimbs; ++i) {
    const int bits = LimbBits(i);
    const int64_t carry = FloorShift(t[i], bits);
    t[i] -= carry * (int64_t{1} << bits);
    if (i + 1 < kLimbs) t[i + 1] += carry;
  }
  // Every limb is now in [0, 2^width): pack the 255 bits.
  uint64_t bits = 0;
  int bit_count = 0;
  size_t next = 0;
  for (int i = 0; i < kLimbs; ++i) {
    bits |= static_cast<uint64_t>(t[i]) << bit_count;
    bit_count += LimbBits(i);
    while (bit_count >= 8) {
      out[next++] = static_cast<uint8_t>(bits);
      bits >>= 8;
      bit_count -= 8;
    }
  }
  out[next] = static_cast<uint8_t>(bits);  // the last 7 bits; bit 255 is 0
  SecureWipe(t, sizeof t);
  SecureWipe(&bits, sizeof bits);
}

// Everything secret the ladder touches, in one place to wipe at the end.
struct LadderState {
  uint8_t scalar[kX25519KeySize];
  FieldElement x1, x2, z2, x3, z3;
  FieldElement a, aa, b, bb, e, c, d, da, cb, t;
  int32_t swap;
};

// One rung of the Montgomery ladder (RFC 7748 section 5): (x2:z2) is
// doubled and (x3:z3) becomes the sum of the two, their difference being
// x1. The order of operations keeps every Add/Sub on tight inputs.
void LadderStep(LadderState* s) {
  Add(&s->a, s->x2, s->z2);
  Square(&s->aa, s->a);
  Sub(&s->b, s->x2, s->z2);
  Square(&s->bb, s->b);
  Sub(&s->e, s->aa, s->bb);
  Add(&s->c, s->x3, s->z3);
  Sub(&s->d, s->x3, s->z3);
  Mul(&s->da, s->d, s->a);
  Mul(&s->cb, s->c, s->b);
  Add(&s->t, s->da, s->cb);
  Square(&s->x3, s->t);
  Sub(&s->t, s->da, s->cb);
  Square(&s->t, s->t);
  Mul(&s->z3, s->x1, s->t);
  Mul(&s->x2, s->aa, s->bb);
  MulA24(&s->t, s->e);
  Add(&s->t, s->aa, s->t);
  Mul(&s->z2, s->e, s->t);
}

}  // namespace

bool X25519(uint8_t out[kX25519KeySize], const uint8_t scalar[kX25519KeySize],
            const uint8_t u[kX25519KeySize]) {
  LadderState s;
  // Copied (and u decoded) before out is written, so out may alias either.
  std::memcpy(s.scalar, scalar, kX25519KeySize);
  s.scalar[0] &= 248;
  s.scalar[31] &= 127;
  s.scalar[31] |= 64;
  FromBytes(&s.x1, u);
  SetSmall(&s.x2, 1);
  SetSmall(&s.z2, 0);
  s.x3 = s.x1;
  SetSmall(&s.z3, 1);

  // Bit 255 is clamped to 0, so the ladder starts at bit 254. The swap is
  // deferred: each rung swaps only when this bit differs from the last.
  s.swap = 0;
  for (int i = 254; i >= 0; --i) {
    const int32_t bit = (s.scalar[i >> 3] >> (i & 7)) & 1;
    s.swap ^= bit;
    ConditionalSwap(&s.x2, &s.x3, s.swap);
    ConditionalSwap(&s.z2, &s.z3, s.swap);
    s.swap = bit;
    LadderStep(&s);
  }
  ConditionalSwap(&s.x2, &s.x3, s.swap);
  ConditionalSwap(&s.z2, &s.z3, s.swap);

  Invert(&s.t, s.z2);
  Mul(&s.x2, s.x2, s.t);
  ToBytes(out, s.x2);
  SecureWipe(&s, sizeof s);

  // OR of every byte rather than a compare that could stop at the first
  // nonzero byte: how long this takes must not hint at the secret.
  uint8_t any_bit = 0;
  for (size_t i = 0; i < kX25519KeySize; ++i) any_bit |= out[i];
  return any_bit != 0;
}

void X25519PublicKey(uint8_t out[kX25519KeySize], const uint8_t private_key[kX25519KeySize]) {
  static const uint8_t kBasePoint[kX25519KeySize] = {9};
  // The base point has prime order and a clamped scalar is never a
  // multiple of it, so the result is never zero.
  X25519(out, private_key, kBasePoint);
}

}  // namespace treesync
