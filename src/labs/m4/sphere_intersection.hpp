// sphere_intersection.hpp — the sphere-intersection lab's kernels: the nearest hit of a ray among
// N spheres, by brute force, in several data layouts. The lab (sphere_intersection.cpp) times
// them; tests/labs/sphere_intersection_test.cpp checks them against the double reference.
//
// Index
//   Sphere, Ray, Hit        an AoS sphere {center, radius, material}, a ray (unit direction), a hit
//   SpheresSoA              the same spheres as arrays cx, cy, cz, r2, padded with spheres that
//                           never hit to a multiple of kSoaPadding
//   nearest_aos_branchy     the textbook loop on AoS: early out on a miss, if/else: stays scalar
//   nearest_soa_branchy     the same branchy loop over the SoA arrays (layout alone, still scalar)
//   nearest_aos_branchfree  the branch-free body on AoS: GCC vectorizes it too, with strided loads
//   nearest_soa_autovec     the branch-free body on SoA: GCC vectorizes it with plain vector loads
//   nearest_soa_xsimd       explicit SIMD with xsimd 8 (DP_HAVE_XSIMD), one lane per sphere
//   RefHit, reference_nearest  the double-precision reference (ties: the smallest index)
//   judge                   does a float hit agree with the reference? (exact, near tie, grazing)
//
// The hit test, for a ray o + t d (|d| = 1) and a sphere (c, r): with p = o - c,
//   b = p.d, disc = b^2 - (p.p - r^2); a miss when disc < 0; else t = -b -+ sqrt(disc), the
//   nearer root if it is > 0, else the farther one (the ray starts inside the sphere); t <= 0 on
//   both: the sphere is behind. Equal t on two spheres: the smaller index wins everywhere.
//
// Why the branch-free loops are written as they are (GCC 12, checked with -fopt-info-vec):
//   - std::sqrt sets errno on a negative argument, so GCC emits a test and a call to sqrtf: control
//     flow, no vectorization. The lab file is compiled with -fno-math-errno (src/labs/CMakeLists.txt).
//   - `a && b` on floats is control flow too (the second comparison may trap on a NaN, so it must
//     not run when the first is false); separate selects (?:) if-convert.
//   - GCC vectorizes a min reduction of integers but not an argmin (the best t *and* its index).
//     A positive float's bits order like the float, so (bits(t) << 32 | index) is one uint64 key:
//     its minimum is the nearest t, the smallest index on a tie. A float min needs
//     -ffinite-math-only, which the lab does not want.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#if defined(DP_HAVE_XSIMD)
#include <xsimd/xsimd.hpp>
#endif

namespace dp::spheres {

inline constexpr float kInf = std::numeric_limits<float>::infinity();

struct Sphere {          // 32 bytes: what a renderer keeps per sphere; the hit test reads 16 of them
  float cx, cy, cz;      // center
  float radius;
  float albedo[3];       // the material's colour (unused here: it is the other half of the line)
  int material;          // 0 diffuse, 1 metal, ... (unused here)
};
static_assert(sizeof(Sphere) == 32);

struct Ray {
  float ox, oy, oz;      // origin
  float dx, dy, dz;      // direction, unit length
};

struct Hit {
  float t = kInf;        // distance along the ray; +inf on a miss
  int index = -1;        // the sphere's index; -1 on a miss
};

// Spheres as arrays. The pad spheres (index >= n) have r2 = -inf: disc = -inf, never a hit.
inline constexpr std::size_t kSoaPadding = 64;  // a multiple of every SIMD width (16 floats in AVX-512)
struct SpheresSoA {
  std::vector<float> cx, cy, cz, r2;  // r2 = radius^2, computed once
  std::size_t n = 0;                  // real spheres; cx.size() is n rounded up to kSoaPadding

