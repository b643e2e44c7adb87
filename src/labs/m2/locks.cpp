// locks — What does a lock cost, and what does it cost when threads queue for it?
//
// Threads do operations on shared state: take a lock, run a critical section, let go. The critical
// section updates a counter and runs `work` steps of a hash chain on the state (xorshift64, a few
// cycles a step, each needing the last), so its length is a knob. The locks:
//   std::mutex             the library mutex (glibc: a futex; a waiter sleeps in the kernel)
//   spinlock (pause)       test-and-test-and-set: exchange(true); if taken, spin reading until it
//                          looks free, with a `pause` in the spin (dp::cpu_relax)
//   spinlock (no pause)    the same spin without `pause`
//   mutex, 90% reads       9 of 10 operations only read the state (same length), under std::mutex
//   shared_mutex, 90% reads  the same mix under std::shared_mutex: readers may overlap
//   striped (16 mutexes)   lock striping: 16 padded (mutex, state) stripes; each operation picks
//                          one by a hash of (thread, operation), so two threads rarely collide
// Part 1: 1..2x CPUs threads, a short critical section (16 steps). Part 2: std::mutex and the
// spinlock with pause on all CPUs, the critical section from 1 to 1024 steps, beside one thread
// with std::mutex. Time: ns per
// operation, all threads together (round time / all operations): a lock that serialises perfectly
// stays at the critical section's length; contention adds to it.
//
//   dontpanic run locks            every thread count
//   dontpanic run locks --quick    threads in powers of two, CPUs and 2x CPUs; lengths 1, 16, 256
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "core/lab.hpp"
#include "core/portability.hpp"  // cpu_relax
#include "core/sweep.hpp"
#include "core/thread_team.hpp"  // run_together

