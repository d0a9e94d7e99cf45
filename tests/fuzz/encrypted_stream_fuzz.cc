// Fuzzes the record layer of encrypted sessions (Encrypted(), over a fake
// stream below that hands over the input in chunks the input chooses, then
// EOF), read directly with ByteStream::Read or through a Connection, with
// fixed keys. Input: a byte of flags, a byte seeding the chunk and read
// sizes, a byte of their limits (low nibble: chunks from below, high:
// reads from above and the sender's writes, 4 << nibble bytes at most), then
//   raw (bit 0 clear): the bytes that arrive from below;
//   built (bit 0 set): a byte whose low 2 bits count alterations, 3 bytes
//     for each (kind, a, b: see Alteration), then a plaintext (through a
//     Connection: carried in Data frames), sealed into genuine records and
//     the end record by a sender Encrypted() with the matching cipher, the
//     records then altered.
// Bit 1: rekey every 3 records instead of every kRekeyRecords. Bit 2: read
// through a Connection. Bit 3: a prefix of the stream is given as
// already_read. Bit 4 (built): the plaintext repeated past two full records
// (with bit 5, past what a sender buffers). Bit 5 (built): the sender's
// stream below never takes all it is offered until the end, as a slow
// peer's socket.
// Invariants: the reader matches a model that opens the records as
// docs/PROTOCOL.md says with its own cipher: the plaintext read is the
// model's (or, where it stopped at an error, a prefix of it); the reader
// ends in an OK EOF exactly when the model found a sealed end record with
// nothing after it, and otherwise in a kProtocol error (through a
// Connection: kSocket "closed" exactly when the stream ended cleanly and
// its frames parse, the frames being the model's); the end and the error
// stick; the stream never holds more than EncryptionMemory() (plus what
// already_read brings), as reader and as sender, and never asks below for
// more than two records.
// Built: an untouched stream reads as exactly the plaintext, and any change
// to it (a flipped bit, a cut, a duplicated, swapped or dropped record,
// bytes after the end) is refused.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "connection.h"
#include "encrypted_stream.h"
#include "frame.h"
#include "fuzz_util.h"
#include "little_endian.h"
#include "noise.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/allocator_interface.h>
#define TREESYNC_FUZZ_COUNTS_HEAP 1
#endif
#endif

namespace treesync {
namespace {

constexpr size_t kRecordHeader = 2;
constexpr size_t kMaxRecord = kRecordHeader + kNoiseMaxMessage;
// The rekey interval of bit 1: small enough that a short input crosses it.
constexpr uint64_t kFuzzRekey = 3;
// Reads from below that give nothing (not yet EOF), at most, per run: a
// socket with nothing yet, without letting a run spin forever.
constexpr int kMaxEmptyReads = 64;
// Bit 4: the plaintext is repeated up to this: past two full records, so
// records of kMaxRecordPlain and reads that end inside one occur.
constexpr size_t kStretchedPlain = 2 * kMaxRecordPlain + 1000;
// Bit 4 with bit 5: past the sealed records a sender buffers (kOutMax in
// encrypted_stream.cc, 4 records, and one more), so that a slow peer's
// backlog shows.
constexpr size_t kSlowPeerPlain = 6 * kMaxRecordPlain;
// Beyond the buffers EncryptionMemory() counts: the stream's own object,
// the fake below it, and what ASan counts with each block (its redzones,
// up to 2 KiB a block, and the rounding).
constexpr size_t kHeapSlack = 32 << 10;

enum Flags : uint8_t {
  kBuilt = 0x01,
  kSmallRekey = 0x02,
  kThroughConnection = 0x04,
  kAlreadyRead = 0x08,
  kStretch = 0x10,
  kSlowPeer = 0x20,
};

// Keys of the direction the reader opens and of the one it would send.
NoiseCipher Keyed(uint8_t fill) {
  uint8_t key[kNoiseKeySize];
  for (size_t i = 0; i < kNoiseKeySize; ++i) key[i] = uint8_t(fill + 13 * i);
  NoiseCipher c;
  c.SetKey(key);
  return c;
}
NoiseCipher Incoming() { return Keyed(0x11); }
NoiseCipher Outgoing() { return Keyed(0x77); }

class Random {
 public:
  explicit Random(uint32_t seed) : state_(0x9e3779b9u ^ seed) {}
  uint32_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return state_;
  }
  // 1 to max.
  size_t Size(size_t max) { return 1 + Next() % max; }

