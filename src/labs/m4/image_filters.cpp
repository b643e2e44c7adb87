// image-filters — How fast can a Gaussian blur, a box blur and Sobel edges run, next to OpenCV?
//
// What: filters on real photographs from scikit-image's data folder (Debian python3-skimage):
// camera.png (512 x 512 grey) and astronaut.png (512 x 512 RGB), tiled scale x scale times
// (--param scale=4: 2048 x 2048, 16 MiB as grey float) so the image does not fit in L2.
// Every filter uses one border rule, replicate (OpenCV's BORDER_REPLICATE). The kernels are in
// image_filters.hpp beside this file:
//   naive 2D          K^2 taps per pixel, coordinates clamped at each tap (scalar)
//   separable         a row pass into a float image, then a column pass: 2K taps (scalar)
//   separable SIMD    per output row, the column pass then the row pass through one padded
//                     row buffer in L1; explicit SIMD through GCC vector extensions (16 floats
//                     per register with AVX-512); rows split into bands over `threads` threads
//   running sums      the box filter in O(1) per pixel: running column sums, then a running sum
//                     along each row (double sums for a float image)
//   Sobel             both 3 x 3 gradients in one pass (auto-vectorized by GCC)
//   OpenCV            cv::GaussianBlur, cv::blur, cv::Sobel (x and y: two calls), with
//                     cv::setNumThreads(threads), in the same run
// Sweeps: the Gaussian and the box blur on the grey float photo for K = 3 ... 15; the 5 x 5
// Gaussian on grey and RGB, u8 and float; Sobel on grey float.
// Checks, before anything is timed: every variant and OpenCV against a double-precision direct
// correlation of the same image (float: abs 2e-5 + rel 1e-5 on pixels in [0, 1]; u8: within 1).
//
//   dontpanic run image-filters                 scale 4 (2048 x 2048), K = 3 ... 15
//   dontpanic run image-filters --quick         scale 1 (512 x 512)
//   --param scale=8 --param threads=2
#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#if defined(DP_HAVE_OPENCV)
#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgproc.hpp>
#endif

#include "core/check.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/portability.hpp"
#include "core/sweep.hpp"
#include "core/thread_team.hpp"
#include "labs/m4/image_filters.hpp"
#include "labs/m4/image_io.hpp"

namespace {

using dp::image::Image;
namespace f = dp::filters;

const std::vector<int> kSizes = {3, 5, 7, 9, 11, 13, 15};
const dp::Tolerance kFloatTol{2e-5, 1e-5};  // float sums of up to 225 terms of pixels in [0, 1]
const dp::Tolerance kByteTol{1.0, 0.0};     // u8: rounded, so within 1 of the exact value

// ---------------------------------------------------------------------------------------------
// OpenCV, the peer: the same image, wrapped (no copy), the same border rule
// ---------------------------------------------------------------------------------------------

#if defined(DP_HAVE_OPENCV)
template <class T>
cv::Mat as_mat(Image<T>& img) {
  const int depth = std::is_same_v<T, float> ? CV_32F : CV_8U;
  return cv::Mat(img.height, img.width, CV_MAKETYPE(depth, img.channels), img.data.data());
}
template <class T>
cv::Mat as_mat(const Image<T>& img) { return as_mat(const_cast<Image<T>&>(img)); }  // read only

template <class T>
void cv_gaussian(const Image<T>& in, Image<T>& out, int k) {
  cv::Mat dst = as_mat(out);
  cv::GaussianBlur(as_mat(in), dst, cv::Size(k, k), f::gaussian_sigma(k), f::gaussian_sigma(k), cv::BORDER_REPLICATE);
}
void cv_box(const Image<float>& in, Image<float>& out, int k) {
  cv::Mat dst = as_mat(out);
  cv::blur(as_mat(in), dst, cv::Size(k, k), cv::Point(-1, -1), cv::BORDER_REPLICATE);
}
void cv_sobel(const Image<float>& in, Image<float>& gx, Image<float>& gy) {
  cv::Mat dx = as_mat(gx), dy = as_mat(gy);
  cv::Sobel(as_mat(in), dx, CV_32F, 1, 0, 3, 1, 0, cv::BORDER_REPLICATE);
  cv::Sobel(as_mat(in), dy, CV_32F, 0, 1, 3, 1, 0, cv::BORDER_REPLICATE);
}
constexpr bool kHaveOpenCv = true;
#else
constexpr bool kHaveOpenCv = false;
#endif

// ---------------------------------------------------------------------------------------------
// The run: check, then time
// ---------------------------------------------------------------------------------------------

struct Bench {
  dp::LabContext& ctx;
  int threads;
  std::vector<std::string> failures;
  int checked = 0;

