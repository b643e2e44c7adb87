// graph-immediate — Where does the time go when a GPU runs a network one op at a time?
//
// What: the lab MLP (graph/mlp.hpp; batch = width) on the GPU, op by op, three ways, next to the
//   CPU doing the same op by op:
//     gpu-immediate     each op: upload its inputs (weights too), build its pipeline, record,
//                       submit, wait, download its result: what a naive op-at-a-time GPU library does
//     gpu-graph         weights and activations stay on the GPU; each op still builds its
//                       pipeline and waits for its own submit
//     gpu-graph-cached  pipelines built once; each op: record, submit, wait
//     cpu-immediate     the CPU, op by op (graph/cpu_runner.cpp)
//   and, to see where gpu-immediate's time goes, each of its per-op costs on its own for one
//   linear layer (series "cost: ..."): upload of x, W and b; building the pipeline; submit+wait
//   of the one dispatch; download of the result; and the GPU's own time for the dispatch (its
//   timestamps), which is all the work the op really needed.
// Run:  dontpanic run graph-immediate           (widths 4 .. 256, depth 16)
//       dontpanic run graph-immediate --quick   (widths 4 .. 16, depth 2)
#if defined(DP_HAVE_GPU)

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/sweep.hpp"
#include "gpu/gpu.hpp"
#include "graph/gpu_runner.hpp"
#include "graph/mlp.hpp"
#include "graph/mode_check.hpp"
#include "graph/runner.hpp"
#include "labs/gpu_lab.hpp"
#include "tensor/reference.hpp"

namespace {

using dp::graph::Graph;
using dp::graph::MlpSpec;
using dp::graph::Mode;
using dp::tensor::Tensor2D;
using namespace dp::gpu;

const std::vector<Mode> kModes = {Mode::cpu_immediate, Mode::gpu_immediate, Mode::gpu_graph,
                                  Mode::gpu_graph_cached};

// ---------------------------------------------------------------------------------------------
// The variants: one linear layer, taken apart into what gpu-immediate pays for it
// ---------------------------------------------------------------------------------------------

struct LayerOnGpu {
  Buffer x, w, b, y;  // x: width x width, W: width x width, b: width, y: width x width
  LayerOnGpu(Device& d, std::size_t width)
      : x(d, width * width * 4), w(d, width * width * 4), b(d, width * 4), y(d, width * width * 4) {}
};

struct Push {
  std::uint32_t m, n, k;
};

KernelSpec linear_spec() {
  return {.source = builtin_shader("graph/linear.comp"), .buffers = 4, .push_bytes = 12, .specialization = {1},
          .required_subgroup_size = 0};
}

Groups linear_groups(std::size_t width) {
  return {groups_for(width, 16), groups_for(width, 16), 1};
}

// 1. Upload: three host -> GPU copies, each its own submit and wait (Buffer::upload blocks).
void upload_inputs(LayerOnGpu& l, const Tensor2D<float>& x, const Tensor2D<float>& w, const Tensor2D<float>& b) {
  l.x.upload(x.span());
  l.w.upload(w.span());
  l.b.upload(b.span());
}
// 2. The pipeline: shader module, layouts, pipeline (the SPIR-V itself comes from a cache).
void build_pipeline(Device& d) { const Kernel k(d, linear_spec()); }
// 3. Record one dispatch, submit, wait: the round trip every op pays.
void submit_and_wait(Sequence& seq, const Kernel& k, LayerOnGpu& l, std::size_t width) {
  const auto n = static_cast<std::uint32_t>(width);
  seq.begin().dispatch(k, {l.x, l.w, l.b, l.y}, linear_groups(width), Push{n, n, n}).end();
  seq.run();
}
// 4. Download: GPU -> host, one more submit and wait.
void download_result(LayerOnGpu& l, Tensor2D<float>& out) { l.y.download(out.span()); }

// ---------------------------------------------------------------------------------------------
// Reference and check
// ---------------------------------------------------------------------------------------------

void check_modes(dp::LabContext& ctx, Device& device, dp::graph::KernelCache& cache, const MlpSpec& spec) {
  const Tensor2D<float> x = dp::graph::mlp_input(spec);
  dp::graph::check_modes(dp::graph::build_mlp(spec), x, kModes, {.device = &device, .cache = &cache},
                         {.width = spec.width, .depth = spec.depth,
                          .label = fmt::format(" (width {}, depth {})", spec.width, spec.depth)},
                         ctx.result);
  // The taken-apart layer computes relu(x Wᵀ + b) too.
  LayerOnGpu l(device, spec.width);
  const auto w = Tensor2D<float>::random(spec.width, spec.width, 5), b = Tensor2D<float>::random(1, spec.width, 6);
  upload_inputs(l, x, w, b);
  Sequence seq(device, 2);
  const Kernel k(device, linear_spec());
  submit_and_wait(seq, k, l, spec.width);
  Tensor2D<float> y(spec.width, spec.width);
  download_result(l, y);
  const auto ref = dp::tensor::ref::linear_relu(dp::tensor::ref::cast<double>(x), dp::tensor::ref::cast<double>(w),
                                                dp::tensor::ref::cast<double>(b));
  const auto cmp = dp::compare(std::as_const(y).span(), ref.span(), dp::graph::forward_tolerance(spec.width, 1, dp::graph::max_abs(ref)));
  ctx.result.add_check(fmt::format("the taken-apart linear layer matches the reference (width {})", spec.width),
                       cmp.passed, cmp.detail);
}

// ---------------------------------------------------------------------------------------------
// run(): check, then time, then report
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  const auto depth = static_cast<std::size_t>(ctx.params.integer("depth"));
  const auto max_width = static_cast<std::size_t>(ctx.params.integer("max-width"));
  const double budget = ctx.params.real("gpu-budget");
  auto device = open_lab_device(ctx);
  dp::graph::KernelCache cache(*device);

