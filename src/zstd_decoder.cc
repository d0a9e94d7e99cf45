// Zstandard decoder written from RFC 8878 (and facebook/zstd's
// doc/zstd_compression_format.md, which it tracks).
//
// Memory: one window buffer, grown when a frame needs more, for Window_Size
// (or the content size when that is smaller) plus the output not yet taken
// plus one block plus wildcopy slack; one block of input (only when a block arrives
// cut); one block of literals; fixed entropy tables. Nothing else grows
// with the input.
//
// The window buffer is used linearly: each block is decoded at the end of
// what came before, so a match is one copy within the buffer. When a block
// no longer fits, the untaken output moves to the front and decoding goes
// on from there; what was decoded before stays where it was, and matches
// that reach back past the front read it from the end of that previous run
// (the "ext" segment). The buffer is large enough that the newer run never
// overwrites ext bytes that a match within the window may still need (see
// WrapIfNeeded).
#include "zstd_decoder.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "bits.h"
#include "little_endian.h"
#include "xxh64.h"
#include "zstd_format.h"

namespace treesync {

namespace {

using namespace zstd;  // NOLINT: the format's constants throughout

// Fast copies move 16 (or 8) bytes at a time and may write up to this many
// bytes past the end of what they copy, and read as far past their source.
// Every buffer they touch has this much room at its end.
constexpr size_t kSlack = 32;

// RFC 8878 4.2.1: Huffman codes are at most 11 bits.
constexpr unsigned kMaxHuffBits = 11;
constexpr size_t kHufTableSize = size_t(1) << kMaxHuffBits;
// Weights for at most 255 symbols are sent; the 256th is inferred.
constexpr size_t kMaxWeights = 255;
// RFC 8878 4.2.1.2: the FSE table for Huffman weights has accuracy <= 6.
constexpr unsigned kMaxWeightLog = 6;

// The sequence tables by symbol type, in the order of RFC 8878's
// Symbol_Compression_Modes fields' use below.
enum SeqType { kLiteralLength = 0, kOffset = 1, kMatchLength = 2 };
constexpr unsigned kSeqMaxLog[3] = {zstd::kLiteralLengthMaxLog, zstd::kOffsetMaxLog,
                                    zstd::kMatchLengthMaxLog};
constexpr unsigned kSeqMaxCode[3] = {zstd::kMaxLiteralLengthCode, zstd::kMaxOffsetCode,
                                     zstd::kMaxMatchLengthCode};
constexpr size_t kSeqTableCells = 512;  // 1 << the largest of kSeqMaxLog
constexpr unsigned kDefaultLog[3] = {zstd::kDefaultLiteralLengthLog, zstd::kDefaultOffsetLog,
                                     zstd::kDefaultMatchLengthLog};

Status Corrupt(const char* what) {
  return Status::Protocol(std::string("compressed stream: ") + what);
}

// ---- Little-endian loads ----------------------------------------------------

inline uint64_t Load64(const uint8_t* p) { return LoadLE64(p); }
inline uint32_t Load32(const uint8_t* p) { return LoadLE32(p); }
inline uint32_t Load16(const uint8_t* p) { return LoadLE16(p); }


// ---- Copies -------------------------------------------------------------

// n bytes in 16-byte steps (at least one): writes up to 16 bytes past
// d + n and reads as far past s + n. If the ranges overlap, s must be at
// least 16 bytes before d, so each step reads only bytes already final.
inline void WildCopy16(uint8_t* d, const uint8_t* s, size_t n) {
  uint8_t* const end = d + n;
  do {
    std::memcpy(d, s, 16);
    d += 16;
    s += 16;
  } while (d < end);
}

// A match of len bytes from offset (>= 1) bytes back, which may overlap
// what it writes (offset < len repeats the last offset bytes). Writes up to
// 16 bytes past op + len.
inline void CopyMatch(uint8_t* op, size_t offset, size_t len) {
  const uint8_t* m = op - offset;
  if (offset >= 16) {
    WildCopy16(op, m, len);
    return;
  }
  uint8_t* const end = op + len;
  size_t step = offset;
  if (offset < 8) {
    // Byte by byte for the first 8, after which the output is periodic
    // with period offset, so any multiple of it is a valid distance too:
    // the smallest one >= 8 lets the rest go 8 bytes at a time.
    for (int i = 0; i < 8; ++i) op[i] = m[i];
    op += 8;
    step = (8 + offset - 1) / offset * offset;
  }
  while (op < end) {
    std::memcpy(op, op - step, 8);
    op += 8;
  }
}

// ---- Backward bitstream (RFC 8878 4.1) ----------------------------------

// Reads a stream written forwards and read from its end: the last byte
// holds a 1 bit above the first bit to read. Bits come off the top of a
// 64-bit window loaded from the stream; `consumed` counts the window's bits
// used. Reading past the stream's start yields garbage and drives
// consumed past 64 (overflow), which Finished() reports; shifts are masked
// so that is never undefined behaviour.
struct BitReader {
  const uint8_t* start;
  const uint8_t* ptr;  // where `bits` was loaded from
  uint64_t bits;
  unsigned consumed;

  // False if the stream is empty or its last byte has no end marker.
  bool Init(const uint8_t* p, size_t n) {
    if (n == 0 || p[n - 1] == 0) return false;
    start = p;
    if (n >= 8) {
      ptr = p + n - 8;
      bits = Load64(ptr);
      consumed = 0;
    } else {
      // Short streams sit at the bottom of the window; the empty top
      // counts as consumed.
      ptr = p;
      bits = 0;
      for (size_t i = 0; i < n; ++i) bits |= uint64_t{p[i]} << (8 * i);
      consumed = static_cast<unsigned>(8 * (8 - n));
    }
    consumed += 8 - HighBit(p[n - 1]);
    return true;
  }

  // nb in [0, 57]; at least nb bits must be in the window for the value to
  // be meaningful.
  uint64_t Read(unsigned nb) {
    const uint64_t v = ((bits << (consumed & 63)) >> 1) >> ((63 - nb) & 63);
    consumed += nb;
    return v;
  }

  // Refills the window when at least 8 bytes remain before it, leaving at
  // least 57 unread bits in it; returns false (doing nothing) otherwise.
  bool ReloadFast() {
    if (ptr < start + 8) return false;
    ptr -= consumed >> 3;
    consumed &= 7;
    bits = Load64(ptr);
    return true;
  }

