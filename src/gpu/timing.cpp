// timing.cpp — GPU timestamps into Stats.
#include "gpu/timing.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace dp::gpu {

Stats gpu_time(Sequence& seq, int reps, std::uint32_t from, std::uint32_t to, double per, int warmup) {
  for (int i = 0; i < warmup; ++i) seq.run();
  std::vector<double> samples;
  for (int i = 0; i < std::max(reps, 1); ++i) {
    seq.run();
    samples.push_back(seq.gpu_ns(from, to) / per);
  }
  return stats_of(std::move(samples));
}

Stats stats_of(std::vector<double> samples) {
  Stats s;
  if (samples.empty()) return s;
  s.median_ns = percentile(samples, 0.5);
  s.p10_ns = percentile(samples, 0.1);
  s.p90_ns = percentile(samples, 0.9);
  s.min_ns = *std::min_element(samples.begin(), samples.end());
  s.reps = static_cast<int>(samples.size());
  return s;
}

}  // namespace dp::gpu
