// ZstdEncoder: a streaming Zstandard (RFC 8878) compressor whose output
// `zstd -d` and ZstdDecoder read. It keeps one frame open across calls, so
// every byte given may match anything in the window before it: thousands
// of small similar files compress as one stream would. Each Compress call
// ends its blocks, so the peer can decode everything given so far (a
// flush), which is what a session's request/reply traffic needs.
//
// Blocks that would not shrink are sent raw; the match finder skips ahead
// faster the longer it finds nothing, so random or already compressed data
// costs little more than a copy.
#ifndef TREESYNC_ZSTD_ENCODER_H_
#define TREESYNC_ZSTD_ENCODER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "zstd_format.h"

namespace treesync {

class ZstdEncoder {
 public:
  static constexpr int kMinLevel = 1;
  static constexpr int kMaxLevel = 9;
  static constexpr int kDefaultLevel = 3;
  // The largest block (RFC 8878 Block_Maximum_Size).
  static constexpr size_t kBlockMax = zstd::kBlockMax;

  // level is clamped to [kMinLevel, kMaxLevel]: higher is slower and
  // smaller. Levels up to 5 use a 2 MiB window, higher ones 8 MiB (the
  // decoder's limit, ZstdDecoder::kDefaultMaxWindow).
  explicit ZstdEncoder(int level = kDefaultLevel);
  ~ZstdEncoder();
  ZstdEncoder(const ZstdEncoder&) = delete;
  ZstdEncoder& operator=(const ZstdEncoder&) = delete;

  // Appends to *out the compressed form of the next n bytes of the stream:
  // a frame header first if no frame is open, then one or more blocks, none
  // of them the last. n == 0 appends nothing.
  void Compress(const void* in, size_t n, std::string* out);
  // Whether every block of the last Compress call went raw (its input
  // did not shrink).
  bool last_all_raw() const;
  // Closes the open frame (an empty last block; with a frame opened by
  // Compress, else a whole empty frame), appended to *out. The next
  // Compress starts a new frame with an empty window.
  void End(std::string* out);

  // Whether a frame is open: Compress began one that End has not closed.
  bool frame_open() const;
  // The window frames are written with.
  size_t window_size() const;
  // Bytes this encoder holds for its buffers and tables.
  size_t memory_used() const;
  // The most an encoder of this level holds.
  static size_t MemoryFor(int level);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Whether n bytes look as random as compressed or encrypted data, judged
// from a sample of about 1 KiB: false below that, and for anything whose
// bytes Huffman coding would shrink. Data that only matches would shrink
// (a file repeated) passes; the caller probes for that now and then.
bool LooksIncompressible(const void* data, size_t n);

// One whole frame holding in[0, n) (tests and tools).
std::string ZstdCompress(const void* in, size_t n, int level = ZstdEncoder::kDefaultLevel);

}  // namespace treesync

#endif  // TREESYNC_ZSTD_ENCODER_H_
