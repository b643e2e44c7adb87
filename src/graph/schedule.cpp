// schedule.cpp — depth-first topological order with cycle detection, without recursion
// (a deep network is a long chain; an explicit stack cannot overflow the call stack), and the
// validation that needs that order (structure, then cycles, then shapes in order).
#include "graph/schedule.hpp"

#include <numeric>
#include <string>

#include <fmt/format.h>

#include "core/error.hpp"

namespace dp::graph {

std::vector<NodeId> all_nodes(const Graph& graph) {
  std::vector<NodeId> ids(graph.size());
  std::iota(ids.begin(), ids.end(), NodeId{0});
  return ids;
}

std::vector<NodeId> topological_order(const Graph& graph, const std::vector<NodeId>& roots) {
  enum class Mark { unseen, in_progress, done };
  std::vector<Mark> mark(graph.size(), Mark::unseen);
  std::vector<NodeId> order;
  order.reserve(graph.size());

  struct Frame {
    NodeId id;
    std::size_t next_input;  // which input to visit next
  };
  std::vector<Frame> stack;
  for (NodeId root : roots) {
    graph.node(root);  // range check
    if (mark[root] != Mark::unseen) continue;
    stack.push_back({root, 0});
    mark[root] = Mark::in_progress;
    while (!stack.empty()) {
      Frame& top = stack.back();
      const Node& n = graph.node(top.id);
      if (top.next_input == n.inputs.size()) {  // all inputs emitted: emit the node
        mark[top.id] = Mark::done;
        order.push_back(top.id);
        stack.pop_back();
        continue;
      }
      const NodeId in = n.inputs[top.next_input++];
      if (in >= graph.size())
        throw Error(fmt::format("graph: {} reads node {}, which does not exist (dangling input)",
                                graph.describe(top.id), in));
      if (mark[in] == Mark::done) continue;
      if (mark[in] == Mark::in_progress) {
        // The stack from `in` up to the top is the cycle.
        std::string path;
        bool on_cycle = false;
        for (const Frame& f : stack) {
          on_cycle = on_cycle || f.id == in;
          if (on_cycle) path += graph.describe(f.id) + " -> ";
        }
        throw Error(fmt::format("graph: cycle through {}: {}{}; a graph must be acyclic (an op "
                                "cannot read its own result)",
                                graph.describe(in), path, graph.describe(in)));
      }
      mark[in] = Mark::in_progress;
      stack.push_back({in, 0});
    }
  }
  return order;
}

// --- validation ---------------------------------------------------------------------------------

namespace {

// Shape rules, one op at a time; `in` are the input shapes.
Shape infer_shape(const Graph& g, NodeId id, const std::vector<Shape>& shapes) {
  const Node& n = g.node(id);
  auto in = [&](std::size_t slot) { return shapes[n.inputs[slot]]; };
  auto fail = [&](const std::string& what) {
    throw Error(fmt::format("graph: {}: {}", g.describe(id), what));
  };
  switch (n.op) {
    case OpKind::input:
    case OpKind::constant: return n.shape;
    case OpKind::linear:
    case OpKind::linear_relu:
    case OpKind::linear_relu_softmax: {
      const Shape x = in(0), w = in(1), b = in(2);
      for (std::size_t slot : {1u, 2u})
        if (g.node(n.inputs[slot]).op != OpKind::constant)
          fail(fmt::format("its {} {} is not a constant; want weights and bias as constant nodes",
                           slot == 1 ? "weight" : "bias", g.describe(n.inputs[slot])));
      if (x.cols != w.cols)
        fail(fmt::format("x is {} but W is {}; want W with x's {} columns (W is out x in)",
                         x.str(), w.str(), x.cols));
      if (b.rows != 1 || b.cols != w.rows)
        fail(fmt::format("the bias is {} but W is {}; want a 1x{} bias", b.str(), w.str(),
                         w.rows));
      return {x.rows, w.rows};
    }
    case OpKind::relu:
    case OpKind::softmax: return in(0);
    case OpKind::add:
    case OpKind::sub:
      if (!(in(0) == in(1)))
        fail(fmt::format("its inputs are {} and {}; want equal shapes", in(0).str(), in(1).str()));
      return in(0);
    case OpKind::sum: return {1, 1};
  }
  return {};
}

}  // namespace

std::vector<Shape> validate(const Graph& g) {
  if (g.outputs().empty())
    throw Error("graph: no outputs; mark the result you want with mark_output()");
  // 1. Structure: every input names a node, every op has its number of inputs.
  for (NodeId id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    if (n.inputs.size() != op_arity(n.op))
      throw Error(fmt::format("graph: {} has {} inputs; {} takes {}", g.describe(id),
                              n.inputs.size(), op_name(n.op), op_arity(n.op)));
    for (std::size_t slot = 0; slot < n.inputs.size(); ++slot)
      if (n.inputs[slot] >= g.size())
        throw Error(fmt::format("graph: {} input {} is dangling: it names node {}, but the graph "
                                "has nodes 0..{}; connect it to an existing node",
                                g.describe(id), slot, n.inputs[slot], g.size() - 1));
    if (n.op == OpKind::constant && !n.value)
      throw Error(fmt::format("graph: {} has no value; build constants with Graph::constant()",
                              g.describe(id)));
  }
  // 2. Order: a topological order of every node exists only if there is no cycle; the
  //    scheduler names the nodes on the cycle if there is one.
  const std::vector<NodeId> order = topological_order(g, all_nodes(g));
  // 3. Shapes, inputs first.
  std::vector<Shape> shapes(g.size());
  for (NodeId id : order) shapes[id] = infer_shape(g, id, shapes);
  return shapes;
}

std::vector<NodeId> schedule(const Graph& graph) {
  validate(graph);
  return topological_order(graph, graph.outputs());
}

}  // namespace dp::graph
