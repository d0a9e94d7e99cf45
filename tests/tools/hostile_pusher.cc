// hostile_pusher: a pushing client (the tree's *sender*) written from
// docs/PROTOCOL.md alone ("Transport and framing", "A session", "Roles",
// "Push", "Streaming", "Packed listing", "Rules a receiver enforces"), that
// breaks the protocol in one way per scenario, for the end-to-end tests of a
// writable server's defences (tests/e2e/push_hostile.sh).
//
//   hostile_pusher --port N --scenario NAME [--host H] [--path SUB]
//                  [--outside DIR] [--hold SECS] [--max-seconds N]
//                  [--key FILE --server-key KEY] [-v]
//     Connects (with --key and --server-key, first runs the client's half
//     of the encrypted handshake, the library's own, with the server's key
//     pinned: every scenario then plays the same bytes, sealed), sends
//     Hello (Push|Session, plus Streaming and PackedListing as the
//     scenario needs) and a Session frame, reads the server's Hello or
//     Error, then plays the scenario. Prints the server's final word as
//     one line on stdout:
//       error CODE MESSAGE
//       summary RESULT files_total=.. ... errors=.. message=MESSAGE
//       closed            (the server closed without either)
//       timeout           (nothing final within --max-seconds, default 30)
//     Exit 0 when the scenario ran to its planned end (whatever the server
//     answered), 3 on timeout, 1 on misuse or when it can't connect (or
//     the encrypted handshake fails).
//     Facts for the test go to stderr as "hostile_pusher: stat ..." lines:
//     the flags granted, every request (path, offset, delta or not), credit.
//   hostile_pusher --temp-name NAME SIZE
//     Prints the temporary name a receiver uses for a file NAME of SIZE bytes
//     with this tool's mtime ("Installing files"), for the resume traps.
//
// --outside DIR is the folder outside the served one that symlink and
// absolute-path scenarios aim at (default /tmp/hostile-pusher-outside).
// Scenarios: see Script() below; every one is listed in kScenarios.
//
// Frames are encoded and decoded here by hand; only sockets (platform/net.h,
// so the tool builds wherever the library does), the byte stream they give
// (src/byte_stream.h), the encrypted handshake that can wrap it
// (src/secure_channel.h), XXH3-128 (src/xxh3.h) and Status come from the
// library.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "connection.h"
#include "key_files.h"
#include "net.h"
#include "secure_channel.h"
#include "secure_wipe.h"
#include "status.h"
#include "xxh3.h"

using treesync::Status;

namespace {

using Clock = std::chrono::steady_clock;

// Frame types (PROTOCOL.md, the table under "Transport and framing").
constexpr uint8_t kHello = 0x01, kError = 0x02, kSession = 0x03, kSync = 0x10, kFolder = 0x11,
                  kFile = 0x12, kSymlink = 0x13, kWarning = 0x14, kListEnd = 0x15,
                  kEntries = 0x16, kGap = 0x17, kWant = 0x20, kWantEnd = 0x21,
                  kWantDelta = 0x22, kListCredit = 0x23, kWantPaths = 0x24,
                  kWantDeltaPath = 0x25, kBegin = 0x30, kData = 0x31, kEnd = 0x32,
                  kFileError = 0x33, kCopy = 0x34, kHole = 0x35, kDone = 0x40, kEvent = 0x41,
                  kSummary = 0x42;
// Hello flags ("A session", step 1).
constexpr uint32_t kFlagHash = 1, kFlagPacked = 2, kFlagStreaming = 4, kFlagPush = 8,
                   kFlagSession = 16, kFlagHoles = 32, kFlagOwners = 64, kFlagSpecials = 128,
                   kFlagXattrs = 256, kFlagHardLinks = 512;
// Session options ("Roles").
constexpr uint32_t kOptNoDelete = 1, kOptChecksum = 2, kOptDryRun = 4;
constexpr int64_t kInitialListCredit = 2097152;
constexpr int64_t kEntryWeightBase = 128;
constexpr uint32_t kMaxPayload = 1u << 20;
constexpr size_t kDataChunk = 256 * 1024;
// Every entry's mtime unless a scenario says otherwise.
constexpr int64_t kMtime = 1600000000LL * 1000000000LL + 123456789;
// Entry types, as in a packed record's head.
constexpr uint8_t kTypeFolder = 1, kTypeFile = 2, kTypeSymlink = 3;

// ---- Payload encoding ----------------------------------------------------

void PutU8(std::string* o, uint8_t v) { o->push_back(static_cast<char>(v)); }
void PutU32(std::string* o, uint32_t v) {
  for (int i = 0; i < 4; ++i) o->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string* o, uint64_t v) {
  for (int i = 0; i < 8; ++i) o->push_back(static_cast<char>(v >> (8 * i)));
}
void PutI64(std::string* o, int64_t v) { PutU64(o, static_cast<uint64_t>(v)); }
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
// XXH3-128 in canonical order: the high 64 bits, then the low, big-endian.
std::string HashBytes(const std::string& data) {
  treesync::Hash128 h = treesync::Xxh3_128(data.data(), data.size());
  std::string o;
  for (int i = 7; i >= 0; --i) o.push_back(static_cast<char>(h.high >> (8 * i)));
  for (int i = 7; i >= 0; --i) o.push_back(static_cast<char>(h.low >> (8 * i)));
  return o;
}

// Reads little-endian fields; the first failure sticks.
class Cursor {
 public:
  explicit Cursor(const std::string& s) : s_(s) {}
  bool U8(uint8_t* v) {
    if (!Need(1)) return false;
    *v = static_cast<uint8_t>(s_[pos_++]);
    return true;
  }
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
  bool Bytes(std::string* out) {
    uint32_t n = 0;
    if (!U32(&n) || !Need(n)) return ok_ = false;
    out->assign(s_, pos_, n);
    pos_ += n;
    return true;
  }
  bool Skip(size_t n) {
    if (!Need(n)) return false;
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

// Makes a message printable on one line.
std::string OneLine(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if (c == '\n' || c == '\r') {
      o += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      o += b;
    } else {
      o.push_back(static_cast<char>(c));
    }
  }
  return o;
}

// ---- The connection ------------------------------------------------------

// Frames over the connection's byte stream (the socket, or the encrypted
// stream the handshake left on it): a poll loop that always reads while it
// writes, so a server that answers while we send never deadlocks us. A
// failed write (the server closed) drops what is queued but keeps reading,
// so an Error that arrived first is still seen. The Connection's own frame
// calls are not used past the handshake.
class Link {
 public:
  explicit Link(std::unique_ptr<treesync::Connection> conn) : conn_(std::move(conn)) {}

  void Queue(uint8_t type, const std::string& p) {
    if (write_dead_) return;
    out_.push_back(static_cast<char>(type));
    PutU32(&out_, static_cast<uint32_t>(p.size()));
    out_.append(p);
  }
  void QueueRaw(const std::string& bytes) {
    if (!write_dead_) out_.append(bytes);
  }
  // Bytes not yet handed to the OS: queued here, or sealed and held by
  // the encrypted stream.
  size_t pending() const { return queued() + stream().unsent(); }
  bool eof() const { return eof_; }
  bool write_dead() const { return write_dead_; }

  // Ends what we send, as closing the socket would, within ms: the FIN;
  // encrypted, the sealed end record first (else the server sees a cut).
  // What is still queued here is dropped, as a close drops it.
  void Finish(int ms) {
    out_.clear();
    out_pos_ = 0;
    stream().ShutdownWrite();
    auto until = Clock::now() + std::chrono::milliseconds(ms);
    while (pending() > 0 && !write_dead_ && Clock::now() < until) Pump(20);
  }

