// jagged_arrays.cpp — rows of different lengths: a vector of vectors, or one flat array?
//
// What: about `elements` int32 values cut into rows of random length (uniform 0..2*mean, or
//   geometric with the given mean), held in three layouts:
//     nested   std::vector<std::vector<int32_t>>: one heap block per row, a 24-byte header per row
//     flat     all values in one array + an offsets array:
//              row r is values[offsets[r], offsets[r+1])
//              (the layout of CSR sparse matrices, Arrow list columns, packed sequences)
//     padded   every row padded to the longest row: a rows x width matrix + a lengths array
//              (a padded batch of sequences, as deep-learning frameworks use)
//   For each layout we time building it from a stream of rows (row by row, value by value, then
//   freeing it), and summing every row (one int64 per row out), and we count the bytes it holds.
//   The stream gives every row's length first (growth=reserve: each vector is sized exactly), or
//   the values arrive with no length known in advance (growth=push_back: vectors grow by
//   doubling and keep the spare capacity).
// Run:  dontpanic run jagged-arrays                          (4 Mi elements, mean 1 .. 256)
//       dontpanic run jagged-arrays --quick                  (64 Ki elements)
//       dontpanic run jagged-arrays --param dist=geometric   (a few very long rows)
//       dontpanic run jagged-arrays --param growth=push_back (lengths not known in advance)
// Bytes: counted from capacities; every heap block is charged what glibc's malloc really takes
//   for it (an 8-byte size field, rounded up to 16 bytes, 32 at least; page-rounded mmap blocks
//   from 128 KiB up). A check compares that with glibc's own block sizes (malloc_usable_size).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/counting_allocator.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"

namespace {

// ---------------------------------------------------------------------------------------------
// The input: a stream of rows, as they might arrive from a file or a parser
// ---------------------------------------------------------------------------------------------

struct RowStream {
  std::vector<std::int32_t> values;   // every row's values, one after the other
  std::vector<std::uint32_t> lengths; // one length per row
};

// ---------------------------------------------------------------------------------------------
// The variants: three layouts, how each is built from the stream, how each sums its rows
// ---------------------------------------------------------------------------------------------

using Nested = std::vector<std::vector<std::int32_t>>;

struct Flat {
  std::vector<std::int32_t> values;    // all rows back to back
  std::vector<std::uint32_t> offsets;  // rows + 1 entries; row r = values[offsets[r], offsets[r+1])
};

struct Padded {
  std::vector<std::int32_t> values;    // rows x width, row-major; zeros after each row's end
  std::vector<std::uint32_t> lengths;  // how many values of each row are real
  std::size_t width = 0;               // the longest row
};

// Every row is its own heap block; the outer vector holds one 24-byte header per row. With
// `reserve` each row is allocated once at its exact length; without it, push_back reallocates
// the row each time it doubles (log2(length) times) and leaves up to half of it unused.
Nested build_nested(const RowStream& in, bool reserve) {
  Nested rows;
  rows.reserve(in.lengths.size());
  const std::int32_t* next = in.values.data();
  for (std::uint32_t length : in.lengths) {
    std::vector<std::int32_t>& row = rows.emplace_back();
    if (reserve) row.reserve(length);
    for (std::uint32_t k = 0; k < length; ++k) row.push_back(*next++);
  }
  return rows;
}

// The same stream appended to one array; an offset closes each row. Two heap blocks in all.
Flat build_flat(const RowStream& in, bool reserve) {
  Flat f;
  if (reserve) f.values.reserve(in.values.size());
  f.offsets.reserve(in.lengths.size() + 1);
  f.offsets.push_back(0);
  const std::int32_t* next = in.values.data();
  for (std::uint32_t length : in.lengths) {
    for (std::uint32_t k = 0; k < length; ++k) f.values.push_back(*next++);
    f.offsets.push_back(static_cast<std::uint32_t>(f.values.size()));
  }
  return f;
}

// Needs the longest row before it starts (a first pass over the lengths, whatever `growth`
// says), then writes every row into its fixed-width slot; the zero-filled padding is written too.
Padded build_padded(const RowStream& in, bool) {
  Padded p;
  p.width = in.lengths.empty() ? 0 : *std::max_element(in.lengths.begin(), in.lengths.end());
  p.values.assign(in.lengths.size() * p.width, 0);
  p.lengths = in.lengths;
  const std::int32_t* next = in.values.data();
  for (std::size_t r = 0; r < in.lengths.size(); ++r) {
    std::int32_t* row = p.values.data() + r * p.width;
    for (std::uint32_t k = 0; k < in.lengths[r]; ++k) row[k] = *next++;
  }
  return p;
}

// Row sums. Nested: follow each row's pointer to its own block. Flat: one array, read straight
// through. Padded: one array, but each row starts `width` values after the previous one, so
// the padding is skipped over (and costs cache lines when rows are much shorter than width).
void row_sums_nested(const Nested& rows, std::span<std::int64_t> sums) {
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::int64_t s = 0;
    for (std::int32_t v : rows[r]) s += v;
    sums[r] = s;
  }
}

