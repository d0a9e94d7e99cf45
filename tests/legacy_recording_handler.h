// A LegacyHandler that records what the parser reports, as strings, for the
// legacy CMB unit tests and fuzz target. Header-only, like test_util.h.
#ifndef TREESYNC_TESTS_LEGACY_RECORDING_HANDLER_H_
#define TREESYNC_TESTS_LEGACY_RECORDING_HANDLER_H_

#include <string>
#include <vector>

#include "legacy_cmb.h"

namespace treesync {
namespace test {

class RecordingHandler : public LegacyHandler {
 public:
  Status OnSync() override { return Add("sync"); }
  Status OnFolder(const std::string& p) override { return Add("folder:" + p); }
  Status OnFileBegin(const std::string& p) override { return Add("begin:" + p); }
  Status OnFileData(const char* d, size_t n) override {
    // Data arrives in pieces that depend on framing: join adjacent pieces.
    if (!events.empty() && events.back().rfind("data:", 0) == 0) {
      events.back().append(d, n);
      return Status::Ok();
    }
    return Add("data:" + std::string(d, n));
  }
  Status OnFileEnd() override { return Add("end"); }
  std::vector<std::string> events;

 private:
  Status Add(const std::string& e) {
    events.push_back(e);
    return Status::Ok();
  }
};

}  // namespace test
}  // namespace treesync

#endif  // TREESYNC_TESTS_LEGACY_RECORDING_HANDLER_H_
