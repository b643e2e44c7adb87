// features — How fast can Harris corners be found on every level of an image pyramid, scalar,
// SIMD and on threads, next to OpenCV?
//
// What: the grey photograph camera.png from scikit-image's data folder (Debian python3-skimage,
// 512 x 512), tiled scale x scale times (--param scale=4: 2048 x 2048), as float in [0, 1], and a
// pyramid of `levels` levels below it, each half as wide and high (blur [1 4 6 4 1] / 16, keep
// every second pixel: cv::pyrDown's step). On every level, the Harris response
// R = det - k trace^2 of the structure tensor (3 x 3 Sobel gradients, B x B block sums, k = 0.04,
// replicate border), then 3 x 3 non-maximum suppression, R > 1 % of the largest R, the strongest N.
// Why Harris and not FAST-9: Harris gives a response map, a number per pixel that can be checked
// against a double-precision one, and its work (gradients, products, box sums) is the
// separable-filter arithmetic SIMD and bands of threads are made for; FAST's 16-pixel circle
// test is branchy, a worse fit for a lesson on vector lanes. The kernels are in features.hpp:
//   scalar            whole-image passes: the gradient images, then per pixel the B^2 products
//                     summed (no vectorization)
//   SIMD              one row at a time, fused: gradients -> products -> a ring of B product rows
//                     -> vertical then horizontal sums -> R, GCC vector types (16 floats per
//                     register with AVX-512)
//   SIMD, T threads   the same, rows split into T bands (T = 1, 2, 4, ... up to `threads`)
//   OpenCV            cv::cornerHarris(B, aperture 3, k, BORDER_REPLICATE): the same response, so
//                     our NMS on it is the same detector; cv::pyrDown for the pyramid step
// Checks, before anything is timed, on every level: each response map against the double
// reference (abs 1e-5 x max |R| + rel 1e-4), and each corner set against the reference's (at least
// 95 % of the reference's corners have one of ours within 1 pixel; not 100 %: a corner whose R is
// within rounding of the threshold, or of the N-th strongest, may fall on either side); each
// pyramid step against a double-precision one.
//
//   dontpanic run features                 scale 4 (2048 x 2048), 4 levels, threads 1 .. all CPUs
//   dontpanic run features --quick         scale 1 (512 x 512)
//   --param block=5 --param corners=1000 --param threads=2
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
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
#include "labs/m4/features.hpp"
#include "labs/m4/image_io.hpp"

namespace {

using dp::image::Image;
namespace ft = dp::features;

constexpr double kHarrisK = 0.04;          // OpenCV's documentation and most papers use 0.04 .. 0.06
constexpr double kThreshold = 0.01;        // corners: R > 1 % of the level's largest R
constexpr double kMinAgreement = 0.95;     // of the reference's corners, within 1 pixel of ours
constexpr double kResponseAbs = 1e-5;      // x max |R| of the level
constexpr double kResponseRel = 1e-4;
const dp::Tolerance kPyramidTol{1e-6, 1e-5};  // pixels in [0, 1], 25 float terms

// ---------------------------------------------------------------------------------------------
// OpenCV, the peer: the same image, wrapped (no copy), the same border rule
// ---------------------------------------------------------------------------------------------

#if defined(DP_HAVE_OPENCV)
cv::Mat as_mat(const Image<float>& img) { return cv::Mat(img.height, img.width, CV_32FC1, const_cast<float*>(img.data.data())); }
void cv_harris(const Image<float>& in, Image<float>& out, int block) {
  cv::Mat dst = as_mat(out);
  cv::cornerHarris(as_mat(in), dst, block, 3, kHarrisK, cv::BORDER_REPLICATE);
}
void cv_pyr_down(const Image<float>& in, Image<float>& out) {
  cv::Mat dst = as_mat(out);
  cv::pyrDown(as_mat(in), dst, cv::Size(out.width, out.height), cv::BORDER_REPLICATE);
}
#endif

// ---------------------------------------------------------------------------------------------
// The run: check, then time
// ---------------------------------------------------------------------------------------------

struct Bench {
  dp::LabContext& ctx;
  std::size_t max_corners;
  std::vector<std::string> failures;
  int checked = 0;
  double worst_response = 0;     // worst |got - want| / max |want| over every response map
  double worst_agreement = 1.0;  // lowest share of the reference's corners found

  bool fail(const std::string& what) {
    failures.push_back(what);
    return false;
  }

