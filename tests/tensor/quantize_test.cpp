// The quantization lab's arithmetic (src/tensor/quant/quantize.hpp) and kernels (int8_kernels.hpp):
// rounding and clamping, scales, the u8 offset, the error bound (which must hold, and must fail
// when a weight is off by more than rounding allows), and every kernel this CPU runs against the
// plain-loop reference, exactly, on ragged shapes and fresh random values.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "tensor/quant/int8_amx.hpp"
#include "tensor/quant/int8_kernels.hpp"
#include "tensor/quant/int8_layout.hpp"
#include "tensor/quant/quantize.hpp"
#include "tensor/tensor.hpp"

namespace {

using dp::quant::Granularity;
using dp::quant::Isa;
using dp::tensor::Tensor2D;

TEST(Quantize, RoundsToNearestEvenAndClampsToTheSymmetricRange) {
  EXPECT_EQ(dp::quant::to_int8(2.5f, 1.0f), 2);
  EXPECT_EQ(dp::quant::to_int8(3.5f, 1.0f), 4);
  EXPECT_EQ(dp::quant::to_int8(-2.5f, 1.0f), -2);
  EXPECT_EQ(dp::quant::to_int8(1000.0f, 1.0f), 127);
  EXPECT_EQ(dp::quant::to_int8(-1000.0f, 1.0f), -127);  // never -128: the grid stays symmetric
  EXPECT_EQ(dp::quant::to_int8(0.0f, 5.0f), 0);
}

TEST(Quantize, ScaleMapsTheLargestMagnitudeTo127) {
  const std::vector<float> v = {0.5f, -3.0f, 2.0f, -0.0f};
  EXPECT_FLOAT_EQ(dp::quant::largest_magnitude(v), 3.0f);
  EXPECT_FLOAT_EQ(dp::quant::symmetric_scale(v), 3.0f / 127);
  EXPECT_EQ(dp::quant::to_int8(-3.0f, 1 / dp::quant::symmetric_scale(v)), -127);
  const std::vector<float> zeros(5, 0.0f);
  EXPECT_FLOAT_EQ(dp::quant::symmetric_scale(zeros), 1.0f);  // any scale; not a division by zero
}

TEST(Quantize, PerChannelGivesEachRowItsOwnScaleAndTheInputOffset) {
  Tensor2D<float> w(2, 3);
  w(0, 0) = 1.0f, w(0, 1) = -0.5f, w(0, 2) = 0.25f;
  w(1, 0) = 0.01f, w(1, 1) = 0.02f, w(1, 2) = -0.04f;
  const auto tensor = dp::quant::quantize_weights(w.const_view(), Granularity::per_tensor);
  const auto channel = dp::quant::quantize_weights(w.const_view(), Granularity::per_channel);
  EXPECT_FLOAT_EQ(tensor.scale[0], tensor.scale[1]);
  EXPECT_FLOAT_EQ(channel.scale[1], 0.04f / 127);
  EXPECT_EQ(channel.q[5], -127);
  EXPECT_EQ(tensor.q[5], -5);  // the small row keeps 5 levels of 127 on the shared grid
  for (std::size_t r = 0; r < 2; ++r) {
    std::int32_t sum = 0;
    for (std::size_t c = 0; c < 3; ++c) sum += channel.q[r * 3 + c];
    EXPECT_EQ(channel.offset[r], 128 * sum);
  }
}

struct Case {
  Tensor2D<float> x, w;
  std::vector<float> bias;
};
Case random_case(std::size_t m, std::size_t k, std::size_t n, std::uint64_t seed) {
  const auto b = Tensor2D<float>::random(1, n, seed + 2);
  return {Tensor2D<float>::random(m, k, seed, -2, 2), Tensor2D<float>::random(n, k, seed + 1, -0.3f, 0.3f),
          std::vector<float>(b.span().begin(), b.span().end())};
}

// The reference's int8 output against the exact product: within the bound everywhere, and not
// not within it after the mistakes a kernel could make: one weight 60 quanta off (the bound grows
// with K, so a short K keeps it tight enough to see that), or the u8 inputs' offset not subtracted.
TEST(Quantize, ErrorBoundHoldsAndCatchesAWrongWeightOrAMissingOffset) {
  constexpr std::size_t kK = 20;
  const Case c = random_case(5, kK, 7, 11);
  auto qw = dp::quant::quantize_weights(c.w.const_view(), Granularity::per_channel);
  dp::quant::QuantizedInput qx;
  dp::quant::quantize_input(c.x.const_view(), qx);
  auto outside = [&](const dp::quant::QuantizedWeights& weights) {
    Tensor2D<float> y(5, 7);
    dp::quant::linear_int8_reference(qx, weights, c.bias, y.view());
    int count = 0;
    for (std::size_t r = 0; r < 5; ++r)
      for (std::size_t j = 0; j < 7; ++j) {
        double exact = c.bias[j];
        for (std::size_t i = 0; i < kK; ++i) exact += double(c.x(r, i)) * c.w(j, i);
        count += std::fabs(y(r, j) - exact) > dp::quant::error_bound(c.x.const_view(), c.w.const_view(), weights, qx.scale, r, j);
      }
    return count;
  };
  EXPECT_EQ(outside(qw), 0);
  auto no_offset = qw;
  std::fill(no_offset.offset.begin(), no_offset.offset.end(), 0);
  EXPECT_EQ(outside(no_offset), 5 * 7);
  // Row 3 gets a weight moved by 60 quanta where the input is largest: its outputs leave the bound.
  std::size_t biggest = 0;
  for (std::size_t i = 0; i < kK; ++i) biggest = std::fabs(c.x(0, i)) > std::fabs(c.x(0, biggest)) ? i : biggest;
  const int moved = qw.q[3 * kK + biggest] > 0 ? -60 : 60;
  qw.q[3 * kK + biggest] = static_cast<std::int8_t>(qw.q[3 * kK + biggest] + moved);
  qw.offset[3] += 128 * moved;
  EXPECT_GT(outside(qw), 0);
}

TEST(Int8Kernels, EveryKernelHereEqualsTheReferenceOnRaggedShapes) {
  std::mt19937_64 rng(std::random_device{}());
  int kernels_run = 0;
  for (Isa isa : dp::quant::kAllIsas) {
    if (!dp::quant::cpu_has(isa)) continue;
    ++kernels_run;
    for (int trial = 0; trial < 12; ++trial) {
      const std::size_t m = 1 + rng() % 40, k = 1 + rng() % 300, n = 1 + rng() % 90;
      const Case c = random_case(m, k, n, rng());
      const auto g = trial % 2 ? Granularity::per_channel : Granularity::per_tensor;
      const auto qw = dp::quant::quantize_weights(c.w.const_view(), g);
      dp::quant::QuantizedInput qx;
      dp::quant::quantize_input(c.x.const_view(), qx);
      Tensor2D<float> want(m, n), got(m, n);
      dp::quant::linear_int8_reference(qx, qw, c.bias, want.view());
      dp::quant::PackedInput px;
      dp::quant::quantize_input(isa, c.x.const_view(), px);
      EXPECT_FLOAT_EQ(px.scale, qx.scale);
      dp::quant::linear_int8(px, dp::quant::pack_weights(isa, qw, c.bias), got.view());
      for (std::size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(got.span()[i], want.span()[i]) << dp::quant::isa_name(isa) << " at " << m << "x" << k << "x" << n
                                                 << ", element " << i;
    }
  }
  if (kernels_run == 0) GTEST_SKIP() << "this CPU has no AVX2, AVX-VNNI or AVX512-VNNI";
}

}  // namespace
