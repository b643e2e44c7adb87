// mode_check.hpp — "every mode computes what the reference computes", the check every graph lab
// makes before it times anything.
//
//   dp::graph::check_modes(graph, x, modes, {.device = d, .cache = &c},
//                          {.width = 17, .depth = 3, .label = " (width 17, depth 3)"}, ctx.result);
#pragma once

#include <span>
#include <string>

#include "core/result.hpp"
#include "graph/graph.hpp"
#include "graph/runner.hpp"
#include "tensor/tensor.hpp"

namespace dp::graph {

struct ModeCheck {
  std::size_t width = 0;  // the layers' width and the graph's depth in layers: they set the
  std::size_t depth = 0;  // tolerance (forward_tolerance in mlp.hpp says how)
  std::string label;      // appended to "<mode> matches the double reference", e.g. " at width 17"
};

// Runs `graph` on `input` (its one input) in each of `modes` and compares the first output with
// evaluate_reference() in double precision; adds one check per mode to `result`. The graph's
// constants come from the graph, so the runners see exactly what the reference sees. A mode that
// cannot be built throws (dp::Error), as it would when timed.
void check_modes(const Graph& graph, const tensor::Tensor2D<float>& input, std::span<const Mode> modes,
                 const GpuTarget& gpu, const ModeCheck& how, Result& result);

}  // namespace dp::graph
