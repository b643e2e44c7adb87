// graph-intro — Why do deep-learning frameworks turn your model into a graph?
//
// What: a 3-layer perceptron, x -> [linear -> relu] x 3 -> softmax, batch = width (square
//   tensors), written as a computational graph: 11 op nodes plus weights. The same graph runs two
//   ways, and both must match a double-precision reference before anything is timed:
//     cpu-immediate  op by op, the way eager PyTorch runs Python code: each op allocates its
//                    result, packs its weights for the matrix multiply, and splits its own work
//                    between threads, without knowing what comes next
//     cpu-fused      the graph compiled once: linear+relu fused into one pass, weights packed once,
//                    two buffers reused for every layer, threads forked once per forward pass
//   Both use the same matrix-multiply kernel (src/tensor/gemm.cpp): only the bookkeeping around
//   it differs. FLOPs per forward = 2 * batch * width^2 * depth.
// Run:  dontpanic run graph-intro            (widths 8 .. 1024)
//       dontpanic run graph-intro --quick    (widths 8 .. 64)
//       --param max-width=256 --param depth=8
#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/sweep.hpp"
#include "graph/graph.hpp"
#include "graph/mlp.hpp"
#include "graph/mode_check.hpp"
#include "graph/plan.hpp"
#include "graph/runner.hpp"
#include "tensor/parallel.hpp"

namespace {

using dp::graph::Graph;
using dp::graph::Mode;
using dp::graph::NodeId;
using dp::tensor::Tensor2D;

// ---------------------------------------------------------------------------------------------
// The interesting lines: a model is a graph, and a graph can be run in more than one way
// ---------------------------------------------------------------------------------------------

// Building the graph computes nothing: each call adds a node and returns its id, and the inputs
// of a node are the ids of the nodes that feed it. (graph/mlp.cpp builds the same network, with
// the same seeded weights, for the other graph labs.)
Graph perceptron(std::size_t width, std::size_t depth, std::uint64_t seed) {
  Graph g;
  NodeId h = g.input("x", {width, width});                    // batch x features
  const float a = std::sqrt(6.0f / static_cast<float>(width));  // He-uniform bound
  for (std::size_t l = 0; l < depth; ++l) {
    const std::uint64_t s = seed * 1000003u + 2 * l + 1;
    const NodeId w = g.constant(fmt::format("W{}", l), Tensor2D<float>::random(width, width, s, -a, a));
    const NodeId b = g.constant(fmt::format("b{}", l), Tensor2D<float>::random(1, width, s + 1, -0.1f, 0.1f));
    h = g.linear(h, w, b, fmt::format("layer{}.linear", l));  // h · Wᵀ + b
    h = g.relu(h, fmt::format("layer{}.relu", l));            // max(h, 0)
  }
  g.mark_output(g.softmax(h, "softmax"));                     // each row -> probabilities
  return g;
}

// Running it: a Runner walks the graph in a valid order (every node after its inputs). What it
// prepares before the first run is the difference between the modes (graph/cpu_runner.cpp):
//   auto runner = dp::graph::make_cpu_runner(graph, Mode::cpu_fused);
//   runner->run(inputs);  const Tensor2D<float>& probabilities = runner->output(0);
const std::vector<Mode> kModes = {Mode::cpu_immediate, Mode::cpu_fused};

// ---------------------------------------------------------------------------------------------
// Reference and check
// ---------------------------------------------------------------------------------------------

constexpr std::uint64_t kSeed = 1;

void check_modes(dp::LabContext& ctx, std::size_t width, std::size_t depth) {
  const Graph g = perceptron(width, depth, kSeed);
  const Tensor2D<float> x = Tensor2D<float>::random(width, width, kSeed * 7919u + 17u);
  // The reference interpreter (evaluate_reference): every node with the plainest loops, in double
  // precision; each mode's output must match it.
  dp::graph::check_modes(g, x, kModes, {}, {.width = width, .depth = depth, .label = fmt::format(" at width {}", width)},
                         ctx.result);
}

// ---------------------------------------------------------------------------------------------
// run(): check, then time, then report
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  const auto max_width = static_cast<std::size_t>(ctx.params.integer("max-width"));
  const auto depth = static_cast<std::size_t>(ctx.params.integer("depth"));

