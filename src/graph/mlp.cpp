// mlp.cpp — building the lab network, and the double-precision reference interpreter.
#include "graph/mlp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/error.hpp"
#include "graph/schedule.hpp"
#include "tensor/reference.hpp"

namespace dp::graph {

using tensor::Tensor2D;

Graph build_mlp(const MlpSpec& spec) {
  if (spec.width == 0 || spec.depth == 0 || spec.batch == 0)
    throw Error(fmt::format("build_mlp: width {}, depth {}, batch {}; want all at least 1",
                            spec.width, spec.depth, spec.batch));
  Graph g;
  NodeId h = g.input("x", {spec.batch, spec.width});
  const float a = std::sqrt(6.0f / static_cast<float>(spec.width));
  for (std::size_t l = 0; l < spec.depth; ++l) {
    // Each tensor gets its own seed, derived from the spec's: layers differ, runs repeat.
    const std::uint64_t seed = spec.seed * 1000003u + 2 * l + 1;
    const NodeId w =
        g.constant(fmt::format("W{}", l), Tensor2D<float>::random(spec.width, spec.width, seed, -a, a));
    const NodeId b =
        g.constant(fmt::format("b{}", l), Tensor2D<float>::random(1, spec.width, seed + 1, -0.1f, 0.1f));
    h = g.linear(h, w, b, fmt::format("layer{}.linear", l));
    h = g.relu(h, fmt::format("layer{}.relu", l));
  }
  if (spec.softmax) h = g.softmax(h, "softmax");
  g.mark_output(h);
  return g;
}

Tensor2D<float> mlp_input(const MlpSpec& spec) {
  return Tensor2D<float>::random(spec.batch, spec.width, spec.seed * 7919u + 17u);
}

double mlp_flops(const MlpSpec& spec) {
  return 2.0 * double(spec.batch) * double(spec.width) * double(spec.width) * double(spec.depth);
}

std::vector<Tensor2D<double>> evaluate_reference(const Graph& g,
                                                 std::span<const Tensor2D<float>> inputs) {
  const auto order = schedule(g);
  const auto input_ids = g.inputs();
  if (inputs.size() != input_ids.size())
    throw Error(fmt::format("evaluate_reference: {} inputs for {} input nodes", inputs.size(),
                            input_ids.size()));
  std::vector<Tensor2D<double>> value(g.size());
  for (std::size_t i = 0; i < input_ids.size(); ++i)
    value[input_ids[i]] = tensor::ref::cast<double>(inputs[i]);
  for (NodeId id : order) {
    const Node& n = g.node(id);
    auto in = [&](std::size_t slot) -> const Tensor2D<double>& { return value[n.inputs[slot]]; };
    switch (n.op) {
      case OpKind::input: break;
      case OpKind::constant: value[id] = tensor::ref::cast<double>(*n.value); break;
      case OpKind::linear: value[id] = tensor::ref::linear(in(0), in(1), in(2)); break;
      case OpKind::linear_relu: value[id] = tensor::ref::linear_relu(in(0), in(1), in(2)); break;
      case OpKind::linear_relu_softmax:
        value[id] = tensor::ref::linear_relu_softmax(in(0), in(1), in(2));
        break;
      case OpKind::relu: value[id] = tensor::ref::relu(in(0)); break;
      case OpKind::softmax: value[id] = tensor::ref::softmax_rows(in(0)); break;
      case OpKind::add: value[id] = tensor::ref::add(in(0), in(1)); break;
      case OpKind::sub: value[id] = tensor::ref::sub(in(0), in(1)); break;
      case OpKind::sum: value[id] = tensor::ref::sum(in(0)); break;
    }
  }
  std::vector<Tensor2D<double>> outputs;
  for (NodeId out : g.outputs()) outputs.push_back(value[out]);
  return outputs;
}

Tolerance forward_tolerance(std::size_t width, std::size_t depth, double scale) {
  const double eps = std::numeric_limits<float>::epsilon();
  return {.abs = 8.0 * std::sqrt(double(width) * double(depth)) * eps * scale, .rel = 1e-5};
}

double max_abs(const Tensor2D<double>& t) {
  double m = 0;
  for (double v : t.span()) m = std::max(m, std::abs(v));
  return m;
}

}  // namespace dp::graph
