// measuring-noise — How much do timings of the same code vary, and why?
//
// One tiny, fixed piece of work (summing 4096 integers: 16 KiB, inside any L1 data cache) is timed
// call by call with std::chrono::steady_clock, many thousands of times, under three loads:
//   quiet             nothing else from this lab runs
//   one-busy-thread   the lab starts one thread that spins on another core
//   all-cores-busy    one spinning thread per core, so our thread must share a core with one
// Before each series the lab reads a few MiB of other data, as a program does between calls, so
// the first calls find their data out of the nearest caches. From the samples of each load:
//   warm-up           the first calls, then medians over ever longer stretches of calls
//   the slow tail     fastest, median, p90, p99, ..., slowest: the median shrugs off the rare slow
//                     call (a preemption, an interrupt) that pulls the mean up
// and beside them, under the same load:
//   google-benchmark  the same work timed as the labs time it: warm-up, loops long enough to time
//                     and divide, repetitions, median; what its repetitions smooth away
//   clock-read        the cost of one steady_clock::now(), and the clock's smallest step: why a
//                     call shorter than a few clock reads cannot be timed on its own
// The checks: every timed call returned the reference sum, the clock never went backwards, and the
// busy threads really ran while we measured.
//
//   dontpanic run measuring-noise            a million calls per load (seconds)
//   dontpanic run measuring-noise --quick    20,000 calls per load
//   --param samples=100000                   calls timed one by one, per load
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <numeric>
#include <random>
#include <span>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/lab.hpp"

namespace {

using Word = std::uint32_t;
using Clock = std::chrono::steady_clock;
constexpr std::size_t kWorkWords = 4096;  // 16 KiB

// ---------------------------------------------------------------- the variants ----------------

// The work being timed. `noinline` keeps it one real call per sample; the callers below also
// tell the compiler that memory may have changed before each call (ClobberMemory), so it can
// neither reuse the previous result nor move the call out of the timing loop.
[[gnu::noinline]] std::uint64_t tiny_work(std::span<const Word> a) {
  std::uint64_t sum = 0;
  for (Word x : a) sum += x;
  return sum;
}

struct Samples {
  std::vector<double> ns;      // one per call, in call order
  std::size_t wrong_sums = 0;  // calls whose sum was not the reference
  std::size_t backwards = 0;   // samples where the clock's second reading was earlier than its first
};

// The naive way, on purpose: read the clock, make one call, read the clock again. Each sample
// therefore includes about one clock read besides the work.
Samples time_each_call(std::span<const Word> a, std::uint64_t want, std::size_t count) {
  Samples s;
  s.ns.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    benchmark::ClobberMemory();
    const Clock::time_point t0 = Clock::now();
    const std::uint64_t sum = tiny_work(a);
    const Clock::time_point t1 = Clock::now();
    s.wrong_sums += sum != want;
    s.backwards += t1 < t0;
    s.ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
  }
  return s;
}

// Background load: `count` threads that spin until the object is destroyed. Each publishes how
// many times it has spun, so the check can confirm they really ran while we measured.
class BusyThreads {
 public:
  explicit BusyThreads(int count) : spins_(static_cast<std::size_t>(count)) {
    for (std::size_t i = 0; i < spins_.size(); ++i)
      threads_.emplace_back([this, i](std::stop_token stop) {
        std::uint64_t n = 0;
        while (!stop.stop_requested())
          if (++n % 1024 == 0) spins_[i].store(n, std::memory_order_relaxed);
      });
    for (const auto& s : spins_)  // start measuring only once every thread is spinning
      while (s.load(std::memory_order_relaxed) == 0) std::this_thread::yield();
  }
  std::uint64_t spins() const {
    std::uint64_t total = 0;
    for (const auto& s : spins_) total += s.load(std::memory_order_relaxed);
    return total;
  }

 private:
  std::vector<std::atomic<std::uint64_t>> spins_;
  std::vector<std::jthread> threads_;  // declared last, so stopped and joined first
};

// Reads other data, as a program does between two calls, pushing the work's 16 KiB out of the L1
// and L2 caches.
void other_work(std::span<const Word> other) {
  benchmark::DoNotOptimize(std::accumulate(other.begin(), other.end(), std::uint64_t{0}));
}

// The clock's smallest observable step: read it until the value changes, many times over.
double smallest_clock_step_ns() {
  double smallest = 1e18;
  for (int i = 0; i < 1000; ++i) {
    const Clock::time_point t0 = Clock::now();
    Clock::time_point t1 = Clock::now();
    while (t1 == t0) t1 = Clock::now();
    smallest = std::min(smallest, std::chrono::duration<double, std::nano>(t1 - t0).count());
  }
  return smallest;
}

