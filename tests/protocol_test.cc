#include "protocol.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "manifest.h"
#include "path.h"
#include "test_util.h"

namespace treesync {
namespace {

Frame F(FrameType type, std::string payload) {
  Frame f;
  f.type = type;
  f.payload = std::move(payload);
  return f;
}

// ---------------------------------------------------------------- Hello

TEST(Protocol, HelloRoundTrips) {
  Hello h;
  h.flags = kHelloWantHashes | 0x80000000u;
  Hello got;
  ASSERT_TRUE(DecodeHello(F(FrameType::kHello, EncodeHello(h)), &got).ok());
  EXPECT_EQ(got.version, kProtocolVersion);
  EXPECT_EQ(got.flags, h.flags);
}

TEST(Protocol, HelloStartsWithTheMagic) {
  std::string p = EncodeHello(Hello());
  ASSERT_GE(p.size(), sizeof kMagic);
  EXPECT_EQ(p.compare(0, sizeof kMagic, "TREESYNC"), 0);
}

TEST(Protocol, HelloOfAnotherVersionDecodesWithThatVersion) {
  Hello h;
  h.version = kProtocolVersion + 1;
  Hello got;
  ASSERT_TRUE(DecodeHello(F(FrameType::kHello, EncodeHello(h)), &got).ok());
  EXPECT_EQ(got.version, kProtocolVersion + 1);
}

TEST(Protocol, HelloWithBadMagicIsProtocolError) {
  std::string p = EncodeHello(Hello());
  p[0] = 'X';
  Hello got;
  EXPECT_EQ(DecodeHello(F(FrameType::kHello, p), &got).kind(), ErrorKind::kProtocol);
  // An old CMB client's first bytes are not a Hello either.
  EXPECT_EQ(DecodeHello(F(FrameType::kHello, "CMB_BEGINSync"), &got).kind(),
            ErrorKind::kProtocol);
  EXPECT_EQ(DecodeHello(F(FrameType::kHello, ""), &got).kind(), ErrorKind::kProtocol);
}

TEST(Protocol, HelloTruncatedOrWithTrailingBytesIsProtocolError) {
  std::string p = EncodeHello(Hello());
  Hello got;
  EXPECT_EQ(DecodeHello(F(FrameType::kHello, p.substr(0, p.size() - 1)), &got).kind(),
            ErrorKind::kProtocol);
  EXPECT_EQ(DecodeHello(F(FrameType::kHello, p + "x"), &got).kind(), ErrorKind::kProtocol);
}

TEST(Protocol, HelloOfTheWrongFrameTypeIsProtocolError) {
  Hello got;
  EXPECT_EQ(DecodeHello(F(FrameType::kSync, EncodeHello(Hello())), &got).kind(),
            ErrorKind::kProtocol);
}

// ---------------------------------------------------------------- Error

TEST(Protocol, ErrorRoundTripsEveryKindAPeerMaySend) {
  for (ErrorKind k : {ErrorKind::kVersion, ErrorKind::kBadFolder, ErrorKind::kRefused,
                      ErrorKind::kSocket, ErrorKind::kIo, ErrorKind::kProtocol,
                      ErrorKind::kTimeout}) {
    ErrorMessage e;
    ASSERT_TRUE(DecodeError(F(FrameType::kError, EncodeError(k, "why")), &e).ok());
    EXPECT_EQ(e.kind, k) << ExitCode(k);
    EXPECT_EQ(e.message, "why");
  }
}

TEST(Protocol, ErrorWithUnknownCodeIsAProtocolKind) {
  for (uint8_t code : {0, 1, 4, 99, 255}) {
    PayloadWriter w;
    w.U8(code);
    w.Bytes("m");
    ErrorMessage e;
    e.kind = ErrorKind::kOk;
    ASSERT_TRUE(DecodeError(F(FrameType::kError, w.Take()), &e).ok());
    EXPECT_EQ(e.kind, ErrorKind::kProtocol) << int(code);
  }
}

TEST(Protocol, ErrorMessageIsBoundedAndEscaped) {
  ErrorMessage e;
  std::string long_message(kMaxMessageBytes + 100, 'm');
  ASSERT_TRUE(DecodeError(F(FrameType::kError, EncodeError(ErrorKind::kIo, long_message)), &e).ok());
  EXPECT_EQ(e.message.size(), kMaxMessageBytes);
  ASSERT_TRUE(
      DecodeError(F(FrameType::kError, EncodeError(ErrorKind::kIo, "bad\x1b[2Jname")), &e).ok());
  EXPECT_EQ(e.message.find('\x1b'), std::string::npos);
  // A peer announcing a longer message than the limit is refused.
  PayloadWriter w;
  w.U8(11);
  w.Bytes(long_message);
  EXPECT_EQ(DecodeError(F(FrameType::kError, w.Take()), &e).kind(), ErrorKind::kProtocol);
}

TEST(Protocol, ErrorTruncatedIsProtocolError) {
  ErrorMessage e;
  std::string p = EncodeError(ErrorKind::kIo, "message");
  EXPECT_EQ(DecodeError(F(FrameType::kError, p.substr(0, p.size() - 2)), &e).kind(),
            ErrorKind::kProtocol);
  EXPECT_EQ(DecodeError(F(FrameType::kError, ""), &e).kind(), ErrorKind::kProtocol);
}

// -------------------------------------------------------------- Warning

TEST(Protocol, WarningRoundTrips) {
  std::string path, message;
  ASSERT_TRUE(DecodeWarning(F(FrameType::kWarning, EncodeWarning("a/b", "unreadable")), &path,
                            &message)
                  .ok());
  EXPECT_EQ(path, "a/b");
  EXPECT_EQ(message, "unreadable");
}

TEST(Protocol, WarningMessageIsEscapedAndPathBounded) {
  std::string path, message;
  ASSERT_TRUE(DecodeWarning(F(FrameType::kWarning, EncodeWarning("p", "x\x1b]0;owned\x07")),
                            &path, &message)
                  .ok());
  EXPECT_EQ(message.find('\x1b'), std::string::npos);
  EXPECT_EQ(message.find('\x07'), std::string::npos);
  // Whatever the sender's path and message, the frame keeps every limit.
  std::string long_path(kMaxPathBytes + 1, 'p');
  std::string long_message(3 * kMaxMessageBytes, 'm');
  ASSERT_TRUE(DecodeWarning(F(FrameType::kWarning, EncodeWarning(long_path, long_message)), &path,
                            &message)
                  .ok());
  EXPECT_EQ(path.size(), kMaxPathBytes);
  EXPECT_LE(message.size(), kMaxMessageBytes);
  std::string p = EncodeWarning("p", "m");
  EXPECT_EQ(DecodeWarning(F(FrameType::kWarning, p + "z"), &path, &message).kind(),
            ErrorKind::kProtocol);
}

// ------------------------------------------------------------ Sync, ListEnd

TEST(Protocol, SyncRoundTrips) {
  SyncStart s;
  s.mode = 0755;
  s.mtime_ns = -1234567890;  // before 1970
  SyncStart got;
  ASSERT_TRUE(DecodeSync(F(FrameType::kSync, EncodeSync(s)), &got).ok());
  EXPECT_EQ(got.mode, 0755u);
  EXPECT_EQ(got.mtime_ns, -1234567890);
}

TEST(Protocol, ListEndRoundTrips) {
  for (bool complete : {true, false}) {
    ListEnd l;
    l.count = 123456;
    l.complete = complete;
    ListEnd got;
    got.complete = !complete;
    ASSERT_TRUE(DecodeListEnd(F(FrameType::kListEnd, EncodeListEnd(l)), &got).ok());
    EXPECT_EQ(got.count, 123456u);
    EXPECT_EQ(got.complete, complete);
  }
}

TEST(Protocol, ListEndWithBadFlagIsProtocolError) {
  PayloadWriter w;
  w.U32(1);
  w.U8(2);
  ListEnd got;
  EXPECT_EQ(DecodeListEnd(F(FrameType::kListEnd, w.Take()), &got).kind(), ErrorKind::kProtocol);
  std::string p = EncodeListEnd(ListEnd());
  EXPECT_EQ(DecodeListEnd(F(FrameType::kListEnd, p.substr(0, 4)), &got).kind(),
            ErrorKind::kProtocol);
  EXPECT_EQ(DecodeListEnd(F(FrameType::kListEnd, p + "x"), &got).kind(), ErrorKind::kProtocol);
}

// ---------------------------------------------------------------- Wants

TEST(Protocol, WantsRoundTrip) {
  std::vector<Want> wants = {{0, 0}, {7, 1ull << 40}, {0xffffffffu, 12345}};
  std::string p = EncodeWants(wants.data(), wants.size());
  EXPECT_EQ(p.size(), 12 * wants.size());
  std::vector<Want> got;
  ASSERT_TRUE(DecodeWants(F(FrameType::kWant, p), &got).ok());
  ASSERT_EQ(got.size(), wants.size());
  for (size_t i = 0; i < wants.size(); ++i) {
    EXPECT_EQ(got[i].index, wants[i].index);
    EXPECT_EQ(got[i].offset, wants[i].offset);
  }
}

TEST(Protocol, WantsOfTheMaximumCountDecode) {
  std::vector<Want> wants(kMaxWantsPerFrame);
  for (size_t i = 0; i < wants.size(); ++i) wants[i].index = static_cast<uint32_t>(i);
  std::vector<Want> got;
  ASSERT_TRUE(
      DecodeWants(F(FrameType::kWant, EncodeWants(wants.data(), wants.size())), &got).ok());
  EXPECT_EQ(got.size(), kMaxWantsPerFrame);
}

TEST(Protocol, WantsEmptyIsProtocolError) {
  std::vector<Want> got;
  EXPECT_EQ(DecodeWants(F(FrameType::kWant, ""), &got).kind(), ErrorKind::kProtocol);
}

TEST(Protocol, WantsNotAMultipleOf12IsProtocolError) {
  Want w;
  std::string p = EncodeWants(&w, 1);
  std::vector<Want> got;
  EXPECT_EQ(DecodeWants(F(FrameType::kWant, p + "x"), &got).kind(), ErrorKind::kProtocol);
  EXPECT_EQ(DecodeWants(F(FrameType::kWant, p.substr(0, 11)), &got).kind(), ErrorKind::kProtocol);
}

TEST(Protocol, WantsTooManyIsProtocolError) {
  std::vector<Want> wants(kMaxWantsPerFrame + 1);
  std::vector<Want> got;
  EXPECT_EQ(DecodeWants(F(FrameType::kWant, EncodeWants(wants.data(), wants.size())), &got).kind(),
            ErrorKind::kProtocol);
}

// ----------------------------------------------------- Begin, End, Copy

TEST(Protocol, BeginRoundTrips) {
  Begin b;
  b.index = 42;
  b.offset = (1ull << 33) + 5;
  Begin got;
  ASSERT_TRUE(DecodeBegin(F(FrameType::kBegin, EncodeBegin(b)), &got).ok());
  EXPECT_EQ(got.index, 42u);
  EXPECT_EQ(got.offset, b.offset);
  std::string p = EncodeBegin(b);
  EXPECT_EQ(DecodeBegin(F(FrameType::kBegin, p.substr(0, 11)), &got).kind(),
            ErrorKind::kProtocol);
  EXPECT_EQ(DecodeBegin(F(FrameType::kBegin, p + "x"), &got).kind(), ErrorKind::kProtocol);
}

TEST(Protocol, EndRoundTrips) {
  End e;
  e.size = 1ull << 35;
  e.mtime_ns = 1700000000123456789;
  e.mode = 0100755;  // file type bits from a sloppy peer are dropped
  e.hash = Xxh3_128("abc", 3);
  End got;
  ASSERT_TRUE(DecodeEnd(F(FrameType::kEnd, EncodeEnd(e)), &got).ok());
  EXPECT_EQ(got.size, e.size);
  EXPECT_EQ(got.mtime_ns, e.mtime_ns);
  EXPECT_EQ(got.mode, 0755u);
  EXPECT_EQ(got.hash, e.hash);
  std::string p = EncodeEnd(e);
  EXPECT_EQ(DecodeEnd(F(FrameType::kEnd, p.substr(0, p.size() - 1)), &got).kind(),
            ErrorKind::kProtocol);
  EXPECT_EQ(DecodeEnd(F(FrameType::kEnd, p + "x"), &got).kind(), ErrorKind::kProtocol);
}

TEST(Protocol, CopyRoundTrips) {
  uint32_t first = 0, count = 0;
  ASSERT_TRUE(DecodeCopy(F(FrameType::kCopy, EncodeCopy(17, 300)), &first, &count).ok());
  EXPECT_EQ(first, 17u);
  EXPECT_EQ(count, 300u);
  EXPECT_EQ(DecodeCopy(F(FrameType::kCopy, "1234567"), &first, &count).kind(),
            ErrorKind::kProtocol);
}

TEST(Protocol, HoleRoundTripsAndIsNeverEmpty) {
  uint64_t n = 0;
  ASSERT_TRUE(DecodeHole(F(FrameType::kHole, EncodeHole(1ull << 40)), &n).ok());
  EXPECT_EQ(n, 1ull << 40);
  EXPECT_EQ(DecodeHole(F(FrameType::kHole, EncodeHole(0)), &n).kind(), ErrorKind::kProtocol);
  EXPECT_EQ(DecodeHole(F(FrameType::kHole, "1234567"), &n).kind(), ErrorKind::kProtocol);
}

TEST(Protocol, FileErrorRoundTrips) {
  uint32_t index = 0;
  std::string message;
  ASSERT_TRUE(DecodeFileError(F(FrameType::kFileError, EncodeFileError(9, "gone")), &index,
                              &message)
                  .ok());
  EXPECT_EQ(index, 9u);
  EXPECT_EQ(message, "gone");
  ASSERT_TRUE(DecodeFileError(F(FrameType::kFileError, EncodeFileError(9, "a\nb")), &index,
                              &message)
                  .ok());
  EXPECT_EQ(message.find('\n'), std::string::npos);
  EXPECT_EQ(DecodeFileError(F(FrameType::kFileError, "\x01\x00"), &index, &message).kind(),
            ErrorKind::kProtocol);
}

TEST(Protocol, FrameNameNamesTheType) {
  EXPECT_EQ(FrameName(F(FrameType::kListEnd, "")), "ListEnd");
}

// ---------------------------------------------------------------- Entries

Frame EntryFrame(const Entry& e) { return F(EntryFrameType(e.type), EncodeEntry(e)); }

// An entry frame with an arbitrary path, which EncodeEntry would not check.
Frame RawEntryFrame(FrameType type, const std::string& path, const std::string& target = "t") {
  PayloadWriter w;
  w.Bytes(path);
  w.U32(0644);
  w.I64(0);
  if (type == FrameType::kFile) w.U64(1);
  if (type == FrameType::kSymlink) w.Bytes(target);
  return F(type, w.Take());
}

// Every field of e survived the trip (the mode as far as it travels).
void ExpectSameEntry(const Entry& got, const Entry& e) {
  EXPECT_EQ(got.path, e.path);
  EXPECT_EQ(got.type, e.type);
  EXPECT_EQ(got.mode, e.mode & 07777);
  EXPECT_EQ(got.mtime_ns, e.mtime_ns);
  EXPECT_EQ(got.size, e.type == EntryType::kFile ? e.size : 0u);
  EXPECT_EQ(got.target, e.target);
  EXPECT_EQ(got.has_hash, e.has_hash);
  if (e.has_hash) {
    EXPECT_EQ(got.hash, e.hash);
  }
}

TEST(Protocol, EntriesRoundTrip) {
  Entry folder = test::FolderEntry("a dir", 0750, 1700000000000000001);
  Entry file = test::FileEntry("a dir/f\xff", 1ull << 40, -5, 04755);
  Entry hashed = test::FileEntry("h", 3, 7);
  hashed.has_hash = true;
  hashed.hash = Xxh3_128("abc", 3);
  Entry link = test::SymlinkEntry("a dir/l", "../../outside/is/just/text");
  for (const Entry& e : {folder, file, hashed, link}) {
    Entry got;
    Status s = DecodeEntry(EntryFrame(e), &got);
    ASSERT_TRUE(s.ok()) << Printable(e.path) << ": " << s.message();
    ExpectSameEntry(got, e);
  }
}

// ---------------------------------------------------------- Packed entries

std::vector<Entry> Unpack(const std::string& payload, Status* s) {
  std::vector<Entry> out;
  *s = DecodeEntries(payload.data(), payload.size(), [&](Entry& e) {
    out.push_back(e);
    return Status::Ok();
  });
  return out;
}

std::vector<Entry> UnpackOwners(const std::string& payload, Status* s) {
  std::vector<Entry> out;
  *s = DecodeEntries(payload.data(), payload.size(), [&](Entry& e) {
    out.push_back(e);
    return Status::Ok();
  }, true);
  return out;
}

Entry Owned(Entry e, uint32_t uid, const std::string& user, uint32_t gid,
            const std::string& group) {
  e.has_owner = true;
  e.uid = uid;
  e.user = user;
  e.gid = gid;
  e.group = group;
  return e;
}

TEST(Protocol, PackedOwnersRoundTripAndAreWrittenOnlyWhereTheyChange) {
  const std::vector<Entry> entries = {
      Owned(test::FolderEntry("d"), 0, "root", 0, "root"),
      Owned(test::FileEntry("d/a", 1, 1), 65534, "nobody", 65534, "nogroup"),
      Owned(test::FileEntry("d/b", 1, 1), 65534, "nobody", 65534, "nogroup"),
      Owned(test::SymlinkEntry("d/c", "a", 1), 12345, "", 0xFFFFFFFEu,
            std::string(kMaxOwnerNameBytes, 'g')),
  };
  EntryPacker packer(true);
  for (const Entry& e : entries) packer.Add(e);
  std::string payload = packer.Take();
  Status s;
  std::vector<Entry> got = UnpackOwners(payload, &s);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(got.size(), entries.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(got[i].has_owner);
    EXPECT_EQ(got[i].uid, entries[i].uid) << i;
    EXPECT_EQ(got[i].user, entries[i].user) << i;
    EXPECT_EQ(got[i].gid, entries[i].gid) << i;
    EXPECT_EQ(got[i].group, entries[i].group) << i;
  }
  // The third entry repeats the second's owner: it costs what it costs
  // without owners. Without the flag, owner records are a bad header.
  auto packed_size = [](bool owners, size_t n, const std::vector<Entry>& list) {
    EntryPacker p(owners);
    for (size_t i = 0; i < n; ++i) p.Add(list[i]);
    return p.Take().size();
  };
  EXPECT_EQ(packed_size(true, 3, entries) - packed_size(true, 2, entries),
            packed_size(false, 3, entries) - packed_size(false, 2, entries));
  Unpack(payload, &s);
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol);
}

TEST(Protocol, PackedOwnersRefuseOverlongNamesAndAFirstEntryWithoutOne) {
  EntryPacker packer(true);
  packer.Add(Owned(test::FileEntry("f", 1, 1), 1, std::string(10000, 'u'), 1, "g"));
  Status s;
  UnpackOwners(packer.Take(), &s);
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol);
  EntryPacker plain;  // no owner records at all
  plain.Add(test::FileEntry("f", 1, 1));
  UnpackOwners(plain.Take(), &s);
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol);
  EntryPacker nul(true);
  nul.Add(Owned(test::FileEntry("f", 1, 1), 1, std::string("ro\0ot", 5), 1, "g"));
  UnpackOwners(nul.Take(), &s);
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol);
}

