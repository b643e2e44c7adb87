// false-sharing — make this faster. (exercises/m2/false-sharing/README.md has the task.)
//
// You may change anything in this file: add helper functions, constants, includes of the C++
// standard library (<thread>, <atomic>, <new>, ...), compiler attributes. Keep count_below()'s name
// and signature: count_below.hpp declares it, and the checker calls it with 1 to 2^23 keys.
//
//   dontpanic exercise check false-sharing     is it right, and how much faster?
//   dontpanic exercise hint false-sharing      a nudge (three, each more specific)
#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "count_below.hpp"

// Every hardware thread counts its slice of the keys into its own counter, hits[t]. No thread
// ever touches another's counter, so there is no race and nothing to lock. The counters are
// atomics updated with a relaxed load and store: that is two plain instructions on x86, but the
// count is kept in memory as it grows, where another thread (a progress bar, a watchdog) could
// read it at any time, as a real program's live counters are.
extern "C" std::uint64_t count_below(std::span<const std::uint32_t> keys, std::uint32_t limit) {
  const std::size_t n = keys.size(), threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::atomic<std::uint64_t>> hits(threads);  // hits[t]: thread t's count so far
  {
    std::vector<std::jthread> team;
    for (std::size_t t = 0; t < threads; ++t)
      team.emplace_back([&, t] {
        std::atomic<std::uint64_t>& mine = hits[t];
        for (std::size_t i = n * t / threads; i < n * (t + 1) / threads; ++i)
          mine.store(mine.load(std::memory_order_relaxed) + (keys[i] < limit), std::memory_order_relaxed);
      });
  }  // the jthreads join here
  std::uint64_t total = 0;
  for (const auto& h : hits) total += h.load();
  return total;
}
