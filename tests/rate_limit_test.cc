#include "rate_limit.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace treesync {
namespace {

TEST(RateLimit, ParsesRsyncsUnits) {
  uint64_t r = 1;
  ASSERT_TRUE(ParseRate("500", &r).ok());
  EXPECT_EQ(r, 500u * 1024);
  ASSERT_TRUE(ParseRate("100K", &r).ok());
  EXPECT_EQ(r, 100u * 1024);
  ASSERT_TRUE(ParseRate("10M", &r).ok());
  EXPECT_EQ(r, 10u << 20);
  ASSERT_TRUE(ParseRate("2MiB", &r).ok());
  EXPECT_EQ(r, 2u << 20);
  ASSERT_TRUE(ParseRate("1g", &r).ok());
  EXPECT_EQ(r, 1u << 30);
  ASSERT_TRUE(ParseRate("0", &r).ok());
  EXPECT_EQ(r, 0u);
  for (const char* bad : {"", "M", "10X", "1.5M", "-1", "10MB/s", "99999999999999G"}) {
    EXPECT_EQ(ParseRate(bad, &r).kind(), ErrorKind::kUsage) << bad;
  }
}

TEST(RateLimit, BucketHandsOutTheRateOverTime) {
  const uint64_t rate = 1 << 20;  // 1 MiB/s
  TokenBucket b(rate);
  auto start = std::chrono::steady_clock::now();
  uint64_t moved = 0;
  while (moved < rate / 2) {
    size_t n = b.Take(64 << 10);
    moved += n;
    if (n == 0) {
      EXPECT_LE(b.WaitMs(), 1000);
    }
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Never faster than the rate (a slow machine can only be slower).
  EXPECT_GE(s, 0.45);
}

TEST(RateLimit, BucketHoldsNoMoreThanATenthOfASecond) {
  TokenBucket b(1 << 20);
  // Even after waiting, one Take gets at most the burst.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_LE(b.Take(1 << 30), (1u << 20) / 10 + 1);
  b.Refund(100);
  EXPECT_GE(b.Take(1000), 100u);  // and what a moment more brought
}

}  // namespace
}  // namespace treesync
