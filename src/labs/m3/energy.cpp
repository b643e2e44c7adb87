// energy.cpp — what does an operation cost in joules, and is it cheaper to hurry and then sleep?
//
// What (every joule below is read from a hardware counter; where none is readable, the lab says so
// in a note and reports no joules at all: an estimate is never shown as a measurement):
//   1. the same float reduction, written once for the vectorizer and once kept scalar: time per
//      element (always) and nanojoules per element from the CPU's RAPL counters (where readable),
//      in L1, in L2, and in a large array;
//   2. race-to-idle: a fixed amount of work in a fixed window (1 s), done fast (SIMD on every
//      core, then sleeping) or slow (scalar on one core, filling the window), and an idle window
//      (sleeping throughout) measured the same way: joules for each window;
//   3. on an NVIDIA GPU, the driver's energy counter (nvidia-smi) around a GEMM in fp32 and in
//      fp16 on tensor cores (gpu-matmul's kernels), >= 2 s each: joules per GFLOP and GFLOP/s
//      (src/labs/m3/energy_gpu.hpp).
// Run:  dontpanic run energy      dontpanic run energy --quick      (RAPL wants root, see the page)
// Checks: both reductions against a double-precision reference on fresh random floats, and against
// each other bit for bit (they add in the same order); every pass summed inside a measured window
// gives the checked sum; the GEMMs against a double-precision reference.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/portability.hpp"
#include "core/sweep.hpp"
#include "core/thread_team.hpp"
#include "labs/m3/energy_counters.hpp"
#include "labs/m3/energy_gpu.hpp"

