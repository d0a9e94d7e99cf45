#include "zstd_encoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "bits.h"
#include "little_endian.h"
#include "zstd_format.h"

namespace treesync {

namespace {

using namespace zstd;  // NOLINT: the format's constants throughout

// Output room a block may need beyond its raw size: headers, and the bit
// writer's whole-word stores past its end.
constexpr size_t kBlockSlack = 64;

inline void Store16(uint8_t* p, uint32_t v) { StoreLE16(p, v); }
inline void Store24(uint8_t* p, uint32_t v) { StoreLE24(p, v); }
inline void Store32(uint8_t* p, uint32_t v) { StoreLE32(p, v); }
inline void Store64(uint8_t* p, uint64_t v) { StoreLE64(p, v); }
// Host order: these are only compared with one another.
inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}


// Bits written forward, least significant first; zstd's decoders read them
// back from the end.
class BitWriter {
 public:
  explicit BitWriter(uint8_t* out) : p_(out) {}
  // nb <= 32, and at most 56 bits may be added between flushes.
  void Add(uint64_t v, unsigned nb) {
    acc_ |= (v & ((uint64_t(1) << nb) - 1)) << n_;
    n_ += nb;
  }
  void Flush() {
    Store64(p_, acc_);
    const unsigned bytes = n_ >> 3;
    p_ += bytes;
    acc_ = bytes == 0 ? acc_ : acc_ >> (bytes * 8);
    n_ &= 7;
  }
  // Adds the end mark and returns the end of the stream.
  uint8_t* Close() {
    Add(1, 1);
    Flush();
    return p_ + (n_ > 0 ? 1 : 0);
  }

 private:
  uint8_t* p_;
  uint64_t acc_ = 0;
  unsigned n_ = 0;
};

// ---- FSE (tANS) tables, RFC 8878 section 4.1 ----

inline unsigned LLCode(uint32_t ll) {
  static const uint8_t kCode[64] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
                                    13, 14, 15, 16, 16, 17, 17, 18, 18, 19, 19, 20, 20,
                                    20, 20, 21, 21, 21, 21, 22, 22, 22, 22, 22, 22, 22,
                                    22, 23, 23, 23, 23, 23, 23, 23, 23, 24, 24, 24, 24,
                                    24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24};
  return ll > 63 ? HighBit(ll) + 19 : kCode[ll];
}

inline unsigned MLCode(uint32_t ml_base) {
  static const uint8_t kCode[128] = {
      0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
      22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 32, 33, 33, 34, 34, 35, 35, 36, 36, 36, 36,
      37, 37, 37, 37, 38, 38, 38, 38, 38, 38, 38, 38, 39, 39, 39, 39, 39, 39, 39, 39, 40, 40,
      40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 41, 41, 41, 41, 41, 41, 41, 41,
      41, 41, 41, 41, 41, 41, 41, 41, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42,
      42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42, 42};
  return ml_base > 127 ? HighBit(ml_base) + 36 : kCode[ml_base];
}

struct FseTable {
  unsigned log = 0;
  std::vector<uint16_t> states;
  struct Symbol {
    int32_t find_state = 0;
    uint32_t nb_bits = 0;
  };
  Symbol sym[64];
};

// Builds the encoding table for a normalized distribution (counts summing
// to 1 << log, -1 for "less than one"), as RFC 8878 4.1.1 lays out the
// decoding one.
void BuildFseTable(const int16_t* norm, unsigned max_sym, unsigned log, FseTable* t) {
  const uint32_t size = 1u << log, mask = size - 1;
  const uint32_t step = (size >> 1) + (size >> 3) + 3;
  std::vector<uint8_t> spread(size);
  uint32_t cumul[65];
  uint32_t high = size - 1;
  cumul[0] = 0;
  for (unsigned s = 1; s <= max_sym + 1; ++s) {
    if (norm[s - 1] == -1) {
      cumul[s] = cumul[s - 1] + 1;
      spread[high--] = uint8_t(s - 1);
    } else {
      cumul[s] = cumul[s - 1] + uint32_t(norm[s - 1]);
    }
  }
  uint32_t pos = 0;
  for (unsigned s = 0; s <= max_sym; ++s) {
    for (int i = 0; i < norm[s]; ++i) {
      spread[pos] = uint8_t(s);
      pos = (pos + step) & mask;
      while (pos > high) pos = (pos + step) & mask;
    }
  }
  t->log = log;
  t->states.assign(size, 0);
  for (uint32_t u = 0; u < size; ++u) t->states[cumul[spread[u]]++] = uint16_t(size + u);
  int32_t total = 0;
  for (unsigned s = 0; s <= max_sym; ++s) {
    FseTable::Symbol& y = t->sym[s];
    const int n = norm[s];
    if (n == 0) {
      y.nb_bits = ((log + 1) << 16) - size;
    } else if (n == -1 || n == 1) {
      y.nb_bits = (log << 16) - size;
      y.find_state = total - 1;
      ++total;
    } else {
      const unsigned max_bits_out = log - HighBit(uint32_t(n - 1));
      const uint32_t min_state_plus = uint32_t(n) << max_bits_out;
      y.nb_bits = (max_bits_out << 16) - min_state_plus;
      y.find_state = total - n;
      total += n;
    }
  }
}