TEST(Protocol, PackedSpecialFilesRoundTripOnlyWithTheirFlag) {
  Entry fifo = test::FileEntry("fifo", 0, 5, 0640);
  fifo.type = EntryType::kSpecial;
  fifo.special = SpecialKind::kFifo;
  Entry dev = fifo;
  dev.path = "null";
  dev.special = SpecialKind::kCharDevice;
  dev.rdev_major = 1;
  dev.rdev_minor = 0xFFFFFFFFu;
  EntryPacker packer;
  packer.Add(fifo);
  packer.Add(dev);
  const std::string payload = packer.Take();
  std::vector<Entry> got;
  Status s = DecodeEntries(payload.data(), payload.size(), [&](Entry& e) {
    got.push_back(e);
    return Status::Ok();
  }, false, true);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].type, EntryType::kSpecial);
  EXPECT_EQ(got[0].special, SpecialKind::kFifo);
  EXPECT_EQ(got[0].mode, 0640u);
  EXPECT_EQ(got[1].special, SpecialKind::kCharDevice);
  EXPECT_EQ(got[1].rdev_major, 1u);
  EXPECT_EQ(got[1].rdev_minor, 0xFFFFFFFFu);
  Unpack(payload, &s);  // no Specials flag
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol);
  // head 0x20 (special), shares 0, path "x", mode 0644, mtime 0, kind 9.
  const std::string unknown("\x20\x00\x01x\xa4\x03\x00\x09", 8);
  s = DecodeEntries(unknown.data(), unknown.size(), [](Entry&) { return Status::Ok(); }, false,
                    true);
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol);
}