  // Refills as far as the stream allows: afterwards the window holds at
  // least 57 unread bits or all that remain. Returns false once overflowed.
  bool Reload() {
    if (consumed > 64) return false;
    if (ReloadFast()) return true;
    if (ptr == start) return true;
    // Fewer than 8 bytes before the window: step back only as far as the
    // start (such streams are >= 8 bytes long, so the load stays inside).
    size_t back = consumed >> 3;
    const size_t room = static_cast<size_t>(ptr - start);
    if (back > room) back = room;
    ptr -= back;
    consumed -= static_cast<unsigned>(8 * back);
    bits = Load64(ptr);
    return true;
  }

  // Every bit read, and none past the start.
  bool Finished() const { return ptr == start && consumed == 64; }
};

// ---- FSE tables (RFC 8878 4.1.1) ----------------------------------------

struct FseCell {
  uint16_t next;  // state base: the next state is next + Read(bits)
  uint8_t symbol;
  uint8_t bits;
};

// Reads the table descriptions' fields, least significant bit first.
class ForwardBits {
 public:
  ForwardBits(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  // nb <= 16. False if the field runs past the end.
  bool Read(unsigned nb, uint32_t* v) {
    if (pos_ + nb > 8 * n_) return false;
    const size_t byte = pos_ >> 3;
    uint32_t w = 0;
    for (size_t k = 0; k < 4 && byte + k < n_; ++k) w |= uint32_t{p_[byte + k]} << (8 * k);
    *v = (w >> (pos_ & 7)) & ((uint32_t{1} << nb) - 1);
    pos_ += nb;
    return true;
  }
  size_t bytes_used() const { return (pos_ + 7) / 8; }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
};

// Parses an FSE table description (normalized counts) from src. norm gets
// max_symbol + 1 entries (-1 for "less than 1" probabilities); *symbols is
// one past the last symbol described.
Status ReadNormalizedCounts(const uint8_t* src, size_t n, unsigned max_symbol, unsigned max_log,
                            int16_t* norm, unsigned* symbols, unsigned* log, size_t* used) {
  ForwardBits in(src, n);
  const Status truncated = Corrupt("FSE table description runs past its section");
  uint32_t v;
  if (!in.Read(4, &v)) return truncated;
  const unsigned accuracy = v + 5;
  if (accuracy > max_log) return Corrupt("FSE table accuracy log too large");
  std::fill(norm, norm + max_symbol + 1, int16_t{0});
  // `remaining` is the probability still to hand out, plus one; each value
  // is read with just enough bits to encode 0..remaining.
  int remaining = (1 << accuracy) + 1;
  int threshold = 1 << accuracy;
  unsigned nbits = accuracy + 1;
  unsigned sym = 0;
  bool previous_zero = false;
  for (;;) {
    if (previous_zero) {
      // 2-bit repeat fields: each 3 means three more zeros and another field.
      uint32_t r;
      do {
        if (!in.Read(2, &r)) return truncated;
        sym += r;
      } while (r == 3);
      if (sym > max_symbol) return Corrupt("FSE table describes too many symbols");
    }
    const int max = 2 * threshold - 1 - remaining;
    uint32_t low;
    if (!in.Read(nbits - 1, &low)) return truncated;
    int count;
    if (static_cast<int>(low) < max) {
      count = static_cast<int>(low);
    } else {
      uint32_t high;
      if (!in.Read(1, &high)) return truncated;
      count = static_cast<int>(low + (high << (nbits - 1)));
      if (count >= threshold) count -= max;
    }
    --count;
    remaining -= count < 0 ? -count : count;
    norm[sym++] = static_cast<int16_t>(count);
    previous_zero = count == 0;
    if (remaining < threshold) {
      if (remaining <= 1) break;
      nbits = HighBit(static_cast<uint32_t>(remaining)) + 1;
      threshold = 1 << (nbits - 1);
    }
    if (sym > max_symbol) break;
  }
  if (remaining != 1) return Corrupt("FSE table probabilities do not add up");
  *symbols = sym;
  *log = accuracy;
  *used = in.bytes_used();
  return Status::Ok();
}

// Lays out the decoding table for norm[0..symbols) (which must add up to
// 1 << log, as ReadNormalizedCounts checks) as the RFC's spread prescribes.
void BuildFseTable(const int16_t* norm, unsigned symbols, unsigned log, FseCell* cells) {
  const uint32_t size = uint32_t{1} << log;
  int high = static_cast<int>(size) - 1;
  uint16_t next[256];
  for (unsigned s = 0; s < symbols; ++s) {
    if (norm[s] == -1) {
      cells[high--].symbol = static_cast<uint8_t>(s);
      next[s] = 1;
    } else {
      next[s] = static_cast<uint16_t>(norm[s]);
    }
  }
  const uint32_t step = (size >> 1) + (size >> 3) + 3;
  const uint32_t mask = size - 1;
  uint32_t pos = 0;
  for (unsigned s = 0; s < symbols; ++s) {
    for (int i = 0; i < norm[s]; ++i) {
      cells[pos].symbol = static_cast<uint8_t>(s);
      // The step is odd, so this visits every cell; the top cells hold
      // the "less than 1" symbols.
      do {
        pos = (pos + step) & mask;
      } while (static_cast<int>(pos) > high);
    }
  }
  for (uint32_t u = 0; u < size; ++u) {
    const uint32_t x = next[cells[u].symbol]++;
    const unsigned bits = log - HighBit(x);
    cells[u].bits = static_cast<uint8_t>(bits);
    cells[u].next = static_cast<uint16_t>((x << bits) - size);
  }
}

// ---- Huffman literals (RFC 8878 4.2) ---------------------------------------

struct HufEntry {
  uint8_t symbol;
  uint8_t bits;
};

// Decodes the FSE-compressed Huffman weights: two states take turns on one
// bitstream until it runs out.
Status ReadFseWeights(const uint8_t* src, size_t n, uint8_t* weights, size_t* count) {
  int16_t norm[256];
  unsigned symbols, log;
  size_t used;
  TS_RETURN_IF_ERROR(ReadNormalizedCounts(src, n, 255, kMaxWeightLog, norm, &symbols, &log, &used));
  FseCell cells[1 << kMaxWeightLog];
  BuildFseTable(norm, symbols, log, cells);
  BitReader br;
  if (!br.Init(src + used, n - used)) return Corrupt("bad Huffman weights bitstream");
  uint32_t s1 = static_cast<uint32_t>(br.Read(log));
  br.Reload();
  uint32_t s2 = static_cast<uint32_t>(br.Read(log));
  if (!br.Reload()) return Corrupt("bad Huffman weights bitstream");
  auto decode = [&](uint32_t* state) {
    const FseCell c = cells[*state];
    *state = c.next + static_cast<uint32_t>(br.Read(c.bits));
    return c.symbol;
  };
  // After a symbol whose state update would need bits the stream does not
  // have, the other state gives one last symbol.
  size_t k = 0;
  for (;;) {
    if (k + 2 > kMaxWeights) return Corrupt("too many Huffman weights");
    weights[k++] = decode(&s1);
    if (!br.Reload()) {
      weights[k++] = decode(&s2);
      break;
    }
    if (k + 2 > kMaxWeights) return Corrupt("too many Huffman weights");
    weights[k++] = decode(&s2);
    if (!br.Reload()) {
      weights[k++] = decode(&s1);
      break;
    }
  }
  *count = k;
  return Status::Ok();
}

// Reads a Huffman tree description and builds its single-lookup decoding
// table: the next max_bits bits of a stream index an entry giving the
// symbol and its code length.
Status ReadHuffmanTable(const uint8_t* src, size_t n, HufEntry* table, unsigned* max_bits,
                        size_t* used) {
  if (n == 0) return Corrupt("missing Huffman tree description");
  uint8_t weights[kMaxWeights + 1];
  size_t nw = 0;
  const unsigned header = src[0];
  if (header >= 128) {
    nw = header - 127;
    const size_t bytes = (nw + 1) / 2;
    if (bytes > n - 1) return Corrupt("Huffman tree description runs past the literals");
    for (size_t i = 0; i < nw; ++i) {
      const uint8_t b = src[1 + i / 2];
      weights[i] = static_cast<uint8_t>(i % 2 == 0 ? b >> 4 : b & 15);
    }
    *used = 1 + bytes;
  } else {
    if (header > n - 1) return Corrupt("Huffman tree description runs past the literals");
    TS_RETURN_IF_ERROR(ReadFseWeights(src + 1, header, weights, &nw));
    *used = 1 + header;
  }

  uint32_t count[kMaxHuffBits + 2] = {};
  uint32_t total = 0;
  for (size_t i = 0; i < nw; ++i) {
    if (weights[i] > kMaxHuffBits) return Corrupt("Huffman code longer than 11 bits");
    ++count[weights[i]];
    total += (uint32_t{1} << weights[i]) >> 1;
  }
  if (total == 0) return Corrupt("Huffman weights are all zero");
  const unsigned bits = HighBit(total) + 1;
  if (bits > kMaxHuffBits) return Corrupt("Huffman code longer than 11 bits");
  // The last symbol's weight is what makes the code complete, which needs
  // the gap to be a power of two.
  const uint32_t rest = (uint32_t{1} << bits) - total;
  if ((rest & (rest - 1)) != 0) return Corrupt("Huffman weights do not form a complete code");
  const unsigned last = HighBit(rest) + 1;
  weights[nw] = static_cast<uint8_t>(last);
  ++count[last];
  // A complete code has an even number (>= 2) of longest codes; the
  // reference decoder refuses the degenerate trees that break this too.
  if (count[1] < 2 || (count[1] & 1) != 0) {
    return Corrupt("Huffman weights do not form a complete code");
  }
  // Codes are assigned from the longest (weight 1) up, in symbol order
  // within a weight; a weight-w symbol covers 2^(w-1) table entries.
  uint32_t next[kMaxHuffBits + 2];
  uint32_t at = 0;
  for (unsigned w = 1; w <= bits; ++w) {
    next[w] = at;
    at += count[w] << (w - 1);
  }
  for (size_t s = 0; s <= nw; ++s) {
    const unsigned w = weights[s];
    if (w == 0) continue;
    const HufEntry e{static_cast<uint8_t>(s), static_cast<uint8_t>(bits + 1 - w)};
    const uint32_t len = uint32_t{1} << (w - 1);
    std::fill(table + next[w], table + next[w] + len, e);
    next[w] += len;
  }
  *max_bits = bits;
  return Status::Ok();
}

inline uint8_t HufDecode(BitReader* br, const HufEntry* table, unsigned shift) {
  const HufEntry e = table[(br->bits << (br->consumed & 63)) >> shift];
  br->consumed += e.bits;
  return e.symbol;
}

// Symbols decoded between reloads in the fast loops: a reload leaves >= 57
// bits, and 5 codes take at most 55.
constexpr int kHufBurst = 5;

// The tail of one stream, one symbol per reload.
inline void HufDecodeTail(BitReader* br, const HufEntry* table, unsigned shift, uint8_t* op,
                          uint8_t* end) {
  while (op < end) {
    br->Reload();
    *op++ = HufDecode(br, table, shift);
  }
}

bool DecodeHuffman1(const HufEntry* table, unsigned max_bits, const uint8_t* src, size_t n,
                    uint8_t* out, size_t count) {
  BitReader br;
  if (!br.Init(src, n)) return false;
  const unsigned shift = 64 - max_bits;
  uint8_t* op = out;
  uint8_t* const end = out + count;
  // Init leaves at least 56 bits in the window, enough for the first burst.
  while (end - op >= kHufBurst) {
    for (int i = 0; i < kHufBurst; ++i) op[i] = HufDecode(&br, table, shift);
    op += kHufBurst;
    if (!br.ReloadFast()) break;
  }
  HufDecodeTail(&br, table, shift, op, end);
  return br.Finished();
}

// Four streams after a 6-byte jump table of the first three's sizes; each
// decodes a quarter (rounded up) of the literals, the last one the rest.
bool DecodeHuffman4(const HufEntry* table, unsigned max_bits, const uint8_t* src, size_t n,
                    uint8_t* out, size_t count) {
  if (n < 10) return false;
  const size_t n1 = Load16(src), n2 = Load16(src + 2), n3 = Load16(src + 4);
  if (n1 + n2 + n3 + 6 > n) return false;
  const size_t n4 = n - 6 - n1 - n2 - n3;
  const uint8_t* const s1 = src + 6;
  BitReader b1, b2, b3, b4;
  if (!b1.Init(s1, n1) || !b2.Init(s1 + n1, n2) || !b3.Init(s1 + n1 + n2, n3) ||
      !b4.Init(s1 + n1 + n2 + n3, n4)) {
    return false;
  }
  const size_t seg = (count + 3) / 4;  // count >= 6, so 3 * seg <= count
  uint8_t* o1 = out;
  uint8_t* o2 = out + seg;
  uint8_t* o3 = out + 2 * seg;
  uint8_t* o4 = out + 3 * seg;
  uint8_t* const end4 = out + count;
  const unsigned shift = 64 - max_bits;
  // The fourth segment is the shortest, so its room bounds all four.
  while (end4 - o4 >= kHufBurst) {
    for (int i = 0; i < kHufBurst; ++i) {
      o1[i] = HufDecode(&b1, table, shift);
      o2[i] = HufDecode(&b2, table, shift);
      o3[i] = HufDecode(&b3, table, shift);
      o4[i] = HufDecode(&b4, table, shift);
    }
    o1 += kHufBurst;
    o2 += kHufBurst;
    o3 += kHufBurst;
    o4 += kHufBurst;
    const bool r1 = b1.ReloadFast(), r2 = b2.ReloadFast(), r3 = b3.ReloadFast(),
               r4 = b4.ReloadFast();
    if (!(r1 && r2 && r3 && r4)) break;
  }
  HufDecodeTail(&b1, table, shift, o1, out + seg);
  HufDecodeTail(&b2, table, shift, o2, out + 2 * seg);
  HufDecodeTail(&b3, table, shift, o3, out + 3 * seg);
  HufDecodeTail(&b4, table, shift, o4, end4);
  return b1.Finished() && b2.Finished() && b3.Finished() && b4.Finished();
}

// ---- Sequences (RFC 8878 3.1.1.3.2) ----------------------------------------

// One state of a literal length, offset or match length table, with its
// code's baseline and extra bits folded in.
struct SeqCell {
  uint16_t next;
  uint8_t state_bits;
  uint8_t extra_bits;
  uint32_t base;
};

// One decoded sequence, its offset already resolved (never a repeat code).
struct Sequence {
  size_t literal_length;
  size_t match_length;
  size_t offset;
};

struct SeqTable {
  unsigned log = 0;
  SeqCell cells[kSeqTableCells];
};

void CodeValue(SeqType type, unsigned code, uint32_t* base, uint8_t* extra) {
  switch (type) {
    case kLiteralLength:
      *base = kLiteralLengthBase[code];
      *extra = kLiteralLengthBits[code];
      break;
    case kMatchLength:
      *base = kMatchLengthBase[code];
      *extra = kMatchLengthBits[code];
      break;
    case kOffset:
      // Offset_Value = (1 << code) + code extra bits.
      *base = uint32_t{1} << code;
      *extra = static_cast<uint8_t>(code);
      break;
  }
}

void BuildSeqTable(SeqType type, const int16_t* norm, unsigned symbols, unsigned log, SeqTable* t) {
  FseCell cells[kSeqTableCells];
  BuildFseTable(norm, symbols, log, cells);
  t->log = log;
  for (size_t u = 0; u < (size_t{1} << log); ++u) {
    SeqCell& c = t->cells[u];
    c.next = cells[u].next;
    c.state_bits = cells[u].bits;
    CodeValue(type, cells[u].symbol, &c.base, &c.extra_bits);
  }
}

}  // namespace

// ---- Decoder state ----------------------------------------------------------

struct ZstdDecoder::State {
  explicit State(size_t max_window_in);