struct FseState {
  uint32_t value;
  const FseTable* t;
  void Init(const FseTable* table, unsigned s) {
    t = table;
    const FseTable::Symbol& y = t->sym[s];
    const uint32_t nb = (y.nb_bits + (1 << 15)) >> 16;
    const uint32_t v = (nb << 16) - y.nb_bits;
    value = t->states[(v >> nb) + y.find_state];
  }
  void Encode(BitWriter* w, unsigned s) {
    const FseTable::Symbol& y = t->sym[s];
    const uint32_t nb = (value + y.nb_bits) >> 16;
    w->Add(value, nb);
    value = t->states[(value >> nb) + y.find_state];
  }
  void Flush(BitWriter* w) { w->Add(value, t->log); }
};

// Normalizes counts (total > 0, at least two symbols) to sum 1 << log.
void Normalize(const uint32_t* count, unsigned max_sym, uint32_t total, unsigned log,
               int16_t* norm) {
  const uint32_t target = 1u << log;
  int32_t sum = 0;
  unsigned largest = 0;
  for (unsigned s = 0; s <= max_sym; ++s) {
    if (count[s] == 0) {
      norm[s] = 0;
      continue;
    }
    uint64_t n = (uint64_t(count[s]) * target + total / 2) / total;
    norm[s] = int16_t(std::max<uint64_t>(1, n));
    sum += norm[s];
    if (count[s] > count[largest]) largest = s;
  }
  while (sum > int32_t(target)) {
    unsigned big = largest;
    for (unsigned s = 0; s <= max_sym; ++s)
      if (norm[s] > norm[big]) big = s;
    if (norm[big] <= 1) break;  // can't happen: the accuracy leaves room for every symbol
    const int16_t cut = int16_t(std::min<int32_t>(sum - int32_t(target), norm[big] / 4 + 1));
    norm[big] = int16_t(norm[big] - cut);
    sum -= cut;
  }
  norm[largest] = int16_t(norm[largest] + (int32_t(target) - sum));
}

// Writes a normalized distribution as RFC 8878 4.1.1 describes; returns the
// bytes written.
size_t WriteFseHeader(const int16_t* norm, unsigned max_sym, unsigned log, uint8_t* out) {
  uint8_t* const start = out;
  uint64_t bits = log - 5;
  unsigned n = 4;
  int32_t remaining = (1 << log) + 1;
  int32_t threshold = 1 << log;
  unsigned nb = log + 1;
  unsigned s = 0;
  bool previous0 = false;
  auto flush16 = [&] {
    if (n > 16) {
      Store16(out, uint32_t(bits));
      out += 2;
      bits >>= 16;
      n -= 16;
    }
  };
  while (s <= max_sym && remaining > 1) {
    if (previous0) {
      unsigned run_start = s;
      while (s <= max_sym && norm[s] == 0) ++s;
      while (s >= run_start + 24) {
        run_start += 24;
        bits |= uint64_t(0xFFFF) << n;
        Store16(out, uint32_t(bits));
        out += 2;
        bits >>= 16;
      }
      while (s >= run_start + 3) {
        run_start += 3;
        bits |= uint64_t(3) << n;
        n += 2;
      }
      bits |= uint64_t(s - run_start) << n;
      n += 2;
      flush16();
    }
    int32_t count = norm[s++];
    const int32_t max = (2 * threshold - 1) - remaining;
    remaining -= count < 0 ? -count : count;
    ++count;
    if (count >= threshold) count += max;
    bits |= uint64_t(count) << n;
    n += nb;
    n -= count < max ? 1 : 0;
    previous0 = count == 1;
    while (remaining < threshold) {
      --nb;
      threshold >>= 1;
    }
    flush16();
  }
  Store16(out, uint32_t(bits));
  out += (n + 7) / 8;
  return size_t(out - start);
}

// -log2(p) in 1/16 bits, for p = n / 2^log, n in [1, 2^log]: cost estimates.
inline uint32_t CostBits16(uint32_t n, unsigned log) {
  // log2 by the highest bit plus a linear step: good to within 1/16 bit.
  const unsigned hb = HighBit(n);
  const uint32_t frac = ((n << 4) >> hb) - 16;  // 0..15
  return (log << 4) - ((hb << 4) + frac);
}

// ---- Huffman literals, RFC 8878 section 4.2 ----

constexpr unsigned kHufMaxBits = 11;

struct HufCode {
  uint8_t len[256];
  uint16_t code[256];
  unsigned max_bits;
};

