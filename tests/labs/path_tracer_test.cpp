// The path-tracer lab's core (src/labs/m4/path_tracer.hpp, path_tracer_gpu.hpp): a ray hitting a
// sphere straight on; the flat BVH's nearest hit equal to brute force's on random rays through the
// lab's scene; the statistical image check passing for the right scene at two spp levels (its
// RMSE falling about as 1 / sqrt(spp)) and failing when one material is wrong or the BVH has lost
// a sphere; and a tiny Vulkan image within the same check (where a Vulkan device, lavapipe on CI,
// is present).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "labs/m1/bvh.hpp"
#include "labs/m4/path_tracer.hpp"
#if defined(DP_HAVE_GPU)
#include <optional>

#include "core/error.hpp"
#include "gpu/gpu.hpp"
#include "labs/m4/path_tracer_gpu.hpp"
#endif

namespace {

using dp::bvh::Ray;
using dp::bvh::Vec3;
namespace pt = dp::pt;

constexpr std::uint32_t kRefFirst = 1u << 24;

TEST(PathTracer, RayHitsASphereStraightOn) {
  pt::Scene scene;
  scene.spheres = {{{0, 0, 0}, 1}, {{0, 0, 10}, 1}};
  scene.materials = {{{0.5f, 0.5f, 0.5f}, 0, pt::kDiffuse}, {{0.5f, 0.5f, 0.5f}, 0, pt::kDiffuse}};
  const dp::bvh::FlatBvh bvh(scene.spheres, 1);
  const pt::SceneView view{scene, &bvh};
  const auto hit = view.closest({{0, 0, -5}, {0, 0, 1}});
  EXPECT_EQ(hit.index, 0u);
  EXPECT_FLOAT_EQ(hit.t, 4.0f);
  const auto from_inside = view.closest({{0, 0, 0}, {0, 0, 1}});  // leaves sphere 0 at t = 1
  EXPECT_EQ(from_inside.index, 0u);
  EXPECT_FLOAT_EQ(from_inside.t, 1.0f);
  EXPECT_EQ(view.closest({{0, 0, -5}, {0, 1, 0}}).t, dp::bvh::kNoHit);
}

TEST(PathTracer, BvhNearestHitEqualsBruteForceOnRandomRays) {
  const pt::Scene scene = pt::make_scene(1);
  ASSERT_GT(scene.spheres.size(), 300u);
  const dp::bvh::FlatBvh bvh(scene.spheres);
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<float> pos(-12.0f, 12.0f), up(0.05f, 3.0f), dir(-1.0f, 1.0f);
  int hits = 0;
  for (int i = 0; i < 20000; ++i) {
    const Ray r{{pos(rng), up(rng), pos(rng)}, pt::normalize({dir(rng), dir(rng), dir(rng)})};
    const auto want = dp::bvh::brute_force_closest_hit(scene.spheres, r);
    const auto got = bvh.closest_hit(r);
    ASSERT_EQ(got.index, want.index) << "ray " << i;
    ASSERT_EQ(got.t, want.t) << "ray " << i;
    hits += want.index != 0 && want.t != dp::bvh::kNoHit;
  }
  EXPECT_GT(hits, 1000);  // the rays meet the small spheres, not only the ground
}

// The reference and the images are 32 x 24, the reference at 256 spp.
const pt::Moments& reference() {
  static const pt::Scene scene = pt::make_scene(1);
  static const dp::bvh::FlatBvh bvh(scene.spheres);
  static const pt::Moments ref = pt::reference_moments({scene, &bvh}, {32, 24, kRefFirst, 256, 8}, 2);
  return ref;
}

TEST(PathTracer, RmseCheckPassesAtTwoSppLevelsAndFallsLikeOneOverRootSpp) {
  const pt::Scene scene = pt::make_scene(1);
  const dp::bvh::FlatBvh bvh(scene.spheres);
  pt::Image low, high;
  pt::render({scene, &bvh}, {32, 24, 0, 4, 8}, 2, low);
  pt::render({scene, &bvh}, {32, 24, 0, 16, 8}, 1, high);
  const auto c_low = pt::rmse_check(low, 4, reference()), c_high = pt::rmse_check(high, 16, reference());
  EXPECT_TRUE(c_low.passed) << c_low.rmse << " > " << c_low.bound;
  EXPECT_TRUE(c_high.passed) << c_high.rmse << " > " << c_high.bound;
  // Noise only: 4 x the samples, about half the RMSE (the reference's own noise adds a little).
  EXPECT_GT(c_low.rmse / c_high.rmse, 1.5);
  EXPECT_LT(c_low.rmse / c_high.rmse, 2.5);
  // Brute force and the BVH: the same estimator, the same image.
  pt::Image brute;
  pt::render({scene, nullptr}, {32, 24, 0, 4, 8}, 2, brute);
  EXPECT_EQ(brute.rgb, low.rgb);
}

TEST(PathTracer, RmseCheckFailsForAWrongMaterialOrABrokenBvh) {
  for (int wrong = 0; wrong < 3; ++wrong) {
    pt::Scene scene = pt::make_scene(1);
    std::vector<dp::bvh::Sphere> built_over = scene.spheres;
    if (wrong == 0)
      scene.materials[1] = {{0.8f, 0.8f, 0.8f}, 0, pt::kDiffuse};  // the big glass sphere, rendered as diffuse
    else if (wrong == 1)
      scene.materials[3].param = 0.8f;  // the big metal sphere, much fuzzier than it is
    else
      built_over[2].centre.y = -50;  // a BVH that has lost the big brown sphere (buried in the ground)
    const dp::bvh::FlatBvh bvh(built_over);
    pt::Image img;
    pt::render({scene, &bvh}, {32, 24, 0, 16, 8}, 2, img);
    const auto c = pt::rmse_check(img, 16, reference());
    EXPECT_FALSE(c.passed) << "case " << wrong << ": RMSE " << c.rmse << " within " << c.bound;
  }
}

#if defined(DP_HAVE_GPU)
TEST(PathTracer, VulkanImagePassesTheSameCheck) {
  std::optional<dp::gpu::Device> device;
  try {
    device.emplace(dp::gpu::DeviceOptions{.selector = {}, .validation = true});
  } catch (const dp::Error& e) {
    GTEST_SKIP() << "no Vulkan device here: " << e.what();
  }
  const pt::Scene scene = pt::make_scene(1);
  const dp::bvh::FlatBvh bvh(scene.spheres);
  pt::GpuTracer gpu(*device, scene, bvh);
  pt::Image img, cpu;
  const std::uint64_t rays = gpu.render({32, 24, 0, 16, 8}, img);
  const std::uint64_t cpu_rays = pt::render({scene, &bvh}, {32, 24, 0, 16, 8}, 2, cpu);
  const auto c = pt::rmse_check(img, 16, reference());
  EXPECT_TRUE(c.passed) << c.rmse << " > " << c.bound;
  // The same estimator: most paths are the very same, so the images are far closer than noise.
  double sq = 0;
  for (std::size_t i = 0; i < img.rgb.size(); ++i) sq += double(img.rgb[i] - cpu.rgb[i]) * (img.rgb[i] - cpu.rgb[i]);
  EXPECT_LT(std::sqrt(sq / double(img.rgb.size())), 0.5 * c.expected);
  EXPECT_NEAR(double(rays), double(cpu_rays), 0.02 * double(cpu_rays));
  const dp::gpu::ValidationCheck v = dp::gpu::validation_check(*device);
  EXPECT_TRUE(v.passed) << v.detail;
}
#endif

}  // namespace
