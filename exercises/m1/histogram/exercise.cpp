// The histogram exercise: its cases and its registration (README.md has the task).
#include <algorithm>
#include <random>

#include "core/check.hpp"
#include "exercise/exercise.hpp"
#include "exercise/inputs.hpp"
#include "histogram.hpp"

namespace {

constexpr std::uint32_t kBins = 1000;

// Half the keys uniform over the bins; the other half skewed, as real data often is (one user,
// one status code, one word): 7 in 8 of them are one hot key, which changes with the seed.
std::vector<std::uint32_t> make_keys(std::size_t n, std::uint64_t seed) {
  std::vector<std::uint32_t> keys = dp::ex::random_indices(n, kBins, seed);
  const std::vector<std::uint32_t> pick = dp::ex::random_indices(n, 8, seed + 1000);
  const std::uint32_t hot = dp::ex::random_indices(1, kBins, seed + 2000)[0];
  for (std::size_t i = n / 2; i < n; ++i)
    if (pick[i] != 0) keys[i] = hot;
  return keys;
}

class HistogramCase final : public dp::ex::Case {
 public:
  HistogramCase(std::int64_t n, std::uint64_t seed)
      : keys_(make_keys(static_cast<std::size_t>(n), seed)), counts_(kBins, 0xdeadbeefu) {}

  std::function<void()> bind(const dp::ex::Code& code) override {
    auto* fn = code.function<decltype(histogram)>("histogram");
    return [this, fn] {
      std::fill(counts_.begin(), counts_.end(), 0xdeadbeefu);  // every call must set every bin
      fn(keys_, counts_);
    };
  }

  dp::ex::Verdict check() const override {
    std::vector<std::uint32_t> want(kBins, 0);
    for (const std::uint32_t k : keys_) ++want[k];
    const dp::CompareResult cmp =
        dp::compare(std::span<const std::uint32_t>(counts_), std::span<const std::uint32_t>(want));
    return {cmp.passed, cmp.passed ? cmp.detail : fmt::format("counts[bin]: {}", cmp.detail)};
  }

 private:
  std::vector<std::uint32_t> keys_, counts_;
};

const dp::ex::ExerciseRegistration registration{{
    .info = {.id = "histogram",
             .title = "Count keys without a tree, and without waiting on yourself",
             .module = 1,
             .level = 2,
             .file = "histogram.cpp",
             .header = "histogram.hpp",
             .function = "histogram(keys, counts)",
             .builds_on = "hash-maps",
             .size_name = "keys",
             .check_sizes = {1, 2, 3, 7, 17, 31, 33, 1000, 4099},
             .seeds = 2,
             .timed_sizes = {100'000, 1'000'000},
             .tolerance = "exact",
             .target_speedup = 50,
             .points = 10},
    .make_case = [](std::int64_t n, std::uint64_t seed) { return std::make_unique<HistogramCase>(n, seed); },
}};

}  // namespace
