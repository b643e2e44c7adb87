// async — What does it cost to ask for a result later, and to wait for an event?
//
// Part 1, fan-out / fan-in: start N small tasks (about 100 ns of arithmetic each), then collect
// all N results, five ways:
//   call        plain function calls on this thread: the baseline
//   std-async   std::async(std::launch::async, ...) per task, then future.get() on each
//   promise     a std::promise per task, fulfilled by our pool (core/task_pool.hpp); get() each
//   tbb         tbb::task_group: run() per task, one wait()
//   coroutine   our C++20 coroutine event loop (async_coroutines.hpp), on this thread alone: each
//               task is a coroutine that suspends once (queued on the loop); the parent awaits each
// N = 1 is the latency to a first result. Time = the whole fan-out and fan-in.
// Part 2, events: a thread waits for a flag another thread sets after a delay (100 us .. 100 ms):
//   condvar     std::condition_variable::wait        atomic-wait  std::atomic::wait (C++20, futex)
//   spin        loop on an atomic load (pause)       sleep-poll   check, sleep 100 us, check ...
// measuring the waiter's CPU time (getrusage(RUSAGE_THREAD)) and how late it sees the flag.
// Checked: every fan-out's sum equals the plain sum; every waiter reads the value set with the flag.
// Under ThreadSanitizer tbb is left out (Debian's TBB is not built for TSan; src/tensor/parallel.cpp).
//
//   dontpanic run async             N = 1 .. 1024, waits 100 us .. 100 ms, 20 waits each
//   dontpanic run async --quick     N = 1, 8, 64, 512; waits 100 us, 1 ms, 10 ms, 5 each
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sys/resource.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join

#include "core/lab.hpp"
#include "core/portability.hpp"  // DP_TSAN
#include "core/sweep.hpp"
#include "core/table.hpp"  // format_duration_ns
#include "core/task_pool.hpp"
#include "labs/m2/async_coroutines.hpp"  // Loop, Task<T>

#if __has_include(<tbb/task_group.h>) && !defined(DP_TSAN)
#define DP_ASYNC_HAVE_TBB 1
#include <tbb/task_group.h>
#endif

namespace {

// One task's work: ~100 ns of dependent multiply-xorshift steps, a result that depends on i.
[[gnu::noinline]] std::uint64_t work(std::uint64_t i) {
  std::uint64_t x = i * 0x9e3779b97f4a7c15ULL + 1;
  for (int k = 0; k < 64; ++k) x = (x ^ (x >> 29)) * 0xbf58476d1ce4e5b9ULL;
  return x;
}

// ---------------------------------------------------------------------------------------------
// Our coroutine event loop: a queue of suspended coroutines, resumed in order
// ---------------------------------------------------------------------------------------------

// Loop and Task<T> (async_coroutines.hpp): a queue of suspended coroutines resumed in order on
// one thread, and a coroutine that produces a value its caller co_awaits.
using dp::async_lab::Loop;
using dp::async_lab::Task;

Task<std::uint64_t> child(Loop& loop, std::uint64_t i) {
  co_await loop.yield();  // "asynchronous": its result comes later, when the loop gets to it
  co_return work(i);
}

Task<std::uint64_t> fan_out(Loop& loop, std::size_t n) {
  std::vector<Task<std::uint64_t>> children;
  children.reserve(n);
  for (std::size_t i = 0; i < n; ++i) children.push_back(child(loop, i));
  std::uint64_t sum = 0;
  for (auto& c : children) sum += co_await c;
  co_return sum;
}

// ---------------------------------------------------------------------------------------------
// Part 1: the fan-out variants. Each starts tasks 0..n-1 and returns the sum of their results.
// ---------------------------------------------------------------------------------------------

enum class Kind { call, std_async, promise, tbb, coroutine };

struct Variant {
  std::string name;
  Kind kind;
};

std::vector<Variant> fan_variants() {
  std::vector<Variant> v = {{"call", Kind::call}, {"std-async", Kind::std_async}, {"promise", Kind::promise}};
#ifdef DP_ASYNC_HAVE_TBB
  v.push_back({"tbb", Kind::tbb});
#endif
  v.push_back({"coroutine", Kind::coroutine});
  return v;
}

std::uint64_t fan(Kind kind, std::size_t n, dp::TaskPool& pool) {
  std::uint64_t sum = 0;
  switch (kind) {
    case Kind::call:
      for (std::size_t i = 0; i < n; ++i) sum += work(i);
      break;
    case Kind::std_async: {
      std::vector<std::future<std::uint64_t>> results;
      results.reserve(n);
      for (std::size_t i = 0; i < n; ++i) results.push_back(std::async(std::launch::async, work, i));
      for (auto& f : results) sum += f.get();
      break;
    }
    case Kind::promise: {
      std::vector<std::promise<std::uint64_t>> promises(n);
      std::vector<std::future<std::uint64_t>> results;
      results.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        results.push_back(promises[i].get_future());
        pool.submit([&p = promises[i], i] { p.set_value(work(i)); });
      }
      for (auto& f : results) sum += f.get();
      pool.wait();  // the promises must outlive the tasks that hold them
      break;
    }
    case Kind::tbb: {
#ifdef DP_ASYNC_HAVE_TBB
      std::vector<std::uint64_t> results(n);
      tbb::task_group group;
      for (std::size_t i = 0; i < n; ++i) group.run([&results, i] { results[i] = work(i); });
      group.wait();
      for (std::uint64_t r : results) sum += r;
#endif
      break;
    }
    case Kind::coroutine: {
      Loop loop;
      const Task<std::uint64_t> parent = fan_out(loop, n);
      loop.run();
      sum = parent.result();
      break;
    }
  }
  return sum;
}

