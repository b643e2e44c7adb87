// mlp_trainer_gpu.hpp — the train-mlp network trained on a Vulkan device: a whole training step
// (batch gather, forward, loss, backward, Adam) recorded once into one command buffer and replayed.
//
// Index
//   GpuTrainOptions   batch, Adam's constants, steps recorded per submission, GEMM block size
//   GpuMlp            the network on the GPU, started from a CPU Mlp's weights (mlp_trainer.hpp)
//     load()          (re)start from a CPU Mlp: weights uploaded, Adam's moments and step reset
//     train_epoch()   the steps of one epoch over `order` (training-image ids): per-step losses,
//                     wall time, GPU time per step (timestamps) and per phase
//     test_accuracy() % of the test images classified right (forward + argmax on the GPU)
//     weights()       W and b of every layer, read back; gradients(): the last step's dW and db
//
// The data stay on the GPU: the training images are uploaded once (4 pixels to a uint), and each
// epoch uploads only its order (an index buffer) and Adam's bias corrections. A step is 15
// dispatches (shaders/mlp/) with a barrier wherever the next reads what the last wrote:
//   gather        x = images[order[step * B + r]] / 255, y = labels       gather.comp
//   forward       h1 = relu(x W1ᵀ + b1), h2 = relu(h1 W2ᵀ + b2), z = h2 W3ᵀ + b3   gemm.comp
//   loss          dz = (softmax(z) - one_hot(y)) / rows, losses[step]     softmax_ce.comp
//   backward      per layer, last first: dW = dyᵀ h, db = Σ dy, dh = (dy W) · [h > 0]
//                 (three independent dispatches: no barrier between them) gemm.comp, column_sum.comp
//   update        Adam over all parameters at once (one buffer)          adam.comp
//   advance       state[0] += 1: the next replay takes the next batch    advance.comp
// The step number lives in a GPU buffer, not in the recording, so the same command buffer serves
// every step: recorded once, submitted again and again (steps_per_submit copies of it back to back
// in one command buffer, when asked: fewer submissions and waits).
//
// The arithmetic is the CPU trainer's (mlp_trainer.hpp): same initialisation, same batches in the
// same order, the last short batch included, Adam's rule in float. Only the order of the sums in
// the GEMMs differs, so one step agrees with the CPU to rounding (the lab and
// tests/labs/mlp_trainer_gpu_test.cpp check it).
#pragma once

#if defined(DP_HAVE_GPU)

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "data/fashion_mnist.hpp"
#include "gpu/gpu.hpp"
#include "labs/m4/mlp_trainer.hpp"
#include "tensor/backward.hpp"
#include "tensor/tensor.hpp"

namespace dp::train {

struct GpuTrainOptions {
  std::size_t batch = 256;
  tensor::Adam adam{};        // lr, beta1, beta2, eps (its t is ignored: GpuMlp counts steps)
  int steps_per_submit = 1;   // copies of the step in one command buffer (the rest: one at a time)
  int block = 0;              // outputs per thread along each side in the GEMMs (1, 2, 4, 8); 0: 8 on
                              // a CPU device (measured fastest on lavapipe: 1 was 8x slower), 1 on a
                              // GPU (at batch 256, the most workgroups to fill its many cores: a
                              // guess, not yet measured on a GPU; bench/gpu/m4_h200.sh tries 2 too)
  int tiled = -1;             // GEMMs through shared-memory tiles (1: the GPU kernel) or straight from
                              // the buffers (0: the CPU device kernel); -1: 0 on a CPU device, else 1
};

// The phases of a step, as the one-step recording's timestamps split it.
inline constexpr std::array<const char*, 5> kGpuPhases = {"gather", "forward", "loss", "backward", "Adam"};

class GpuMlp {
 public:
  struct Epoch {
    double wall_seconds = 0;               // first submission to last wait, host clock
    std::vector<double> losses;            // per step
    std::vector<double> gpu_ns_per_step;   // per submission: its GPU time / the steps in it
    std::vector<double> wall_ns_per_step;  // per submission: submit + wait / the steps in it
    std::array<double, kGpuPhases.size()> phase_ns{};  // GPU time of each phase, summed over the
    int phase_steps = 0;                                // one-step submissions (phase_steps of them)
  };

