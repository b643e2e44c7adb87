// schedule.cpp — depth-first topological order with cycle detection, without recursion
// (a deep network is a long chain; an explicit stack cannot overflow the call stack).
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

std::vector<NodeId> schedule(const Graph& graph) {
  validate(graph);
  return topological_order(graph, graph.outputs());
}

}  // namespace dp::graph