namespace {

// ---------------------------------------------------------------------------------------------
// 1. The variants: one float sum, 16 running totals, kept scalar or left to the vectorizer
// ---------------------------------------------------------------------------------------------

// Sixteen independent totals (lane j adds x[j], x[j+16], ...), then a fixed tree. The SIMD
// version keeps the 16 totals in one or two vector registers; the scalar one in 16 registers,
// adding one float per instruction. Same additions in the same order: the same bits out.
constexpr std::size_t kLanes = 16;

DP_NO_VECTORIZE float sum_scalar(std::span<const float> x) {
  float acc[kLanes] = {};
  std::size_t i = 0;
  DP_LOOP_SCALAR
  for (; i + kLanes <= x.size(); i += kLanes)
    for (std::size_t j = 0; j < kLanes; ++j) acc[j] += x[i + j];
  for (std::size_t j = 0; i < x.size(); ++i, ++j) acc[j] += x[i];
  for (std::size_t w = kLanes / 2; w >= 1; w /= 2)
    for (std::size_t j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0];
}

[[gnu::noinline]] float sum_simd(std::span<const float> x) {
  float acc[kLanes] = {};
  std::size_t i = 0;
  for (; i + kLanes <= x.size(); i += kLanes)
    for (std::size_t j = 0; j < kLanes; ++j) acc[j] += x[i + j];
  for (std::size_t j = 0; i < x.size(); ++i, ++j) acc[j] += x[i];
  for (std::size_t w = kLanes / 2; w >= 1; w /= 2)
    for (std::size_t j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0];
}

// A long array is summed in chunks of 4096 floats, chunk totals added in double: a float lane
// that has reached 2^24 no longer changes when 0.5 is added, and a 2 GiB array gives each lane
// 2^25 values. The call per chunk costs about 1% of the chunk's time.
constexpr std::size_t kChunk = 4096;

template <float (*Kernel)(std::span<const float>)>
double sum_chunked(std::span<const float> x) {
  double total = 0;
  for (std::size_t i = 0; i < x.size(); i += kChunk) total += Kernel(x.subspan(i, std::min(kChunk, x.size() - i)));
  return total;
}

struct Reduction {
  const char* name;
  double (*fn)(std::span<const float>);
};
constexpr Reduction kReductions[] = {{"scalar", sum_chunked<sum_scalar>}, {"SIMD", sum_chunked<sum_simd>}};
const Reduction& kScalar = kReductions[0];
const Reduction& kSimd = kReductions[1];

// ---------------------------------------------------------------------------------------------
// Inputs, reference, check
// ---------------------------------------------------------------------------------------------

std::vector<float> random_floats(std::size_t n, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> d(0.0f, 1.0f);
  std::vector<float> x(n);
  for (float& v : x) v = d(rng);
  return x;
}

// Both variants against a double sum, and against each other exactly. Returns the checked sum.
// Error bound: in a chunk, each element passes through at most k = 4096/16 + 1 float additions in
// its lane and 4 in the tree, so |error| <= gamma_k * sum|x| with gamma_k = k u / (1 - k u),
// u = 2^-24 (Higham, Accuracy and Stability, 4.2), plus the double additions (2^-53 each, n/4096 of them).
double check_reductions(dp::LabContext& ctx, const std::vector<float>& x, const std::string& where) {
  double want = 0;
  for (std::size_t i = 0; i < x.size(); ++i) want += x.at(i);  // the values are positive: sum|x|
  const double k = kChunk / kLanes + 1 + 4, chunks = static_cast<double>(x.size() / kChunk + 1);
  const double bound = (k * 0x1p-24 / (1 - k * 0x1p-24) + 2 * chunks * 0x1p-53) * want;
  const double scalar = kScalar.fn(x), simd = kSimd.fn(x);
  for (const Reduction& r : kReductions) {
    const double got = r.fn(x);
    ctx.result.add_check(fmt::format("{} sum, {}", r.name, where), std::abs(got - want) <= bound,
                         fmt::format("got {:.9g}, double reference {:.9g}, allowed {:.3g}", got, want, bound));
  }
  ctx.result.add_check(fmt::format("scalar and SIMD agree bit for bit, {}", where), scalar == simd,
                       fmt::format("scalar {:a}, SIMD {:a} (the same additions in the same order)", scalar, simd));
  return simd;
}

// Passes summed inside measured windows: each must give the checked sum (a core that computed
// garbage while we measured its joules would make the joules meaningless).
struct PassTally {
  std::atomic<long long> passes{0}, wrong{0};
  void add(double got, double want) {
    passes.fetch_add(1, std::memory_order_relaxed);
    if (got != want) wrong.fetch_add(1, std::memory_order_relaxed);
  }
};

// ---------------------------------------------------------------------------------------------
// Energy windows
// ---------------------------------------------------------------------------------------------

using Clock = std::chrono::steady_clock;

struct Window {
  double seconds = 0;          // between the two counter readings
  double busy_seconds = 0;     // of which working
  std::vector<double> joules;  // per RAPL zone; empty without a counter
};

// Reads the counters, runs `work` (which returns when done), sleeps until `length` has passed
// since the start, reads again.
Window measure_window(const dp::energy::RaplMeter* meter, double length, const std::function<void()>& work) {
  const auto before = meter ? meter->read() : dp::energy::RaplMeter::Reading{};
  const auto t0 = Clock::now();
  work();
  const auto t1 = Clock::now();
  std::this_thread::sleep_until(t0 + std::chrono::duration<double>(length));
  const auto after = meter ? meter->read() : dp::energy::RaplMeter::Reading{};
  const auto t2 = Clock::now();
  return {std::chrono::duration<double>(t2 - t0).count(), std::chrono::duration<double>(t1 - t0).count(),
          meter ? meter->joules(before, after) : std::vector<double>{}};
}

struct Spread {
  double median, p10, p90;
};
Spread spread(const std::vector<double>& v) {
  return {dp::percentile(v, 0.5), dp::percentile(v, 0.1), dp::percentile(v, 0.9)};
}

// A point whose throughput is an energy figure. Its time fields hold the median time (no error
// bars: the plot's bars come from the time spread, and energy is not 1/time); the energy's own
// spread goes into the lab's notes. Energy series have an x axis of their own (its name says which
// counter), so the terminal shows them in a table of their own, not beside times.
void add_energy_point(dp::LabContext& ctx, const std::string& variant, const std::string& x_name, double x,
                      double median_ns, int reps, double value, const std::string& unit, const std::string& per) {
  ctx.result.add_point(variant, x_name, x, dp::Stats{median_ns, median_ns, median_ns, median_ns, reps}, value, unit, per);
}

// Part 1: for each size, time per element (Google Benchmark) and, with a meter, joules per element
// over windows of busy summing, the variants interleaved.
void run_reductions(dp::LabContext& ctx, const dp::energy::RaplMeter* meter, const std::vector<std::uint64_t>& sizes,
                    double window, int reps, std::mt19937_64& rng, double& scalar_ns_in_l2) {
  PassTally tally;
  for (const std::uint64_t bytes : dp::Sweep(ctx, "working set", sizes, {.weight = [](std::uint64_t b) { return 1.0 + static_cast<double>(b) / (64 << 20); },
                                                                        .stops_early = false})) {
    const std::vector<float> x = random_floats(bytes / sizeof(float), rng);
    const double n = static_cast<double>(x.size());
    const double want = check_reductions(ctx, x, fmt::format("{} floats", x.size()));
    for (const Reduction& r : kReductions) {
      const dp::Stats s = ctx.measure(fmt::format("{}/{}", r.name, bytes), [&] { benchmark::DoNotOptimize(r.fn(x)); });
      ctx.result.add_point(r.name, "bytes", static_cast<double>(bytes), s.per(n), n / s.median_ns, "elements/ns", "element");
      if (bytes == sizes[1] && r.fn == kScalar.fn) scalar_ns_in_l2 = s.median_ns / n;
    }
    if (!meter) continue;
    std::vector<std::vector<double>> nj(std::size(kReductions)), ns(std::size(kReductions));
    for (int rep = 0; rep < reps; ++rep)
      for (std::size_t v = 0; v < std::size(kReductions); ++v) {
        long long passes = 0;
        const auto w = measure_window(meter, 0, [&] {
          for (const auto t0 = Clock::now(); Clock::now() - t0 < std::chrono::duration<double>(window); ++passes)
            tally.add(kReductions[v].fn(x), want);
        });
        const double elements = static_cast<double>(passes) * n;
        nj[v].push_back(1e9 * meter->package_joules(w.joules) / elements);
        ns[v].push_back(1e9 * w.busy_seconds / elements);
      }
    for (std::size_t v = 0; v < std::size(kReductions); ++v) {
      const Spread e = spread(nj[v]);
      add_energy_point(ctx, fmt::format("{} energy", kReductions[v].name), "working set KiB (RAPL)", static_cast<double>(bytes) / 1024,
                       spread(ns[v]).median, reps, e.median, "nJ/element", "element");
      ctx.result.notes.push_back(fmt::format("{} at {}: {:.3g} nJ/element (p10 {:.3g}, p90 {:.3g}; {} windows of {} s)",
                                             kReductions[v].name, dp::format_bytes(bytes), e.median, e.p10, e.p90, reps, window));
    }
  }
  // Key figures in L2: how much faster SIMD is, and (with a counter) how much less energy it takes.
  const auto ratio = [&](const std::string& scalar, const std::string& simd, double x) {
    const dp::Point *a = ctx.result.point_at(scalar, x), *b = ctx.result.point_at(simd, x);
    return a && b && b->median_ns > 0 && b->throughput > 0 ? std::optional(std::pair(a, b)) : std::nullopt;
  };
  if (const auto t = ratio("scalar", "SIMD", static_cast<double>(sizes[1])))
    ctx.result.headlines.push_back({fmt::format("SIMD vs scalar, time in L2 ({})", dp::format_bytes(sizes[1])),
                                    fmt::format("{:.3g} vs {:.3g} ns per element: {:.2g}x faster", t->second->median_ns,
                                                t->first->median_ns, t->first->median_ns / t->second->median_ns)});
  if (const auto e = ratio("scalar energy", "SIMD energy", static_cast<double>(sizes[1]) / 1024))
    ctx.result.headlines.push_back({fmt::format("SIMD vs scalar, energy in L2 ({})", dp::format_bytes(sizes[1])),
                                    fmt::format("{:.3g} vs {:.3g} nJ per element (package): {:.2g}x less", e->second->throughput,
                                                e->first->throughput, e->first->throughput / e->second->throughput)});
  if (meter)
    ctx.result.add_check("every pass in the energy windows gave the checked sum", tally.wrong == 0,
                         fmt::format("{} of {} passes differ", tally.wrong.load(), tally.passes.load()));
}

// Part 2: race-to-idle. The same number of passes over an in-cache array, in windows of `window`
// seconds: SIMD on every CPU then asleep, or scalar on one CPU (sized to fill ~70% of the window
// at the speed part 1 measured; a busy machine may stretch it).
void run_race(dp::LabContext& ctx, const dp::energy::RaplMeter* meter, std::size_t bytes, double window, int reps,
              double scalar_ns, std::mt19937_64& rng) {
  const std::vector<float> x = random_floats(bytes / sizeof(float), rng);
  const double want = check_reductions(ctx, x, "race-to-idle array");
  const long long passes = std::max(1LL, std::llround(0.7 * window * 1e9 / (scalar_ns * static_cast<double>(x.size()))));
  const int threads = std::max<int>(1, static_cast<int>(dp::allowed_cpus().size()));
  PassTally tally;
  const auto fast = [&] {
    dp::run_together(threads, [&](int t) {
      for (long long p = passes * t / threads; p < passes * (t + 1) / threads; ++p) tally.add(kSimd.fn(x), want);
    });
  };
  const auto slow = [&] {
    for (long long p = 0; p < passes; ++p) tally.add(kScalar.fn(x), want);
  };
  struct Strategy {
    std::string name;
    std::function<void()> work;
    std::vector<double> joules, busy, seconds;
  };
  std::vector<Strategy> strategies = {{"idle (asleep)", [] {}, {}, {}, {}},
                                      {fmt::format("fast (SIMD, {} threads), then asleep", threads), fast, {}, {}, {}},
                                      {"slow (scalar, one thread)", slow, {}, {}, {}}};
  // Without a counter one window each: the work and its check still run, and the busy times are real.
  for (int rep = 0; rep < (meter ? reps : 1); ++rep)
    for (Strategy& s : strategies) {
      const Window w = measure_window(meter, window, s.work);
      s.busy.push_back(w.busy_seconds);
      s.seconds.push_back(w.seconds);
      if (meter) s.joules.push_back(meter->package_joules(w.joules));
    }
  const double elements = static_cast<double>(passes) * static_cast<double>(x.size());
  for (Strategy& s : strategies) {
    const Spread busy = spread(s.busy);
    if (busy.median > 0 && s.name.rfind("idle", 0) != 0)
      ctx.result.add_point("race: " + s.name, "window (s)", window,
                           dp::Stats{busy.median * 1e9, busy.p10 * 1e9, busy.p90 * 1e9, busy.median * 1e9, static_cast<int>(s.busy.size())},
                           elements / (busy.median * 1e9), "elements/ns", "window (time busy)");
    if (!meter) continue;
    const Spread j = spread(s.joules);
    add_energy_point(ctx, "race energy: " + s.name, "window s (RAPL)", window, spread(s.seconds).median * 1e9,
                     static_cast<int>(s.joules.size()), j.median, "J", "window");
    ctx.result.headlines.push_back({fmt::format("race-to-idle, {}", s.name),
                                    fmt::format("{:.3g} J per {} s window (p10 {:.3g}, p90 {:.3g}), busy {:.0f} ms", j.median,
                                                window, j.p10, j.p90, busy.median * 1e3)});
  }
  const double longest = *std::max_element(strategies[2].seconds.begin(), strategies[2].seconds.end());
  if (longest > window * 1.02)
    ctx.result.notes.push_back(fmt::format("race-to-idle: the slow work overran its {} s window (took {:.3g} s: a "
                                           "busy machine){}", window, longest, meter ? "; its joules cover that longer window" : ""));
  const long long windows = static_cast<long long>(strategies[1].busy.size() + strategies[2].busy.size());
  ctx.result.add_check("every race-to-idle window did all its passes, each giving the checked sum",
                       tally.wrong == 0 && tally.passes == windows * passes,
                       fmt::format("{} passes done of {} ({} windows of {}); {} differ", tally.passes.load(),
                                   windows * passes, windows, passes, tally.wrong.load()));
}

// ---------------------------------------------------------------------------------------------
// run(): find the counters, check, time, measure energy where we can
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  std::mt19937_64 rng(std::random_device{}());
  const double window = ctx.params.real("window");
  const int reps = static_cast<int>(ctx.params.integer("reps"));

