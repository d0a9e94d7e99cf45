// ZstdDecoder: a streaming decoder of Zstandard frames (RFC 8878), bit for
// bit what `zstd -d` gives. It decodes one block at a time as its bytes
// arrive, with memory fixed by the largest window it accepts, so a hostile
// peer's stream can make it fail but never read or write outside its
// buffers, allocate without bound or loop. Dictionaries are not supported
// (a frame naming one is refused); skippable frames are skipped.
#ifndef TREESYNC_ZSTD_DECODER_H_
#define TREESYNC_ZSTD_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "status.h"
#include "zstd_format.h"

namespace treesync {

class ZstdDecoder {
 public:
  // The largest window a frame may ask for unless told otherwise: the
  // encoder's largest (zstd_encoder.h) with room to spare, and what a
  // session's memory budget counts per compressed direction.
  static constexpr size_t kDefaultMaxWindow = 8 << 20;
  // A block's largest decoded size (RFC 8878 Block_Maximum_Size).
  static constexpr size_t kMaxBlock = zstd::kBlockMax;

  // Frames whose window (or, for single-segment frames, content size) is
  // larger than max_window are refused.
  explicit ZstdDecoder(size_t max_window = kDefaultMaxWindow);
  ~ZstdDecoder();
  ZstdDecoder(const ZstdDecoder&) = delete;
  ZstdDecoder& operator=(const ZstdDecoder&) = delete;

  // Takes up to n compressed bytes (*used says how many), decoding each
  // block as soon as it is whole. Frames may follow one another; it stops
  // after each one's end, so the caller may look at what comes between
  // (and Feeds again to go on). It takes
  // no more once the decoded bytes not yet taken reach kMaxBlock, so the
  // caller must Take output to make progress. Any malformed input (a bad
  // header, a block that decodes to more than its limit, an offset before
  // the window, a wrong checksum...) is a kProtocol error whose one-line
  // message starts "compressed stream: "; after an error, every later call
  // returns it again.
  Status Feed(const void* in, size_t n, size_t* used);

  // The decoded bytes not yet taken, contiguous; valid until the next Feed
  // or Take.
  const uint8_t* output() const;
  size_t output_size() const;
  // Marks the first n (<= output_size()) bytes of output as taken.
  void Take(size_t n);

  // True when no frame is under way: none has begun, or the last one ended
  // (last block and checksum read). At the end of the input, false means
  // the stream was cut short.
  bool at_frame_boundary() const;

  // Bytes this decoder holds for its buffers now (for memory accounting).
  size_t memory_used() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Decodes a whole input of one or more frames into *out; refuses output
// longer than max_output and input that ends inside a frame.
Status ZstdDecompress(const void* in, size_t n, std::string* out,
                      size_t max_output = size_t(1) << 30,
                      size_t max_window = ZstdDecoder::kDefaultMaxWindow);

}  // namespace treesync

#endif  // TREESYNC_ZSTD_DECODER_H_