// Code lengths for the counts (at least two symbols used), limited to
// kHufMaxBits and complete (their Kraft sum is exactly one), which the
// format needs since the last symbol's weight is implied. False if the
// lengths could not be made so (then literals go raw).
bool BuildHuffman(const uint32_t* count, unsigned max_sym, HufCode* h) {
  struct Node {
    uint32_t count;
    int parent;
  };
  std::vector<Node> nodes;
  std::vector<int> leaves;
  for (unsigned s = 0; s <= max_sym; ++s) {
    if (count[s] > 0) {
      leaves.push_back(int(s));
    }
  }
  std::sort(leaves.begin(), leaves.end(), [&](int a, int b) { return count[a] < count[b]; });
  const size_t n = leaves.size();
  nodes.resize(2 * n - 1);
  for (size_t i = 0; i < n; ++i) nodes[i] = {count[leaves[i]], -1};
  // Two queues: sorted leaves, and inner nodes, made in increasing order.
  size_t li = 0, ii = n, next = n;
  auto take = [&]() {
    if (li < n && (ii >= next || nodes[li].count <= nodes[ii].count)) return li++;
    return ii++;
  };
  while (next < 2 * n - 1) {
    const size_t a = take(), b = take();
    nodes[next] = {nodes[a].count + nodes[b].count, -1};
    nodes[a].parent = nodes[b].parent = int(next);
    ++next;
  }
  std::vector<unsigned> depth(2 * n - 1, 0);
  for (size_t i = 2 * n - 1; i-- > 0;) {
    if (nodes[i].parent >= 0) depth[i] = depth[nodes[i].parent] + 1;
  }
  std::memset(h->len, 0, sizeof(h->len));
  const uint32_t kOne = 1u << kHufMaxBits;
  uint32_t kraft = 0;
  for (size_t i = 0; i < n; ++i) {
    const unsigned d = std::min(depth[i], kHufMaxBits);
    h->len[leaves[i]] = uint8_t(d);
    kraft += kOne >> d;
  }
  // Too long codes were cut to the limit: lengthen the longest codes still
  // below it, rarest first (leaves are sorted), until the sum fits...
  while (kraft > kOne) {
    int pick = -1;
    for (size_t i = 0; i < n; ++i) {
      const unsigned d = h->len[leaves[i]];
      if (d < kHufMaxBits && (pick < 0 || d > h->len[pick])) pick = leaves[i];
    }
    if (pick < 0) return false;
    kraft -= kOne >> (h->len[pick] + 1);
    ++h->len[pick];
  }
  // ...then shorten the commonest codes that fill what is left exactly.
  for (int pass = 0; kraft < kOne && pass < 64; ++pass) {
    for (size_t i = n; i-- > 0 && kraft < kOne;) {
      uint8_t& d = h->len[leaves[i]];
      while (d > 1 && (kOne >> d) <= kOne - kraft) {
        kraft += kOne >> d;
        --d;
      }
    }
  }
  if (kraft != kOne) return false;
  unsigned max_bits = 0;
  for (unsigned s = 0; s <= max_sym; ++s) max_bits = std::max<unsigned>(max_bits, h->len[s]);
  h->max_bits = max_bits;
  // Canonical codes, longest first, each length's symbols in order.
  uint32_t code = 0;
  for (unsigned len = max_bits; len >= 1; --len) {
    for (unsigned s = 0; s <= max_sym; ++s) {
      if (h->len[s] == len) h->code[s] = uint16_t(code++);
    }
    code >>= 1;
  }
  return true;
}

// One Huffman stream of lit[0, n), written last symbol first so the
// decoder, reading from the end, gets them in order.
uint8_t* WriteHufStream(const uint8_t* lit, size_t n, const HufCode& h, uint8_t* out) {
  BitWriter w(out);
  size_t i = n;
  while (i >= 4) {
    for (int k = 0; k < 4; ++k) {
      const uint8_t c = lit[--i];
      w.Add(h.code[c], h.len[c]);
    }
    w.Flush();
  }
  while (i > 0) {
    const uint8_t c = lit[--i];
    w.Add(h.code[c], h.len[c]);
  }
  return w.Close();
}

size_t WriteRawLiterals(const uint8_t* lit, size_t n, uint8_t* out) {
  size_t h;
  if (n < 32) {
    out[0] = uint8_t(n << 3);
    h = 1;
  } else if (n < 4096) {
    Store16(out, uint32_t((n << 4) | 0x4));
    h = 2;
  } else {
    Store24(out, uint32_t((n << 4) | 0xC));
    h = 3;
  }
  if (n > 0) std::memcpy(out + h, lit, n);
  return h + n;
}