  // The response map against the reference, then its corners against the reference's corners.
  bool check_harris(const std::string& what, const Image<float>& got, const std::vector<double>& want,
                    const std::vector<ft::Corner>& want_corners) {
    ++checked;
    double top = 0, worst = 0;
    for (const double v : want) top = std::max(top, std::abs(v));
    for (std::size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(got.data[i] - want[i]));
    if (top > 0) worst_response = std::max(worst_response, worst / top);
    const dp::Tolerance tol{kResponseAbs * top, kResponseRel};
    const auto r = dp::compare(std::span<const float>(got.data), std::span<const double>(want), tol);
    if (!r.passed) return fail(fmt::format("{}: response {} (max |R| {:.3g})", what, r.detail, top));
    const auto corners = ft::detect(std::span<const float>(got.data), got.width, got.height, kThreshold, max_corners);
    const double share = want_corners.empty() ? 1.0 : double(ft::matched(want_corners, corners)) / double(want_corners.size());
    worst_agreement = std::min(worst_agreement, share);
    if (share < kMinAgreement)
      return fail(fmt::format("{}: {:.1f} % of the reference's {} corners have one of these {} within 1 pixel (want >= {:.0f} %)", what,
                              100 * share, want_corners.size(), corners.size(), 100 * kMinAgreement));
    return true;
  }

