// quantize.hpp — int8 quantization of a linear layer: the arithmetic, without the speed.
//
// Index
//   largest_magnitude()   max |v|, by the float's bits (a loop that vectorizes)
//   symmetric_scale()     scale = max|v| / 127, so v ≈ scale * q with q in [-127, 127]
//   to_int8()             round to nearest, clamp to [-127, 127]
//   QuantizedWeights      W [N x K] as int8 with one scale per row (per channel) or one for all
//   quantize_weights()    per_tensor or per_channel
//   quantize_input()      x [M x K] as u8 = q + 128, one scale for the batch (dynamic quantization)
//   error_bound()         the largest error rounding can cause in one output, from the scales
//
// Why symmetric and why u8: the CPU's int8 dot-product instructions (VNNI's vpdpbusd, and AMX)
// multiply an unsigned byte by a signed byte. Inputs quantized to q in [-127, 127] are stored as
// q + 128 (1..255); the extra 128 * sum_k w[n][k] each output then holds is a constant of the
// weights, computed once here and subtracted in the kernel's last step (`offset`). Keeping q off
// -128 makes the grid symmetric: -v quantizes to -q.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "tensor/tensor.hpp"

namespace dp::quant {

enum class Granularity { per_tensor, per_channel };

inline constexpr int kMaxQ = 127;
inline constexpr int kInputOffset = 128;  // u8 = q + 128

// The largest |v|, through the float's bits: with the sign bit cleared, a larger float is a larger
// unsigned integer, and an integer max is a reduction GCC vectorizes (a float max is not, without
// -ffast-math: the order of NaNs would change).
inline float largest_magnitude(std::span<const float> v) {
  std::uint32_t largest = 0;
  for (const float x : v) {
    std::uint32_t bits;
    std::memcpy(&bits, &x, 4);
    largest = std::max(largest, bits & 0x7FFFFFFFu);
  }
  float out;
  std::memcpy(&out, &largest, 4);
  return out;
}

inline float symmetric_scale(std::span<const float> v) {
  const float largest = largest_magnitude(v);
  return largest > 0 ? largest / kMaxQ : 1.0f;  // all zeros: any scale represents them exactly
}

inline std::int8_t to_int8(float v, float inv_scale) {
  const float q = std::nearbyint(v * inv_scale);  // ties to even, like the hardware's converts
  return static_cast<std::int8_t>(std::clamp(q, float{-kMaxQ}, float{kMaxQ}));
}

struct QuantizedWeights {
  std::size_t n = 0, k = 0;
  std::vector<std::int8_t> q;     // n x k, row-major
  std::vector<float> scale;       // n entries (all equal for per_tensor)
  std::vector<std::int32_t> offset;  // n entries: 128 * sum_k q[r][k], what u8 inputs add

  float dequantized(std::size_t r, std::size_t c) const { return scale[r] * q[r * k + c]; }
};

inline QuantizedWeights quantize_weights(tensor::ConstView<float> w, Granularity g) {
  QuantizedWeights out{.n = w.rows, .k = w.cols, .q = std::vector<std::int8_t>(w.size()),
                       .scale = std::vector<float>(w.rows), .offset = std::vector<std::int32_t>(w.rows)};
  const float tensor_scale = symmetric_scale(w.span());
  for (std::size_t r = 0; r < w.rows; ++r) {
    const float s = g == Granularity::per_tensor ? tensor_scale : symmetric_scale(w.row(r));
    std::int32_t sum = 0;
    for (std::size_t c = 0; c < w.cols; ++c) sum += out.q[r * w.cols + c] = to_int8(w(r, c), 1.0f / s);
    out.scale[r] = s;
    out.offset[r] = kInputOffset * sum;
  }
  return out;
}

struct QuantizedInput {
  std::size_t m = 0, k = 0;
  std::vector<std::uint8_t> u;  // m x k, row-major, q + 128
  float scale = 1;
};

// Dynamic quantization: the scale comes from this batch's own largest value, found at run time.
inline void quantize_input(tensor::ConstView<float> x, QuantizedInput& out) {
  out.m = x.rows, out.k = x.cols;
  out.u.resize(x.size());
  out.scale = symmetric_scale(x.span());
  const float inv = 1.0f / out.scale;
  for (std::size_t i = 0; i < x.size(); ++i)
    out.u[i] = static_cast<std::uint8_t>(to_int8(x.data[i], inv) + kInputOffset);
}

// Rounding moves each input by at most sx/2 and each weight by at most sw/2, so one product
// x*w moves by at most |x| sw/2 + |w| sx/2 + sx sw/4; an output, a sum of K products, by at most
// the sum of those. (Clamping never adds to it: the scales come from the largest magnitudes.)
// Returns that bound for output (row, col), in the units of y.
inline double error_bound(tensor::ConstView<float> x, tensor::ConstView<float> w, const QuantizedWeights& qw,
                          float x_scale, std::size_t row, std::size_t col) {
  const double sx = x_scale, sw = qw.scale[col];
  double bound = 0;
  for (std::size_t c = 0; c < x.cols; ++c)
    bound += std::fabs(x(row, c)) * sw / 2 + std::fabs(w(col, c)) * sx / 2 + sx * sw / 4;
  return bound;
}

}  // namespace dp::quant