size_t WriteLiterals(const uint8_t* lit, size_t n, uint8_t* out) {
  // Below this, a Huffman table costs more than it saves.
  constexpr size_t kMinHuffman = 64;
  if (n < kMinHuffman) return WriteRawLiterals(lit, n, out);
  // Direct weights take a nibble each for symbols below the last; larger
  // alphabets (binary data) would need FSE-coded weights: those go raw. A
  // byte past 128 shows at once in random or compressed data, before any
  // counting.
  for (size_t i = 0; i < n; ++i) {
    if (lit[i] > 128) return WriteRawLiterals(lit, n, out);
  }
  uint32_t count[256] = {0};
  for (size_t i = 0; i < n; ++i) ++count[lit[i]];
  unsigned max_sym = 255;
  while (count[max_sym] == 0) --max_sym;
  unsigned used = 0;
  for (unsigned s = 0; s <= max_sym; ++s) used += count[s] > 0;
  if (used == 1) {  // RLE literals
    size_t h;
    if (n < 32) {
      out[0] = uint8_t((n << 3) | 1);
      h = 1;
    } else if (n < 4096) {
      Store16(out, uint32_t((n << 4) | 0x5));
      h = 2;
    } else {
      Store24(out, uint32_t((n << 4) | 0xD));
      h = 3;
    }
    out[h] = lit[0];
    return h + 1;
  }
  HufCode h;
  if (!BuildHuffman(count, max_sym, &h)) return WriteRawLiterals(lit, n, out);
  uint64_t bits = 0;
  for (unsigned s = 0; s <= max_sym; ++s) bits += uint64_t(count[s]) * h.len[s];
  const size_t tree = 1 + (max_sym + 1) / 2;
  const bool one_stream = n < 256;
  const size_t estimate = bits / 8 + tree + (one_stream ? 3 : 11);
  // Not worth a table: incompressible literals cost the count and no more.
  if (estimate + n / 64 >= n) return WriteRawLiterals(lit, n, out);

  const size_t header = one_stream ? 3 : n < 16384 ? 4 : 5;
  uint8_t* p = out + header;
  *p++ = uint8_t(127 + max_sym);
  for (unsigned s = 0; s < max_sym; s += 2) {
    const unsigned w0 = h.len[s] ? h.max_bits + 1 - h.len[s] : 0;
    const unsigned w1 = (s + 1 < max_sym && h.len[s + 1]) ? h.max_bits + 1 - h.len[s + 1] : 0;
    *p++ = uint8_t((w0 << 4) | w1);
  }
  if (one_stream) {
    p = WriteHufStream(lit, n, h, p);
  } else {
    const size_t seg = (n + 3) / 4;
    uint8_t* jump = p;
    p += 6;
    for (int k = 0; k < 4; ++k) {
      const size_t from = seg * size_t(k);
      const size_t len = k < 3 ? seg : n - 3 * seg;
      uint8_t* end = WriteHufStream(lit + from, len, h, p);
      if (k < 3) Store16(jump + 2 * k, uint32_t(end - p));
      p = end;
    }
  }
  const size_t compressed = size_t(p - (out + header));
  if (compressed + header >= n + (n < 4096 ? 2 : 3)) return WriteRawLiterals(lit, n, out);
  // Literals_Section_Header: type 2, then Size_Format, then both sizes.
  if (one_stream) {
    if (compressed > 1023) return WriteRawLiterals(lit, n, out);
    Store24(out, uint32_t(2 | (0 << 2) | (n << 4) | (compressed << 14)));
  } else if (header == 4) {
    // (Size_Format 2 even where 1, with 10-bit sizes, would do: the
    // streams were placed before their size was known.)
    if (compressed > 16383) return WriteRawLiterals(lit, n, out);
    Store32(out, uint32_t(2 | (2 << 2) | (n << 4) | (compressed << 18)));
  } else {
    const uint64_t v = 2 | (3 << 2) | (uint64_t(n) << 4) | (uint64_t(compressed) << 22);
    Store32(out, uint32_t(v));
    out[4] = uint8_t(v >> 32);
  }
  return header + compressed;
}

struct Sequence {
  uint32_t lit_len;
  uint32_t match_len;
  uint32_t off_base;  // 1-3: repeat offsets, else offset + 3
};

// How one of the three code streams is described: predefined, one code
// (RLE) or a table of its own.
struct CodeTable {
  unsigned mode = 0;
  unsigned rle = 0;
  FseTable table;
};

void ChooseTable(const uint8_t* codes, size_t nb_seq, unsigned max_code, const int16_t* def,
                 unsigned def_max, unsigned def_log, unsigned max_log, CodeTable* ct,
                 uint8_t** out) {
  uint32_t count[64] = {0};
  for (size_t i = 0; i < nb_seq; ++i) ++count[codes[i]];
  unsigned max_sym = max_code;
  while (count[max_sym] == 0) --max_sym;
  unsigned used = 0;
  for (unsigned s = 0; s <= max_sym; ++s) used += count[s] > 0;
  if (used == 1) {
    ct->mode = 1;
    ct->rle = max_sym;
    *(*out)++ = uint8_t(max_sym);
    return;
  }
  uint64_t def_cost = ~uint64_t(0);
  if (max_sym <= def_max) {
    def_cost = 0;
    for (unsigned s = 0; s <= max_sym; ++s) {
      if (count[s] == 0) continue;
      const uint32_t n = def[s] < 0 ? 1 : uint32_t(def[s]);
      def_cost += uint64_t(count[s]) * CostBits16(n, def_log);
    }
  }
  // zstd's rule for the accuracy: no more than the data can fill, no less
  // than the alphabet needs.
  unsigned log = max_log;
  const unsigned src_bits = nb_seq > 1 ? HighBit(uint32_t(nb_seq - 1)) : 0;
  if (src_bits >= 2 && src_bits - 2 < log) log = src_bits - 2;
  const unsigned min_bits = std::min(src_bits + 1, HighBit(max_sym) + 2);
  if (min_bits > log) log = min_bits;
  log = std::max(5u, std::min(log, max_log));
  int16_t norm[64];
  uint8_t header[128];
  size_t header_size = 0;
  uint64_t own_cost = ~uint64_t(0);
  if (used > 1) {
    Normalize(count, max_sym, uint32_t(nb_seq), log, norm);
    header_size = WriteFseHeader(norm, max_sym, log, header);
    own_cost = uint64_t(header_size) * 8 * 16;
    for (unsigned s = 0; s <= max_sym; ++s) {
      if (count[s] > 0) own_cost += uint64_t(count[s]) * CostBits16(uint32_t(norm[s]), log);
    }
  }
  if (def_cost <= own_cost) {
    ct->mode = 0;
    BuildFseTable(def, def_max, def_log, &ct->table);
    return;
  }
  ct->mode = 2;
  BuildFseTable(norm, max_sym, log, &ct->table);
  std::memcpy(*out, header, header_size);
  *out += header_size;
}

