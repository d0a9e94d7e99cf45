#include "delta.h"

#include <algorithm>
#include <cmath>

#include "frame.h"
#include "xxh3.h"

namespace treesync {

namespace {

// rsync's rolling checksum of a whole block: a = sum of the bytes, b = sum
// of (n - i) * byte_i, mod 2^32. The bytes are summed in kLanes columns so
// the compiler vectorizes the loop (GCC 12 at -O2 did not vectorize the
// textbook form, and this ran ~2.5x faster): with lane[j] the column sums
// and before[j] the sum of lane[j] over the chunks before the current one,
// a chunk of kLanes bytes at i contributes kLanes * (chunks after it) + (kLanes - j)
// times byte i + j to b, which the final loop adds up.
constexpr uint32_t kLanes = 16;

void Sums(const char* p, uint32_t n, uint32_t* a, uint32_t* b) {
  const unsigned char* u = reinterpret_cast<const unsigned char*>(p);
  uint32_t lane[kLanes] = {}, before[kLanes] = {};
  const uint32_t whole = n / kLanes * kLanes;
  for (uint32_t i = 0; i < whole; i += kLanes) {
    for (uint32_t j = 0; j < kLanes; ++j) {
      before[j] += lane[j];
      lane[j] += u[i + j];
    }
  }
  uint32_t s1 = 0, s2 = 0;
  for (uint32_t j = 0; j < kLanes; ++j) {
    s1 += lane[j];
    s2 += kLanes * before[j] + (kLanes - j) * lane[j];
  }
  // Every byte before the tail counts (n - whole) more times.
  s2 += (n - whole) * s1;
  for (uint32_t i = whole; i < n; ++i) {
    s1 += u[i];
    s2 += (n - i) * u[i];
  }
  *a = s1;
  *b = s2;
}

inline uint32_t Weak(uint32_t a, uint32_t b) { return (a & 0xffff) | (b << 16); }
inline uint32_t Tag(uint32_t weak) { return (weak ^ (weak >> 16)) & 0xffff; }
inline uint64_t Strong(const char* p, size_t n) { return Xxh3_128(p, n).low; }

// Rounds up without computing basis_size + block_size - 1, which wraps for
// a basis near 2^64 (a peer's signature may claim any size) and gave 0.
uint64_t BlockCount(uint64_t basis_size, uint32_t block_size) {
  return basis_size / block_size + (basis_size % block_size != 0 ? 1 : 0);
}

}  // namespace

uint32_t ChooseBlockSize(uint64_t basis_size) {
  uint64_t b = static_cast<uint64_t>(std::sqrt(static_cast<double>(basis_size)));
  b = std::max<uint64_t>(b, kMinBlock);
  b = std::max<uint64_t>(b, (basis_size + kMaxBlocks - 1) / kMaxBlocks);
  b = (b + 63) / 64 * 64;
  return b > kMaxBlockSize ? 0 : static_cast<uint32_t>(b);
}

SignatureBuilder::SignatureBuilder(uint32_t block_size) { sig_.block_size = block_size; }

void SignatureBuilder::Update(const char* data, size_t n) {
  sig_.basis_size += n;
  while (n > 0) {
    size_t take = std::min<size_t>(n, sig_.block_size - pending_.size());
    const char* block = data;
    // A whole block straight from the caller's memory, else via pending_.
    if (!(pending_.empty() && take == sig_.block_size)) {
      pending_.append(data, take);
      block = pending_.data();
    }
    data += take;
    n -= take;
    if (block == pending_.data() && pending_.size() < sig_.block_size) break;
    uint32_t a, b;
    Sums(block, sig_.block_size, &a, &b);
    sig_.blocks.push_back({Weak(a, b), Strong(block, sig_.block_size)});
    pending_.clear();
  }
}

Signature SignatureBuilder::Finish() {
  if (!pending_.empty()) {
    uint32_t a, b;
    Sums(pending_.data(), static_cast<uint32_t>(pending_.size()), &a, &b);
    sig_.blocks.push_back({Weak(a, b), Strong(pending_.data(), pending_.size())});
    pending_.clear();
  }
  return std::move(sig_);
}

uint32_t StrongBytesFor(uint64_t basis_size, uint32_t block_size) {
  int bits = 10;  // rsync's BLOCKSUM_BIAS
  for (uint64_t l = basis_size; l >>= 1;) bits += 2;
  for (uint32_t c = block_size; (c >>= 1) && bits > 0;) --bits;
  // Less the weak sum's 32 bits, plus one, rounded up to bytes.
  const int bytes = (bits + 1 - 32 + 7) / 8;
  return static_cast<uint32_t>(std::min(8, std::max(int(kMinStrongBytes), bytes)));
}

std::string EncodeSignature(const Signature& s, bool sized) {
  PayloadWriter w;
  w.U32(s.block_size);
  w.U64(s.basis_size);
  w.U32(static_cast<uint32_t>(s.blocks.size()));
  const uint32_t n = sized ? s.strong_bytes : 8;
  if (sized) w.U8(static_cast<uint8_t>(n));
  for (const BlockSignature& b : s.blocks) {
    w.U32(b.weak);
    if (n == 8) {
      w.U64(b.strong);
    } else {
      char le[8];
      for (uint32_t i = 0; i < n; ++i) le[i] = static_cast<char>(b.strong >> (8 * i));
      w.Raw(le, n);
    }
  }
  return w.Take();
}

Status DecodeSignature(const std::string& payload, bool sized, Signature* s) {
  const size_t head = sized ? 17 : 16;
  if (payload.size() < head) return Status::Protocol("bad signature: truncated");
  PayloadReader r(payload, "signature");
  uint32_t count = 0;
  r.U32(&s->block_size);
  r.U64(&s->basis_size);
  r.U32(&count);
  s->strong_bytes = 8;
  if (sized) {
    uint8_t n = 0;
    r.U8(&n);
    if (n < kMinStrongBytes || n > 8) {
      return Status::Protocol("bad signature: strong sums of " + std::to_string(n) + " bytes");
    }
    s->strong_bytes = n;
  }
  if (s->block_size == 0 || s->block_size > kMaxBlockSize || count > kMaxBlocks ||
      count != BlockCount(s->basis_size, s->block_size)) {
    return Status::Protocol("bad signature: " + std::to_string(count) + " blocks of " +
                            std::to_string(s->block_size) + " bytes for a basis of " +
                            std::to_string(s->basis_size));
  }
  if (payload.size() != head + (4 + s->strong_bytes) * static_cast<size_t>(count)) {
    return Status::Protocol("bad signature: wrong length");
  }
  s->blocks.resize(count);
  for (BlockSignature& b : s->blocks) {
    r.U32(&b.weak);
    if (s->strong_bytes == 8) {
      r.U64(&b.strong);
      continue;
    }
    uint8_t le[8] = {};
    r.Raw(le, s->strong_bytes);
    b.strong = 0;
    for (uint32_t i = 0; i < s->strong_bytes; ++i) b.strong |= uint64_t(le[i]) << (8 * i);
  }
  return r.Finish();
}

Status CopyRange(uint32_t block_size, uint64_t basis_size, uint32_t first_block,
                 uint32_t block_count, uint64_t* offset, uint64_t* length) {
  uint64_t blocks = block_size == 0 ? 0 : BlockCount(basis_size, block_size);
  if (block_count == 0 || uint64_t(first_block) + block_count > blocks) {
    return Status::Protocol("Copy of blocks " + std::to_string(first_block) + "+" +
                            std::to_string(block_count) + " outside a basis of " +
                            std::to_string(blocks) + " blocks");
  }
  *offset = uint64_t(first_block) * block_size;
  *length = std::min<uint64_t>(uint64_t(block_count) * block_size, basis_size - *offset);
  return Status::Ok();
}

DeltaEncoder::DeltaEncoder(const Signature& sig)
    : sig_(sig),
      strong_mask_(sig.strong_bytes >= 8 ? ~uint64_t(0)
                                         : (uint64_t(1) << (8 * sig.strong_bytes)) - 1),
      block_size_(sig.block_size),
      whole_blocks_(static_cast<uint32_t>(
          sig.block_size == 0 ? 0 : std::min<uint64_t>(sig.blocks.size(), sig.basis_size / sig.block_size))),
      tag_(1 << 16, -1) {
  order_.resize(whole_blocks_);
  for (uint32_t i = 0; i < whole_blocks_; ++i) order_[i] = i;
  std::sort(order_.begin(), order_.end(), [this](uint32_t x, uint32_t y) {
    uint32_t tx = Tag(sig_.blocks[x].weak), ty = Tag(sig_.blocks[y].weak);
    return tx != ty ? tx < ty : x < y;
  });
  for (size_t i = order_.size(); i-- > 0;) tag_[Tag(sig_.blocks[order_[i]].weak)] = static_cast<int32_t>(i);
}

bool DeltaEncoder::Match(uint32_t weak, const char* block, uint32_t* index) const {
  int32_t first = tag_[Tag(weak)];
  if (first < 0) return false;
  uint64_t strong = 0;
  bool have_strong = false;
  auto same = [&](uint32_t i) {
    if (sig_.blocks[i].weak != weak) return false;
    if (!have_strong) {
      strong = Strong(block, block_size_) & strong_mask_;
      have_strong = true;
    }
    return sig_.blocks[i].strong == strong;
  };
  // Files change in places: the block after the last match is the likeliest.
  uint32_t next = copy_first_ + copy_count_;
  if (copy_open_ && next < whole_blocks_ && same(next)) {
    *index = next;
    return true;
  }
  uint32_t tag = Tag(weak);
  for (size_t i = static_cast<size_t>(first);
       i < order_.size() && Tag(sig_.blocks[order_[i]].weak) == tag; ++i) {
    if (same(order_[i])) {
      *index = order_[i];
      return true;
    }
  }
  return false;
}

Status DeltaEncoder::FlushCopy(DeltaSink* sink) {
  if (!copy_open_) return Status::Ok();
  copy_open_ = false;
  return copy_count_ == 0 ? Status::Ok() : sink->Copy(copy_first_, copy_count_);
}

Status DeltaEncoder::ExtendCopy(DeltaSink* sink) {
  ++copy_count_;
  if (uint64_t(copy_count_ + 1) * block_size_ <= kMaxCopyRun) return Status::Ok();
  TS_RETURN_IF_ERROR(sink->Copy(copy_first_, copy_count_));
  copy_first_ += copy_count_;
  copy_count_ = 0;
  return Status::Ok();
}

Status DeltaEncoder::FlushLiteral(DeltaSink* sink) {
  if (literal_.empty()) return Status::Ok();
  TS_RETURN_IF_ERROR(FlushCopy(sink));
  Status s = sink->Literal(literal_.data(), literal_.size());
  literal_.clear();
  return s;
}

Status DeltaEncoder::EmitCopy(uint32_t index, DeltaSink* sink) {
  TS_RETURN_IF_ERROR(FlushLiteral(sink));
  if (copy_open_ && index == copy_first_ + copy_count_) return ExtendCopy(sink);
  TS_RETURN_IF_ERROR(FlushCopy(sink));
  copy_open_ = true;
  copy_first_ = index;
  copy_count_ = 0;
  return ExtendCopy(sink);
}

Status DeltaEncoder::Update(const char* data, size_t n, DeltaSink* sink) {
  if (whole_blocks_ == 0) {  // nothing to match: all literal
    for (size_t done = 0; done < n;) {
      size_t take = std::min(n - done, kMaxLiteral - literal_.size());
      literal_.append(data + done, take);
      done += take;
      if (literal_.size() == kMaxLiteral) TS_RETURN_IF_ERROR(FlushLiteral(sink));
    }
    return Status::Ok();
  }
  window_.append(data, n);
  const uint32_t L = block_size_;
  while (window_.size() - pos_ >= L) {
    const char* w = window_.data() + pos_;
    // Right after a match the next basis block is the likeliest: one strong
    // hash (fast) decides, before any rolling sums are computed.
    uint32_t next = copy_first_ + copy_count_;
    if (!rolling_ && copy_open_ && next < whole_blocks_ &&
        (Strong(w, L) & strong_mask_) == sig_.blocks[next].strong) {
      TS_RETURN_IF_ERROR(ExtendCopy(sink));
      pos_ += L;
      continue;
    }
    if (!rolling_) {
      Sums(w, L, &a_, &b_);
      rolling_ = true;
    }
    uint32_t index;
    if (Match(Weak(a_, b_), w, &index)) {
      TS_RETURN_IF_ERROR(EmitCopy(index, sink));
      pos_ += L;
      rolling_ = false;
      continue;
    }
    unsigned char out = static_cast<unsigned char>(w[0]);
    literal_.push_back(static_cast<char>(out));
    if (literal_.size() >= kMaxLiteral) TS_RETURN_IF_ERROR(FlushLiteral(sink));
    if (window_.size() - pos_ > L) {
      unsigned char in = static_cast<unsigned char>(w[L]);
      a_ = a_ - out + in;
      b_ = b_ - L * out + a_;
    } else {
      rolling_ = false;  // the next byte hasn't arrived: sums start over then
    }
    ++pos_;
  }
  // Keep only the unmatched tail: memory stays about one block.
  if (pos_ > 0) {
    window_.erase(0, pos_);
    pos_ = 0;
  }
  return Status::Ok();
}

Status DeltaEncoder::Finish(DeltaSink* sink) {
  for (size_t i = pos_; i < window_.size(); ++i) {
    literal_.push_back(window_[i]);
    if (literal_.size() >= kMaxLiteral) TS_RETURN_IF_ERROR(FlushLiteral(sink));
  }
  window_.clear();
  pos_ = 0;
  TS_RETURN_IF_ERROR(FlushLiteral(sink));
  return FlushCopy(sink);
}

}  // namespace treesync
