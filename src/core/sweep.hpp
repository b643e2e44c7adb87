// sweep.hpp — the sizes a lab sweeps: bounded by the machine's memory, and in quick mode by time.
//
// A memory lab sweeps working sets up to a few times the last-level cache. Caches differ a lot:
// a laptop reports 8-36 MiB, a server VM once reported 480 MiB, and "4x the cache" there is
// 1.9 GiB of data and minutes of sweeping. So the largest size is capped (256 MiB in quick mode,
// a quarter of RAM in full mode), and a quick run also stops its sweep once the next size would
// take it past its time budget. Every cap and every early stop is written into the result's notes.
//
// Index
//   SizeLimit          the largest size a lab may use, and the note that says why it was capped
//   limit_working_set  `wanted` bytes capped for quick or full mode on this machine
//   llc_bytes_or       the last-level cache, or a stated default where the machine reports none
//   geometric_sizes    first, first*f, first*f^2 ... last (and the point halfway between, if asked)
//   Sweep              for (auto size : Sweep(ctx, "working set", sizes)) ...: progress lines with
//                      the time left, and the quick-mode time budget
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dp {

struct LabContext;
struct MachineInfo;

// Largest working sets, whatever the cache: quick runs must stay quick and fit any laptop, and a
// full run must leave the machine three quarters of its memory.
inline constexpr std::uint64_t kQuickWorkingSetCap = std::uint64_t{256} << 20;
inline constexpr int kFullRunMemoryDivisor = 4;

struct SizeLimit {
  std::uint64_t bytes = 0;
  std::string note;  // empty when `wanted` was used as asked
};

// `wanted` (e.g. 4x the last-level cache) capped at kQuickWorkingSetCap in quick mode and at a
// quarter of the machine's memory in full mode. `what` names the quantity in the note.
SizeLimit limit_working_set(std::uint64_t wanted, const MachineInfo& machine, bool quick,
                            const std::string& what = "the largest working set");

// The last-level cache in bytes, or `fallback` where the machine reports none (some VMs).
std::uint64_t llc_bytes_or(const MachineInfo& machine, std::uint64_t fallback);

// first, first*factor, ... up to and including `last` (which is added if the steps miss it).
// With `halfway`, the point x1.5 between two steps is added too (smoother curves).
std::vector<std::uint64_t> geometric_sizes(std::uint64_t first, std::uint64_t last,
                                           std::uint64_t factor, bool halfway = false);

// How a Sweep labels, weighs and times its steps.
struct SweepOptions {
  std::function<std::string(std::uint64_t)> label;  // default: format_bytes when the sweep's name
                                                    // mentions a working set or bytes, else the number
  std::function<double(std::uint64_t)> weight;      // a step's relative cost; default: its size
  double budget_share = 1.0;  // the part of the quick run's remaining budget this sweep may use:
                              // a lab with two sweeps gives the first 0.5
  bool stops_early = true;    // false: progress lines only, every size runs (a lab whose sizes
                              // come from its parameters alone, not from the machine)
};

// A sweep over sizes, as a range: `for (std::uint64_t n : Sweep(ctx, "n", sizes)) { ... }`.
// Before each step it prints "  [3/9] working set 4 MiB (about 5 s left)" to ctx.log; the
// estimate fits a fixed cost plus a cost per weight to the last steps. In quick mode it ends the loop
// early when the next step would run past its share of the lab's time budget (always after at
// least kMinSteps steps, so a plot still has a curve), and says so in the result's notes.
class Sweep {
 public:
  static constexpr std::size_t kMinSteps = 3;

  Sweep(LabContext& ctx, std::string what, std::vector<std::uint64_t> sizes, SweepOptions options = {});
  template <std::integral T>  // sizes held as int or uint32_t
  Sweep(LabContext& ctx, std::string what, const std::vector<T>& sizes, SweepOptions options = {})
      : Sweep(ctx, std::move(what), std::vector<std::uint64_t>(sizes.begin(), sizes.end()), std::move(options)) {}

  class iterator {
   public:
    std::uint64_t operator*() const { return sweep_->sizes_[index_]; }
    iterator& operator++() {
      index_ = sweep_->advance(index_ + 1);
      return *this;
    }
    bool operator!=(const iterator& other) const { return index_ != other.index_; }

   private:
    friend class Sweep;
    iterator(Sweep* sweep, std::size_t index) : sweep_(sweep), index_(index) {}
    Sweep* sweep_;
    std::size_t index_;
  };
  iterator begin() { return {this, advance(0)}; }
  iterator end() { return {this, sizes_.size()}; }

  const std::vector<std::uint64_t>& planned() const { return sizes_; }
  std::size_t steps_done() const { return done_; }
  std::uint64_t last_done() const { return done_ ? sizes_[done_ - 1] : 0; }  // 0 before any step
  bool stopped_early() const { return stopped_early_; }

 private:
  // Finishes step `next - 1` and starts step `next`: returns `next`, or sizes_.size() to stop.
  std::size_t advance(std::size_t next);
  double weight_of(std::size_t i) const;
  double predict_seconds(std::size_t i) const;  // step i's time, from the steps finished so far

  LabContext& ctx_;
  std::string what_;
  std::vector<std::uint64_t> sizes_;
  SweepOptions options_;
  double budget_seconds_ = 0;  // this sweep's own budget, 0 = none
  std::chrono::steady_clock::time_point sweep_start_;
  std::chrono::steady_clock::time_point step_start_;
  std::vector<double> step_seconds_;  // each finished step's time
  std::size_t done_ = 0;
  bool stopped_early_ = false;
};

}  // namespace dp
