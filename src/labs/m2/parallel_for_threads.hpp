// parallel_for_threads.hpp — the parallel-for lab's plumbing (parallel_for.cpp): how a variant
// gets exactly the threads it is asked for, and which thread counts a run sweeps.
//
// Index
//   Kernel               one loop, a variant's: double f(data, threads)
//   TbbThreads           TBB (and std::execution on it) held to exactly t threads (not under TSan)
//   Prepared             a kernel ready to run on t threads; TBB's arena built before any timing
//   thread_counts(...)   1..cpus (quick: powers of two and cpus), then 2x and 4x cpus
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "core/portability.hpp"  // DP_TSAN

#ifndef DP_TSAN
#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#endif

namespace dp::parallel_for {

using Kernel = double (*)(std::span<const float>, int);

#ifndef DP_TSAN
// TBB (and so std::execution) limited to exactly `threads` threads: a global_control lifts TBB's
// default cap of one thread per CPU (for the oversubscribed counts); the arena has `threads` slots.
class TbbThreads {
 public:
  explicit TbbThreads(int threads)
      : control_(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads)),
        arena_(threads) {
    arena_.initialize();
  }
  double run(const std::function<double()>& body) { return arena_.execute(body); }

 private:
  tbb::global_control control_;
  tbb::task_arena arena_;
};
#endif

// A variant's kernel ready to run one loop on `threads` threads; TBB's arena is built here, so that a
// measurement times only the passes.
class Prepared {
 public:
  Prepared(Kernel kernel, [[maybe_unused]] bool in_tbb_arena, int threads)  // in_tbb_arena: unused under TSan
      : kernel_(kernel), threads_(threads) {
#ifndef DP_TSAN
    if (in_tbb_arena) tbb_.emplace(threads);
#endif
  }
  double operator()(std::span<const float> x) {
#ifndef DP_TSAN
    if (tbb_) return tbb_->run([&] { return kernel_(x, threads_); });
#endif
    return kernel_(x, threads_);
  }

 private:
  Kernel kernel_;
  int threads_;
#ifndef DP_TSAN
  std::optional<TbbThreads> tbb_;
#endif
};

// Full: every count 1..cpus; quick: powers of two and cpus. Then 2x and 4x cpus, oversubscribed.
inline std::vector<int> thread_counts(int cpus, bool quick) {
  std::vector<int> counts;
  for (int t = 1; t <= cpus; ++t)
    if (!quick || (t & (t - 1)) == 0 || t == cpus) counts.push_back(t);
  counts.push_back(2 * cpus);
  counts.push_back(4 * cpus);
  return counts;
}

}  // namespace dp::parallel_for
