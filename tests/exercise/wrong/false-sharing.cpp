// A deliberately wrong count_below for the tests: padded counters (right), but it counts keys
// less than OR EQUAL to the limit; the checker's limit is one of the keys, so the count is off.
#include <atomic>
#include <thread>
#include <vector>

#include "count_below.hpp"

namespace {
struct alignas(64) PaddedCounter {
  std::atomic<std::uint64_t> value{0};
};
}  // namespace

extern "C" std::uint64_t count_below(std::span<const std::uint32_t> keys, std::uint32_t limit) {
  const std::size_t n = keys.size(), threads = 2;
  std::vector<PaddedCounter> hits(threads);
  {
    std::vector<std::jthread> team;
    for (std::size_t t = 0; t < threads; ++t)
      team.emplace_back([&, t] {
        for (std::size_t i = n * t / threads; i < n * (t + 1) / threads; ++i)
          hits[t].value.store(hits[t].value.load(std::memory_order_relaxed) + (keys[i] <= limit), std::memory_order_relaxed);
      });
  }
  return hits[0].value.load() + hits[1].value.load();
}
