// timing.cpp — What does reading a clock cost, how fine is it, and what does timing change?
//
// What:
//   1. the clocks a C++ program on Linux can read: std::chrono's steady, high_resolution and
//      system clocks, clock_gettime with five clock ids, and the CPU's time-stamp counter (rdtsc,
//      rdtscp). For each: the cost of one read (Google Benchmark, 100 reads per iteration), the
//      resolution the kernel claims (clock_getres), and the smallest step seen: read the clock
//      until its value changes, many times, keep the smallest change.
//   2. the observer effect: one loop of small work items (a few ns each), run plain, then with a
//      clock read around every item, then printing a line per item (to /dev/null, through stdio's
//      buffer), then printing and flushing every line (one write system call each). Time per
//      item and how many times slower than plain.
// Run:  dontpanic run timing        dontpanic run timing --quick
// Checks: every loop computes the same answer as the plain one (timing must not change the
// result); no monotonic clock ever went backwards across all its reads; every clock's smallest
// step is at least the resolution the kernel claims for it (where it claims one).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/portability.hpp"

#if defined(__x86_64__)
#include <x86intrin.h>
#define DP_HAVE_TSC 1
#endif

namespace {

// ---------------------------------------------------------------------------------------------
// 1. The clocks: each one a function returning its reading as nanoseconds (TSC: cycles)
// ---------------------------------------------------------------------------------------------

struct ClockDef {
  std::string name;
  std::function<std::int64_t()> read;
  clockid_t id = -1;        // for clock_getres; -1: not a clock_gettime clock
  bool monotonic = true;    // never goes backwards (system_clock and REALTIME may: NTP, the admin)
  const char* unit = "ns";  // what one tick of `read` is
};

template <class Clock>
std::int64_t chrono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

template <clockid_t Id>
std::int64_t posix_ns() {
  timespec t{};
  clock_gettime(Id, &t);
  return std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

std::vector<ClockDef> clocks() {
  std::vector<ClockDef> c = {
      {"std::chrono::steady_clock", chrono_ns<std::chrono::steady_clock>, CLOCK_MONOTONIC},
      {"std::chrono::high_resolution_clock", chrono_ns<std::chrono::high_resolution_clock>, -1,
       std::chrono::high_resolution_clock::is_steady},
      {"std::chrono::system_clock", chrono_ns<std::chrono::system_clock>, CLOCK_REALTIME, false},
      {"CLOCK_MONOTONIC", posix_ns<CLOCK_MONOTONIC>, CLOCK_MONOTONIC},
      {"CLOCK_MONOTONIC_RAW", posix_ns<CLOCK_MONOTONIC_RAW>, CLOCK_MONOTONIC_RAW},
      {"CLOCK_MONOTONIC_COARSE", posix_ns<CLOCK_MONOTONIC_COARSE>, CLOCK_MONOTONIC_COARSE},
      {"CLOCK_PROCESS_CPUTIME_ID", posix_ns<CLOCK_PROCESS_CPUTIME_ID>, CLOCK_PROCESS_CPUTIME_ID},
      {"CLOCK_THREAD_CPUTIME_ID", posix_ns<CLOCK_THREAD_CPUTIME_ID>, CLOCK_THREAD_CPUTIME_ID},
  };
#if DP_HAVE_TSC
  c.push_back({"rdtsc", [] { return static_cast<std::int64_t>(__rdtsc()); }, -1, true, "cycles"});
  c.push_back({"rdtscp", [] {
                 unsigned core;
                 return static_cast<std::int64_t>(__rdtscp(&core));
               }, -1, true, "cycles"});
#endif
  return c;
}

double claimed_resolution_ns(clockid_t id) {
  timespec r{};
  if (id == -1 || clock_getres(id, &r) != 0) return 0;
  return static_cast<double>(r.tv_sec) * 1e9 + static_cast<double>(r.tv_nsec);
}

struct Steps {
  std::int64_t smallest = 0;  // in the clock's unit
  std::size_t backwards = 0;  // reads earlier than the one before
};

// Read the clock until it changes, `samples` times over; keep the smallest change. A clock that
// ticks every 4 ms (COARSE) takes 4 ms per sample, hence the time limit.
Steps observe_steps(const ClockDef& clock, int samples, double max_seconds) {
  Steps s{.smallest = INT64_MAX};
  const auto stop = std::chrono::steady_clock::now() + std::chrono::duration<double>(max_seconds);
  for (int i = 0; i < samples && std::chrono::steady_clock::now() < stop; ++i) {
    const std::int64_t t0 = clock.read();
    std::int64_t t1 = clock.read();
    while (t1 == t0) t1 = clock.read();
    s.backwards += t1 < t0;
    if (t1 > t0) s.smallest = std::min(s.smallest, t1 - t0);
  }
  if (s.smallest == INT64_MAX) s.smallest = 0;
  return s;
}

// ---------------------------------------------------------------------------------------------
// 2. The observer effect
// ---------------------------------------------------------------------------------------------

// One work item: a few ns of arithmetic on one value (xorshift, then a multiply-add).
inline std::uint64_t work_item(std::uint64_t x) {
  x ^= x << 13, x ^= x >> 7, x ^= x << 17;
  return x * 0x9E3779B97F4A7C15ull + 1;
}

struct Observed {
  std::uint64_t answer = 0;
  std::uint64_t clock_sum = 0;  // what the timed variant measured (used, so it is not optimized out)
};

[[gnu::noinline]] Observed plain(std::uint64_t seed, std::size_t items) {
  std::uint64_t x = seed;
  for (std::size_t i = 0; i < items; ++i) x = work_item(x);
  return {x};
}

[[gnu::noinline]] Observed timed_each(std::uint64_t seed, std::size_t items) {
  std::uint64_t x = seed, total = 0;
  for (std::size_t i = 0; i < items; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    x = work_item(x);
    total += static_cast<std::uint64_t>((std::chrono::steady_clock::now() - t0).count());
  }
  return {x, total};
}

[[gnu::noinline]] Observed printed_each(std::uint64_t seed, std::size_t items, std::FILE* sink, bool flush) {
  std::uint64_t x = seed;
  for (std::size_t i = 0; i < items; ++i) {
    x = work_item(x);
    std::fprintf(sink, "item %zu: %llu\n", i, static_cast<unsigned long long>(x));
    if (flush) std::fflush(sink);
  }
  return {x};
}

void run(dp::LabContext& ctx) {
  const auto items = static_cast<std::size_t>(ctx.params.integer("items"));
  const int step_samples = static_cast<int>(ctx.params.integer("step-samples"));

  // 1. Clocks.
  std::size_t backwards = 0, finer_than_claimed = 0;
  std::string backwards_where, finer_where;
  std::vector<std::string> clock_names;
  for (const ClockDef& clock : clocks()) {
    clock_names.push_back(clock.name);
    constexpr int kReads = 100;
    const auto cost = ctx.measure("read/" + clock.name, [&] {
      for (int i = 0; i < kReads; ++i) benchmark::DoNotOptimize(clock.read());
    });
    const Steps steps = observe_steps(clock, step_samples, ctx.quick ? 0.05 : 0.5);
    const double claimed = claimed_resolution_ns(clock.id);
    ctx.result.add_point(clock.name, "clock", double(clock_names.size()), cost.per(kReads), 0, "", "read");
    if (clock.monotonic && steps.backwards > 0) ++backwards, backwards_where += " " + clock.name;
    if (claimed > 0 && static_cast<double>(steps.smallest) < claimed) ++finer_than_claimed, finer_where += " " + clock.name;
    ctx.result.headlines.push_back(
        {clock.name, fmt::format("{:.1f} ns per read; smallest step seen {} {}{}", cost.per(kReads).median_ns, steps.smallest,
                                 clock.unit, claimed > 0 ? fmt::format(" (clock_getres: {:g} ns)", claimed) : "")});
  }
  ctx.result.add_check("no monotonic clock went backwards", backwards == 0,
                       backwards == 0 ? "across every read of the step search" : "backwards:" + backwards_where);
  ctx.result.add_check("no clock stepped finer than its claimed resolution", finer_than_claimed == 0,
                       finer_than_claimed == 0 ? "clock_getres holds" : "finer:" + finer_where);

  // 2. Observer effect.
  std::FILE* sink = std::fopen("/dev/null", "w");
  if (!sink) throw dp::Error("cannot open /dev/null for writing, which the printing variants print to");
  const std::uint64_t seed = std::random_device{}() | 1;
  const std::uint64_t want = plain(seed, items).answer;
  struct Variant {
    const char* name;
    std::function<Observed()> body;
  };
  const std::vector<Variant> variants = {
      {"plain loop", [&] { return plain(seed, items); }},
      {"steady_clock around each item", [&] { return timed_each(seed, items); }},
      {"fprintf each item (buffered)", [&] { return printed_each(seed, items, sink, false); }},
      {"fprintf + fflush each item", [&] { return printed_each(seed, items, sink, true); }},
  };
  double plain_ns = 0;
  std::string wrong;
  std::vector<std::string> variant_names;
  for (const Variant& v : variants) {
    variant_names.push_back(v.name);
    if (v.body().answer != want) wrong += fmt::format(" {};", v.name);
    const auto s = ctx.measure(fmt::format("observer/{}", v.name), [&] { benchmark::DoNotOptimize(v.body()); }).per(double(items));
    if (plain_ns == 0) plain_ns = s.median_ns;
    ctx.result.add_point(v.name, "variant", double(variant_names.size()), s, 0, "", "work item");
    ctx.result.headlines.push_back({fmt::format("observer: {}", v.name),
                                    fmt::format("{:.2f} ns per item, {:.1f}x the plain loop", s.median_ns, s.median_ns / plain_ns)});
  }
  std::fclose(sink);
  ctx.result.add_check("timing and printing did not change the answer", wrong.empty(),
                       wrong.empty() ? fmt::format("{} items, answer {:#x}", items, want) : "different:" + wrong);

  // One series per clock (per variant), at x = 1, 2, ...: the legend names them in that order.
  ctx.result.plots.push_back(dp::PlotSpec{.name = "clocks", .title = "the cost of reading each clock once",
                                          .xlabel = "clock (1, 2, ... in the legend's order)", .ylabel = "ns per read",
                                          .logx = false, .logy = true, .variants = clock_names});
  ctx.result.plots.push_back(dp::PlotSpec{.name = "observer", .title = "one loop, observed four ways",
                                          .xlabel = "variant (1, 2, ... in the legend's order)", .ylabel = "ns per work item",
                                          .logx = false, .logy = true, .variants = variant_names});
#if DP_HAVE_TSC
  ctx.result.notes.push_back("rdtsc counts at the CPU's nominal (base) frequency, not the current clock, on CPUs with an "
                             "invariant TSC: cycles of rdtsc are not core cycles.");
#endif
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times mean nothing here, only the checks do.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "timing",
             .title = "Timing: what clocks cost, how fine they are, and the observer effect",
             .module = 4,
             .level = 1,
             .tracks = {},
             .question = "What does reading a clock cost, and what does timing or printing inside a loop change?",
             .guide_page = "m4/timing.md",
             .source = "src/labs/m4/timing.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("items", "work items in the observer-effect loop", 1'000'000, 100'000, 1, 1'000'000'000),
               dp::ParamSpec::integer("step-samples", "clock changes observed per clock for its smallest step", 2000, 200, 1,
                                      1'000'000)},
    .run = run,
});
