// graph.hpp — a computational graph: nodes are ops, edges say which result feeds which op.
//
// A framework that sees the whole computation before running it can check it once, plan memory
// once, fuse ops and prepare constants (pack weights, upload them to the GPU) once. That is all a
// graph is for; this file is the data structure, schedule.hpp orders it, plan.hpp compiles it,
// runners.hpp runs it.
//
// Index
//   OpKind, op_name(), op_arity(), is_row_wise()
//                         input, constant, linear, relu, softmax, add, sub, sum (+ the fused ones)
//   NodeId, Shape, Node
//   Graph                 builder methods (input, constant, linear, relu, ...), raw add_node and
//                         set_input for tests and tools, outputs, describe()
// (validate(), which checks a graph and infers its shapes, is in schedule.hpp: it needs the order.)
//
// Conventions: tensors are 2-D (rows x cols), a batch is rows. linear(x, W, b) is x · Wᵀ + b with
// W N x K and b 1 x N both constants (weights are data the graph owns). softmax is per row.
// sum adds every element into a 1 x 1 tensor.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.hpp"

namespace dp::graph {

enum class OpKind {
  input,      // a tensor given to run(); declared shape
  constant,   // a tensor the graph owns (weights, biases)
  linear,     // (x, W, b) -> x · Wᵀ + b
  relu,       // (x) -> max(x, 0)
  softmax,    // (x) -> per-row softmax
  add,        // (a, b) -> a + b, equal shapes
  sub,        // (a, b) -> a - b, equal shapes
  sum,        // (x) -> 1 x 1, the sum of all elements
  // Produced by fusion (plan.hpp), never by the builder:
  linear_relu,          // (x, W, b) -> relu(x · Wᵀ + b)
  linear_relu_softmax,  // (x, W, b) -> softmax(relu(x · Wᵀ + b))
};
const char* op_name(OpKind op);      // "linear_relu"
std::size_t op_arity(OpKind op);     // inputs it takes
bool is_row_wise(OpKind op);         // row i of its result reads only row i of its non-constant
                                     // inputs: it can run on a slice of rows (threads, a chain)

using NodeId = std::size_t;

struct Shape {
  std::size_t rows = 0;
  std::size_t cols = 0;
  friend bool operator==(const Shape&, const Shape&) = default;
  std::string str() const;  // "64x256"
};

struct Node {
  OpKind op = OpKind::input;
  std::string name;               // unique within the graph: "layer3.linear"
  std::vector<NodeId> inputs;     // ids of the nodes it reads, in the op's argument order
  Shape shape;                    // declared for inputs and constants; inferred by validate()
  std::shared_ptr<const tensor::Tensor2D<float>> value;  // constants only
};

class Graph {
 public:
  // --- building (each returns the new node's id) -----------------------------------------------
  NodeId input(std::string name, Shape shape);
  NodeId constant(std::string name, tensor::Tensor2D<float> value);
  NodeId linear(NodeId x, NodeId w, NodeId b, std::string name = {});
  NodeId relu(NodeId x, std::string name = {});
  NodeId softmax(NodeId x, std::string name = {});
  NodeId add(NodeId a, NodeId b, std::string name = {});
  NodeId sub(NodeId a, NodeId b, std::string name = {});
  NodeId sum(NodeId x, std::string name = {});
  void mark_output(NodeId id);

  // --- raw access: no checks until validate(); lets tests and tools build broken graphs --------
  NodeId add_node(OpKind op, std::vector<NodeId> inputs, std::string name = {});
  void set_input(NodeId node, std::size_t slot, NodeId from);  // may create a cycle

  // --- reading ---------------------------------------------------------------------------------
  std::size_t size() const { return nodes_.size(); }
  const Node& node(NodeId id) const;                       // throws dp::Error if out of range
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<NodeId>& outputs() const { return outputs_; }
  std::vector<NodeId> inputs() const;                      // input nodes, in creation order
  std::string describe(NodeId id) const;                   // "'layer3.linear' (node 7, linear)"

 private:
  std::string unique_name(std::string name, OpKind op) const;
  std::vector<Node> nodes_;
  std::vector<NodeId> outputs_;
};

}  // namespace dp::graph
