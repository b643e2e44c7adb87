// reference_backward.hpp — the gradients of linear, relu and softmax + cross-entropy, as the
// plainest loops: the definitions that the fast backward passes (backward.hpp) are checked against,
// and that are themselves checked against finite differences in double precision.
//
// Index
//   linear_backward(x, w, dy)                    -> dx = dy · W, dW = dyᵀ · x, db = Σ_rows dy
//   relu_backward(x, dy)                         -> dy where x > 0, else 0 (x: relu's input)
//   softmax_cross_entropy(logits, labels, grad)  -> mean loss; grad = (softmax - one_hot) / B
//
// Why these formulas: y = x · Wᵀ + b means y[i][j] = Σ_k x[i][k] W[j][k] + b[j]. A change in
// W[j][k] changes y[i][j] by x[i][k] for every row i, so dL/dW[j][k] = Σ_i dy[i][j] x[i][k]; a
// change in x[i][k] reaches every y[i][j] through W[j][k], so dL/dx[i][k] = Σ_j dy[i][j] W[j][k].
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

#include <fmt/format.h>

#include "core/error.hpp"
#include "tensor/tensor.hpp"

namespace dp::tensor::ref {

template <typename T>
struct LinearGrads {
  Tensor2D<T> dx, dw, db;  // B x K, N x K, 1 x N
};

template <typename T>
LinearGrads<T> linear_backward(const Tensor2D<T>& x, const Tensor2D<T>& w, const Tensor2D<T>& dy) {
  if (x.cols() != w.cols() || dy.rows() != x.rows() || dy.cols() != w.rows())
    throw Error(fmt::format("linear_backward: x is {}, W is {}, dy is {}; want x B x K, W N x K, dy B x N",
                            x.shape(), w.shape(), dy.shape()));
  LinearGrads<T> g{Tensor2D<T>(x.rows(), x.cols()), Tensor2D<T>(w.rows(), w.cols()), Tensor2D<T>(1, w.rows())};
  for (std::size_t i = 0; i < x.rows(); ++i)
    for (std::size_t j = 0; j < w.rows(); ++j) {
      const T d = dy(i, j);
      g.db(0, j) += d;
      for (std::size_t k = 0; k < x.cols(); ++k) {
        g.dx(i, k) += d * w(j, k);
        g.dw(j, k) += d * x(i, k);
      }
    }
  return g;
}

template <typename T>
Tensor2D<T> relu_backward(const Tensor2D<T>& x, const Tensor2D<T>& dy) {
  Tensor2D<T> dx(x.rows(), x.cols());
  for (std::size_t i = 0; i < x.size(); ++i) dx.data()[i] = x.data()[i] > T(0) ? dy.data()[i] : T(0);
  return dx;
}

// L = mean over rows of -log softmax(logits)[label]. Per row, with m the row's maximum:
// -log p_label = log Σ_j exp(z_j - m) - (z_label - m), and dL/dz_j = (p_j - [j == label]) / B.
template <typename T>
T softmax_cross_entropy(const Tensor2D<T>& logits, std::span<const std::uint8_t> labels, Tensor2D<T>* grad) {
  if (labels.size() != logits.rows())
    throw Error(fmt::format("softmax_cross_entropy: {} labels for {} rows of logits", labels.size(), logits.rows()));
  const auto batch = static_cast<T>(logits.rows());
  if (grad) *grad = Tensor2D<T>(logits.rows(), logits.cols());
  T loss = 0;
  for (std::size_t i = 0; i < logits.rows(); ++i) {
    if (labels[i] >= logits.cols())
      throw Error(fmt::format("softmax_cross_entropy: label {} of row {} is not below {} classes", labels[i], i, logits.cols()));
    T m = logits(i, 0);
    for (std::size_t j = 1; j < logits.cols(); ++j) m = std::max(m, logits(i, j));
    T total = 0;
    for (std::size_t j = 0; j < logits.cols(); ++j) total += std::exp(logits(i, j) - m);
    loss += std::log(total) - (logits(i, labels[i]) - m);
    if (grad)
      for (std::size_t j = 0; j < logits.cols(); ++j)
        (*grad)(i, j) = (std::exp(logits(i, j) - m) / total - (j == labels[i] ? T(1) : T(0))) / batch;
  }
  return loss / batch;
}

}  // namespace dp::tensor::ref
