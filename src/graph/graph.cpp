// graph.cpp — building and reading a graph (validate() sits beside the order it needs, in schedule.cpp).
#include "graph/graph.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.hpp"

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

bool is_row_wise(OpKind op) {
  switch (op) {
    case OpKind::linear:
    case OpKind::linear_relu:
    case OpKind::linear_relu_softmax:
    case OpKind::relu:
    case OpKind::softmax:
    case OpKind::add:
    case OpKind::sub: return true;
    case OpKind::input:
    case OpKind::constant:
    case OpKind::sum: return false;  // sum: every row feeds its one element
  }
  return false;
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

}  // namespace dp::graph
