// gpu-add — What does it cost to add two vectors on a GPU, and when does it beat the CPU?
//
// c[i] = a[i] + b[i] for n = 1e3 ... 1e8 floats, the "hello world" of GPU compute. Adding is one
// FLOP per 12 bytes moved, so every variant is limited by memory or by fixed costs, never by math:
//   cpu               a plain loop on this CPU (the compiler vectorises it)
//   gpu end-to-end    what a program pays: copy into staging memory, upload, add, download,
//                     copy out, submit and wait (wall clock)
//   staging copy in / staging copy out   the host's part of it: memcpy from the std::vectors
//                     into staging memory and back (CPU clock, one thread)
//   upload / compute / download   the GPU's part, split by timestamps (the GPU's own clock)
//   kernel submit+wait  one dispatch on data already on the GPU, submit + wait (wall clock):
//                     the fixed cost of asking the GPU for anything
//   kernel scalar     the add kernel alone, one float per thread (GPU clock, back-to-back)
//   kernel vec4       the same with 16-byte loads: four floats per thread and instruction
// Shaders: shaders/add/add.comp and shaders/add/add_vec4.comp.
//
//   dontpanic run gpu-add                 1e3 ... 1e8 elements (capped by the device's largest buffer)
//   dontpanic run gpu-add --quick         1e3 ... 1e5
//   --param max-n=1000000                 largest size;  --gpu NAME picks the device
#if defined(DP_HAVE_GPU)

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "gpu/gpu.hpp"
#include "labs/gpu_lab.hpp"

namespace {

using namespace dp::gpu;

constexpr std::uint32_t kThreads = 256;  // per workgroup, a multiple of every subgroup size

// ---------------------------------------------------------------- the variants ----------------
// The GPU variants are the shaders; here is how each is launched.

Kernel make_add(Device& device, bool vec4) {
  return Kernel(device, {.source = builtin_shader(vec4 ? "add/add_vec4.comp" : "add/add.comp"),
                         .buffers = 3, .push_bytes = 4, .specialization = {kThreads}});
}

// Grid-stride launch: enough workgroups to cover `items`, at most 65535 (each thread loops).
Groups add_groups(std::uint64_t items) { return {std::min<std::uint32_t>(groups_for(items, kThreads), 65535)}; }

// Records one add of n floats (n4 = n rounded up to whole vec4s).
void record_add(Sequence& seq, const Kernel& add, bool vec4, Buffer& a, Buffer& b, Buffer& c, std::uint32_t n) {
  const std::uint32_t items = vec4 ? (n + 3) / 4 : n;
  seq.dispatch(add, {a, b, c}, add_groups(items), items);
}

void cpu_add(const float* a, const float* b, float* c, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) c[i] = a[i] + b[i];
}

// ---------------------------------------------------------------- reference + check -----------

std::vector<float> reference_add(const std::vector<float>& a, const std::vector<float>& b, std::size_t n) {
  std::vector<float> c(n);
  for (std::size_t i = 0; i < n; ++i) c[i] = a[i] + b[i];  // IEEE addition: exact on any device
  return c;
}

// ---------------------------------------------------------------- the run ---------------------

// "n = 1e+08: 146 ms = staging copy in ... + upload ... + ...": where a program's end-to-end time
// goes, at the largest n.
std::string end_to_end_split(const dp::Result& result) {
  auto ms = [&](const char* variant) { return result.find_series(variant)->points.back().median_ns / 1e6; };
  const double n = result.find_series("gpu end-to-end")->points.back().x, whole = ms("gpu end-to-end");
  const double parts[] = {ms("staging copy in"), ms("upload"), ms("compute"), ms("download"), ms("staging copy out")};
  double rest = whole;
  for (double p : parts) rest -= p;
  return fmt::format("n = {:g}: {:.3g} ms = staging copy in {:.3g} + upload {:.3g} + add {:.3g} + download {:.3g} + "
                     "staging copy out {:.3g} + submit, wait and the rest {:.3g}",
                     n, whole, parts[0], parts[1], parts[2], parts[3], parts[4], rest);
}

std::vector<std::uint64_t> sizes_up_to(std::uint64_t max_n, bool quick) {
  std::vector<std::uint64_t> sizes;
  for (std::uint64_t n = 1000; n <= max_n; n *= 10) {
    sizes.push_back(n);
    if (!quick && n * 3 <= max_n) sizes.push_back(n * 3);
  }
  if (sizes.empty() || sizes.back() != max_n) sizes.push_back(max_n);
  return sizes;
}

