// cache-latency — How long does one load take, from L1 to DRAM?
//
// A pointer chase. The buffer is cut into slots of one cache line each; every slot holds the
// address of the next slot, and the slots are linked in the order of one random cycle through all
// of them (Sattolo's algorithm). Each load needs the address the previous load returned, so the CPU
// cannot overlap them, and the random order leaves the prefetchers nothing to guess: the time per
// step is the latency of wherever the working set lives. We sweep the working set from 4 KiB to
// 4x the last-level cache, and find the steps in the curve: each step is a cache running out.
//
//   dontpanic run cache-latency                      full sweep, 4 points per doubling (about a minute)
//   dontpanic run cache-latency --quick              two points per doubling (seconds)
//   --param max-kib=1048576                          largest working set (default: 4x the last-level cache)
//   --param points-per-doubling=8                    a finer sweep
//   --param huge-pages=on|both                       2 MiB pages (level 3: the TLB); both = two series
//
// Series: base-pages (the system's normal pages, 4 KiB on x86) and, with huge-pages=on|both, huge-pages
// (the same chase in a buffer the kernel was asked to back with 2 MiB transparent huge pages).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/page_mapping.hpp"
#include "core/sweep.hpp"

namespace {

// ---------------------------------------------------------------------------------------------
// The variant
// ---------------------------------------------------------------------------------------------

// One step is one load whose address is the value of the previous load. `noinline` keeps the loop
// the same wherever it is called from; the loop counter runs beside the chain, off its critical path.
[[gnu::noinline]] const void* chase(const void* slot, std::size_t steps) {
  for (std::size_t i = 0; i < steps; ++i) slot = *static_cast<const void* const*>(slot);
  return slot;
}

// Sattolo's algorithm: Fisher-Yates, except that j < i (never j == i). That one change makes the
// permutation a single cycle through all n slots: a chase started anywhere visits every slot once
// before it comes back. (Plain Fisher-Yates would leave short cycles that fit in a cache.)
std::vector<std::uint32_t> single_cycle(std::uint32_t n, std::mt19937_64& rng) {
  std::vector<std::uint32_t> next(n);
  std::iota(next.begin(), next.end(), 0u);
  for (std::uint32_t i = n - 1; i > 0; --i) {
    std::uniform_int_distribution<std::uint32_t> pick(0, i - 1);
    std::swap(next[i], next[pick(rng)]);
  }
  return next;
}

// Writes the cycle into the buffer: slot i (at base + i * stride) holds the address of slot next[i].
void link_slots(std::byte* base, std::size_t stride, const std::vector<std::uint32_t>& next) {
  for (std::size_t i = 0; i < next.size(); ++i)
    *reinterpret_cast<const void**>(base + i * stride) = base + next[i] * stride;
}

// ---------------------------------------------------------------------------------------------
// The check
// ---------------------------------------------------------------------------------------------

// The reference walk: follow the buffer one step at a time from slot 0, mark every slot seen, and
// compare each address with the one the index array says. The chase is right when it comes back to
// slot 0 after exactly n steps, having seen every slot once.
std::string check_cycle(const std::byte* base, std::size_t stride,
                        const std::vector<std::uint32_t>& next) {
  const std::size_t n = next.size();
  std::vector<bool> seen(n, false);
  const void* slot = base;
  std::size_t index = 0;
  for (std::size_t step = 0; step < n; ++step) {
    if (slot != base + index * stride)
      return fmt::format("step {}: the chase is at byte {}, the reference walk at slot {}", step,
                         static_cast<const std::byte*>(slot) - base, index);
    if (seen[index]) return fmt::format("slot {} visited twice within {} steps (a short cycle)", index, step);
    seen[index] = true;
    slot = chase(slot, 1);
    index = next[index];
  }
  if (slot != base) return fmt::format("after {} steps the chase is not back at slot 0", n);
  return {};
}

// ---------------------------------------------------------------------------------------------
// Finding the steps
// ---------------------------------------------------------------------------------------------

struct Plateau {
  std::size_t first = 0, last = 0;  // indices into the sweep
  double ns = 0;                    // median latency of its points
};

struct Step {
  double bytes = 0;                 // where latency is halfway (on a log scale) between plateaus
  double below_ns = 0, above_ns = 0;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// The steps of a latency curve measured at geometrically spaced working sets. In log-log terms:
//  1. a point is flat when latency grows by less than kFlatGrowth per doubling of the working set
//     (slope from its two neighbours); a run of flat points (at least half a doubling long) is a
//     plateau, its level the median of its points;
//  2. neighbouring plateaus less than kMinStep apart are one level (a small bump, e.g. the TLB);
//  3. between two levels, the step is where the curve crosses their geometric mean, interpolated
//     between the two points around it.
// Nothing here knows the cache sizes the OS reports: the steps come from the measurements alone.
std::vector<Step> find_steps(const std::vector<double>& bytes, const std::vector<double>& ns,
                             int points_per_doubling, bool& rising_at_end) {
  constexpr double kFlatGrowth = 1.23;  // 23% per doubling: log2 slope 0.3
  constexpr double kMinStep = 1.5;
  const std::size_t n = bytes.size();
  rising_at_end = false;
  if (n < 3) return {};
  std::vector<double> x(n), y(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = std::log2(bytes[i]), y[i] = std::log2(ns[i]);

  std::vector<bool> flat(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t lo = i == 0 ? 0 : i - 1, hi = i + 1 == n ? n - 1 : i + 1;
    flat[i] = (y[hi] - y[lo]) / (x[hi] - x[lo]) < std::log2(kFlatGrowth);
  }
  rising_at_end = !flat[n - 1];

  const std::size_t min_run = static_cast<std::size_t>(std::max(1, points_per_doubling / 2));
  std::vector<Plateau> levels;
  for (std::size_t i = 0; i < n;) {
    if (!flat[i]) { ++i; continue; }
    std::size_t j = i;
    while (j + 1 < n && flat[j + 1]) ++j;
    if (j - i + 1 >= min_run) {
      Plateau p{i, j, median({ns.begin() + static_cast<long>(i), ns.begin() + static_cast<long>(j) + 1})};
      if (!levels.empty() && p.ns < levels.back().ns * kMinStep && levels.back().ns < p.ns * kMinStep) {
        Plateau& prev = levels.back();  // one level with a bump in it: merge the two runs
        std::vector<double> both(ns.begin() + static_cast<long>(prev.first), ns.begin() + static_cast<long>(prev.last) + 1);
        both.insert(both.end(), ns.begin() + static_cast<long>(i), ns.begin() + static_cast<long>(j) + 1);
        prev.last = j;
        prev.ns = median(both);
      } else {
        levels.push_back(p);
      }
    }
    i = j + 1;
  }

  std::vector<Step> steps;
  for (std::size_t k = 0; k + 1 < levels.size(); ++k) {
    const Plateau &lo = levels[k], &hi = levels[k + 1];
    if (hi.ns <= lo.ns) continue;  // latency fell: not a cache running out
    const double middle = (std::log2(lo.ns) + std::log2(hi.ns)) / 2;
    for (std::size_t i = lo.last; i < hi.first; ++i) {
      if (y[i] < middle && y[i + 1] >= middle) {
        const double t = (middle - y[i]) / (y[i + 1] - y[i]);
        steps.push_back({std::exp2(x[i] + t * (x[i + 1] - x[i])), lo.ns, hi.ns});
        break;
      }
    }
  }
  return steps;
}

// 0.0659 -> "0.0659", 14.3 -> "14.3", 1543.2 -> "1543": three significant digits, no exponent.
std::string readable(double v) {
  return v >= 100 ? fmt::format("{:.0f}", v) : fmt::format("{:.3g}", v);
}

// "9.6 MiB": three significant digits, binary units.
std::string approx_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (bytes >= 1024 && u < 3) bytes /= 1024, ++u;
  return fmt::format("{:.{}f} {}", bytes, bytes >= 100 ? 0 : bytes >= 10 ? 1 : 2, units[u]);
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

// Working sets from 4 KiB to max_bytes, `per_doubling` points per doubling, whole cache lines.
std::vector<std::uint64_t> working_sets(std::size_t max_bytes, int per_doubling, std::size_t line) {
  std::vector<std::uint64_t> sizes;
  for (int k = 0;; ++k) {
    const auto bytes = static_cast<std::size_t>(4096.0 * std::exp2(static_cast<double>(k) / per_doubling)) / line * line;
    if (bytes > max_bytes) break;
    if (sizes.empty() || bytes != sizes.back()) sizes.push_back(bytes);
  }
  if (sizes.empty() || sizes.back() != max_bytes) sizes.push_back(max_bytes);
  return sizes;
}

// Loads per timed iteration: a fixed number, not the whole cycle, so that one iteration takes
// about 70 us in L1 and a few ms in DRAM whatever the working set.
constexpr std::size_t kStepsPerIteration = std::size_t{1} << 16;

void run(dp::LabContext& ctx) {
  const auto& machine = ctx.machine;
  const auto line = static_cast<std::size_t>(machine.cache_line_bytes());
  const std::uint64_t llc = machine.last_level_cache_bytes();
  const long long max_kib = ctx.params.integer("max-kib");
  // 4x the last-level cache shows the DRAM plateau; capped so quick runs stay quick.
  const dp::SizeLimit limit =
      max_kib > 0 ? dp::SizeLimit{static_cast<std::uint64_t>(max_kib) * 1024, {}}
                  : dp::limit_working_set(llc ? 4 * llc : std::uint64_t{256} << 20, machine, ctx.quick,
                                          "the largest working set (4x the last-level cache)");
  if (!limit.note.empty()) ctx.result.notes.push_back(limit.note);
  const std::size_t max_bytes = limit.bytes;
  if (max_bytes < 64 * 1024)
    throw dp::Error(fmt::format("max-kib={} is too small to see a cache step; use 0 (4x the "
                                "last-level cache) or at least 64", max_kib));
  if (max_kib == 0 && llc == 0)
    ctx.result.notes.push_back("The OS reports no last-level cache size; the sweep goes to 256 MiB.");
  const int per_doubling = static_cast<int>(ctx.params.integer("points-per-doubling"));
  const std::string huge_choice = ctx.params.text("huge-pages");

  struct PageKind { std::string series; bool huge; };
  std::vector<PageKind> kinds;
  if (huge_choice != "on") kinds.push_back({"base-pages", false});
  if (huge_choice != "off") kinds.push_back({"huge-pages", true});

  const std::string thp = dp::thp_mode();
  if (huge_choice != "off" && (thp.empty() || thp == "never"))
    ctx.result.notes.push_back(fmt::format(
        "Transparent huge pages are unavailable here (/sys/kernel/mm/transparent_hugepage/enabled "
        "{}): the huge-pages series runs on base pages.", thp.empty() ? "is missing" : "says never"));

  const auto sizes = working_sets(max_bytes, per_doubling, line);
  std::mt19937_64 rng(std::random_device{}());
  std::size_t checked = 0;
  std::size_t largest_checked = 0;

  for (const PageKind& kind : kinds) {
    dp::PageMapping buffer(max_bytes, kind.huge);  // 2 MiB-aligned, huge pages advised or not
    std::vector<double> xs, ns;
    // A step times a fixed number of loads, then builds the next chase (a cost that grows with the
    // set: about as much as timing once the set is a few hundred MiB). Each page kind gets an equal
    // share of what is left of a quick run's time budget.
    const dp::SweepOptions sweep_options{
        .weight = [](std::uint64_t bytes) { return static_cast<double>(bytes + (std::uint64_t{256} << 20)); },
        .budget_share = 1.0 / static_cast<double>(&kinds.back() - &kind + 1)};
    for (std::size_t bytes : dp::Sweep(ctx, kind.series + " working set", sizes, sweep_options)) {
      const auto slots = static_cast<std::uint32_t>(bytes / line);
      const auto next = single_cycle(slots, rng);
      link_slots(buffer.data(), line, next);

      // Check first: this buffer's chase must be one cycle through every slot.
      const std::string problem = check_cycle(buffer.data(), line, next);
      if (!problem.empty()) {
        ctx.result.add_check("chase visits every slot once per cycle", false,
                             fmt::format("{}, working set {}: {}", kind.series, dp::format_bytes(bytes), problem));
        return;
      }
      ++checked;
      largest_checked = std::max(largest_checked, bytes);

      // Then time. The chase carries on from where the last iteration stopped.
      const void* slot = buffer.data();
      const auto stats = ctx.measure(fmt::format("{}/{}", kind.series, bytes), [&] {
        slot = chase(slot, kStepsPerIteration);
        benchmark::DoNotOptimize(slot);
      });
      const dp::Stats per_load = stats.per(static_cast<double>(kStepsPerIteration));
      ctx.result.add_point(kind.series, "bytes", static_cast<double>(bytes), per_load,
                           1e3 / per_load.median_ns, "Mloads/s", "load");
      xs.push_back(static_cast<double>(bytes));
      ns.push_back(per_load.median_ns);
    }
    if (kind.huge) {
      const std::uint64_t huge = buffer.huge_bytes();
      ctx.result.notes.push_back(fmt::format(
          "huge-pages: the kernel backed {} of the {} buffer with huge pages{}.", dp::format_bytes(huge),
          dp::format_bytes(max_bytes), buffer.advised() ? "" : " (madvise was refused)"));
    }

    // The steps in this series' curve, beside what the OS reports.
    bool rising_at_end = false;
    const auto steps = find_steps(xs, ns, per_doubling, rising_at_end);
    std::string found;
    for (const Step& s : steps)
      found += fmt::format("{}{} ({} -> {} ns)", found.empty() ? "" : ", ", approx_bytes(s.bytes),
                           readable(s.below_ns), readable(s.above_ns));
    ctx.result.notes.push_back(fmt::format(
        "{}: latency steps at {}. A step is where latency is halfway, on a log scale, between two "
        "plateaus.{}", kind.series, found.empty() ? "none found" : found,
        rising_at_end ? " Latency was still rising at the largest working set: raise max-kib to see the last plateau." : ""));
    if (&kind == &kinds.front()) {
      std::string levels;
      for (const Step& s : steps) levels += readable(s.below_ns) + " ns, ";
      if (!steps.empty()) levels += readable(steps.back().above_ns) + " ns";
      ctx.result.headlines.push_back({"latency plateaus (" + kind.series + ")", levels.empty() ? "none found" : levels});
      std::string sizes_found;
      for (const Step& s : steps) sizes_found += (sizes_found.empty() ? "" : ", ") + approx_bytes(s.bytes);
      ctx.result.headlines.push_back({"cache sizes detected (" + kind.series + ")",
                                      sizes_found.empty() ? "none found" : sizes_found});
    }
  }
  ctx.result.add_check("chase visits every slot once per cycle", true,
                       fmt::format("all {} buffers are one cycle through all their slots ({} to {} slots)",
                                   checked, sizes.front() / line, largest_checked / line));

  std::string os_caches;
  std::vector<dp::Marker> markers;
  for (int level = 1; level <= 3; ++level) {
    if (const auto bytes = machine.cache_bytes(level)) {
      os_caches += fmt::format("{}L{} {}", os_caches.empty() ? "" : ", ", level, dp::format_bytes(bytes));
      markers.push_back({static_cast<double>(bytes), fmt::format("L{} {}", level, dp::format_bytes(bytes))});
    }
  }
  ctx.result.headlines.push_back({"cache sizes reported by the OS", os_caches.empty() ? "unknown" : os_caches});
  ctx.result.notes.push_back(
      "Detected sizes come from the curve alone. A private cache shows close to its size; a shared "
      "last-level cache (other cores, other virtual machines) can look smaller, and TLB misses can "
      "add a step of their own where the pages stop fitting in the TLB.");
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "latency", .title = "Pointer chase: time per dependent load", .xlabel = "working set",
      .ylabel = "ns per load (median, p10-p90 bars)", .y = dp::PlotSpec::Y::time, .logx = true,
      .logy = true, .markers = markers});
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "cache-latency",
             .title = "The latency ladder: L1, L2, L3, DRAM",
             .module = 1,
             .level = 1,
             .tracks = {},
             .question = "How long does one load take, from L1 to DRAM, and where are the steps?",
             .guide_page = "m1/cache-latency.md",
             .source = "src/labs/m1/cache_latency.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("max-kib", "largest working set in KiB (0 = 4x the last-level cache)",
                                      0, 0, 0, 4LL * 1024 * 1024),
               dp::ParamSpec::integer("points-per-doubling", "working sets per doubling of size", 4, 2, 1, 8),
               dp::ParamSpec::choice("huge-pages", "2 MiB transparent huge pages: off, on, or both series",
                                     {"off", "on", "both"}, "off")},
    .run = run,
    .memory_need = [](const dp::Params& p, const dp::MachineInfo&, bool) {
      const auto bytes = static_cast<std::uint64_t>(p.integer("max-kib")) * 1024;  // 0: auto, capped
      return dp::MemoryNeed{bytes, fmt::format("a {} pointer chain", dp::format_bytes(bytes))};
    },
    .memory_param = "max-kib",
});