  // The training images [0, train_count) and test images [0, test_count) are uploaded now.
  // Throws dp::Error for widths that do not match the images, or a set too large for the device.
  GpuMlp(gpu::Device& device, const Mlp& start, const data::LabelledImages& train, std::size_t train_count,
         const data::LabelledImages& test, std::size_t test_count, GpuTrainOptions options = {})
      : device_(device), options_(options), batch_(options.batch), train_count_(train_count), test_count_(test_count) {
    const auto& layers = start.layers();
    widths_.push_back(layers.front().w.cols());
    for (const Layer& l : layers) widths_.push_back(l.w.rows());
    features_ = widths_.front();
    if (train.pixels_per_image() != features_ || test.pixels_per_image() != features_)
      throw Error(fmt::format("GpuMlp: the network takes {} inputs but the images have {} (train) and {} (test) pixels",
                              features_, train.pixels_per_image(), test.pixels_per_image()));
    if (train_count == 0 || train_count > train.count || test_count == 0 || test_count > test.count || batch_ == 0)
      throw Error(fmt::format("GpuMlp: {} of {} training and {} of {} test images in batches of {}; want 1 to all of "
                              "the images of each set, a batch of at least 1",
                              train_count, train.count, test_count, test.count, batch_));
    if (options_.steps_per_submit < 1) throw Error("GpuMlp: steps_per_submit must be at least 1");
    const int block = options_.block != 0 ? options_.block : device.is_cpu() ? 8 : 1;
    if (block != 1 && block != 2 && block != 4 && block != 8) throw Error(fmt::format("GpuMlp: block {}; want 1, 2, 4 or 8", block));
    block_ = static_cast<std::uint32_t>(block);

    // Parameters: every W and b in one buffer (each at a 256-byte boundary, the largest storage
    // buffer offset alignment Vulkan allows), so one Adam dispatch updates them all.
    std::size_t at = 0;
    for (const Layer& l : layers) {
      offsets_.push_back({at, align(at + l.w.size())});
      at = align(offsets_.back().b + l.b.size());
    }
    params_count_ = at;
    const std::size_t steps = steps_for(train_count);
    auto floats = [&](std::size_t n) { return std::make_unique<gpu::Buffer>(device, std::max<std::size_t>(n, 1) * 4); };
    params_ = floats(params_count_);
    grads_ = floats(params_count_);
    m_ = floats(params_count_);
    v_ = floats(params_count_);
    train_pixels_ = pack_pixels(train, train_count);
    train_labels_ = labels_of(train, train_count);
    test_pixels_ = pack_pixels(test, test_count);
    test_labels_ = labels_of(test, test_count);
    order_ = floats(train_count);
    corrections_ = floats(2 * steps);
    losses_ = floats(steps);
    state_ = floats(4);
    correct_ = floats(1);
    x_ = floats(batch_ * features_);
    y_ = floats(batch_);
    for (std::size_t l = 1; l < widths_.size(); ++l) {
      out_.push_back(floats(batch_ * widths_[l]));   // h1, h2, z
      grad_.push_back(floats(batch_ * widths_[l]));  // dh1, dh2, dz
    }
    grads_->upload(std::vector<float>(params_count_, 0.0f));  // the alignment gaps stay 0

    using gpu::builtin_shader;
    const bool tiled = options_.tiled < 0 ? !device.is_cpu() : options_.tiled != 0;  // gemm.comp says why
    const std::string direct = tiled ? "0" : "1";
    auto gemm = [&](std::uint32_t a_t, std::uint32_t b_t, std::uint32_t epilogue) {
      const std::string b = std::to_string(block_);
      return std::make_unique<gpu::Kernel>(
          device, gpu::KernelSpec{.source = builtin_shader("mlp/gemm.comp", {{"TM", b}, {"TN", b}, {"DIRECT", direct}}), .buffers = 5,
                                  .push_bytes = 12, .specialization = {a_t, b_t, epilogue}, .required_subgroup_size = 0});
    };
    auto kernel = [&](const char* path, std::uint32_t buffers, std::uint32_t push) {
      return std::make_unique<gpu::Kernel>(device, gpu::KernelSpec{.source = builtin_shader(path), .buffers = buffers,
                                                                   .push_bytes = push, .specialization = {},
                                                                   .required_subgroup_size = 0});
    };
    linear_ = gemm(0, 1, 1);
    linear_relu_ = gemm(0, 1, 2);
    backward_input_ = gemm(0, 0, 3);
    backward_weight_ = gemm(1, 0, 0);
    gather_ = kernel("mlp/gather.comp", 6, 20);
    softmax_ce_ = kernel("mlp/softmax_ce.comp", 5, 8);
    column_sum_ = kernel("mlp/column_sum.comp", 2, 8);
    adam_ = kernel("mlp/adam.comp", 6, 20);
    advance_ = kernel("mlp/advance.comp", 1, 0);
    accuracy_ = kernel("mlp/accuracy.comp", 3, 8);

    timestamps_ = device.report().timestamps;
    one_ = std::make_unique<gpu::Sequence>(device, 8);
    one_->begin();
    record_step(*one_, /*phase_timestamps=*/true);
    one_->end();
    if (options_.steps_per_submit > 1) {
      many_ = std::make_unique<gpu::Sequence>(device, 2);
      many_->begin();
      if (timestamps_) many_->timestamp();
      for (int s = 0; s < options_.steps_per_submit; ++s) record_step(*many_, false);
      if (timestamps_) many_->timestamp();
      many_->end();
    }
    load(start);
  }

