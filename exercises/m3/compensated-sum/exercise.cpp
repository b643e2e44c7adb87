// The compensated-sum exercise: graded on accuracy (README.md has the task).
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "exercise/exercise.hpp"
#include "exercise/inputs.hpp"
#include "sum.hpp"

namespace {

class SumCase final : public dp::ex::Case {
 public:
  // Values near 0.1 (0.1 +- 0.01), the classic case: their sum grows far above each value.
  SumCase(std::int64_t n, std::uint64_t seed) : values_(dp::ex::random_floats(static_cast<std::size_t>(n), seed, 0.09f, 0.11f)) {
    for (const float v : values_) exact_ += static_cast<long double>(v);  // 64-bit mantissa: exact enough
  }

  std::function<void()> bind(const dp::ex::Code& code) override {
    auto* fn = code.function<decltype(sum_floats)>("sum_floats");
    return [this, fn] { got_ = fn(values_); };
  }

  dp::ex::Verdict check() const override {
    const double error = static_cast<double>(std::fabs((static_cast<long double>(got_) - exact_) / exact_));
    // Any sum at all passes (the naive one is off by up to ~10% at 10^7 values); the score is the error.
    const bool passed = std::isfinite(got_) && error < 0.5;
    return {passed,
            fmt::format("sum {} vs exact {:.10g}: relative error {:.3g}{}", got_, static_cast<double>(exact_), error,
                        passed ? "" : " (more than 0.5: not a sum of these values)"),
            error};
  }

 private:
  std::vector<float> values_;
  long double exact_ = 0;
  float got_ = std::numeric_limits<float>::quiet_NaN();
};

const dp::ex::ExerciseRegistration registration{{
    .info = {.id = "compensated-sum",
             .title = "Sum ten million floats accurately",
             .module = 3,
             .level = 2,
             .file = "sum.cpp",
             .header = "sum.hpp",
             .function = "sum_floats(values)",
             .builds_on = "float-precision",
             .check_sizes = {1, 2, 3, 17, 1000, 4099},
             .seeds = 2,
             .timed_sizes = {1'000'000, 10'000'000},
             .tolerance = "relative error below 0.5 (a sum at all); the score is the error",
             .goal = dp::ex::Goal::accuracy,
             .target_error = 1e-6,
             .error_name = "relative error",
             .points = 10},
    .make_case = [](std::int64_t n, std::uint64_t seed) { return std::make_unique<SumCase>(n, seed); },
}};

}  // namespace
