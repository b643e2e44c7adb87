// memory-bandwidth — How fast can one core, and all of them, stream memory?
//
// Seven loops over arrays of doubles, each timed at working sets from 16 KiB (inside L1) to 8x the
// last-level cache (only DRAM holds it), on one thread and on all threads:
//   read      sum += a[i]                 bytes counted per element: 8 read
//   write     a[i] = x                    8 written
//   copy      a[i] = b[i]                 8 read + 8 written
//   copy-nt   the same copy with non-temporal (streaming) stores, which skip the cache
//   triad     a[i] = b[i] + s * c[i]      16 read + 8 written (the STREAM benchmark's triad)
//   memcpy    std::memcpy(a, b, bytes)    the C library's copy: 8 read + 8 written
//   memset    std::memset(a, byte, bytes) the C library's fill: 8 written
// GB/s = (bytes read + bytes written) / time, the STREAM convention. It does not count the extra
// read a normal store causes when its line is not in the cache (write-allocate, "read for
// ownership"): that hidden traffic is why copy trails memcpy at DRAM sizes, and what copy-nt avoids.
// The working set is the bytes one pass counts, so every variant at size X touches X bytes.
// Series with all threads carry the thread count: copy-2t is copy on 2 threads.
//
//   dontpanic run memory-bandwidth            16 KiB .. 8x the last-level cache, every 4x (two minutes)
//   dontpanic run memory-bandwidth --quick    16 KiB, 256 KiB, 4 MiB, 4x the last-level cache (seconds)
//   --param max-kib=1048576                   largest working set
//   --param threads=4                         the multi-threaded series' thread count (0 = all CPUs)
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/portability.hpp"  // DP_PLAIN_LOOP: the loops stay loops; DP_SANITIZED
#include "core/thread_team.hpp"
#include "core/sweep.hpp"

