// sorting.cpp — how fast can we sort, and when does sorting pay for itself?
//
// What: n keys (n = 1e3, 1e4, ... up to max-n) of four types (uint32, uint64, float, and a
// 32-bit key with a 32-bit value), in one of three orders (`dist`: random, nearly sorted = sorted
// with 1% of the keys swapped, duplicates = every key one of 1,000 values), sorted by
//   std::sort            introsort: quicksort, with heapsort as a fallback, insertion sort at the end
//   std::stable_sort     merge sort, with an n/2 buffer it allocates itself; equal keys keep their order
//   std::sort(par)       the same, parallel (libstdc++ runs it on TBB)
//   radix 8-bit/16-bit   our LSD radix sort (radix_sort.hpp): no comparisons, one pass per digit
//   tbb::parallel_sort   TBB's parallel quicksort
// Every time includes copying the unsorted input into the array being sorted; `copy` is that
// copy alone. Then the random-access lesson: summing table[idx[i]] for random indices, as they
// come, or sorted first (M1's permuted-arrays lab), with the sort's cost counted.
// Run:  dontpanic run sorting                        (n up to 1e8, capped by memory; minutes)
//       dontpanic run sorting --quick                (n up to 1e5)
//       dontpanic run sorting --param dist=duplicates
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <execution>
#include <functional>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <tbb/parallel_sort.h>

#include "core/lab.hpp"
#include "core/machine.hpp"
#include "core/portability.hpp"
#include "core/sweep.hpp"
#include "labs/m2/radix_sort.hpp"

