// The transpose exercise: its cases and its registration (README.md has the task).
#include <algorithm>
#include <cmath>
#include <limits>

#include "exercise/exercise.hpp"
#include "exercise/inputs.hpp"
#include "core/check.hpp"
#include "transpose.hpp"

namespace {

class TransposeCase final : public dp::ex::Case {
 public:
  TransposeCase(std::int64_t n, std::uint64_t seed)
      : n_(static_cast<std::size_t>(n)),
        in_(dp::ex::random_floats(n_ * n_, seed)),
        out_(n_ * n_, std::numeric_limits<float>::quiet_NaN()) {}  // a cell left unwritten shows

  std::function<void()> bind(const dp::ex::Code& code) override {
    auto* fn = code.function<decltype(transpose)>("transpose");
    return [this, fn] { fn(in_, out_, n_); };
  }

  dp::ex::Verdict check() const override {
    std::vector<float> want(n_ * n_);
    for (std::size_t r = 0; r < n_; ++r)
      for (std::size_t c = 0; c < n_; ++c) want[c * n_ + r] = in_[r * n_ + c];
    const dp::CompareResult cmp = dp::compare(std::span<const float>(out_), std::span<const float>(want));
    return {cmp.passed, cmp.passed ? cmp.detail : fmt::format("out[index], index = column * n + row: {}", cmp.detail)};
  }

 private:
  std::size_t n_;
  std::vector<float> in_, out_;
};

const dp::ex::ExerciseRegistration registration{{
    .info = {.id = "transpose",
             .title = "Transpose a matrix without missing the cache",
             .module = 1,
             .level = 2,
             .file = "transpose.cpp",
             .header = "transpose.hpp",
             .function = "transpose(in, out, n)",
             .builds_on = "transposition",
             .check_sizes = {1, 2, 3, 17, 31, 32, 33, 100, 257},
             .seeds = 2,
             .timed_sizes = {1024, 2048},
             .tolerance = "exact",
             .target_speedup = 3,
             .points = 10},
    .make_case = [](std::int64_t n, std::uint64_t seed) { return std::make_unique<TransposeCase>(n, seed); },
}};

}  // namespace
