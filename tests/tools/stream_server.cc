// stream_server: a streaming-session test peer written from docs/PROTOCOL.md
// alone ("Streaming", "Packed listing", "Hash", "Delta"), so it doubles as
// an independent implementation of the server side of a streaming session.
//
//   stream_server --port-file F [--entries N] SCENARIO
//     Listens on 127.0.0.1 (port 0), writes the port to F, serves exactly one
//     client and exits: 0 when the scenario was played out (an honest one to
//     its Done, a hostile one up to its breach), 2 when the client broke the
//     protocol as this peer sees it (it was sent an Error first), 3 when the
//     time bound ran out (20 s, 120 s for the big scenarios), 1 on misuse.
//     One summary line goes to stderr.
//   stream_server --verify DIR [--entries N] SCENARIO
//     Checks that DIR mirrors the scenario's tree exactly (types, modes,
//     mtimes, sizes, bytes, link targets, nothing extra); exit 0 or 1.
//
// Honest scenarios: tree (N entries, d0000/s00/f00 ..., 100 x 100 per top
// folder, generated on the fly), many-entries (N short entries, 100 empty
// files per folder), many-folders (N/2 folders of one empty file each:
// more folder weight than the initial credit), long-symlinks (N symlinks
// with 4,000-byte targets), warning-flood (1,000,000 Warnings inside a
// small tree), want-by-index (a small varied tree; a Want or WantDelta by
// index is answered with Error), gap, gap-root, gap-last (one Gap naming an
// open folder: exit 23).
// Hostile ones (the client must stop with exit 12): long-prefix, overdraw,
// data-overrun, restart-loop, gap-not-open, unsorted, frame-in-file (an
// Entries frame inside a file), frame-in-file-folder, frame-in-file-warning,
// frame-in-file-gap.
//
// Frames are encoded and decoded here by hand; only sockets (platform/net.h),
// file metadata for --verify (platform/fs_meta.h), XXH3-128 (src/xxh3.h) and
// Status come from the library.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fs_meta.h"
#include "net.h"
#include "status.h"
#include "xxh3.h"

using treesync::Status;

