#include "key_files.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "blake2s.h"
#include "chacha20_poly1305.h"
#include "fs_meta.h"
#include "path.h"
#include "random.h"
#include "secure_wipe.h"
#include "user_dirs.h"
#include "x25519.h"

namespace fs = std::filesystem;

namespace treesync {

namespace {

// The alphabet lookups below are arithmetic rather than tables, so that
// which characters a private key has can't show in cache timing. All
// values are at most 255, held in uint32_t so differences wrap into the
// top bit.

// All ones when v >= k, else zero. REQUIRES: 1 <= k, v <= 255.
uint32_t AtLeast(uint32_t v, uint32_t k) { return 0u - (((k - 1) - v) >> 31); }

// All ones when lo <= c <= hi, else zero.
uint32_t InRange(uint32_t c, uint32_t lo, uint32_t hi) {
  return 0u - ((((c - lo) | (hi - c)) >> 31) ^ 1);
}

// The base64 character for v (0..63).
char EncodeSixBits(uint32_t v) {
  // 'A'+v, then the steps to 'a', '0', '+' and '/' where each range starts.
  uint32_t c = v + 'A';
  c += AtLeast(v, 26) & 6;
  c -= AtLeast(v, 52) & 75;
  c -= AtLeast(v, 62) & 15;
  c += AtLeast(v, 63) & 3;
  return static_cast<char>(c);
}

// The value (0..63) of a base64 character, or a value above 63 for any
// other byte.
uint32_t DecodeSixBits(uint8_t byte) {
  const uint32_t c = byte;
  const uint32_t upper = InRange(c, 'A', 'Z'), lower = InRange(c, 'a', 'z');
  const uint32_t digit = InRange(c, '0', '9'), plus = InRange(c, '+', '+');
  const uint32_t slash = InRange(c, '/', '/');
  const uint32_t value = (upper & (c - 'A')) | (lower & (c - 'a' + 26)) | (digit & (c - '0' + 52)) |
                         (plus & 62) | (slash & 63);
  return value | ~(upper | lower | digit | plus | slash);
}

// Base64Decode of the n characters at text, so that a key inside a
// larger buffer is decoded without copying it out first.
bool DecodeBase64(const char* text, size_t n, std::string* out) {
  if (out->size() > 0) SecureWipe(&(*out)[0], out->size());
  out->clear();
  if (n % 4 != 0) return false;
  if (n == 0) return true;
  const size_t pad = text[n - 1] != '=' ? 0 : text[n - 2] != '=' ? 1 : 2;
  out->resize(n / 4 * 3 - pad);
  uint32_t bad = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i += 4) {
    const bool last = i + 4 == n;
    const size_t real = last ? 4 - pad : 4;  // characters that aren't padding
    uint32_t v[4] = {0, 0, 0, 0};
    for (size_t k = 0; k < real; ++k) {
      v[k] = DecodeSixBits(static_cast<uint8_t>(text[i + k]));
      bad |= v[k] >> 6;
    }
    // The bits of a short group's last character that no byte uses must
    // be zero, so each byte string has exactly one encoding.
    if (last && pad == 2) bad |= v[1] & 0x0f;
    if (last && pad == 1) bad |= v[2] & 0x03;
    const uint32_t group = (v[0] & 63) << 18 | (v[1] & 63) << 12 | (v[2] & 63) << 6 | (v[3] & 63);
    const uint8_t bytes[3] = {static_cast<uint8_t>(group >> 16), static_cast<uint8_t>(group >> 8),
                              static_cast<uint8_t>(group)};
    for (size_t k = 0; k < real - 1; ++k) (*out)[o++] = static_cast<char>(bytes[k]);
  }
  if (bad != 0) {
    SecureWipe(&(*out)[0], out->size());
    out->clear();
    return false;
  }
  return true;
}

// Wipes a string that held a secret when the scope ends, on every path.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::string* s) : s_(s) {}
  ~WipeOnExit() {
    if (!s_->empty()) SecureWipe(&(*s_)[0], s_->size());
  }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  std::string* s_;
};

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsSpace(char c) { return IsBlank(c) || c == '\r' || c == '\n'; }