  void Pump(int wait_ms) {
    bool want_read = !eof_;
    bool want_write = pending() > 0 && !write_dead_;
    if (!want_read && !want_write) {
      if (wait_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
      return;
    }
    platform::Readiness r;
    if (!stream().Poll(want_read, want_write, wait_ms, &r).ok()) {
      eof_ = true;
      return;
    }
    if (r.writable && want_write) {
      // Once with nothing queued, when the stream holds sealed bytes.
      for (;;) {
        size_t wrote = 0;
        if (!stream().Write(out_.data() + out_pos_, queued(), &wrote).ok()) {
          write_dead_ = true;
          out_.clear();
          out_pos_ = 0;
          break;
        }
        out_pos_ += wrote;
        if (wrote == 0 || queued() == 0) break;
      }
      if (out_pos_ == out_.size()) {
        out_.clear();
        out_pos_ = 0;
      } else if (out_pos_ > (4u << 20)) {
        out_.erase(0, out_pos_);
        out_pos_ = 0;
      }
    }
    if (r.readable && want_read) {
      char buf[64 * 1024];
      for (int i = 0; i < 64; ++i) {
        size_t got = 0;
        bool eof = false;
        // A reset, or (encrypted) a record that fails to open or a cut.
        if (!stream().Read(buf, sizeof buf, &got, &eof).ok()) {
          eof_ = true;
          break;
        }
        if (eof) eof_ = true;
        if (got == 0) break;
        in_.append(buf, got);
      }
    }
  }

  // The next complete input frame, if one has arrived; false with *bad set
  // when the header announces more than a frame may hold.
  bool Next(uint8_t* type, std::string* payload, bool* bad) {
    *bad = false;
    size_t avail = in_.size() - in_pos_;
    if (avail < 5) return Compact();
    const unsigned char* h = reinterpret_cast<const unsigned char*>(in_.data() + in_pos_);
    uint32_t len = h[1] | h[2] << 8 | h[3] << 16 | uint32_t(h[4]) << 24;
    if (len > kMaxPayload) {
      *bad = true;
      return false;
    }
    if (avail < 5 + size_t(len)) return Compact();
    *type = h[0];
    payload->assign(in_, in_pos_ + 5, len);
    in_pos_ += 5 + size_t(len);
    return true;
  }

 private:
  treesync::ByteStream& stream() const { return conn_->stream(); }
  size_t queued() const { return out_.size() - out_pos_; }
  bool Compact() {
    if (in_pos_ > 0 && in_pos_ >= in_.size() / 2) {
      in_.erase(0, in_pos_);
      in_pos_ = 0;
    }
    return false;
  }

  std::unique_ptr<treesync::Connection> conn_;
  std::string out_;
  size_t out_pos_ = 0;
  std::string in_;
  size_t in_pos_ = 0;
  bool eof_ = false;
  bool write_dead_ = false;
};

// ---- Entries -------------------------------------------------------------

struct Ent {
  uint8_t type = kTypeFile;
  std::string path;
  uint32_t mode = 0644;
  int64_t mtime_ns = kMtime;
  uint64_t size = 0;
  std::string target;
};

Ent Folder(const std::string& path, uint32_t mode = 0755) {
  Ent e;
  e.type = kTypeFolder;
  e.path = path;
  e.mode = mode;
  return e;
}
Ent File(const std::string& path, uint64_t size, uint32_t mode = 0644) {
  Ent e;
  e.path = path;
  e.size = size;
  e.mode = mode;
  return e;
}
Ent Sym(const std::string& path, const std::string& target) {
  Ent e;
  e.type = kTypeSymlink;
  e.path = path;
  e.mode = 0777;
  e.target = target;
  return e;
}

uint8_t FrameTypeOf(const Ent& e) {
  return e.type == kTypeFolder ? kFolder : e.type == kTypeFile ? kFile : kSymlink;
}

// An entry in its own Folder/File/Symlink frame; a File with `hash` gets
// the 16 hash bytes (granted or not: that is a scenario's business).
std::string EntryPayload(const Ent& e, const std::string* hash = nullptr) {
  std::string p;
  PutBytes(&p, e.path);
  PutU32(&p, e.mode);
  PutI64(&p, e.mtime_ns);
  if (e.type == kTypeFile) {
    PutU64(&p, e.size);
    if (hash != nullptr) p += *hash;
  }
  if (e.type == kTypeSymlink) PutBytes(&p, e.target);
  return p;
}

// Records of an Entries payload ("Packed listing"): longest shared prefix,
// mode left out when unchanged, mtime as a zigzag difference. Checks
// nothing, so it packs hostile paths as readily as good ones.
std::string Pack(const std::vector<Ent>& ents) {
  std::string buf, prev_path;
  uint32_t prev_mode = 0;
  int64_t prev_mtime = 0;
  bool first = true;
  for (const Ent& e : ents) {
    size_t shared = 0;
    if (!first) {
      size_t m = std::min(prev_path.size(), e.path.size());
      while (shared < m && prev_path[shared] == e.path[shared]) ++shared;
    }
    bool same_mode = !first && e.mode == prev_mode;
    PutU8(&buf, static_cast<uint8_t>(e.type | (same_mode ? 8 : 0)));
    PutVarint(&buf, shared);
    PutVarint(&buf, e.path.size() - shared);
    buf.append(e.path, shared, std::string::npos);
    if (!same_mode) PutVarint(&buf, e.mode);
    PutVarint(&buf, ZigZag(static_cast<int64_t>(static_cast<uint64_t>(e.mtime_ns) -
                                                static_cast<uint64_t>(first ? 0 : prev_mtime))));
    if (e.type == kTypeFile) PutVarint(&buf, e.size);
    if (e.type == kTypeSymlink) {
      PutVarint(&buf, e.target.size());
      buf.append(e.target);
    }
    prev_path = e.path;
    prev_mode = e.mode;
    prev_mtime = e.mtime_ns;
    first = false;
  }
  return buf;
}

// Deterministic file bytes, derived from the path.
std::string Content(const std::string& path, uint64_t size) {
  std::string out(size, '\0');
  uint64_t x = 1469598103934665603ULL;
  for (unsigned char c : path) x = (x ^ c) * 1099511628211ULL;
  for (uint64_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x);
  }
  return out;
}

// A request from the receiver: by path (streaming) or by index.
struct Req {
  uint32_t tag = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  std::string path;
  bool delta = false;
  uint64_t basis_size = 0;
  uint32_t block_size = 0;  // of a delta's signature
  uint32_t blocks = 0;
};

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string scenario;
  std::string path;
  bool path_given = false;
  std::string outside = "/tmp/hostile-pusher-outside";
  int hold_s = 3;
  int max_s = 30;
  std::string key;         // --key: this client's private key file
  std::string server_key;  // --server-key: the server's public key, pinned
  bool verbose = false;
};

// ---- The sending side of a push ------------------------------------------

class Pusher {
 public:
  Pusher(std::unique_ptr<treesync::Connection> conn, const Options& o)
      : link_(std::move(conn)), o_(o), deadline_(Clock::now() + std::chrono::seconds(o.max_s)) {}

  // Set before Handshake.
  uint32_t flags = kFlagPush | kFlagSession | kFlagStreaming;
  bool send_session = true;
  bool early_sync = false;
  uint32_t options = 0;
  std::string session_path;
  // After the handshake.
  uint32_t granted = 0;
  bool respect_credit = true;  // an honest sender waits for ListCredit
  bool auto_done = true;       // Done once WantEnd came and all is answered
  // How requests are answered; the default is honestly.
  std::function<void(Pusher&, const Req&)> answer;

