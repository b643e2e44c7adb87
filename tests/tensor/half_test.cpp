// Tests of tensor/half.hpp: known bit patterns, rounding to nearest even, and every half's round
// trip through float.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tensor/half.hpp"

namespace dp::tensor {
namespace {

TEST(Half, KnownValues) {
  EXPECT_EQ(to_half(0.0f), 0x0000);
  EXPECT_EQ(to_half(-0.0f), 0x8000);
  EXPECT_EQ(to_half(1.0f), 0x3c00);
  EXPECT_EQ(to_half(-2.0f), 0xc000);
  EXPECT_EQ(to_half(0.5f), 0x3800);
  EXPECT_EQ(to_half(65504.0f), 0x7bff);                  // the largest half
  EXPECT_EQ(to_half(std::ldexp(1.0f, -14)), 0x0400);     // the smallest normal half
  EXPECT_EQ(to_half(std::ldexp(1.0f, -24)), 0x0001);     // the smallest subnormal half
  EXPECT_EQ(to_half(1.0f / 3.0f), 0x3555);
}

TEST(Half, RoundsToNearestEven) {
  const float ulp = std::ldexp(1.0f, -10);  // a half's spacing at 1.0
  EXPECT_EQ(to_half(1.0f + ulp / 2), 0x3c00);          // a tie: down to the even 0x3c00
  EXPECT_EQ(to_half(1.0f + 3 * ulp / 2), 0x3c02);      // a tie: up to the even 0x3c02
  EXPECT_EQ(to_half(1.0f + ulp / 2 + ulp / 16), 0x3c01);  // past the tie: up
  EXPECT_EQ(to_half(std::ldexp(1.0f, -25)), 0x0000);   // half the smallest subnormal: to even 0
  EXPECT_EQ(to_half(std::ldexp(3.0f, -26)), 0x0001);   // 0.75 of it: up
  EXPECT_EQ(to_half(65519.0f), 0x7bff);                // below the midpoint to 2^16: the largest
  EXPECT_EQ(to_half(65520.0f), 0x7c00);                // the midpoint rounds to infinity
}

TEST(Half, InfinityAndNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(to_half(inf), 0x7c00);
  EXPECT_EQ(to_half(-inf), 0xfc00);
  EXPECT_EQ(to_half(1e10f), 0x7c00);
  const std::uint16_t nan = to_half(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x03ff, 0) << "NaN must stay NaN, not become infinity";
  EXPECT_TRUE(std::isnan(from_half(0x7e00)));
  EXPECT_EQ(from_half(0x7c00), inf);
}

TEST(Half, EveryHalfSurvivesTheRoundTrip) {
  for (std::uint32_t h = 0; h <= 0xffff; ++h) {
    const bool nan = (h & 0x7c00) == 0x7c00 && (h & 0x03ff) != 0;
    if (nan) continue;
    ASSERT_EQ(to_half(from_half(static_cast<std::uint16_t>(h))), h) << std::hex << h;
  }
}

}  // namespace
}  // namespace dp::tensor
