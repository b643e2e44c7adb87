// train_mlp.cpp — train a Fashion-MNIST classifier on the CPU: how fast against PyTorch?
//
// What: a 784-256-128-10 multi-layer perceptron (relu between layers, softmax cross-entropy, Adam
// at lr 1e-3, batches of 256, PyTorch's default initialisation) trained on the 60,000 training
// images of Fashion-MNIST (tools/get-data), tested on the 10,000 test images after every epoch:
//   ours, fused        mlp_trainer.hpp: our GEMM with relu in its epilogue, buffers kept between
//                      steps, backward passes and Adam from tensor/backward.hpp
//   ours, op by op     the same arithmetic the way an eager framework runs it: every op allocates
//                      its output and repacks W; one epoch, for its time (and a check)
//   PyTorch CPU eager  the same model, initialisation scheme, optimizer and batch size in
//                      bench/peers/torch_train.py, at its best thread count, in the same run
// Curves: training loss and test accuracy per epoch, ours and PyTorch's; time per epoch.
// Run:  dontpanic run train-mlp       dontpanic run train-mlp --quick (1 epoch on 10,000 images,
//       no PyTorch unless --param torch=auto)
// Checks: the loss falls (the last ten steps' mean below half the first ten steps'); test accuracy
// clears the bar (85% after a full run, 70% after the quick one); fused and op-by-op reach the
// same weights, bit for bit, after one epoch.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <optional>
#include <random>
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
#include "tensor/parallel.hpp"

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

// ---------------------------------------------------------------------------------------------
// The PyTorch peer
// ---------------------------------------------------------------------------------------------

struct TorchRun {
  std::string version;
  int threads = 0;
  std::vector<Epoch> epochs;
};

std::optional<TorchRun> run_torch(dp::LabContext& ctx, int epochs, std::size_t train_count, std::size_t test_count) {
  const auto python = dp::find_python_with_torch();
  if (!python) {
    ctx.result.notes.push_back("PyTorch skipped: no python3 here can import torch (Debian: apt install python3-torch libopenblas0-pthread).");
    return std::nullopt;
  }
  ctx.log << fmt::format("PyTorch {} ({}): {} epochs, threads 1..{} tried first\n", python->torch_version,
                         python->interpreter, epochs, ctx.machine.threads);
  const auto proc = dp::run_process({python->interpreter, (dp::source_dir() / "bench" / "peers" / "torch_train.py").string(),
                                     "--data", dp::data::fashion_mnist_dir().string(), "--epochs", std::to_string(epochs),
                                     "--train", std::to_string(train_count), "--test", std::to_string(test_count),
                                     "--batch", std::to_string(kBatch), "--seed", std::to_string(kSeed)},
                                    {}, 3600);
  try {
    const auto start = proc.output.rfind("\n{");
    const auto j = nlohmann::json::parse(start == std::string::npos ? proc.output : proc.output.substr(start + 1));
    TorchRun run{.version = j.at("torch"), .threads = j.at("threads")};
    for (const auto& e : j.at("epochs")) run.epochs.push_back({e.at("seconds"), e.at("mean_loss"), e.at("accuracy")});
    return run;
  } catch (const std::exception&) {
    ctx.result.notes.push_back(fmt::format("PyTorch skipped: torch_train.py exited with {}{}: {}", proc.exit_code,
                                           proc.timed_out ? " (timed out)" : "", proc.output.substr(0, 300)));
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
  const double bar = ctx.quick ? 70.0 : 85.0;

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

  // 2. PyTorch.
  std::optional<TorchRun> torch;
  if (ctx.params.text("torch") == "auto") torch = run_torch(ctx, epochs, train_count, test_count);

  for (std::size_t e = 0; e < ours.size(); ++e) {
    const dp::Stats t = stats_of_seconds({ours[e].seconds});
    ctx.result.add_point("loss, ours", "epoch", double(e + 1), t, ours[e].mean_loss, "mean training loss");
    ctx.result.add_point("accuracy, ours", "epoch", double(e + 1), t, ours[e].accuracy, "% test accuracy");
    if (torch && e < torch->epochs.size()) {
      const dp::Stats tt = stats_of_seconds({torch->epochs[e].seconds});
      ctx.result.add_point("loss, PyTorch", "epoch", double(e + 1), tt, torch->epochs[e].mean_loss, "mean training loss");
      ctx.result.add_point("accuracy, PyTorch", "epoch", double(e + 1), tt, torch->epochs[e].accuracy, "% test accuracy");
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
  ctx.result.plots.push_back(dp::PlotSpec{.name = "accuracy", .title = "test accuracy after each epoch", .xlabel = "epoch",
                                          .ylabel = "% test accuracy", .y = dp::PlotSpec::Y::throughput, .logx = false,
                                          .variants = {"accuracy, ours", "accuracy, PyTorch"}});
  ctx.result.plots.push_back(dp::PlotSpec{.name = "loss", .title = "mean training loss of each epoch", .xlabel = "epoch",
                                          .ylabel = "mean training loss", .y = dp::PlotSpec::Y::throughput, .logx = false,
                                          .variants = {"loss, ours", "loss, PyTorch"}});
  ctx.result.notes.push_back(fmt::format("{} training images, {} test images, batches of {}, Adam lr 1e-3; ours on up to {} threads.",
                                         train_count, test_count, kBatch, dp::tensor::max_threads()));
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times mean nothing here, only the checks do.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "train-mlp",
             .title = "Training a Fashion-MNIST MLP on the CPU, against PyTorch",
             .module = 4,
             .level = 3,
             .tracks = {"dl"},
             .question = "How fast can a small network train on a laptop's CPU, and what does PyTorch spend its time on?",
             .guide_page = "m4/train-mlp.md",
             .source = "src/labs/m4/train_mlp.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("epochs", "passes over the training images", 10, 1, 1, 1000),
               dp::ParamSpec::integer("train-images", "training images used (the first of the fixed order)", 60000, 10000, 256, 60000),
               dp::ParamSpec::choice("torch", "run the PyTorch peer where python3 can import torch (quick: off; it takes longer than our training)",
                                     {"auto", "off"}, "auto", "off")},
    .run = run,
});