namespace {

struct KeyValue {  // a record sorted by its key; the value says where it came from
  std::uint32_t key, value;
  bool operator==(const KeyValue&) const = default;
};
std::uint32_t key_of(KeyValue r) { return r.key; }
template <class T>
T key_of(T key) {
  return key;
}

// ---------------------------------------------------------------------------------------------
// The variants
// ---------------------------------------------------------------------------------------------

template <class T>
struct Variant {
  std::string name;
  bool stable;    // equal keys keep their input order (checked on key-value pairs)
  bool parallel;  // runs on TBB's threads
  std::function<void(std::span<T> data, std::span<T> buffer)> sort;
};

template <class T>
std::vector<Variant<T>> variants() {
  const auto less = [](const T& a, const T& b) { return key_of(a) < key_of(b); };
  const auto key = [](const T& r) { return key_of(r); };
  return {
      {"std::sort", false, false, [=](std::span<T> d, std::span<T>) { std::sort(d.begin(), d.end(), less); }},
      {"std::stable_sort", true, false,
       [=](std::span<T> d, std::span<T>) { std::stable_sort(d.begin(), d.end(), less); }},
      {"std::sort(par)", false, true,
       [=](std::span<T> d, std::span<T>) { std::sort(std::execution::par, d.begin(), d.end(), less); }},
      {"radix 8-bit", true, false, [=](std::span<T> d, std::span<T> b) { dp::radix::lsd_radix_sort<8>(d, b, key); }},
      {"radix 16-bit", true, false, [=](std::span<T> d, std::span<T> b) { dp::radix::lsd_radix_sort<16>(d, b, key); }},
      {"tbb::parallel_sort", false, true,
       [=](std::span<T> d, std::span<T>) { tbb::parallel_sort(d.begin(), d.end(), less); }},
  };
}

// Random access: the sum of table[idx[i]], in the order given.
std::uint64_t gather_sum(std::span<const std::uint32_t> table, std::span<const std::uint32_t> idx) {
  std::uint64_t sum = 0;
  for (const std::uint32_t i : idx) sum += table[i];
  return sum;
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

// TBB's threads synchronise inside a library built without ThreadSanitizer, so TSan would report
// races that are not there (as in src/tensor/parallel.cpp); the parallel variants are skipped.
#if defined(DP_TSAN)
constexpr bool kSkipParallel = true;
#else
constexpr bool kSkipParallel = false;
#endif

template <class T>
T random_key(std::mt19937_64& rng) {
  if constexpr (std::is_same_v<T, float>)
    return std::uniform_real_distribution<float>(-1e6f, 1e6f)(rng);  // negatives: the sign flip
  else if constexpr (std::is_same_v<T, KeyValue>)
    return {static_cast<std::uint32_t>(rng()), 0};
  else
    return static_cast<T>(rng());
}

template <class T>
std::vector<T> make_input(std::size_t n, const std::string& dist, std::mt19937_64& rng) {
  std::vector<T> v(n);
  if (dist == "duplicates") {
    std::vector<T> pool(1000);
    for (T& p : pool) p = random_key<T>(rng);
    std::uniform_int_distribution<std::size_t> pick(0, pool.size() - 1);
    for (T& x : v) x = pool[pick(rng)];
  } else {
    for (T& x : v) x = random_key<T>(rng);
  }
  if (dist == "nearly-sorted" && n > 1) {
    std::sort(v.begin(), v.end(), [](const T& a, const T& b) { return key_of(a) < key_of(b); });
    std::uniform_int_distribution<std::size_t> pos(0, n - 1);
    for (std::size_t s = 0; s < n / 100; ++s) std::swap(v[pos(rng)], v[pos(rng)]);
  }
  if constexpr (std::is_same_v<T, KeyValue>)
    for (std::size_t i = 0; i < n; ++i) v[i].value = static_cast<std::uint32_t>(i);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Reference and checks
// ---------------------------------------------------------------------------------------------

// The simplest sort there is without comparing neighbours: put every record in an ordered map
// under its key, in input order, and read the map back. Equal keys come out in input order.
template <class T>
std::vector<T> reference_sort(const std::vector<T>& input) {
  std::map<decltype(key_of(T{})), std::vector<T>> by_key;
  for (const T& r : input) by_key[key_of(r)].push_back(r);
  std::vector<T> out;
  for (const auto& [k, records] : by_key) out.insert(out.end(), records.begin(), records.end());
  return out;
}

// The first position where got and want differ, or "" if none.
template <class T>
std::string first_difference(const std::vector<T>& got, const std::vector<T>& want) {
  if (got.size() != want.size()) return fmt::format("sizes differ: {} vs {}", got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if constexpr (std::is_same_v<T, KeyValue>) {
      if (!(got[i] == want[i]))
        return fmt::format("[{}] got ({}, {}), want ({}, {})", i, got[i].key, got[i].value, want[i].key, want[i].value);
    } else if (!(got[i] == want[i])) {  // == on floats: -0.0 equals 0.0, as for std::sort
      return fmt::format("[{}] got {}, want {}", i, got[i], want[i]);
    }
  }
  return {};
}

// A variant must give the reference's order of keys. On key-value pairs a stable variant must
// give the reference exactly; an unstable one the same records, equal keys in any order (so the
// output, re-ordered by value within equal keys, must equal the reference).
template <class T>
void check_type(dp::LabContext& ctx, const std::string& type, std::size_t n, const std::string& dist,
                std::mt19937_64& rng) {
  const std::vector<T> input = make_input<T>(n, dist, rng);
  const std::vector<T> want = reference_sort(input);
  std::vector<T> got(n), buffer(n);
  for (const Variant<T>& v : variants<T>()) {
    if (v.parallel && kSkipParallel) continue;
    got = input;
    v.sort(got, buffer);
    std::string what = v.stable ? "equals the reference sort" : "equals the reference sort (keys)";
    if constexpr (std::is_same_v<T, KeyValue>) {
      if (v.stable) what += ", stable";
      else std::sort(got.begin(), got.end(), [](KeyValue a, KeyValue b) { return a.key < b.key || (a.key == b.key && a.value < b.value); });
    }
    const std::string diff = first_difference(got, want);
    ctx.result.add_check(fmt::format("{} {} {} (n={}, {})", v.name, type, what, n, dist), diff.empty(),
                         diff.empty() ? fmt::format("all {} records agree", n) : diff);
  }
}

void check_all(dp::LabContext& ctx, std::mt19937_64& rng) {
  // Sizes that are no power of two, large enough for the parallel sorts to split the work.
  const std::size_t n = ctx.quick ? 20011 : 100003;
  for (const std::string dist : {"random", "nearly-sorted", "duplicates"}) {
    check_type<std::uint32_t>(ctx, "u32", n, dist, rng);
    check_type<std::uint64_t>(ctx, "u64", n, dist, rng);
    check_type<float>(ctx, "float", n, dist, rng);
    check_type<KeyValue>(ctx, "pairs", n, dist, rng);
  }
  std::vector<std::uint32_t> table(1 << 16), idx(100003);
  for (auto& t : table) t = static_cast<std::uint32_t>(rng());
  for (auto& i : idx) i = static_cast<std::uint32_t>(rng() % table.size());
  std::uint64_t want = 0;
  for (std::size_t i = 0; i < idx.size(); ++i) want += table.at(idx.at(i));
  std::vector<std::uint32_t> sorted = idx, buffer(idx.size());
  dp::radix::lsd_radix_sort<8>(std::span(sorted), std::span(buffer));
  const std::uint64_t got = gather_sum(table, sorted);
  ctx.result.add_check("sum of table[idx[i]] with idx sorted equals the reference", got == want,
                       fmt::format("got {}, want {}", got, want));
}

// ---------------------------------------------------------------------------------------------
// run(): check, time, report
// ---------------------------------------------------------------------------------------------

// Very large sorts take seconds each: three repetitions are enough to see their spread.
// A quick run times 4 key types x 7 variants x 3 sizes: shorter repetitions keep it within its budget.
dp::MeasureConfig config_for(const dp::LabContext& ctx, std::size_t n) {
  dp::MeasureConfig c = ctx.measure_config;
  if (n >= 10'000'000 || ctx.quick) c.repetitions = std::min(c.repetitions, 3);
  if (ctx.quick) c.min_seconds = c.warmup_seconds = 0.004;
  return c;
}

// Times every variant on n keys of type T; returns ns per key by variant.
template <class T>
std::map<std::string, double> time_type(dp::LabContext& ctx, const std::string& type, std::size_t n,
                                        const std::string& dist, std::mt19937_64& rng) {
  const std::vector<T> input = make_input<T>(n, dist, rng);
  std::vector<T> data(n), buffer(n);
  std::map<std::string, double> ns;
  const auto time = [&](const std::string& name, auto&& sort) {
    const std::string series = fmt::format("{}, {}", name, type);
    const dp::Stats s = dp::measure(fmt::format("{}/{}/n={}", ctx.result.lab, series, n), [&] {
      std::copy(input.begin(), input.end(), data.begin());
      sort();
      benchmark::DoNotOptimize(data.data());
      benchmark::ClobberMemory();
    }, config_for(ctx, n));
    const double per_key = s.median_ns / static_cast<double>(n);
    ctx.result.add_point(series, "keys", static_cast<double>(n), s.per(static_cast<double>(n)),
                         1e3 / per_key, "Mkeys/s", "key");
    ns[name] = per_key;
  };
  time("copy", [] {});
  for (const Variant<T>& v : variants<T>())
    if (!(v.parallel && kSkipParallel)) time(v.name, [&] { v.sort(data, buffer); });
  return ns;
}

void run_sorts(dp::LabContext& ctx, std::mt19937_64& rng) {
  const std::string dist = ctx.params.text("dist");
  // Sorting needs the input, the array being sorted and the radix sort's buffer: 3 x 8 bytes per
  // key for the 8-byte types.
  const auto wanted = static_cast<std::uint64_t>(ctx.params.integer("max-n"));
  const dp::SizeLimit limit = dp::limit_working_set(24 * wanted, ctx.machine, ctx.quick, "the sorts' arrays");
  if (!limit.note.empty()) ctx.result.notes.push_back(limit.note);
  const auto sizes = dp::geometric_sizes(1000, std::min(wanted, limit.bytes / 24), 10);

  std::map<std::string, std::map<std::string, double>> last;  // type -> variant -> ns per key
  dp::Sweep sweep(ctx, "keys", sizes, {.label = [](std::uint64_t n) { return fmt::format("{} keys", n); },
                                       .budget_share = 0.7});
  for (const std::uint64_t n : sweep) {
    last["u32"] = time_type<std::uint32_t>(ctx, "u32", n, dist, rng);
    last["u64"] = time_type<std::uint64_t>(ctx, "u64", n, dist, rng);
    last["float"] = time_type<float>(ctx, "float", n, dist, rng);
    last["pairs"] = time_type<KeyValue>(ctx, "pairs", n, dist, rng);
  }
  for (const std::string type : {"u32", "u64", "float", "pairs"}) {
    std::vector<std::string> series;
    for (const auto& v : variants<std::uint32_t>())
      if (!(v.parallel && kSkipParallel)) series.push_back(fmt::format("{}, {}", v.name, type));
    series.push_back(fmt::format("copy, {}", type));
    ctx.result.plots.push_back(dp::PlotSpec{
        .name = type, .title = fmt::format("sorting {} keys ({})", type == "pairs" ? "key-value" : type, dist),
        .xlabel = "keys sorted", .ylabel = "ns per key (copying the input included)",
        .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = series});
    const auto& at = last[type];
    if (at.empty()) continue;
    std::string parallel;
    if (!kSkipParallel)
      parallel = fmt::format(", std::sort(par) {:.1f}, tbb {:.1f}", at.at("std::sort(par)"), at.at("tbb::parallel_sort"));
    ctx.result.headlines.push_back(
        {fmt::format("{} at n={}: ns per key", type, sweep.last_done()),
         fmt::format("std::sort {:.1f}, stable_sort {:.1f}, radix 8-bit {:.1f} ({:.1f}x std::sort), "
                     "radix 16-bit {:.1f}{}",
                     at.at("std::sort"), at.at("std::stable_sort"), at.at("radix 8-bit"),
                     at.at("std::sort") / at.at("radix 8-bit"), at.at("radix 16-bit"), parallel)});
  }
  if (kSkipParallel)
    ctx.result.notes.push_back("ThreadSanitizer build: std::sort(par) and tbb::parallel_sort are skipped "
                               "(TBB is not built with TSan, which would report its synchronisation as races).");
  ctx.result.notes.push_back(fmt::format("The parallel sorts may use all {} logical CPUs; every other variant one.",
                                         ctx.machine.threads));
}

// Sum table[idx[i]] for `lookups` random indices into tables of growing size: in the order given,
// with idx sorted beforehand (the sort not timed), and sorting a copy of idx first (timed).
void run_gather(dp::LabContext& ctx, std::mt19937_64& rng) {
  const auto lookups = static_cast<std::size_t>(ctx.params.integer("lookups"));
  const auto wanted = static_cast<std::uint64_t>(ctx.params.integer("max-table-mib")) << 20;
  const dp::SizeLimit limit = dp::limit_working_set(wanted, ctx.machine, ctx.quick, "the gather's table");
  if (!limit.note.empty()) ctx.result.notes.push_back(limit.note);
  const auto sizes = dp::geometric_sizes(std::uint64_t{256} << 10, limit.bytes, 4);
  std::vector<std::uint32_t> idx(lookups), sorted(lookups), work(lookups), buffer(lookups);
  double random_ns = 0, sorted_ns = 0, sort_ns = 0;
  double pays_from = 0;  // the smallest table where sorting first wins even in a single pass
  dp::Sweep sweep(ctx, "table", sizes);
  for (const std::uint64_t bytes : sweep) {
    std::vector<std::uint32_t> table(bytes / 4);
    for (auto& t : table) t = static_cast<std::uint32_t>(rng());
    for (auto& i : idx) i = static_cast<std::uint32_t>(rng() % table.size());
    sorted = idx;
    dp::radix::lsd_radix_sort<8>(std::span(sorted), std::span(buffer));
    const auto time = [&](const std::string& name, auto&& body) {
      const dp::Stats s = ctx.measure(fmt::format("{}/table={}", name, bytes), [&] { benchmark::DoNotOptimize(body()); });
      ctx.result.add_point(name, "bytes", static_cast<double>(bytes), s.per(static_cast<double>(lookups)),
                           static_cast<double>(lookups) / s.median_ns * 1e3, "Mlookups/s", "lookup");
      return s.median_ns / static_cast<double>(lookups);
    };
    random_ns = time("gather, random order", [&] { return gather_sum(table, idx); });
    sorted_ns = time("gather, indices already sorted", [&] { return gather_sum(table, sorted); });
    const double both = time("sort indices, then gather", [&] {
      std::copy(idx.begin(), idx.end(), work.begin());
      dp::radix::lsd_radix_sort<8>(std::span(work), std::span(buffer));
      return gather_sum(table, work);
    });
    sort_ns = both - sorted_ns;
    if (both < random_ns && pays_from == 0) pays_from = static_cast<double>(bytes);
  }
  std::vector<dp::Marker> markers;
  for (int level = 2; level <= 3; ++level)
    if (const auto b = ctx.machine.cache_bytes(level)) markers.push_back({static_cast<double>(b), fmt::format("L{}", level)});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "gather", .title = fmt::format("sum of table[idx[i]], {} random indices", lookups),
      .xlabel = "table size", .ylabel = "ns per lookup", .y = dp::PlotSpec::Y::time, .logx = true,
      .logy = true, .markers = markers});
  const double saved = random_ns - sorted_ns;
  ctx.result.headlines.push_back(
      {fmt::format("gather, table {}: ns per lookup", dp::format_bytes(sweep.last_done())),
       fmt::format("random {:.2f}, sorted {:.2f}, sorting costs {:.2f}: {}", random_ns, sorted_ns, sort_ns,
                   saved <= 0 ? std::string("sorting never pays")
                              : fmt::format("pays for itself after {:.1f} passes over the same indices", sort_ns / saved))});
  ctx.result.headlines.push_back(
      {"sort then gather beats the random gather in one pass from",
       pays_from > 0 ? dp::format_bytes(static_cast<std::uint64_t>(pays_from)) + " tables" : "no table size measured"});
}

void run(dp::LabContext& ctx) {
  std::mt19937_64 rng(20250522);
  check_all(ctx, rng);
  if (!ctx.result.all_checks_passed()) return;
  run_sorts(ctx, rng);
  run_gather(ctx, rng);
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times mean nothing, only the checks do.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "sorting",
             .title = "Sorting and random access",
             .module = 2,
             .level = 3,
             .tracks = {},
             .question = "How fast do std::sort, parallel sorts and a radix sort sort millions of keys, "
                         "and when does sorting indices before a gather pay for itself?",
             .guide_page = "m2/sorting.md",
             .source = "src/labs/m2/sorting.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("max-n", "largest number of keys; 1e3, 1e4, ... up to it",
                                      100'000'000, 100'000, 1000, 1'000'000'000),
               dp::ParamSpec::choice("dist", "the keys' order before sorting",
                                     {"random", "nearly-sorted", "duplicates"}, "random"),
               dp::ParamSpec::integer("lookups", "random indices in the gather", 10'000'000, 1 << 18, 1000,
                                      100'000'000),
               dp::ParamSpec::integer("max-table-mib", "largest gather table, in MiB (from 256 KiB, x4)",
                                      1024, 64, 1, 16384)},
    .run = run,
});
