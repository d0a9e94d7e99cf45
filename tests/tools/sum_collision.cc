// sum_collision OLD NEW: writes OLD, 128 KiB of random bytes (the least a
// delta starts from: 64 blocks of 2,048 bytes, signed with 2-byte strong
// sums), and NEW, OLD with its 11th block changed so that its rolling sum
// and the low 16 bits of its strong sum stay: a delta with short sums
// takes NEW for OLD (tests/e2e/delta.sh).
#include <cstdio>
#include <random>
#include <string>

#include "../sum_collision.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: sum_collision OLD NEW\n");
    return 2;
  }
  std::mt19937 rng(20261202);
  constexpr size_t kBlock = 2048;
  std::string old(64 * kBlock, '\0');
  for (char& c : old) c = static_cast<char>(rng());
  std::string next = old;
  next.replace(10 * kBlock, kBlock, treesync::test::SumCollision(old.substr(10 * kBlock, kBlock), 7));
  for (int k = 0; k < 2; ++k) {
    FILE* f = std::fopen(argv[1 + k], "wb");
    const std::string& data = k == 0 ? old : next;
    if (f == nullptr || std::fwrite(data.data(), 1, data.size(), f) != data.size() ||
        std::fclose(f) != 0) {
      std::fprintf(stderr, "sum_collision: can't write %s\n", argv[1 + k]);
      return 1;
    }
  }
  return 0;
}
