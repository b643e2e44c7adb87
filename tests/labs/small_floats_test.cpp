// The float-precision lab's software floats (src/labs/m3/small_floats.hpp): every fp8 value round
// trips; encode() agrees with a brute-force search for the nearest value (ties to even) on every
// midpoint and on random floats; known values, overflow, NaN, infinity and subnormals; bf16
// against the classic bit trick, fp16 against the compiler's _Float16.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "labs/m3/float_types.hpp"
#include "labs/m3/small_floats.hpp"

namespace {

using dp::smallfloat::decode;
using dp::smallfloat::encode;
using dp::smallfloat::Format;
using dp::smallfloat::kBF16;
using dp::smallfloat::kE4M3;
using dp::smallfloat::kE5M2;
using dp::smallfloat::kFP16;

bool is_nan_code(std::uint32_t c, const Format& F) { return std::isnan(decode(c, F)); }

// The nearest number of the format by searching every non-negative finite code (codes grow with
// the value), ties to the even code (its last mantissa bit 0). One virtual candidate past the
// largest finite number stands for overflow: in E5M2 it is 2^16, the even code of infinity; in
// E4M3 it would be 480, an odd code, so a tie at 464 goes to 448.
std::uint32_t nearest_by_search(float f, const Format& F) {
  const std::uint32_t sign = std::signbit(f) ? 1u << (F.exp_bits + F.man_bits) : 0;
  const double a = std::fabs(static_cast<double>(f));
  const std::uint32_t top = F.max_finite_code();
  const double max = decode(top, F), past = max + (max - decode(top - 1, F));
  const std::uint32_t overflow = sign | (F.has_inf ? F.inf_code() : F.nan_code());
  if (a >= past) return overflow;  // (far past it, the distances in double would tie)
  std::uint32_t best = 0;
  double best_d = std::numeric_limits<double>::infinity();
  for (std::uint32_t c = 0; c <= top + 1; ++c) {
    const double v = c <= top ? decode(c, F) : past;
    const double d = std::fabs(v - a);
    if (d < best_d || (d == best_d && (c & 1) == 0)) best = c, best_d = d;
  }
  if (best > top) return overflow;
  return sign | best;
}

void expect_matches_search(float f, const Format& F) {
  const std::uint32_t got = encode(f, F), want = nearest_by_search(f, F);
  if (is_nan_code(want, F)) {
    EXPECT_TRUE(is_nan_code(got, F)) << F.name << " " << f;
  } else {
    EXPECT_EQ(got, want) << F.name << " " << f << " (" << std::bit_cast<std::uint32_t>(f) << ")";
  }
}

TEST(SmallFloats, Fp8RoundTripsEveryCode) {
  for (const Format* F : {&kE4M3, &kE5M2})
    for (std::uint32_t c = 0; c < 256; ++c) {
      const float v = decode(c, *F);
      if (std::isnan(v)) {
        EXPECT_TRUE(is_nan_code(encode(v, *F), *F)) << F->name << " code " << c;
        EXPECT_EQ(encode(v, *F) >> 7, c >> 7) << "NaN keeps its sign";
      } else {
        EXPECT_EQ(encode(v, *F), c) << F->name << " code " << c << " value " << v;
      }
    }
}

TEST(SmallFloats, Fp8EncodeIsTheNearestValueTiesToEven) {
  for (const Format* F : {&kE4M3, &kE5M2}) {
    // Every midpoint between neighbours (the ties), one float either side of it, and past the top.
    std::vector<float> probes;
    for (std::uint32_t c = 0; c < F->max_finite_code(); ++c) {
      const float mid = (decode(c, *F) + decode(c + 1, *F)) / 2;  // exact in float
      probes.insert(probes.end(), {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e30f), decode(c, *F)});
    }
    const float max = decode(F->max_finite_code(), *F);
    for (const float f : {max, max * 1.03125f, max * 1.0625f, max * 1.07f, max * 2, 1e30f}) probes.push_back(f);
    std::mt19937 rng(7);
    std::uniform_int_distribution<std::uint32_t> bits(0, 0x7f7fffffu);
    for (int i = 0; i < 20000; ++i) {
      const float f = std::bit_cast<float>(bits(rng));
      if (std::fabs(f) < 2 * max && std::fabs(f) > 1e-8f) probes.push_back(f);  // in the format's range
    }
    for (const float f : probes) {
      expect_matches_search(f, *F);
      expect_matches_search(-f, *F);
    }
  }
}

