// energy_gpu.hpp — part 3 of the energy lab: joules per GFLOP of a GEMM on an NVIDIA GPU, fp32
// vs fp16 on tensor cores, from the driver's energy counter (nvidia-smi's total_energy_consumption,
// in millijoules since the driver loaded; NVML's nvmlDeviceGetTotalEnergyConsumption).
//
// The GEMMs are gpu-matmul's kernels (labs/m2/gpu_matmul_kernels.hpp): "vectorized" (fp32) and
// "coopmat-fp16" (fp16 in, fp32 accumulate; only where the device has cooperative matrices). Each
// is checked against a double-precision reference, then run back to back for `gpu-seconds` of
// wall time between two counter readings, `reps` times. Joules per GFLOP is the energy between
// the readings over the GFLOPs done between them; GFLOP/s comes from GPU timestamps. A full run
// also reads the counter across an idle window of the same length: the GPU's power doing nothing.
#pragma once

#include <string>

#include "core/lab.hpp"

#if defined(DP_HAVE_GPU)

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/error.hpp"
#include "core/measure.hpp"
#include "gpu/gpu.hpp"
#include "labs/gpu_lab.hpp"
#include "labs/m2/gpu_matmul_kernels.hpp"
#include "labs/m3/energy_counters.hpp"
#include "tensor/half.hpp"

