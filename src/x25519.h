// X25519: Diffie-Hellman over Curve25519 (RFC 7748), the key agreement the
// encrypted transport's handshake uses. Constant time in the scalar and the
// point: no branch and no memory index depends on either.
#ifndef TREESYNC_X25519_H_
#define TREESYNC_X25519_H_

#include <cstddef>
#include <cstdint>

namespace treesync {

// The size of a private key, a public key, a u-coordinate and a shared
// secret alike.
constexpr size_t kX25519KeySize = 32;

// out = X25519(scalar, u) per RFC 7748 section 5: scalar is clamped here
// (its caller need not), u's top bit is ignored and a u at or above
// 2^255 - 19 is taken mod 2^255 - 19. out is always written, canonical.
// Returns false if out is all zeros, which happens exactly when u (mod p)
// is a point of small order on the curve or its twist; a handshake must
// then abort (Noise, WireGuard), as that "shared" secret is known to anyone.
// out may alias scalar or u.
bool X25519(uint8_t out[kX25519KeySize], const uint8_t scalar[kX25519KeySize],
            const uint8_t u[kX25519KeySize]);

// out = X25519(private_key, 9): the public key that goes with private_key,
// which should be 32 bytes from a cryptographic random source.
// out may alias private_key.
void X25519PublicKey(uint8_t out[kX25519KeySize], const uint8_t private_key[kX25519KeySize]);

}  // namespace treesync

#endif  // TREESYNC_X25519_H_
