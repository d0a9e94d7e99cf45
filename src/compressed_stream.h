// CompressedStream: a ByteStream over another whose bytes travel as
// Zstandard frames, and incompressible runs as passes between them
// (docs/PROTOCOL.md, "Compression"). What is written is compressed with
// the context of everything written before it in the frame, and each
// Write's bytes are sent whole (a flush), so the peer can act on a
// request without waiting for more. Random or already compressed bytes go
// as they are, at about the cost of a plain stream. What is read is
// decompressed; a malformed compressed stream is kProtocol, one that ends
// early is an end of stream (see cut_short).
#ifndef TREESYNC_COMPRESSED_STREAM_H_
#define TREESYNC_COMPRESSED_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "byte_stream.h"

namespace treesync {

class CompressedStream;

// Memory one compressed session holds, both ways, at the default level:
// what a server takes from its budget before it grants compression.
size_t CompressionMemory(int level);

// Wraps below. level: the encoder's (zstd_encoder.h). already_read: bytes
// read from below before the wrap that belong to the compressed stream.
std::unique_ptr<CompressedStream> Compressed(std::unique_ptr<ByteStream> below, int level,
                                             std::string already_read);

class CompressedStream : public ByteStream {
 public:
  // Bytes that crossed the stream below, compressed.
  virtual uint64_t wire_bytes_sent() const = 0;
  virtual uint64_t wire_bytes_received() const = 0;
  // Whether the stream below ended before the peer's frame did (a dropped
  // link, or a peer that just closed).
  virtual bool cut_short() const = 0;
};

}  // namespace treesync

#endif  // TREESYNC_COMPRESSED_STREAM_H_