  check_modes(ctx, *device, cache, {.width = 17, .depth = 2, .batch = 17, .seed = 1});
  add_validation_check(*device, ctx);
  if (!ctx.result.all_checks_passed()) return;

  const auto widths = dp::geometric_sizes(4, max_width, 2);
  std::map<std::string, bool> stopped;
  std::map<std::string, std::map<std::size_t, double>> ns;  // series -> width -> median

  auto timed = [&](const std::string& series, std::size_t width, double flops, const std::function<void()>& body) {
    if (stopped[series]) return;
    body();  // warm-up (a driver may compile on first use)
    const auto t0 = std::chrono::steady_clock::now();
    body();
    const double once = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    dp::Stats s;
    if (once > budget) {  // too slow to repeat on this device: one sample, then stop growing
      s = {.median_ns = once * 1e9, .p10_ns = once * 1e9, .p90_ns = once * 1e9, .min_ns = once * 1e9, .reps = 1};
      stopped[series] = true;
    } else {
      s = ctx.measure(fmt::format("{}/width={}", series, width), body);
    }
    ctx.result.add_point(series, "width", double(width), s, flops > 0 ? flops / s.median_ns : 0,
                         flops > 0 ? "GFLOP/s" : "");
    ns[series][width] = s.median_ns;
  };