 private:
  uint32_t state_;
};

// What arrives from below: bytes [pos, size) of wire in chunks of 1 to
// max_chunk, now and then nothing (no data yet), then EOF for ever. Holds
// no copy, so the heap the reader holds is the stream's alone.
class ChunkedSource : public ByteStream {
 public:
  ChunkedSource(const std::string& wire, size_t pos, Random* random, size_t max_chunk,
                size_t max_ask)
      : bytes_(wire), pos_(pos), random_(random), max_chunk_(max_chunk), max_ask_(max_ask) {}

  Status Read(void* buf, size_t n, size_t* got, bool* eof) override {
    // The layer reads into its buffer of two records (or of already_read).
    FUZZ_CHECK(n > 0 && n <= max_ask_);
    *got = 0;
    *eof = false;
    if (pos_ == bytes_.size()) {
      *eof = true;
      return Status::Ok();
    }
    if (empty_reads_ < kMaxEmptyReads && random_->Next() % 8 == 0) {
      ++empty_reads_;
      return Status::Ok();
    }
    *got = std::min({n, bytes_.size() - pos_, random_->Size(max_chunk_)});
    std::memcpy(buf, bytes_.data() + pos_, *got);
    pos_ += *got;
    return Status::Ok();
  }
  Status Write(const void*, size_t n, size_t* wrote) override {
    *wrote = n;
    return Status::Ok();
  }
  void ShutdownWrite() override {}
  Status Poll(bool want_read, bool want_write, int, platform::Readiness* out) override {
    out->readable = want_read;
    out->writable = want_write;
    return Status::Ok();
  }

 private:
  const std::string& bytes_;
  size_t pos_;
  int empty_reads_ = 0;
  Random* random_;
  const size_t max_chunk_;
  const size_t max_ask_;
};

// Where a sender's records go: it takes some of each write (now and then
// none), and notes the shutdown. A slow one, as a slow peer's socket,
// never takes all it is offered until told to drain.
class Sink : public ByteStream {
 public:
  Sink(std::string* out, bool* shut, const bool* drain, Random* random)
      : out_(out), shut_(shut), drain_(drain), random_(random) {}

  Status Read(void*, size_t, size_t* got, bool* eof) override {
    *got = 0;
    *eof = false;
    return Status::Ok();
  }
  Status Write(const void* buf, size_t n, size_t* wrote) override {
    FUZZ_CHECK(!*shut_);
    *wrote = random_->Next() % 4 == 0 ? 0 : std::min(n, random_->Size(2 * kMaxRecord));
    if (!*drain_) *wrote = std::min(*wrote, n - 1);
    out_->append(static_cast<const char*>(buf), *wrote);
    return Status::Ok();
  }
  void ShutdownWrite() override { *shut_ = true; }
  Status Poll(bool want_read, bool want_write, int, platform::Readiness* out) override {
    out->readable = want_read;
    out->writable = want_write;
    return Status::Ok();
  }