size_t WriteSequences(const Sequence* seqs, size_t nb, std::vector<uint8_t>* codes,
                      uint8_t* out) {
  uint8_t* p = out;
  if (nb < 128) {
    *p++ = uint8_t(nb);
  } else if (nb < 0x7F00) {
    *p++ = uint8_t((nb >> 8) + 128);
    *p++ = uint8_t(nb);
  } else {
    *p++ = 255;
    Store16(p, uint32_t(nb - 0x7F00));
    p += 2;
  }
  if (nb == 0) return size_t(p - out);
  if (codes->size() < 3 * nb) codes->resize(3 * nb);
  uint8_t* ll = codes->data();
  uint8_t* of = ll + nb;
  uint8_t* ml = of + nb;
  for (size_t i = 0; i < nb; ++i) {
    ll[i] = uint8_t(LLCode(seqs[i].lit_len));
    of[i] = uint8_t(HighBit(seqs[i].off_base));
    ml[i] = uint8_t(MLCode(seqs[i].match_len - 3));
  }
  uint8_t* modes = p++;
  CodeTable tll, tof, tml;
  ChooseTable(ll, nb, kMaxLiteralLengthCode, kDefaultLiteralLengthNorm, 35, kDefaultLiteralLengthLog, kLiteralLengthMaxLog, &tll, &p);
  ChooseTable(of, nb, kMaxOffsetCode, kDefaultOffsetNorm, 28, kDefaultOffsetLog, kOffsetMaxLog, &tof, &p);
  ChooseTable(ml, nb, kMaxMatchLengthCode, kDefaultMatchLengthNorm, 52, kDefaultMatchLengthLog, kMatchLengthMaxLog, &tml, &p);
  *modes = uint8_t((tll.mode << 6) | (tof.mode << 4) | (tml.mode << 2));

  BitWriter w(p);
  FseState sll{}, sof{}, sml{};
  const bool fll = tll.mode != 1, fof = tof.mode != 1, fml = tml.mode != 1;
  const size_t last = nb - 1;
  if (fml) sml.Init(&tml.table, ml[last]);
  if (fof) sof.Init(&tof.table, of[last]);
  if (fll) sll.Init(&tll.table, ll[last]);
  for (size_t i = last + 1; i-- > 0;) {
    if (i != last) {
      if (fof) sof.Encode(&w, of[i]);
      if (fml) sml.Encode(&w, ml[i]);
      if (fll) sll.Encode(&w, ll[i]);
    }
    // At most 26 bits of states and 32 of lengths: a flush between them
    // only when the lengths are long.
    const Sequence& q = seqs[i];
    const unsigned llb = kLiteralLengthBits[ll[i]], mlb = kMatchLengthBits[ml[i]];
    if (llb + mlb > 56 - 26 - 7) w.Flush();
    w.Add(q.lit_len - kLiteralLengthBase[ll[i]], llb);
    w.Add(q.match_len - kMatchLengthBase[ml[i]], mlb);
    w.Flush();
    w.Add(q.off_base - (1u << of[i]), of[i]);
  }
  w.Flush();
  if (fml) sml.Flush(&w);
  if (fof) sof.Flush(&w);
  if (fll) sll.Flush(&w);
  return size_t(w.Close() - out);
}

// ---- the match finder ----

struct Params {
  unsigned window_log;
  unsigned long_log;   // table of 8-byte hashes (of 5-byte ones for "fast")
  unsigned short_log;  // table of 5-byte hashes; 0 for the "fast" strategy
  unsigned search_strength;  // misses before the step grows: 1 << this
};

Params ParamsFor(int level) {
  switch (level) {
    case 1: return {21, 16, 0, 6};
    case 2: return {21, 17, 0, 7};
    case 3: return {21, 17, 16, 8};
    case 4: return {21, 18, 17, 8};
    case 5: return {21, 19, 18, 9};
    case 6: return {23, 19, 18, 9};
    case 7: return {23, 20, 19, 10};
    case 8: return {23, 21, 20, 10};
    default: return {23, 22, 21, 11};
  }
}

inline uint32_t HashLong(const uint8_t* p, unsigned log) {
  return uint32_t((Load64(p) * 0xCF1BBCDCB7A56463ull) >> (64 - log));
}
inline uint32_t HashShort(const uint8_t* p, unsigned log) {
  return uint32_t(((Load64(p) << 24) * 0x9E3779B185EBCA87ull) >> (64 - log));
}

// Bytes equal at a and b, a ahead of b, up to limit (a's end).
inline size_t MatchLength(const uint8_t* a, const uint8_t* b, const uint8_t* limit) {
  const uint8_t* const start = a;
  while (a + 8 <= limit) {
    // Little-endian loads: the first differing byte is the lowest one.
    const uint64_t x = LoadLE64(a) ^ LoadLE64(b);
    if (x != 0) return size_t(a - start) + (LowBit(x) >> 3);
    a += 8;
    b += 8;
  }
  while (a < limit && *a == *b) {
    ++a;
    ++b;
  }
  return size_t(a - start);
}

}  // namespace

