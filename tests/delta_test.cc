#include "delta.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "sum_collision.h"

namespace treesync {
namespace {

// Rebuilds the new file in memory from the basis and the encoder's output.
class Rebuild : public DeltaSink {
 public:
  Rebuild(const std::string& basis, const Signature& sig) : basis_(basis), sig_(sig) {}
  Status Literal(const char* data, size_t n) override {
    if (n == 0 || n > kMaxLiteral) return Status::Protocol("literal of " + std::to_string(n));
    out += std::string(data, n);
    literal_bytes += n;
    return Status::Ok();
  }
  Status Copy(uint32_t first, uint32_t count) override {
    uint64_t offset, length;
    TS_RETURN_IF_ERROR(CopyRange(sig_.block_size, sig_.basis_size, first, count, &offset, &length));
    out.append(basis_, offset, length);
    copied_blocks += count;
    return Status::Ok();
  }
  std::string out;
  size_t literal_bytes = 0;
  size_t copied_blocks = 0;

 private:
  const std::string& basis_;
  const Signature& sig_;
};

std::string Random(std::mt19937* rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>((*rng)());
  return s;
}

// Signs the basis and encodes `next`, both fed in random pieces, and
// returns what a receiver rebuilds.
Rebuild RoundTrip(const std::string& basis, const std::string& next, std::mt19937* rng,
                  Signature* sig_out) {
  SignatureBuilder builder(ChooseBlockSize(basis.size()));
  for (size_t p = 0; p < basis.size();) {
    size_t n = std::min<size_t>(basis.size() - p, 1 + (*rng)() % 70000);
    builder.Update(basis.data() + p, n);
    p += n;
  }
  Signature sent = builder.Finish();
  EXPECT_TRUE(DecodeSignature(EncodeSignature(sent, false), false, sig_out).ok());
  DeltaEncoder encoder(*sig_out);
  Rebuild r(basis, *sig_out);
  for (size_t p = 0; p < next.size();) {
    size_t n = std::min<size_t>(next.size() - p, 1 + (*rng)() % 300000);
    EXPECT_TRUE(encoder.Update(next.data() + p, n, &r).ok());
    p += n;
  }
  EXPECT_TRUE(encoder.Finish(&r).ok());
  return r;
}

class DeltaCase : public ::testing::Test {
 protected:
  std::mt19937 rng{12345};
  Signature sig;
  std::string basis = Random(&rng, 1000000);
};

TEST_F(DeltaCase, IdenticalFilesAreAllCopies) {
  Rebuild r = RoundTrip(basis, basis, &rng, &sig);
  EXPECT_EQ(r.out, basis);
  // Only the short last block travels as data.
  EXPECT_LT(r.literal_bytes, sig.block_size);
}

TEST_F(DeltaCase, EditInsideABlockSendsAboutOneBlock) {
  std::string next = basis;
  next[500000] ^= 0x40;
  Rebuild r = RoundTrip(basis, next, &rng, &sig);
  EXPECT_EQ(r.out, next);
  EXPECT_LE(r.literal_bytes, 3 * sig.block_size);
}

TEST_F(DeltaCase, EditsAcrossBlockBoundaries) {
  std::string next = basis;
  uint32_t bs = ChooseBlockSize(basis.size());
  for (uint32_t k : {1u, 7u, 100u}) {
    for (int d = -3; d < 3; ++d) next[k * bs + d] ^= 1;
  }
  Rebuild r = RoundTrip(basis, next, &rng, &sig);
  EXPECT_EQ(r.out, next);
}

TEST_F(DeltaCase, InsertionShiftsEverythingYetMostIsCopied) {
  std::string next = basis.substr(0, 333333) + "inserted bytes" + basis.substr(333333);
  Rebuild r = RoundTrip(basis, next, &rng, &sig);
  EXPECT_EQ(r.out, next);
  EXPECT_LT(r.literal_bytes, 4 * sig.block_size);
}

TEST_F(DeltaCase, ShiftByOneByteAtTheFront) {
  std::string next = "x" + basis;
  Rebuild r = RoundTrip(basis, next, &rng, &sig);
  EXPECT_EQ(r.out, next);
  EXPECT_LT(r.literal_bytes, 2 * sig.block_size);
}

TEST_F(DeltaCase, Deletion) {
  std::string next = basis.substr(0, 400000) + basis.substr(412345);
  Rebuild r = RoundTrip(basis, next, &rng, &sig);
  EXPECT_EQ(r.out, next);
}

TEST_F(DeltaCase, TruncationAndGrowth) {
  std::string shorter = basis.substr(0, 123457);
  EXPECT_EQ(RoundTrip(basis, shorter, &rng, &sig).out, shorter);
  std::string longer = basis + Random(&rng, 77777);
  EXPECT_EQ(RoundTrip(basis, longer, &rng, &sig).out, longer);
}

TEST_F(DeltaCase, BasisLargerThanTheNewFile) {
  std::string next = basis.substr(600000, 1000);
  EXPECT_EQ(RoundTrip(basis, next, &rng, &sig).out, next);
}

TEST_F(DeltaCase, EmptyBasisSendsEverythingAsLiterals) {
  std::string next = basis.substr(0, 700000);
  Rebuild r = RoundTrip(std::string(), next, &rng, &sig);
  EXPECT_EQ(r.out, next);
  EXPECT_EQ(r.copied_blocks, 0u);
}

TEST_F(DeltaCase, EmptyNewFile) {
  Rebuild r = RoundTrip(basis, std::string(), &rng, &sig);
  EXPECT_TRUE(r.out.empty());
}

TEST_F(DeltaCase, RenamedFileIsRebuiltFromItsOldContent) {
  // A rename on the server: the new name's content is exactly a local file.
  Rebuild r = RoundTrip(basis, basis, &rng, &sig);
  EXPECT_EQ(r.copied_blocks, basis.size() / sig.block_size);
}

TEST_F(DeltaCase, RandomEditsKeepTheResultExact) {
  for (int round = 0; round < 20; ++round) {
    std::string next = basis;
    for (int e = 0; e < 5; ++e) {
      size_t at = rng() % next.size();
      switch (rng() % 3) {
        case 0: next[at] = static_cast<char>(rng()); break;
        case 1: next.insert(at, Random(&rng, 1 + rng() % 5000)); break;
        case 2: next.erase(at, 1 + rng() % 5000); break;
      }
    }
    ASSERT_EQ(RoundTrip(basis, next, &rng, &sig).out, next) << "round " << round;
  }
}

TEST_F(DeltaCase, LongMatchesGoOutInBoundedRuns) {
  // One Copy for the whole unchanged file would leave the receiver idle
  // until the encoder has read all of it.
  std::string big = Random(&rng, 2 * kMaxCopyRun + 12345);
  std::vector<std::pair<uint32_t, uint32_t>> copies;
  struct Runs : Rebuild {
    using Rebuild::Rebuild;
    std::vector<std::pair<uint32_t, uint32_t>>* copies;
    Status Copy(uint32_t first, uint32_t count) override {
      copies->emplace_back(first, count);
      return Rebuild::Copy(first, count);
    }
  };
  SignatureBuilder builder(ChooseBlockSize(big.size()));
  builder.Update(big.data(), big.size());
  sig = builder.Finish();
  Runs r(big, sig);
  r.copies = &copies;
  DeltaEncoder encoder(sig);
  ASSERT_TRUE(encoder.Update(big.data(), big.size(), &r).ok());
  ASSERT_TRUE(encoder.Finish(&r).ok());
  EXPECT_EQ(r.out, big);
  ASSERT_GE(copies.size(), 3u);
  uint32_t next = 0;
  for (const auto& c : copies) {
    EXPECT_EQ(c.first, next);  // the runs still follow each other
    EXPECT_LE(uint64_t(c.second) * sig.block_size, kMaxCopyRun);
    next = c.first + c.second;
  }
  EXPECT_EQ(next, big.size() / sig.block_size);
}

// The weak sum of each block is rsync's rolling checksum as PROTOCOL.md
// defines it, whatever the block's length (the short last block included).
TEST(Delta, WeakSumIsRsyncsRollingChecksum) {
  std::mt19937 rng(7);
  for (size_t size : {size_t(1), size_t(15), size_t(2048), size_t(2048 + 17), size_t(3 * 2048 - 1)}) {
    std::string data = Random(&rng, size);
    SignatureBuilder builder(2048);
    builder.Update(data.data(), data.size());
    Signature sig = builder.Finish();
    ASSERT_EQ(sig.blocks.size(), (size + 2047) / 2048);
    for (size_t k = 0; k < sig.blocks.size(); ++k) {
      size_t begin = k * 2048, len = std::min<size_t>(2048, size - begin);
      uint32_t a = 0, b = 0;
      for (size_t i = 0; i < len; ++i) {
        uint32_t byte = static_cast<unsigned char>(data[begin + i]);
        a += byte;
        b += static_cast<uint32_t>(len - i) * byte;
      }
      EXPECT_EQ(sig.blocks[k].weak, (a & 0xffff) | (b << 16)) << "size " << size << " block " << k;
    }
  }
}

TEST(Delta, BlockSizeGrowsWithTheBasisAndBoundsTheBlockCount) {
  EXPECT_EQ(ChooseBlockSize(0), kMinBlock);
  EXPECT_EQ(ChooseBlockSize(1 << 20), kMinBlock);
  uint32_t big = ChooseBlockSize(uint64_t(256) << 20);
  EXPECT_GE(big, 16000u);
  EXPECT_EQ(big % 64, 0u);
  uint64_t large = uint64_t(60) << 30;
  EXPECT_LE((large + ChooseBlockSize(large) - 1) / ChooseBlockSize(large), kMaxBlocks);
  EXPECT_EQ(ChooseBlockSize(uint64_t(1) << 40), 0u);  // too large: sent whole
}

TEST(Delta, SizedSignaturesCarryAsManyStrongBytesAsTheyName) {
  std::mt19937 rng(5);
  const std::string basis = Random(&rng, 10000);
  SignatureBuilder builder(2048);
  builder.Update(basis.data(), basis.size());
  Signature sig = builder.Finish();
  for (uint32_t n = kMinStrongBytes; n <= 8; ++n) {
    sig.strong_bytes = n;
    const std::string wire = EncodeSignature(sig, true);
    EXPECT_EQ(wire.size(), 17 + sig.blocks.size() * (4 + n));
    Signature back;
    ASSERT_TRUE(DecodeSignature(wire, true, &back).ok()) << n;
    EXPECT_EQ(back.strong_bytes, n);
    const uint64_t mask = n == 8 ? ~uint64_t(0) : (uint64_t(1) << (8 * n)) - 1;
    for (size_t i = 0; i < sig.blocks.size(); ++i) {
      EXPECT_EQ(back.blocks[i].weak, sig.blocks[i].weak);
      EXPECT_EQ(back.blocks[i].strong, sig.blocks[i].strong & mask);
    }
    // Still what the encoder matches against: the unchanged file is all Copy.
    DeltaEncoder encoder(back);
    Rebuild r(basis, back);
    ASSERT_TRUE(encoder.Update(basis.data(), basis.size(), &r).ok());
    ASSERT_TRUE(encoder.Finish(&r).ok());
    EXPECT_TRUE(r.out == basis) << n;
    EXPECT_EQ(r.copied_blocks, 4u) << n;  // the short last block travels as literal
  }
  // An unsized signature is the old format, 8 bytes a sum.
  EXPECT_EQ(EncodeSignature(sig, false).size(), 16 + sig.blocks.size() * 12);
  Signature back;
  for (int bad : {0, 1, 9, 255}) {
    std::string wire = EncodeSignature(sig, true);
    wire[16] = static_cast<char>(bad);
    EXPECT_EQ(DecodeSignature(wire, true, &back).kind(), ErrorKind::kProtocol) << bad;
  }
  sig.strong_bytes = 3;
  std::string cut = EncodeSignature(sig, true);
  cut.pop_back();
  EXPECT_EQ(DecodeSignature(cut, true, &back).kind(), ErrorKind::kProtocol);
}

TEST(Delta, StrongBytesGrowWithTheBasisAsRsyncs) {
  EXPECT_EQ(StrongBytesFor(2048, 2048), kMinStrongBytes);
  EXPECT_EQ(StrongBytesFor(1 << 20, 2048), kMinStrongBytes);
  EXPECT_EQ(StrongBytesFor(uint64_t(256) << 20, 16384), 3u);  // rsync: 3 as well
  EXPECT_EQ(StrongBytesFor(uint64_t(60) << 30, ChooseBlockSize(uint64_t(60) << 30)), 4u);
  EXPECT_LE(StrongBytesFor(~uint64_t(0), 2048), 8u);
}

TEST(Delta, ShortStrongSumsCanMatchTheWrongBlockAndWholeOnesDoNot) {
  // Why a short-sum delta that fails its file hash is asked again with
  // whole sums (receive_session): this block passes for the basis's.
  std::mt19937 rng(11);
  const std::string basis = Random(&rng, 2048);
  const std::string next = test::SumCollision(basis, 3);
  ASSERT_NE(next, basis);
  for (uint32_t n : {2u, 8u}) {
    SignatureBuilder builder(2048);
    builder.Update(basis.data(), basis.size());
    Signature sig = builder.Finish();
    sig.strong_bytes = n;
    Signature back;
    ASSERT_TRUE(DecodeSignature(EncodeSignature(sig, true), true, &back).ok());
    DeltaEncoder encoder(back);
    Rebuild r(basis, back);
    ASSERT_TRUE(encoder.Update(next.data(), next.size(), &r).ok());
    ASSERT_TRUE(encoder.Finish(&r).ok());
    if (n == 2) {
      EXPECT_TRUE(r.out == basis) << "the false match";
    } else {
      EXPECT_TRUE(r.out == next);
    }
  }
}

TEST(Delta, DecodeSignatureRejectsHostileInput) {
  Signature s;
  EXPECT_FALSE(DecodeSignature("", false, &s).ok());
  Signature bad;
  bad.block_size = 0;
  bad.basis_size = 10;
  EXPECT_FALSE(DecodeSignature(EncodeSignature(bad, false), false, &s).ok());
  bad.block_size = kMaxBlockSize + 64;
  EXPECT_FALSE(DecodeSignature(EncodeSignature(bad, false), false, &s).ok());
  Signature wrong_count;
  wrong_count.block_size = 2048;
  wrong_count.basis_size = 10000;  // 5 blocks, but none listed
  EXPECT_FALSE(DecodeSignature(EncodeSignature(wrong_count, false), false, &s).ok());
  std::string trailing = EncodeSignature(Signature{2048, 0, {}, 8}, false) + "x";
  EXPECT_FALSE(DecodeSignature(trailing, false, &s).ok());
}

// basis_size + block_size - 1 wrapped for a basis near 2^64, so a count of
// 0 "fitted" it: a peer could claim a 16 EiB basis with no blocks at all.
TEST(Delta, DecodeSignatureRejectsABasisSoLargeThatRoundingUpItsBlockCountWraps) {
  Signature s;
  for (uint32_t block_size : {2u, 2048u, kMaxBlockSize}) {
    Signature bad;
    bad.block_size = block_size;
    bad.basis_size = ~uint64_t(0) - (block_size - 2);
    EXPECT_EQ(DecodeSignature(EncodeSignature(bad, false), false, &s).kind(), ErrorKind::kProtocol)
        << block_size;
  }
  // CopyRange counts the same way: such a basis does have a first block.
  uint64_t offset = 1, length = 0;
  ASSERT_TRUE(CopyRange(2048, ~uint64_t(0), 0, 1, &offset, &length).ok());
  EXPECT_EQ(offset, 0u);
  EXPECT_EQ(length, 2048u);
}

TEST(Delta, CopyRangeRejectsBlocksOutsideTheBasis) {
  uint64_t offset, length;
  ASSERT_TRUE(CopyRange(2048, 5000, 2, 1, &offset, &length).ok());
  EXPECT_EQ(offset, 4096u);
  EXPECT_EQ(length, 904u);  // the short last block
  EXPECT_FALSE(CopyRange(2048, 5000, 3, 1, &offset, &length).ok());
  EXPECT_FALSE(CopyRange(2048, 5000, 1, 0, &offset, &length).ok());
  EXPECT_FALSE(CopyRange(2048, 5000, 0xFFFFFFFFu, 2, &offset, &length).ok());
}

}  // namespace
}  // namespace treesync