  // Checks `got` against `want`; false (and a failure noted) when it differs.
  template <class T>
  bool check(const std::string& what, const Image<T>& got, const std::vector<double>& want, const dp::Tolerance& tol) {
    ++checked;
    const auto r = dp::compare(std::span<const T>(got.data), std::span<const double>(want), tol);
    if (!r.passed) failures.push_back(fmt::format("{}: {}", what, r.detail));
    return r.passed;
  }

  // Times `body` and adds a point in megapixels per second.
  void time(const std::string& series, const std::string& x_name, double x, double pixels, const std::function<void()>& body) {
    const dp::Stats s = ctx.measure(fmt::format("{}/{}", series, x), body);
    ctx.result.add_point(series, x_name, x, s, pixels / s.median_ns * 1e3, "Mpixel/s");
  }

  // separable_simd over row bands, one per thread; `run` does one whole image.
  template <class T>
  std::function<void()> banded(const Image<T>& in, Image<T>& out, const std::vector<float>& w,
                               std::vector<std::vector<float>>& buffers, std::unique_ptr<dp::ThreadTeam>& team) {
    buffers.assign(static_cast<std::size_t>(threads), f::row_buffer_for(in, static_cast<int>(w.size())));
    const int h = in.height, t_count = threads;
    auto band = [&in, &out, &w, &buffers, h, t_count](int t) {
      f::separable_simd<T>(in, out, w, h * t / t_count, h * (t + 1) / t_count, buffers[static_cast<std::size_t>(t)]);
    };
    if (threads == 1) return [band] { band(0); };
    team = std::make_unique<dp::ThreadTeam>(threads, band);
    return [&team] { team->run(); };
  }
};

double ratio(const dp::Result& r, const std::string& a, const std::string& b, double x) {
  const auto* pa = r.point_at(a, x);
  const auto* pb = r.point_at(b, x);
  return pa && pb && pb->throughput > 0 ? pa->throughput / pb->throughput : 0;
}

void run(dp::LabContext& ctx) {
  const int scale = static_cast<int>(ctx.params.integer("scale"));
  const int threads = static_cast<int>(ctx.params.integer("threads"));
  const auto grey_photo = dp::image::load_photo("camera.png");
  const auto rgb_photo = dp::image::load_photo("astronaut.png");
  const Image<std::uint8_t> grey8 = dp::image::tiled(grey_photo, scale), rgb8 = dp::image::tiled(rgb_photo, scale);
  const Image<float> grey = dp::image::to_float(grey8), rgb = dp::image::to_float(rgb8);
  const double pixels = static_cast<double>(grey.pixels());
  ctx.result.notes.push_back(fmt::format("Images: {} and {}, from {}.", dp::image::describe("camera.png", grey_photo, scale),
                                         dp::image::describe("astronaut.png", rgb_photo, scale), dp::image::kPhotoDir.string()));
  ctx.result.notes.push_back(fmt::format("Ours: separable SIMD on {} thread{} (row bands; {} lanes of {}); naive 2D, separable, "
                                         "running sums and Sobel on one thread.", threads, threads > 1 ? "s" : "",
                                         f::kLanes, dp::tensor::simd::kName));
  ctx.result.notes.push_back(dp::image::use_opencv_peer(threads, "cv::GaussianBlur, cv::blur, cv::Sobel"));
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times mean nothing here, only the checks do.");

  Bench bench{ctx, threads, {}, 0};
  Image<float> out(grey.width, grey.height, 1), tmp(grey.width, grey.height, 1);
  std::vector<std::vector<float>> buffers;
  std::unique_ptr<dp::ThreadTeam> team;

  // --- Gaussian blur, grey float, K = 3 ... 15 ---
  const dp::SweepOptions gauss_options{.label = [](std::uint64_t k) { return fmt::format("{0} x {0}", k); },
                                       .weight = [](std::uint64_t k) { return double(k * k); }, .budget_share = 0.45};
  for (const std::uint64_t ku : dp::Sweep(ctx, "Gaussian", kSizes, gauss_options)) {
    const int k = static_cast<int>(ku);
    const auto w = f::gaussian_weights(k, f::gaussian_sigma(k));
    const auto w1 = f::cast<float>(w), w2 = f::cast<float>(f::outer(w, w));
    const auto want = f::reference(grey, f::outer(w, w), k);
    const double x = k;
    const auto label = [k](const char* v) { return fmt::format("Gaussian {} x {}, {}", k, k, v); };
    f::filter_naive(grey, out, w2, k);
    if (bench.check(label("naive 2D"), out, want, kFloatTol))
      bench.time("Gaussian: naive 2D", "K", x, pixels, [&] { f::filter_naive(grey, out, w2, k); benchmark::DoNotOptimize(out.data.data()); });
    f::separable_two_pass(grey, out, w1, tmp);
    if (bench.check(label("separable"), out, want, kFloatTol))
      bench.time("Gaussian: separable", "K", x, pixels, [&] { f::separable_two_pass(grey, out, w1, tmp); benchmark::DoNotOptimize(out.data.data()); });
    {
      const auto body = bench.banded(grey, out, w1, buffers, team);
      std::fill(out.data.begin(), out.data.end(), -1.0f);
      body();
      if (bench.check(label("separable SIMD"), out, want, kFloatTol))
        bench.time("Gaussian: separable SIMD", "K", x, pixels, [&] { body(); benchmark::DoNotOptimize(out.data.data()); });
      team.reset();
    }
#if defined(DP_HAVE_OPENCV)
    cv_gaussian(grey, out, k);
    if (bench.check(label("OpenCV"), out, want, kFloatTol))
      bench.time("Gaussian: OpenCV", "K", x, pixels, [&] { cv_gaussian(grey, out, k); benchmark::DoNotOptimize(out.data.data()); });
#endif
  }

  // --- Box blur, grey float, K = 3 ... 15 ---
  const dp::SweepOptions box_options{.label = [](std::uint64_t k) { return fmt::format("{0} x {0}", k); },
                                     .weight = [](std::uint64_t k) { return double(k * k); }, .budget_share = 0.5};
  std::vector<double> col;
  for (const std::uint64_t ku : dp::Sweep(ctx, "box", kSizes, box_options)) {
    const int k = static_cast<int>(ku);
    const std::vector<double> ones(static_cast<std::size_t>(k), 1.0 / k);
    const auto w1 = f::cast<float>(ones), w2 = f::cast<float>(f::outer(ones, ones));
    const auto want = f::reference(grey, f::outer(ones, ones), k);
    const double x = k, inv = 1.0 / (k * k);
    const auto mean = [inv](double s) { return static_cast<float>(s * inv); };
    const auto label = [k](const char* v) { return fmt::format("box {} x {}, {}", k, k, v); };
    f::filter_naive(grey, out, w2, k);
    if (bench.check(label("naive 2D"), out, want, kFloatTol))
      bench.time("box: naive 2D", "K", x, pixels, [&] { f::filter_naive(grey, out, w2, k); benchmark::DoNotOptimize(out.data.data()); });
    {
      const auto body = bench.banded(grey, out, w1, buffers, team);
      std::fill(out.data.begin(), out.data.end(), -1.0f);
      body();
      if (bench.check(label("separable SIMD"), out, want, kFloatTol))
        bench.time("box: separable SIMD", "K", x, pixels, [&] { body(); benchmark::DoNotOptimize(out.data.data()); });
      team.reset();
    }
    f::box_running_sums(grey, out, k, col, mean);
    if (bench.check(label("running sums"), out, want, kFloatTol))
      bench.time("box: running sums", "K", x, pixels, [&] { f::box_running_sums(grey, out, k, col, mean); benchmark::DoNotOptimize(out.data.data()); });
#if defined(DP_HAVE_OPENCV)
    cv_box(grey, out, k);
    if (bench.check(label("OpenCV"), out, want, kFloatTol))
      bench.time("box: OpenCV", "K", x, pixels, [&] { cv_box(grey, out, k); benchmark::DoNotOptimize(out.data.data()); });
#endif
  }

  // --- 5 x 5 Gaussian on grey and RGB, u8 and float: x = bytes per pixel ---
  const int k5 = 5;
  const auto w5 = f::gaussian_weights(k5, f::gaussian_sigma(k5));
  const auto w5f = f::cast<float>(w5);
  const auto formats = [&]<class T>(const Image<T>& in, const char* name) {
    const double bytes = static_cast<double>(sizeof(T)) * in.channels;
    const auto tol = std::is_same_v<T, float> ? kFloatTol : kByteTol;
    const auto want = f::reference(in, f::outer(w5, w5), k5);
    Image<T> o(in.width, in.height, in.channels);
    {
      std::vector<std::vector<float>> bufs;
      std::unique_ptr<dp::ThreadTeam> tm;
      const auto body = bench.banded(in, o, w5f, bufs, tm);
      body();
      if (bench.check(fmt::format("Gaussian 5 x 5, {}, separable SIMD", name), o, want, tol))
        bench.time("Gaussian 5x5: ours (separable SIMD)", "bytes per pixel", bytes, pixels, [&] { body(); benchmark::DoNotOptimize(o.data.data()); });
    }
#if defined(DP_HAVE_OPENCV)
    cv_gaussian(in, o, k5);
    if (bench.check(fmt::format("Gaussian 5 x 5, {}, OpenCV", name), o, want, tol))
      bench.time("Gaussian 5x5: OpenCV", "bytes per pixel", bytes, pixels, [&] { cv_gaussian(in, o, k5); benchmark::DoNotOptimize(o.data.data()); });
#endif
  };
  formats(grey8, "grey u8");
  formats(rgb8, "RGB u8");
  formats(grey, "grey float");
  formats(rgb, "RGB float");

  // --- Sobel, grey float ---
  {
    Image<float> gx(grey.width, grey.height, 1), gy(grey.width, grey.height, 1);
    const auto want_x = f::reference(grey, f::kSobelX, 3), want_y = f::reference(grey, f::kSobelY, 3);
    f::sobel(grey, gx, gy);
    if (bench.check("Sobel x, ours", gx, want_x, kFloatTol) & bench.check("Sobel y, ours", gy, want_y, kFloatTol))
      bench.time("Sobel: ours (x and y in one pass)", "pixels", pixels, pixels, [&] { f::sobel(grey, gx, gy); benchmark::DoNotOptimize(gx.data.data()); });
#if defined(DP_HAVE_OPENCV)
    cv_sobel(grey, gx, gy);
    if (bench.check("Sobel x, OpenCV", gx, want_x, kFloatTol) & bench.check("Sobel y, OpenCV", gy, want_y, kFloatTol))
      bench.time("Sobel: OpenCV (two cv::Sobel calls)", "pixels", pixels, pixels, [&] { cv_sobel(grey, gx, gy); benchmark::DoNotOptimize(gx.data.data()); });
#endif
  }

  ctx.result.add_check("every variant and OpenCV match the double-precision reference", bench.failures.empty(),
                       bench.failures.empty()
                           ? fmt::format("{} images, every value within {} (float) or {} (u8)", bench.checked, kFloatTol.describe(), kByteTol.describe())
                           : fmt::format("{} of {} differ; first: {}", bench.failures.size(), bench.checked, bench.failures.front()));

  // --- Headlines: the two targets, measured ---
  const auto& r = ctx.result;
  if (const auto* ours = r.point_at("Gaussian: separable SIMD", 5)) {
    std::string line = fmt::format("ours {:.0f} Mpixel/s", ours->throughput);
    if (kHaveOpenCv && r.point_at("Gaussian: OpenCV", 5))
      line += fmt::format(", OpenCV {:.0f}: ours at {:.2f}x OpenCV's speed (target >= 0.8)", r.point_at("Gaussian: OpenCV", 5)->throughput,
                          ratio(r, "Gaussian: separable SIMD", "Gaussian: OpenCV", 5));
    ctx.result.headlines.push_back({"Gaussian 5 x 5, grey float", line});
  }
  if (r.point_at("Gaussian: separable", 7) && r.point_at("Gaussian: naive 2D", 7))
    ctx.result.headlines.push_back({"Gaussian 7 x 7: separable / naive 2D",
                                    fmt::format("{:.2f}x scalar, {:.2f}x SIMD (target >= 2)", ratio(r, "Gaussian: separable", "Gaussian: naive 2D", 7),
                                                ratio(r, "Gaussian: separable SIMD", "Gaussian: naive 2D", 7))});
  if (r.point_at("box: running sums", 15) && r.point_at("box: running sums", 3))
    ctx.result.headlines.push_back({"box blur by running sums, 3 x 3 vs 15 x 15",
                                    fmt::format("{:.0f} vs {:.0f} Mpixel/s", r.point_at("box: running sums", 3)->throughput,
                                                r.point_at("box: running sums", 15)->throughput)});
  if (const auto* s = r.find_series("Sobel: ours (x and y in one pass)"); s && !s->points.empty()) {
    std::string line = fmt::format("ours {:.0f} Mpixel/s", s->points.back().throughput);
    if (const auto* o = r.find_series("Sobel: OpenCV (two cv::Sobel calls)"); o && !o->points.empty())
      line += fmt::format(", OpenCV {:.0f}", o->points.back().throughput);
    ctx.result.headlines.push_back({"Sobel x and y, grey float", line});
  }

  const std::string size = fmt::format("{} x {}", grey.width, grey.height);
  ctx.result.plots.push_back(dp::PlotSpec{.name = "gaussian", .title = fmt::format("Gaussian blur, {} grey float", size),
                                          .xlabel = "kernel size K (K x K)", .ylabel = "Mpixel/s (pixels / time)",
                                          .y = dp::PlotSpec::Y::throughput, .logx = false, .logy = true,
                                          .variants = {"Gaussian: naive 2D", "Gaussian: separable", "Gaussian: separable SIMD", "Gaussian: OpenCV"}});
  ctx.result.plots.push_back(dp::PlotSpec{.name = "box", .title = fmt::format("box blur, {} grey float", size),
                                          .xlabel = "kernel size K (K x K)", .ylabel = "Mpixel/s (pixels / time)",
                                          .y = dp::PlotSpec::Y::throughput, .logx = false, .logy = true,
                                          .variants = {"box: naive 2D", "box: separable SIMD", "box: running sums", "box: OpenCV"}});
  ctx.result.plots.push_back(dp::PlotSpec{.name = "formats", .title = fmt::format("5 x 5 Gaussian, {}: grey u8 (1), RGB u8 (3), grey float (4), RGB float (12)", size),
                                          .xlabel = "bytes per pixel", .ylabel = "Mpixel/s (pixels / time)",
                                          .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true,
                                          .variants = {"Gaussian 5x5: ours (separable SIMD)", "Gaussian 5x5: OpenCV"}});
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "image-filters",
             .title = "Image filters: Gaussian naive, separable, SIMD; box by running sums; Sobel; vs OpenCV",
             .module = 4,
             .level = 3,
             .tracks = {"cv"},
             .question = "How fast can a Gaussian blur, a box blur and Sobel edges run on a photograph, next to OpenCV?",
             .guide_page = "m4/image-filters.md",
             .source = "src/labs/m4/image_filters.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("scale", "the photographs tiled scale x scale times (1: 512 x 512, 4: 2048 x 2048)", 4, 1, 1, 8),
               dp::ParamSpec::integer("threads", "threads for separable SIMD, and cv::setNumThreads for OpenCV", 1, 1, 1, 256)},
    .run = run,
});
