// A deliberately wrong parallel_sum for the tests: each of T threads sums n / T elements, so the
// last n % T elements are never added (and n < T adds nothing at all).
#include <cmath>
#include <thread>
#include <vector>

#include "parallel_sum.hpp"

extern "C" double parallel_sum(std::span<const float> x) {
  const std::size_t threads = 2, chunk = x.size() / threads;
  std::vector<double> partial(threads);
  {
    std::vector<std::jthread> team;
    for (std::size_t t = 0; t < threads; ++t)
      team.emplace_back([&, t] {
        for (std::size_t i = t * chunk; i < (t + 1) * chunk; ++i)
          partial[t] += std::sqrt(1.0 + static_cast<double>(x[i]) * x[i]);
      });
  }
  return partial[0] + partial[1];
}
