// graph.cpp — building a graph and validating it.
#include "graph/graph.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.hpp"
#include "graph/schedule.hpp"

namespace dp::graph {

const char* op_name(OpKind op) {
  switch (op) {
    case OpKind::input: return "input";
    case OpKind::constant: return "constant";
    case OpKind::linear: return "linear";
    case OpKind::relu: return "relu";
    case OpKind::softmax: return "softmax";
    case OpKind::add: return "add";
    case OpKind::sub: return "sub";
    case OpKind::sum: return "sum";
    case OpKind::linear_relu: return "linear_relu";
    case OpKind::linear_relu_softmax: return "linear_relu_softmax";
  }
  return "?";
}

std::size_t op_arity(OpKind op) {
  switch (op) {
    case OpKind::input:
    case OpKind::constant: return 0;
    case OpKind::relu:
    case OpKind::softmax:
    case OpKind::sum: return 1;
    case OpKind::add:
    case OpKind::sub: return 2;
    case OpKind::linear:
    case OpKind::linear_relu:
    case OpKind::linear_relu_softmax: return 3;
  }
  return 0;
}

std::string Shape::str() const { return fmt::format("{}x{}", rows, cols); }

// --- building -----------------------------------------------------------------------------------

std::string Graph::unique_name(std::string name, OpKind op) const {
  if (name.empty()) name = fmt::format("{}{}", op_name(op), nodes_.size());
  for (const Node& n : nodes_)
    if (n.name == name)
      throw Error(fmt::format("graph: a node named '{}' exists already; give each node its own "
                              "name",
                              name));
  return name;
}

NodeId Graph::add_node(OpKind op, std::vector<NodeId> inputs, std::string name) {
  Node n;
  n.op = op;
  n.name = unique_name(std::move(name), op);
  n.inputs = std::move(inputs);
  nodes_.push_back(std::move(n));
  return nodes_.size() - 1;
}

NodeId Graph::input(std::string name, Shape shape) {
  const NodeId id = add_node(OpKind::input, {}, std::move(name));
  nodes_[id].shape = shape;
  return id;
}

NodeId Graph::constant(std::string name, tensor::Tensor2D<float> value) {
  const NodeId id = add_node(OpKind::constant, {}, std::move(name));
  nodes_[id].shape = {value.rows(), value.cols()};
  nodes_[id].value = std::make_shared<const tensor::Tensor2D<float>>(std::move(value));
  return id;
}

NodeId Graph::linear(NodeId x, NodeId w, NodeId b, std::string name) {
  return add_node(OpKind::linear, {x, w, b}, std::move(name));
}
NodeId Graph::relu(NodeId x, std::string name) { return add_node(OpKind::relu, {x}, std::move(name)); }
NodeId Graph::softmax(NodeId x, std::string name) {
  return add_node(OpKind::softmax, {x}, std::move(name));
}
NodeId Graph::add(NodeId a, NodeId b, std::string name) {
  return add_node(OpKind::add, {a, b}, std::move(name));
}
NodeId Graph::sub(NodeId a, NodeId b, std::string name) {
  return add_node(OpKind::sub, {a, b}, std::move(name));
}
NodeId Graph::sum(NodeId x, std::string name) { return add_node(OpKind::sum, {x}, std::move(name)); }

void Graph::mark_output(NodeId id) {
  node(id);  // range check
  if (std::find(outputs_.begin(), outputs_.end(), id) == outputs_.end()) outputs_.push_back(id);
}

void Graph::set_input(NodeId id, std::size_t slot, NodeId from) {
  node(id);
  if (slot >= nodes_[id].inputs.size())
    throw Error(fmt::format("graph: {} has {} inputs, so slot {} does not exist; want a slot "
                            "below {}",
                            describe(id), nodes_[id].inputs.size(), slot,
                            nodes_[id].inputs.size()));
  nodes_[id].inputs[slot] = from;
}

// --- reading ------------------------------------------------------------------------------------

const Node& Graph::node(NodeId id) const {
  if (id >= nodes_.size())
    throw Error(fmt::format("graph: there is no node {} (the graph has {} nodes); use an id a "
                            "builder method returned",
                            id, nodes_.size()));
  return nodes_[id];
}

std::vector<NodeId> Graph::inputs() const {
  std::vector<NodeId> ids;
  for (NodeId i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].op == OpKind::input) ids.push_back(i);
  return ids;
}

std::string Graph::describe(NodeId id) const {
  if (id >= nodes_.size()) return fmt::format("node {} (no such node)", id);
  return fmt::format("'{}' (node {}, {})", nodes_[id].name, id, op_name(nodes_[id].op));
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

}  // namespace dp::graph
