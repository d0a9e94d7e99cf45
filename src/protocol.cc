#include "protocol.h"

#include <cstring>

#include "path.h"

namespace treesync {

std::string FrameName(const Frame& f) { return FrameTypeName(static_cast<uint8_t>(f.type)); }

std::string EncodeHello(const Hello& h) {
  PayloadWriter w;
  w.Raw(kMagic, sizeof kMagic);
  w.U32(h.version);
  w.U32(h.flags);
  return w.Take();
}

Status DecodeHello(const Frame& f, Hello* h) {
  if (f.type != FrameType::kHello) {
    return Status::Protocol("expected Hello, got " + FrameName(f));
  }
  PayloadReader r(f.payload, "Hello");
  char magic[sizeof kMagic];
  if (!r.Raw(magic, sizeof magic) || std::memcmp(magic, kMagic, sizeof magic) != 0) {
    return Status::Protocol("not a treesync peer (bad magic)");
  }
  r.U32(&h->version);
  r.U32(&h->flags);
  return r.Finish();
}

std::string EncodeError(ErrorKind kind, const std::string& message) {
  PayloadWriter w;
  w.U8(static_cast<uint8_t>(ExitCode(kind)));
  w.Bytes(message.substr(0, kMaxMessageBytes));
  return w.Take();
}

Status DecodeError(const Frame& f, ErrorMessage* e) {
  PayloadReader r(f.payload, "Error");
  uint8_t code = 0;
  r.U8(&code);
  r.Bytes(&e->message, kMaxMessageBytes);
  TS_RETURN_IF_ERROR(r.Finish());
  e->message = Printable(e->message);
  e->kind = ErrorKind::kProtocol;
  static const ErrorKind kKinds[] = {ErrorKind::kVersion, ErrorKind::kBadFolder,
                                     ErrorKind::kRefused, ErrorKind::kSocket,
                                     ErrorKind::kIo,      ErrorKind::kProtocol,
                                     ErrorKind::kTimeout};
  for (ErrorKind k : kKinds) {
    if (ExitCode(k) == code) e->kind = k;
  }
  return Status::Ok();
}

std::string FitMessage(const std::string& message) {
  if (message.size() <= kMaxMessageBytes) return message;
  size_t end = kMaxMessageBytes - 3;
  // Back up to the start of a UTF-8 sequence, so the cut leaves none torn.
  while (end > 0 && (static_cast<unsigned char>(message[end]) & 0xc0) == 0x80) --end;
  return message.substr(0, end) + "...";
}

std::string EncodeWarning(const std::string& path, const std::string& message) {
  PayloadWriter w;
  w.Bytes(path.substr(0, kMaxPathBytes));
  w.Bytes(FitMessage(message));
  return w.Take();
}

std::string EncodeGap(const std::string& folder, const std::string& message) {
  PayloadWriter w;
  w.Bytes(folder);
  w.Bytes(FitMessage(message));
  return w.Take();
}

Status DecodeGap(const Frame& f, std::string* folder, std::string* message) {
  PayloadReader r(f.payload, "Gap");
  r.Bytes(folder, kMaxPathBytes);
  r.Bytes(message, kMaxMessageBytes);
  TS_RETURN_IF_ERROR(r.Finish());
  if (!folder->empty()) TS_RETURN_IF_ERROR(CheckWirePath(*folder));
  *message = Printable(*message);
  return Status::Ok();
}

std::string EncodeWhole(const std::string& folder, bool tree) {
  PayloadWriter w;
  w.Bytes(folder);
  w.U8(tree ? 1 : 0);
  return w.Take();
}

Status DecodeWhole(const Frame& f, std::string* folder, bool* tree) {
  PayloadReader r(f.payload, "Whole");
  uint8_t depth = 0;
  r.Bytes(folder, kMaxPathBytes);
  r.U8(&depth);
  TS_RETURN_IF_ERROR(r.Finish());
  if (depth > 1) return Status::Protocol("Whole frame with depth " + std::to_string(depth));
  if (!folder->empty()) TS_RETURN_IF_ERROR(CheckWirePath(*folder));
  *tree = depth == 1;
  return Status::Ok();
}

std::string EncodeRound(uint64_t round) {
  PayloadWriter w;
  w.U64(round);
  return w.Take();
}

Status DecodeRound(const Frame& f, uint64_t* round) {
  PayloadReader r(f.payload, "Round");
  r.U64(round);
  return r.Finish();
}

std::string EncodeListCredit(uint32_t bytes) {
  PayloadWriter w;
  w.U32(bytes);
  return w.Take();
}

Status DecodeListCredit(const Frame& f, uint32_t* bytes) {
  PayloadReader r(f.payload, "ListCredit");
  r.U32(bytes);
  return r.Finish();
}

void AppendPathWant(const PathWant& w, std::string* payload) {
  PayloadWriter pw;
  pw.U32(w.tag);
  pw.U64(w.offset);
  pw.U64(w.size);
  pw.Bytes(w.path);
  payload->append(pw.data());
}

Status DecodePathWants(const Frame& f, std::vector<PathWant>* out) {
  PayloadReader r(f.payload, "WantPaths");
  size_t n = 0;
  do {
    if (++n > kMaxWantsPerFrame) return Status::Protocol("WantPaths frame with too many requests");
    PathWant w;
    r.U32(&w.tag);
    r.U64(&w.offset);
    r.U64(&w.size);
    if (!r.Bytes(&w.path, kMaxPathBytes)) break;
    TS_RETURN_IF_ERROR(CheckWirePath(w.path));
    out->push_back(std::move(w));
  } while (!r.AtEnd());
  return r.Finish();
}

std::string EncodeWantDeltaPath(const PathWant& w, const Signature& basis, bool sized) {
  PayloadWriter pw;
  pw.U32(w.tag);
  pw.U64(w.size);
  pw.Bytes(w.path);
  std::string sig = EncodeSignature(basis, sized);
  pw.Raw(sig.data(), sig.size());
  return pw.Take();
}

Status DecodeWantDeltaPath(const Frame& f, bool sized, PathWant* w, Signature* basis) {
  PayloadReader r(f.payload, "WantDeltaPath");
  r.U32(&w->tag);
  r.U64(&w->size);
  if (!r.Bytes(&w->path, kMaxPathBytes)) return r.Finish();
  TS_RETURN_IF_ERROR(CheckWirePath(w->path));
  return DecodeSignature(f.payload.substr(16 + w->path.size()), sized, basis);
}

Status DecodeWarning(const Frame& f, std::string* path, std::string* message) {
  PayloadReader r(f.payload, "Warning");
  r.Bytes(path, kMaxPathBytes);
  r.Bytes(message, kMaxMessageBytes);
  *message = Printable(*message);
  return r.Finish();
}

std::string EncodeSync(const SyncStart& s) {
  PayloadWriter w;
  w.U32(s.mode);
  w.I64(s.mtime_ns);
  return w.Take();
}

Status DecodeSync(const Frame& f, SyncStart* s) {
  if (f.type != FrameType::kSync) return Status::Protocol("expected Sync, got " + FrameName(f));
  PayloadReader r(f.payload, "Sync");
  r.U32(&s->mode);
  r.I64(&s->mtime_ns);
  TS_RETURN_IF_ERROR(r.Finish());
  s->mode &= 07777;
  return Status::Ok();
}

std::string EncodeListEnd(const ListEnd& l) {
  PayloadWriter w;
  w.U32(l.count);
  w.U8(l.complete ? 1 : 0);
  return w.Take();
}

Status DecodeListEnd(const Frame& f, ListEnd* l) {
  PayloadReader r(f.payload, "ListEnd");
  uint8_t complete = 0;
  r.U32(&l->count);
  r.U8(&complete);
  TS_RETURN_IF_ERROR(r.Finish());
  if (complete > 1) return Status::Protocol("bad ListEnd frame: flag out of range");
  l->complete = complete == 1;
  return Status::Ok();
}

std::string EncodeWants(const Want* w, size_t n) {
  PayloadWriter pw;
  for (size_t i = 0; i < n; ++i) {
    pw.U32(w[i].index);
    pw.U64(w[i].offset);
  }
  return pw.Take();
}

Status DecodeWants(const Frame& f, std::vector<Want>* out) {
  if (f.payload.empty() || f.payload.size() % 12 != 0 ||
      f.payload.size() / 12 > kMaxWantsPerFrame) {
    return Status::Protocol("bad Want frame: " + std::to_string(f.payload.size()) + " bytes");
  }
  PayloadReader r(f.payload, "Want");
  while (!r.AtEnd()) {
    Want w;
    r.U32(&w.index);
    r.U64(&w.offset);
    out->push_back(w);
  }
  return r.Finish();
}

std::string EncodeWantDelta(uint32_t index, const Signature& basis, bool sized) {
  PayloadWriter w;
  w.U32(index);
  std::string sig = EncodeSignature(basis, sized);
  w.Raw(sig.data(), sig.size());
  return w.Take();
}

Status DecodeWantDelta(const Frame& f, bool sized, uint32_t* index, Signature* basis) {
  PayloadReader r(f.payload, "WantDelta");
  if (!r.U32(index)) return r.Finish();
  return DecodeSignature(f.payload.substr(4), sized, basis);
}

std::string EncodeCopy(uint32_t first_block, uint32_t block_count) {
  PayloadWriter w;
  w.U32(first_block);
  w.U32(block_count);
  return w.Take();
}

Status DecodeCopy(const Frame& f, uint32_t* first_block, uint32_t* block_count) {
  PayloadReader r(f.payload, "Copy");
  r.U32(first_block);
  r.U32(block_count);
  return r.Finish();
}

std::string EncodeHole(uint64_t bytes) {
  PayloadWriter w;
  w.U64(bytes);
  return w.Take();
}

Status DecodeHole(const Frame& f, uint64_t* bytes) {
  PayloadReader r(f.payload, "Hole");
  r.U64(bytes);
  TS_RETURN_IF_ERROR(r.Finish());
  if (*bytes == 0) return Status::Protocol("bad Hole frame: empty");
  return Status::Ok();
}

std::string EncodeBegin(const Begin& b) {
  PayloadWriter w;
  w.U32(b.index);
  w.U64(b.offset);
  return w.Take();
}

Status DecodeBegin(const Frame& f, Begin* b) {
  PayloadReader r(f.payload, "Begin");
  r.U32(&b->index);
  r.U64(&b->offset);
  return r.Finish();
}

std::string EncodeEnd(const End& e) {
  PayloadWriter w;
  w.U64(e.size);
  w.I64(e.mtime_ns);
  w.U32(e.mode);
  uint8_t h[16];
  Hash128ToBytes(e.hash, h);
  w.Raw(h, sizeof h);
  return w.Take();
}

Status DecodeEnd(const Frame& f, End* e) {
  PayloadReader r(f.payload, "End");
  r.U64(&e->size);
  r.I64(&e->mtime_ns);
  r.U32(&e->mode);
  uint8_t h[16] = {};
  r.Raw(h, sizeof h);
  TS_RETURN_IF_ERROR(r.Finish());
  e->mode &= 07777;
  e->hash = Hash128FromBytes(h);
  return Status::Ok();
}

std::string EncodeFileError(uint32_t index, const std::string& message) {
  PayloadWriter w;
  w.U32(index);
  w.Bytes(message.substr(0, kMaxMessageBytes));
  return w.Take();
}

Status DecodeFileError(const Frame& f, uint32_t* index, std::string* message) {
  PayloadReader r(f.payload, "FileError");
  r.U32(index);
  r.Bytes(message, kMaxMessageBytes);
  *message = Printable(*message);
  return r.Finish();
}

}  // namespace treesync