// The position past a UTF-8 byte order mark at the start of text, or 0.
size_t SkipByteOrderMark(const std::string& text) {
  return text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
}

// [*begin, *end) of text without surrounding spaces, tabs and line ends.
void Trim(const std::string& text, size_t* begin, size_t* end) {
  while (*begin < *end && IsSpace(text[*begin])) ++*begin;
  while (*end > *begin && IsSpace(text[*end - 1])) --*end;
}

std::string Trimmed(const std::string& text) {
  size_t begin = 0, end = text.size();
  Trim(text, &begin, &end);
  return text.substr(begin, end - begin);
}

// Calls handle(line_number, line) for each line of text (without its
// "\n" or "\r\n"), stopping at and returning the first error.
template <typename Handler>
Status ForEachLine(const std::string& text, Handler handle) {
  size_t pos = SkipByteOrderMark(text);
  int number = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++number;
    size_t line_end = end;
    if (line_end > pos && text[line_end - 1] == '\r') --line_end;
    TS_RETURN_IF_ERROR(handle(number, text.substr(pos, line_end - pos)));
    pos = end + 1;
  }
  return Status::Ok();
}

// A line that holds nothing to parse: blank, or a '#' comment.
bool IsSkippedLine(const std::string& line) {
  size_t i = 0;
  while (i < line.size() && IsSpace(line[i])) ++i;
  return i == line.size() || line[i] == '#';
}

// The next blank-separated word of line from *pos, leaving *pos after it;
// false when only blanks are left.
bool NextWord(const std::string& line, size_t* pos, size_t* word_begin, size_t* word_end) {
  while (*pos < line.size() && IsSpace(line[*pos])) ++*pos;
  if (*pos == line.size()) return false;
  *word_begin = *pos;
  while (*pos < line.size() && !IsSpace(line[*pos])) ++*pos;
  *word_end = *pos;
  return true;
}

bool NextWord(const std::string& line, size_t* pos, std::string* word) {
  size_t begin, end;
  if (!NextWord(line, pos, &begin, &end)) return false;
  *word = line.substr(begin, end - begin);
  return true;
}

std::string LinePrefix(int number) { return "line " + std::to_string(number) + ": "; }

// A word from a file or the command line, quoted and made safe to print,
// and cut short: it goes into one-line messages.
std::string Quoted(const std::string& word) {
  constexpr size_t kMaxShown = 40;
  std::string shown = Printable(word.substr(0, kMaxShown));
  if (word.size() > kMaxShown) shown += "...";
  return "\"" + shown + "\"";
}

// Decodes the base64 of a public key; on failure a message saying why
// (without a prefix).
bool DecodePublicKey(const std::string& base64, uint8_t key[kKeySize], std::string* why) {
  std::string bytes;
  if (!Base64Decode(base64, &bytes)) {
    *why = "key " + Quoted(base64) + " is not valid base64";
    return false;
  }
  if (bytes.size() != kKeySize) {
    *why = "key is " + std::to_string(bytes.size()) + " bytes, not " + std::to_string(kKeySize);
    return false;
  }
  std::memcpy(key, bytes.data(), kKeySize);
  return true;
}

// A TCP port, 1..65535, in plain decimal.
bool ParsePort(const std::string& s, int* port) {
  if (s.empty() || s.size() > 5) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < 1 || v > 65535) return false;
  *port = v;
  return true;
}

