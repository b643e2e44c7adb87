// Sweeps: the size caps that keep quick runs quick on any machine, and the time budget.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <thread>

#include "core/lab.hpp"
#include "core/machine.hpp"
#include "core/runner.hpp"
#include "core/sweep.hpp"

namespace dp {
namespace {

// A server VM like the one that timed CI out: 2 CPUs, a 480 MiB L3, 24 GiB of memory.
MachineInfo huge_cache_machine() {
  MachineInfo m;
  m.cpu = "test machine with a 480 MiB L3";
  m.cores = 2;
  m.threads = 2;
  m.memory_bytes = std::uint64_t{24} << 30;
  m.caches = {{1, "data", 48u << 10, 64, 1}, {2, "unified", 2u << 20, 64, 1}, {3, "unified", 480ull << 20, 64, 2}};
  return m;
}

TEST(LimitWorkingSet, QuickRunsStopAt256MiBWhateverTheCache) {
  const MachineInfo m = huge_cache_machine();
  const SizeLimit quick = limit_working_set(4 * m.last_level_cache_bytes(), m, true);
  EXPECT_EQ(quick.bytes, kQuickWorkingSetCap);
  EXPECT_NE(quick.note.find("256 MiB"), std::string::npos) << quick.note;
  EXPECT_NE(quick.note.find("needs a full run"), std::string::npos) << quick.note;  // 256 MiB < 2x L3

  const SizeLimit small = limit_working_set(32u << 20, m, true);  // a laptop's 4x 8 MiB
  EXPECT_EQ(small.bytes, 32u << 20);
  EXPECT_TRUE(small.note.empty());
}

TEST(LimitWorkingSet, FullRunsLeaveThreeQuartersOfMemory) {
  MachineInfo m = huge_cache_machine();
  EXPECT_EQ(limit_working_set(4 * m.last_level_cache_bytes(), m, false).bytes, 4 * (480ull << 20));
  m.memory_bytes = std::uint64_t{4} << 30;
  const SizeLimit capped = limit_working_set(4 * m.last_level_cache_bytes(), m, false);
  EXPECT_EQ(capped.bytes, std::uint64_t{1} << 30);
  EXPECT_NE(capped.note.find("a quarter of this machine's 4 GiB"), std::string::npos) << capped.note;
}

TEST(GeometricSizes, StepsEndAtTheLast) {
  EXPECT_EQ(geometric_sizes(4096, 65536, 4), (std::vector<std::uint64_t>{4096, 16384, 65536}));
  EXPECT_EQ(geometric_sizes(4096, 40000, 4), (std::vector<std::uint64_t>{4096, 16384, 40000}));
  EXPECT_EQ(geometric_sizes(1000, 1000, 10), (std::vector<std::uint64_t>{1000}));
  EXPECT_EQ(geometric_sizes(4, 16, 2, true), (std::vector<std::uint64_t>{4, 6, 8, 12, 16}));
  EXPECT_EQ(geometric_sizes(1, ~std::uint64_t{0}, 1u << 31).size(), 4u);  // no overflow, ends at the last
}

// A lab context around `result`, with a time budget (0 = a full run).
struct FakeRun {
  Params params = Params::resolve({}, true, {});
  MachineInfo machine = huge_cache_machine();
  Result result;
  std::ostringstream log;
  LabContext ctx{params, true, MeasureConfig::quick(), machine, result, log};
};

TEST(Sweep, FullRunsVisitEverySizeAndSayHowLongIsLeft) {
  FakeRun run;
  std::vector<std::uint64_t> seen;
  Sweep sweep(run.ctx, "working set", {4096, 8192, 16384, 32768});
  for (std::uint64_t bytes : sweep) {
    seen.push_back(bytes);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(seen, sweep.planned());
  EXPECT_FALSE(sweep.stopped_early());
  EXPECT_EQ(sweep.last_done(), 32768u);
  EXPECT_NE(run.log.str().find("[1/4] working set 4 KiB\n"), std::string::npos) << run.log.str();
  EXPECT_NE(run.log.str().find("[4/4] working set 32 KiB ("), std::string::npos) << run.log.str();
  EXPECT_TRUE(run.result.notes.empty());
}

TEST(Sweep, QuickRunsStopBeforeTheBudgetRunsOut) {
  FakeRun run;
  run.ctx.time_budget_seconds = 0.3;
  // Each step sleeps in proportion to its size: 5, 10, 20, ... 1280 ms, 2.5 s in all. With the
  // 1.5x margin the sweep stops after the 80 ms step (elapsed 155 ms + 1.5 x 160 ms > 300 ms).
  std::vector<std::uint64_t> sizes{1, 2, 4, 8, 16, 32, 64, 128, 256};
  std::vector<std::uint64_t> seen;
  Sweep sweep(run.ctx, "n", sizes);
  for (std::uint64_t n : sweep) {
    seen.push_back(n);
    std::this_thread::sleep_for(std::chrono::milliseconds(5 * n));
  }
  EXPECT_TRUE(sweep.stopped_early());
  EXPECT_GE(seen.size(), Sweep::kMinSteps);
  EXPECT_LT(seen.size(), sizes.size());
  EXPECT_LT(run.ctx.seconds_elapsed(), 1.0) << "the sweep ran far past its budget";
  ASSERT_EQ(run.result.notes.size(), 1u);
  EXPECT_NE(run.result.notes[0].find("quick mode stopped the n sweep at"), std::string::npos) << run.result.notes[0];
}

TEST(Sweep, KeepsAtLeastThreeStepsForACurve) {
  FakeRun run;
  run.ctx.time_budget_seconds = 1e-6;  // already spent
  std::size_t steps = 0;
  for ([[maybe_unused]] std::uint64_t n : Sweep(run.ctx, "n", {1, 2, 3, 4, 5})) ++steps;
  EXPECT_EQ(steps, Sweep::kMinSteps);
}

// The machine that timed CI out: access-patterns sizes itself from the cache, so its quick run
// must stop at the cap (and within its time budget) instead of sweeping 1.9 GiB.
TEST(QuickMode, AccessPatternsOnAHugeCacheMachineStaysWithinTheCap) {
  const LabDef* lab = find_lab("access-patterns");
  ASSERT_NE(lab, nullptr);
  const MachineInfo machine = huge_cache_machine();
  const Params params = Params::resolve(lab->params, true, {});
  Result result;
  std::ostringstream log;
  LabContext ctx{params, true, MeasureConfig::quick(), machine, result, log};
  ctx.time_budget_seconds = kQuickRunBudgetSeconds;
  lab->run(ctx);
  EXPECT_TRUE(result.all_checks_passed());
  double largest = 0;
  for (const auto& s : result.series)
    for (const auto& p : s.points) largest = std::max(largest, p.x);
  EXPECT_GT(largest, 0);
  EXPECT_LE(largest, static_cast<double>(kQuickWorkingSetCap));
  const bool says_capped = std::any_of(result.notes.begin(), result.notes.end(), [](const std::string& n) {
    return n.find("quick mode caps the largest working set") != std::string::npos &&
           n.find("at 256 MiB") != std::string::npos;
  });
  EXPECT_TRUE(says_capped) << "no note says the working set was capped";
}

}  // namespace
}  // namespace dp
