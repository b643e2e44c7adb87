// graph-modes — What does each way of running a graph cost, from one op at a time to one kernel?
//
// What: the lab MLP (graph/mlp.hpp: x -> depth x [linear -> relu] -> softmax, square tensors:
//   batch = width) run in every mode of graph/runner.hpp, side by side:
//     cpu-immediate, cpu-fused                                  (always)
//     gpu-immediate, gpu-graph, gpu-graph-cached, gpu-fused,
//     gpu-graph-loop, gpu-compiled                              (where a Vulkan device exists)
//     torch-cpu (eager), torch-cpu-jit (TorchScript)            (where python3 can import torch:
//                                                                bench/peers/torch_graph.py, the
//                                                                same network, PyTorch's best
//                                                                thread count)
//   Two sweeps: width 4 ... max-width at depth `depth` (CPU modes and PyTorch go on to
//   cpu-max-width), and depth 1 ... max-depth at width depth-width (series "<mode>/depth").
//   Every mode is checked against the double-precision reference before anything is timed, and
//   PyTorch's output is checked too, to be sure it computes the same network.
//   Time = one forward pass, input upload and output download included for GPU modes.
// Run:  dontpanic run graph-modes            (widths 4..256 (CPU to 1024) at depth 64; depths 1..256)
//       dontpanic run graph-modes --quick    (small sizes, seconds)
//       --param gpu=off  --param torch=off  --param gpu-budget=10 (seconds per pass before a GPU
//       mode stops growing: lavapipe runs GPU code on the CPU, thousands of times slower)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "labs/peer_output.hpp"
#include "core/check.hpp"
#include "core/source_tree.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/sweep.hpp"
#include "core/process.hpp"
#include "graph/mlp.hpp"
#include "graph/mode_check.hpp"
#include "graph/runner.hpp"
#include "labs/optional_gpu.hpp"
#include "tensor/parallel.hpp"

