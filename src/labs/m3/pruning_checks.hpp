// pruning_checks.hpp — the pruning lab's inputs and its reference (src/labs/m3/pruning.cpp).
//
// Index
//   he_uniform()           random W as nn.Linear initialises it for ReLU layers
//   reference()            y = x · Wᵀ in double, plain loops, with sum |x w| per output
//   compare_to()           a kernel's y against the reference, tolerance from sum |x w|
//   relative_error()       ||y - want|| / ||want|| (Frobenius): what pruning costs in accuracy
//   count_zeros(), two_four_violations()   what a pruned W really holds
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/check.hpp"
#include "tensor/tensor.hpp"

namespace dp::pruning {

using Matrix = dp::tensor::Tensor2D<float>;

// He-uniform, as nn.Linear's kaiming init for ReLU: U(-sqrt(6/K), sqrt(6/K)).
Matrix he_uniform(std::size_t n, std::size_t k, std::uint64_t seed) {
  const float bound = std::sqrt(6.0f / static_cast<float>(k));
  return Matrix::random(n, k, seed, -bound, bound);
}

// y = x · Wᵀ in double, the plainest loops; also sum |x w| per output, the scale of its rounding.
struct Reference {
  std::vector<double> y, scale;
};
Reference reference(const Matrix& x, const Matrix& w) {
  Reference r{std::vector<double>(x.rows() * w.rows()), std::vector<double>(x.rows() * w.rows())};
  for (std::size_t b = 0; b < x.rows(); ++b)
    for (std::size_t n = 0; n < w.rows(); ++n) {
      double s = 0, a = 0;
      for (std::size_t k = 0; k < x.cols(); ++k) {
        const double t = static_cast<double>(x(b, k)) * static_cast<double>(w(n, k));
        s += t, a += std::fabs(t);
      }
      r.y[b * w.rows() + n] = s, r.scale[b * w.rows() + n] = a;
    }
  return r;
}

// An fp32 sum of K products is off by about sqrt(K) * 6e-8 of its sum |x w| (K * 6e-8 at worst, a
// bound never approached with random signs): at most 4e-6 for K = 4096. The tolerance, 1e-5 of the
// largest sum |x w|, is well above that, and a single lost or misplaced nonzero (a term of about
// 1/K of the sum, 2.5e-4 at K = 4096) is far over it.
dp::CompareResult compare_to(const Matrix& y, const Reference& ref) {
  const double scale = *std::max_element(ref.scale.begin(), ref.scale.end());
  return dp::compare(y.span(), std::span<const double>(ref.y), dp::Tolerance{.abs = 1e-5 * scale, .rel = 0});
}

double relative_error(const std::vector<double>& y, const std::vector<double>& want) {
  double d = 0, s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) d += (y[i] - want[i]) * (y[i] - want[i]), s += want[i] * want[i];
  return std::sqrt(d / s);
}

std::size_t count_zeros(const Matrix& w) { return static_cast<std::size_t>(std::count(w.span().begin(), w.span().end(), 0.0f)); }

// Is every group of 4 along every row at most 2 nonzeros? Returns the violations.
std::size_t two_four_violations(const Matrix& w) {
  std::size_t bad = 0;
  for (std::size_t n = 0; n < w.rows(); ++n)
    for (std::size_t c0 = 0; c0 < w.cols(); c0 += 4) {
      int nz = 0;
      for (std::size_t c = c0; c < std::min(w.cols(), c0 + 4); ++c) nz += w(n, c) != 0.0f;
      bad += nz > 2;
    }
  return bad;
}

}  // namespace dp::pruning
