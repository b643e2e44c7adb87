// quantization.cpp — an int8 linear layer: how much faster than fp32, and how much less exact?
//
// What:
//   1. accuracy: a layer y = x · Wᵀ + b quantized to int8 with one weight scale for the whole
//      tensor, then with one per output channel (row of W), against the exact product (double).
//      The rows of W differ in size, as trained layers' channels do, which is where per-channel
//      scales pay: a small row no longer shares the large rows' coarse grid.
//   2. speed, square n x n x n: our fp32 GEMM (src/tensor/gemm.cpp) against int8 GEMMs on every
//      integer dot-product instruction this CPU has (AVX512-VNNI, AVX-VNNI, AVX2; asked at run
//      time; AMX tiles where the CPU has them), first on inputs already quantized ("GEMM"), then with the input quantized per batch
//      at run time ("dynamic", what inference does), and the plain loops the compiler vectorizes.
//   3. the peer: PyTorch's fp32 Linear and its quantize_dynamic int8 Linear, same shapes, in the
//      same run (bench/peers/torch_quantized.py), and the batch-M layer as its own headline.
// Run:  dontpanic run quantization     dontpanic run quantization --quick
// Checks: every int8 kernel equals the plain-loop reference exactly, at the sweep's sizes and at
// odd ones (integer sums have no rounding to differ in); every int8 output lies within the bound
// that rounding the inputs and weights allows (quantize.hpp: error_bound); per-channel is no
// worse than per-tensor.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "labs/peer_output.hpp"
#include "core/lab.hpp"
#include "core/machine.hpp"
#include "core/portability.hpp"
#include "core/process.hpp"
#include "core/source_tree.hpp"
#include "core/sweep.hpp"
#include "tensor/quant/int8_amx.hpp"
#include "tensor/quant/int8_kernels.hpp"
#include "tensor/quant/int8_layout.hpp"
#include "tensor/quant/quantize.hpp"
#include "tensor/gemm.hpp"
#include "tensor/tensor.hpp"