 private:
  std::string* out_;
  bool* shut_;
  const bool* drain_;
  Random* random_;
};

// The stream as docs/PROTOCOL.md reads it, record by record.
struct Model {
  std::string plain;
  bool clean_end = false;  // a sealed end record, nothing after it
  bool end_seen = false;   // a sealed end record, whatever follows
};

Model Open(const std::string& wire, uint64_t rekey) {
  Model m;
  NoiseCipher c = Incoming();
  const uint8_t* w = reinterpret_cast<const uint8_t*>(wire.data());
  std::vector<uint8_t> plain(kNoiseMaxMessage);
  size_t pos = 0;
  for (uint64_t number = 0;; ++number) {
    if (wire.size() - pos < kRecordHeader) return m;  // cut
    const size_t len = LoadLE16(w + pos);
    if (len < kNoiseTagSize || wire.size() - pos - kRecordHeader < len) return m;
    if (number > 0 && number % rekey == 0) c.Rekey();
    FUZZ_CHECK(c.nonce() == number);
    if (!c.Decrypt(w + pos, kRecordHeader, w + pos + kRecordHeader, len, plain.data())) return m;
    pos += kRecordHeader + len;
    if (len == kNoiseTagSize) {
      m.end_seen = true;
      m.clean_end = pos == wire.size();
      return m;
    }
    m.plain.append(reinterpret_cast<const char*>(plain.data()), len - kNoiseTagSize);
  }
}

struct Setup {
  uint8_t flags;
  uint64_t rekey;
  size_t max_chunk;  // from below
  size_t max_read;   // from above, and the sender's writes
};

// The wire, of which already_read takes a prefix: a reader over it.
std::unique_ptr<ByteStream> Reader(const std::string& wire, const Setup& setup, Random* random,
                                   size_t* already) {
  *already = (setup.flags & kAlreadyRead) != 0 ? random->Next() % (wire.size() + 1) : 0;
  const size_t ask = std::max<size_t>(2 * kMaxRecord, *already);
  return Encrypted(
      std::make_unique<ChunkedSource>(wire, *already, random, setup.max_chunk, ask),
      Outgoing(), Incoming(), wire.substr(0, *already), setup.rekey);
}

size_t HeapInUse() {
#ifdef TREESYNC_FUZZ_COUNTS_HEAP
  return __sanitizer_get_current_allocated_bytes();
#else
  return 0;
#endif
}

// Reads everything with ByteStream::Read, checking each piece against the
// model's plaintext as it comes (nothing is kept, so the heap holds only
// the stream). Returns the last status; *eof when it ended in an OK EOF.
Status ReadDirectly(const std::string& wire, const Model& m, const Setup& setup, Random* random,
                    bool* eof) {
  static std::vector<uint8_t> buf(2 * kMaxRecordPlain + 1);
  const size_t before = HeapInUse();
  size_t already = 0;
  std::unique_ptr<ByteStream> s = Reader(wire, setup, random, &already);
  const size_t limit = before + EncryptionMemory() + already + kHeapSlack;
  size_t done = 0;
  *eof = false;
  Status status;
  // Each Read gives bytes, EOF or an error, or takes a chunk from below
  // (or one of its empty reads): this many always suffice.
  const size_t max_calls = 2 * wire.size() + kMaxEmptyReads + 2;
  for (size_t calls = 0;; ++calls) {
    FUZZ_CHECK(calls <= max_calls);
    const size_t n = random->Size(std::min(setup.max_read, buf.size()));
    size_t got = 1;
    status = s->Read(buf.data(), n, &got, eof);
#ifdef TREESYNC_FUZZ_COUNTS_HEAP
    FUZZ_CHECK(HeapInUse() <= limit);
#else
    (void)limit;
#endif
    if (!status.ok()) break;
    FUZZ_CHECK(got <= n);
    FUZZ_CHECK(!*eof || got == 0);
    if (*eof) break;
    FUZZ_CHECK(done + got <= m.plain.size());
    FUZZ_CHECK(std::memcmp(buf.data(), m.plain.data() + done, got) == 0);
    done += got;
  }
  if (status.ok()) {
    FUZZ_CHECK(done == m.plain.size());
  } else {
    FUZZ_CHECK(status.kind() == ErrorKind::kProtocol);
  }
  // The end, or the error, sticks.
  size_t got = 0;
  bool again = false;
  const Status later = s->Read(buf.data(), buf.size(), &got, &again);
  FUZZ_CHECK(later.kind() == status.kind() && got == 0 && again == *eof);
  return status;
}

// The frames in the model's plaintext, as a FrameReader takes them.
Status FramesOf(const std::string& plain, std::vector<Frame>* frames) {
  FrameReader r;
  r.Feed(plain.data(), plain.size());
  for (;;) {
    Frame f;
    bool got = false;
    TS_RETURN_IF_ERROR(r.Next(&f, &got));
    if (!got) return Status::Ok();
    frames->push_back(std::move(f));
  }
}

// Reads everything through a Connection: frames until the first error.
// Returns that error; *clean when it is the peer's clean close.
Status ReadThroughConnection(const std::string& wire, const Model& m, const Setup& setup,
                             Random* random, bool* clean) {
  std::vector<Frame> want;
  const Status frames_status = FramesOf(m.plain, &want);
  size_t already = 0;
  Connection c(Reader(wire, setup, random, &already), -1);
  size_t taken = 0;
  Status s;
  for (;;) {
    Frame f;
    s = c.Receive(&f);
    if (!s.ok()) break;
    FUZZ_CHECK(taken < want.size());
    FUZZ_CHECK(f.type == want[taken].type && f.payload == want[taken].payload);
    ++taken;
  }
  FUZZ_CHECK(s.kind() == ErrorKind::kSocket || s.kind() == ErrorKind::kProtocol);
  *clean = s.kind() == ErrorKind::kSocket;
  // The peer's close only after its sealed end, and then every frame.
  FUZZ_CHECK(*clean == (m.clean_end && frames_status.ok()));
  if (*clean) FUZZ_CHECK(taken == want.size());
  return s;
}

// Reads wire as setup says and checks it against the model; returns
// whether it ended cleanly (an OK EOF, or the Connection's clean close).
bool ReadAndCheck(const std::string& wire, const Setup& setup, Random* random) {
  const Model m = Open(wire, setup.rekey);
  if ((setup.flags & kThroughConnection) != 0) {
    bool clean = false;
    ReadThroughConnection(wire, m, setup, random, &clean);
    return clean;
  }
  bool eof = false;
  const Status s = ReadDirectly(wire, m, setup, random, &eof);
  // An OK EOF exactly when the input held a sealed end record, with
  // nothing after it (docs/PROTOCOL.md: "a receiver treats bytes after it
  // as malformed").
  FUZZ_CHECK(s.ok() == eof);
  FUZZ_CHECK(eof == m.clean_end);
  return eof;
}

// What a sender Encrypted() with the matching cipher puts on the wire for
// plain, written in pieces, then ShutdownWrite.
std::string Seal(const std::string& plain, const Setup& setup, Random* random) {
  std::string wire;
  bool shut = false;
  bool drain = (setup.flags & kSlowPeer) == 0;
  const size_t before = HeapInUse();
  std::unique_ptr<ByteStream> s = Encrypted(std::make_unique<Sink>(&wire, &shut, &drain, random),
                                            Incoming(), Outgoing(), "", setup.rekey);
  // A stretched plaintext goes in large writes: tiny ones would make tens
  // of thousands of records, slow under the sanitizers.
  const size_t max_write =
      (setup.flags & kStretch) != 0 ? std::max(setup.max_read, 2 * kMaxRecordPlain) : setup.max_read;
  size_t done = 0;
  while (done < plain.size()) {
    const size_t n = std::min(plain.size() - done, random->Size(max_write));
    size_t wrote = 0;
    FUZZ_CHECK(s->Write(plain.data() + done, n, &wrote).ok());
    FUZZ_CHECK(wrote <= n);
    done += wrote;
    // Beside what the sink keeps, the sender holds its buffers only, even
    // when the stream below never drains.
#ifdef TREESYNC_FUZZ_COUNTS_HEAP
    FUZZ_CHECK(HeapInUse() - (wire.capacity() + 1) <= before + EncryptionMemory() + kHeapSlack);
#else
    (void)before;
#endif
  }
  drain = true;
  s->ShutdownWrite();
  for (size_t rounds = 0; s->unsent() > 0; ++rounds) {
    FUZZ_CHECK(rounds < 1000000);
    size_t wrote = 1;
    FUZZ_CHECK(s->Write(nullptr, 0, &wrote).ok() && wrote == 0);
  }
  FUZZ_CHECK(shut);
  return wire;
}

// A sealed stream cut into its records (each with its header).
std::vector<std::string> Records(const std::string& wire) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < wire.size()) {
    FUZZ_CHECK(wire.size() - at >= kRecordHeader);
    const size_t len = LoadLE16(reinterpret_cast<const uint8_t*>(wire.data() + at));
    FUZZ_CHECK(len >= kNoiseTagSize && wire.size() - at - kRecordHeader >= len);
    out.push_back(wire.substr(at, kRecordHeader + len));
    at += kRecordHeader + len;
  }
  return out;
}

