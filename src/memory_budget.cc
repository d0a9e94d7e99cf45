#include "memory_budget.h"

namespace treesync {

bool MemoryBudget::TryTake(size_t n) {
  size_t taken = taken_.load(std::memory_order_relaxed);
  do {
    if (n > total_ - taken) return false;
  } while (!taken_.compare_exchange_weak(taken, taken + n, std::memory_order_relaxed));
  return true;
}

void MemoryBudget::Give(size_t n) { taken_.fetch_sub(n, std::memory_order_relaxed); }

}  // namespace treesync