namespace {

// Frame types (PROTOCOL.md, the table under "Transport and framing").
constexpr uint8_t kHello = 0x01, kError = 0x02, kSync = 0x10, kFolder = 0x11, kFile = 0x12,
                  kSymlink = 0x13, kWarning = 0x14, kListEnd = 0x15, kEntries = 0x16,
                  kGap = 0x17, kWant = 0x20, kWantEnd = 0x21, kWantDelta = 0x22,
                  kListCredit = 0x23, kWantPaths = 0x24, kWantDeltaPath = 0x25, kBegin = 0x30,
                  kData = 0x31, kEnd = 0x32, kFileError = 0x33, kCopy = 0x34, kDone = 0x40;
constexpr uint32_t kFlagPacked = 2, kFlagStreaming = 4;
constexpr uint64_t kInitialListCredit = 2097152;
constexpr uint64_t kEntryWeightBase = 128;
constexpr uint32_t kMaxPayload = 1u << 20;
constexpr size_t kMaxPath = 4096;
constexpr size_t kMaxMessage = 4096;
constexpr size_t kMaxWantsPerFrame = 4096;
constexpr size_t kDataChunk = 256 * 1024;
// Every entry's and the served folder's mtime: odd nanoseconds, so a client
// that rounds to microseconds shows.
constexpr int64_t kMtime = 1600000000LL * 1000000000LL + 123456789;

// Entry types, as in the head of a packed record.
constexpr uint8_t kTypeFolder = 1, kTypeFile = 2, kTypeSymlink = 3;

// ---- Payload encoding ----------------------------------------------------

void PutU8(std::string* o, uint8_t v) { o->push_back(static_cast<char>(v)); }
void PutU32(std::string* o, uint32_t v) {
  for (int i = 0; i < 4; ++i) o->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string* o, uint64_t v) {
  for (int i = 0; i < 8; ++i) o->push_back(static_cast<char>(v >> (8 * i)));
}
void PutBytes(std::string* o, const std::string& s) {
  PutU32(o, static_cast<uint32_t>(s.size()));
  o->append(s);
}
void PutVarint(std::string* o, uint64_t v) {
  while (v >= 0x80) {
    o->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  o->push_back(static_cast<char>(v));
}
uint64_t ZigZag(int64_t d) {
  uint64_t u = static_cast<uint64_t>(d);
  return (u << 1) ^ (d < 0 ? ~uint64_t(0) : 0);
}
void PutHash(std::string* o, const treesync::Hash128& h) {
  uint8_t b[16];
  treesync::Hash128ToBytes(h, b);  // canonical: high 64 bits first, big-endian
  o->append(reinterpret_cast<const char*>(b), 16);
}

// Reads little-endian fields; the first failure sticks.
class Cursor {
 public:
  explicit Cursor(const std::string& s) : s_(s) {}
  bool U32(uint32_t* v) {
    if (!Need(4)) return false;
    *v = 0;
    for (int i = 0; i < 4; ++i) *v |= uint32_t(uint8_t(s_[pos_ + i])) << (8 * i);
    pos_ += 4;
    return true;
  }
  bool U64(uint64_t* v) {
    if (!Need(8)) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i) *v |= uint64_t(uint8_t(s_[pos_ + i])) << (8 * i);
    pos_ += 8;
    return true;
  }
  bool U8(uint8_t* v) {
    if (!Need(1)) return false;
    *v = uint8_t(s_[pos_++]);
    return true;
  }
  bool Bytes(std::string* out, size_t max) {
    uint32_t n = 0;
    if (!U32(&n)) return false;
    if (n > max) return ok_ = false;
    if (!Need(n)) return false;
    out->assign(s_, pos_, n);
    pos_ += n;
    return true;
  }
  bool ok() const { return ok_; }
  bool AtEnd() const { return ok_ && pos_ == s_.size(); }

 private:
  bool Need(size_t n) {
    if (!ok_ || s_.size() - pos_ < n) return ok_ = false;
    return true;
  }
  const std::string& s_;
  size_t pos_ = 0;
  bool ok_ = true;
};

std::string Hex8(uint8_t t) {
  char b[8];
  std::snprintf(b, sizeof b, "0x%02x", t);
  return b;
}

// The receiver's path rules (PROTOCOL.md, "Rules a receiver enforces"), plus
// the reserved temporary names: "" when p is fine, else the problem.
std::string PathProblem(const std::string& p) {
  if (p.empty()) return "empty path";
  if (p.size() > kMaxPath) return "path longer than 4096 bytes";
  if (p.find('\0') != std::string::npos) return "NUL in path";
  if (p[0] == '/') return "absolute path";
  size_t start = 0;
  std::string last;
  for (;;) {
    size_t slash = p.find('/', start);
    std::string c = p.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (c.empty() || c == "." || c == "..") return "empty, . or .. component";
    last = c;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  // .treesync-<16 hex>.tmp, in any letter case.
  if (last.size() == 30) {
    std::string l = last;
    for (char& ch : l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    bool hex = true;
    for (size_t i = 10; i < 26; ++i) hex = hex && std::isxdigit(static_cast<unsigned char>(l[i]));
    if (hex && l.compare(0, 10, ".treesync-") == 0 && l.compare(26, 4, ".tmp") == 0) {
      return "temporary name";
    }
  }
  return "";
}

// ---- The connection ------------------------------------------------------

// Frames over the socket: a poll loop that always reads while it writes.
// Its own frame parser takes any type byte (the caller judges it), so it
// works whatever frame types the library knows.
class Link {
 public:
  explicit Link(platform::Socket s) : s_(std::move(s)) {}

  void Queue(uint8_t type, const char* p, size_t n) {
    out_.push_back(static_cast<char>(type));
    PutU32(&out_, static_cast<uint32_t>(n));
    out_.append(p, n);
  }
  void Queue(uint8_t type, const std::string& p) { Queue(type, p.data(), p.size()); }
  size_t pending() const { return out_.size() - out_pos_; }
  bool peer_closed() const { return eof_; }

  // Waits up to wait_ms for readiness, then writes what fits and reads
  // what came. A send error (the peer hung up) is a kSocket error.
  Status Pump(int wait_ms) {
    bool want_read = !eof_ && in_.size() - in_pos_ < (64u << 20);
    bool want_write = pending() > 0;
    if (!want_read && !want_write) {
      if (wait_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
      return Status::Ok();
    }
    platform::Readiness r;
    TS_RETURN_IF_ERROR(platform::Poll(s_, want_read, want_write, wait_ms, &r));
    if (r.writable && want_write) {
      while (pending() > 0) {
        size_t wrote = 0;
        TS_RETURN_IF_ERROR(s_.Write(out_.data() + out_pos_, pending(), &wrote));
        if (wrote == 0) break;
        out_pos_ += wrote;
      }
      if (out_pos_ == out_.size()) {
        out_.clear();
        out_pos_ = 0;
      } else if (out_pos_ > (8u << 20)) {
        out_.erase(0, out_pos_);
        out_pos_ = 0;
      }
    }
    if (r.readable && want_read) {
      char buf[64 * 1024];
      for (int i = 0; i < 64; ++i) {
        size_t got = 0;
        bool eof = false;
        Status st = s_.Read(buf, sizeof buf, &got, &eof);
        if (!st.ok()) {  // a reset: the peer is gone
          eof_ = true;
          break;
        }
        if (eof) eof_ = true;
        if (got == 0) break;
        in_.append(buf, got);
      }
    }
    return Status::Ok();
  }

  // The next complete input frame, if one has arrived.
  Status Next(uint8_t* type, std::string* payload, bool* got) {
    *got = false;
    size_t avail = in_.size() - in_pos_;
    if (avail < 5) return Compact();
    const unsigned char* h = reinterpret_cast<const unsigned char*>(in_.data() + in_pos_);
    uint32_t len = h[1] | h[2] << 8 | h[3] << 16 | uint32_t(h[4]) << 24;
    if (len > kMaxPayload) {
      return Status::Protocol("frame " + Hex8(h[0]) + " of " + std::to_string(len) + " bytes");
    }
    if (avail < 5 + size_t(len)) return Compact();
    *type = h[0];
    payload->assign(in_, in_pos_ + 5, len);
    in_pos_ += 5 + size_t(len);
    *got = true;
    return Status::Ok();
  }

  // Everything queued handed to the OS (or the peer gone), within max_ms.
  void FlushFor(int max_ms) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(max_ms);
    while (pending() > 0 && std::chrono::steady_clock::now() < until) {
      if (!Pump(100).ok()) return;
    }
  }
  // Waits up to max_ms for the peer to close, discarding what it sends.
  void AwaitClose(int max_ms) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(max_ms);
    while (!eof_ && std::chrono::steady_clock::now() < until) {
      if (!Pump(100).ok()) return;
      in_.clear();
      in_pos_ = 0;
    }
  }

 private:
  Status Compact() {
    if (in_pos_ > 0 && in_pos_ >= in_.size() / 2) {
      in_.erase(0, in_pos_);
      in_pos_ = 0;
    }
    return Status::Ok();
  }

  platform::Socket s_;
  std::string out_;
  size_t out_pos_ = 0;
  std::string in_;
  size_t in_pos_ = 0;
  bool eof_ = false;
};

// ---- Entries and file bodies --------------------------------------------

struct Ent {
  uint8_t type = kTypeFile;
  std::string path;
  uint32_t mode = 0644;
  int64_t mtime_ns = kMtime;
  uint64_t size = 0;
  std::string target;
};

uint64_t Fnv(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// A file's bytes, derived from its path: the path repeated, each repetition
// xor-ed with its own number, so blocks of a larger file differ.
std::string Content(const std::string& path, uint64_t size) {
  std::string out(size, '\0');
  size_t l = path.size();
  for (uint64_t i = 0; i < size; ++i) {
    out[i] = static_cast<char>(path[i % l] ^ static_cast<uint8_t>(((i / l) * 0x9E3779B1u) >> 24));
  }
  return out;
}

// What the server has at a path a client asks for.
struct Body {
  uint32_t mode = 0644;
  int64_t mtime_ns = kMtime;
  std::string bytes;
};

// Packs entries into Entries payloads ("Packed listing"): longest shared
// prefix, mode left out when unchanged, mtime as a zigzag difference.
class Packer {
 public:
  explicit Packer(size_t cap) : cap_(cap) {}
  void Add(const Ent& e) {
    bool first = buf_.empty();
    size_t shared = 0;
    if (!first) {
      size_t m = std::min(prev_path_.size(), e.path.size());
      while (shared < m && prev_path_[shared] == e.path[shared]) ++shared;
    }
    bool same_mode = !first && e.mode == prev_mode_;
    PutU8(&buf_, static_cast<uint8_t>(e.type | (same_mode ? 8 : 0)));
    PutVarint(&buf_, shared);
    PutVarint(&buf_, e.path.size() - shared);
    buf_.append(e.path, shared, std::string::npos);
    if (!same_mode) PutVarint(&buf_, e.mode);
    int64_t prev = first ? 0 : prev_mtime_;
    PutVarint(&buf_, ZigZag(static_cast<int64_t>(static_cast<uint64_t>(e.mtime_ns) -
                                                 static_cast<uint64_t>(prev))));
    if (e.type == kTypeFile) PutVarint(&buf_, e.size);
    if (e.type == kTypeSymlink) {
      PutVarint(&buf_, e.target.size());
      buf_.append(e.target);
    }
    prev_path_ = e.path;
    prev_mode_ = e.mode;
    prev_mtime_ = e.mtime_ns;
  }
  bool full() const { return buf_.size() >= cap_; }
  bool empty() const { return buf_.empty(); }
  std::string Take() {
    std::string out;
    out.swap(buf_);
    return out;
  }

 private:
  size_t cap_;
  std::string buf_;
  std::string prev_path_;
  uint32_t prev_mode_ = 0;
  int64_t prev_mtime_ = 0;
};

// One entry in its own Folder/File/Symlink frame.
std::string EntryFrame(const Ent& e) {
  std::string p;
  PutBytes(&p, e.path);
  PutU32(&p, e.mode);
  PutU64(&p, static_cast<uint64_t>(e.mtime_ns));
  if (e.type == kTypeFile) PutU64(&p, e.size);
  if (e.type == kTypeSymlink) PutBytes(&p, e.target);
  return p;
}

// ---- Generated trees -----------------------------------------------------

// Names are prefix + a zero-padded number of `width` digits; level 0 has up
// to 10^width entries, every other level `fanout`. The last level holds the
// leaves (files or symlinks), the others folders.
struct Level {
  char prefix;
  int width;
  uint32_t fanout;
};

struct Layout {
  std::vector<Level> levels;
  uint8_t leaf = kTypeFile;
  bool empty_files = false;
  uint64_t total = 0;  // entries listed
};

uint64_t Pow10(int w) {
  uint64_t v = 1;
  while (w-- > 0) v *= 10;
  return v;
}

void AppendName(std::string* s, const Level& l, uint32_t i) {
  s->push_back(l.prefix);
  char d[16];
  for (int k = l.width - 1; k >= 0; --k) {
    d[k] = static_cast<char>('0' + i % 10);
    i /= 10;
  }
  s->append(d, l.width);
}

std::string LinkTarget(const std::string& path) {
  std::string t = "../" + path + "/";
  static const char kPad[] = "abcdefghijklmnopqrstuvwxyz/";
  while (t.size() < 4000) t.push_back(kPad[t.size() % (sizeof kPad - 1)]);
  t.resize(4000);
  return t;
}

void LeafMeta(const Layout& l, Ent* e) {
  e->type = l.leaf;
  if (l.leaf == kTypeSymlink) {
    e->mode = 0777;
    e->size = 0;
    e->target = LinkTarget(e->path);
    return;
  }
  uint64_t h = Fnv(e->path);
  e->size = l.empty_files ? 0 : h % 65;
  e->mode = (h >> 20) & 1 ? 0755 : 0644;
}

// The layout's entries in listing order, one at a time.
class Gen {
 public:
  explicit Gen(const Layout& l)
      : l_(l), idx_(l.levels.size(), 0), plen_(l.levels.size(), 0) {}
  bool Next(Ent* e) {
    if (emitted_ >= l_.total || idx_[0] >= Pow10(l_.levels[0].width)) return false;
    const int leaf = static_cast<int>(l_.levels.size()) - 1;
    int d = depth_;
    path_.resize(plen_[d]);
    AppendName(&path_, l_.levels[d], idx_[d]);
    e->path.assign(path_);
    e->mtime_ns = kMtime;
    e->target.clear();
    if (d < leaf) {
      e->type = kTypeFolder;
      e->mode = 0755;
      e->size = 0;
      path_.push_back('/');
      plen_[d + 1] = path_.size();
      idx_[d + 1] = 0;
      depth_ = d + 1;
    } else {
      LeafMeta(l_, e);
      ++idx_[d];
      while (d > 0 && idx_[d] == l_.levels[d].fanout) ++idx_[--d];
      depth_ = d;
    }
    ++emitted_;
    return true;
  }

 private:
  const Layout& l_;
  std::vector<uint32_t> idx_;
  std::vector<size_t> plen_;
  int depth_ = 0;
  uint64_t emitted_ = 0;
  std::string path_;
};

// Whether path is a leaf file the layout lists; fills *b.
bool LayoutLookup(const Layout& l, const std::string& path, Body* b) {
  if (l.leaf != kTypeFile) return false;
  const size_t n = l.levels.size();
  // Entries below one entry at each level, the entry included.
  std::vector<uint64_t> below(n, 1);
  for (size_t k = n - 1; k-- > 0;) below[k] = 1 + l.levels[k + 1].fanout * below[k + 1];
  uint64_t ordinal = n - 1;
  size_t at = 0;
  for (size_t k = 0; k < n; ++k) {
    const Level& lv = l.levels[k];
    if (k > 0) {
      if (at >= path.size() || path[at] != '/') return false;
      ++at;
    }
    if (path.size() - at < size_t(1 + lv.width) || path[at] != lv.prefix) return false;
    uint64_t i = 0;
    for (int w = 0; w < lv.width; ++w) {
      char c = path[at + 1 + w];
      if (c < '0' || c > '9') return false;
      i = i * 10 + uint64_t(c - '0');
    }
    if (k > 0 && i >= lv.fanout) return false;
    ordinal += i * below[k];
    at += 1 + lv.width;
  }
  if (at != path.size() || ordinal >= l.total) return false;
  Ent e;
  e.path = path;
  LeafMeta(l, &e);
  b->mode = e.mode;
  b->mtime_ns = kMtime;
  b->bytes = Content(path, e.size);
  return true;
}

// ---- Small fixed trees -----------------------------------------------------

Ent F(const std::string& path, uint64_t size, uint32_t mode = 0644) {
  Ent e;
  e.type = kTypeFile;
  e.path = path;
  e.size = size;
  e.mode = mode;
  return e;
}
Ent D(const std::string& path, uint32_t mode = 0755) {
  Ent e;
  e.type = kTypeFolder;
  e.path = path;
  e.mode = mode;
  return e;
}
Ent L(const std::string& path, const std::string& target) {
  Ent e;
  e.type = kTypeSymlink;
  e.path = path;
  e.mode = 0777;
  e.target = target;
  return e;
}

// want-by-index: sorted bytewise and unsigned ("\xc3\xa9" after "z"), a
// multi-frame file for deltas, an empty file, a deep folder, a symlink.
std::vector<Ent> VariedTree() {
  return {D("B"),
          F("B/empty", 0),
          F("a", 1),
          F("a-b", 3, 0755),
          D("big"),
          F("big/data.bin", 3 * 256 * 1024 + 12345),
          D("deep"),
          D("deep/er", 0700),
          D("deep/er/est"),
          F("deep/er/est/leaf", 64),
          L("link", "big/data.bin"),
          F("z", 17),
          D("\xc3\xa9t\xc3\xa9"),
          F("\xc3\xa9t\xc3\xa9/f", 2)};
}

bool ListLookup(const std::vector<Ent>& list, const std::string& path, Body* b) {
  for (const Ent& e : list) {
    if (e.path != path) continue;
    if (e.type != kTypeFile) return false;
    b->mode = e.mode;
    b->mtime_ns = e.mtime_ns;
    b->bytes = Content(path, e.size);
    return true;
  }
  return false;
}

// ---- The session -----------------------------------------------------------

struct Request {
  bool delta = false;
  uint32_t tag = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  std::string path;
  uint32_t block_size = 0;
  uint64_t basis_size = 0;
  std::vector<std::pair<uint32_t, uint64_t>> blocks;  // weak, strong
};

// rsync's rolling checksum of one block (PROTOCOL.md, "Delta").
uint32_t Weak(const char* p, size_t n) {
  uint32_t a = 0, b = 0;
  for (size_t i = 0; i < n; ++i) {
    uint8_t c = static_cast<uint8_t>(p[i]);
    a += c;
    b += static_cast<uint32_t>(n - i) * c;
  }
  return (a & 0xffff) | (b & 0xffff) << 16;
}

class Session {
 public:
  Session(Link* link, uint32_t flags) : link_(*link), packed_(flags & kFlagPacked) {}

  // Knobs the scenarios turn.
  bool ignore_credit = false;
  bool hold_answers = false;  // answer nothing until Finish
  size_t pack_cap = 16 * 1024;
  std::function<bool(const std::string&, Body*)> lookup;

  // Statistics for the summary line.
  uint64_t listed = 0, weight = 0, credit_frames = 0, credit_granted = kInitialListCredit;
  uint64_t requests = 0, deltas = 0, file_errors = 0, bad_requests = 0, warnings = 0;
  std::string first_bad;
  bool client_error = false;

  Status Sync() {
    std::string p;
    PutU32(&p, 0755);
    PutU64(&p, static_cast<uint64_t>(kMtime));
    link_.Queue(kSync, p);
    return Status::Ok();
  }

  // One listing entry, within the credit unless ignore_credit.
  Status Entry(const Ent& e) {
    uint64_t w = kEntryWeightBase + e.path.size();
    if (!ignore_credit) {
      while (w > credit_) {
        TS_RETURN_IF_ERROR(FlushEntries());
        TS_RETURN_IF_ERROR(AnswerQueued());
        TS_RETURN_IF_ERROR(Service(200));
      }
    }
    credit_ = credit_ >= w ? credit_ - w : 0;
    weight += w;
    ++listed;
    if (!packed_) {
      link_.Queue(e.type == kTypeFolder ? kFolder : e.type == kTypeFile ? kFile : kSymlink,
                  EntryFrame(e));
      if (listed % 256 == 0) TS_RETURN_IF_ERROR(Breathe());
      return Status::Ok();
    }
    if (packer_ == nullptr || pack_cap != packer_cap_) {
      TS_RETURN_IF_ERROR(FlushEntries());
      packer_.reset(new Packer(pack_cap));
      packer_cap_ = pack_cap;
    }
    packer_->Add(e);
    if (packer_->full()) {
      TS_RETURN_IF_ERROR(FlushEntries());
      TS_RETURN_IF_ERROR(Breathe());
    }
    return Status::Ok();
  }

  Status FlushEntries() {
    if (packer_ != nullptr && !packer_->empty()) link_.Queue(kEntries, packer_->Take());
    return Status::Ok();
  }

  Status Warning(const std::string& path, const std::string& message) {
    TS_RETURN_IF_ERROR(FlushEntries());
    std::string p;
    PutBytes(&p, path);
    PutBytes(&p, message);
    link_.Queue(kWarning, p);
    ++warnings;
    if (warnings % 512 == 0) TS_RETURN_IF_ERROR(Breathe());
    return Status::Ok();
  }

  Status Gap(const std::string& folder, const std::string& message) {
    TS_RETURN_IF_ERROR(FlushEntries());
    std::string p;
    PutBytes(&p, folder);
    PutBytes(&p, message);
    link_.Queue(kGap, p);
    gap_sent_ = true;
    return Status::Ok();
  }

  Status ListEnd() {
    TS_RETURN_IF_ERROR(FlushEntries());
    std::string p;
    PutU32(&p, static_cast<uint32_t>(listed));
    PutU8(&p, gap_sent_ ? 0 : 1);
    link_.Queue(kListEnd, p);
    list_ended_ = true;
    return Status::Ok();
  }

  // Lists nothing more, answers every request, then Done after WantEnd.
  Status Finish() {
    hold_answers = false;
    if (!list_ended_) TS_RETURN_IF_ERROR(ListEnd());
    for (;;) {
      TS_RETURN_IF_ERROR(AnswerQueued());
      if (want_end_ && queue_.empty()) break;
      TS_RETURN_IF_ERROR(Service(200));
    }
    link_.Queue(kDone, std::string());
    link_.FlushFor(10000);
    link_.AwaitClose(5000);
    return Status::Ok();
  }

  // Waits for the next request and takes it off the queue.
  Status TakeRequest(Request* r) {
    TS_RETURN_IF_ERROR(FlushEntries());
    while (queue_.empty()) {
      if (want_end_) return Status::Socket("the client sent WantEnd without asking for the file");
      TS_RETURN_IF_ERROR(Service(200));
    }
    *r = std::move(queue_.front());
    queue_.pop_front();
    return Status::Ok();
  }

  // Raw frames for the hostile scenarios, with backpressure.
  Status Send(uint8_t type, const std::string& p) {
    link_.Queue(type, p);
    while (link_.pending() > (4u << 20)) TS_RETURN_IF_ERROR(Service(200));
    return Status::Ok();
  }
  Status Flush() {
    while (link_.pending() > 0) TS_RETURN_IF_ERROR(Service(200));
    return Status::Ok();
  }
  static std::string BeginPayload(uint32_t tag, uint64_t offset) {
    std::string p;
    PutU32(&p, tag);
    PutU64(&p, offset);
    return p;
  }
  static std::string EndPayload(const std::string& bytes, uint32_t mode, int64_t mtime_ns) {
    std::string p;
    PutU64(&p, bytes.size());
    PutU64(&p, static_cast<uint64_t>(mtime_ns));
    PutU32(&p, mode);
    PutHash(&p, treesync::Xxh3_128(bytes.data(), bytes.size()));
    return p;
  }

  // Sends Error and returns the kProtocol status that ends the scenario.
  Status Refuse(const std::string& why) {
    std::string p;
    PutU8(&p, 12);
    PutBytes(&p, why.substr(0, kMaxMessage));
    link_.Queue(kError, p);
    link_.FlushFor(3000);
    link_.AwaitClose(3000);  // closing first could reset the Error away
    return Status::Protocol(why);
  }

  Status Service(int wait_ms) {
    TS_RETURN_IF_ERROR(link_.Pump(wait_ms));
    for (;;) {
      uint8_t type = 0;
      std::string payload;
      bool got = false;
      Status s = link_.Next(&type, &payload, &got);
      if (!s.ok()) return Refuse(s.message());
      if (!got) break;
      TS_RETURN_IF_ERROR(Handle(type, payload));
    }
    if (link_.peer_closed()) return Status::Socket("the client closed the connection");
    return Status::Ok();
  }

 private:
  // Non-blocking: sends what fits, takes requests, answers them; waits only
  // while much output is queued.
  Status Breathe() {
    TS_RETURN_IF_ERROR(Service(0));
    TS_RETURN_IF_ERROR(AnswerQueued());
    while (link_.pending() > (2u << 20)) TS_RETURN_IF_ERROR(Service(200));
    return Status::Ok();
  }

  Status Handle(uint8_t type, const std::string& payload) {
    Cursor c(payload);
    switch (type) {
      case kListCredit: {
        uint32_t n = 0;
        if (!c.U32(&n) || !c.AtEnd()) return Refuse("malformed ListCredit");
        credit_ += n;
        credit_granted += n;
        ++credit_frames;
        return Status::Ok();
      }
      case kWantPaths: {
        if (want_end_) return Refuse("WantPaths after WantEnd");
        size_t count = 0;
        while (!c.AtEnd()) {
          Request r;
          if (!c.U32(&r.tag) || !c.U64(&r.offset) || !c.U64(&r.size) ||
              !c.Bytes(&r.path, kMaxPath)) {
            return Refuse("malformed WantPaths");
          }
          std::string bad = PathProblem(r.path);
          if (!bad.empty()) return Refuse("WantPaths: " + bad);
          queue_.push_back(std::move(r));
          ++count;
        }
        if (count == 0 || count > kMaxWantsPerFrame) {
          return Refuse("WantPaths with " + std::to_string(count) + " requests");
        }
        requests += count;
        return Status::Ok();
      }
      case kWantDeltaPath: {
        if (want_end_) return Refuse("WantDeltaPath after WantEnd");
        Request r;
        r.delta = true;
        uint32_t count = 0;
        if (!c.U32(&r.tag) || !c.U64(&r.size) || !c.Bytes(&r.path, kMaxPath) ||
            !c.U32(&r.block_size) || !c.U64(&r.basis_size) || !c.U32(&count)) {
          return Refuse("malformed WantDeltaPath");
        }
        std::string bad = PathProblem(r.path);
        if (!bad.empty()) return Refuse("WantDeltaPath: " + bad);
        if (r.block_size < 1 || r.block_size > (1u << 20) || count > 65536 ||
            count != (r.basis_size + r.block_size - 1) / r.block_size) {
          return Refuse("WantDeltaPath: bad signature shape");
        }
        for (uint32_t i = 0; i < count; ++i) {
          uint32_t weak = 0;
          uint64_t strong = 0;
          if (!c.U32(&weak) || !c.U64(&strong)) return Refuse("malformed WantDeltaPath");
          r.blocks.emplace_back(weak, strong);
        }
        if (!c.AtEnd()) return Refuse("WantDeltaPath with trailing bytes");
        queue_.push_back(std::move(r));
        ++requests;
        ++deltas;
        return Status::Ok();
      }
      case kWantEnd:
        if (!payload.empty()) return Refuse("malformed WantEnd");
        if (!list_ended_) return Refuse("WantEnd before ListEnd");
        if (want_end_) return Refuse("a second WantEnd");
        want_end_ = true;
        return Status::Ok();
      case kWant:
      case kWantDelta:
        return Refuse(std::string(type == kWant ? "Want" : "WantDelta") +
                      " by index in a streaming session");
      case kError: {
        uint8_t code = 0;
        std::string msg;
        c.U8(&code);
        c.Bytes(&msg, kMaxMessage);
        std::fprintf(stderr, "stream_server: the client sent Error %u: %s\n", code, msg.c_str());
        client_error = true;
        return Status::Socket("the client sent Error");
      }
      default:
        return Refuse("unexpected frame " + Hex8(type) + " from the client");
    }
  }

  Status AnswerQueued() {
    while (!hold_answers && !queue_.empty()) {
      Request r = std::move(queue_.front());
      queue_.pop_front();
      TS_RETURN_IF_ERROR(Answer(r));
    }
    return Status::Ok();
  }

  void Bad(const std::string& why) {
    if (bad_requests++ == 0) first_bad = why;
  }

  Status FileError(uint32_t tag, const std::string& message) {
    std::string p;
    PutU32(&p, tag);
    PutBytes(&p, message);
    ++file_errors;
    return Send(kFileError, p);
  }

  Status Answer(const Request& r) {
    Body b;
    if (!lookup || !lookup(r.path, &b)) {
      Bad("asked for " + r.path + ", which is no file listed");
      return FileError(r.tag, r.path + ": not a regular file here");
    }
    if (r.size != b.bytes.size()) {
      Bad("asked for " + r.path + " with size " + std::to_string(r.size) + ", listed as " +
          std::to_string(b.bytes.size()));
      if (b.bytes.size() > r.size) return FileError(r.tag, r.path + ": grew since it was listed");
    }
    if (!r.delta) {
      uint64_t offset = r.offset <= b.bytes.size() ? r.offset : 0;
      TS_RETURN_IF_ERROR(Send(kBegin, BeginPayload(r.tag, offset)));
      for (uint64_t at = offset; at < b.bytes.size(); at += kDataChunk) {
        size_t n = static_cast<size_t>(std::min<uint64_t>(kDataChunk, b.bytes.size() - at));
        TS_RETURN_IF_ERROR(Send(kData, b.bytes.substr(at, n)));
      }
      return Send(kEnd, EndPayload(b.bytes, b.mode, b.mtime_ns));
    }
    // A delta: each block of the basis that equals the file's bytes at the
    // same offset goes as part of a Copy run, everything else as Data, in
    // file order.
    TS_RETURN_IF_ERROR(Send(kBegin, BeginPayload(r.tag, 0)));
    const std::string& s = b.bytes;
    const uint64_t bs = r.block_size;
    const uint32_t count = static_cast<uint32_t>(r.blocks.size());
    uint32_t run_first = 0, run_len = 0;
    std::string data;
    auto flush_run = [&]() -> Status {
      if (run_len == 0) return Status::Ok();
      std::string p;
      PutU32(&p, run_first);
      PutU32(&p, run_len);
      run_len = 0;
      return Send(kCopy, p);
    };
    auto flush_data = [&]() -> Status {
      for (size_t at = 0; at < data.size(); at += kDataChunk) {
        TS_RETURN_IF_ERROR(Send(kData, data.substr(at, kDataChunk)));
      }
      data.clear();
      return Status::Ok();
    };
    uint64_t at = 0;  // equals i * bs while i < count
    for (uint32_t i = 0; at < s.size(); ++i) {
      bool match = false;
      uint64_t len = 0;
      if (i < count) {
        len = std::min<uint64_t>(bs, r.basis_size - at);
        match = at + len <= s.size() && Weak(s.data() + at, len) == r.blocks[i].first &&
                treesync::Xxh3_128(s.data() + at, len).low == r.blocks[i].second;
      }
      if (match) {
        TS_RETURN_IF_ERROR(flush_data());
        if (run_len == 0) run_first = i;
        ++run_len;
        at += len;
        if (uint64_t(run_len) * bs >= (1u << 20)) TS_RETURN_IF_ERROR(flush_run());
      } else {
        TS_RETURN_IF_ERROR(flush_run());
        uint64_t upto = i < count ? std::min<uint64_t>(s.size(), at + bs) : s.size();
        data.append(s, at, upto - at);
        at = upto;
        if (data.size() >= kDataChunk) TS_RETURN_IF_ERROR(flush_data());
      }
    }
    TS_RETURN_IF_ERROR(flush_run());
    TS_RETURN_IF_ERROR(flush_data());
    return Send(kEnd, EndPayload(s, b.mode, b.mtime_ns));
  }

  Link& link_;
  bool packed_;
  uint64_t credit_ = kInitialListCredit;
  std::unique_ptr<Packer> packer_;
  size_t packer_cap_ = 0;
  std::deque<Request> queue_;
  bool list_ended_ = false, want_end_ = false, gap_sent_ = false;
};

// ---- Scenarios -------------------------------------------------------------

struct Options {
  std::string scenario;
  uint64_t entries = 0;  // 0: the scenario's default
};

bool Has(const Options& o, const char* s) { return o.scenario == s; }

// The generated layouts, for serving and for --verify.
bool MakeLayout(const Options& o, Layout* l) {
  if (Has(o, "tree") || Has(o, "warning-flood")) {
    l->levels = {{'d', 4, 0}, {'s', 2, 100}, {'f', 2, 100}};
    l->total = o.entries ? o.entries : Has(o, "tree") ? 1000000 : 2000;
    return true;
  }
  if (Has(o, "many-entries")) {
    l->levels = {{'d', 6, 0}, {'f', 2, 100}};
    l->empty_files = true;
    l->total = o.entries ? o.entries : 4194305;
    return true;
  }
  if (Has(o, "many-folders")) {
    // More folder weight than the initial credit (~135 bytes a folder): a
    // receiver that gives a folder's credit back only at the very end stalls.
    l->levels = {{'d', 6, 0}, {'f', 1, 1}};
    l->empty_files = true;
    l->total = o.entries ? o.entries : 160000;
    return true;
  }
  if (Has(o, "long-symlinks")) {
    l->levels = {{'l', 6, 0}};
    l->leaf = kTypeSymlink;
    l->total = o.entries ? o.entries : 10000;
    return true;
  }
  return false;
}

int BoundSeconds(const Options& o) {
  Layout l;
  if (!MakeLayout(o, &l)) return 20;
  return l.total > 50000 || Has(o, "warning-flood") ? 120 : 20;
}

Status ListAll(Session* s, const std::vector<Ent>& list) {
  for (const Ent& e : list) TS_RETURN_IF_ERROR(s->Entry(e));
  return Status::Ok();
}

// A file listed as 10 bytes, asked for, answered by `misbehave`.
Status TenByteFile(Session* s, bool list_end_first, Request* r) {
  std::vector<Ent> list = {F("f", 10)};
  s->lookup = [list](const std::string& p, Body* b) { return ListLookup(list, p, b); };
  TS_RETURN_IF_ERROR(ListAll(s, list));
  if (list_end_first) TS_RETURN_IF_ERROR(s->ListEnd());
  TS_RETURN_IF_ERROR(s->TakeRequest(r));
  if (r->path != "f") return s->Refuse("expected a request for f, got " + r->path);
  return Status::Ok();
}

// Plays the scenario after the Hello exchange; *played is set once the
// scenario's point was reached.
Status Play(const Options& o, Session* s, bool* played) {
  TS_RETURN_IF_ERROR(s->Sync());
  Layout layout;
  if (MakeLayout(o, &layout)) {
    s->lookup = [&layout](const std::string& p, Body* b) { return LayoutLookup(layout, p, b); };
    Gen gen(layout);
    Ent e;
    if (Has(o, "warning-flood")) {
      const uint64_t kWarnings = 1000000;
      uint64_t per = (kWarnings + layout.total - 1) / layout.total, sent = 0;
      while (gen.Next(&e)) {
        TS_RETURN_IF_ERROR(s->Entry(e));
        for (uint64_t i = 0; i < per && sent < kWarnings; ++i, ++sent) {
          TS_RETURN_IF_ERROR(
              s->Warning(e.path + "-fifo" + std::to_string(i), "special file skipped"));
        }
      }
    } else {
      while (gen.Next(&e)) TS_RETURN_IF_ERROR(s->Entry(e));
    }
    TS_RETURN_IF_ERROR(s->Finish());
    *played = true;
    return Status::Ok();
  }
  if (Has(o, "want-by-index")) {
    static const std::vector<Ent> list = VariedTree();
    s->lookup = [](const std::string& p, Body* b) { return ListLookup(list, p, b); };
    TS_RETURN_IF_ERROR(ListAll(s, list));
    TS_RETURN_IF_ERROR(s->Finish());
    *played = true;
    return Status::Ok();
  }
  if (Has(o, "gap") || Has(o, "gap-root") || Has(o, "gap-last")) {
    // gap: "a" is an ancestor of the entry listed last; gap-last: the folder
    // listed last; gap-root: the served folder.
    static const std::vector<Ent> list = {D("a"), D("a/sub"), F("a/sub/f", 3), F("a/z", 4),
                                          D("b"), F("b/f", 5),  D("c"),        F("c/f", 6)};
    s->lookup = [](const std::string& p, Body* b) { return ListLookup(list, p, b); };
    for (const Ent& e : list) {
      if (Has(o, "gap-root") && e.path == "a") TS_RETURN_IF_ERROR(s->Gap("", "could not read x"));
      TS_RETURN_IF_ERROR(s->Entry(e));
      if (Has(o, "gap") && e.path == "a/sub/f") TS_RETURN_IF_ERROR(s->Gap("a", "a/y vanished"));
      if (Has(o, "gap-last") && e.path == "a") TS_RETURN_IF_ERROR(s->Gap("a", "a/y unreadable"));
    }
    TS_RETURN_IF_ERROR(s->Finish());
    *played = true;
    return Status::Ok();
  }
  if (Has(o, "overdraw") || Has(o, "long-prefix")) {
    // Files of 1 byte: the client can't finish one (nor grant its credit
    // back) before its data comes, and none comes until the listing is
    // over, so the client's credit stays at 2 MiB and the overdraft is
    // certain. Everything goes out at once, whatever the credit.
    s->ignore_credit = true;
    s->hold_answers = true;
    std::vector<Ent> list;
    std::string prefix;
    if (Has(o, "overdraw")) {
      // 136 bytes an entry: 15,420 fit in 2 MiB; 1,000 more go over it.
      for (uint32_t i = 0; i < kInitialListCredit / 136 + 1000; ++i) {
        char name[16];
        std::snprintf(name, sizeof name, "f%07u", i);
        list.push_back(F(name, 1));
      }
    } else {
      // A chain of 39 folders (100-byte names), then 20,000 files of
      // 3,999-byte paths in the deepest: ~4,127 weight each, ~82 MB in all,
      // a few bytes each on the wire.
      s->pack_cap = kMaxPayload - 64 * 1024;
      for (int k = 0; k < 39; ++k) {
        prefix += std::string(100, static_cast<char>('a' + k % 26));
        list.push_back(D(prefix));
        prefix += '/';
      }
      for (uint32_t i = 0; i < 20000; ++i) {
        char num[16];
        std::snprintf(num, sizeof num, "%06u", i);
        list.push_back(F(prefix + std::string(54, 'f') + num, 1));
      }
    }
    s->lookup = [list](const std::string& p, Body* b) { return ListLookup(list, p, b); };
    TS_RETURN_IF_ERROR(ListAll(s, list));
    TS_RETURN_IF_ERROR(s->FlushEntries());
    *played = true;
    return s->Finish();  // a client that let it pass gets its files
  }
  if (Has(o, "data-overrun")) {
    Request r;
    TS_RETURN_IF_ERROR(TenByteFile(s, true, &r));
    TS_RETURN_IF_ERROR(s->Send(kBegin, Session::BeginPayload(r.tag, 0)));
    const std::string chunk(kDataChunk, 'x');
    for (uint64_t sent = 0; sent < (3ULL << 30); sent += chunk.size()) {
      TS_RETURN_IF_ERROR(s->Send(kData, chunk));
      *played = true;
    }
    return s->Send(kEnd, Session::EndPayload(std::string(10, 'x'), 0644, kMtime));
  }
  if (Has(o, "restart-loop")) {
    Request r;
    TS_RETURN_IF_ERROR(TenByteFile(s, true, &r));
    Body b;
    s->lookup("f", &b);
    for (int i = 0; i < 100; ++i) {
      TS_RETURN_IF_ERROR(s->Send(kBegin, Session::BeginPayload(r.tag, 0)));
      TS_RETURN_IF_ERROR(s->Send(kData, b.bytes.substr(0, 5)));
      if (i == 3) *played = true;
    }
    TS_RETURN_IF_ERROR(s->Send(kData, b.bytes.substr(5)));
    TS_RETURN_IF_ERROR(s->Send(kEnd, Session::EndPayload(b.bytes, b.mode, b.mtime_ns)));
    return s->Finish();
  }
  if (Has(o, "gap-not-open") || Has(o, "unsorted")) {
    std::vector<Ent> list = Has(o, "unsorted")
                                ? std::vector<Ent>{D("a"), F("a/y", 1), F("a/x", 1)}
                                : std::vector<Ent>{D("a"), F("a/x", 1), D("b"), F("b/y", 1)};
    s->lookup = [list](const std::string& p, Body* b) { return ListLookup(list, p, b); };
    for (const Ent& e : list) {
      TS_RETURN_IF_ERROR(s->Entry(e));
      if (e.path == "b") TS_RETURN_IF_ERROR(s->Gap("a", "a: listed and closed already"));
    }
    *played = true;
    return s->Finish();
  }
  if (o.scenario.compare(0, 13, "frame-in-file") == 0) {
    Request r;
    TS_RETURN_IF_ERROR(TenByteFile(s, false, &r));
    Body b;
    s->lookup("f", &b);
    TS_RETURN_IF_ERROR(s->Send(kBegin, Session::BeginPayload(r.tag, 0)));
    TS_RETURN_IF_ERROR(s->Send(kData, b.bytes.substr(0, 5)));
    if (Has(o, "frame-in-file")) {
      Packer p(1);
      p.Add(D("g"));
      TS_RETURN_IF_ERROR(s->Send(kEntries, p.Take()));
      ++s->listed;
    } else if (Has(o, "frame-in-file-folder")) {
      TS_RETURN_IF_ERROR(s->Send(kFolder, EntryFrame(D("g"))));
      ++s->listed;
    } else if (Has(o, "frame-in-file-warning")) {
      std::string w;
      PutBytes(&w, "f2");
      PutBytes(&w, "special file skipped");
      TS_RETURN_IF_ERROR(s->Send(kWarning, w));
    } else if (Has(o, "frame-in-file-gap")) {
      std::string g;
      PutBytes(&g, "");
      PutBytes(&g, "could not read f2");
      TS_RETURN_IF_ERROR(s->Send(kGap, g));
    } else {
      return Status::Usage("unknown scenario " + o.scenario);
    }
    *played = true;
    TS_RETURN_IF_ERROR(s->Send(kData, b.bytes.substr(5)));
    TS_RETURN_IF_ERROR(s->Send(kEnd, Session::EndPayload(b.bytes, b.mode, b.mtime_ns)));
    return s->Finish();
  }
  return Status::Usage("unknown scenario " + o.scenario);
}

bool KnownScenario(const std::string& s) {
  static const char* const kAll[] = {
      "tree", "many-entries", "many-folders", "long-symlinks", "warning-flood",
      "want-by-index", "gap", "gap-root", "gap-last", "long-prefix", "overdraw",
      "data-overrun", "restart-loop", "gap-not-open", "unsorted", "frame-in-file",
      "frame-in-file-folder", "frame-in-file-warning", "frame-in-file-gap"};
  for (const char* k : kAll) {
    if (s == k) return true;
  }
  return false;
}

// ---- --verify ----------------------------------------------------------------

class Verifier {
 public:
  explicit Verifier(const std::string& root) : root_(root) {}
  int problems = 0;

  void Problem(const std::string& what) {
    if (problems++ < 10) std::fprintf(stderr, "stream_server --verify: %s\n", what.c_str());
  }
  bool SameTime(int64_t a, int64_t b) {
    int64_t g = platform::MtimeGranularityNs();
    return a / g == b / g;
  }
  // Reads the bytes of every `sample`th file only (sizes are always checked).
  uint64_t sample = 1;
  void Check(const Ent& e) {
    const std::string path = root_ + "/" + e.path;
    platform::FileInfo info;
    if (!platform::Lstat(path, &info).ok() || info.type == platform::FileType::kMissing) {
      return Problem(e.path + ": missing");
    }
    platform::FileType want = e.type == kTypeFolder   ? platform::FileType::kDirectory
                              : e.type == kTypeFile   ? platform::FileType::kRegular
                                                      : platform::FileType::kSymlink;
    if (info.type != want) return Problem(e.path + ": wrong type");
    if (e.type != kTypeSymlink && platform::KeepsPermissionBits() &&
        (info.mode & 0777) != (e.mode & 0777)) {
      char m[64];
      std::snprintf(m, sizeof m, ": mode %o, listed %o", info.mode & 0777, e.mode & 0777);
      Problem(e.path + m);
    }
    if (!SameTime(info.mtime_ns, e.mtime_ns)) {
      Problem(e.path + ": mtime " + std::to_string(info.mtime_ns) + ", listed " +
              std::to_string(e.mtime_ns));
    }
    if (e.type == kTypeSymlink) {
      std::string t;
      if (!platform::ReadSymlink(path, &t).ok() || t != e.target) {
        Problem(e.path + ": wrong target");
      }
      return;
    }
    if (e.type != kTypeFile) return;
    if (info.size != e.size) return Problem(e.path + ": size " + std::to_string(info.size));
    if (files_++ % sample != 0) return;
    platform::File f;
    if (!platform::File::OpenRead(path, &f).ok()) return Problem(e.path + ": unreadable");
    std::string got(static_cast<size_t>(e.size) + 1, '\0');
    size_t n = 0, total = 0;
    do {
      if (!f.Read(&got[total], got.size() - total, &n).ok()) {
        return Problem(e.path + ": read error");
      }
      total += n;
    } while (n > 0 && total < got.size());
    got.resize(total);
    if (got != Content(e.path, e.size)) Problem(e.path + ": wrong bytes");
  }
  // Every entry below root, counted.
  uint64_t Count(const std::string& dir) {
    std::vector<platform::FolderEntry> entries;
    if (!platform::ListFolder(dir, &entries).ok()) {
      Problem(dir + ": cannot list");
      return 0;
    }
    uint64_t n = entries.size();
    for (const platform::FolderEntry& fe : entries) {
      if (fe.info.type == platform::FileType::kDirectory) n += Count(dir + "/" + fe.name);
    }
    return n;
  }

 private:
  std::string root_;
  uint64_t files_ = 0;
};

int Verify(const Options& o, const std::string& dir) {
  Verifier v(dir);
  uint64_t expected = 0;
  Layout layout;
  if (MakeLayout(o, &layout)) {
    // The client checks each file's hash itself; reading back a sample keeps
    // a million-file check to seconds.
    if (layout.total > 100000) v.sample = 7;
    Gen gen(layout);
    Ent e;
    while (gen.Next(&e)) {
      v.Check(e);
      ++expected;
    }
  } else if (Has(o, "want-by-index")) {
    for (const Ent& e : VariedTree()) {
      v.Check(e);
      ++expected;
    }
  } else {
    std::fprintf(stderr, "stream_server --verify: no tree to verify for %s\n", o.scenario.c_str());
    return 1;
  }
  platform::FileInfo root;
  if (!platform::Lstat(dir, &root).ok() || !v.SameTime(root.mtime_ns, kMtime)) {
    v.Problem("the target's own mtime is not the served folder's");
  }
  uint64_t found = v.Count(dir);
  if (found != expected) {
    v.Problem(std::to_string(found) + " entries in " + dir + ", " + std::to_string(expected) +
              " listed");
  }
  if (v.problems > 0) {
    std::fprintf(stderr, "stream_server --verify: %d problems\n", v.problems);
    return 1;
  }
  return 0;
}

// ---- main --------------------------------------------------------------------

int Usage() {
  std::fprintf(stderr,
               "usage: stream_server --port-file F [--entries N] SCENARIO\n"
               "       stream_server --verify DIR [--entries N] SCENARIO\n");
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string port_file, verify_dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--port-file" && i + 1 < argc) {
      port_file = argv[++i];
    } else if (a == "--verify" && i + 1 < argc) {
      verify_dir = argv[++i];
    } else if (a == "--entries" && i + 1 < argc) {
      o.entries = std::strtoull(argv[++i], nullptr, 10);
      if (o.entries == 0 || o.entries > 0xffffffffULL) return Usage();
    } else if (o.scenario.empty() && !a.empty() && a[0] != '-') {
      o.scenario = a;
    } else {
      return Usage();
    }
  }
  if (!KnownScenario(o.scenario) || port_file.empty() == verify_dir.empty()) return Usage();
  if (!verify_dir.empty()) return Verify(o, verify_dir);

  const int bound = BoundSeconds(o);
  std::thread([bound, o] {
    std::this_thread::sleep_for(std::chrono::seconds(bound));
    std::fprintf(stderr, "stream_server: %s: gave up after %d s\n", o.scenario.c_str(), bound);
    std::fflush(stderr);
    std::_Exit(3);
  }).detach();

  platform::NetInit();
  platform::Socket listener;
  uint16_t port = 0;
  if (!platform::Listen("127.0.0.1", 0, &listener).ok() ||
      !platform::LocalPort(listener, &port).ok()) {
    std::fprintf(stderr, "stream_server: cannot listen\n");
    return 1;
  }
  std::string tmp = port_file + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return 1;
  std::fprintf(f, "%u\n", port);
  std::fclose(f);
  std::rename(tmp.c_str(), port_file.c_str());
  platform::Socket sock;
  std::string peer;
  while (!sock.valid()) {
    if (!platform::Accept(listener, 1000, &sock, &peer).ok()) return 1;
  }
  listener.Close();

  Link link(std::move(sock));
  auto started = std::chrono::steady_clock::now();
  // Hello: 8 bytes TREESYNC, u32 version, u32 flags.
  uint8_t type = 0;
  std::string payload;
  bool got = false;
  while (!got) {
    Status s = link.Pump(200);
    if (s.ok()) s = link.Next(&type, &payload, &got);
    if (!s.ok() || (!got && link.peer_closed())) {
      std::fprintf(stderr, "stream_server: %s: no Hello\n", o.scenario.c_str());
      return 2;
    }
  }
  uint32_t version = 0, asked = 0;
  bool hello_ok =
      type == kHello && payload.size() == 16 && payload.compare(0, 8, "TREESYNC") == 0;
  if (hello_ok) {
    std::string rest = payload.substr(8);
    Cursor c(rest);
    hello_ok = c.U32(&version) && c.U32(&asked) && c.AtEnd();
  }
  std::string refusal;
  uint8_t code = 12;
  if (!hello_ok) {
    refusal = "expected a Hello";
  } else if (version != 1) {
    refusal = "version " + std::to_string(version) + " is not 1";
    code = 2;
  } else if ((asked & kFlagStreaming) == 0) {
    // Code 2, not 12: a client that can't stream must not pass the
    // hostile scenarios' "exit 12" checks by accident.
    refusal = "this test peer serves streaming sessions only (Hello flag bit 2)";
    code = 2;
  }
  if (!refusal.empty()) {
    std::string p;
    PutU8(&p, code);
    PutBytes(&p, refusal);
    link.Queue(kError, p);
    link.FlushFor(3000);
    link.AwaitClose(3000);
    std::fprintf(stderr, "stream_server: %s: refused the client: %s\n", o.scenario.c_str(),
                 refusal.c_str());
    return 2;
  }
  const uint32_t granted = asked & (kFlagPacked | kFlagStreaming);
  std::string reply("TREESYNC", 8);
  PutU32(&reply, 1);
  PutU32(&reply, granted);
  link.Queue(kHello, reply);

  Session session(&link, granted);
  bool played = false;
  Status s = Play(o, &session, &played);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  int rc = 0;
  std::string result = "ok";
  if (s.kind() == treesync::ErrorKind::kUsage) {
    std::fprintf(stderr, "stream_server: %s\n", s.message().c_str());
    return 1;
  }
  if (s.kind() == treesync::ErrorKind::kProtocol) {
    rc = 2;
    result = "refused the client: " + s.message();
  } else if (!s.ok()) {
    result = s.message();
    if (!played) rc = 2;
  }
  if (rc == 0 && session.bad_requests > 0) {
    rc = 2;
    result = std::to_string(session.bad_requests) + " bad requests, the first: " +
             session.first_bad;
  }
  if (rc == 0 && !played) {
    rc = 2;
    result += " (before the scenario was played)";
  }
  std::fprintf(stderr,
               "stream_server: %s: entries=%llu weight=%llu credit_granted=%llu "
               "credit_frames=%llu requests=%llu deltas=%llu file_errors=%llu warnings=%llu "
               "%.2fs: %s\n",
               o.scenario.c_str(), (unsigned long long)session.listed,
               (unsigned long long)session.weight, (unsigned long long)session.credit_granted,
               (unsigned long long)session.credit_frames, (unsigned long long)session.requests,
               (unsigned long long)session.deltas, (unsigned long long)session.file_errors,
               (unsigned long long)session.warnings, secs, result.c_str());
  return rc;
}
