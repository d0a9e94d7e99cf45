#include "frame.h"

#include <cstring>

namespace treesync {

namespace {

uint32_t LoadU32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t(u[0]) | uint32_t(u[1]) << 8 | uint32_t(u[2]) << 16 | uint32_t(u[3]) << 24;
}

void StoreU32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}

}  // namespace

std::string FrameTypeName(uint8_t type) {
  switch (static_cast<FrameType>(type)) {
    case FrameType::kHello: return "Hello";
    case FrameType::kError: return "Error";
    case FrameType::kSession: return "Session";
    case FrameType::kHandshake: return "Handshake";
    case FrameType::kSync: return "Sync";
    case FrameType::kFolder: return "Folder";
    case FrameType::kFile: return "File";
    case FrameType::kSymlink: return "Symlink";
    case FrameType::kWarning: return "Warning";
    case FrameType::kListEnd: return "ListEnd";
    case FrameType::kEntries: return "Entries";
    case FrameType::kGap: return "Gap";
    case FrameType::kWhole: return "Whole";
    case FrameType::kWant: return "Want";
    case FrameType::kWantEnd: return "WantEnd";
    case FrameType::kWantDelta: return "WantDelta";
    case FrameType::kListCredit: return "ListCredit";
    case FrameType::kWantPaths: return "WantPaths";
    case FrameType::kWantDeltaPath: return "WantDeltaPath";
    case FrameType::kBegin: return "Begin";
    case FrameType::kData: return "Data";
    case FrameType::kEnd: return "End";
    case FrameType::kFileError: return "FileError";
    case FrameType::kCopy: return "Copy";
    case FrameType::kHole: return "Hole";
    case FrameType::kDone: return "Done";
    case FrameType::kEvent: return "Event";
    case FrameType::kSummary: return "Summary";
    case FrameType::kRound: return "Round";
    case FrameType::kTick: return "Tick";
  }
  static const char kHex[] = "0123456789abcdef";
  return std::string("0x") + kHex[type >> 4] + kHex[type & 15];
}

bool IsKnownFrameType(uint8_t type) { return FrameTypeName(type).compare(0, 2, "0x") != 0; }

void WriteFrameHeader(char* at, FrameType type, size_t n) {
  at[0] = static_cast<char>(type);
  StoreU32(at + 1, static_cast<uint32_t>(n));
}

void AppendFrame(std::string* out, FrameType type, const void* payload, size_t n) {
  char header[kFrameHeaderSize];
  WriteFrameHeader(header, type, n);
  out->append(header, sizeof header);
  out->append(static_cast<const char*>(payload), n);
}

char* FrameReader::Prepare(size_t want) {
  if (start_ == end_) start_ = end_ = 0;
  if (buf_.size() - end_ < want) {
    // Slide the unread bytes down before growing: the buffer then stays
    // near one maximal frame plus one read.
    if (start_ > 0) {
      std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
      end_ -= start_;
      start_ = 0;
    }
    if (buf_.size() - end_ < want) buf_.resize(end_ + want);
  }
  return buf_.data() + end_;
}

std::string FrameReader::TakeBuffered() {
  if (start_ == end_) return std::string();
  std::string rest(buf_.data() + start_, end_ - start_);
  start_ = end_ = 0;
  return rest;
}

void FrameReader::Feed(const void* data, size_t n) {
  // A fresh reader has no buffer, so Prepare(0) gives a null pointer, and
  // memcpy from or to null is undefined even for 0 bytes.
  if (n == 0) return;
  std::memcpy(Prepare(n), data, n);
  Commit(n);
}

Status FrameReader::Next(Frame* f, bool* got) {
  FrameView v;
  TS_RETURN_IF_ERROR(NextView(&v, got));
  if (*got) *f = v.ToFrame();
  return Status::Ok();
}

Status FrameReader::NextView(FrameView* f, bool* got) {
  *got = false;
  if (buffered() < kFrameHeaderSize) return Status::Ok();
  const char* h = buf_.data() + start_;
  uint8_t type = static_cast<uint8_t>(h[0]);
  uint32_t len = LoadU32(h + 1);
  if (!IsKnownFrameType(type)) {
    return Status::Protocol("unknown frame type " + FrameTypeName(type));
  }
  if (len > kMaxFramePayload) {
    return Status::Protocol(FrameTypeName(type) + " frame of " + std::to_string(len) +
                            " bytes exceeds the limit of " + std::to_string(kMaxFramePayload));
  }
  if (buffered() < kFrameHeaderSize + len) return Status::Ok();
  f->type = static_cast<FrameType>(type);
  f->data = h + kFrameHeaderSize;
  f->size = len;
  start_ += kFrameHeaderSize + len;
  *got = true;
  return Status::Ok();
}

void PayloadWriter::U32(uint32_t v) {
  char b[4];
  StoreU32(b, v);
  out_.append(b, 4);
}

void PayloadWriter::U64(uint64_t v) {
  U32(static_cast<uint32_t>(v));
  U32(static_cast<uint32_t>(v >> 32));
}

void PayloadWriter::Bytes(const std::string& s) {
  U32(static_cast<uint32_t>(s.size()));
  out_.append(s);
}

bool PayloadReader::Take(size_t n, const char** at) {
  if (failed_) return false;
  if (p_.size() - pos_ < n) {
    failed_ = true;
    why_ = "truncated";
    return false;
  }
  *at = p_.data() + pos_;
  pos_ += n;
  return true;
}

bool PayloadReader::U8(uint8_t* v) {
  const char* at;
  if (!Take(1, &at)) return false;
  *v = static_cast<uint8_t>(*at);
  return true;
}

bool PayloadReader::U32(uint32_t* v) {
  const char* at;
  if (!Take(4, &at)) return false;
  *v = LoadU32(at);
  return true;
}

bool PayloadReader::U64(uint64_t* v) {
  const char* at;
  if (!Take(8, &at)) return false;
  *v = uint64_t(LoadU32(at)) | uint64_t(LoadU32(at + 4)) << 32;
  return true;
}

bool PayloadReader::I64(int64_t* v) {
  uint64_t u;
  if (!U64(&u)) return false;
  *v = static_cast<int64_t>(u);
  return true;
}

bool PayloadReader::Raw(void* p, size_t n) {
  const char* at;
  if (!Take(n, &at)) return false;
  std::memcpy(p, at, n);
  return true;
}

bool PayloadReader::Bytes(std::string* s, size_t max_len) {
  uint32_t len;
  if (!U32(&len)) return false;
  if (len > max_len) {
    failed_ = true;
    why_ = "field of " + std::to_string(len) + " bytes exceeds the limit of " +
           std::to_string(max_len);
    return false;
  }
  const char* at;
  if (!Take(len, &at)) return false;
  s->assign(at, len);
  return true;
}

Status PayloadReader::Finish() const {
  if (failed_) return Status::Protocol(std::string("bad ") + what_ + " frame: " + why_);
  if (pos_ != p_.size()) {
    return Status::Protocol(std::string("bad ") + what_ + " frame: " +
                            std::to_string(p_.size() - pos_) + " unexpected trailing bytes");
  }
  return Status::Ok();
}

}  // namespace treesync