  Status Feed(const uint8_t* in, size_t n, size_t* used);
  // One step of the input state machine on in[0..n) (n > 0); *took says
  // how many bytes it consumed.
  Status Step(const uint8_t* in, size_t n, size_t* took);
  // Appends up to `need` bytes to hdr_; returns how many it took.
  size_t Gather(const uint8_t* in, size_t n, size_t need);
  Status CheckMagicPrefix() const;
  Status BeginFrame();
  Status BeginBlock();
  Status DecodeBlock(const uint8_t* src, size_t n);
  void WrapIfNeeded();
  Status DecodeCompressed(const uint8_t* src, size_t n, uint8_t* dst, size_t limit,
                          size_t* produced);
  Status DecodeLiterals(const uint8_t* src, size_t n, size_t limit, size_t* used, size_t* lit_size);
  Status LoadSeqTable(SeqType type, unsigned mode, const uint8_t* src, size_t n, size_t* at);
  Status DecodeSequences(const uint8_t* src, size_t n, size_t lit_size, uint8_t* dst, size_t limit,
                         size_t* produced);

  enum class Stage {
    kMagic,
    kSkipSize,
    kSkipBody,
    kFrameHeader,
    kBlockHeader,
    kBlockBody,
    kChecksum
  };
  enum BlockType { kRawBlock = 0, kRleBlock = 1, kCompressedBlock = 2 };

