// graph-compiler — What does a graph compiler do, and what does fusing a whole chain into one
// generated kernel buy?
//
// What: the lab MLP (graph/mlp.hpp, batch = width) goes through graph/compiler.hpp:
//     lower     the fused plan becomes op codes: LOAD, LINEAR (+RELU/ADD/SUB epilogues), SOFTMAX,
//               STORE; identical layers roll into one LINEAR xN loop
//     chain     ops where each reads only the previous one's result form a chain: a workgroup can
//               carry its rows through all of it in shared memory, so the chain is one kernel
//     generate  GLSL with every size and offset a constant; shaderc compiles it at run time; the
//               pipeline is cached by the hash of the text
//   The listing of op codes is printed every run; --show-kernels (or --param show-kernels=on) prints the GLSL too.
//   Then, over depth at a small width, the GPU modes that differ only in how much is fused:
//     gpu-graph-cached  one kernel per op (linear, relu, ..., softmax), one submit per op
//     gpu-fused         fused linear+relu kernels, one submit per op
//     gpu-graph-loop    the fused kernels, recorded once: one submit per pass
//     gpu-compiled      one generated kernel per chain: one dispatch per pass for the MLP
//     cpu-fused         the CPU's compiled mode, for scale
//   and what compiling costs: building the gpu-compiled runner with an empty kernel cache, and
//   again when the kernel's hash is found.
//   Last, wide layers (widths 4 ... 256, depth 64): the chain kernel makes every workgroup read
//   every weight, so past some width one tiled GEMM dispatch per layer wins; the compiler picks
//   by an estimate of the bytes each way moves, and the lab times both.
// Run:  dontpanic run graph-compiler                        (width 32, depths 1 .. 64)
//       dontpanic run graph-compiler --quick                (width 16, depths 1 .. 4)
//       dontpanic run graph-compiler --show-kernels
#if defined(DP_HAVE_GPU)

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/check.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "gpu/gpu.hpp"
#include "graph/compiler.hpp"
#include "graph/gpu_runner.hpp"
#include "graph/mlp.hpp"
#include "graph/mode_check.hpp"
#include "graph/runner.hpp"
#include "labs/gpu_lab.hpp"