namespace {

// ---------------------------------------------------------------------------------------------
// The variants
// ---------------------------------------------------------------------------------------------

// 32 partial sums: one running sum would wait for each add to finish (3-4 cycles) and time the
// adder instead of the memory. The compiler keeps the 32 sums in a few vector registers.
DP_PLAIN_LOOP double read_sum(std::span<const double> a) {
  constexpr std::size_t kLanes = 32;
  double partial[kLanes] = {};
  std::size_t i = 0;
  for (; i + kLanes <= a.size(); i += kLanes)
    for (std::size_t k = 0; k < kLanes; ++k) partial[k] += a[i + k];
  for (; i < a.size(); ++i) partial[0] += a[i];
  return std::accumulate(partial, partial + kLanes, 0.0);
}

DP_PLAIN_LOOP void write_fill(std::span<double> a, double value) {
  for (double& x : a) x = value;
}

DP_PLAIN_LOOP void copy_loop(std::span<double> dst, std::span<const double> src) {
  for (std::size_t i = 0; i < dst.size(); ++i) dst[i] = src[i];
}

DP_PLAIN_LOOP void triad(std::span<double> a, std::span<const double> b, std::span<const double> c,
                         double s) {
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = b[i] + s * c[i];
}

// Non-temporal stores send whole lines to memory through write-combining buffers, without first
// reading the old line into the cache: 16 bytes of traffic per element instead of 24. They are a
// loss when the destination would have fit in the cache: the next reader must fetch it from DRAM.
#if defined(__SSE2__)
#define DP_HAVE_STREAMING_STORES 1
DP_PLAIN_LOOP void copy_nontemporal(std::span<double> dst, std::span<const double> src) {
  std::size_t i = 0;
#if defined(__AVX__)
  constexpr std::size_t kAlign = 32, kWidth = 4;  // one 256-bit store = 4 doubles
#else
  constexpr std::size_t kAlign = 16, kWidth = 2;  // one 128-bit store = 2 doubles
#endif
  // Streaming stores need an aligned address: plain stores until dst + i is aligned.
  for (; i < dst.size() && reinterpret_cast<std::uintptr_t>(dst.data() + i) % kAlign != 0; ++i) dst[i] = src[i];
  for (; i + kWidth <= dst.size(); i += kWidth) {
#if defined(__AVX__)
    _mm256_stream_pd(dst.data() + i, _mm256_loadu_pd(src.data() + i));
#else
    _mm_stream_pd(dst.data() + i, _mm_loadu_pd(src.data() + i));
#endif
  }
  for (; i < dst.size(); ++i) dst[i] = src[i];
  _mm_sfence();  // streaming stores are weakly ordered: make them visible before anyone reads dst
}
#endif

void copy_memcpy(std::span<double> dst, std::span<const double> src) {
  std::memcpy(dst.data(), src.data(), dst.size_bytes());
}

void fill_memset(std::span<double> a, unsigned char byte) { std::memset(a.data(), byte, a.size_bytes()); }

// ---------------------------------------------------------------------------------------------
// Variants as data
// ---------------------------------------------------------------------------------------------

enum class Kind { read, write, copy, copy_nt, triad, memcpy, memset };

struct Variant {
  std::string name;
  Kind kind;
  int arrays;  // arrays touched; each element of each counts 8 bytes (read or written)
};

std::vector<Variant> all_variants() {
  std::vector<Variant> v = {{"read", Kind::read, 1}, {"write", Kind::write, 1}, {"copy", Kind::copy, 2}};
#ifdef DP_HAVE_STREAMING_STORES
  v.push_back({"copy-nt", Kind::copy_nt, 2});
#endif
  v.insert(v.end(), {{"triad", Kind::triad, 3}, {"memcpy", Kind::memcpy, 2}, {"memset", Kind::memset, 1}});
  return v;
}

constexpr double kFillValue = 1.25;            // write: not a byte pattern, so it cannot become a memset
constexpr unsigned char kMemsetByte = 0x3f;    // memset: every byte of every double
constexpr double kTriadScale = 3.0;

// The arrays a variant works on: `a` is written (or read, for read); b and c are read.
struct Views {
  std::span<double> a;
  std::span<const double> b, c;
  Views share(std::size_t begin, std::size_t end) const {
    return {a.subspan(begin, end - begin), b.empty() ? b : b.subspan(begin, end - begin),
            c.empty() ? c : c.subspan(begin, end - begin)};
  }
};

// One pass of `kind` over `v`; returns the sum for read (0 for the others).
double run_pass(Kind kind, const Views& v) {
  switch (kind) {
    case Kind::read: return read_sum(v.a);
    case Kind::write: write_fill(v.a, kFillValue); break;
    case Kind::copy: copy_loop(v.a, v.b); break;
#ifdef DP_HAVE_STREAMING_STORES
    case Kind::copy_nt: copy_nontemporal(v.a, v.b); break;
#else
    case Kind::copy_nt: copy_loop(v.a, v.b); break;
#endif
    case Kind::triad: triad(v.a, v.b, v.c, kTriadScale); break;
    case Kind::memcpy: copy_memcpy(v.a, v.b); break;
    case Kind::memset: fill_memset(v.a, kMemsetByte); break;
  }
  return 0;
}

// Splits the arrays between `threads` threads; each makes `passes` passes over its own contiguous
// share per round. Shares are whole cache lines (8 doubles), so each starts line-aligned; the last
// share takes the remainder. The threads are a dp::ThreadTeam: pinned, one per CPU, spinning
// between rounds (core/thread_team.hpp says why). round() returns the total of the read sums (0 for the other kinds).
// For small working sets a round is many passes, so that starting it is a small cost.
class SharedPasses {
 public:
  SharedPasses(Kind kind, const Views& v, int threads, std::size_t passes)
      : kind_(kind), views_(v), threads_(threads), passes_(passes),
        sums_(static_cast<std::size_t>(threads) * kSlotStride, 0.0),
        team_(threads, [this](int t) { share(t); }) {}