  void time(const std::string& series, int level, double pixels, const std::function<void()>& body) {
    const dp::Stats s = ctx.measure(fmt::format("{}/{}", series, level), body);
    ctx.result.add_point(series, "pyramid level", level, s, pixels / s.median_ns * 1e3, "Mpixel/s");
  }
};

std::string threads_name(int t) { return fmt::format("Harris: SIMD, {} thread{}", t, t > 1 ? "s" : ""); }

void run(dp::LabContext& ctx) {
  const int scale = static_cast<int>(ctx.params.integer("scale"));
  const int level_count = static_cast<int>(ctx.params.integer("levels"));
  const int block = static_cast<int>(ctx.params.integer("block"));
  const auto max_corners = static_cast<std::size_t>(ctx.params.integer("corners"));
  const int cpus = std::max<int>(1, static_cast<int>(dp::allowed_cpus().size()));
  const int threads = ctx.params.integer("threads") > 0 ? static_cast<int>(ctx.params.integer("threads")) : cpus;
  ft::require_block(block);
  std::vector<int> thread_counts;  // 2, 4, ... below `threads`, then `threads` (1 is "SIMD")
  for (int t = 2; t < threads; t *= 2) thread_counts.push_back(t);
  if (threads > 1) thread_counts.push_back(threads);

  const auto photo = dp::image::load_photo("camera.png");
  ctx.result.notes.push_back(fmt::format("Image: {}, from {}, as float in [0, 1].", dp::image::describe("camera.png", photo, scale),
                                         dp::image::kPhotoDir.string()));
  ctx.result.notes.push_back(fmt::format("Harris: Sobel 3 x 3, block {0} x {0}, k = {1}, replicate border; corners: 3 x 3 non-maximum "
                                         "suppression, R > {2} x max R, the strongest {3}. SIMD: {4} lanes of {5}.",
                                         block, kHarrisK, kThreshold, max_corners, ft::kLanes, dp::tensor::simd::kName));
  ctx.result.notes.push_back(dp::image::use_opencv_peer(threads, "cv::cornerHarris and cv::pyrDown; our NMS on its response"));
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times mean nothing here, only the checks do.");
  Bench bench{ctx, max_corners, {}, 0};

  // --- The pyramid: built, checked, timed step by step ---
  std::vector<Image<float>> levels = {dp::image::to_float(dp::image::tiled(photo, scale))};
  std::vector<float> buf;
  for (int l = 1; l < level_count && levels.back().width > 1; ++l) {
    const Image<float>& in = levels.back();
    Image<float> out = ft::half_size(in);
    ft::pyr_down(in, out, buf);
    const auto want = ft::pyramid_reference(in);
    ++bench.checked;
    const auto r = dp::compare(std::span<const float>(out.data), std::span<const double>(want), kPyramidTol);
    if (!r.passed) bench.fail(fmt::format("pyramid step to level {}: {}", l, r.detail));
    const double px = static_cast<double>(in.pixels());
    if (r.passed) bench.time("pyrDown: ours", l, px, [&] { ft::pyr_down(in, out, buf); benchmark::DoNotOptimize(out.data.data()); });
#if defined(DP_HAVE_OPENCV)
    Image<float> cv_out = ft::half_size(in);
    cv_pyr_down(in, cv_out);
    ++bench.checked;
    const auto rc = dp::compare(std::span<const float>(cv_out.data), std::span<const double>(want), kPyramidTol);
    if (!rc.passed) bench.fail(fmt::format("OpenCV pyrDown to level {}: {}", l, rc.detail));
    else bench.time("pyrDown: OpenCV", l, px, [&] { cv_pyr_down(in, cv_out); benchmark::DoNotOptimize(cv_out.data.data()); });
#endif
    levels.push_back(std::move(out));
  }

  // --- Harris on every level ---
  std::vector<int> level_ids;
  for (int l = 0; l < static_cast<int>(levels.size()); ++l) level_ids.push_back(l);
  std::vector<std::size_t> corners_found(levels.size(), 0);
  const dp::SweepOptions options{.label = [&](std::uint64_t l) { return fmt::format("level {} ({} x {})", l, levels[l].width, levels[l].height); },
                                 .weight = [&](std::uint64_t l) { return double(levels[l].pixels()); }};
  for (const std::uint64_t lu : dp::Sweep(ctx, "Harris", level_ids, options)) {
    const int l = static_cast<int>(lu);
    const Image<float>& in = levels[lu];
    const double px = static_cast<double>(in.pixels());
    const auto want = ft::harris_reference(in, block, kHarrisK);
    const auto want_corners = ft::detect(std::span<const double>(want), in.width, in.height, kThreshold, max_corners);
    const auto label = [&](const std::string& v) { return fmt::format("level {} ({} x {}), {}", l, in.width, in.height, v); };
    Image<float> out(in.width, in.height, 1), gx(in.width, in.height, 1), gy(in.width, in.height, 1);
    const auto k = static_cast<float>(kHarrisK);

    ft::harris_scalar(in, out, block, k, gx, gy);
    if (bench.check_harris(label("scalar"), out, want, want_corners))
      bench.time("Harris: scalar", l, px, [&] { ft::harris_scalar(in, out, block, k, gx, gy); benchmark::DoNotOptimize(out.data.data()); });

    ft::HarrisRows rows(in.width, block);
    std::fill(out.data.begin(), out.data.end(), -1.0f);
    rows.run(in, out, 0, in.height, k);
    if (bench.check_harris(label("SIMD"), out, want, want_corners))
      bench.time("Harris: SIMD", l, px, [&] { rows.run(in, out, 0, in.height, k); benchmark::DoNotOptimize(out.data.data()); });
    corners_found[lu] = ft::detect(std::span<const float>(out.data), in.width, in.height, kThreshold, max_corners).size();

    for (const int tc : thread_counts) {
      std::vector<ft::HarrisRows> per_thread(static_cast<std::size_t>(tc), ft::HarrisRows(in.width, block));
      const int h = in.height;
      dp::ThreadTeam team(tc, [&, h, tc](int t) {
        per_thread[static_cast<std::size_t>(t)].run(in, out, h * t / tc, h * (t + 1) / tc, k);
      });
      std::fill(out.data.begin(), out.data.end(), -1.0f);
      team.run();
      if (bench.check_harris(label(threads_name(tc).substr(8)), out, want, want_corners))
        bench.time(threads_name(tc), l, px, [&] { team.run(); benchmark::DoNotOptimize(out.data.data()); });
    }

    // Non-maximum suppression and top N on our map: the detector's last step, single thread.
    bench.time("corners: NMS + top N (ours)", l, px, [&] {
      benchmark::DoNotOptimize(ft::detect(std::span<const float>(out.data), in.width, in.height, kThreshold, max_corners));
    });

#if defined(DP_HAVE_OPENCV)
    std::fill(out.data.begin(), out.data.end(), -1.0f);
    cv_harris(in, out, block);
    if (bench.check_harris(label("OpenCV cornerHarris"), out, want, want_corners))
      bench.time("Harris: OpenCV cornerHarris", l, px, [&] { cv_harris(in, out, block); benchmark::DoNotOptimize(out.data.data()); });
#endif
  }

  ctx.result.add_check("every response map and pyramid step matches the double-precision reference, and the corners agree",
                       bench.failures.empty(),
                       bench.failures.empty()
                           ? fmt::format("{} results; response maps within abs {:g} x max |R| + rel {:g} (worst error {:.2g} x max |R|); "
                                         "corners: at least {:.1f} % of the reference's within 1 pixel (wanted >= {:.0f} %); "
                                         "pyramid within {}",
                                         bench.checked, kResponseAbs, kResponseRel, bench.worst_response, 100 * bench.worst_agreement,
                                         100 * kMinAgreement, kPyramidTol.describe())
                           : fmt::format("{} of {} differ; first: {}", bench.failures.size(), bench.checked, bench.failures.front()));

  // --- Headlines ---
  const auto& r = ctx.result;
  const auto mpx = [&](const std::string& s, double x) -> std::string {
    const auto* p = r.point_at(s, x);
    return p ? fmt::format("{:.0f}", p->throughput) : std::string("-");
  };
  std::string found;
  for (std::size_t l = 0; l < levels.size(); ++l)
    found += fmt::format("{}{}: {}", l ? ", " : "", fmt::format("{} x {}", levels[l].width, levels[l].height), corners_found[l]);
  ctx.result.headlines.push_back({"corners found per level (SIMD map)", found});
  if (r.point_at("Harris: SIMD", 0)) {
    std::string line = fmt::format("scalar {}, SIMD {}", mpx("Harris: scalar", 0), mpx("Harris: SIMD", 0));
    for (const int tc : thread_counts) line += fmt::format(", SIMD x{} threads {}", tc, mpx(threads_name(tc), 0));
    if (r.point_at("Harris: OpenCV cornerHarris", 0)) line += fmt::format(", OpenCV cornerHarris {}", mpx("Harris: OpenCV cornerHarris", 0));
    ctx.result.headlines.push_back({fmt::format("Harris response at {} x {} (Mpixel/s)", levels[0].width, levels[0].height), line});
  }
  if (r.point_at("pyrDown: ours", 1))
    ctx.result.headlines.push_back({fmt::format("pyramid step {} x {} -> {} x {} (input Mpixel/s)", levels[0].width, levels[0].height,
                                                levels[1].width, levels[1].height),
                                    fmt::format("ours {}, OpenCV pyrDown {}", mpx("pyrDown: ours", 1), mpx("pyrDown: OpenCV", 1))});

  std::vector<std::string> harris_series = {"Harris: scalar", "Harris: SIMD"};
  for (const int tc : thread_counts) harris_series.push_back(threads_name(tc));
  harris_series.push_back("Harris: OpenCV cornerHarris");
  harris_series.push_back("corners: NMS + top N (ours)");
  ctx.result.plots.push_back(dp::PlotSpec{.name = "harris", .title = fmt::format("Harris response per pyramid level (level 0: {} x {})", levels[0].width, levels[0].height),
                                          .xlabel = "pyramid level (each half as wide and high as the one before)",
                                          .ylabel = "Mpixel/s (pixels of the level / time)", .y = dp::PlotSpec::Y::throughput,
                                          .logx = false, .logy = true, .variants = harris_series});
  ctx.result.plots.push_back(dp::PlotSpec{.name = "pyramid", .title = "one pyramid step (blur 5 x 5, keep every second pixel)",
                                          .xlabel = "level made (its input is the level before)", .ylabel = "Mpixel/s (input pixels / time)",
                                          .y = dp::PlotSpec::Y::throughput, .logx = false, .logy = true,
                                          .variants = {"pyrDown: ours", "pyrDown: OpenCV"}});
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "features",
             .title = "Features: Harris corners on an image pyramid, scalar, SIMD, threads, vs OpenCV",
             .module = 4,
             .level = 4,
             .tracks = {"cv"},
             .question = "How fast can Harris corners be found on every level of an image pyramid, next to OpenCV?",
             .guide_page = "m4/features.md",
             .source = "src/labs/m4/features.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("scale", "the photograph tiled scale x scale times (1: 512 x 512, 4: 2048 x 2048)", 4, 1, 1, 8),
               dp::ParamSpec::integer("levels", "pyramid levels, the full-size image included", 4, 4, 1, 8),
               dp::ParamSpec::integer("block", "Harris block size B (odd): the structure tensor sums B x B products", 3, 3, 1, ft::kMaxBlock),
               dp::ParamSpec::integer("corners", "keep the strongest N corners per level", 500, 500, 1, 1'000'000),
               dp::ParamSpec::integer("threads", "most threads for the banded SIMD variant and cv::setNumThreads (0: every CPU)", 0, 0, 0, 256)},
    .run = run,
});