bool EqualIgnoringAsciiCase(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Four decimal numbers 0..255 split by '.', none with a leading zero
// (which some parsers read as octal: refusing them avoids the question).
bool ParseIpv4(const std::string& s, uint8_t out[4]) {
  size_t pos = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (pos >= s.size() || s[pos] != '.') return false;
      ++pos;
    }
    const size_t start = pos;
    int v = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && pos - start < 3) {
      v = v * 10 + (s[pos] - '0');
      ++pos;
    }
    const size_t digits = pos - start;
    if (digits == 0 || v > 255 || (digits > 1 && s[start] == '0')) return false;
    out[part] = static_cast<uint8_t>(v);
  }
  return pos == s.size();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The ':'-separated 16-bit groups of one side of an IPv6 "::" (or of a
// whole address without one), appended to *groups. The last group may be
// a dotted quad, which counts as two, when ends_address. An empty side has
// no groups.
bool ParseIpv6Groups(const std::string& side, bool ends_address, std::vector<uint16_t>* groups) {
  if (side.empty()) return true;
  size_t pos = 0;
  for (;;) {
    size_t colon = side.find(':', pos);
    const bool final_piece = colon == std::string::npos;
    const std::string piece = side.substr(pos, final_piece ? std::string::npos : colon - pos);
    if (final_piece && ends_address && piece.find('.') != std::string::npos) {
      uint8_t v4[4];
      if (!ParseIpv4(piece, v4)) return false;
      groups->push_back(static_cast<uint16_t>(v4[0] << 8 | v4[1]));
      groups->push_back(static_cast<uint16_t>(v4[2] << 8 | v4[3]));
      return true;
    }
    if (piece.empty() || piece.size() > 4) return false;
    uint32_t v = 0;
    for (char c : piece) {
      const int h = HexValue(c);
      if (h < 0) return false;
      v = v << 4 | static_cast<uint32_t>(h);
    }
    groups->push_back(static_cast<uint16_t>(v));
    if (final_piece) return true;
    pos = colon + 1;
  }
}

bool ParseIpv6(const std::string& s, uint8_t out[16]) {
  std::vector<uint16_t> head, tail;
  const size_t gap = s.find("::");
  if (gap == std::string::npos) {
    if (!ParseIpv6Groups(s, true, &head) || head.size() != 8) return false;
  } else {
    if (s.find("::", gap + 1) != std::string::npos) return false;  // also ":::"
    if (!ParseIpv6Groups(s.substr(0, gap), false, &head) ||
        !ParseIpv6Groups(s.substr(gap + 2), true, &tail) || head.size() + tail.size() > 7) {
      return false;
    }
  }
  std::memset(out, 0, 16);
  for (size_t i = 0; i < head.size(); ++i) {
    out[2 * i] = static_cast<uint8_t>(head[i] >> 8);
    out[2 * i + 1] = static_cast<uint8_t>(head[i]);
  }
  for (size_t i = 0; i < tail.size(); ++i) {
    const size_t at = 8 - tail.size() + i;
    out[2 * at] = static_cast<uint8_t>(tail[i] >> 8);
    out[2 * at + 1] = static_cast<uint8_t>(tail[i]);
  }
  return true;
}

// An address as text: a dotted quad for mapped IPv4 when v4, else RFC 5952
// IPv6 (lower-case hex, the longest run of two or more zero groups as
// "::").
std::string FormatIp(const uint8_t a[16], bool v4) {
  if (v4) {
    return std::to_string(a[12]) + "." + std::to_string(a[13]) + "." + std::to_string(a[14]) + "." +
           std::to_string(a[15]);
  }
  uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>(a[2 * i] << 8 | a[2 * i + 1]);
  int best = -1, best_len = 1;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const int nibble = (g[i] >> shift) & 15;
      if (nibble != 0 || started || shift == 0) {
        out += kHex[nibble];
        started = true;
      }
    }
  }
  return out;
}

