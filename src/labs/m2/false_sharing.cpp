// false-sharing — Threads that never touch each other's data can still slow each other down.
//
// Every thread increments its own counter, nothing else. No counter is shared, so no thread ever
// waits for another: in principle. But a core owns memory a whole cache line (64 bytes) at a time.
// When two counters sit in the same line, each increment on one core takes the line away from
// the other core, and the line travels back and forth between them: *false sharing*.
//   packed     counters 8 bytes apart: eight of them share one 64-byte line
//   padded     counters 64 B, 128 B and std::hardware_destructive_interference_size apart (the
//              "interference size" series: what the standard library says a line is)
// The lab also sweeps the spacing (8 B to 256 B) at every thread count, which shows the step at
// the line size. Time: ns per increment = round time / increments per thread (all threads run
// together, each pinned to its own CPU): constant in the thread count when nothing is shared.
//
//   dontpanic run false-sharing            every thread count 1..CPUs
//   dontpanic run false-sharing --quick    powers of two and all CPUs (seconds)
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/sweep.hpp"
#include "core/thread_team.hpp"

namespace {

// ---------------------------------------------------------------------------------------------
// The variant: one loop, the counters' spacing is what changes
// ---------------------------------------------------------------------------------------------

using Counter = std::atomic<std::uint64_t>;

// A load and a store, not a fetch_add: an increment as plain as `++x` would be (two ordinary mov
// instructions on x86), but the compiler must do every one in memory, and it is not a data race,
// because only this thread ever writes this counter. (++x on a plain integer would be kept in a
// register and written once at the end: no traffic, nothing to see.)
void count(Counter& c, std::uint64_t times) {
  for (std::uint64_t i = 0; i < times; ++i) c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// `threads` counters, `spacing` bytes apart, in one buffer aligned to a page, so counter 0 starts a
// cache line and the spacing alone decides which counters share a line.
class Counters {
 public:
  Counters(int threads, std::size_t spacing) : spacing_(spacing) {
    const std::size_t bytes = (static_cast<std::size_t>(threads) * spacing + 4095) / 4096 * 4096;
    raw_.reset(static_cast<std::byte*>(std::aligned_alloc(4096, bytes)));
    if (!raw_) throw dp::Error("could not allocate the counters");
    for (int t = 0; t < threads; ++t) new (raw_.get() + static_cast<std::size_t>(t) * spacing_) Counter(0);
  }
  Counter& operator[](int t) { return *std::launder(reinterpret_cast<Counter*>(raw_.get() + static_cast<std::size_t>(t) * spacing_)); }

 private:
  struct Free {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::size_t spacing_;
  std::unique_ptr<std::byte[], Free> raw_;  // Counter is trivially destructible: nothing to destroy
};

constexpr std::uint64_t kIncrements = 1 << 16;  // per thread per round

struct Layout {
  std::string name;
  std::size_t spacing;
};

std::vector<Layout> layouts() {
  return {{"packed (8 B)", 8},
          {"padded 64 B", 64},
          {"padded 128 B", 128},
          {fmt::format("padded interference size ({} B)", std::hardware_destructive_interference_size),
           std::hardware_destructive_interference_size}};
}

const std::vector<std::size_t> kSpacings = {8, 16, 32, 64, 128, 256};

// ---------------------------------------------------------------------------------------------
// Check: each counter ends at exactly rounds * kIncrements
// ---------------------------------------------------------------------------------------------

// Runs `rounds` rounds on `threads` threads and compares every counter with the exact count.
bool counts_exact(dp::LabContext& ctx, const Layout& layout, int threads, int rounds) {
  Counters counters(threads, layout.spacing);
  dp::ThreadTeam team(threads, [&](int t) { count(counters[t], kIncrements); });
  for (int r = 0; r < rounds; ++r) team.run();
  const std::uint64_t want = static_cast<std::uint64_t>(rounds) * kIncrements;
  std::string wrong;
  for (int t = 0; t < threads; ++t)
    if (const std::uint64_t got = counters[t].load(); got != want) wrong += fmt::format(" counter {}: {};", t, got);
  ctx.result.add_check(fmt::format("{}, {} threads: every count exact", layout.name, threads), wrong.empty(),
                       wrong.empty() ? fmt::format("all {} counters = {} x {} = {}", threads, rounds, kIncrements, want)
                                     : fmt::format("want {}:{}", want, wrong));
  return wrong.empty();
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

std::vector<int> thread_counts(int cpus, bool quick) {
  std::vector<int> counts;
  for (int t = 1; t <= cpus; ++t)
    if (!quick || (t & (t - 1)) == 0 || t == cpus) counts.push_back(t);
  return counts;
}

std::string threads_name(int t) { return fmt::format("{} thread{}", t, t > 1 ? "s" : ""); }

void run(dp::LabContext& ctx) {
  const int cpus = std::max(1, ctx.machine.threads);
  if (cpus == 1) ctx.result.notes.push_back("One logical CPU: there is no second core to share a line with.");
  for (const Layout& l : layouts()) counts_exact(ctx, l, cpus, 3);
  if (!ctx.result.all_checks_passed()) return;

  // One measurement per (thread count, spacing): the layouts' series over threads and the
  // spacing series over bytes are two views of the same grid.
  std::vector<std::size_t> spacings = kSpacings;
  spacings.push_back(std::hardware_destructive_interference_size);
  std::sort(spacings.begin(), spacings.end());
  spacings.erase(std::unique(spacings.begin(), spacings.end()), spacings.end());
  dp::Sweep sweep(ctx, "threads", thread_counts(cpus, ctx.quick), {.weight = [](std::uint64_t) { return 1.0; }});
  for (std::uint64_t t64 : sweep) {
    const int t = static_cast<int>(t64);
    for (std::size_t spacing : spacings) {
      Counters counters(t, spacing);
      dp::ThreadTeam team(t, [&](int i) { count(counters[i], kIncrements); });
      const dp::Stats per = ctx.measure(fmt::format("{}t/{}B", t, spacing), [&] { team.run(); })
                                .per(static_cast<double>(kIncrements));
      ctx.result.add_point(threads_name(t), "bytes", static_cast<double>(spacing), per, 0, "", "increment");
      for (const Layout& l : layouts())
        if (l.spacing == spacing) ctx.result.add_point(l.name, "threads", t, per, 0, "", "increment");
    }
  }

  // The key figure: packed / padded at 2 threads (the fewest that can share a line) and at all.
  std::vector<int> headline_counts{2};
  if (cpus > 2) headline_counts.push_back(cpus);
  for (int t : headline_counts) {
    const dp::Point* packed = ctx.result.point_at("packed (8 B)", t);
    const dp::Point* padded = ctx.result.point_at("padded 64 B", t);
    if (packed && padded)
      ctx.result.headlines.push_back({fmt::format("packed / padded 64 B, {}", threads_name(t)),
                                      fmt::format("{:.1f}x ({:.2f} vs {:.2f} ns per increment)",
                                                  packed->median_ns / padded->median_ns, packed->median_ns,
                                                  padded->median_ns)});
  }

  std::vector<std::string> layout_names, thread_names;
  for (const Layout& l : layouts()) layout_names.push_back(l.name);
  for (int t : thread_counts(cpus, ctx.quick))
    if (ctx.result.find_series(threads_name(t))) thread_names.push_back(threads_name(t));
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "threads", .title = "False sharing: each thread increments its own counter",
      .xlabel = "threads (each pinned to its own CPU)", .ylabel = "ns per increment", .y = dp::PlotSpec::Y::time,
      .logx = false, .logy = true, .variants = layout_names});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "spacing", .title = "Counters further apart: the step at the cache line",
      .xlabel = "bytes between two threads' counters", .ylabel = "ns per increment", .y = dp::PlotSpec::Y::time,
      .logx = true, .logy = true, .variants = thread_names,
      .markers = {{64, "64 B line"}}});
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "false-sharing",
             .title = "False sharing: per-thread counters, packed and padded",
             .module = 2,
             .level = 2,
             .tracks = {},
             .question = "What does it cost when threads write their own counters, but the counters share a cache line?",
             .guide_page = "m2/false-sharing.md",
             .source = "src/labs/m2/false_sharing.cpp",
             .requires_gpu = {}},
    .params = {},
    .run = run,
});
