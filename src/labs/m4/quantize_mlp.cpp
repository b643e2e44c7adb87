// quantize_mlp.cpp — the trained Fashion-MNIST network in int8: how much faster, how much worse?
//
// What: train-mlp's network (784-256-128-10, trained here for --param epochs), then quantized
// after training (post-training quantization), its weights to int8 with one scale per tensor or
// one per output channel, its layers' inputs either
//   dynamic   each batch quantized with its own largest value, found at run time (PyTorch's
//             quantize_dynamic does this), or
//   static    with a scale calibrated once on 2,000 training images (the largest input each layer
//             saw); a value beyond it at run time is clamped to 127.
// Each layer then runs on the int8 kernels of src/tensor/quant (the best instructions this CPU
// has), its output back in float for the relu and the next layer's quantization.
//   accuracy  test accuracy of fp32 and of each int8 variant, on the test images
//   latency   one forward pass at batch 1, 8, 64, 256, 1024: fp32 (our GEMM, W packed once) and
//             int8 per-channel dynamic and static; PyTorch fp32 and quantize_dynamic on the SAME
//             weights (bench/peers/torch_quantize_mlp.py), in the same run
// Run:  dontpanic run quantize-mlp     dontpanic run quantize-mlp --quick (1 epoch on 10,000 images, no PyTorch)
// Checks: per-channel dynamic int8 within 1 point of fp32's test accuracy (the target);
// PyTorch's fp32 on our weights gets our fp32 accuracy (within 0.05 points: the same network);
// every int8 layer's output against the plain-loop reference, exactly, on the test images.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/portability.hpp"
#include "core/process.hpp"
#include "core/source_tree.hpp"
#include "data/fashion_mnist.hpp"
#include "labs/m4/mlp_trainer.hpp"
#include "labs/m4/quantize_mlp_torch.hpp"
#include "tensor/gemm.hpp"
#include "tensor/parallel.hpp"
#include "tensor/quant/int8_kernels.hpp"
#include "tensor/quant/int8_layout.hpp"
#include "tensor/quant/quantize.hpp"

namespace {

using dp::quant::Granularity;
using dp::quant::Isa;
using dp::tensor::ConstView;
using dp::tensor::Tensor2D;

const std::vector<std::size_t> kWidths = {784, 256, 128, 10};
constexpr std::uint64_t kSeed = 2024;

Tensor2D<float> to_floats(const dp::data::LabelledImages& set, std::size_t first, std::size_t count) {
  Tensor2D<float> x(count, set.pixels_per_image());
  for (std::size_t i = 0; i < count; ++i) {
    const auto image = set.image(first + i);
    for (std::size_t p = 0; p < image.size(); ++p) x(i, p) = static_cast<float>(image[p]) * (1.0f / 255);
  }
  return x;
}

void relu_in_place(Tensor2D<float>& t) {
  for (float& v : t.span()) v = std::max(v, 0.0f);
}

// ---------------------------------------------------------------------------------------------
// The two inference networks: the trained weights, packed once
// ---------------------------------------------------------------------------------------------

struct Fp32Net {
  std::vector<dp::tensor::PackedLinear> layers;
  std::vector<Tensor2D<float>> out;
  explicit Fp32Net(const dp::train::Mlp& net) {
    for (const auto& l : net.layers()) layers.emplace_back(l.w.const_view(), l.b.span());
    out.resize(layers.size());
  }
  const Tensor2D<float>& forward(ConstView<float> x) {
    ConstView<float> in = x;
    for (std::size_t l = 0; l < layers.size(); ++l) {
      if (out[l].rows() != x.rows) out[l] = Tensor2D<float>(x.rows, layers[l].out_features());
      const bool hidden = l + 1 < layers.size();
      dp::tensor::linear(in, layers[l], out[l].view(), hidden ? dp::tensor::Activation::relu : dp::tensor::Activation::none);
      in = out[l].const_view();
    }
    return out.back();
  }
};

struct Int8Net {
  Isa isa;
  std::vector<dp::quant::QuantizedWeights> weights;  // for the reference
  std::vector<std::vector<float>> bias;
  std::vector<dp::quant::PackedWeights> layers;
  std::vector<float> input_scale;  // per layer: 0 = dynamic
  std::vector<dp::quant::PackedInput> in_q;
  std::vector<Tensor2D<float>> out;