  double round() {
    team_.run();
    double total = 0;
    for (int t = 0; t < threads_; ++t) total += sums_[static_cast<std::size_t>(t) * kSlotStride];
    return total;
  }

 private:
  static constexpr std::size_t kSlotStride = 8;  // one cache line per thread's sum: no false sharing

  void share(int t) {
    const std::size_t n = views_.a.size(), lines = n / 8, threads = static_cast<std::size_t>(threads_);
    const auto i = static_cast<std::size_t>(t);
    const std::size_t begin = lines * i / threads * 8;
    const std::size_t end = i + 1 == threads ? n : lines * (i + 1) / threads * 8;
    const Views mine = views_.share(begin, end);
    double sum = 0;
    for (std::size_t p = 0; p < passes_; ++p) {
      sum += run_pass(kind_, mine);
      benchmark::ClobberMemory();  // every pass's stores must happen, not just the last one's
    }
    sums_[i * kSlotStride] = sum;
  }

  Kind kind_;
  Views views_;
  int threads_;
  std::size_t passes_;
  std::vector<double> sums_;
  dp::ThreadTeam team_;  // last: its workers may call share() as soon as it exists
};

// ---------------------------------------------------------------------------------------------
// Reference and check
// ---------------------------------------------------------------------------------------------

// An array of n doubles that starts `offset` bytes after a page boundary (offset: a multiple of
// 64, so it starts on a cache line; std::vector only promises 16 bytes). Giving each array its own
// offset within the page, as STREAM does, keeps a[i] and b[i] from sharing their low 12 address
// bits: with "4K aliasing" a core may take a load for one that depends on an earlier store, and
// glibc's memcpy avoids its streaming-store path.
class PageOffsetArray {
 public:
  PageOffsetArray(std::size_t n, std::size_t offset) {
    constexpr std::size_t kPage = 4096;
    const std::size_t bytes = (n * sizeof(double) + offset + kPage - 1) / kPage * kPage;
    raw_.reset(static_cast<std::byte*>(std::aligned_alloc(kPage, bytes)));
    if (!raw_)
      throw dp::Error(fmt::format("could not allocate {} for the arrays; choose a smaller max-kib",
                                  dp::format_bytes(bytes)));
    data_ = {reinterpret_cast<double*>(raw_.get() + offset), n};
  }
  std::span<double> span() const { return data_; }

