// The BVH of the trees-as-arrays lab (src/labs/m1/bvh.hpp): box and ray queries give brute
// force's hits, over random scenes, a scene in Z-order, degenerate scenes (all spheres at one
// place, spheres in a plane) and rays along the axes (zero direction components).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "labs/m1/bvh.hpp"

namespace {

using dp::bvh::Aabb;
using dp::bvh::FlatBvh;
using dp::bvh::Hit;
using dp::bvh::Ray;
using dp::bvh::Sphere;
using dp::bvh::Vec3;

std::vector<Sphere> random_spheres(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<Sphere> s(n);
  for (Sphere& sp : s) sp = {{u(rng), u(rng), u(rng)}, 0.01f + 0.05f * u(rng)};
  return s;
}

void expect_same_as_brute_force(const FlatBvh& tree, const std::vector<Sphere>& spheres, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-0.2f, 1.2f);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (int q = 0; q < 300; ++q) {
    const Vec3 c{u(rng), u(rng), u(rng)};
    const float h = 0.1f * (u(rng) + 0.2f);
    const Aabb box{c - Vec3{h, h, h}, c + Vec3{h, h, h}};
    std::vector<std::uint32_t> got, want;
    tree.overlapping(box, got);
    dp::bvh::brute_force_overlapping(spheres, box, want);
    std::sort(got.begin(), got.end());
    ASSERT_EQ(got, want) << "box query " << q << " over " << spheres.size() << " spheres";

    Vec3 dir{g(rng), g(rng), g(rng)};
    if (q % 4 == 1) dir = {0.0f, 0.0f, q % 8 == 1 ? 1.0f : -1.0f};  // along an axis: 1/0 = inf in the slab test
    if (q % 4 == 2) dir = {1.0f, 0.0f, 0.0f};
    const Ray ray{c, dir};
    const Hit h1 = tree.closest_hit(ray);
    const Hit h2 = dp::bvh::brute_force_closest_hit(spheres, ray);
    ASSERT_EQ(h1.t, h2.t) << "ray " << q << " over " << spheres.size() << " spheres";
    ASSERT_EQ(h1.index, h2.index) << "ray " << q;
  }
}

TEST(FlatBvh, QueriesMatchBruteForce) {
  std::mt19937 rng(3);
  for (const std::size_t n : {1u, 2u, 5u, 100u, 3000u})
    for (const std::uint32_t leaf : {1u, 4u, 16u}) {
      const auto spheres = random_spheres(n, rng);
      const FlatBvh tree(spheres, leaf);
      expect_same_as_brute_force(tree, spheres, rng);
    }
}

TEST(FlatBvh, QueriesMatchBruteForceOverAZOrderedScene) {
  std::mt19937 rng(5);
  const auto spheres = random_spheres(2000, rng);
  const auto order = dp::bvh::morton_order(spheres);
  std::vector<std::uint32_t> sorted_order = order;
  std::sort(sorted_order.begin(), sorted_order.end());
  for (std::uint32_t i = 0; i < sorted_order.size(); ++i) ASSERT_EQ(sorted_order[i], i) << "morton_order must be a permutation";
  std::vector<Sphere> z(spheres.size());
  for (std::size_t i = 0; i < order.size(); ++i) z[i] = spheres[order[i]];
  expect_same_as_brute_force(FlatBvh(z, 4), z, rng);
}

TEST(FlatBvh, DegenerateScenes) {
  std::mt19937 rng(9);
  std::vector<Sphere> same(200, Sphere{{0.5f, 0.5f, 0.5f}, 0.1f});  // every sphere at one place
  std::vector<Sphere> plane;
  for (int i = 0; i < 400; ++i) plane.push_back({{float(i % 20) / 20, 0.5f, float(i / 20) / 20}, 0.02f});
  for (const auto* spheres : {&same, &plane}) expect_same_as_brute_force(FlatBvh(*spheres, 4), *spheres, rng);
}

TEST(FlatBvh, EachNodeBoxHoldsItsSpheresAndChildren) {
  std::mt19937 rng(13);
  const auto spheres = random_spheres(1000, rng);
  const FlatBvh tree(spheres, 4);
  const auto& nodes = tree.nodes();
  auto inside = [](const Aabb& inner, const Aabb& outer) {
    return outer.lo.x <= inner.lo.x && outer.lo.y <= inner.lo.y && outer.lo.z <= inner.lo.z && inner.hi.x <= outer.hi.x &&
           inner.hi.y <= outer.hi.y && inner.hi.z <= outer.hi.z;
  };
  std::size_t leaf_spheres = 0;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].count > 0) {
      leaf_spheres += nodes[i].count;
      for (std::uint32_t j = nodes[i].right_or_first; j < nodes[i].right_or_first + nodes[i].count; ++j)
        EXPECT_TRUE(inside(dp::bvh::box_of(spheres[tree.order()[j]]), nodes[i].box));
    } else {
      EXPECT_TRUE(inside(nodes[i + 1].box, nodes[i].box)) << "node " << i;
      EXPECT_TRUE(inside(nodes[nodes[i].right_or_first].box, nodes[i].box)) << "node " << i;
    }
  }
  EXPECT_EQ(leaf_spheres, spheres.size()) << "every sphere in exactly one leaf";
}

TEST(FlatBvh, RejectsAZeroLeafSize) {
  const std::vector<Sphere> spheres(3);
  EXPECT_THROW(FlatBvh(spheres, 0), std::invalid_argument);
}

}  // namespace
