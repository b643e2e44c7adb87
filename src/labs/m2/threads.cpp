// threads — What does it cost to hand a task to another thread, and when does it pay?
//
// A batch of tasks, each a spin loop of a calibrated length (100 ns ... 1 ms of arithmetic, no
// memory traffic), runs four ways:
//   serial           the calling thread runs every task itself: the baseline
//   thread-per-task  a new std::thread for every task, all started, then all joined
//   pool             a small pool of ours (core/task_pool.hpp): P threads sleeping on one mutex +
//                    condition-variable queue; submit() pushes a task and wakes one, wait() sleeps
//                    until all are done
//   tbb              TBB's task_group inside a task_arena of P slots (work-stealing deques)
// Time per task = batch time / tasks; speedup = serial's time / the variant's time. The
// break-even task size is the smallest one at which a variant beats serial. A second sweep keeps
// the task size fixed and gives the pool (and TBB's arena) more threads than the machine has
// cores: oversubscription.
// Under ThreadSanitizer the tbb variant is left out (Debian's TBB is not built for TSan; see
// src/tensor/parallel.cpp), and the note says so.
//
//   dontpanic run threads              task sizes 100 ns .. 1 ms (1-3-10 steps), 256 tasks a batch
//   dontpanic run threads --quick      100 ns, 1 us, 10 us, 100 us, 1 ms, 64 tasks a batch
//   --param threads=4                  P for pool and tbb (0 = every logical CPU)
//   --param oversub-ns=10000           task size of the oversubscription sweep
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/lab.hpp"
#include "core/portability.hpp"  // DP_TSAN
#include "core/sweep.hpp"
#include "core/task_pool.hpp"  // our pool: one queue, one lock, sleeping workers
#include "core/table.hpp"  // format_duration_ns

#if __has_include(<tbb/task_arena.h>) && !defined(DP_TSAN)
#define DP_THREADS_HAVE_TBB 1
#include <tbb/task_arena.h>
#include <tbb/task_group.h>
#endif

namespace {

// ---------------------------------------------------------------------------------------------
// The work: a spin loop whose length we choose in nanoseconds
// ---------------------------------------------------------------------------------------------

// A chain of dependent multiply-xorshift steps: no memory traffic, nothing to vectorise, and a
// result that depends on every step, so the compiler can neither skip nor shorten it.
[[gnu::noinline]] std::uint64_t spin(std::uint64_t seed, std::uint64_t iterations) {
  std::uint64_t x = seed | 1;
  for (std::uint64_t k = 0; k < iterations; ++k) {
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ULL;
  }
  return x;
}

// One batch: task i writes results[i] and counts its run in ran[i]. Each slot has one writer, so
// plain ints suffice: the join (or the pool's wait) orders the writes before the caller's reads.
struct Batch {
  std::uint64_t iterations = 0;
  std::vector<std::uint64_t> results;
  std::vector<int> ran;
  Batch(std::size_t tasks, std::uint64_t iters) : iterations(iters), results(tasks), ran(tasks) {}
  std::size_t size() const { return results.size(); }
  void task(std::size_t i) {
    results[i] = spin(i + 1, iterations);
    ++ran[i];
  }
};

// ---------------------------------------------------------------------------------------------
// The variants: each returns "run every task of a batch once"
// ---------------------------------------------------------------------------------------------

enum class Kind { serial, thread_per_task, pool, tbb };
using Runner = std::function<void(Batch&)>;

// The pool or the arena is made here, once, outside the timed region: we time handing tasks over.
Runner make_runner(Kind kind, int threads) {
  switch (kind) {
    case Kind::serial:
      return [](Batch& b) {
        for (std::size_t i = 0; i < b.size(); ++i) b.task(i);
      };
    case Kind::thread_per_task:
      return [](Batch& b) {
        std::vector<std::jthread> started;
        started.reserve(b.size());
        for (std::size_t i = 0; i < b.size(); ++i) started.emplace_back([&b, i] { b.task(i); });
      };  // ~jthread joins each one
    case Kind::pool: {
      auto pool = std::make_shared<dp::TaskPool>(threads);
      return [pool](Batch& b) {
        for (std::size_t i = 0; i < b.size(); ++i) pool->submit([&b, i] { b.task(i); });
        pool->wait();
      };
    }
    case Kind::tbb:
#ifdef DP_THREADS_HAVE_TBB
    {
      auto arena = std::make_shared<tbb::task_arena>(threads);
      return [arena](Batch& b) {
        arena->execute([&] {
          tbb::task_group group;
          for (std::size_t i = 0; i < b.size(); ++i) group.run([&b, i] { b.task(i); });
          group.wait();  // the caller runs tasks too while it waits
        });
      };
    }
#else
      break;
#endif
  }
  return {};
}

struct Variant {
  std::string name;
  Kind kind;
};

std::vector<Variant> variants() {
  std::vector<Variant> v = {{"serial", Kind::serial}, {"thread-per-task", Kind::thread_per_task}, {"pool", Kind::pool}};
#ifdef DP_THREADS_HAVE_TBB
  v.push_back({"tbb", Kind::tbb});
#endif
  return v;
}

// ---------------------------------------------------------------------------------------------
// Calibration and the check
// ---------------------------------------------------------------------------------------------

// Nanoseconds per spin iteration: the fastest of a few runs of about a millisecond (the fastest,
// because every disturbance only adds time).
double calibrate_ns_per_iteration() {
  constexpr std::uint64_t kIterations = 500'000;
  double best = 1e300;
  for (int r = 0; r < 7; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(spin(r + 1, kIterations));
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::nano>(t1 - t0).count());
  }
  return best / static_cast<double>(kIterations);
}

