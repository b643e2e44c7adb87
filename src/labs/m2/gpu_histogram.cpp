// gpu-histogram — What do thousands of threads do when they all want to increment one counter?
//
// A 256-bin histogram of n bytes (packed 4 to a 32-bit word), on two inputs:
//   uniform   every byte value equally likely: collisions are rare
//   skewed    exponential, mean 3: ~30% of values land in bin 0, nearly all below 20
// Five GPU variants (shaders in shaders/histogram/) and the CPU:
//   cpu                   one thread, counts[v]++
//   global atomics        one atomicAdd on the global histogram per value
//   shared privatized     per-workgroup bins in shared memory, merged once per workgroup
//   subgroup-aggregated   + lanes holding the same bin combine into one shared atomic
//   coarsened             each thread walks 16 consecutive words keeping a (bin, count) run
//   sort-based            sort tiles of 1024 values in shared memory, one atomic per run
// All must produce exactly the CPU's counts. Times are GPU-clock per histogram.
//
//   dontpanic run gpu-histogram              n = 2^16 ... 2^26 bytes
//   dontpanic run gpu-histogram --quick      n = 2^16
#if defined(DP_HAVE_GPU)

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/sweep.hpp"
#include "gpu/gpu.hpp"
#include "labs/gpu_lab.hpp"