  const size_t max_window;
  Status error;
  Stage stage = Stage::kMagic;
  // Fixed-size pieces (magic, frame and block headers, checksum) gather here.
  uint8_t hdr[18];
  size_t hdr_len = 0;
  size_t hdr_need = 0;
  uint64_t skip_left = 0;

  // The frame under way.
  uint64_t window = 0;   // Window_Size (the content size for single-segment frames)
  size_t block_max = 0;  // Block_Maximum_Size
  bool has_content_size = false;
  uint64_t content_size = 0;
  uint64_t frame_decoded = 0;
  bool has_checksum = false;
  Xxh64Hasher hasher;

  // The block under way.
  bool last_block = false;
  BlockType block_type = kRawBlock;
  size_t block_size = 0;        // Block_Size from the header
  size_t block_need = 0;        // bytes of block content to read
  std::vector<uint8_t> in_buf;  // a block that arrived cut
  size_t in_len = 0;

  // Decoded data: output not yet taken is [taken, pos); the frame's
  // history is [0, pos) preceded by [0, ext_end) of the previous run.
  std::vector<uint8_t> buf;
  size_t pos = 0;
  size_t taken = 0;
  size_t ext_end = 0;

  std::vector<uint8_t> lits;  // kMaxBlock + kSlack once a compressed block comes

