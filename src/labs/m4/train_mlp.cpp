// train_mlp.cpp — train a Fashion-MNIST classifier on the CPU and the GPU: how fast against PyTorch?
//
// What: a 784-256-128-10 multi-layer perceptron (relu between layers, softmax cross-entropy, Adam
// at lr 1e-3, batches of 256, PyTorch's default initialisation) trained on the 60,000 training
// images of Fashion-MNIST (tools/get-data), tested on the 10,000 test images after every epoch:
//   ours, fused        mlp_trainer.hpp: our GEMM with relu in its epilogue, buffers kept between
//                      steps, backward passes and Adam from tensor/backward.hpp
//   ours, op by op     the same arithmetic the way an eager framework runs it: every op allocates
//                      its output and repacks W; one epoch, for its time (and a check)
//   ours, Vulkan       mlp_trainer_gpu.hpp: the whole step (gather, forward, loss, backward, Adam)
//                      recorded once in one command buffer and replayed; the images stay on the
//                      GPU (lavapipe where there is no GPU; skipped with a note without Vulkan)
//   PyTorch CPU eager  the same model, initialisation scheme, optimizer and batch size in
//                      bench/peers/torch_train.py, at its best thread count, in the same run
//   PyTorch CUDA       bench/peers/torch_train_cuda.py, eager and with the step captured as a CUDA
//                      graph (where torch.cuda is available)
// Curves: training loss and test accuracy per epoch, ours and PyTorch's; time per epoch and step.
// Run:  dontpanic run train-mlp       dontpanic run train-mlp --quick (1 epoch on 10,000 images,
//       no PyTorch unless --param torch=auto)
// Checks: the loss falls (the last ten steps' mean below half the first ten steps'); test accuracy
// clears the bar (88% after 10 or more epochs on all 60,000 images, 85% after a shorter full run,
// 70% after the quick one); fused and op-by-op reach the same weights, bit for bit, after one
// epoch. Vulkan: one step from the same weights and batch gives the CPU trainer's loss and
// gradients (to rounding) and weights (within 1% of an Adam step: run_vulkan says why); its loss
// follows the CPU run's step by step through the first epoch; it falls; its test accuracy clears
// the same bar (a quick run on lavapipe: 16 steps, checked step by step only).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "labs/peer_output.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/portability.hpp"
#include "core/process.hpp"
#include "core/source_tree.hpp"
#include "data/fashion_mnist.hpp"
#include "labs/m4/mlp_trainer.hpp"
#include "tensor/parallel.hpp"
#if defined(DP_HAVE_GPU)
#include "core/check.hpp"
#include "labs/gpu_lab.hpp"
#include "labs/m4/mlp_trainer_gpu.hpp"
#endif

