// gpu-reduce — How do thousands of GPU threads add up one number?
//
// The sum of n floats, five ways (shaders in shaders/reduce/):
//   cpu                 one CPU thread, 8 running sums (what the vectoriser would do)
//   global atomics      every element atomically added to one float in memory: a traffic jam
//   shared tree         per-thread strided sums, then a halving tree in shared memory per
//                       workgroup, one atomic per workgroup
//   subgroup            subgroupAdd across the lanes of a subgroup (no shared memory, no
//                       barrier), shared memory only between subgroups, one atomic per workgroup
//   two-pass            the subgroup kernel writing one total per workgroup, then a second
//                       dispatch summing those: no atomics, and the same answer every run
//   one pass            16-byte loads, four in flight per thread; each workgroup writes its
//                       total, and the last one to finish (an integer counter says which) adds
//                       them up: one dispatch, no float atomics, the same answer every run
// Float addition is not associative: each order rounds differently, so checks use a tolerance
// relative to sum(|x|). Times are GPU-clock per reduction (the cpu variant: wall clock).
//
//   dontpanic run gpu-reduce               n = 1e4 ... 1e8 (capped by the device's largest buffer)
//   dontpanic run gpu-reduce --quick       n = 1e4 ... 1e5
#if defined(DP_HAVE_GPU)

#include <algorithm>
#include <cmath>
#include <cstring>
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

constexpr std::uint32_t kThreads = 256;

// ---------------------------------------------------------------------------------------------
// The variants
// ---------------------------------------------------------------------------------------------

float cpu_sum(const float* x, std::size_t n) {
  float s[8] = {};  // 8 independent sums: the additions can overlap in the pipeline and SIMD lanes
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) s[l] += x[i + static_cast<std::size_t>(l)];
  float total = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; ++i) total += x[i];
  return total;
}

enum class Passes { atomic, two, one_last_block };

struct GpuVariant {
  std::string name;
  std::string shader;
  Passes passes = Passes::atomic;
  bool needs_float_atomics = true;
};

const std::vector<GpuVariant> kVariants = {
    {"global atomics", "reduce/atomic_global.comp"},
    {"shared tree", "reduce/tree.comp"},
    {"subgroup", "reduce/subgroup.comp"},
    {"two-pass", "reduce/subgroup.comp", Passes::two, false},
    {"one pass", "reduce/one_pass.comp", Passes::one_last_block, false},
};

// The one-pass kernel: --param per-thread floats per thread (64: four vec4 loads issued back to
// back, four times; on the H200 at 1e8 floats 97 us against 122 us with 16, one step), as many
// workgroups as that takes, up to the 65,535 every Vulkan device can launch in x (beyond that
// each thread loops further).
constexpr std::uint32_t kMaxOnePassGroups = 65535;

// Workgroups for one pass: enough to fill a big GPU, each thread then loops over its slice.
std::uint32_t workgroups(std::uint64_t n) { return std::clamp<std::uint32_t>(groups_for(n, kThreads), 1, 2048); }

std::uint32_t one_pass_workgroups(std::uint64_t n, std::uint32_t per_thread) {
  return std::clamp<std::uint32_t>(groups_for(n, kThreads * per_thread), 1, kMaxOnePassGroups);
}

// Records one reduction of x (n floats) into out[0].
void record(Sequence& seq, const GpuVariant& v, const Kernel& k, Buffer& x, Buffer& out, Buffer& partials,
            std::uint32_t n, std::uint32_t per_thread) {
  if (v.passes == Passes::one_last_block) {  // out[1] counts the workgroups done; the last resets it
    seq.dispatch(k, {x, x, partials, out}, {one_pass_workgroups(n, per_thread)}, n);
    return;
  }
  const std::uint32_t groups = workgroups(n);
  if (v.passes == Passes::atomic) {
    seq.fill(out, 0).barrier();  // atomics accumulate into out[0]: start from zero
    seq.dispatch(k, {x, out}, {groups}, n);
    return;
  }
  seq.dispatch(k, {x, partials}, {groups}, n).barrier();  // pass 1: one total per workgroup
  seq.dispatch(k, {partials, out}, {1}, groups);          // pass 2: one workgroup sums them
}

// ---------------------------------------------------------------------------------------------
// Reference
// ---------------------------------------------------------------------------------------------

struct Reference {
  double sum = 0, sum_abs = 0;
};

