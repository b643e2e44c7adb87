// copy-vs-move — What does a copy cost, and what does a move save?
//
// Part 1, hand-over: a new object is made from `a` and dropped again, for containers that own
// B bytes (8 B .. 64 MiB):
//   vector-copy    b = a             allocate B bytes, copy them, free them when b goes
//   vector-move    b = std::move(a)  b takes a's buffer (a pointer and two sizes); then gives it back
//   string-copy    the same with std::string
//   string-move    strings of up to 15 characters (libstdc++; 22 in libc++) live inside the string
//                  object itself (the small-string optimisation), so moving one copies those bytes
// Part 2, growth: n records (each owning a vector of 16 floats) are emplace_back-ed into an empty
// std::vector, which reallocates as it grows and must carry the old records over:
//   growth-noexcept-move   the record's move constructor is noexcept (the compiler-written one is),
//                          so the vector moves the records: no allocation, no copy
//   growth-throwing-move   the same record with a move constructor not marked noexcept: moving could
//                          throw halfway and lose records, so the vector copies them instead
//   reserved               reserve(n) first: the vector never grows
// The checks: every copy and move holds the reference values; a move hands over the very buffer a
// copy does not; growth with a noexcept move keeps every record's buffer, with a throwing move not.
//
//   dontpanic run copy-vs-move            8 B .. 64 MiB, 1 Ki .. 512 Ki records (a minute)
//   dontpanic run copy-vs-move --quick    three sizes of each (seconds)
//   --param max-kib=4096 --param max-records=65536
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "core/check_tally.hpp"
#include "core/lab.hpp"
#include "core/table.hpp"
#include "core/sweep.hpp"

namespace {

// ---------------------------------------------------------------- the variants ----------------

// Part 1. Each returns the new object; the timed loop then drops it (and, for a move, gives the
// buffer back to `a`, so that every iteration starts from the same state).
template <class Container>
Container copy_of(const Container& a) {
  Container b = a;         // copy constructor: a second buffer
  return b;                // returned without a copy (see the C++ page: NRVO or a move)
}

template <class Container>
Container moved_out_of(Container& a) {
  Container b = std::move(a);  // move constructor: b takes a's buffer, a is left empty
  return b;
}

// Part 2. Two records that differ only in whether their move constructor promises not to throw.
constexpr std::size_t kFloatsPerRecord = 16;

struct Record {  // the compiler writes copy and move; its move is noexcept because vector's is
  std::vector<float> values;
  explicit Record(std::span<const float> v) : values(v.begin(), v.end()) {}
};

struct RecordThrowingMove {
  std::vector<float> values;
  explicit RecordThrowingMove(std::span<const float> v) : values(v.begin(), v.end()) {}
  RecordThrowingMove(const RecordThrowingMove&) = default;
  RecordThrowingMove& operator=(const RecordThrowingMove&) = default;
  RecordThrowingMove& operator=(RecordThrowingMove&&) = default;
  // Written by hand, as one that logs or counts might be, and without `noexcept`: it does the same
  // work, but std::vector may no longer use it when it grows (std::move_if_noexcept).
  RecordThrowingMove(RecordThrowingMove&& other) : values(std::move(other.values)) {}
};

static_assert(std::is_nothrow_move_constructible_v<Record>);
static_assert(!std::is_nothrow_move_constructible_v<RecordThrowingMove>);

// n records, record i made from values[16 i .. 16 i + 15]; `reserve` sizes the vector up front.
// `on_made(record)` runs after each record is made: the check uses it to note where the record's
// buffer is; the timed fills pass nothing, and the empty default compiles to nothing.
struct NothingToNote {
  template <class R>
  void operator()(const R&) const {}
};

template <class R, class OnMade = NothingToNote>
std::vector<R> fill_records(std::span<const float> values, bool reserve, OnMade on_made = {}) {
  const std::size_t n = values.size() / kFloatsPerRecord;
  std::vector<R> records;
  if (reserve) records.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    records.emplace_back(values.subspan(i * kFloatsPerRecord, kFloatsPerRecord));  // may grow: move or copy all
    on_made(records.back());
  }
  return records;
}

// ---------------------------------------------------------------- reference and check ---------

// Counts how many elements of `got` differ from the reference values, which are compared as the
// plain sequence of numbers they should be (float for vectors, char for strings).
template <class Container, class T>
std::size_t differences(const Container& got, const std::vector<T>& want) {
  std::size_t wrong = got.size() > want.size() ? got.size() - want.size() : want.size() - got.size();
  for (std::size_t i = 0; i < got.size() && i < want.size(); ++i) wrong += got[i] != want[i];
  return wrong;
}

// ---------------------------------------------------------------- the run ---------------------

std::vector<std::size_t> sizes_between(std::size_t first, std::size_t last, std::size_t factor) {
  return dp::geometric_sizes(first, last, factor);
}