enum Alteration {
  kFlipBit = 0,    // record a, bit b (of its bytes, mod their count)
  kFlipHeader,     // record a, bit b % 16 of its length
  kDuplicate,      // record a, a copy of it put before record b
  kSwap,           // records a and b
  kDrop,           // record a
  kCutStream,      // the stream cut at byte (a | b << 8) mod its length
  kAppend,         // 1 + a % 32 bytes b after everything
  kAlterations
};

void Alter(std::vector<std::string>* records, uint8_t kind, uint8_t a, uint8_t b) {
  std::vector<std::string>& r = *records;
  if (r.empty() && kind % kAlterations != kAppend) return;
  switch (kind % kAlterations) {
    case kFlipBit: {
      std::string& x = r[a % r.size()];
      if (x.empty()) return;
      const size_t bit = (size_t(b) * 8191 + a) % (8 * x.size());
      x[bit / 8] ^= char(1 << (bit % 8));
      break;
    }
    case kFlipHeader: {
      std::string& x = r[a % r.size()];
      if (x.size() >= kRecordHeader) x[(b % 16) / 8] ^= char(1 << (b % 8));
      break;
    }
    case kDuplicate: {
      const std::string copy = r[a % r.size()];
      r.insert(r.begin() + b % (r.size() + 1), copy);
      break;
    }
    case kSwap:
      std::swap(r[a % r.size()], r[b % r.size()]);
      break;
    case kDrop:
      r.erase(r.begin() + a % r.size());
      break;
    case kCutStream: {
      size_t total = 0;
      for (const std::string& x : r) total += x.size();
      if (total == 0) return;
      size_t at = (size_t(a) | size_t(b) << 8) % total;
      for (size_t i = 0; i < r.size(); ++i) {
        if (at < r[i].size()) {
          r[i].resize(at);
          r.resize(i + 1);
          break;
        }
        at -= r[i].size();
      }
      break;
    }
    case kAppend:
      r.push_back(std::string(1 + a % 32, char(b)));
      break;
  }
}