  // 1. Show the graph and what compiling it does, at a size that prints in a few lines.
  {
    const Graph g = perceptron(4, depth, kSeed);
    ctx.log << "The graph, one op per line (bufN: which buffer holds the result):\n"
            << dp::graph::make_plan(g, /*fuse=*/false).describe(g)
            << "Compiled for cpu-fused (linear+relu fused, buffers reused):\n"
            << dp::graph::make_plan(g, /*fuse=*/true).describe(g);
  }

  // 2. Check both modes at an odd width (partial SIMD tiles everywhere) and an even one.
  check_modes(ctx, 17, depth);
  check_modes(ctx, std::min<std::size_t>(max_width, 64), depth);
  if (!ctx.result.all_checks_passed()) return;

  // 3. Time one forward pass per mode and width.
  const auto widths = dp::geometric_sizes(8, max_width, 2);
  std::vector<double> speedup;  // cpu-immediate time / cpu-fused time, per width
  const dp::SweepOptions sweep_options{
      .label = [depth](std::uint64_t w) { return fmt::format("{} ({:.3g} MFLOP per forward pass)", w, 2e-6 * double(w * w * w * depth)); },
      .weight = [](std::uint64_t w) { return double(w * w * w); },
      .stops_early = false};
  for (std::size_t width : dp::Sweep(ctx, "width", widths, sweep_options)) {
    const Graph g = perceptron(width, depth, kSeed);
    const Tensor2D<float> x = Tensor2D<float>::random(width, width, kSeed * 7919u + 17u);
    const double flops = 2.0 * double(width) * double(width) * double(width) * double(depth);
    double times[2] = {0, 0};
    for (std::size_t m = 0; m < kModes.size(); ++m) {
      auto runner = dp::graph::make_cpu_runner(g, kModes[m]);
      const dp::Stats s = ctx.measure(fmt::format("{}/width={}", dp::graph::mode_name(kModes[m]), width), [&] {
        runner->run(std::span(&x, 1));
        benchmark::DoNotOptimize(runner->output(0).data());
      });
      ctx.result.add_point(dp::graph::mode_name(kModes[m]), "width", double(width), s,
                           flops / s.median_ns, "GFLOP/s");
      times[m] = s.median_ns;
    }
    speedup.push_back(times[0] / times[1]);
  }

  // 4. Plots, headlines, notes.
  const std::vector<std::string> names = {"cpu-immediate", "cpu-fused"};
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "time", .title = fmt::format("A {}-layer perceptron, one forward pass", depth),
      .xlabel = "width (x is width x width, every W is width x width)", .ylabel = "ns per forward pass",
      .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = names, .markers = {}});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "gflops", .title = "Useful arithmetic per second", .xlabel = "width",
      .ylabel = "GFLOP/s", .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true,
      .variants = names, .markers = {}});
  ctx.result.headlines.push_back(
      {fmt::format("cpu-fused vs cpu-immediate at width {}", widths.front()),
       fmt::format("{:.1f}x faster", speedup.front())});
  ctx.result.headlines.push_back(
      {fmt::format("cpu-fused vs cpu-immediate at width {}", widths.back()),
       fmt::format("{:.2f}x faster", speedup.back())});
  ctx.result.notes.push_back(fmt::format(
      "Both modes call the same matrix-multiply kernel ({} threads available). The difference is "
      "the work around it: per forward pass cpu-immediate makes {} allocations, packs {} weight "
      "matrices and forks threads up to {} times; cpu-fused does none of that after it is built.",
      dp::tensor::max_threads(), 2 * depth + 1, depth, 2 * depth + 1));
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "graph-intro",
             .title = "Computational graphs: what they are and why frameworks use them",
             .module = 1,
             .level = 1,
             .tracks = {"dl"},
             .question = "Why do deep-learning frameworks turn a model into a graph before running it?",
             .guide_page = "m1/graph-intro.md",
             .source = "src/labs/m1/graph_intro.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("max-width", "largest layer width; widths 8, 16, ... up to it",
                                      1024, 64, 8, 4096),
               dp::ParamSpec::integer("depth", "linear+relu layers", 3, 3, 1, 64)},
    .run = run,
});
