// The matmul-tiled exercise: its cases and its registration (README.md has the task).
#include <limits>

#include "core/check.hpp"
#include "exercise/exercise.hpp"
#include "exercise/inputs.hpp"
#include "matmul.hpp"

namespace {

// Each element is a float sum of n products of values in [-1, 1): its rounding error grows with
// n (typically sqrt(n) * 6e-8 * n / 4, at most n * 6e-8 * n / 4). abs 1e-5 * n + rel 1e-5 allows any
// order of additions (tiles, several accumulators) and still catches a missing or doubled term,
// which moves an element by about 0.25 on average.
dp::Tolerance tolerance_for(std::size_t n) { return {.abs = 1e-5 * static_cast<double>(n), .rel = 1e-5}; }

class MatmulCase final : public dp::ex::Case {
 public:
  MatmulCase(std::int64_t n, std::uint64_t seed)
      : n_(static_cast<std::size_t>(n)),
        a_(dp::ex::random_floats(n_ * n_, seed)),
        b_(dp::ex::random_floats(n_ * n_, seed + 1000)),
        c_(n_ * n_, std::numeric_limits<float>::quiet_NaN()) {}  // an element left unwritten shows

  std::function<void()> bind(const dp::ex::Code& code) override {
    auto* fn = code.function<decltype(matmul)>("matmul");
    return [this, fn] { fn(a_, b_, c_, n_); };
  }

  dp::ex::Verdict check() const override {  // the plain formula, in double (i-k-j, for speed only)
    std::vector<double> want(n_ * n_, 0.0);
    for (std::size_t i = 0; i < n_; ++i)
      for (std::size_t k = 0; k < n_; ++k) {
        const double a_ik = a_[i * n_ + k];
        for (std::size_t j = 0; j < n_; ++j) want[i * n_ + j] += a_ik * b_[k * n_ + j];
      }
    const dp::CompareResult cmp =
        dp::compare(std::span<const float>(c_), std::span<const double>(want), tolerance_for(n_));
    return {cmp.passed, cmp.passed ? cmp.detail : fmt::format("c[index], index = row * n + column: {}", cmp.detail)};
  }

 private:
  std::size_t n_;
  std::vector<float> a_, b_, c_;
};

const dp::ex::ExerciseRegistration registration{{
    .info = {.id = "matmul-tiled",
             .title = "Matrix multiply: loop order, then tiles",
             .module = 1,
             .level = 3,
             .file = "matmul.cpp",
             .header = "matmul.hpp",
             .function = "matmul(a, b, c, n)",
             .builds_on = "matmul-loop-order",
             .check_sizes = {1, 2, 3, 7, 17, 31, 33, 100, 257},
             .seeds = 2,
             .timed_sizes = {320, 448},
             .tolerance = "abs 1e-5 * n + rel 1e-5, against a double-precision reference",
             .target_speedup = 5.5,
             .points = 15},
    .make_case = [](std::int64_t n, std::uint64_t seed) { return std::make_unique<MatmulCase>(n, seed); },
}};

}  // namespace
