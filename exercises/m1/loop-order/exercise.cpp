// The loop-order exercise: its cases and its registration (README.md has the task).
#include <cmath>
#include <limits>

#include "core/check.hpp"
#include "exercise/exercise.hpp"
#include "exercise/inputs.hpp"
#include "column_sums.hpp"

namespace {

// Float sums of n values may differ from the exact sum by rounding, by an amount that grows with
// n (about n * 6e-8 * the sum of |values| in the worst case); values are in [-1, 1), so an absolute
// 1e-6 * n + a relative 1e-5 allows any order of additions and still catches a dropped or doubled row.
dp::Tolerance tolerance_for(std::size_t n) { return {.abs = 1e-6 * static_cast<double>(n), .rel = 1e-5}; }

class ColumnSumsCase final : public dp::ex::Case {
 public:
  ColumnSumsCase(std::int64_t n, std::uint64_t seed)
      : n_(static_cast<std::size_t>(n)),
        grid_(dp::ex::random_floats(n_ * n_, seed)),
        sums_(n_, std::numeric_limits<float>::quiet_NaN()) {}  // a sum left unwritten shows

  std::function<void()> bind(const dp::ex::Code& code) override {
    auto* fn = code.function<decltype(column_sums)>("column_sums");
    return [this, fn] { fn(grid_, sums_, n_); };
  }

  dp::ex::Verdict check() const override {
    std::vector<double> want(n_, 0.0);  // the reference, in double, in the plain (row-major) order
    for (std::size_t r = 0; r < n_; ++r)
      for (std::size_t c = 0; c < n_; ++c) want[c] += grid_[r * n_ + c];
    const dp::CompareResult cmp =
        dp::compare(std::span<const float>(sums_), std::span<const double>(want), tolerance_for(n_));
    return {cmp.passed, cmp.passed ? cmp.detail : fmt::format("sums[column]: {}", cmp.detail)};
  }

 private:
  std::size_t n_;
  std::vector<float> grid_, sums_;
};

const dp::ex::ExerciseRegistration registration{{
    .info = {.id = "loop-order",
             .title = "Walk a grid in the order it lies in memory",
             .module = 1,
             .level = 1,
             .file = "column_sums.cpp",
             .header = "column_sums.hpp",
             .function = "column_sums(grid, sums, n)",
             .builds_on = "access-patterns",
             .check_sizes = {1, 2, 3, 7, 17, 31, 33, 100, 257},
             .seeds = 2,
             .timed_sizes = {2048, 3000},
             .tolerance = "abs 1e-6 * n + rel 1e-5, against a double-precision reference",
             .target_speedup = 9,
             .points = 10},
    .make_case = [](std::int64_t n, std::uint64_t seed) { return std::make_unique<ColumnSumsCase>(n, seed); },
}};

}  // namespace
