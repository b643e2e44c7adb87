// Tests of finding a measured point in a Result: exactly at an x, or nearest on a log scale.
#include <gtest/gtest.h>

#include "core/result.hpp"

namespace dp {
namespace {

Result with_points(const std::vector<double>& xs) {
  Result r;
  for (double x : xs) r.add_point("read", "bytes", x, Stats{}, x * 10, "GB/s");
  return r;
}

TEST(ResultPoints, PointAtFindsOnlyTheExactX) {
  const Result r = with_points({1024, 4096, 16384});
  ASSERT_NE(r.point_at("read", 4096), nullptr);
  EXPECT_EQ(r.point_at("read", 4096)->throughput, 40960);
  EXPECT_EQ(r.point_at("read", 4000), nullptr);
  EXPECT_EQ(r.point_at("write", 4096), nullptr);  // no such series
}

TEST(ResultPoints, NearestIsOnALogScale) {
  const Result r = with_points({1024, 4096, 16384});
  // Between 1024 and 4096 the log-scale midpoint is 2048 (the plain one 2560): 2300 is nearer
  // 1024 in bytes but nearer 4096 by ratio (1.78x vs 2.25x), and ratio is what a sweep means.
  EXPECT_EQ(r.nearest_point("read", 2300)->x, 4096);
  EXPECT_EQ(r.nearest_point("read", 2000)->x, 1024);
  EXPECT_EQ(r.nearest_point("read", 1e9)->x, 16384);
  EXPECT_EQ(r.nearest_point("write", 4096), nullptr);
  EXPECT_EQ(Series{}.nearest(4096), nullptr);
}

}  // namespace
}  // namespace dp
