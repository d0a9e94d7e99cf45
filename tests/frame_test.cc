#include "frame.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace treesync {
namespace {

const FrameType kAllTypes[] = {
    FrameType::kHello,   FrameType::kError,    FrameType::kSync,      FrameType::kFolder,
    FrameType::kFile,    FrameType::kSymlink,  FrameType::kWarning,   FrameType::kListEnd,
    FrameType::kWant,    FrameType::kWantEnd,  FrameType::kWantDelta, FrameType::kListCredit, FrameType::kWantPaths,
    FrameType::kWantDeltaPath, FrameType::kBegin,
    FrameType::kData,    FrameType::kEnd,      FrameType::kFileError, FrameType::kCopy,
    FrameType::kDone,    FrameType::kEntries, FrameType::kGap,       FrameType::kSession,
    FrameType::kEvent,   FrameType::kSummary,  FrameType::kHole,    FrameType::kHandshake,
    FrameType::kWhole,   FrameType::kRound,    FrameType::kTick,
};

bool IsListedType(uint8_t t) {
  for (FrameType k : kAllTypes) {
    if (static_cast<uint8_t>(k) == t) return true;
  }
  return false;
}

// Every frame type, with payloads of assorted sizes and every byte value.
std::vector<Frame> SampleFrames() {
  std::vector<Frame> frames;
  std::mt19937 rng(7);
  size_t sizes[] = {0, 1, 5, 255, 4096, 70000};
  size_t n = 0;
  for (FrameType t : kAllTypes) {
    Frame f;
    f.type = t;
    size_t size = sizes[n++ % (sizeof sizes / sizeof sizes[0])];
    for (size_t i = 0; i < size; ++i) f.payload.push_back(static_cast<char>(rng() & 0xff));
    frames.push_back(f);
  }
  // Payloads that look like headers or contain NULs are still just bytes.
  Frame tricky;
  tricky.type = FrameType::kData;
  tricky.payload = std::string("\x01\xff\xff\xff\xff\0\0", 7);
  frames.push_back(tricky);
  return frames;
}

std::string Encode(const std::vector<Frame>& frames) {
  std::string out;
  for (const Frame& f : frames) AppendFrame(&out, f.type, f.payload);
  return out;
}

// Takes every complete frame out of r.
void Drain(FrameReader* r, std::vector<Frame>* got) {
  for (;;) {
    Frame f;
    bool have = false;
    Status s = r->Next(&f, &have);
    ASSERT_TRUE(s.ok()) << s.message();
    if (!have) return;
    got->push_back(f);
  }
}

void ExpectSameFrames(const std::vector<Frame>& want, const std::vector<Frame>& got) {
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(want[i].type, got[i].type) << "frame " << i;
    EXPECT_EQ(want[i].payload, got[i].payload) << "frame " << i;
  }
}

std::string Header(uint8_t type, uint32_t len) {
  std::string h(1, static_cast<char>(type));
  for (int i = 0; i < 4; ++i) h.push_back(static_cast<char>(len >> (8 * i)));
  return h;
}

TEST(Frame, EncodesTypeThenLittleEndianLengthThenPayload) {
  std::string out;
  AppendFrame(&out, FrameType::kBegin, std::string("xyz"));
  EXPECT_EQ(out, std::string("\x30\x03\x00\x00\x00xyz", 8));
  out.clear();
  std::string big(0x010203, 'a');
  AppendFrame(&out, FrameType::kData, big);
  EXPECT_EQ(out.substr(0, kFrameHeaderSize), std::string("\x31\x03\x02\x01\x00", 5));
  EXPECT_EQ(out.size(), kFrameHeaderSize + big.size());
}