void row_sums_flat(const Flat& f, std::span<std::int64_t> sums) {
  for (std::size_t r = 0; r + 1 < f.offsets.size(); ++r) {
    std::int64_t s = 0;
    for (std::uint32_t i = f.offsets[r]; i < f.offsets[r + 1]; ++i) s += f.values[i];
    sums[r] = s;
  }
}

void row_sums_padded(const Padded& p, std::span<std::int64_t> sums) {
  for (std::size_t r = 0; r < p.lengths.size(); ++r) {
    const std::int32_t* row = p.values.data() + r * p.width;
    std::int64_t s = 0;
    for (std::uint32_t k = 0; k < p.lengths[r]; ++k) s += row[k];
    sums[r] = s;
  }
}

// ---------------------------------------------------------------------------------------------
// Bytes held: capacities plus what glibc's malloc takes per heap block (dp::heap_block_bytes)
// ---------------------------------------------------------------------------------------------

template <typename T>
std::uint64_t vector_bytes(const std::vector<T>& v) {  // header + its heap block
  return sizeof(v) + dp::heap_block_bytes(v.capacity() * sizeof(T));
}

std::uint64_t bytes_held(const Nested& rows) {
  std::uint64_t total = vector_bytes(rows);  // the outer vector and its array of row headers
  for (const auto& row : rows) total += dp::heap_block_bytes(row.capacity() * sizeof(std::int32_t));
  return total;
}
std::uint64_t bytes_held(const Flat& f) { return vector_bytes(f.values) + vector_bytes(f.offsets); }
std::uint64_t bytes_held(const Padded& p) {
  return vector_bytes(p.values) + vector_bytes(p.lengths) + sizeof(p.width);
}

// glibc's own size for every heap block of the nested layout, to check dp::heap_block_bytes()
// against; meaningless under AddressSanitizer, whose allocator replaces glibc's.
std::uint64_t glibc_bytes_held(const Nested& rows) {
  std::uint64_t total = rows.capacity() > 0 ? dp::glibc_block_bytes(rows.data()) : 0;
  for (const auto& row : rows)
    if (row.capacity() > 0) total += dp::glibc_block_bytes(row.data());
  return total;
}


// ---------------------------------------------------------------------------------------------
// Input, reference and check
// ---------------------------------------------------------------------------------------------

constexpr std::uint64_t kSeed = 20240612;

// Rows of random length until about `elements` values; values in -1000..1000.
RowStream make_rows(std::size_t elements, double mean, bool geometric, std::mt19937_64& rng) {
  RowStream in;
  std::uniform_int_distribution<std::uint32_t> uniform(0, static_cast<std::uint32_t>(2 * mean));
  std::geometric_distribution<std::uint32_t> geometric_dist(1.0 / (mean + 1.0));  // mean = mean
  std::uniform_int_distribution<std::int32_t> value(-1000, 1000);
  const std::size_t rows = std::max<std::size_t>(1, static_cast<std::size_t>(elements / mean));
  in.lengths.resize(rows);
  for (std::uint32_t& length : in.lengths) length = geometric ? geometric_dist(rng) : uniform(rng);
  std::size_t total = 0;
  for (std::uint32_t length : in.lengths) total += length;
  in.values.resize(total);
  for (std::int32_t& v : in.values) v = value(rng);
  return in;
}

// The definition, straight from the stream with checked indexing.
std::vector<std::int64_t> row_sums_reference(const RowStream& in) {
  std::vector<std::int64_t> sums;
  std::size_t next = 0;
  for (std::uint32_t length : in.lengths) {
    std::int64_t s = 0;
    for (std::uint32_t k = 0; k < length; ++k) s += in.values.at(next++);
    sums.push_back(s);
  }
  return sums;
}

