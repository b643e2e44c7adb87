#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "core/error.hpp"
#include "core/task_pool.hpp"

namespace dp {
namespace {

TEST(TaskPool, RunsEveryTaskOnceAndWaitsForAll) {
  for (int threads : {1, 2, 7}) {
    TaskPool pool(threads);
    EXPECT_EQ(pool.threads(), threads);
    std::vector<int> ran(1000, 0);  // one writer per slot; wait() orders the writes before the reads
    for (int round = 0; round < 3; ++round) {
      for (std::size_t i = 0; i < ran.size(); ++i) pool.submit([&ran, i] { ++ran[i]; });
      pool.wait();
      for (std::size_t i = 0; i < ran.size(); ++i) ASSERT_EQ(ran[i], round + 1) << "task " << i << ", " << threads << " threads";
    }
  }
}

TEST(TaskPool, WaitWithNothingSubmittedReturns) {
  TaskPool pool(2);
  pool.wait();
}

TEST(TaskPool, DestructorFinishesQueuedTasks) {
  std::atomic<int> done{0};
  {
    TaskPool pool(1);
    for (int i = 0; i < 100; ++i) pool.submit([&done] { done.fetch_add(1, std::memory_order_relaxed); });
  }
  EXPECT_EQ(done.load(), 100);
}

TEST(TaskPool, RejectsZeroThreads) { EXPECT_THROW(TaskPool(0), Error); }

}  // namespace
}  // namespace dp
