// raster_2d.hpp — the graphics-2d lab's software rasterizer: particles drawn as single pixels and
// as anti-aliased filled circles into an RGBA8 framebuffer, blended "over" in the framebuffer's
// own 8-bit values (sRGB-encoded space, what glBlendFunc does without GL_FRAMEBUFFER_SRGB).
//
// Coverage of a pixel by a circle of radius r: clamp(r + 0.5 - d, 0, 1), d the distance from the
// pixel's centre (x + 0.5, y + 0.5) to the circle's centre: a 1-pixel smooth edge on the signed
// distance r - d. The GL fragment shader of the lab computes the same formula.
//
// Index
//   Particles             SoA: x, y, radius (pixels), colour (RGBA8, straight alpha)
//   Framebuffer           width x height RGBA8, row-major, y down
//   make_particles        seeded particles, radii 1..8, some across the framebuffer's edges
//   validate              zero, negative or non-finite radius: std::invalid_argument that says which
//   coverage              the formula above
//   reference_coverage    the exact-area coverage, estimated by n x n samples in double
//   blend_over            one pixel: dst = src * a + dst * (1 - a), each channel
//   draw_points_scalar    one pixel per particle
//   draw_circles_scalar   every pixel of each circle's bounding box: coverage, then blend
//   draw_circles_band     rows [y0, y1) only, span by span: the fast version, and one band of the
//                         threaded one (bands never share a pixel, and each band keeps the
//                         particles' order, so any split gives the same bytes as one band)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace dp::raster {

struct Particles {
  std::vector<float> x, y, r;
  std::vector<std::uint32_t> rgba;  // R in the low byte (memory order R, G, B, A)
  std::size_t size() const { return x.size(); }
  void push(float px, float py, float pr, std::uint32_t c) {
    x.push_back(px);
    y.push_back(py);
    r.push_back(pr);
    rgba.push_back(c);
  }
};

struct Framebuffer {
  int width = 0, height = 0;
  std::vector<std::uint8_t> px;  // 4 bytes per pixel
  Framebuffer(int w, int h) : width(w), height(h), px(static_cast<std::size_t>(w) * h * 4) {}
  std::uint8_t* at(int x, int y) { return px.data() + (static_cast<std::size_t>(y) * width + x) * 4; }
  void clear(std::uint32_t rgba) {
    std::uint32_t* p = reinterpret_cast<std::uint32_t*>(px.data());
    std::fill(p, p + static_cast<std::size_t>(width) * height, rgba);
  }
};

inline constexpr std::uint32_t kBackground = 0xff201810u;  // opaque dark blue-grey (R 0x10, G 0x18, B 0x20)

inline std::uint32_t pack(int r, int g, int b, int a) {
  return static_cast<std::uint32_t>(r) | static_cast<std::uint32_t>(g) << 8 | static_cast<std::uint32_t>(b) << 16 |
         static_cast<std::uint32_t>(a) << 24;
}

// n particles from `seed`: centres spread 8 pixels past every edge (so some circles are clipped),
// radii uniform in [1, 8], colours random with alpha in [0.5, 1].
inline Particles make_particles(std::size_t n, int width, int height, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> ux(-8.0f, static_cast<float>(width) + 8.0f), uy(-8.0f, static_cast<float>(height) + 8.0f),
      ur(1.0f, 8.0f);
  std::uniform_int_distribution<int> byte(0, 255), alpha(128, 255);
  Particles p;
  p.x.reserve(n);
  p.y.reserve(n);
  p.r.reserve(n);
  p.rgba.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const float x = ux(rng), y = uy(rng), r = ur(rng);
    p.push(x, y, r, pack(byte(rng), byte(rng), byte(rng), alpha(rng)));
  }
  return p;
}

// A radius must be a positive, finite number of pixels: a circle of radius 0 draws nothing and one
// of negative radius has no meaning, so both are refused rather than drawn as nothing.
inline void validate(const Particles& p) {
  if (p.y.size() != p.size() || p.r.size() != p.size() || p.rgba.size() != p.size())
    throw std::invalid_argument(fmt::format("particles: x, y, r and rgba must have one entry each per particle (sizes {}, {}, {}, {})",
                                            p.x.size(), p.y.size(), p.r.size(), p.rgba.size()));
  for (std::size_t i = 0; i < p.size(); ++i)
    if (!(p.r[i] > 0.0f) || !std::isfinite(p.r[i]) || !std::isfinite(p.x[i]) || !std::isfinite(p.y[i]))
      throw std::invalid_argument(fmt::format("particle {}: radius {} at ({}, {}); a circle needs a finite radius > 0 pixels and a "
                                              "finite centre",
                                              i, p.r[i], p.x[i], p.y[i]));
}

inline float coverage(float dx, float dy, float r) { return std::clamp(r + 0.5f - std::sqrt(dx * dx + dy * dy), 0.0f, 1.0f); }

// The fraction of pixel (px, py) (the unit square from its corner) inside the circle, from n x n
// samples at the centres of an n x n grid, in double.
inline double reference_coverage(int px, int py, double cx, double cy, double r, int n) {
  int inside = 0;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n; ++i) {
      const double sx = px + (i + 0.5) / n - cx, sy = py + (j + 0.5) / n - cy;
      inside += sx * sx + sy * sy <= r * r;
    }
  return static_cast<double>(inside) / (static_cast<double>(n) * n);
}