namespace {

using dp::data::LabelledImages;
using dp::train::Epoch;
using dp::train::Forward;
using dp::train::Mlp;
using dp::train::test_accuracy;

const std::vector<std::size_t> kWidths = {784, 256, 128, 10};
constexpr std::size_t kBatch = 256;
constexpr std::uint64_t kSeed = 2024;

dp::Stats stats_of_seconds(std::vector<double> s) {
  std::sort(s.begin(), s.end());
  const auto at = [&](double q) { return s[static_cast<std::size_t>(q * static_cast<double>(s.size() - 1) + 0.5)] * 1e9; };
  return {.median_ns = at(0.5), .p10_ns = at(0.1), .p90_ns = at(0.9), .min_ns = s.front() * 1e9, .reps = static_cast<int>(s.size())};
}

dp::Stats stats_of_ns(std::vector<double> ns) {
  for (double& v : ns) v *= 1e-9;
  return stats_of_seconds(std::move(ns));
}

// ---------------------------------------------------------------------------------------------
// Ours, Vulkan
// ---------------------------------------------------------------------------------------------

struct VulkanRun {
  std::string device;
  bool on_cpu = false;          // lavapipe: the CUDA peer has no GPU of ours to face
  bool whole_schedule = true;   // false: a quick run's first batches only (no epoch figures)
  std::vector<Epoch> epochs;
  std::vector<double> step_losses;                       // every step
  std::vector<double> gpu_ns_per_step, wall_ns_per_step;  // per submission, epochs after the first
  std::vector<std::pair<std::string, double>> phases;                   // mean GPU ns per step
  int steps_per_submit = 1;
  std::uint32_t block = 1, dispatches = 0;
};

#if defined(DP_HAVE_GPU)
// The shuffled order of epoch `epoch`, as train_epoch makes it.
std::vector<std::uint32_t> epoch_order(std::size_t count, int epoch) {
  return dp::train::epoch_order(count, kSeed, epoch);
}

// `cpu_losses`: the CPU run's loss at every step, which the Vulkan run must follow (same batches).
std::optional<VulkanRun> run_vulkan(dp::LabContext& ctx, const LabelledImages& train, std::size_t train_count,
                                    const LabelledImages& test, std::size_t test_count, int epochs, double bar,
                                    const std::vector<double>& cpu_losses) {
  std::unique_ptr<dp::gpu::Device> device;
  try {
    device = dp::gpu::open_lab_device(ctx);
  } catch (const dp::Error& e) {
    ctx.result.notes.push_back(fmt::format("ours, Vulkan skipped: {}", e.what()));
    return std::nullopt;
  }
  const std::string block = ctx.params.text("gpu-block");
  dp::train::GpuTrainOptions options{.batch = kBatch, .adam = {}, .steps_per_submit = static_cast<int>(ctx.params.integer("gpu-steps-per-submit")),
                                     .block = block == "auto" ? 0 : std::stoi(block)};
  Mlp start(kWidths, kSeed);
  dp::train::GpuMlp gpu(*device, start, train, train_count, test, test_count, options);

  // Check: one step from the same weights on the same batch (epoch 0's first), CPU and GPU.
  {
    const auto order = epoch_order(train_count, 0);
    const std::span<const std::uint32_t> first(order.data(), std::min(kBatch, train_count));
    dp::tensor::Tensor2D<float> x;
    std::vector<std::uint8_t> labels;
    dp::train::gather(train, first, x, labels);
    dp::tensor::Adam adam;
    const double cpu_loss = start.train_step(x.const_view(), labels, adam, Forward::fused);
    const double gpu_loss = gpu.train_epoch(first).losses.at(0);
    // Gradients: GEMM sums in another order, so agreement to float rounding of sums of 256 terms.
    // Weights: Adam divides each gradient by its own size (m / sqrt(v), about g / |g| on the first
    // step), so where a gradient is near zero (about eps = 1e-8) that rounding can move its weight
    // by a visible part of a step: the tolerance allows 1% of a step (lr = 1e-3), far below the
    // whole-step differences a wrong gradient makes.
    const auto compare_layers = [&](const std::vector<dp::train::GpuMlp::LayerWeights>& got, bool grads) {
      bool ok = true;
      std::string text;
      for (std::size_t l = 0; l < got.size(); ++l) {
        const auto& want_w = grads ? start.layers()[l].dw : start.layers()[l].w;
        const auto& want_b = grads ? start.layers()[l].db : start.layers()[l].b;
        double largest = 0;
        for (const float g : want_w.span()) largest = std::max(largest, double(std::abs(g)));
        const dp::Tolerance tol = grads ? dp::Tolerance{.abs = 1e-5 * largest, .rel = 1e-4} : dp::Tolerance{.abs = 1e-5, .rel = 1e-4};
        const auto w = dp::compare(got[l].w.span(), want_w.span(), tol);
        const auto b = dp::compare(got[l].b.span(), want_b.span(), tol);
        ok = ok && w.passed && b.passed;
        text += fmt::format("; layer {} {}: {}; {}: {}", l + 1, grads ? "dW" : "W", w.detail, grads ? "db" : "b", b.detail);
      }
      return std::pair{ok, text};
    };
    const auto [grads_ok, grads_detail] = compare_layers(gpu.gradients(), true);
    const auto [weights_ok, weights_detail] = compare_layers(gpu.weights(), false);
    const bool loss_ok = dp::close_enough(gpu_loss, cpu_loss, {.abs = 0, .rel = 1e-5});
    ctx.result.add_check("Vulkan: one step from the same weights and batch gives the CPU trainer's loss and gradients",
                         loss_ok && grads_ok, fmt::format("loss {:.6f} (CPU {:.6f}, within rel 1e-5){}", gpu_loss, cpu_loss, grads_detail));
    ctx.result.add_check("Vulkan: after that step's Adam update, the CPU trainer's weights", weights_ok,
                         "within abs 1e-5 (1% of a step)" + weights_detail);
  }

  // Train from the start again, epoch by epoch, on the CPU run's batches. A quick run on a CPU
  // device (lavapipe: 10-20x slower than our CPU trainer) takes only the first 16 batches, and is
  // checked step by step against the CPU run instead of by its final accuracy.
  const bool short_run = ctx.quick && device->is_cpu();
  if (short_run) epochs = 1;
  const std::size_t images = short_run ? std::min<std::size_t>(train_count, 16 * kBatch) : train_count;
  gpu.load(Mlp(kWidths, kSeed));
  VulkanRun run{.device = device->report().name, .on_cpu = device->is_cpu(), .steps_per_submit = options.steps_per_submit, .block = gpu.block(),
                .dispatches = gpu.dispatches_per_step()};
  run.whole_schedule = !short_run;
  std::array<double, dp::train::kGpuPhases.size()> phase_ns{};
  int phase_steps = 0;
  for (int e = 0; e < epochs; ++e) {
    const auto order = epoch_order(train_count, e);
    const dp::train::GpuMlp::Epoch ep = gpu.train_epoch(std::span<const std::uint32_t>(order.data(), images));
    const double accuracy = gpu.test_accuracy();
    const double mean_loss = std::accumulate(ep.losses.begin(), ep.losses.end(), 0.0) / static_cast<double>(ep.losses.size());
    ctx.log << fmt::format("  Vulkan epoch {}: {:.2f} s, loss {:.4f}, test accuracy {:.2f}%\n", e + 1, ep.wall_seconds, mean_loss, accuracy);
    run.epochs.push_back({ep.wall_seconds, mean_loss, accuracy});
    run.step_losses.insert(run.step_losses.end(), ep.losses.begin(), ep.losses.end());
    if (e > 0 || epochs == 1) {  // the first epoch warms the GPU's clocks and caches
      run.gpu_ns_per_step.insert(run.gpu_ns_per_step.end(), ep.gpu_ns_per_step.begin(), ep.gpu_ns_per_step.end());
      run.wall_ns_per_step.insert(run.wall_ns_per_step.end(), ep.wall_ns_per_step.begin(), ep.wall_ns_per_step.end());
      for (std::size_t p = 0; p < phase_ns.size(); ++p) phase_ns[p] += ep.phase_ns[p];
      phase_steps += ep.phase_steps;
    }
  }
  if (phase_steps > 0)
    for (std::size_t p = 0; p < phase_ns.size(); ++p) run.phases.emplace_back(dp::train::kGpuPhases[p], phase_ns[p] / phase_steps);

  // Step by step against the CPU run, over the first epoch: the same batches from the same start,
  // so the losses differ only by the rounding that grows from the GEMMs' order of sums.
  const std::size_t first_epoch = std::min({run.step_losses.size(), cpu_losses.size(), (train_count + kBatch - 1) / kBatch});
  const auto follows = dp::compare(std::span<const double>(run.step_losses.data(), first_epoch),
                                   std::span<const double>(cpu_losses.data(), first_epoch), {.abs = 0, .rel = 1e-2});
  ctx.result.add_check("Vulkan: its loss follows the CPU run's, step by step", follows.passed,
                       fmt::format("the first {} steps: {}", first_epoch, follows.detail));
  if (short_run) {
    ctx.result.notes.push_back(fmt::format("ours, Vulkan: quick run on a CPU device ({}): {} steps only, checked step by step "
                                           "against the CPU run; the loss and accuracy bars apply to runs of the whole schedule.",
                                           run.device, run.step_losses.size()));
  } else {
    const std::size_t ten = std::min<std::size_t>(10, run.step_losses.size());
    const double first_loss = std::accumulate(run.step_losses.begin(), run.step_losses.begin() + static_cast<std::ptrdiff_t>(ten), 0.0) / double(ten);
    const double last_loss = std::accumulate(run.step_losses.end() - static_cast<std::ptrdiff_t>(ten), run.step_losses.end(), 0.0) / double(ten);
    ctx.result.add_check("Vulkan: the loss falls", last_loss < first_loss / 2,
                         fmt::format("mean of the first 10 steps {:.3f}, of the last 10 {:.3f}: want less than half", first_loss, last_loss));
    ctx.result.add_check(fmt::format("Vulkan: test accuracy of at least {:.0f}%", bar), run.epochs.back().accuracy >= bar,
                         fmt::format("{:.2f}% on {} test images after {} epochs", run.epochs.back().accuracy, test_count, epochs));
  }
  dp::gpu::add_validation_check(*device, ctx);
  return run;
}
#else
std::optional<VulkanRun> run_vulkan(dp::LabContext& ctx, const LabelledImages&, std::size_t, const LabelledImages&, std::size_t, int, double,
                                    const std::vector<double>&) {
  ctx.result.notes.push_back("ours, Vulkan skipped: this build has no Vulkan layer (libvulkan-dev, libshaderc-dev).");
  return std::nullopt;
}
#endif

// ---------------------------------------------------------------------------------------------
// The PyTorch peer
// ---------------------------------------------------------------------------------------------

struct TorchRun {
  std::string version;
  int threads = 0;
  std::vector<Epoch> epochs;
};

// Runs one of train-mlp's peers (bench/peers/<script>) on the lab's data and schedule, and returns
// the JSON object it prints last; or nullopt, with a note saying why, prefixed by `who`.
std::optional<nlohmann::json> run_peer(dp::LabContext& ctx, const dp::PythonTorch& python, const std::string& script,
                                       const std::string& who, int epochs, std::size_t train_count, std::size_t test_count) {
  const auto proc = dp::run_process({python.interpreter, (dp::source_dir() / "bench" / "peers" / script).string(),
                                     "--data", dp::data::fashion_mnist_dir().string(), "--epochs", std::to_string(epochs),
                                     "--train", std::to_string(train_count), "--test", std::to_string(test_count),
                                     "--batch", std::to_string(kBatch), "--seed", std::to_string(kSeed)},
                                    {}, 3600);
  try {
    return dp::labs::peer_json(proc.output);  // its last line: warnings may come before
  } catch (const std::exception&) {
    ctx.result.notes.push_back(fmt::format("{} skipped: {} exited with {}{}: {}", who, script, proc.exit_code,
                                           proc.timed_out ? " (timed out)" : "", proc.output.substr(0, 300)));
    return std::nullopt;
  }
}

// Reads a peer's epochs ({"seconds", "mean_loss", "accuracy"} each); throws on a missing field.
std::vector<Epoch> peer_epochs(const nlohmann::json& list) {
  std::vector<Epoch> epochs;
  for (const auto& e : list) epochs.push_back({e.at("seconds"), e.at("mean_loss"), e.at("accuracy")});
  return epochs;
}

std::optional<TorchRun> run_torch(dp::LabContext& ctx, int epochs, std::size_t train_count, std::size_t test_count) {
  const auto python = dp::find_python_with_torch();
  if (!python) {
    ctx.result.notes.push_back("PyTorch skipped: no python3 here can import torch (Debian: apt install python3-torch libopenblas0-pthread).");
    return std::nullopt;
  }
  ctx.log << fmt::format("PyTorch {} ({}): {} epochs, threads 1..{} tried first\n", python->torch_version,
                         python->interpreter, epochs, ctx.machine.threads);
  const auto j = run_peer(ctx, *python, "torch_train.py", "PyTorch", epochs, train_count, test_count);
  if (!j) return std::nullopt;
  try {
    return TorchRun{.version = j->at("torch"), .threads = j->at("threads"), .epochs = peer_epochs(j->at("epochs"))};
  } catch (const std::exception& e) {
    ctx.result.notes.push_back(fmt::format("PyTorch skipped: torch_train.py printed an unexpected result ({})", e.what()));
    return std::nullopt;
  }
}

// PyTorch CUDA: eager, and the whole step captured as a CUDA graph and replayed (the nearest thing
// in PyTorch to our recorded command buffer). Skipped where torch.cuda is unavailable.
struct TorchCudaRun {
  std::string version, device;
  std::vector<std::pair<std::string, std::vector<Epoch>>> variants;  // "eager", "CUDA graphs"
  std::size_t steps = 0;                                             // per epoch
};

std::optional<TorchCudaRun> run_torch_cuda(dp::LabContext& ctx, int epochs, std::size_t train_count, std::size_t test_count) {
  const auto python = dp::find_python_with_torch();
  if (!python) return std::nullopt;  // run_torch has said why
  const auto j = run_peer(ctx, *python, "torch_train_cuda.py", "PyTorch CUDA", epochs, train_count, test_count);
  if (!j) return std::nullopt;
  try {
    if (j->contains("skipped")) {
      ctx.result.notes.push_back(fmt::format("PyTorch CUDA skipped: {}", j->at("skipped").get<std::string>()));
      return std::nullopt;
    }
    TorchCudaRun run{.version = j->at("torch"), .device = j->at("device"), .variants = {}, .steps = j->at("steps")};
    for (const auto& [name, v] : j->at("variants").items()) run.variants.emplace_back(name, peer_epochs(v.at("epochs")));
    return run;
  } catch (const std::exception& e) {
    ctx.result.notes.push_back(fmt::format("PyTorch CUDA skipped: torch_train_cuda.py printed an unexpected result ({})", e.what()));
    return std::nullopt;
  }
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  const int epochs = static_cast<int>(ctx.params.integer("epochs"));
  const LabelledImages train = dp::data::load_fashion_mnist(dp::data::Split::train);
  const LabelledImages test = dp::data::load_fashion_mnist(dp::data::Split::test);
  const std::size_t train_count = std::min<std::size_t>(train.count, static_cast<std::size_t>(ctx.params.integer("train-images")));
  const std::size_t test_count = std::min<std::size_t>(test.count, ctx.quick ? 2000 : test.count);
  // The bar: issue 16's target, 88% within 10 epochs on all 60,000 images (both paths measured
  // 88.8% here); 85% for shorter full runs, 70% after the quick one.
  const double bar = ctx.quick ? 70.0 : epochs >= 10 && train_count == train.count ? 88.0 : 85.0;

  // 1. Ours, fused, every epoch; the first epoch also op by op, from the same start.
  Mlp net(kWidths, kSeed), twin(kWidths, kSeed);
  dp::tensor::Adam adam, twin_adam;
  std::vector<double> step_losses, epoch_seconds;
  std::vector<Epoch> ours;
  for (int e = 0; e < epochs; ++e) {
    Epoch ep = dp::train::train_epoch(net, adam, train, {.count = train_count, .epoch = e, .batch = kBatch, .seed = kSeed}, Forward::fused, &step_losses);
    ep.accuracy = test_accuracy(net, test, test_count);
    ctx.log << fmt::format("  epoch {}: {:.2f} s, loss {:.4f}, test accuracy {:.2f}%\n", e + 1, ep.seconds, ep.mean_loss, ep.accuracy);
    ours.push_back(ep);
    epoch_seconds.push_back(ep.seconds);
  }
  const Epoch op_by_op = dp::train::train_epoch(twin, twin_adam, train, {.count = train_count, .batch = kBatch, .seed = kSeed}, Forward::op_by_op);
  ctx.log << fmt::format("  one epoch op by op: {:.2f} s\n", op_by_op.seconds);

  // Fused after one epoch: train a third net one epoch to compare with the op-by-op twin.
  Mlp once(kWidths, kSeed);
  dp::tensor::Adam once_adam;
  dp::train::train_epoch(once, once_adam, train, {.count = train_count, .batch = kBatch, .seed = kSeed}, Forward::fused);
  bool same = true;
  for (std::size_t l = 0; l < once.layers().size(); ++l)
    same = same && std::equal(once.layers()[l].w.span().begin(), once.layers()[l].w.span().end(), twin.layers()[l].w.span().begin()) &&
           std::equal(once.layers()[l].b.span().begin(), once.layers()[l].b.span().end(), twin.layers()[l].b.span().begin());
  ctx.result.add_check("fused and op-by-op reach the same weights after one epoch", same,
                       same ? "bit for bit, every layer" : "the weights differ: the two forwards are not the same arithmetic");

  const std::size_t ten = std::min<std::size_t>(10, step_losses.size());
  const auto mean = [](auto begin, auto end) { return std::accumulate(begin, end, 0.0) / static_cast<double>(end - begin); };
  const double first_loss = mean(step_losses.begin(), step_losses.begin() + static_cast<std::ptrdiff_t>(ten));
  const double last_loss = mean(step_losses.end() - static_cast<std::ptrdiff_t>(ten), step_losses.end());
  ctx.result.add_check("the loss falls", last_loss < first_loss / 2,
                       fmt::format("mean of the first 10 steps {:.3f}, of the last 10 {:.3f}: want less than half", first_loss, last_loss));
  ctx.result.add_check(fmt::format("test accuracy of at least {:.0f}%", bar), ours.back().accuracy >= bar,
                       fmt::format("{:.2f}% on {} test images after {} epochs", ours.back().accuracy, test_count, epochs));

  // 2. Ours, Vulkan: the same batches in the same order, the step recorded once and replayed.
  std::optional<VulkanRun> vk;
  if (ctx.params.text("gpu") == "auto") vk = run_vulkan(ctx, train, train_count, test, test_count, epochs, bar, step_losses);

  // 3. PyTorch, on the CPU and (where there is one) on a CUDA GPU.
  std::optional<TorchRun> torch;
  std::optional<TorchCudaRun> cuda;
  if (ctx.params.text("torch") == "auto") torch = run_torch(ctx, epochs, train_count, test_count);
  if (ctx.params.text("torch") == "auto" && vk && !vk->on_cpu) cuda = run_torch_cuda(ctx, epochs, train_count, test_count);

  for (std::size_t e = 0; e < ours.size(); ++e) {
    const dp::Stats t = stats_of_seconds({ours[e].seconds});
    ctx.result.add_point("loss, ours", "epoch", double(e + 1), t, ours[e].mean_loss, "mean training loss");
    ctx.result.add_point("accuracy, ours", "epoch", double(e + 1), t, ours[e].accuracy, "% test accuracy");
    if (torch && e < torch->epochs.size()) {
      const dp::Stats tt = stats_of_seconds({torch->epochs[e].seconds});
      ctx.result.add_point("loss, PyTorch", "epoch", double(e + 1), tt, torch->epochs[e].mean_loss, "mean training loss");
      ctx.result.add_point("accuracy, PyTorch", "epoch", double(e + 1), tt, torch->epochs[e].accuracy, "% test accuracy");
    }
    if (vk && vk->whole_schedule && e < vk->epochs.size()) {
      const dp::Stats tv = stats_of_seconds({vk->epochs[e].seconds});
      ctx.result.add_point("loss, ours Vulkan", "epoch", double(e + 1), tv, vk->epochs[e].mean_loss, "mean training loss");
      ctx.result.add_point("accuracy, ours Vulkan", "epoch", double(e + 1), tv, vk->epochs[e].accuracy, "% test accuracy");
    }
  }
  // Time per epoch: the median over epochs (after the first, which warms caches and threads).
  const auto steady = [&](const std::vector<double>& s) { return stats_of_seconds(s.size() > 1 ? std::vector<double>(s.begin() + 1, s.end()) : s); };
  const dp::Stats fused_t = steady(epoch_seconds);
  ctx.result.add_point("epoch time, ours fused", "images", double(train_count), fused_t, 0, "", "epoch");
  ctx.result.add_point("epoch time, ours op by op", "images", double(train_count), stats_of_seconds({op_by_op.seconds}), 0, "", "epoch");
  ctx.result.headlines.push_back({"ours, fused", fmt::format("{:.2f} s per epoch; test accuracy {:.2f}% after {} epochs",
                                                              fused_t.median_ns * 1e-9, ours.back().accuracy, epochs)});
  ctx.result.headlines.push_back({"ours, op by op", fmt::format("{:.2f} s for one epoch ({:.2f}x fused)", op_by_op.seconds,
                                                                 op_by_op.seconds / (fused_t.median_ns * 1e-9))});
  if (torch && !torch->epochs.empty()) {
    std::vector<double> s;
    for (const Epoch& e : torch->epochs) s.push_back(e.seconds);
    const dp::Stats torch_t = steady(s);
    ctx.result.add_point("epoch time, PyTorch eager", "images", double(train_count), torch_t, 0, "", "epoch");
    ctx.result.headlines.push_back({"PyTorch CPU eager", fmt::format("{:.2f} s per epoch ({} threads); test accuracy {:.2f}%; ours is {:.2f}x faster",
                                                                      torch_t.median_ns * 1e-9, torch->threads, torch->epochs.back().accuracy,
                                                                      torch_t.median_ns / fused_t.median_ns)});
  }
  if (vk) {
    std::vector<double> s;
    for (const Epoch& e : vk->epochs) s.push_back(e.seconds);
    const dp::Stats vk_t = steady(s);
    if (vk->whole_schedule) ctx.result.add_point("epoch time, ours Vulkan", "images", double(train_count), vk_t, 0, "", "epoch");
    // Per step: the GPU's own clock (timestamps around the recorded step) and the host's (submit to
    // the end of the wait: what a step costs the training loop).
    if (!vk->gpu_ns_per_step.empty())
      ctx.result.add_point("step time, ours Vulkan (GPU clock)", "batch", double(kBatch), stats_of_ns(vk->gpu_ns_per_step), 0, "", "step");
    ctx.result.add_point("step time, ours Vulkan (wall)", "batch", double(kBatch), stats_of_ns(vk->wall_ns_per_step), 0, "", "step");
    std::string phases;
    for (const auto& [name, ns] : vk->phases) phases += fmt::format("{}{} {:.0f} us", phases.empty() ? "" : ", ", name, ns * 1e-3);
    // Against the CPU trainer per step: a quick run on a CPU device trains only part of an epoch.
    const double cpu_step_ns = fused_t.median_ns / double((train_count + kBatch - 1) / kBatch);
    const double vk_step_ns = stats_of_ns(vk->wall_ns_per_step).median_ns;
    ctx.result.headlines.push_back(
        {"ours, Vulkan", fmt::format("{}a step {:.0f} us on the GPU clock, {:.0f} us wall, {:.2f}x the time of a fused CPU step "
                                     "({} dispatches, {} step(s) per submit, on {}); test accuracy {:.2f}% after {} steps",
                                     vk->whole_schedule ? fmt::format("{:.2f} s per epoch; ", vk_t.median_ns * 1e-9) : std::string(),
                                     vk->gpu_ns_per_step.empty() ? 0.0 : stats_of_ns(vk->gpu_ns_per_step).median_ns * 1e-3,
                                     vk_step_ns * 1e-3, vk_step_ns / cpu_step_ns, vk->dispatches, vk->steps_per_submit,
                                     vk->device, vk->epochs.back().accuracy, vk->step_losses.size())});
    if (!phases.empty()) ctx.result.notes.push_back(fmt::format("Vulkan step by phase (GPU clock, mean of one-step submissions): {}.", phases));
    if (cuda)
      for (const auto& [name, es] : cuda->variants) {
        std::vector<double> cs;
        for (const Epoch& e : es) cs.push_back(e.seconds);
        const dp::Stats ct = steady(cs);
        ctx.result.add_point(fmt::format("epoch time, PyTorch CUDA {}", name), "images", double(train_count), ct, 0, "", "epoch");
        ctx.result.headlines.push_back({fmt::format("PyTorch {} CUDA {}", cuda->version, name),
                                        fmt::format("{:.3f} s per epoch ({:.0f} us a step) on {}; test accuracy {:.2f}%; ours, Vulkan takes {:.2f}x its time",
                                                    ct.median_ns * 1e-9, ct.median_ns * 1e-3 / double(cuda->steps), cuda->device,
                                                    es.back().accuracy, vk_t.median_ns / ct.median_ns)});
      }
  }
  ctx.result.plots.push_back(dp::PlotSpec{.name = "accuracy", .title = "test accuracy after each epoch", .xlabel = "epoch",
                                          .ylabel = "% test accuracy", .y = dp::PlotSpec::Y::throughput, .logx = false,
                                          .variants = {"accuracy, ours", "accuracy, ours Vulkan", "accuracy, PyTorch"}});
  ctx.result.plots.push_back(dp::PlotSpec{.name = "loss", .title = "mean training loss of each epoch", .xlabel = "epoch",
                                          .ylabel = "mean training loss", .y = dp::PlotSpec::Y::throughput, .logx = false,
                                          .variants = {"loss, ours", "loss, ours Vulkan", "loss, PyTorch"}});
  ctx.result.notes.push_back(fmt::format("{} training images, {} test images, batches of {}, Adam lr 1e-3; ours on up to {} threads.",
                                         train_count, test_count, kBatch, dp::tensor::max_threads()));
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times mean nothing here, only the checks do.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "train-mlp",
             .title = "Training a Fashion-MNIST MLP on the CPU and with Vulkan, against PyTorch",
             .module = 4,
             .level = 3,
             .tracks = {"dl"},
             .question = "How fast can a small network train on a laptop's CPU, and what does PyTorch spend its time on?",
             .guide_page = "m4/train-mlp.md",
             .source = "src/labs/m4/train_mlp.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("epochs", "passes over the training images", 10, 1, 1, 1000),
               dp::ParamSpec::integer("train-images", "training images used (the first of the fixed order)", 60000, 10000, 256, 60000),
               dp::ParamSpec::choice("torch", "run the PyTorch peers where python3 can import torch (quick: off; it takes longer than our training)",
                                     {"auto", "off"}, "auto", "off"),
               dp::ParamSpec::choice("gpu", "train on the Vulkan device too (--gpu picks it; lavapipe where there is no GPU)",
                                     {"auto", "off"}, "auto", "auto"),
               dp::ParamSpec::integer("gpu-steps-per-submit", "Vulkan: copies of the recorded step in one command buffer", 1, 1, 1, 256),
               dp::ParamSpec::choice("gpu-block", "Vulkan: outputs per thread along each side of a GEMM tile (auto: 8 on a CPU device, 1 on a GPU)",
                                     {"auto", "1", "2", "4", "8"}, "auto", "auto")},
    .run = run,
});
