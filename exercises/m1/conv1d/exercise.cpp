// The conv1d exercise: its cases and its registration (README.md has the task).
#include <limits>

#include "core/check.hpp"
#include "exercise/exercise.hpp"
#include "exercise/inputs.hpp"
#include "conv1d.hpp"

namespace {

constexpr std::size_t kTaps = 25;  // odd, and not a multiple of any vector width

// Each output is a float sum of 25 products of values in [-1, 1): its rounding error is below
// 25 * 6e-8 * 25 (about 4e-5) whatever the order of the additions, so abs 1e-4 + rel 1e-5 allows
// any order and still catches a missing, extra or shifted tap (typically 0.1 or more).
const dp::Tolerance kTolerance{.abs = 1e-4, .rel = 1e-5};

class Conv1dCase final : public dp::ex::Case {
 public:
  Conv1dCase(std::int64_t n, std::uint64_t seed)
      : signal_(dp::ex::random_floats(static_cast<std::size_t>(n), seed)),
        kernel_(dp::ex::random_floats(kTaps, seed + 1000)),
        out_(signal_.size(), std::numeric_limits<float>::quiet_NaN()) {}  // a sample left unwritten shows

  std::function<void()> bind(const dp::ex::Code& code) override {
    auto* fn = code.function<decltype(conv1d)>("conv1d");
    return [this, fn] { fn(signal_, kernel_, out_); };
  }

  dp::ex::Verdict check() const override {  // the formula in conv1d.hpp, in double
    const long n = static_cast<long>(signal_.size()), k = static_cast<long>(kTaps), h = k / 2;
    std::vector<double> want(signal_.size(), 0.0);
    for (long i = 0; i < n; ++i)
      for (long j = 0; j < k; ++j)
        if (i + j - h >= 0 && i + j - h < n)
          want[static_cast<std::size_t>(i)] += static_cast<double>(kernel_[static_cast<std::size_t>(j)]) *
                                               signal_[static_cast<std::size_t>(i + j - h)];
    const dp::CompareResult cmp =
        dp::compare(std::span<const float>(out_), std::span<const double>(want), kTolerance);
    return {cmp.passed, cmp.passed ? cmp.detail : fmt::format("out[sample]: {}", cmp.detail)};
  }

 private:
  std::vector<float> signal_, kernel_, out_;
};

const dp::ex::ExerciseRegistration registration{{
    .info = {.id = "conv1d",
             .title = "A 1D convolution: edges apart, interior vectorised",
             .module = 1,
             .level = 2,
             .file = "conv1d.cpp",
             .header = "conv1d.hpp",
             .function = "conv1d(signal, kernel, out)",
             .builds_on = "access-patterns",
             .size_name = "n",
             .check_sizes = {1, 2, 3, 12, 13, 24, 25, 26, 31, 33, 57, 100, 1001},
             .seeds = 2,
             .timed_sizes = {100'000, 1'000'000},
             .tolerance = "abs 1e-4 + rel 1e-5 against a double-precision reference",
             .target_speedup = 9,
             .points = 10},
    .make_case = [](std::int64_t n, std::uint64_t seed) { return std::make_unique<Conv1dCase>(n, seed); },
}};

}  // namespace