TEST(Protocol, PackedLinkRecordsRoundTripOnlyWithTheirFlag) {
  Entry first = test::FileEntry("a", 10, 5);
  first.has_link = true;
  first.link_first = kLinkFirst;
  first.link_names = 3;
  Entry later = test::FileEntry("b", 10, 5);
  later.has_link = true;
  later.link_first = 0;
  Entry last = test::FileEntry("c", 10, 5);
  last.has_link = true;
  last.link_first = 0xFFFFFFFEu;  // the largest listing index
  EntryPacker packer;
  packer.Add(first);
  packer.Add(later);
  packer.Add(last);
  const std::string payload = packer.Take();
  std::vector<Entry> got;
  Status s = DecodeEntries(payload.data(), payload.size(), [&](Entry& e) {
    got.push_back(e);
    return Status::Ok();
  }, false, false, false, true);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_TRUE(got[0].has_link);
  EXPECT_EQ(got[0].link_first, kLinkFirst);
  EXPECT_EQ(got[0].link_names, 3u);
  EXPECT_EQ(got[1].link_first, 0u);
  EXPECT_EQ(got[2].link_first, 0xFFFFFFFEu);
  Unpack(payload, &s);  // no HardLinks flag: head bit 7 is unknown
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol);
  auto decode = [](const std::string& bytes) {
    return DecodeEntries(bytes.data(), bytes.size(), [](Entry&) { return Status::Ok(); }, false,
                         false, false, true);
  };
  // head 0x82 (file, link), shares 0, path "x", mode 0644, mtime 0, size 0,
  // then the link record.
  const std::string prefix("\x82\x00\x01x\xa4\x03\x00\x00", 8);
  EXPECT_TRUE(decode(prefix + std::string("\x00\x02", 2)).ok());
  EXPECT_EQ(decode(prefix + std::string("\x00\x01", 2)).kind(), ErrorKind::kProtocol);  // 1 name
  EXPECT_EQ(decode(prefix + std::string("\x00", 1)).kind(), ErrorKind::kProtocol);  // truncated
  EXPECT_EQ(decode(prefix + std::string("\x80\x80\x80\x80\x10", 5)).kind(),
            ErrorKind::kProtocol);  // index 2^32 - 1: past any listing
  // A link record on a folder (head 0x81): a bad header.
  EXPECT_EQ(decode(std::string("\x81\x00\x01x\xa4\x03\x00\x00\x02", 9)).kind(),
            ErrorKind::kProtocol);
}