TEST(Frame, RoundTripsEveryTypeFedByteByByte) {
  std::vector<Frame> frames = SampleFrames();
  std::string wire = Encode(frames);
  FrameReader r;
  std::vector<Frame> got;
  for (char c : wire) {
    r.Feed(&c, 1);
    Drain(&r, &got);
  }
  ExpectSameFrames(frames, got);
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(Frame, RoundTripsEveryTypeFedInRandomSplits) {
  std::vector<Frame> frames = SampleFrames();
  std::string wire = Encode(frames);
  for (unsigned seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    FrameReader r;
    std::vector<Frame> got;
    size_t pos = 0;
    while (pos < wire.size()) {
      size_t n = std::min<size_t>(wire.size() - pos, 1 + rng() % 9000);
      if (rng() % 2) {
        r.Feed(wire.data() + pos, n);
      } else {  // the zero-copy path a socket read uses
        size_t room = n + rng() % 100;
        std::memcpy(r.Prepare(room), wire.data() + pos, n);
        r.Commit(n);
      }
      pos += n;
      Drain(&r, &got);
    }
    ExpectSameFrames(frames, got);
    EXPECT_EQ(r.buffered(), 0u) << "seed " << seed;
  }
}

TEST(Frame, AcceptsPayloadOfExactlyTheLimit) {
  std::string payload(kMaxFramePayload, 'p');
  std::string wire;
  AppendFrame(&wire, FrameType::kData, payload);
  FrameReader r;
  r.Feed(wire.data(), wire.size());
  Frame f;
  bool got = false;
  ASSERT_TRUE(r.Next(&f, &got).ok());
  ASSERT_TRUE(got);
  EXPECT_EQ(f.payload.size(), size_t{kMaxFramePayload});
}

TEST(Frame, RejectsUnknownTypeWhenHeaderArrives) {
  std::string h = Header(0x7f, 3);
  FrameReader r;
  Frame f;
  bool got = true;
  r.Feed(h.data(), 4);
  EXPECT_TRUE(r.Next(&f, &got).ok());
  EXPECT_FALSE(got);
  r.Feed(h.data() + 4, 1);
  Status s = r.Next(&f, &got);
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol);
  EXPECT_FALSE(got);
  EXPECT_NE(s.message().find("0x7f"), std::string::npos) << s.message();
}

TEST(Frame, RejectsEveryUnlistedTypeByte) {
  for (int t = 0; t < 256; ++t) {
    uint8_t type = static_cast<uint8_t>(t);
    EXPECT_EQ(IsKnownFrameType(type), IsListedType(type)) << t;
    if (IsListedType(type)) continue;
    std::string h = Header(type, 0);
    FrameReader r;
    r.Feed(h.data(), h.size());
    Frame f;
    bool got = false;
    EXPECT_EQ(r.Next(&f, &got).kind(), ErrorKind::kProtocol) << t;
  }
}

TEST(Frame, RejectsOversizedLengthBeforeThePayload) {
  for (uint32_t len : {kMaxFramePayload + 1, 0x7fffffffu, 0xffffffffu}) {
    std::string h = Header(static_cast<uint8_t>(FrameType::kData), len);
    FrameReader r;
    r.Feed(h.data(), h.size());  // only the 5-byte header
    Frame f;
    bool got = true;
    Status s = r.Next(&f, &got);
    EXPECT_EQ(s.kind(), ErrorKind::kProtocol) << len;
    EXPECT_FALSE(got);
  }
}

TEST(Frame, TruncatedHeaderGivesNoFrameAndNoError) {
  std::string wire;
  AppendFrame(&wire, FrameType::kDone, std::string());
  for (size_t n = 0; n < kFrameHeaderSize; ++n) {
    FrameReader r;
    r.Feed(wire.data(), n);
    Frame f;
    bool got = true;
    EXPECT_TRUE(r.Next(&f, &got).ok()) << n;
    EXPECT_FALSE(got) << n;
    EXPECT_EQ(r.buffered(), n);
  }
}

// Found by frame_fuzz: Feed(p, 0) on a fresh reader passed memcpy a null
// destination (undefined behaviour that UBSan reports).
TEST(Frame, FeedingNoBytesToAFreshReaderIsANoOp) {
  FrameReader r;
  r.Feed(nullptr, 0);
  r.Feed("", 0);
  EXPECT_EQ(r.buffered(), 0u);
  Frame f;
  bool got = true;
  EXPECT_TRUE(r.Next(&f, &got).ok());
  EXPECT_FALSE(got);
  std::string wire;
  AppendFrame(&wire, FrameType::kDone, std::string());
  r.Feed(wire.data(), wire.size());
  r.Feed(wire.data(), 0);
  EXPECT_TRUE(r.Next(&f, &got).ok());
  EXPECT_TRUE(got);
  EXPECT_EQ(f.type, FrameType::kDone);
}