std::string AsFrames(const std::string& bytes, Random* random) {
  std::string frames;
  for (size_t done = 0; done < bytes.size();) {
    const size_t n = std::min(bytes.size() - done, random->Size(kMaxRecordPlain));
    AppendFrame(&frames, FrameType::kData, bytes.data() + done, n);
    done += n;
  }
  return frames;
}

void Built(const uint8_t* data, size_t size, const Setup& setup, Random* random) {
  if (size < 1) return;
  const size_t alterations = data[0] & 3;
  if (size < 1 + 3 * alterations) return;
  const uint8_t* ops = data + 1;
  std::string plain(reinterpret_cast<const char*>(ops + 3 * alterations),
                    size - 1 - 3 * alterations);
  if ((setup.flags & kStretch) != 0 && !plain.empty()) {
    const size_t want = (setup.flags & kSlowPeer) != 0 ? kSlowPeerPlain : kStretchedPlain;
    while (plain.size() < want) plain += plain;
  }
  // Through a Connection the plaintext travels as Data frames, so that an
  // untouched stream is frames that parse to the end.
  if ((setup.flags & kThroughConnection) != 0) plain = AsFrames(plain, random);
  const std::string wire = Seal(plain, setup, random);
  std::vector<std::string> records = Records(wire);
  // Data records of 1 to kMaxRecordPlain bytes, then the end.
  FUZZ_CHECK(!records.empty() && records.back().size() == kRecordHeader + kNoiseTagSize);
  for (size_t i = 0; i + 1 < records.size(); ++i) {
    FUZZ_CHECK(records[i].size() > kRecordHeader + kNoiseTagSize);
  }
  const Model genuine = Open(wire, setup.rekey);
  FUZZ_CHECK(genuine.clean_end && genuine.plain == plain);

  for (size_t i = 0; i < alterations; ++i) Alter(&records, ops[3 * i], ops[3 * i + 1], ops[3 * i + 2]);
  std::string altered;
  for (const std::string& r : records) altered += r;
  const bool clean = ReadAndCheck(altered, setup, random);
  // An untouched stream reads whole; any change is refused.
  FUZZ_CHECK(clean == (altered == wire));
}

