// branchless.cpp — when does a branch cost more than doing the work on both paths?
//
// What: two small kernels, each written with a branch and without.
//   1. Sum of the values below a threshold t (a filter followed by a sum, `WHERE x < t SUM(x)`)
//      over n int32 values, as
//        branch     `if (x < t) sum += x;`, with the branch kept (see keep_branch below)
//        cmov       `sum += x < t ? x : 0;`, a conditional move, scalar
//        mask       `sum += x & -(x < t);`, arithmetic on an all-ones/all-zeros mask, scalar
//        simd       the mask loop left to the compiler's vectorizer: compares on 4-8 values at once
//        as written the plain `if` with nothing stopping the compiler (GCC -O3 vectorizes it)
//      on data whose order is swept from sorted (the branch goes one way for the first half,
//      the other way after: ~0% mispredictions) to random (50%): `disorder` d replaces each
//      element of a sorted array by a random one with probability d, so an ideal predictor
//      misses about d/2 of the branches.
//   2. Binary search (lower_bound) in a sorted array of n uint32 keys: with a branch, branchless
//      (a conditional move picks the half), std::lower_bound, and the Eytzinger layout (the array
//      stored as a breadth-first tree, searched branchless with a prefetch).
// Run:  dontpanic run branchless              (filter on 64 Ki values; search up to 16M keys)
//       dontpanic run branchless --quick
// Every variant must give the reference's sum or index exactly.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/lab.hpp"
#include "core/machine.hpp"
#include "core/portability.hpp"
#include "core/sweep.hpp"