// Every task ran exactly once, and its result equals the serial reference.
void check(dp::LabContext& ctx, const std::string& name, const Runner& runner, std::size_t tasks,
           std::uint64_t iterations) {
  Batch batch(tasks, iterations);
  runner(batch);
  std::size_t not_once = 0, wrong = 0;
  std::string first;
  for (std::size_t i = 0; i < tasks; ++i) {
    const bool once = batch.ran[i] == 1, right = batch.results[i] == spin(i + 1, iterations);
    not_once += !once;
    wrong += !right;
    if ((!once || !right) && not_once + wrong <= 3) first += fmt::format(" task {} ran {} times, result {};", i, batch.ran[i], right ? "right" : "wrong");
  }
  ctx.result.add_check(name + ": every task ran once, results right", not_once == 0 && wrong == 0,
                       not_once + wrong == 0 ? fmt::format("{} tasks of {} iterations", tasks, iterations)
                                             : fmt::format("{} ran not exactly once, {} wrong:{}", not_once, wrong, first));
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

std::vector<std::uint64_t> task_sizes_ns(bool quick) {
  if (quick) return {100, 1'000, 10'000, 100'000, 1'000'000};
  return {100, 300, 1'000, 3'000, 10'000, 30'000, 100'000, 300'000, 1'000'000};
}

void run(dp::LabContext& ctx) {
  const int threads = ctx.params.integer("threads") > 0 ? static_cast<int>(ctx.params.integer("threads"))
                                                        : std::max(1, ctx.machine.threads);
  const auto tasks = static_cast<std::size_t>(ctx.params.integer("tasks"));
  const auto oversub_ns = static_cast<double>(ctx.params.integer("oversub-ns"));
  const double ns_per_iteration = calibrate_ns_per_iteration();
  auto iterations_for = [&](double ns) { return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(ns / ns_per_iteration)); };
  ctx.result.notes.push_back(fmt::format("Spin work calibrated at {:.3f} ns per iteration; pool and tbb use {} thread{}.",
                                         ns_per_iteration, threads, threads > 1 ? "s" : ""));
#ifndef DP_THREADS_HAVE_TBB
  ctx.result.notes.push_back(dp::kSanitized ? "ThreadSanitizer build: the tbb variant is left out (Debian's TBB is not built for TSan)."
                                            : "TBB headers not found: the tbb variant is left out.");
#endif
  std::vector<int> oversub_threads;
  for (int t = 1; t <= (ctx.quick ? 16 : 64); t *= 2) oversub_threads.push_back(t);

  // Check first: every variant, and the most oversubscribed pool, on a fresh batch.
  const auto vs = variants();
  for (const Variant& v : vs) check(ctx, v.name, make_runner(v.kind, threads), tasks, iterations_for(1000));
  check(ctx, fmt::format("pool of {}", oversub_threads.back()), make_runner(Kind::pool, oversub_threads.back()), tasks,
        iterations_for(1000));
  if (!ctx.result.all_checks_passed()) return;

  std::vector<Runner> runners;
  for (const Variant& v : vs) runners.push_back(make_runner(v.kind, threads));
  dp::Sweep sweep(ctx, "task size", task_sizes_ns(ctx.quick),
                  {.label = [](std::uint64_t ns) { return dp::format_duration_ns(static_cast<double>(ns)); },
                   .weight = [](std::uint64_t ns) { return static_cast<double>(ns) + 20'000; },
                   .budget_share = 0.7});
  std::vector<double> measured;
  for (std::uint64_t task_ns : sweep) {
    measured.push_back(static_cast<double>(task_ns));
    Batch batch(tasks, iterations_for(static_cast<double>(task_ns)));
    double serial_ns = 0;
    for (std::size_t k = 0; k < vs.size(); ++k) {
      const auto stats = ctx.measure(fmt::format("{}/{}", vs[k].name, task_ns), [&] { runners[k](batch); });
      const dp::Stats per_task = stats.per(static_cast<double>(tasks));
      if (k == 0) serial_ns = per_task.median_ns;
      ctx.result.add_point(vs[k].name, "task ns", static_cast<double>(task_ns), per_task,
                           serial_ns / per_task.median_ns, "x serial", "task");
    }
  }
  runners.clear();  // the pool's threads stop before the next sweep starts its own

  // Oversubscription: the same tasks, more and more threads in the pool and the arena.
  Batch batch(tasks, iterations_for(oversub_ns));
  const std::string at = dp::format_duration_ns(oversub_ns);
  dp::Sweep more(ctx, "threads", oversub_threads, {.weight = [](std::uint64_t) { return 1.0; }});
  std::vector<std::string> oversub_names;
  for (const Variant& v : vs)
    if (v.kind == Kind::pool || v.kind == Kind::tbb) oversub_names.push_back(fmt::format("{}, {} tasks", v.name, at));
  for (std::uint64_t t : more) {
    for (const Variant& v : vs) {
      if (v.kind != Kind::pool && v.kind != Kind::tbb) continue;
      const Runner runner = make_runner(v.kind, static_cast<int>(t));
      const auto stats = ctx.measure(fmt::format("{}-oversub/{}", v.name, t), [&] { runner(batch); });
      ctx.result.add_point(fmt::format("{}, {} tasks", v.name, at), "threads", static_cast<double>(t),
                           stats.per(static_cast<double>(tasks)), 0, "", "task");
    }
  }

  // Key figures: each variant's cost for the smallest task, and its break-even task size.
  for (const Variant& v : vs) {
    if (v.kind == Kind::serial) continue;
    const dp::Series* s = ctx.result.find_series(v.name);
    if (!s || s->points.empty()) continue;
    ctx.result.headlines.push_back({fmt::format("{}: time per {} task", v.name, dp::format_duration_ns(s->points.front().x)),
                                    dp::format_duration_ns(s->points.front().median_ns)});
    const auto even = std::find_if(s->points.begin(), s->points.end(), [](const dp::Point& p) { return p.throughput > 1; });
    ctx.result.headlines.push_back({v.name + ": break-even task size",
                                    even == s->points.end() ? fmt::format("none up to {}", dp::format_duration_ns(measured.back()))
                                                            : fmt::format("{} ({:.2f}x serial)", dp::format_duration_ns(even->x), even->throughput)});
  }
  ctx.result.notes.push_back(
      "Speedup can reach at most the number of cores the tasks get. On a machine with two cores, "
      "expect at most 2x, and less while anything else runs.");

  std::vector<std::string> names;
  for (const Variant& v : vs) names.push_back(v.name);
  ctx.result.plots.push_back(dp::PlotSpec{.name = "cost-per-task", .title = "Time per task, by task size",
                                          .xlabel = "task size (ns of spin work)", .ylabel = "ns per task (wall time / tasks)",
                                          .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = names});
  ctx.result.plots.push_back(dp::PlotSpec{.name = "speedup", .title = "Speedup over running the tasks serially",
                                          .xlabel = "task size (ns of spin work)", .ylabel = "speedup (x serial)",
                                          .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = false, .variants = names});
  ctx.result.plots.push_back(dp::PlotSpec{.name = "oversubscription",
                                          .title = fmt::format("Threads beyond the cores ({} cores here), {} tasks", ctx.machine.threads, at),
                                          .xlabel = "threads in the pool or arena", .ylabel = "ns per task (wall time / tasks)",
                                          .y = dp::PlotSpec::Y::time, .logx = true, .logy = false, .variants = oversub_names});
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "threads",
             .title = "Threads: cost of creation, pools, oversubscription",
             .module = 2,
             .level = 2,
             .tracks = {},
             .question = "What does handing a task to another thread cost, and from which task size "
                         "does it pay?",
             .guide_page = "m2/threads.md",
             .source = "src/labs/m2/threads.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("threads", "threads of the pool and the TBB arena (0 = every logical CPU)", 0, 0, 0, 256),
               dp::ParamSpec::integer("tasks", "tasks in one batch", 256, 64, 8, 100'000),
               dp::ParamSpec::integer("oversub-ns", "task size in ns of the oversubscription sweep", 10'000, 10'000, 100,
                                      10'000'000)},
    .run = run,
});