  explicit SpheresSoA(std::span<const Sphere> s) : n(s.size()) {
    const std::size_t padded = (n + kSoaPadding - 1) / kSoaPadding * kSoaPadding;
    cx.assign(padded, 0.f), cy.assign(padded, 0.f), cz.assign(padded, 0.f), r2.assign(padded, -kInf);
    for (std::size_t i = 0; i < n; ++i)
      cx[i] = s[i].cx, cy[i] = s[i].cy, cz[i] = s[i].cz, r2[i] = s[i].radius * s[i].radius;
  }
};

// ---------------------------------------------------------------------------------------------
// Scalar, with branches: the loop as a textbook writes it
// ---------------------------------------------------------------------------------------------

// The hit distance for one sphere, or +inf; the branches follow the maths.
inline float hit_branchy(float px, float py, float pz, float r2, const Ray& ray) {
  const float b = px * ray.dx + py * ray.dy + pz * ray.dz;
  const float disc = b * b - (px * px + py * py + pz * pz - r2);
  if (disc < 0) return kInf;  // the line misses the sphere
  const float q = std::sqrt(disc);
  if (-b - q > 0) return -b - q;  // the near side
  if (-b + q > 0) return -b + q;  // inside: the far side
  return kInf;                    // behind the origin
}

inline Hit nearest_aos_branchy(std::span<const Sphere> s, const Ray& ray) {
  Hit best;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const float t = hit_branchy(ray.ox - s[i].cx, ray.oy - s[i].cy, ray.oz - s[i].cz, s[i].radius * s[i].radius, ray);
    if (t < best.t) best = {t, static_cast<int>(i)};
  }
  return best;
}

