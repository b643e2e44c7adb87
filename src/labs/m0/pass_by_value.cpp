// pass-by-value — When does passing an argument by value cost a copy?
//
// Two kinds of argument, each handed to a function the compiler may not inline, so that the call
// and its argument passing really happen:
//   a trivially copyable struct of B bytes (8 B .. 4 KiB); the callee reads its first and last
//   word only, so the time is the passing, not the work:
//     struct-by-value       f(Blob b)          the caller copies all B bytes: in registers up to
//                                              16 bytes (x86-64 and ARM64), on the stack above that
//     struct-by-const-ref   f(const Blob& b)   the caller passes one address, whatever B is
//   a std::vector<std::uint32_t> of B bytes (256 B .. 64 MiB); the callee sums every element:
//     vector-by-value       f(std::vector<T> v)          allocates, copies B bytes, frees on return
//     vector-by-const-ref   f(const std::vector<T>& v)   reads the caller's own elements
//     vector-by-span        f(std::span<const T> s)      a pointer and a length, passed by value
// The checks: every callee saw the caller's values, and only the by-value callee got its own copy.
//
//   dontpanic run pass-by-value            structs 8 B .. 4 KiB, vectors 256 B .. 64 MiB (a minute)
//   dontpanic run pass-by-value --quick    a few sizes of each (seconds)
//   --param max-vector-kib=4096            largest vector
#include <array>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/check_tally.hpp"
#include "core/lab.hpp"
#include "core/table.hpp"
#include "core/sweep.hpp"

// The callees live in a named namespace (external linkage) and carry DP_REAL_CALL, so that the
// optimiser keeps each one as a real call with its parameter passed as declared. `noinline` alone
// is not enough on GCC: its inter-procedural passes may clone a function and pass only the words
// it reads (IPA-SRA); `noipa` forbids that too. Clang has no `noipa`, and does not rewrite the
// parameters of functions with external linkage.
#if defined(__GNUC__) && !defined(__clang__)
#define DP_REAL_CALL __attribute__((noipa))
#else
#define DP_REAL_CALL __attribute__((noinline))
#endif

namespace dp_pass_by_value {

using Word = std::uint32_t;

template <std::size_t Bytes>
struct Blob {  // trivially copyable, like a small struct of numbers
  std::array<Word, Bytes / sizeof(Word)> words;
};

// What a vector callee reports: the sum of what it saw, and where its elements were (as a number:
// the by-value callee's copy is gone by the time the caller looks).
struct Seen {
  std::uint64_t sum = 0;
  std::uintptr_t address = 0;
};

inline std::uintptr_t address_of(const Word* p) { return reinterpret_cast<std::uintptr_t>(p); }

// ---------------------------------------------------------------- the variants ----------------

template <std::size_t Bytes>
DP_REAL_CALL std::uint64_t ends_by_value(Blob<Bytes> b) {
  return std::uint64_t{b.words.front()} + b.words.back();
}

template <std::size_t Bytes>
DP_REAL_CALL std::uint64_t ends_by_const_ref(const Blob<Bytes>& b) {
  return std::uint64_t{b.words.front()} + b.words.back();
}

DP_REAL_CALL Seen sum_by_value(std::vector<Word> v) {  // v is the callee's own copy
  std::uint64_t sum = 0;
  for (Word x : v) sum += x;
  return {sum, address_of(v.data())};
}

DP_REAL_CALL Seen sum_by_const_ref(const std::vector<Word>& v) {
  std::uint64_t sum = 0;
  for (Word x : v) sum += x;
  return {sum, address_of(v.data())};
}

DP_REAL_CALL Seen sum_by_span(std::span<const Word> s) {
  std::uint64_t sum = 0;
  for (Word x : s) sum += x;
  return {sum, address_of(s.data())};
}

}  // namespace dp_pass_by_value

namespace {

using namespace dp_pass_by_value;

// ---------------------------------------------------------------- reference and check ---------

// The plainest reads of the caller's values, with indices rather than range-for.
template <std::size_t Bytes>
std::uint64_t reference_ends(const Blob<Bytes>& b) {
  return std::uint64_t{b.words[0]} + b.words[b.words.size() - 1];
}

std::uint64_t reference_sum(const std::vector<Word>& v) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < v.size(); ++i) sum += v[i];
  return sum;
}

// Values below 2^20 keep every sum far from overflow.
Word random_word(std::mt19937_64& rng) {
  return std::uniform_int_distribution<Word>(0, (1u << 20) - 1)(rng);
}

// ---------------------------------------------------------------- the run ---------------------