TEST(Frame, TruncatedPayloadGivesNoFrameAndNoError) {
  std::string wire;
  AppendFrame(&wire, FrameType::kFile, std::string(100, 'x'));
  FrameReader r;
  r.Feed(wire.data(), wire.size() - 1);
  Frame f;
  bool got = true;
  EXPECT_TRUE(r.Next(&f, &got).ok());
  EXPECT_FALSE(got);
  r.Feed(wire.data() + wire.size() - 1, 1);
  EXPECT_TRUE(r.Next(&f, &got).ok());
  EXPECT_TRUE(got);
  EXPECT_EQ(f.type, FrameType::kFile);
  EXPECT_EQ(f.payload, std::string(100, 'x'));
}

TEST(Frame, EmptyPayloadFrameIsComplete) {
  std::string wire;
  AppendFrame(&wire, FrameType::kWantEnd, nullptr, 0);
  ASSERT_EQ(wire.size(), kFrameHeaderSize);
  FrameReader r;
  r.Feed(wire.data(), wire.size());
  Frame f;
  f.payload = "stale";
  bool got = false;
  ASSERT_TRUE(r.Next(&f, &got).ok());
  ASSERT_TRUE(got);
  EXPECT_EQ(f.type, FrameType::kWantEnd);
  EXPECT_TRUE(f.payload.empty());
}

TEST(Frame, NamesKnownAndUnknownTypes) {
  EXPECT_EQ(FrameTypeName(static_cast<uint8_t>(FrameType::kFolder)), "Folder");
  EXPECT_EQ(FrameTypeName(static_cast<uint8_t>(FrameType::kFileError)), "FileError");
  EXPECT_EQ(FrameTypeName(0x7f), "0x7f");
  EXPECT_EQ(FrameTypeName(0x00), "0x00");
  EXPECT_EQ(FrameTypeName(0xff), "0xff");
}

TEST(Payload, WritesLittleEndianFields) {
  PayloadWriter w;
  w.U8(0xab);
  w.U32(0x01020304);
  w.U64(0x1122334455667788ull);
  w.Bytes("hi");
  EXPECT_EQ(w.data(), std::string("\xab"
                                  "\x04\x03\x02\x01"
                                  "\x88\x77\x66\x55\x44\x33\x22\x11"
                                  "\x02\x00\x00\x00hi",
                                  19));
}

TEST(Payload, RoundTripsEveryFieldKind) {
  PayloadWriter w;
  w.U8(0xfe);
  w.U32(0xdeadbeef);
  w.U64(0xfedcba9876543210ull);
  w.I64(-1234567890123ll);
  w.Raw("\0raw", 4);
  w.Bytes(std::string("by\0tes", 6));
  w.Bytes("");
  std::string p = w.Take();
  PayloadReader r(p, "Test");
  uint8_t u8 = 0;
  uint32_t u32 = 0;
  uint64_t u64 = 0;
  int64_t i64 = 0;
  char raw[4];
  std::string bytes, empty = "x";
  EXPECT_TRUE(r.U8(&u8));
  EXPECT_TRUE(r.U32(&u32));
  EXPECT_TRUE(r.U64(&u64));
  EXPECT_TRUE(r.I64(&i64));
  EXPECT_TRUE(r.Raw(raw, 4));
  EXPECT_TRUE(r.Bytes(&bytes, 6));
  EXPECT_TRUE(r.Bytes(&empty, 0));
  EXPECT_TRUE(r.AtEnd());
  EXPECT_TRUE(r.Finish().ok());
  EXPECT_EQ(u8, 0xfe);
  EXPECT_EQ(u32, 0xdeadbeefu);
  EXPECT_EQ(u64, 0xfedcba9876543210ull);
  EXPECT_EQ(i64, -1234567890123ll);
  EXPECT_EQ(std::string(raw, 4), std::string("\0raw", 4));
  EXPECT_EQ(bytes, std::string("by\0tes", 6));
  EXPECT_EQ(empty, "");
}

