// sphere-intersection — Rays against spheres, brute force: what do data layout (AoS or SoA),
// the compiler's auto-vectorizer and explicit SIMD each buy per ray-sphere test?
//
// What: a scene of N random spheres in a box (N = 16 ... 65536), and the primary rays of a
// pinhole camera looking at it (the realistic batch; 64 x 64 pixels, fewer for large N). For each ray, the nearest hit (t, sphere
// index) over all N spheres: N tests per ray, no acceleration structure (the lesson is the data
// layout; trees-as-arrays and path-tracer cover BVHs). The kernels are in sphere_intersection.hpp:
//   AoS, branchy           struct {center, radius, material} (32 bytes), the textbook loop: early
//                          out on a miss, if/else. GCC leaves it scalar (control flow in the loop)
//   SoA, branchy           the same loop over arrays cx, cy, cz, r2: layout alone, still scalar
//   AoS, branch-free       selects instead of branches, argmin as a min of uint64 keys: GCC
//                          vectorizes even this, gathering the struct fields with permutes
//   SoA, auto-vectorized   the same body over arrays: GCC vectorizes it with plain vector loads
//   SoA, xsimd             explicit SIMD with xsimd 8 (Debian libxsimd-dev, header only)
//   Embree                 Intel's ray-tracing kernels (Debian libembree-dev), spheres as
//                          RTC_GEOMETRY_TYPE_SPHERE_POINT, rtcIntersect1 per ray: the peer. It
//                          builds a BVH, so it does not test every sphere: its "ns per test" is
//                          its time per ray / N, which falls as N grows
// Checks, before timing: every variant against a double-precision scalar reference, on fresh
// random rays (origins in and around the box, some inside spheres; random directions) and on the
// camera's rays: the same index and t within abs 1e-4 + rel 1e-4, except near ties and grazing
// rays (where float rounding of the discriminant decides), which are counted and reported (see
// judge() in the header).
//
//   dontpanic run sphere-intersection             N = 16 ... 65536
//   dontpanic run sphere-intersection --quick     N = 16 ... 1024
//   --param max-spheres=4096 --param tests=4000000
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#if defined(DP_HAVE_EMBREE)
#include <embree3/rtcore.h>
#endif

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/portability.hpp"
#include "core/sweep.hpp"
#include "labs/m4/sphere_intersection.hpp"

namespace {

namespace sp = dp::spheres;
using sp::Hit;
using sp::Ray;
using sp::Sphere;

// ---------------------------------------------------------------------------------------------
// The scene and the rays
// ---------------------------------------------------------------------------------------------

// N spheres with centers uniform in [-1, 1]^3 and radii in [0.5, 1] x 0.6 / cbrt(N): about the
// same share of the image is covered whatever N.
std::vector<Sphere> random_scene(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> pos(-1.f, 1.f), rad(0.5f, 1.f), colour(0.f, 1.f);
  const float scale = 0.6f / std::cbrt(static_cast<float>(n));
  std::vector<Sphere> s(n);
  for (auto& x : s) x = {pos(rng), pos(rng), pos(rng), rad(rng) * scale, {colour(rng), colour(rng), colour(rng)}, int(rng() % 3)};
  return s;
}

Ray unit_ray(float ox, float oy, float oz, float dx, float dy, float dz) {
  const float len = std::sqrt(dx * dx + dy * dy + dz * dz);
  return {ox, oy, oz, dx / len, dy / len, dz / len};
}

// A pinhole camera at (0, 0, -3.5) looking at the origin, 45-degree field of view, w x h pixels.
std::vector<Ray> camera_rays(int w, int h) {
  std::vector<Ray> rays;
  const float half = std::tan(0.5f * 45.f * 3.14159265f / 180.f);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      rays.push_back(unit_ray(0.f, 0.f, -3.5f, (2.f * (x + 0.5f) / w - 1.f) * half, (1.f - 2.f * (y + 0.5f) / h) * half, 1.f));
  return rays;
}

// Fresh random rays for the check: origins in [-1.5, 1.5]^3 (some inside spheres), any direction.
std::vector<Ray> random_rays(std::size_t count, std::mt19937& rng) {
  std::uniform_real_distribution<float> pos(-1.5f, 1.5f);
  std::normal_distribution<float> dir(0.f, 1.f);  // a normal 3-vector, normalised: uniform on the sphere
  std::vector<Ray> rays(count);
  for (auto& r : rays) r = unit_ray(pos(rng), pos(rng), pos(rng), dir(rng), dir(rng), dir(rng));
  return rays;
}

// ---------------------------------------------------------------------------------------------
// The peer: Embree, over the same spheres
// ---------------------------------------------------------------------------------------------

#if defined(DP_HAVE_EMBREE)
class EmbreeScene {  // owns a device and a committed scene of N sphere points
 public:
  explicit EmbreeScene(std::span<const Sphere> s) {
    device_ = rtcNewDevice("threads=1");  // one thread, as our variants: also for the BVH build
    if (!device_) throw dp::Error(fmt::format("Embree: rtcNewDevice failed (error {})", int(rtcGetDeviceError(nullptr))));
    scene_ = rtcNewScene(device_);
    RTCGeometry g = rtcNewGeometry(device_, RTC_GEOMETRY_TYPE_SPHERE_POINT);
    auto* v = static_cast<float*>(rtcSetNewGeometryBuffer(g, RTC_BUFFER_TYPE_VERTEX, 0, RTC_FORMAT_FLOAT4, 4 * sizeof(float), s.size()));
    for (std::size_t i = 0; i < s.size(); ++i) v[4 * i] = s[i].cx, v[4 * i + 1] = s[i].cy, v[4 * i + 2] = s[i].cz, v[4 * i + 3] = s[i].radius;
    rtcCommitGeometry(g);
    rtcAttachGeometry(scene_, g);
    rtcReleaseGeometry(g);
    rtcCommitScene(scene_);
    if (const RTCError e = rtcGetDeviceError(device_); e != RTC_ERROR_NONE)
      throw dp::Error(fmt::format("Embree: building the scene of {} spheres failed (error {})", s.size(), int(e)));
  }
  ~EmbreeScene() {
    rtcReleaseScene(scene_);
    rtcReleaseDevice(device_);
  }
  EmbreeScene(const EmbreeScene&) = delete;
  EmbreeScene& operator=(const EmbreeScene&) = delete;

