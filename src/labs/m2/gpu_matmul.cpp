// gpu-matmul — How close to the GPU's peak can a hand-written matrix multiply get?
//
// C = A * B for square n x n fp32 matrices (2n^3 FLOPs, 12n^2 bytes at the very least), climbing
// the classic ladder one idea at a time (shaders in shaders/matmul/):
//   naive             one thread per C element, threads walk down columns: uncoalesced
//   coalesced         the same, threads walk along rows: neighbouring threads, neighbouring bytes
//   shared-tiled      16 x 16 tiles of A and B staged in shared memory: 16x less global traffic
//   register-blocked  each thread computes an 8 x 8 block of C in registers (2D blocktiling)
//   vectorized        + 16-byte loads, conflict-free shared reads, next tile prefetched
//   coopmat-fp16      tensor cores via GL_NV_cooperative_matrix: fp16 in, fp32 accumulate
//                     (skipped, with the reason, where the device has no cooperative matrices)
// On a real GPU the register-blocked, vectorized and coopmat variants try a few tile shapes first
// (at n >= 1024) and keep the fastest (the note names it). GFLOP/s and percent of the device's peak are reported.
//
//   dontpanic run gpu-matmul                 n = 128 ... 4096 on a GPU, ... 512 on lavapipe
//   dontpanic run gpu-matmul --quick         n = 128 (256 on a GPU)
//   --param max-n=2048 --param peak-gflops=66900
#if defined(DP_HAVE_GPU)

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/peak.hpp"
#include "core/sweep.hpp"
#include "gpu/gpu.hpp"
#include "labs/gpu_lab.hpp"
#include "labs/m2/gpu_matmul_variants.hpp"
#include "tensor/half.hpp"

