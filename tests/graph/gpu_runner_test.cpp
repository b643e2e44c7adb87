// The GPU modes agree with the double-precision reference (odd shapes included), and the graph
// compiler's generated kernels compile and are cached. Runs on whatever Vulkan device is here
// (lavapipe on CI) with validation on; any validation message fails the test.
// Tolerance: forward_tolerance(width, depth, largest value) (mlp.hpp explains it).
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "graph/compiler.hpp"
#include "graph/mlp.hpp"

#if defined(DP_HAVE_GPU)

#include <optional>
#include <sstream>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/error.hpp"
#include "gpu/gpu.hpp"
#include "graph/gpu_runner.hpp"

namespace dp::graph {
namespace {

using tensor::Tensor2D;

const std::vector<Mode> kGpuModes = {Mode::gpu_immediate, Mode::gpu_graph, Mode::gpu_graph_cached,
                                     Mode::gpu_fused,     Mode::gpu_graph_loop, Mode::gpu_compiled};

class GpuGraphTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      device_.emplace(gpu::DeviceOptions{.selector = {}, .validation = true});
    } catch (const Unavailable& e) {
      GTEST_SKIP() << "no Vulkan device here: " << e.what();
    }
  }
  void TearDown() override {
    if (!device_) return;
    const gpu::ValidationCheck c = gpu::validation_check(*device_);
    EXPECT_TRUE(c.passed) << c.detail;
  }
  gpu::Device& device() { return *device_; }

  void expect_modes_match(const Graph& g, std::span<const Tensor2D<float>> inputs,
                          std::size_t width, std::size_t depth) {
    const auto want = evaluate_reference(g, inputs);
    KernelCache cache(device());
    for (Mode mode : kGpuModes) {
      SCOPED_TRACE(mode_name(mode));
      auto runner = make_gpu_runner(g, mode, device(), {.cache = &cache, .show_kernels = nullptr});
      for (int rep = 0; rep < 2; ++rep) {  // replaying a recorded pass gives the same answer
        runner->run(inputs);
        for (std::size_t i = 0; i < want.size(); ++i) {
          const auto r = compare(runner->output(i).span(), want[i].span(),
                                 forward_tolerance(width, depth, max_abs(want[i])));
          EXPECT_TRUE(r.passed) << r.detail;
        }
      }
    }
  }

  std::optional<gpu::Device> device_;
};

class GpuMlp : public GpuGraphTest, public ::testing::WithParamInterface<std::tuple<int, int, int>> {};

TEST_P(GpuMlp, EveryModeMatchesReference) {
  const auto [width, depth, batch] = GetParam();
  const MlpSpec spec{.width = std::size_t(width), .depth = std::size_t(depth),
                     .batch = std::size_t(batch), .seed = 3};
  const Graph g = build_mlp(spec);
  const Tensor2D<float> x = mlp_input(spec);
  expect_modes_match(g, std::span(&x, 1), width, depth);
}

INSTANTIATE_TEST_SUITE_P(OddAndEven, GpuMlp,
                         ::testing::Values(std::tuple{1, 1, 1}, std::tuple{3, 2, 3},
                                           std::tuple{17, 3, 17}, std::tuple{17, 2, 255},
                                           std::tuple{255, 2, 3}, std::tuple{32, 8, 32}));

TEST_F(GpuGraphTest, AddSubSumAndBranches) {
  // fc -> relu feeds both a skip add and a sum; sub by a constant; softmax; and an add whose
  // other operand is computed by an earlier chain.
  Graph g;
  const NodeId x = g.input("x", {17, 3});
  const NodeId w = g.constant("W", Tensor2D<float>::random(3, 3, 1));
  const NodeId b = g.constant("b", Tensor2D<float>::random(1, 3, 2));
  const NodeId c = g.constant("c", Tensor2D<float>::random(17, 3, 3));
  const NodeId h = g.relu(g.linear(x, w, b, "fc"), "act");
  const NodeId w2 = g.constant("W2", Tensor2D<float>::random(3, 3, 4));
  const NodeId h2 = g.linear(h, w2, b, "fc2");
  const NodeId skip = g.add(h2, h, "skip");       // h2 + h: h is read twice, so it is stored
  g.mark_output(g.softmax(g.sub(skip, c, "shift"), "probs"));
  g.mark_output(g.sum(h, "total"));
  const Tensor2D<float> in = Tensor2D<float>::random(17, 3, 4);
  expect_modes_match(g, std::span(&in, 1), 3 * 17, 3);
}

