#include "byte_stream.h"

namespace treesync {

namespace {

// Socket and PipeStream already share one shape; this only gives it a
// virtual face. Socket's wait is a free function, hence PollOf.
Status PollOf(platform::Socket& s, bool r, bool w, int ms, platform::Readiness* out) {
  return platform::Poll(s, r, w, ms, out);
}
Status PollOf(platform::PipeStream& p, bool r, bool w, int ms, platform::Readiness* out) {
  return p.Poll(r, w, ms, out);
}

template <typename Handle>
class StreamOver : public ByteStream {
 public:
  explicit StreamOver(Handle h) : h_(std::move(h)) {}
  Status Read(void* buf, size_t n, size_t* got, bool* eof) override {
    return h_.Read(buf, n, got, eof);
  }
  Status Write(const void* buf, size_t n, size_t* wrote) override {
    return h_.Write(buf, n, wrote);
  }
  void ShutdownWrite() override { h_.ShutdownWrite(); }
  Status Poll(bool want_read, bool want_write, int timeout_ms,
              platform::Readiness* out) override {
    return PollOf(h_, want_read, want_write, timeout_ms, out);
  }

 private:
  Handle h_;
};

}  // namespace

std::unique_ptr<ByteStream> SocketStream(platform::Socket sock) {
  return std::make_unique<StreamOver<platform::Socket>>(std::move(sock));
}

std::unique_ptr<ByteStream> PipeByteStream(platform::PipeStream pipes) {
  return std::make_unique<StreamOver<platform::PipeStream>>(std::move(pipes));
}

}  // namespace treesync