namespace treesync {

std::string EncodeSession(const SessionRequest& r) {
  std::vector<std::pair<uint8_t, std::string>> settings;
  for (const FilterRule& rule : r.rules.rules()) {
    settings.emplace_back(rule.kind == FilterRule::kInclude   ? kSettingInclude
                          : rule.kind == FilterRule::kExclude ? kSettingExclude
                                                              : kSettingFilterFile,
                          rule.text);
  }
  if (r.max_delete >= 0) settings.emplace_back(kSettingMaxDelete, std::to_string(r.max_delete));
  if (!r.backup_dir.empty()) settings.emplace_back(kSettingBackupDir, r.backup_dir);
  if (!r.suffix.empty()) settings.emplace_back(kSettingSuffix, r.suffix);
  PayloadWriter w;
  w.U32(settings.empty() ? r.options & ~kSessionSettings : r.options | kSessionSettings);
  w.Bytes(r.path);
  if (!settings.empty()) {
    w.U32(static_cast<uint32_t>(settings.size()));
    for (const auto& kv : settings) {
      w.U8(kv.first);
      w.Bytes(kv.second);
    }
  }
  return w.Take();
}

Status DecodeSession(const Frame& f, SessionRequest* r) {
  if (f.type != FrameType::kSession) {
    return Status::Protocol("expected Session, got " + FrameName(f));
  }
  *r = SessionRequest();
  PayloadReader rd(f.payload, "Session");
  rd.U32(&r->options);
  rd.Bytes(&r->path, kMaxPathBytes);
  uint32_t count = 0;
  std::vector<std::pair<uint8_t, std::string>> settings;
  if (r->options & kSessionSettings) {
    rd.U32(&count);
    // More than the rules and three settings can't be ours: stop reading
    // (Finish then sees bytes left over).
    for (uint32_t i = 0; i < count && i < kMaxFilterRules + 3; ++i) {
      settings.emplace_back();
      if (!rd.U8(&settings.back().first) ||
          !rd.Bytes(&settings.back().second, kMaxPatternBytes)) {
        break;
      }
    }
  }
  TS_RETURN_IF_ERROR(rd.Finish());
  // An option we don't know could be one the user relies on (a filter, a
  // backup): better refused than silently ignored.
  if ((r->options & ~kSessionKnownOptions) != 0) {
    return Status::Protocol("Session asks for options this server does not know");
  }
  if (!r->path.empty()) TS_RETURN_IF_ERROR(CheckWirePath(r->path));
  for (const auto& kv : settings) {
    const std::string& v = kv.second;
    Status s;
    switch (kv.first) {
      case kSettingExclude:
      case kSettingInclude:
      case kSettingFilterFile: {
        FilterRule rule;
        s = MakeRule(kv.first == kSettingInclude   ? FilterRule::kInclude
                     : kv.first == kSettingExclude ? FilterRule::kExclude
                                                   : FilterRule::kPerFolder,
                     v, &rule);
        if (s.ok()) s = r->rules.AddRule(std::move(rule));
        break;
      }
      case kSettingMaxDelete: {
        uint64_t n = 0;
        bool digits = !v.empty() && v.size() <= 18;
        for (char c : v) {
          digits = digits && c >= '0' && c <= '9';
          n = n * 10 + static_cast<uint64_t>(c - '0');
        }
        if (!digits) s = Status::Protocol("bad max-delete '" + Printable(v) + "'");
        r->max_delete = static_cast<int64_t>(n);
        break;
      }
      case kSettingBackupDir:
        s = CheckWirePath(v);
        r->backup_dir = v;
        break;
      case kSettingSuffix:
        if (v.find('/') != std::string::npos || v.find('\\') != std::string::npos ||
            v.find('\0') != std::string::npos) {
          s = Status::Protocol("bad suffix '" + Printable(v) + "'");
        }
        r->suffix = v;
        break;
      default:
        s = Status::Protocol("Session setting " + std::to_string(kv.first) +
                             " unknown to this server");
    }
    if (!s.ok()) return Status::Protocol("Session: " + s.message());
  }
  return Status::Ok();
}

std::string EncodeEvent(const Event& e) {
  PayloadWriter w;
  w.U8(e.kind);
  switch (e.kind) {
    case Event::kChange:
      w.U8(e.change);
      w.U8(static_cast<uint8_t>(e.type));
      w.U64(e.bytes);
      w.Bytes(e.path);
      break;
    case Event::kEntryError:
      w.Bytes(e.path);
      w.Bytes(FitMessage(e.message));
      break;
    case Event::kWarning:
      w.Bytes(FitMessage(e.message));
      break;
    case Event::kProgress:
      for (uint64_t v : e.progress) w.U64(v);
      break;
  }
  return w.Take();
}

Status DecodeEvent(const Frame& f, Event* e) {
  PayloadReader r(f.payload, "Event");
  uint8_t kind = 0;
  r.U8(&kind);
  e->kind = static_cast<Event::Kind>(kind);
  switch (kind) {
    case Event::kChange: {
      uint8_t type = 0;
      r.U8(&e->change);
      r.U8(&type);
      r.U64(&e->bytes);
      r.Bytes(&e->path, kMaxPathBytes);
      TS_RETURN_IF_ERROR(r.Finish());
      if (e->change > 4 || type < 1 || type > 4) return Status::Protocol("bad Event change");
      e->type = static_cast<EntryType>(type);
      return Status::Ok();
    }
    case Event::kEntryError:
      r.Bytes(&e->path, kMaxPathBytes);
      r.Bytes(&e->message, kMaxMessageBytes);
      break;
    case Event::kWarning:
      r.Bytes(&e->message, kMaxMessageBytes);
      break;
    case Event::kProgress:
      for (uint64_t& v : e->progress) r.U64(&v);
      break;
    default:
      return Status::Protocol("unknown Event kind " + std::to_string(kind));
  }
  TS_RETURN_IF_ERROR(r.Finish());
  e->message = Printable(e->message);
  return Status::Ok();
}

std::string EncodeSummary(const Summary& s) {
  PayloadWriter w;
  w.U8(static_cast<uint8_t>(ExitCode(s.result)));
  w.Bytes(FitMessage(s.message));
  for (uint64_t v : s.counts) w.U64(v);
  return w.Take();
}

Status DecodeSummary(const Frame& f, Summary* s) {
  if (f.type != FrameType::kSummary) {
    return Status::Protocol("expected Summary, got " + FrameName(f));
  }
  PayloadReader r(f.payload, "Summary");
  uint8_t code = 0;
  r.U8(&code);
  r.Bytes(&s->message, kMaxMessageBytes);
  for (uint64_t& v : s->counts) r.U64(&v);
  TS_RETURN_IF_ERROR(r.Finish());
  if (code == ExitCode(ErrorKind::kOk)) {
    s->result = ErrorKind::kOk;
  } else if (code == ExitCode(ErrorKind::kPartial)) {
    s->result = ErrorKind::kPartial;
  } else if (code == ExitCode(ErrorKind::kMaxDelete)) {
    s->result = ErrorKind::kMaxDelete;
  } else {
    return Status::Protocol("Summary with result " + std::to_string(code));
  }
  s->message = Printable(s->message);
  return Status::Ok();
}

}  // namespace treesync