// Deep enough that a rolled inner loop would pass 65535 iterations in one invocation (lavapipe
// then silently stops it): the generated kernel must still be right.
TEST_F(GpuGraphTest, CompiledDeepChainMatchesReference) {
  const MlpSpec spec{.width = 128, .depth = 64, .batch = 128, .seed = 4};
  const Graph g = build_mlp(spec);
  const Tensor2D<float> x = mlp_input(spec);
  const auto want = evaluate_reference(g, std::span(&x, 1));
  auto runner = make_gpu_runner(g, Mode::gpu_compiled, device());
  runner->run(std::span(&x, 1));
  const auto r = compare(runner->output(0).span(), want[0].span(), forward_tolerance(128, 64, max_abs(want[0])));
  EXPECT_TRUE(r.passed) << r.detail;
}

TEST_F(GpuGraphTest, GeneratedKernelsCompileAndAreCached) {
  const MlpSpec spec{.width = 16, .depth = 4, .batch = 16};
  const Graph g = build_mlp(spec);
  KernelCache cache(device());
  std::ostringstream shown;
  auto first = make_gpu_runner(g, Mode::gpu_compiled, device(), {.cache = &cache, .show_kernels = &shown});
  const CompiledGraph* compiled = compiled_graph_of(*first);
  ASSERT_NE(compiled, nullptr);
  ASSERT_EQ(compiled->chains.size(), 1u);  // the whole MLP is one chain: one kernel
  EXPECT_EQ(cache.builds(), 1);
  EXPECT_NE(shown.str().find("#version 450"), std::string::npos);
  EXPECT_NE(shown.str().find(compiled->chains[0].name()), std::string::npos);
  // A second runner for the same graph finds the kernel by its hash and builds nothing.
  const auto compiles_before = device().compiler().stats().compiled;
  auto second = make_gpu_runner(g, Mode::gpu_compiled, device(), {.cache = &cache, .show_kernels = nullptr});
  EXPECT_EQ(cache.builds(), 1);
  EXPECT_EQ(cache.hits(), 1);
  EXPECT_EQ(device().compiler().stats().compiled, compiles_before);
  // A different graph gets a different kernel.
  auto other = make_gpu_runner(build_mlp({.width = 16, .depth = 5, .batch = 16}), Mode::gpu_compiled,
                               device(), {.cache = &cache, .show_kernels = nullptr});
  EXPECT_EQ(cache.builds(), 2);
}

// One GEMM per layer computes what the chain kernel and the reference compute, at two tile
// shapes (batch 64 and 32 pick different ones).
TEST_F(GpuGraphTest, PerLayerGemmsMatchTheReference) {
  for (const auto& [width, batch] : {std::pair<std::size_t, std::size_t>{64, 64}, {128, 32}}) {
    SCOPED_TRACE(fmt::format("width {}, batch {}", width, batch));
    const MlpSpec spec{.width = width, .depth = 3, .batch = batch, .seed = 7};
    const Graph g = build_mlp(spec);
    const Tensor2D<float> x = mlp_input(spec);
    const auto want = evaluate_reference(g, std::span(&x, 1));
    for (Layering layering : {Layering::per_layer, Layering::chain_kernel}) {
      auto runner = make_gpu_runner(g, Mode::gpu_compiled, device(), {.layering = layering});
      ASSERT_EQ(compiled_graph_of(*runner)->chains.front().per_layer.has_value(), layering == Layering::per_layer);
      runner->run(std::span(&x, 1));
      const auto r = compare(runner->output(0).span(), want[0].span(), forward_tolerance(width, 3, max_abs(want[0])));
      EXPECT_TRUE(r.passed) << r.detail;
    }
  }
}

}  // namespace
}  // namespace dp::graph

#endif  // DP_HAVE_GPU