  // Entropy state carried from block to block within a frame.
  bool has_huffman = false;
  unsigned huf_bits = 0;
  HufEntry huf[kHufTableSize];
  bool has_seq_tables = false;
  const SeqTable* seq_table[3] = {nullptr, nullptr, nullptr};
  SeqTable seq_own[3];
  SeqTable seq_default[3];
  size_t rep[3] = {1, 4, 8};
};

ZstdDecoder::State::State(size_t max_window_in) : max_window(max_window_in) {
  const int16_t* norms[3] = {kDefaultLiteralLengthNorm, kDefaultOffsetNorm,
                             kDefaultMatchLengthNorm};
  const unsigned symbols[3] = {36, 29, 53};
  for (int t = 0; t < 3; ++t) {
    BuildSeqTable(static_cast<SeqType>(t), norms[t], symbols[t], kDefaultLog[t], &seq_default[t]);
  }
}

Status ZstdDecoder::State::Feed(const uint8_t* in, size_t n, size_t* used) {
  size_t done = 0;
  Status s;
  // The untaken-output check comes first so a block is only decoded with
  // less than kMaxBlock pending, which WrapIfNeeded's sizing relies on.
  while (done < n && pos - taken < kMaxBlock) {
    const bool between = stage == Stage::kMagic && hdr_len == 0;
    size_t took = 0;
    s = Step(in + done, n - done, &took);
    done += took;
    if (!s.ok()) break;
    if (!between && stage == Stage::kMagic && hdr_len == 0) break;  // a frame's end
  }
  *used = done;
  return s;
}

size_t ZstdDecoder::State::Gather(const uint8_t* in, size_t n, size_t need) {
  const size_t k = std::min(n, need - hdr_len);
  std::memcpy(hdr + hdr_len, in, k);
  hdr_len += k;
  return k;
}

// Fails as soon as the bytes so far cannot begin any frame, so garbage is
// reported rather than waited on.
Status ZstdDecoder::State::CheckMagicPrefix() const {
  uint8_t b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<uint8_t>(kFrameMagic >> (8 * i));
  std::memcpy(b, hdr, hdr_len);
  if (Load32(b) == kFrameMagic) return Status::Ok();
  for (int i = 0; i < 4; ++i) b[i] = static_cast<uint8_t>(kSkippableMagic >> (8 * i));
  std::memcpy(b, hdr, hdr_len);
  if ((Load32(b) & kSkippableMask) == kSkippableMagic) return Status::Ok();
  return Corrupt("not a zstd frame (bad magic number)");
}

Status ZstdDecoder::State::Step(const uint8_t* in, size_t n, size_t* took) {
  switch (stage) {
    case Stage::kMagic: {
      *took = Gather(in, n, 4);
      TS_RETURN_IF_ERROR(CheckMagicPrefix());
      if (hdr_len < 4) return Status::Ok();
      const bool frame = Load32(hdr) == kFrameMagic;
      hdr_len = 0;
      stage = frame ? Stage::kFrameHeader : Stage::kSkipSize;
      return Status::Ok();
    }
    case Stage::kSkipSize:
      *took = Gather(in, n, 4);
      if (hdr_len < 4) return Status::Ok();
      skip_left = Load32(hdr);
      hdr_len = 0;
      stage = skip_left > 0 ? Stage::kSkipBody : Stage::kMagic;
      return Status::Ok();
    case Stage::kSkipBody: {
      const size_t k = static_cast<size_t>(std::min<uint64_t>(n, skip_left));
      *took = k;
      skip_left -= k;
      if (skip_left == 0) stage = Stage::kMagic;
      return Status::Ok();
    }
    case Stage::kFrameHeader: {
      if (hdr_len == 0) {
        // The descriptor byte fixes the header's length.
        const uint8_t fhd = in[0];
        const bool single = (fhd & 0x20) != 0;
        static const size_t kDictIdSize[4] = {0, 1, 2, 4};
        static const size_t kContentSizeSize[4] = {0, 2, 4, 8};
        const unsigned fcs_flag = fhd >> 6;
        hdr_need = 1 + (single ? 0 : 1) + kDictIdSize[fhd & 3] +
                   (fcs_flag == 0 ? (single ? 1 : 0) : kContentSizeSize[fcs_flag]);
      }
      *took = Gather(in, n, hdr_need);
      if (hdr_len < hdr_need) return Status::Ok();
      hdr_len = 0;
      TS_RETURN_IF_ERROR(BeginFrame());
      stage = Stage::kBlockHeader;
      return Status::Ok();
    }
    case Stage::kBlockHeader:
      *took = Gather(in, n, 3);
      if (hdr_len < 3) return Status::Ok();
      hdr_len = 0;
      return BeginBlock();
    case Stage::kBlockBody: {
      if (in_len == 0 && n >= block_need) {
        // Whole in the caller's input: decode it from there.
        *took = block_need;
        return DecodeBlock(in, block_need);
      }
      if (in_buf.size() < block_need) in_buf.resize(std::max(block_need, block_max));
      const size_t k = std::min(n, block_need - in_len);
      std::memcpy(in_buf.data() + in_len, in, k);
      in_len += k;
      *took = k;
      if (in_len < block_need) return Status::Ok();
      in_len = 0;
      return DecodeBlock(in_buf.data(), block_need);
    }
    case Stage::kChecksum: {
      *took = Gather(in, n, 4);
      if (hdr_len < 4) return Status::Ok();
      hdr_len = 0;
      if (Load32(hdr) != static_cast<uint32_t>(hasher.Digest())) {
        return Corrupt("content checksum mismatch");
      }
      stage = Stage::kMagic;
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status ZstdDecoder::State::BeginFrame() {
  const uint8_t fhd = hdr[0];
  if ((fhd & 0x08) != 0) return Corrupt("reserved bit set in frame header");
  const bool single = (fhd & 0x20) != 0;
  size_t at = 1;
  uint64_t win = 0;
  if (!single) {
    const uint8_t wd = hdr[at++];
    win = uint64_t{1} << (10 + (wd >> 3));
    win += (win >> 3) * (wd & 7);
  }
  uint32_t dict_id = 0;
  switch (fhd & 3) {
    case 1:
      dict_id = hdr[at];
      at += 1;
      break;
    case 2:
      dict_id = Load16(hdr + at);
      at += 2;
      break;
    case 3:
      dict_id = Load32(hdr + at);
      at += 4;
      break;
    default:
      break;
  }
  bool has_fcs = true;
  uint64_t fcs = 0;
  switch (fhd >> 6) {
    case 0:
      if (single) {
        fcs = hdr[at];
      } else {
        has_fcs = false;
      }
      break;
    case 1:
      fcs = Load16(hdr + at) + 256;
      break;
    case 2:
      fcs = Load32(hdr + at);
      break;
    default:
      fcs = Load32(hdr + at) | (uint64_t{Load32(hdr + at + 4)} << 32);
      break;
  }
  if (dict_id != 0) {
    return Status::Protocol("compressed stream: frame needs dictionary " + std::to_string(dict_id) +
                            ", which is not supported");
  }
  if (single) win = fcs;
  if (win > max_window) {
    return Status::Protocol("compressed stream: frame window of " + std::to_string(win) +
                            " bytes is larger than the limit of " + std::to_string(max_window));
  }
  window = win;
  block_max = static_cast<size_t>(std::min<uint64_t>(win, kMaxBlock));
  has_content_size = has_fcs;
  content_size = fcs;
  has_checksum = (fhd & 0x04) != 0;
  frame_decoded = 0;
  hasher.Reset();
  has_huffman = false;
  has_seq_tables = false;
  rep[0] = 1;
  rep[1] = 4;
  rep[2] = 8;

  // History never exceeds the content size, so a smaller declared content
  // needs less buffer. The room: the window, the output not yet taken
  // (< kMaxBlock when a block starts), one block and the slack, twice
  // over (see WrapIfNeeded).
  const size_t history = static_cast<size_t>(has_fcs ? std::min(win, fcs) : win);
  const size_t need = history + kMaxBlock + block_max + 2 * kSlack;
  const size_t untaken = pos - taken;
  if (buf.size() < need) {
    std::vector<uint8_t> bigger(need);
    if (untaken > 0) std::memcpy(bigger.data(), buf.data() + taken, untaken);
    buf.swap(bigger);
    taken = 0;
    pos = untaken;
  } else if (untaken == 0) {
    taken = pos = 0;
  }
  ext_end = 0;
  return Status::Ok();
}

Status ZstdDecoder::State::BeginBlock() {
  const uint32_t v = uint32_t{hdr[0]} | (uint32_t{hdr[1]} << 8) | (uint32_t{hdr[2]} << 16);
  last_block = (v & 1) != 0;
  const unsigned type = (v >> 1) & 3;
  block_size = v >> 3;
  if (type == 3) return Corrupt("reserved block type");
  if (block_size > block_max) {
    return Status::Protocol("compressed stream: block of " + std::to_string(block_size) +
                            " bytes is larger than the frame's maximum of " +
                            std::to_string(block_max));
  }
  block_type = static_cast<BlockType>(type);
  block_need = block_type == kRleBlock ? 1 : block_size;
  stage = Stage::kBlockBody;
  if (block_need == 0) return DecodeBlock(nullptr, 0);
  return Status::Ok();
}

// Makes room for one block (plus slack) after pos. When there is none, the
// untaken output (u < kMaxBlock bytes) moves to the front and the old run
// [0, taken) becomes the ext segment. Why the new run cannot overwrite ext
// bytes still needed: with H the history size the buffer was sized for,
// the move happens only when pos > buf.size() - block_max - kSlack, which
// is at least H + kMaxBlock + kSlack, so ext_end = pos - u > H + kSlack.
// Writing at position x (plus kSlack of wildcopy) while the window reaches
// back to ext position ext_end - (H - x) > x + kSlack never meets it.
void ZstdDecoder::State::WrapIfNeeded() {
  if (pos + block_max + kSlack <= buf.size()) return;
  const size_t untaken = pos - taken;
  std::memmove(buf.data(), buf.data() + taken, untaken);
  ext_end = taken;
  taken = 0;
  pos = untaken;
}

Status ZstdDecoder::State::DecodeBlock(const uint8_t* src, size_t n) {
  WrapIfNeeded();
  uint8_t* const dst = buf.data() + pos;
  size_t limit = block_max;
  if (has_content_size)
    limit = static_cast<size_t>(std::min<uint64_t>(limit, content_size - frame_decoded));
  size_t produced = 0;
  switch (block_type) {
    case kRawBlock:
      if (n > limit) return Corrupt("frame content larger than its declared size");
      if (n > 0) std::memcpy(dst, src, n);
      produced = n;
      break;
    case kRleBlock:
      if (block_size > limit) return Corrupt("frame content larger than its declared size");
      std::memset(dst, src[0], block_size);
      produced = block_size;
      break;
    case kCompressedBlock:
      TS_RETURN_IF_ERROR(DecodeCompressed(src, n, dst, limit, &produced));
      break;
  }
  if (has_checksum) hasher.Update(dst, produced);
  pos += produced;
  frame_decoded += produced;
  if (!last_block) {
    stage = Stage::kBlockHeader;
    return Status::Ok();
  }
  if (has_content_size && frame_decoded != content_size) {
    return Corrupt("frame content shorter than its declared size");
  }
  stage = has_checksum ? Stage::kChecksum : Stage::kMagic;
  return Status::Ok();
}

Status ZstdDecoder::State::DecodeCompressed(const uint8_t* src, size_t n, uint8_t* dst,
                                            size_t limit, size_t* produced) {
  if (lits.empty()) lits.resize(kMaxBlock + kSlack);
  size_t used = 0;
  size_t lit_size = 0;
  TS_RETURN_IF_ERROR(DecodeLiterals(src, n, limit, &used, &lit_size));
  return DecodeSequences(src + used, n - used, lit_size, dst, limit, produced);
}

Status ZstdDecoder::State::DecodeLiterals(const uint8_t* src, size_t n, size_t limit, size_t* used,
                                          size_t* lit_size) {
  if (n == 0) return Corrupt("empty compressed block");
  const unsigned type = src[0] & 3;
  const unsigned size_format = (src[0] >> 2) & 3;
  uint8_t* const out = lits.data();
  if (type <= 1) {  // Raw or RLE
    size_t hs, size;
    if (size_format == 1) {
      hs = 2;
    } else if (size_format == 3) {
      hs = 3;
    } else {
      hs = 1;
    }
    if (n < hs) return Corrupt("truncated literals header");
    if (hs == 1) {
      size = src[0] >> 3;
    } else if (hs == 2) {
      size = Load16(src) >> 4;
    } else {
      size = (Load16(src) | (uint32_t{src[2]} << 16)) >> 4;
    }
    if (size > limit) return Corrupt("literals larger than the block");
    if (type == 0) {
      if (size > n - hs) return Corrupt("raw literals run past the block");
      std::memcpy(out, src + hs, size);
      *used = hs + size;
    } else {
      if (n - hs < 1) return Corrupt("RLE literals run past the block");
      std::memset(out, src[hs], size);
      *used = hs + 1;
    }
    *lit_size = size;
    return Status::Ok();
  }

  // Huffman-coded, with a new tree (2) or the previous one (3, treeless).
  size_t hs;
  unsigned bits;
  const bool four = size_format != 0;
  if (size_format <= 1) {
    hs = 3;
    bits = 10;
  } else if (size_format == 2) {
    hs = 4;
    bits = 14;
  } else {
    hs = 5;
    bits = 18;
  }
  if (n < hs) return Corrupt("truncated literals header");
  uint64_t v = 0;
  for (size_t i = 0; i < hs; ++i) v |= uint64_t{src[i]} << (8 * i);
  const uint64_t mask = (uint64_t{1} << bits) - 1;
  const size_t regen = static_cast<size_t>((v >> 4) & mask);
  const size_t csize = static_cast<size_t>((v >> (4 + bits)) & mask);
  if (regen > limit) return Corrupt("literals larger than the block");
  if (four && regen < 6) return Corrupt("too few literals for four Huffman streams");
  if (csize > n - hs) return Corrupt("Huffman literals run past the block");
  const uint8_t* data = src + hs;
  size_t dsize = csize;
  if (type == 2) {
    size_t tsize = 0;
    TS_RETURN_IF_ERROR(ReadHuffmanTable(data, dsize, huf, &huf_bits, &tsize));
    has_huffman = true;
    data += tsize;
    dsize -= tsize;
  } else if (!has_huffman) {
    return Corrupt("treeless literals with no previous Huffman table");
  }
  const bool ok = four ? DecodeHuffman4(huf, huf_bits, data, dsize, out, regen)
                       : DecodeHuffman1(huf, huf_bits, data, dsize, out, regen);
  if (!ok) return Corrupt("bad Huffman literals bitstream");
  *used = hs + csize;
  *lit_size = regen;
  return Status::Ok();
}

Status ZstdDecoder::State::LoadSeqTable(SeqType type, unsigned mode, const uint8_t* src, size_t n,
                                        size_t* at) {
  switch (mode) {
    case 0:  // Predefined_Mode
      seq_table[type] = &seq_default[type];
      return Status::Ok();
    case 1: {  // RLE_Mode: one symbol, a table of one state
      if (*at >= n) return Corrupt("truncated sequences header");
      const unsigned code = src[(*at)++];
      if (code > kSeqMaxCode[type]) return Corrupt("sequence code out of range");
      SeqTable& t = seq_own[type];
      t.log = 0;
      t.cells[0].next = 0;
      t.cells[0].state_bits = 0;
      CodeValue(type, code, &t.cells[0].base, &t.cells[0].extra_bits);
      seq_table[type] = &t;
      return Status::Ok();
    }
    case 2: {  // FSE_Compressed_Mode
      int16_t norm[kSeqTableCells];
      unsigned symbols, log;
      size_t used;
      TS_RETURN_IF_ERROR(ReadNormalizedCounts(src + *at, n - *at, kSeqMaxCode[type],
                                              kSeqMaxLog[type], norm, &symbols, &log, &used));
      *at += used;
      BuildSeqTable(type, norm, symbols, log, &seq_own[type]);
      seq_table[type] = &seq_own[type];
      return Status::Ok();
    }
    default:  // Repeat_Mode
      if (!has_seq_tables) return Corrupt("repeat mode with no previous sequence table");
      return Status::Ok();
  }
}

Status ZstdDecoder::State::DecodeSequences(const uint8_t* src, size_t n, size_t lit_size,
                                           uint8_t* dst, size_t limit, size_t* produced) {
  if (n == 0) return Corrupt("compressed block without a sequences section");
  size_t count = src[0];
  size_t at = 1;
  if (count >= 128) {
    if (count == 255) {
      if (n < 3) return Corrupt("truncated sequences header");
      count = Load16(src + 1) + 0x7F00;
      at = 3;
    } else {
      if (n < 2) return Corrupt("truncated sequences header");
      count = ((count - 128) << 8) + src[1];
      at = 2;
    }
  }
  const uint8_t* lp = lits.data();
  const uint8_t* const lend = lp + lit_size;
  if (count == 0) {
    if (at != n) return Corrupt("data after an empty sequences section");
    std::memcpy(dst, lp, lit_size);
    *produced = lit_size;
    return Status::Ok();
  }
  if (at >= n) return Corrupt("truncated sequences header");
  const unsigned modes = src[at++];
  if ((modes & 3) != 0) return Corrupt("reserved bits set in sequence compression modes");
  TS_RETURN_IF_ERROR(LoadSeqTable(kLiteralLength, modes >> 6, src, n, &at));
  TS_RETURN_IF_ERROR(LoadSeqTable(kOffset, (modes >> 4) & 3, src, n, &at));
  TS_RETURN_IF_ERROR(LoadSeqTable(kMatchLength, (modes >> 2) & 3, src, n, &at));
  has_seq_tables = true;

  BitReader br;
  if (!br.Init(src + at, n - at)) return Corrupt("bad sequences bitstream");
  const SeqCell* const llt = seq_table[kLiteralLength]->cells;
  const SeqCell* const oft = seq_table[kOffset]->cells;
  const SeqCell* const mlt = seq_table[kMatchLength]->cells;
  size_t ll_state = static_cast<size_t>(br.Read(seq_table[kLiteralLength]->log));
  br.Reload();
  size_t of_state = static_cast<size_t>(br.Read(seq_table[kOffset]->log));
  br.Reload();
  size_t ml_state = static_cast<size_t>(br.Read(seq_table[kMatchLength]->log));
  br.Reload();

  size_t rep0 = rep[0], rep1 = rep[1], rep2 = rep[2];
  bool zero_repeat = false;
  // Reads one sequence and resolves its offset against the repeat offsets.
  auto decode = [&](Sequence* seq, bool last) {
    const SeqCell ll = llt[ll_state];
    const SeqCell of = oft[of_state];
    const SeqCell ml = mlt[ml_state];
    // Order fixed by the format: offset, match length, literal length.
    size_t offset = of.base + static_cast<size_t>(br.Read(of.extra_bits));
    seq->match_length = ml.base + static_cast<size_t>(br.Read(ml.extra_bits));
    // 57 bits after a reload cover the three states (26 bits) and up to
    // 31 extra bits; more extra bits need a reload in between.
    if (ll.extra_bits + ml.extra_bits + of.extra_bits >= 31) br.Reload();
    const size_t llen = ll.base + static_cast<size_t>(br.Read(ll.extra_bits));
    seq->literal_length = llen;
    if (of.extra_bits > 1) {
      rep2 = rep1;
      rep1 = rep0;
      rep0 = offset - 3;
      offset = rep0;
    } else {
      // Offset_Value 1..3 names a repeat offset, shifted by one when the
      // literal length is 0 (where 3 means Repeated_Offset1 - 1).
      const size_t idx = offset - 1 + (llen == 0 ? 1 : 0);
      if (idx == 0) {
        offset = rep0;
      } else {
        const size_t chosen = idx == 1 ? rep1 : idx == 2 ? rep2 : rep0 - 1;
        zero_repeat |= chosen == 0;
        if (idx != 1) rep2 = rep1;
        rep1 = rep0;
        rep0 = chosen;
        offset = chosen;
      }
    }
    seq->offset = offset;
    if (!last) {
      // Update order fixed by the format: literal length, match length, offset.
      ll_state = ll.next + static_cast<size_t>(br.Read(ll.state_bits));
      ml_state = ml.next + static_cast<size_t>(br.Read(ml.state_bits));
      of_state = of.next + static_cast<size_t>(br.Read(of.state_bits));
      br.Reload();
    }
  };

  uint8_t* const base = buf.data();
  uint8_t* op = dst;
  uint8_t* const oend = dst + limit;
  // Bytes of this frame before op: frame_decoded + (op - dst).
  const uint64_t history_before = frame_decoded;
  const uint64_t win = window;

  // Each sequence is executed as soon as it is decoded. Decoding eight
  // ahead to prefetch match sources (as zstd's "long" decoder does) was
  // tried: no faster on level-3 frames with a 2 MiB window, and slower
  // once the decoding no longer inlined.
  for (size_t i = 0; i < count; ++i) {
    Sequence seq;
    decode(&seq, i + 1 == count);
    if (zero_repeat) return Corrupt("repeat offset of zero");
    const size_t llen = seq.literal_length, mlen = seq.match_length, offset = seq.offset;
    if (llen > static_cast<size_t>(lend - lp)) {
      return Corrupt("sequence uses more literals than the block has");
    }
    if (llen + mlen > static_cast<size_t>(oend - op)) {
      return Corrupt("block decodes past its size limit");
    }
    WildCopy16(op, lp, llen);
    op += llen;
    lp += llen;
    if (offset > win) return Corrupt("match offset beyond the window");
    if (offset > history_before + static_cast<uint64_t>(op - dst)) {
      return Corrupt("match offset before the start of the frame");
    }
    const size_t in_run = static_cast<size_t>(op - base);
    if (offset <= in_run) {
      CopyMatch(op, offset, mlen);
    } else {
      // The match starts in the previous run, at the end of ext.
      const size_t back = offset - in_run;
      if (back > ext_end || ext_end - back < in_run + kSlack) {
        assert(false && "window buffer invariant broken");
        return Corrupt("match offset beyond the window");
      }
      const size_t first = std::min(back, mlen);
      std::memmove(op, base + (ext_end - back), first);
      if (mlen > first) CopyMatch(op + first, offset, mlen - first);
    }
    op += mlen;
  }
  if (!br.Finished()) return Corrupt("sequences bitstream not consumed exactly");
  const size_t rest = static_cast<size_t>(lend - lp);
  if (rest > static_cast<size_t>(oend - op)) return Corrupt("block decodes past its size limit");
  std::memcpy(op, lp, rest);
  op += rest;
  rep[0] = rep0;
  rep[1] = rep1;
  rep[2] = rep2;
  *produced = static_cast<size_t>(op - dst);
  return Status::Ok();
}

// ---- Public interface -------------------------------------------------------

ZstdDecoder::ZstdDecoder(size_t max_window) : s_(new State(max_window)) {}

ZstdDecoder::~ZstdDecoder() = default;

Status ZstdDecoder::Feed(const void* in, size_t n, size_t* used) {
  *used = 0;
  if (!s_->error.ok()) return s_->error;
  Status s = s_->Feed(static_cast<const uint8_t*>(in), n, used);
  if (!s.ok()) s_->error = s;
  return s;
}

const uint8_t* ZstdDecoder::output() const { return s_->buf.data() + s_->taken; }

size_t ZstdDecoder::output_size() const { return s_->pos - s_->taken; }

void ZstdDecoder::Take(size_t n) { s_->taken += std::min(n, output_size()); }

bool ZstdDecoder::at_frame_boundary() const {
  return s_->stage == State::Stage::kMagic && s_->hdr_len == 0;
}

size_t ZstdDecoder::memory_used() const {
  return sizeof(State) + s_->buf.capacity() + s_->in_buf.capacity() + s_->lits.capacity();
}

Status ZstdDecompress(const void* in, size_t n, std::string* out, size_t max_output,
                      size_t max_window) {
  out->clear();
  ZstdDecoder d(max_window);
  const auto* p = static_cast<const uint8_t*>(in);
  size_t left = n;
  for (;;) {
    size_t used = 0;
    TS_RETURN_IF_ERROR(d.Feed(p, left, &used));
    p += used;
    left -= used;
    const size_t got = d.output_size();
    if (got > max_output - out->size()) {
      return Status::Protocol("compressed stream: decodes to more than " +
                              std::to_string(max_output) + " bytes");
    }
    out->append(reinterpret_cast<const char*>(d.output()), got);
    d.Take(got);
    if (left == 0) break;
    // Feed stops early only to let output be taken, which just happened.
    if (used == 0 && got == 0)
      return Status::Protocol("compressed stream: decoder made no progress");
  }
  if (!d.at_frame_boundary())
    return Status::Protocol("compressed stream: input ends inside a frame");
  return Status::Ok();
}

}  // namespace treesync
