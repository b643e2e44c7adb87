// atomics — What does an atomic increment cost, and what does memory order change?
//
// Part 1, counting. Every thread adds 1 to a counter K times, three ways, on one shared counter
// and on a counter of its own (128 bytes apart: no false sharing), for 1..2x CPUs threads:
//   fetch_add relaxed   c.fetch_add(1, std::memory_order_relaxed)
//   fetch_add seq_cst   c.fetch_add(1)   (x86: the same `lock xadd`; ARM: a different instruction)
//   CAS loop            read c, then compare_exchange_weak(v, v + 1) until no one changed it in between
// Time: ns per increment for each thread (round time / K, K = 2^16, quick 2^14): flat when the threads do not disturb
// each other. The CAS loop also counts its failed attempts.
//
// Part 2, memory order made visible: the store-buffering litmus test. Two threads, x = y = 0:
//   thread A: x = 1; r1 = y;        thread B: y = 1; r2 = x;
// Can both read 0? Under sequential consistency no: one store comes first, and the other thread's
// load must see it. x86 cores put a store in a store buffer and let the next load go first, so with
// relaxed or acquire/release atomics r1 = r2 = 0 is allowed and does happen; seq_cst stores add
// a full fence (GCC: xchg) and forbid it. The lab runs the test many times per order and counts.
//
//   dontpanic run atomics                           threads 1..2x CPUs; litmus test 2 s per order
//   dontpanic run atomics --quick                   fewer counts; litmus test 0.3 s per order
//   --param litmus-seconds=10                       run the litmus test longer
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/lab.hpp"
#include "core/portability.hpp"  // cpu_relax
#include "core/sweep.hpp"
#include "core/thread_team.hpp"  // run_together, PinnedToCpu