  Hit nearest(const Ray& ray) const {
    RTCIntersectContext context;
    rtcInitIntersectContext(&context);
    RTCRayHit rh{};
    rh.ray.org_x = ray.ox, rh.ray.org_y = ray.oy, rh.ray.org_z = ray.oz;
    rh.ray.dir_x = ray.dx, rh.ray.dir_y = ray.dy, rh.ray.dir_z = ray.dz;
    rh.ray.tnear = 0.f, rh.ray.tfar = sp::kInf, rh.ray.mask = ~0u;
    rh.hit.geomID = RTC_INVALID_GEOMETRY_ID;
    rtcIntersect1(scene_, &context, &rh);
    return rh.hit.geomID == RTC_INVALID_GEOMETRY_ID ? Hit{} : Hit{rh.ray.tfar, static_cast<int>(rh.hit.primID)};
  }

 private:
  RTCDevice device_ = nullptr;
  RTCScene scene_ = nullptr;
};
#endif

// ---------------------------------------------------------------------------------------------
// The run: check, then time
// ---------------------------------------------------------------------------------------------

struct Variant {
  std::string name;
  std::function<void(std::span<const Ray>, std::span<Hit>)> trace;  // every ray's nearest hit
};

// Every ray's nearest hit, the kernel called directly (no std::function inside the loop).
template <typename Kernel>
std::function<void(std::span<const Ray>, std::span<Hit>)> tracer(Kernel kernel) {
  return [kernel](std::span<const Ray> rays, std::span<Hit> hits) {
    for (std::size_t r = 0; r < rays.size(); ++r) hits[r] = kernel(rays[r]);
  };
}

struct Tally {
  std::size_t rays = 0, near_ties = 0, grazing = 0, wrong = 0;
  std::string first_wrong;
};

// One variant against the reference on `rays`.
Tally check_variant(const Variant& v, std::span<const Sphere> s, std::span<const Ray> rays, std::span<const sp::RefHit> want) {
  Tally tally;
  std::vector<Hit> got(rays.size());
  v.trace(rays, got);
  for (std::size_t r = 0; r < rays.size(); ++r) {
    ++tally.rays;
    switch (sp::judge(got[r], s, rays[r], want[r])) {
      case sp::Verdict::same: break;
      case sp::Verdict::near_tie: ++tally.near_ties; break;
      case sp::Verdict::grazing: ++tally.grazing; break;
      case sp::Verdict::wrong:
        if (tally.wrong++ < 3)
          tally.first_wrong += fmt::format(" ray {}: got sphere {} at t {:.7g}, want sphere {} at t {:.7g};", r, got[r].index, got[r].t,
                                           want[r].index, want[r].t);
    }
  }
  return tally;
}

std::string isa_name() {
#if defined(__AVX512F__)
  return "AVX-512";
#elif defined(__AVX2__)
  return "AVX2";
#elif defined(__SSE2__)
  return "SSE2";
#else
  return "no x86 SIMD";
#endif
}

void run(dp::LabContext& ctx) {
  const auto max_spheres = static_cast<std::uint64_t>(ctx.params.integer("max-spheres"));
  const double tests_per_step = ctx.params.real("tests");
  const auto check_rays = static_cast<std::size_t>(ctx.params.integer("check-rays"));
  std::mt19937 rng(20261203);

  // Which ISA ran: the build's target (-march=native in release) for GCC's loops and xsimd's.
  std::string isa = fmt::format("{} (GCC's loops)", isa_name());
#if defined(DP_HAVE_XSIMD)
  isa += fmt::format("; xsimd {} with {} floats per batch", sp::xsimd_arch_name(), sp::kXsimdWidth);
#endif
  ctx.result.headlines.push_back({"ISA (this build's target)", isa});
  ctx.result.notes.push_back(fmt::format("Built for {}: the release preset compiles with -march=native; no runtime dispatch.", isa));
#if !defined(DP_HAVE_XSIMD)
  ctx.result.notes.push_back("xsimd was not found when this was built (Debian: apt install libxsimd-dev, then configure again): "
                             "the explicit-SIMD variant is left out.");
#endif
#if defined(DP_HAVE_EMBREE)
  ctx.result.notes.push_back(fmt::format("Peer: Embree {} (one thread, rtcIntersect1 per ray, spheres as RTC_GEOMETRY_TYPE_SPHERE_POINT); "
                                         "it builds a BVH (not timed), so its ns per test is time per ray / N.",
                                         RTC_VERSION_STRING));
#else
  ctx.result.notes.push_back("Embree was not found when this was built (Debian: apt install libembree-dev, then configure again): "
                             "the peer is left out.");
#endif
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times mean nothing here, only the checks do.");

  std::vector<std::uint64_t> sizes;
  for (std::uint64_t n = 16; n <= max_spheres; n *= 4) sizes.push_back(n);
  if (sizes.empty() || sizes.back() != max_spheres) sizes.push_back(max_spheres);
  const int side = 64;  // the camera's image: 64 x 64 = 4096 primary rays
  const std::vector<Ray> camera = camera_rays(side, side);

  std::vector<std::string> names;
  std::size_t checked_rays = 0, near_ties = 0, grazing = 0;
  std::vector<std::string> failures;
  const dp::SweepOptions options{.label = [](std::uint64_t n) { return fmt::format("{} spheres", n); }};
  for (const std::uint64_t n : dp::Sweep(ctx, "spheres", sizes, options)) {
    const std::vector<Sphere> aos = random_scene(n, rng);
    const sp::SpheresSoA soa(aos);
    const std::span<const Sphere> s(aos);
    std::vector<Variant> variants;
    const auto add = [&](std::string name, auto kernel) { variants.push_back({std::move(name), tracer(kernel)}); };
    add("AoS, branchy (scalar)", [s](const Ray& r) { return sp::nearest_aos_branchy(s, r); });
    add("SoA, branchy (scalar)", [&soa](const Ray& r) { return sp::nearest_soa_branchy(soa, r); });
    add("AoS, branch-free (auto-vectorized)", [s](const Ray& r) { return sp::nearest_aos_branchfree(s, r); });
    add("SoA, branch-free (auto-vectorized)", [&soa](const Ray& r) { return sp::nearest_soa_autovec(soa, r); });
#if defined(DP_HAVE_XSIMD)
    add("SoA, xsimd (explicit SIMD)", [&soa](const Ray& r) { return sp::nearest_soa_xsimd(soa, r); });
#endif
#if defined(DP_HAVE_EMBREE)
    const EmbreeScene embree(aos);
    add("Embree rtcIntersect1 (BVH)", [&embree](const Ray& r) { return embree.nearest(r); });
#endif
    if (names.empty())
      for (const auto& v : variants) names.push_back(v.name);

    // Check: fresh random rays and the camera's, against the double reference.
    std::vector<Ray> rays = random_rays(check_rays, rng);
    rays.insert(rays.end(), camera.begin(), camera.end());
    std::vector<sp::RefHit> want(rays.size());
    for (std::size_t r = 0; r < rays.size(); ++r) want[r] = sp::reference_nearest(s, rays[r]);
    std::vector<bool> ok(variants.size());
    for (std::size_t v = 0; v < variants.size(); ++v) {
      const Tally t = check_variant(variants[v], s, rays, want);
      checked_rays += t.rays, near_ties += t.near_ties, grazing += t.grazing;
      ok[v] = t.wrong == 0;
      if (!ok[v]) failures.push_back(fmt::format("{}, N = {}: {} of {} rays wrong:{}", variants[v].name, n, t.wrong, t.rays, t.first_wrong));
    }

    // Time: the camera's rays, over a coarser image for large N (w x w pixels, 64 down to 8), so
    // that one batch is about `tests` tests and its rays still cover the whole scene.
    const int w = std::clamp(static_cast<int>(std::sqrt(tests_per_step / double(n))), 8, side);
    const std::vector<Ray> timed = camera_rays(w, w);
    const std::size_t ray_count = timed.size();
    std::vector<Hit> hits(ray_count);
    for (std::size_t v = 0; v < variants.size(); ++v) {
      if (!ok[v]) continue;
      const dp::Stats st = ctx.measure(fmt::format("{}/{}", variants[v].name, n), [&] {
        variants[v].trace(timed, hits);
        benchmark::DoNotOptimize(hits.data());
        benchmark::ClobberMemory();
      });
      const double tests = double(ray_count) * double(n);
      ctx.result.add_point(variants[v].name, "spheres", double(n), st.per(tests), double(ray_count) / st.median_ns * 1e3, "Mrays/s",
                           "ray-sphere test");
    }
  }

  ctx.result.add_check(
      "every variant's nearest hit matches the double-precision reference", failures.empty(),
      failures.empty()
          ? fmt::format("{} ray results: same sphere and t within abs {:g} + rel {:g}, on random rays (some starting inside spheres) and "
                        "camera rays; accepted: {} near ties (another sphere within the tolerance) and {} grazing rays (near a sphere's "
                        "edge, where float rounding of the discriminant can flip hit and miss or move t further)",
                        checked_rays, sp::kTolAbs, sp::kTolRel, near_ties, grazing)
          : fmt::format("{} variant/size pairs wrong:{}", failures.size(), fmt::join(failures.begin(), failures.begin() + std::min<std::ptrdiff_t>(3, std::ssize(failures)), " |")));

  // Headlines: ns per test and Mrays/s at the largest N measured.
  for (const auto& name : names)
    if (const auto* s = ctx.result.find_series(name); s && !s->points.empty()) {
      const auto& p = s->points.back();
      ctx.result.headlines.push_back({fmt::format("{} at N = {:.0f}", name, p.x),
                                      fmt::format("{:.3g} ns per test (p10 {:.3g}, p90 {:.3g}), {:.3g} Mrays/s", p.median_ns, p.p10_ns,
                                                  p.p90_ns, p.throughput)});
    }
  ctx.result.plots.push_back(dp::PlotSpec{.name = "ns-per-test", .title = "nearest hit by brute force: time per ray-sphere test",
                                          .xlabel = "spheres N", .ylabel = "ns per ray-sphere test (Embree: ns per ray / N)",
                                          .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = names});
  ctx.result.plots.push_back(dp::PlotSpec{.name = "rays", .title = "primary rays of a pinhole camera (64 x 64 to 8 x 8 pixels), nearest hit among N spheres",
                                          .xlabel = "spheres N", .ylabel = "Mrays/s", .y = dp::PlotSpec::Y::throughput, .logx = true,
                                          .logy = true, .variants = names});
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "sphere-intersection",
             .title = "Sphere intersection: AoS, SoA, auto-vectorized and explicit SIMD, against Embree",
             .module = 4,
             .level = 3,
             .tracks = {"cg"},
             .question = "What do data layout, the auto-vectorizer and explicit SIMD each buy per ray-sphere test?",
             .guide_page = "m4/sphere-intersection.md",
             .source = "src/labs/m4/sphere_intersection.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("max-spheres", "the largest scene: N = 16, 64, 256 ... up to this", 65536, 1024, 16, 1 << 20),
               dp::ParamSpec::real("tests", "ray-sphere tests per timed batch (a w x w camera image, w^2 about tests / N, w from 8 to 64)", 4e6, 1e6, 1e4, 1e9),
               dp::ParamSpec::integer("check-rays", "fresh random rays per scene for the check (plus the 4096 camera rays)", 2000, 1000, 1,
                                      1000000)},
    .run = run,
});
