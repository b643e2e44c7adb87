#include "core/sweep.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/lab.hpp"
#include "core/machine.hpp"

namespace dp {

namespace {

double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string format_seconds(double s) {
  if (s < 1) return "under a second";
  if (s < 90) return fmt::format("about {:.0f} s", s);
  return fmt::format("about {:.0f} min", s / 60);
}

}  // namespace

SizeLimit limit_working_set(std::uint64_t wanted, const MachineInfo& machine, bool quick,
                            const std::string& what) {
  if (quick) {
    if (wanted <= kQuickWorkingSetCap) return {wanted, {}};
    const std::uint64_t llc = machine.last_level_cache_bytes();
    return {kQuickWorkingSetCap,
            fmt::format("quick mode caps {} at {} (asked for {}){}; run without --quick for the full sweep",
                        what, format_bytes(kQuickWorkingSetCap), format_bytes(wanted),
                        llc && kQuickWorkingSetCap < 2 * llc
                            ? fmt::format(", which this machine's {} last-level cache largely holds: the "
                                          "DRAM end of the curve needs a full run", format_bytes(llc))
                            : std::string())};
  }
  const std::uint64_t ram_share = machine.memory_bytes / kFullRunMemoryDivisor;
  if (ram_share == 0 || wanted <= ram_share) return {wanted, {}};
  return {ram_share, fmt::format("{} capped at {}, a quarter of this machine's {} of memory (asked for {})",
                                 what, format_bytes(ram_share), format_bytes(machine.memory_bytes),
                                 format_bytes(wanted))};
}

std::uint64_t llc_bytes_or(const MachineInfo& machine, std::uint64_t fallback) {
  const std::uint64_t llc = machine.last_level_cache_bytes();
  return llc ? llc : fallback;
}

std::vector<std::uint64_t> geometric_sizes(std::uint64_t first, std::uint64_t last,
                                           std::uint64_t factor, bool halfway) {
  std::vector<std::uint64_t> sizes;
  if (first == 0 || factor < 2) return {last};
  for (std::uint64_t n = first; n <= last; n *= factor) {
    sizes.push_back(n);
    if (halfway && n * 3 / 2 < std::min(last, n * factor)) sizes.push_back(n * 3 / 2);
    if (n > last / factor) break;  // the next step would overflow or pass `last`
  }
  if (sizes.empty() || sizes.back() != last) sizes.push_back(last);
  return sizes;
}

Sweep::Sweep(LabContext& ctx, std::string what, std::vector<std::uint64_t> sizes, SweepOptions options)
    : ctx_(ctx), what_(std::move(what)), sizes_(std::move(sizes)), options_(std::move(options)) {
  if (!options_.label) {
    const bool bytes = what_.find("working set") != std::string::npos || what_.find("bytes") != std::string::npos;
    options_.label = bytes ? [](std::uint64_t n) { return format_bytes(n); }
                           : [](std::uint64_t n) { return fmt::format("{}", n); };
  }
  // Its share of what is left of the lab's budget. A budget that earlier work spent entirely
  // becomes a nanosecond, not zero: zero means "no budget" (a full run), and this sweep has one.
  if (options_.stops_early && ctx_.time_budget_seconds > 0)
    budget_seconds_ = std::max(1e-9, (ctx_.time_budget_seconds - ctx_.seconds_elapsed()) * options_.budget_share);
}

double Sweep::weight_of(std::size_t i) const {
  return options_.weight ? std::max(options_.weight(sizes_[i]), 1e-9) : std::max(static_cast<double>(sizes_[i]), 1.0);
}

double Sweep::predict_seconds(std::size_t i) const {
  // A line t = a + b * weight through the last three finished steps: a step has a fixed cost
  // (warm-up, the minimum time of a repetition) and a part that grows with its size, and the
  // recent steps say most about the next one (a working set past a cache costs more per byte).
  const std::size_t n = std::min<std::size_t>(step_seconds_.size(), 3);
  if (n == 0) return 0;
  const std::size_t first = step_seconds_.size() - n;
  double mean_w = 0, mean_t = 0;
  for (std::size_t k = first; k < step_seconds_.size(); ++k) mean_w += weight_of(k) / n, mean_t += step_seconds_[k] / n;
  double cov = 0, var = 0;
  for (std::size_t k = first; k < step_seconds_.size(); ++k) {
    cov += (weight_of(k) - mean_w) * (step_seconds_[k] - mean_t);
    var += (weight_of(k) - mean_w) * (weight_of(k) - mean_w);
  }
  double slope = var > 0 ? std::max(0.0, cov / var) : 0;
  double fixed = mean_t - slope * mean_w;
  if (fixed < 0) fixed = 0, slope = mean_t / mean_w;  // no sensible fixed part: proportional
  return fixed + slope * weight_of(i);
}

std::size_t Sweep::advance(std::size_t next) {
  const auto now = std::chrono::steady_clock::now();
  if (next == 0) {
    sweep_start_ = now;
  } else {
    step_seconds_.push_back(seconds_between(step_start_, now));
    done_ = next;
  }
  if (next >= sizes_.size()) return sizes_.size();

  // Quick mode: stop before a step that would end past the budget, predicted with a margin.
  const double elapsed = seconds_between(sweep_start_, now);
  if (budget_seconds_ > 0 && next >= kMinSteps && elapsed + 1.5 * predict_seconds(next) > budget_seconds_) {
    stopped_early_ = true;
    ctx_.result.notes.push_back(fmt::format(
        "quick mode stopped the {} sweep at {} to stay within its time budget ({:.1f} s; planned up "
        "to {}); run without --quick for every size",
        what_, options_.label(sizes_[next - 1]), budget_seconds_, options_.label(sizes_.back())));
    ctx_.log << fmt::format("  stopping at {} {}: the next size would pass the quick run's time budget\n",
                            what_, options_.label(sizes_[next - 1]));
    return sizes_.size();
  }
  // Time left in this sweep, once two steps give a slope.
  double left = 0;
  if (step_seconds_.size() >= 2)
    for (std::size_t i = next; i < sizes_.size(); ++i) left += predict_seconds(i);
  std::string eta;
  if (left > 0) eta = fmt::format(" ({} left)", format_seconds(left));
  ctx_.log << fmt::format("  [{}/{}] {} {}{}\n", next + 1, sizes_.size(), what_, options_.label(sizes_[next]), eta);
  ctx_.log.flush();
  step_start_ = std::chrono::steady_clock::now();
  return next;
}

}  // namespace dp