namespace {

using dp::graph::Graph;
using dp::graph::MlpSpec;
using dp::graph::Mode;
using dp::graph::Runner;
using dp::tensor::Tensor2D;

// ---------------------------------------------------------------------------------------------
// The variants: one graph, eight ways to run it (the code is in src/graph; this is the menu)
// ---------------------------------------------------------------------------------------------

// dp::graph::make_runner(graph, mode, gpu) builds the runner for `mode`. Everything a mode
// prepares once (plans, packed weights, resident buffers, pipelines, recorded command buffers,
// generated kernels) happens there, outside the timed region; what it does per pass is what the
// lab times.

// ---------------------------------------------------------------------------------------------
// Reference and check
// ---------------------------------------------------------------------------------------------

void check_modes(dp::LabContext& ctx, const dp::OptionalGpu& gpu, const std::vector<Mode>& modes,
                 const MlpSpec& spec) {
  dp::graph::check_modes(dp::graph::build_mlp(spec), dp::graph::mlp_input(spec), modes, gpu.target(),
                         {.width = spec.width, .depth = spec.depth,
                          .label = fmt::format(" (width {}, depth {}, batch {})", spec.width, spec.depth, spec.batch)},
                         ctx.result);
}

// ---------------------------------------------------------------------------------------------
// The PyTorch peer
// ---------------------------------------------------------------------------------------------

struct TorchPoint {
  double median_ns = 0, p10_ns = 0, p90_ns = 0;
  int reps = 0, threads = 0;
};
struct TorchResults {
  std::string version;
  // (mode, width, depth) -> point
  std::map<std::tuple<std::string, std::size_t, std::size_t>, TorchPoint> points;
  std::vector<float> verify;  // output at the check shape
};

// Runs bench/peers/torch_graph.py; returns nothing (and adds a note saying why) when it cannot.
std::optional<TorchResults> run_torch(dp::LabContext& ctx, const std::vector<MlpSpec>& shapes,
                                      const MlpSpec& verify) {
  const auto python = dp::find_python_with_torch();
  if (!python) {
    ctx.result.notes.push_back(
        "PyTorch skipped: no python3 here can import torch (Debian: apt install python3-torch "
        "libopenblas0-pthread).");
    return std::nullopt;
  }
  std::string list;
  for (const MlpSpec& s : shapes) list += fmt::format("{}{}x{}x{}", list.empty() ? "" : ",", s.width, s.depth, s.batch);
  const std::vector<std::string> argv = {
      python->interpreter, (dp::source_dir() / "bench" / "peers" / "torch_graph.py").string(),
      "--shapes", list, "--modes", "eager,jit",
      "--reps", std::to_string(std::max(3, ctx.measure_config.repetitions)),
      "--min-time", fmt::format("{}", ctx.measure_config.min_seconds),
      "--seed", std::to_string(verify.seed),
      "--verify", fmt::format("{}x{}x{}", verify.width, verify.depth, verify.batch)};
  ctx.log << fmt::format("PyTorch {} ({}): {} shapes, eager and TorchScript, threads 1..{}\n",
                         python->torch_version, python->interpreter, shapes.size(), ctx.machine.threads);
  const auto proc = dp::run_process(argv, {}, 1800);
  nlohmann::json j;
  try {
    // The JSON object is the last line of stdout; stderr lines (progress) come before it.
    j = dp::labs::peer_json(proc.output);  // its last line: warnings may come before
  } catch (const std::exception&) {
    ctx.result.notes.push_back(fmt::format("PyTorch skipped: torch_graph.py exited with {}{}: {}",
                                           proc.exit_code, proc.timed_out ? " (timed out)" : "",
                                           proc.output.substr(0, 300)));
    return std::nullopt;
  }
  TorchResults r;
  r.version = j.value("torch", "");
  for (const auto& p : j["results"])
    r.points[{p["mode"].get<std::string>(), p["width"].get<std::size_t>(), p["depth"].get<std::size_t>()}] =
        {p["median_ns"], p["p10_ns"], p["p90_ns"], p["reps"], p["threads"]};
  for (const auto& s : j["skipped"])
    ctx.result.notes.push_back(fmt::format("PyTorch mode '{}' skipped: {}", s["mode"].get<std::string>(),
                                           s["reason"].get<std::string>()));
  if (j.contains("verify")) r.verify = j["verify"]["output"].get<std::vector<float>>();
  return r;
}

// ---------------------------------------------------------------------------------------------
// run(): check, then time, then report
// ---------------------------------------------------------------------------------------------

std::vector<std::uint64_t> doubling(std::uint64_t from, std::uint64_t to) { return dp::geometric_sizes(from, to, 2); }

void run(dp::LabContext& ctx) {
  const auto depth = static_cast<std::size_t>(ctx.params.integer("depth"));
  const auto max_width = static_cast<std::size_t>(ctx.params.integer("max-width"));
  const auto cpu_max_width = std::max(max_width, static_cast<std::size_t>(ctx.params.integer("cpu-max-width")));
  const auto depth_width = static_cast<std::size_t>(ctx.params.integer("depth-width"));
  const auto max_depth = static_cast<std::size_t>(ctx.params.integer("max-depth"));
  const double gpu_budget = ctx.params.real("gpu-budget");
  constexpr std::uint64_t kSeed = 1;

  // 0. Which engines are here.
  std::vector<Mode> modes = {Mode::cpu_immediate, Mode::cpu_fused};
  dp::OptionalGpu gpu;
  if (ctx.params.text("gpu") == "auto") gpu = dp::open_optional_gpu(ctx);
  if (gpu.available())
    for (Mode m : dp::graph::all_modes())
      if (dp::graph::is_gpu_mode(m)) modes.push_back(m);

  // 1. Check every mode: an odd shape (ragged tiles everywhere) and a deeper even one.
  const MlpSpec odd{.width = 17, .depth = 3, .batch = 17, .seed = kSeed};
  check_modes(ctx, gpu, modes, odd);
  check_modes(ctx, gpu, modes, {.width = 32, .depth = std::min<std::size_t>(depth, 16), .batch = 32, .seed = kSeed});
  gpu.add_validation_check(ctx);
  if (!ctx.result.all_checks_passed()) return;

  // 2. PyTorch, in one process for every shape (importing torch takes seconds).
  std::vector<MlpSpec> torch_shapes;
  for (std::size_t w : doubling(4, cpu_max_width)) torch_shapes.push_back({.width = w, .depth = depth, .batch = w, .seed = kSeed});
  for (std::size_t d : doubling(1, max_depth))
    torch_shapes.push_back({.width = depth_width, .depth = d, .batch = depth_width, .seed = kSeed});
  std::optional<TorchResults> torch;
  if (ctx.params.text("torch") == "auto") torch = run_torch(ctx, torch_shapes, odd);
  if (torch && !torch->verify.empty()) {  // same network? compare with our reference
    const Graph g = dp::graph::build_mlp(odd);
    const Tensor2D<float> x = dp::graph::mlp_input(odd);
    const auto want = dp::graph::evaluate_reference(g, std::span(&x, 1));
    const auto cmp = dp::compare(std::span<const float>(torch->verify), want[0].span(),
                                 dp::graph::forward_tolerance(odd.width, odd.depth, dp::graph::max_abs(want[0])));
    ctx.result.add_check("PyTorch computes the same network (its output matches our reference)", cmp.passed,
                         cmp.detail);
    if (!cmp.passed) return;
  }

  // 3. Time every mode over both sweeps.
  std::map<std::string, double> stopped;      // GPU series -> the size at which it stopped
  std::map<std::string, double> over_budget;  // ... because one pass took longer than gpu-budget
  auto time_point = [&](Mode mode, const MlpSpec& spec, const std::string& series, const std::string& x_name,
                        double x) {
    if (stopped.count(series)) return;
    const Graph g = dp::graph::build_mlp(spec);
    const Tensor2D<float> input = dp::graph::mlp_input(spec);
    std::unique_ptr<Runner> runner;
    try {
      runner = dp::graph::make_runner(g, mode, gpu.target());
    } catch (const dp::Error& e) {  // e.g. a width beyond gpu-compiled's shared memory here
      if (!dp::graph::is_gpu_mode(mode)) throw;
      ctx.result.notes.push_back(fmt::format("{} stops before {} {:g}: {}", series, x_name, x, e.what()));
      stopped[series] = x;
      return;
    }
    // A first pass warms up (a driver may compile a pipeline on its first use); a second one,
    // timed once, tells whether a slow device can afford this size.
    runner->run(std::span(&input, 1));
    const auto t0 = std::chrono::steady_clock::now();
    runner->run(std::span(&input, 1));
    const double once = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (dp::graph::is_gpu_mode(mode) && once > gpu_budget) {  // one sample is all we can afford
      const double ns = once * 1e9;
      ctx.result.add_point(series, x_name, x, dp::Stats{.median_ns = ns, .p10_ns = ns, .p90_ns = ns, .min_ns = ns, .reps = 1},
                           dp::graph::mlp_flops(spec) / ns, "GFLOP/s");
      stopped[series] = over_budget[series] = x;
      return;
    }
    dp::MeasureConfig config = ctx.measure_config;
    if (once > 0.3) config.repetitions = std::min(config.repetitions, 5);
    const dp::Stats s = dp::measure(fmt::format("{}/{}/{}={}", ctx.result.lab, series, x_name, x),
                                    [&] {
                                      runner->run(std::span(&input, 1));
                                      benchmark::DoNotOptimize(runner->output(0).data());
                                    },
                                    config);
    ctx.result.add_point(series, x_name, x, s, dp::graph::mlp_flops(spec) / s.median_ns, "GFLOP/s");
  };

  std::map<std::size_t, double> fused_ns, torch_ns;  // width sweep: for the ratios
  const dp::SweepOptions width_options{
      .label = [depth](std::uint64_t w) {
        return fmt::format("{} (depth {}, {:.3g} MFLOP per pass)", w, depth,
                           dp::graph::mlp_flops({.width = w, .depth = depth, .batch = w}) * 1e-6);
      },
      .weight = [](std::uint64_t w) { return double(w * w * w) + 1e6; },  // FLOPs, plus a fixed cost per pass
      .stops_early = false};
  for (std::size_t w : dp::Sweep(ctx, "width", doubling(4, cpu_max_width), width_options)) {
    const MlpSpec spec{.width = w, .depth = depth, .batch = w, .seed = kSeed};
    for (Mode mode : modes) {
      if (dp::graph::is_gpu_mode(mode) && w > max_width) continue;
      time_point(mode, spec, dp::graph::mode_name(mode), "width", double(w));
    }
    if (const auto* s = ctx.result.find_series("cpu-fused")) fused_ns[w] = s->points.back().median_ns;
    if (torch)
      for (const auto& [torch_mode, series] : {std::pair{"eager", "torch-cpu"}, std::pair{"jit", "torch-cpu-jit"}}) {
        const auto it = torch->points.find({torch_mode, w, depth});
        if (it == torch->points.end()) continue;
        const TorchPoint& p = it->second;
        ctx.result.add_point(series, "width", double(w),
                             dp::Stats{.median_ns = p.median_ns, .p10_ns = p.p10_ns, .p90_ns = p.p90_ns,
                                       .min_ns = p.p10_ns, .reps = p.reps},
                             dp::graph::mlp_flops(spec) / p.median_ns, "GFLOP/s");
        if (std::string(torch_mode) == "eager") torch_ns[w] = p.median_ns;
      }
  }
  for (std::size_t d : dp::Sweep(ctx, fmt::format("depth (width {})", depth_width), doubling(1, max_depth),
                                 {.stops_early = false})) {
    const MlpSpec spec{.width = depth_width, .depth = d, .batch = depth_width, .seed = kSeed};
    for (Mode mode : modes) time_point(mode, spec, std::string(dp::graph::mode_name(mode)) + "/depth", "depth", double(d));
    if (torch)
      for (const auto& [torch_mode, series] :
           {std::pair{"eager", "torch-cpu/depth"}, std::pair{"jit", "torch-cpu-jit/depth"}}) {
        const auto it = torch->points.find({torch_mode, depth_width, d});
        if (it == torch->points.end()) continue;
        const TorchPoint& p = it->second;
        ctx.result.add_point(series, "depth", double(d),
                             dp::Stats{.median_ns = p.median_ns, .p10_ns = p.p10_ns, .p90_ns = p.p90_ns,
                                       .min_ns = p.p10_ns, .reps = p.reps},
                             dp::graph::mlp_flops(spec) / p.median_ns, "GFLOP/s");
      }
  }

  // 4. Ratios, plots, notes.
  std::vector<std::string> width_series, depth_series;
  for (Mode m : modes) {
    width_series.push_back(dp::graph::mode_name(m));
    depth_series.push_back(std::string(dp::graph::mode_name(m)) + "/depth");
  }
  if (torch) {
    width_series.insert(width_series.end(), {"torch-cpu", "torch-cpu-jit"});
    depth_series.insert(depth_series.end(), {"torch-cpu/depth", "torch-cpu-jit/depth"});
    ctx.log << fmt::format("cpu-fused vs PyTorch {} CPU eager (its best of 1..{} threads), depth {}:\n",
                           torch->version, ctx.machine.threads, depth);
    for (const auto& [w, ours] : fused_ns) {
      if (!torch_ns.count(w)) continue;
      const double speedup = torch_ns[w] / ours;
      ctx.log << fmt::format("  width {:5}: ours {:10.1f} us, PyTorch {:10.1f} us: ours / PyTorch = {:.3f} "
                             "({:.2f}x {})\n",
                             w, ours * 1e-3, torch_ns[w] * 1e-3, ours / torch_ns[w],
                             speedup >= 1 ? speedup : 1 / speedup, speedup >= 1 ? "faster" : "slower");
      if (w == 4 || w == 64 || w == 128 || w == 256 || w == 1024 || w == cpu_max_width)
        ctx.result.headlines.push_back({fmt::format("cpu-fused vs PyTorch eager at width {}", w),
                                        fmt::format("{:.2f}x faster", speedup)});
    }
    ctx.result.notes.push_back(
        "Targets (2-core CPU): cpu-fused >= 1.5x faster than PyTorch CPU eager at widths <= 128, "
        ">= 1.0x at widths 256-1024; the ratios are in the log and the headlines.");
  } else {
    ctx.log << "PyTorch not run: no cpu-fused / PyTorch ratios (see the notes).\n";
  }
  const auto gpu_ratio = [&](std::size_t w, const char* a, const char* b) -> std::optional<double> {
    const dp::Point* pa = ctx.result.point_at(a, double(w));
    const dp::Point* pb = ctx.result.point_at(b, double(w));
    if (!pa || !pb || pa->median_ns <= 0 || pb->median_ns <= 0) return std::nullopt;
    return pa->median_ns / pb->median_ns;
  };
  if (gpu.available()) {
    if (const auto r = gpu_ratio(32, "gpu-immediate", "gpu-graph-loop"))
      ctx.result.headlines.push_back({fmt::format("gpu-graph-loop vs gpu-immediate at width 32, depth {}", depth),
                                      fmt::format("{:.1f}x faster", *r)});
    if (const auto r = gpu_ratio(32, "gpu-graph-loop", "gpu-compiled"))
      ctx.result.headlines.push_back({fmt::format("gpu-compiled vs gpu-graph-loop at width 32, depth {}", depth),
                                      fmt::format("{:.1f}x faster", *r)});
  }
  for (const auto& [series, x] : over_budget)
    ctx.result.notes.push_back(fmt::format("{} stopped at {:g} (measured once there): one pass took longer than "
                                           "gpu-budget ({:g} s) on this device.",
                                           series, x, gpu_budget));
  ctx.result.notes.push_back(fmt::format(
      "Our CPU modes use {} threads; GPU times include uploading x and downloading the result.",
      dp::tensor::max_threads()));
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "width", .title = fmt::format("One forward pass, depth {}, batch = width", depth),
      .xlabel = "width (tensors are width x width)", .ylabel = "ns per pass", .y = dp::PlotSpec::Y::time,
      .logx = true, .logy = true, .variants = width_series, .markers = {}});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "depth", .title = fmt::format("One forward pass, width {}", depth_width), .xlabel = "depth (layers)",
      .ylabel = "ns per pass", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true,
      .variants = depth_series, .markers = {}});
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "graph-modes",
             .title = "Building a computational graph: every way to run it, side by side",
             .module = 1,
             .level = 3,
             .tracks = {},
             .question = "What does each way of running a network cost, from one op at a time to one "
                         "generated kernel, on the CPU and the GPU?",
             .guide_page = "m1/graph-modes.md",
             .source = "src/labs/m1/graph_modes.cpp",
             .requires_gpu = {},
             .uses_gpu_if_present = true},
    .params = {dp::ParamSpec::integer("depth", "layers in the width sweep", 64, 4, 1, 1024),
               dp::ParamSpec::integer("max-width", "width sweep 4, 8, ... up to this, every mode", 256, 16, 4, 4096),
               dp::ParamSpec::integer("cpu-max-width", "CPU modes and PyTorch continue up to this width", 1024, 16,
                                      4, 4096),
               dp::ParamSpec::integer("depth-width", "width of the depth sweep", 256, 8, 1, 4096),
               dp::ParamSpec::integer("max-depth", "depth sweep 1, 2, 4, ... up to this", 256, 2, 1, 1024),
               dp::ParamSpec::real("gpu-budget", "seconds one pass may take before a GPU mode stops growing", 3.0,
                                   0.5, 0.01, 600),
               dp::ParamSpec::choice("gpu", "run the GPU modes where a Vulkan device exists", {"auto", "off"}, "auto"),
               dp::ParamSpec::choice("torch", "run the PyTorch peer where python3 can import torch", {"auto", "off"},
                                     "auto")},
    .run = run,
});