namespace {

using namespace dp::gpu;
using namespace dp::gpu::matmul;

// The variants (shader, #defines, launch shape per step of the ladder) are in
// labs/m2/gpu_matmul_variants.hpp, shared with the energy lab; the shaders in shaders/matmul/.

// ---------------------------------------------------------------------------------------------
// Device peak
// ---------------------------------------------------------------------------------------------

// Known datasheet peaks for data-centre GPUs we have measured on; a CPU estimate for lavapipe.
dp::PeakFlops device_peak(const DeviceReport& r, const dp::MachineInfo& machine, double override_gflops) {
  if (override_gflops > 0) return {override_gflops, override_gflops, "--param peak-gflops"};
  if (auto known = dp::known_gpu_peak(r.name)) return *known;
  if (r.type == "cpu")
    if (auto estimate = dp::estimated_cpu_peak(machine)) return *estimate;
  return {0, 0, "unknown for this device; give --param peak-gflops=..."};
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

  std::vector<Variant> variants = fp32_ladder();
  std::string coop_why;
  if (auto v = coopmat_variant(device, coop_why)) variants.push_back(*v);
  else ctx.result.notes.push_back("coopmat-fp16 skipped: " + coop_why + ".");

  // One binding must see a whole matrix: a size the device cannot bind is capped (to a multiple of 128).
  max_n = cap_to_device(ctx, report, "max-n", max_n, 128, 3,
                        [](long long n) { return static_cast<std::uint64_t>(n * n) * 4; });
  std::vector<std::uint32_t> sizes;
  for (long long n = 128; n <= max_n; n *= 2) sizes.push_back(static_cast<std::uint32_t>(n));
  if (sizes.back() != max_n) sizes.push_back(static_cast<std::uint32_t>(max_n));

  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<std::string> failures;
  std::vector<std::string> tuned;
  std::map<std::string, Kernel> kernels;
  int checked = 0;

  for (std::uint32_t n : dp::Sweep(ctx, "n =", sizes, {.weight = [](std::uint64_t n) { return double(n * n * n); }})) {
    const std::size_t nn = std::size_t{n} * n;
    std::vector<float> a(nn), b(nn);
    for (auto& x : a) x = dist(rng);
    for (auto& x : b) x = dist(rng);
    // fp16 copies for the tensor-core variant; its reference uses the rounded values.
    std::vector<std::uint16_t> a16(nn), b16(nn);
    std::vector<float> a16f(nn), b16f(nn);
    for (std::size_t i = 0; i < nn; ++i) {
      a16[i] = dp::tensor::to_half(a[i]), a16f[i] = dp::tensor::from_half(a16[i]);
      b16[i] = dp::tensor::to_half(b[i]), b16f[i] = dp::tensor::from_half(b16[i]);
    }
    // The rows we check: all of them up to n = 512, else 32 random rows (a full double-precision
    // reference at n = 4096 would take a CPU minute).
    std::vector<std::size_t> rows;
    if (n <= 512) for (std::size_t r = 0; r < n; ++r) rows.push_back(r);
    else for (int r = 0; r < 32; ++r) rows.push_back(std::uniform_int_distribution<std::size_t>(0, n - 1)(rng));
    const auto want32 = reference_rows(a, b, n, rows);
    std::vector<double> want16;

    Buffer ga(device, nn * 4), gb(device, nn * 4), gc(device, nn * 4);
    ga.upload(a);
    gb.upload(b);
    std::optional<Buffer> ga16, gb16;
    const Shape shape{n, n, n};
    const double flops = 2.0 * n * n * static_cast<double>(n);

    for (const Variant& v : variants) {
      if (v.fp16 && !ga16) {
        ga16.emplace(device, nn * 2);
        gb16.emplace(device, nn * 2);
        ga16->upload(a16);
        gb16->upload(b16);
        want16 = reference_rows(a16f, b16f, n, rows);
      }
      Buffer& in_a = v.fp16 ? *ga16 : ga;
      Buffer& in_b = v.fp16 ? *gb16 : gb;
      // Kernels do not depend on n (the shape is a push constant): build each configuration once.
      auto make = [&](std::size_t i) -> const Kernel& {
        const std::string key = v.name + "/" + std::to_string(i);
        auto it = kernels.find(key);
        if (it == kernels.end())
          it = kernels.emplace(key, Kernel(device, {.source = builtin_shader(v.shader, v.configs[i].defines),
                                                    .buffers = 3, .push_bytes = 12})).first;
        return it->second;
      };
      auto dispatch = [&](Sequence& seq, const Kernel& k, const Config& c) {
        seq.dispatch(k, {in_a, in_b, gc}, {n / c.tile_n, n / c.tile_m}, shape);
      };
      auto record = [&](Sequence& seq, const Kernel& k, const Config& c) {
        seq.begin();
        seq.timestamp();
        dispatch(seq, k, c);
        seq.timestamp();
        seq.end();
      };
      // Tuning: time each candidate once (after a warm-up) and keep the fastest.
      std::size_t chosen = 0;  // the first candidate whose tile divides n, unless tuning finds better
      while (chosen + 1 < v.configs.size() && (n % v.configs[chosen].tile_m || n % v.configs[chosen].tile_n)) ++chosen;
      if (tune && v.configs.size() > 1 && n >= 1024) {
        // Two rounds, keeping each candidate's best time. In the first, pipelines are built between
        // timings and the GPU idles meanwhile: its clocks drop (an idle H100 sits at 420 of 1980
        // MHz) and ramp up again during the next timing, so a candidate timed early can look several
        // times slower than it is, and a poor one win (seen at n=1024 on an H100: 5x slower, in some runs).
        std::vector<double> best(v.configs.size(), 1e300);
        for (int round = 0; round < 2; ++round)
          for (std::size_t i = 0; i < v.configs.size(); ++i) {
            if (n % v.configs[i].tile_m || n % v.configs[i].tile_n) continue;
            const Kernel& k = make(i);
            const double t = gpu_time_repeated(device, [&](Sequence& s) { dispatch(s, k, v.configs[i]); }, 3, 0.02).median_ns;
            best[i] = std::min(best[i], t);
          }
        chosen = static_cast<std::size_t>(std::min_element(best.begin(), best.end()) - best.begin());
        tuned.push_back(fmt::format("{} at n={}: {}", v.name, n, v.configs[chosen].label));
      }
      const Config& config = v.configs[chosen];
      if (n % config.tile_m || n % config.tile_n) continue;
      const Kernel& kernel = make(chosen);
      Sequence seq(device);
      record(seq, kernel, config);

      // Check first: the rows we have a reference for. fp32 accumulation of n products of values
      // in [-1, 1] errs by ~1e-7 * n at worst in practice; a wrong kernel errs by ~1.
      gc.upload(std::vector<float>(nn, std::nanf("")));
      seq.run();
      const auto c = gc.download_vector<float>();
      std::vector<float> got(rows.size() * n);
      for (std::size_t r = 0; r < rows.size(); ++r)
        std::copy_n(c.begin() + static_cast<std::ptrdiff_t>(rows[r] * n), n, got.begin() + static_cast<std::ptrdiff_t>(r * n));
      const dp::Tolerance tol{1e-6 * n, 1e-4};
      const auto& want = v.fp16 ? want16 : want32;
      const auto r = dp::compare(std::span<const float>(got), std::span<const double>(want), tol);
      ++checked;
      if (!r.passed) failures.push_back(fmt::format("{} at n={}: {}", v.name, n, r.detail));

      // Time on the GPU clock, warmed up; slow variants get fewer repetitions (at least 3).
      const double once = seq.gpu_ns(0, 1);
      const int reps = std::clamp(static_cast<int>(2e9 / std::max(once, 1.0)), 3, gpu_reps(ctx));
      const dp::Stats s = gpu_time_repeated(device, [&](Sequence& q) { dispatch(q, kernel, config); }, reps,
                                            gpu_warmup_seconds(ctx));
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

  // Key figures at the largest n: GFLOP/s and percent of peak, per variant.
  for (const Variant& v : variants) {
    const auto* s = ctx.result.find_series(v.name);
    if (!s || s->points.empty()) continue;
    const auto& p = s->points.back();
    const double pk = v.fp16 ? peak.fp16_gflops : peak.fp32_gflops;
    ctx.result.headlines.push_back(
        {fmt::format("{} at n = {:g}", v.name, p.x),
         pk > 0 ? fmt::format("{:.3g} GFLOP/s, {:.1f}% of {} peak", p.throughput, 100 * p.throughput / pk,
                              v.fp16 ? "fp16" : "fp32")
                : fmt::format("{:.3g} GFLOP/s", p.throughput)});
  }
  ctx.result.notes.push_back(fmt::format("peak: {:.0f} GFLOP/s fp32, {:.0f} fp16 ({})", peak.fp32_gflops,
                                         peak.fp16_gflops, peak.source));
  for (const auto& t : tuned) ctx.result.notes.push_back("tuned tile shape, " + t);
  if (!tune) ctx.result.notes.push_back("tile shapes not tuned (quick mode or a CPU device): the first candidate is used");
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "gflops", .title = "Matrix multiply: the optimisation ladder", .xlabel = "n (M = N = K)",
      .ylabel = "GFLOP/s (2n^3 / GPU time)", .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true});
  add_validation_check(device, ctx);
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "gpu-matmul",
             .title = "GPU matrix multiply: from naive to tensor cores",
             .module = 2,
             .level = 3,
             .tracks = {},
             .question = "How close to the GPU's peak can a hand-written matrix multiply get?",
             .guide_page = "m2/gpu-matmul.md",
             .source = "src/labs/m2/gpu_matmul.cpp",
             .requires_gpu = "a Vulkan device (lavapipe runs the fp32 ladder; the tensor-core step needs "
                             "VK_NV_cooperative_matrix)"},
    .params = {dp::ParamSpec::integer("max-n", "largest matrix size, a multiple of 128 (0 = 4096 on a GPU, "
                                               "512 on a CPU device)", 0, 0, 0, 16384),
               dp::ParamSpec::real("peak-gflops", "the device's fp32 peak in GFLOP/s (0 = known or estimated)", 0, 0,
                                   0, 1e7)},
    .run = run,
});

#endif  // DP_HAVE_GPU
