// frame_stats.hpp — the frame-loop lab's arithmetic on recorded frames: frame times, tail
// percentiles and deadline misses. Pure functions on plain numbers, so tests can feed them
// synthetic frames (tests/labs/frame_loop_test.cpp).
//
// Index
//   FrameRecord       one frame: when it was due, when its work started and ended (ns after t0)
//   frame_times()     the interval between successive frame starts: what a viewer sees
//   tail_percentile() the value that a fraction q of samples do not exceed (nearest rank)
//   deadline_misses() frames whose work ended after the next frame was due
//   FrameSummary      p50 / p99 / p99.9 / max of frame times, misses, worst lateness
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <vector>

namespace dp::frame_loop {

struct FrameRecord {
  double due_ns = 0;    // when the schedule wanted frame i to start: i * period
  double start_ns = 0;  // when its work really started (after the pacing wait)
  double end_ns = 0;    // when its work ended
};

// Interval between the starts of frames i and i+1 (one fewer than the frames). A perfectly
// paced loop gives exactly the period every time.
inline std::vector<double> frame_times(std::span<const FrameRecord> frames) {
  std::vector<double> out;
  for (std::size_t i = 1; i < frames.size(); ++i) out.push_back(frames[i].start_ns - frames[i - 1].start_ns);
  return out;
}

// Nearest rank: the smallest sample such that at least a fraction q of the samples are <= it.
// Always a value that really occurred (no interpolation between two frames): "1 frame in 1000 took
// longer than this" is then a statement about real frames. q = 1 gives the maximum.
inline double tail_percentile(std::vector<double> samples, double q) {
  if (samples.empty()) throw std::invalid_argument("tail_percentile: no samples");
  if (!(q >= 0 && q <= 1)) throw std::invalid_argument("tail_percentile: q must be in [0, 1]");
  const auto n = samples.size();
  // 1-based rank; the small subtraction keeps q * n that lands a rounding error above a whole
  // number (0.07 * 100 = 7.000000000000001) on that number.
  std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n) - 1e-9));
  rank = std::clamp<std::size_t>(rank, 1, n);
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(rank - 1), samples.end());
  return samples[rank - 1];
}

// Frame i's deadline is when frame i+1 is due: due_ns + period. Its work must be done by then,
// or the frame is shown late (a missed deadline; on a display, a repeated frame).
inline std::size_t deadline_misses(std::span<const FrameRecord> frames, double period_ns) {
  return static_cast<std::size_t>(std::count_if(frames.begin(), frames.end(), [&](const FrameRecord& f) {
    return f.end_ns > f.due_ns + period_ns;
  }));
}

struct FrameSummary {
  std::size_t frames = 0;
  double p50_ns = 0, p99_ns = 0, p999_ns = 0, max_ns = 0;  // of frame_times()
  std::size_t misses = 0;                                  // deadline_misses()
  double worst_late_ns = 0;  // the latest start after its due time (wake-up lateness)
};

inline FrameSummary summarize(std::span<const FrameRecord> frames, double period_ns) {
  if (frames.size() < 2) throw std::invalid_argument("summarize: need at least two frames");
  const auto times = frame_times(frames);
  FrameSummary s;
  s.frames = frames.size();
  s.p50_ns = tail_percentile(times, 0.5);
  s.p99_ns = tail_percentile(times, 0.99);
  s.p999_ns = tail_percentile(times, 0.999);
  s.max_ns = tail_percentile(times, 1.0);
  s.misses = deadline_misses(frames, period_ns);
  for (const auto& f : frames) s.worst_late_ns = std::max(s.worst_late_ns, f.start_ns - f.due_ns);
  return s;
}

}  // namespace dp::frame_loop
