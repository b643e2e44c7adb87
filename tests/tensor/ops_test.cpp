// The fast CPU ops agree with the double-precision reference, on odd shapes too.
//
// Tolerances. With inputs uniform in [-1, 1], a dot product of K terms rounds at each of its K
// additions by at most eps times the partial sum, which grows like sqrt(K); the errors have random
// signs, so the total is about K * eps. We allow 8 * K * eps (+ 1e-6): a missing or doubled term
// (size ~0.3) is thousands of times larger. Element-wise ops round once: 1 ulp. softmax uses a
// polynomial exp accurate to a few ulp: 1e-6 absolute on values <= 1.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

#include "core/check.hpp"
#include "core/error.hpp"
#include "tensor/gemm.hpp"
#include "tensor/ops.hpp"
#include "tensor/parallel.hpp"
#include "tensor/reference.hpp"

namespace dp::tensor {
namespace {

constexpr double kEps = std::numeric_limits<float>::epsilon();

Tolerance dot_tolerance(std::size_t k) { return {.abs = 8.0 * k * kEps + 1e-6, .rel = 1e-6}; }

template <typename T>
void expect_close(const Tensor2D<float>& got, const Tensor2D<T>& want, const Tolerance& tol) {
  ASSERT_EQ(got.rows(), want.rows());
  ASSERT_EQ(got.cols(), want.cols());
  const auto r = compare(got.span(), want.span(), tol);
  EXPECT_TRUE(r.passed) << r.detail;
}

// M x K inputs, N x K weights: the shapes hit every edge of the blocking (partial register
// tiles in both directions, more than one row block; and, past K = 1024, packed inputs and more
// than one K block).
class LinearShapes : public ::testing::TestWithParam<std::tuple<int, int, int>> {};

TEST_P(LinearShapes, AgreesWithReference) {
  const auto [m, k, n] = GetParam();
  const auto x = Tensor2D<float>::random(m, k, 1);
  const auto w = Tensor2D<float>::random(n, k, 2);
  const auto b = Tensor2D<float>::random(1, n, 3);
  const auto xd = ref::cast<double>(x), wd = ref::cast<double>(w), bd = ref::cast<double>(b);
  const PackedLinear packed(w, b.span());

  Tensor2D<float> out(m, n);
  linear(x, packed, out);
  expect_close(out, ref::linear(xd, wd, bd), dot_tolerance(k));

  linear_relu(x, packed, out);
  expect_close(out, ref::linear_relu(xd, wd, bd), dot_tolerance(k));

  linear_relu_softmax(x, packed, out);
  expect_close(out, ref::linear_relu_softmax(xd, wd, bd), {.abs = 1e-5, .rel = 1e-4});

  Tensor2D<float> unpacked(m, n);
  linear_unpacked(x, w, b.span(), unpacked, Activation::relu);
  expect_close(unpacked, ref::linear_relu(xd, wd, bd), dot_tolerance(k));

  // One thread and all threads compute the same numbers (rows are split, sums are not).
  Tensor2D<float> serial(m, n);
  {
    ThreadLimit one(1);
    linear_relu(x, packed, serial);
  }
  linear_relu(x, packed, out);
  EXPECT_TRUE(compare(std::as_const(out).span(), std::as_const(serial).span()).passed);
}

INSTANTIATE_TEST_SUITE_P(OddAndEven, LinearShapes,
                         ::testing::Values(std::tuple{1, 1, 1}, std::tuple{3, 3, 3},
                                           std::tuple{17, 17, 17}, std::tuple{1, 255, 17},
                                           std::tuple{255, 3, 255}, std::tuple{17, 255, 1},
                                           std::tuple{64, 64, 64}, std::tuple{130, 600, 70},
                                           std::tuple{255, 255, 255},
                                           // K > 1024: packed inputs, K split into blocks
                                           std::tuple{9, 1100, 40}, std::tuple{33, 2100, 20}));

TEST(Linear, NoBiasAndEmptyK) {
  const auto x = Tensor2D<float>::random(5, 9, 4);
  const auto w = Tensor2D<float>::random(6, 9, 5);
  Tensor2D<float> out(5, 6);
  linear(x, PackedLinear(w, {}), out);
  expect_close(out, ref::linear(ref::cast<double>(x), ref::cast<double>(w), Tensor2D<double>()),
               dot_tolerance(9));
  // K = 0: the result is just the bias.
  const auto b = Tensor2D<float>::random(1, 6, 6);
  Tensor2D<float> x0(5, 0), w0(6, 0);
  linear(x0, PackedLinear(w0, b.span()), out);
  for (std::size_t i = 0; i < 5; ++i)
    for (std::size_t j = 0; j < 6; ++j) EXPECT_EQ(out(i, j), b(0, j));
}

TEST(Linear, ShapeMismatchesAreErrors) {
  Tensor2D<float> x(4, 5), w(6, 7), b(1, 6), out(4, 6);
  EXPECT_THROW(linear(x, PackedLinear(w, b.span()), out), Error);       // K differs
  Tensor2D<float> w5(6, 5), bad_bias(1, 3);
  EXPECT_THROW(PackedLinear(w5, bad_bias.span()), Error);               // bias size
  Tensor2D<float> bad_out(4, 5);
  EXPECT_THROW(linear(x, PackedLinear(w5, b.span()), bad_out), Error);  // output shape
}

class ElementwiseShapes : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(ElementwiseShapes, AgreeWithReference) {
  const auto [rows, cols] = GetParam();
  const auto a = Tensor2D<float>::random(rows, cols, 11, -4.0f, 4.0f);
  const auto b = Tensor2D<float>::random(rows, cols, 12, -4.0f, 4.0f);
  const auto ad = ref::cast<double>(a), bd = ref::cast<double>(b);
  const Tolerance one_rounding{.abs = 0, .rel = kEps};
  Tensor2D<float> out(rows, cols);

