// The features lab's kernels (src/labs/m4/features.hpp): the Harris response of the scalar and the
// fused SIMD rows (whole image and bands) against the double-precision reference on random images
// of odd sizes; a synthetic checkerboard whose corners are known; the pyramid step against its
// reference; and clear errors for input the kernels cannot take.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/error.hpp"
#include "labs/m4/features.hpp"

namespace {

using dp::image::Image;
namespace ft = dp::features;

Image<float> random_image(int w, int h, std::mt19937& rng) {
  Image<float> img(w, h, 1);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (auto& v : img.data) v = u(rng);
  return img;
}

void expect_close(const Image<float>& got, const std::vector<double>& want, const std::string& what) {
  double top = 0;
  for (const double v : want) top = std::max(top, std::abs(v));
  std::size_t bad = 0;
  for (std::size_t i = 0; i < want.size(); ++i) bad += !(std::abs(got.data[i] - want[i]) <= 1e-5 * top + 1e-4 * std::abs(want[i]));
  EXPECT_EQ(bad, 0u) << what << " (max |R| " << top << ")";
}

TEST(Features, HarrisMatchesReferenceOnOddSizes) {
  std::mt19937 rng(7);
  for (const auto& [w, h] : {std::pair{1, 1}, {2, 3}, {7, 5}, {17, 1}, {1, 19}, {33, 17}, {61, 40}})
    for (const int block : {1, 3, 5}) {
      const auto img = random_image(w, h, rng);
      const auto want = ft::harris_reference(img, block, 0.04);
      Image<float> out(w, h, 1), gx(w, h, 1), gy(w, h, 1);
      ft::harris_scalar(img, out, block, 0.04f, gx, gy);
      expect_close(out, want, fmt::format("scalar {}x{} B={}", w, h, block));
      ft::HarrisRows rows(w, block);
      std::fill(out.data.begin(), out.data.end(), -1.0f);
      rows.run(img, out, 0, h, 0.04f);
      expect_close(out, want, fmt::format("SIMD {}x{} B={}", w, h, block));
      // Three bands, each with its own rows object, in an order that is not top to bottom.
      std::fill(out.data.begin(), out.data.end(), -1.0f);
      for (const int t : {2, 0, 1}) {
        ft::HarrisRows band(w, block);
        band.run(img, out, h * t / 3, h * (t + 1) / 3, 0.04f);
      }
      expect_close(out, want, fmt::format("SIMD in bands {}x{} B={}", w, h, block));
      // Reused on a different image of the same width: nothing stale from the first.
      const auto other = random_image(w, h, rng);
      rows.run(other, out, 0, h, 0.04f);
      expect_close(out, ft::harris_reference(other, block, 0.04), fmt::format("SIMD reused {}x{} B={}", w, h, block));
    }
}

// Squares of 8 pixels on a grey ramp-free board: the inner grid points (multiples of 8) are the
// corners. Harris with a 3 x 3 block on a sharp step puts its peak on one of the 2 x 2 pixels
// around the grid point, so the check allows 1 pixel.
TEST(Features, CheckerboardCornersAreFound) {
  const int cell = 8, cells_x = 6, cells_y = 5, w = cell * cells_x + 3, h = cell * cells_y;  // odd width
  Image<float> board(w, h, 1);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) board.row(y)[x] = ((x / cell + y / cell) % 2) ? 1.0f : 0.0f;
  Image<float> out(w, h, 1);
  ft::HarrisRows rows(w, 3);
  rows.run(board, out, 0, h, 0.04f);
  const auto found = ft::detect(std::span<const float>(out.data), w, h, 0.1, 1000);
  std::vector<ft::Corner> want;
  for (int gy = 1; gy < cells_y; ++gy)
    for (int gx = 1; gx <= cells_x; ++gx)
      if (gx * cell < w - 1) want.push_back({gx * cell, gy * cell, 0});
  ASSERT_FALSE(want.empty());
  // Every known corner is found (a detected pixel within 1 of the grid point, either side)...
  EXPECT_EQ(ft::matched(want, found, 1), want.size()) << found.size() << " corners found";
  // ... and nothing else: each detection lies next to a grid point.
  EXPECT_EQ(ft::matched(found, want, 1), found.size());
  EXPECT_EQ(found.size(), want.size()) << "one detection per grid point (NMS)";
}

TEST(Features, DetectSuppressesPlateausAndKeepsTopN) {
  std::vector<float> r(5 * 4, 0.0f);
  r[1 * 5 + 1] = r[1 * 5 + 2] = 3.0f;  // a plateau of two equal maxima: one corner
  r[3 * 5 + 4] = 1.0f;
  auto c = ft::detect(std::span<const float>(r), 5, 4, 0.01, 10);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].x, 1);
  EXPECT_EQ(c[0].y, 1);
  EXPECT_EQ(c[1].x, 4);
  c = ft::detect(std::span<const float>(r), 5, 4, 0.5, 10);  // 1.0 is below half of 3.0
  EXPECT_EQ(c.size(), 1u);
  c = ft::detect(std::span<const float>(r), 5, 4, 0.01, 1);
  EXPECT_EQ(c.size(), 1u);
  EXPECT_TRUE(ft::detect(std::span<const float>(std::vector<float>(6, 0.0f)), 3, 2, 0.01, 10).empty()) << "flat: no corners";
}

TEST(Features, PyramidStepMatchesReference) {
  std::mt19937 rng(11);
  std::vector<float> buf;
  for (const auto& [w, h] : {std::pair{1, 1}, {2, 2}, {5, 3}, {64, 33}, {101, 7}}) {
    const auto img = random_image(w, h, rng);
    Image<float> out = ft::half_size(img);
    EXPECT_EQ(out.width, (w + 1) / 2);
    EXPECT_EQ(out.height, (h + 1) / 2);
    ft::pyr_down(img, out, buf);
    const auto want = ft::pyramid_reference(img);
    for (std::size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(out.data[i], want[i], 1e-6) << w << "x" << h << " at " << i;
  }
}

TEST(Features, BadInputGivesClearErrors) {
  Image<float> rgb(4, 4, 3), ok(4, 4, 1), out(4, 4, 1);
  const auto message = [](auto&& f) {
    try {
      f();
    } catch (const dp::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { ft::harris_reference(rgb, 3, 0.04); }).find("grey"), std::string::npos);
  EXPECT_NE(message([&] { ft::harris_reference(ok, 4, 0.04); }).find("odd"), std::string::npos);
  EXPECT_NE(message([&] { ft::HarrisRows(4, 0); }).find("odd"), std::string::npos);
  EXPECT_NE(message([&] { ft::HarrisRows(0, 3); }).find("width"), std::string::npos);
  EXPECT_NE(message([&] { ft::HarrisRows rows(5, 3); rows.run(ok, out, 0, 4, 0.04f); }).find("width"), std::string::npos);
  EXPECT_NE(message([&] { ft::harris_reference(Image<float>(0, 3, 1), 3, 0.04); }).find("at least one pixel"), std::string::npos);
  std::vector<float> buf;
  EXPECT_NE(message([&] { ft::pyr_down(ok, out, buf); }).find("2 x 2"), std::string::npos);
  const std::vector<float> r(6, 1.0f);
  EXPECT_NE(message([&] { ft::detect(std::span<const float>(r), 4, 2, 0.01, 5); }).find("6"), std::string::npos);
  EXPECT_NE(message([&] { ft::detect(std::span<const float>(r), 3, 2, 1.5, 5); }).find("(0, 1)"), std::string::npos);
}

}  // namespace
