// A deliberately wrong histogram for the tests: per-thread bins, merged by adding into `bins`,
// which it never clears first; it assumes the bins arrive as zeros (they arrive holding garbage).
#include <array>
#include <thread>
#include <vector>

#include "histogram.hpp"

extern "C" void histogram(std::span<const std::uint8_t> keys, std::span<std::uint64_t> bins) {
  const std::size_t n = keys.size(), threads = 2;
  std::vector<std::array<std::uint64_t, kBins>> partial(threads);
  {
    std::vector<std::jthread> team;
    for (std::size_t t = 0; t < threads; ++t)
      team.emplace_back([&, t] {
        for (std::size_t i = n * t / threads; i < n * (t + 1) / threads; ++i) ++partial[t][keys[i]];
      });
  }
  for (const auto& p : partial)
    for (std::size_t b = 0; b < kBins; ++b) bins[b] += p[b];
}