namespace dp::energy {

// One variant: check, then `reps` windows of back-to-back GEMMs between counter readings.
inline void gpu_gemm_energy(LabContext& ctx, gpu::Device& device, const NvidiaSmiCounter& counter,
                            const gpu::matmul::Variant& v, std::uint32_t n, double seconds, int reps) {
  using namespace dp::gpu;
  using Clock = std::chrono::steady_clock;
  const auto config = std::find_if(v.configs.begin(), v.configs.end(),
                                   [&](const matmul::Config& c) { return n % c.tile_m == 0 && n % c.tile_n == 0; });
  if (config == v.configs.end()) {
    ctx.result.notes.push_back(fmt::format("GPU {} skipped: no tile shape divides n = {}", v.name, n));
    return;
  }
  // Inputs: fresh random values; fp16 variants get them rounded to fp16, and so does their reference.
  const std::size_t nn = std::size_t{n} * n;
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> a(nn), b(nn);
  const bool fp16 = v.input == matmul::Input::fp16;
  for (auto& x : a) x = dist(rng);
  for (auto& x : b) x = dist(rng);
  Buffer ga(device, nn * (fp16 ? 2 : 4)), gb(device, nn * (fp16 ? 2 : 4)), gc(device, nn * 4);
  if (fp16) {
    std::vector<std::uint16_t> a16(nn), b16(nn);
    for (std::size_t i = 0; i < nn; ++i) {
      a16[i] = tensor::to_half(a[i]), a[i] = tensor::from_half(a16[i]);
      b16[i] = tensor::to_half(b[i]), b[i] = tensor::from_half(b16[i]);
    }
    ga.upload(a16);
    gb.upload(b16);
  } else {
    ga.upload(a);
    gb.upload(b);
  }
  const Kernel kernel(device, {.source = builtin_shader(v.shader, config->defines), .buffers = 3, .push_bytes = 12});
  const matmul::Shape shape{n, n, n};
  const auto dispatch = [&](Sequence& s) { s.dispatch(kernel, {ga, gb, gc}, {n / config->tile_n, n / config->tile_m}, shape); };

  // Check: all rows up to n = 512, else 32 random ones, as gpu-matmul does.
  std::vector<std::size_t> rows;
  if (n <= 512) for (std::size_t r = 0; r < n; ++r) rows.push_back(r);
  else for (int r = 0; r < 32; ++r) rows.push_back(std::uniform_int_distribution<std::size_t>(0, n - 1)(rng));
  gc.upload(std::vector<float>(nn, std::nanf("")));
  Sequence one(device);
  one.begin();
  one.timestamp();
  dispatch(one);
  one.timestamp();
  one.end();
  one.run();
  const auto c = gc.download_vector<float>();
  std::vector<float> got;
  for (std::size_t r : rows) got.insert(got.end(), c.begin() + static_cast<std::ptrdiff_t>(r * n), c.begin() + static_cast<std::ptrdiff_t>((r + 1) * n));
  const auto want = matmul::reference_rows(a, b, n, rows);
  const auto cmp = compare(std::span<const float>(got), std::span<const double>(want), Tolerance{1e-6 * n, 1e-4});
  ctx.result.add_check(fmt::format("GPU {} at n = {} matches the double-precision reference ({} rows)", v.name, n, rows.size()),
                       cmp.passed, cmp.detail);
  if (!cmp.passed) return;

  // One submission: k GEMMs back to back (barriers between: they write the same C), ~0.1 s of GPU
  // (at most 200 dispatches, as gpu_time_repeated records).
  const double once_ns = std::max(one.gpu_ns(0, 1), 1.0);
  const auto k = static_cast<int>(std::clamp(1e8 / once_ns, 1.0, 200.0));
  Sequence seq(device);
  seq.begin();
  seq.timestamp();
  for (int i = 0; i < k; ++i) {
    if (i) seq.barrier();
    dispatch(seq);
  }
  seq.timestamp();
  seq.end();
  for (const auto t0 = Clock::now(); Clock::now() - t0 < std::chrono::duration<double>(ctx.quick ? 0.2 : 0.5);) seq.run();  // clocks up

  const double gflop_each = 2.0 * n * n * static_cast<double>(n) / 1e9;
  std::vector<double> j_per_gflop, gflops, watts, gpu_ns_each;
  for (int rep = 0; rep < reps; ++rep) {
    const double e0 = counter.read_millijoules();
    const auto t0 = Clock::now();
    double gpu_ns = 0;
    long long gemms = 0;
    do {
      seq.run();
      gpu_ns += seq.gpu_ns(0, 1);
      gemms += k;
    } while (Clock::now() - t0 < std::chrono::duration<double>(seconds));
    const double e1 = counter.read_millijoules();
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    const double joules = (e1 - e0) / 1e3;
    j_per_gflop.push_back(joules / (gflop_each * static_cast<double>(gemms)));
    gflops.push_back(gflop_each * static_cast<double>(gemms) / (gpu_ns / 1e9));
    watts.push_back(joules / wall);
    gpu_ns_each.push_back(gpu_ns / static_cast<double>(gemms));
  }
  const Stats t = gpu::stats_of(gpu_ns_each);
  ctx.result.add_point(fmt::format("GPU {}", v.name), "n", n, t, gflop_each / (t.median_ns / 1e9), "GFLOP/s", "GEMM");
  const double e = percentile(j_per_gflop, 0.5);
  ctx.result.add_point(fmt::format("GPU {} energy", v.name), "n (nvidia-smi)", n, Stats{t.median_ns, t.median_ns, t.median_ns, t.median_ns, reps},
                       e, "J/GFLOP", "GEMM");
  ctx.result.headlines.push_back(
      {fmt::format("GPU {} GEMM, n = {}", v.name, n),
       fmt::format("{:.3g} J/GFLOP (p10 {:.3g}, p90 {:.3g}) at {:.4g} GFLOP/s, {:.0f} W on average", e,
                   percentile(j_per_gflop, 0.1), percentile(j_per_gflop, 0.9), percentile(gflops, 0.5), percentile(watts, 0.5))});
  ctx.result.notes.push_back(fmt::format("GPU {}: tile shape {} (the first that divides n; gpu-matmul tunes them), {} GEMMs "
                                         "per submission, {} windows of {} s", v.name, config->label, k, reps, seconds));
}

// Part 3. Every way it can be impossible here ends in a note, never in a failed run.
inline void run_gpu_energy(LabContext& ctx) {
  if (ctx.params.text("gpu") == "off") {
    ctx.result.notes.push_back("GPU part off (--param gpu=off)");
    return;
  }
  std::string why;
  const auto smi = find_nvidia_smi(why);
  if (!smi) {
    ctx.result.notes.push_back(why);
    return;
  }
  std::unique_ptr<gpu::Device> device;
  try {
    device = gpu::open_lab_device(ctx, {.timestamps = true});
  } catch (const Error& e) {
    ctx.result.notes.push_back(fmt::format("GPU part skipped: {}", e.what()));
    return;
  }
  const gpu::DeviceReport& report = device->report();
  const NvidiaSmiCounter counter(*smi, report.name, report.vendor_id == 0x10de);
  if (!counter.available()) {
    ctx.result.notes.push_back(counter.why());
    return;
  }
  long long n = ctx.params.integer("gpu-n");
  if (n == 0) n = device->is_cpu() ? 256 : (ctx.quick ? 2048 : 4096);  // quick: a cheaper CPU reference
  if (n % 128 != 0)
    throw Error(fmt::format("gpu-n={} is not a multiple of 128 (the largest tile); use e.g. {}", n, (n / 128 + 1) * 128));
  n = gpu::cap_to_device(ctx, report, "gpu-n", n, 128, 3, [](long long m) { return static_cast<std::uint64_t>(m * m) * 4; });
  const double seconds = ctx.params.real("gpu-seconds");
  const int reps = ctx.quick ? 1 : std::max(1, static_cast<int>(ctx.params.integer("reps")) / 2);

  if (!ctx.quick) {  // the idle GPU's power, over a window as long as the others
    const double e0 = counter.read_millijoules();
    const auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    const double e1 = counter.read_millijoules();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ctx.result.headlines.push_back({"GPU idle", fmt::format("{:.0f} W ({:.3g} J over {:.2f} s asleep)", (e1 - e0) / 1e3 / wall,
                                                            (e1 - e0) / 1e3, wall)});
  }
  std::vector<gpu::matmul::Variant> variants;
  variants.push_back({"vectorized", "matmul/vec4.comp", gpu::matmul::vectorized_configs()});  // gpu-matmul's best fp32
  std::string coop_why;
  if (auto v = gpu::matmul::coopmat_variant(*device, coop_why)) variants.push_back(*v);
  else ctx.result.notes.push_back(fmt::format("GPU fp16 (coopmat-fp16) skipped: {}", coop_why));
  for (const auto& v : variants) gpu_gemm_energy(ctx, *device, counter, v, static_cast<std::uint32_t>(n), seconds, reps);
  ctx.result.notes.push_back(fmt::format("GPU energy from nvidia-smi ({}) for '{}'; each window runs from one reading to "
                                         "the next, so it includes a few tens of ms of nvidia-smi starting",
                                         *smi, counter.gpu_name()));
  gpu::add_validation_check(*device, ctx);
}

}  // namespace dp::energy

#else  // no GPU layer in this build

namespace dp::energy {
inline void run_gpu_energy(LabContext& ctx) {
  ctx.result.notes.push_back("no GPU energy part: this build has no Vulkan layer");
}
}  // namespace dp::energy

#endif
