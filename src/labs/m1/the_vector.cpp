// the-vector — Why is std::vector the default container?
//
// Three questions, each answered by timing the same work in std::vector, std::deque and std::list
// (int elements; n from a thousand to a few million):
//   fill           n push_backs into an empty container (vector with and without reserve, and
//                  index writes into a vector sized up front), including freeing it again
//   traverse       sum every element, in order; list-scattered is the same list with its nodes
//                  spread through memory, as a long-lived list's nodes are
//   middle-insert  insert `inserts` elements, each at position size/2. vector and deque reach the
//                  middle in O(1) and shift elements; list shifts nothing but must walk there, so
//                  list-kept (which keeps an iterator to the middle) shows what a list is good at
// A counting allocator (a minimal std::allocator stand-in) counts the allocations each container
// makes while filling, and records the capacities the vector grows through: the growth factor.
//
//   dontpanic run the-vector            fill/traverse 1 Ki .. 4 Mi elements, inserts into 4 Ki .. 256 Ki
//   dontpanic run the-vector --quick    a small and a large size of each (seconds)
//   --param max-n=16777216              largest container for fill and traverse
//   --param max-insert-n=65536          largest container for middle inserts
//   --param inserts=100                 middle inserts per timed iteration (default 1000)
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <list>
#include <memory>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/checks_by_size.hpp"
#include "core/counting_allocator.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/sweep.hpp"

namespace {

using Element = int;

// ---------------------------------------------------------------------------------------------
// The variants
// ---------------------------------------------------------------------------------------------

// Fill: the same n values, appended one by one. Each takes an allocator so that the counting run
// below uses exactly this code.
template <class Alloc = std::allocator<Element>>
std::vector<Element, Alloc> fill_vector_push(std::span<const Element> src, const Alloc& alloc = {}) {
  std::vector<Element, Alloc> v(alloc);
  for (Element x : src) v.push_back(x);  // grows by reallocating and moving everything
  return v;
}

template <class Alloc = std::allocator<Element>>
std::vector<Element, Alloc> fill_vector_reserve(std::span<const Element> src, const Alloc& alloc = {}) {
  std::vector<Element, Alloc> v(alloc);
  v.reserve(src.size());                 // one allocation; push_back still checks capacity
  for (Element x : src) v.push_back(x);
  return v;
}

template <class Alloc = std::allocator<Element>>
std::vector<Element, Alloc> fill_vector_index(std::span<const Element> src, const Alloc& alloc = {}) {
  std::vector<Element, Alloc> v(src.size(), Element{}, alloc);  // allocates and zeroes
  for (std::size_t i = 0; i < src.size(); ++i) v[i] = src[i];  // no checks: may vectorise
  return v;
}

template <class Alloc = std::allocator<Element>>
std::deque<Element, Alloc> fill_deque(std::span<const Element> src, const Alloc& alloc = {}) {
  std::deque<Element, Alloc> d(alloc);
  for (Element x : src) d.push_back(x);  // fixed-size blocks: never moves an element
  return d;
}

template <class Alloc = std::allocator<Element>>
std::list<Element, Alloc> fill_list(std::span<const Element> src, const Alloc& alloc = {}) {
  std::list<Element, Alloc> l(alloc);
  for (Element x : src) l.push_back(x);  // one allocation per element (node: 2 pointers + value)
  return l;
}

// Traverse: one loop for every container; only the iterator differs.
template <class Container>
std::int64_t sum_all(const Container& c) {
  std::int64_t sum = 0;
  for (Element x : c) sum += x;
  return sum;
}

// Middle insert: std::next is O(1) for vector and deque iterators and a walk of size/2 nodes for a
// list. vector then moves the back half up by one; deque moves the shorter half.
template <class Container>
void insert_middle(Container& c, std::span<const Element> values) {
  for (Element x : values) c.insert(std::next(c.begin(), static_cast<std::ptrdiff_t>(c.size() / 2)), x);
}

// The list at its best: we already hold an iterator to the middle element (found once, before the
// clock starts), so each insert is O(1). Inserting before the middle of an even-sized list makes the
// new element the middle; for an odd size the middle stays where it was.
void insert_middle_kept(std::list<Element>& l, std::list<Element>::iterator middle,
                        std::span<const Element> values) {
  for (Element x : values) {
    const bool even = l.size() % 2 == 0;
    const auto inserted = l.insert(middle, x);
    if (even) middle = inserted;
  }
}

// The capacities a vector passes through while n elements are pushed, in order.
std::vector<std::size_t> capacities_seen(std::span<const Element> src) {
  std::vector<Element> v;
  std::vector<std::size_t> seen;
  for (Element x : src) {
    v.push_back(x);
    if (seen.empty() || v.capacity() != seen.back()) seen.push_back(v.capacity());
  }
  return seen;
}

// The growth factor: the median ratio of consecutive capacities, once they are past 16 elements
// (small capacities round: 1.5 x 3 = 4.5 becomes 4).
double growth_factor(const std::vector<std::size_t>& caps) {
  std::vector<double> ratios;
  for (std::size_t i = 1; i < caps.size(); ++i)
    if (caps[i - 1] >= 16) ratios.push_back(static_cast<double>(caps[i]) / static_cast<double>(caps[i - 1]));
  if (ratios.empty()) return 0;
  std::sort(ratios.begin(), ratios.end());
  return ratios[ratios.size() / 2];
}

const char* standard_library() {
#if defined(_LIBCPP_VERSION)
  return "libc++";
#elif defined(__GLIBCXX__)
  return "libstdc++";
#elif defined(_MSC_VER)
  return "MSVC STL";
#else
  return "this standard library";
#endif
}

// ---------------------------------------------------------------------------------------------
// Building inputs
// ---------------------------------------------------------------------------------------------

// A list holding `values` in order, whose nodes were allocated in a random order: allocate them
// shuffled, then splice them into value order. Splicing relinks nodes; it never moves them.
std::list<Element> scattered_list(std::span<const Element> values, std::mt19937_64& rng) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::shuffle(order.begin(), order.end(), rng);
  std::list<Element> pool;
  std::vector<std::list<Element>::iterator> node(values.size());
  for (std::size_t k : order) node[k] = pool.insert(pool.end(), values[k]);
  std::list<Element> list;
  for (auto it : node) list.splice(list.end(), pool, it);
  return list;
}

