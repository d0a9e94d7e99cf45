#include "sparse.h"

#include <algorithm>
#include <cstring>

namespace treesync {

namespace {

// Whether the n bytes at p (at most a block) are all zeros.
bool Zeros(const char* p, size_t n) {
  static const char kZeros[kHoleBlock] = {};
  return std::memcmp(p, kZeros, n) == 0;
}

}  // namespace

Status SplitHoles(const char* data, size_t n, uint64_t at,
                  const std::function<Status(bool hole, size_t offset, size_t length)>& run,
                  bool edges) {
  // The first block boundary in the data, then block by block; the bytes
  // before it and after the last whole block are data, or with edges holes
  // when they are zeros.
  const size_t first =
      std::min(n, static_cast<size_t>((kHoleBlock - at % kHoleBlock) % kHoleBlock));
  size_t start = 0;  // of the run being gathered
  bool in_hole = edges && first > 0 && Zeros(data, first);
  size_t b = first;
  for (; b + kHoleBlock <= n; b += kHoleBlock) {
    const bool zero = Zeros(data + b, kHoleBlock);
    if (zero == in_hole) continue;
    if (b > start) TS_RETURN_IF_ERROR(run(in_hole, start, b - start));
    start = b;
    in_hole = zero;
  }
  // b is where the bytes after the last whole block start.
  const bool tail_hole = edges && b < n && Zeros(data + b, n - b);
  if (in_hole && (b == n || tail_hole)) return run(true, start, n - start);
  if (in_hole) {
    TS_RETURN_IF_ERROR(run(true, start, b - start));
    start = b;
  }
  if (tail_hole) {
    if (b > start) TS_RETURN_IF_ERROR(run(false, start, b - start));
    return run(true, b, n - b);
  }
  if (n > start) TS_RETURN_IF_ERROR(run(false, start, n - start));
  return Status::Ok();
}

}  // namespace treesync