// A genuine sealed stream of plain, for the seeds.
std::string SealedForSeed(const std::string& plain, uint64_t rekey) {
  Random random(1);
  return Seal(plain, Setup{0, rekey, 1, 7}, &random);
}

}  // namespace
}  // namespace treesync

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  using namespace treesync;
  // Genuine streams (raw mode: from them the fuzzer reaches records that
  // open), frames inside them for a Connection, and built inputs of each
  // alteration.
  std::string frames;
  AppendFrame(&frames, FrameType::kHello, std::string("hello"));
  AppendFrame(&frames, FrameType::kData, std::string(300, 'd'));
  AppendFrame(&frames, FrameType::kDone, std::string());
  const std::string text = "the quick brown fox jumps over the lazy dog";
  std::vector<std::string> seeds;
  for (uint8_t rekey_flag : {uint8_t(0), uint8_t(kSmallRekey)}) {
    const uint64_t rekey = rekey_flag != 0 ? kFuzzRekey : kRekeyRecords;
    const std::string head(1, char(rekey_flag));
    seeds.push_back(head + "\x05\x33" + SealedForSeed(text, rekey));
    seeds.push_back(std::string(1, char(rekey_flag | kAlreadyRead)) + "\x09\xff" +
                    SealedForSeed(text, rekey));
    seeds.push_back(std::string(1, char(rekey_flag | kThroughConnection)) + "\x07\x3f" +
                    SealedForSeed(frames, rekey));
    for (int kind = 0; kind < kAlterations; ++kind) {
      const char built = char(kBuilt | rekey_flag | (kind % 2 == 0 ? kStretch : 0));
      seeds.push_back(std::string(1, built) + "\x2a\x1c" + "\x01" + char(kind) + "\x05\x02" + text);
    }
    seeds.push_back(std::string(1, char(kBuilt | rekey_flag | kSlowPeer | kStretch)) + "\x2a\x1c" +
                    std::string(1, '\0') + text);
    seeds.push_back(std::string(1, char(kBuilt | rekey_flag | kThroughConnection)) + "\x2a\x1c" +
                    std::string(1, '\0') + text);
  }
  fuzz::SeedCorpus(argc, argv, seeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace treesync;
  if (size < 3) return 0;
  Setup setup;
  setup.flags = data[0];
  setup.rekey = (setup.flags & kSmallRekey) != 0 ? kFuzzRekey : kRekeyRecords;
  setup.max_chunk = size_t(4) << (data[2] & 15);
  setup.max_read = size_t(4) << (data[2] >> 4);
  Random random(data[1]);
  if ((setup.flags & kBuilt) != 0) {
    Built(data + 3, size - 3, setup, &random);
  } else {
    ReadAndCheck(std::string(reinterpret_cast<const char*>(data + 3), size - 3), setup, &random);
  }
  return 0;
}
