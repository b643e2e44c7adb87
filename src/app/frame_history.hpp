// frame_history.hpp — the last few hundred frame times, for the live plot and its p50/p99
// readouts. The percentiles are the frame-loop lab's (labs/m5/frame_stats.hpp: nearest rank, so a
// readout is always a frame that really happened).
#pragma once

#include <cstddef>
#include <vector>

#include "labs/m5/frame_stats.hpp"

namespace dp::app {

class FrameHistory {
 public:
  explicit FrameHistory(std::size_t capacity) : values_(capacity, 0.0f) {}

  void push(float ms) {
    values_[next_] = ms;
    next_ = (next_ + 1) % values_.size();
    if (count_ < values_.size()) ++count_;
  }

  // For ImGui::PlotLines: the buffer and the offset of the oldest value.
  const float* data() const { return values_.data(); }
  int size() const { return static_cast<int>(values_.size()); }
  int offset() const { return count_ < values_.size() ? 0 : static_cast<int>(next_); }
  std::size_t count() const { return count_; }

  // The value that a fraction q of the kept frames do not exceed (0 with no frames yet).
  double percentile(double q) const {
    if (count_ == 0) return 0;
    std::vector<double> kept(values_.begin(), values_.begin() + static_cast<std::ptrdiff_t>(count_));
    return frame_loop::tail_percentile(std::move(kept), q);
  }

 private:
  std::vector<float> values_;
  std::size_t next_ = 0, count_ = 0;
};

}  // namespace dp::app