  Int8Net(const dp::train::Mlp& net, Isa isa_, Granularity g) : isa(isa_) {
    for (const auto& l : net.layers()) {
      weights.push_back(dp::quant::quantize_weights(l.w.const_view(), g));
      bias.emplace_back(l.b.span().begin(), l.b.span().end());
      layers.push_back(dp::quant::pack_weights(isa, weights.back(), bias.back()));
    }
    input_scale.assign(layers.size(), 0.0f);
    in_q.resize(layers.size());
    out.resize(layers.size());
  }
  // Static: each layer's input scale from the largest input it sees on the calibration images.
  void calibrate(ConstView<float> images) {
    std::fill(input_scale.begin(), input_scale.end(), 0.0f);
    std::vector<float> largest(layers.size(), 0.0f);
    forward(images, &largest);
    for (std::size_t l = 0; l < layers.size(); ++l) input_scale[l] = largest[l] > 0 ? largest[l] / dp::quant::kMaxQ : 1.0f;
  }
  const Tensor2D<float>& forward(ConstView<float> x, std::vector<float>* largest_input = nullptr) {
    ConstView<float> in = x;
    for (std::size_t l = 0; l < layers.size(); ++l) {
      if (largest_input) (*largest_input)[l] = dp::quant::largest_magnitude(in.span());
      dp::quant::quantize_input(isa, in, in_q[l], input_scale[l]);
      if (out[l].rows() != x.rows) out[l] = Tensor2D<float>(x.rows, layers[l].n);
      dp::quant::linear_int8(in_q[l], layers[l], out[l].view());
      if (l + 1 < layers.size()) relu_in_place(out[l]);
      in = out[l].const_view();
    }
    return out.back();
  }
  // Layer by layer against the plain loops, on this forward's own quantized inputs.
  bool agrees_with_reference(ConstView<float> x) {
    ConstView<float> in = x;
    for (std::size_t l = 0; l < layers.size(); ++l) {
      dp::quant::QuantizedInput qx;
      dp::quant::quantize_input(in, qx);
      if (input_scale[l] > 0) {  // the reference quantizes dynamically; give it the static scale
        qx.scale = input_scale[l];
        for (std::size_t i = 0; i < in.size(); ++i)
          qx.u[i] = static_cast<std::uint8_t>(dp::quant::to_int8(in.data[i], 1.0f / qx.scale) + dp::quant::kInputOffset);
      }
      Tensor2D<float> want(x.rows, layers[l].n), got(x.rows, layers[l].n);
      dp::quant::linear_int8_reference(qx, weights[l], bias[l], want.view());
      dp::quant::PackedInput px;
      dp::quant::quantize_input(isa, in, px, input_scale[l]);
      dp::quant::linear_int8(px, layers[l], got.view());
      if (!std::equal(got.span().begin(), got.span().end(), want.span().begin())) return false;
      if (l + 1 < layers.size()) relu_in_place(got);
      out[l] = std::move(got);
      in = out[l].const_view();
    }
    return true;
  }
};

double accuracy(const Tensor2D<float>& logits, std::span<const std::uint8_t> labels) {
  std::size_t right = 0;
  for (std::size_t i = 0; i < logits.rows(); ++i) {
    const auto row = logits.row(i);
    right += static_cast<std::size_t>(std::max_element(row.begin(), row.end()) - row.begin()) == labels[i];
  }
  return 100.0 * static_cast<double>(right) / static_cast<double>(logits.rows());
}

void run(dp::LabContext& ctx) {
  const auto train = dp::data::load_fashion_mnist(dp::data::Split::train);
  const auto test = dp::data::load_fashion_mnist(dp::data::Split::test);
  const int epochs = static_cast<int>(ctx.params.integer("epochs"));
  const std::size_t train_count = ctx.quick ? 10000 : train.count, test_count = ctx.quick ? 2000 : test.count;

  // 1. Train (train-mlp's trainer, fused), then the networks to compare.
  ctx.log << fmt::format("  training {} epochs on {} images\n", epochs, train_count);
  dp::train::Mlp net(kWidths, kSeed);
  dp::tensor::Adam adam;
  for (int e = 0; e < epochs; ++e)
    dp::train::train_epoch(net, adam, train, {.count = train_count, .epoch = e, .batch = 256, .seed = kSeed}, dp::train::Forward::fused);
  const Tensor2D<float> test_x = to_floats(test, 0, test_count);
  const std::span<const std::uint8_t> test_labels(test.labels.data(), test_count);
  const Tensor2D<float> calibration = to_floats(train, 0, 2000);

  // 2. Accuracy.
  Fp32Net fp32(net);
  const double fp32_accuracy = accuracy(fp32.forward(test_x.const_view()), test_labels);
  ctx.result.headlines.push_back({"fp32 test accuracy", fmt::format("{:.2f}%", fp32_accuracy)});
  std::vector<Isa> isas;
  for (Isa isa : dp::quant::kAllIsas)
    if (dp::quant::cpu_has(isa)) isas.push_back(isa);
  if (isas.empty()) throw dp::Unavailable("this CPU has none of AMX-int8, AVX512-VNNI, AVX-VNNI or AVX2, which the int8 kernels need");
  const Isa isa = isas.front();
  double channel_dynamic = 0;
  bool exact = true;
  for (Granularity g : {Granularity::per_tensor, Granularity::per_channel})
    for (bool calibrated : {false, true}) {
      Int8Net q(net, isa, g);
      if (calibrated) q.calibrate(calibration.const_view());
      const double acc = accuracy(q.forward(test_x.const_view()), test_labels);
      exact = exact && q.agrees_with_reference(test_x.const_view());
      const std::string name = fmt::format("int8 {} {}", g == Granularity::per_tensor ? "per-tensor" : "per-channel",
                                           calibrated ? "static" : "dynamic");
      if (g == Granularity::per_channel && !calibrated) channel_dynamic = acc;
      ctx.result.headlines.push_back({name + " test accuracy", fmt::format("{:.2f}% ({:+.2f} points)", acc, acc - fp32_accuracy)});
    }
  ctx.result.add_check("per-channel dynamic int8 within 1 point of fp32", std::fabs(channel_dynamic - fp32_accuracy) <= 1.0,
                       fmt::format("{:.2f}% int8, {:.2f}% fp32", channel_dynamic, fp32_accuracy));
  ctx.result.add_check("every int8 layer equals the plain-loop reference", exact,
                       fmt::format("{} kernels, all four variants, {} test images", dp::quant::isa_name(isa), test_count));

  // 3. Latency by batch size.
  const std::vector<std::size_t> batches = ctx.quick ? std::vector<std::size_t>{1, 64, 256} : std::vector<std::size_t>{1, 8, 64, 256, 1024};
  Int8Net dynamic(net, isa, Granularity::per_channel), calibrated(net, isa, Granularity::per_channel);
  calibrated.calibrate(calibration.const_view());
  for (std::size_t b : batches) {
    const Tensor2D<float> x = to_floats(test, 0, b);
    const auto add = [&](const std::string& name, const dp::Stats& s) {
      ctx.result.add_point(name, "batch", double(b), s.per(double(b)), 0, "", "image");
    };
    add("fp32 (ours)", ctx.measure(fmt::format("fp32/{}", b), [&] { fp32.forward(x.const_view()); }));
    add(fmt::format("int8 dynamic ({})", dp::quant::isa_name(isa)),
        ctx.measure(fmt::format("int8-dynamic/{}", b), [&] { dynamic.forward(x.const_view()); }));
    add(fmt::format("int8 static ({})", dp::quant::isa_name(isa)),
        ctx.measure(fmt::format("int8-static/{}", b), [&] { calibrated.forward(x.const_view()); }));
  }
  if (ctx.params.text("torch") == "auto")
    if (auto torch = dp::quantize_mlp::run_torch(ctx, net, batches, test_count)) {
      ctx.result.add_check("PyTorch's fp32 on our weights gets our fp32 accuracy", std::fabs(torch->fp32_accuracy - fp32_accuracy) <= 0.05,
                           fmt::format("{:.2f}% PyTorch, {:.2f}% ours", torch->fp32_accuracy, fp32_accuracy));
      ctx.result.headlines.push_back({"PyTorch quantize_dynamic test accuracy", fmt::format("{:.2f}% ({:+.2f} points)", torch->int8_accuracy,
                                                                                             torch->int8_accuracy - fp32_accuracy)});
      for (const auto& [name, by_batch] : torch->latency)
        for (const auto& [b, s] : by_batch) ctx.result.add_point(name, "batch", double(b), s.per(double(b)), 0, "", "image");
    }
  ctx.result.plots.push_back(dp::PlotSpec{.name = "latency", .title = "one forward pass, per image, by batch size",
                                          .xlabel = "batch size", .ylabel = "ns per image", .logx = true, .logy = true});
  ctx.result.notes.push_back(fmt::format("Trained {} epochs on {} images; tested on {} images; ours on up to {} threads.", epochs,
                                         train_count, test_count, dp::tensor::max_threads()));
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times mean nothing here, only the checks do.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "quantize-mlp",
             .title = "Quantizing the trained network: int8 accuracy and latency against fp32 and PyTorch",
             .module = 4,
             .level = 4,
             .tracks = {"dl"},
             .question = "What does post-training int8 quantization cost a trained network in accuracy, and buy in latency?",
             .guide_page = "m4/quantize-mlp.md",
             .source = "src/labs/m4/quantize_mlp.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("epochs", "training epochs before quantizing", 5, 1, 1, 100),
               dp::ParamSpec::choice("torch", "run the PyTorch peer where python3 can import torch (quick: off; it takes longer than the lab)",
                                     {"auto", "off"}, "auto", "off")},
    .run = run,
});
