// mlp.hpp — the network every graph lab runs, and the reference that checks every mode.
//
// Index
//   MlpSpec             width, depth, batch, seed, softmax at the end or not
//   build_mlp()         x (batch x width) -> depth x [linear(width -> width) -> relu] -> softmax
//   mlp_input()         the seeded input tensor for a spec
//   mlp_flops()         2 * batch * width^2 per layer (the multiply-adds; relu/softmax are noise)
//   evaluate_reference()  any graph, node by node, in double precision with reference.hpp's ops
//   forward_tolerance() how far a float forward pass may be from the double reference
//
// Weights are He-uniform (U(-a, a), a = sqrt(6 / width)): that keeps the activations' size about
// constant through relu layers, so a deep network neither overflows nor fades to zero and the
// checks compare meaningful numbers at depth 256.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/check.hpp"
#include "graph/graph.hpp"
#include "tensor/tensor.hpp"

namespace dp::graph {

struct MlpSpec {
  std::size_t width = 64;   // features in and out of every layer (square weights)
  std::size_t depth = 4;    // linear+relu layers
  std::size_t batch = 64;   // rows of x; the labs use batch = width (square tensors)
  std::uint64_t seed = 1;
  bool softmax = true;      // end with a row softmax
};

Graph build_mlp(const MlpSpec& spec);
tensor::Tensor2D<float> mlp_input(const MlpSpec& spec);
double mlp_flops(const MlpSpec& spec);

std::vector<tensor::Tensor2D<double>> evaluate_reference(
    const Graph& graph, std::span<const tensor::Tensor2D<float>> inputs);

// Float vs double after `depth` layers of width `width`, for results whose largest magnitude is
// `scale`. Each layer's dot products of `width` terms round `width` times, with random signs, so
// a layer adds an error of about sqrt(width) * eps * scale; He-scaled layers pass earlier errors
// on at about their size, so over the depth they add up like sqrt(depth). We allow 8x
// sqrt(width * depth) * eps * scale absolute (measured errors sit 10-40x below that; a missing
// bias, a relu in the wrong place or a dropped term is far above), plus 1e-5 relative for GPU
// math (exp in softmax, and fused multiply-adds a driver may or may not use).
// Relative error per element is the wrong yardstick here: values near zero come from
// cancellation and carry the absolute error of the large terms they cancelled.
Tolerance forward_tolerance(std::size_t width, std::size_t depth, double scale);
double max_abs(const tensor::Tensor2D<double>& t);

}  // namespace dp::graph
