#include "path.h"

namespace treesync {

size_t Utf8SequenceLength(const std::string& s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (b(i + k) & 0x3F);
  }
  static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

Status CheckWirePath(const std::string& p) {
  if (p.empty()) return Status::Protocol("empty path");
  if (p.size() > kMaxPathBytes) {
    return Status::Protocol("path of " + std::to_string(p.size()) + " bytes exceeds the limit of " +
                            std::to_string(kMaxPathBytes));
  }
  if (p.find('\0') != std::string::npos) {
    return Status::Protocol("path contains a NUL byte: " + Printable(p));
  }
  if (p[0] == '/') return Status::Protocol("absolute path: " + Printable(p));
  size_t start = 0;
  for (;;) {
    size_t slash = p.find('/', start);
    size_t end = slash == std::string::npos ? p.size() : slash;
    size_t len = end - start;
    if (len == 0) return Status::Protocol("empty component in path: " + Printable(p));
    if (len == 1 && p[start] == '.') {
      return Status::Protocol("'.' component in path: " + Printable(p));
    }
    if (len == 2 && p[start] == '.' && p[start + 1] == '.') {
      return Status::Protocol("'..' component in path: " + Printable(p));
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return Status::Ok();
}

std::string ParentOf(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? std::string() : p.substr(0, slash);
}

std::string BaseName(const std::string& p) {
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string JoinRel(const std::string& folder, const std::string& name) {
  return folder.empty() ? name : folder + "/" + name;
}

std::string JoinPath(const std::string& root, const std::string& rel) {
  if (rel.empty()) return root;
  if (root.empty()) return rel;
  if (root.back() == '/') return root + rel;
  return root + "/" + rel;
}

std::string Printable(const std::string& p) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(p.size());
  for (size_t i = 0; i < p.size();) {
    unsigned char c = static_cast<unsigned char>(p[i]);
    size_t n = Utf8SequenceLength(p, i);
    // U+0080..U+009F (C2 80..C2 9F) are the C1 controls: a UTF-8 terminal
    // takes U+009B as CSI, as it takes ESC [, so they are escaped as well.
    bool c1 = n == 2 && c == 0xC2 && static_cast<unsigned char>(p[i + 1]) < 0xA0;
    if (n == 0 || c1 || c < 0x20 || c == 0x7F || c == '\\') {
      if (c == '\\') {
        out += "\\\\";
      } else {
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
      ++i;
      continue;
    }
    out.append(p, i, n);
    i += n;
  }
  return out;
}

}  // namespace treesync
