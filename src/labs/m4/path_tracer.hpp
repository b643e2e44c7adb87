// path_tracer.hpp — the path-tracer lab's scene, materials, random numbers and CPU tracer, shared
// with its tests (the Vulkan shader, shaders/path_tracer/trace.comp, mirrors this file line by line).
//
// The scene is "spheres on a ground sphere": a ground of radius 1000, three big spheres (glass,
// diffuse, metal) and a grid of small ones whose positions and materials come from a seeded
// counter-based hash, lit by an emissive sky (white at the horizon, blue above). Materials:
// Lambertian diffuse, metal with fuzz, dielectric glass (Schlick's Fresnel). A sample's radiance
// is the sky's times the product of albedos along the path, so every sample lies in [0, 1]^3: no
// fireflies, and the per-pixel variance the check uses is bounded.
//
// Randomness is a counter: the k-th number of sample s of pixel p is a PCG hash of (p, s, k), the
// same on CPU and GPU. Both compute the same estimator; float differences still make a few paths
// diverge (a ray that grazes a sphere on one side misses it on the other), so images are compared
// statistically (rmse_check below), never bit for bit.
//
// Index
//   Material, Scene, make_scene(seed)   the scene; sphere i has material i
//   Camera, make_camera(w, h)           a fixed view (look from (13, 2, 3) at the origin, 20 degrees)
//   Rng                                 the counter-based generator (pcg_hash)
//   trace(...) / render_tile(...)       one camera sample; a tile of pixels (sums of samples)
//   render(...)                         a whole image on `threads` threads over 16 x 16 tiles
//   Moments, reference_moments(...)     per-pixel mean and variance of a high-spp render
//   rmse_check(...)                     RMSE vs the reference and the bound the noise allows
//   to_srgb8(...)                       tone map (clamp) and gamma 2.2 for the PNG
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/thread_team.hpp"
#include "labs/m1/bvh.hpp"

namespace dp::pt {

using bvh::Vec3;

inline Vec3 mul(Vec3 a, Vec3 b) { return {a.x * b.x, a.y * b.y, a.z * b.z}; }
inline Vec3 cross(Vec3 a, Vec3 b) { return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x}; }
inline float length(Vec3 a) { return std::sqrt(bvh::dot(a, a)); }
inline Vec3 normalize(Vec3 a) { return (1.0f / length(a)) * a; }

// ---------------------------------------------------------------------------------------------
// Random numbers: a hash of a counter
// ---------------------------------------------------------------------------------------------

