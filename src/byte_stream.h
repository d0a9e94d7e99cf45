// ByteStream: what a Connection's frames travel over — a TCP socket, the
// pipes of a child (ssh, --via) or our own stdin/stdout (serve --stdio).
// Later layers (compression, encryption) are ByteStreams over another.
#ifndef TREESYNC_BYTE_STREAM_H_
#define TREESYNC_BYTE_STREAM_H_

#include <cstddef>
#include <memory>

#include "net.h"
#include "subprocess.h"
#include "status.h"

namespace treesync {

// A duplex stream of bytes whose calls never block, except Poll.
class ByteStream {
 public:
  virtual ~ByteStream() = default;
  // Up to n bytes available now; *eof once the peer has closed its side
  // (*got is then 0).
  virtual Status Read(void* buf, size_t n, size_t* got, bool* eof) = 0;
  // As many of n bytes as fit now (possibly 0).
  virtual Status Write(const void* buf, size_t n, size_t* wrote) = 0;
  // Tells the peer nothing more is coming, once every byte written is sent
  // (see unsent).
  virtual void ShutdownWrite() = 0;
  // Bytes a layer took in Write but has not yet handed to the stream below
  // (a compressor's output waiting for room). Write, even with n == 0,
  // sends more of them when the stream is writable. 0 for a plain stream.
  virtual size_t unsent() const { return 0; }
  // The batch a layer would rather be handed, when the caller is free to
  // gather one (it still takes smaller writes): a layer that pays for
  // each write, as a compressor passing bytes as they are does. 0: any.
  virtual size_t preferred_write() const { return 0; }
  // Waits up to timeout_ms (-1: forever) until the stream is readable (when
  // want_read) or writable (when want_write: the caller has bytes to
  // write). A layer holding unsent bytes of its own also says writable when
  // it can send some of them, and the caller then calls Write even with
  // nothing to write. A timeout or a signal returns OK with nothing ready.
  virtual Status Poll(bool want_read, bool want_write, int timeout_ms,
                      platform::Readiness* out) = 0;
};

std::unique_ptr<ByteStream> SocketStream(platform::Socket sock);
std::unique_ptr<ByteStream> PipeByteStream(platform::PipeStream pipes);

}  // namespace treesync

#endif  // TREESYNC_BYTE_STREAM_H_