struct ZstdEncoder::State {
  Params params;
  size_t window;
  bool open = false;
  // The window's bytes, then the block being compressed; positions in the
  // hash tables index it.
  std::vector<uint8_t> hist;
  size_t hist_size = 0;
  // Matches start at or after this position of hist: the bytes before it
  // belong to an earlier frame.
  size_t floor = 0;
  // Whether every block of the last Compress call went raw.
  bool all_raw = false;
  std::vector<uint32_t> long_table, short_table;
  uint32_t rep[3] = {1, 4, 8};
  // The block's sequences and literals.
  std::vector<Sequence> seqs;
  size_t nseqs = 0;
  std::vector<uint8_t> lits;
  size_t nlits = 0;
  std::vector<uint8_t> codes, body;

  // A new frame's empty window. The history stays where it is (cheaper
  // than clearing the tables: frames may be short), out of reach.
  void Reset() {
    open = false;
    floor = hist_size;
    rep[0] = 1;
    rep[1] = 4;
    rep[2] = 8;
  }

  // Makes room for n more bytes, keeping the last window of history.
  void Room(size_t n) {
    if (hist_size + n <= hist.size()) return;
    const size_t keep = std::min(hist_size, window);
    const size_t shift = hist_size - keep;
    std::memmove(hist.data(), hist.data() + shift, keep);
    hist_size = keep;
    floor = floor >= shift ? floor - shift : 0;
    for (uint32_t& e : long_table) e = e >= shift ? uint32_t(e - shift) : 0;
    for (uint32_t& e : short_table) e = e >= shift ? uint32_t(e - shift) : 0;
  }

  // The offset's code (1-3 for a repeat) per RFC 8878 4.1.2.1, keeping the
  // repeat offsets as the decoder will.
  uint32_t OffBase(uint32_t off, uint32_t ll) {
    if (ll > 0) {
      if (off == rep[0]) return 1;
      if (off == rep[1]) {
        std::swap(rep[0], rep[1]);
        return 2;
      }
      if (off == rep[2]) {
        rep[2] = rep[1];
        rep[1] = rep[0];
        rep[0] = off;
        return 3;
      }
    } else {
      if (off == rep[1]) {
        std::swap(rep[0], rep[1]);
        return 1;
      }
      if (off == rep[2]) {
        rep[2] = rep[1];
        rep[1] = rep[0];
        rep[0] = off;
        return 2;
      }
      if (rep[0] > 1 && off == rep[0] - 1) {
        rep[2] = rep[1];
        rep[1] = rep[0];
        rep[0] = off;
        return 3;
      }
    }
    rep[2] = rep[1];
    rep[1] = rep[0];
    rep[0] = off;
    return off + 3;
  }

  // Appends the sequence that copies len bytes from off back, after the
  // literals hist[anchor, start).
  void Emit(size_t anchor, size_t start, uint32_t off, size_t len) {
    const uint32_t ll = uint32_t(start - anchor);
    std::memcpy(lits.data() + nlits, hist.data() + anchor, ll);
    nlits += ll;
    seqs[nseqs++] = {ll, uint32_t(len), OffBase(off, ll)};
  }

  // Finds the sequences of hist[from, to) (from > to - kBlockMax), leaving
  // the literals after the last one in lits too.
  void FindMatches(size_t from, size_t to) {
    nseqs = 0;
    nlits = 0;
    const uint8_t* const b = hist.data();
    size_t anchor = from;
    // Hashing reads 8 bytes; matches end at `to`.
    if (to - from >= 16) {
      anchor = params.short_log == 0 ? FindFast(from, to) : FindDouble(from, to);
    }
    // A block without a match keeps its literals where they are.
    if (nseqs == 0) return;
    std::memcpy(lits.data() + nlits, b + anchor, to - anchor);
    nlits += to - anchor;
  }

  // Grows a match found at *start backwards over the literals before it.
  void ExtendBack(size_t anchor, size_t* start, size_t* cand, size_t* len) const {
    const uint8_t* const b = hist.data();
    while (*start > anchor && *cand > floor && b[*start - 1] == b[*cand - 1]) {
      --*start;
      --*cand;
      ++*len;
    }
  }

  // zstd's "fast" strategy: one table of 6-byte hashes. Returns where the
  // literals after the last sequence start.
  size_t FindFast(size_t from, size_t to) {
    const uint8_t* const b = hist.data();
    const unsigned log = params.long_log;
    const size_t win = window, lo = floor;
    const unsigned strength = params.search_strength;
    uint32_t* const t = long_table.data();
    size_t ip = from, anchor = from;
    const size_t limit = to - 8;
    const uint8_t* const end = b + to;
    while (ip < limit) {
      const uint32_t h = HashShort(b + ip, log);
      const size_t c = t[h];
      t[h] = uint32_t(ip);
      const size_t r0 = rep[0];
      size_t start, cand, len;
      if (r0 + lo <= ip + 1 && Load32(b + ip + 1) == Load32(b + ip + 1 - r0)) {
        start = ip + 1;
        cand = start - r0;
        len = 4 + MatchLength(b + start + 4, b + cand + 4, end);
      } else if (c >= lo && c < ip && ip - c <= win && Load32(b + c) == Load32(b + ip)) {
        start = ip;
        cand = c;
        len = 4 + MatchLength(b + ip + 4, b + c + 4, end);
      } else {
        ip += ((ip - anchor) >> strength) + 1;
        continue;
      }
      ExtendBack(anchor, &start, &cand, &len);
      Emit(anchor, start, uint32_t(start - cand), len);
      ip = start + len;
      anchor = ip;
      if (ip <= limit) {
        t[HashShort(b + start + 2, log)] = uint32_t(start + 2);
        t[HashShort(b + ip - 2, log)] = uint32_t(ip - 2);
        anchor = ip = RepeatsAfter(ip, limit, end, t, log, nullptr, 0);
      }
    }
    return anchor;
  }

