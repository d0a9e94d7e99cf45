// Fuzzes FrameReader: the byte stream a peer sends, fed in pieces cut at
// arbitrary points. Input: one byte choosing the cuts, then the stream.
// Invariants: cutting the stream differently never changes the frames read
// or the error; the frames read re-encode to the bytes they came from; the
// reader buffers no more than one maximal frame plus one piece.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "frame.h"
#include "fuzz_util.h"

namespace treesync {
namespace {

struct Result {
  std::vector<Frame> frames;
  bool failed = false;
  std::string error;
  size_t buffered = 0;
};

// Takes every complete frame; alternates Next and NextView so both run.
void Drain(FrameReader* r, Result* out, size_t max_piece) {
  while (!out->failed) {
    bool got = false;
    Status s;
    if (out->frames.size() % 2 == 0) {
      Frame f;
      s = r->Next(&f, &got);
      if (s.ok() && got) out->frames.push_back(std::move(f));
    } else {
      FrameView v;
      s = r->NextView(&v, &got);
      if (s.ok() && got) {
        FUZZ_CHECK(v.size <= kMaxFramePayload);
        out->frames.push_back(v.ToFrame());
      }
    }
    if (!s.ok()) {
      FUZZ_CHECK(s.kind() == ErrorKind::kProtocol);
      out->failed = true;
      out->error = s.message();
    }
    if (!got) break;
  }
  FUZZ_CHECK(r->buffered() <= kFrameHeaderSize + kMaxFramePayload + max_piece);
}

Result ReadWhole(const uint8_t* data, size_t n) {
  FrameReader r;
  Result out;
  r.Feed(data, n);
  Drain(&r, &out, n);
  out.buffered = r.buffered();
  return out;
}

Result ReadInPieces(const uint8_t* data, size_t n, uint8_t cut) {
  FrameReader r;
  Result out;
  uint32_t state = 0x9e3779b9u ^ cut;
  const size_t max_piece = size_t(1) << (cut & 7);
  for (size_t done = 0; done < n && !out.failed;) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    size_t piece = std::min<size_t>(n - done, 1 + state % max_piece);
    if (state & 0x100) {
      r.Feed(data + done, piece);
    } else {
      // Asks for more room than it fills, as a socket read does.
      char* at = r.Prepare(piece + (state >> 24));
      std::memcpy(at, data + done, piece);
      r.Commit(piece);
    }
    done += piece;
    Drain(&r, &out, max_piece + 255);
  }
  out.buffered = r.buffered();
  return out;
}

}  // namespace
}  // namespace treesync

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  using namespace treesync;
  std::string two;
  AppendFrame(&two, FrameType::kHello, std::string("TREESYNC\1\0\0\0\3\0\0\0"));
  AppendFrame(&two, FrameType::kData, std::string(300, 'x'));
  AppendFrame(&two, FrameType::kDone, std::string());
  std::string bad_type("\x07\x00\x00\x00\x00", 5);
  std::string too_long("\x31\x01\x00\x10\x00", 5);
  fuzz::SeedCorpus(argc, argv, {"\x05" + two, "\x00" + two + bad_type, "\x03" + too_long});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace treesync;
  if (size == 0) return 0;
  const uint8_t cut = data[0];
  const uint8_t* stream = data + 1;
  const size_t n = size - 1;

  Result whole = ReadWhole(stream, n);
  Result pieces = ReadInPieces(stream, n, cut);
  FUZZ_CHECK(whole.failed == pieces.failed);
  FUZZ_CHECK(whole.error == pieces.error);
  FUZZ_CHECK(whole.frames.size() == pieces.frames.size());
  std::string again;
  for (size_t i = 0; i < whole.frames.size(); ++i) {
    FUZZ_CHECK(whole.frames[i].type == pieces.frames[i].type);
    FUZZ_CHECK(whole.frames[i].payload == pieces.frames[i].payload);
    FUZZ_CHECK(IsKnownFrameType(static_cast<uint8_t>(whole.frames[i].type)));
    AppendFrame(&again, whole.frames[i].type, whole.frames[i].payload);
  }
  // The frames are exactly the stream's first bytes, and what is left
  // buffered is the rest (unless the stream broke).
  FUZZ_CHECK(again.size() <= n);
  FUZZ_CHECK(std::memcmp(again.data(), stream, again.size()) == 0);
  if (!whole.failed) {
    FUZZ_CHECK(whole.buffered == n - again.size());
    FUZZ_CHECK(pieces.buffered == n - again.size());
  }
  return 0;
}