TEST(Payload, ReaderFailsOnTruncationOfEachFieldKind) {
  std::string three("abc");
  {
    PayloadReader r(three, "Test");
    uint32_t v;
    EXPECT_FALSE(r.U32(&v));
    EXPECT_EQ(r.Finish().kind(), ErrorKind::kProtocol);
  }
  {
    PayloadReader r(three, "Test");
    uint64_t v;
    EXPECT_FALSE(r.U64(&v));
    EXPECT_EQ(r.Finish().kind(), ErrorKind::kProtocol);
  }
  {
    PayloadReader r(three, "Test");
    int64_t v;
    EXPECT_FALSE(r.I64(&v));
    EXPECT_EQ(r.Finish().kind(), ErrorKind::kProtocol);
  }
  {
    PayloadReader r(three, "Test");
    char buf[4];
    EXPECT_FALSE(r.Raw(buf, 4));
    EXPECT_EQ(r.Finish().kind(), ErrorKind::kProtocol);
  }
  {
    std::string empty;
    PayloadReader r(empty, "Test");
    uint8_t v;
    EXPECT_FALSE(r.U8(&v));
    EXPECT_EQ(r.Finish().kind(), ErrorKind::kProtocol);
  }
  {
    // The length says 10 bytes follow; only 3 do.
    PayloadWriter w;
    w.U32(10);
    w.Raw("abc", 3);
    std::string p = w.Take();
    PayloadReader r(p, "Test");
    std::string s;
    EXPECT_FALSE(r.Bytes(&s, 100));
    Status st = r.Finish();
    EXPECT_EQ(st.kind(), ErrorKind::kProtocol);
    EXPECT_NE(st.message().find("Test"), std::string::npos) << st.message();
  }
}

TEST(Payload, EveryReadFailsAfterTheFirstFailure) {
  std::string four("abcd");
  PayloadReader r(four, "Test");
  uint64_t big;
  uint32_t small;
  uint8_t byte;
  EXPECT_FALSE(r.U64(&big));
  EXPECT_FALSE(r.U32(&small));  // would fit, but the reader is broken now
  EXPECT_FALSE(r.U8(&byte));
  EXPECT_EQ(r.Finish().kind(), ErrorKind::kProtocol);
}

TEST(Payload, FinishRejectsTrailingBytes) {
  PayloadWriter w;
  w.U32(1);
  w.U8(2);
  std::string p = w.Take();
  PayloadReader r(p, "Test");
  uint32_t v;
  EXPECT_TRUE(r.U32(&v));
  EXPECT_FALSE(r.AtEnd());
  Status s = r.Finish();
  EXPECT_EQ(s.kind(), ErrorKind::kProtocol);
  EXPECT_NE(s.message().find("trailing"), std::string::npos) << s.message();
}

TEST(Payload, BytesRejectsLengthOverItsMaximum) {
  PayloadWriter w;
  w.Bytes("0123456789");
  std::string p = w.Take();
  {
    PayloadReader r(p, "Test");
    std::string s;
    EXPECT_TRUE(r.Bytes(&s, 10));
    EXPECT_TRUE(r.Finish().ok());
  }
  {
    PayloadReader r(p, "Test");
    std::string s;
    EXPECT_FALSE(r.Bytes(&s, 9));
    EXPECT_EQ(r.Finish().kind(), ErrorKind::kProtocol);
  }
  {
    // A huge announced length is refused by the limit, not by reading.
    PayloadWriter huge;
    huge.U32(0xffffffffu);
    std::string hp = huge.Take();
    PayloadReader r(hp, "Test");
    std::string s;
    EXPECT_FALSE(r.Bytes(&s, 4096));
    Status st = r.Finish();
    EXPECT_EQ(st.kind(), ErrorKind::kProtocol);
    EXPECT_NE(st.message().find("limit"), std::string::npos) << st.message();
  }
}

}  // namespace
}  // namespace treesync