// Calls per timed iteration: one call of a few nanoseconds is too short to time well on its own,
// and the measuring lambda's own call would be a large share of it.
constexpr int kCallsPerIteration = 64;

template <std::size_t Bytes>
void struct_point(dp::LabContext& ctx, std::mt19937_64& rng, dp::CheckTally& by_value, dp::CheckTally& by_ref) {
  // Check on 100 fresh random blobs: both callees must read the caller's first and last word.
  int value_wrong = 0, ref_wrong = 0;
  std::string value_first, ref_first;
  for (int trial = 0; trial < 100; ++trial) {
    Blob<Bytes> b;
    for (Word& w : b.words) w = random_word(rng);
    const std::uint64_t want = reference_ends(b);
    const std::uint64_t got_value = ends_by_value(b), got_ref = ends_by_const_ref(b);
    if (got_value != want && value_wrong++ == 0) value_first = fmt::format(", first: got {}, want {}", got_value, want);
    if (got_ref != want && ref_wrong++ == 0) ref_first = fmt::format(", first: got {}, want {}", got_ref, want);
  }
  by_value.record(value_wrong == 0, fmt::format("{} B: {} of 100 wrong{}", Bytes, value_wrong, value_first));
  by_ref.record(ref_wrong == 0, fmt::format("{} B: {} of 100 wrong{}", Bytes, ref_wrong, ref_first));
  if (by_value.failed + by_ref.failed > 0) return;

  Blob<Bytes> blob;
  for (Word& w : blob.words) w = random_word(rng);
  // DoNotOptimize(blob) tells the compiler the blob may have changed before each call, so it
  // cannot copy it once and reuse the copy; DoNotOptimize on the result keeps the call.
  const auto by_value_stats = ctx.measure(fmt::format("struct-by-value/{}", Bytes), [&] {
    for (int i = 0; i < kCallsPerIteration; ++i) {
      benchmark::DoNotOptimize(blob);
      benchmark::DoNotOptimize(ends_by_value(blob));
    }
  });
  const auto by_ref_stats = ctx.measure(fmt::format("struct-by-const-ref/{}", Bytes), [&] {
    for (int i = 0; i < kCallsPerIteration; ++i) {
      benchmark::DoNotOptimize(blob);
      benchmark::DoNotOptimize(ends_by_const_ref(blob));
    }
  });
  for (const auto& [variant, stats] : {std::pair{"struct-by-value", by_value_stats},
                                       std::pair{"struct-by-const-ref", by_ref_stats}}) {
    const dp::Stats per_call = stats.per(kCallsPerIteration);
    ctx.result.add_point(variant, "bytes", Bytes, per_call, 1e3 / per_call.median_ns, "M calls/s", "call");
  }
}

template <std::size_t... Bytes>
void struct_sweep(dp::LabContext& ctx, std::mt19937_64& rng, dp::CheckTally& by_value, dp::CheckTally& by_ref) {
  ctx.log << "  structs passed by value and by reference\n";
  (struct_point<Bytes>(ctx, rng, by_value, by_ref), ...);
}

void vector_sweep(dp::LabContext& ctx, std::mt19937_64& rng, std::size_t max_bytes) {
  struct Variant {
    const char* name;
    Seen (*call)(const std::vector<Word>&);
    bool own_copy;  // should the callee's elements live somewhere else than the caller's?
  };
  const Variant variants[] = {
      {"vector-by-value", [](const std::vector<Word>& v) { return sum_by_value(v); }, true},
      {"vector-by-const-ref", [](const std::vector<Word>& v) { return sum_by_const_ref(v); }, false},
      {"vector-by-span", [](const std::vector<Word>& v) { return sum_by_span(v); }, false},
  };
  dp::CheckTally sums[3] = {{"vector-by-value saw the caller's values"},
                            {"vector-by-const-ref saw the caller's values"},
                            {"vector-by-span saw the caller's values"}};
  dp::CheckTally places[3] = {{"vector-by-value got its own copy"},
                              {"vector-by-const-ref read the caller's elements"},
                              {"vector-by-span read the caller's elements"}};
  const std::size_t first = ctx.quick ? 1024 : 256, factor = ctx.quick ? 64 : 4;
  for (std::size_t bytes : dp::Sweep(ctx, "vectors, working set", dp::geometric_sizes(first, max_bytes, factor),
                                     {.stops_early = false})) {
    std::vector<Word> v(bytes / sizeof(Word));
    for (Word& w : v) w = random_word(rng);
    const std::uint64_t want = reference_sum(v);
    for (std::size_t k = 0; k < 3; ++k) {
      const Seen seen = variants[k].call(v);
      sums[k].record(seen.sum == want, fmt::format("{}: sum {}, reference {}", dp::format_bytes(bytes), seen.sum, want));
      const bool elsewhere = seen.address != address_of(v.data());
      places[k].record(elsewhere == variants[k].own_copy,
                       fmt::format("{}: the callee's elements were {}", dp::format_bytes(bytes),
                                   elsewhere ? "a copy elsewhere" : "the caller's own"));
    }
    if (sums[0].failed + sums[1].failed + sums[2].failed + places[0].failed + places[1].failed + places[2].failed)
      break;
    for (const Variant& variant : variants) {
      const auto stats = ctx.measure(fmt::format("{}/{}", variant.name, bytes),
                                     [&] { benchmark::DoNotOptimize(variant.call(v)); });
      ctx.result.add_point(variant.name, "bytes", static_cast<double>(bytes), stats.per(static_cast<double>(v.size())),
                           static_cast<double>(bytes) / stats.median_ns, "GB/s", "element");
    }
  }
  for (const dp::CheckTally& t : sums) t.report(ctx.result, "the callee's sum equals the reference sum");
  places[0].report(ctx.result, "its elements were at another address than the caller's");
  for (int k = 1; k < 3; ++k) places[k].report(ctx.result, "its elements were the caller's own");
}