  // Starts again from `start`'s weights, Adam's moments zero and its step count 0.
  void load(const Mlp& start) {
    if (start.layers().size() + 1 != widths_.size())
      throw Error(fmt::format("GpuMlp::load: a network of {} layers; this one has {}", start.layers().size(), widths_.size() - 1));
    std::vector<float> p(params_count_, 0.0f);
    for (std::size_t l = 0; l < start.layers().size(); ++l) {
      const Layer& layer = start.layers()[l];
      if (layer.w.rows() != widths_[l + 1] || layer.w.cols() != widths_[l])
        throw Error(fmt::format("GpuMlp::load: layer {} is {} x {}; this network's is {} x {}", l, layer.w.rows(),
                                layer.w.cols(), widths_[l + 1], widths_[l]));
      std::copy(layer.w.span().begin(), layer.w.span().end(), p.begin() + static_cast<std::ptrdiff_t>(offsets_[l].w));
      std::copy(layer.b.span().begin(), layer.b.span().end(), p.begin() + static_cast<std::ptrdiff_t>(offsets_[l].b));
    }
    params_->upload(p);
    const std::vector<float> zeros(params_count_, 0.0f);
    m_->upload(zeros);
    v_->upload(zeros);
    adam_steps_ = 0;
  }

  // One epoch: ceil(order.size() / batch) steps over the training images `order` names (ids below
  // train_count; the lab passes a shuffled permutation, the one-step check its first batch).
  Epoch train_epoch(std::span<const std::uint32_t> order) {
    if (order.empty() || order.size() > train_count_)
      throw Error(fmt::format("GpuMlp::train_epoch: {} image ids; want 1 to {}", order.size(), train_count_));
    for (const std::uint32_t id : order)
      if (id >= train_count_) throw Error(fmt::format("GpuMlp::train_epoch: image id {} is not below {}", id, train_count_));
    const std::size_t steps = steps_for(order.size());
    order_->upload(order);
    // Adam's bias corrections for steps t = adam_steps_ + 1 ..., as tensor::Adam computes them.
    std::vector<float> corrections(2 * steps);
    for (std::size_t s = 0; s < steps; ++s) {
      const float t = static_cast<float>(adam_steps_ + s + 1);
      corrections[2 * s] = 1.0f - std::pow(options_.adam.beta1, t);
      corrections[2 * s + 1] = 1.0f - std::pow(options_.adam.beta2, t);
    }
    corrections_->upload(corrections);
    state_->upload(std::vector<std::uint32_t>{0, 0, static_cast<std::uint32_t>(order.size()), 0});

    Epoch e;
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    const auto k = static_cast<std::size_t>(options_.steps_per_submit);
    for (std::size_t s = 0; s < steps;) {
      const bool chunk = many_ && steps - s >= k;
      gpu::Sequence& seq = chunk ? *many_ : *one_;
      const std::size_t n = chunk ? k : 1;
      const auto w0 = Clock::now();
      seq.run();
      e.wall_ns_per_step.push_back(std::chrono::duration<double, std::nano>(Clock::now() - w0).count() / double(n));
      if (timestamps_) {
        if (chunk) {
          e.gpu_ns_per_step.push_back(seq.gpu_ns(0, 1) / double(n));
        } else {
          e.gpu_ns_per_step.push_back(seq.gpu_ns(0, kGpuPhases.size()));
          for (std::size_t p = 0; p < kGpuPhases.size(); ++p)
            e.phase_ns[p] += seq.gpu_ns(static_cast<std::uint32_t>(p), static_cast<std::uint32_t>(p + 1));
          ++e.phase_steps;
        }
      }
      s += n;
    }
    e.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    std::vector<float> losses(steps);
    losses_->download(std::span<float>(losses));
    e.losses.assign(losses.begin(), losses.end());
    adam_steps_ += steps;
    return e;
  }

