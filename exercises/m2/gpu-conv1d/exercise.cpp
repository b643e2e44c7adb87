// The gpu-conv1d exercise: its cases and its registration (README.md has the task).
#include "exercise/exercise.hpp"
#include "exercise/inputs.hpp"
#include "exercise/shader_case.hpp"

#ifdef DP_HAVE_GPU
namespace {

constexpr std::uint32_t kTaps = 33;

class Conv1dCase final : public dp::ex::ShaderCase {
 public:
  Conv1dCase(std::int64_t n, std::uint64_t seed) {
    const auto count = static_cast<std::size_t>(n);
    inputs_ = {dp::ex::random_floats(count + kTaps - 1, seed), dp::ex::random_floats(kTaps, seed + 1000)};
    push_ = {static_cast<std::uint32_t>(n), kTaps};
    groups_ = {dp::gpu::groups_for(count, 256)};
    // The reference, in double precision, in the simplest order.
    want_.resize(count);
    for (std::size_t i = 0; i < count; ++i)
      for (std::size_t j = 0; j < kTaps; ++j) want_[i] += double(inputs_[0][i + j]) * double(inputs_[1][j]);
    // 33 products of values in [-1, 1] summed in float, in any order: a few float roundings.
    tolerance_ = {.abs = 2e-4, .rel = 1e-4};
  }
};

const dp::ex::ExerciseRegistration registration{{
    .info = {.id = "gpu-conv1d",
             .title = "A 1D convolution on the GPU: load each input once",
             .module = 2,
             .level = 3,
             .language = dp::ex::Language::glsl,
             .file = "conv1d.comp",
             .function = "the compute shader conv1d.comp",
             .builds_on = "gpu-conv",
             .check_sizes = {1, 7, 255, 256, 257, 1000, 4099},
             .seeds = 2,
             .timed_sizes = {1 << 18},
             .tolerance = "abs 2e-4 + rel 1e-4 against a double-precision sum (33 taps)",
             .target_speedup = 3,
             .points = 15},
    .make_case = [](std::int64_t n, std::uint64_t seed) { return std::make_unique<Conv1dCase>(n, seed); },
}};

}  // namespace
#endif