  // The counters: RAPL (CPU), then nvidia-smi (GPU) in part 3.
  const auto root = dp::energy::powercap_root();
  const dp::energy::RaplScan scan = dp::energy::scan_rapl(root);
  std::optional<dp::energy::RaplMeter> meter;
  if (!scan.zones.empty()) {
    meter.emplace(scan.zones);
    if (!meter->has_package()) {
      ctx.result.notes.push_back(fmt::format("no CPU energy counter: the RAPL zones under {} include no package zone", root.string()));
      meter.reset();
    } else {
      std::vector<std::string> names;
      for (const auto& z : scan.zones) names.push_back(fmt::format("{} ({})", z.name, z.dir.filename().string()));
      ctx.result.notes.push_back(fmt::format("CPU energy: RAPL zones {}; joules here are the package zones' sum "
                                             "(cores, caches, memory controller: the socket)", fmt::join(names, ", ")));
    }
  } else {
    ctx.result.notes.push_back("no CPU energy counter: " + scan.problem +
                               ". Times are measured; no joules are reported (none estimated).");
  }

  // Sizes: half of L1d, half of L2 (read at run time), and a large array (quick: 32 MiB whatever
  // the caches; full: 4x the last-level cache, capped to leave the machine its memory).
  const std::uint64_t l1 = ctx.machine.cache_bytes(1) ? ctx.machine.cache_bytes(1) : 32 << 10;
  const std::uint64_t l2 = ctx.machine.cache_bytes(2) ? ctx.machine.cache_bytes(2) : 256 << 10;
  std::uint64_t large = std::uint64_t{32} << 20;
  if (!ctx.quick) {
    const auto limit = dp::limit_working_set(std::max<std::uint64_t>(64 << 20, 4 * dp::llc_bytes_or(ctx.machine, 8 << 20)),
                                             ctx.machine, false, "the large array");
    if (!limit.note.empty()) ctx.result.notes.push_back(limit.note);
    large = limit.bytes;
  }
  const std::vector<std::uint64_t> sizes = {l1 / 2, l2 / 2, std::max(large, 2 * l2)};