void run(dp::LabContext& ctx) {
  auto device_owner = open_lab_device(ctx, {.timestamps = true});
  Device& device = *device_owner;
  const DeviceReport& report = device.report();

  // The largest n: asked for, but no larger than one buffer binding or a quarter of GPU memory.
  std::uint64_t max_n = static_cast<std::uint64_t>(ctx.params.integer("max-n"));
  const std::uint64_t binding_cap = report.max_storage_buffer_range / 16 * 4;  // whole vec4s
  const std::uint64_t memory_cap = report.device_local_bytes / 4 / 12;
  if (max_n > std::min(binding_cap, memory_cap)) {
    max_n = std::min(binding_cap, memory_cap);
    ctx.result.notes.push_back(fmt::format(
        "sizes capped at {} elements: '{}' binds at most {} per buffer", max_n, report.name,
        dp::format_bytes(report.max_storage_buffer_range)));
  }
  const auto sizes = sizes_up_to(max_n, ctx.quick);
  const int reps = gpu_reps(ctx);

  // Fresh random inputs for the largest size; smaller sizes use the beginning.
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const std::size_t padded_max = (max_n + 3) / 4 * 4;
  std::vector<float> a(padded_max), b(padded_max), out(padded_max);
  for (auto& x : a) x = dist(rng);
  for (auto& x : b) x = dist(rng);

  Kernel add_scalar = make_add(device, false), add_vec4 = make_add(device, true);
  int failed_checks = 0;
  std::string first_failure;
  auto check = [&](const std::string& what, std::uint64_t n, const std::vector<float>& got_all,
                   const std::vector<float>& want) {
    const auto r = dp::compare(std::span<const float>(got_all.data(), n), std::span<const float>(want));
    if (!r.passed && failed_checks++ == 0) first_failure = fmt::format("{} at n={}: {}", what, n, r.detail);
  };

  for (std::uint64_t n : sizes) {
    ctx.log << fmt::format("  n = {}\n", n);
    const std::size_t bytes = (n + 3) / 4 * 16;  // padded to whole vec4s
    Buffer ga(device, bytes), gb(device, bytes), gc(device, bytes);
    const auto want = reference_add(a, b, n);
    const auto n32 = static_cast<std::uint32_t>(n);

    // End to end: staging copies on the host, then one command buffer timed in three parts.
    Sequence whole(device);
    whole.begin();
    const auto t0 = whole.timestamp();
    whole.upload(ga).upload(gb);
    const auto t1 = whole.timestamp();
    whole.barrier();
    record_add(whole, add_vec4, true, ga, gb, gc, n32);
    whole.barrier();
    const auto t2 = whole.timestamp();
    whole.download(gc);
    const auto t3 = whole.timestamp();
    whole.end();
    auto end_to_end = [&] {
      std::memcpy(ga.staging().data(), a.data(), bytes);
      std::memcpy(gb.staging().data(), b.data(), bytes);
      whole.run();
      std::memcpy(out.data(), gc.staging().data(), bytes);
    };
    end_to_end();
    check("gpu end-to-end", n, out, want);

    // The kernels alone, on data already on the GPU (timed below with gpu_time_repeated).
    auto kernel_sequence = [&](Sequence& seq, const Kernel& k, bool vec4) {
      seq.begin();
      record_add(seq, k, vec4, ga, gb, gc, n32);
      seq.end();
    };
    Sequence scalar_seq(device), vec4_seq(device), single(device);
    kernel_sequence(scalar_seq, add_scalar, false);
    kernel_sequence(vec4_seq, add_vec4, true);
    single.begin();
    record_add(single, add_vec4, true, ga, gb, gc, n32);
    single.end();
    gc.upload(std::vector<float>(bytes / 4, 0.0f));
    scalar_seq.run();
    check("kernel scalar", n, gc.download_vector<float>(), want);
    gc.upload(std::vector<float>(bytes / 4, 0.0f));
    vec4_seq.run();
    check("kernel vec4", n, gc.download_vector<float>(), want);
    cpu_add(a.data(), b.data(), out.data(), n);
    check("cpu", n, out, want);

    // Time. GB/s counts 12 bytes per element (two floats read, one written).
    const double x = static_cast<double>(n), moved = 12.0 * x;
    auto point = [&](const std::string& variant, const dp::Stats& s, double bytes_moved) {
      ctx.result.add_point(variant, "elements", x, s, bytes_moved / s.median_ns, "GB/s");
    };
    point("cpu", ctx.measure(fmt::format("cpu/{}", n), [&] {
            cpu_add(a.data(), b.data(), out.data(), n);
            benchmark::DoNotOptimize(out.data());
            benchmark::ClobberMemory();
          }), moved);
    point("gpu end-to-end", ctx.measure(fmt::format("end-to-end/{}", n), end_to_end), moved);
    // The host's part of end-to-end, alone: the same memcpys, into staging and out of it.
    point("staging copy in", ctx.measure(fmt::format("staging-in/{}", n), [&] {
            std::memcpy(ga.staging().data(), a.data(), bytes);
            std::memcpy(gb.staging().data(), b.data(), bytes);
            benchmark::ClobberMemory();
          }), 8.0 * x);
    point("staging copy out", ctx.measure(fmt::format("staging-out/{}", n), [&] {
            std::memcpy(out.data(), gc.staging().data(), bytes);
            benchmark::ClobberMemory();
          }), 4.0 * x);
    std::vector<double> up, compute, down;
    const auto warm = std::chrono::steady_clock::now();  // bring the GPU to its working clock
    do whole.run();
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - warm).count() < gpu_warmup_seconds(ctx));
    for (int r = 0; r < reps; ++r) {
      whole.run();
      up.push_back(whole.gpu_ns(t0, t1));
      compute.push_back(whole.gpu_ns(t1, t2));
      down.push_back(whole.gpu_ns(t2, t3));
    }
    point("upload", stats_of(up), 8.0 * x);
    point("compute", stats_of(compute), moved);
    point("download", stats_of(down), 4.0 * x);
    point("kernel submit+wait", ctx.measure(fmt::format("submit-wait/{}", n), [&] { single.run(); }), moved);
    point("kernel scalar", gpu_time_repeated(device, [&](Sequence& q) { record_add(q, add_scalar, false, ga, gb, gc, n32); },
                                             reps, gpu_warmup_seconds(ctx)), moved);
    point("kernel vec4", gpu_time_repeated(device, [&](Sequence& q) { record_add(q, add_vec4, true, ga, gb, gc, n32); },
                                           reps, gpu_warmup_seconds(ctx)), moved);
  }
  ctx.result.add_check("every variant equals the CPU reference exactly", failed_checks == 0,
                       failed_checks == 0
                           ? fmt::format("cpu, gpu end-to-end, kernel scalar and kernel vec4 agree bit for bit "
                                         "(tolerance 0: IEEE addition rounds the same everywhere) at {} sizes",
                                         sizes.size())
                           : fmt::format("{} mismatching runs; first: {}", failed_checks, first_failure));

  // Where does the GPU start to win? The first size from which it stays ahead of the CPU.
  auto crossover = [&](const std::string& variant) -> std::string {
    const auto* cpu = ctx.result.find_series("cpu");
    const auto* gpu = ctx.result.find_series(variant);
    std::string from = "never, up to n = " + fmt::format("{}", max_n);
    for (std::size_t i = gpu->points.size(); i-- > 0;) {
      if (gpu->points[i].median_ns >= cpu->points[i].median_ns) break;
      from = fmt::format("from n = {:g}", gpu->points[i].x);
    }
    return from;
  };
  const auto* vec4 = ctx.result.find_series("kernel vec4");
  const auto* fixed = ctx.result.find_series("kernel submit+wait");
  ctx.result.headlines.push_back({"GPU end-to-end beats the CPU", crossover("gpu end-to-end")});
  ctx.result.headlines.push_back({"GPU kernel (submit+wait) beats the CPU", crossover("kernel submit+wait")});
  ctx.result.headlines.push_back({"fixed cost of one submit+wait",
                                  fmt::format("{:.1f} us at n = {:g}", fixed->points.front().median_ns / 1e3,
                                              fixed->points.front().x)});
  ctx.result.headlines.push_back({"where end-to-end goes", end_to_end_split(ctx.result)});
  ctx.result.headlines.push_back({"kernel vec4 bandwidth", fmt::format("{:.1f} GB/s at n = {:g}", vec4->points.back().throughput,
                                                                       vec4->points.back().x)});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "time", .title = "Vector add: CPU vs GPU, end to end and kernel alone", .xlabel = "elements",
      .ylabel = "ns per add (log)", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true,
      .variants = {"cpu", "gpu end-to-end", "kernel submit+wait", "kernel vec4"}});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "split", .title = "Where the end-to-end time goes", .xlabel = "elements",
      .ylabel = "ns (log): host copies on the CPU clock, the rest on the GPU's", .y = dp::PlotSpec::Y::time,
      .logx = true, .logy = true,
      .variants = {"gpu end-to-end", "staging copy in", "upload", "compute", "download", "staging copy out"}});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "bandwidth", .title = "Vector add bandwidth", .xlabel = "elements",
      .ylabel = "GB/s (12 bytes per element)", .y = dp::PlotSpec::Y::throughput, .logx = true,
      .logy = false, .variants = {"cpu", "kernel scalar", "kernel vec4"}});
  ctx.result.notes.push_back(
      "GPU-clock variants come from timestamp queries; wall-clock ones include the driver, the queue "
      "and the fence. On lavapipe the 'GPU' is this CPU, so the transfers are memcpy.");
  ctx.result.notes.push_back(
      "The split's parts are timed apart (staging copies on the CPU clock, upload/compute/download on "
      "the GPU's); what end-to-end spends beyond their sum is submit, wait and the driver.");
  add_validation_check(device, ctx);
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "gpu-add",
             .title = "First GPU program: a vector add in Vulkan compute, and what it costs",
             .module = 1,
             .level = 2,
             .tracks = {},
             .question = "What does it cost to add two vectors on a GPU, and when does it beat the CPU?",
             .guide_page = "m1/gpu-add.md",
             .source = "src/labs/m1/gpu_add.cpp",
             .requires_gpu = dp::gpu::kAnyVulkanDevice},
    .params = {dp::ParamSpec::integer("max-n", "largest vector length in elements", 100'000'000, 100'000, 1000,
                                      1'000'000'000)},
    .run = run,
});

#endif  // DP_HAVE_GPU