// The rights an authorized-keys options word gives, into *entry.
Status ParseKeyOptions(const std::string& options, int number, AuthorizedKey* entry) {
  const std::string at = LinePrefix(number);
  bool said_writable = false, said_read_only = false, said_folder = false;
  size_t pos = 0;
  for (;;) {
    const size_t comma = options.find(',', pos);
    const std::string option =
        options.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (option.empty()) return Status::Usage(at + "empty option in " + Quoted(options));
    if (option == "writable") {
      said_writable = true;
    } else if (option == "read-only") {
      said_read_only = true;
    } else if (option.compare(0, 5, "from=") == 0) {
      Cidr net;
      Status s = ParseCidr(option.substr(5), &net);
      if (!s.ok()) return Status::Usage(at + "from=: " + s.message());
      entry->from.push_back(net);
    } else if (option.compare(0, 7, "folder=") == 0) {
      if (said_folder) return Status::Usage(at + "folder= given twice");
      said_folder = true;
      const std::string folder = option.substr(7);
      if (folder.empty()) return Status::Usage(at + "folder= needs a relative sub-folder");
      // A backslash separates components on Windows, where "..\x" would
      // otherwise pass as one harmless-looking name.
      if (folder.find('\\') != std::string::npos) {
        return Status::Usage(at + "folder=" + Printable(folder) +
                             ": use '/' between components, not '\\'");
      }
      Status s = CheckWirePath(folder);
      if (!s.ok()) return Status::Usage(at + "folder=: " + s.message());
      entry->folder = folder;
    } else {
      return Status::Usage(at + "unknown option " + Quoted(option) +
                           " (known: writable, read-only, from=ADDR[/BITS], folder=SUB)");
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (said_writable && said_read_only) {
    return Status::Usage(at + "both writable and read-only given");
  }
  entry->writable = said_writable;
  return Status::Ok();
}

// Creates path exclusively with mode and writes bytes to it; on failure
// nothing is left at path (unless it was there before, which fails).
Status WriteNewFile(const std::string& path, const std::string& bytes, uint32_t mode) {
  // Exclusive creation with the final mode means the file never exists
  // with wider permissions, and a file or symlink planted at the name is
  // refused rather than written through. On Windows the mode is not kept:
  // the new file takes the ACL its folder passes on, which for the default
  // key's folder under %APPDATA% is the user's alone. Setting an explicit
  // owner-only ACL would need the security API for little gain there.
  platform::File file;
  TS_RETURN_IF_ERROR(platform::File::CreateNew(path, &file, mode));
  Status s = file.Write(bytes.data(), bytes.size());
  // The umask may have taken bits of a public file's 0644; it is meant to
  // be readable. A private file's 0600 can only have become narrower.
  if (s.ok() && (mode & 077) != 0) s = file.SetMode(mode);
  Status closed = file.Close();
  if (s.ok()) s = closed;
  if (!s.ok()) platform::RemoveEntry(path);
  return s;
}

}  // namespace

std::string Base64Encode(const void* data, size_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  // Sized once, so no reallocation leaves a copy of a key behind.
  std::string out((n + 2) / 3 * 4, '=');
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    const size_t take = n - i < 3 ? n - i : 3;
    uint32_t group = static_cast<uint32_t>(p[i]) << 16;
    if (take > 1) group |= static_cast<uint32_t>(p[i + 1]) << 8;
    if (take > 2) group |= p[i + 2];
    out[o] = EncodeSixBits(group >> 18);
    out[o + 1] = EncodeSixBits(group >> 12 & 63);
    if (take > 1) out[o + 2] = EncodeSixBits(group >> 6 & 63);
    if (take > 2) out[o + 3] = EncodeSixBits(group & 63);
    o += 4;
  }
  return out;
}

bool Base64Decode(const std::string& text, std::string* out) {
  return DecodeBase64(text.data(), text.size(), out);
}

std::string FormatPublicKey(const uint8_t key[kKeySize], const std::string& comment) {
  std::string one_line = comment;
  for (char& c : one_line) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  one_line = Trimmed(one_line);
  std::string line = std::string(kPublicKeyType) + " " + Base64Encode(key, kKeySize);
  if (!one_line.empty()) line += " " + one_line;
  return line;
}