namespace {

using dp::quant::Granularity;
using dp::quant::Isa;
using dp::tensor::ConstView;
using dp::tensor::Tensor2D;

// A layer whose rows (output channels) differ in size: row r is scaled by 2^-(r mod 8), so the
// largest and smallest rows differ 128-fold. Inputs are uniform in [-1, 1).
struct Layer {
  Tensor2D<float> w, x;
  std::vector<float> bias;
};
Layer make_layer(std::size_t m, std::size_t k, std::size_t n, std::uint64_t seed) {
  const float a = std::sqrt(6.0f / static_cast<float>(k));  // He-uniform
  Layer l{Tensor2D<float>::random(n, k, seed, -a, a), Tensor2D<float>::random(m, k, seed + 1), {}};
  for (std::size_t r = 0; r < n; ++r)
    for (float& v : l.w.row(r)) v = std::ldexp(v, -static_cast<int>(r % 8));
  const auto b = Tensor2D<float>::random(1, n, seed + 2, -0.1f, 0.1f);
  l.bias.assign(b.span().begin(), b.span().end());
  return l;
}

// The exact answer, in double.
Tensor2D<double> exact_output(const Layer& l) {
  Tensor2D<double> y(l.x.rows(), l.w.rows());
  for (std::size_t r = 0; r < l.x.rows(); ++r)
    for (std::size_t c = 0; c < l.w.rows(); ++c) {
      double s = l.bias[c];
      for (std::size_t i = 0; i < l.x.cols(); ++i) s += double(l.x(r, i)) * l.w(c, i);
      y(r, c) = s;
    }
  return y;
}

// The instruction sets this CPU runs, best first; --param amx=off leaves AMX out.
std::vector<Isa> isas_here(const dp::LabContext& ctx) {
  std::vector<Isa> found;
  for (Isa isa : dp::quant::kAllIsas)
    if (dp::quant::cpu_has(isa) && !(isa == Isa::amx_int8 && ctx.params.text("amx") == "off")) found.push_back(isa);
  return found;
}

std::string variant_name(Isa isa, const char* what) { return fmt::format("int8 {} {}", what, dp::quant::isa_name(isa)); }

// ---------------------------------------------------------------------------------------------
// 1. Accuracy
// ---------------------------------------------------------------------------------------------

void measure_accuracy(dp::LabContext& ctx, std::size_t m, std::size_t k, std::size_t n) {
  const Layer l = make_layer(m, k, n, 1000 + m);
  const Tensor2D<double> want = exact_output(l);
  double largest = 0;
  for (double v : want.span()) largest = std::max(largest, std::fabs(v));
  dp::quant::QuantizedInput qx;
  dp::quant::quantize_input(l.x.const_view(), qx);
  double error_of[2] = {0, 0};
  for (Granularity g : {Granularity::per_tensor, Granularity::per_channel}) {
    const char* name = g == Granularity::per_tensor ? "per-tensor" : "per-channel";
    const auto qw = dp::quant::quantize_weights(l.w.const_view(), g);
    Tensor2D<float> y(m, n);
    dp::quant::linear_int8_reference(qx, qw, l.bias, y.view());
    std::size_t outside = 0;
    double worst = 0, worst_small_row = 0;
    for (std::size_t r = 0; r < m; ++r)
      for (std::size_t c = 0; c < n; ++c) {
        const double err = std::fabs(y(r, c) - want(r, c));
        const double bound = dp::quant::error_bound(l.x.const_view(), l.w.const_view(), qw, qx.scale, r, c);
        outside += err > bound * (1 + 1e-5) + 1e-6 * std::fabs(want(r, c));  // + float rounding
        worst = std::max(worst, err);
        if (c % 8 == 7) worst_small_row = std::max(worst_small_row, err);
      }
    error_of[g == Granularity::per_channel] = worst;
    ctx.result.add_check(fmt::format("{}: every output within the rounding bound", name), outside == 0,
                         fmt::format("{} of {} outputs outside it", outside, m * n));
    ctx.result.headlines.push_back(
        {fmt::format("max |error|, {} weight scales", name),
         fmt::format("{:.2e} ({:.3f}% of max |y|); on the smallest rows {:.2e}", worst, 100 * worst / largest,
                     worst_small_row)});
  }
  ctx.result.add_check("per-channel scales no worse than per-tensor", error_of[1] <= error_of[0],
                       fmt::format("max |error| {:.3e} per-channel, {:.3e} per-tensor", error_of[1], error_of[0]));
}

// ---------------------------------------------------------------------------------------------
// 2. Speed, and the exact-agreement checks
// ---------------------------------------------------------------------------------------------

struct Timed {
  std::string variant;
  dp::Stats stats;
};

// Every variant on one m x k x n layer; each int8 kernel's output is checked against the
// reference first (`checked` collects mismatches as "variant at shape").
std::vector<Timed> time_layer(dp::LabContext& ctx, std::size_t m, std::size_t k, std::size_t n,
                              std::vector<std::string>& mismatches, bool time_reference) {
  const Layer l = make_layer(m, k, n, 2000 + m + n);
  const auto qw = dp::quant::quantize_weights(l.w.const_view(), Granularity::per_channel);
  dp::quant::QuantizedInput qx;
  dp::quant::quantize_input(l.x.const_view(), qx);
  Tensor2D<float> want(m, n), got(m, n);
  dp::quant::linear_int8_reference(qx, qw, l.bias, want.view());
  const std::string shape = fmt::format("{}x{}x{}", m, k, n);
  std::vector<Timed> out;

  const dp::tensor::PackedLinear fp32(l.w.const_view(), l.bias);
  out.push_back({"fp32 (our GEMM)", ctx.measure("fp32/" + shape, [&] { dp::tensor::linear(l.x.const_view(), fp32, got.view()); })});
  for (Isa isa : isas_here(ctx)) {
    const auto packed = dp::quant::pack_weights(isa, qw, l.bias);
    dp::quant::PackedInput px;
    dp::quant::quantize_input(isa, l.x.const_view(), px);
    std::fill(got.span().begin(), got.span().end(), 0.0f);
    dp::quant::linear_int8(px, packed, got.view());
    if (!std::equal(got.span().begin(), got.span().end(), want.span().begin()))
      mismatches.push_back(fmt::format("{} at {}", dp::quant::isa_name(isa), shape));
    out.push_back({variant_name(isa, "GEMM"), ctx.measure(fmt::format("int8-gemm-{}/{}", dp::quant::isa_name(isa), shape),
                                                          [&] { dp::quant::linear_int8(px, packed, got.view()); })});
    out.push_back({variant_name(isa, "dynamic"),
                   ctx.measure(fmt::format("int8-dynamic-{}/{}", dp::quant::isa_name(isa), shape), [&] {
                     dp::quant::quantize_input(isa, l.x.const_view(), px);
                     dp::quant::linear_int8(px, packed, got.view());
                   })});
  }
  if (time_reference)
    out.push_back({"int8 plain loops (1 thread)",
                   ctx.measure("int8-plain/" + shape, [&] { dp::quant::linear_int8_reference(qx, qw, l.bias, got.view()); })});
  return out;
}

// Shapes whose every edge is ragged: rows not a multiple of MR, K not of 4, N not of NR.
void check_odd_shapes(const dp::LabContext& ctx, std::vector<std::string>& mismatches) {
  for (const auto& [m, k, n] : {std::tuple{1, 1, 1}, {13, 37, 45}, {9, 130, 33}, {7, 5, 100}}) {
    std::vector<std::string> local;
    const Layer l = make_layer(m, k, n, 77 + k);
    const auto qw = dp::quant::quantize_weights(l.w.const_view(), Granularity::per_tensor);
    dp::quant::QuantizedInput qx;
    dp::quant::quantize_input(l.x.const_view(), qx);
    Tensor2D<float> want(m, n), got(m, n);
    dp::quant::linear_int8_reference(qx, qw, l.bias, want.view());
    for (Isa isa : isas_here(ctx)) {
      dp::quant::PackedInput px;
      dp::quant::quantize_input(isa, l.x.const_view(), px);
      dp::quant::linear_int8(px, dp::quant::pack_weights(isa, qw, l.bias), got.view());
      if (!std::equal(got.span().begin(), got.span().end(), want.span().begin()))
        mismatches.push_back(fmt::format("{} at {}x{}x{}", dp::quant::isa_name(isa), m, k, n));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 3. The PyTorch peer
// ---------------------------------------------------------------------------------------------

struct TorchPoint {
  dp::Stats stats;
  int threads = 0;
  std::string engine;
  double error = 0;
};
struct TorchRun {
  std::string version;
  std::map<std::tuple<std::string, std::size_t, std::size_t, std::size_t>, TorchPoint> best;  // (mode, m, k, n)
};

std::optional<TorchRun> run_torch(dp::LabContext& ctx, const std::vector<std::array<std::size_t, 3>>& shapes) {
  const auto python = dp::find_python_with_torch();
  if (!python) {
    ctx.result.notes.push_back("PyTorch skipped: no python3 here can import torch (Debian: apt install python3-torch libopenblas0-pthread).");
    return std::nullopt;
  }
  std::string list;
  for (const auto& s : shapes) list += fmt::format("{}{}x{}x{}", list.empty() ? "" : ",", s[0], s[1], s[2]);
  const std::vector<std::string> argv = {
      python->interpreter, (dp::source_dir() / "bench" / "peers" / "torch_quantized.py").string(), "--shapes", list,
      "--reps", std::to_string(std::max(3, ctx.measure_config.repetitions)),
      "--min-time", fmt::format("{}", ctx.measure_config.min_seconds)};
  ctx.log << fmt::format("PyTorch {} ({}): {} shapes, fp32 and quantize_dynamic int8, threads 1..{}\n",
                         python->torch_version, python->interpreter, shapes.size(), ctx.machine.threads);
  const auto proc = dp::run_process(argv, {}, 1800);
  nlohmann::json j;
  try {
    j = dp::labs::peer_json(proc.output);  // its last line: warnings may come before
  } catch (const std::exception&) {
    ctx.result.notes.push_back(fmt::format("PyTorch skipped: torch_quantized.py exited with {}{}: {}", proc.exit_code,
                                           proc.timed_out ? " (timed out)" : "", proc.output.substr(0, 300)));
    return std::nullopt;
  }
  TorchRun run{.version = j.value("torch", "")};
  for (const auto& p : j["results"]) {
    const auto key = std::tuple{p["mode"].get<std::string>(), p["m"].get<std::size_t>(), p["k"].get<std::size_t>(),
                                p["n"].get<std::size_t>()};
    const double ns = p["median_ns"];
    if (run.best.count(key) && run.best[key].stats.median_ns <= ns) continue;  // keep the best engine
    run.best[key] = {dp::Stats{.median_ns = ns, .p10_ns = p["p10_ns"], .p90_ns = p["p90_ns"], .min_ns = p["p10_ns"],
                               .reps = p["reps"]},
                     p["threads"], p["engine"], p["max_rel_error"]};
  }
  for (const auto& s : j["skipped"])
    ctx.result.notes.push_back(fmt::format("PyTorch {} skipped: {}", s["mode"].get<std::string>(), s["reason"].get<std::string>()));
  ctx.result.notes.push_back(fmt::format("PyTorch {}: quantized engines {}; each point is its best engine and thread count.",
                                         run.version, j["engines"].dump()));
  return run;
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  const auto max_n = static_cast<std::size_t>(ctx.params.integer("max-size"));
  const auto batch = static_cast<std::size_t>(ctx.params.integer("batch"));
  const auto features = static_cast<std::size_t>(ctx.params.integer("features"));

  std::string have;
  for (Isa isa : dp::quant::kAllIsas)
    have += fmt::format("{}{} {}", have.empty() ? "" : ", ", dp::quant::isa_name(isa), dp::quant::cpu_has(isa) ? "yes" : "no");
  ctx.result.headlines.push_back({"int8 instructions on this CPU", have});
  if (isas_here(ctx).empty())
    ctx.result.notes.push_back("This CPU has none of AMX-int8, AVX512-VNNI, AVX-VNNI or AVX2: only the plain-loop int8 variant runs.");
#if DP_INT8_X86
  if (__builtin_cpu_supports("amx-int8") && !dp::quant::amx_permitted())
    ctx.result.notes.push_back("This CPU has AMX-int8, but Linux refused the tile state (arch_prctl): the AMX kernel is skipped.");
#endif

  ctx.log << fmt::format("  accuracy: {} x {} layer, batch {}\n", features, features, batch);
  measure_accuracy(ctx, batch, features, features);

  std::vector<std::string> mismatches;
  check_odd_shapes(ctx, mismatches);
  std::vector<std::array<std::size_t, 3>> torch_shapes;
  std::vector<std::size_t> sizes;
  for (std::uint64_t n : dp::geometric_sizes(std::min<std::size_t>(128, max_n), max_n, 2)) sizes.push_back(n);
  for (std::size_t n : sizes) torch_shapes.push_back({n, n, n});
  torch_shapes.push_back({batch, features, features});
  std::optional<TorchRun> torch;
  if (ctx.params.text("torch") == "auto") torch = run_torch(ctx, torch_shapes);

  std::map<std::string, std::map<std::size_t, double>> ns_at;  // variant -> n -> median ns
  for (const auto& [m, k, n] : torch_shapes) {
    const bool square = m == k && k == n;
    ctx.log << fmt::format("  {}x{}x{}\n", m, k, n);
    const double ops = 2.0 * double(m) * double(k) * double(n);
    std::vector<Timed> timed = time_layer(ctx, m, k, n, mismatches, /*time_reference=*/square);
    if (torch)
      for (const char* mode : {"fp32", "int8"})
        if (auto it = torch->best.find({mode, m, k, n}); it != torch->best.end())
          timed.push_back({fmt::format("PyTorch {}", mode == std::string("fp32") ? "fp32" : "int8 dynamic"), it->second.stats});
    const std::string x_name = square ? "n" : "batch";
    const std::string suffix = square ? "" : fmt::format(" (batch x {} x {})", k, n);
    for (const Timed& t : timed) {
      ctx.result.add_point(t.variant + suffix, x_name, double(square ? n : m), t.stats, ops / t.stats.median_ns, "GOP/s");
      ns_at[t.variant + suffix][square ? n : 0] = t.stats.median_ns;
    }
  }
  ctx.result.add_check("every int8 kernel equals the plain-loop reference exactly", mismatches.empty(),
                       mismatches.empty() ? "sweep sizes and odd shapes" : fmt::format("differs: {}", fmt::join(mismatches, "; ")));

  // Headlines: the best int8 kernel against fp32 and against PyTorch.
  const auto isas = isas_here(ctx);
  if (!isas.empty()) {
    const std::string best_gemm = variant_name(isas.front(), "GEMM"), best_dyn = variant_name(isas.front(), "dynamic");
    const std::size_t at = ns_at["fp32 (our GEMM)"].count(1024) ? 1024 : sizes.back();
    ctx.result.headlines.push_back({fmt::format("int8 GEMM vs our fp32 GEMM, n = {}", at),
                                    fmt::format("{:.2f}x ({})", ns_at["fp32 (our GEMM)"][at] / ns_at[best_gemm][at],
                                                dp::quant::isa_name(isas.front()))});
    const std::string suffix = fmt::format(" (batch x {} x {})", features, features);
    const double ours = ns_at[best_dyn + suffix][0];
    ctx.result.headlines.push_back({fmt::format("int8 dynamic linear, batch {} x {} x {}", batch, features, features),
                                    fmt::format("{:.1f} us ours; fp32 {:.1f} us", ours * 1e-3, ns_at["fp32 (our GEMM)" + suffix][0] * 1e-3)});
    if (torch && torch->best.count({"int8", batch, features, features})) {
      const TorchPoint& p = torch->best[{"int8", batch, features, features}];
      ctx.result.headlines.push_back({"vs PyTorch quantize_dynamic, same layer",
                                      fmt::format("{:.2f}x (PyTorch {:.1f} us, engine {}, {} threads; its max error {:.2e} of max |y|)",
                                                  p.stats.median_ns / ours, p.stats.median_ns * 1e-3, p.engine, p.threads, p.error)});
    }
  }
  std::vector<std::string> square_variants;
  for (const auto& s : ctx.result.series)
    if (s.variant.find("(batch") == std::string::npos) square_variants.push_back(s.variant);
  ctx.result.plots.push_back(dp::PlotSpec{.name = "speed", .title = "n x n x n linear layer: fp32 against int8",
                                          .xlabel = "n", .ylabel = "GOP/s (2 n^3 multiply-adds per second)",
                                          .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true,
                                          .variants = square_variants});
  ctx.result.notes.push_back(fmt::format("Our fp32 GEMM and int8 kernels use up to {} threads, split by rows; the plain loops use one.",
                                         dp::tensor::max_threads()));
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times mean nothing here, only the checks do.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "quantization",
             .title = "Quantization: an int8 linear layer against fp32 and PyTorch",
             .module = 3,
             .level = 3,
             .tracks = {"dl"},
             .question = "What does int8 buy a linear layer in speed, and what does it cost in accuracy?",
             .guide_page = "m3/quantization.md",
             .source = "src/labs/m3/quantization.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("max-size", "largest n of the n x n x n sweep (from 128, doubling)", 1024, 256, 1, 8192),
               dp::ParamSpec::integer("batch", "rows of the batch layer (the PyTorch comparison)", 256, 64, 1, 65536),
               dp::ParamSpec::integer("features", "inputs and outputs of the batch layer", 1024, 256, 1, 16384),
               dp::ParamSpec::choice("torch", "run the PyTorch peer where python3 can import torch", {"auto", "off"}, "auto"),
               dp::ParamSpec::choice("amx", "use AMX tiles where the CPU has them (off: the vector kernels only)", {"auto", "off"}, "auto")},
    .run = run,
});
