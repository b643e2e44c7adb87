// timing.hpp — GPU time from timestamp queries, as the same Stats the CPU measurements use.
//
// Wall-clock time of a submit+wait includes the driver, the queue and the fence; the GPU's own
// clock (timestamps written by the command buffer) shows only the work. Labs report both.
#pragma once

#include <cstdint>
#include <vector>

#include "core/measure.hpp"
#include "gpu/sequence.hpp"

namespace dp::gpu {

// Runs the recorded `seq` `warmup` times, then `reps` times, and returns median/p10/p90 of the GPU
// time between timestamps `from` and `to`, divided by `per` (e.g. the repeats recorded inside).
Stats gpu_time(Sequence& seq, int reps, std::uint32_t from, std::uint32_t to, double per = 1, int warmup = 1);

// Median / p10 / p90 / min of raw samples in nanoseconds (for labs that collect several
// intervals from the same runs).
Stats stats_of(std::vector<double> samples_ns);

}  // namespace dp::gpu
