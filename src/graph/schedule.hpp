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
//   validate()           dangling inputs, wrong arity, cycles, shape mismatches -> dp::Error that
//                        names the node; returns the inferred shape of every node
//   schedule()           validate() + the order of what the outputs need
#pragma once

#include <vector>

#include "graph/graph.hpp"

namespace dp::graph {

std::vector<NodeId> all_nodes(const Graph& graph);
std::vector<NodeId> topological_order(const Graph& graph, const std::vector<NodeId>& roots);
// Checks everything the outputs depend on and infers shapes. Throws dp::Error naming the first
// offending node: an input id that names no node (dangling), a wrong number of inputs, a cycle
// (with the nodes on it), a shape mismatch (with both shapes and what would fit), linear weights
// that are not constants, or a graph without outputs. Returns one Shape per node.
std::vector<Shape> validate(const Graph& graph);

std::vector<NodeId> schedule(const Graph& graph);

}  // namespace dp::graph