// ---------------------------------------------------------------- reference and check ---------

std::uint64_t reference_sum(const std::vector<Word>& a) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += a[i];
  return sum;
}

// ---------------------------------------------------------------- the run ---------------------

struct Load {
  std::string name;
  int busy_threads;
};

// A point whose value has no spread of its own (one sample, or one statistic of many).
dp::Stats exactly(double ns, int reps) {
  dp::Stats s;
  s.median_ns = s.p10_ns = s.p90_ns = s.min_ns = ns;
  s.reps = reps;
  return s;
}

dp::Stats stats_of(const std::vector<double>& ns, std::size_t first, std::size_t last) {
  const std::vector<double> part(ns.begin() + static_cast<std::ptrdiff_t>(first),
                                 ns.begin() + static_cast<std::ptrdiff_t>(last));
  dp::Stats s;
  s.median_ns = dp::percentile(part, 0.5);
  s.p10_ns = dp::percentile(part, 0.1);
  s.p90_ns = dp::percentile(part, 0.9);
  s.min_ns = *std::min_element(part.begin(), part.end());
  s.reps = static_cast<int>(part.size());
  return s;
}

// Warm-up: the first eight calls one by one, then medians over stretches that grow by half each
// time (calls 9-12, 13-18, ...), so that a log-scale x axis shows both the start and the long run.
void add_warmup(dp::Result& result, const std::string& load, const std::vector<double>& ns) {
  std::size_t first = 0;
  while (first < ns.size()) {
    const std::size_t last = std::min(ns.size(), first < 8 ? first + 1 : first + first / 2);
    result.add_point("warm-up: " + load, "call number", static_cast<double>(first + 1), stats_of(ns, first, last), 0, "");
    first = last;
  }
}

// The slow tail: for N = 1, 2, 10, 100, ..., the time that 1 call in N exceeded (N = 1: the fastest
// call; N = 2: the median; N = 100: p99), and last, the slowest of all the calls.
void add_tail(dp::Result& result, const std::string& load, const std::vector<double>& ns) {
  const auto reps = static_cast<int>(ns.size());
  for (double one_in : {1.0, 2.0, 10.0, 100.0, 1e3, 1e4, 1e5})
    if (one_in * 10 <= static_cast<double>(ns.size()))  // at least 10 calls beyond that point
      result.add_point(load, "1 call in N", one_in, exactly(dp::percentile(ns, 1 - 1 / one_in), reps), 0, "");
  result.add_point(load, "1 call in N", static_cast<double>(ns.size()), exactly(dp::percentile(ns, 1), reps), 0, "");
}

double mean(const std::vector<double>& ns) {
  return std::accumulate(ns.begin(), ns.end(), 0.0) / static_cast<double>(ns.size());
}

std::string describe(const std::vector<double>& ns) {
  return fmt::format("min {:.0f}, median {:.0f}, mean {:.0f}, p99 {:.0f}, max {:.0f} ns",
                     dp::percentile(ns, 0), dp::percentile(ns, 0.5), mean(ns), dp::percentile(ns, 0.99),
                     dp::percentile(ns, 1));
}