namespace {

// ---------------------------------------------------------------------------------------------
// 1. Sum of the values below t: the variants
// ---------------------------------------------------------------------------------------------

// An empty asm statement the compiler must keep, where it stands, as if it did something. In the
// taken arm of an `if` it pins the branch: the compiler cannot run the arm on both paths (a
// conditional move) or on many elements at once (SIMD), since that would move the asm. It costs no
// instruction. (Clang's __builtin_unpredictable only pushes the other way; GCC's
// __builtin_expect_with_probability is a hint it may ignore; -fno-if-conversion is GCC-only and
// leaves the vectorizer free.)
#define KEEP_BRANCH() asm volatile("")

DP_NO_VECTORIZE std::int64_t sum_below_branch(std::span<const std::int32_t> x, std::int32_t t) {
  std::int64_t sum = 0;
  DP_LOOP_SCALAR
  for (const std::int32_t v : x)
    if (v < t) {
      KEEP_BRANCH();
      sum += v;
    }
  return sum;
}

DP_NO_VECTORIZE std::int64_t sum_below_cmov(std::span<const std::int32_t> x, std::int32_t t) {
  std::int64_t sum = 0;
  DP_LOOP_SCALAR
  for (const std::int32_t v : x) sum += v < t ? v : 0;  // GCC: cmp; cmovl (the page shows it)
  return sum;
}

DP_NO_VECTORIZE std::int64_t sum_below_mask(std::span<const std::int32_t> x, std::int32_t t) {
  std::int64_t sum = 0;
  DP_LOOP_SCALAR
  for (const std::int32_t v : x) {
    const std::int32_t keep = -static_cast<std::int32_t>(v < t);  // all ones or all zeros
    sum += v & keep;
  }
  return sum;
}

// The same mask loop, vectorized: one compare instruction makes the masks of 4 (SSE) or 8 (AVX2)
// values at a time. noinline only, so the objdump of this function is the loop measured.
[[gnu::noinline]] std::int64_t sum_below_simd(std::span<const std::int32_t> x, std::int32_t t) {
  std::int64_t sum = 0;
  for (const std::int32_t v : x) sum += v & -static_cast<std::int32_t>(v < t);
  return sum;
}

[[gnu::noinline]] std::int64_t sum_below_as_written(std::span<const std::int32_t> x, std::int32_t t) {
  std::int64_t sum = 0;
  for (const std::int32_t v : x)
    if (v < t) sum += v;
  return sum;
}

// ---------------------------------------------------------------------------------------------
// 2. Binary search: the first index i with a[i] >= key (a.size() if none)
// ---------------------------------------------------------------------------------------------

[[gnu::noinline]] std::size_t search_branch(std::span<const std::uint32_t> a, std::uint32_t key) {
  std::size_t lo = 0, hi = a.size();
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (a[mid] < key) {
      KEEP_BRANCH();
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// The range shrinks by half whatever the comparison says, so the loop runs exactly log2(n) times
// and only `lo` depends on the data: one select per step, which GCC 12 compiles to a cmov. It is
// the compiler's choice, not ours: the same select on a pointer (`base = c ? base + half : base`)
// came out as a branch, hint or not. "Probability 0.5" says the comparison is a coin toss, the
// case where a cmov is right; whether a given compiler listens shows only in its output.
[[gnu::noinline]] std::size_t search_branchless(std::span<const std::uint32_t> a, std::uint32_t key) {
  std::size_t lo = 0, n = a.size();
  if (n == 0) return 0;
  while (n > 1) {
    const std::size_t half = n / 2;
    lo = __builtin_expect_with_probability(a[lo + half - 1] < key, 1, 0.5) ? lo + half : lo;
    n -= half;
  }
  return lo + (a[lo] < key);
}

// Eytzinger layout: slot 1 is the root, the children of slot k are 2k and 2k+1. Filled by an
// in-order walk, so an in-order walk reads the sorted keys; rank[k] is slot k's sorted index.
struct Eytzinger {
  std::vector<std::uint32_t> keys;  // keys[0] unused
  std::vector<std::uint32_t> rank;

  explicit Eytzinger(std::span<const std::uint32_t> sorted)
      : keys(sorted.size() + 1), rank(sorted.size() + 1) {
    std::size_t next = 0;
    fill(sorted, 1, next);
  }
  void fill(std::span<const std::uint32_t> sorted, std::size_t k, std::size_t& next) {
    if (k > sorted.size()) return;
    fill(sorted, 2 * k, next);
    keys[k] = sorted[next];
    rank[k] = static_cast<std::uint32_t>(next++);
    fill(sorted, 2 * k + 1, next);
  }
};

// Go left or right with arithmetic (k = 2k or 2k+1), fetching the line of the node four levels
// down (16 keys of 4 bytes = one 64-byte line holds all 16 great-great-grandchildren) while
// this level is compared. The prefetch stays inside the array: prefetching far past its end
// (up to 16n keys) makes the CPU walk page tables for addresses that are not mapped, and that
// made this search slower than the plain one. At the end, k's trailing 1-bits are the right turns taken after the
// last left turn; dropping them lands on the answer's slot (0: every key is smaller).
[[gnu::noinline]] std::size_t search_eytzinger(const Eytzinger& e, std::uint32_t key) {
  const std::size_t n = e.keys.size() - 1;
  std::size_t k = 1;
  while (k <= n) {
    __builtin_prefetch(e.keys.data() + std::min(16 * k, n));
    k = 2 * k + (e.keys[k] < key);
  }
  k >>= __builtin_ffsll(static_cast<long long>(~k));
  return k == 0 ? n : e.rank[k];
}

std::size_t search_std(std::span<const std::uint32_t> a, std::uint32_t key) {
  return static_cast<std::size_t>(std::lower_bound(a.begin(), a.end(), key) - a.begin());
}

// ---------------------------------------------------------------------------------------------
// Inputs, references, checks
// ---------------------------------------------------------------------------------------------

constexpr std::int32_t kValueRange = 1 << 30;

// Sorted values, then each replaced by a random one with probability `disorder`; the threshold
// is the sorted array's median, so about half the values lie below it whatever the disorder.
struct FilterInput {
  std::vector<std::int32_t> x;
  std::int32_t t = 0;
};
FilterInput make_filter_input(std::size_t n, double disorder, std::mt19937& rng) {
  std::uniform_int_distribution<std::int32_t> value(0, kValueRange - 1);
  std::bernoulli_distribution replace(disorder);
  FilterInput in{std::vector<std::int32_t>(n), 0};
  for (auto& v : in.x) v = value(rng);
  std::sort(in.x.begin(), in.x.end());
  in.t = in.x[n / 2];
  for (auto& v : in.x)
    if (replace(rng)) v = value(rng);
  return in;
}

std::int64_t sum_below_reference(const std::vector<std::int32_t>& x, std::int32_t t) {
  std::int64_t sum = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (x.at(i) < t) sum += x.at(i);
  return sum;
}

std::size_t search_reference(const std::vector<std::uint32_t>& a, std::uint32_t key) {
  std::size_t i = 0;  // count the keys below `key`: the definition of lower_bound's index
  for (const std::uint32_t v : a) i += v < key;
  return i;
}

std::vector<std::uint32_t> sorted_keys(std::size_t n, std::mt19937& rng) {
  std::vector<std::uint32_t> a(n);
  for (auto& v : a) v = static_cast<std::uint32_t>(rng() >> 1);  // below 2^31: queries miss too
  std::sort(a.begin(), a.end());
  return a;
}

struct Filter {
  std::string name;
  std::int64_t (*fn)(std::span<const std::int32_t>, std::int32_t);
};
const std::vector<Filter> kFilters = {{"branch", sum_below_branch},
                                      {"cmov", sum_below_cmov},
                                      {"mask", sum_below_mask},
                                      {"simd", sum_below_simd},
                                      {"as written", sum_below_as_written}};

// Searches take the Eytzinger tree too; the others ignore it.
using Keys = std::span<const std::uint32_t>;
struct Search {
  std::string name;
  std::size_t (*fn)(Keys, const Eytzinger&, std::uint32_t);
};
const std::vector<Search> kSearches = {
    {"search with a branch", [](Keys a, const Eytzinger&, std::uint32_t k) { return search_branch(a, k); }},
    {"search branchless", [](Keys a, const Eytzinger&, std::uint32_t k) { return search_branchless(a, k); }},
    {"std::lower_bound", [](Keys a, const Eytzinger&, std::uint32_t k) { return search_std(a, k); }},
    {"eytzinger", [](Keys, const Eytzinger& e, std::uint32_t k) { return search_eytzinger(e, k); }}};

void check_all(dp::LabContext& ctx, std::mt19937& rng) {
  for (const double disorder : {0.0, 0.1, 1.0}) {
    const FilterInput in = make_filter_input(10007, disorder, rng);
    const std::int64_t want = sum_below_reference(in.x, in.t);
    for (const Filter& f : kFilters) {
      const std::int64_t got = f.fn(in.x, in.t);
      ctx.result.add_check(fmt::format("sum below t, {} (n=10007, disorder {})", f.name, disorder),
                           got == want, fmt::format("got {}, reference {}", got, want));
    }
  }
  for (const std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{10007}}) {
    std::vector<std::uint32_t> a = sorted_keys(n, rng);
    if (n > 2) std::fill(a.begin() + 100, a.begin() + 200, a[100]);  // a run of equal keys
    const Eytzinger e(a);
    std::vector<std::uint32_t> queries = {0, std::numeric_limits<std::uint32_t>::max(), a[0], a[n / 2],
                                          a[n - 1], a[n - 1] + 1, a[std::min<std::size_t>(150, n - 1)]};
    for (int i = 0; i < 1000; ++i) queries.push_back(static_cast<std::uint32_t>(rng() >> 1));
    for (const Search& s : kSearches) {
      std::size_t wrong = 0;
      std::string first;
      for (const std::uint32_t q : queries) {
        const std::size_t got = s.fn(a, e, q), want = search_reference(a, q);
        if (got != want && wrong++ == 0) first = fmt::format(": key {} gave {}, want {}", q, got, want);
      }
      ctx.result.add_check(fmt::format("search {} (n={})", s.name, n), wrong == 0,
                           fmt::format("{} of {} queries differ from the reference{}", wrong,
                                       queries.size(), first));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// run(): check, time, report
// ---------------------------------------------------------------------------------------------

// The misprediction rates (%) the filter sweep aims at: dense near 0, where the crossover lies.
const std::vector<double> kMissRates = {0, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 40, 50};
const std::vector<double> kMissRatesQuick = {0, 1, 2, 4, 8, 20, 50};

// The crossover from a model rather than from two noisy points: `branch` costs a + b * rate (a
// straight line fitted to every measured rate: b / 100 is the cost of one misprediction), the
// scalar branchless code a flat c (the median over the rates of the better of cmov and mask).
// The branch wins below rate (c - a) / b.
struct Crossover {
  double a = 0, b = 0, c = 0;
  double rate() const { return b > 0 ? (c - a) / b : -1; }
};
Crossover fit_crossover(const std::map<double, std::map<std::string, double>>& ns) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  std::vector<double> flat;
  for (const auto& [rate, by] : ns) {
    const double y = by.at("branch");
    sx += rate, sy += y, sxx += rate * rate, sxy += rate * y;
    flat.push_back(std::min(by.at("cmov"), by.at("mask")));
  }
  const double n = static_cast<double>(ns.size());
  Crossover x;
  x.b = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  x.a = (sy - x.b * sx) / n;
  x.c = dp::percentile(flat, 0.5);
  return x;
}

void run_filter(dp::LabContext& ctx, std::mt19937& rng) {
  const auto n = static_cast<std::size_t>(ctx.params.integer("filter-n"));
  std::map<double, std::map<std::string, double>> ns;  // rate -> variant -> ns per element
  for (const double rate : ctx.quick ? kMissRatesQuick : kMissRates) {
    const FilterInput in = make_filter_input(n, 2 * rate / 100, rng);
    for (const Filter& f : kFilters) {
      if (f.name == "as written" && rate != 0 && rate != 50) continue;  // it shows what the compiler did
      const dp::Stats s = ctx.measure(fmt::format("filter {}/miss={}%", f.name, rate), [&] {
        benchmark::DoNotOptimize(f.fn(in.x, in.t));
      });
      ctx.result.add_point(f.name, "mispredict %", rate, s.per(static_cast<double>(n)),
                           static_cast<double>(n) / s.median_ns, "elements/ns", "element");
      ns[rate][f.name] = s.median_ns / static_cast<double>(n);
    }
  }
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "filter", .title = fmt::format("sum of the values below t, {} int32 values", n),
      .xlabel = "branch mispredictions of an ideal predictor (%): 0 = sorted, 50 = random",
      .ylabel = "ns per element", .y = dp::PlotSpec::Y::time, .logx = false, .logy = false,
      .variants = {"branch", "cmov", "mask", "simd"}});
  const auto& at50 = ns.at(50.0);
  ctx.result.headlines.push_back(
      {"filter at 50% mispredicts: branch / branchless",
       fmt::format("cmov {:.1f}x, mask {:.1f}x, simd {:.1f}x, as written {:.1f}x faster than branch "
                   "({:.2f} ns per element)",
                   at50.at("branch") / at50.at("cmov"), at50.at("branch") / at50.at("mask"),
                   at50.at("branch") / at50.at("simd"), at50.at("branch") / at50.at("as written"),
                   at50.at("branch"))});
  const auto& at0 = ns.at(0.0);
  ctx.result.headlines.push_back(
      {"filter sorted (0% mispredicts), ns per element",
       fmt::format("branch {:.2f}, cmov {:.2f}, mask {:.2f}, simd {:.2f}", at0.at("branch"),
                   at0.at("cmov"), at0.at("mask"), at0.at("simd"))});
  const Crossover cross = fit_crossover(ns);
  ctx.result.headlines.push_back(
      {"branch, fitted: ns per element at 0% + per mispredict",
       fmt::format("{:.2f} + {:.1f} ns per misprediction (scalar branchless: {:.2f} flat)", cross.a,
                   cross.b * 100, cross.c)});
  const double rate = cross.rate();
  ctx.result.headlines.push_back(
      {"crossover: branch beats scalar branchless below",
       rate <= 0 ? std::string("never (branch slower even on sorted data)")
                 : fmt::format("{:.1f}% mispredictions (where the fitted line meets the flat one)", rate)});
}

void run_search(dp::LabContext& ctx, std::mt19937& rng) {
  // 12 bytes per key: the sorted array, and the Eytzinger copy with its ranks.
  const auto wanted = static_cast<std::uint64_t>(ctx.params.integer("search-n"));
  const dp::SizeLimit limit = dp::limit_working_set(12 * wanted, ctx.machine, ctx.quick, "the search's arrays");
  if (!limit.note.empty()) ctx.result.notes.push_back(limit.note);
  const auto sizes = dp::geometric_sizes(1024, std::min(wanted, limit.bytes / 12), 4);
  constexpr std::size_t kQueries = 4096;
  std::map<std::string, double> ns_at_last;
  dp::Sweep sweep(ctx, "search keys", sizes, {.label = [](std::uint64_t n) {
    return fmt::format("{} keys ({})", n, dp::format_bytes(4 * n)); }});
  for (const std::uint64_t n : sweep) {
    const std::vector<std::uint32_t> a = sorted_keys(n, rng);
    const Eytzinger e(a);
    std::vector<std::uint32_t> queries(kQueries);
    for (auto& q : queries) q = static_cast<std::uint32_t>(rng() >> 1);
    for (const Search& s : kSearches) {
      const dp::Stats st = ctx.measure(fmt::format("search {}/n={}", s.name, n), [&] {
        std::size_t acc = 0;  // summed so no search can be skipped
        for (const std::uint32_t q : queries) acc += s.fn(a, e, q);
        benchmark::DoNotOptimize(acc);
      });
      ctx.result.add_point(s.name, "keys", static_cast<double>(n), st.per(kQueries),
                           kQueries / st.median_ns * 1e3, "lookups/us", "lookup");
      ns_at_last[s.name] = st.median_ns / kQueries;
    }
  }
  std::vector<dp::Marker> markers;
  for (int level = 1; level <= 3; ++level)
    if (const auto bytes = ctx.machine.cache_bytes(level))
      markers.push_back({static_cast<double>(bytes) / 4.0, fmt::format("L{}", level)});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "search", .title = "lower_bound of a random key (independent lookups)",
      .xlabel = "keys in the sorted array (4 bytes each; markers: where they fill each cache)",
      .ylabel = "ns per lookup", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true,
      .markers = markers});
  ctx.result.headlines.push_back(
      {fmt::format("search at n={}: ns per lookup", sweep.last_done()),
       fmt::format("branch {:.1f}, branchless {:.1f}, std::lower_bound {:.1f}, eytzinger {:.1f}",
                   ns_at_last["search with a branch"], ns_at_last["search branchless"], ns_at_last["std::lower_bound"],
                   ns_at_last["eytzinger"])});
}

void run(dp::LabContext& ctx) {
  std::mt19937 rng(20250521);
  check_all(ctx, rng);
  if (!ctx.result.all_checks_passed()) return;
  run_filter(ctx, rng);
  run_search(ctx, rng);
  ctx.result.notes.push_back(
      "The x axis of the filter plot is the designed rate: each element is random with "
      "probability 2x, and an ideal predictor misses half of those. Hardware counters were not read.");
  if (dp::kSanitized)
    ctx.result.notes.push_back("Sanitizer build: the times mean nothing here, only the checks do.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "branchless",
             .title = "Branchless programming",
             .module = 2,
             .level = 3,
             .tracks = {},
             .question = "When does a mispredicted branch cost more than computing both outcomes, "
                         "and where does the branch win again?",
             .guide_page = "m2/branchless.md",
             .source = "src/labs/m2/branchless.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("filter-n", "int32 values in the filter (default: 256 KiB, in L2)",
                                      1 << 16, 1 << 16, 1024, 1 << 26),
               dp::ParamSpec::integer("search-n", "largest sorted array of the search; 1024, 4096, ... up to it",
                                      1 << 24, 1 << 20, 1024, 1 << 28)},
    .run = run,
});