  bool streaming() const { return (granted & kFlagStreaming) != 0; }
  bool finished() const { return !final_.empty(); }
  const std::string& final_line() const { return final_; }
  const Options& opts() const { return o_; }
  int64_t credit() const { return credit_; }
  bool timed_out() const { return Clock::now() >= deadline_; }

  void Stat(const std::string& s) {
    std::fprintf(stderr, "hostile_pusher: stat %s\n", s.c_str());
  }
  void Log(const std::string& s) {
    if (o_.verbose) std::fprintf(stderr, "hostile_pusher: %s\n", s.c_str());
  }

  // Sends Hello and Session as set above, then waits for the server's
  // first frame. True when it granted a Hello; otherwise the final line is
  // set (its Error, or closed).
  bool Handshake() {
    std::string h("TREESYNC");
    PutU32(&h, 1);
    PutU32(&h, flags);
    link_.Queue(kHello, h);
    if (send_session) SendSession(options, session_path);
    if (early_sync) Sync();
    for (;;) {
      uint8_t type = 0;
      std::string p;
      if (!NextFrame(&type, &p)) return false;
      if (type == kHello) {
        Cursor c(p);
        uint32_t version = 0;
        if (p.compare(0, 8, "TREESYNC") != 0 || !c.Skip(8) || !c.U32(&version) ||
            !c.U32(&granted) || !c.AtEnd()) {
          final_ = "bad-hello " + OneLine(p);
          return false;
        }
        char b[80];
        std::snprintf(b, sizeof b, "granted 0x%x version %u", granted, version);
        Stat(b);
        return true;
      }
      Process(type, p);
      if (finished()) return false;
    }
  }

  void SendSession(uint32_t opts, const std::string& path) {
    std::string s;
    PutU32(&s, opts);
    PutBytes(&s, path);
    link_.Queue(kSession, s);
  }

  void Raw(uint8_t type, const std::string& payload) { link_.Queue(type, payload); }
  void RawBytes(const std::string& bytes) { link_.QueueRaw(bytes); }

  void Sync(uint32_t mode = 0755, int64_t mtime = kMtime) {
    std::string p;
    PutU32(&p, mode);
    PutI64(&p, mtime);
    link_.Queue(kSync, p);
  }

  // Lists e in its own frame; a file's bytes are `content` (default: derived
  // from its path, e.size of them), remembered for the requests.
  void Entry(const Ent& e, const std::string* hash = nullptr) {
    Register(e);
    WaitForCredit(Weight(e));
    link_.Queue(FrameTypeOf(e), EntryPayload(e, hash));
    credit_ -= Weight(e);
    ++listed_;
  }
  void Entries(const std::vector<Ent>& ents) {
    int64_t w = 0;
    for (const Ent& e : ents) {
      Register(e);
      w += Weight(e);
    }
    WaitForCredit(w);
    link_.Queue(kEntries, Pack(ents));
    credit_ -= w;
    listed_ += static_cast<uint32_t>(ents.size());
  }
  void SetContent(const std::string& path, const std::string& bytes) { content_[path] = bytes; }
  void Gap(const std::string& folder, const std::string& message) {
    std::string p;
    PutBytes(&p, folder);
    PutBytes(&p, message);
    link_.Queue(kGap, p);
  }
  void ListEnd(uint8_t complete = 1) { ListEndCount(listed_, complete); }
  void ListEndCount(uint32_t count, uint8_t complete = 1) {
    std::string p;
    PutU32(&p, count);
    PutU8(&p, complete);
    link_.Queue(kListEnd, p);
  }
  void Done() {
    if (!done_sent_) link_.Queue(kDone, std::string());
    done_sent_ = true;
  }

  // Answer pieces.
  void Begin(uint32_t tag, uint64_t offset) {
    std::string p;
    PutU32(&p, tag);
    PutU64(&p, offset);
    link_.Queue(kBegin, p);
  }
  void Data(const std::string& bytes, uint64_t from = 0) {
    for (uint64_t at = from; at < bytes.size(); at += kDataChunk) {
      link_.Queue(kData, bytes.substr(at, kDataChunk));
    }
  }
  void EndFrame(uint64_t size, int64_t mtime, uint32_t mode, const std::string& hash) {
    std::string p;
    PutU64(&p, size);
    PutI64(&p, mtime);
    PutU32(&p, mode);
    p += hash;
    link_.Queue(kEnd, p);
  }
  void FileError(uint32_t tag, const std::string& message) {
    std::string p;
    PutU32(&p, tag);
    PutBytes(&p, message);
    link_.Queue(kFileError, p);
  }
  const std::string* ContentOf(const std::string& path) const {
    auto it = content_.find(path);
    return it == content_.end() ? nullptr : &it->second;
  }
  const Ent* EntOf(const std::string& path) const {
    auto it = ents_.find(path);
    return it == ents_.end() ? nullptr : &it->second;
  }
  // The honest answer: Begin at the requested offset (0 for a delta or an
  // offset beyond the file), the bytes from there, End with the whole hash.
  void Honest(const Req& r) {
    const std::string* c = ContentOf(r.path);
    const Ent* e = EntOf(r.path);
    if (c == nullptr || e == nullptr) {
      FileError(r.tag, "hostile_pusher has no such file");
      return;
    }
    uint64_t off = (!r.delta && r.offset <= c->size()) ? r.offset : 0;
    Begin(r.tag, off);
    Data(*c, off);
    EndFrame(c->size(), e->mtime_ns, e->mode, HashBytes(*c));
  }

  // Pumps for up to ms, taking every frame that arrives (requests queue).
  void Pump(int ms) {
    auto until = Clock::now() + std::chrono::milliseconds(ms);
    do {
      link_.Pump(std::min(ms, 50));
      Drain();
      if (link_.eof() && !finished()) final_ = "closed";
    } while (!finished() && Clock::now() < until && !timed_out());
  }
  // Everything queued handed to the OS (or the peer gone), within ms.
  void Flush(int ms) {
    auto until = Clock::now() + std::chrono::milliseconds(ms);
    while (link_.pending() > 0 && !link_.write_dead() && !finished() && Clock::now() < until) {
      Pump(20);
    }
  }
  // Ends what we send (see Link::Finish): what main does before exiting.
  void Finish() { link_.Finish(2000); }
  // Holds for s seconds, still reading (requests wait in the queue).
  void Hold(int s) {
    auto until = Clock::now() + std::chrono::seconds(s);
    while (!finished() && !timed_out() && Clock::now() < until) Pump(100);
  }

  // Plays on until the server's final word (or the deadline): answers
  // requests in order, sends Done after WantEnd.
  void Run() {
    while (!finished() && !timed_out()) {
      ServeRequests();
      if (auto_done && wantend_ && pending_.empty()) Done();
      Pump(50);
    }
    if (!finished()) final_ = "timeout";
  }
  void ServeRequests() {
    if (serving_) return;
    serving_ = true;
    while (!pending_.empty() && !finished()) {
      Req r = pending_.front();
      pending_.pop_front();
      if (answer) {
        answer(*this, r);
      } else {
        Honest(r);
      }
      link_.Pump(0);
      Drain();
    }
    serving_ = false;
  }
  // Waits for the next request (taking it off the queue); false if the
  // session ended first.
  bool NextRequest(Req* r) {
    while (pending_.empty() && !finished() && !timed_out()) Pump(50);
    if (pending_.empty()) return false;
    *r = pending_.front();
    pending_.pop_front();
    return true;
  }
  bool wantend() const { return wantend_; }