  // Forward passes over the test images, batch by batch, recorded once (on first use) as one
  // command buffer; returns the % classified right.
  double test_accuracy() {
    if (!eval_) {
      eval_ = std::make_unique<gpu::Sequence>(device_, 0);
      eval_->begin().fill(*correct_, 0).barrier();
      for (std::size_t base = 0; base < test_count_; base += batch_) {
        eval_->dispatch(*gather_, {*test_pixels_, *test_labels_, *order_, *state_, *x_, *y_},
                        gpu::Groups{gpu::groups_for(features_, 256), u32(batch_)},
                        GatherPush{u32(features_), u32(batch_), u32(base), u32(test_count_), 0});
        eval_->barrier();
        record_forward(*eval_);
        eval_->dispatch(*accuracy_, {*out_.back(), *y_, *correct_}, gpu::Groups{gpu::groups_for(batch_, 256)},
                        RowsCols{u32(batch_), u32(widths_.back())});
        eval_->barrier();
      }
      eval_->download(*correct_).end();
    }
    eval_->run();
    std::uint32_t right = 0;
    std::memcpy(&right, correct_->staging().data(), sizeof right);
    return 100.0 * static_cast<double>(right) / static_cast<double>(test_count_);
  }

  struct LayerWeights {
    tensor::Tensor2D<float> w, b;  // out x in, 1 x out
  };
  std::vector<LayerWeights> weights() { return read(*params_); }
  std::vector<LayerWeights> gradients() { return read(*grads_); }  // dW, db of the last step

  std::uint32_t block() const { return block_; }
  std::uint32_t dispatches_per_step() const { return dispatches_per_step_; }

 private:
  struct Offsets {
    std::size_t w, b;  // in floats, into the parameter buffers
  };
  struct MNK {
    std::uint32_t m, n, k;
  };
  struct RowsCols {
    std::uint32_t rows, cols;
  };
  struct GatherPush {
    std::uint32_t features, batch, base, count, use_order;
  };
  struct AdamPush {
    std::uint32_t n;
    float lr, beta1, beta2, eps;
  };

  std::vector<LayerWeights> read(gpu::Buffer& buffer) {
    std::vector<float> p(params_count_);
    buffer.download(std::span<float>(p));
    std::vector<LayerWeights> out;
    for (std::size_t l = 0; l + 1 < widths_.size(); ++l) {
      LayerWeights lw{tensor::Tensor2D<float>(widths_[l + 1], widths_[l]), tensor::Tensor2D<float>(1, widths_[l + 1])};
      std::copy_n(p.begin() + static_cast<std::ptrdiff_t>(offsets_[l].w), lw.w.size(), lw.w.span().begin());
      std::copy_n(p.begin() + static_cast<std::ptrdiff_t>(offsets_[l].b), lw.b.size(), lw.b.span().begin());
      out.push_back(std::move(lw));
    }
    return out;
  }

  static std::uint32_t u32(std::size_t v) { return static_cast<std::uint32_t>(v); }
  static std::size_t align(std::size_t floats) { return (floats + 63) / 64 * 64; }
  std::size_t steps_for(std::size_t images) const { return (images + batch_ - 1) / batch_; }

  std::unique_ptr<gpu::Buffer> pack_pixels(const data::LabelledImages& set, std::size_t count) {
    const std::size_t bytes = count * features_;
    std::vector<std::uint32_t> packed((bytes + 3) / 4, 0);
    std::memcpy(packed.data(), set.pixels.data(), bytes);  // little-endian: pixel i is byte i % 4 of uint i / 4
    auto b = std::make_unique<gpu::Buffer>(device_, packed.size() * 4);
    b->upload(packed);
    return b;
  }
  std::unique_ptr<gpu::Buffer> labels_of(const data::LabelledImages& set, std::size_t count) {
    std::vector<std::uint32_t> labels(set.labels.begin(), set.labels.begin() + static_cast<std::ptrdiff_t>(count));
    auto b = std::make_unique<gpu::Buffer>(device_, labels.size() * 4);
    b->upload(labels);
    return b;
  }
  gpu::BufferRange w_of(std::size_t l) const {
    return {*params_, offsets_[l].w * 4, widths_[l + 1] * widths_[l] * 4};
  }
  gpu::BufferRange b_of(std::size_t l) const { return {*params_, offsets_[l].b * 4, widths_[l + 1] * 4}; }
  gpu::BufferRange dw_of(std::size_t l) const {
    return {*grads_, offsets_[l].w * 4, widths_[l + 1] * widths_[l] * 4};
  }
  gpu::BufferRange db_of(std::size_t l) const { return {*grads_, offsets_[l].b * 4, widths_[l + 1] * 4}; }
  const gpu::Buffer& input_of(std::size_t l) const { return l == 0 ? *x_ : *out_[l - 1]; }

