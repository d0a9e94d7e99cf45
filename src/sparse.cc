#include "sparse.h"

#include <cstring>

namespace treesync {

namespace {

bool ZeroBlock(const char* p) {
  static const char kZeros[kHoleBlock] = {};
  return std::memcmp(p, kZeros, kHoleBlock) == 0;
}

}  // namespace

Status SplitHoles(const char* data, size_t n, uint64_t at,
                  const std::function<Status(bool hole, size_t offset, size_t length)>& run) {
  // The first block boundary in the data, then block by block; the bytes
  // before it and after the last whole block are data.
  const size_t first = static_cast<size_t>((kHoleBlock - at % kHoleBlock) % kHoleBlock);
  size_t start = 0;  // of the run being gathered
  bool in_hole = false;
  for (size_t b = first; b + kHoleBlock <= n; b += kHoleBlock) {
    const bool zero = ZeroBlock(data + b);
    if (zero == in_hole) continue;
    if (b > start) TS_RETURN_IF_ERROR(run(in_hole, start, b - start));
    start = b;
    in_hole = zero;
  }
  if (in_hole) {
    const size_t end = first + (n - first) / kHoleBlock * kHoleBlock;
    TS_RETURN_IF_ERROR(run(true, start, end - start));
    start = end;
  }
  if (n > start) TS_RETURN_IF_ERROR(run(false, start, n - start));
  return Status::Ok();
}

}  // namespace treesync