void check_layout(dp::LabContext& ctx, const std::string& layout, std::span<const std::int64_t> got,
                  std::span<const std::int64_t> want, double mean) {
  const auto cmp = dp::compare(got, want);
  ctx.result.add_check(
      fmt::format("{} row sums equal the reference (mean row length {})", layout, mean),
                       cmp.passed, cmp.detail);
}

// Builds every layout from one stream and checks its row sums exactly, and (where glibc is the
// allocator) that our byte count for the nested layout matches glibc's own block sizes.
void check_all(dp::LabContext& ctx, const RowStream& in, double mean, bool reserve) {
  const std::vector<std::int64_t> want = row_sums_reference(in);
  std::vector<std::int64_t> got(in.lengths.size());

  const Nested nested = build_nested(in, reserve);
  std::fill(got.begin(), got.end(), -1);
  row_sums_nested(nested, got);
  check_layout(ctx, "nested", got, want, mean);
  if (dp::kGlibcMalloc) {
    const std::uint64_t ours = bytes_held(nested) - sizeof(nested);
    const std::uint64_t glibc = glibc_bytes_held(nested);
    // glibc sometimes hands out a block 16 bytes bigger than asked (when the rest of a free
    // block would be too small to keep), so our count is a close lower bound, not exact.
    const dp::Tolerance tol{.abs = 0, .rel = 0.01};
    ctx.result.add_check(
        fmt::format("nested byte count matches glibc's block sizes (mean row length {})", mean),
        dp::close_enough(static_cast<double>(ours), static_cast<double>(glibc), tol),
        fmt::format("ours {} bytes, glibc's malloc_usable_size + 8 per block {} bytes ({:+.2f}%, "
                    "allowed {})", ours, glibc,
                    100.0 * (static_cast<double>(ours) - static_cast<double>(glibc)) /
                        static_cast<double>(glibc), tol.describe()));
  }

  std::fill(got.begin(), got.end(), -1);
  row_sums_flat(build_flat(in, reserve), got);
  check_layout(ctx, "flat", got, want, mean);
  std::fill(got.begin(), got.end(), -1);
  row_sums_padded(build_padded(in, reserve), got);
  check_layout(ctx, "padded", got, want, mean);
}

// ---------------------------------------------------------------------------------------------
// run(): check, then time, then report
// ---------------------------------------------------------------------------------------------

constexpr double kMeans[] = {1, 4, 16, 64, 256};
constexpr std::uint64_t kPaddedLimit = std::uint64_t{1} << 30;  // skip padded layouts over 1 GiB