// Part 1 for one container type (`Value` is its element type): check a copy and a move of fresh
// random contents, then time them.
template <class Container, class Value>
void hand_over(dp::LabContext& ctx, const std::string& kind, const std::vector<std::size_t>& sizes,
               std::mt19937_64& rng) {
  dp::CheckTally copy_same{kind + "-copy holds the reference values"};
  dp::CheckTally copy_apart{kind + "-copy has a buffer of its own"};
  dp::CheckTally move_same{kind + "-move holds the reference values"};
  dp::CheckTally move_buffer{kind + "-move took over a's buffer"};
  const std::size_t inline_capacity = std::is_same_v<Container, std::string> ? std::string().capacity() : 0;
  std::uniform_int_distribution<int> digit(0, 255);

  for (std::size_t bytes : dp::Sweep(ctx, kind + " hand-over, bytes:", sizes, {.stops_early = false})) {
    const std::size_t n = bytes / sizeof(Value);
    std::vector<Value> want(n);
    for (Value& x : want) x = static_cast<Value>(digit(rng));  // floats 0..255 and any char: exact
    Container a(want.begin(), want.end());

    const Container copied = copy_of(a);
    copy_same.record(differences(copied, want) == 0 && differences(a, want) == 0,
                     fmt::format("{}: {} values differ", dp::format_bytes(bytes), differences(copied, want)));
    const bool apart = copied.data() != a.data();
    copy_apart.record(apart, fmt::format("{}: b's buffer is {}", dp::format_bytes(bytes), apart ? "its own" : "a's"));

    const Value* before = a.data();
    Container moved = moved_out_of(a);
    move_same.record(differences(moved, want) == 0,
                     fmt::format("{}: {} values differ", dp::format_bytes(bytes), differences(moved, want)));
    const bool handed_over = moved.data() == before;
    move_buffer.record(handed_over || n <= inline_capacity,
                       fmt::format("{}: b {}", dp::format_bytes(bytes),
                                   handed_over ? "took a's buffer" : "has a buffer of its own"));
    a = std::move(moved);
    if (copy_same.failed + copy_apart.failed + move_same.failed + move_buffer.failed > 0) break;

    // Time. benchmark::DoNotOptimize(b) makes b's contents count as used (and may change them),
    // so the compiler must really make the copy, and cannot skip the allocation it then frees.
    const auto copy_stats = ctx.measure(fmt::format("{}-copy/{}", kind, bytes), [&] {
      Container b = copy_of(a);
      benchmark::DoNotOptimize(b);
    });
    const auto move_stats = ctx.measure(fmt::format("{}-move/{}", kind, bytes), [&] {
      Container b = moved_out_of(a);
      benchmark::DoNotOptimize(b);
      a = std::move(b);  // hand the buffer back: the next iteration starts where this one did
    });
    ctx.result.add_point(kind + "-copy", "bytes", static_cast<double>(bytes), copy_stats,
                         static_cast<double>(bytes) / copy_stats.median_ns, "GB/s");
    ctx.result.add_point(kind + "-move", "bytes", static_cast<double>(bytes), move_stats, 0, "");  // moves no bytes
  }
  copy_same.report(ctx.result, "b equal to the reference, and a unchanged,");
  copy_apart.report(ctx.result, "b.data() != a.data()");
  move_same.report(ctx.result, "b equal to the reference");
  move_buffer.report(ctx.result, inline_capacity ? fmt::format("b.data() is a's old data() for strings longer than "
                                                               "the {} characters kept inline", inline_capacity)
                                                 : std::string("b.data() is a's old data()"));
}

// Part 2: fill with each record type, check the contents and whether each record kept the buffer
// it was made with (a move keeps it; a copy makes a new one), then time the fills.
struct GrowthVariant {
  const char* name;
  bool throwing_move;  // RecordThrowingMove rather than Record
  bool reserve;
};
constexpr GrowthVariant kGrowthVariants[] = {
    {"growth-noexcept-move", false, false}, {"growth-throwing-move", true, false}, {"reserved", false, true}};

