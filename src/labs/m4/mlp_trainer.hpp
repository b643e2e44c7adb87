// mlp_trainer.hpp — a multi-layer perceptron that trains: forward, backward, Adam, in our kernels.
//
// Index
//   Mlp(widths, seed)   layers widths[0] -> widths[1] -> ... -> classes, relu between, PyTorch's
//                       default nn.Linear initialisation: W and b uniform in ±1/sqrt(fan_in)
//   train_step()        one batch: forward, softmax cross-entropy, backward, Adam; returns the loss
//   predict()           the most likely class of each row of a batch
//   Forward             fused: each hidden layer is one GEMM with relu in its epilogue, into buffers
//                       kept between steps; op_by_op: what an eager framework does, one op at a
//                       time, each allocating its output and repacking W (linear_unpacked)
//
// The two forwards do the same arithmetic in the same order, so they train to the same weights,
// bit for bit: the lab checks that, and times what the difference in bookkeeping costs.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "core/error.hpp"
#include "tensor/backward.hpp"
#include "tensor/gemm.hpp"
#include "tensor/ops.hpp"
#include "tensor/tensor.hpp"

namespace dp::train {

using tensor::ConstView;
using tensor::MatrixView;
using tensor::Tensor2D;

enum class Forward { fused, op_by_op };

struct Layer {
  Tensor2D<float> w, b;          // out x in, 1 x out
  Tensor2D<float> dw, db;        // their gradients
  Tensor2D<float> mw, vw, mb, vb;  // Adam's moments
  tensor::PackedLinear packed;
  tensor::LinearBackward backward;
};

class Mlp {
 public:
  Mlp(const std::vector<std::size_t>& widths, std::uint64_t seed) {
    if (widths.size() < 2) throw Error("Mlp: need at least an input and an output width");
    std::mt19937_64 rng(seed);
    for (std::size_t l = 0; l + 1 < widths.size(); ++l) {
      const std::size_t in = widths[l], out = widths[l + 1];
      const float bound = 1.0f / std::sqrt(static_cast<float>(in));
      Layer layer{.w = Tensor2D<float>::random(out, in, rng(), -bound, bound),
                  .b = Tensor2D<float>::random(1, out, rng(), -bound, bound),
                  .dw = Tensor2D<float>(out, in), .db = Tensor2D<float>(1, out),
                  .mw = Tensor2D<float>(out, in), .vw = Tensor2D<float>(out, in),
                  .mb = Tensor2D<float>(1, out), .vb = Tensor2D<float>(1, out)};
      layers_.push_back(std::move(layer));
    }
  }

  const std::vector<Layer>& layers() const { return layers_; }
  std::size_t classes() const { return layers_.back().w.rows(); }

  double train_step(ConstView<float> x, std::span<const std::uint8_t> labels, tensor::Adam& adam, Forward mode) {
    forward(x, mode);
    Tensor2D<float>& logits = out_.back();
    const double loss = tensor::softmax_cross_entropy(logits.const_view(), labels, logits.view());  // logits -> dlogits
    // Backward, last layer first: grad_ holds dL/d(output of layer l) on the way down.
    for (std::size_t l = layers_.size(); l-- > 0;) {
      Layer& layer = layers_[l];
      const ConstView<float> input = l == 0 ? x : out_[l - 1].const_view();
      const ConstView<float> d_out = l + 1 == layers_.size() ? logits.const_view() : grad_[l].const_view();
      MatrixView<float> d_in{};
      if (l > 0) d_in = sized(grad_[l - 1], x.rows, layer.w.cols()).view();
      layer.backward.run(input, layer.w.const_view(), d_out, d_in, layer.dw.view(), layer.db.span());
      if (l > 0) tensor::relu_backward(out_[l - 1].const_view(), d_in, d_in);  // relu'(a) = [h > 0]
    }
    adam.next_step();
    for (Layer& layer : layers_) {
      adam.step(layer.w.span(), layer.dw.span(), layer.mw.span(), layer.vw.span());
      adam.step(layer.b.span(), layer.db.span(), layer.mb.span(), layer.vb.span());
    }
    return loss;
  }

  void predict(ConstView<float> x, std::span<std::uint8_t> classes_out) {
    forward(x, Forward::fused);
    const Tensor2D<float>& logits = out_.back();
    for (std::size_t i = 0; i < x.rows; ++i) {
      const auto row = logits.row(i);
      classes_out[i] = static_cast<std::uint8_t>(std::max_element(row.begin(), row.end()) - row.begin());
    }
  }

 private:
  static Tensor2D<float>& sized(Tensor2D<float>& t, std::size_t rows, std::size_t cols) {
    if (t.rows() != rows || t.cols() != cols) t = Tensor2D<float>(rows, cols);
    return t;
  }

  // out_[l] = layer l's output: relu(x W^T + b) for hidden layers, the logits for the last.
  void forward(ConstView<float> x, Forward mode) {
    out_.resize(layers_.size());
    grad_.resize(layers_.size());
    ConstView<float> in = x;
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      Layer& layer = layers_[l];
      const bool hidden = l + 1 < layers_.size();
      const auto act = hidden ? tensor::Activation::relu : tensor::Activation::none;
      if (mode == Forward::fused) {
        layer.packed.pack(layer.w.const_view(), layer.b.span());  // W changed at the last step
        tensor::linear(in, layer.packed, sized(out_[l], x.rows, layer.w.rows()).view(), act);
      } else {  // a fresh tensor per op, W repacked inside linear_unpacked, relu as its own pass
        Tensor2D<float> a(x.rows, layer.w.rows());
        tensor::linear_unpacked(in, layer.w.const_view(), layer.b.span(), a.view());
        Tensor2D<float> h(x.rows, layer.w.rows());
        if (hidden) tensor::relu(a.const_view(), h.view());
        out_[l] = hidden ? std::move(h) : std::move(a);
      }
      in = out_[l].const_view();
    }
  }

  std::vector<Layer> layers_;
  std::vector<Tensor2D<float>> out_, grad_;
};

}  // namespace dp::train