  // After a match at ip: matches at the second repeat offset right there,
  // the commonest next match in structured data. Returns where they end.
  size_t RepeatsAfter(size_t ip, size_t limit, const uint8_t* end, uint32_t* t1, unsigned log1,
                      uint32_t* t2, unsigned log2) {
    const uint8_t* const b = hist.data();
    while (ip <= limit) {
      const size_t r1 = rep[1];
      if (r1 + floor > ip || Load32(b + ip) != Load32(b + ip - r1)) break;
      const size_t l = 4 + MatchLength(b + ip + 4, b + ip - r1 + 4, end);
      t1[HashShort(b + ip, log1)] = uint32_t(ip);
      if (t2 != nullptr) t2[HashLong(b + ip, log2)] = uint32_t(ip);
      Emit(ip, ip, uint32_t(r1), l);
      ip += l;
    }
    return ip;
  }

  // zstd's "dfast": a table of 8-byte hashes and one of 5-byte hashes, the
  // long match preferred.
  size_t FindDouble(size_t from, size_t to) {
    const uint8_t* const b = hist.data();
    const unsigned ll_log = params.long_log, sl_log = params.short_log;
    const size_t win = window, lo = floor;
    const unsigned strength = params.search_strength;
    uint32_t* const lt = long_table.data();
    uint32_t* const st = short_table.data();
    size_t ip = from, anchor = from;
    const size_t limit = to - 8;
    const uint8_t* const end = b + to;
    while (ip < limit) {
      const uint32_t hl = HashLong(b + ip, ll_log), hs = HashShort(b + ip, sl_log);
      const size_t cl = lt[hl], cs = st[hs];
      lt[hl] = st[hs] = uint32_t(ip);
      size_t start, cand, len;
      // A repeat of the last offset one byte on: the commonest match in
      // structured data, and the cheapest to code.
      const size_t r0 = rep[0];
      if (r0 + lo <= ip + 1 && Load32(b + ip + 1) == Load32(b + ip + 1 - r0)) {
        start = ip + 1;
        cand = start - r0;
        len = 4 + MatchLength(b + start + 4, b + cand + 4, end);
      } else if (cl >= lo && cl < ip && ip - cl <= win && Load64(b + cl) == Load64(b + ip)) {
        start = ip;
        cand = cl;
        len = 8 + MatchLength(b + ip + 8, b + cl + 8, end);
      } else if (cs >= lo && cs < ip && ip - cs <= win && Load32(b + cs) == Load32(b + ip)) {
        // A short match: a long one at the next byte may be better.
        const uint32_t hl1 = HashLong(b + ip + 1, ll_log);
        const size_t cl1 = lt[hl1];
        lt[hl1] = uint32_t(ip + 1);
        if (cl1 >= lo && cl1 < ip + 1 && ip + 1 - cl1 <= win && Load64(b + cl1) == Load64(b + ip + 1)) {
          start = ip + 1;
          cand = cl1;
          len = 8 + MatchLength(b + start + 8, b + cl1 + 8, end);
        } else {
          start = ip;
          cand = cs;
          len = 4 + MatchLength(b + ip + 4, b + cs + 4, end);
        }
      } else {
        ip += ((ip - anchor) >> strength) + 1;
        continue;
      }
      ExtendBack(anchor, &start, &cand, &len);
      Emit(anchor, start, uint32_t(start - cand), len);
      ip = start + len;
      anchor = ip;
      if (ip <= limit) {
        // Index a few positions inside the match, as zstd's dfast does.
        const size_t p2 = start + 2;
        lt[HashLong(b + p2, ll_log)] = uint32_t(p2);
        st[HashShort(b + p2, sl_log)] = uint32_t(p2);
        lt[HashLong(b + ip - 2, ll_log)] = uint32_t(ip - 2);
        st[HashShort(b + ip - 1, sl_log)] = uint32_t(ip - 1);
        anchor = ip = RepeatsAfter(ip, limit, end, st, sl_log, lt, ll_log);
      }
    }
    return anchor;
  }

  // Compresses hist[from, to) (at most kBlockMax) as one block; returns
  // whether it went raw.
  bool Block(size_t from, size_t to, std::string* out) {
    const uint32_t saved_rep[3] = {rep[0], rep[1], rep[2]};
    const size_t n = to - from;
    FindMatches(from, to);
    size_t size = nseqs == 0 ? WriteLiterals(hist.data() + from, n, body.data())
                             : WriteLiterals(lits.data(), nlits, body.data());
    if (size < n) size += WriteSequences(seqs.data(), nseqs, &codes, body.data() + size);
    const size_t at = out->size();
    if (size >= n) {
      // Raw: the decoder's repeat offsets don't move.
      std::memcpy(rep, saved_rep, sizeof(rep));
      out->resize(at + 3 + n);
      uint8_t* p = reinterpret_cast<uint8_t*>(&(*out)[at]);
      Store24(p, uint32_t(n << 3));
      std::memcpy(p + 3, hist.data() + from, n);
      return true;
    }
    out->resize(at + 3 + size);
    uint8_t* p = reinterpret_cast<uint8_t*>(&(*out)[at]);
    Store24(p, uint32_t((size << 3) | (2 << 1)));
    std::memcpy(p + 3, body.data(), size);
    return false;
  }

