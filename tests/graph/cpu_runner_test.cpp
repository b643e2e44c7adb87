// The CPU modes agree with the double-precision reference interpreter, on odd shapes too.
// Tolerance: forward_tolerance(width, depth, largest value) (mlp.hpp explains it).
#include <gtest/gtest.h>

#include <tuple>
#include <utility>

#include "core/check.hpp"
#include "core/error.hpp"
#include "graph/mlp.hpp"
#include "graph/runner.hpp"
#include "tensor/parallel.hpp"

namespace dp::graph {
namespace {

using tensor::Tensor2D;

void expect_matches_reference(const Graph& g, std::span<const Tensor2D<float>> inputs,
                              std::size_t width, std::size_t depth) {
  const auto want = evaluate_reference(g, inputs);
  for (Mode mode : {Mode::cpu_immediate, Mode::cpu_fused}) {
    SCOPED_TRACE(mode_name(mode));
    auto runner = make_cpu_runner(g, mode);
    for (int rep = 0; rep < 2; ++rep) {  // a second run reuses buffers: still right
      runner->run(inputs);
      for (std::size_t i = 0; i < want.size(); ++i) {
        const auto tol = forward_tolerance(width, depth, max_abs(want[i]));
        const auto r = compare(runner->output(i).span(), want[i].span(), tol);
        EXPECT_TRUE(r.passed) << r.detail;
      }
    }
  }
}

class MlpShapes : public ::testing::TestWithParam<std::tuple<int, int, int>> {};

TEST_P(MlpShapes, CpuModesMatchReference) {
  const auto [width, depth, batch] = GetParam();
  const MlpSpec spec{.width = std::size_t(width), .depth = std::size_t(depth),
                     .batch = std::size_t(batch), .seed = 5};
  const Graph g = build_mlp(spec);
  const Tensor2D<float> x = mlp_input(spec);
  expect_matches_reference(g, std::span(&x, 1), width, depth);
}

INSTANTIATE_TEST_SUITE_P(OddAndEven, MlpShapes,
                         ::testing::Values(std::tuple{1, 1, 1}, std::tuple{3, 2, 3},
                                           std::tuple{17, 5, 17}, std::tuple{255, 3, 255},
                                           std::tuple{17, 3, 255}, std::tuple{64, 64, 64},
                                           std::tuple{4, 256, 4}));

TEST(CpuRunners, GraphsWithAddSubAndSum) {
  // x -> linear -> relu --+--> add(., x) -> sub(., c) -> softmax      (row-parallel in cpu-fused)
  //                       +--> sum                                      (a reduction, run after)
  Graph g;
  const NodeId x = g.input("x", {17, 3});
  const NodeId w = g.constant("W", Tensor2D<float>::random(3, 3, 1));
  const NodeId b = g.constant("b", Tensor2D<float>::random(1, 3, 2));
  const NodeId c = g.constant("c", Tensor2D<float>::random(17, 3, 3));
  const NodeId h = g.relu(g.linear(x, w, b, "fc"), "act");
  const NodeId total = g.sum(h, "total");
  g.mark_output(g.softmax(g.sub(g.add(h, x, "skip"), c, "shift"), "probs"));
  g.mark_output(total);
  // and a sum feeding more work: 1x1 results are not row-parallel
  const NodeId doubled = g.add(total, total, "doubled");
  g.mark_output(doubled);
  const Tensor2D<float> in = Tensor2D<float>::random(17, 3, 4);
  expect_matches_reference(g, std::span(&in, 1), 17 * 3, 2);  // sum adds 51 terms
}

TEST(CpuRunners, OneThreadAndAllThreadsAgree) {
  const MlpSpec spec{.width = 100, .depth = 8, .batch = 100};
  const Graph g = build_mlp(spec);
  const Tensor2D<float> x = mlp_input(spec);
  auto runner = make_cpu_runner(g, Mode::cpu_fused);
  runner->run(std::span(&x, 1));
  const Tensor2D<float> all = runner->output(0);
  {
    tensor::ThreadLimit one(1);
    runner->run(std::span(&x, 1));
  }
  EXPECT_TRUE(compare(runner->output(0).span(), std::as_const(all).span()).passed);
}

TEST(CpuRunners, WrongInputsAreErrors) {
  const Graph g = build_mlp({.width = 4, .depth = 1, .batch = 4});
  auto runner = make_cpu_runner(g, Mode::cpu_fused);
  const Tensor2D<float> wrong(4, 5);
  EXPECT_THROW(runner->run(std::span(&wrong, 1)), Error);
  EXPECT_THROW(runner->run({}), Error);
  EXPECT_THROW(make_cpu_runner(g, Mode::gpu_graph), Error);
}

TEST(Modes, NamesRoundTrip) {
  for (Mode m : all_modes()) EXPECT_EQ(parse_mode(mode_name(m)), m);
  EXPECT_FALSE(parse_mode("gpu-warp-drive").has_value());
}

}  // namespace
}  // namespace dp::graph
