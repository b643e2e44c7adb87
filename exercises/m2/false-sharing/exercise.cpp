// The false-sharing exercise: its cases and its registration (README.md has the task).
#include <cstdint>
#include <limits>

#include "exercise/exercise.hpp"
#include "exercise/inputs.hpp"
#include "core/check.hpp"
#include "count_below.hpp"

namespace {

class CountBelowCase final : public dp::ex::Case {
 public:
  // The limit is one of the keys (the middle one), so at least one key equals it: a `<=` where
  // `<` belongs is caught on every input, not only when random keys happen to tie.
  CountBelowCase(std::int64_t n, std::uint64_t seed)
      : keys_(dp::ex::random_indices(static_cast<std::size_t>(n), std::numeric_limits<std::uint32_t>::max(), seed)),
        limit_(keys_[keys_.size() / 2]) {}

  std::function<void()> bind(const dp::ex::Code& code) override {
    auto* fn = code.function<decltype(count_below)>("count_below");
    return [this, fn] { got_ = fn(keys_, limit_); };
  }

  dp::ex::Verdict check() const override {
    std::uint64_t want = 0;
    for (const std::uint32_t k : keys_) want += k < limit_;
    const dp::CompareResult cmp = dp::compare(std::span<const std::uint64_t>(&got_, 1), std::span<const std::uint64_t>(&want, 1));
    return {cmp.passed, cmp.passed ? cmp.detail : fmt::format("the count (index 0), limit {}: {}", limit_, cmp.detail)};
  }

 private:
  std::vector<std::uint32_t> keys_;
  std::uint32_t limit_;
  std::uint64_t got_ = std::numeric_limits<std::uint64_t>::max();  // a call that returns nothing shows
};

const dp::ex::ExerciseRegistration registration{{
    .info = {.id = "false-sharing",
             .title = "Give every thread's counter a cache line of its own",
             .module = 2,
             .level = 2,
             .file = "count_below.cpp",
             .header = "count_below.hpp",
             .function = "count_below(keys, limit)",
             .builds_on = "false-sharing",
             .size_name = "keys",
             .check_sizes = {1, 2, 3, 17, 1000, 65537, 100003},
             .seeds = 2,
             .timed_sizes = {1 << 21, 1 << 23},
             .tolerance = "exact",
             .target_speedup = 1.2,
             .points = 10,
             .compile_flags = {"-pthread"}},
    .make_case = [](std::int64_t n, std::uint64_t seed) { return std::make_unique<CountBelowCase>(n, seed); },
}};

}  // namespace
