// transposition.cpp — why does transposing a matrix get faster when you do it in small tiles?
//
// What: out = transpose(in) for an n x n matrix of floats, row-major, out-of-place.
//   The naive loop reads `in` along rows (sequential) and writes `out` down columns: every write
//   lands n * 4 bytes after the previous one, on a different cache line (and, for n >= 1024, on a
//   different 4 KiB page). A cache line of `out` is 16 floats wide, but the naive loop only fills
//   one of them before moving on; by the time it comes back for the next float, the line has
//   often been evicted. Swapping the two loops only moves the problem to the reads. Cutting the
//   matrix into tile x tile blocks keeps the few lines one block touches in cache until all their
//   floats are used.
// Run:  dontpanic run transposition            (sizes n/64 .. n, n = 4096 by default)
//       dontpanic run transposition --quick    (n = 512)
//       dontpanic run transposition --param n=4000   (a size that is not a power of two)
// Variants:
//   naive            two loops: rows of `in`, so writes go down columns of `out`
//   naive by column  the loops swapped: columns of `in`, so writes go along rows of `out`
//   tile T           T x T blocks, for T = 4, 8, 16, 32, 64, 128
// Bytes moved per transpose: n*n*4 read + n*n*4 written (GB/s below counts both).
#include <algorithm>
#include <cstddef>
#include <functional>
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

// Reads `in` row by row (stride 1), writes `out` column by column (stride n floats).
void transpose_naive(std::span<const float> in, std::span<float> out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      out[j * n + i] = in[i * n + j];
}

// The loops swapped: reads `in` down columns (stride n), writes `out` row by row (stride 1).
void transpose_naive_by_column(std::span<const float> in, std::span<float> out, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j)
    for (std::size_t i = 0; i < n; ++i)
      out[j * n + i] = in[i * n + j];
}

