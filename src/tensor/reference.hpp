// reference.hpp — every tensor op as the plainest loops that could work: the definition.
//
// The fast kernels (ops.hpp, gemm.hpp) and every graph mode are checked against these. They are
// templates so a check can run them in double precision (cast<double>(x) first): a reference that
// rounds like the code it checks could share its errors. No blocking, no SIMD, no threads.
//
// Index
//   cast<U>(t)                 element-wise conversion (float -> double for checks)
//   linear(x, w, b)            x · Wᵀ + b      x: M x K, W: N x K, b: 1 x N (or empty) -> M x N
//   relu(x)                    max(x, 0)
//   softmax_rows(x)            per row: exp(x - max) / sum(exp(x - max))
//   add(a, b), sub(a, b)       element-wise, equal shapes
//   sum(x)                     all elements -> 1 x 1
//   linear_relu, linear_relu_softmax   the fused ops' definitions: just the composition
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include <fmt/format.h>

#include "core/error.hpp"
#include "tensor/tensor.hpp"

namespace dp::tensor::ref {

template <typename U, typename T>
Tensor2D<U> cast(const Tensor2D<T>& t) {
  Tensor2D<U> out(t.rows(), t.cols());
  for (std::size_t i = 0; i < t.size(); ++i) out.data()[i] = static_cast<U>(t.data()[i]);
  return out;
}

template <typename T>
void require_same_shape(const char* op, const Tensor2D<T>& a, const Tensor2D<T>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols())
    throw Error(fmt::format("{}: shapes {} and {} differ; want equal shapes", op, a.shape(),
                            b.shape()));
}

template <typename T>
Tensor2D<T> linear(const Tensor2D<T>& x, const Tensor2D<T>& w, const Tensor2D<T>& b) {
  if (x.cols() != w.cols() || (b.size() != 0 && b.size() != w.rows()))
    throw Error(fmt::format("linear: x is {}, W is {}, b is {}; want x M x K, W N x K, b 1 x N",
                            x.shape(), w.shape(), b.shape()));
  Tensor2D<T> out(x.rows(), w.rows());
  for (std::size_t i = 0; i < x.rows(); ++i)
    for (std::size_t j = 0; j < w.rows(); ++j) {
      T acc = b.size() ? b.data()[j] : T(0);
      for (std::size_t k = 0; k < x.cols(); ++k) acc += x(i, k) * w(j, k);
      out(i, j) = acc;
    }
  return out;
}

template <typename T>
Tensor2D<T> relu(const Tensor2D<T>& x) {
  Tensor2D<T> out(x.rows(), x.cols());
  for (std::size_t i = 0; i < x.size(); ++i) out.data()[i] = std::max(x.data()[i], T(0));
  return out;
}

// Subtracting the row's maximum first changes nothing mathematically (it cancels between the
// numerator and the sum) but keeps exp() from overflowing: every exponent is <= 0.
template <typename T>
Tensor2D<T> softmax_rows(const Tensor2D<T>& x) {
  Tensor2D<T> out(x.rows(), x.cols());
  for (std::size_t i = 0; i < x.rows(); ++i) {
    if (x.cols() == 0) continue;
    T m = x(i, 0);
    for (std::size_t j = 1; j < x.cols(); ++j) m = std::max(m, x(i, j));
    T total = 0;
    for (std::size_t j = 0; j < x.cols(); ++j) total += out(i, j) = std::exp(x(i, j) - m);
    for (std::size_t j = 0; j < x.cols(); ++j) out(i, j) /= total;
  }
  return out;
}

template <typename T>
Tensor2D<T> add(const Tensor2D<T>& a, const Tensor2D<T>& b) {
  require_same_shape("add", a, b);
  Tensor2D<T> out(a.rows(), a.cols());
  for (std::size_t i = 0; i < a.size(); ++i) out.data()[i] = a.data()[i] + b.data()[i];
  return out;
}

template <typename T>
Tensor2D<T> sub(const Tensor2D<T>& a, const Tensor2D<T>& b) {
  require_same_shape("sub", a, b);
  Tensor2D<T> out(a.rows(), a.cols());
  for (std::size_t i = 0; i < a.size(); ++i) out.data()[i] = a.data()[i] - b.data()[i];
  return out;
}

template <typename T>
Tensor2D<T> sum(const Tensor2D<T>& x) {
  Tensor2D<T> out(1, 1);
  for (T v : x.span()) out.data()[0] += v;
  return out;
}

template <typename T>
Tensor2D<T> linear_relu(const Tensor2D<T>& x, const Tensor2D<T>& w, const Tensor2D<T>& b) {
  return relu(linear(x, w, b));
}

template <typename T>
Tensor2D<T> linear_relu_softmax(const Tensor2D<T>& x, const Tensor2D<T>& w,
                                const Tensor2D<T>& b) {
  return softmax_rows(relu(linear(x, w, b)));
}

}  // namespace dp::tensor::ref