 private:
  struct Free {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::unique_ptr<std::byte[], Free> raw_;
  std::span<double> data_;
};

// Runs every variant once on fresh random arrays of an awkward size (not a multiple of 8 or of
// the thread count, so the tails and the shares are exercised) and compares with simple loops.
void check_variant(dp::LabContext& ctx, const Variant& variant, int threads, std::mt19937_64& rng) {
  const std::size_t n = 100'003;
  std::uniform_real_distribution<double> value(-1.0, 1.0);
  std::vector<double> a(n), b(n), c(n);
  for (std::size_t i = 0; i < n; ++i) a[i] = value(rng), b[i] = value(rng), c[i] = value(rng);
  const std::vector<double> a_before = a;
  const Views v{a, b, c};
  const double got_sum = SharedPasses(variant.kind, v, threads, 1).round();
  const std::string name = fmt::format("{} ({} thread{})", variant.name, threads, threads > 1 ? "s" : "");

  dp::CompareResult r;
  std::vector<double> want(n);
  switch (variant.kind) {
    case Kind::read: {
      // Reference: one running sum in long double. Any order of n double additions stays within
      // (n - 1) * eps/2 * sum|a_i| of the exact sum, which is the tolerance.
      long double exact = 0, magnitude = 0;
      for (double x : a_before) exact += x, magnitude += std::fabs(x);
      const double bound = static_cast<double>(n - 1) * DBL_EPSILON / 2 * static_cast<double>(magnitude);
      const bool ok = std::fabs(got_sum - static_cast<double>(exact)) <= bound;
      ctx.result.add_check(name, ok, fmt::format("sum {:.17g}, reference {:.17g}, allowed error {:.3g}",
                                                 got_sum, static_cast<double>(exact), bound));
      return;
    }
    case Kind::write: std::fill(want.begin(), want.end(), kFillValue); break;
    case Kind::copy: case Kind::copy_nt: case Kind::memcpy: want = b; break;
    case Kind::memset: {
      double pattern;
      unsigned char bytes[sizeof(double)];
      std::fill(std::begin(bytes), std::end(bytes), kMemsetByte);
      std::memcpy(&pattern, bytes, sizeof pattern);
      std::fill(want.begin(), want.end(), pattern);
      break;
    }
    case Kind::triad:
      // The kernel may fuse s*c + b into one FMA (rounded once, not twice): allow that difference.
      for (std::size_t i = 0; i < n; ++i) want[i] = b[i] + kTriadScale * c[i];
      r = dp::compare(std::span<const double>(a), std::span<const double>(want),
                      dp::Tolerance{.abs = 4 * DBL_EPSILON, .rel = 2 * DBL_EPSILON});
      ctx.result.add_check(name, r.passed, r.detail);
      return;
  }
  r = dp::compare(std::span<const double>(a), std::span<const double>(want));  // exact
  ctx.result.add_check(name, r.passed, r.detail);
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

std::string series_name(const Variant& v, int threads) {
  return threads == 1 ? v.name : fmt::format("{}-{}t", v.name, threads);
}

// Quick: an L1, an L2 and an L3-sized set, then the largest. Full: every 4x from 16 KiB.
std::vector<std::uint64_t> working_sets(std::uint64_t max_bytes, bool quick) {
  std::vector<std::uint64_t> sizes;
  if (quick) {
    for (std::uint64_t bytes : {std::uint64_t{16} << 10, std::uint64_t{256} << 10, std::uint64_t{4} << 20})
      if (bytes < max_bytes) sizes.push_back(bytes);
    sizes.push_back(max_bytes);
    return sizes;
  }
  return dp::geometric_sizes(16 << 10, max_bytes, 4);
}

// Headlines at the largest working set: copy / memcpy, and the best copy / memcpy.
void copy_ratios(dp::LabContext& ctx, int threads, double x) {
  const dp::Point* mem = ctx.result.point_at(series_name({"memcpy", Kind::memcpy, 2}, threads), x);
  const dp::Point* copy = ctx.result.point_at(series_name({"copy", Kind::copy, 2}, threads), x);
  if (!mem || !copy) return;
  const dp::Point* best = copy;
  std::string best_name = "copy";
  if (const dp::Point* nt = ctx.result.point_at(series_name({"copy-nt", Kind::copy_nt, 2}, threads), x))
    if (nt->throughput > best->throughput) best = nt, best_name = "copy-nt";
  const std::string where = fmt::format("{}, {} thread{}", dp::format_bytes(static_cast<std::uint64_t>(x)),
                                        threads, threads > 1 ? "s" : "");
  ctx.result.headlines.push_back({"copy / memcpy (" + where + ")",
                                  fmt::format("{:.2f} ({:.1f} vs {:.1f} GB/s)", copy->throughput / mem->throughput,
                                              copy->throughput, mem->throughput)});
  ctx.result.headlines.push_back({"best copy / memcpy (" + where + ")",
                                  fmt::format("{:.2f} ({}, {:.1f} GB/s)", best->throughput / mem->throughput,
                                              best_name, best->throughput)});
}

// Bytes one timed iteration should move at least, so that starting threads is a small cost.
constexpr std::size_t kBytesPerIteration = std::size_t{8} << 20;

void run(dp::LabContext& ctx) {
  const auto& machine = ctx.machine;
  const std::uint64_t llc = machine.last_level_cache_bytes();
  const long long max_kib = ctx.params.integer("max-kib");
  // 8x the last-level cache (4x quick), so that DRAM dominates; capped so quick runs stay quick.
  dp::SizeLimit limit = dp::limit_working_set((ctx.quick ? 4 : 8) * dp::llc_bytes_or(machine, std::uint64_t{32} << 20),
                                              machine, ctx.quick, "the largest working set");
#ifdef DP_SANITIZED
  if (ctx.quick) limit = {std::uint64_t{8} << 20, "Sanitizer build: the quick run stops at 8 MiB, and its timings mean nothing."};
#endif
  if (max_kib > 0) limit = {static_cast<std::uint64_t>(max_kib) * 1024, {}};
  if (!limit.note.empty()) ctx.result.notes.push_back(limit.note);
  const std::size_t max_bytes = limit.bytes;
  if (max_bytes < 64 * 1024)
    throw dp::Error(fmt::format("max-kib={} is too small; use 0 ({}x the last-level cache) or at least 64",
                                max_kib, ctx.quick ? 4 : 8));
  if (max_kib == 0 && llc == 0)
    ctx.result.notes.push_back("The OS reports no last-level cache size; the sweep assumes 32 MiB.");
  int all_threads = ctx.params.integer("threads") > 0 ? static_cast<int>(ctx.params.integer("threads"))
                                                      : std::max(1, machine.threads);
  // The team's threads spin while they wait for work (waking a sleeping thread would cost more
  // than a small pass); more spinning threads than CPUs only take turns and measure nothing.
  if (machine.threads > 0 && all_threads > machine.threads) {
    ctx.result.notes.push_back(fmt::format("threads={} is more than this machine's {} logical CPUs; the "
                                           "multi-threaded series uses {}",
                                           all_threads, machine.threads, machine.threads));
    ctx.log << "note: " << ctx.result.notes.back() << "\n";
    all_threads = machine.threads;
  }
  std::vector<int> thread_counts{1};
  if (all_threads > 1) thread_counts.push_back(all_threads);
  else ctx.result.notes.push_back("One logical CPU: only single-thread series.");
#ifndef DP_HAVE_STREAMING_STORES
  ctx.result.notes.push_back("This target has no SSE2/AVX streaming stores: copy-nt is left out.");
#endif
  const auto variants = all_variants();

  // Check first: every variant, on one thread and on all, against the simple loops.
  std::mt19937_64 rng(std::random_device{}());
  for (int threads : thread_counts)
    for (const Variant& v : variants) check_variant(ctx, v, threads, rng);
  if (!ctx.result.all_checks_passed()) return;

  // One set of arrays for every size: a holds the whole largest working set (read, write,
  // memset), b half of it (copies), c a third (triad). Filling them now maps every page, so no
  // page fault lands inside a timing.
  const std::size_t n_max = max_bytes / sizeof(double);
  const PageOffsetArray a_array(n_max, 0), b_array(n_max / 2, 1024 + 64), c_array(n_max / 3, 2048 + 128);
  const std::span<double> a = a_array.span(), b = b_array.span(), c = c_array.span();
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<double>(i % 1024);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<double>(i % 1000);
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = static_cast<double>(i % 999);

  // A step costs at least kBytesPerIteration of traffic per timing, whatever its size.
  dp::Sweep sweep(ctx, "working set", working_sets(max_bytes, ctx.quick),
                  {.weight = [](std::uint64_t bytes) { return static_cast<double>(std::max<std::uint64_t>(bytes, kBytesPerIteration)); }});
  std::vector<std::uint64_t> sizes;  // the ones measured
  for (std::uint64_t bytes : sweep) {
    sizes.push_back(bytes);
    for (int threads : thread_counts) {
      for (const Variant& v : variants) {
        const std::size_t n = bytes / sizeof(double) / static_cast<std::size_t>(v.arrays) / 8 * 8;
        const Views views{a.first(n), b.first(v.arrays >= 2 ? n : 0), c.first(v.arrays >= 3 ? n : 0)};
        const double counted = static_cast<double>(n * sizeof(double) * static_cast<std::size_t>(v.arrays));
        const std::size_t passes = std::max<std::size_t>(1, kBytesPerIteration / bytes);
        const std::string name = series_name(v, threads);
        SharedPasses work(v.kind, views, threads, passes);
        const auto stats = ctx.measure(fmt::format("{}/{}", name, bytes), [&] {
          benchmark::DoNotOptimize(work.round());
        });
        const dp::Stats per_pass = stats.per(static_cast<double>(passes));
        const double gb_per_s = counted / per_pass.median_ns;  // bytes per ns = GB/s
        ctx.result.add_point(name, "bytes", static_cast<double>(bytes), per_pass, gb_per_s, "GB/s", "pass");
      }
    }
  }

  // Key figures: read in L1 and in DRAM, then how close each copy gets to memcpy at DRAM sizes.
  const double largest = static_cast<double>(sizes.back());
  for (int threads : thread_counts) {
    const std::string read = series_name(variants.front(), threads);
    const dp::Point* small = ctx.result.point_at(read, static_cast<double>(sizes.front()));
    const dp::Point* big = ctx.result.point_at(read, largest);
    if (small && big)
      ctx.result.headlines.push_back({fmt::format("{} at {} / {}", read, dp::format_bytes(sizes.front()),
                                                  dp::format_bytes(sizes.back())),
                                      fmt::format("{:.1f} / {:.1f} GB/s", small->throughput, big->throughput)});
  }
  for (int threads : thread_counts) copy_ratios(ctx, threads, largest);

  ctx.result.notes.push_back(
      "GB/s counts bytes read plus bytes written by the program (STREAM's convention). A normal "
      "store to a line not in the cache first reads that line (write-allocate), so copy and triad "
      "really move more than they are credited with; copy-nt's streaming stores do not.");
  std::vector<dp::Marker> markers;
  for (int level = 1; level <= 3; ++level)
    if (const auto bytes = machine.cache_bytes(level))
      markers.push_back({static_cast<double>(bytes), fmt::format("L{} {}", level, dp::format_bytes(bytes))});
  // Both plots always exist (the guide shows both); with one CPU the second repeats the first.
  std::vector<std::string> one, many;
  for (const Variant& v : variants) {
    one.push_back(series_name(v, 1));
    many.push_back(series_name(v, thread_counts.back()));
  }
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "one-thread", .title = "Memory bandwidth, one thread",
      .xlabel = "working set (bytes counted per pass)", .ylabel = "GB/s (read + written)",
      .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true, .variants = one, .markers = markers});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "all-threads",
      .title = fmt::format("Memory bandwidth, {} thread{}", thread_counts.back(), thread_counts.back() > 1 ? "s" : ""),
      .xlabel = "working set (bytes counted per pass)", .ylabel = "GB/s (read + written)",
      .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true, .variants = many, .markers = markers});
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "memory-bandwidth",
             .title = "Bandwidth: how fast can we stream memory?",
             .module = 1,
             .level = 1,
             .tracks = {},
             .question = "How many GB/s can one core, and all cores, read, write and copy, "
                         "in cache and from DRAM?",
             .guide_page = "m1/memory-bandwidth.md",
             .source = "src/labs/m1/memory_bandwidth.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("max-kib",
                                      "largest working set in KiB (0 = 8x the last-level cache; 4x with --quick)",
                                      0, 0, 0, 4LL * 1024 * 1024),
               dp::ParamSpec::integer("threads", "threads for the multi-threaded series (0 = every logical CPU)",
                                      0, 0, 0, 256)},
    .run = run,
    .memory_need = [](const dp::Params& p, const dp::MachineInfo&, bool) {
      const auto bytes = static_cast<std::uint64_t>(p.integer("max-kib")) * 1024;  // 0: auto, capped
      return dp::MemoryNeed{3 * bytes, fmt::format("three arrays of {}", dp::format_bytes(bytes))};
    },
    .memory_param = "max-kib",
});
