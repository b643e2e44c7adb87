// schedule.hpp — the order to run a graph's nodes in: every node after the nodes it reads.
//
// A depth-first walk from the outputs: a node is emitted once all its inputs have been (post-
// order), so the list is a topological order and holds only what the outputs need. A node met
// again while its own inputs are still being walked closes a cycle: there is no valid order, and
// the error lists the nodes on the cycle.
//
// Index
//   all_nodes()          every node id (to order the whole graph, as validate() does)
//   topological_order()  the nodes `roots` depend on, inputs first; throws on a cycle
//   schedule()           validate() + the order of what the outputs need
#pragma once

#include <vector>

#include "graph/graph.hpp"

namespace dp::graph {

std::vector<NodeId> all_nodes(const Graph& graph);
std::vector<NodeId> topological_order(const Graph& graph, const std::vector<NodeId>& roots);
std::vector<NodeId> schedule(const Graph& graph);

}  // namespace dp::graph
