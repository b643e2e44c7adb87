// permuted_arrays.cpp — reading or writing through an index array: what does the order cost?
//
// What: n floats moved through an index array idx (a permutation of 0 .. n-1):
//     gather   out[i] = in[idx[i]]     reads jump around, writes go in order
//     scatter  out[idx[i]] = in[i]     reads go in order, writes jump around
//   for three permutations:
//     identity   idx[i] = i: every access sequential; the best case
//     blocks     runs of `block` consecutive indices (default 64 floats = 256 bytes), the runs in
//                random order: sequential inside a run, a jump between runs
//     random     a uniformly random permutation: nearly every access a new cache line
//   and, for blocks and random, "sorted": the same moves listed as (from, to) pairs sorted by the
//   jumping side, so that side walks memory in order; the other side jumps instead.
// Run:  dontpanic run permuted-arrays                  (n = 4K .. 16M floats)
//       dontpanic run permuted-arrays --quick          (n up to 256K)
//       dontpanic run permuted-arrays --param block=4096
// Bytes per element: gather/scatter read idx (4) + in (4), write out (4) = 12 bytes;
// sorted pairs read a pair (8) + in (4), write out (4) = 16 bytes.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/sweep.hpp"

namespace {

// ---------------------------------------------------------------------------------------------
// The variants: the interesting lines
// ---------------------------------------------------------------------------------------------

void gather(std::span<const float> in, std::span<const std::uint32_t> idx, std::span<float> out) {
  for (std::size_t i = 0; i < idx.size(); ++i) out[i] = in[idx[i]];
}

void scatter(std::span<const float> in, std::span<const std::uint32_t> idx, std::span<float> out) {
  for (std::size_t i = 0; i < idx.size(); ++i) out[idx[i]] = in[i];
}

struct Move {             // out[to] = in[from]
  std::uint32_t from, to;
};

// Both sorted variants run this loop; what differs is the order of `moves`: sorted by `from`
// (a gather made to read in order) or by `to` (a scatter made to write in order).
void apply_moves(std::span<const float> in, std::span<const Move> moves, std::span<float> out) {
  for (const Move& m : moves) out[m.to] = in[m.from];
}

// ---------------------------------------------------------------------------------------------
// The permutations
// ---------------------------------------------------------------------------------------------

std::vector<std::uint32_t> identity_permutation(std::size_t n) {
  std::vector<std::uint32_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0u);
  return idx;
}

// Runs [b * block, (b + 1) * block) kept whole, in shuffled order (the last run may be short).
std::vector<std::uint32_t> block_permutation(std::size_t n, std::size_t block, std::mt19937& rng) {
  std::vector<std::size_t> runs((n + block - 1) / block);
  std::iota(runs.begin(), runs.end(), std::size_t{0});
  std::shuffle(runs.begin(), runs.end(), rng);
  std::vector<std::uint32_t> idx;
  idx.reserve(n);
  for (std::size_t r : runs)
    for (std::size_t j = r * block; j < std::min((r + 1) * block, n); ++j)
      idx.push_back(static_cast<std::uint32_t>(j));
  return idx;
}

std::vector<std::uint32_t> random_permutation(std::size_t n, std::mt19937& rng) {
  std::vector<std::uint32_t> idx = identity_permutation(n);
  std::shuffle(idx.begin(), idx.end(), rng);
  return idx;
}

// The gather's moves (from idx[i] to i), sorted by where they read.
std::vector<Move> sorted_gather_moves(std::span<const std::uint32_t> idx) {
  std::vector<Move> moves(idx.size());
  for (std::size_t i = 0; i < idx.size(); ++i) moves[i] = {idx[i], static_cast<std::uint32_t>(i)};
  std::sort(moves.begin(), moves.end(), [](Move a, Move b) { return a.from < b.from; });
  return moves;
}

// The scatter's moves (from i to idx[i]), sorted by where they write.
std::vector<Move> sorted_scatter_moves(std::span<const std::uint32_t> idx) {
  std::vector<Move> moves(idx.size());
  for (std::size_t i = 0; i < idx.size(); ++i) moves[i] = {static_cast<std::uint32_t>(i), idx[i]};
  std::sort(moves.begin(), moves.end(), [](Move a, Move b) { return a.to < b.to; });
  return moves;
}

// ---------------------------------------------------------------------------------------------
// Reference and check
// ---------------------------------------------------------------------------------------------

