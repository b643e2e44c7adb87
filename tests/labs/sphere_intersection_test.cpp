// The sphere-intersection lab's kernels (src/labs/m4/sphere_intersection.hpp): hand-made cases
// (hit, miss, behind, inside a sphere, tangent, a tie between two equal spheres) for every
// variant, then every variant against the double-precision reference on random scenes whose
// sphere counts are not multiples of the SIMD width, and the judge itself (it must be able to fail).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "labs/m4/sphere_intersection.hpp"

namespace {

namespace sp = dp::spheres;
using sp::Hit;
using sp::Ray;
using sp::Sphere;

struct Kernel {
  std::string name;
  std::function<Hit(std::span<const Sphere>, const Ray&)> nearest;
};

std::vector<Kernel> kernels() {
  std::vector<Kernel> k = {
      {"AoS branchy", [](std::span<const Sphere> s, const Ray& r) { return sp::nearest_aos_branchy(s, r); }},
      {"SoA branchy", [](std::span<const Sphere> s, const Ray& r) { return sp::nearest_soa_branchy(sp::SpheresSoA(s), r); }},
      {"AoS branch-free", [](std::span<const Sphere> s, const Ray& r) { return sp::nearest_aos_branchfree(s, r); }},
      {"SoA auto-vectorized", [](std::span<const Sphere> s, const Ray& r) { return sp::nearest_soa_autovec(sp::SpheresSoA(s), r); }},
  };
#if defined(DP_HAVE_XSIMD)
  k.push_back({"SoA xsimd", [](std::span<const Sphere> s, const Ray& r) { return sp::nearest_soa_xsimd(sp::SpheresSoA(s), r); }});
#endif
  return k;
}

Sphere sphere(float x, float y, float z, float r) { return {x, y, z, r, {0.5f, 0.5f, 0.5f}, 0}; }
Ray ray_z(float x, float y, float z, float dz = 1.f) { return {x, y, z, 0.f, 0.f, dz}; }

TEST(SphereIntersection, HandMadeCases) {
  // Two unit spheres on the z axis at z = 0 and z = 10, one off axis at x = 5.
  const std::vector<Sphere> s = {sphere(0, 0, 0, 1), sphere(0, 0, 10, 1), sphere(5, 0, 0, 1)};
  struct Case {
    const char* what;
    Ray ray;
    int index;
    float t;
  };
  const std::vector<Case> cases = {
      {"hit the nearer of two", ray_z(0, 0, -5), 0, 4.f},
      {"from between them", ray_z(0, 0, 5), 1, 4.f},
      {"miss beside them", ray_z(2.5f, 0, -5), -1, 0.f},
      {"both behind", ray_z(0, 0, 20), -1, 0.f},
      {"inside: the far side", ray_z(0, 0, 0), 0, 1.f},
      {"inside, off center", ray_z(0, 0, 0.5f), 0, 0.5f},
      {"looking back from inside", ray_z(0, 0, 9.5f, -1.f), 1, 0.5f},
      {"tangent (exactly representable)", ray_z(6, 0, -5), 2, 5.f},  // disc = 0: one root
  };
  for (const auto& k : kernels())
    for (const auto& c : cases) {
      const Hit h = k.nearest(s, c.ray);
      EXPECT_EQ(h.index, c.index) << k.name << ": " << c.what;
      if (c.index >= 0) EXPECT_NEAR(h.t, c.t, 1e-5) << k.name << ": " << c.what;
      else EXPECT_TRUE(std::isinf(h.t)) << k.name << ": " << c.what;
    }
}

TEST(SphereIntersection, TiesGoToTheSmallerIndex) {
  // The same sphere at indices 3 and 20 (and 37, past a 16-wide batch and a 32-wide one): equal t.
  std::vector<Sphere> s(40, sphere(50, 50, 50, 0.5f));  // far away, never hit
  s[3] = s[20] = s[37] = sphere(0, 0, 0, 1);
  for (const auto& k : kernels()) {
    const Hit h = k.nearest(s, ray_z(0, 0, -5));
    EXPECT_EQ(h.index, 3) << k.name;
    EXPECT_EQ(h.t, 4.f) << k.name;
  }
  EXPECT_EQ(sp::reference_nearest(s, ray_z(0, 0, -5)).index, 3);
}

TEST(SphereIntersection, EveryVariantMatchesTheReferenceOnRandomScenes) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> pos(-1.f, 1.f), rad(0.05f, 0.3f), orig(-1.5f, 1.5f);
  std::normal_distribution<float> dir(0.f, 1.f);
  // Sphere counts that are not multiples of 4, 8 or 16 (and 0: every ray misses).
  for (const std::size_t n : {0u, 1u, 5u, 17u, 31u, 100u, 257u}) {
    std::vector<Sphere> s(n);
    for (auto& x : s) x = sphere(pos(rng), pos(rng), pos(rng), rad(rng));
    std::size_t hits = 0, inside = 0;
    for (int r = 0; r < 500; ++r) {
      float dx = dir(rng), dy = dir(rng), dz = dir(rng);
      const float len = std::sqrt(dx * dx + dy * dy + dz * dz);
      const Ray ray{orig(rng), orig(rng), orig(rng), dx / len, dy / len, dz / len};
      const sp::RefHit want = sp::reference_nearest(s, ray);
      hits += want.index >= 0;
      for (const auto& x : s) {
        const double px = ray.ox - x.cx, py = ray.oy - x.cy, pz = ray.oz - x.cz;
        inside += px * px + py * py + pz * pz < double(x.radius) * x.radius;
      }
      for (const auto& k : kernels()) {
        const Hit got = k.nearest(s, ray);
        EXPECT_NE(sp::judge(got, s, ray, want), sp::Verdict::wrong)
            << fmt::format("{}, N = {}, ray {}: got sphere {} at t {}, want sphere {} at t {}", k.name, n, r, got.index, got.t,
                           want.index, want.t);
      }
    }
    if (n >= 17) {
      EXPECT_GT(hits, 50u) << "N = " << n << ": too few hits for a meaningful test";
      EXPECT_GT(inside, 0u) << "N = " << n << ": no ray started inside a sphere";
    }
  }
}

TEST(SphereIntersection, JudgeRejectsWrongAnswers) {
  const std::vector<Sphere> s = {sphere(0, 0, 0, 1), sphere(0, 0, 10, 1)};
  const Ray ray = ray_z(0, 0, -5);
  const sp::RefHit want = sp::reference_nearest(s, ray);
  ASSERT_EQ(want.index, 0);
  EXPECT_EQ(sp::judge(Hit{4.f, 0}, s, ray, want), sp::Verdict::same);
  EXPECT_EQ(sp::judge(Hit{4.01f, 0}, s, ray, want), sp::Verdict::wrong);  // t off by 0.01
  EXPECT_EQ(sp::judge(Hit{14.f, 1}, s, ray, want), sp::Verdict::wrong);   // the farther sphere
  EXPECT_EQ(sp::judge(Hit{}, s, ray, want), sp::Verdict::wrong);          // a miss
  EXPECT_EQ(sp::judge(Hit{4.f, 7}, s, ray, want), sp::Verdict::wrong);    // no such sphere
  // A ray grazing the first sphere's edge: float may see it or not, either is accepted.
  const Ray graze = ray_z(std::nextafter(1.f, 0.f), 0, -5);
  const sp::RefHit g = sp::reference_nearest(s, graze);
  EXPECT_EQ(sp::judge(Hit{}, s, graze, g), g.index < 0 ? sp::Verdict::same : sp::Verdict::grazing);
}

}  // namespace
