// measure.hpp — timing a piece of code honestly, through Google Benchmark.
//
// Google Benchmark decides how many iterations make one repetition long enough to time,
// warms up first, and repeats. We collect every repetition's time per iteration and report
// the median with the 10th and 90th percentiles as the spread.
//
// Index
//   Stats          median / p10 / p90 of one measurement, in nanoseconds per iteration
//   MeasureConfig  repetitions, minimum time per repetition, warm-up time
//   measure()      time `body`, one call = one iteration
//   percentile()   the statistics helper the rest of the project uses too
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

namespace dp {

struct Stats {
  double median_ns = 0;  // per iteration
  double p10_ns = 0;
  double p90_ns = 0;
  double min_ns = 0;
  int reps = 0;

  // The same statistics divided by `count`: e.g. per element when one iteration touches `count`.
  Stats per(double count) const;
};

struct MeasureConfig {
  int repetitions = 10;
  double min_seconds = 0.05;  // each repetition runs at least this long
  double warmup_seconds = 0.05;

  static MeasureConfig quick() { return {5, 0.01, 0.01}; }
  static MeasureConfig full() { return {15, 0.05, 0.05}; }
};

// Times `body` (one call is one iteration). Use benchmark::DoNotOptimize on its result so the
// compiler cannot delete the work. Throws dp::Error if Google Benchmark reports an error.
Stats measure(const std::string& name, const std::function<void()>& body,
              const MeasureConfig& config);

// Like measure(), but `body` runs the whole benchmark loop itself, for work that needs
// per-iteration setup outside the timed region (state.PauseTiming) or its own counters.
Stats measure_state(const std::string& name,
                    const std::function<void(benchmark::State&)>& body,
                    const MeasureConfig& config);

// Linear-interpolated percentile of `samples` (q in [0, 1]); samples need not be sorted.
double percentile(std::vector<double> samples, double q);

}  // namespace dp