namespace {

using dp::graph::Graph;
using dp::graph::MlpSpec;
using dp::graph::Mode;
using dp::graph::NodeId;
using dp::tensor::Tensor2D;

const std::vector<Mode> kModes = {Mode::gpu_graph_cached, Mode::gpu_fused, Mode::gpu_graph_loop,
                                  Mode::gpu_compiled, Mode::cpu_fused};

// ---------------------------------------------------------------------------------------------
// The variants: what the compiler sees, and what it makes of it
// ---------------------------------------------------------------------------------------------

// A graph that is not a plain chain: a residual connection (h2 + h) and a shift by a constant,
// to show epilogue fusion (ADD/SUB folded into the LINEAR before it) and a chain boundary (h is
// read twice, so it must be stored, and a second chain starts).
Graph residual_block(std::size_t width) {
  Graph g;
  const NodeId x = g.input("x", {width, width});
  const float a = std::sqrt(6.0f / float(width));
  const NodeId w1 = g.constant("W1", Tensor2D<float>::random(width, width, 11, -a, a));
  const NodeId b1 = g.constant("b1", Tensor2D<float>::random(1, width, 12, -0.1f, 0.1f));
  const NodeId w2 = g.constant("W2", Tensor2D<float>::random(width, width, 13, -a, a));
  const NodeId b2 = g.constant("b2", Tensor2D<float>::random(1, width, 14, -0.1f, 0.1f));
  const NodeId shift = g.constant("shift", Tensor2D<float>::random(width, width, 15, -0.5f, 0.5f));
  const NodeId h = g.relu(g.linear(x, w1, b1, "fc1"), "h");
  const NodeId y = g.add(g.linear(h, w2, b2, "fc2"), h, "residual");  // fc2 + h
  g.mark_output(g.softmax(g.sub(y, shift, "shifted"), "probs"));
  return g;
}

// ---------------------------------------------------------------------------------------------
// Reference and check
// ---------------------------------------------------------------------------------------------

void check(dp::LabContext& ctx, dp::gpu::Device& device, dp::graph::KernelCache& cache, const Graph& g,
           const std::string& what, std::size_t width, std::size_t depth, std::uint64_t seed) {
  const auto in = g.node(g.inputs().front()).shape;
  const Tensor2D<float> x = Tensor2D<float>::random(in.rows, in.cols, seed);
  dp::graph::check_modes(g, x, kModes, {.device = &device, .cache = &cache},
                         {.width = width, .depth = depth, .label = ": " + what}, ctx.result);
}

// ---------------------------------------------------------------------------------------------
// Wide layers: chain kernel or one GEMM per layer
// ---------------------------------------------------------------------------------------------

// Widths 4, 8, ... up to --param wide-max-width (batch = width, depth --param wide-depth): the
// MLP compiled both ways (GEMMs only where a tile divides the shapes: from 32 up), each checked
// against the double reference, then timed; and which way the compiler picks by itself.
void wide_layers(dp::LabContext& ctx, dp::gpu::Device& device, dp::graph::KernelCache& cache) {
  using dp::graph::Layering;
  const auto max_w = static_cast<std::size_t>(ctx.params.integer("wide-max-width"));
  const auto depth = static_cast<std::size_t>(ctx.params.integer("wide-depth"));
  const std::vector<std::pair<std::string, Layering>> ways = {{"chain kernel", Layering::chain_kernel},
                                                              {"per-layer GEMMs", Layering::per_layer}};
  std::vector<std::string> failures, picks;
  for (std::size_t w = 4; w <= max_w; w *= 2) {
    const MlpSpec spec{.width = w, .depth = depth, .batch = w, .seed = 5};
    const Graph g = dp::graph::build_mlp(spec);
    const Tensor2D<float> x = dp::graph::mlp_input(spec);
    // The double reference up to width 256; beyond, it would take the CPU minutes (64 layers of
    // 1024^3 multiply-adds in double), so the GEMMs are checked against the chain kernel instead:
    // two independent float implementations that must agree within the same tolerance.
    const bool by_reference = w <= 256;
    std::vector<dp::tensor::Tensor2D<double>> want;
    if (by_reference) want = dp::graph::evaluate_reference(g, std::span(&x, 1));
    std::optional<dp::Tolerance> tol;
    if (by_reference) tol = dp::graph::forward_tolerance(w, depth, dp::graph::max_abs(want[0]));
    auto automatic = dp::graph::make_gpu_runner(g, Mode::gpu_compiled, device, {.cache = &cache});
    const auto* chosen = dp::graph::compiled_graph_of(*automatic);
    picks.push_back(fmt::format("{}: {}", w, chosen->chains.front().per_layer ? "GEMMs" : "chain"));
    for (const auto& [name, layering] : ways) {
      std::unique_ptr<dp::graph::Runner> runner;
      try {
        runner = dp::graph::make_gpu_runner(g, Mode::gpu_compiled, device, {.cache = &cache, .layering = layering});
      } catch (const dp::Error& e) {  // a chain kernel too wide for this device's shared memory
        ctx.result.notes.push_back(fmt::format("{} at width {}: {}", name, w, e.what()));
        continue;
      }
      if (layering == Layering::per_layer && !dp::graph::compiled_graph_of(*runner)->chains.front().per_layer)
        continue;  // no tile divides this width: there are no GEMMs to time
      runner->run(std::span(&x, 1));
      if (!by_reference && want.empty()) {  // the first way that ran (the chain kernel) is the reference
        want.emplace_back(runner->output(0).rows(), runner->output(0).cols());
        std::copy_n(runner->output(0).data(), runner->output(0).size(), want[0].data());
        tol = dp::graph::forward_tolerance(w, depth, dp::graph::max_abs(want[0]));
        tol->abs *= 2;  // two float results, each within the tolerance of the exact one
      } else if (!want.empty()) {
        const auto cmp = dp::compare(runner->output(0).span(), std::span<const double>(want[0].span()), *tol);
        if (!cmp.passed) failures.push_back(fmt::format("{} at width {}: {}", name, w, cmp.detail));
      }
      const dp::Stats s = ctx.measure(fmt::format("{}/width={}", name, w), [&] {
        runner->run(std::span(&x, 1));
        benchmark::DoNotOptimize(runner->output(0).data());
      });
      ctx.result.add_point(name, "width", double(w), s, dp::graph::mlp_flops(spec) / s.median_ns, "GFLOP/s");
    }
  }
  ctx.result.add_check("wide layers: both ways compute the MLP correctly", failures.empty(),
                       failures.empty() ? fmt::format("widths 4 ... {}, depth {} (beyond 256: GEMMs against the chain kernel)",
                                                      max_w, depth)
                                        : failures.front());
  ctx.result.notes.push_back(fmt::format("wide layers, what gpu-compiled picks by its byte estimate (width: way): {}",
                                         fmt::join(picks, ", ")));
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "wide", .title = fmt::format("Wide layers, depth {}: one chain kernel or one GEMM per layer", depth),
      .xlabel = "width (= batch)", .ylabel = "ns per pass", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true,
      .variants = {"chain kernel", "per-layer GEMMs"}, .markers = {}});
}

