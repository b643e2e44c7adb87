// The parallel-sum exercise: its cases and its registration (README.md has the task).
#include <cmath>
#include <limits>

#include "exercise/exercise.hpp"
#include "exercise/inputs.hpp"
#include "core/check.hpp"
#include "parallel_sum.hpp"

namespace {

// A parallel sum adds in another order than the serial one, so the result may differ in its last
// bits: relative 1e-9 allows any order of double additions at these sizes (the terms are all
// positive, so the error is at most about n * 2^-53 of the sum, and in practice, with rounding
// errors of either sign, nearer sqrt(n) * 2^-53: 5e-13 at n = 2^24). It still catches a float
// accumulator (about 1e-4 off at a million terms) or one missing element (a term is at least
// 1 / (4.2 n) of the sum: 1.4e-8 at 2^24).
constexpr double kRelTolerance = 1e-9;

class ParallelSumCase final : public dp::ex::Case {
 public:
  ParallelSumCase(std::int64_t n, std::uint64_t seed)
      : x_(dp::ex::random_floats(static_cast<std::size_t>(n), seed, -4, 4)) {}

  std::function<void()> bind(const dp::ex::Code& code) override {
    auto* fn = code.function<decltype(parallel_sum)>("parallel_sum");
    return [this, fn] { got_ = fn(x_); };
  }

  dp::ex::Verdict check() const override {
    long double want = 0;  // 64-bit mantissa: the reference is exact well beyond the tolerance
    for (const float v : x_) want += std::sqrt(1.0L + static_cast<long double>(v) * v);
    const double want_d = static_cast<double>(want);
    const dp::CompareResult cmp = dp::compare(std::span<const double>(&got_, 1), std::span<const double>(&want_d, 1),
                                              dp::Tolerance{.abs = 0, .rel = kRelTolerance});
    return {cmp.passed, cmp.passed ? cmp.detail : fmt::format("the sum (index 0): {}", cmp.detail)};
  }

 private:
  std::vector<float> x_;
  double got_ = std::numeric_limits<double>::quiet_NaN();  // a call that returns nothing shows
};

const dp::ex::ExerciseRegistration registration{{
    .info = {.id = "parallel-sum",
             .title = "Sum a large array on every core",
             .module = 2,
             .level = 1,
             .file = "parallel_sum.cpp",
             .header = "parallel_sum.hpp",
             .function = "parallel_sum(x)",
             .builds_on = "parallel-for",
             .check_sizes = {1, 2, 3, 17, 1000, 65537, 100003},
             .seeds = 2,
             .timed_sizes = {1 << 22, 1 << 24},
             .tolerance = "rel 1e-9 against a long double reference",
             .target_speedup = 1.15,
             .points = 10,
             .compile_flags = {"-pthread"}},
    .make_case = [](std::int64_t n, std::uint64_t seed) { return std::make_unique<ParallelSumCase>(n, seed); },
}};

}  // namespace