namespace dp::graph {
namespace {

// The compiler itself needs no GPU: op codes, chains and generated text.
TEST(GraphCompiler, OneChainPerMlpWithFusedEpilogues) {
  const Graph g = build_mlp({.width = 8, .depth = 3, .batch = 8});
  const CompiledGraph c = compile_graph(g);
  ASSERT_EQ(c.chains.size(), 1u);
  const auto& code = c.chains[0].code;
  // LOAD, LINEAR(+RELU) x3 rolled into one loop, SOFTMAX, STORE
  ASSERT_EQ(code.size(), 4u);
  EXPECT_EQ(code[0].code, OpCode::load);
  EXPECT_EQ(code[1].code, OpCode::linear);
  EXPECT_EQ(code[1].repeat, 3u);
  EXPECT_EQ(code[1].stride, 8u * 8 + 8);
  ASSERT_EQ(code[1].epilogue.size(), 1u);
  EXPECT_EQ(code[1].epilogue[0], OpCode::relu);
  EXPECT_EQ(code[2].code, OpCode::softmax);
  EXPECT_EQ(code[3].code, OpCode::store);
  EXPECT_EQ(c.chains[0].params.size(), 3u * (8 * 8 + 8));
  EXPECT_EQ(c.chains[0].hash, fnv1a64(c.chains[0].glsl));
  EXPECT_NE(c.listing(g).find("LINEAR"), std::string::npos);
  // The same graph generates the same text (so the cache can find it), a different one does not.
  EXPECT_EQ(compile_graph(g).chains[0].hash, c.chains[0].hash);
  EXPECT_NE(compile_graph(build_mlp({.width = 8, .depth = 4, .batch = 8})).chains[0].hash, c.chains[0].hash);
}

// Wide layers: the leading run of linear layers leaves the chain as one GEMM per layer; the
// softmax after it stays a generated kernel reading their result.
TEST(GraphCompiler, WideLayersSplitIntoOneGemmPerLayer) {
  const Graph g = build_mlp({.width = 64, .depth = 3, .batch = 64});
  const CompiledGraph c = compile_graph(g, {.layering = Layering::per_layer});
  ASSERT_EQ(c.chains.size(), 2u);
  const Chain& layers = c.chains[0];
  const Chain& rest = c.chains[1];
  ASSERT_TRUE(layers.per_layer.has_value());
  ASSERT_EQ(layers.code.size(), 3u);  // LOAD, LINEAR x3, STORE
  EXPECT_EQ(layers.code[1].repeat, 3u);
  EXPECT_EQ(layers.params.size(), 3u * (64 * 64 + 64));
  EXPECT_EQ(layers.rows % layers.per_layer->bm, 0u);
  EXPECT_FALSE(rest.per_layer.has_value());
  EXPECT_EQ(rest.input, layers.output);
  EXPECT_EQ(rest.output, g.outputs()[0]);
  ASSERT_EQ(rest.code.size(), 3u);  // LOAD, SOFTMAX, STORE
  EXPECT_EQ(rest.code[1].code, OpCode::softmax);
  EXPECT_NE(c.listing(g).find("one GEMM per layer"), std::string::npos);
  // A width no tile divides stays one chain kernel, even when asked for GEMMs.
  EXPECT_EQ(compile_graph(build_mlp({.width = 17, .depth = 3, .batch = 17}), {.layering = Layering::per_layer})
                .chains.size(), 1u);
}

// The byte estimate, with an H200's shared memory and workgroup target: at width 256 the chain
// kernel moves fewer bytes (64 workgroups x 17 MB of weights, against 64 dispatches at 27 MB
// each plus the GEMMs' own traffic), at 512 the GEMMs do (64 workgroups x 67 MB).
TEST(GraphCompiler, TheByteEstimatePicksChainKernelsWhenNarrowAndGemmsWhenWide) {
  const CompileOptions h200{.shared_memory_bytes = 49152, .target_groups = 64};
  EXPECT_FALSE(compile_graph(build_mlp({.width = 256, .depth = 64, .batch = 256}), h200).chains[0].per_layer);
  EXPECT_TRUE(compile_graph(build_mlp({.width = 512, .depth = 64, .batch = 512}), h200).chains[0].per_layer);
  CompileOptions never = h200;
  never.layering = Layering::chain_kernel;
  EXPECT_FALSE(compile_graph(build_mlp({.width = 512, .depth = 64, .batch = 512}), never).chains[0].per_layer);
}

TEST(GraphCompiler, LoopsOverTheDeviceLimitAreAnError) {
  const Graph g = build_mlp({.width = 300, .depth = 2, .batch = 4});
  EXPECT_NO_THROW(compile_graph(g, {.shared_memory_bytes = 32768, .target_groups = 1, .max_loop_iterations = 0}));
  EXPECT_THROW(compile_graph(g, {.shared_memory_bytes = 32768, .target_groups = 1, .max_loop_iterations = 10}), Error);
}

TEST(GraphCompiler, TooWideForSharedMemoryIsAnError) {
  Graph g;  // a row of 10000 floats: two of them need 80 KB of shared memory
  g.mark_output(g.softmax(g.input("x", {1, 10000}), "wide"));
  EXPECT_THROW(compile_graph(g, {.shared_memory_bytes = 32768, .target_groups = 1, .max_loop_iterations = 0}), Error);
}

}  // namespace
}  // namespace dp::graph