namespace {

using namespace dp::gpu;
using Histogram = std::array<std::uint32_t, 256>;

// ---------------------------------------------------------------------------------------------
// The variants
// ---------------------------------------------------------------------------------------------

struct GpuVariant {
  std::string name;
  std::string shader;
  std::uint32_t words_per_thread;  // 0: grid-stride (a fixed number of workgroups)
};

const std::vector<GpuVariant> kVariants = {
    {"global atomics", "histogram/global_atomics.comp", 0},
    {"shared privatized", "histogram/shared.comp", 0},
    {"subgroup-aggregated", "histogram/subgroup.comp", 0},
    {"coarsened", "histogram/coarsened.comp", 16},
    {"sort-based", "histogram/sort.comp", 0},
};

std::uint32_t workgroups(const GpuVariant& v, std::uint32_t words) {
  if (v.words_per_thread > 0) return groups_for(words, 256 * v.words_per_thread);
  return std::clamp<std::uint32_t>(groups_for(words, 256), 1, 1024);
}

void cpu_histogram(const std::uint8_t* bytes, std::size_t n, Histogram& h) {
  h.fill(0);
  for (std::size_t i = 0; i < n; ++i) ++h[bytes[i]];
}

// ---------------------------------------------------------------------------------------------
// Inputs and reference
// ---------------------------------------------------------------------------------------------

std::vector<std::uint8_t> make_input(std::size_t n, bool skewed, std::mt19937& rng) {
  std::vector<std::uint8_t> bytes(n);
  std::uniform_int_distribution<int> uniform(0, 255);
  std::exponential_distribution<double> expo(1.0 / 3.0);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(skewed ? std::min(255.0, std::floor(expo(rng))) : uniform(rng));
  return bytes;
}

Histogram reference_histogram(const std::vector<std::uint8_t>& bytes) {
  Histogram h{};
  for (std::uint8_t b : bytes) h[b] += 1;  // the definition
  return h;
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  auto device_owner = open_lab_device(ctx, {.timestamps = true});
  Device& device = *device_owner;
  const DeviceReport& report = device.report();
  std::uint64_t max_n = static_cast<std::uint64_t>(ctx.params.integer("max-n"));
  const std::uint64_t cap = std::min<std::uint64_t>(report.max_storage_buffer_range, report.device_local_bytes / 4) / 1024 * 1024;
  if (max_n > cap) {
    max_n = cap;
    ctx.result.notes.push_back(fmt::format("sizes capped at {} bytes by the device's largest buffer", cap));
  }
  if (max_n % 1024 != 0)
    throw dp::Error(fmt::format("max-n={} is not a multiple of 1024 (the sort-based tile); use {}", max_n, max_n / 1024 * 1024));
  const auto sizes = dp::geometric_sizes(1 << 16, max_n, 4);

  std::vector<Kernel> kernels;
  for (const auto& v : kVariants)
    kernels.emplace_back(device, KernelSpec{.source = builtin_shader(v.shader), .buffers = 2, .push_bytes = 4});

  std::mt19937 rng(std::random_device{}());
  const int reps = gpu_reps(ctx);
  std::vector<std::string> failures;
  int runs = 0;
  for (bool skewed : {false, true}) {
    const std::string data = skewed ? "skewed" : "uniform";
    const auto input = make_input(max_n, skewed, rng);
    for (std::uint64_t n : dp::Sweep(ctx, data + " data, bytes:", sizes, {.stops_early = false})) {
      const std::vector<std::uint8_t> bytes(input.begin(), input.begin() + static_cast<std::ptrdiff_t>(n));
      const Histogram want = reference_histogram(bytes);
      const auto words = static_cast<std::uint32_t>(n / 4);
      Buffer gin(device, n), ghist(device, 256 * 4);
      gin.upload(std::span<const std::uint8_t>(bytes));
      auto check = [&](const std::string& name, const std::uint32_t* got) {
        ++runs;
        const auto r = dp::compare(std::span<const std::uint32_t>(got, 256), std::span<const std::uint32_t>(want));
        if (!r.passed) failures.push_back(fmt::format("{} on {} data, n={}: {}", name, data, n, r.detail));
      };
      const double x = static_cast<double>(n);
      Histogram cpu_h;
      cpu_histogram(bytes.data(), n, cpu_h);
      check("cpu", cpu_h.data());
      const dp::Stats cpu = ctx.measure(fmt::format("cpu/{}/{}", data, n), [&] {
        cpu_histogram(bytes.data(), n, cpu_h);
        benchmark::DoNotOptimize(cpu_h.data());
      });
      ctx.result.add_point("cpu, " + data, "bytes", x, cpu, x / cpu.median_ns, "GB/s");

      for (std::size_t v = 0; v < kVariants.size(); ++v) {
        Sequence seq(device);
        seq.begin();
        seq.timestamp();
        seq.fill(ghist, 0).barrier();
        seq.dispatch(kernels[v], {gin, ghist}, {workgroups(kVariants[v], words)}, words);
        seq.timestamp();
        seq.end();
        seq.run();
        check(kVariants[v].name, ghist.download_vector<std::uint32_t>().data());
        const dp::Stats s = gpu_time_repeated(device, [&](Sequence& q) {
          q.fill(ghist, 0).barrier();
          q.dispatch(kernels[v], {gin, ghist}, {workgroups(kVariants[v], words)}, words);
        }, reps, gpu_warmup_seconds(ctx));
        ctx.result.add_point(kVariants[v].name + ", " + data, "bytes", x, s, x / s.median_ns, "GB/s");
      }
    }
  }
  ctx.result.add_check("every histogram equals the CPU's counts", failures.empty(),
                       failures.empty() ? fmt::format("{} histograms, all 256 bins exact (integers, tolerance 0)", runs)
                                        : fmt::format("{} of {} differ; first: {}", failures.size(), runs, failures.front()));
  for (const char* data : {"uniform", "skewed"}) {
    std::string best;
    double best_gbs = 0;
    for (const auto& v : kVariants) {
      const auto* s = ctx.result.find_series(v.name + ", " + data);
      if (s && s->points.back().throughput > best_gbs) best_gbs = s->points.back().throughput, best = v.name;
    }
    ctx.result.headlines.push_back({fmt::format("fastest on {} data (n = {})", data, sizes.back()),
                                    fmt::format("{}, {:.1f} GB/s", best, best_gbs)});
  }
  std::vector<std::string> uniform_series, skewed_series;
  for (const auto& v : kVariants) uniform_series.push_back(v.name + ", uniform"), skewed_series.push_back(v.name + ", skewed");
  uniform_series.push_back("cpu, uniform");
  skewed_series.push_back("cpu, skewed");
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "uniform", .title = "Histogram of uniform bytes", .xlabel = "input size",
      .ylabel = "GB/s of input", .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true,
      .variants = uniform_series});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "skewed", .title = "Histogram of skewed bytes (30% in one bin)", .xlabel = "input size",
      .ylabel = "GB/s of input", .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true,
      .variants = skewed_series});
  ctx.result.notes.push_back("GPU times are on the GPU clock and include zeroing the 256 bins.");
  add_validation_check(device, ctx);
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "gpu-histogram",
             .title = "GPU histograms: atomics, privatization, subgroups, coarsening, sorting",
             .module = 2,
             .level = 3,
             .tracks = {},
             .question = "What do thousands of threads do when they all want to increment one counter?",
             .guide_page = "m2/gpu-histogram.md",
             .source = "src/labs/m2/gpu_histogram.cpp",
             .requires_gpu = dp::gpu::kAnyVulkanDevice},
    .params = {dp::ParamSpec::integer("max-n", "largest input in bytes, a multiple of 1024", 1 << 26, 1 << 16, 1024,
                                      1LL << 31)},
    .run = run,
});

#endif  // DP_HAVE_GPU