// ---------------------------------------------------------------------------------------------
// run(): show, check, time, report
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  const auto width = static_cast<std::size_t>(ctx.params.integer("width"));
  const auto max_depth = static_cast<std::size_t>(ctx.params.integer("max-depth"));
  const bool show = ctx.params.text("show-kernels") == "on";
  auto device = dp::gpu::open_lab_device(ctx);
  const dp::graph::CompileOptions options{.shared_memory_bytes = device->report().max_shared_memory_bytes,
                                          .target_groups = device->is_cpu() ? 8u : 64u,
                                          .max_loop_iterations = device->is_cpu() ? 65535u : 0u};

  // 1. What the compiler makes of two graphs.
  const MlpSpec mlp{.width = width, .depth = 4, .batch = width, .seed = 1};
  const Graph mlp_graph = dp::graph::build_mlp(mlp);
  const Graph block = residual_block(width);
  for (const auto& [name, g] : {std::pair<std::string, const Graph*>{"the MLP, depth 4", &mlp_graph},
                                std::pair<std::string, const Graph*>{"a residual block", &block}}) {
    const auto compiled = dp::graph::compile_graph(*g, options);
    ctx.log << fmt::format("--- {}: {} ops in the graph, {} steps after fusion, {} kernel(s)\n", name,
                           compiled.plan.steps.size() + compiled.plan.fused_nodes, compiled.plan.steps.size(),
                           compiled.chains.size())
            << compiled.listing(*g);
    if (show)
      for (const auto& c : compiled.chains) ctx.log << "// ===== " << c.name() << " =====\n" << c.glsl;
  }
  if (!show) ctx.log << "(--show-kernels prints the generated GLSL)\n";

  dp::graph::KernelCache cache(*device);
  // 2. What compiling costs, and what the cache saves (first, before anything else has compiled
  //    this shape in this run; the SPIR-V may still come from the disk cache of an earlier run).
  {
    const Graph g = dp::graph::build_mlp({.width = width, .depth = max_depth, .batch = width, .seed = 9});
    dp::graph::KernelCache empty(*device);
    const auto before = device->compiler().stats();
    auto t0 = std::chrono::steady_clock::now();
    auto first = dp::graph::make_runner(g, Mode::gpu_compiled, {.device = device.get(), .cache = &empty});
    const double cold = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto after = device->compiler().stats();
    t0 = std::chrono::steady_clock::now();
    auto second = dp::graph::make_runner(g, Mode::gpu_compiled, {.device = device.get(), .cache = &empty});
    const double warm = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ctx.result.add_check("a second compile of the same graph finds its kernel by hash", empty.builds() == 1 && empty.hits() == 1,
                         fmt::format("{} pipeline(s) built, {} cache hit(s)", empty.builds(), empty.hits()));
    const char* how = after.compiled > before.compiled ? "shaderc compiled it"
                      : after.disk_hits > before.disk_hits ? "SPIR-V from the disk cache"
                                                           : "SPIR-V from memory";
    ctx.result.headlines.push_back({fmt::format("build gpu-compiled, depth {}, empty kernel cache", max_depth),
                                    fmt::format("{:.1f} ms ({})", cold * 1e3, how)});
    ctx.result.headlines.push_back({"build it again, kernel found by hash", fmt::format("{:.2f} ms", warm * 1e3)});
  }

  // 3. Check every mode on both graphs and on an odd-sized MLP.
  check(ctx, *device, cache, dp::graph::build_mlp({.width = 17, .depth = 3, .batch = 17, .seed = 2}),
        "MLP width 17, depth 3", 17, 3, 3);
  check(ctx, *device, cache, mlp_graph, fmt::format("MLP width {}, depth 4", width), width, 4, 4);
  check(ctx, *device, cache, block, fmt::format("residual block, width {}", width), width, 3, 5);
  dp::gpu::add_validation_check(*device, ctx);
  if (!ctx.result.all_checks_passed()) return;

  // 4. Time the modes over depth.
  std::map<std::string, std::map<std::size_t, double>> ns;
  for (std::size_t d = 1;; d = std::min(max_depth, d * 2)) {
    const MlpSpec spec{.width = width, .depth = d, .batch = width, .seed = 1};
    const Graph g = dp::graph::build_mlp(spec);
    const Tensor2D<float> x = dp::graph::mlp_input(spec);
    ctx.log << fmt::format("depth {}\n", d);
    for (Mode mode : kModes) {
      auto runner = dp::graph::make_runner(g, mode, {.device = device.get(), .cache = &cache});
      runner->run(std::span(&x, 1));  // warm-up: first use may compile
      const dp::Stats s = ctx.measure(fmt::format("{}/depth={}", dp::graph::mode_name(mode), d), [&] {
        runner->run(std::span(&x, 1));
        benchmark::DoNotOptimize(runner->output(0).data());
      });
      ctx.result.add_point(dp::graph::mode_name(mode), "depth", double(d), s,
                           dp::graph::mlp_flops(spec) / s.median_ns, "GFLOP/s");
      ns[dp::graph::mode_name(mode)][d] = s.median_ns;
    }
    if (d == max_depth) break;
  }

  // 5. Wide layers: the same MLP as one chain kernel and as one GEMM per layer, and what the
  //    compiler's byte estimate picks (CompileOptions::layering).
  wide_layers(ctx, *device, cache);

  // 6. Report.
  const double unfused = ns["gpu-graph-cached"][max_depth], loop = ns["gpu-graph-loop"][max_depth],
               compiled = ns["gpu-compiled"][max_depth];
  ctx.result.headlines.push_back({fmt::format("gpu-compiled vs gpu-graph-loop, width {}, depth {}", width, max_depth),
                                  fmt::format("{:.1f}x faster", loop / compiled)});
  ctx.result.headlines.push_back({fmt::format("gpu-compiled vs gpu-graph-cached, width {}, depth {}", width, max_depth),
                                  fmt::format("{:.1f}x faster", unfused / compiled)});
  ctx.result.notes.push_back(fmt::format(
      "Per pass at depth D: gpu-graph-cached runs 2D+1 kernels with a submit each, gpu-fused D kernels with a "
      "submit each, gpu-graph-loop D kernels in one submit, gpu-compiled one kernel in one submit (D = {} here).",
      max_depth));
  std::vector<std::string> names;
  for (Mode m : kModes) names.push_back(dp::graph::mode_name(m));
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "depth", .title = fmt::format("Fusion, width {}: one forward pass", width), .xlabel = "depth (layers)",
      .ylabel = "ns per pass", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = names,
      .markers = {}});
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "graph-compiler",
             .title = "Graph compilers: op codes, fusion, generated kernels",
             .module = 1,
             .level = 4,
             .tracks = {},
             .question = "What does a graph compiler do, and what does fusing a whole chain into one generated "
                         "kernel buy?",
             .guide_page = "m1/graph-compiler.md",
             .source = "src/labs/m1/graph_compiler.cpp",
             .requires_gpu = dp::gpu::kAnyVulkanDevice},
    .params = {dp::ParamSpec::integer("width", "layer width (batch = width)", 32, 16, 1, 1024),
               dp::ParamSpec::integer("max-depth", "depths 1, 2, 4, ... up to this", 64, 4, 1, 1024),
               dp::ParamSpec::choice("show-kernels", "print the generated GLSL of every kernel", {"off", "on"}, "off"),
               dp::ParamSpec::integer("wide-max-width", "wide layers: widths 4, 8, ... up to this (batch = width)",
                                      256, 32, 4, 4096),
               dp::ParamSpec::integer("wide-depth", "wide layers: depth of the MLP", 64, 4, 1, 1024)},
    .run = run,
});

#endif  // DP_HAVE_GPU
