// timing.hpp — GPU time from timestamp queries, as the same Stats the CPU measurements use.
//
// Wall-clock time of a submit+wait includes the driver, the queue and the fence; the GPU's own
// clock (timestamps written by the command buffer) shows only the work. Labs report both.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/measure.hpp"
#include "gpu/sequence.hpp"

namespace dp::gpu {

class Device;

// Runs the recorded `seq` `warmup` times, then `reps` times, and returns median/p10/p90 of the GPU
// time between timestamps `from` and `to`, divided by `per` (e.g. the repeats recorded inside).
Stats gpu_time(Sequence& seq, int reps, std::uint32_t from, std::uint32_t to, double per = 1, int warmup = 1);

// Times GPU work the way a GPU should be timed: `record` adds the commands of ONE operation to a
// sequence; they are recorded back to back (with a barrier between copies) until one submission
// keeps the GPU busy for about `busy_ns`, the whole thing runs for `warmup_seconds` first (so the
// GPU is at its working clock, not its idle one), and then `reps` submissions are timed on the
// GPU clock. Returns Stats per operation. The operation must give the same result when repeated.
Stats gpu_time_repeated(Device& device, const std::function<void(Sequence&)>& record, int reps,
                        double warmup_seconds = 0.1, double busy_ns = 2e6, int max_copies = 200);

// Median / p10 / p90 / min of raw samples in nanoseconds (for labs that collect several
// intervals from the same runs).
Stats stats_of(std::vector<double> samples_ns);

}  // namespace dp::gpu
