// The bit-tricks lab's tricks (src/labs/m3/bits.hpp) on hand-checked values and on random ones
// against the bit-by-bit definitions: popcounts, Morton encode and decode, the Quake constant.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>

#include "labs/m3/bits.hpp"

namespace {

int popcount_by_bits(std::uint64_t x) {
  int n = 0;
  for (int b = 0; b < 64; ++b) n += static_cast<int>((x >> b) & 1);
  return n;
}

TEST(Bits, PopcountsAgreeOnEdgesAndRandomWords) {
  std::mt19937_64 rng(3);
  std::vector<std::uint64_t> words = {0, 1, ~std::uint64_t{0}, std::uint64_t{1} << 63, 0x5555555555555555ULL};
  for (int i = 0; i < 1000; ++i) words.push_back(rng() & rng());
  for (const std::uint64_t w : words) {
    const int want = popcount_by_bits(w);
    EXPECT_EQ(dp::bits::popcount_loop(w), want) << w;
    EXPECT_EQ(dp::bits::popcount_table(w), want) << w;
    EXPECT_EQ(dp::bits::popcount_swar(w), want) << w;
  }
}

TEST(Bits, MortonKnownCodes) {
  EXPECT_EQ(dp::bits::morton_reference(0, 0), 0u);
  EXPECT_EQ(dp::bits::morton_reference(1, 0), 1u);  // x takes the even bits
  EXPECT_EQ(dp::bits::morton_reference(0, 1), 2u);  // y the odd ones
  EXPECT_EQ(dp::bits::morton_reference(3, 0), 5u);  // 0b101
  EXPECT_EQ(dp::bits::morton_reference(2, 3), 0b1110u);
  EXPECT_EQ(dp::bits::morton_reference(~0u, 0), 0x5555555555555555ULL);
  EXPECT_EQ(dp::bits::morton_reference(~0u, ~0u), ~std::uint64_t{0});
}

TEST(Bits, MortonVariantsEncodeAndDecodeLikeTheDefinition) {
  std::mt19937_64 rng(5);
  const bool bmi2 = dp::bits::has_bmi2();
  for (int i = 0; i < 5000; ++i) {
    const auto x = static_cast<std::uint32_t>(rng() >> (rng() % 64)), y = static_cast<std::uint32_t>(rng() >> (rng() % 64));
    const std::uint64_t want = dp::bits::morton_reference(x, y);
    EXPECT_EQ(dp::bits::morton_loop(x, y), want);
    EXPECT_EQ(dp::bits::morton_magic(x, y), want);
    std::uint32_t dx = 0, dy = 0;
    dp::bits::morton_decode_loop(want, dx, dy);
    EXPECT_EQ(dx, x);
    EXPECT_EQ(dy, y);
    dp::bits::morton_decode_magic(want, dx, dy);
    EXPECT_EQ(dx, x);
    EXPECT_EQ(dy, y);
#if defined(DP_BITS_X86)
    if (bmi2) {
      EXPECT_EQ(dp::bits::morton_pdep(x, y), want);
      dp::bits::morton_decode_pext(want, dx, dy);
      EXPECT_EQ(dx, x);
      EXPECT_EQ(dy, y);
    }
#endif
  }
  if (!bmi2) GTEST_SKIP() << "no BMI2 on this CPU: pdep/pext not tested";
}

TEST(Bits, QuakeGuessAndNewtonStepStayWithinLomontsBounds) {
  for (float x = 1e-6f; x < 1e6f; x *= 1.013f) {
    const double want = 1.0 / std::sqrt(static_cast<double>(x));
    EXPECT_LE(std::abs(dp::bits::rsqrt_quake(x, 0) - want) / want, 0.0345) << x;
    EXPECT_LE(std::abs(dp::bits::rsqrt_quake(x, 1) - want) / want, 0.00176) << x;
    EXPECT_LE(std::abs(dp::bits::rsqrt_quake(x, 2) - want) / want, 5e-6) << x;
  }
}

}  // namespace
