// Delta transfer, rsync's way: the client describes the version it has (its
// basis) as block signatures; the server finds those blocks at any offset in
// the new version and sends Copy instructions for them and literal bytes for
// the rest. Memory is bounded by the signature, never by the file.
#ifndef TREESYNC_DELTA_H_
#define TREESYNC_DELTA_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace treesync {

// A basis is cut into at most this many blocks, so a signature (12 bytes a
// block) always fits in one frame.
constexpr uint32_t kMaxBlocks = 65536;
constexpr uint32_t kMinBlock = 2048;
constexpr uint32_t kMaxBlockSize = 1 << 20;
// Literal bytes go out in pieces of at most this size.
constexpr size_t kMaxLiteral = 256 * 1024;
// A run of matching blocks goes out as soon as it covers this many bytes,
// so the receiver rebuilds while the encoder is still reading: one Copy per
// unchanged file would leave the receiver idle until the end. 32 MiB is
// about 15 ms of copying for the receiver and 3 of hashing for the
// encoder, so the receiver never waits; each Copy is a frame and, with
// -z, a flush of its own, which 1 MiB runs paid 256 times in 256 MiB.
constexpr uint64_t kMaxCopyRun = 32 << 20;

struct BlockSignature {
  uint32_t weak;    // rsync's rolling checksum of the block
  uint64_t strong;  // low strong_bytes bytes of the block's XXH3-128
};

struct Signature {
  uint32_t block_size = 0;
  uint64_t basis_size = 0;
  std::vector<BlockSignature> blocks;  // the last block may be short
  // How much of each block's strong sum counts (kMinStrongBytes to 8):
  // fewer bytes make a smaller signature and a rare false match, which
  // the file's hash catches (the receiver then asks again with 8).
  uint32_t strong_bytes = 8;
};

constexpr uint32_t kMinStrongBytes = 2;

// rsync's choice (generator.c, sum_sizes_sqroot): enough strong bytes that
// with the 32-bit weak sum a false match somewhere in the file has a
// chance of about 2^-10, at least kMinStrongBytes and at most 8. For a
// basis of 256 MiB in 16 KiB blocks, 3.
uint32_t StrongBytesFor(uint64_t basis_size, uint32_t block_size);

// About sqrt(size), a multiple of 64, at least kMinBlock, and large enough
// for at most kMaxBlocks blocks; 0 for a basis too large for that (over
// kMaxBlocks * kMaxBlockSize, 64 GiB), which then travels whole.
uint32_t ChooseBlockSize(uint64_t basis_size);

// Builds a basis's signature from its bytes, fed in pieces of any size.
class SignatureBuilder {
 public:
  explicit SignatureBuilder(uint32_t block_size);
  void Update(const char* data, size_t n);
  Signature Finish();

 private:
  Signature sig_;
  std::string pending_;  // the block being filled
};

// u32 block_size, u64 basis_size, u32 count, then count x (u32 weak, u64
// strong), little-endian; sized (Hello bit 11 granted): u8 strong_bytes
// after count, and each strong sum in that many bytes.
std::string EncodeSignature(const Signature& s, bool sized);
// Rejects (kProtocol) a block size of 0 or above kMaxBlockSize, more than
// kMaxBlocks blocks, a count that doesn't fit basis_size, strong_bytes
// outside [kMinStrongBytes, 8], trailing bytes.
Status DecodeSignature(const std::string& payload, bool sized, Signature* s);

// What the encoder emits, in file order.
class DeltaSink {
 public:
  virtual ~DeltaSink() = default;
  virtual Status Literal(const char* data, size_t n) = 0;  // n <= kMaxLiteral
  virtual Status Copy(uint32_t first_block, uint32_t block_count) = 0;
};

// Streams the new version of a file against a basis signature. Memory:
// O(signature + block_size + kMaxLiteral). Only whole blocks match; the
// basis's short last block, if any, is never matched. Adjacent matches
// merge into one Copy of at most kMaxCopyRun bytes (or one block, if
// larger).
class DeltaEncoder {
 public:
  explicit DeltaEncoder(const Signature& sig);
  Status Update(const char* data, size_t n, DeltaSink* sink);
  Status Finish(DeltaSink* sink);

 private:
  bool Match(uint32_t weak, const char* block, uint32_t* index) const;
  Status EmitCopy(uint32_t index, DeltaSink* sink);
  // Adds the next basis block to the open run.
  Status ExtendCopy(DeltaSink* sink);
  Status FlushCopy(DeltaSink* sink);
  Status FlushLiteral(DeltaSink* sink);

  const Signature& sig_;
  uint64_t strong_mask_;  // of a block's strong sum, what the signature kept
  uint32_t block_size_;
  uint32_t whole_blocks_;                  // blocks of full size
  std::vector<uint32_t> order_;            // whole blocks sorted by weak
  std::vector<int32_t> tag_;               // 16-bit tag -> first in order_
  std::string window_;                     // unmatched input, >= the window
  size_t pos_ = 0;                         // window start in window_
  uint32_t a_ = 0, b_ = 0;                 // rolling sums of the window
  bool rolling_ = false;
  std::string literal_;
  // The run of blocks matched last; it stays open (with copy_count_ 0)
  // after a long run is sent, so the next block is still the likeliest.
  bool copy_open_ = false;
  uint32_t copy_first_ = 0, copy_count_ = 0;
};

// The byte range a Copy(first_block, count) refers to, checked against the
// basis (kProtocol when it lies outside).
Status CopyRange(uint32_t block_size, uint64_t basis_size, uint32_t first_block,
                 uint32_t block_count, uint64_t* offset, uint64_t* length);

}  // namespace treesync

#endif  // TREESYNC_DELTA_H_