Status ParsePublicKey(const std::string& text, uint8_t key[kKeySize], std::string* comment) {
  size_t begin = SkipByteOrderMark(text), end = text.size();
  Trim(text, &begin, &end);
  const std::string line = text.substr(begin, end - begin);
  if (line.empty()) return Status::Usage("empty public key");
  if (line.find('\n') != std::string::npos) {
    return Status::Usage("a public key is one line; this text has several");
  }
  size_t pos = 0;
  std::string first, base64;
  NextWord(line, &pos, &first);
  const bool bare = pos == line.size();
  if (first == kPrivateKeyType) {
    // The line is not quoted back: it holds the secret.
    return Status::Usage("that is a private key; give the public key (the .pub file)");
  }
  if (bare && first != kPublicKeyType) {
    base64 = first;
  } else if (first != kPublicKeyType) {
    return Status::Usage("not a treesync public key: expected \"" + std::string(kPublicKeyType) +
                         " BASE64 [COMMENT]\" or BASE64 alone, found type " + Quoted(first));
  } else if (!NextWord(line, &pos, &base64)) {
    return Status::Usage("no key after " + std::string(kPublicKeyType));
  }
  std::string why;
  if (!DecodePublicKey(base64, key, &why)) {
    return Status::Usage("bad public key: " + why);
  }
  if (comment != nullptr) *comment = Trimmed(line.substr(pos));
  return Status::Ok();
}

std::string Fingerprint(const uint8_t key[kKeySize]) {
  uint8_t digest[kBlake2sOutSize];
  Blake2sHash(digest, key, kKeySize);
  std::string encoded = Base64Encode(digest, sizeof digest);
  while (!encoded.empty() && encoded.back() == '=') encoded.pop_back();
  return "BLAKE2s:" + encoded;
}

Status ReadKeyListFile(const std::string& path, bool missing_ok, std::string* text) {
  text->clear();
  platform::FileInfo info;
  Status s = platform::Lstat(path, &info);
  if (s.ok() && info.type == platform::FileType::kMissing) {
    return missing_ok ? Status::Ok() : Status::Usage(Printable(path) + ": no such file");
  }
  std::ifstream f(platform::FsPath(path), std::ios::binary);
  if (!s.ok() || !f) return Status::Usage(Printable(path) + ": can't read it");
  char buf[65536];
  while (f.read(buf, sizeof buf) || f.gcount() > 0) {
    text->append(buf, static_cast<size_t>(f.gcount()));
    if (text->size() > kMaxKeyListFileBytes) {
      return Status::Usage(Printable(path) + ": more than " +
                           std::to_string(kMaxKeyListFileBytes >> 20) +
                           " MiB; is it the right file?");
    }
  }
  return Status::Ok();
}

Status WriteKeyPair(const std::string& path, const std::string& comment,
                    uint8_t public_key_out[kKeySize]) {
  if (path.empty()) return Status::Usage("no key file named");
  const std::string pub_path = path + ".pub";
  for (const std::string& p : {path, pub_path}) {
    platform::FileInfo info;
    TS_RETURN_IF_ERROR(platform::Lstat(p, &info));
    if (info.type != platform::FileType::kMissing) {
      return Status::Usage(p +
                           " already exists; not overwriting it (remove it or choose another "
                           "name)");
    }
  }
  const fs::path parent = platform::FsPath(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) return Status::Io("create folder for " + path + ": " + ec.message());
  }

  uint8_t private_key[kKeySize];
  if (!platform::SecretRandom(private_key, sizeof private_key)) {
    return Status::Io("no secure random source");
  }
  uint8_t public_key[kKeySize];
  X25519PublicKey(public_key, private_key);

  // Built in a buffer sized up front and wiped after, so no stray copy of
  // the key is left in freed memory.
  std::string encoded = Base64Encode(private_key, sizeof private_key);
  SecureWipe(private_key, sizeof private_key);
  WipeOnExit wipe_encoded(&encoded);
  std::string contents;
  WipeOnExit wipe_contents(&contents);
  contents.reserve(sizeof kPrivateKeyType + encoded.size() + 1);
  contents += kPrivateKeyType;
  contents += ' ';
  contents += encoded;
  contents += '\n';

  TS_RETURN_IF_ERROR(WriteNewFile(path, contents, 0600));
  Status s = WriteNewFile(pub_path, FormatPublicKey(public_key, comment) + "\n", 0644);
  if (!s.ok()) {
    platform::RemoveEntry(path);  // a private key without its .pub is half a key pair
    return s;
  }
  std::memcpy(public_key_out, public_key, kKeySize);
  return Status::Ok();
}

