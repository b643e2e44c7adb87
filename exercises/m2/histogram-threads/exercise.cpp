// The histogram-threads exercise: its cases and its registration (README.md has the task).
#include <algorithm>
#include <cstdint>

#include "exercise/exercise.hpp"
#include "exercise/inputs.hpp"
#include "core/check.hpp"
#include "histogram.hpp"

namespace {

class HistogramCase final : public dp::ex::Case {
 public:
  HistogramCase(std::int64_t n, std::uint64_t seed) : keys_(static_cast<std::size_t>(n)), bins_(kBins) {
    const auto raw = dp::ex::random_indices(keys_.size(), kBins, seed);
    std::copy(raw.begin(), raw.end(), keys_.begin());
  }

  std::function<void()> bind(const dp::ex::Code& code) override {
    auto* fn = code.function<decltype(histogram)>("histogram");
    return [this, fn] {
      std::fill(bins_.begin(), bins_.end(), kGarbage);  // a bin that is added to but never cleared shows
      fn(keys_, bins_);
    };
  }

  dp::ex::Verdict check() const override {
    std::vector<std::uint64_t> want(kBins, 0);
    for (const std::uint8_t k : keys_) ++want[k];
    const dp::CompareResult cmp = dp::compare(std::span<const std::uint64_t>(bins_), std::span<const std::uint64_t>(want));
    return {cmp.passed, cmp.passed ? cmp.detail : fmt::format("bins[key]: {}", cmp.detail)};
  }

 private:
  static constexpr std::uint64_t kGarbage = 0xdead;  // small enough that fmt's {:g} prints it readably
  std::vector<std::uint8_t> keys_;
  std::vector<std::uint64_t> bins_;
};

const dp::ex::ExerciseRegistration registration{{
    .info = {.id = "histogram-threads",
             .title = "Count keys on every core without fighting over the bins",
             .module = 2,
             .level = 2,
             .file = "histogram.cpp",
             .header = "histogram.hpp",
             .function = "histogram(keys, bins)",
             .builds_on = "atomics, false-sharing",
             .size_name = "keys",
             .check_sizes = {1, 2, 3, 255, 1000, 65537, 200003},
             .seeds = 2,
             .timed_sizes = {1 << 20, 1 << 22},
             .tolerance = "exact",
             .target_speedup = 6,
             .points = 10,
             .compile_flags = {"-pthread"}},
    .make_case = [](std::int64_t n, std::uint64_t seed) { return std::make_unique<HistogramCase>(n, seed); },
}};

}  // namespace
