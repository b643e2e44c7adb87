// The graphics-2d lab's software rasterizer (src/labs/m5/raster_2d.hpp): the anti-aliased coverage
// against 16 x 16 samples per pixel, circles across the framebuffer's edges clipped (and drawn the
// same as the visible part of a larger framebuffer's), zero, negative and non-finite radii refused,
// the span fill equal to the scalar fill, and band threads equal to one band, byte for byte.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/thread_team.hpp"
#include "labs/m5/raster_2d.hpp"

namespace {

namespace rs = dp::raster;

TEST(Raster2d, CoverageIsCloseToTheAreaInsideThePixel) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> sub(0.0, 1.0), radius(1.0, 8.0);
  double worst = 0, sum = 0;
  int n = 0;
  for (int c = 0; c < 60; ++c) {
    const float cx = static_cast<float>(20 + sub(rng)), cy = static_cast<float>(20 + sub(rng)), r = static_cast<float>(radius(rng));
    for (int y = 10; y < 31; ++y)
      for (int x = 10; x < 31; ++x) {
        const double ours = rs::coverage(float(x) + 0.5f - cx, float(y) + 0.5f - cy, r);
        const double ref = rs::reference_coverage(x, y, cx, cy, r, 16);
        if (ours == 0 && ref == 0) continue;
        worst = std::max(worst, std::abs(ours - ref));
        sum += std::abs(ours - ref);
        ++n;
      }
  }
  EXPECT_LE(worst, 0.1);
  EXPECT_LE(sum / n, 0.02);
  // Far inside and far outside are exact.
  EXPECT_EQ(rs::coverage(0.5f, 0.5f, 5.0f), 1.0f);
  EXPECT_EQ(rs::coverage(6.0f, 0.0f, 5.0f), 0.0f);
  EXPECT_FLOAT_EQ(rs::coverage(5.0f, 0.0f, 5.0f), 0.5f);  // the centre of the edge: half
}

TEST(Raster2d, RefusesZeroNegativeAndNonFiniteRadii) {
  for (const float bad : {0.0f, -1.0f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    rs::Particles p;
    p.push(10, 10, 3, rs::pack(255, 0, 0, 255));
    p.push(20, 20, bad, rs::pack(0, 255, 0, 255));
    try {
      rs::validate(p);
      ADD_FAILURE() << "radius " << bad << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("particle 1"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("radius"), std::string::npos) << e.what();
    }
  }
  rs::Particles ok;
  ok.push(0, 0, 0.25f, 0);
  EXPECT_NO_THROW(rs::validate(ok));
}

// Circles centred on, and past, every edge and corner: nothing is written outside the framebuffer
// (the vector would be overrun: ASan's job in the debug build), and the visible part equals the
// same region of a framebuffer 16 pixels larger on each side with the circles moved by 16.
TEST(Raster2d, CirclesAtTheEdgesAreClipped) {
  const int w = 40, h = 30, m = 16;
  rs::Particles p, moved;
  for (const float x : {-7.5f, -3.0f, 0.0f, 0.3f, 20.0f, 39.7f, 40.0f, 43.0f, 47.9f})
    for (const float y : {-7.5f, 0.0f, 15.0f, 29.9f, 30.0f, 37.9f}) {
      p.push(x, y, 8.0f, rs::pack(200, 100, 50, 180));
      moved.push(x + m, y + m, 8.0f, rs::pack(200, 100, 50, 180));
    }
  rs::Framebuffer scalar(w, h), spans(w, h), big(w + 2 * m, h + 2 * m);
  for (auto* fb : {&scalar, &spans, &big}) fb->clear(rs::kBackground);
  rs::draw_circles_scalar(scalar, p);
  rs::draw_circles_spans(spans, p);
  rs::draw_circles_scalar(big, moved);
  EXPECT_EQ(scalar.px, spans.px);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < 4; ++k) ASSERT_EQ(scalar.at(x, y)[k], big.at(x + m, y + m)[k]) << "pixel " << x << ", " << y;
  // The corner pixels are covered by the circles centred on the corners.
  EXPECT_NE(scalar.at(0, 0)[0], 0x10);
  EXPECT_NE(scalar.at(w - 1, h - 1)[0], 0x10);
}

TEST(Raster2d, SpansEqualScalarOnRandomParticles) {
  const rs::Particles p = rs::make_particles(3000, 320, 200, 5);
  rs::Framebuffer a(320, 200), b(320, 200);
  a.clear(rs::kBackground);
  b.clear(rs::kBackground);
  rs::draw_circles_scalar(a, p);
  rs::draw_circles_spans(b, p);
  EXPECT_EQ(a.px, b.px);
  // The picture is not the background: the test can fail.
  rs::Framebuffer bg(320, 200);
  bg.clear(rs::kBackground);
  EXPECT_NE(a.px, bg.px);
}

// Bands on real threads (any count, including more bands than rows would divide evenly and more
// threads than CPUs) give the bytes of one band.
TEST(Raster2d, BandThreadsEqualOneThreadExactly) {
  const int w = 256, h = 123;
  const rs::Particles p = rs::make_particles(4000, w, h, 9);
  rs::Framebuffer one(w, h);
  one.clear(rs::kBackground);
  rs::draw_circles_band(one, p, 0, h);
  for (const int bands : {2, 3, 4, 7, 16}) {
    rs::Framebuffer many(w, h);
    many.clear(rs::kBackground);
    dp::run_together(bands, [&](int t) {
      const auto [y0, y1] = rs::band_rows(h, bands, t);
      rs::draw_circles_band(many, p, y0, y1);
    });
    EXPECT_EQ(one.px, many.px) << bands << " bands";
  }
  // Bands cover every row once.
  int rows = 0;
  for (int t = 0; t < 7; ++t) {
    const auto [y0, y1] = rs::band_rows(h, 7, t);
    rows += y1 - y0;
  }
  EXPECT_EQ(rows, h);
}

TEST(Raster2d, PointsBlendOnePixelEach) {
  rs::Particles p;
  p.push(3.7f, 2.2f, 1.0f, rs::pack(255, 0, 0, 255));
  p.push(-0.5f, 1.0f, 1.0f, rs::pack(0, 255, 0, 255));  // outside: ignored
  rs::Framebuffer fb(8, 4);
  fb.clear(rs::kBackground);
  rs::draw_points_scalar(fb, p);
  EXPECT_EQ(fb.at(3, 2)[0], 255);
  EXPECT_EQ(fb.at(3, 2)[1], 0);
  EXPECT_EQ(fb.at(2, 2)[0], 0x10);
}

}  // namespace