TEST(SmallFloats, Fp8KnownValues) {
  EXPECT_EQ(encode(0.1f, kE4M3), 0x1Du);  // 1.625 x 2^-4 = 0.1015625
  EXPECT_EQ(decode(0x1D, kE4M3), 0.1015625f);
  EXPECT_EQ(encode(0.1f, kE5M2), 0x2Eu);  // 1.5 x 2^-4 = 0.09375
  EXPECT_EQ(decode(0x7E, kE4M3), 448.0f);
  EXPECT_EQ(decode(0x7B, kE5M2), 57344.0f);
  EXPECT_EQ(decode(0x01, kE4M3), std::ldexp(1.0f, -9));   // smallest subnormal
  EXPECT_EQ(decode(0x01, kE5M2), std::ldexp(1.0f, -16));
  EXPECT_EQ(decode(0x08, kE4M3), std::ldexp(1.0f, -6));   // smallest normal
  EXPECT_EQ(encode(1.0625f, kE4M3), 0x38u);  // tie between 1 and 1.125: to 1 (even)
  EXPECT_EQ(encode(1.1875f, kE4M3), 0x3Au);  // tie between 1.125 and 1.25: to 1.25 (even)
  EXPECT_EQ(encode(464.0f, kE4M3), 0x7Eu);   // tie between 448 and (no) 480: 448
  EXPECT_EQ(encode(465.0f, kE4M3), 0x7Fu);   // past it: NaN, E4M3 has no infinity
  EXPECT_EQ(encode(61439.0f, kE5M2), 0x7Bu);
  EXPECT_EQ(encode(61440.0f, kE5M2), 0x7Cu);  // the tie goes to 2^16 = infinity
  EXPECT_EQ(encode(std::ldexp(1.0f, -10), kE4M3), 0x00u);        // half the smallest subnormal: 0 (even)
  EXPECT_EQ(encode(std::ldexp(1.5f, -10), kE4M3), 0x01u);
  EXPECT_EQ(encode(-0.0f, kE4M3), 0x80u);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(encode(inf, kE5M2), 0x7Cu);
  EXPECT_EQ(encode(-inf, kE5M2), 0xFCu);
  EXPECT_EQ(encode(inf, kE4M3), 0x7Fu);  // NaN
  EXPECT_TRUE(std::isnan(decode(encode(nan, kE4M3), kE4M3)));
  EXPECT_TRUE(std::isnan(decode(encode(nan, kE5M2), kE5M2)));
  EXPECT_TRUE(std::isinf(decode(0x7C, kE5M2)));
  EXPECT_TRUE(std::isnan(decode(0x7D, kE5M2)));
  EXPECT_TRUE(std::isnan(decode(0xFF, kE4M3)));
  EXPECT_FALSE(std::isnan(decode(0x7E, kE4M3)));  // E4M3's top exponent still holds numbers
}

TEST(SmallFloats, Bf16AgainstTheBitTrick) {
  // bf16 = the top half of a float, rounded: add 0x7FFF plus the lowest kept bit, then shift.
  const auto trick = [](float f) {
    const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
    return (u + 0x7fffu + ((u >> 16) & 1)) >> 16;
  };
  std::mt19937 rng(11);
  std::uniform_int_distribution<std::uint32_t> bits;
  for (int i = 0; i < 1'000'000; ++i) {
    const float f = std::bit_cast<float>(bits(rng));
    if (std::isnan(f)) continue;
    ASSERT_EQ(encode(f, kBF16), trick(f)) << f;
    if (!std::isinf(decode(encode(f, kBF16), kBF16))) {
      ASSERT_EQ(std::bit_cast<std::uint32_t>(decode(encode(f, kBF16), kBF16)), trick(f) << 16);
    }
  }
  EXPECT_EQ(encode(1.0f, kBF16), 0x3F80u);
  EXPECT_EQ(encode(0.1f, kBF16), 0x3DCDu);
  EXPECT_EQ(encode(std::bit_cast<float>(0x3F808000u), kBF16), 0x3F80u);  // tie to even
  EXPECT_EQ(encode(std::bit_cast<float>(0x3F818000u), kBF16), 0x3F82u);
  EXPECT_EQ(encode(std::numeric_limits<float>::max(), kBF16), 0x7F80u);  // rounds up to infinity
  EXPECT_EQ(encode(std::bit_cast<float>(0x00018000u), kBF16), 0x0002u);  // float subnormal, tie
  EXPECT_TRUE(std::isnan(decode(encode(std::numeric_limits<float>::quiet_NaN(), kBF16), kBF16)));
  EXPECT_TRUE(std::isnan(decode(encode(std::numeric_limits<float>::signaling_NaN(), kBF16), kBF16)));
}

TEST(SmallFloats, Fp16AgainstTheCompiler) {
  if constexpr (!dp::m3::kCompilerHasFloat16) {
    GTEST_SKIP() << "this compiler has no _Float16";
  } else {
    std::mt19937 rng(13);
    std::uniform_int_distribution<std::uint32_t> mantissa(0, 0x7fffff);
    std::uniform_int_distribution<int> exponent(-27, 17);  // fp16's range and a little past it
    for (int i = 0; i < 1'000'000; ++i) {
      const float f = std::ldexp(std::bit_cast<float>(0x3f800000u | mantissa(rng)), exponent(rng)) * (i % 2 ? 1 : -1);
      const auto h = static_cast<dp::m3::fp16>(f);
      ASSERT_EQ(encode(f, kFP16), std::bit_cast<std::uint16_t>(h)) << f;
      ASSERT_EQ(decode(encode(f, kFP16), kFP16), static_cast<float>(h)) << f;
    }
    for (std::uint32_t c = 0; c < 65536; ++c) {  // every half decodes as the compiler's does
      const float want = static_cast<float>(std::bit_cast<dp::m3::fp16>(static_cast<std::uint16_t>(c)));
      const float got = decode(c, kFP16);
      ASSERT_TRUE((std::isnan(want) && std::isnan(got)) || want == got) << c;
    }
  }
}

TEST(SmallFloats, RoundReferenceAgreesWithEncode) {
  std::mt19937 rng(17);
  std::uniform_real_distribution<double> d(-70000, 70000);
  for (const Format* F : {&kFP16, &kBF16, &kE5M2, &kE4M3})
    for (int i = 0; i < 20000; ++i) {
      const auto f = static_cast<float>(d(rng) * std::ldexp(1.0, -(i % 30)));
      const double want = dp::m3::round_reference(f, *F);
      const float got = decode(encode(f, *F), *F);
      ASSERT_TRUE((std::isnan(want) && std::isnan(got)) || want == got) << F->name << " " << f;
    }
}

}  // namespace
