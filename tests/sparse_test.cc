#include "sparse.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace treesync {
namespace {

struct Piece {
  bool hole;
  size_t offset, length;
  bool operator==(const Piece& o) const {
    return hole == o.hole && offset == o.offset && length == o.length;
  }
};

std::vector<Piece> Split(const std::string& data, uint64_t at, bool edges = false) {
  std::vector<Piece> runs;
  Status s = SplitHoles(data.data(), data.size(), at, [&](bool hole, size_t off, size_t n) {
    runs.push_back({hole, off, n});
    return Status::Ok();
  }, edges);
  EXPECT_TRUE(s.ok());
  return runs;
}

TEST(SplitHoles, WholeZeroBlocksAreOneHole) {
  std::string data(3 * kHoleBlock, '\0');
  EXPECT_EQ(Split(data, 0), (std::vector<Piece>{{true, 0, 3 * kHoleBlock}}));
}

TEST(SplitHoles, DataBetweenHolesStaysData) {
  std::string data(4 * kHoleBlock, '\0');
  data[kHoleBlock + 5] = 'x';
  data[2 * kHoleBlock] = 'y';
  EXPECT_EQ(Split(data, 0), (std::vector<Piece>{{true, 0, kHoleBlock},
                                              {false, kHoleBlock, 2 * kHoleBlock},
                                              {true, 3 * kHoleBlock, kHoleBlock}}));
}

TEST(SplitHoles, BlocksAreAlignedToTheFileNotTheBuffer) {
  // At file offset 100, the first whole block starts 3996 bytes in; the
  // zeros before it and the tail after the last whole block are data.
  std::string data(3 * kHoleBlock, '\0');
  EXPECT_EQ(Split(data, 100), (std::vector<Piece>{{false, 0, kHoleBlock - 100},
                                                {true, kHoleBlock - 100, 2 * kHoleBlock},
                                                {false, 3 * kHoleBlock - 100, 100}}));
}

TEST(SplitHoles, ZerosShorterThanABlockAreData) {
  std::string data(kHoleBlock - 1, '\0');
  EXPECT_EQ(Split(data, 0), (std::vector<Piece>{{false, 0, kHoleBlock - 1}}));
  EXPECT_TRUE(Split("", 0).empty());
}

TEST(SplitHoles, NoZerosIsOneRunOfData) {
  std::string data(2 * kHoleBlock + 17, 'a');
  EXPECT_EQ(Split(data, 0), (std::vector<Piece>{{false, 0, data.size()}}));
}

TEST(SplitHoles, WithEdgesZerosBesideTheBlockBoundariesAreHolesToo) {
  // At offset 100: 3,996 zeros up to the first boundary, a zero block, a
  // block with data, then 50 zeros after the last boundary.
  std::string data(3996 + 2 * kHoleBlock + 50, '\0');
  data[3996 + kHoleBlock + 1] = 'x';
  EXPECT_EQ(Split(data, 100, true), (std::vector<Piece>{{true, 0, 3996 + kHoleBlock},
                                                       {false, 3996 + kHoleBlock, kHoleBlock},
                                                       {true, 3996 + 2 * kHoleBlock, 50}}));
  // Without edges those zeros are data.
  EXPECT_EQ(Split(data, 100), (std::vector<Piece>{{false, 0, 3996},
                                                 {true, 3996, kHoleBlock},
                                                 {false, 3996 + kHoleBlock, kHoleBlock + 50}}));
  // Within one block: all zeros is a hole, any data makes it data.
  EXPECT_EQ(Split(std::string(10, '\0'), 5, true), (std::vector<Piece>{{true, 0, 10}}));
  EXPECT_EQ(Split(std::string(10, 'a'), 5, true), (std::vector<Piece>{{false, 0, 10}}));
  // Zeros after the last boundary with data before them.
  std::string tail(kHoleBlock + 7, 'a');
  tail.replace(kHoleBlock, 7, 7, '\0');
  EXPECT_EQ(Split(tail, 0, true), (std::vector<Piece>{{false, 0, kHoleBlock}, {true, kHoleBlock, 7}}));
}

TEST(SplitHoles, StopsAtTheFirstError) {
  std::string data(2 * kHoleBlock, '\0');
  data[kHoleBlock] = 'x';
  int calls = 0;
  Status s = SplitHoles(data.data(), data.size(), 0, [&](bool, size_t, size_t) {
    ++calls;
    return Status::Io("full");
  });
  EXPECT_EQ(s.kind(), ErrorKind::kIo);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace treesync
