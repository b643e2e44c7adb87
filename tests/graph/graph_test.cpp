// Graph building, validation errors (naming the node), scheduling and the compiled plan.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "core/error.hpp"
#include "graph/graph.hpp"
#include "graph/mlp.hpp"
#include "graph/plan.hpp"
#include "graph/schedule.hpp"

namespace dp::graph {
namespace {

using tensor::Tensor2D;

// The message of the dp::Error `f` throws ("" if it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

Graph small_graph() {
  Graph g;
  const NodeId x = g.input("x", {4, 3});
  const NodeId w = g.constant("W", Tensor2D<float>::random(5, 3, 1));
  const NodeId b = g.constant("b", Tensor2D<float>::random(1, 5, 2));
  const NodeId h = g.relu(g.linear(x, w, b, "fc"), "act");
  g.mark_output(g.softmax(h, "probs"));
  return g;
}

TEST(Validate, InfersShapes) {
  const Graph g = small_graph();
  const auto shapes = validate(g);
  for (NodeId id = 0; id < g.size(); ++id)
    if (g.node(id).name == "probs") {
      EXPECT_EQ(shapes[id], (Shape{4, 5}));
    }
}

TEST(Validate, ShapeMismatchNamesTheNode) {
  Graph g;
  const NodeId x = g.input("x", {4, 3});
  const NodeId w = g.constant("W", Tensor2D<float>(5, 7));  // wants 3 columns
  const NodeId b = g.constant("b", Tensor2D<float>(1, 5));
  g.mark_output(g.linear(x, w, b, "bad_layer"));
  const std::string msg = error_of([&] { validate(g); });
  EXPECT_NE(msg.find("bad_layer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("5x7"), std::string::npos) << msg;

  Graph g2;
  const NodeId a = g2.input("a", {2, 3}), c = g2.input("c", {3, 2});
  g2.mark_output(g2.add(a, c, "mismatched_add"));
  EXPECT_NE(error_of([&] { validate(g2); }).find("mismatched_add"), std::string::npos);

  Graph g3;  // bias of the wrong length
  const NodeId x3 = g3.input("x", {2, 3});
  g3.mark_output(g3.linear(x3, g3.constant("W", Tensor2D<float>(4, 3)),
                           g3.constant("b", Tensor2D<float>(1, 5)), "bias_layer"));
  EXPECT_NE(error_of([&] { validate(g3); }).find("bias_layer"), std::string::npos);
}

TEST(Validate, DanglingInputNamesTheNode) {
  Graph g = small_graph();
  const NodeId lonely = g.add_node(OpKind::relu, {999}, "lonely");
  g.mark_output(lonely);
  const std::string msg = error_of([&] { validate(g); });
  EXPECT_NE(msg.find("lonely"), std::string::npos) << msg;
  EXPECT_NE(msg.find("dangling"), std::string::npos) << msg;
}

TEST(Validate, CycleNamesTheNodesOnIt) {
  Graph g;
  const NodeId x = g.input("x", {2, 2});
  const NodeId a = g.relu(x, "a");
  const NodeId b = g.relu(a, "b");
  const NodeId c = g.add(b, x, "c");
  g.mark_output(c);
  g.set_input(a, 0, c);  // a reads c, which reads b, which reads a
  const std::string msg = error_of([&] { validate(g); });
  EXPECT_NE(msg.find("cycle"), std::string::npos) << msg;
  for (const char* name : {"'a'", "'b'", "'c'"}) EXPECT_NE(msg.find(name), std::string::npos) << msg;
  EXPECT_THROW(schedule(g), Error);
}

TEST(Validate, OtherStructuralErrors) {
  Graph g;
  const NodeId x = g.input("x", {2, 2});
  g.relu(x, "r");
  EXPECT_NE(error_of([&] { validate(g); }).find("no outputs"), std::string::npos);

  Graph arity;
  const NodeId y = arity.input("y", {2, 2});
  arity.mark_output(arity.add_node(OpKind::add, {y}, "one_armed"));
  EXPECT_NE(error_of([&] { validate(arity); }).find("one_armed"), std::string::npos);

  Graph weights;  // linear weights must be constants
  const NodeId z = weights.input("z", {2, 2});
  const NodeId wz = weights.input("w_in", {2, 2});
  weights.mark_output(weights.linear(z, wz, weights.constant("b", Tensor2D<float>(1, 2)), "fc"));
  EXPECT_NE(error_of([&] { validate(weights); }).find("not a constant"), std::string::npos);

  Graph names;
  names.input("same", {1, 1});
  EXPECT_THROW(names.input("same", {1, 1}), Error);
  EXPECT_THROW(names.node(42), Error);
}

TEST(Schedule, InputsComeFirstAndOnlyWhatOutputsNeed) {
  Graph g;
  const NodeId x = g.input("x", {2, 2});
  const NodeId a = g.relu(x, "a");
  const NodeId unused = g.relu(x, "unused");
  const NodeId b = g.softmax(a, "b");
  const NodeId c = g.add(a, b, "c");
  g.mark_output(c);
  const auto order = schedule(g);
  auto pos = [&](NodeId id) { return std::find(order.begin(), order.end(), id) - order.begin(); };
  EXPECT_EQ(std::find(order.begin(), order.end(), unused), order.end());
  EXPECT_LT(pos(x), pos(a));
  EXPECT_LT(pos(a), pos(b));
  EXPECT_LT(pos(b), pos(c));
  EXPECT_EQ(order.size(), 4u);
}

TEST(Plan, FusesChainsAndPingPongsTwoBuffers) {
  const Graph g = build_mlp({.width = 8, .depth = 64, .batch = 8});
  const Plan fused = make_plan(g, true);
  ASSERT_EQ(fused.steps.size(), 64u);  // 63 x linear_relu + 1 x linear_relu_softmax
  EXPECT_EQ(fused.steps.front().op, OpKind::linear_relu);
  EXPECT_EQ(fused.steps.back().op, OpKind::linear_relu_softmax);
  EXPECT_EQ(fused.fused_nodes, 64u * 2 - 63);
  EXPECT_EQ(fused.buffers.size(), 2u);
  for (const Step& s : fused.steps)
    for (NodeId in : s.inputs)
      if (fused.slots[in].kind == ValueSlot::Kind::buffer) {
        EXPECT_NE(fused.slots[in].index, s.buffer);
      }

  const Plan plain = make_plan(g, false);
  EXPECT_EQ(plain.steps.size(), 129u);
  EXPECT_EQ(plain.fused_nodes, 0u);
  EXPECT_EQ(plain.buffers.size(), 2u);
  EXPECT_NE(plain.describe(g).find("layer0.linear"), std::string::npos);
}

TEST(Plan, DoesNotFuseAwayAValueSomeoneElseReads) {
  Graph g;
  const NodeId x = g.input("x", {3, 3});
  const NodeId w = g.constant("W", Tensor2D<float>::random(3, 3, 1));
  const NodeId b = g.constant("b", Tensor2D<float>::random(1, 3, 2));
  const NodeId lin = g.linear(x, w, b, "lin");
  const NodeId r = g.relu(lin, "r");
  g.mark_output(g.add(r, lin, "skip"));  // lin is read twice: it must stay a real value
  const Plan p = make_plan(g, true);
  EXPECT_EQ(p.fused_nodes, 0u);
  EXPECT_EQ(p.steps.size(), 3u);
}

}  // namespace
}  // namespace dp::graph