Reference reference_sum(const std::vector<float>& x, std::size_t n) {
  Reference r;
  for (std::size_t i = 0; i < n; ++i) r.sum += x[i], r.sum_abs += std::abs(x[i]);  // double: exact enough
  return r;
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  auto device_owner = open_lab_device(ctx, {.timestamps = true});
  Device& device = *device_owner;
  const DeviceReport& report = device.report();
  std::uint64_t max_n = static_cast<std::uint64_t>(ctx.params.integer("max-n"));
  const std::uint64_t cap = std::min<std::uint64_t>(report.max_storage_buffer_range / 4, report.device_local_bytes / 8);
  if (max_n > cap) {
    max_n = cap;
    ctx.result.notes.push_back(fmt::format("sizes capped at {} elements by the device's largest buffer", cap));
  }
  const auto sizes = dp::geometric_sizes(10'000, max_n, 10);
  const auto per_thread = static_cast<std::uint32_t>(ctx.params.integer("per-thread"));
  if (per_thread % 16 != 0)
    throw dp::Error(fmt::format("per-thread={} is not a multiple of 16 (four vec4 loads per step); use {}",
                                per_thread, (per_thread / 16 + 1) * 16));

  std::vector<GpuVariant> variants;
  for (const auto& v : kVariants) {
    if (v.needs_float_atomics && !device.has_float_atomic_add())
      ctx.result.notes.push_back(fmt::format("{} skipped: '{}' has no float atomicAdd on buffers "
                                             "(VK_EXT_shader_atomic_float)", v.name, report.name));
    else
      variants.push_back(v);
  }
  std::vector<Kernel> kernels;
  for (const auto& v : variants)
    kernels.emplace_back(device, KernelSpec{.source = builtin_shader(v.shader, {{"TWO_PASS", v.passes == Passes::two ? "1" : "0"}}),
                                            .buffers = v.passes == Passes::one_last_block ? 4u : 2u, .push_bytes = 4});

  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> x(max_n);
  for (auto& v : x) v = dist(rng);

  const int reps = gpu_reps(ctx);
  std::vector<std::string> failures, nondeterministic;
  int deterministic_runs = 0;
  double worst_relative = 0;
  for (std::uint64_t n : dp::Sweep(ctx, "n =", sizes, {.stops_early = false})) {
    const auto n32 = static_cast<std::uint32_t>(n);
    Buffer gx(device, n * 4), out(device, 8), partials(device, kMaxOnePassGroups * 4);
    gx.upload(std::span<const float>(x.data(), n));
    out.upload(std::vector<std::uint32_t>{0, 0});  // {total, arrivals}: the one-pass kernel's counter starts at 0
    const Reference want = reference_sum(x, n);
    // Tolerance: a float sum of n terms in any order errs by far less than 1e-5 * sum(|x|).
    const dp::Tolerance tol{1e-5 * want.sum_abs, 0};
    auto check = [&](const std::string& name, double got) {
      worst_relative = std::max(worst_relative, std::abs(got - want.sum) / want.sum_abs);
      if (!dp::close_enough(got, want.sum, tol))
        failures.push_back(fmt::format("{} at n={}: got {:.6g}, want {:.6g} (within {})", name, n, got, want.sum,
                                       tol.describe()));
    };
    check("cpu", cpu_sum(x.data(), n));
    const double bytes = 4.0 * static_cast<double>(n);
    const dp::Stats cpu = ctx.measure(fmt::format("cpu/{}", n), [&] { benchmark::DoNotOptimize(cpu_sum(x.data(), n)); });
    ctx.result.add_point("cpu", "elements", static_cast<double>(n), cpu, bytes / cpu.median_ns, "GB/s");

    for (std::size_t v = 0; v < variants.size(); ++v) {
      Sequence seq(device);
      seq.begin();
      seq.timestamp();
      record(seq, variants[v], kernels[v], gx, out, partials, n32, per_thread);
      seq.timestamp();
      seq.end();
      seq.run();
      const float first = out.download_vector<float>()[0];
      check(variants[v].name, first);
      const dp::Stats s = gpu_time_repeated(device, [&](Sequence& q) {
        record(q, variants[v], kernels[v], gx, out, partials, n32, per_thread);
      }, reps, gpu_warmup_seconds(ctx));
      // Without float atomics the order of additions is fixed: the timed runs must all have
      // produced the first run's bits (the last of them is still in out[0]).
      if (variants[v].passes != Passes::atomic) {
        ++deterministic_runs;
        const float last = out.download_vector<float>()[0];
        if (std::memcmp(&first, &last, sizeof first) != 0)
          nondeterministic.push_back(fmt::format("{} at n={}: {:.9g} then {:.9g}", variants[v].name, n, first, last));
      }
      ctx.result.add_point(variants[v].name, "elements", static_cast<double>(n), s, bytes / s.median_ns, "GB/s");
    }
  }
  ctx.result.add_check("every sum matches the double-precision reference", failures.empty(),
                       failures.empty() ? fmt::format("all within abs 1e-5 * sum(|x|); worst error {:.2g} * sum(|x|)",
                                                      worst_relative)
                                        : fmt::format("{} differ; first: {}", failures.size(), failures.front()));
  ctx.result.add_check("two-pass and one pass give the same bits on every run", nondeterministic.empty(),
                       nondeterministic.empty() ? fmt::format("{} sums, each repeated through the timing runs", deterministic_runs)
                                                : fmt::format("{} changed; first: {}", nondeterministic.size(), nondeterministic.front()));
  for (const auto& v : variants) {
    const auto* s = ctx.result.find_series(v.name);
    ctx.result.headlines.push_back({fmt::format("{} at n = {:g}", v.name, s->points.back().x),
                                    fmt::format("{:.1f} GB/s", s->points.back().throughput)});
  }
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "bandwidth", .title = "Summing n floats", .xlabel = "elements",
      .ylabel = "GB/s (4 bytes per element / time)", .y = dp::PlotSpec::Y::throughput, .logx = true,
      .logy = true});
  ctx.result.notes.push_back("GPU variants are timed on the GPU clock, including the zero-fill of the result "
                             "(atomics) or both passes (two-pass).");
  ctx.result.notes.push_back(fmt::format("one pass: {} floats per thread, up to {} workgroups of {}",
                                         per_thread, kMaxOnePassGroups, kThreads));
  add_validation_check(device, ctx);
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "gpu-reduce",
             .title = "GPU reductions: atomics, shared-memory trees, subgroups, two passes, one pass",
             .module = 2,
             .level = 3,
             .tracks = {},
             .question = "How do thousands of GPU threads add up one number?",
             .guide_page = "m2/gpu-reduce.md",
             .source = "src/labs/m2/gpu_reduce.cpp",
             .requires_gpu = dp::gpu::kAnyVulkanDevice},
    .params = {dp::ParamSpec::integer("max-n", "largest number of floats to sum", 100'000'000, 100'000, 10'000,
                                      1'000'000'000),
               dp::ParamSpec::integer("per-thread", "one pass: floats each thread adds (a multiple of 16)", 64, 64, 16,
                                      4096)},
    .run = run,
});

#endif  // DP_HAVE_GPU
