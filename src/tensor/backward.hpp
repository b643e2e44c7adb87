// backward.hpp — the fast backward passes and optimizers a training step needs.
//
// Index
//   LinearBackward         dx = dy · W, dW = dyᵀ · x, db = Σ_rows dy, on our GEMM (gemm.hpp)
//   relu_backward()        dx = dy where relu's input was > 0, else 0 (in place allowed)
//   softmax_cross_entropy()  mean loss of a batch and its gradient, (softmax - one_hot) / B
//   Sgd, Adam              PyTorch's update rules (torch.optim.SGD with momentum, torch.optim.Adam)
//
// The definitions are reference_backward.hpp's loops; tests check these against them, and them
// against finite differences. Outputs go to views the caller owns; shapes are checked (dp::Error).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tensor/gemm.hpp"
#include "tensor/tensor.hpp"

namespace dp::tensor {

// Both products are GEMMs of the shape our kernel computes, out = a · bᵀ, once the operands are
// transposed: dx = dy · (Wᵀ)ᵀ and dW = (dyᵀ) · (xᵀ)ᵀ. The transposes and packed panels live here
// between steps, so a training loop allocates nothing after its first step.
class LinearBackward {
 public:
  // dx may be empty (data == nullptr): the first layer needs no gradient for its input.
  void run(ConstView<float> x, ConstView<float> w, ConstView<float> dy, MatrixView<float> dx, MatrixView<float> dw,
           std::span<float> db);

 private:
  Tensor2D<float> w_t_, x_t_, dy_t_;
  PackedLinear packed_;
};

void relu_backward(ConstView<float> relu_input, ConstView<float> dy, MatrixView<float> dx);

// logits: B x C; labels: B classes below C. Writes (softmax - one_hot) / B into grad (B x C; it
// may be logits itself) and returns the mean of -log softmax[label], computed in double.
double softmax_cross_entropy(ConstView<float> logits, std::span<const std::uint8_t> labels, MatrixView<float> grad);

// v = momentum * v + g; w -= lr * v      (PyTorch's SGD: no dampening, not Nesterov)
struct Sgd {
  float lr = 0.01f, momentum = 0.9f;
  void step(std::span<float> w, std::span<const float> g, std::span<float> velocity) const;
};

// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g²; w -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
struct Adam {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  int t = 0;  // steps taken: call next_step() once per training step, before the updates
  void next_step() { ++t; }
  void step(std::span<float> w, std::span<const float> g, std::span<float> m, std::span<float> v) const;
};

}  // namespace dp::tensor