  void Report() {
    char b[160];
    std::snprintf(b, sizeof b, "credit_left %lld granted_total %llu listed %u requests %zu",
                  static_cast<long long>(credit_), static_cast<unsigned long long>(granted_total_),
                  listed_, requests_);
    Stat(b);
  }

 private:
  static int64_t Weight(const Ent& e) {
    return kEntryWeightBase + static_cast<int64_t>(e.path.size());
  }
  void Register(const Ent& e) {
    ents_[e.path] = e;
    index_.push_back(e.path);
    if (e.type == kTypeFile && content_.find(e.path) == content_.end()) {
      content_[e.path] = Content(e.path, e.size);
    }
  }
  void WaitForCredit(int64_t w) {
    if (!respect_credit || !streaming()) return;
    while (credit_ < w && !finished() && !timed_out()) {
      ServeRequests();
      Pump(50);
    }
  }

  // Reads until a frame arrives or the session ends.
  bool NextFrame(uint8_t* type, std::string* p) {
    for (;;) {
      bool bad = false;
      if (link_.Next(type, p, &bad)) return true;
      if (bad) {
        final_ = "bad-frame-header";
        return false;
      }
      if (link_.eof()) {
        final_ = "closed";
        return false;
      }
      if (timed_out()) {
        final_ = "timeout";
        return false;
      }
      link_.Pump(50);
    }
  }
  void Drain() {
    uint8_t type = 0;
    std::string p;
    bool bad = false;
    while (!finished() && link_.Next(&type, &p, &bad)) Process(type, p);
    if (bad && !finished()) final_ = "bad-frame-header";
  }

  void Process(uint8_t type, const std::string& p) {
    Cursor c(p);
    switch (type) {
      case kError: {
        uint8_t code = 0;
        std::string msg;
        c.U8(&code);
        c.Bytes(&msg);
        final_ = "error " + std::to_string(code) + " " + OneLine(msg);
        return;
      }
      case kSummary: {
        uint8_t result = 0;
        std::string msg;
        c.U8(&result);
        c.Bytes(&msg);
        static const char* kNames[10] = {"files_total",      "files_transferred", "files_skipped",
                                         "files_deleted",    "dirs_created",      "dirs_deleted",
                                         "symlinks_created", "bytes_transferred", "bytes_resumed",
                                         "errors"};
        std::string line = "summary " + std::to_string(result);
        for (const char* n : kNames) {
          uint64_t v = 0;
          c.U64(&v);
          line += std::string(" ") + n + "=" + std::to_string(v);
        }
        if (!c.AtEnd()) line += " malformed";
        final_ = line + " message=" + OneLine(msg);
        return;
      }
      case kEvent: {
        uint8_t kind = 0;
        c.U8(&kind);
        if (kind == 1) {
          uint8_t change = 0, etype = 0;
          uint64_t bytes = 0;
          std::string path;
          c.U8(&change);
          c.U8(&etype);
          c.U64(&bytes);
          c.Bytes(&path);
          Log("event change " + std::to_string(change) + " type " + std::to_string(etype) + " " +
              OneLine(path));
        } else if (kind == 2) {
          std::string path, msg;
          c.Bytes(&path);
          c.Bytes(&msg);
          Stat("entry-error " + OneLine(path) + ": " + OneLine(msg));
        } else if (kind == 3) {
          std::string msg;
          c.Bytes(&msg);
          Stat("warning " + OneLine(msg));
        }
        return;
      }
      case kListCredit: {
        uint32_t n = 0;
        if (c.U32(&n) && c.AtEnd()) {
          credit_ += n;
          granted_total_ += n;
        } else {
          Stat("malformed ListCredit");
        }
        return;
      }
      case kWantPaths: {
        while (c.ok() && !c.AtEnd()) {
          Req r;
          if (!c.U32(&r.tag) || !c.U64(&r.offset) || !c.U64(&r.size) || !c.Bytes(&r.path)) break;
          AddRequest(r);
        }
        if (!c.AtEnd()) Stat("malformed WantPaths");
        return;
      }
      case kWantDeltaPath: {
        Req r;
        r.delta = true;
        c.U32(&r.tag);
        c.U64(&r.size);
        c.Bytes(&r.path);
        c.U32(&r.block_size);
        c.U64(&r.basis_size);
        c.U32(&r.blocks);
        if (!c.ok()) Stat("malformed WantDeltaPath");
        AddRequest(r);
        return;
      }
      case kWant: {
        while (c.ok() && !c.AtEnd()) {
          Req r;
          if (!c.U32(&r.tag) || !c.U64(&r.offset)) break;
          if (r.tag < index_.size()) r.path = index_[r.tag];
          AddRequest(r);
        }
        return;
      }
      case kWantDelta: {
        Req r;
        r.delta = true;
        c.U32(&r.tag);
        c.U32(&r.block_size);
        c.U64(&r.basis_size);
        c.U32(&r.blocks);
        if (r.tag < index_.size()) r.path = index_[r.tag];
        AddRequest(r);
        return;
      }
      case kWantEnd:
        wantend_ = true;
        Stat("wantend");
        return;
      case kHello:
        Stat("a second Hello from the server");
        return;
      default:
        Stat("unexpected frame type " + std::to_string(type));
        return;
    }
  }
  void AddRequest(const Req& r) {
    ++requests_;
    Stat(std::string(r.delta ? "delta-request " : "request ") + OneLine(r.path) + " offset " +
         std::to_string(r.offset) + " size " + std::to_string(r.size) +
         (r.delta ? " basis " + std::to_string(r.basis_size) : std::string()));
    pending_.push_back(r);
  }

