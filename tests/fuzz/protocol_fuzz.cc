// Fuzzes the payload decoders of protocol.h, manifest.h (single and packed
// listing entries) and delta.h (signatures, Copy ranges). Input: one byte
// choosing the decoder, then the payload. Invariants: a decoder returns OK
// or kProtocol, never crashes; what it accepts obeys the limits its header
// promises; and encoding what was decoded decodes to the same values (for
// fixed-layout messages, to the very same bytes).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "delta.h"
#include "frame.h"
#include "fuzz_util.h"
#include "manifest.h"
#include "path.h"
#include "protocol.h"

namespace treesync {
namespace {

enum Target : uint8_t {
  kHelloT, kErrorT, kWarningT, kSyncT, kListEndT, kWantsT, kWantDeltaT, kCopyT,
  kBeginT, kEndT, kFileErrorT, kFolderT, kFileT, kSymlinkT, kEntriesT, kSignatureT,
  kCopyRangeT, kGapT, kListCreditT, kPathWantsT, kWantDeltaPathT,
  kSessionT, kEventT, kSummaryT, kTargetCount
};

Frame F(FrameType type, std::string payload) { return Frame{type, std::move(payload)}; }

void CheckStatus(const Status& s) { FUZZ_CHECK(s.ok() || s.kind() == ErrorKind::kProtocol); }

// What Printable promises: no C0 control, DEL or C1 control reaches a
// terminal, and what is left is valid UTF-8.
void CheckPrintable(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = Utf8SequenceLength(s, i);
    FUZZ_CHECK(n != 0);
    FUZZ_CHECK(c >= 0x20 && c != 0x7F);
    FUZZ_CHECK(!(c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0));
    i += n;
  }
}

void CheckEntryLimits(const Entry& e) {
  FUZZ_CHECK(CheckWirePath(e.path).ok());
  FUZZ_CHECK(e.mode <= 07777);
  FUZZ_CHECK(e.target.size() <= kMaxLinkTargetBytes);
  FUZZ_CHECK(e.type == EntryType::kSymlink ? !e.target.empty() : e.target.empty());
  FUZZ_CHECK(e.type == EntryType::kFile || (e.size == 0 && !e.has_hash));
}

bool SameEntry(const Entry& a, const Entry& b) {
  return a.path == b.path && a.type == b.type && a.mode == b.mode && a.mtime_ns == b.mtime_ns &&
         a.size == b.size && a.target == b.target && a.has_hash == b.has_hash &&
         (!a.has_hash || a.hash == b.hash);
}

void CheckSignature(const Signature& s) {
  FUZZ_CHECK(s.block_size > 0 && s.block_size <= kMaxBlockSize);
  FUZZ_CHECK(s.blocks.size() <= kMaxBlocks);
  // Exactly enough blocks to cover the basis: the last one non-empty.
  const uint64_t count = s.blocks.size();
  FUZZ_CHECK(count * s.block_size >= s.basis_size);
  FUZZ_CHECK(count == 0 || (count - 1) * s.block_size < s.basis_size);
}

void FuzzEntries(const std::string& p) {
  std::vector<Entry> got;
  Status s = DecodeEntries(p.data(), p.size(), [&](Entry& e) {
    got.push_back(e);
    return Status::Ok();
  });
  CheckStatus(s);
  if (!s.ok()) return;
  FUZZ_CHECK(!got.empty());
  // Repacked (possibly into several payloads) they read back the same.
  EntryPacker packer;
  std::vector<std::string> payloads;
  for (const Entry& e : got) {
    CheckEntryLimits(e);
    packer.Add(e);
    if (packer.full()) payloads.push_back(packer.Take());
  }
  if (!packer.empty()) payloads.push_back(packer.Take());
  std::vector<Entry> again;
  for (const std::string& q : payloads) {
    FUZZ_CHECK(q.size() <= kMaxFramePayload);
    FUZZ_CHECK(DecodeEntries(q.data(), q.size(), [&](Entry& e) {
                 again.push_back(e);
                 return Status::Ok();
               }).ok());
  }
  FUZZ_CHECK(again.size() == got.size());
  for (size_t i = 0; i < got.size(); ++i) FUZZ_CHECK(SameEntry(got[i], again[i]));
}

void FuzzOne(uint8_t target, const std::string& p) {
  switch (target) {
    case kHelloT: {
      Hello h;
      Status s = DecodeHello(F(FrameType::kHello, p), &h);
      CheckStatus(s);
      if (s.ok()) FUZZ_CHECK(EncodeHello(h) == p);
      break;
    }
    case kErrorT: {
      ErrorMessage e;
      Status s = DecodeError(F(FrameType::kError, p), &e);
      CheckStatus(s);
      if (s.ok()) {
        CheckPrintable(e.message);
        ErrorMessage again;
        FUZZ_CHECK(DecodeError(F(FrameType::kError, EncodeError(e.kind, "m")), &again).ok());
        FUZZ_CHECK(again.kind == e.kind);
      }
      break;
    }
    case kWarningT: {
      std::string path, message;
      Status s = DecodeWarning(F(FrameType::kWarning, p), &path, &message);
      CheckStatus(s);
      if (s.ok()) {
        FUZZ_CHECK(path.size() <= kMaxPathBytes);
        CheckPrintable(message);
      }
      break;
    }
    case kSyncT: {
      SyncStart a, b;
      Status s = DecodeSync(F(FrameType::kSync, p), &a);
      CheckStatus(s);
      if (s.ok()) {
        FUZZ_CHECK(a.mode <= 07777);
        FUZZ_CHECK(DecodeSync(F(FrameType::kSync, EncodeSync(a)), &b).ok());
        FUZZ_CHECK(a.mode == b.mode && a.mtime_ns == b.mtime_ns);
      }
      break;
    }
    case kListEndT: {
      ListEnd l;
      Status s = DecodeListEnd(F(FrameType::kListEnd, p), &l);
      CheckStatus(s);
      if (s.ok()) FUZZ_CHECK(EncodeListEnd(l) == p);
      break;
    }
    case kWantsT: {
      std::vector<Want> w;
      Status s = DecodeWants(F(FrameType::kWant, p), &w);
      CheckStatus(s);
      if (s.ok()) {
        FUZZ_CHECK(!w.empty() && w.size() <= kMaxWantsPerFrame);
        FUZZ_CHECK(EncodeWants(w.data(), w.size()) == p);
      }
      break;
    }
    case kWantDeltaT:
      for (bool sized : {false, true}) {
        uint32_t index = 0;
        Signature sig;
        Status s = DecodeWantDelta(F(FrameType::kWantDelta, p), sized, &index, &sig);
        CheckStatus(s);
        if (s.ok()) {
          CheckSignature(sig);
          FUZZ_CHECK(EncodeWantDelta(index, sig, sized) == p);
        }
      }
      break;
    case kCopyT: {
      uint32_t first = 0, count = 0;
      Status s = DecodeCopy(F(FrameType::kCopy, p), &first, &count);
      CheckStatus(s);
      if (s.ok()) FUZZ_CHECK(EncodeCopy(first, count) == p);
      break;
    }
    case kBeginT: {
      Begin b;
      Status s = DecodeBegin(F(FrameType::kBegin, p), &b);
      CheckStatus(s);
      if (s.ok()) FUZZ_CHECK(EncodeBegin(b) == p);
      break;
    }
    case kEndT: {
      End a, b;
      Status s = DecodeEnd(F(FrameType::kEnd, p), &a);
      CheckStatus(s);
      if (s.ok()) {
        FUZZ_CHECK(a.mode <= 07777);
        FUZZ_CHECK(DecodeEnd(F(FrameType::kEnd, EncodeEnd(a)), &b).ok());
        FUZZ_CHECK(a.size == b.size && a.mtime_ns == b.mtime_ns && a.mode == b.mode &&
                   a.hash == b.hash);
      }
      break;
    }
    case kFileErrorT: {
      uint32_t index = 0;
      std::string message;
      Status s = DecodeFileError(F(FrameType::kFileError, p), &index, &message);
      CheckStatus(s);
      if (s.ok()) CheckPrintable(message);
      break;
    }
    case kFolderT:
    case kFileT:
    case kSymlinkT: {
      const FrameType type = target == kFolderT ? FrameType::kFolder
                             : target == kFileT ? FrameType::kFile
                                                : FrameType::kSymlink;
      Entry a, b;
      Status s = DecodeEntry(F(type, p), &a);
      CheckStatus(s);
      if (s.ok()) {
        CheckEntryLimits(a);
        FUZZ_CHECK(EntryFrameType(a.type) == type);
        FUZZ_CHECK(DecodeEntry(F(type, EncodeEntry(a)), &b).ok());
        FUZZ_CHECK(SameEntry(a, b));
      }
      break;
    }
    case kEntriesT:
      FuzzEntries(p);
      break;
    case kSignatureT:
      for (bool sized : {false, true}) {
        Signature sig;
        Status s = DecodeSignature(p, sized, &sig);
        CheckStatus(s);
        if (s.ok()) {
          CheckSignature(sig);
          FUZZ_CHECK(EncodeSignature(sig, sized) == p);
        }
      }
      break;
    case kCopyRangeT: {
      PayloadReader r(p, "CopyRange");
      uint32_t block_size = 0, first = 0, count = 0;
      uint64_t basis_size = 0, offset = 0, length = 0;
      if (!r.U32(&block_size) || !r.U64(&basis_size) || !r.U32(&first) || !r.U32(&count)) break;
      Status s = CopyRange(block_size, basis_size, first, count, &offset, &length);
      CheckStatus(s);
      if (s.ok()) {
        FUZZ_CHECK(length > 0 && offset < basis_size && length <= basis_size - offset);
        FUZZ_CHECK(length <= uint64_t(count) * block_size);
      }
      break;
    }
    case kGapT: {
      std::string folder, message;
      Status s = DecodeGap(F(FrameType::kGap, p), &folder, &message);
      CheckStatus(s);
      if (s.ok()) {
        FUZZ_CHECK(folder.empty() || CheckWirePath(folder).ok());
        CheckPrintable(message);
      }
      break;
    }
    case kListCreditT: {
      uint32_t bytes = 0;
      Status s = DecodeListCredit(F(FrameType::kListCredit, p), &bytes);
      CheckStatus(s);
      if (s.ok()) FUZZ_CHECK(EncodeListCredit(bytes) == p);
      break;
    }
    case kPathWantsT: {
      std::vector<PathWant> w;
      Status s = DecodePathWants(F(FrameType::kWantPaths, p), &w);
      CheckStatus(s);
      if (s.ok()) {
        FUZZ_CHECK(!w.empty() && w.size() <= kMaxWantsPerFrame);
        std::string again;
        for (const PathWant& x : w) {
          FUZZ_CHECK(CheckWirePath(x.path).ok());
          AppendPathWant(x, &again);
        }
        FUZZ_CHECK(again == p);
      }
      break;
    }
    case kWantDeltaPathT:
      for (bool sized : {false, true}) {
        PathWant w;
        Signature sig;
        Status s = DecodeWantDeltaPath(F(FrameType::kWantDeltaPath, p), sized, &w, &sig);
        CheckStatus(s);
        if (s.ok()) {
          CheckSignature(sig);
          FUZZ_CHECK(CheckWirePath(w.path).ok());
          FUZZ_CHECK(EncodeWantDeltaPath(w, sig, sized) == p);
        }
      }
      break;
    case kSessionT: {
      SessionRequest r;
      Status s = DecodeSession(F(FrameType::kSession, p), &r);
      CheckStatus(s);
      if (s.ok()) {
        FUZZ_CHECK(r.path.empty() || CheckWirePath(r.path).ok());
        FUZZ_CHECK(EncodeSession(r) == p);
      }
      break;
    }
    case kEventT: {
      Event e;
      Status s = DecodeEvent(F(FrameType::kEvent, p), &e);
      CheckStatus(s);
      if (s.ok()) CheckPrintable(e.message);
      break;
    }
    case kSummaryT: {
      Summary sum;
      Status s = DecodeSummary(F(FrameType::kSummary, p), &sum);
      CheckStatus(s);
      if (s.ok()) {
        FUZZ_CHECK(sum.result == ErrorKind::kOk || sum.result == ErrorKind::kPartial);
        CheckPrintable(sum.message);
      }
      break;
    }
    default:
      break;
  }
}

std::string Seed(Target t, const std::string& payload) {
  return std::string(1, static_cast<char>(t)) + payload;
}

}  // namespace
}  // namespace treesync

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  using namespace treesync;
  Entry folder, file, link;
  folder.type = EntryType::kFolder;
  folder.path = "docs";
  folder.mode = 0755;
  folder.mtime_ns = 1700000000000000000;
  file.type = EntryType::kFile;
  file.path = "docs/read me.txt";
  file.mode = 0644;
  file.mtime_ns = 1700000000500000000;
  file.size = 12345;
  file.has_hash = true;
  file.hash = Hash128{0x0123456789abcdefull, 0xfedcba9876543210ull};
  link.type = EntryType::kSymlink;
  link.path = "docs/latest";
  link.mode = 0777;
  link.mtime_ns = 1600000000000000000;
  link.target = "read me.txt";
  EntryPacker packer;
  packer.Add(folder);
  packer.Add(file);
  packer.Add(link);
  SignatureBuilder sb(kMinBlock);
  std::string basis(5000, 'b');
  sb.Update(basis.data(), basis.size());
  Signature sig = sb.Finish();
  Want wants[2] = {{0, 0}, {7, 4096}};
  End end;
  end.size = 5;
  end.mode = 0600;
  std::string range;
  {
    PayloadWriter w;
    w.U32(kMinBlock);
    w.U64(5000);
    w.U32(1);
    w.U32(2);
    range = w.Take();
  }
  Event change;
  change.path = "docs/new";
  change.bytes = 12;
  Summary summary;
  summary.result = ErrorKind::kPartial;
  summary.message = "1 entries failed";
  std::string path_wants;
  AppendPathWant(PathWant{1, 0, 12345, "docs/read me.txt"}, &path_wants);
  AppendPathWant(PathWant{2, 100, 200, "docs/other"}, &path_wants);
  fuzz::SeedCorpus(argc, argv,
                   {Seed(kHelloT, EncodeHello(Hello{kProtocolVersion, 3})),
                    Seed(kErrorT, EncodeError(ErrorKind::kRefused, "no \x1b[2J thanks")),
                    Seed(kWarningT, EncodeWarning("a/b", "cannot read")),
                    Seed(kSyncT, EncodeSync(SyncStart{0755, 42})),
                    Seed(kListEndT, EncodeListEnd(ListEnd{3, true})),
                    Seed(kWantsT, EncodeWants(wants, 2)),
                    Seed(kWantDeltaT, EncodeWantDelta(1, sig, false)),
                    Seed(kCopyT, EncodeCopy(1, 2)),
                    Seed(kBeginT, EncodeBegin(Begin{1, 100})),
                    Seed(kEndT, EncodeEnd(end)),
                    Seed(kFileErrorT, EncodeFileError(2, "gone")),
                    Seed(kFolderT, EncodeEntry(folder)),
                    Seed(kFileT, EncodeEntry(file)),
                    Seed(kSymlinkT, EncodeEntry(link)),
                    Seed(kEntriesT, packer.Take()),
                    Seed(kSignatureT, EncodeSignature(sig, true)),
                    Seed(kCopyRangeT, range),
                    Seed(kGapT, EncodeGap("docs", "docs/x: permission denied")),
                    Seed(kListCreditT, EncodeListCredit(2 << 20)),
                    Seed(kPathWantsT, path_wants),
                    Seed(kWantDeltaPathT, EncodeWantDeltaPath(PathWant{3, 0, 9000, "docs/b"}, sig, true)),
                    Seed(kSessionT, EncodeSession(SessionRequest{kSessionDryRun, "a/b"})),
                    Seed(kEventT, EncodeEvent(change)),
                    Seed(kSummaryT, EncodeSummary(summary))});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  treesync::FuzzOne(data[0] % treesync::kTargetCount, payload);
  return 0;
}
