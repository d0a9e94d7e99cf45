// A block that a delta's short strong sums can't tell from another: the
// same rolling (weak) sum and the same low 16 bits of XXH3-128, other
// bytes. For tests of what a false match costs (delta_test, and the e2e
// case through tests/tools/sum_collision).
#ifndef TREESYNC_TESTS_SUM_COLLISION_H_
#define TREESYNC_TESTS_SUM_COLLISION_H_

#include <cstdint>
#include <random>
#include <string>

#include "xxh3.h"

namespace treesync {
namespace test {

// Bytes whose step of +1 or -1 changes no sum, signed or unsigned.
inline bool CanRaise(char c) { return c != '\x7f' && c != '\xff'; }
inline bool CanLower(char c) { return c != '\0' && c != '\x80'; }

// Returns a copy of block (at least 64 bytes) with two pairs of bytes
// stepped by +1, -1 at i and -1, +1 at j, which leaves both of rsync's
// rolling sums as they were (the second weighs bytes linearly), chosen so
// that the low 16 bits of XXH3-128 match too: about 65,536 tries.
inline std::string SumCollision(const std::string& block, uint32_t seed) {
  const uint16_t want = static_cast<uint16_t>(Xxh3_128(block.data(), block.size()).low);
  std::mt19937 rng(seed);
  std::string b = block;
  for (;;) {
    b = block;
    const size_t i = rng() % (b.size() / 2 - 1);
    const size_t j = b.size() / 2 + rng() % (b.size() / 2 - 1);
    if (!CanRaise(b[i]) || !CanLower(b[i + 1]) || !CanLower(b[j]) || !CanRaise(b[j + 1])) {
      continue;
    }
    ++b[i];
    --b[i + 1];
    --b[j];
    ++b[j + 1];
    if (static_cast<uint16_t>(Xxh3_128(b.data(), b.size()).low) == want) return b;
  }
}

}  // namespace test
}  // namespace treesync

#endif  // TREESYNC_TESTS_SUM_COLLISION_H_
