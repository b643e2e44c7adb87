// parallel-for — Split one loop over many threads: when does it get faster, and by how much?
//
// Two loops over one array of n floats, each run five ways, on 1..N threads (N = logical CPUs),
// then on 2N and 4N threads (oversubscribed: more threads than CPUs):
//   sum   the total of x[i]                     4 bytes read and 1 add per element: memory-bound
//   map   the total of p(x[i]), p a polynomial  4 bytes read and 64 flops per element:
//         of degree 32 (Horner's rule)           compute-bound. It runs over the first n/8
//                                                elements: its time is arithmetic, not memory
// The five ways:
//   serial       one thread, 16 running sums (the baseline every speedup divides)
//   std::thread  t threads started for each pass, each sums a contiguous share, then join
//   openmp       #pragma omp parallel for simd reduction(+:sum) num_threads(t)
//   tbb          tbb::parallel_reduce inside a tbb::task_arena of t threads
//   std::reduce  std::reduce / std::transform_reduce with std::execution::par_unseq (libstdc++
//                runs them on TBB), inside the same task_arena
// Every sum is kept in double (a float total stops growing once it reaches 2^24 times its addends).
// Speedup = serial time / time on t threads; efficiency = speedup / t. How a variant gets exactly
// t threads (a TBB arena) and which counts are swept: parallel_for_threads.hpp beside this file.
//
// ThreadSanitizer builds: Debian's libtbb and libgomp are not built with TSan, so TSan cannot see
// their synchronisation and reports races that are not there. There, `tbb` and `std::reduce` run
// on plain std::threads (as src/tensor/parallel.cpp does), and OpenMP is not compiled in
// (src/labs/CMakeLists.txt), so the `openmp` variant is left out. The result's notes say so.
//
//   dontpanic run parallel-for              1e8 floats (400 MB), every thread count (minutes)
//   dontpanic run parallel-for --quick      4x the last-level cache (16 to 64 MiB), a few counts
//   --param n=10000000                      elements
#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <execution>
#include <functional>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_reduce.h>

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/portability.hpp"  // DP_TSAN, DP_SANITIZED
#include "core/sweep.hpp"
#include "labs/m2/parallel_for_threads.hpp"  // Kernel, Prepared, thread_counts