inline Hit nearest_soa_branchy(const SpheresSoA& s, const Ray& ray) {
  Hit best;
  for (std::size_t i = 0; i < s.n; ++i) {
    const float t = hit_branchy(ray.ox - s.cx[i], ray.oy - s.cy[i], ray.oz - s.cz[i], s.r2[i], ray);
    if (t < best.t) best = {t, static_cast<int>(i)};
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Branch-free: the same maths as selects, and the argmin as a min of uint64 keys
// ---------------------------------------------------------------------------------------------

inline float hit_branchfree(float px, float py, float pz, float r2, const Ray& ray) {
  const float b = px * ray.dx + py * ray.dy + pz * ray.dz;
  const float disc = b * b - (px * px + py * py + pz * pz - r2);
  const float q = std::sqrt(std::max(disc, 0.f));  // sqrt(0) on a miss: computed, then dropped
  const float t_near = -b - q, t_far = -b + q;
  const float t = t_near > 0 ? t_near : t_far;
  const float t_hit = disc < 0 ? kInf : t;
  return t_hit > 0 ? t_hit : kInf;
}

inline std::uint64_t hit_key(float t, std::size_t i) {  // t >= 0 or +inf: its bits order like it
  return std::uint64_t{std::bit_cast<std::uint32_t>(t)} << 32 | static_cast<std::uint32_t>(i);
}
inline Hit from_key(std::uint64_t key) {
  const float t = std::bit_cast<float>(static_cast<std::uint32_t>(key >> 32));
  return t == kInf ? Hit{} : Hit{t, static_cast<int>(key & 0xffffffffu)};
}

inline Hit nearest_aos_branchfree(std::span<const Sphere> s, const Ray& ray) {
  std::uint64_t best = ~std::uint64_t{0};
  for (std::size_t i = 0; i < s.size(); ++i) {
    const float t = hit_branchfree(ray.ox - s[i].cx, ray.oy - s[i].cy, ray.oz - s[i].cz, s[i].radius * s[i].radius, ray);
    const std::uint64_t key = hit_key(t, i);
    best = key < best ? key : best;
  }
  return from_key(best);
}

inline Hit nearest_soa_autovec(const SpheresSoA& s, const Ray& ray) {
  const float* __restrict cx = s.cx.data();  // restrict: the four arrays never overlap
  const float* __restrict cy = s.cy.data();
  const float* __restrict cz = s.cz.data();
  const float* __restrict r2 = s.r2.data();
  std::uint64_t best = ~std::uint64_t{0};
  for (std::size_t i = 0; i < s.n; ++i) {
    const float t = hit_branchfree(ray.ox - cx[i], ray.oy - cy[i], ray.oz - cz[i], r2[i], ray);
    const std::uint64_t key = hit_key(t, i);
    best = key < best ? key : best;
  }
  return from_key(best);
}

// ---------------------------------------------------------------------------------------------
// Explicit SIMD with xsimd: one sphere per lane, a best t and a best index per lane
// ---------------------------------------------------------------------------------------------

#if defined(DP_HAVE_XSIMD)
// GCC 12 warns that AVX-512 intrinsics' `_mm512_undefined_ps()` "may be used uninitialized" once
// they are inlined here (a known false positive of GCC's own header): silenced for this function.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
using FloatBatch = xsimd::batch<float>;   // the widest the build targets: 16 floats with AVX-512
using IntBatch = xsimd::batch<std::int32_t>;
inline std::string xsimd_arch_name() { return xsimd::default_arch::name(); }
inline constexpr std::size_t kXsimdWidth = FloatBatch::size;

inline Hit nearest_soa_xsimd(const SpheresSoA& s, const Ray& ray) {
  constexpr std::size_t W = FloatBatch::size;
  alignas(64) std::int32_t lane[W];
  for (std::size_t l = 0; l < W; ++l) lane[l] = static_cast<std::int32_t>(l);
  const FloatBatch ox(ray.ox), oy(ray.oy), oz(ray.oz), dx(ray.dx), dy(ray.dy), dz(ray.dz);
  const FloatBatch zero(0.f), inf(kInf);
  FloatBatch best_t = inf;
  IntBatch best_i(-1), index = IntBatch::load_aligned(lane);
  const IntBatch step(static_cast<std::int32_t>(W));
  for (std::size_t i = 0; i < s.n; i += W, index += step) {  // the padding makes every batch whole
    const FloatBatch px = ox - FloatBatch::load_unaligned(&s.cx[i]);
    const FloatBatch py = oy - FloatBatch::load_unaligned(&s.cy[i]);
    const FloatBatch pz = oz - FloatBatch::load_unaligned(&s.cz[i]);
    const FloatBatch b = xsimd::fma(px, dx, xsimd::fma(py, dy, pz * dz));
    const FloatBatch c = xsimd::fma(px, px, xsimd::fma(py, py, pz * pz)) - FloatBatch::load_unaligned(&s.r2[i]);
    const FloatBatch disc = xsimd::fms(b, b, c);
    const FloatBatch q = xsimd::sqrt(xsimd::max(disc, zero));
    const FloatBatch t_near = -b - q, t_far = q - b;
    FloatBatch t = xsimd::select(t_near > zero, t_near, t_far);
    t = xsimd::select((disc >= zero) & (t > zero), t, inf);
    const auto better = t < best_t;  // strict: an equal t later in a lane keeps the earlier index
    best_t = xsimd::select(better, t, best_t);
    best_i = xsimd::select(xsimd::bool_cast(better), index, best_i);
  }
  alignas(64) float ts[W];
  alignas(64) std::int32_t is[W];
  best_t.store_aligned(ts);
  best_i.store_aligned(is);
  Hit best;  // across lanes: the smallest t, then the smallest index
  for (std::size_t l = 0; l < W; ++l)
    if (is[l] >= 0 && (ts[l] < best.t || (ts[l] == best.t && is[l] < best.index))) best = {ts[l], is[l]};
  return best;
}
#pragma GCC diagnostic pop
#endif

// ---------------------------------------------------------------------------------------------
// The reference, in double precision, and the judge
// ---------------------------------------------------------------------------------------------

struct RefHit {
  double t = std::numeric_limits<double>::infinity();
  int index = -1;
};

struct RefTest {     // one sphere against one ray, in double
  double t;          // the hit, or +inf
  double disc;       // b^2 - (p.p - r^2)
  double disc_err;   // how far float rounding can move disc: 16 float epsilons of its terms
  double tangent_t;  // -b: where the ray passes closest to the center
  // How far float rounding of disc can move t = -b -+ sqrt(disc): sqrt is steep near 0, so a
  // ray near the sphere's edge has an ill-conditioned t (about 5e-4 on a camera ray at t = 4).
  double t_slack() const {
    return std::sqrt(std::max(disc, 0.) + disc_err) - std::sqrt(std::max(disc - disc_err, 0.));
  }
  bool grazing() const { return std::abs(disc) <= disc_err; }  // rounding can flip hit and miss
};
inline RefTest reference_test(const Sphere& s, const Ray& ray) {
  const double px = double(ray.ox) - s.cx, py = double(ray.oy) - s.cy, pz = double(ray.oz) - s.cz;
  const double b = px * ray.dx + py * ray.dy + pz * ray.dz;
  const double pp = px * px + py * py + pz * pz, rr = double(s.radius) * s.radius;
  const double disc = b * b - (pp - rr);
  double t = std::numeric_limits<double>::infinity();
  if (disc >= 0) {
    const double q = std::sqrt(disc);
    if (-b - q > 0) t = -b - q;
    else if (-b + q > 0) t = -b + q;
  }
  constexpr double kFloatEps = 1.0 / (1 << 24);
  return {t, disc, 16 * kFloatEps * (pp + rr + b * b), -b};
}

inline RefHit reference_nearest(std::span<const Sphere> s, const Ray& ray) {
  RefHit best;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (const double t = reference_test(s[i], ray).t; t < best.t) best = {t, static_cast<int>(i)};
  return best;
}

// How a float result compares with the reference: the same sphere, t within abs 1e-4 + rel 1e-4.
// Float and double may honestly disagree in two cases, which the judge accepts and names (the
// lab counts them):
//   near tie: another sphere's double t is within the tolerance of the nearest one's
//   grazing:  the ray passes so near a sphere's edge that float rounding of disc (RefTest::
//             disc_err) can flip hit and miss, or moves t by more than the tolerance (t_slack)
enum class Verdict { same, near_tie, grazing, wrong };
inline constexpr double kTolAbs = 1e-4, kTolRel = 1e-4;  // |t - t_ref| <= abs + rel * t_ref
inline double t_tolerance(double t) { return kTolAbs + kTolRel * std::abs(t); }

inline Verdict judge(const Hit& got, std::span<const Sphere> s, const Ray& ray, const RefHit& want) {
  if (got.index >= static_cast<int>(s.size()) || got.index < -1) return Verdict::wrong;
  const auto test = [&](int i) { return reference_test(s[static_cast<std::size_t>(i)], ray); };
  if (got.index == want.index) {
    if (got.index < 0 || std::abs(got.t - want.t) <= t_tolerance(want.t)) return Verdict::same;
    return std::abs(got.t - want.t) <= t_tolerance(want.t) + test(got.index).t_slack() ? Verdict::grazing : Verdict::wrong;
  }
  const double slack_want = want.index >= 0 ? test(want.index).t_slack() : 0;
  if (got.index >= 0) {  // float names another sphere
    const RefTest g = test(got.index);
    const double slack = g.t_slack() + slack_want;
    if (std::isfinite(g.t) && std::abs(g.t - want.t) <= t_tolerance(want.t) && std::abs(got.t - g.t) <= t_tolerance(g.t))
      return Verdict::near_tie;
    // a grazing sphere that double misses (or hits later), or a near tie within rounding
    const double g_t = std::isfinite(g.t) ? g.t : g.tangent_t;
    if ((g.grazing() || std::isfinite(g.t)) && std::abs(got.t - g_t) <= t_tolerance(g_t) + g.t_slack() &&
        got.t <= want.t + t_tolerance(want.t) + slack && (g.grazing() || std::abs(g.t - want.t) <= t_tolerance(want.t) + slack))
      return Verdict::grazing;
  }
  if (want.index >= 0 && test(want.index).grazing()) {  // float missed a sphere the ray grazes
    if (got.index < 0) return Verdict::grazing;
    const RefTest g = test(got.index);
    if (std::isfinite(g.t) && g.t >= want.t && std::abs(got.t - g.t) <= t_tolerance(g.t) + g.t_slack()) return Verdict::grazing;
  }
  return Verdict::wrong;
}

}  // namespace dp::spheres
