// Tests of core/thread_team.hpp: every thread runs its share once per round, the caller runs
// share 0, and pinning gives the thread its CPU set back; run_together runs every job once, at once.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/thread_team.hpp"

namespace dp {
namespace {

TEST(ThreadTeam, EveryShareRunsOncePerRound) {
  constexpr int kThreads = 3;  // more than the CPUs of a 2-core machine: pinning wraps around
  std::vector<std::atomic<int>> runs(kThreads);
  std::thread::id share0_thread;
  {
    ThreadTeam team(kThreads, [&](int t) {
      runs[static_cast<std::size_t>(t)].fetch_add(1);
      if (t == 0) share0_thread = std::this_thread::get_id();
    });
    for (int round = 1; round <= 5; ++round) {
      team.run();
      for (int t = 0; t < kThreads; ++t) EXPECT_EQ(runs[static_cast<std::size_t>(t)].load(), round) << "share " << t;
    }
  }
  EXPECT_EQ(share0_thread, std::this_thread::get_id());  // the caller works too
}

TEST(ThreadTeam, OneThreadIsTheCallerAlone) {
  int runs = 0;
  ThreadTeam team(1, [&](int t) { runs += t + 1; });
  team.run();
  team.run();
  EXPECT_EQ(runs, 2);
}

// Two live teams pinned to the same CPUs spin against each other: each round then waits for the
// scheduler's time slices (the sparse lab once measured 4 ms per thread per round that way).
TEST(ThreadTeam, ASecondLiveTeamIsRefusedAndTheFirstStillWorks) {
  std::atomic<int> runs{0};
  {
    ThreadTeam first(2, [&](int) { runs.fetch_add(1); });
    EXPECT_THROW(ThreadTeam(2, [](int) {}), Error);
    first.run();
    EXPECT_EQ(runs.load(), 2);
  }
  ThreadTeam after(2, [&](int) { runs.fetch_add(1); });  // the first has ended: allowed again
  after.run();
  EXPECT_EQ(runs.load(), 4);
}

TEST(PinnedToCpu, PinsAndGivesTheCpuSetBack) {
  const std::vector<int> before = allowed_cpus();
#ifdef __linux__
  ASSERT_FALSE(before.empty());
  {
    const PinnedToCpu pin(before.back());
    EXPECT_EQ(allowed_cpus(), std::vector<int>{before.back()});
  }
#endif
  EXPECT_EQ(allowed_cpus(), before);
}

TEST(RunTogether, EveryJobRunsOnceAndAllOverlap) {
  constexpr int kThreads = 5;  // more than the CPUs of a 2-core machine
  std::vector<std::atomic<int>> runs(kThreads);
  std::atomic<int> started{0};
  std::atomic<int> saw_all{0};
  run_together(kThreads, [&](int t) {
    runs[static_cast<std::size_t>(t)].fetch_add(1);
    started.fetch_add(1);
    while (started.load() < kThreads) std::this_thread::yield();  // all run at once, or this hangs
    saw_all.fetch_add(1);
  });
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(runs[static_cast<std::size_t>(t)].load(), 1) << "job " << t;
  EXPECT_EQ(saw_all.load(), kThreads);
}

}  // namespace
}  // namespace dp
