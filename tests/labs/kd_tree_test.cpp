// The nearest-neighbour lab's indexes (src/labs/m1/kd_tree.hpp): our k-d tree and uniform grid
// return the same k nearest distances as brute force, on uniform and clustered points, with
// duplicates (ties), queries on points and outside the points' box, k larger than n, and points
// spaced so unevenly that splits at the middle would make a tree as deep as the points are many.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "labs/m1/kd_tree.hpp"

namespace {

using dp::spatial::Neighbour;
using dp::spatial::Point3;

std::vector<Point3> random_points(std::size_t n, bool clustered, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::normal_distribution<float> g(0.0f, 0.02f);
  std::vector<Point3> points(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (clustered && i >= 5) {
      const Point3& c = points[i % 5];  // five clusters around the first five points
      points[i] = {{c.c[0] + g(rng), c.c[1] + g(rng), c.c[2] + g(rng)}};
    } else {
      points[i] = {{u(rng), u(rng), u(rng)}};
    }
  }
  return points;
}

std::vector<float> distances(std::span<const Neighbour> found) {
  std::vector<float> d;
  for (const Neighbour& n : found) d.push_back(n.distance2);
  return d;
}

// Every query's k distances (and, where a distance is not tied, its index) as brute force has them.
template <typename Index>
void expect_same_as_brute_force(const Index& index, const std::vector<Point3>& points,
                                const std::vector<Point3>& queries, std::size_t k, const char* what) {
  std::vector<Neighbour> want(k), got(k);
  for (std::size_t q = 0; q < queries.size(); ++q) {
    dp::spatial::brute_force_knn(points, queries[q], want);
    index.knn(queries[q], got);
    ASSERT_EQ(distances(got), distances(want)) << what << ": query " << q << ", k=" << k << ", n=" << points.size();
    for (std::size_t j = 0; j < k && j < points.size(); ++j) {
      ASSERT_LT(got[j].index, points.size());
      // The index must name a point at that distance (with ties, not necessarily brute force's).
      EXPECT_EQ(dp::spatial::distance2(queries[q], points[got[j].index]), got[j].distance2) << what;
    }
  }
}

TEST(KdTree, FindsTheSameNeighboursAsBruteForce) {
  std::mt19937 rng(7);
  for (const bool clustered : {false, true})
    for (const std::size_t n : {1u, 2u, 9u, 100u, 5000u}) {
      std::vector<Point3> points = random_points(n, clustered, rng);
      for (std::size_t i = 0; i + 1 < n; i += 7) points[i + 1] = points[i];  // duplicates: ties
      std::vector<Point3> queries = random_points(200, clustered, rng);
      for (std::size_t i = 0; i < n && i < 50; ++i) queries.push_back(points[i]);  // on a point
      queries.push_back({{-1.0f, 0.5f, 2.0f}});                                   // outside the box
      for (const std::uint32_t leaf : {1u, 4u, 10u})
        for (const std::size_t k : {1u, 2u, 8u, 20u}) {
          const dp::spatial::KdTree tree(points, leaf);
          expect_same_as_brute_force(tree, points, queries, k, "k-d tree");
        }
    }
}

TEST(UniformGrid, FindsTheSameNeighboursAsBruteForce) {
  std::mt19937 rng(11);
  for (const bool clustered : {false, true})
    for (const std::size_t n : {1u, 2u, 9u, 100u, 5000u}) {
      std::vector<Point3> points = random_points(n, clustered, rng);
      for (std::size_t i = 0; i + 1 < n; i += 7) points[i + 1] = points[i];
      std::vector<Point3> queries = random_points(200, clustered, rng);
      for (std::size_t i = 0; i < n && i < 50; ++i) queries.push_back(points[i]);
      queries.push_back({{-1.0f, 0.5f, 2.0f}});
      for (const double per_cell : {0.5, 2.0, 10.0})
        for (const std::size_t k : {1u, 2u, 8u, 20u}) {
          const dp::spatial::UniformGrid grid(points, per_cell);
          expect_same_as_brute_force(grid, points, queries, k, "uniform grid");
        }
    }
}

TEST(KdTree, AFlatPointSetAndAllPointsEqual) {
  std::vector<Point3> flat, same(300, Point3{{0.25f, 0.5f, 0.75f}});
  for (int i = 0; i < 300; ++i) flat.push_back({{float(i % 20) / 20, float(i / 20) / 15, 0.5f}});  // a plane, a lattice
  const std::vector<Point3> queries = {{{0.5f, 0.5f, 0.5f}}, {{0.1f, 0.9f, 0.4f}}, {{0.25f, 0.5f, 0.75f}}};
  for (const auto* points : {&flat, &same}) {
    expect_same_as_brute_force(dp::spatial::KdTree(*points, 4), *points, queries, 8, "k-d tree");
    expect_same_as_brute_force(dp::spatial::UniformGrid(*points, 2.0), *points, queries, 8, "uniform grid");
  }
}

// Midpoint splits peel one point off per level from points spaced 1, 1.5, 1.5^2, ...: past a
// depth the tree must fall back to balanced splits, and still answer right.
TEST(KdTree, ExponentiallySpacedPoints) {
  std::mt19937 rng(17);
  std::vector<Point3> points = random_points(2000, false, rng);
  float x = 1.0f;
  for (int i = 0; i < 200; ++i, x *= 1.5f) points.push_back({{x, 0.5f, 0.5f}});
  std::vector<Point3> queries = random_points(100, false, rng);
  for (std::size_t i = 2000; i < points.size(); i += 10) queries.push_back(points[i]);
  for (const std::size_t k : {1u, 8u}) expect_same_as_brute_force(dp::spatial::KdTree(points, 4), points, queries, k, "k-d tree");
}

TEST(KdTree, RejectsAZeroLeafSize) {
  const std::vector<Point3> points(3);
  EXPECT_THROW(dp::spatial::KdTree(points, 0), std::invalid_argument);
}

}  // namespace