namespace {

// ---------------------------------------------------------------------------------------------
// Part 1: the increments
// ---------------------------------------------------------------------------------------------

using Counter = std::atomic<std::uint64_t>;

void add_relaxed(Counter& c, std::uint64_t times, std::uint64_t&) {
  for (std::uint64_t i = 0; i < times; ++i) c.fetch_add(1, std::memory_order_relaxed);
}

void add_seq_cst(Counter& c, std::uint64_t times, std::uint64_t&) {
  for (std::uint64_t i = 0; i < times; ++i) c.fetch_add(1, std::memory_order_seq_cst);
}

// compare_exchange_weak fails when another thread changed c since we read it (it then loads the
// new value into v), and may fail spuriously on ARM: either way, try again.
void add_cas(Counter& c, std::uint64_t times, std::uint64_t& failures) {
  for (std::uint64_t i = 0; i < times; ++i) {
    std::uint64_t v = c.load(std::memory_order_relaxed);
    while (!c.compare_exchange_weak(v, v + 1, std::memory_order_relaxed)) ++failures;
  }
}

struct Variant {
  std::string name;
  void (*add)(Counter&, std::uint64_t, std::uint64_t&);
};

const std::vector<Variant> kVariants = {
    {"fetch_add relaxed", add_relaxed}, {"fetch_add seq_cst", add_seq_cst}, {"CAS loop", add_cas}};

struct alignas(128) PaddedCounter {  // 128: two lines, also beyond Intel's adjacent-line prefetch
  Counter value{0};
};

// Per thread per round: 2^16 (2^14 quick: a round still lasts far longer than starting a thread);
// under a sanitizer (tens of times slower, timings meaningless) 2^11.
std::uint64_t increments(bool quick) { return dp::kSanitized ? 1 << 11 : quick ? 1 << 14 : 1 << 16; }

// One round: `threads` threads each add `increments`, to one shared counter or each to its own.
// Returns the CAS failures of the round (0 for fetch_add).
struct Counting {
  Counting(const Variant& v, int threads, bool shared, std::uint64_t increments)
      : variant(v), threads(threads), shared(shared), increments(increments), own(static_cast<std::size_t>(threads)),
        failures(static_cast<std::size_t>(threads)) {}
  void round() {
    dp::run_together(threads, [&](int t) {
      const auto i = static_cast<std::size_t>(t);
      std::uint64_t failed = 0;  // a local: a shared tally would be one more contended line
      variant.add(shared ? one.value : own[i].value, increments, failed);
      failures[i].value.fetch_add(failed, std::memory_order_relaxed);
    });
  }
  std::uint64_t total_failures() const {
    std::uint64_t n = 0;
    for (const auto& f : failures) n += f.value.load();
    return n;
  }
  const Variant& variant;
  int threads;
  bool shared;
  std::uint64_t increments;
  PaddedCounter one;
  std::vector<PaddedCounter> own;
  std::vector<PaddedCounter> failures;
};

// ---------------------------------------------------------------------------------------------
// Part 2: the store-buffering litmus test
// ---------------------------------------------------------------------------------------------

struct Outcomes {
  std::uint64_t counts[2][2] = {};  // [r1][r2]
  std::uint64_t trials() const { return counts[0][0] + counts[0][1] + counts[1][0] + counts[1][1]; }
};

// `trials` runs of the test with stores of order S and loads of order L. Each trial uses fresh
// x and y (vectors of zeros), so nothing is reset between trials; the two threads meet at a
// spin barrier before each trial, then wait a random few dozen cycles, so that sometimes one
// runs ahead and sometimes the other, and sometimes they overlap closely enough to reorder.
template <std::memory_order S, std::memory_order L>
void store_buffering(std::size_t trials, Outcomes& out) {
  std::vector<std::atomic<int>> xs(trials), ys(trials);  // value-initialised: all 0
  std::vector<unsigned char> r1(trials), r2(trials);     // each written by one thread only
  std::atomic<std::uint64_t> arrived{0};
  const std::vector<int> cpus = dp::allowed_cpus();
  auto side = [&](int me) {
    const dp::PinnedToCpu pin(cpus.size() >= 2 ? cpus[static_cast<std::size_t>(me)] : -1);
    std::uint32_t rng = 0x9e3779b9u * static_cast<std::uint32_t>(me + 1);
    for (std::size_t i = 0; i < trials; ++i) {
      arrived.fetch_add(1, std::memory_order_acq_rel);
      while (arrived.load(std::memory_order_acquire) < 2 * (i + 1)) dp::cpu_relax();
      rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
      for (std::uint32_t d = rng % 32; d > 0; --d) asm volatile("");  // a random short delay
      if (me == 0) {
        xs[i].store(1, S);
        r1[i] = static_cast<unsigned char>(ys[i].load(L));
      } else {
        ys[i].store(1, S);
        r2[i] = static_cast<unsigned char>(xs[i].load(L));
      }
    }
  };
  dp::run_together(2, side);
  for (std::size_t i = 0; i < trials; ++i) ++out.counts[r1[i]][r2[i]];
}

struct Order {
  std::string name;
  void (*run)(std::size_t, Outcomes&);
  bool forbids_both_zero;
};

const std::vector<Order> kOrders = {
    {"relaxed", store_buffering<std::memory_order_relaxed, std::memory_order_relaxed>, false},
    {"acquire/release", store_buffering<std::memory_order_release, std::memory_order_acquire>, false},
    {"seq_cst", store_buffering<std::memory_order_seq_cst, std::memory_order_seq_cst>, true}};

// Batches of trials until `seconds` have passed.
Outcomes run_litmus(const Order& order, double seconds) {
  constexpr std::size_t kBatch = dp::kSanitized ? 2'000 : 50'000;
  Outcomes out;
  const auto start = std::chrono::steady_clock::now();
  do order.run(kBatch, out);
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

std::string series(const Variant& v, bool shared) { return fmt::format("{}, {}", v.name, shared ? "shared" : "per-thread"); }

void run(dp::LabContext& ctx) {
  const int cpus = std::max(1, ctx.machine.threads);
  const std::uint64_t k = increments(ctx.quick);
  std::vector<int> counts;
  for (int t = 1; t <= 2 * cpus; ++t)
    if (!ctx.quick || (t & (t - 1)) == 0 || t == cpus || t == 2 * cpus) counts.push_back(t);

  // Check first: every variant on 2x CPUs threads; the counts must be exact.
  for (const Variant& v : kVariants)
    for (bool shared : {true, false}) {
      Counting c(v, 2 * cpus, shared, k);
      c.round();
      c.round();
      const std::uint64_t want = 2 * k;
      bool ok = true;
      std::uint64_t got = shared ? c.one.value.load() : 0;
      if (shared) ok = got == want * static_cast<std::uint64_t>(2 * cpus);
      else
        for (const auto& o : c.own) ok = ok && o.value.load() == want, got += o.value.load();
      ctx.result.add_check(fmt::format("{}: counts exact on {} threads", series(v, shared), 2 * cpus), ok,
                           fmt::format("total {} after 2 rounds, want {} x 2 x {} = {}", got, 2 * cpus, k,
                                       want * static_cast<std::uint64_t>(2 * cpus)));
    }
  if (!ctx.result.all_checks_passed()) return;

  // Part 2 first: its time is fixed by the parameter; part 1's sweep then takes what is left.
  const double seconds = ctx.params.real("litmus-seconds");
  for (const Order& order : kOrders) {
    ctx.log << fmt::format("  store buffering, {} ({:.1f} s)\n", order.name, seconds);
    const Outcomes o = run_litmus(order, seconds);
    const std::uint64_t both_zero = o.counts[0][0];
    const std::string tally =
        fmt::format("r1=r2=0: {}, r1=0 r2=1: {}, r1=1 r2=0: {}, r1=r2=1: {} (of {} trials)", both_zero,
                    o.counts[0][1], o.counts[1][0], o.counts[1][1], o.trials());
    ctx.result.headlines.push_back({fmt::format("store buffering, {}: both loads read 0", order.name),
                                    fmt::format("{} of {} trials ({:.3g} %)", both_zero, o.trials(),
                                                100.0 * static_cast<double>(both_zero) / static_cast<double>(o.trials()))});
    if (order.forbids_both_zero)
      ctx.result.add_check(fmt::format("store buffering, {}: never r1 = r2 = 0", order.name), both_zero == 0, tally);
    else if (both_zero == 0)
      ctx.result.notes.push_back(fmt::format(
          "Store buffering with {}: no r1 = r2 = 0 in this run. It is allowed, not guaranteed; it needs the two "
          "threads on two cores at the same moment. Try --param litmus-seconds=10 on an idle machine. ({})",
          order.name, tally));
    else
      ctx.result.notes.push_back(fmt::format("Store buffering with {}: {}", order.name, tally));
  }

  dp::Sweep sweep(ctx, "threads", counts, {.weight = [](std::uint64_t t) { return static_cast<double>(t); }});
  for (std::uint64_t t64 : sweep) {
    const int t = static_cast<int>(t64);
    for (const Variant& v : kVariants)
      for (bool shared : {true, false}) {
        Counting c(v, t, shared, k);
        std::uint64_t rounds = 0;
        const dp::Stats s = ctx.measure(fmt::format("{}/{}", series(v, shared), t), [&] { c.round(), ++rounds; });
        const dp::Stats per = s.per(static_cast<double>(k));
        ctx.result.add_point(series(v, shared), "threads", t, per, t / per.median_ns * 1e3, "M increments/s", "increment");
        if (v.add == add_cas && shared && t == cpus)
          ctx.result.headlines.push_back({fmt::format("CAS loop, shared, {} threads: failed attempts per increment", t),
                                          fmt::format("{:.2f}", static_cast<double>(c.total_failures()) /
                                                                    static_cast<double>(rounds * k * static_cast<std::uint64_t>(t)))});
      }
  }
  for (bool shared : {true, false}) {
    const dp::Point* one = ctx.result.point_at(series(kVariants[0], shared), 1);
    const dp::Point* all = ctx.result.point_at(series(kVariants[0], shared), cpus);
    if (one && all && cpus > 1)
      ctx.result.headlines.push_back({fmt::format("fetch_add relaxed, {}: {} threads / 1 thread", shared ? "shared" : "per-thread", cpus),
                                      fmt::format("{:.1f}x the time per increment ({:.1f} vs {:.1f} ns)",
                                                  all->median_ns / one->median_ns, all->median_ns, one->median_ns)});
  }

  std::vector<std::string> names;
  for (bool shared : {true, false})
    for (const Variant& v : kVariants) names.push_back(series(v, shared));
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "increments", .title = "Atomic increments: one shared counter vs one per thread",
      .xlabel = "threads", .ylabel = "ns per increment (each thread)", .y = dp::PlotSpec::Y::time,
      .logx = false, .logy = true, .variants = names,
      .markers = {{static_cast<double>(cpus), fmt::format("{} CPUs", cpus)}}});
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "atomics",
             .title = "Atomics and memory order",
             .module = 2,
             .level = 2,
             .tracks = {},
             .question = "What does an atomic increment cost when threads share the counter, and can you "
                         "see a CPU reorder a store and a load?",
             .guide_page = "m2/atomics.md",
             .source = "src/labs/m2/atomics.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::real("litmus-seconds", "seconds of store-buffering trials per memory order", 2.0, 0.3,
                                   0.01, 600)},
    .run = run,
});