  void FrameHeader(std::string* out) {
    uint8_t h[6];
    Store32(h, kFrameMagic);
    h[4] = 0;                                         // no size, checksum or dictionary
    h[5] = uint8_t((params.window_log - 10) << 3);  // Window_Descriptor
    out->append(reinterpret_cast<const char*>(h), sizeof(h));
    open = true;
  }
};

ZstdEncoder::ZstdEncoder(int level) : s_(new State) {
  level = std::max(kMinLevel, std::min(kMaxLevel, level));
  s_->params = ParamsFor(level);
  s_->window = size_t(1) << s_->params.window_log;
  s_->hist.resize(s_->window + std::max(s_->window, size_t(1) << 20));
  s_->long_table.assign(size_t(1) << s_->params.long_log, 0);
  s_->short_table.assign(size_t(1) << s_->params.short_log, 0);
  // A block's worst case: raw literals, and sequences of 4-byte matches at
  // up to 11 bytes each, before it is seen not to shrink.
  s_->body.resize(4 * kBlockMax + kBlockSlack + 1024);
  s_->seqs.resize(kBlockMax / 4);
  s_->lits.resize(kBlockMax);
  s_->codes.resize(3 * kBlockMax / 4);
}

ZstdEncoder::~ZstdEncoder() = default;

void ZstdEncoder::Compress(const void* in, size_t n, std::string* out) {
  if (n == 0) return;
  State& s = *s_;
  if (!s.open) s.FrameHeader(out);
  const uint8_t* p = static_cast<const uint8_t*>(in);
  s.all_raw = true;
  while (n > 0) {
    const size_t take = std::min(n, kBlockMax);
    s.Room(take);
    std::memcpy(s.hist.data() + s.hist_size, p, take);
    s.all_raw = s.Block(s.hist_size, s.hist_size + take, out) && s.all_raw;
    s.hist_size += take;
    p += take;
    n -= take;
  }
}

bool ZstdEncoder::last_all_raw() const { return s_->all_raw; }

bool ZstdEncoder::frame_open() const { return s_->open; }

bool LooksIncompressible(const void* data, size_t n) {
  // 16 runs of 64 bytes spread over the input, so a block whose content
  // changes part way is seen whole; runs keep text's local character.
  constexpr size_t kRuns = 16, kRun = 64;
  if (n < kRuns * kRun) return false;
  const uint8_t* const p = static_cast<const uint8_t*>(data);
  uint32_t count[256] = {};
  const size_t stride = (n - kRun) / (kRuns - 1);
  for (size_t r = 0; r < kRuns; ++r) {
    const uint8_t* q = p + r * stride;
    for (size_t i = 0; i < kRun; ++i) ++count[q[i]];
  }
  // The order-0 entropy of the sample, against a bound that 1,024 random
  // bytes clear (their measured entropy is about 7.82 bits, a few
  // hundredths either way) and that Huffman-coded text, code and
  // executables stay well under. Entropy = log2(total) - sum(c log2 c) /
  // total, with c log2 c from a table: a log per symbol would cost more
  // than the histogram.
  constexpr size_t kTotal = kRuns * kRun;
  static const std::vector<float> c_log_c = [] {
    std::vector<float> t(kTotal + 1, 0.0f);
    for (size_t c = 1; c <= kTotal; ++c) t[c] = float(c * std::log2(double(c)));
    return t;
  }();
  float sum = 0;
  for (uint32_t c : count) sum += c_log_c[c];
  return std::log2(float(kTotal)) - sum / kTotal >= 7.6f;
}

void ZstdEncoder::End(std::string* out) {
  if (!s_->open) s_->FrameHeader(out);
  uint8_t last[3];
  Store24(last, 1);  // an empty raw block, the last
  out->append(reinterpret_cast<const char*>(last), 3);
  s_->Reset();
}

size_t ZstdEncoder::window_size() const { return s_->window; }

size_t ZstdEncoder::MemoryFor(int level) {
  const Params p = ParamsFor(std::max(kMinLevel, std::min(kMaxLevel, level)));
  const size_t window = size_t(1) << p.window_log;
  // History, tables, the block body, and a block's literals, sequences
  // (at most one per 4 bytes) and codes.
  return window + std::max(window, size_t(1) << 20) +
         4 * ((size_t(1) << p.long_log) + (size_t(1) << p.short_log)) +
         (4 * kBlockMax + kBlockSlack + 1024) + kBlockMax +
         kBlockMax / 4 * (sizeof(Sequence) + 3);
}

size_t ZstdEncoder::memory_used() const {
  return s_->hist.size() + 4 * (s_->long_table.size() + s_->short_table.size()) +
         s_->body.size() + s_->lits.size() + s_->codes.size() +
         s_->seqs.size() * sizeof(Sequence);
}

std::string ZstdCompress(const void* in, size_t n, int level) {
  ZstdEncoder e(level);
  std::string out;
  e.Compress(in, n, &out);
  e.End(&out);
  return out;
}

}  // namespace treesync
