// The producer-consumer exercise: its cases and its registration (README.md has the task).
#include <cstdint>

#include "exercise/exercise.hpp"
#include "exercise/inputs.hpp"
#include "core/check.hpp"
#include "pipeline.hpp"

namespace {

class PipelineCase final : public dp::ex::Case {
 public:
  PipelineCase(std::int64_t n, std::uint64_t seed) : input_(static_cast<std::size_t>(n)) {
    std::mt19937_64 rng(seed);
    for (auto& x : input_) x = rng();
  }

  std::function<void()> bind(const dp::ex::Code& code) override {
    auto* fn = code.function<decltype(pipeline)>("pipeline");
    return [this, fn] { got_ = fn(input_); };
  }

  // The hash depends on every item and on their order: one lost, repeated or swapped item, and
  // it differs (a hash has no tolerance: exact).
  dp::ex::Verdict check() const override {
    std::uint64_t want = kHashStart;
    for (const std::uint64_t x : input_) want = consume(want, produce(x));
    if (got_ == want) return {true, "the hash agrees exactly"};
    return {false, fmt::format("the hash (index 0) differs: got {:#018x} want {:#018x} (an item lost, repeated, "
                               "out of order, or not produced/consumed as pipeline.hpp says)", got_, want)};
  }

 private:
  std::vector<std::uint64_t> input_;
  std::uint64_t got_ = 0;
};

const dp::ex::ExerciseRegistration registration{{
    .info = {.id = "producer-consumer",
             .title = "Pass items between threads in batches, not one by one",
             .module = 2,
             .level = 3,
             .file = "pipeline.cpp",
             .header = "pipeline.hpp",
             .function = "pipeline(input)",
             .builds_on = "channels",
             .size_name = "items",
             .check_sizes = {1, 2, 3, 1000, 1023, 1025, 4097, 65537},
             .seeds = 2,
             .timed_sizes = {1 << 16, 1 << 18},
             .tolerance = "exact",
             .target_speedup = 1.5,
             .points = 15,
             .compile_flags = {"-pthread"}},
    .make_case = [](std::int64_t n, std::uint64_t seed) { return std::make_unique<PipelineCase>(n, seed); },
}};

}  // namespace