namespace {

// ---------------------------------------------------------------------------------------------
// The locks and the critical section
// ---------------------------------------------------------------------------------------------

// Test-and-test-and-set. exchange() is a locked write: it pulls the line over in exclusive
// state every time. So a waiter first spins *reading* (the line stays shared in every waiter's
// cache, no traffic) and tries the exchange only when the lock looks free.
template <bool Pause>
class SpinLock {
 public:
  void lock() {
    while (locked_.exchange(true, std::memory_order_acquire))
      while (locked_.load(std::memory_order_relaxed))
        if constexpr (Pause) dp::cpu_relax();
  }
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

constexpr std::uint64_t kSeed = 0x243f6a8885a308d3;

inline std::uint64_t steps(std::uint64_t x, int work) {
  for (int i = 0; i < work; ++i) x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift64
  return x;
}

// The shared state and its lock, on lines of their own.
template <class Lock>
struct alignas(128) Guarded {
  Lock lock;
  std::uint64_t count = 0;     // writes done
  std::uint64_t chain = kSeed;  // steps(kSeed, count * work): any lost update breaks it
};

// One thread's operations on one guarded state. Operation i writes when read_every == 0 or
// i % read_every == 0, else it only reads (under a shared lock where the lock has one).
template <class Lock>
std::uint64_t operate(Guarded<Lock>& g, std::uint64_t i, int work, int read_every) {
  if (read_every != 0 && i % static_cast<std::uint64_t>(read_every) != 0) {
    if constexpr (std::is_same_v<Lock, std::shared_mutex>) {
      std::shared_lock hold(g.lock);
      return steps(g.chain, work);
    } else {
      std::lock_guard hold(g.lock);
      return steps(g.chain, work);
    }
  }
  std::lock_guard hold(g.lock);
  ++g.count;
  g.chain = steps(g.chain, work);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Variants as data: state, one thread's loop, and the check of the final state
// ---------------------------------------------------------------------------------------------

struct Workload {
  int threads, work;
  std::uint64_t ops;  // per thread per round
};

// A variant's state for one measurement: run a round, then say whether the state is exact.
class Trial {
 public:
  virtual ~Trial() = default;
  virtual void thread_ops(int t, const Workload& w) = 0;
  virtual std::string verify(std::uint64_t rounds, const Workload& w) const = 0;  // "" = exact
};

std::string verify_one(std::uint64_t count, std::uint64_t chain, std::uint64_t want, int work) {
  std::string wrong;
  if (count != want) wrong += fmt::format("count {} (want {}); ", count, want);
  std::uint64_t c = kSeed;  // the chain after `count` writes, done one after another
  for (std::uint64_t i = 0; i < count; ++i) c = steps(c, work);
  if (c != chain) wrong += "the hash chain lost an update; ";
  return wrong;
}

template <class Lock, int ReadEvery>
class OneCounter : public Trial {
 public:
  void thread_ops(int, const Workload& w) override {
    std::uint64_t sink = 0;
    for (std::uint64_t i = 0; i < w.ops; ++i) sink ^= operate(g_, i, w.work, ReadEvery);
    benchmark::DoNotOptimize(sink);
  }
  std::string verify(std::uint64_t rounds, const Workload& w) const override {
    const std::uint64_t writes = ReadEvery == 0 ? w.ops : (w.ops + ReadEvery - 1) / ReadEvery;
    return verify_one(g_.count, g_.chain, rounds * writes * static_cast<std::uint64_t>(w.threads), w.work);
  }

 private:
  Guarded<Lock> g_;
};

class Striped : public Trial {
 public:
  static constexpr std::size_t kStripes = 16;
  void thread_ops(int t, const Workload& w) override {
    for (std::uint64_t i = 0; i < w.ops; ++i) {
      const std::uint64_t h = (i * 0x9e3779b97f4a7c15ULL) ^ (static_cast<std::uint64_t>(t) * 0xbf58476d1ce4e5b9ULL);
      operate(stripes_[(h >> 32) % kStripes], i, w.work, 0);
    }
  }
  std::string verify(std::uint64_t rounds, const Workload& w) const override {
    std::uint64_t total = 0;
    std::string wrong;
    for (const auto& s : stripes_) {
      total += s.count;
      wrong += verify_one(s.count, s.chain, s.count, w.work);  // each stripe's chain matches its count
    }
    const std::uint64_t want = rounds * w.ops * static_cast<std::uint64_t>(w.threads);
    if (total != want) wrong += fmt::format("total {} (want {}); ", total, want);
    return wrong;
  }

 private:
  std::array<Guarded<std::mutex>, kStripes> stripes_;
};

struct Variant {
  std::string name;
  std::function<std::unique_ptr<Trial>()> make;
};

template <class T>
Variant variant(std::string name) {
  return {std::move(name), [] { return std::make_unique<T>(); }};
}

const std::vector<Variant> kContention = {
    variant<OneCounter<std::mutex, 0>>("std::mutex"),
    variant<OneCounter<SpinLock<true>, 0>>("spinlock (pause)"),
    variant<OneCounter<SpinLock<false>, 0>>("spinlock (no pause)"),
    variant<OneCounter<std::mutex, 10>>("mutex, 90% reads"),
    variant<OneCounter<std::shared_mutex, 10>>("shared_mutex, 90% reads"),
    variant<Striped>("striped (16 mutexes)")};

// ---------------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------------

constexpr int kShortWork = 16;  // part 1's critical section: 16 steps, tens of ns

// Operations per thread per round: about 2^16 steps of work (2^14 quick; a round of a millisecond
// or more, against tens of microseconds to start the threads), at least 64 operations.
std::uint64_t ops_for(int work, bool quick) {
  const std::uint64_t steps = std::uint64_t{1} << (quick || dp::kSanitized ? 14 : 16);
  return std::max<std::uint64_t>(64, steps / static_cast<std::uint64_t>(work + 4));
}

struct Measured {
  dp::Stats per_op;
  std::string wrong;  // "" = the final state was exact
};

Measured measure(dp::LabContext& ctx, const Variant& v, const Workload& w, const std::string& label) {
  auto trial = v.make();
  std::uint64_t rounds = 0;
  const dp::Stats s = ctx.measure(label, [&] {
    dp::run_together(w.threads, [&](int t) { trial->thread_ops(t, w); });
    ++rounds;
  });
  return {s.per(static_cast<double>(w.ops) * w.threads), trial->verify(rounds, w)};
}

std::vector<int> thread_counts(int cpus, bool quick) {
  std::vector<int> counts;
  for (int t = 1; t <= 2 * cpus; ++t)
    if (!quick || (t & (t - 1)) == 0 || t == cpus || t == 2 * cpus) counts.push_back(t);
  return counts;
}

void run(dp::LabContext& ctx) {
  const int cpus = std::max(1, ctx.machine.threads);

  // Check first: every lock on 2x CPUs threads, two rounds; the final state must be exact.
  for (const Variant& v : kContention) {
    const Workload w{2 * cpus, kShortWork, 2000};
    auto trial = v.make();
    for (int r = 0; r < 2; ++r) dp::run_together(w.threads, [&](int t) { trial->thread_ops(t, w); });
    const std::string wrong = trial->verify(2, w);
    ctx.result.add_check(fmt::format("{}: final state exact on {} threads", v.name, w.threads), wrong.empty(),
                         wrong.empty() ? "every write counted, and the hash chain matches its count" : wrong);
  }
  if (!ctx.result.all_checks_passed()) return;

  std::vector<std::string> wrong;  // timed runs whose final state was not exact
  auto record = [&](const std::string& label, const Measured& m) {
    if (!m.wrong.empty()) wrong.push_back(label + ": " + m.wrong);
  };

  // Part 1: thread counts, short critical section.
  dp::Sweep threads_sweep(ctx, "threads", thread_counts(cpus, ctx.quick),
                          {.weight = [](std::uint64_t) { return 1.0; }, .budget_share = 0.6});
  for (std::uint64_t t64 : threads_sweep) {
    const int t = static_cast<int>(t64);
    for (const Variant& v : kContention) {
      const Workload w{t, kShortWork, ops_for(kShortWork, ctx.quick)};
      const Measured m = measure(ctx, v, w, fmt::format("{}/{}t", v.name, t));
      record(fmt::format("{}, {} threads", v.name, t), m);
      ctx.result.add_point(v.name, "threads", t, m.per_op, 1e3 / m.per_op.median_ns, "M operations/s", "operation");
    }
  }

  // Part 2: critical section length on all CPUs (mutex, spinlock with pause), beside std::mutex on one thread.
  const std::vector<std::uint64_t> lengths = ctx.quick ? std::vector<std::uint64_t>{1, 16, 256}
                                                       : std::vector<std::uint64_t>{1, 4, 16, 64, 256, 1024};
  const std::string all = fmt::format("{} threads", cpus);
  dp::Sweep length_sweep(ctx, "critical section steps", lengths, {.weight = [](std::uint64_t) { return 1.0; }});
  for (std::uint64_t work64 : length_sweep) {
    const int work = static_cast<int>(work64);
    for (const Variant& v : {kContention[0], kContention[1]}) {
      const Workload w{cpus, work, ops_for(work, ctx.quick)};
      const Measured m = measure(ctx, v, w, fmt::format("{}/{}t/{}steps", v.name, cpus, work));
      record(fmt::format("{}, {} steps", v.name, work), m);
      ctx.result.add_point(fmt::format("{}, {}", v.name, all), "critical section steps", work, m.per_op,
                           1e3 / m.per_op.median_ns, "M operations/s", "operation");
    }
    const Workload one{1, work, ops_for(work, ctx.quick)};
    const Measured m = measure(ctx, kContention[0], one, fmt::format("std::mutex/1t/{}steps", work));
    record(fmt::format("std::mutex, 1 thread, {} steps", work), m);
    ctx.result.add_point("std::mutex, 1 thread", "critical section steps", work, m.per_op, 1e3 / m.per_op.median_ns,
                         "M operations/s", "operation");
  }
  ctx.result.add_check("every timed run: final state exact", wrong.empty(),
                       wrong.empty() ? "every write counted in every measurement" : fmt::format("{}", fmt::join(wrong, "; ")));

  // Key figures at all CPUs: contended mutex against one thread, and striping against one lock.
  const dp::Point* one = ctx.result.point_at("std::mutex", 1);
  const dp::Point* mutex_all = ctx.result.point_at("std::mutex", cpus);
  const dp::Point* striped = ctx.result.point_at("striped (16 mutexes)", cpus);
  if (one && mutex_all && cpus > 1)
    ctx.result.headlines.push_back({fmt::format("std::mutex, {} threads / 1 thread, ns per operation", cpus),
                                    fmt::format("{:.1f}x ({:.0f} vs {:.0f} ns)", mutex_all->median_ns / one->median_ns,
                                                mutex_all->median_ns, one->median_ns)});
  if (striped && mutex_all)
    ctx.result.headlines.push_back({fmt::format("striped / one std::mutex, {} threads, operations/s", cpus),
                                    fmt::format("{:.1f}x", mutex_all->median_ns / striped->median_ns)});

  std::vector<std::string> contention, lengths_series;
  for (const Variant& v : kContention) contention.push_back(v.name);
  for (int i = 0; i < 2; ++i) lengths_series.push_back(fmt::format("{}, {}", kContention[static_cast<std::size_t>(i)].name, all));
  lengths_series.push_back("std::mutex, 1 thread");
  const std::vector<dp::Marker> cpu_marker{{static_cast<double>(cpus), fmt::format("{} CPUs", cpus)}};
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "contention", .title = fmt::format("One lock, more threads ({}-step critical section)", kShortWork),
      .xlabel = "threads", .ylabel = "ns per operation (all threads together)", .y = dp::PlotSpec::Y::time,
      .logx = false, .logy = true, .variants = contention, .markers = cpu_marker});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "critical-section", .title = fmt::format("Longer critical sections, {}", all),
      .xlabel = "critical section length (xorshift steps, a few cycles each)",
      .ylabel = "ns per operation (all threads together)", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true,
      .variants = lengths_series});
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "locks",
             .title = "Locks: mutex, spinlock, shared_mutex, striping",
             .module = 2,
             .level = 2,
             .tracks = {},
             .question = "What does taking a lock cost, alone and when threads queue for it, and how do "
                         "spinning, reader locks and striping change that?",
             .guide_page = "m2/locks.md",
             .source = "src/labs/m2/locks.cpp",
             .requires_gpu = {}},
    .params = {},
    .run = run,
});