namespace {

using namespace dp::parallel_for;  // the plumbing: Kernel, TbbThreads, Prepared, thread_counts

// ---------------------------------------------------------------------------------------------
// The work per element
// ---------------------------------------------------------------------------------------------

enum class Work { sum, map };

constexpr int kDegree = 32;  // map: 32 multiplies + 32 adds per element

// Coefficients 1/(k+1): every term stays small for |x| <= 1, so float keeps ~7 digits.
constexpr std::array<float, kDegree + 1> kCoefficients = [] {
  std::array<float, kDegree + 1> c{};
  for (int k = 0; k <= kDegree; ++k) c[static_cast<std::size_t>(k)] = 1.0f / static_cast<float>(k + 1);
  return c;
}();

inline float poly(float x) {
  float y = kCoefficients[kDegree];
  for (int k = kDegree - 1; k >= 0; --k) y = y * x + kCoefficients[static_cast<std::size_t>(k)];
  return y;
}

template <Work W>
inline double element(float x) {
  if constexpr (W == Work::sum) return x;
  else return poly(x);
}

// One thread's loop over a share: 16 running sums, so that adds do not wait on each other and the
// compiler can keep them in vector registers. serial, std::thread and tbb all call it.
template <Work W>
double share_total(std::span<const float> x) {
  constexpr std::size_t kLanes = 16;
  double partial[kLanes] = {};
  std::size_t i = 0;
  for (; i + kLanes <= x.size(); i += kLanes)
    for (std::size_t k = 0; k < kLanes; ++k) partial[k] += element<W>(x[i + k]);
  for (; i < x.size(); ++i) partial[0] += element<W>(x[i]);
  return std::accumulate(partial, partial + kLanes, 0.0);
}

// ---------------------------------------------------------------------------------------------
// The variants
// ---------------------------------------------------------------------------------------------

template <Work W>
double serial(std::span<const float> x, int) { return share_total<W>(x); }

// Thread i takes elements [n*i/t, n*(i+1)/t) and writes its total into its own slot; the caller
// runs share 0 itself and adds the slots up after join. `share` is the loop each thread runs.
double split_on_threads(std::span<const float> x, int threads,
                        const std::function<double(std::span<const float>)>& share) {
  const std::size_t n = x.size(), t = static_cast<std::size_t>(threads);
  auto part = [&](std::size_t i) { return x.subspan(n * i / t, n * (i + 1) / t - n * i / t); };
  std::vector<double> totals(t, 0.0);  // each written once, at the end: no false sharing to speak of
  {
    std::vector<std::jthread> helpers;
    for (std::size_t i = 1; i < t; ++i) helpers.emplace_back([&, i] { totals[i] = share(part(i)); });
    totals[0] = share(part(0));
  }  // jthreads join here
  return std::accumulate(totals.begin(), totals.end(), 0.0);
}

template <Work W>
double std_thread(std::span<const float> x, int threads) {
  return split_on_threads(x, threads, share_total<W>);
}

#ifdef _OPENMP
// OpenMP: the compiler outlines the loop into a function every thread of the team runs on its
// static share; `reduction` gives each a private sum and adds them up; `simd` lets it vectorize.
template <Work W>
double openmp(std::span<const float> x, int threads) {
  const float* p = x.data();
  const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(x.size());
  double sum = 0;
#pragma omp parallel for simd reduction(+ : sum) num_threads(threads) schedule(static)
  for (std::ptrdiff_t i = 0; i < n; ++i) sum += element<W>(p[i]);
  return sum;
}
#endif

#ifndef DP_TSAN
// TBB: split the range into chunks (at least kGrain elements each); idle threads steal chunks;
// partial totals are joined pairwise. It runs in the task_arena the caller entered (Prepared).
constexpr std::size_t kGrain = 16 * 1024;

template <Work W>
double tbb_reduce(std::span<const float> x, int) {
  return tbb::parallel_reduce(
      tbb::blocked_range<std::size_t>(0, x.size(), kGrain), 0.0,
      [&](const tbb::blocked_range<std::size_t>& r, double total) {
        return total + share_total<W>(x.subspan(r.begin(), r.size()));
      },
      std::plus<>());
}

// The standard library: the same loop, the split left to the implementation.
template <Work W>
double std_reduce(std::span<const float> x, int) {
  if constexpr (W == Work::sum) return std::reduce(std::execution::par_unseq, x.begin(), x.end(), 0.0);
  else
    return std::transform_reduce(std::execution::par_unseq, x.begin(), x.end(), 0.0, std::plus<>(),
                                 [](float v) { return static_cast<double>(poly(v)); });
}
#else
// ThreadSanitizer: the same two variants on plain std::threads (see the top of the file).
template <Work W>
double tbb_reduce(std::span<const float> x, int threads) { return std_thread<W>(x, threads); }
template <Work W>
double std_reduce(std::span<const float> x, int threads) {
  // Each element becomes a double first: libstdc++'s sequential std::reduce(first, last, 0.0) adds
  // pairs of floats in float before they meet the double total (the standard allows it), and
  // the check caught the float rounding that left.
  return split_on_threads(x, threads, [](std::span<const float> s) {
    return std::transform_reduce(s.begin(), s.end(), 0.0, std::plus<>(), [](float v) { return double(element<W>(v)); });
  });
}
#endif

// ---------------------------------------------------------------------------------------------
// Variants as data
// ---------------------------------------------------------------------------------------------

struct Variant {
  std::string name;
  Kernel sum, map;
  bool uses_tbb_arena;  // runs inside a task_arena of `threads`
};

std::vector<Variant> all_variants() {
  std::vector<Variant> v = {{"serial", serial<Work::sum>, serial<Work::map>, false},
                            {"std::thread", std_thread<Work::sum>, std_thread<Work::map>, false}};
#ifdef _OPENMP
  v.push_back({"openmp", openmp<Work::sum>, openmp<Work::map>, false});
#endif
  v.push_back({"tbb", tbb_reduce<Work::sum>, tbb_reduce<Work::map>, true});
  v.push_back({"std::reduce", std_reduce<Work::sum>, std_reduce<Work::map>, true});
  return v;
}

const char* work_name(Work w) { return w == Work::sum ? "sum" : "map"; }
Kernel kernel(const Variant& v, Work w) { return w == Work::sum ? v.sum : v.map; }

// ---------------------------------------------------------------------------------------------
// Reference and check
// ---------------------------------------------------------------------------------------------

struct Reference {
  long double total = 0;
  double allowed = 0;  // the worst-case rounding error of any variant, any order
};

// Long double sums of x and of p(x) (p in long double too, from the same float coefficients).
// Tolerances: adding n doubles in any order errs by at most (n-1)·u·Σ|terms| (u = DBL_EPSILON/2;
// we allow twice that). The map's float Horner evaluation adds at most 2·kDegree·u_f·Σ|c_k| per
// element for |x| <= 1 (u_f = FLT_EPSILON/2; again we allow twice that).
Reference reference(std::span<const float> x, Work w) {
  long double total = 0, magnitude = 0;
  for (float v : x) {
    long double y = v;
    if (w == Work::map) {
      y = kCoefficients[kDegree];
      for (int k = kDegree - 1; k >= 0; --k) y = y * v + kCoefficients[static_cast<std::size_t>(k)];
    }
    total += y;
    magnitude += std::fabs(y);
  }
  const double n = static_cast<double>(x.size());
  double allowed = (n - 1) * DBL_EPSILON * static_cast<double>(magnitude);
  if (w == Work::map) {
    double coefficients = 0;
    for (float c : kCoefficients) coefficients += std::fabs(c);
    allowed += n * 2 * kDegree * FLT_EPSILON * coefficients;
  }
  return {total, allowed};
}

// Every variant at every thread count of `counts`, on fresh random floats in [-1, 1] of an
// awkward size (not a multiple of 16 or of any thread count), one check per variant and loop.
void check_variants(dp::LabContext& ctx, const std::vector<Variant>& variants, const std::vector<int>& counts,
                    std::size_t n) {
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<float> x(n);
  for (float& v : x) v = value(rng);
  for (Work w : {Work::sum, Work::map}) {
    const Reference ref = reference(x, w);
    for (const Variant& v : variants) {
      double worst = 0;
      std::vector<std::string> got;
      for (int t : counts) {
        if (v.name == "serial" && t > 1) break;
        const double total = Prepared(kernel(v, w), v.uses_tbb_arena, t)(x);
        worst = std::max(worst, std::fabs(total - static_cast<double>(ref.total)));
        got.push_back(fmt::format("{}t {:.10g}", t, total));
        if (std::isnan(total)) worst = INFINITY;
      }
      ctx.result.add_check(fmt::format("{} {} ({} floats)", work_name(w), v.name, n), worst <= ref.allowed,
                           fmt::format("{}; reference {:.10g}; worst error {:.3g}, allowed {:.3g}",
                                       fmt::join(got, ", "), static_cast<double>(ref.total), worst, ref.allowed));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

std::string x_name(Work w, bool efficiency) {
  return fmt::format("threads ({}{})", work_name(w), efficiency ? ", efficiency" : "");
}

void run(dp::LabContext& ctx) {
  if (const long long n = ctx.params.integer("n"); n > 0 && n < 1000)
    throw dp::Error(fmt::format("n={} is too small; use 0 (automatic) or at least 1000", n));
  const int cpus = std::max(1, ctx.machine.threads);
  const auto variants = all_variants();
  const auto counts = thread_counts(cpus, ctx.quick);
#ifdef DP_TSAN
  ctx.result.notes.push_back(
      "ThreadSanitizer build: tbb and std::reduce run on plain std::threads here, and openmp is "
      "left out (Debian's libtbb and libgomp are not built with TSan, which would report races "
      "in them that are not there).");
#elif !defined(_OPENMP)
  ctx.result.notes.push_back("This build has no OpenMP (CMake did not find it): the openmp variant is left out.");
#endif

  // Check first: every variant on 1 thread, all CPUs and 4x oversubscribed.
  std::vector<int> check_counts{1};
  for (int t : {cpus, 4 * cpus})
    if (t != check_counts.back()) check_counts.push_back(t);
  check_variants(ctx, variants, check_counts, dp::kSanitized ? 100'003 : 1'000'003);
  if (!ctx.result.all_checks_passed()) return;

  // The timed array: n floats (auto: 1e8; quick: 4x the last-level cache, 16 to 64 MiB, so that
  // the sum streams from DRAM), capped by the machine's memory.
  std::uint64_t bytes = static_cast<std::uint64_t>(ctx.params.integer("n")) * sizeof(float);
  if (bytes == 0)
    bytes = ctx.quick ? std::clamp<std::uint64_t>(4 * dp::llc_bytes_or(ctx.machine, 32 << 20), 16 << 20, 64 << 20)
                      : std::uint64_t{100'000'000} * sizeof(float);
  if (dp::kSanitized) bytes = std::min<std::uint64_t>(bytes, 4 << 20);
  const dp::SizeLimit limit = dp::limit_working_set(bytes, ctx.machine, ctx.quick, "the array");
  if (!limit.note.empty()) ctx.result.notes.push_back(limit.note);
  std::vector<float> x(limit.bytes / sizeof(float));
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  for (float& v : x) v = value(rng);  // also maps every page before any timing
  const std::span<const float> sum_x(x), map_x = sum_x.first(x.size() / 8);
  const auto data = [&](Work w) { return w == Work::sum ? sum_x : map_x; };
  ctx.log << fmt::format("  sum: {} floats ({}), map: {} floats\n", x.size(),
                         dp::format_bytes(x.size() * sizeof(float)), map_x.size());

  // The baseline: serial, once per loop.
  double serial_ns[2] = {};
  for (Work w : {Work::sum, Work::map}) {
    const dp::Stats s = ctx.measure(fmt::format("{}/serial", work_name(w)),
                                    [&] { benchmark::DoNotOptimize(Prepared(kernel(variants[0], w), false, 1)(data(w))); });
    serial_ns[static_cast<int>(w)] = s.median_ns;
    ctx.result.add_point(fmt::format("{} serial", work_name(w)), x_name(w, false), 1, s, 1.0, "x serial", "pass");
  }

  dp::Sweep sweep(ctx, "threads", counts, {.weight = [](std::uint64_t) { return 1.0; }});
  for (std::uint64_t t64 : sweep) {
    const int t = static_cast<int>(t64);
    for (Work w : {Work::sum, Work::map}) {
      for (const Variant& v : variants) {
        if (v.name == "serial") continue;
        Prepared pass(kernel(v, w), v.uses_tbb_arena, t);
        const dp::Stats s = ctx.measure(fmt::format("{}/{}/{}", work_name(w), v.name, t),
                                        [&] { benchmark::DoNotOptimize(pass(data(w))); });
        const double speedup = serial_ns[static_cast<int>(w)] / s.median_ns;
        const std::string name = fmt::format("{} {}", work_name(w), v.name);
        ctx.result.add_point(name, x_name(w, false), t, s, speedup, "x serial", "pass");
        ctx.result.add_point(name + " eff", x_name(w, true), t, s, 100 * speedup / t, "% of ideal", "pass");
      }
    }
  }

  // Key figures: the best of each loop at all CPUs, as a speedup, and the sum also as GB/s
  // (compare with memory-bandwidth's read on all threads) and the map as GFLOP/s.
  for (Work w : {Work::sum, Work::map}) {
    const double base = serial_ns[static_cast<int>(w)];
    const double n = static_cast<double>(data(w).size());
    const auto rate = [&](double ns) {
      return w == Work::sum ? fmt::format("{:.1f} GB/s", n * sizeof(float) / ns)
                            : fmt::format("{:.1f} GFLOP/s", n * 2 * kDegree / ns);
    };
    ctx.result.headlines.push_back({fmt::format("{} serial", work_name(w)), rate(base)});
    const dp::Point* best = nullptr;
    std::string best_name;
    for (const Variant& v : variants)
      if (const dp::Point* p = ctx.result.point_at(fmt::format("{} {}", work_name(w), v.name), cpus))
        if (v.name != "serial" && (!best || p->median_ns < best->median_ns)) best = p, best_name = v.name;
    if (best)
      ctx.result.headlines.push_back(
          {fmt::format("{} best on {} threads", work_name(w), cpus),
           fmt::format("{}: {:.2f}x serial, {}", best_name, best->throughput, rate(best->median_ns))});
  }

  const std::vector<dp::Marker> markers{{static_cast<double>(cpus), fmt::format("{} CPUs", cpus)}};
  for (Work w : {Work::sum, Work::map}) {
    std::vector<std::string> speedups, efficiencies;
    for (const Variant& v : variants)
      if (v.name != "serial") {
        speedups.push_back(fmt::format("{} {}", work_name(w), v.name));
        efficiencies.push_back(speedups.back() + " eff");
      }
    const std::string what = w == Work::sum ? "sum of n floats (memory-bound)" : "sum of p(x), 64 flops per float (compute-bound)";
    ctx.result.plots.push_back(dp::PlotSpec{
        .name = fmt::format("{}-speedup", work_name(w)), .title = "Speedup: " + what,
        .xlabel = "threads", .ylabel = "speedup (x serial)", .y = dp::PlotSpec::Y::throughput,
        .logx = true, .logy = false, .variants = speedups, .markers = markers});
    ctx.result.plots.push_back(dp::PlotSpec{
        .name = fmt::format("{}-efficiency", work_name(w)), .title = "Efficiency: " + what,
        .xlabel = "threads", .ylabel = "efficiency (% of ideal)", .y = dp::PlotSpec::Y::throughput,
        .logx = true, .logy = false, .variants = efficiencies, .markers = markers});
  }
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "parallel-for",
             .title = "Data parallelism: parallel for and reductions",
             .module = 2,
             .level = 1,
             .tracks = {},
             .question = "How much faster does a loop get on more threads, with std::thread, OpenMP, TBB "
                         "and std::execution, when it is memory-bound and when it is compute-bound?",
             .guide_page = "m2/parallel-for.md",
             .source = "src/labs/m2/parallel_for.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("n",
                                      "floats in the array (0 = 1e8; with --quick 4x the last-level cache, "
                                      "16 to 64 MiB)",
                                      0, 0, 0, 1'000'000'000)},
    .run = run,
});
