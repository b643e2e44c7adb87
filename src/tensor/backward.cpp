#include "tensor/backward.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.hpp"
#include "tensor/ops.hpp"

namespace dp::tensor {
namespace {

// Blocks of 32 x 32 (8 KiB of floats, in L1): reading rows and writing columns of a block keeps
// both sides in cache, where a plain double loop would miss on every write of a large matrix.
void transpose(ConstView<float> a, Tensor2D<float>& out) {
  if (out.rows() != a.cols || out.cols() != a.rows) out = Tensor2D<float>(a.cols, a.rows);
  constexpr std::size_t kBlock = 32;
  for (std::size_t i0 = 0; i0 < a.rows; i0 += kBlock)
    for (std::size_t j0 = 0; j0 < a.cols; j0 += kBlock)
      for (std::size_t i = i0; i < std::min(a.rows, i0 + kBlock); ++i)
        for (std::size_t j = j0; j < std::min(a.cols, j0 + kBlock); ++j) out(j, i) = a(i, j);
}

void require_same_size(const char* what, std::size_t a, std::size_t b) {
  if (a != b) throw Error(fmt::format("{}: sizes {} and {} differ; want equal sizes", what, a, b));
}

}  // namespace

void LinearBackward::run(ConstView<float> x, ConstView<float> w, ConstView<float> dy, MatrixView<float> dx,
                         MatrixView<float> dw, std::span<float> db) {
  if (x.cols != w.cols || dy.rows != x.rows || dy.cols != w.rows || dw.rows != w.rows || dw.cols != w.cols ||
      db.size() != w.rows || (dx.data && (dx.rows != x.rows || dx.cols != x.cols)))
    throw Error(fmt::format("linear backward: x is {}, W is {}, dy is {}, dx is {}, dW is {}, db has {}; want x B x K, "
                            "W N x K, dy B x N, dx B x K (or none), dW N x K, db N",
                            x.shape(), w.shape(), dy.shape(), dx.shape(), dw.shape(), db.size()));
  if (dx.data) {
    transpose(w, w_t_);  // K x N: as "weights", K outputs of N inputs each
    packed_.pack(w_t_.const_view(), {});
    linear(dy, packed_, dx);
  }
  transpose(dy, dy_t_);  // N x B
  transpose(x, x_t_);    // K x B
  packed_.pack(x_t_.const_view(), {});
  linear(dy_t_.const_view(), packed_, dw);
  std::fill(db.begin(), db.end(), 0.0f);
  for (std::size_t i = 0; i < dy.rows; ++i)
    for (std::size_t j = 0; j < dy.cols; ++j) db[j] += dy(i, j);
}

void relu_backward(ConstView<float> relu_input, ConstView<float> dy, MatrixView<float> dx) {
  require_same_size("relu backward (input, dy)", relu_input.size(), dy.size());
  require_same_size("relu backward (input, dx)", relu_input.size(), dx.size());
  for (std::size_t i = 0; i < dx.size(); ++i) dx.data[i] = relu_input.data[i] > 0.0f ? dy.data[i] : 0.0f;
}

double softmax_cross_entropy(ConstView<float> logits, std::span<const std::uint8_t> labels, MatrixView<float> grad) {
  if (labels.size() != logits.rows || grad.rows != logits.rows || grad.cols != logits.cols)
    throw Error(fmt::format("softmax cross-entropy: logits {}, {} labels, grad {}; want B x C, B labels, grad B x C",
                            logits.shape(), labels.size(), grad.shape()));
  const double batch = static_cast<double>(logits.rows);
  double loss = 0;
  for (std::size_t i = 0; i < logits.rows; ++i) {
    if (labels[i] >= logits.cols)
      throw Error(fmt::format("softmax cross-entropy: label {} of row {} is not below {} classes", labels[i], i, logits.cols));
    const auto row = logits.row(i);
    const float m = *std::max_element(row.begin(), row.end());
    double total = 0;
    for (const float z : row) total += std::exp(static_cast<double>(z - m));
    loss += std::log(total) - static_cast<double>(row[labels[i]] - m);
    const auto out = grad.row(i);  // may be the same row: each z is read before its own slot is written
    for (std::size_t j = 0; j < logits.cols; ++j)
      out[j] = static_cast<float>((std::exp(static_cast<double>(row[j] - m)) / total - (j == labels[i] ? 1.0 : 0.0)) / batch);
  }
  return loss / batch;
}

void Sgd::step(std::span<float> w, std::span<const float> g, std::span<float> velocity) const {
  require_same_size("sgd (weights, gradient)", w.size(), g.size());
  require_same_size("sgd (weights, velocity)", w.size(), velocity.size());
  for (std::size_t i = 0; i < w.size(); ++i) {
    velocity[i] = momentum * velocity[i] + g[i];
    w[i] -= lr * velocity[i];
  }
}

void Adam::step(std::span<float> w, std::span<const float> g, std::span<float> m, std::span<float> v) const {
  require_same_size("adam (weights, gradient)", w.size(), g.size());
  require_same_size("adam (weights, first moment)", w.size(), m.size());
  require_same_size("adam (weights, second moment)", w.size(), v.size());
  if (t < 1) throw Error("adam: step() before next_step(); the bias correction needs t >= 1");
  const float c1 = 1.0f - std::pow(beta1, static_cast<float>(t)), c2 = 1.0f - std::pow(beta2, static_cast<float>(t));
  for (std::size_t i = 0; i < w.size(); ++i) {
    m[i] = beta1 * m[i] + (1.0f - beta1) * g[i];
    v[i] = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
    w[i] -= lr * (m[i] / c1) / (std::sqrt(v[i] / c2) + eps);
  }
}

}  // namespace dp::tensor
