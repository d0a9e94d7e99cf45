#include "byte_stream.h"

namespace treesync {

namespace {

// Socket and PipeStream already share one shape; this only gives it a
// virtual face. The free platform::Poll takes a socket, hence the split.
class SocketByteStream : public ByteStream {
 public:
  explicit SocketByteStream(platform::Socket s) : s_(std::move(s)) {}
  Status Read(void* buf, size_t n, size_t* got, bool* eof) override {
    return s_.Read(buf, n, got, eof);
  }
  Status Write(const void* buf, size_t n, size_t* wrote) override {
    return s_.Write(buf, n, wrote);
  }
  void ShutdownWrite() override { s_.ShutdownWrite(); }
  Status Poll(bool want_read, bool want_write, int timeout_ms,
              platform::Readiness* out) override {
    return platform::Poll(s_, want_read, want_write, timeout_ms, out);
  }

 private:
  platform::Socket s_;
};

class PipeByteStreamImpl : public ByteStream {
 public:
  explicit PipeByteStreamImpl(platform::PipeStream p) : p_(std::move(p)) {}
  Status Read(void* buf, size_t n, size_t* got, bool* eof) override {
    return p_.Read(buf, n, got, eof);
  }
  Status Write(const void* buf, size_t n, size_t* wrote) override {
    return p_.Write(buf, n, wrote);
  }
  void ShutdownWrite() override { p_.ShutdownWrite(); }
  Status Poll(bool want_read, bool want_write, int timeout_ms,
              platform::Readiness* out) override {
    return p_.Poll(want_read, want_write, timeout_ms, out);
  }

 private:
  platform::PipeStream p_;
};

}  // namespace

std::unique_ptr<ByteStream> SocketStream(platform::Socket sock) {
  return std::make_unique<SocketByteStream>(std::move(sock));
}

std::unique_ptr<ByteStream> PipeByteStream(platform::PipeStream pipes) {
  return std::make_unique<PipeByteStreamImpl>(std::move(pipes));
}

}  // namespace treesync