void run(dp::LabContext& ctx) {
  const auto elements = static_cast<std::size_t>(ctx.params.integer("elements"));
  const bool geometric = ctx.params.text("dist") == "geometric";
  const bool reserve = ctx.params.text("growth") == "reserve";
  std::vector<double> means;
  for (double m : kMeans)
    if (m * 16 <= static_cast<double>(elements)) means.push_back(m);  // at least 16 rows

  // 1. Check every layout at every mean row length, on a small stream (empty rows included).
  std::mt19937_64 rng(kSeed);
  for (double mean : means)
    check_all(ctx, make_rows(std::min<std::size_t>(elements, 1 << 14), mean, geometric, rng), mean,
              reserve);
  if (!ctx.result.all_checks_passed()) return;

  // 2. Time building (and freeing) and summing, per element, at every mean row length.
  struct Bytes {
    double mean;
    double nested, flat, padded;  // bytes per element
  };
  std::vector<Bytes> bytes;
  double walk_nested_vs_flat_at_4 = 0;
  for (double mean : means) {
    const RowStream in = make_rows(elements, mean, geometric, rng);
    const double count = static_cast<double>(std::max<std::size_t>(1, in.values.size()));
    const std::size_t width =
        in.lengths.empty() ? 0 : *std::max_element(in.lengths.begin(), in.lengths.end());
    const bool padded_fits = in.lengths.size() * width * sizeof(std::int32_t) <= kPaddedLimit;
    ctx.log << fmt::format("mean row length {}: {} rows, {} values, longest row {}\n", mean,
                           in.lengths.size(), in.values.size(), width);
    std::vector<std::int64_t> sums(in.lengths.size());

    auto time_layout = [&](const std::string& layout, auto build, auto row_sums) {
      const dp::Stats build_stats = ctx.measure(fmt::format("{}/build/mean={}", layout, mean), [&] {
        auto built = build(in, reserve);
        benchmark::DoNotOptimize(built);
      });  // `built` is freed inside the timed body: build + free
      const auto built = build(in, reserve);
      const dp::Stats walk_stats = ctx.measure(fmt::format("{}/sum/mean={}", layout, mean), [&] {
        row_sums(built, sums);
        benchmark::DoNotOptimize(sums.data());
        benchmark::ClobberMemory();
      });
      const dp::Stats build_per = build_stats.per(count), walk_per = walk_stats.per(count);
      ctx.result.add_point(layout + " build", "mean row length", mean, build_per,
                           1e3 / build_per.median_ns, "M values/s", "value");
      ctx.result.add_point(layout + " sum", "mean row length", mean, walk_per,
                           1e3 / walk_per.median_ns, "M values/s", "value");
      return std::pair{walk_per.median_ns, static_cast<double>(bytes_held(built)) / count};
    };

    Bytes b{mean, 0, 0, 0};
    const auto [nested_ns, nested_bytes] = time_layout("nested", build_nested, row_sums_nested);
    const auto [flat_ns, flat_bytes] = time_layout("flat", build_flat, row_sums_flat);
    b.nested = nested_bytes;
    b.flat = flat_bytes;
    if (padded_fits) {
      b.padded = time_layout("padded", build_padded, row_sums_padded).second;
    } else {
      ctx.result.notes.push_back(fmt::format(
          "padded skipped at mean {}: {} rows x {} values would take {}, over the 1 GiB limit.",
          mean, in.lengths.size(), width,
          dp::format_bytes(in.lengths.size() * width * sizeof(std::int32_t))));
    }
    if (mean == 4) walk_nested_vs_flat_at_4 = nested_ns / flat_ns;
    bytes.push_back(b);
  }

  // 3. Plots, headlines, notes.
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "build", .title = "Build from a stream of rows, then free",
      .xlabel = "mean row length (values)", .ylabel = "ns per value (build + free)",
      .y = dp::PlotSpec::Y::time, .logx = true, .logy = true,
      .variants = {"nested build", "flat build", "padded build"}, .markers = {}});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "sum", .title = "Sum every row", .xlabel = "mean row length (values)",
      .ylabel = "ns per value", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true,
      .variants = {"nested sum", "flat sum", "padded sum"}, .markers = {}});

  const std::string dist = fmt::format("{}, {}", geometric ? "geometric" : "uniform",
                                       reserve ? "reserve" : "push_back");
  for (const Bytes& b : bytes) {
    const std::string padded =
        b.padded > 0 ? fmt::format("{:.2f}", b.padded) : std::string("skipped");
    ctx.result.headlines.push_back(
        {fmt::format("bytes per value, mean row length {} ({})", b.mean, dist),
         fmt::format("nested {:.2f}, flat {:.2f}, padded {} (the values alone: 4)", b.nested,
                     b.flat, padded)});
  }
  if (walk_nested_vs_flat_at_4 > 0)
    ctx.result.headlines.push_back({"row sums, nested / flat time at mean row length 4",
                                    fmt::format("{:.1f}x", walk_nested_vs_flat_at_4)});
  ctx.result.notes.push_back(
      "Bytes per value count capacities (what the vectors reserved, not just what is used) plus "
      "glibc's per-block cost: nested pays a 24-byte header and one heap block per row.");
  ctx.result.notes.push_back(
      "Build times include freeing the structure: nested frees one block per row.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "jagged-arrays",
             .title = "Jagged arrays: nested vectors vs flat + offsets",
             .module = 1,
             .level = 2,
             .tracks = {},
             .question = "Rows of different lengths: what do a vector of vectors, one flat array "
                         "with offsets, and padded rows cost to build, to read and to keep?",
             .guide_page = "m1/jagged-arrays.md",
             .source = "src/labs/m1/jagged_arrays.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("elements", "about how many values in all the rows together",
                                      1 << 22, 1 << 16, 1024, 1 << 25),
               dp::ParamSpec::choice("dist",
                                     "row lengths: uniform 0..2*mean, or geometric (mostly short "
                                     "rows, a few very long ones)",
                                     {"uniform", "geometric"}, "uniform"),
               dp::ParamSpec::choice("growth",
                                     "reserve: row lengths are known before the values arrive; "
                                     "push_back: vectors grow as values arrive",
                                     {"reserve", "push_back"}, "reserve")},
    .run = run,
});
