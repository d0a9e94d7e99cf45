// Shared by the libFuzzer targets in this folder (built by `make fuzz`, never
// by the normal build): an invariant check that aborts so libFuzzer keeps the
// input, and seeding of a fresh corpus folder from valid encoder output.
#ifndef TREESYNC_TESTS_FUZZ_FUZZ_UTIL_H_
#define TREESYNC_TESTS_FUZZ_FUZZ_UTIL_H_

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

// An invariant of the code under test; a failure is a bug, so the fuzzer
// must stop and save the input.
#define FUZZ_CHECK(cond)                                                        \
  do {                                                                          \
    if (!(cond)) {                                                              \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
                   #cond);                                                      \
      std::abort();                                                             \
    }                                                                           \
  } while (0)

namespace treesync {
namespace fuzz {

// The first corpus folder on a libFuzzer command line (its first argument
// not starting with '-'). When that folder does not exist yet it is created
// and filled with seeds, so a run from scratch starts from valid messages
// instead of having to discover the formats byte by byte.
inline void SeedCorpus(int* argc, char*** argv, const std::vector<std::string>& seeds) {
  const char* dir = nullptr;
  for (int i = 1; i < *argc; ++i) {
    if ((*argv)[i][0] != '-') {
      dir = (*argv)[i];
      break;
    }
  }
  struct stat st;
  if (dir == nullptr || stat(dir, &st) == 0) return;
  if (mkdir(dir, 0777) != 0) return;
  for (size_t i = 0; i < seeds.size(); ++i) {
    std::string name = std::string(dir) + "/seed-" + std::to_string(i);
    if (FILE* f = std::fopen(name.c_str(), "wb")) {
      std::fwrite(seeds[i].data(), 1, seeds[i].size(), f);
      std::fclose(f);
    }
  }
}

}  // namespace fuzz
}  // namespace treesync

#endif  // TREESYNC_TESTS_FUZZ_FUZZ_UTIL_H_
