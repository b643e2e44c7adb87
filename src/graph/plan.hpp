// plan.hpp — compiling a graph: schedule, fuse, and give every result a buffer.
//
// The runners that prepare work once (cpu-fused and the gpu-graph family) all start from a Plan:
//   1. schedule   the nodes the outputs need, in topological order (schedule.hpp)
//   2. fuse       linear -> relu [-> softmax] chains, where the intermediate results have no other
//                 reader and are not outputs, become one step (linear_relu, linear_relu_softmax):
//                 the intermediate never goes to memory
//   3. buffers    each step's result gets a buffer; a buffer whose last reader has run is reused
//                 by a later result of the same shape, so a chain of any depth ping-pongs between
//                 two buffers. A step never writes a buffer it reads (a GEMM must not overwrite
//                 its own input).
//
// Index
//   Step        one op (maybe fused) of the plan: what it reads, which buffer it writes
//   Plan        steps + buffers + where every node's value lives
//   make_plan() the three passes above; fuse = false keeps one step per node
//   Plan::describe()  a listing for labs and --show-kernels style output
#pragma once

#include <string>
#include <vector>

#include "graph/graph.hpp"

namespace dp::graph {

struct Step {
  OpKind op = OpKind::relu;     // maybe a fused kind
  std::vector<NodeId> covers;   // graph nodes this step computes, in order (1, 2 or 3)
  NodeId node = 0;              // the node whose value it produces (covers.back())
  std::vector<NodeId> inputs;   // graph nodes it reads: (x, W, b) or (a, b) or (x)
  Shape shape;                  // its result's shape
  int buffer = -1;              // index into Plan::buffers
};

// Where a node's value lives while the plan runs.
struct ValueSlot {
  enum class Kind { none, input, constant, buffer } kind = Kind::none;
  int index = -1;  // input: position in Graph::inputs(); buffer: index into Plan::buffers
};

struct Plan {
  std::vector<Shape> shapes;          // per graph node (validate())
  std::vector<Step> steps;
  std::vector<Shape> buffers;         // shape of each intermediate/result buffer
  std::vector<ValueSlot> slots;       // per graph node
  std::vector<int> output_buffers;    // per graph output: the buffer holding it
  std::size_t fused_nodes = 0;        // nodes that disappeared into a fused step

  std::string describe(const Graph& graph) const;  // one line per step
};

Plan make_plan(const Graph& graph, bool fuse);

// Pass 3 alone, on plan.steps in their current order: a runner that reorders steps (cpu-fused
// runs its row-parallel steps first) reassigns buffers for the order it will really run.
void assign_buffers(Plan& plan, const Graph& graph);

}  // namespace dp::graph
