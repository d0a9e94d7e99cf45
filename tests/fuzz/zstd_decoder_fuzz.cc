// Fuzzes ZstdDecoder: a compressed stream as a peer sends it, fed whole and
// in pieces cut at arbitrary points. Input: one byte choosing the cuts (and
// the window limit), then the stream.
// Invariants: cutting the stream differently never changes the output, the
// error or whether it ended at a frame boundary; every error is a
// kProtocol "compressed stream: " one; pending output stays under two
// blocks and memory under the window limit plus a few blocks.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "xxh64.h"
#include "zstd_decoder.h"

namespace treesync {
namespace {

// Output kept per run; RLE blocks turn a few bytes into 128 KiB, so a
// run stops once this much has come out (both runs stop at the same byte).
constexpr size_t kMaxOutput = size_t(8) << 20;
// The decoder's buffers beyond the window: untaken output, a block being
// decoded, a block of input, literals, slack and tables.
constexpr size_t kMemorySlack = 4 * ZstdDecoder::kMaxBlock + (64 << 10);

struct Result {
  Xxh64Hasher hash;
  size_t out_size = 0;
  bool failed = false;
  bool capped = false;
  std::string error;
  bool at_boundary = false;
};

void CheckBounds(const ZstdDecoder& d, size_t max_window) {
  FUZZ_CHECK(d.output_size() <= 2 * ZstdDecoder::kMaxBlock);
  FUZZ_CHECK(d.memory_used() <= max_window + kMemorySlack);
}

// Takes up to n bytes of output; false once kMaxOutput is reached.
bool TakeOutput(ZstdDecoder* d, size_t n, Result* r) {
  n = std::min(n, kMaxOutput - r->out_size);
  r->hash.Update(d->output(), n);
  r->out_size += n;
  d->Take(n);
  if (r->out_size == kMaxOutput) {
    r->capped = true;
    return false;
  }
  return true;
}

// Feeds data[0..n) in pieces; piece_size() says how much each Feed gets
// and take_some(pending) how much output to take after it.
template <typename PieceSize, typename TakeSome>
Result Run(const uint8_t* data, size_t n, size_t max_window, PieceSize piece_size,
           TakeSome take_some) {
  ZstdDecoder d(max_window);
  Result r;
  size_t done = 0;
  while (done < n) {
    const size_t piece = std::min(n - done, piece_size());
    size_t used = 0;
    const Status s = d.Feed(data + done, piece, &used);
    FUZZ_CHECK(used <= piece);
    CheckBounds(d, max_window);
    if (!s.ok()) {
      FUZZ_CHECK(s.kind() == ErrorKind::kProtocol);
      FUZZ_CHECK(s.message().rfind("compressed stream: ", 0) == 0);
      // The error sticks.
      size_t again = 1;
      const Status later = d.Feed(data, n, &again);
      FUZZ_CHECK(!later.ok() && later.message() == s.message() && again == 0);
      r.failed = true;
      r.error = s.message();
      // What was decoded before the error is still there, the same
      // whatever the cuts.
      TakeOutput(&d, d.output_size(), &r);
      break;
    }
    done += used;
    // Feed takes nothing only while kMaxBlock of output waits.
    FUZZ_CHECK(used > 0 || d.output_size() >= ZstdDecoder::kMaxBlock);
    size_t take = d.output_size();
    if (used == piece) take = take_some(take);
    if (!TakeOutput(&d, take, &r)) break;
  }
  if (!r.failed && !r.capped) {
    // With all input fed, nothing decoded is held back.
    TakeOutput(&d, d.output_size(), &r);
    r.at_boundary = d.at_frame_boundary();
  }
  return r;
}

}  // namespace
}  // namespace treesync

namespace {

std::string Le32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}

std::string BlockHeader(bool last, int type, uint32_t size) {
  const uint32_t v = (size << 3) | (static_cast<uint32_t>(type) << 1) | (last ? 1 : 0);
  return std::string{static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16)};
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  const std::string magic("\x28\xb5\x2f\xfd", 4);
  // Raw, RLE and a compressed block of one RLE-coded sequence (offset 1),
  // a skippable frame and a windowed frame of several RLE blocks.
  const std::string raw = magic + std::string("\x20\x05", 2) + BlockHeader(true, 0, 5) + "hello";
  const std::string rle = magic + std::string("\x60\x2c\x00", 3) + BlockHeader(true, 1, 300) + "z";
  const std::string seq = magic + std::string("\x00\x00", 2) + BlockHeader(true, 2, 8) +
                          std::string(
                              "\x08"
                              "a"
                              "\x01\x54\x01\x00\x05\x01",
                              8);
  const std::string skip = std::string("\x50\x2a\x4d\x18", 4) + Le32(3) + "abc";
  std::string windowed = magic + std::string("\x00\x08", 2);
  for (int i = 0; i < 5; ++i)
    windowed += BlockHeader(i == 4, 1, 100000) + static_cast<char>('a' + i);
  treesync::fuzz::SeedCorpus(
      argc, argv,
      {"\x05" + raw, std::string("\x00", 1) + rle + skip + raw, "\x13" + seq, "\x2a" + windowed});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace treesync;
  if (size == 0) return 0;
  const uint8_t cut = data[0];
  const uint8_t* stream = data + 1;
  const size_t n = size - 1;
  const size_t max_window = (cut & 8) != 0 ? ZstdDecoder::kDefaultMaxWindow : size_t(1) << 20;

  Result whole = Run(
      stream, n, max_window, [&] { return n; }, [](size_t all) { return all; });
  uint32_t state = 0x9e3779b9u ^ cut;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  };
  const size_t max_piece = size_t(1) << (cut & 7);
  Result pieces = Run(
      stream, n, max_window, [&] { return 1 + next() % max_piece; },
      [&](size_t all) { return (cut & 0x10) != 0 && next() % 3 == 0 ? next() % (all + 1) : all; });

  FUZZ_CHECK(whole.failed == pieces.failed);
  FUZZ_CHECK(whole.error == pieces.error);
  FUZZ_CHECK(whole.capped == pieces.capped);
  FUZZ_CHECK(whole.out_size == pieces.out_size);
  FUZZ_CHECK(whole.hash.Digest() == pieces.hash.Digest());
  FUZZ_CHECK(whole.at_boundary == pieces.at_boundary);

  // ZstdDecompress agrees with the streaming decoder.
  if (!whole.capped) {
    std::string out;
    const Status s = ZstdDecompress(stream, n, &out, kMaxOutput, max_window);
    if (whole.failed) {
      FUZZ_CHECK(!s.ok() && s.message() == whole.error);
    } else if (whole.at_boundary) {
      FUZZ_CHECK(s.ok() && out.size() == whole.out_size);
      FUZZ_CHECK(Xxh64(out.data(), out.size()) == whole.hash.Digest());
    } else {
      FUZZ_CHECK(!s.ok() && s.kind() == ErrorKind::kProtocol);
    }
  }
  return 0;
}