Status ReadPrivateKey(const std::string& path, uint8_t private_key[kKeySize],
                      uint8_t public_key[kKeySize]) {
  // File::OpenRead never follows a final symlink; a key file kept behind
  // one (dotfiles managed elsewhere) is read where it really is.
  std::string real = path;
  platform::FileInfo info;
  TS_RETURN_IF_ERROR(platform::Lstat(real, &info));
  if (info.type == platform::FileType::kSymlink) {
    std::error_code ec;
    const fs::path target = fs::canonical(platform::FsPath(path), ec);
    if (ec) return Status::Io("private key " + path + ": " + ec.message());
    real = target.u8string();
    TS_RETURN_IF_ERROR(platform::Lstat(real, &info));
  }
  if (info.type == platform::FileType::kMissing) {
    return Status::Io("private key " + path + ": no such file");
  }
  // Checked before opening: opening a FIFO would wait for a writer.
  if (info.type != platform::FileType::kRegular) {
    return Status::Usage("private key " + path + " is not a regular file");
  }
  platform::File file;
  TS_RETURN_IF_ERROR(platform::File::OpenRead(real, &file));
  // The mode and size of what was opened, not of what the name held a
  // moment ago.
  TS_RETURN_IF_ERROR(file.Stat(&info));
  if (platform::KeepsPermissionBits() && (info.mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.mode & 07777));
    return Status::Usage("private key " + path + " is accessible by others (mode " + mode +
                         "); run: chmod 600 " + path);
  }
  if (info.size > kMaxPrivateKeyFileBytes) {
    return Status::Usage("private key " + path + " is " + std::to_string(info.size) +
                         " bytes; not a treesync private key");
  }
  std::string contents(static_cast<size_t>(info.size), '\0');
  WipeOnExit wipe_contents(&contents);
  size_t got = 0;
  TS_RETURN_IF_ERROR(file.ReadAt(0, &contents[0], contents.size(), &got));
  contents.resize(got);  // shrinking keeps the buffer, which is wiped

  const Status malformed =
      Status::Usage("private key " + path + ": not a treesync private key (expected one line \"" +
                    kPrivateKeyType + " BASE64\")");
  size_t pos = SkipByteOrderMark(contents), type_begin, type_end, key_begin, key_end;
  if (!NextWord(contents, &pos, &type_begin, &type_end)) return malformed;
  const std::string type = contents.substr(type_begin, type_end - type_begin);
  if (type == kPublicKeyType) {
    return Status::Usage(path + " is a public key; give the private key file (without .pub)");
  }
  if (type != kPrivateKeyType || !NextWord(contents, &pos, &key_begin, &key_end)) {
    return malformed;
  }
  // Only the line end may follow the key, and nothing may sit between
  // the two words but blanks.
  for (size_t i = type_end; i < key_begin; ++i) {
    if (!IsBlank(contents[i])) return malformed;
  }
  for (size_t i = key_end; i < contents.size(); ++i) {
    if (!IsSpace(contents[i])) return malformed;
  }
  std::string key;
  WipeOnExit wipe_key(&key);
  if (!DecodeBase64(contents.data() + key_begin, key_end - key_begin, &key) ||
      key.size() != kKeySize) {
    return malformed;
  }
  std::memcpy(private_key, key.data(), kKeySize);
  X25519PublicKey(public_key, private_key);
  return Status::Ok();
}

bool ParseIpAddress(const std::string& text, uint8_t out[16]) {
  if (text.find(':') != std::string::npos) return ParseIpv6(text, out);
  uint8_t v4[4];
  if (!ParseIpv4(text, v4)) return false;
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  std::memcpy(out, kMapped, sizeof kMapped);
  std::memcpy(out + 12, v4, 4);
  return true;
}