// ---------------------------------------------------------------------------------------------
// Reference and check
// ---------------------------------------------------------------------------------------------

// Middle inserts the plainest way: shift the back half up one slot by hand, then write.
std::vector<Element> reference_middle_inserts(std::span<const Element> base, std::span<const Element> values) {
  std::vector<Element> a(base.size() + values.size());
  std::copy(base.begin(), base.end(), a.begin());
  std::size_t size = base.size();
  for (Element x : values) {
    const std::size_t pos = size / 2;
    for (std::size_t j = size; j > pos; --j) a[j] = a[j - 1];
    a[pos] = x;
    ++size;
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

// Every `factor` from `first` to `last`; quick mode keeps the first, the middle and the last: enough
// for a curve, few enough to stay quick.
std::vector<std::uint64_t> sweep(std::uint64_t first, std::uint64_t last, std::uint64_t factor, bool quick) {
  const auto sizes = dp::geometric_sizes(std::min(first, last), last, factor);
  if (!quick || sizes.size() <= 3) return sizes;
  return {sizes.front(), sizes[sizes.size() / 2], sizes.back()};
}

std::vector<Element> random_elements(std::size_t n, std::mt19937_64& rng) {
  std::uniform_int_distribution<Element> value(-1'000'000, 1'000'000);
  std::vector<Element> v(n);
  for (Element& x : v) x = value(rng);
  return v;
}

void add_time(dp::LabContext& ctx, const std::string& variant, std::size_t n, const dp::Stats& stats,
              double per, const std::string& per_what) {
  const dp::Stats s = stats.per(per);
  ctx.result.add_point(variant, "elements", static_cast<double>(n), s, 1e3 / s.median_ns,
                       "M" + per_what + "/s", per_what);
}

void time_fill(dp::LabContext& ctx, std::span<const Element> src) {
  const std::size_t n = src.size();
  // Each variant builds a fresh container from src and lets it go (freeing is part of the time).
  const auto time_one = [&](const char* variant, auto fill) {
    const auto stats = ctx.measure(fmt::format("fill/{}/{}", variant, n), [&] {
      auto c = fill(src);
      benchmark::DoNotOptimize(c);
    });
    add_time(ctx, variant, n, stats, static_cast<double>(n), "element");
  };
  time_one("vector-push", [](auto s) { return fill_vector_push(s); });
  time_one("vector-reserve", [](auto s) { return fill_vector_reserve(s); });
  time_one("vector-index", [](auto s) { return fill_vector_index(s); });
  time_one("deque-push", [](auto s) { return fill_deque(s); });
  time_one("list-push", [](auto s) { return fill_list(s); });
}

template <class Container>
void time_traverse(dp::LabContext& ctx, const std::string& variant, const Container& c) {
  const auto stats = ctx.measure(fmt::format("traverse/{}/{}", variant, c.size()),
                                 [&] { benchmark::DoNotOptimize(sum_all(c)); });
  add_time(ctx, variant, c.size(), stats, static_cast<double>(c.size()), "element");
}

// Times `insert(container, middle, values)`, where `middle` points at the element at index n/2.
// The inserts all land between the elements at n/2 - 1 and n/2, so they form one block right before
// the element that was at n/2; between iterations, with the clock paused, that block is erased
// again, which restores the starting contents exactly. For a list, the iterator to the middle is
// found once and kept (list iterators stay valid while other nodes come and go); for vector and
// deque, begin() + n/2 costs nothing. Returns the container, which must equal `base` again.
// Pausing and resuming the clock costs about half a microsecond per iteration (Google Benchmark
// reads the CPU time too), which is why one iteration holds many inserts (1000 by default).
template <class Container, class Insert>
Container time_inserts(dp::LabContext& ctx, const std::string& variant, const Container& base,
                       std::span<const Element> values, Insert insert) {
  constexpr bool is_list = std::is_same_v<Container, std::list<Element>>;
  Container c = base;
  const auto m = static_cast<std::ptrdiff_t>(base.size() / 2);
  const auto k = static_cast<std::ptrdiff_t>(values.size());
  const auto kept_middle = std::next(c.begin(), is_list ? m : 0);  // used for the list only
  const auto stats = dp::measure_state(
      fmt::format("{}/middle-insert/{}/{}", ctx.result.lab, variant, base.size()),
      [&](benchmark::State& state) {
        for (auto _ : state) {
          insert(c, is_list ? kept_middle : std::next(c.begin(), m), values);
          state.PauseTiming();
          if constexpr (is_list) c.erase(std::prev(kept_middle, k), kept_middle);
          else c.erase(std::next(c.begin(), m), std::next(c.begin(), m + k));
          state.ResumeTiming();
        }
        benchmark::DoNotOptimize(c);
      },
      ctx.measure_config);
  add_time(ctx, variant, base.size(), stats, static_cast<double>(values.size()), "insert");
  return c;
}

// 0.0659 -> "0.0659", 14.3 -> "14.3", 1543.2 -> "1543": three significant digits, no exponent.
std::string readable(double v) {
  return v >= 100 ? fmt::format("{:.0f}", v) : fmt::format("{:.3g}", v);
}

// "vector 0.31, deque 0.95" at size n, in the series' own unit (ns per element or per insert).
std::string compare_at(const dp::Result& r, std::size_t n, const std::vector<std::string>& series) {
  std::string out;
  for (const auto& s : series)
    if (const dp::Point* p = r.point_at(s, static_cast<double>(n)))
      out += fmt::format("{}{} {}", out.empty() ? "" : ", ", s, readable(p->median_ns));
  return out;
}

void run(dp::LabContext& ctx) {
  const auto max_n = static_cast<std::size_t>(ctx.params.integer("max-n"));
  const auto max_insert_n = static_cast<std::size_t>(ctx.params.integer("max-insert-n"));
  const auto inserts = static_cast<std::size_t>(ctx.params.integer("inserts"));
  std::mt19937_64 rng(std::random_device{}());
  dp::ChecksBySize checks;  // one check per name over every size

  // --- fill: check each variant's contents, then time it ---
  dp::Sweep fill_sizes(ctx, "fill and traverse, elements:", sweep(ctx.quick ? 4096 : 1024, max_n, 4, ctx.quick),
                       {.budget_share = 0.5});
  for (std::size_t n : fill_sizes) {
    const std::vector<Element> src = random_elements(n, rng);
    checks.same("vector-push holds the input", n, fill_vector_push(src), src);
    checks.same("vector-reserve holds the input", n, fill_vector_reserve(src), src);
    checks.same("vector-index holds the input", n, fill_vector_index(src), src);
    checks.same("deque-push holds the input", n, fill_deque(src), src);
    checks.same("list-push holds the input", n, fill_list(src), src);

    // --- traverse the same values in each container ---
    const std::vector<Element> vec = fill_vector_reserve(src);
    const std::deque<Element> deq = fill_deque(src);
    const std::list<Element> lst = fill_list(src);
    const std::list<Element> scattered = scattered_list(src, rng);
    checks.same("list-scattered holds the input", n, scattered, src);
    const std::int64_t want = std::accumulate(src.begin(), src.end(), std::int64_t{0});
    const std::int64_t sums[] = {sum_all(vec), sum_all(deq), sum_all(lst), sum_all(scattered)};
    const bool sums_ok = std::all_of(std::begin(sums), std::end(sums), [&](std::int64_t s) { return s == want; });
    checks.record("traversal sums equal the reference sum", n, sums_ok,
                  fmt::format("vector {}, deque {}, list {}, list-scattered {}; reference {}",
                              sums[0], sums[1], sums[2], sums[3], want));
    if (checks.failed()) return checks.report(ctx.result);

    time_fill(ctx, src);
    time_traverse(ctx, "vector", vec);
    time_traverse(ctx, "deque", deq);
    time_traverse(ctx, "list", lst);
    time_traverse(ctx, "list-scattered", scattered);
  }

  // --- middle inserts ---
  // A timed iteration makes `inserts` inserts, each moving about half the container.
  dp::Sweep insert_sizes(ctx, "middle inserts, elements:", sweep(4096, max_insert_n, 4, ctx.quick));
  for (std::size_t n : insert_sizes) {
    const std::vector<Element> base = random_elements(n, rng);
    const std::vector<Element> values = random_elements(inserts, rng);
    const std::vector<Element> want = reference_middle_inserts(base, values);
    const std::vector<Element> vec(base.begin(), base.end());
    const std::deque<Element> deq(base.begin(), base.end());
    const std::list<Element> lst(base.begin(), base.end());
    {
      auto v = vec; insert_middle(v, values);
      auto d = deq; insert_middle(d, values);
      auto l = lst; insert_middle(l, values);
      auto k = lst; insert_middle_kept(k, std::next(k.begin(), static_cast<std::ptrdiff_t>(n / 2)), values);
      checks.same("vector after middle inserts", n, v, want);
      checks.same("deque after middle inserts", n, d, want);
      checks.same("list after middle inserts", n, l, want);
      checks.same("list-kept after middle inserts", n, k, want);
    }
    if (checks.failed()) return checks.report(ctx.result);
    // Each insert finds the middle itself: O(1) for vector and deque, a walk for list.
    const auto find_middle_each_time = [](auto& c, auto /*middle*/, std::span<const Element> v) {
      insert_middle(c, v);
    };
    checks.same("vector-insert leaves the starting contents after timing", n,
                time_inserts(ctx, "vector-insert", vec, values, find_middle_each_time), base);
    checks.same("deque-insert leaves the starting contents after timing", n,
                time_inserts(ctx, "deque-insert", deq, values, find_middle_each_time), base);
    checks.same("list-insert leaves the starting contents after timing", n,
                time_inserts(ctx, "list-insert", lst, values, find_middle_each_time), base);
    checks.same("list-kept-insert leaves the starting contents after timing", n,
                time_inserts(ctx, "list-kept-insert", lst, values, insert_middle_kept), base);
  }

  // --- allocations and growth, counted (not timed) at the largest fill size ---
  const std::vector<Element> src = random_elements(max_n, rng);
  struct Counted { const char* name; dp::AllocationCount count; };
  Counted counted[] = {{"vector-push", {}}, {"vector-reserve", {}}, {"vector-index", {}}, {"deque-push", {}}, {"list-push", {}}};
  checks.same("vector-push (counting allocator) holds the input", max_n, fill_vector_push(src, dp::CountingAllocator<Element>(&counted[0].count)), src);
  checks.same("vector-reserve (counting allocator) holds the input", max_n, fill_vector_reserve(src, dp::CountingAllocator<Element>(&counted[1].count)), src);
  checks.same("vector-index (counting allocator) holds the input", max_n, fill_vector_index(src, dp::CountingAllocator<Element>(&counted[2].count)), src);
  checks.same("deque-push (counting allocator) holds the input", max_n, fill_deque(src, dp::CountingAllocator<Element>(&counted[3].count)), src);
  checks.same("list-push (counting allocator) holds the input", max_n, fill_list(src, dp::CountingAllocator<Element>(&counted[4].count)), src);
  checks.report(ctx.result);
  if (checks.failed()) return;
  std::string calls, bytes;
  for (const Counted& c : counted) {
    calls += fmt::format("{}{} {}", calls.empty() ? "" : ", ", c.name, c.count.calls);
    bytes += fmt::format("{}{} {}", bytes.empty() ? "" : ", ", c.name, dp::format_bytes(c.count.requested_bytes));
  }
  const auto caps = capacities_seen(src);
  const double factor = growth_factor(caps);
  std::string cap_list;
  for (std::size_t cap : caps) cap_list += fmt::format("{}{}", cap_list.empty() ? "" : ", ", cap);

  ctx.result.headlines.push_back({"vector growth factor", factor > 0
      ? fmt::format("{:.2f} ({})", factor, standard_library()) : "too few reallocations to tell"});
  ctx.result.headlines.push_back({fmt::format("allocations for {} push_backs", max_n), calls});
  ctx.result.headlines.push_back({fmt::format("fill, ns per element at n={}", fill_sizes.last_done()),
      compare_at(ctx.result, fill_sizes.last_done(), {"vector-push", "vector-reserve", "vector-index", "deque-push", "list-push"})});
  ctx.result.headlines.push_back({fmt::format("traverse, ns per element at n={}", fill_sizes.last_done()),
      compare_at(ctx.result, fill_sizes.last_done(), {"vector", "deque", "list", "list-scattered"})});
  ctx.result.headlines.push_back({fmt::format("middle insert, ns per insert at n={}", insert_sizes.last_done()),
      compare_at(ctx.result, insert_sizes.last_done(), {"vector-insert", "deque-insert", "list-insert", "list-kept-insert"})});
  ctx.result.notes.push_back(fmt::format("Capacities a vector<int> grew through over {} push_backs: {}.", max_n, cap_list));
  ctx.result.notes.push_back(fmt::format("Bytes requested from the allocator while filling {} ints: {} (the "
                                         "elements themselves are {}).", max_n, bytes,
                                         dp::format_bytes(max_n * sizeof(Element))));
  ctx.result.notes.push_back("Fill times include freeing the container. Middle-insert times exclude erasing "
                             "the inserted elements again between timed iterations.");

  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "fill", .title = "Filling a container with n ints", .xlabel = "elements",
      .ylabel = "ns per element", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true,
      .variants = {"vector-push", "vector-reserve", "vector-index", "deque-push", "list-push"}});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "traverse", .title = "Summing every element in order", .xlabel = "elements",
      .ylabel = "ns per element", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true,
      .variants = {"vector", "deque", "list", "list-scattered"}});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "middle-insert", .title = fmt::format("Inserting {} ints at the middle", inserts),
      .xlabel = "elements already in the container", .ylabel = "ns per insert", .y = dp::PlotSpec::Y::time,
      .logx = true, .logy = true,
      .variants = {"vector-insert", "deque-insert", "list-insert", "list-kept-insert"}});
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "the-vector",
             .title = "The vector: growth, reserve, vs list and deque",
             .module = 1,
             .level = 1,
             .tracks = {},
             .question = "Why is std::vector the default container, and when is it not?",
             .guide_page = "m1/the-vector.md",
             .source = "src/labs/m1/the_vector.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("max-n", "largest container for fill and traverse, in elements",
                                      1 << 22, 1 << 19, 1024, 1 << 25),
               dp::ParamSpec::integer("max-insert-n", "largest container for middle inserts, in elements",
                                      1 << 18, 1 << 16, 1024, 1 << 22),
               dp::ParamSpec::integer("inserts", "middle inserts per timed iteration", 1000, 1000, 1, 10000)},
    .run = run,
    // At max-n: the input, the vectors and deque it fills, and a list (a 32-byte node per int).
    .memory_need = [](const dp::Params& p, const dp::MachineInfo&, bool) {
      const auto n = static_cast<std::uint64_t>(p.integer("max-n"));
      return dp::MemoryNeed{n * (5 * sizeof(Element) + 32), fmt::format("{} elements in vectors, a deque and a list", n)};
    },
    .memory_param = "max-n",
});
