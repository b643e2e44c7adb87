// access-patterns — What does reading memory out of order cost?
//
// We sum an array of 32-bit integers three ways and time each, for working sets from 4 KiB
// (fits in L1) to 4x the last-level cache (only DRAM can hold it):
//   sequential   a[0], a[1], a[2], ...              the prefetcher's favourite
//   stride-S     a[0], a[S], a[2S], ..., then a[1], a[1+S], ...   every element, S apart
//   random       a[perm[0]], a[perm[1]], ...        a precomputed random permutation
// Every variant touches every element exactly once, so every sum must equal the reference.
// With 4-byte elements and 64-byte lines, stride-16 reads one element per cache line: from then
// on each load may need a whole line of its own.
//
//   dontpanic run access-patterns            full sizes (a minute or two)
//   dontpanic run access-patterns --quick    a few sizes (seconds)
//   --param max-kib=65536                    largest working set (default: 4x the last-level cache,
//                                            at most 256 MiB in quick mode, RAM/4 in full mode)
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/sweep.hpp"

namespace {

using Element = std::uint32_t;

// ---------------------------------------------------------------------------------------------
// The variants
// ---------------------------------------------------------------------------------------------

std::uint64_t sum_sequential(std::span<const Element> a) {
  std::uint64_t sum = 0;
  for (Element v : a) sum += v;
  return sum;
}

// Visits every element: first 0, S, 2S, ...; then 1, 1+S, ...; and so on for each offset.
std::uint64_t sum_strided(std::span<const Element> a, std::size_t stride) {
  std::uint64_t sum = 0;
  for (std::size_t offset = 0; offset < stride; ++offset)
    for (std::size_t i = offset; i < a.size(); i += stride) sum += a[i];
  return sum;
}

// The order comes from `order`, a permutation of 0..n-1 made before timing starts. Note that this
// variant also streams the 4-byte index array: the loads of `a` are the random part.
std::uint64_t sum_random(std::span<const Element> a, std::span<const std::uint32_t> order) {
  std::uint64_t sum = 0;
  for (std::uint32_t i : order) sum += a[i];
  return sum;
}

// ---------------------------------------------------------------------------------------------
// The reference
// ---------------------------------------------------------------------------------------------

// The simplest thing that can be right: add the elements up, one by one, in 64 bits.
std::uint64_t reference_sum(std::span<const Element> a) {
  return std::accumulate(a.begin(), a.end(), std::uint64_t{0});
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

struct Variant {
  std::string name;
  std::size_t stride;  // 1 = sequential, 0 = random
};

std::uint64_t run_variant(const Variant& v, std::span<const Element> a,
                          std::span<const std::uint32_t> order) {
  if (v.stride == 0) return sum_random(a, order);
  if (v.stride == 1) return sum_sequential(a);
  return sum_strided(a, v.stride);
}

void run(dp::LabContext& ctx) {
  const auto& machine = ctx.machine;
  const std::size_t line_elements = static_cast<std::size_t>(machine.cache_line_bytes()) / sizeof(Element);
  // Up to 4x the last-level cache (only DRAM holds that), capped so quick runs stay quick.
  const long long max_kib_param = ctx.params.integer("max-kib");
  const dp::SizeLimit limit =
      max_kib_param > 0 ? dp::SizeLimit{static_cast<std::uint64_t>(max_kib_param) * 1024, {}}
                        : dp::limit_working_set(4 * dp::llc_bytes_or(machine, 8u << 20), machine, ctx.quick,
                                                "the largest working set (4x the last-level cache)");
  if (!limit.note.empty()) ctx.result.notes.push_back(limit.note);
  const std::size_t max_bytes = limit.bytes;
  if (max_bytes < 4096)
    throw dp::Error(fmt::format("max-kib={} is below the smallest working set; use 0 (auto) or at least 4", max_kib_param));
  if (max_bytes / sizeof(Element) > UINT32_MAX)
    throw dp::Error("max-kib is too large for 32-bit indices; use at most 16777212 (16 GiB - 4 KiB)");

  std::vector<Variant> variants{{"sequential", 1}};
  const std::vector<std::size_t> strides = ctx.quick ? std::vector<std::size_t>{4, line_elements}
                                                     : std::vector<std::size_t>{2, 4, 8, 16, 32, 64};
  for (auto s : strides) variants.push_back({fmt::format("stride-{}", s), s});
  if (std::find(strides.begin(), strides.end(), line_elements) == strides.end())
    variants.push_back({fmt::format("stride-{}", line_elements), line_elements});
  variants.push_back({"random", 0});

  // One buffer of the largest size, filled with fresh random values as the sweep reaches them
  // (a quick run that stops early never touches the rest); smaller working sets use its
  // beginning. The capacity is reserved once, so the data never moves. Values below 2^20 keep
  // every sum far from overflow.
  std::vector<Element> data;
  data.reserve(max_bytes / sizeof(Element));
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<Element> value(0, (1u << 20) - 1);

  std::vector<std::size_t> mismatches(variants.size(), 0);
  std::vector<std::string> first_mismatch(variants.size());
  // Quick mode: every 4x. Full mode: every doubling and the point halfway (x1.5) in between.
  dp::Sweep sweep(ctx, "working set", dp::geometric_sizes(4096, max_bytes, ctx.quick ? 4 : 2, !ctx.quick));
  std::vector<std::uint32_t> order;
  for (std::size_t bytes : sweep) {
    const std::size_t n = bytes / sizeof(Element);
    while (data.size() < n) data.push_back(value(rng));
    const std::span<const Element> a(data.data(), n);
    order.resize(n);
    std::iota(order.begin(), order.end(), 0u);
    std::shuffle(order.begin(), order.end(), rng);

    // Check first: every variant's sum must equal the reference, exactly.
    const std::uint64_t want = reference_sum(a);
    for (std::size_t v = 0; v < variants.size(); ++v) {
      const std::uint64_t got = run_variant(variants[v], a, order);
      if (got != want && mismatches[v]++ == 0)
        first_mismatch[v] = fmt::format("at {}: got {}, want {}", dp::format_bytes(bytes), got, want);
    }
    // Then time. One iteration sums the whole working set once.
    for (std::size_t v = 0; v < variants.size(); ++v) {
      const auto stats = ctx.measure(fmt::format("{}/{}", variants[v].name, bytes), [&] {
        benchmark::DoNotOptimize(run_variant(variants[v], a, order));
      });
      const double gb_per_s = static_cast<double>(bytes) / stats.median_ns;  // bytes/ns = GB/s
      ctx.result.add_point(variants[v].name, "bytes", static_cast<double>(bytes),
                           stats.per(static_cast<double>(n)), gb_per_s, "GB/s", "element");
    }
  }
  for (std::size_t v = 0; v < variants.size(); ++v)
    ctx.result.add_check(
        "sum agrees: " + variants[v].name, mismatches[v] == 0,
        mismatches[v] == 0
            ? fmt::format("equal to the reference sum at all {} working sets", sweep.steps_done())
            : fmt::format("{} of {} working sets differ; first {}", mismatches[v], sweep.steps_done(), first_mismatch[v]));

  // Plots: ns per element and GB/s against working set, with the cache sizes marked.
  std::vector<dp::Marker> markers;
  for (int level = 1; level <= 3; ++level)
    if (auto bytes = machine.cache_bytes(level))
      markers.push_back({static_cast<double>(bytes), fmt::format("L{} {}", level, dp::format_bytes(bytes))});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "time", .title = "Summing an array: time per element", .xlabel = "working set",
      .ylabel = "ns per element (median, p10-p90 bars)", .y = dp::PlotSpec::Y::time, .logx = true,
      .logy = true, .markers = markers});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "bandwidth", .title = "Summing an array: useful bytes per second", .xlabel = "working set",
      .ylabel = "GB/s (array bytes / time, log scale)", .y = dp::PlotSpec::Y::throughput, .logx = true,
      .logy = true, .markers = markers});

  // Key figures: each cache level at half its size (safely inside it), and DRAM at the largest set.
  struct Where { std::string name; double bytes; };
  std::vector<Where> places;
  for (int level = 1; level <= 3; ++level)
    if (auto bytes = machine.cache_bytes(level)) places.push_back({fmt::format("L{}", level), bytes / 2.0});
  // The largest set measured is DRAM only if it is well past the last-level cache (a quick run on
  // a machine with a huge cache may have stopped inside it).
  const double largest = static_cast<double>(sweep.last_done());
  const double llc = static_cast<double>(machine.last_level_cache_bytes());
  places.push_back({llc > 0 && largest >= 2 * llc ? "DRAM" : "largest set", largest});
  for (const char* variant : {"sequential", "random"}) {
    for (const auto& place : places) {
      const dp::Point* p = ctx.result.nearest_point(variant, place.bytes);
      if (p == nullptr) continue;
      ctx.result.headlines.push_back({fmt::format("{} {} ({})", variant, place.name, dp::format_bytes(static_cast<std::uint64_t>(p->x))),
                                      fmt::format("{:.2f} ns/element, {:.1f} GB/s", p->median_ns, p->throughput)});
    }
  }
  ctx.result.notes.push_back(
      "GB/s counts the array's own bytes; the random variant also streams a 4-byte index per element.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "access-patterns",
             .title = "Access patterns: sequential, strided, random",
             .module = 1,
             .level = 1,
             .tracks = {},
             .question = "What does reading memory out of order cost?",
             .guide_page = "m1/access-patterns.md",
             .source = "src/labs/m1/access_patterns.cpp"},
    // The largest working set: 2^32 - 1024 elements, the most a 32-bit index reaches.
    .params = {dp::ParamSpec::integer("max-kib", "largest working set in KiB (0 = 4x the last-level cache)",
                                      0, 0, 0, 16LL * 1024 * 1024 - 4)},
    .run = run,
    .memory_need = [](const dp::Params& p, const dp::MachineInfo&, bool) {
      const auto bytes = static_cast<std::uint64_t>(p.integer("max-kib")) * 1024;  // 0: auto, capped
      return dp::MemoryNeed{2 * bytes, fmt::format("the data and a shuffled index, {} each", dp::format_bytes(bytes))};
    },
    .memory_param = "max-kib",
});