Status ParseCidr(const std::string& text, Cidr* out) {
  const size_t slash = text.find('/');
  const std::string addr = text.substr(0, slash);
  const bool v4 = addr.find(':') == std::string::npos;
  const int max_bits = v4 ? 32 : 128;
  Cidr net;
  if (!ParseIpAddress(addr, net.addr)) {
    return Status::Usage(Quoted(addr) + " is not an IPv4 or IPv6 address");
  }
  int bits = max_bits;
  if (slash != std::string::npos) {
    const std::string digits = text.substr(slash + 1);
    bool ok = !digits.empty() && digits.size() <= 3 && (digits == "0" || digits[0] != '0');
    bits = 0;
    for (size_t i = 0; ok && i < digits.size(); ++i) {
      if (digits[i] < '0' || digits[i] > '9') ok = false;
      bits = bits * 10 + (digits[i] - '0');
    }
    if (!ok || bits > max_bits) {
      return Status::Usage(Quoted(text) + ": prefix length must be 0 to " +
                           std::to_string(max_bits));
    }
  }
  net.prefix_bits = v4 ? bits + 96 : bits;
  Cidr masked = net;
  for (int i = net.prefix_bits; i < 128; ++i) {
    masked.addr[i / 8] = static_cast<uint8_t>(masked.addr[i / 8] & ~(0x80 >> (i % 8)));
  }
  if (std::memcmp(masked.addr, net.addr, 16) != 0) {
    return Status::Usage(Quoted(text) + " has bits set past its prefix; did you mean " +
                         FormatIp(masked.addr, v4) + "/" + std::to_string(bits) + "?");
  }
  *out = net;
  return Status::Ok();
}

bool CidrContains(const Cidr& net, const uint8_t addr[16]) {
  const int whole = net.prefix_bits / 8;
  if (std::memcmp(net.addr, addr, static_cast<size_t>(whole)) != 0) return false;
  const int rest = net.prefix_bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff00 >> rest);
  return (net.addr[whole] & mask) == (addr[whole] & mask);
}

