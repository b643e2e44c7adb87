// Tests of make_runner (one entry point for every mode) and check_modes (every mode against the
// double reference, one check each), the two pieces every graph lab shares.
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "core/error.hpp"
#include "graph/mlp.hpp"
#include "graph/mode_check.hpp"
#include "graph/runner.hpp"
#if defined(DP_HAVE_GPU)
#include "gpu/gpu.hpp"
#include "graph/gpu_runner.hpp"
#endif

namespace dp::graph {
namespace {

const MlpSpec kSpec{.width = 17, .depth = 2, .batch = 17, .seed = 3};

TEST(MakeRunner, RunsACpuModeWithoutAGpu) {
  const Graph g = build_mlp(kSpec);
  const auto x = mlp_input(kSpec);
  auto runner = make_runner(g, Mode::cpu_fused);
  EXPECT_EQ(runner->mode(), Mode::cpu_fused);
  runner->run(std::span(&x, 1));
  EXPECT_EQ(runner->output(0).rows(), kSpec.batch);
}

TEST(MakeRunner, AGpuModeWithoutADeviceIsAnError) {
  const Graph g = build_mlp(kSpec);
  try {
    make_runner(g, Mode::gpu_graph_loop);
    FAIL() << "a GPU mode needs a device";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gpu-graph-loop"), std::string::npos) << e.what();
  }
}

TEST(CheckModes, AddsOnePassingCheckPerModeNamedByItsLabel) {
  Result result;
  const std::vector<Mode> modes = {Mode::cpu_immediate, Mode::cpu_fused};
  check_modes(build_mlp(kSpec), mlp_input(kSpec), modes, {}, {.width = 17, .depth = 2, .label = " (odd)"}, result);
  ASSERT_EQ(result.checks.size(), 2u);
  EXPECT_EQ(result.checks[0].name, "cpu-immediate matches the double reference (odd)");
  EXPECT_EQ(result.checks[1].name, "cpu-fused matches the double reference (odd)");
  for (const auto& c : result.checks) EXPECT_TRUE(c.passed) << c.name << ": " << c.detail;
}

#if defined(DP_HAVE_GPU)
TEST(CheckModes, EveryGpuModeOnTheDeviceHere) {
  std::optional<gpu::Device> device;
  try {
    device.emplace(gpu::DeviceOptions{.selector = {}, .validation = true});
  } catch (const Unavailable& e) {
    GTEST_SKIP() << "no Vulkan device here: " << e.what();
  }
  KernelCache cache(*device);
  std::vector<Mode> modes;
  for (Mode m : all_modes())
    if (is_gpu_mode(m)) modes.push_back(m);
  Result result;
  check_modes(build_mlp(kSpec), mlp_input(kSpec), modes, {.device = &*device, .cache = &cache},
              {.width = 17, .depth = 2, .label = ""}, result);
  ASSERT_EQ(result.checks.size(), modes.size());
  for (const auto& c : result.checks) EXPECT_TRUE(c.passed) << c.name << ": " << c.detail;
  EXPECT_TRUE(gpu::validation_check(*device).passed);
}
#endif

}  // namespace
}  // namespace dp::graph