TEST(Protocol, PackedXattrsRoundTripWithinTheirLimits) {
  Entry e = test::FileEntry("f", 1, 1);
  e.xattrs = {{"user.a", std::string("\0\xff", 2)}, {"user.b", std::string(kMaxXattrValueBytes, 'v')}};
  auto decode = [](const Entry& x, std::vector<Entry>* out) {
    EntryPacker p;
    p.Add(x);
    std::string payload = p.Take();
    return DecodeEntries(payload.data(), payload.size(), [&](Entry& got) {
      out->push_back(got);
      return Status::Ok();
    }, false, false, true);
  };
  std::vector<Entry> got;
  ASSERT_TRUE(decode(e, &got).ok());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].xattrs == e.xattrs);
  EXPECT_EQ(EntryWeight(got[0]), kEntryWeightBase + 1 + 12 + 2 + kMaxXattrValueBytes);
  // A 10 MiB value, more than the entry's total, names out of order or
  // twice, an empty name: each refused.
  Entry big = e;
  big.xattrs = {{"user.big", std::string(10 << 20, 'x')}};
  EXPECT_EQ(decode(big, &got).kind(), ErrorKind::kProtocol);
  Entry many = e;
  many.xattrs.clear();
  for (int i = 0; i < 3; ++i) {
    many.xattrs.push_back({"user." + std::to_string(i), std::string(kMaxXattrValueBytes, 'v')});
  }
  EXPECT_EQ(decode(many, &got).kind(), ErrorKind::kProtocol);
  Entry unsorted = e;
  std::swap(unsorted.xattrs[0], unsorted.xattrs[1]);
  EXPECT_EQ(decode(unsorted, &got).kind(), ErrorKind::kProtocol);
  Entry twice = e;
  twice.xattrs[1].name = "user.a";
  EXPECT_EQ(decode(twice, &got).kind(), ErrorKind::kProtocol);
  Entry empty = e;
  empty.xattrs[0].name = "";
  EXPECT_EQ(decode(empty, &got).kind(), ErrorKind::kProtocol);
  // Without the flag, attributes are a bad header.
  Status s;
  EntryPacker p;
  p.Add(e);
  Unpack(p.Take(), &s);
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol);
}