  for (std::size_t width : dp::Sweep(ctx, "width", widths, {.stops_early = false})) {
    const MlpSpec spec{.width = width, .depth = depth, .batch = width, .seed = 1};
    const Graph g = dp::graph::build_mlp(spec);
    const Tensor2D<float> x = dp::graph::mlp_input(spec);
    for (Mode mode : kModes) {
      auto runner = dp::graph::make_runner(g, mode, {.device = device.get(), .cache = &cache});
      timed(dp::graph::mode_name(mode), width, dp::graph::mlp_flops(spec), [&] {
        runner->run(std::span(&x, 1));
        benchmark::DoNotOptimize(runner->output(0).data());
      });
    }
    // One layer, taken apart.
    LayerOnGpu l(*device, width);
    const auto w = Tensor2D<float>::random(width, width, 5), b = Tensor2D<float>::random(1, width, 6);
    Tensor2D<float> y(width, width);
    Sequence seq(*device, 4);
    const Kernel k(*device, linear_spec());
    timed("cost: upload x, W, b", width, 0, [&] { upload_inputs(l, x, w, b); });
    timed("cost: build pipeline", width, 0, [&] { build_pipeline(*device); });
    timed("cost: submit + wait", width, 0, [&] { submit_and_wait(seq, k, l, width); });
    timed("cost: download y", width, 0, [&] { download_result(l, y); });
    if (device->report().timestamps && !stopped["cost: GPU time of the dispatch"]) {
      const auto n = static_cast<std::uint32_t>(width);
      seq.begin();
      const std::uint32_t t0 = seq.timestamp();
      seq.dispatch(k, {l.x, l.w, l.b, l.y}, linear_groups(width), Push{n, n, n});
      const std::uint32_t t1 = seq.timestamp();
      seq.end();
      const dp::Stats s = gpu_time(seq, gpu_reps(ctx), t0, t1);
      ctx.result.add_point("cost: GPU time of the dispatch", "width", double(width), s,
                           2.0 * width * width * width / s.median_ns, "GFLOP/s");
      ns["cost: GPU time of the dispatch"][width] = s.median_ns;
    }
  }

  // Headlines: how many times the whole-pass time exceeds the work, at a small width.
  const std::size_t w0 = std::min<std::size_t>(32, max_width);
  if (ns["gpu-immediate"].count(w0) && ns["gpu-graph-cached"].count(w0))
    ctx.result.headlines.push_back({fmt::format("gpu-graph-cached vs gpu-immediate at width {}", w0),
                                    fmt::format("{:.1f}x faster", ns["gpu-immediate"][w0] / ns["gpu-graph-cached"][w0])});
  for (const char* part : {"cost: upload x, W, b", "cost: build pipeline", "cost: submit + wait", "cost: download y",
                           "cost: GPU time of the dispatch"})
    if (ns[part].count(w0))
      ctx.result.headlines.push_back({fmt::format("{} (one layer, width {})", part + 6, w0),
                                      fmt::format("{:.1f} us", ns[part][w0] * 1e-3)});
  for (const auto& [series, s] : stopped)
    if (s) ctx.result.notes.push_back(fmt::format("{} stopped growing: one pass took longer than gpu-budget ({:g} s).",
                                                  series, budget));
  ctx.result.notes.push_back(fmt::format(
      "Each mode runs {} layers ({} ops with the softmax); the 'cost:' series are for one linear layer.", depth,
      2 * depth + 1));
  std::vector<std::string> mode_names;
  for (Mode m : kModes) mode_names.push_back(dp::graph::mode_name(m));
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "modes", .title = fmt::format("One forward pass, op by op, depth {}", depth), .xlabel = "width",
      .ylabel = "ns per pass", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = mode_names,
      .markers = {}});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "costs", .title = "What one op costs gpu-immediate, piece by piece", .xlabel = "width",
      .ylabel = "ns per op", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true,
      .variants = {"cost: upload x, W, b", "cost: build pipeline", "cost: submit + wait", "cost: download y",
                   "cost: GPU time of the dispatch"},
      .markers = {}});
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "graph-immediate",
             .title = "Immediate GPU computation and its overhead",
             .module = 1,
             .level = 2,
             .tracks = {},
             .question = "Where does the time go when a GPU runs a network one op at a time?",
             .guide_page = "m1/graph-immediate.md",
             .source = "src/labs/m1/graph_immediate.cpp",
             .requires_gpu = dp::gpu::kAnyVulkanDevice},
    .params = {dp::ParamSpec::integer("depth", "linear+relu layers", 16, 2, 1, 256),
               dp::ParamSpec::integer("max-width", "widths 4, 8, ... up to this", 256, 16, 4, 4096),
               dp::ParamSpec::real("gpu-budget", "seconds one pass may take before a series stops growing", 3.0,
                                   0.5, 0.01, 600)},
    .run = run,
});

#endif  // DP_HAVE_GPU