// The same work, one tile x tile block at a time. The block touches only `tile` lines of `in`
// and `tile` lines of `out` (for tile = 16: 32 lines, 2 KiB), so they stay cached while every
// float in them is used. Inside the block the inner loop writes `out` along a row: `tile`
// neighbouring floats (one whole line when tile = 16), while it reads `in` down a column (in our
// measurements this order beat the opposite one: stores that fill a line in one go are the
// cheapest kind). Edge blocks are cut short when n is not a multiple of tile.
void transpose_tiled(std::span<const float> in, std::span<float> out, std::size_t n,
                     std::size_t tile) {
  for (std::size_t ib = 0; ib < n; ib += tile) {
    const std::size_t i_end = std::min(ib + tile, n);
    for (std::size_t jb = 0; jb < n; jb += tile) {
      const std::size_t j_end = std::min(jb + tile, n);
      for (std::size_t j = jb; j < j_end; ++j)
        for (std::size_t i = ib; i < i_end; ++i)
          out[j * n + i] = in[i * n + j];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reference and check
// ---------------------------------------------------------------------------------------------

// The definition, written with bounds-checked access and loops in the other order, so it
// shares no code with the variants: out(r, c) = in(c, r).
std::vector<float> transpose_reference(const std::vector<float>& in, std::size_t n) {
  std::vector<float> out(n * n);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t c = 0; c < n; ++c) out.at(r * n + c) = in.at(c * n + r);
  return out;
}

std::vector<float> random_matrix(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> m(n * n);
  for (float& x : m) x = dist(rng);
  return m;
}

constexpr std::size_t kTiles[] = {4, 8, 16, 32, 64, 128};
constexpr unsigned kSeed = 20240601;

struct Variant {
  std::string name;
  std::size_t tile;  // 0 for the two untiled loops
  std::function<void(std::span<const float>, std::span<float>, std::size_t)> transpose;
};

// The variants that make sense for an n x n matrix (tiles no larger than n).
std::vector<Variant> variants_for(std::size_t n) {
  std::vector<Variant> v = {{"naive", 0, transpose_naive},
                            {"naive by column", 0, transpose_naive_by_column}};
  for (std::size_t tile : kTiles)
    if (tile <= n)
      v.push_back({fmt::format("tile {}", tile), tile,
                   [tile](std::span<const float> in, std::span<float> out, std::size_t m) {
                     transpose_tiled(in, out, m, tile);
                   }});
  return v;
}

// Every variant must reproduce the reference bit for bit (a transpose only moves floats).
void check_all(dp::LabContext& ctx, std::size_t n, std::mt19937& rng) {
  const std::vector<float> in = random_matrix(n, rng);
  const std::vector<float> want = transpose_reference(in, n);
  std::vector<float> got(n * n);
  for (const Variant& v : variants_for(n)) {
    std::fill(got.begin(), got.end(), -7.0f);  // a value the transpose never produces
    v.transpose(in, got, n);
    const auto cmp = dp::compare(std::span<const float>(got), std::span<const float>(want));
    ctx.result.add_check(fmt::format("{} equals the reference at n={}", v.name, n), cmp.passed,
                         cmp.detail);
  }
}

// ---------------------------------------------------------------------------------------------
// run(): check, then time, then report
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  const auto n_max = static_cast<std::size_t>(ctx.params.integer("n"));

  // Sizes n/64, n/32, ..., n (at least 16): from matrices that fit in L1 (64^2 floats = 16 KiB)
  // to ones that fit in no cache (4096^2 floats = 64 MiB per matrix).
  std::vector<std::size_t> sizes;
  for (std::size_t n = n_max; n >= 16 && sizes.size() < 7; n /= 2) sizes.push_back(n);
  std::reverse(sizes.begin(), sizes.end());

  // 1. Check: at an odd prime size (every tile has ragged edges) and at the largest size.
  std::mt19937 rng(kSeed);
  check_all(ctx, 269, rng);
  check_all(ctx, n_max, rng);
  if (!ctx.result.all_checks_passed()) return;

  // 2. Time every variant at every size.
  double naive_gbs_at_max = 0, by_column_gbs_at_max = 0, best_gbs_at_max = 0;
  std::size_t best_tile_at_max = 0;
  const dp::SweepOptions sweep_options{
      .label = [](std::uint64_t n) { return fmt::format("{} ({} per matrix)", n, dp::format_bytes(n * n * sizeof(float))); },
      .weight = [](std::uint64_t n) { return static_cast<double>(n * n); },
      .stops_early = false};
  for (std::size_t n : dp::Sweep(ctx, "n =", sizes, sweep_options)) {
    const std::vector<float> in = random_matrix(n, rng);
    std::vector<float> out(n * n);
    const double elements = static_cast<double>(n) * static_cast<double>(n);
    const double bytes = 2.0 * elements * sizeof(float);  // read in + write out

    for (const Variant& v : variants_for(n)) {
      const dp::Stats s = ctx.measure(fmt::format("{}/n={}", v.name, n), [&] {
        v.transpose(in, out, n);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
      });
      const double gbs = bytes / s.median_ns;  // bytes per ns = GB/s
      ctx.result.add_point(v.name, "n", static_cast<double>(n), s.per(elements), gbs, "GB/s",
                           "element");
      // The same measurement, seen per size: x = tile side, with naive drawn at tile 1 (a 1 x 1
      // tile visits the elements in exactly the naive order).
      if (v.name != "naive by column")
        ctx.result.add_point(fmt::format("n={}", n), "tile",
                             v.tile == 0 ? 1.0 : static_cast<double>(v.tile), s.per(elements), gbs,
                             "GB/s", "element");
      if (n != n_max) continue;
      if (v.name == "naive") naive_gbs_at_max = gbs;
      if (v.name == "naive by column") by_column_gbs_at_max = gbs;
      if (v.tile != 0 && gbs > best_gbs_at_max) best_gbs_at_max = gbs, best_tile_at_max = v.tile;
    }
  }

  // 3. Plots, headlines, notes.
  std::vector<std::string> by_size;
  for (const Variant& v : variants_for(n_max)) by_size.push_back(v.name);
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "sizes", .title = "Transpose throughput by matrix size",
      .xlabel = "n (matrix is n x n floats)", .ylabel = "GB/s (read + written)",
      .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = false, .variants = by_size,
      .markers = {}});
  std::vector<std::string> by_tile;
  for (std::size_t n : sizes) by_tile.push_back(fmt::format("n={}", n));
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "tiles", .title = "Transpose throughput by tile side (tile 1 = naive)",
      .xlabel = "tile side (floats)", .ylabel = "GB/s (read + written)",
      .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = false, .variants = by_tile,
      .markers = {}});

  if (naive_gbs_at_max > 0 && best_tile_at_max != 0) {
    ctx.result.headlines.push_back(
        {fmt::format("best tile / naive at n={}", n_max),
         fmt::format("{:.1f}x (tile {}: {:.2f} GB/s vs naive {:.2f} GB/s)",
                     best_gbs_at_max / naive_gbs_at_max, best_tile_at_max, best_gbs_at_max,
                     naive_gbs_at_max)});
    ctx.result.headlines.push_back(
        {fmt::format("best tile / naive by column at n={}", n_max),
         fmt::format("{:.1f}x (naive by column: {:.2f} GB/s)",
                     best_gbs_at_max / by_column_gbs_at_max, by_column_gbs_at_max)});
  }
  ctx.result.notes.push_back(fmt::format(
      "GB/s counts 2 * n * n * {} bytes per transpose (every float read once and written once); "
      "a copy of the same bytes is the ceiling to compare with.",
      sizeof(float)));
  ctx.result.notes.push_back(fmt::format(
      "A cache line holds {} floats: the naive loop writes one float per line of `out` per visit, "
      "a tile of side T writes T floats per line while the line is still cached.",
      ctx.machine.cache_line_bytes() / static_cast<int>(sizeof(float))));
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "transposition",
             .title = "Strided access and transposition",
             .module = 1,
             .level = 2,
             .tracks = {},
             .question = "Why is transposing a matrix in small tiles faster than row by row?",
             .guide_page = "m1/transposition.md",
             .source = "src/labs/m1/transposition.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("n", "largest matrix side; sizes n/64 .. n are measured",
                                      4096, 512, 16, 8192)},
    .run = run,
});
