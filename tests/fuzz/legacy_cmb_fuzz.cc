// Fuzzes LegacyParser, the reader of an old CMB server's stream (in-band
// CMB_BEGIN/CMB_END markers, no lengths). Input: one byte choosing where
// the stream is cut into pieces, then the stream. Invariants: the parser
// returns OK or kProtocol; the events it reports, its verdict and whether
// the stream was complete never depend on how the bytes arrived.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "legacy_cmb.h"
#include "legacy_recording_handler.h"

namespace treesync {
namespace {

// Also holds the parser to its bound on one data command.
class RecordingHandler : public test::RecordingHandler {
 public:
  Status OnFileData(const char* d, size_t n) override {
    FUZZ_CHECK(n <= kMaxLegacyCommandBytes);
    return test::RecordingHandler::OnFileData(d, n);
  }
};

struct Result {
  Status status;
  bool complete = false;
  std::vector<std::string> events;
};

Result Parse(const uint8_t* data, size_t n, size_t piece) {
  RecordingHandler h;
  LegacyParser p(&h);
  Result r;
  for (size_t i = 0; i < n && r.status.ok(); i += piece) {
    r.status = p.Feed(reinterpret_cast<const char*>(data) + i, std::min(piece, n - i));
  }
  if (r.status.ok()) r.status = p.Finish(&r.complete);
  FUZZ_CHECK(r.status.ok() || r.status.kind() == ErrorKind::kProtocol);
  r.events = std::move(h.events);
  return r;
}

}  // namespace
}  // namespace treesync

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  using namespace treesync;
  std::string stream = "hello\r\n";
  for (const char* c : {"Sync", "Folder:d", "File:d/a", "some data", "End", "File:d/b", "End"}) {
    stream += LegacyFrame(c);
  }
  fuzz::SeedCorpus(argc, argv,
                   {"\x01" + stream, "\x07" + stream.substr(0, stream.size() - 3),
                    "\x10" + LegacyFrame("Folder:../x") + LegacyFrame("File:a") + "CMB_BEGINEnd"});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace treesync;
  if (size == 0) return 0;
  const size_t piece = 1 + data[0];
  Result whole = Parse(data + 1, size - 1, size);
  Result pieces = Parse(data + 1, size - 1, piece);
  FUZZ_CHECK(whole.status.kind() == pieces.status.kind());
  FUZZ_CHECK(whole.complete == pieces.complete);
  FUZZ_CHECK(whole.events == pieces.events);
  return 0;
}
