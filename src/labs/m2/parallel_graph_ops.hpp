// parallel_graph_ops.hpp — the parallel-graph lab's input (parallel_graph.cpp): the wide graph it
// schedules, turned into a list of ops with their buffers, and how one op runs on one thread.
//
// Index
//   wide_graph(rows, width, branches, depth)   x -> `branches` chains of `depth` linear+relu -> adds
//   Op                                         one op: kind, inputs, packed weights, output, edges
//   plan_ops(g, x)                             the ops of g in topological order, buffers allocated
//   execute(op)                                one op on the calling thread (serial tensor kernels)
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "graph/graph.hpp"
#include "graph/schedule.hpp"
#include "tensor/gemm.hpp"
#include "tensor/ops.hpp"

namespace dp::parallel_graph {

using dp::graph::Graph;
using dp::graph::NodeId;
using dp::graph::OpKind;
using dp::tensor::ConstView;
using dp::tensor::Tensor2D;

// ---------------------------------------------------------------------------------------------
// The graph, and the ops to run: every node that is not an input or a constant
// ---------------------------------------------------------------------------------------------

inline Graph wide_graph(std::size_t rows, std::size_t width, std::size_t branches, std::size_t depth) {
  Graph g;
  const NodeId x = g.input("x", {rows, width});
  std::vector<NodeId> level;
  for (std::size_t b = 0; b < branches; ++b) {
    NodeId h = x;
    for (std::size_t d = 0; d < depth; ++d) {
      const std::uint64_t seed = 1000 * b + d + 1;
      const NodeId w = g.constant(fmt::format("b{}.w{}", b, d), Tensor2D<float>::random(width, width, seed, -0.2f, 0.2f));
      const NodeId bias = g.constant(fmt::format("b{}.bias{}", b, d), Tensor2D<float>::random(1, width, seed + 7));
      h = g.relu(g.linear(h, w, bias));
    }
    level.push_back(h);
  }
  while (level.size() > 1) {  // the join: pairwise adds, log2(branches) levels deep
    std::vector<NodeId> next;
    for (std::size_t i = 0; i + 1 < level.size(); i += 2) next.push_back(g.add(level[i], level[i + 1]));
    if (level.size() % 2) next.push_back(level.back());
    level = std::move(next);
  }
  g.mark_output(level.front());
  return g;
}

struct Op {
  OpKind kind;
  std::vector<ConstView<float>> in;  // what it reads: x, another op's output, or a constant
  dp::tensor::PackedLinear weights;  // linear only: packed once, here, not per run
  Tensor2D<float> out;
  std::vector<std::size_t> preds, succs;  // ops it waits for, ops that wait for it
};

// The ops of `g` in topological order, with their buffers allocated once.
inline std::vector<Op> plan_ops(const Graph& g, const Tensor2D<float>& x) {
  const auto shapes = dp::graph::validate(g);
  const auto order = dp::graph::schedule(g);
  std::vector<Op> ops;
  ops.reserve(order.size());  // no reallocation: views of earlier outputs stay valid
  std::vector<std::ptrdiff_t> op_of(g.size(), -1);
  std::vector<ConstView<float>> view_of(g.size());
  for (NodeId id : order) {
    const auto& node = g.node(id);
    if (node.op == OpKind::input) { view_of[id] = x.view(); continue; }
    if (node.op == OpKind::constant) { view_of[id] = node.value->view(); continue; }
    Op op{.kind = node.op, .in = {}, .weights = {}, .out = Tensor2D<float>(shapes[id].rows, shapes[id].cols), .preds = {}, .succs = {}};
    for (NodeId from : node.inputs) {
      op.in.push_back(view_of[from]);
      if (op_of[from] >= 0) op.preds.push_back(static_cast<std::size_t>(op_of[from]));
    }
    if (op.kind == OpKind::linear) {
      const auto& bias = *g.node(node.inputs[2]).value;
      op.weights.pack(view_of[node.inputs[1]], bias.span());
    } else if (op.kind != OpKind::relu && op.kind != OpKind::add) {
      throw dp::Error(fmt::format("parallel-graph runs linear, relu and add; {} is {}", g.describe(id), dp::graph::op_name(op.kind)));
    }
    op_of[id] = static_cast<std::ptrdiff_t>(ops.size());
    view_of[id] = op.out.view();
    ops.push_back(std::move(op));
  }
  for (std::size_t k = 0; k < ops.size(); ++k)
    for (std::size_t p : ops[k].preds) ops[p].succs.push_back(k);
  return ops;
}

// One op, on the calling thread.
inline void execute(Op& op) {
  switch (op.kind) {
    case OpKind::linear:
      dp::tensor::linear_rows(op.in[0], op.weights, op.out.view(), dp::tensor::Activation::none, 0, op.out.rows());
      break;
    case OpKind::relu: dp::tensor::relu_serial(op.in[0], op.out.view()); break;
    case OpKind::add: dp::tensor::add_serial(op.in[0], op.in[1], op.out.view()); break;
    default: break;  // plan_ops lets no other kind through
  }
}

}  // namespace dp::parallel_graph
