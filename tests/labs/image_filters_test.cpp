// The image-filters lab's kernels (src/labs/m4/image_filters.hpp) against the double-precision
// direct correlation, on the shapes a photograph rarely tests: images narrower or shorter than
// the kernel (every tap clamped), 1 x 1, odd widths that leave a SIMD tail, three channels,
// u8 rounding; and the photograph loader's error when a file is missing.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "core/check.hpp"
#include "core/error.hpp"
#include "labs/m4/image_filters.hpp"
#include "labs/m4/image_io.hpp"

namespace {

using dp::image::Image;
namespace f = dp::filters;

template <class T>
Image<T> random_image(int w, int h, int c, std::mt19937& rng) {
  Image<T> img(w, h, c);
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& v : img.data) v = std::is_same_v<T, float> ? static_cast<T>(byte(rng) / 255.0f) : static_cast<T>(byte(rng));
  return img;
}

template <class T>
void expect_close(const Image<T>& got, const std::vector<double>& want, const std::string& what) {
  const dp::Tolerance tol = std::is_same_v<T, float> ? dp::Tolerance{2e-5, 1e-5} : dp::Tolerance{1.0, 0};
  const auto r = dp::compare(std::span<const T>(got.data), std::span<const double>(want), tol);
  EXPECT_TRUE(r.passed) << what << ": " << r.detail;
}

struct Shape {
  int w, h, c;
};
const std::vector<Shape> kShapes = {{1, 1, 1}, {2, 7, 1}, {37, 5, 1}, {16, 16, 1}, {53, 21, 3}, {4, 3, 3}};

template <class T>
void gaussian_variants_match_reference() {
  std::mt19937 rng(7);
  for (const auto& s : kShapes)
    for (const int k : {1, 3, 5, 7, 15}) {
      const auto in = random_image<T>(s.w, s.h, s.c, rng);
      const auto w = f::gaussian_weights(k, f::gaussian_sigma(k));
      const auto want = f::reference(in, f::outer(w, w), k);
      const auto w1 = f::cast<float>(w), w2 = f::cast<float>(f::outer(w, w));
      const std::string what = fmt::format("{}x{}x{} K={}", s.w, s.h, s.c, k);
      Image<T> out(s.w, s.h, s.c);
      Image<float> tmp(s.w, s.h, s.c);
      f::filter_naive(in, out, w2, k);
      expect_close(out, want, "naive " + what);
      f::separable_two_pass(in, out, w1, tmp);
      expect_close(out, want, "two-pass " + what);
      auto buf = f::row_buffer_for(in, k);
      out = Image<T>(s.w, s.h, s.c);
      f::separable_simd(in, out, w1, 0, s.h / 2, buf);  // two bands, as two threads would do them
      f::separable_simd(in, out, w1, s.h / 2, s.h, buf);
      expect_close(out, want, "SIMD " + what);
    }
}

TEST(ImageFilters, GaussianFloatMatchesReference) { gaussian_variants_match_reference<float>(); }
TEST(ImageFilters, GaussianU8MatchesReference) { gaussian_variants_match_reference<std::uint8_t>(); }

TEST(ImageFilters, GaussianWeights) {
  EXPECT_DOUBLE_EQ(f::gaussian_sigma(5), 1.1);  // OpenCV's default for K = 5
  const auto w = f::gaussian_weights(7, 1.4);
  double sum = 0;
  for (double x : w) sum += x;
  EXPECT_NEAR(sum, 1.0, 1e-15);
  EXPECT_DOUBLE_EQ(w[0], w[6]);
  EXPECT_GT(w[3], w[2]);
}

TEST(ImageFilters, BoxRunningSumsMatchReference) {
  std::mt19937 rng(11);
  for (const auto& s : kShapes)
    for (const int k : {1, 3, 9, 15, 31}) {
      const auto in = random_image<float>(s.w, s.h, s.c, rng);
      const std::vector<double> ones(static_cast<std::size_t>(k) * k, 1.0 / (k * k));
      Image<float> out(s.w, s.h, s.c);
      std::vector<double> col;
      f::box_running_sums(in, out, k, col, [k](double v) { return static_cast<float>(v / (k * k)); });
      expect_close(out, f::reference(in, ones, k), fmt::format("box {}x{}x{} K={}", s.w, s.h, s.c, k));
    }
}

TEST(ImageFilters, SobelMatchesReference) {
  std::mt19937 rng(13);
  for (const auto& s : kShapes) {
    if (s.c != 1) continue;
    const auto in = random_image<float>(s.w, s.h, 1, rng);
    Image<float> gx(s.w, s.h, 1), gy(s.w, s.h, 1);
    f::sobel(in, gx, gy);
    expect_close(gx, f::reference(in, f::kSobelX, 3), fmt::format("sobel x {}x{}", s.w, s.h));
    expect_close(gy, f::reference(in, f::kSobelY, 3), fmt::format("sobel y {}x{}", s.w, s.h));
  }
}

TEST(ImageFilters, U8Saturates) {
  Image<std::uint8_t> in(20, 3, 1), out(20, 3, 1);
  std::fill(in.data.begin(), in.data.end(), 255);
  const std::vector<float> w = {0.5f, 0.6f, 0.5f};  // sums to 1.6: 408 before saturation
  auto buf = f::row_buffer_for(in, 3);
  f::separable_simd(in, out, w, 0, 3, buf);
  for (auto v : out.data) EXPECT_EQ(v, 255);
}

TEST(ImageIo, MissingPhotoSaysWhichPackage) {
  try {
    dp::image::load_photo("no-such-photo.png");
    FAIL() << "a missing photograph must throw";
  } catch (const dp::Unavailable& e) {
    EXPECT_NE(std::string(e.what()).find("python3-skimage"), std::string::npos) << e.what();
  }
}

TEST(ImageIo, CameraIsGreyAndTiles) {
  Image<std::uint8_t> cam;
  try {
    cam = dp::image::load_photo("camera.png");
  } catch (const dp::Unavailable& e) {
    GTEST_SKIP() << e.what();
  }
  EXPECT_EQ(cam.width, 512);
  EXPECT_EQ(cam.height, 512);
  EXPECT_EQ(cam.channels, 1);
  const auto big = dp::image::tiled(cam, 2);
  EXPECT_EQ(big.width, 1024);
  EXPECT_EQ(big.row(700)[600], cam.row(700 - 512)[600 - 512]);
}

}  // namespace
