// mlp_trainer.hpp — a multi-layer perceptron that trains: forward, backward, Adam, in our kernels.
//
// Index
//   Mlp(widths, seed)   layers widths[0] -> widths[1] -> ... -> classes, relu between, PyTorch's
//                       default nn.Linear initialisation: W and b uniform in ±1/sqrt(fan_in)
//   train_step()        one batch: forward, softmax cross-entropy, backward, Adam; returns the loss
//   gradients(), apply()  the same step in its two halves, for a caller that changes the gradients
//                       in between (distributed-sgd averages them over processes there)
//   predict()           the most likely class of each row of a batch
//   gather(), train_epoch(), test_accuracy()
//                       the training loop over a LabelledImages set that train-mlp, quantize-mlp and
//                       distributed-sgd share: a shuffled order per epoch, batches (the last one
//                       partial), optionally only this process's share of each batch (Shard)
//   Forward             fused: each hidden layer is one GEMM with relu in its epilogue, into buffers
//                       kept between steps; op_by_op: what an eager framework does, one op at a
//                       time, each allocating its output and repacking W (linear_unpacked)
//
// The two forwards do the same arithmetic in the same order, so they train to the same weights,
// bit for bit: the lab checks that, and times what the difference in bookkeeping costs.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <numeric>
#include <random>
#include <span>
#include <vector>

#include "core/error.hpp"
#include "data/fashion_mnist.hpp"
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
    const double loss = gradients(x, labels, mode);
    apply(adam);
    return loss;
  }

  // Forward, softmax cross-entropy and backward: every layer's dw and db hold dL/dW, dL/db of the
  // batch's mean loss, which is returned.
  double gradients(ConstView<float> x, std::span<const std::uint8_t> labels, Forward mode) {
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
    return loss;
  }

  // Adam on every layer with the gradients in dw and db.
  void apply(tensor::Adam& adam) {
    adam.next_step();
    for (Layer& layer : layers_) {
      adam.step(layer.w.span(), layer.dw.span(), layer.mw.span(), layer.vw.span());
      adam.step(layer.b.span(), layer.db.span(), layer.mb.span(), layer.vb.span());
    }
  }

  // Every gradient (dw, db of each layer, in order) and every parameter (w, b), as spans a caller
  // may copy out of and into (distributed-sgd packs the gradients into one buffer to send).
  std::vector<std::span<float>> gradient_spans() {
    std::vector<std::span<float>> s;
    for (Layer& layer : layers_) {
      s.push_back(layer.dw.span());
      s.push_back(layer.db.span());
    }
    return s;
  }
  std::vector<std::span<const float>> parameter_spans() const {
    std::vector<std::span<const float>> s;
    for (const Layer& layer : layers_) {
      s.push_back(layer.w.span());
      s.push_back(layer.b.span());
    }
    return s;
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

// ---------------------------------------------------------------------------------------------
// The training loop
// ---------------------------------------------------------------------------------------------

// Pixels 0-255 -> floats 0-1, for the images of one batch.
inline void gather(const data::LabelledImages& set, std::span<const std::uint32_t> ids, Tensor2D<float>& x,
                   std::vector<std::uint8_t>& labels) {
  if (x.rows() != ids.size() || x.cols() != set.pixels_per_image()) x = Tensor2D<float>(ids.size(), set.pixels_per_image());
  labels.resize(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto image = set.image(ids[i]);
    for (std::size_t p = 0; p < image.size(); ++p) x(i, p) = static_cast<float>(image[p]) * (1.0f / 255);
    labels[i] = set.labels[ids[i]];
  }
}

// Percent of the first `count` images of `set` that the network classifies right.
inline double test_accuracy(Mlp& net, const data::LabelledImages& set, std::size_t count) {
  Tensor2D<float> x;
  std::vector<std::uint8_t> labels, predicted;
  std::size_t right = 0;
  for (std::size_t start = 0; start < count; start += 1000) {
    std::vector<std::uint32_t> ids(std::min<std::size_t>(1000, count - start));
    std::iota(ids.begin(), ids.end(), static_cast<std::uint32_t>(start));
    gather(set, ids, x, labels);
    predicted.resize(ids.size());
    net.predict(x.const_view(), predicted);
    for (std::size_t i = 0; i < ids.size(); ++i) right += predicted[i] == labels[i];
  }
  return 100.0 * static_cast<double>(right) / static_cast<double>(count);
}

// Which part of every batch this process trains on: rows [rows * rank / ranks, rows * (rank + 1) / ranks).
struct Shard {
  std::size_t rank = 0, ranks = 1;
};

struct EpochPlan {
  std::size_t count = 0;     // the first `count` images of the set
  int epoch = 0;             // seeds the order: seed + epoch
  std::size_t batch = 256;   // images per step, over all processes; the last batch may be smaller
  std::uint64_t seed = 2024;
  Shard shard = {};
};

struct Epoch {
  double seconds = 0, mean_loss = 0, accuracy = 0;
};

// What a step gets: this process's rows of the batch, and how many rows the whole batch has.
struct BatchPart {
  ConstView<float> x;
  std::span<const std::uint8_t> labels;
  std::size_t batch_rows;
};

// The order of one epoch: 0 .. count-1 shuffled by seed + epoch (every trainer of the same plan,
// CPU, Vulkan or one MPI rank of many, walks the same order).
inline std::vector<std::uint32_t> epoch_order(std::size_t count, std::uint64_t seed, int epoch) {
  std::vector<std::uint32_t> order(count);
  std::iota(order.begin(), order.end(), 0u);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(seed + static_cast<std::uint64_t>(epoch)));
  return order;
}

// One epoch: the first plan.count images in a fresh order (seeded by the epoch), in batches; each
// batch's share (plan.shard) goes to `step`, which trains on it and returns the batch's loss.
// Every process of a shard walks the same order, so together they cover each batch once.
inline Epoch train_epoch(const data::LabelledImages& set, const EpochPlan& plan,
                         const std::function<double(const BatchPart&)>& step, std::vector<double>* step_losses = nullptr) {
  if (plan.count > set.count) throw Error("train_epoch: asked for more images than the set has");
  if (plan.batch == 0 || plan.shard.ranks == 0 || plan.shard.rank >= plan.shard.ranks) throw Error("train_epoch: bad batch or shard");
  const std::vector<std::uint32_t> order = epoch_order(plan.count, plan.seed, plan.epoch);
  Tensor2D<float> x;
  std::vector<std::uint8_t> labels;
  double total = 0;
  std::size_t steps = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t start = 0; start < plan.count; start += plan.batch, ++steps) {
    const std::size_t rows = std::min(plan.batch, plan.count - start);
    const std::size_t lo = rows * plan.shard.rank / plan.shard.ranks, hi = rows * (plan.shard.rank + 1) / plan.shard.ranks;
    gather(set, std::span<const std::uint32_t>(order.data() + start + lo, hi - lo), x, labels);
    const double loss = step({x.const_view(), labels, rows});
    total += loss;
    if (step_losses) step_losses->push_back(loss);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {seconds, steps ? total / static_cast<double>(steps) : 0, 0};
}

// The same on one process: every batch whole, one train_step each.
inline Epoch train_epoch(Mlp& net, tensor::Adam& adam, const data::LabelledImages& set, const EpochPlan& plan, Forward mode,
                         std::vector<double>* step_losses = nullptr) {
  return train_epoch(set, plan, [&](const BatchPart& b) { return net.train_step(b.x, b.labels, adam, mode); }, step_losses);
}

}  // namespace dp::train