void growth(dp::LabContext& ctx, const std::vector<std::size_t>& counts, std::mt19937_64& rng) {
  std::vector<dp::CheckTally> same, buffers;
  for (const GrowthVariant& v : kGrowthVariants) {
    same.push_back({fmt::format("{} holds the reference records", v.name)});
    buffers.push_back({v.throwing_move ? fmt::format("{}: records were copied when the vector grew", v.name)
                                       : fmt::format("{}: every record kept its buffer (never copied)", v.name)});
  }
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);

  for (std::size_t n : dp::Sweep(ctx, "growth, records:", counts, {.stops_early = false})) {
    std::vector<float> values(n * kFloatsPerRecord);
    for (float& x : values) x = value(rng);

    // Note each record's buffer address when it is made (as a number: the buffer may be freed
    // later, when a copy replaces it); compare with where it is at the end.
    const auto address = [](const float* p) { return reinterpret_cast<std::uintptr_t>(p); };
    const auto check = [&]<class R>(std::size_t k) {
      std::vector<std::uintptr_t> born;
      const auto records = fill_records<R>(values, kGrowthVariants[k].reserve,
                                           [&](const R& r) { born.push_back(address(r.values.data())); });
      std::size_t wrong = 0, new_buffers = 0;
      for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < kFloatsPerRecord; ++j)
          wrong += records[i].values[j] != values[i * kFloatsPerRecord + j];
        new_buffers += address(records[i].values.data()) != born[i];
      }
      same[k].record(wrong == 0, fmt::format("{} records: {} values differ", n, wrong));
      buffers[k].record(kGrowthVariants[k].throwing_move ? new_buffers > 0 : new_buffers == 0,
                        fmt::format("{} records: {} own a different buffer than when made", n, new_buffers));
    };
    check.operator()<Record>(0);
    check.operator()<RecordThrowingMove>(1);
    check.operator()<Record>(2);
    bool failed = false;
    for (std::size_t k = 0; k < same.size(); ++k) failed = failed || same[k].failed || buffers[k].failed;
    if (failed) break;

    for (const GrowthVariant& v : kGrowthVariants) {
      const auto stats = ctx.measure(fmt::format("{}/{}", v.name, n), [&] {
        if (v.throwing_move) benchmark::DoNotOptimize(fill_records<RecordThrowingMove>(values, v.reserve));
        else benchmark::DoNotOptimize(fill_records<Record>(values, v.reserve));
      });
      const dp::Stats per = stats.per(static_cast<double>(n));
      ctx.result.add_point(v.name, "records", static_cast<double>(n), per, 1e3 / per.median_ns, "M records/s", "record");
    }
  }
  for (std::size_t k = 0; k < same.size(); ++k) {
    same[k].report(ctx.result, "every value equal to the reference");
    buffers[k].report(ctx.result, "as expected");
  }
}

// "12.3 ns" for the series' point at x, or "-" when there is none.
std::string at(const dp::Result& r, const std::string& series, double x) {
  const dp::Point* p = r.point_at(series, x);
  return p ? dp::format_duration_ns(p->median_ns) : "-";
}

void run(dp::LabContext& ctx) {
  const auto max_bytes = static_cast<std::size_t>(ctx.params.integer("max-kib")) * 1024;
  const auto max_records = static_cast<std::size_t>(ctx.params.integer("max-records"));
  std::mt19937_64 rng(std::random_device{}());

  const auto bytes = sizes_between(8, max_bytes, ctx.quick ? 512 : 8);
  hand_over<std::vector<float>, float>(ctx, "vector", bytes, rng);
  hand_over<std::string, char>(ctx, "string", bytes, rng);
  if (!ctx.result.all_checks_passed()) return;
  growth(ctx, sizes_between(1024, max_records, 8), rng);

  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "hand-over",
      .title = "Making b from a: copy or move",
      .xlabel = "bytes owned",
      .ylabel = "ns per hand-over (median, p10-p90 bars)",
      .y = dp::PlotSpec::Y::time,
      .logx = true,
      .logy = true,
      .variants = {"vector-copy", "vector-move", "string-copy", "string-move"}});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "growth",
      .title = "Filling a vector of records: does growth move or copy them?",
      .xlabel = "records",
      .ylabel = "ns per record (median, p10-p90 bars)",
      .y = dp::PlotSpec::Y::time,
      .logx = true,
      .logy = false,
      .variants = {"growth-noexcept-move", "growth-throwing-move", "reserved"}});

  for (double b : {8.0, 4096.0, static_cast<double>(max_bytes)})
    ctx.result.headlines.push_back(
        {fmt::format("vector of {}", dp::format_bytes(static_cast<std::uint64_t>(b))),
         fmt::format("copy {}, move {}", at(ctx.result, "vector-copy", b), at(ctx.result, "vector-move", b))});
  ctx.result.headlines.push_back({"string of 8 B (inline)", fmt::format("copy {}, move {}", at(ctx.result, "string-copy", 8),
                                                                        at(ctx.result, "string-move", 8))});
  const double n = static_cast<double>(max_records);
  ctx.result.headlines.push_back(
      {fmt::format("{} records, per record", max_records),
       fmt::format("noexcept move {}, throwing move {}, reserved {}", at(ctx.result, "growth-noexcept-move", n),
                   at(ctx.result, "growth-throwing-move", n), at(ctx.result, "reserved", n))});
  ctx.result.notes.push_back(
      "A move's time is for a move out and a move back (two moves); a copy's includes freeing the copy.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "copy-vs-move",
             .title = "Copy or move",
             .module = 0,
             .level = 2,
             .tracks = {},
             .question = "What does a copy cost, and what does a move save?",
             .guide_page = "m0/cpp-deeper.md",
             .source = "src/labs/m0/copy_vs_move.cpp"},
    .params = {dp::ParamSpec::integer("max-kib", "largest container, in KiB", 64 * 1024, 1024, 8, 1024 * 1024),
               dp::ParamSpec::integer("max-records", "most records in the growth part", 512 * 1024, 65536, 8192,
                                      4 * 1024 * 1024)},
    .run = run,
});