Status ParseAuthorizedKeys(const std::string& text, std::vector<AuthorizedKey>* out) {
  std::vector<AuthorizedKey> keys;
  Status s = ForEachLine(text, [&](int number, const std::string& line) {
    if (IsSkippedLine(line)) return Status::Ok();
    const std::string at = LinePrefix(number);
    size_t pos = 0;
    std::string first, second;
    NextWord(line, &pos, &first);
    const size_t after_first = pos;
    const bool has_second = NextWord(line, &pos, &second);
    std::string options;
    if (first == kPublicKeyType) {
      pos = after_first;
    } else if (has_second && second == kPublicKeyType) {
      options = first;
    } else if (first == kPrivateKeyType || second == kPrivateKeyType) {
      return Status::Usage(at + "a private key; authorized keys lists public keys (.pub files)");
    } else {
      return Status::Usage(at + "expected [OPTIONS] " + kPublicKeyType + " KEY [COMMENT]");
    }
    AuthorizedKey entry;
    entry.line = number;
    std::string base64, why;
    if (!NextWord(line, &pos, &base64)) {
      return Status::Usage(at + "no key after " + kPublicKeyType);
    }
    if (!DecodePublicKey(base64, entry.key, &why)) return Status::Usage(at + why);
    entry.comment = Trimmed(line.substr(pos));
    if (!options.empty()) TS_RETURN_IF_ERROR(ParseKeyOptions(options, number, &entry));
    keys.push_back(std::move(entry));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  *out = std::move(keys);
  return Status::Ok();
}

const AuthorizedKey* FindAuthorizedKey(const std::vector<AuthorizedKey>& keys,
                                       const uint8_t key[kKeySize], const std::string& peer_ip) {
  uint8_t peer[16];
  const bool peer_known = ParseIpAddress(peer_ip.substr(0, peer_ip.find('%')), peer);
  for (const AuthorizedKey& entry : keys) {
    if (!ConstantTimeEqual(entry.key, key, kKeySize)) continue;
    if (entry.from.empty()) return &entry;
    if (!peer_known) continue;
    for (const Cidr& net : entry.from) {
      if (CidrContains(net, peer)) return &entry;
    }
  }
  return nullptr;
}

std::string KnownHostLine(const std::string& host, int port, const uint8_t key[kKeySize]) {
  const std::string host_part = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return host_part + ":" + std::to_string(port) + " " + kPublicKeyType + " " +
         Base64Encode(key, kKeySize);
}

Status LookupKnownHost(const std::string& file_text, const std::string& host, int port, bool* found,
                       uint8_t key[kKeySize]) {
  bool matched = false;
  uint8_t matched_key[kKeySize] = {};
  Status s = ForEachLine(file_text, [&](int number, const std::string& line) {
    if (IsSkippedLine(line)) return Status::Ok();
    const std::string at = LinePrefix(number);
    size_t pos = 0;
    std::string where, type, base64;
    NextWord(line, &pos, &where);
    std::string line_host, port_text;
    if (where[0] == '[') {
      const size_t close = where.find(']');
      if (close == std::string::npos || close + 1 >= where.size() || where[close + 1] != ':') {
        return Status::Usage(at + "expected [HOST]:PORT, found " + Quoted(where));
      }
      line_host = where.substr(1, close - 1);
      port_text = where.substr(close + 2);
    } else {
      const size_t colon = where.rfind(':');
      if (colon == std::string::npos) {
        return Status::Usage(at + "expected HOST:PORT, found " + Quoted(where));
      }
      line_host = where.substr(0, colon);
      port_text = where.substr(colon + 1);
      if (line_host.find(':') != std::string::npos) {
        return Status::Usage(at + "an IPv6 host goes in brackets: [ADDRESS]:PORT");
      }
    }
    int line_port = 0;
    if (line_host.empty() || !ParsePort(port_text, &line_port)) {
      return Status::Usage(at + "expected HOST:PORT with a port from 1 to 65535, found " +
                           Quoted(where));
    }
    if (!NextWord(line, &pos, &type) || type != kPublicKeyType) {
      return Status::Usage(at + "expected HOST:PORT " + kPublicKeyType + " KEY");
    }
    if (!NextWord(line, &pos, &base64)) {
      return Status::Usage(at + "no key after " + kPublicKeyType);
    }
    uint8_t line_key[kKeySize];
    std::string why;
    if (!DecodePublicKey(base64, line_key, &why)) return Status::Usage(at + why);
    if (!matched && line_port == port && EqualIgnoringAsciiCase(line_host, host)) {
      matched = true;
      std::memcpy(matched_key, line_key, kKeySize);
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  *found = matched;
  if (matched) std::memcpy(key, matched_key, kKeySize);
  return Status::Ok();
}

Status AppendKnownHost(const std::string& path, const std::string& host, int port,
                       const uint8_t key[kKeySize]) {
  const fs::path file = platform::FsPath(path);
  std::error_code ec;
  if (file.has_parent_path()) {
    fs::create_directories(file.parent_path(), ec);
    if (ec) return Status::Io("create folder for " + path + ": " + ec.message());
  }
  std::string text = KnownHostLine(host, port, key) + "\n";
  {
    // A last line someone left without its newline must not run into ours.
    std::ifstream in(file, std::ios::binary | std::ios::ate);
    if (in && in.tellg() > 0) {
      in.seekg(-1, std::ios::end);
      char last = '\n';
      if (in.get(last) && last != '\n') text.insert(0, "\n");
    }
  }
  std::ofstream out(file, std::ios::binary | std::ios::app);
  if (!out) return Status::Io("open " + path + " for appending failed");
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) return Status::Io("write " + path + " failed");
  return Status::Ok();
}

std::string DefaultKeyPath() {
  const std::string folder = platform::UserConfigFolder();
  if (folder.empty()) return std::string();
  return folder + static_cast<char>(fs::path::preferred_separator) + "key";
}

std::string DefaultKnownHostsPath() {
  const std::string folder = platform::UserConfigFolder();
  if (folder.empty()) return std::string();
  return folder + static_cast<char>(fs::path::preferred_separator) + "known_hosts";
}

}  // namespace treesync
