// The morton-codes exercise: its cases and its registration (README.md has the task).
#include <random>

#include <fmt/format.h>

#include "core/check.hpp"
#include "exercise/exercise.hpp"
#include "morton.hpp"

namespace {

class MortonCase final : public dp::ex::Case {
 public:
  // Coordinates over the whole 32-bit range, and a few at the edges (0 and all ones).
  MortonCase(std::int64_t n, std::uint64_t seed)
      : xs_(static_cast<std::size_t>(n)), ys_(xs_.size()), codes_(xs_.size(), 0xDEADBEEFDEADBEEFull) {
    std::mt19937_64 rng(seed);
    for (std::size_t i = 0; i < xs_.size(); ++i) {
      xs_[i] = static_cast<std::uint32_t>(rng() >> 32);
      ys_[i] = static_cast<std::uint32_t>(rng() >> 32);
    }
    if (!xs_.empty()) xs_[0] = ys_.back() = 0xFFFFFFFFu;
  }

  std::function<void()> bind(const dp::ex::Code& code) override {
    auto* fn = code.function<decltype(morton_encode)>("morton_encode");
    return [this, fn] { fn(xs_, ys_, codes_); };
  }

  dp::ex::Verdict check() const override {
    // The reference: the definition in morton.hpp, one bit at a time, written differently from
    // the baseline (reading the code's bits, not building them).
    std::vector<std::uint64_t> want(xs_.size());
    for (std::size_t i = 0; i < xs_.size(); ++i)
      for (unsigned bit = 0; bit < 64; ++bit) {
        const std::uint32_t from = bit % 2 == 0 ? xs_[i] : ys_[i];
        want[i] |= static_cast<std::uint64_t>((from >> (bit / 2)) & 1u) << bit;
      }
    const auto cmp = dp::compare(std::span<const std::uint64_t>(codes_), std::span<const std::uint64_t>(want));
    return {cmp.passed, cmp.passed ? cmp.detail : fmt::format("codes (index = point): {}", cmp.detail)};
  }

 private:
  std::vector<std::uint32_t> xs_, ys_;
  std::vector<std::uint64_t> codes_;
};

const dp::ex::ExerciseRegistration registration{{
    .info = {.id = "morton-codes",
             .title = "Morton codes without a loop over the bits",
             .module = 3,
             .level = 3,
             .file = "morton.cpp",
             .header = "morton.hpp",
             .function = "morton_encode(xs, ys, codes)",
             .builds_on = "bit-tricks",
             .size_name = "points",
             .check_sizes = {1, 2, 3, 7, 17, 1000, 4099},
             .seeds = 2,
             .timed_sizes = {1 << 18, 1 << 20},
             .tolerance = "exact",
             .target_speedup = 10,
             .points = 15},
    .make_case = [](std::int64_t n, std::uint64_t seed) { return std::make_unique<MortonCase>(n, seed); },
}};

}  // namespace
