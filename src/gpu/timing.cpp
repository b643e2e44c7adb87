// timing.cpp — GPU timestamps into Stats.
#include "gpu/timing.hpp"

#include <algorithm>
#include <chrono>
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

Stats gpu_time_repeated(Device& device, const std::function<void(Sequence&)>& record, int reps,
                        double warmup_seconds, double busy_ns, int max_copies) {
  // 1. One copy, to learn how long the operation takes.
  Sequence probe(device, 2);
  probe.begin();
  probe.timestamp();
  record(probe);
  probe.timestamp();
  probe.end();
  probe.run();  // the first run of a new pipeline may include one-time driver work
  probe.run();
  const double once = std::max(probe.gpu_ns(0, 1), 1.0);
  const int copies = std::clamp(static_cast<int>(busy_ns / once), 1, max_copies);

  // 2. Enough copies back to back to keep the GPU busy.
  Sequence seq(device, 2);
  seq.begin();
  seq.timestamp();
  for (int i = 0; i < copies; ++i) {
    if (i > 0) seq.barrier();
    record(seq);
  }
  seq.timestamp();
  seq.end();

  // 3. Warm up by time, then measure.
  const auto start = std::chrono::steady_clock::now();
  do seq.run();
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < warmup_seconds);
  return gpu_time(seq, reps, 0, 1, copies, 0);
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
