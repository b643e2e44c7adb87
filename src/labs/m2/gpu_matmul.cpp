// gpu-matmul — How close to the GPU's peak can a hand-written matrix multiply get?
//
// C = A * B for square n x n fp32 matrices (2n^3 FLOPs, 12n^2 bytes at the very least), climbing
// the classic ladder one idea at a time (shaders in shaders/matmul/):
//   naive             one thread per C element, threads walk down columns: uncoalesced
//   coalesced         the same, threads walk along rows: neighbouring threads, neighbouring bytes
//   shared-tiled      16 x 16 tiles of A and B staged in shared memory: 16x less global traffic
//   register-blocked  each thread computes an 8 x 8 block of C in registers (2D blocktiling)
//   vectorized        + 16-byte loads, conflict-free shared reads, next tile prefetched
// On a real GPU the register-blocked and vectorized variants try a few tile shapes first (at
// n >= 1024) and keep the fastest (the note names it). GFLOP/s and percent of the device's fp32
// peak are reported. The next step, tensor cores (fp16 inputs through cooperative matrices), is a
// lab of its own: gpu-coopmat (src/labs/m3/gpu_coopmat.cpp), which shares this lab's kernels.
//
//   dontpanic run gpu-matmul                 n = 128 ... 4096 on a GPU, ... 512 on lavapipe
//   dontpanic run gpu-matmul --quick         n = 128 (256 on a GPU)
//   --param max-n=2048 --param peak-gflops=66900
#if defined(DP_HAVE_GPU)

#include <algorithm>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/sweep.hpp"
#include "gpu/gpu.hpp"
#include "labs/gpu_lab.hpp"
#include "labs/m2/gpu_matmul_kernels.hpp"  // Variant, Config, vectorized_configs, Runner, reference_rows