  // An odd length first: the leftover loops after the last full 16 and the last full chunk run too.
  check_reductions(ctx, random_floats(kChunk + 1001, rng), fmt::format("{} floats (odd: the leftover loops run)", kChunk + 1001));
  double scalar_ns_in_l2 = 1;
  run_reductions(ctx, meter ? &*meter : nullptr, sizes, window, reps, rng, scalar_ns_in_l2);
  if (!ctx.result.all_checks_passed()) return;
  run_race(ctx, meter ? &*meter : nullptr, sizes[1], window, reps, scalar_ns_in_l2, rng);
  if (!ctx.result.all_checks_passed()) return;
  dp::energy::run_gpu_energy(ctx);

  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "time", .title = "one float sum, scalar vs SIMD", .xlabel = "working set (bytes)",
      .ylabel = "ns per element", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true,
      .variants = {"scalar", "SIMD"}});
  if (meter)
    ctx.result.plots.push_back(dp::PlotSpec{
        .name = "energy", .title = "one float sum, scalar vs SIMD: CPU package energy", .xlabel = "working set (KiB)",
        .ylabel = "nJ/element (RAPL package)", .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true,
        .variants = {"scalar energy", "SIMD energy"}});
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times and joules mean nothing here, only the checks do.");
}

}  // namespace

