// gpu-dispatch-overhead — Why does a GPU program want few, big submissions?
//
// N tiny dispatches (64 threads that each add 1 to a counter: no real work) sent four ways:
//   submit each         N command buffers, each submitted and waited for: a CPU-GPU round trip
//                       per dispatch, as naive "immediate mode" code does
//   re-record + submit  one command buffer of N dispatches, recorded anew every time
//                       (adds the CPU cost of recording to one round trip)
//   one buffer, chained   one recorded command buffer, a barrier between dispatches (each one
//                       reads what the last wrote), submitted again and again
//   one buffer, independent  the same without barriers: dispatches to different counters (1024
//                       slots, bumped atomically), which the GPU may overlap
// plus the GPU's own clock for the two one-buffer variants: how long the GPU itself needs per
// dispatch once the CPU is out of the way. Shader: shaders/dispatch/bump.comp.
//
//   dontpanic run gpu-dispatch-overhead           N = 1 ... 10000
//   dontpanic run gpu-dispatch-overhead --quick   N = 1 ... 100
#if defined(DP_HAVE_GPU)

#include <algorithm>
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

constexpr std::uint32_t kSlots = 1024;  // independent counters; 64 uints each

// ---------------------------------------------------------------------------------------------
// The variants
// ---------------------------------------------------------------------------------------------

// Submit each: a recorded one-dispatch command buffer, submitted and waited for N times.
void submit_each(Sequence& one, std::uint32_t n) {
  for (std::uint32_t i = 0; i < n; ++i) one.run();
}

// Records N dispatches into `seq`; chained ones all bump slot 0 with a barrier in between,
// independent ones bump slot i % 1024 with no barrier.
void record_batch(Sequence& seq, const Kernel& bump, Buffer& counts, std::uint32_t n, bool chained) {
  seq.begin();
  seq.timestamp();
  for (std::uint32_t i = 0; i < n; ++i) {
    seq.dispatch(bump, {counts}, {1}, chained ? 0u : i % kSlots);
    if (chained && i + 1 < n) seq.barrier();
  }
  seq.timestamp();
  seq.end();
}

// Re-record + submit: the recording is part of every run.
void rerecord_and_submit(Sequence& seq, const Kernel& bump, Buffer& counts, std::uint32_t n) {
  record_batch(seq, bump, counts, n, true);
  seq.run();
}

// ---------------------------------------------------------------------------------------------
// Reference and check
// ---------------------------------------------------------------------------------------------

