// false-sharing — our solution: the same threads and the same live counters, each alone in its
// own 64-byte cache line.
//
// In the baseline, hits[0] and hits[1] are 8 bytes apart: one cache line holds both. A core can
// only write a line it owns, so every store by one thread takes the line away from the other
// core, and the next store there has to fetch it back: the line bounces between the cores on
// every key, although the threads share no data at all (false sharing).
// alignas(64) gives each counter a line of its own (the struct is padded to 64 bytes, and the
// vector's storage is aligned to 64 since C++17). 64 is the line size of every x86 CPU;
// std::hardware_destructive_interference_size (<new>) names the same number portably, but GCC
// warns that its value may change between compiler versions, so we write 64.
// Keeping the count in a local variable and storing it once at the end is just as legitimate
// (and faster still), if no one needs to read the counters while the threads run.
#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "count_below.hpp"

namespace {
struct alignas(64) PaddedCounter {
  std::atomic<std::uint64_t> value{0};
};
static_assert(sizeof(PaddedCounter) == 64, "one counter per cache line");
}  // namespace

extern "C" std::uint64_t count_below(std::span<const std::uint32_t> keys, std::uint32_t limit) {
  const std::size_t n = keys.size(), threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<PaddedCounter> hits(threads);
  {
    std::vector<std::jthread> team;
    for (std::size_t t = 0; t < threads; ++t)
      team.emplace_back([&, t] {
        std::atomic<std::uint64_t>& mine = hits[t].value;
        for (std::size_t i = n * t / threads; i < n * (t + 1) / threads; ++i)
          mine.store(mine.load(std::memory_order_relaxed) + (keys[i] < limit), std::memory_order_relaxed);
      });
  }  // the jthreads join here
  std::uint64_t total = 0;
  for (const auto& h : hits) total += h.value.load();
  return total;
}
