// MemoryBudget: bytes of buffer that many connections share, so that what a
// server holds for its clients is bounded as a whole, not only per client.
// Each connection given the budget keeps a small floor of its own and takes
// what it holds beyond that from here, in steps, giving it all back when it
// ends (connection.h). Thread-safe.
#ifndef TREESYNC_MEMORY_BUDGET_H_
#define TREESYNC_MEMORY_BUDGET_H_

#include <atomic>
#include <cstddef>

namespace treesync {

class MemoryBudget {
 public:
  explicit MemoryBudget(size_t total) : total_(total) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // Takes n bytes if that many are left, else takes nothing: false.
  bool TryTake(size_t n);
  // Gives back n bytes taken before.
  void Give(size_t n);

  size_t total() const { return total_; }
  size_t taken() const { return taken_.load(std::memory_order_relaxed); }

 private:
  const size_t total_;
  std::atomic<size_t> taken_{0};
};

}  // namespace treesync

#endif  // TREESYNC_MEMORY_BUDGET_H_