TEST(Protocol, PackedEntriesRoundTrip) {
  Entry hashed = test::FileEntry("a dir/h", 3, 7);
  hashed.has_hash = true;
  hashed.hash = Xxh3_128("abc", 3);
  const std::vector<Entry> entries = {
      test::FolderEntry("a dir", 0750, 1700000000000000001),
      test::FileEntry("a dir/f\xff", 1ull << 40, -5, 04755),  // mtime far back
      hashed,
      test::SymlinkEntry("a dir/l", "../../outside/is/just/text", INT64_MAX),
      test::FileEntry("a dir/l2", 0, INT64_MIN),  // the largest jump there is
      test::FolderEntry("b", 0755, 0),            // shares nothing
      test::FileEntry(std::string(kMaxPathBytes, 'p'), 5, 1),
      test::FileEntry(std::string(kMaxPathBytes - 1, 'p') + "q", 6, 1),
  };
  EntryPacker packer;
  std::vector<std::string> payloads;
  for (size_t i = 0; i < entries.size(); ++i) {
    packer.Add(entries[i]);
    if (i == 3) payloads.push_back(packer.Take());  // the next one starts afresh
  }
  payloads.push_back(packer.Take());
  EXPECT_TRUE(packer.empty());
  std::vector<Entry> got;
  for (const std::string& p : payloads) {
    Status s;
    std::vector<Entry> part = Unpack(p, &s);
    ASSERT_TRUE(s.ok()) << s.message();
    got.insert(got.end(), part.begin(), part.end());
  }
  ASSERT_EQ(got.size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) ExpectSameEntry(got[i], entries[i]);
}

