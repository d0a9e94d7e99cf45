#include "memory_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace treesync {
namespace {

TEST(MemoryBudget, TakesOnlyWhatIsLeft) {
  MemoryBudget b(100);
  EXPECT_TRUE(b.TryTake(60));
  EXPECT_FALSE(b.TryTake(41));
  EXPECT_EQ(b.taken(), 60u);
  EXPECT_TRUE(b.TryTake(40));
  EXPECT_FALSE(b.TryTake(1));
  b.Give(60);
  EXPECT_EQ(b.taken(), 40u);
  EXPECT_TRUE(b.TryTake(60));
}

TEST(MemoryBudget, AnEmptyBudgetGivesNothing) {
  MemoryBudget b(0);
  EXPECT_FALSE(b.TryTake(1));
  EXPECT_TRUE(b.TryTake(0));
  EXPECT_EQ(b.taken(), 0u);
}

TEST(MemoryBudget, ThreadsTakingAtOnceNeverTakeMoreThanTheTotal) {
  MemoryBudget b(1000);
  std::atomic<size_t> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (b.TryTake(7)) granted += 7;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(granted.load(), b.taken());
  EXPECT_LE(b.taken(), 1000u);
  EXPECT_GT(b.taken(), 1000u - 7);
}

}  // namespace
}  // namespace treesync
