// The gpu-matmul-tiled exercise: its cases and its registration (README.md has the task).
#include "exercise/exercise.hpp"
#include "exercise/inputs.hpp"
#include "exercise/shader_case.hpp"

#ifdef DP_HAVE_GPU
namespace {

class MatmulCase final : public dp::ex::ShaderCase {
 public:
  MatmulCase(std::int64_t size, std::uint64_t seed) {
    const auto n = static_cast<std::size_t>(size);
    inputs_ = {dp::ex::random_floats(n * n, seed), dp::ex::random_floats(n * n, seed + 1000)};
    push_ = {static_cast<std::uint32_t>(n)};
    groups_ = {dp::gpu::groups_for(n, 32), dp::gpu::groups_for(n, 32)};
    // The reference: i-k-j loops in double precision.
    want_.assign(n * n, 0.0);
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t i = 0; i < n; ++i) {
        const double av = inputs_[0][r * n + i];
        for (std::size_t c = 0; c < n; ++c) want_[r * n + c] += av * double(inputs_[1][i * n + c]);
      }
    // n products of values in [-1, 1] summed in float (n <= 512 here): error grows like sqrt(n).
    tolerance_ = {.abs = 1e-3, .rel = 1e-4};
    index_words = "row * n + col";
  }
};

const dp::ex::ExerciseRegistration registration{{
    .info = {.id = "gpu-matmul-tiled",
             .title = "A tiled matrix multiply on the GPU",
             .module = 2,
             .level = 3,
             .language = dp::ex::Language::glsl,
             .file = "matmul.comp",
             .function = "the compute shader matmul.comp",
             .builds_on = "gpu-matmul",
             .check_sizes = {1, 7, 31, 33, 64, 100},
             .seeds = 2,
             .timed_sizes = {192, 256},
             .tolerance = "abs 1e-3 + rel 1e-4 against a double-precision product",
             .target_speedup = 2.5,
             .points = 15},
    .make_case = [](std::int64_t n, std::uint64_t seed) { return std::make_unique<MatmulCase>(n, seed); },
}};

}  // namespace
#endif