TEST(Protocol, PackedListingOfSiblingFilesTakesAboutTenBytesAnEntry) {
  EntryPacker packer;
  int64_t t = 1700000000000000000;
  size_t n = 0;
  for (int d = 0; d < 20; ++d) {
    std::string dir = "dir" + std::to_string(100 + d);
    packer.Add(test::FolderEntry(dir, 0755, t));
    for (int f = 0; f < 50; ++f, ++n) {
      t += 37000;  // files written some tens of microseconds apart
      packer.Add(test::FileEntry(dir + "/f" + std::to_string(10 + f), 1024 + 97 * f, t));
    }
    n += 1;
  }
  std::string payload = packer.Take();
  EXPECT_LE(payload.size(), 11 * n);  // one frame per entry took ~39 bytes
  Status s;
  EXPECT_EQ(Unpack(payload, &s).size(), n);
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST(Protocol, PackedEntriesRejectMalformedInput) {
  EntryPacker packer;
  packer.Add(test::SymlinkEntry("link", "target", 1234567));
  const std::string one = packer.Take();
  Status s;
  // Cut anywhere inside the entry: never a shorter valid entry.
  for (size_t cut = 0; cut < one.size(); ++cut) {
    Unpack(one.substr(0, cut), &s);
    EXPECT_EQ(s.kind(), ErrorKind::kProtocol) << "cut at " << cut;
  }
  const std::string bad[] = {
      std::string("\x00\x00\x01a\x00\x00", 6),                 // type 0
      std::string("\x12\x00\x01a\x00\x00\x01", 7),            // unknown flag bit
      std::string("\x05\x00\x01a\x00\x00", 6),                 // a hash on a folder
      std::string("\x09\x00\x01a\x00", 5),                      // same mode, no previous
      std::string("\x01\x01\x01a\x00\x00", 6),                 // shares with nothing
      std::string("\x01\x00\x02../\x00\x00", 7),               // hostile path
      std::string("\x01\x00\x01a\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01\x00", 16),  // overlong varint
      std::string("\x01\x00\x01a\x80\x80\x80\x80\x10\x00", 10),  // mode above 32 bits
      std::string("\x03\x00\x01l\x00\x00\x00", 7),            // empty symlink target
      std::string("\x03\x00\x01l\x00\x00\x01\x00", 8),       // NUL in the target
      std::string("\x02\x00\x01f\x00\x00\x01\x07", 8),       // trailing byte: a bad entry
  };
  for (const std::string& p : bad) {
    Unpack(p, &s);
    EXPECT_EQ(s.kind(), ErrorKind::kProtocol) << Printable(p);
  }
  // A path may reach kMaxPathBytes through a shared prefix, not pass it.
  std::string longest;
  packer.Add(test::FolderEntry(std::string(kMaxPathBytes, 'x')));
  longest = packer.Take();
  longest += std::string("\x01\x80\x20\x01y\x00\x00", 7);  // shares 4096, adds one
  std::vector<Entry> got = Unpack(longest, &s);
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol);
  EXPECT_EQ(got.size(), 1u);
}

// The example in docs/PROTOCOL.md, byte for byte.
TEST(Protocol, PackedEntriesMatchTheDocumentedExample) {
  EntryPacker packer;
  packer.Add(test::FolderEntry("a", 0755, 0));
  packer.Add(test::FileEntry("a/x", 3, 0, 0644));
  EXPECT_EQ(packer.Take(), std::string("\x01\x00\x01" "a" "\xed\x03\x00"
                                       "\x02\x01\x02" "/x" "\xa4\x03\x00\x03",
                                       16));
}

