// Holes in file data: runs of zero blocks that a sparse file stores as
// nothing, sent as Hole frames and left unwritten by the receiver.
#ifndef TREESYNC_SPARSE_H_
#define TREESYNC_SPARSE_H_

#include <cstddef>
#include <cstdint>
#include <functional>

#include "status.h"

namespace treesync {

// Zeros shorter than a block are data: file systems allocate whole blocks.
constexpr size_t kHoleBlock = 4096;

// Splits n bytes that sit at file offset `at` into runs, in order: each
// maximal run of whole zero blocks (aligned to kHoleBlock in the file) is a
// hole, everything between is data. Calls run(hole, offset in data,
// length) for each, stopping at the first error. edges: zeros before the
// first block boundary in the data or after the last are holes too (for a
// writer that skips them rather than writes them: the block they share with
// the pieces beside them is then written only if those have data in it).
Status SplitHoles(const char* data, size_t n, uint64_t at,
                  const std::function<Status(bool hole, size_t offset, size_t length)>& run,
                  bool edges = false);

}  // namespace treesync

#endif  // TREESYNC_SPARSE_H_