  relu(a, out);
  expect_close(out, ref::relu(ad), one_rounding);
  add(a, b, out);
  expect_close(out, ref::add(ad, bd), one_rounding);
  sub(a, b, out);
  expect_close(out, ref::sub(ad, bd), one_rounding);
  softmax_rows(a, out);
  expect_close(out, ref::softmax_rows(ad), {.abs = 1e-6, .rel = 1e-5});

  // sum: float partial sums of ~n/lanes elements each, combined in double.
  const double want = ref::sum(ad)(0, 0);
  EXPECT_NEAR(sum(a), want, 4.0 * a.size() * kEps + 1e-6);

  // In place: out may be the input.
  Tensor2D<float> inplace = a;
  relu(inplace, inplace);
  expect_close(inplace, ref::relu(ad), one_rounding);
  inplace = a;
  softmax_rows(inplace, inplace);
  expect_close(inplace, ref::softmax_rows(ad), {.abs = 1e-6, .rel = 1e-5});
}

INSTANTIATE_TEST_SUITE_P(OddAndEven, ElementwiseShapes,
                         ::testing::Values(std::tuple{1, 1}, std::tuple{3, 3}, std::tuple{17, 17},
                                           std::tuple{1, 255}, std::tuple{255, 3},
                                           std::tuple{300, 301}));

TEST(Softmax, LargeInputsDoNotOverflow) {
  Tensor2D<float> x(2, 3);
  x(0, 0) = 1000;
  x(0, 1) = 999;
  x(0, 2) = -1000;
  x(1, 0) = x(1, 1) = x(1, 2) = 88.0f;
  Tensor2D<float> out(2, 3);
  softmax_rows(x, out);
  expect_close(out, ref::softmax_rows(ref::cast<double>(x)), {.abs = 1e-6, .rel = 1e-5});
}

TEST(ExpApprox, WithinAFewUlpOverTheRange) {
  double worst = 0;
  for (float x = -87.0f; x < 88.0f; x += 0.0137f) {
    const float got = exp_approx(simd::broadcast(x))[0];
    const double want = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::abs(got - want) / want);
  }
  EXPECT_LT(worst, 4 * kEps) << "worst relative error " << worst;
}

TEST(ElementwiseShapes, MismatchesAreErrors) {
  Tensor2D<float> a(3, 4), b(4, 3), out(3, 4);
  EXPECT_THROW(add(a, b, out), Error);
  EXPECT_THROW(sub(a, b, out), Error);
  Tensor2D<float> wrong(2, 2);
  EXPECT_THROW(relu(a, wrong), Error);
  EXPECT_THROW(softmax_rows(a, wrong), Error);
}

}  // namespace
}  // namespace dp::tensor