TEST(Protocol, PackedEntriesStopAtTheVisitorsError) {
  EntryPacker packer;
  packer.Add(test::FolderEntry("a"));
  packer.Add(test::FolderEntry("b"));
  std::string payload = packer.Take();
  int seen = 0;
  Status s = DecodeEntries(payload.data(), payload.size(), [&](Entry&) {
    ++seen;
    return Status::Protocol("no");
  });
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol);
  EXPECT_EQ(seen, 1);
}

TEST(Protocol, EntryModeKeepsOnlyPermissionBits) {
  Entry e = test::FileEntry("f", 1, 1, 0100644);
  Entry got;
  ASSERT_TRUE(DecodeEntry(EntryFrame(e), &got).ok());
  EXPECT_EQ(got.mode, 0644u);
}

TEST(Protocol, EntryRejectsHostilePaths) {
  const std::string bad[] = {
      "",       "/etc/passwd", "..",   "../x",    "a/../../x", "a//b",
      "a/",     ".",           "./a",  std::string("a\0b", 3),
      std::string(kMaxPathBytes + 1, 'x'),
  };
  for (FrameType t : {FrameType::kFolder, FrameType::kFile, FrameType::kSymlink}) {
    for (const std::string& p : bad) {
      Entry got;
      EXPECT_EQ(DecodeEntry(RawEntryFrame(t, p), &got).kind(), ErrorKind::kProtocol)
          << FrameTypeName(static_cast<uint8_t>(t)) << " " << Printable(p);
    }
  }
}

TEST(Protocol, EntryRejectsBadSymlinkTargets) {
  Entry got;
  EXPECT_EQ(DecodeEntry(RawEntryFrame(FrameType::kSymlink, "l", ""), &got).kind(),
            ErrorKind::kProtocol);
  EXPECT_EQ(
      DecodeEntry(RawEntryFrame(FrameType::kSymlink, "l", std::string("a\0b", 3)), &got).kind(),
      ErrorKind::kProtocol);
  EXPECT_EQ(DecodeEntry(RawEntryFrame(FrameType::kSymlink, "l",
                                      std::string(kMaxLinkTargetBytes + 1, 't')),
                        &got)
                .kind(),
            ErrorKind::kProtocol);
  EXPECT_TRUE(DecodeEntry(RawEntryFrame(FrameType::kSymlink, "l",
                                        std::string(kMaxLinkTargetBytes, 't')),
                          &got)
                  .ok());
}

TEST(Protocol, EntryRejectsMalformedPayloads) {
  Entry got;
  // Not an entry frame at all.
  EXPECT_EQ(DecodeEntry(F(FrameType::kData, EncodeEntry(test::FileEntry("f", 1, 1))), &got).kind(),
            ErrorKind::kProtocol);
  // A folder with trailing bytes; a file cut short; a half hash.
  EXPECT_EQ(DecodeEntry(F(FrameType::kFolder, EncodeEntry(test::FolderEntry("d")) + "x"), &got)
                .kind(),
            ErrorKind::kProtocol);
  std::string file = EncodeEntry(test::FileEntry("f", 1, 1));
  EXPECT_EQ(DecodeEntry(F(FrameType::kFile, file.substr(0, file.size() - 1)), &got).kind(),
            ErrorKind::kProtocol);
  EXPECT_EQ(DecodeEntry(F(FrameType::kFile, file + "12345678"), &got).kind(),
            ErrorKind::kProtocol);
  EXPECT_EQ(DecodeEntry(F(FrameType::kFile, file + std::string(17, 'h')), &got).kind(),
            ErrorKind::kProtocol);
  // A folder frame carrying a file's size field is a folder with trailing bytes.
  EXPECT_EQ(DecodeEntry(F(FrameType::kFolder, file), &got).kind(), ErrorKind::kProtocol);
}

}  // namespace
}  // namespace treesync