namespace {

using namespace dp::gpu;
using namespace dp::gpu::matmul;

// ---------------------------------------------------------------------------------------------
// The variants
// ---------------------------------------------------------------------------------------------

// Each variant is a shader plus its launch shape; tile shapes are #defines (gpu_matmul_kernels.hpp).
std::vector<Variant> fp32_ladder() {
  return {
      {"naive", "matmul/naive.comp", {{{}, 16, 16, "16x16 threads"}}},
      {"coalesced", "matmul/coalesced.comp", {{{}, 16, 16, "16x16 threads"}}},
      {"shared-tiled", "matmul/tiled.comp", {{{{"T", "16"}}, 16, 16, "T=16"}}},
      {"register-blocked", "matmul/regblock.comp",
       {blocked(64, 64, 8, 8, 8), blocked(128, 128, 8, 8, 8), blocked(128, 64, 8, 8, 8), blocked(64, 64, 16, 4, 4)}},
      {"vectorized", "matmul/vec4.comp", vectorized_configs()},
  };
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  auto device_owner = open_lab_device(ctx, {.timestamps = true});
  Device& device = *device_owner;
  const DeviceReport& report = device.report();
  const bool on_cpu = device.is_cpu();
  long long max_n = ctx.params.integer("max-n");
  if (max_n == 0) max_n = ctx.quick ? (on_cpu ? 128 : 256) : (on_cpu ? 512 : 4096);
  if (max_n % 128 != 0)
    throw dp::Error(fmt::format("max-n={} is not a multiple of 128 (the largest tile); use e.g. {}", max_n,
                                (max_n / 128 + 1) * 128));
  const bool tune = !on_cpu && !ctx.quick;
  const dp::PeakFlops peak = device_peak(report, ctx.machine, ctx.params.real("peak-gflops"));
  const std::vector<Variant> variants = fp32_ladder();

  // One binding must see a whole matrix: a size the device cannot bind is capped (to a multiple of 128).
  max_n = cap_to_device(ctx, report, "max-n", max_n, 128, 3,
                        [](long long n) { return static_cast<std::uint64_t>(n * n) * 4; });
  std::vector<std::uint32_t> sizes;
  for (long long n = 128; n <= max_n; n *= 2) sizes.push_back(static_cast<std::uint32_t>(n));
  if (sizes.back() != max_n) sizes.push_back(static_cast<std::uint32_t>(max_n));

  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<std::string> failures;
  Runner runner(device, ctx, tune);
  int checked = 0;

  for (std::uint32_t n : dp::Sweep(ctx, "n =", sizes, {.weight = [](std::uint64_t n) { return double(n * n * n); }})) {
    const std::size_t nn = std::size_t{n} * n;
    std::vector<float> a(nn), b(nn);
    for (auto& x : a) x = dist(rng);
    for (auto& x : b) x = dist(rng);
    // The rows we check: all of them up to n = 512, else 32 random rows (a full double-precision
    // reference at n = 4096 would take a CPU minute).
    std::vector<std::size_t> rows;
    if (n <= 512) for (std::size_t r = 0; r < n; ++r) rows.push_back(r);
    else for (int r = 0; r < 32; ++r) rows.push_back(std::uniform_int_distribution<std::size_t>(0, n - 1)(rng));
    const auto want = reference_rows(a, b, n, rows);

    Buffer ga(device, nn * 4), gb(device, nn * 4), gc(device, nn * 4);
    ga.upload(a);
    gb.upload(b);
    const Buffers io{ga, gb, gc};
    const double flops = 2.0 * n * n * static_cast<double>(n);

    for (const Variant& v : variants) {
      const auto chosen = runner.choose(v, n, io);
      if (!chosen) continue;

      // Check first: the rows we have a reference for. fp32 accumulation of n products of values
      // in [-1, 1] errs by ~1e-7 * n at worst in practice; a wrong kernel errs by ~1.
      const auto once = runner.run_once(v, *chosen, n, io);
      std::vector<float> got(rows.size() * n);
      for (std::size_t r = 0; r < rows.size(); ++r)
        std::copy_n(once.c.begin() + static_cast<std::ptrdiff_t>(rows[r] * n), n,
                    got.begin() + static_cast<std::ptrdiff_t>(r * n));
      const dp::Tolerance tol{1e-6 * n, 1e-4};
      const auto r = dp::compare(std::span<const float>(got), std::span<const double>(want), tol);
      ++checked;
      if (!r.passed) failures.push_back(fmt::format("{} at n={}: {}", v.name, n, r.detail));

      // Then time it, on the GPU clock.
      const dp::Stats s = runner.time(v, *chosen, n, io, once.gpu_ns);
      ctx.result.add_point(v.name, "n", n, s, flops / s.median_ns, "GFLOP/s");
    }
  }
  const std::size_t max_rows = sizes.back() <= 512 ? sizes.back() : 32;
  ctx.result.add_check("every variant matches the double-precision reference", failures.empty(),
                       failures.empty()
                           ? fmt::format("{} runs agree within abs 1e-6*n + rel 1e-4 (fp32 accumulation); "
                                         "checked rows: all up to n = 512, else 32 random rows ({} at n = {})",
                                         checked, max_rows, sizes.back())
                           : fmt::format("{} of {} runs differ; first: {}", failures.size(), checked, failures.front()));

  // Key figures at the largest n: GFLOP/s and percent of the fp32 peak, per variant.
  for (const Variant& v : variants) {
    const auto* s = ctx.result.find_series(v.name);
    if (!s || s->points.empty()) continue;
    const auto& p = s->points.back();
    ctx.result.headlines.push_back(
        {fmt::format("{} at n = {:g}", v.name, p.x),
         peak.fp32_gflops > 0
             ? fmt::format("{:.3g} GFLOP/s, {:.1f}% of fp32 peak", p.throughput, 100 * p.throughput / peak.fp32_gflops)
             : fmt::format("{:.3g} GFLOP/s", p.throughput)});
  }
  ctx.result.notes.push_back(fmt::format("peak: {:.0f} GFLOP/s fp32 ({})", peak.fp32_gflops, peak.source));
  for (const auto& t : runner.tuned()) ctx.result.notes.push_back("tuned tile shape, " + t);
  if (!tune) ctx.result.notes.push_back("tile shapes not tuned (quick mode or a CPU device): the first candidate is used");
  ctx.result.notes.push_back("tensor cores (fp16 and bf16 inputs, cooperative matrices) have a lab of their own: "
                             "dontpanic run gpu-coopmat");
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "gflops", .title = "Matrix multiply: the optimisation ladder", .xlabel = "n (M = N = K)",
      .ylabel = "GFLOP/s (2n^3 / GPU time)", .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true});
  add_validation_check(device, ctx);
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "gpu-matmul",
             .title = "GPU matrix multiply: from naive to the fp32 peak",
             .module = 2,
             .level = 3,
             .tracks = {},
             .question = "How close to the GPU's peak can a hand-written matrix multiply get?",
             .guide_page = "m2/gpu-matmul.md",
             .source = "src/labs/m2/gpu_matmul.cpp",
             .requires_gpu = dp::gpu::kAnyVulkanDevice},
    .params = {dp::ParamSpec::integer("max-n", "largest matrix size, a multiple of 128 (0 = 4096 on a GPU, "
                                               "512 on a CPU device)", 0, 0, 0, 16384),
               dp::ParamSpec::real("peak-gflops", "the device's fp32 peak in GFLOP/s (0 = known or estimated)", 0, 0,
                                   0, 1e7)},
    .run = run,
});

#endif  // DP_HAVE_GPU