  Link link_;
  Options o_;
  Clock::time_point deadline_;
  std::string final_;
  int64_t credit_ = kInitialListCredit;
  uint64_t granted_total_ = 0;
  uint32_t listed_ = 0;
  size_t requests_ = 0;
  std::map<std::string, Ent> ents_;
  std::map<std::string, std::string> content_;
  std::vector<std::string> index_;
  std::deque<Req> pending_;
  bool wantend_ = false;
  bool done_sent_ = false;
  bool serving_ = false;
};

// ---- Scenarios -----------------------------------------------------------

const char* const kScenarios[] = {
    // Honest pushes, for the traps the test lays in the served folder.
    "honest", "honest-packed", "honest-nostream", "honest-checksum", "session-path", "dry-run", "no-delete",
    "temp-symlink", "delta-basis", "hold", "cut", "resume",
    // The handshake.
    "no-session", "session-missing", "bad-options", "huge-hello", "slowloris",
    "slowloris-session", "stall-listing", "wrong-direction", "hello-again",
    // Paths.
    "dotdot", "dotdot-packed", "dotdot-deep", "absolute", "dot", "empty-component",
    "trailing-slash", "nul", "path-too-long", "empty-path",
    // Structure and order.
    "symlink-then-file", "symlink-then-folder", "symlink-folder-swap", "out-of-order",
    "duplicate", "unlisted-parent", "file-parent", "temp-name", "temp-name-upper",
    "temp-name-nested", "lock-name", "lock-name-upper", "lock-name-nested",
    "symlink-empty-target", "symlink-nul-target", "count-mismatch",
    // Framing and flags.
    "huge-frame", "unknown-type", "hash-unasked", "packed-unasked", "packed-overshare",
    "packed-headbits", "packed-varint", "packed-empty",
    // The optional fields, each with its flag asked for ("Owners", "Hard
    // links", "Holes", "Extended attributes", "Special files").
    "owner-name-10k", "link-not-yet-sent", "link-outside-listing", "hole-past-end", "xattr-10m",
    "device-node",
    // Data.
    "delta-copy-outside", "delta-copy-overrun", "file-error", "begin-interleave", "short-data",
    "oversize-data", "wrong-hash", "restart-loop", "begin-unrequested", "begin-offset",
    "data-outside", "end-outside", "copy-unasked", "frame-in-file", "done-early",
    "client-error",
    // Streaming.
    "gap-root", "gap-bad", "gap-nostream", "credit-exact", "credit-overrun",
    "incomplete-nostream",
    // Names and metadata.
    "setuid", "mtime-extremes", "folder-mode-0", "long-name", "odd-names",
};

bool Known(const std::string& s) {
  for (const char* k : kScenarios) {
    if (s == k) return true;
  }
  return false;
}

// The honest listing: a folder with a file, a file, a symlink.
void HonestListing(Pusher& p, bool packed) {
  std::vector<Ent> ents = {Folder("sub"), File("sub/pushed", 7), File("top", 17),
                           Sym("zlink", "sub/pushed")};
  p.SetContent("sub/pushed", "pushed\n");
  p.SetContent("top", "top file, pushed\n");
  p.Sync();
  if (packed) {
    p.Entries(ents);
  } else {
    for (const Ent& e : ents) p.Entry(e);
  }
  p.ListEnd();
}

// A listing of one entry (after Sync), then ListEnd, in one frame each.
void One(Pusher& p, const Ent& e) {
  p.Sync();
  p.Entry(e);
  p.ListEnd();
}

std::string Name250(int i, size_t len) {
  char b[16];
  std::snprintf(b, sizeof b, "f%05d", i);
  std::string s(b);
  s.resize(len, 'x');
  return s;
}

// Sets the handshake up for a scenario (before Hello).
void Prepare(Pusher& p, const Options& o) {
  const std::string& s = o.scenario;
  if (s == "honest-packed" || s == "dotdot-packed" || s.compare(0, 7, "packed-") == 0) {
    p.flags |= kFlagPacked;
  }
  if (s == "honest-checksum") {
    p.flags |= kFlagHash;
    p.options = kOptChecksum;
  }
  if (s == "packed-unasked") p.flags &= ~kFlagPacked;
  if (s == "owner-name-10k") p.flags |= kFlagPacked | kFlagOwners;
  if (s.compare(0, 5, "link-") == 0) p.flags |= kFlagPacked | kFlagHardLinks;
  if (s == "hole-past-end") p.flags |= kFlagHoles;
  if (s == "xattr-10m") p.flags |= kFlagPacked | kFlagXattrs;
  if (s == "device-node") p.flags |= kFlagPacked | kFlagSpecials;
  if (s == "honest-nostream" || s == "gap-nostream" || s == "incomplete-nostream") {
    p.flags &= ~kFlagStreaming;
  }
  if (s == "no-session") {
    p.flags &= ~kFlagSession;
    p.send_session = false;
  }
  if (s == "session-missing" || s == "slowloris-session") p.send_session = false;
  // A Sync where the Session frame should be, sent without waiting (the
  // server answers only once it has the Session frame).
  if (s == "session-missing") p.early_sync = true;
  if (s == "bad-options") p.options = 1u << 20;  // no such option
  if (s == "dry-run") p.options = kOptDryRun;
  if (s == "no-delete") p.options = kOptNoDelete;
  if (o.path_given) p.session_path = o.path;
}

// Plays the scenario after the server's Hello.
void Script(Pusher& p, const Options& o) {
  const std::string& s = o.scenario;
  const std::string outside = o.outside;
  if (s == "honest" || s == "honest-nostream" || s == "session-path" || s == "dry-run" ||
      s == "no-delete" || s == "honest-packed") {
    HonestListing(p, s == "honest-packed");
    return p.Run();
  }
  if (s == "session-missing") return p.Run();  // its Sync went with the Hello
  if (s == "honest-checksum") {
    // Hashes in the File entries, as --checksum sends them.
    std::vector<Ent> ents = {Folder("sub"), File("sub/pushed", 7), File("top", 17)};
    p.SetContent("sub/pushed", "pushed\n");
    p.SetContent("top", "top file, pushed\n");
    p.Sync();
    for (const Ent& e : ents) {
      const std::string* c = p.ContentOf(e.path);
      std::string h = c != nullptr ? HashBytes(*c) : std::string();
      p.Entry(e, e.type == kTypeFile ? &h : nullptr);
    }
    p.ListEnd();
    return p.Run();
  }
  if (s == "slowloris-session") return p.Run();  // never sends its Session
  if (s == "stall-listing") {
    p.Sync();
    p.Entry(Folder("sub"));
    return p.Run();  // and nothing more: the server's --timeout must drop us
  }
  if (s == "wrong-direction") {
    std::string sum;
    PutU8(&sum, 0);
    PutBytes(&sum, "all done, trust me");
    for (int i = 0; i < 10; ++i) PutU64(&sum, 0);
    p.Raw(kSummary, sum);
    return p.Run();
  }
  if (s == "hello-again") {
    std::string h("TREESYNC");
    PutU32(&h, 1);
    PutU32(&h, p.flags);
    p.Raw(kHello, h);
    return p.Run();
  }
  // Paths.
  if (s == "dotdot") {
    p.SetContent("../escape", "escaped\n");
    One(p, File("../escape", 8));
    return p.Run();
  }
  if (s == "dotdot-packed") {
    p.SetContent("../escape", "escaped\n");
    p.Sync();
    p.Entries({Folder("a"), File("../escape", 8)});
    p.ListEnd();
    return p.Run();
  }
  if (s == "dotdot-deep") {
    p.Sync();
    p.Entry(Folder("a"));
    p.SetContent("a/../../escape", "escaped\n");
    p.Entry(File("a/../../escape", 8));
    p.ListEnd();
    return p.Run();
  }
  if (s == "absolute") {
    std::string path = outside + "/absolute";
    p.SetContent(path, "absolute\n");
    One(p, File(path, 9));
    return p.Run();
  }
  if (s == "dot") {
    One(p, File("./dotted", 3));
    return p.Run();
  }
  if (s == "empty-component" || s == "trailing-slash") {
    p.Sync();
    p.Entry(Folder("a"));
    p.Entry(s == "trailing-slash" ? Folder("a/b/") : File("a//b", 3));
    p.ListEnd();
    return p.Run();
  }
  if (s == "nul") {
    One(p, File(std::string("a\0b", 3), 3));
    return p.Run();
  }
  if (s == "path-too-long") {
    One(p, File(std::string(4097, 'a'), 3));
    return p.Run();
  }
  if (s == "empty-path") {
    One(p, File("", 3));
    return p.Run();
  }
  // Structure and order.
  if (s == "symlink-then-file") {
    p.Sync();
    p.Entry(Sym("link", outside));
    p.SetContent("link/owned", "owned\n");
    p.Entry(File("link/owned", 6));
    p.ListEnd();
    return p.Run();
  }
  if (s == "symlink-then-folder") {
    p.Sync();
    p.Entry(Sym("link", outside));
    p.Entry(Folder("link/made"));
    p.Entry(File("link/made/owned", 6));
    p.ListEnd();
    return p.Run();
  }
  if (s == "symlink-folder-swap") {
    p.Sync();
    p.Entry(Folder("d"));
    p.Entry(File("d/x", 2));
    p.Entry(Sym("d", outside));
    p.Entry(File("d/owned", 6));
    p.ListEnd();
    return p.Run();
  }
  if (s == "out-of-order") {
    p.Sync();
    p.Entry(File("b", 2));
    p.Entry(File("a", 2));
    p.ListEnd();
    return p.Run();
  }
  if (s == "duplicate") {
    p.Sync();
    p.Entry(File("a", 2));
    p.Entry(File("a", 3));
    p.ListEnd();
    return p.Run();
  }
  if (s == "unlisted-parent") {  // the test makes "a" a symlink to outside
    p.SetContent("a/owned", "owned\n");
    One(p, File("a/owned", 6));
    return p.Run();
  }
  if (s == "file-parent") {
    p.Sync();
    p.Entry(File("f", 2));
    p.Entry(File("f/x", 2));
    p.ListEnd();
    return p.Run();
  }
  if (s == "temp-name") {
    One(p, File(".treesync-0123456789abcdef.tmp", 4));
    return p.Run();
  }
  if (s == "temp-name-upper") {
    One(p, File(".TREESYNC-0123456789ABCDEF.TMP", 4));
    return p.Run();
  }
  if (s == "temp-name-nested") {
    p.Sync();
    p.Entry(Folder("d"));
    p.Entry(Sym("d/.treesync-0123456789abcdef.tmp", outside + "/sentinel"));
    p.ListEnd();
    return p.Run();
  }
  if (s == "lock-name") {
    One(p, Sym(".treesync-lock", outside + "/lockvictim"));
    return p.Run();
  }
  if (s == "lock-name-upper") {
    One(p, File(".TREESYNC-LOCK", 4));
    return p.Run();
  }
  if (s == "lock-name-nested") {
    // A lock-named symlink in a sub-folder: a later push into that folder
    // (Session path "x") would open it as its lock.
    p.Sync();
    p.Entry(Folder("x"));
    p.Entry(Sym("x/.treesync-lock", outside + "/lockvictim"));
    p.ListEnd();
    return p.Run();
  }
  if (s == "symlink-empty-target") {
    One(p, Sym("s", ""));
    return p.Run();
  }
  if (s == "symlink-nul-target") {
    One(p, Sym("s", std::string("/tmp\0x", 6)));
    return p.Run();
  }
  if (s == "count-mismatch") {
    p.Sync();
    p.Entry(File("a", 2));
    p.ListEndCount(7);
    return p.Run();
  }
  // Framing and flags.
  if (s == "huge-frame") {
    p.Sync();
    p.RawBytes(std::string("\x12\x00\x00\x00\x80", 5));  // a File frame of 2 GiB
    p.RawBytes(std::string(4096, 'A'));
    return p.Run();
  }
  if (s == "unknown-type") {
    p.Sync();
    p.Raw(0x7f, std::string());
    return p.Run();
  }
  if (s == "hash-unasked") {
    p.Sync();
    std::string h = HashBytes("ab");
    p.SetContent("a", "ab");
    p.Entry(File("a", 2), &h);
    p.ListEnd();
    return p.Run();
  }
  if (s == "packed-unasked") {
    p.Sync();
    p.Entries({Folder("a"), File("a/b", 2)});
    p.ListEnd();
    return p.Run();
  }
  if (s == "packed-overshare" || s == "packed-headbits" || s == "packed-varint" ||
      s == "packed-empty") {
    p.Sync();
    std::string payload = Pack({Folder("a")});
    if (s == "packed-overshare") {
      payload += std::string("\x0a\x05\x01x\x00\x00", 6);  // shares 5 bytes of "a"
    } else if (s == "packed-headbits") {
      payload += std::string("\x19\x00\x01x\x00\x00", 6);  // head bit 4 set
    } else if (s == "packed-varint") {  // an 11-byte varint for the mode
      payload += std::string("\x01\x00\x01z", 4);
      payload += std::string(10, '\x80');
      payload += std::string("\x01\x00", 2);
    } else {
      payload.clear();
    }
    p.Raw(kEntries, payload);
    p.ListEndCount(2);
    return p.Run();
  }
  // The optional fields: records written by hand from "Packed listing".
  if (s == "owner-name-10k" || s == "link-not-yet-sent" || s == "link-outside-listing" ||
      s == "xattr-10m" || s == "device-node") {
    const std::string file_f("\x00\x01" "f" "\xa4\x03", 5);  // shares 0, "f", mode 0644
    std::string payload;
    if (s == "owner-name-10k") {
      PutU8(&payload, kTypeFile | 16);  // an owner record follows the mode
      payload += file_f;
      PutVarint(&payload, 1000);
      PutVarint(&payload, 10000);
      payload += std::string(10000, 'u');  // a 10 KB user name
      PutVarint(&payload, 1000);
      PutVarint(&payload, 0);
      PutVarint(&payload, 0);  // mtime
      PutVarint(&payload, 0);  // size
    } else if (s == "xattr-10m") {
      PutU8(&payload, kTypeFile | 64);  // attributes follow
      payload += file_f;
      PutVarint(&payload, 0);
      PutVarint(&payload, 0);
      PutVarint(&payload, 1);
      PutVarint(&payload, 9);
      payload += "user.huge";
      PutVarint(&payload, 10u << 20);  // a 10 MiB value, half a MiB of it here
      payload += std::string(512 * 1024, 'v');
    } else if (s == "device-node") {
      PutU8(&payload, 32);  // a special file: the host's first disk, for all
      payload += std::string("\x00\x04" "disk", 6);  // shares 0, "disk"
      PutVarint(&payload, 0666);
      PutVarint(&payload, 0);
      PutVarint(&payload, 4);  // block device 8:0
      PutVarint(&payload, 8);
      PutVarint(&payload, 0);
    } else {
      // "a", the first of two names, then "b", naming entry 5 (not listed
      // yet) or 1,000,000 (beyond the listing) as its first name.
      PutU8(&payload, kTypeFile | 128);
      payload += std::string("\x00\x01" "a" "\xa4\x03", 5);
      PutVarint(&payload, 0);
      PutVarint(&payload, 3);
      PutVarint(&payload, 0);
      PutVarint(&payload, 2);
      PutU8(&payload, kTypeFile | 8 | 128);
      payload += std::string("\x00\x01" "b", 3);
      PutVarint(&payload, 0);
      PutVarint(&payload, 3);
      PutVarint(&payload, 1 + (s == "link-not-yet-sent" ? 5 : 1000000));
    }
    p.Sync();
    p.Raw(kEntries, payload);
    p.ListEndCount(s.compare(0, 5, "link-") == 0 ? 2 : 1);
    return p.Run();
  }
  if (s == "hole-past-end") {
    p.Sync();
    p.Entry(File("f", 10));
    p.ListEnd();
    p.answer = [](Pusher& q, const Req& r) {
      q.Begin(r.tag, 0);
      std::string h;
      PutU64(&h, uint64_t(1) << 40);  // a TiB of zeros into a 10-byte file
      q.Raw(kHole, h);
    };
    return p.Run();
  }
  // Data.
  if (s == "delta-copy-outside" || s == "delta-copy-overrun") {
    // The test lays a same-size regular file as the basis. Copy frames
    // beyond the basis, or more of them than the listed size.
    p.Sync();
    p.Entry(File("renamed", 200 * 1024));
    p.ListEnd();
    bool outside_basis = s == "delta-copy-outside";
    p.answer = [outside_basis](Pusher& q, const Req& r) {
      if (!r.delta) {
        q.Stat("no delta request: the basis was not used");
        return q.Honest(r);
      }
      q.Begin(r.tag, 0);
      std::string c;
      if (outside_basis) {
        PutU32(&c, r.blocks);  // the first block past the basis
        PutU32(&c, 1);
        q.Raw(kCopy, c);
      } else {
        PutU32(&c, 0);
        PutU32(&c, r.blocks);
        q.Raw(kCopy, c);
        q.Raw(kCopy, c);  // the basis twice: twice the listed size
      }
      q.EndFrame(200 * 1024, kMtime, 0644, HashBytes("whatever"));
    };
    return p.Run();
  }
  if (s == "file-error") {
    p.Sync();
    p.Entry(File("a", 2));
    p.Entry(File("b", 2));
    p.ListEnd();
    p.answer = [](Pusher& q, const Req& r) {
      if (r.path == "a") return q.FileError(r.tag, "hostile_pusher: a: unreadable");
      q.Honest(r);
    };
    return p.Run();
  }
  if (s == "begin-interleave") {
    // Two files requested; the second begins inside the first.
    p.Sync();
    p.Entry(File("a", 4));
    p.Entry(File("b", 4));
    p.ListEnd();
    Req ra, rb;
    if (!p.NextRequest(&ra) || !p.NextRequest(&rb)) return p.Run();
    p.Begin(ra.tag, 0);
    p.Data(p.ContentOf(ra.path)->substr(0, 2));
    p.Begin(rb.tag, 0);
    p.Data(*p.ContentOf(rb.path));
    p.EndFrame(4, kMtime, 0644, HashBytes(*p.ContentOf(rb.path)));
    p.Data(p.ContentOf(ra.path)->substr(2));
    p.EndFrame(4, kMtime, 0644, HashBytes(*p.ContentOf(ra.path)));
    return p.Run();
  }
  if (s == "short-data") {
    // Listed as 8 bytes; 4 arrive, and End says 4, with their right hash.
    p.Sync();
    p.Entry(File("short", 8));
    p.ListEnd();
    p.answer = [](Pusher& q, const Req& r) {
      q.Begin(r.tag, 0);
      q.Data("shor");
      q.EndFrame(4, kMtime, 0644, HashBytes("shor"));
    };
    return p.Run();
  }
  if (s == "incomplete-nostream") {
    // Without streaming, ListEnd's complete = 0 means: delete nothing.
    p.Sync();
    p.Entry(File("a", 2));
    p.ListEnd(0);
    return p.Run();
  }
  if (s == "long-name") {
    One(p, File(std::string(300, 'n'), 2));  // a name longer than the file system takes
    return p.Run();
  }
  if (s == "odd-names") {
    p.Sync();
    p.Entry(File(std::string("\x01" "ctl", 4), 2));
    p.Entry(File("a\nb", 2));
    p.Entry(File("back\\slash", 2));
    p.Entry(File("\xff\xfe", 2));
    p.ListEnd();
    return p.Run();
  }
  if (s == "oversize-data") {
    p.Sync();
    p.Entry(File("big", 10));
    p.ListEnd();
    p.answer = [](Pusher& q, const Req& r) {
      std::string mib(1 << 20, 'O');
      q.Begin(r.tag, 0);
      q.Data(mib);
      q.EndFrame(mib.size(), kMtime, 0644, HashBytes(mib));
    };
    return p.Run();
  }
  if (s == "wrong-hash") {
    p.Sync();
    p.SetContent("bad", "bad!\n");
    p.SetContent("good", "good\n");
    p.Entry(File("bad", 5));
    p.Entry(File("good", 5));
    p.ListEnd();
    p.answer = [](Pusher& q, const Req& r) {
      if (r.path != "bad") return q.Honest(r);
      std::string wrong = HashBytes("not this");
      q.Begin(r.tag, 0);
      q.Data(*q.ContentOf("bad"));
      q.EndFrame(5, kMtime, 0644, wrong);
    };
    return p.Run();
  }
  if (s == "restart-loop") {
    p.Sync();
    p.Entry(File("r", 4));
    p.ListEnd();
    p.answer = [](Pusher& q, const Req& r) {
      for (int i = 0; i < 4; ++i) {  // a first try and three restarts
        q.Begin(r.tag, 0);
        q.Data("rr");
      }
      q.Data("rr");
      q.EndFrame(4, kMtime, 0644, HashBytes("rrrr"));
    };
    return p.Run();
  }
  if (s == "begin-unrequested" || s == "begin-offset" || s == "copy-unasked" ||
      s == "frame-in-file" || s == "client-error" || s == "end-outside" ||
      s == "data-outside") {
    p.Sync();
    p.Entry(File("a", 4));
    p.SetContent("a", "aaaa");
    p.ListEnd();
    Req r;
    if (!p.NextRequest(&r)) return p.Run();
    if (s == "begin-unrequested") {
      p.Begin(0xdeadbeefu, 0);
      p.Data("evil");
      p.EndFrame(4, kMtime, 0644, HashBytes("evil"));
    } else if (s == "begin-offset") {
      p.Begin(r.tag, 2);
      p.Data("aa");
      p.EndFrame(4, kMtime, 0644, HashBytes("aaaa"));
    } else if (s == "copy-unasked") {
      p.Begin(r.tag, 0);
      std::string c;
      PutU32(&c, 0);
      PutU32(&c, 1);
      p.Raw(kCopy, c);
      p.EndFrame(4, kMtime, 0644, HashBytes("aaaa"));
    } else if (s == "frame-in-file") {
      p.Begin(r.tag, 0);
      p.Data("aa");
      p.Entry(File("b", 1));
      p.Data("aa");
      p.EndFrame(4, kMtime, 0644, HashBytes("aaaa"));
    } else if (s == "client-error") {
      p.Begin(r.tag, 0);
      p.Data("aa");
      std::string e;
      PutU8(&e, 11);
      PutBytes(&e, "hostile_pusher: the disk went away");
      p.Raw(kError, e);
      p.Flush(2000);
      return p.Pump(3000);  // then whatever the server says, or its close
    } else if (s == "end-outside") {
      p.EndFrame(4, kMtime, 0644, HashBytes("aaaa"));
    } else {
      p.Data("stray data");
    }
    return p.Run();
  }
  if (s == "done-early") {
    p.Sync();
    p.Entry(File("a", 4));
    p.ListEnd();
    p.Done();  // before any request was answered, and before WantEnd
    p.answer = [](Pusher&, const Req&) {};
    return p.Run();
  }
  // Streaming.
  if (s == "gap-root") {
    p.Sync();
    p.Entry(File("a", 2));
    p.Gap("", "hostile_pusher: pretend the served folder could not be read");
    p.ListEnd(0);
    return p.Run();
  }
  if (s == "gap-bad") {
    p.Sync();
    p.Entry(Folder("a"));
    p.Entry(File("a/x", 2));
    p.Entry(File("b", 2));
    p.Gap("a", "a is no longer being listed");
    p.ListEnd(0);
    return p.Run();
  }
  if (s == "gap-nostream") {
    p.Sync();
    p.Entry(File("a", 2));
    p.Gap("", "no streaming here");
    p.ListEnd(0);
    return p.Run();
  }
  if (s == "credit-exact" || s == "credit-overrun") {
    // 5,548 files directly in the target, 250- or 251-byte names: weight
    // 378 or 379 each, 2,097,152 in all, exactly the initial credit. The
    // receiver finishes none of them before it has their data, so it owes
    // no credit back until we answer.
    p.respect_credit = false;
    p.Sync();
    int64_t total = 0;
    for (int i = 0; i < 5548; ++i) {
      Ent e = File(Name250(i, i < 8 ? 251 : 250), 1);
      total += 128 + static_cast<int64_t>(e.path.size());
      p.Entry(e);
    }
    p.Stat("listing weight sent " + std::to_string(total));
    if (s == "credit-overrun") {
      p.answer = [](Pusher&, const Req&) {};  // never answer: no credit comes back
      p.Entry(File(Name250(5548, 10), 1));    // one entry beyond the credit
      p.Stat("overdrawn to " + std::to_string(p.credit()));
    }
    p.ListEnd();
    p.Run();
    p.Report();
    return;
  }
  // Metadata.
  if (s == "setuid") {
    p.Sync();
    p.Entry(Folder("sticky", 07777));
    p.Entry(File("sticky/suid", 3, 06755));
    p.Entry(File("suid", 3, 0104755));  // a type bit too: only & 07777 counts
    p.ListEnd();
    return p.Run();
  }
  if (s == "mtime-extremes") {
    p.Sync(0755, std::numeric_limits<int64_t>::min());
    Ent a = File("m1", 2), b = File("m2", 2), c = File("m3", 2);
    Ent d = Folder("m4");
    a.mtime_ns = std::numeric_limits<int64_t>::min();
    b.mtime_ns = std::numeric_limits<int64_t>::max();
    c.mtime_ns = -1;
    d.mtime_ns = std::numeric_limits<int64_t>::max();
    p.Entry(a);
    p.Entry(b);
    p.Entry(c);
    p.Entry(d);
    p.ListEnd();
    return p.Run();
  }
  if (s == "folder-mode-0") {
    p.Sync();
    p.Entry(Folder("locked", 0));
    p.Entry(File("locked/f", 2, 0));
    p.Entry(Folder("locked/inner", 0));
    p.Entry(File("locked/inner/g", 2));
    p.ListEnd();
    return p.Run();
  }
  // Honest pushes with a twist in the data.
  if (s == "temp-symlink") {
    // The test lays the temporary of "victim" as a symlink to a file
    // outside: a receiver that resumed through it would append there.
    p.Sync();
    p.Entry(File("victim", 100));
    p.ListEnd();
    return p.Run();
  }
  if (s == "delta-basis") {
    // A new 200 KiB file; the test lays a symlink to an outside file of that
    // size in the target, which must not serve as a delta basis.
    p.Sync();
    p.Entry(File("renamed", 200 * 1024));
    p.ListEnd();
    return p.Run();
  }
  if (s == "hold" || s == "cut" || s == "resume") {
    // One 600,000-byte file; "hold" sends half, waits --hold seconds, then
    // the rest; "cut" sends half and hangs up; "resume" is honest.
    p.Sync();
    p.Entry(File("big", 600000));
    p.ListEnd();
    if (s == "resume") return p.Run();
    Req r;
    if (!p.NextRequest(&r)) return p.Run();
    const std::string& c = *p.ContentOf("big");
    p.Begin(r.tag, 0);
    p.Data(c.substr(0, 300000));
    p.Flush(5000);
    if (s == "cut") {
      p.Pump(300);
      return;  // main closes the socket: a cut-off push
    }
    std::printf("holding\n");
    std::fflush(stdout);
    p.Hold(o.hold_s);
    p.Data(c, 300000);
    p.EndFrame(c.size(), kMtime, 0644, HashBytes(c));
    return p.Run();
  }
  std::fprintf(stderr, "hostile_pusher: no script for %s\n", s.c_str());
}

int Usage() {
  std::fprintf(stderr,
               "usage: hostile_pusher --port N --scenario NAME [--host H] [--path SUB]\n"
               "                      [--outside DIR] [--hold SECS] [--max-seconds N]\n"
               "                      [--key FILE --server-key KEY] [-v]\n"
               "       hostile_pusher --temp-name NAME SIZE\n"
               "scenarios:");
  for (const char* k : kScenarios) std::fprintf(stderr, " %s", k);
  std::fprintf(stderr, "\n");
  return 1;
}

// The temporary name of a file ("Installing files"): XXH3-128 over
// (bytes name, u64 size, i64 mtime_ns), its low 64 bits in 16 hex digits.
int PrintTempName(const std::string& name, uint64_t size) {
  std::string in;
  PutBytes(&in, name);
  PutU64(&in, size);
  PutI64(&in, kMtime);
  treesync::Hash128 h = treesync::Xxh3_128(in.data(), in.size());
  std::printf(".treesync-%016llx.tmp\n", static_cast<unsigned long long>(h.low));
  return 0;
}

// The client's half of the encrypted handshake over conn: --key's pair,
// the server's key pinned to --server-key.
Status Secure(treesync::Connection* conn, const Options& o) {
  treesync::ClientSecurity sec;
  uint8_t priv[treesync::kKeySize], pub[treesync::kKeySize];
  TS_RETURN_IF_ERROR(treesync::ReadPrivateKey(o.key, priv, pub));
  sec.key = treesync::NoiseKeyPair(priv);
  treesync::SecureWipe(priv, sizeof(priv));
  TS_RETURN_IF_ERROR(treesync::ParsePublicKey(o.server_key, sec.pinned_key, nullptr)
                         .Prefixed("--server-key"));
  sec.pinned = true;
  sec.host = o.host;
  sec.port = o.port;
  return treesync::SecureAsClient(conn, sec);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string* v) {
      if (i + 1 >= argc) return false;
      *v = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--temp-name" && i + 2 < argc) {
      return PrintTempName(argv[i + 1], std::strtoull(argv[i + 2], nullptr, 10));
    } else if (a == "--port" && value(&v)) {
      o.port = static_cast<uint16_t>(std::atoi(v.c_str()));
    } else if (a == "--host" && value(&v)) {
      o.host = v;
    } else if (a == "--scenario" && value(&v)) {
      o.scenario = v;
    } else if (a == "--path" && value(&v)) {
      o.path = v;
      o.path_given = true;
    } else if (a == "--outside" && value(&v)) {
      o.outside = v;
    } else if (a == "--hold" && value(&v)) {
      o.hold_s = std::atoi(v.c_str());
    } else if (a == "--max-seconds" && value(&v)) {
      o.max_s = std::atoi(v.c_str());
    } else if (a == "--key" && value(&v)) {
      o.key = v;
    } else if (a == "--server-key" && value(&v)) {
      o.server_key = v;
    } else if (a == "-v") {
      o.verbose = true;
    } else {
      return Usage();
    }
  }
  if (o.port == 0 || !Known(o.scenario) || o.key.empty() != o.server_key.empty()) return Usage();

  platform::NetInit();
  platform::Socket sock;
  Status st = platform::Connect(o.host, o.port, 5000, &sock);
  if (!st.ok()) {
    std::fprintf(stderr, "hostile_pusher: cannot connect: %s\n", st.message().c_str());
    return 1;
  }
  auto conn = std::make_unique<treesync::Connection>(std::move(sock), treesync::kHandshakeTimeoutMs);
  if (!o.key.empty()) {
    st = Secure(conn.get(), o);
    if (!st.ok()) {
      std::fprintf(stderr, "hostile_pusher: handshake: %s\n", st.message().c_str());
      return 1;
    }
  }
  Pusher p(std::move(conn), o);
  const std::string& s = o.scenario;

  // Scenarios that break the handshake itself.
  if (s == "slowloris" || s == "huge-hello") {
    // slowloris: 3 bytes of a Hello, then silence; the server must give up
    // (Error 30 after its 10 s Hello timeout). huge-hello: a Hello header
    // announcing 2 GiB.
    p.RawBytes(s == "slowloris" ? std::string("\x01\x10\x00", 3)
                                : std::string("\x01\x00\x00\x00\x80", 5));
    p.Flush(2000);
    p.Run();
  } else {
    Prepare(p, o);
    if (p.Handshake()) Script(p, o);
  }
  if (!p.finished() && s != "cut") p.Run();
  p.Finish();
  std::printf("%s\n", s == "cut" && !p.finished() ? "cut" : p.final_line().c_str());
  std::fflush(stdout);
  if (p.final_line() == "timeout") return 3;
  return 0;
}