namespace treesync {
namespace {

TEST(Protocol, SessionRoundTripsAndRefusesUnsafePathsAndUnknownOptions) {
  SessionRequest r;
  r.options = kSessionKeepExtraneous | kSessionDryRun;
  r.path = "a/b";
  SessionRequest back;
  ASSERT_TRUE(DecodeSession(Frame{FrameType::kSession, EncodeSession(r)}, &back).ok());
  EXPECT_EQ(back.options, r.options);
  EXPECT_EQ(back.path, "a/b");
  for (const char* bad : {"../x", "/abs", "a//b", "a/./b"}) {
    r.path = bad;
    EXPECT_EQ(DecodeSession(Frame{FrameType::kSession, EncodeSession(r)}, &back).kind(),
              ErrorKind::kProtocol)
        << bad;
  }
  r.path = "";
  r.options = 1u << 11;
  EXPECT_EQ(DecodeSession(Frame{FrameType::kSession, EncodeSession(r)}, &back).kind(),
            ErrorKind::kProtocol);
}

TEST(Protocol, SessionCarriesFilterRulesAndMaxDeleteAndRefusesUnknownSettings) {
  SessionRequest r;
  r.options = kSessionDeleteExcluded | kSessionUpdate;
  ASSERT_TRUE(r.rules.AddPattern(false, "*.o").ok());
  ASSERT_TRUE(r.rules.AddPattern(false, "+ keep/").ok());
  ASSERT_TRUE(r.rules.AddPerFolderFile(".tsignore").ok());
  r.max_delete = 7;
  r.backup_dir = "old/backups";
  r.suffix = ".bak";
  SessionRequest back;
  ASSERT_TRUE(DecodeSession(Frame{FrameType::kSession, EncodeSession(r)}, &back).ok());
  EXPECT_EQ(back.options, r.options | kSessionSettings);
  ASSERT_EQ(back.rules.rules().size(), 3u);
  EXPECT_EQ(back.rules.rules()[0].kind, FilterRule::kExclude);
  EXPECT_EQ(back.rules.rules()[1].kind, FilterRule::kInclude);
  EXPECT_TRUE(back.rules.rules()[1].folders_only);
  EXPECT_EQ(back.rules.rules()[2].kind, FilterRule::kPerFolder);
  EXPECT_EQ(back.max_delete, 7);
  EXPECT_EQ(back.backup_dir, "old/backups");
  EXPECT_EQ(back.suffix, ".bak");
  // Without settings the flag is not set and no list follows.
  SessionRequest plain;
  ASSERT_TRUE(DecodeSession(Frame{FrameType::kSession, EncodeSession(plain)}, &back).ok());
  EXPECT_EQ(back.options, 0u);
  EXPECT_EQ(back.max_delete, -1);

  // A setting this side does not know, a per-folder file name with a '/',
  // and a bad number are refused.
  auto with_setting = [](uint8_t key, const std::string& value) {
    PayloadWriter w;
    w.U32(kSessionSettings);
    w.Bytes("");
    w.U32(1);
    w.U8(key);
    w.Bytes(value);
    return Frame{FrameType::kSession, w.Take()};
  };
  EXPECT_EQ(DecodeSession(with_setting(99, "x"), &back).kind(), ErrorKind::kProtocol);
  EXPECT_EQ(DecodeSession(with_setting(kSettingFilterFile, "a/b"), &back).kind(),
            ErrorKind::kProtocol);
  EXPECT_EQ(DecodeSession(with_setting(kSettingMaxDelete, "12x"), &back).kind(),
            ErrorKind::kProtocol);
  EXPECT_EQ(DecodeSession(with_setting(kSettingExclude, ""), &back).kind(), ErrorKind::kProtocol);
  // A backup folder outside the target, or a suffix that names a folder.
  EXPECT_EQ(DecodeSession(with_setting(kSettingBackupDir, "../up"), &back).kind(),
            ErrorKind::kProtocol);
  EXPECT_EQ(DecodeSession(with_setting(kSettingBackupDir, "/abs"), &back).kind(),
            ErrorKind::kProtocol);
  EXPECT_EQ(DecodeSession(with_setting(kSettingSuffix, "x/y"), &back).kind(),
            ErrorKind::kProtocol);
  EXPECT_TRUE(DecodeSession(with_setting(kSettingInclude, "*.c"), &back).ok());
}

TEST(Protocol, EventsRoundTripWithPrintableMessages) {
  Event e;
  e.kind = Event::kChange;
  e.change = 2;
  e.type = EntryType::kSymlink;
  e.bytes = 9;
  e.path = "a/b";
  Event back;
  ASSERT_TRUE(DecodeEvent(Frame{FrameType::kEvent, EncodeEvent(e)}, &back).ok());
  EXPECT_EQ(back.kind, Event::kChange);
  EXPECT_EQ(back.change, 2);
  EXPECT_EQ(back.type, EntryType::kSymlink);
  EXPECT_EQ(back.bytes, 9u);
  EXPECT_EQ(back.path, "a/b");
  e = Event();
  e.kind = Event::kWarning;
  e.message = "evil \x1b[2J";
  ASSERT_TRUE(DecodeEvent(Frame{FrameType::kEvent, EncodeEvent(e)}, &back).ok());
  EXPECT_EQ(back.message.find('\x1b'), std::string::npos) << back.message;
  std::string bad_kind(1, '\x09');
  EXPECT_EQ(DecodeEvent(Frame{FrameType::kEvent, bad_kind}, &back).kind(), ErrorKind::kProtocol);
}

TEST(Protocol, SummaryCarriesOnlyDoneOrPartial) {
  Summary s;
  s.result = ErrorKind::kPartial;
  s.message = "2 entries failed";
  s.counts[0] = 5;
  s.counts[9] = 2;
  Summary back;
  ASSERT_TRUE(DecodeSummary(Frame{FrameType::kSummary, EncodeSummary(s)}, &back).ok());
  EXPECT_EQ(back.result, ErrorKind::kPartial);
  EXPECT_EQ(back.counts[0], 5u);
  EXPECT_EQ(back.counts[9], 2u);
  s.result = ErrorKind::kIo;
  EXPECT_EQ(DecodeSummary(Frame{FrameType::kSummary, EncodeSummary(s)}, &back).kind(),
            ErrorKind::kProtocol);
}

}  // namespace
}  // namespace treesync