  gpu::Groups gemm_groups(std::size_t m, std::size_t n) const {
    return {gpu::groups_for(n, 16 * block_), gpu::groups_for(m, 16 * block_)};
  }

  // h_l = act(h_{l-1} W_lᵀ + b_l) for every layer; a barrier after each.
  void record_forward(gpu::Sequence& seq) {
    for (std::size_t l = 0; l + 1 < widths_.size(); ++l) {
      const bool hidden = l + 2 < widths_.size();
      seq.dispatch(hidden ? *linear_relu_ : *linear_, {input_of(l), w_of(l), b_of(l), b_of(l), *out_[l]},
                   gemm_groups(batch_, widths_[l + 1]), MNK{u32(batch_), u32(widths_[l + 1]), u32(widths_[l])});
      seq.barrier();
    }
  }

  void record_step(gpu::Sequence& seq, bool phase_timestamps) {
    const std::uint32_t before = seq.dispatches();
    auto mark = [&] {
      if (phase_timestamps && timestamps_) seq.timestamp();
    };
    mark();
    seq.dispatch(*gather_, {*train_pixels_, *train_labels_, *order_, *state_, *x_, *y_},
                 gpu::Groups{gpu::groups_for(features_, 256), u32(batch_)},
                 GatherPush{u32(features_), u32(batch_), 0, 0, 1});
    seq.barrier();
    mark();
    record_forward(seq);
    mark();
    const std::size_t last = widths_.size() - 2;
    seq.dispatch(*softmax_ce_, {*out_[last], *y_, *state_, *grad_[last], *losses_}, gpu::Groups{1},
                 RowsCols{u32(batch_), u32(widths_.back())});
    seq.barrier();
    mark();
    // Backward, last layer first; grad_[l] holds dL/d(output of layer l).
    for (std::size_t l = last + 1; l-- > 0;) {
      const std::size_t in = widths_[l], out = widths_[l + 1];
      seq.dispatch(*backward_weight_, {*grad_[l], input_of(l), b_of(l), b_of(l), dw_of(l)}, gemm_groups(out, in),
                   MNK{u32(out), u32(in), u32(batch_)});  // dW = dyᵀ h: out x in, summed over the batch
      seq.dispatch(*column_sum_, {*grad_[l], db_of(l)}, gpu::Groups{gpu::groups_for(out, 64)}, RowsCols{u32(batch_), u32(out)});
      if (l > 0)  // dh = (dy W) · [h > 0]; the first layer's input needs no gradient
        seq.dispatch(*backward_input_, {*grad_[l], w_of(l), b_of(l), *out_[l - 1], *grad_[l - 1]}, gemm_groups(batch_, in),
                     MNK{u32(batch_), u32(in), u32(out)});
      seq.barrier();
    }
    mark();
    const std::uint32_t n = u32(params_count_);
    seq.dispatch(*adam_, {*params_, *grads_, *m_, *v_, *corrections_, *state_},
                 gpu::Groups{std::min<std::uint32_t>(gpu::groups_for(n, 256), 1024)},
                 AdamPush{n, options_.adam.lr, options_.adam.beta1, options_.adam.beta2, options_.adam.eps});
    seq.barrier();
    seq.dispatch(*advance_, {*state_}, gpu::Groups{1});
    seq.barrier();
    mark();
    dispatches_per_step_ = seq.dispatches() - before;
  }

  gpu::Device& device_;
  GpuTrainOptions options_;
  std::size_t batch_, train_count_, test_count_, features_ = 0, params_count_ = 0;
  std::uint32_t block_ = 1, dispatches_per_step_ = 0;
  std::vector<std::size_t> widths_;
  std::vector<Offsets> offsets_;
  std::size_t adam_steps_ = 0;
  bool timestamps_ = false;
  std::unique_ptr<gpu::Buffer> params_, grads_, m_, v_, train_pixels_, train_labels_, test_pixels_, test_labels_,
      order_, corrections_, losses_, state_, correct_, x_, y_;
  std::vector<std::unique_ptr<gpu::Buffer>> out_, grad_;
  std::unique_ptr<gpu::Kernel> linear_, linear_relu_, backward_input_, backward_weight_, gather_, softmax_ce_,
      column_sum_, adam_, advance_, accuracy_;
  std::unique_ptr<gpu::Sequence> one_, many_, eval_;  // declared last: destroyed first
};

}  // namespace dp::train

#endif  // DP_HAVE_GPU
