// Fuzzes the wire path checks of path.h with arbitrary bytes. Invariants:
// CheckWirePath agrees with a plain restatement of the rules in path.h;
// Printable leaves no control character for a terminal to act on and
// changes nothing in a name that needs no escaping; a safe path splits into
// ParentOf and BaseName that JoinPath puts back together.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "path.h"

namespace treesync {
namespace {

// The rules as path.h states them, written the slow, obvious way.
bool SafeByTheRules(const std::string& p) {
  if (p.empty() || p.size() > kMaxPathBytes || p[0] == '/') return false;
  for (char c : p) {
    if (c == '\0') return false;
  }
  std::string component;
  for (size_t i = 0; i <= p.size(); ++i) {
    if (i == p.size() || p[i] == '/') {
      if (component.empty() || component == "." || component == "..") return false;
      component.clear();
    } else {
      component += p[i];
    }
  }
  return true;
}

// A code point of valid UTF-8 at s[i] (n bytes).
uint32_t CodePoint(const std::string& s, size_t i, size_t n) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  if (n == 1) return b(0);
  uint32_t cp = b(0) & (0xFF >> (n + 1));
  for (size_t k = 1; k < n; ++k) cp = cp << 6 | (b(k) & 0x3F);
  return cp;
}

bool IsControl(uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

void CheckPrintable(const std::string& in) {
  const std::string out = Printable(in);
  bool needs_escape = false;
  for (size_t i = 0; i < in.size();) {
    size_t n = Utf8SequenceLength(in, i);
    if (n == 0 || IsControl(CodePoint(in, i, n)) || in[i] == '\\') {
      needs_escape = true;
      break;
    }
    i += n;
  }
  if (!needs_escape) FUZZ_CHECK(out == in);
  for (size_t i = 0; i < out.size();) {
    size_t n = Utf8SequenceLength(out, i);
    FUZZ_CHECK(n != 0);
    FUZZ_CHECK(!IsControl(CodePoint(out, i, n)));
    i += n;
  }
  FUZZ_CHECK(out.size() <= 4 * in.size());
}

}  // namespace
}  // namespace treesync

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  treesync::fuzz::SeedCorpus(
      argc, argv,
      {"a", "docs/read me.txt", "../etc/passwd", "a//b", "./a", "/abs", std::string("a\0b", 3),
       "caf\xc3\xa9/\xe2\x82\xac", "bad\xff\xfe", "esc\x1b[2J", "c1\xc2\x9b" "31m", "back\\slash",
       ".hidden/..more/...", std::string(4097, 'x')});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace treesync;
  const std::string p(reinterpret_cast<const char*>(data), size);
  Status s = CheckWirePath(p);
  FUZZ_CHECK(s.ok() || s.kind() == ErrorKind::kProtocol);
  FUZZ_CHECK(s.ok() == SafeByTheRules(p));
  if (!s.ok()) {
    // The message quotes the path escaped, never raw.
    for (char c : s.message()) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F);
  } else {
    const std::string parent = ParentOf(p), base = BaseName(p);
    FUZZ_CHECK(!base.empty() && base.find('/') == std::string::npos);
    FUZZ_CHECK(JoinPath(parent, base) == p);
    FUZZ_CHECK(parent.empty() || CheckWirePath(parent).ok());
  }
  CheckPrintable(p);
  return 0;
}
