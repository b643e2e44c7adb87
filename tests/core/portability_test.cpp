// Tests of core/portability.hpp: DP_PLAIN_LOOP keeps a copy loop a loop that still copies, and
// the sanitizer flags agree with each other.
#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

#include "core/portability.hpp"

namespace dp {
namespace {

DP_PLAIN_LOOP void plain_copy(double* dst, const double* src, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = src[i];
}

TEST(Portability, APlainLoopStillComputesItsResult) {
  std::vector<double> src(1000), dst(1000, -1.0);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<double>(i) * 0.5;
  plain_copy(dst.data(), src.data(), src.size());
  EXPECT_EQ(dst, src);
}

TEST(Portability, SanitizerFlagsAgree) {
  if (kAddressSanitizer) {
    EXPECT_TRUE(kSanitized);
  }
#if defined(DP_SANITIZED)
  EXPECT_TRUE(kSanitized);
#else
  EXPECT_FALSE(kSanitized);
#endif
}

}  // namespace
}  // namespace dp