// "12.3 ns" for the series' point at x, or "-" when there is none.
std::string at(const dp::Result& r, const std::string& series, double x) {
  const dp::Point* p = r.point_at(series, x);
  return p ? dp::format_duration_ns(p->median_ns) : "-";
}

void run(dp::LabContext& ctx) {
  const long long max_kib = ctx.params.integer("max-vector-kib");
  std::mt19937_64 rng(std::random_device{}());

  dp::CheckTally by_value{"struct-by-value saw the caller's first and last word"};
  dp::CheckTally by_ref{"struct-by-const-ref saw the caller's first and last word"};
  if (ctx.quick)
    struct_sweep<8, 16, 64, 512, 4096>(ctx, rng, by_value, by_ref);
  else
    struct_sweep<8, 16, 24, 32, 64, 128, 256, 512, 1024, 2048, 4096>(ctx, rng, by_value, by_ref);
  by_value.report(ctx.result, "equal to the reference on 100 fresh random structs");
  by_ref.report(ctx.result, "equal to the reference on 100 fresh random structs");
  if (!ctx.result.all_checks_passed()) return;

  vector_sweep(ctx, rng, static_cast<std::size_t>(max_kib) * 1024);

  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "structs",
      .title = "Passing a struct: by value copies it, by reference does not",
      .xlabel = "struct size",
      .ylabel = "ns per call (median, p10-p90 bars)",
      .y = dp::PlotSpec::Y::time,
      .logx = true,
      .logy = true,
      .variants = {"struct-by-value", "struct-by-const-ref"}});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "vectors",
      .title = "Passing a std::vector that the callee sums",
      .xlabel = "vector size",
      .ylabel = "ns per element (median, p10-p90 bars)",
      .y = dp::PlotSpec::Y::time,
      .logx = true,
      .logy = false,
      .variants = {"vector-by-value", "vector-by-const-ref", "vector-by-span"}});

  for (double bytes : {8.0, 64.0, 4096.0})
    ctx.result.headlines.push_back({fmt::format("struct of {} B", bytes),
                                    fmt::format("by value {}, by const& {} per call", at(ctx.result, "struct-by-value", bytes),
                                                at(ctx.result, "struct-by-const-ref", bytes))});
  const double largest = static_cast<double>(max_kib) * 1024;
  ctx.result.headlines.push_back(
      {fmt::format("vector of {}", dp::format_bytes(static_cast<std::uint64_t>(largest))),
       fmt::format("by value {}, by const& {}, by span {} per element", at(ctx.result, "vector-by-value", largest),
                   at(ctx.result, "vector-by-const-ref", largest), at(ctx.result, "vector-by-span", largest))});
  ctx.result.notes.push_back(fmt::format(
      "Struct times are per call, averaged over {} calls in a row. Vector times are per element of the vector: "
      "the callee's sum, which all three variants do, and for by-value the allocation, the copy and the free.",
      kCallsPerIteration));
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "pass-by-value",
             .title = "Pass by value or by reference",
             .module = 0,
             .level = 1,
             .tracks = {},
             .question = "When does passing an argument by value cost a copy?",
             .guide_page = "m0/cpp.md",
             .source = "src/labs/m0/pass_by_value.cpp"},
    .params = {dp::ParamSpec::integer("max-vector-kib", "largest vector passed, in KiB (by value holds two)",
                                      64 * 1024, 4 * 1024, 1, 1024 * 1024)},
    .run = run,
});
