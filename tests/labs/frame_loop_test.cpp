// The frame-loop lab's arithmetic (src/labs/m5/frame_stats.hpp) on synthetic frames whose answers
// are known: frame times, nearest-rank tail percentiles against a brute-force count, and deadline
// misses (a frame that ends exactly on the next due time is on time; one nanosecond later it is not).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <vector>

#include "labs/m5/frame_stats.hpp"

namespace {

using dp::frame_loop::FrameRecord;
constexpr double kPeriod = 1e6;  // 1 ms: a 1000 Hz loop

// A perfectly paced loop: frame i starts at i * period and works for `work` ns.
std::vector<FrameRecord> steady_frames(std::size_t n, double work) {
  std::vector<FrameRecord> f;
  for (std::size_t i = 0; i < n; ++i) {
    const double due = static_cast<double>(i) * kPeriod;
    f.push_back({due, due, due + work});
  }
  return f;
}

TEST(FrameLoop, SteadyLoopHasPeriodFrameTimesAndNoMisses) {
  const auto f = steady_frames(1000, 0.5 * kPeriod);
  const auto times = dp::frame_loop::frame_times(f);
  ASSERT_EQ(times.size(), 999u);
  for (const double t : times) EXPECT_DOUBLE_EQ(t, kPeriod);
  const auto s = dp::frame_loop::summarize(f, kPeriod);
  EXPECT_EQ(s.misses, 0u);
  EXPECT_DOUBLE_EQ(s.p50_ns, kPeriod);
  EXPECT_DOUBLE_EQ(s.max_ns, kPeriod);
  EXPECT_DOUBLE_EQ(s.worst_late_ns, 0);
}

TEST(FrameLoop, DeadlineIsTheNextFramesDueTime) {
  auto f = steady_frames(10, 0.5 * kPeriod);
  f[3].end_ns = f[3].due_ns + kPeriod;      // ends exactly when frame 4 is due: on time
  f[5].end_ns = f[5].due_ns + kPeriod + 1;  // one nanosecond later: missed
  f[7].start_ns = f[7].due_ns + 0.9 * kPeriod;  // woke late, and its work ran past the deadline
  f[7].end_ns = f[7].start_ns + 0.5 * kPeriod;
  EXPECT_EQ(dp::frame_loop::deadline_misses(f, kPeriod), 2u);
  const auto s = dp::frame_loop::summarize(f, kPeriod);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_DOUBLE_EQ(s.worst_late_ns, 0.9 * kPeriod);
  // Frame 7's late start lengthens the interval before it and shortens the one after.
  const auto times = dp::frame_loop::frame_times(f);
  EXPECT_DOUBLE_EQ(times[6], 1.9 * kPeriod);
  EXPECT_DOUBLE_EQ(times[7], 0.1 * kPeriod);
}

TEST(FrameLoop, TailPercentileIsARealSampleAtItsRank) {
  // 1..1000: p50 is 500, p99 990, p99.9 999, max 1000 (nearest rank, no interpolation).
  std::vector<double> v(1000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i + 1);
  std::shuffle(v.begin(), v.end(), std::mt19937(7));
  EXPECT_DOUBLE_EQ(dp::frame_loop::tail_percentile(v, 0.5), 500);
  EXPECT_DOUBLE_EQ(dp::frame_loop::tail_percentile(v, 0.99), 990);
  EXPECT_DOUBLE_EQ(dp::frame_loop::tail_percentile(v, 0.999), 999);
  EXPECT_DOUBLE_EQ(dp::frame_loop::tail_percentile(v, 1.0), 1000);
  EXPECT_DOUBLE_EQ(dp::frame_loop::tail_percentile(v, 0.0), 1);
  // q * n a rounding error above a whole number: 0.07 * 100 is 7.000000000000001 in doubles, and
  // the 7th of 100 samples must not become the 8th.
  std::vector<double> hundred(100);
  for (std::size_t i = 0; i < hundred.size(); ++i) hundred[i] = static_cast<double>(100 - i);
  EXPECT_DOUBLE_EQ(dp::frame_loop::tail_percentile(hundred, 0.07), 7);
  EXPECT_THROW(dp::frame_loop::tail_percentile({}, 0.5), std::invalid_argument);
  EXPECT_THROW(dp::frame_loop::tail_percentile(v, 1.5), std::invalid_argument);
}

TEST(FrameLoop, TailPercentileAgreesWithBruteForceCounting) {
  // For random frame times with ties: the answer x is a sample, at least q of the samples are
  // <= x, and fewer than q are < x (brute force, counting every sample).
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> ms(1, 40);
  for (const std::size_t n : {1u, 2u, 7u, 100u, 1001u, 10'000u}) {
    std::vector<double> v(n);
    for (double& x : v) x = ms(rng) * 1e5;
    for (const double q : {0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0}) {
      const double x = dp::frame_loop::tail_percentile(v, q);
      SCOPED_TRACE(testing::Message() << "n " << n << " q " << q);
      EXPECT_NE(std::find(v.begin(), v.end(), x), v.end());
      const auto at_most = static_cast<double>(std::count_if(v.begin(), v.end(), [&](double y) { return y <= x; }));
      const auto below = static_cast<double>(std::count_if(v.begin(), v.end(), [&](double y) { return y < x; }));
      EXPECT_GE(at_most, q * static_cast<double>(n));
      if (q > 0) {
        EXPECT_LT(below, q * static_cast<double>(n));
      }
    }
  }
}

TEST(FrameLoop, SummaryNeedsTwoFrames) {
  EXPECT_THROW(dp::frame_loop::summarize(steady_frames(1, 0), kPeriod), std::invalid_argument);
}

}  // namespace
