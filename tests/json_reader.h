// JsonValue: a small JSON reader for the published test vectors the tests
// read (Wycheproof, the BLAKE2 known answers, the Noise vectors). Tests
// only: it trusts its input, and a malformed file fails the test that
// reads it with a message naming the offset.
#ifndef TREESYNC_TESTS_JSON_READER_H_
#define TREESYNC_TESTS_JSON_READER_H_

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace treesync {
namespace test_vectors {

struct JsonValue {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<JsonValue> array;
  std::map<std::string, JsonValue> object;

  bool has(const std::string& key) const { return object.count(key) != 0; }
  // The member key; throws if there is none.
  const JsonValue& operator[](const std::string& key) const {
    auto it = object.find(key);
    if (it == object.end()) throw std::runtime_error("json: no member " + key);
    return it->second;
  }
};

// Parses text; throws std::runtime_error on malformed input.
JsonValue ParseJson(const std::string& text);

// Reads and parses the file at path; throws if it can't be read.
JsonValue ReadJsonFile(const std::string& path);

// The bytes a hex string spells ("" is empty); throws on odd length or a
// non-hex character.
std::string Unhex(const std::string& hex);

// A string's bytes, as the primitives take them.
inline const uint8_t* U(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// The path of tests/vectors/name, found beside the calling test's source:
// pass __FILE__ as this_file.
std::string VectorPath(const char* this_file, const std::string& name);

// --- implementation (tests only, header-only) ---

namespace json_detail {

class Parser {
 public:
  explicit Parser(const std::string& t) : t_(t) {}

  JsonValue Document() {
    JsonValue v = Value();
    Space();
    if (i_ != t_.size()) Fail("trailing bytes");
    return v;
  }

 private:
  [[noreturn]] void Fail(const char* what) const {
    throw std::runtime_error(std::string("json: ") + what + " at offset " + std::to_string(i_));
  }
  void Space() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\r' || t_[i_] == '\t'))
      ++i_;
  }
  bool Eat(char c) {
    Space();
    if (i_ < t_.size() && t_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void Expect(char c) {
    if (!Eat(c)) Fail("unexpected character");
  }
  bool Word(const char* w) {
    const std::string s(w);
    if (t_.compare(i_, s.size(), s) != 0) return false;
    i_ += s.size();
    return true;
  }

  JsonValue Value() {
    Space();
    if (i_ >= t_.size()) Fail("unexpected end");
    JsonValue v;
    const char c = t_[i_];
    if (c == '{') {
      ++i_;
      v.kind = JsonValue::kObject;
      if (Eat('}')) return v;
      do {
        Space();
        std::string key = String();
        Expect(':');
        v.object[key] = Value();
      } while (Eat(','));
      Expect('}');
    } else if (c == '[') {
      ++i_;
      v.kind = JsonValue::kArray;
      if (Eat(']')) return v;
      do v.array.push_back(Value());
      while (Eat(','));
      Expect(']');
    } else if (c == '"') {
      v.kind = JsonValue::kString;
      v.string = String();
    } else if (Word("true")) {
      v.kind = JsonValue::kBool;
      v.boolean = true;
    } else if (Word("false")) {
      v.kind = JsonValue::kBool;
    } else if (Word("null")) {
      v.kind = JsonValue::kNull;
    } else {
      size_t used = 0;
      try {
        v.number = std::stod(t_.substr(i_, 32), &used);
      } catch (const std::exception&) {
        Fail("bad value");
      }
      v.kind = JsonValue::kNumber;
      i_ += used;
    }
    return v;
  }

  static void Utf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      *out += char(cp);
    } else if (cp < 0x800) {
      *out += char(0xC0 | (cp >> 6));
      *out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      *out += char(0xE0 | (cp >> 12));
      *out += char(0x80 | ((cp >> 6) & 0x3F));
      *out += char(0x80 | (cp & 0x3F));
    } else {
      *out += char(0xF0 | (cp >> 18));
      *out += char(0x80 | ((cp >> 12) & 0x3F));
      *out += char(0x80 | ((cp >> 6) & 0x3F));
      *out += char(0x80 | (cp & 0x3F));
    }
  }

  uint32_t Hex4() {
    if (i_ + 4 > t_.size()) Fail("short \\u escape");
    const uint32_t v = uint32_t(std::stoul(t_.substr(i_, 4), nullptr, 16));
    i_ += 4;
    return v;
  }

  std::string String() {
    if (i_ >= t_.size() || t_[i_] != '"') Fail("expected a string");
    ++i_;
    std::string s;
    while (true) {
      if (i_ >= t_.size()) Fail("unterminated string");
      const char c = t_[i_++];
      if (c == '"') return s;
      if (c != '\\') {
        s += c;
        continue;
      }
      if (i_ >= t_.size()) Fail("unterminated escape");
      const char e = t_[i_++];
      switch (e) {
        case 'n': s += '\n'; break;
        case 't': s += '\t'; break;
        case 'r': s += '\r'; break;
        case 'b': s += '\b'; break;
        case 'f': s += '\f'; break;
        case 'u': {
          uint32_t cp = Hex4();
          if (cp >= 0xD800 && cp < 0xDC00 && Word("\\u")) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (Hex4() - 0xDC00);
          }
          Utf8(cp, &s);
          break;
        }
        default: s += e;
      }
    }
  }

  const std::string& t_;
  size_t i_ = 0;
};

}  // namespace json_detail

inline JsonValue ParseJson(const std::string& text) {
  return json_detail::Parser(text).Document();
}

inline JsonValue ReadJsonFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("json: can't read " + path);
  std::ostringstream s;
  s << f.rdbuf();
  return ParseJson(s.str());
}

inline std::string VectorPath(const char* this_file, const std::string& name) {
  const std::string f(this_file);
  const size_t slash = f.find_last_of("/\\");
  return (slash == std::string::npos ? std::string() : f.substr(0, slash + 1)) + "vectors/" + name;
}

inline std::string Unhex(const std::string& hex) {
  if (hex.size() % 2 != 0) throw std::runtime_error("hex: odd length");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    throw std::runtime_error("hex: bad digit");
  };
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = char(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  }
  return out;
}

}  // namespace test_vectors
}  // namespace treesync

#endif  // TREESYNC_TESTS_JSON_READER_H_
