#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/measure.hpp"

namespace dp {
namespace {

TEST(Percentile, InterpolatesBetweenSamples) {
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4, 5}, 0.0), 1);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4, 5}, 1.0), 5);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4, 5}, 0.1), 1.4);
  EXPECT_DOUBLE_EQ(percentile({}, 0.5), 0);
}

TEST(Measure, ReportsTheRequestedRepetitionsAndAPlausibleTime) {
  // A body that sleeps ~200 us must measure at least that long per iteration.
  const auto stats = measure("sleep", [] { std::this_thread::sleep_for(std::chrono::microseconds(200)); },
                             MeasureConfig{4, 0.002, 0.0});
  EXPECT_EQ(stats.reps, 4);
  EXPECT_GE(stats.median_ns, 200e3);
  EXPECT_LE(stats.p10_ns, stats.median_ns);
  EXPECT_LE(stats.median_ns, stats.p90_ns);
  const auto per = stats.per(200);
  EXPECT_DOUBLE_EQ(per.median_ns, stats.median_ns / 200);
}

}  // namespace
}  // namespace dp