// ---------------------------------------------------------------------------------------------
// Part 2: waiting for an event
// ---------------------------------------------------------------------------------------------

enum class Wait { condvar, atomic_wait, spin, sleep_poll };
constexpr auto kPollPeriod = std::chrono::microseconds(100);

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU time the calling thread has used (user + system), from getrusage: what waiting burned.
double thread_cpu_ns() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return (static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 +
          static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec)) * 1e3;
}

struct Waited {
  double cpu_ns = 0;   // the waiter's CPU time while it waited
  double wall_ns = 0;  // how long it waited: the delay, plus however late the setter woke
  double late_ns = 0;  // from setting the flag to the waiter seeing it
  std::uint64_t value = 0;
};

Waited wait_once(Wait how, std::chrono::nanoseconds delay, std::uint64_t payload) {
  std::mutex mutex;
  std::condition_variable cv;
  bool ready = false;            // condvar: guarded by mutex
  std::atomic<int> flag{0};      // the others: release store by the setter, acquire by the waiter
  std::atomic<bool> waiting{false};
  std::uint64_t value = 0;       // written before the flag, read after it: ordered by it
  std::int64_t set_at = 0;
  Waited w;
  {
    std::jthread waiter([&] {
      const double cpu0 = thread_cpu_ns();
      const std::int64_t start = now_ns();
      waiting.store(true, std::memory_order_release);
      switch (how) {
        case Wait::condvar: {
          std::unique_lock lock(mutex);
          cv.wait(lock, [&] { return ready; });
          break;
        }
        case Wait::atomic_wait:
          while (flag.load(std::memory_order_acquire) == 0) flag.wait(0, std::memory_order_acquire);
          break;
        case Wait::spin:
          while (flag.load(std::memory_order_acquire) == 0) {
#if defined(__x86_64__) || defined(__i386__)
            _mm_pause();
#endif
          }
          break;
        case Wait::sleep_poll:
          while (flag.load(std::memory_order_acquire) == 0) std::this_thread::sleep_for(kPollPeriod);
          break;
      }
      const std::int64_t seen = now_ns();
      w.cpu_ns = thread_cpu_ns() - cpu0;
      w.wall_ns = static_cast<double>(seen - start);
      w.late_ns = static_cast<double>(seen - set_at);
      w.value = value;
    });
    while (!waiting.load(std::memory_order_acquire)) std::this_thread::yield();
    std::this_thread::sleep_for(delay);
    if (how == Wait::condvar) {
      {
        std::lock_guard lock(mutex);
        value = payload, set_at = now_ns(), ready = true;
      }
      cv.notify_one();
    } else {
      value = payload, set_at = now_ns();
      flag.store(1, std::memory_order_release);
      if (how == Wait::atomic_wait) flag.notify_one();
    }
  }  // joins the waiter
  return w;
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  const int threads = std::max(1, ctx.machine.threads);
  dp::TaskPool pool(threads);
  const auto vs = fan_variants();
#ifndef DP_ASYNC_HAVE_TBB
  ctx.result.notes.push_back("The tbb variant is left out (ThreadSanitizer build, or no TBB headers).");
#endif
  const std::vector<std::uint64_t> ns = ctx.quick ? std::vector<std::uint64_t>{1, 8, 64, 512}
                                                  : std::vector<std::uint64_t>{1, 4, 16, 64, 256, 1024};
  // Check first: every variant's sum at every N, against the plain loop.
  for (const Variant& v : vs) {
    std::string bad;
    for (std::uint64_t n : ns) {
      std::uint64_t want = 0;
      for (std::uint64_t i = 0; i < n; ++i) want += work(i);
      const std::uint64_t got = fan(v.kind, n, pool);
      if (got != want && bad.empty()) bad = fmt::format("N = {}: sum {} want {}", n, got, want);
    }
    ctx.result.add_check(v.name + ": the sum of every task's result", bad.empty(),
                         bad.empty() ? fmt::format("equal to the plain sum at N = {}", fmt::join(ns, ", ")) : bad);
  }
  if (!ctx.result.all_checks_passed()) return;

  dp::Sweep sweep(ctx, "tasks", ns, {.budget_share = 0.5});
  for (std::uint64_t n : sweep)
    for (const Variant& v : vs) {
      const auto stats = ctx.measure(fmt::format("{}/{}", v.name, n), [&] { benchmark::DoNotOptimize(fan(v.kind, n, pool)); });
      ctx.result.add_point(v.name, "tasks", static_cast<double>(n), stats, 1e9 / stats.median_ns * static_cast<double>(n),
                           "tasks/s", "fan-out and fan-in");
    }

  // Events: each way of waiting, several delays, `reps` waits each.
  const std::vector<std::pair<std::string, Wait>> waits = {
      {"condvar", Wait::condvar}, {"atomic-wait", Wait::atomic_wait}, {"spin", Wait::spin}, {"sleep-poll", Wait::sleep_poll}};
  const std::vector<std::uint64_t> delays = ctx.quick ? std::vector<std::uint64_t>{100'000, 1'000'000, 10'000'000}
                                                      : std::vector<std::uint64_t>{100'000, 1'000'000, 10'000'000, 100'000'000};
  const int reps = ctx.quick ? 5 : 20;
  std::string wrong;
  dp::Sweep waited(ctx, "wait", delays, {.label = [](std::uint64_t d) { return dp::format_duration_ns(static_cast<double>(d)); }});
  for (std::uint64_t delay : waited)
    for (const auto& [name, how] : waits) {
      std::vector<double> cpu, late;
      double cpu_total = 0, wall_total = 0;
      for (int r = 0; r < reps; ++r) {
        const std::uint64_t payload = delay * 1000 + static_cast<std::uint64_t>(r) + 1;
        const Waited w = wait_once(how, std::chrono::nanoseconds(delay), payload);
        if (w.value != payload && wrong.empty()) wrong = fmt::format("{} after {}: read {} want {}", name, delay, w.value, payload);
        cpu.push_back(w.cpu_ns), late.push_back(w.late_ns);
        cpu_total += w.cpu_ns, wall_total += w.wall_ns;
      }
      auto stats = [&](const std::vector<double>& s) {
        return dp::Stats{.median_ns = dp::percentile(s, 0.5), .p10_ns = dp::percentile(s, 0.1), .p90_ns = dp::percentile(s, 0.9),
                         .min_ns = *std::min_element(s.begin(), s.end()), .reps = reps};
      };
      const dp::Stats c = stats(cpu), l = stats(late);
      // Share of a core = CPU time / wall time of the waits: a sleeper near 0 %, a spinner near 100 %
      // (less when the scheduler takes its core away).
      ctx.result.add_point(name + " CPU", "wait ns", static_cast<double>(delay), c, 100.0 * cpu_total / wall_total,
                           "% of a core", "wait");
      ctx.result.add_point(name + " wake", "wait ns", static_cast<double>(delay), l, 0, "", "wait");
    }
  ctx.result.add_check("every waiter reads the value set with the flag", wrong.empty(),
                       wrong.empty() ? fmt::format("{} waits per way and delay", reps) : wrong);

  // Key figures: the latency to a first result, and the CPU a wait burns.
  for (const Variant& v : vs)
    if (const dp::Point* p = ctx.result.point_at(v.name, 1))
      ctx.result.headlines.push_back({v.name + ": latency to a first result (N = 1)", dp::format_duration_ns(p->median_ns)});
  const double longest = static_cast<double>(waited.last_done());
  for (const auto& [name, how] : waits)
    if (const dp::Point* c = ctx.result.point_at(name + " CPU", longest); c)
      if (const dp::Point* l = ctx.result.point_at(name + " wake", longest))
        ctx.result.headlines.push_back({fmt::format("{}: CPU while waiting {}, then late by", name, dp::format_duration_ns(longest)),
                                        fmt::format("{} ({:.1f}% of a core), {}", dp::format_duration_ns(c->median_ns), c->throughput,
                                                    dp::format_duration_ns(l->median_ns))});
  ctx.result.notes.push_back(fmt::format("promise and tbb use {} thread{}; coroutine runs on the caller's thread alone. "
                                         "getrusage counts CPU time in microseconds.", threads, threads > 1 ? "s" : ""));

  std::vector<std::string> names, cpu_names, wake_names;
  for (const Variant& v : vs) names.push_back(v.name);
  for (const auto& [name, how] : waits) cpu_names.push_back(name + " CPU"), wake_names.push_back(name + " wake");
  ctx.result.plots.push_back(dp::PlotSpec{.name = "fan-out", .title = "Start N tasks, collect N results",
                                          .xlabel = "tasks (N)", .ylabel = "ns per fan-out and fan-in",
                                          .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = names});
  ctx.result.plots.push_back(dp::PlotSpec{.name = "event-cpu", .title = "CPU time the waiting thread burns",
                                          .xlabel = "time until the event (ns)", .ylabel = "ns of CPU time per wait",
                                          .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = cpu_names});
  ctx.result.plots.push_back(dp::PlotSpec{.name = "event-wake", .title = "How late the waiter sees the event",
                                          .xlabel = "time until the event (ns)", .ylabel = "ns from set to seen (median)",
                                          .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = wake_names});
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "async",
             .title = "Async and events",
             .module = 2,
             .level = 3,
             .tracks = {},
             .question = "What does it cost to start work whose result comes later, and to wait for an "
                         "event: in time, and in CPU burned while waiting?",
             .guide_page = "m2/async.md",
             .source = "src/labs/m2/async.cpp",
             .requires_gpu = {}},
    .params = {},
    .run = run,
});
