// Frames: the unit of the treesync wire protocol. Each frame is a 1-byte
// type, a 4-byte little-endian payload length, and the payload. Lengths
// replace the old in-band CMB_BEGIN/CMB_END markers, so any byte is data.
#ifndef TREESYNC_FRAME_H_
#define TREESYNC_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace treesync {

// S: the sender of the tree, R: its receiver; which of them connected is
// settled by the Hello (docs/PROTOCOL.md, "Roles").
enum class FrameType : uint8_t {
  kHello = 0x01,      // both ways: magic, version, flags
  kError = 0x02,      // fatal: code, message; the sender closes after it
  kSession = 0x03,    // connecting side -> serving side: what to serve, how
  kHandshake = 0x04,  // both: a step of the encrypted session's Noise handshake
  kSync = 0x10,       // S->R: the listing starts
  kFolder = 0x11,     // S->R: a folder entry
  kFile = 0x12,       // S->R: a regular file entry
  kSymlink = 0x13,    // S->R: a symlink entry
  kWarning = 0x14,    // S->R: a per-entry problem found while listing
  kListEnd = 0x15,    // S->R: the listing is complete
  kEntries = 0x16,    // S->R: many listing entries, packed (manifest.h)
  kGap = 0x17,        // S->R: a folder not wholly listed (streaming)
  kWhole = 0x18,      // S->R, watch rounds: a folder whose entries are all listed
  kWant = 0x20,       // R->S: please send these files
  kWantEnd = 0x21,    // R->S: no more requests
  kWantDelta = 0x22,  // R->S: send this file as a delta against my basis
  kListCredit = 0x23,     // R->S: more listing may come (streaming)
  kWantPaths = 0x24,      // R->S: please send these files, by path (streaming)
  kWantDeltaPath = 0x25,  // R->S: a delta of this file, by path (streaming)
  kBegin = 0x30,      // S->R: the contents of a requested file follow
  kData = 0x31,       // S->R: a piece of the current file
  kEnd = 0x32,        // S->R: the current file is complete
  kFileError = 0x33,  // S->R: a requested file could not be sent
  kCopy = 0x34,       // S->R: the next bytes are blocks of the receiver's basis
  kHole = 0x35,       // S->R: the next bytes of the current file are a hole
  kDone = 0x40,       // S->R: the session is complete
  kEvent = 0x41,      // R->S, push only: a change made, for the pushing user
  kSummary = 0x42,    // R->S, push only: the receiver's totals and result
  kRound = 0x43,      // S->R, watch: another round of the session follows
  kTick = 0x44,       // S->R, watch: nothing changed; the sender is still there
};

// The name of a frame type for messages ("Folder"), or "0x7f" if unknown.
std::string FrameTypeName(uint8_t type);
bool IsKnownFrameType(uint8_t type);

constexpr size_t kFrameHeaderSize = 5;
// Largest payload a peer may announce. File data travels in pieces of at
// most kDataChunk; listing entries carry at most two 4 KiB paths. 1 MiB
// leaves room for both and bounds what one frame can make us buffer.
constexpr uint32_t kMaxFramePayload = 1u << 20;
// File data per Data frame: large enough that the 5-byte header is noise,
// small enough to interleave with requests flowing the other way.
constexpr size_t kDataChunk = 256 * 1024;

struct Frame {
  FrameType type = FrameType::kHello;
  std::string payload;
};

// A frame read in place: payload points into the reader's buffer and stays
// valid only until the reader is next fed. Spares a copy of file data.
struct FrameView {
  FrameType type = FrameType::kHello;
  const char* data = nullptr;
  size_t size = 0;
  Frame ToFrame() const { return Frame{type, std::string(data, size)}; }
};

// Appends one encoded frame to *out. REQUIRES: n <= kMaxFramePayload.
void AppendFrame(std::string* out, FrameType type, const void* payload, size_t n);
// Writes the kFrameHeaderSize bytes that open a frame of n payload bytes.
void WriteFrameHeader(char* at, FrameType type, size_t n);
inline void AppendFrame(std::string* out, FrameType type, const std::string& payload) {
  AppendFrame(out, type, payload.data(), payload.size());
}

// Splits a byte stream, fed in pieces of any size, into frames. Rejects an
// unknown type or an oversized length as soon as the header arrives, so a
// hostile peer can't make us buffer more than one maximal frame.
class FrameReader {
 public:
  // Space for at least `want` more bytes; write into it, then Commit().
  char* Prepare(size_t want);
  void Commit(size_t n) { end_ += n; }
  void Feed(const void* data, size_t n);

  // Takes the next complete frame into *f and sets *got. *got stays false
  // when more bytes are needed. An error means the stream is broken.
  Status Next(Frame* f, bool* got);
  // Next without copying the payload (see FrameView).
  Status NextView(FrameView* f, bool* got);
  size_t buffered() const { return end_ - start_; }
  // Hands over the bytes after the last frame taken, leaving none: what a
  // layer below the frames that starts now (compression) must see first.
  std::string TakeBuffered();

 private:
  std::vector<char> buf_;
  size_t start_ = 0;
  size_t end_ = 0;
};

// Builds a payload from little-endian fields.
class PayloadWriter {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v);
  void U64(uint64_t v);
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  // A u32 length followed by the bytes.
  void Bytes(const std::string& s);
  const std::string& data() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads fields from a payload. After the first failure every read fails;
// Finish() then reports it, and also rejects unread trailing bytes.
class PayloadReader {
 public:
  PayloadReader(const std::string& payload, const char* what)
      : p_(payload), what_(what) {}
  bool U8(uint8_t* v);
  bool U32(uint32_t* v);
  bool U64(uint64_t* v);
  bool I64(int64_t* v);
  bool Raw(void* p, size_t n);
  // A u32 length (at most max_len) followed by that many bytes.
  bool Bytes(std::string* s, size_t max_len);
  bool AtEnd() const { return pos_ == p_.size(); }
  Status Finish() const;

 private:
  bool Take(size_t n, const char** at);
  const std::string& p_;
  const char* what_;
  size_t pos_ = 0;
  bool failed_ = false;
  std::string why_;
};

}  // namespace treesync

#endif  // TREESYNC_FRAME_H_
