// ops.cpp — the fast element-wise ops, softmax, sum, and the fused linear variants.
//
// Element-wise ops are memory-bound (1 FLOP per 8-12 bytes moved): the loops are written so the
// compiler vectorises them, and they go parallel only for tensors big enough that two cores'
// bandwidth beats the microseconds it costs to wake a second thread.
#include "tensor/ops.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "tensor/parallel.hpp"

namespace dp::tensor {
namespace {

using simd::kLanes;
using simd::vfloat;
using simd::vint;

void require_same_shape(const char* op, ConstView<float> a, ConstView<float> b) {
  if (a.rows != b.rows || a.cols != b.cols)
    throw Error(fmt::format("{}: shapes {} and {} differ; want equal shapes", op, a.shape(),
                            b.shape()));
}

void require_out_shape(const char* op, std::size_t rows, std::size_t cols, ConstView<float> out) {
  if (out.rows != rows || out.cols != cols)
    throw Error(fmt::format("{}: the output is {} but the result is {}x{}; want an output of the "
                            "result's shape",
                            op, out.shape(), rows, cols));
}

// Element-wise work splits into row blocks of at least ~64 KiB per thread.
std::size_t elementwise_parts(ConstView<float> x) { return parts_for(double(x.size()), 16384.0); }

template <typename F>
void for_each_row_block(ConstView<float> x, std::size_t parts, F&& f) {
  parallel_chunks(x.rows, 1, parts, [&](std::size_t r0, std::size_t r1) { f(r0, r1); });
}

}  // namespace

// --- exp ----------------------------------------------------------------------------------------

vfloat exp_approx(vfloat x) {
  // Clamp so 2^n stays a normal float (n >= -126) and e^x does not overflow.
  x = x < simd::broadcast(-87.3f) ? simd::broadcast(-87.3f) : x;
  x = x > simd::broadcast(88.3f) ? simd::broadcast(88.3f) : x;
  // n = round(x / ln2), by floor(x * log2(e) + 0.5); the float->int conversion truncates, so
  // negative values need one step down.
  const vfloat t = x * 1.44269504088896341f + 0.5f;
  vint n = __builtin_convertvector(t, vint);
  vfloat nf = __builtin_convertvector(n, vfloat);
  const vint too_big = nf > t;  // -1 in lanes where truncation rounded up
  n += too_big;
  nf = __builtin_convertvector(n, vfloat);
  // r = x - n*ln2, with ln2 split in two so n*ln2_hi is exact.
  vfloat r = x - nf * 0.693359375f;
  r = r - nf * -2.12194440e-4f;
  // e^r = 1 + r + r^2 * p(r) on |r| <= ln2/2 (Cephes' coefficients).
  vfloat p = simd::broadcast(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const vfloat er = p * (r * r) + r + 1.0f;
  // 2^n: n + 127 in the exponent field, zero mantissa.
  const vint bits = (n + 127) << 23;
  return er * std::bit_cast<vfloat>(bits);
}

// --- one thread ---------------------------------------------------------------------------------

void relu_serial(ConstView<float> x, MatrixView<float> out) {
  const std::size_t n = x.size();
  const float* in = x.data;
  float* o = out.data;  // may alias `in`: an in-place relu reads each element before writing it
  for (std::size_t i = 0; i < n; ++i) o[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void add_serial(ConstView<float> a, ConstView<float> b, MatrixView<float> out) {
  const std::size_t n = a.size();
  for (std::size_t i = 0; i < n; ++i) out.data[i] = a.data[i] + b.data[i];
}

void sub_serial(ConstView<float> a, ConstView<float> b, MatrixView<float> out) {
  const std::size_t n = a.size();
  for (std::size_t i = 0; i < n; ++i) out.data[i] = a.data[i] - b.data[i];
}

double sum_serial(ConstView<float> x) {
  // Four registers of partial sums: independent adds keep the FP pipes busy, and each partial
  // sum sees only a quarter of the elements, which also shrinks the rounding error.
  vfloat acc[4] = {};
  const std::size_t n = x.size();
  const std::size_t step = 4 * kLanes;
  std::size_t i = 0;
  for (; i + step <= n; i += step)
    for (int v = 0; v < 4; ++v) acc[v] += simd::load(x.data + i + v * kLanes);
  double total = 0;
  for (int v = 0; v < 4; ++v)
    for (int l = 0; l < kLanes; ++l) total += acc[v][l];
  for (; i < n; ++i) total += x.data[i];
  return total;
}

void softmax_rows_serial(ConstView<float> x, MatrixView<float> out) {
  const std::size_t cols = x.cols;
  const std::size_t whole = cols / kLanes * kLanes;
  for (std::size_t r = 0; r < x.rows; ++r) {
    const float* in = x.data + r * cols;
    float* o = out.data + r * cols;
    if (cols == 0) continue;
    // 1. The row's maximum, so every exponent below is <= 0 (no overflow, same result).
    float m = in[0];
    for (std::size_t j = 0; j < cols; ++j) m = std::max(m, in[j]);
    // 2. e^(x - m) and its sum, a register at a time.
    vfloat vsum{};
    std::size_t j = 0;
    for (; j < whole; j += kLanes) {
      const vfloat e = exp_approx(simd::load(in + j) - m);
      simd::store(o + j, e);
      vsum += e;
    }
    float total = simd::horizontal_sum(vsum);
    for (; j < cols; ++j) {  // the tail, through a padded register so it rounds the same way
      vfloat tail = simd::broadcast(-1e30f);
      tail[0] = in[j] - m;
      total += o[j] = exp_approx(tail)[0];
    }
    // 3. Normalise: one division, then multiplies.
    const float inv = 1.0f / total;
    for (std::size_t k = 0; k < cols; ++k) o[k] *= inv;
  }
}

void linear_relu_softmax_serial(ConstView<float> x, const PackedLinear& w, MatrixView<float> out) {
  // Rows in blocks of 32: the block's results are still in L1/L2 when softmax reads them back.
  constexpr std::size_t kBlock = 32;
  for (std::size_t r0 = 0; r0 < x.rows; r0 += kBlock) {
    const std::size_t r1 = std::min(x.rows, r0 + kBlock);
    linear_rows(x, w, out, Activation::relu, r0, r1);
    softmax_rows_serial(out.rows_between(r0, r1), out.rows_between(r0, r1));
  }
}

// --- all threads --------------------------------------------------------------------------------

void relu(ConstView<float> x, MatrixView<float> out) {
  require_out_shape("relu", x.rows, x.cols, out);
  for_each_row_block(x, elementwise_parts(x), [&](std::size_t r0, std::size_t r1) {
    relu_serial(x.rows_between(r0, r1), out.rows_between(r0, r1));
  });
}

void softmax_rows(ConstView<float> x, MatrixView<float> out) {
  require_out_shape("softmax", x.rows, x.cols, out);
  // ~20 FLOPs per element for exp: worth threads sooner than a plain element-wise op.
  for_each_row_block(x, parts_for(20.0 * x.size()), [&](std::size_t r0, std::size_t r1) {
    softmax_rows_serial(x.rows_between(r0, r1), out.rows_between(r0, r1));
  });
}

void add(ConstView<float> a, ConstView<float> b, MatrixView<float> out) {
  require_same_shape("add", a, b);
  require_out_shape("add", a.rows, a.cols, out);
  for_each_row_block(a, elementwise_parts(a), [&](std::size_t r0, std::size_t r1) {
    add_serial(a.rows_between(r0, r1), b.rows_between(r0, r1), out.rows_between(r0, r1));
  });
}

void sub(ConstView<float> a, ConstView<float> b, MatrixView<float> out) {
  require_same_shape("sub", a, b);
  require_out_shape("sub", a.rows, a.cols, out);
  for_each_row_block(a, elementwise_parts(a), [&](std::size_t r0, std::size_t r1) {
    sub_serial(a.rows_between(r0, r1), b.rows_between(r0, r1), out.rows_between(r0, r1));
  });
}

float sum(ConstView<float> x) {
  const std::size_t parts = elementwise_parts(x);
  std::vector<double> partial(parts, 0.0);  // one slot per part: no two threads share a slot
  parallel_parts(x.rows, 1, parts, [&](std::size_t part, std::size_t r0, std::size_t r1) {
    partial[part] = sum_serial(x.rows_between(r0, r1));
  });
  double total = 0;
  for (double p : partial) total += p;
  return static_cast<float>(total);
}

void linear_relu(ConstView<float> x, const PackedLinear& w, MatrixView<float> out) {
  linear(x, w, out, Activation::relu);
}

void linear_relu_softmax(ConstView<float> x, const PackedLinear& w, MatrixView<float> out) {
  require_out_shape("linear_relu_softmax", x.rows, w.out_features(), out);
  if (x.cols != w.in_features())
    throw Error(fmt::format("linear_relu_softmax: x is {} but W has {} columns; want x's columns "
                            "= W's columns",
                            x.shape(), w.in_features()));
  const double flops = 2.0 * x.rows * w.out_features() * w.in_features();
  parallel_chunks(x.rows, gemm_config().mr, parts_for(flops), [&](std::size_t r0, std::size_t r1) {
    linear_relu_softmax_serial(x.rows_between(r0, r1), w, out.rows_between(r0, r1));
  });
}

void linear_unpacked(ConstView<float> x, ConstView<float> w, std::span<const float> bias,
                     MatrixView<float> out, Activation act) {
  const PackedLinear packed(w, bias);
  linear(x, packed, out, act);
}

}  // namespace dp::tensor
