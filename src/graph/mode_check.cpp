// mode_check.cpp — every mode against the double-precision reference.
#include "graph/mode_check.hpp"

#include <fmt/format.h>

#include "core/check.hpp"
#include "graph/mlp.hpp"

namespace dp::graph {

void check_modes(const Graph& graph, const tensor::Tensor2D<float>& input, std::span<const Mode> modes,
                 const GpuTarget& gpu, const ModeCheck& how, Result& result) {
  const auto inputs = std::span(&input, 1);
  const auto want = evaluate_reference(graph, inputs);
  const Tolerance tol = forward_tolerance(how.width, how.depth, max_abs(want[0]));
  for (Mode mode : modes) {
    auto runner = make_runner(graph, mode, gpu);
    runner->run(inputs);
    const auto cmp = compare(runner->output(0).span(), want[0].span(), tol);
    result.add_check(fmt::format("{} matches the double reference{}", mode_name(mode), how.label), cmp.passed,
                     cmp.detail + " (tolerance 8 sqrt(width depth) eps max|y|, + 1e-5 relative)");
  }
}

}  // namespace dp::graph
