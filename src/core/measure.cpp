#include "core/measure.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "core/error.hpp"

namespace dp {

Stats Stats::per(double count) const {
  Stats s = *this;
  s.median_ns /= count;
  s.p10_ns /= count;
  s.p90_ns /= count;
  s.min_ns /= count;
  return s;
}

double percentile(std::vector<double> samples, double q) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const double pos = q * static_cast<double>(samples.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, samples.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return samples[lo] + (samples[hi] - samples[lo]) * frac;
}

namespace {

// Google Benchmark wants Initialize() once per process before anything runs.
void initialize_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    static char name[] = "dontpanic";
    static char* argv[] = {name, nullptr};
    int argc = 1;
    benchmark::Initialize(&argc, argv);
  });
}

// Receives Google Benchmark's results: one Run per repetition (plus aggregates we ignore).
class CollectingReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) error = run.error_message;
      if (run.run_type != Run::RT_Iteration || run.iterations == 0) continue;
      samples_ns.push_back(run.real_accumulated_time * 1e9 / static_cast<double>(run.iterations));
    }
  }
  std::vector<double> samples_ns;
  std::string error;
};

}  // namespace

Stats measure_state(const std::string& name,
                    const std::function<void(benchmark::State&)>& body,
                    const MeasureConfig& config) {
  initialize_once();
  auto* bench = benchmark::RegisterBenchmark(name.c_str(), body);
  bench->Repetitions(std::max(1, config.repetitions))
      ->MinTime(config.min_seconds)
      ->MinWarmUpTime(config.warmup_seconds)
      ->UseRealTime()
      ->Unit(benchmark::kNanosecond);

  CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::ClearRegisteredBenchmarks();

  if (!reporter.error.empty()) throw Error("benchmark '" + name + "' failed: " + reporter.error);
  if (reporter.samples_ns.empty()) throw Error("benchmark '" + name + "' produced no timing");

  Stats s;
  s.reps = static_cast<int>(reporter.samples_ns.size());
  s.median_ns = percentile(reporter.samples_ns, 0.5);
  s.p10_ns = percentile(reporter.samples_ns, 0.1);
  s.p90_ns = percentile(reporter.samples_ns, 0.9);
  s.min_ns = *std::min_element(reporter.samples_ns.begin(), reporter.samples_ns.end());
  return s;
}

Stats measure(const std::string& name, const std::function<void()>& body,
              const MeasureConfig& config) {
  return measure_state(name, [&body](benchmark::State& state) {
    for (auto _ : state) body();
  }, config);
}

}  // namespace dp