void run(dp::LabContext& ctx) {
  const auto samples = static_cast<std::size_t>(ctx.params.integer("samples"));
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::vector<Load> loads = {{"quiet", 0}, {"one-busy-thread", 1}, {"all-cores-busy", cores}};

  // Fresh random input, and "other work" of 4x the L2 cache (1 to 64 MiB).
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<Word> value(0, (1u << 20) - 1);
  std::vector<Word> work(kWorkWords);
  for (Word& w : work) w = value(rng);
  const std::uint64_t want = reference_sum(work);
  const std::uint64_t l2 = ctx.machine.cache_bytes(2) ? ctx.machine.cache_bytes(2) : (1u << 20);
  std::vector<Word> other(std::clamp<std::uint64_t>(4 * l2, 1u << 20, 64u << 20) / sizeof(Word), 1);

  std::size_t wrong = 0, backwards = 0, loaded_series = 0, loads_ran = 0;
  for (const Load& load : loads) {
    ctx.log << fmt::format("  {}: {} calls timed one by one, then Google Benchmark\n", load.name, samples);
    BusyThreads busy(load.busy_threads);
    const std::uint64_t spins_before = busy.spins();
    other_work(other);
    const Samples s = time_each_call(work, want, samples);
    wrong += s.wrong_sums;
    backwards += s.backwards;
    if (s.wrong_sums > 0) break;  // numbers from wrong work are not results

    const auto x = static_cast<double>(load.busy_threads);
    add_warmup(ctx.result, load.name, s.ns);
    add_tail(ctx.result, load.name, s.ns);
    ctx.result.add_point("timed-alone", "busy threads", x, stats_of(s.ns, 0, s.ns.size()), 0, "");
    ctx.result.add_point("timed-alone-mean", "busy threads", x, exactly(mean(s.ns), static_cast<int>(s.ns.size())), 0, "");
    const auto gb = ctx.measure("google-benchmark/" + load.name, [&] {
      benchmark::ClobberMemory();
      benchmark::DoNotOptimize(tiny_work(work));
    });
    ctx.result.add_point("google-benchmark", "busy threads", x, gb, 0, "");
    constexpr int kReads = 100;  // per iteration, so the measuring lambda's own call is a small share
    const auto reads = ctx.measure("clock-read/" + load.name, [&] {
      for (int i = 0; i < kReads; ++i) benchmark::DoNotOptimize(Clock::now());
    });
    ctx.result.add_point("clock-read", "busy threads", x, reads.per(kReads), 0, "");
    // Asked once the whole series is measured: on a machine shared with other work, a busy thread
    // can wait longer than the 20 ms of single calls for its turn on a core.
    if (load.busy_threads > 0) ++loaded_series, loads_ran += busy.spins() > spins_before;
    ctx.result.headlines.push_back({"single calls, " + load.name, describe(s.ns)});
    if (load.busy_threads == 0)
      ctx.result.headlines.push_back({"first call, then calls 1000+ (quiet)",
                                      fmt::format("{:.0f} ns, then median {:.0f} ns", s.ns.front(),
                                                  stats_of(s.ns, std::min<std::size_t>(999, s.ns.size() - 1), s.ns.size()).median_ns)});
    ctx.result.headlines.push_back({"Google Benchmark, " + load.name,
                                    fmt::format("median {:.0f} ns per call, p10-p90 {:.0f}-{:.0f}, fastest {:.0f}, "
                                                "over {} repetitions",
                                                gb.median_ns, gb.p10_ns, gb.p90_ns, gb.min_ns, gb.reps)});
  }
  ctx.result.add_check("every timed call returned the reference sum", wrong == 0,
                       fmt::format("{} wrong sums; reference {}", wrong, want));
  ctx.result.add_check("steady_clock never went backwards", backwards == 0 && Clock::is_steady,
                       fmt::format("{} samples ended before they began; is_steady = {}", backwards, Clock::is_steady));
  ctx.result.add_check("busy threads ran while we measured", loads_ran == loaded_series,
                       fmt::format("they spun during {} of {} loaded series", loads_ran, loaded_series));

  const double tick_ns = 1e9 * Clock::period::num / Clock::period::den;
  ctx.result.headlines.push_back({"steady_clock", fmt::format("nominal tick {:g} ns, smallest step seen {:.0f} ns",
                                                              tick_ns, smallest_clock_step_ns())});

  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "warmup",
      .title = "The same call, from the first one on",
      .xlabel = "call number (after reading other data)",
      .ylabel = "ns per call (median of the stretch, p10-p90 bars)",
      .y = dp::PlotSpec::Y::time,
      .logx = true,
      .logy = true,
      .variants = {"warm-up: quiet", "warm-up: one-busy-thread", "warm-up: all-cores-busy"}});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "tail",
      .title = "The slow tail: the time that 1 call in N exceeded",
      .xlabel = "N (1: the fastest call, 2: the median, 100: p99; last point: the slowest)",
      .ylabel = "ns per call",
      .y = dp::PlotSpec::Y::time,
      .logx = true,
      .logy = true,
      .variants = {"quiet", "one-busy-thread", "all-cores-busy"}});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "load",
      .title = "One call: timed alone (median, mean), by Google Benchmark; one clock read",
      .xlabel = "busy threads started by the lab",
      .ylabel = "ns (median, p10-p90 bars)",
      .y = dp::PlotSpec::Y::time,
      .logx = false,
      .logy = true,
      .variants = {"timed-alone", "timed-alone-mean", "google-benchmark", "clock-read"}});
  ctx.result.notes.push_back(fmt::format(
      "This machine has {} hardware threads; all-cores-busy starts {} spinning threads. A sample times one call "
      "with two clock reads, so it includes about one clock read; Google Benchmark times long loops and divides.",
      cores, cores));
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "measuring-noise",
             .title = "Measuring noise: warm-up, medians, load, the clock",
             .module = 0,
             .level = 1,
             .tracks = {},
             .question = "How much do timings of the same code vary, and why?",
             .guide_page = "m0/measuring.md",
             .source = "src/labs/m0/measuring_noise.cpp"},
    .params = {dp::ParamSpec::integer("samples", "calls timed one by one, per load", 1'000'000, 20'000, 1000,
                                      100'000'000)},
    .run = run,
});