// The definitions, element by element with bounds-checked access.
std::vector<float> gather_reference(const std::vector<float>& in,
                                    const std::vector<std::uint32_t>& idx) {
  std::vector<float> out(idx.size());
  for (std::size_t i = 0; i < idx.size(); ++i) out.at(i) = in.at(idx.at(i));
  return out;
}
std::vector<float> scatter_reference(const std::vector<float>& in,
                                     const std::vector<std::uint32_t>& idx) {
  std::vector<float> out(idx.size(), std::numeric_limits<float>::quiet_NaN());
  for (std::size_t i = 0; i < idx.size(); ++i) out.at(idx.at(i)) = in.at(i);
  return out;
}

std::vector<float> random_floats(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

bool is_permutation_of_iota(const std::vector<std::uint32_t>& idx) {
  std::vector<bool> seen(idx.size(), false);
  for (std::uint32_t j : idx) {
    if (j >= idx.size() || seen[j]) return false;
    seen[j] = true;
  }
  return true;
}

struct Permutation {
  std::string name;
  std::vector<std::uint32_t> idx;
};

std::vector<Permutation> make_permutations(std::size_t n, std::size_t block, std::mt19937& rng) {
  return {{"identity", identity_permutation(n)},
          {"blocks", block_permutation(n, block, rng)},
          {"random", random_permutation(n, rng)}};
}

// Every variant must reproduce the reference exactly: it only moves floats. Outputs start as NaN
// so that a slot nobody wrote shows up as a mismatch.
void check_all(dp::LabContext& ctx, std::size_t n, std::size_t block, std::mt19937& rng) {
  const std::vector<float> in = random_floats(n, rng);
  std::vector<float> out(n);
  const auto check = [&](const std::string& what, const std::vector<float>& want, auto&& body) {
    std::fill(out.begin(), out.end(), std::numeric_limits<float>::quiet_NaN());
    body();
    const auto cmp = dp::compare(std::span<const float>(out), std::span<const float>(want));
    ctx.result.add_check(fmt::format("{} matches the reference (n={})", what, n), cmp.passed,
                         cmp.detail);
  };
  for (const Permutation& p : make_permutations(n, block, rng)) {
    ctx.result.add_check(fmt::format("{} is a permutation of 0..{}", p.name, n - 1),
                         is_permutation_of_iota(p.idx),
                         "every index in range and used exactly once");
    const std::vector<float> want_gather = gather_reference(in, p.idx);
    const std::vector<float> want_scatter = scatter_reference(in, p.idx);
    check("gather " + p.name, want_gather, [&] { gather(in, p.idx, out); });
    check("scatter " + p.name, want_scatter, [&] { scatter(in, p.idx, out); });
    const std::vector<Move> g = sorted_gather_moves(p.idx), s = sorted_scatter_moves(p.idx);
    check("gather " + p.name + " sorted", want_gather, [&] { apply_moves(in, g, out); });
    check("scatter " + p.name + " sorted", want_scatter, [&] { apply_moves(in, s, out); });
  }
}

// ---------------------------------------------------------------------------------------------
// run(): check, then time, then report
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  const auto n_max = static_cast<std::size_t>(ctx.params.integer("n"));
  const auto block = static_cast<std::size_t>(ctx.params.integer("block"));

  // Element counts 4K, 16K, ... (x4) up to n: 48 KiB of in + out + idx (L1/L2) to 192 MiB.
  const auto sizes = dp::geometric_sizes(4096, n_max, 4);

  // 1. Check at a size that is not a multiple of the block (the last run is short).
  std::mt19937 rng(20240604);
  check_all(ctx, std::max<std::size_t>(3 * block + 7, 10007), block, rng);
  if (!ctx.result.all_checks_passed()) return;

  // 2. Time.
  std::map<std::string, double> ns_at_max;
  double sort_ns_at_max = 0;  // building and sorting the random gather's moves, once
  const dp::SweepOptions sweep_options{
      .label = [](std::uint64_t n) { return fmt::format("{} floats ({} per array)", n, dp::format_bytes(n * 4)); },
      .stops_early = false};
  for (std::size_t n : dp::Sweep(ctx, "n =", sizes, sweep_options)) {
    const std::vector<float> in = random_floats(n, rng);
    std::vector<float> out(n);
    const double elements = static_cast<double>(n);
    const auto time = [&](const std::string& variant, double bytes_per_element, auto&& body) {
      const dp::Stats s = ctx.measure(fmt::format("{}/n={}", variant, n), [&] {
        body();
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
      });
      ctx.result.add_point(variant, "elements", elements, s.per(elements),
                           bytes_per_element * elements / s.median_ns, "GB/s", "element");
      if (n == n_max) ns_at_max[variant] = s.median_ns / elements;
    };
    for (const Permutation& p : make_permutations(n, block, rng)) {
      time("gather " + p.name, 12, [&] { gather(in, p.idx, out); });
      time("scatter " + p.name, 12, [&] { scatter(in, p.idx, out); });
      if (p.name == "identity") continue;  // sorting the identity changes nothing
      const auto t0 = std::chrono::steady_clock::now();
      const std::vector<Move> g = sorted_gather_moves(p.idx);
      const std::chrono::duration<double, std::nano> sort_time = std::chrono::steady_clock::now() - t0;
      if (n == n_max && p.name == "random") sort_ns_at_max = sort_time.count() / elements;
      const std::vector<Move> s = sorted_scatter_moves(p.idx);
      time("gather " + p.name + " sorted", 16, [&] { apply_moves(in, g, out); });
      time("scatter " + p.name + " sorted", 16, [&] { apply_moves(in, s, out); });
    }
  }

  // 3. Plots, headlines, notes.
  std::vector<dp::Marker> markers;
  for (int level = 1; level <= 3; ++level)
    if (const auto bytes = ctx.machine.cache_bytes(level))
      markers.push_back({static_cast<double>(bytes) / 12.0, fmt::format("L{}", level)});
  for (const std::string op : {"gather", "scatter"}) {
    std::vector<std::string> variants;
    for (const std::string v : {"identity", "blocks", "random", "blocks sorted", "random sorted"})
      variants.push_back(op + " " + v);
    ctx.result.plots.push_back(dp::PlotSpec{
        .name = op,
        .title = op == "gather" ? "gather: out[i] = in[idx[i]]" : "scatter: out[idx[i]] = in[i]",
        .xlabel = "elements (markers: where in + out + idx fill each cache)",
        .ylabel = "ns per element", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true,
        .variants = variants, .markers = markers});
    const double id = ns_at_max[op + " identity"];
    if (id <= 0) continue;
    ctx.result.headlines.push_back(
        {fmt::format("{} at n={}: ns per element", op, n_max),
         fmt::format("identity {:.2f}, blocks {:.2f}, random {:.2f}", id,
                     ns_at_max[op + " blocks"], ns_at_max[op + " random"])});
    ctx.result.headlines.push_back(
        {fmt::format("{} random, sorted at n={}", op, n_max),
         fmt::format("{:.2f} ns per element ({:.1f}x unsorted)", ns_at_max[op + " random sorted"],
                     ns_at_max[op + " random"] / ns_at_max[op + " random sorted"])});
  }
  ctx.result.notes.push_back(fmt::format(
      "blocks = runs of {} consecutive floats ({} bytes = {} cache lines) in random order.", block,
      block * 4, static_cast<double>(block * 4) / ctx.machine.cache_line_bytes()));
  ctx.result.notes.push_back(
      "GB/s counts the bytes the loop asks for: 12 per element for gather/scatter (index, read, "
      "write), 16 for sorted moves (an 8-byte pair, read, write). The moves are built and sorted "
      "once, before timing; that cost is not in the sorted variants' times.");
  if (sort_ns_at_max > 0)
    ctx.result.headlines.push_back(
        {fmt::format("building + sorting the random gather's moves at n={}", n_max),
         fmt::format("{:.1f} ns per element (a single run timed with steady_clock; std::sort)",
                     sort_ns_at_max)});
  if (block >= n_max)
    ctx.result.notes.push_back("block >= n: the blocks permutation is one run, the identity.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "permuted-arrays",
             .title = "Permuted arrays and gathers",
             .module = 1,
             .level = 2,
             .tracks = {},
             .question = "What does reading or writing through an index array cost, and does "
                         "sorting the indices help?",
             .guide_page = "m1/permuted-arrays.md",
             .source = "src/labs/m1/permuted_arrays.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("n", "largest element count; counts 4096, 16384, ... up to n",
                                      1 << 24, 1 << 18, 16, 1 << 26),
               dp::ParamSpec::integer("block", "run length of the blocks permutation, in floats",
                                      64, 64, 1, 1 << 20)},
    .run = run,
});