// The counters after one run of N dispatches, computed on the CPU.
std::vector<std::uint32_t> expected_counts(std::uint32_t n, bool chained) {
  std::vector<std::uint32_t> c(kSlots * 64, 0);
  for (std::uint32_t i = 0; i < n; ++i)
    for (std::uint32_t t = 0; t < 64; ++t) ++c[(chained ? 0 : i % kSlots) * 64 + t];
  return c;
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  auto device_owner = open_lab_device(ctx, {.timestamps = true});
  Device& device = *device_owner;
  const auto max_n = static_cast<std::uint32_t>(ctx.params.integer("max-dispatches"));
  const int reps = gpu_reps(ctx);

  Kernel bump(device, {.source = builtin_shader("dispatch/bump.comp"), .buffers = 1, .push_bytes = 4});
  Buffer counts(device, kSlots * 64 * 4);
  const std::vector<std::uint32_t> zeros(kSlots * 64, 0);

  Sequence one(device);
  one.begin().dispatch(bump, {counts}, {1}, 0u).end();

  bool all_ok = true;
  std::string detail;
  auto check = [&](const std::string& variant, std::uint32_t n, bool chained) {
    const auto got = counts.download_vector<std::uint32_t>();
    const auto want = expected_counts(n, chained);
    const auto r = dp::compare(std::span<const std::uint32_t>(got), std::span<const std::uint32_t>(want));
    if (!r.passed && all_ok) detail = fmt::format("{} with N={}: {}", variant, n, r.detail);
    all_ok = all_ok && r.passed;
    counts.upload(zeros);
  };

  std::vector<std::uint32_t> ns;
  for (std::uint32_t n = 1; n <= max_n; n *= 10) ns.push_back(n);
  for (std::uint32_t n : dp::Sweep(ctx, "dispatches:", ns, {.stops_early = false})) {
    Sequence chained(device, 2), independent(device, 2), rerecorded(device, 2);
    record_batch(chained, bump, counts, n, true);
    record_batch(independent, bump, counts, n, false);

    // Check: one run of each from zeroed counters.
    counts.upload(zeros);
    submit_each(one, n);
    check("submit each", n, true);
    rerecord_and_submit(rerecorded, bump, counts, n);
    check("re-record + submit", n, true);
    chained.run();
    check("one buffer, chained", n, true);
    independent.run();
    check("one buffer, independent", n, false);

    // Time: ns per dispatch. The counters keep counting; only the check above reads them.
    const double x = n;
    auto point = [&](const std::string& variant, const dp::Stats& per_dispatch) {
      ctx.result.add_point(variant, "dispatches", x, per_dispatch, 1e9 / per_dispatch.median_ns,
                           "dispatches/s", "dispatch");
    };
    point("submit each", ctx.measure(fmt::format("submit-each/{}", n), [&] { submit_each(one, n); }).per(x));
    point("re-record + submit",
          ctx.measure(fmt::format("rerecord/{}", n), [&] { rerecord_and_submit(rerecorded, bump, counts, n); }).per(x));
    point("one buffer, chained", ctx.measure(fmt::format("chained/{}", n), [&] { chained.run(); }).per(x));
    point("one buffer, independent", ctx.measure(fmt::format("independent/{}", n), [&] { independent.run(); }).per(x));
    point("GPU clock, chained", gpu_time(chained, reps, 0, 1, x, 3));
    point("GPU clock, independent", gpu_time(independent, reps, 0, 1, x, 3));
  }
  ctx.result.add_check("counters match the CPU's count", all_ok,
                       all_ok ? fmt::format("every variant bumped every counter exactly as often as dispatched, "
                                            "N = 1 ... {} (exact, integers)", ns.back())
                              : detail);

  const auto* each = ctx.result.find_series("submit each");
  const auto* batched = ctx.result.find_series("one buffer, chained");
  const auto* gpu = ctx.result.find_series("GPU clock, chained");
  ctx.result.headlines.push_back({"one submit + wait", fmt::format("{:.1f} us per dispatch", each->points.back().median_ns / 1e3)});
  ctx.result.headlines.push_back({fmt::format("one command buffer of {}", ns.back()),
                                  fmt::format("{:.2f} us per dispatch ({:.0f}x fewer)", batched->points.back().median_ns / 1e3,
                                              each->points.back().median_ns / batched->points.back().median_ns)});
  ctx.result.headlines.push_back({"GPU time per chained dispatch", fmt::format("{:.2f} us", gpu->points.back().median_ns / 1e3)});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "per-dispatch", .title = "Cost per tiny dispatch", .xlabel = "dispatches per run",
      .ylabel = "ns per dispatch (log)", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true});
  ctx.result.notes.push_back("Wall-clock variants time the whole submit + wait and divide by N; the GPU-clock "
                             "ones read timestamps around the N dispatches.");
  add_validation_check(device, ctx);
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "gpu-dispatch-overhead",
             .title = "GPU dispatch overhead: one submit per dispatch vs one command buffer",
             .module = 1,
             .level = 2,
             .tracks = {},
             .question = "Why does a GPU program want few, big submissions?",
             .guide_page = "m1/gpu-dispatch-overhead.md",
             .source = "src/labs/m1/gpu_dispatch_overhead.cpp",
             .requires_gpu = dp::gpu::kAnyVulkanDevice},
    .params = {dp::ParamSpec::integer("max-dispatches", "largest number of dispatches per run", 10000, 100, 1,
                                      100000)},
    .run = run,
});

#endif  // DP_HAVE_GPU