// Built in a function, not in the registration's static initializer: GCC 12 warns (falsely) that
// the aggregate's std::string members "may be used uninitialized" when this LabDef is built there.
static dp::LabDef energy_lab() {
  return dp::LabDef{
    .info = {.id = "energy",
             .title = "Energy: joules per operation, race-to-idle",
             .module = 3,
             .level = 3,
             .tracks = {},
             .question = "What does an operation cost in joules, and is it cheaper to finish fast and sleep?",
             .guide_page = "m3/energy.md",
             .source = "src/labs/m3/energy.cpp",
             .requires_gpu = {},
             .uses_gpu_if_present = true},
    .params = {dp::ParamSpec::real("window", "seconds per energy window (RAPL counts in ~1 ms steps)", 1.0, 0.1, 0.05, 10),
               dp::ParamSpec::integer("reps", "energy windows per variant (median and spread over them)", 5, 3, 1, 100),
               dp::ParamSpec::choice("gpu", "the GPU part: auto (where nvidia-smi reports an energy counter) or off",
                                     {"auto", "off"}, "auto"),
               dp::ParamSpec::real("gpu-seconds", "seconds of GEMMs per GPU energy window (at least 2 for a steady reading)",
                                   2.0, 2.0, 0.05, 60),
               dp::ParamSpec::integer("gpu-n", "GEMM size n (a multiple of 128; 0: 4096 on a GPU, 2048 quick, 256 on a CPU device)",
                                      0, 0, 0, 16384)},
    .run = run,
};
}

DP_REGISTER_LAB({energy_lab()});