// Blends colour `c` with coverage `cov` over one pixel; the result is rounded to the nearest byte.
inline void blend_over(std::uint8_t* dst, std::uint32_t c, float cov) {
  const float a = static_cast<float>(c >> 24) * (1.0f / 255.0f) * cov;
  const float keep = 1.0f - a;
  for (int k = 0; k < 3; ++k) {
    const float s = static_cast<float>((c >> (8 * k)) & 0xffu);
    dst[k] = static_cast<std::uint8_t>(s * a + static_cast<float>(dst[k]) * keep + 0.5f);
  }
  dst[3] = static_cast<std::uint8_t>(255.0f * a + static_cast<float>(dst[3]) * keep + 0.5f);
}

// One pixel per particle: the pixel that holds its centre, with the particle's alpha.
inline void draw_points_scalar(Framebuffer& fb, const Particles& p) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    const int x = static_cast<int>(std::floor(p.x[i])), y = static_cast<int>(std::floor(p.y[i]));
    if (x < 0 || y < 0 || x >= fb.width || y >= fb.height) continue;
    blend_over(fb.at(x, y), p.rgba[i], 1.0f);
  }
}

// The plain way: every pixel of the (clipped) bounding box, coverage, blend where it is not 0.
inline void draw_circles_scalar(Framebuffer& fb, const Particles& p) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    const float cx = p.x[i], cy = p.y[i], r = p.r[i];
    const int x0 = std::max(0, static_cast<int>(std::floor(cx - r - 0.5f)));
    const int x1 = std::min(fb.width - 1, static_cast<int>(std::floor(cx + r + 0.5f)));
    const int y0 = std::max(0, static_cast<int>(std::floor(cy - r - 0.5f)));
    const int y1 = std::min(fb.height - 1, static_cast<int>(std::floor(cy + r + 0.5f)));
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x) {
        const float cov = coverage(static_cast<float>(x) + 0.5f - cx, static_cast<float>(y) + 0.5f - cy, r);
        if (cov > 0.0f) blend_over(fb.at(x, y), p.rgba[i], cov);
      }
  }
}

// Rows [y0, y1) only. For each row a circle crosses, the span of pixels whose coverage can be
// non-zero comes from the circle's equation (|dx| < sqrt((r + 0.5)^2 - dy^2)), and inside it the
// span of fully covered pixels (d <= r - 0.5, coverage exactly 1) skips the square root. Coverage
// and blend are the same expressions as draw_circles_scalar's, so the bytes are the same; the
// spans are widened by a pixel on each side, and the coverage test still decides each pixel.
inline void draw_circles_band(Framebuffer& fb, const Particles& p, int band_y0, int band_y1) {
  const float* xs = p.x.data();
  const float* ys = p.y.data();
  const float* rs = p.r.data();
  const std::uint32_t* cs = p.rgba.data();
  const std::size_t n = p.size();
  for (std::size_t i = 0; i < n; ++i) {
    const float cx = xs[i], cy = ys[i], r = rs[i];
    const float outer = r + 0.5f;
    const int y0 = std::max(band_y0, static_cast<int>(std::floor(cy - outer)));
    const int y1 = std::min(band_y1 - 1, static_cast<int>(std::floor(cy + outer)));
    if (y0 > y1) continue;
    // Fully covered pixels: d <= r - 0.5 gives coverage 1; a hundredth of a pixel less, so that
    // draw_circles_scalar's formula, with its roundings, also clamps to exactly 1 there.
    const float inner = r - 0.51f;
    for (int y = y0; y <= y1; ++y) {
      const float dy = static_cast<float>(y) + 0.5f - cy;
      const float h2 = outer * outer - dy * dy;
      if (h2 <= 0.0f) continue;
      const float h = std::sqrt(h2);
      const int x0 = std::max(0, static_cast<int>(std::floor(cx - h - 0.5f)) - 1);
      const int x1 = std::min(fb.width - 1, static_cast<int>(std::floor(cx + h - 0.5f)) + 1);
      if (x0 > x1) continue;
      // The inner span is shrunk by a pixel on each side and each of its pixels is still tested, so
      // rounding can never put a partly covered pixel inside it.
      int i0 = x1 + 1, i1 = x1;  // empty unless the row crosses the inner disc
      const float k2 = inner * inner - dy * dy;
      if (inner > 0.0f && k2 > 0.0f) {
        const float k = std::sqrt(k2);
        i0 = std::max(x0, static_cast<int>(std::ceil(cx - k - 0.5f)) + 1);
        i1 = std::min(x1, static_cast<int>(std::floor(cx + k - 0.5f)) - 1);
        if (i0 > i1) i0 = x1 + 1, i1 = x1;
      }
      std::uint8_t* row = fb.at(0, y);
      const std::uint32_t c = cs[i];
      const auto edge = [&](int x) {
        const float cov = coverage(static_cast<float>(x) + 0.5f - cx, dy, r);
        if (cov > 0.0f) blend_over(row + static_cast<std::size_t>(x) * 4, c, cov);
      };
      for (int x = x0; x < std::min(i0, x1 + 1); ++x) edge(x);
      for (int x = i0; x <= i1; ++x) {
        const float dx = static_cast<float>(x) + 0.5f - cx;
        if (dx * dx + dy * dy <= inner * inner)
          blend_over(row + static_cast<std::size_t>(x) * 4, c, 1.0f);
        else
          edge(x);
      }
      for (int x = std::max(i1 + 1, x0); x <= x1; ++x) edge(x);
    }
  }
}

inline void draw_circles_spans(Framebuffer& fb, const Particles& p) { draw_circles_band(fb, p, 0, fb.height); }

// Band t of `bands`: rows [t * H / bands, (t + 1) * H / bands).
inline std::pair<int, int> band_rows(int height, int bands, int t) {
  return {static_cast<int>(static_cast<long long>(height) * t / bands), static_cast<int>(static_cast<long long>(height) * (t + 1) / bands)};
}

}  // namespace dp::raster