// PCG's output permutation applied to one LCG step (Jarzynski & Olano, "Hash functions for GPU
// rendering", 2020): a good 32-bit hash in a handful of integer operations, on CPU and GPU alike.
inline std::uint32_t pcg_hash(std::uint32_t v) {
  const std::uint32_t state = v * 747796405u + 2891336453u;
  const std::uint32_t word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

// The numbers of one camera sample: (pixel, sample) seeds the counter, each draw hashes the next.
struct Rng {
  std::uint32_t state;
  Rng(std::uint32_t pixel, std::uint32_t sample) : state(pcg_hash(pixel ^ pcg_hash(sample + 0x9E3779B9u))) {}
  float uniform() {  // in [0, 1): the top 24 bits
    state = pcg_hash(state);
    return static_cast<float>(state >> 8) * (1.0f / 16777216.0f);
  }
};

// ---------------------------------------------------------------------------------------------
// The scene
// ---------------------------------------------------------------------------------------------

enum MaterialKind : std::uint32_t { kDiffuse = 0, kMetal = 1, kGlass = 2 };

struct Material {
  Vec3 albedo;       // diffuse, metal: the colour kept at each bounce
  float param = 0;   // metal: fuzz (0 = mirror); glass: index of refraction
  std::uint32_t kind = kDiffuse;
};

struct Scene {
  std::vector<bvh::Sphere> spheres;
  std::vector<Material> materials;  // one per sphere
};

// The fixed scene: ground, three big spheres, then small spheres on a grid from -half to half - 1
// (half = 11: up to 484; fewer where they would touch a big one). Deterministic in `seed`.
inline Scene make_scene(std::uint32_t seed = 1, int half = 11) {
  Scene s;
  auto add = [&](Vec3 c, float r, Material m) {
    s.spheres.push_back({c, r});
    s.materials.push_back(m);
  };
  add({0, -1000, 0}, 1000, {{0.5f, 0.5f, 0.5f}, 0, kDiffuse});
  add({0, 1, 0}, 1, {{1, 1, 1}, 1.5f, kGlass});
  add({-4, 1, 0}, 1, {{0.4f, 0.2f, 0.1f}, 0, kDiffuse});
  add({4, 1, 0}, 1, {{0.7f, 0.6f, 0.5f}, 0, kMetal});
  std::uint32_t counter = pcg_hash(seed);
  auto next = [&] {
    counter = pcg_hash(counter);
    return static_cast<float>(counter >> 8) * (1.0f / 16777216.0f);
  };
  for (int a = -half; a < half; ++a)
    for (int b = -half; b < half; ++b) {
      const float choose = next();
      const Vec3 centre{a + 0.9f * next(), 0.2f, b + 0.9f * next()};
      if (length(centre - Vec3{4, 0.2f, 0}) <= 0.9f || length(centre - Vec3{-4, 0.2f, 0}) <= 0.9f ||
          length(centre - Vec3{0, 0.2f, 0}) <= 0.9f)
        continue;
      if (choose < 0.8f) {
        add(centre, 0.2f, {{next() * next(), next() * next(), next() * next()}, 0, kDiffuse});
      } else if (choose < 0.95f) {
        add(centre, 0.2f, {{0.5f + 0.5f * next(), 0.5f + 0.5f * next(), 0.5f + 0.5f * next()}, 0.5f * next(), kMetal});
      } else {
        add(centre, 0.2f, {{1, 1, 1}, 1.5f, kGlass});
      }
    }
  return s;
}

struct Camera {  // 64 bytes as the shader reads it: origin, corner, horizontal, vertical (vec4 each)
  Vec3 origin;
  float pad0 = 0;
  Vec3 corner;  // of the image plane, lower left
  float pad1 = 0;
  Vec3 horizontal;
  float pad2 = 0;
  Vec3 vertical;
  float pad3 = 0;
};

inline Camera make_camera(int width, int height) {
  const Vec3 from{13, 2, 3}, at{0, 0, 0}, up{0, 1, 0};
  const float theta = 20.0f * 3.14159265f / 180.0f;
  const float half_h = std::tan(theta / 2), half_w = half_h * static_cast<float>(width) / static_cast<float>(height);
  const Vec3 w = normalize(from - at), u = normalize(cross(up, w)), v = cross(w, u);
  Camera c;
  c.origin = from;
  c.horizontal = (2 * half_w) * u;
  c.vertical = (2 * half_h) * v;
  c.corner = from - (half_w * u) - (half_h * v) - w;
  return c;
}

// ---------------------------------------------------------------------------------------------
// The tracer
// ---------------------------------------------------------------------------------------------

inline Vec3 random_unit_vector(Rng& rng) {  // uniform on the sphere, two draws, no rejection loop
  const float z = 2 * rng.uniform() - 1, phi = 6.2831853f * rng.uniform();
  const float r = std::sqrt(std::max(0.0f, 1 - z * z));
  return {r * std::cos(phi), r * std::sin(phi), z};
}
inline Vec3 reflect(Vec3 d, Vec3 n) { return d - (2 * bvh::dot(d, n)) * n; }

// How the nearest hit is found: the BVH (the lab), or every sphere (the tests' reference).
struct SceneView {
  const Scene& scene;
  const bvh::FlatBvh* bvh = nullptr;  // null: brute force
  bvh::Hit closest(const bvh::Ray& r) const { return bvh ? bvh->closest_hit(r) : bvh::brute_force_closest_hit(scene.spheres, r); }
};

inline constexpr float kOffset = 1e-3f;  // a scattered ray starts this far off the surface

// The radiance of one camera ray (its direction unit length), after at most `depth` bounces; adds
// the segments traced to `rays`.
inline Vec3 trace(const SceneView& view, bvh::Ray ray, int depth, Rng& rng, std::uint64_t& rays) {
  Vec3 throughput{1, 1, 1};
  for (int bounce = 0; bounce < depth; ++bounce) {
    ++rays;
    const bvh::Hit hit = view.closest(ray);
    if (hit.t == bvh::kNoHit) {  // the sky: white at the horizon to blue overhead
      const float t = 0.5f * (ray.dir.y + 1);
      return mul(throughput, (1 - t) * Vec3{1, 1, 1} + t * Vec3{0.5f, 0.7f, 1.0f});
    }
    const bvh::Sphere& s = view.scene.spheres[hit.index];
    const Material& m = view.scene.materials[hit.index];
    const Vec3 p = ray.origin + hit.t * ray.dir;
    const Vec3 outward = (1.0f / s.radius) * (p - s.centre);
    const bool front = bvh::dot(ray.dir, outward) < 0;
    const Vec3 n = front ? outward : -1.0f * outward;  // faces the incoming ray
    Vec3 dir;
    if (m.kind == kDiffuse) {
      dir = n + random_unit_vector(rng);
      if (bvh::dot(dir, dir) < 1e-8f) dir = n;
      throughput = mul(throughput, m.albedo);
    } else if (m.kind == kMetal) {
      dir = reflect(ray.dir, n) + m.param * random_unit_vector(rng);
      if (bvh::dot(dir, n) <= 0) return {0, 0, 0};  // fuzzed below the surface: absorbed
      throughput = mul(throughput, m.albedo);
    } else {
      const float eta = front ? 1.0f / m.param : m.param;
      const float cos_i = std::min(-bvh::dot(ray.dir, n), 1.0f);
      const float sin_t2 = eta * eta * (1 - cos_i * cos_i);
      const float r0 = ((1 - eta) / (1 + eta)) * ((1 - eta) / (1 + eta));
      const float schlick = r0 + (1 - r0) * std::pow(1 - cos_i, 5.0f);
      const float u = rng.uniform();
      if (sin_t2 > 1 || schlick > u) {
        dir = reflect(ray.dir, n);
      } else {  // Snell: the refracted direction's parts across and along n
        dir = eta * (ray.dir + cos_i * n) - std::sqrt(1 - sin_t2) * n;
      }
    }
    dir = normalize(dir);
    const bool inward = bvh::dot(dir, n) < 0;  // refracted: start just inside the surface
    ray = {p + (inward ? -kOffset : kOffset) * n, dir};
  }
  return {0, 0, 0};  // out of bounces: no light
}

struct RenderSpec {
  int width = 64, height = 48;
  std::uint32_t first_sample = 0;  // samples first_sample .. first_sample + spp - 1 of each pixel
  std::uint32_t spp = 4;
  int depth = 8;
};

// Linear radiance: mean of the samples per pixel, RGB, rows top to bottom.
struct Image {
  int width = 0, height = 0;
  std::vector<float> rgb;
};

// The camera sample `sample` of pixel (x, y), y counted from the top.
inline Vec3 camera_sample(const SceneView& view, const Camera& cam, const RenderSpec& spec, int x, int y,
                          std::uint32_t sample, std::uint64_t& rays) {
  const auto pixel = static_cast<std::uint32_t>(y * spec.width + x);
  Rng rng(pixel, sample);
  const float u = (static_cast<float>(x) + rng.uniform()) / static_cast<float>(spec.width);
  const float v = (static_cast<float>(spec.height - 1 - y) + rng.uniform()) / static_cast<float>(spec.height);
  const Vec3 dir = normalize(cam.corner + u * cam.horizontal + v * cam.vertical - cam.origin);
  return trace(view, {cam.origin, dir}, spec.depth, rng, rays);
}

inline constexpr int kTile = 16;

// The image on `threads` threads: each takes the next 16 x 16 tile from a shared counter (tiles
// differ in cost: sky is cheap, glass dear), writes only its own pixels. Returns the rays traced.
inline std::uint64_t render(const SceneView& view, const RenderSpec& spec, int threads, Image& out) {
  out.width = spec.width, out.height = spec.height;
  out.rgb.assign(static_cast<std::size_t>(spec.width) * spec.height * 3, 0.0f);
  const Camera cam = make_camera(spec.width, spec.height);
  const int tiles_x = (spec.width + kTile - 1) / kTile, tiles = tiles_x * ((spec.height + kTile - 1) / kTile);
  std::atomic<int> next{0};
  std::vector<std::uint64_t> rays(static_cast<std::size_t>(threads) * 8, 0);  // 64 bytes apart: no false sharing
  auto job = [&](int t) {
    std::uint64_t my_rays = 0;
    for (int tile = next.fetch_add(1, std::memory_order_relaxed); tile < tiles; tile = next.fetch_add(1, std::memory_order_relaxed)) {
      const int x0 = (tile % tiles_x) * kTile, y0 = (tile / tiles_x) * kTile;
      for (int y = y0; y < std::min(y0 + kTile, spec.height); ++y)
        for (int x = x0; x < std::min(x0 + kTile, spec.width); ++x) {
          Vec3 sum{0, 0, 0};
          for (std::uint32_t s = 0; s < spec.spp; ++s)
            sum = sum + camera_sample(view, cam, spec, x, y, spec.first_sample + s, my_rays);
          float* px = &out.rgb[(static_cast<std::size_t>(y) * spec.width + x) * 3];
          const float scale = 1.0f / static_cast<float>(spec.spp);
          px[0] = sum.x * scale, px[1] = sum.y * scale, px[2] = sum.z * scale;
        }
    }
    rays[static_cast<std::size_t>(t) * 8] = my_rays;
  };
  if (threads <= 1)
    job(0);
  else
    dp::run_together(threads, job);
  std::uint64_t total = 0;
  for (int t = 0; t < threads; ++t) total += rays[static_cast<std::size_t>(t) * 8];
  return total;
}

// ---------------------------------------------------------------------------------------------
// The check: RMSE against a high-spp reference, bounded by the Monte Carlo noise
// ---------------------------------------------------------------------------------------------

// Per pixel and channel: the mean of `spp` samples (in double) and their variance.
struct Moments {
  int width = 0, height = 0;
  std::uint32_t spp = 0;
  std::vector<double> mean, variance;
};

// The reference: samples first_sample .. + spp of every pixel (choose them apart from the
// variants' samples, so that the two estimates are independent), on `threads` threads.
inline Moments reference_moments(const SceneView& view, const RenderSpec& spec, int threads) {
  Moments m{spec.width, spec.height, spec.spp, {}, {}};
  const std::size_t values = static_cast<std::size_t>(spec.width) * spec.height * 3;
  m.mean.assign(values, 0.0), m.variance.assign(values, 0.0);
  const Camera cam = make_camera(spec.width, spec.height);
  std::atomic<int> next_row{0};
  dp::run_together(std::max(threads, 1), [&](int) {
    std::uint64_t rays = 0;
    for (int y = next_row.fetch_add(1); y < spec.height; y = next_row.fetch_add(1))
      for (int x = 0; x < spec.width; ++x) {
        double sum[3] = {0, 0, 0}, sq[3] = {0, 0, 0};
        for (std::uint32_t s = 0; s < spec.spp; ++s) {
          const Vec3 c = camera_sample(view, cam, spec, x, y, spec.first_sample + s, rays);
          for (int k = 0; k < 3; ++k) sum[k] += c[k], sq[k] += double(c[k]) * c[k];
        }
        for (int k = 0; k < 3; ++k) {
          const std::size_t i = (static_cast<std::size_t>(y) * spec.width + x) * 3 + k;
          const double mean = sum[k] / spec.spp;
          m.mean[i] = mean;
          m.variance[i] = std::max(0.0, (sq[k] - spec.spp * mean * mean) / std::max(1u, spec.spp - 1));
        }
      }
  });
  return m;
}

struct RmseCheck {
  double rmse = 0;      // image vs reference, over every pixel and channel (linear radiance)
  double expected = 0;  // what noise alone gives: sqrt(mean variance * (1/spp + 1/ref spp))
  double bound = 0;     // kSlack * expected
  bool passed = false;
};

// The noise of a mean of n samples has variance sigma^2 / n, so an image of `spp` samples and a
// reference of R independent ones differ by sigma^2 (1/spp + 1/R) per value on average. The
// mean of ~10^4 such squares is within a few per cent of its expectation (samples lie in [0, 1]);
// a bias (a wrong material, a missed sphere) adds to it. kSlack = 1.25 on the RMSE (1.56 on the
// mean square) leaves room for the estimate's own spread and fails any bias whose mean square
// is more than half the noise's.
inline constexpr double kSlack = 1.25;

inline RmseCheck rmse_check(const Image& img, std::uint32_t spp, const Moments& ref) {
  RmseCheck c;
  double sq = 0, var = 0;
  const std::size_t n = ref.mean.size();
  for (std::size_t i = 0; i < n; ++i) {
    const double d = double(img.rgb[i]) - ref.mean[i];
    sq += d * d;
    var += ref.variance[i];
  }
  c.rmse = std::sqrt(sq / static_cast<double>(n));
  c.expected = std::sqrt(var / static_cast<double>(n) * (1.0 / spp + 1.0 / ref.spp));
  c.bound = kSlack * c.expected;
  c.passed = img.rgb.size() == n && c.rmse <= c.bound;
  return c;
}

// 8-bit sRGB-ish: clamp to [0, 1], gamma 2.2.
inline std::vector<std::uint8_t> to_srgb8(const Image& img) {
  std::vector<std::uint8_t> out(img.rgb.size());
  for (std::size_t i = 0; i < img.rgb.size(); ++i)
    out[i] = static_cast<std::uint8_t>(std::lround(255.0f * std::pow(std::clamp(img.rgb[i], 0.0f, 1.0f), 1.0f / 2.2f)));
  return out;
}

}  // namespace dp::pt
