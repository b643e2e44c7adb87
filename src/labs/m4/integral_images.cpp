// integral-images — What does a summed-area table cost to build, serially and on threads, and
// what does it buy: a box filter of any size in constant time per pixel?
//
// What: the grey photograph camera.png from scikit-image's data folder (Debian python3-skimage,
// 512 x 512 u8), tiled scale x scale times. Two sweeps (the code is in integral_images.hpp):
//   building the table, for images of 512^2 ... 4096^2 pixels:
//     serial                 one pass, each row's running sum added to the row above
//     serial, SIMD row scan  the same pass, 16 pixels at a time: a prefix sum inside an AVX-512
//                            register (4 shift-and-add steps), then the carry and the row above
//     scan then propagate    T threads: each band of rows builds its own table, a barrier, then
//                            each band adds the sums of the bands above it (2 passes of work)
//     OpenCV                 cv::integral(src, sum, CV_32S), in the same run
//     GPU, two passes        (Vulkan, integral_images_gpu.hpp, shaders/scan/) a row scan, one
//                            workgroup per row (subgroup scans + shared memory), then a column
//                            scan: one thread per column, or blocked (segments of ~sqrt(H) rows
//                            in parallel, their totals, then the carries: three dispatches),
//                            plainly or with 8 rows loaded ahead per thread;
//                            kernel time from GPU timestamps; the row pass alone, the upload
//                            of the image and the download of the table timed apart.
//                            No Vulkan device (or a build without it): skipped, with a note
//   a K x K box sum per pixel (replicate border), K = 3 ... 63, on the scale x scale image:
//     naive                  K^2 loads and adds per pixel (up to K = 15)
//     running sums           running column sums, then a running sum along each row (O(1) per
//                            pixel; image_filters.hpp's box_running_sums, in uint32)
//     table lookups          four lookups per pixel in the table of the image padded by 31
//                            pixels (replicated), built once before timing
//     table, built each time the same, with the padding and the table's build inside the time
//     OpenCV                 cv::boxFilter(src, dst, CV_32S, K x K, normalize = false,
//                            BORDER_REPLICATE)
// Checks, before timing: every table against uint64 sums (mod 2^32, the table's type; the GPU's
// also on fresh random images of odd sizes), every box
// sum exactly against a double-precision direct sum (integers below 2^53: exact).
//
//   dontpanic run integral-images              tables up to 4096 x 4096, box filters at 2048 x 2048
//   dontpanic run integral-images --quick      tables up to 1024 x 1024, box filters at 512 x 512
//   --param threads=2 --param scale=2
#include <algorithm>
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
#include "labs/m4/image_filters.hpp"
#include "labs/m4/image_io.hpp"
#include "labs/m4/integral_images.hpp"
#include "labs/m4/integral_images_gpu.hpp"
#if defined(DP_HAVE_GPU)
#include <random>

#include "labs/gpu_lab.hpp"
#endif

namespace {

using dp::image::Image;
using dp::integral::Table;
using U8 = Image<std::uint8_t>;
using U32 = Image<std::uint32_t>;

constexpr int kPad = 31;  // the padded table answers every K up to 2 * 31 + 1 = 63
const std::vector<int> kBoxSizes = {3, 5, 7, 9, 15, 21, 31, 45, 63};
constexpr int kNaiveMaxK = 15;
#if defined(__AVX512F__)
const std::string kSimdName = "table: serial, SIMD row scan (AVX-512)";
#else
const std::string kSimdName = "table: serial, SIMD row scan (no AVX-512 here: the serial loop)";
#endif

// ---------------------------------------------------------------------------------------------
// The variants that are not in integral_images.hpp
// ---------------------------------------------------------------------------------------------

// K^2 loads per pixel, each coordinate clamped (the box filter as its definition reads).
DP_NO_VECTORIZE void box_naive(const U8& in, U32& out, int k) {
  const int r = k / 2;
  using dp::filters::clamp_index;
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < in.width; ++x) {
      std::uint32_t s = 0;
      for (int j = -r; j <= r; ++j) {
        const std::uint8_t* row = in.row(clamp_index(y + j, in.height));
        for (int i = -r; i <= r; ++i) s += row[clamp_index(x + i, in.width)];
      }
      out.row(y)[x] = s;
    }
}

void box_running(const U8& in, U32& out, int k, std::vector<std::uint32_t>& col) {
  dp::filters::box_running_sums(in, out, k, col, [](std::uint32_t s) { return s; });
}

// Pads, builds the table, looks up: what a program that needs one box filter pays.
void box_table_each_time(const U8& in, U32& out, int k, Table& t) {
  const U8 p = dp::integral::padded(in, kPad);
  dp::integral::sat_serial(p, t);
  dp::integral::box_sat(t, kPad, k, out);
}

#if defined(DP_HAVE_OPENCV)
cv::Mat as_mat(const U8& img) { return cv::Mat(img.height, img.width, CV_8UC1, const_cast<std::uint8_t*>(img.data.data())); }
void cv_integral(const U8& in, Table& t) {
  cv::Mat sum(t.height + 1, t.width + 1, CV_32SC1, t.s.data());
  cv::integral(as_mat(in), sum, CV_32S);
}
void cv_box(const U8& in, U32& out, int k) {
  cv::Mat dst(out.height, out.width, CV_32SC1, out.data.data());
  cv::boxFilter(as_mat(in), dst, CV_32S, cv::Size(k, k), cv::Point(-1, -1), false, cv::BORDER_REPLICATE);
}
#endif

// ---------------------------------------------------------------------------------------------
// The run: check, then time
// ---------------------------------------------------------------------------------------------

struct Bench {
  dp::LabContext& ctx;
  std::vector<std::string> failures;
  int checked = 0;

  bool check(const std::string& what, bool ok, const std::string& detail) {
    ++checked;
    if (!ok) failures.push_back(fmt::format("{}: {}", what, detail));
    return ok;
  }
  void time(const std::string& series, const std::string& x_name, double x, double pixels, const std::function<void()>& body) {
    const dp::Stats s = ctx.measure(fmt::format("{}/{}", series, x), body);
    ctx.result.add_point(series, x_name, x, s, pixels / s.median_ns * 1e3, "Mpixel/s");
  }
};

// The table equals the uint64 reference modulo 2^32.
std::pair<bool, std::string> same_table(const Table& t, const std::vector<std::uint64_t>& want) {
  std::size_t bad = 0, first = 0;
  for (std::size_t i = 0; i < want.size(); ++i)
    if (t.s[i] != static_cast<std::uint32_t>(want[i]) && bad++ == 0) first = i;
  if (bad == 0) return {true, ""};
  return {false, fmt::format("{} of {} sums differ; first at row {} column {}: got {}, want {} mod 2^32", bad, want.size(),
                             first / t.stride(), first % t.stride(), t.s[first], want[first] & 0xffffffffu)};
}

// ---------------------------------------------------------------------------------------------
// The GPU variant (where this build and this machine have a Vulkan device)
// ---------------------------------------------------------------------------------------------

const std::string kGpuKernels = "table: GPU, row scan + column scan (kernels)";
const std::string kGpuBlocked = "table: GPU, row scan + blocked column scan (kernels)";
const std::string kGpuBatched = "table: GPU, row scan + blocked column scan, 8 loads ahead (kernels)";
const std::string kGpuRows = "table: GPU, row scan alone (kernel)";
const std::string kGpuUpload = "table: GPU upload (u8 image)";
const std::string kGpuDownload = "table: GPU download (uint32 table)";

#if defined(DP_HAVE_GPU)
struct GpuPart {
  std::unique_ptr<dp::gpu::Device> device;
  std::unique_ptr<dp::integral::GpuSat> sat;

  using Scan = dp::integral::ColumnScan;
  static constexpr const auto& kScans = dp::integral::kColumnScans;
  static const char* name(Scan s) { return dp::integral::column_scan_name(s); }
  static const std::string& series(Scan s) { return s == Scan::per_column ? kGpuKernels : s == Scan::blocked ? kGpuBlocked : kGpuBatched; }

  explicit GpuPart(dp::LabContext& ctx) {
    try {
      device = dp::gpu::open_lab_device(ctx, {.timestamps = true});
      sat = std::make_unique<dp::integral::GpuSat>(*device);
    } catch (const dp::Error& e) {
      device.reset();
      ctx.result.notes.push_back(fmt::format("GPU variants skipped: {}", e.what()));
    }
  }
  bool available() const { return sat != nullptr; }

  // Whether to run the GPU at this size: quick mode, one size (the smallest); on a CPU device
  // (lavapipe, some 5 Mpixel/s on 2 cores) up to 1 Mpixel, with a note, so a full run stays minutes.
  bool wants(dp::LabContext& ctx, const U8& img) {
    if (!available() || (ctx.quick && done_ > 0)) return false;
    if (device->is_cpu() && img.pixels() > kCpuDeviceMaxPixels) {
      if (!noted_cap_)
        ctx.result.notes.push_back(fmt::format("GPU variants stop at {} pixels on '{}' (a CPU device: the larger tables would take "
                                               "seconds each)", kCpuDeviceMaxPixels, device->report().name));
      noted_cap_ = true;
      return false;
    }
    ++done_;
    return true;
  }
  static constexpr std::size_t kCpuDeviceMaxPixels = 1024 * 1024;
  int done_ = 0;
  bool noted_cap_ = false;

  // Fresh random images of odd sizes (rows shorter and longer than a workgroup's 256 pixels, a
  // single pixel, one row, one column), each table exactly equal to the uint64 sums mod 2^32.
  void check_random(Bench& bench) {
    std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<int> byte(0, 255);
    for (const auto& [w, h] : {std::pair{1, 1}, {7, 3}, {1, 300}, {300, 1}, {257, 129}, {1000, 17}}) {
      U8 img(w, h, 1);
      for (auto& v : img.data) v = static_cast<std::uint8_t>(byte(rng));
      const auto want = dp::integral::reference_sat(img);
      for (const auto scan : kScans) {
        const auto [ok, detail] = same_table(sat->build(img, scan), want);
        bench.check(fmt::format("GPU table ({}), random {} x {}", name(scan), w, h), ok, detail);
      }
    }
  }

  // The photograph's table on the GPU: checked, then the kernels, the upload and the download
  // each timed on the GPU clock.
  void step(dp::LabContext& ctx, Bench& bench, const U8& img, const std::vector<std::uint64_t>& want) {
    const double px = static_cast<double>(img.pixels());
    for (const auto scan : kScans) {
      const auto [ok, detail] = same_table(sat->build(img, scan), want);
      if (!bench.check(fmt::format("GPU table ({}), {} x {}", name(scan), img.width, img.height), ok, detail)) return;
    }
    dp::integral::GpuSat::Buffers b(*device, img.width, img.height);
    b.image.upload(std::span<const std::uint8_t>(img.data));  // also leaves the image in b.image's staging
    const int reps = dp::gpu::gpu_reps(ctx);
    const double warmup = dp::gpu::gpu_warmup_seconds(ctx);
    const auto add = [&](const std::string& series, const dp::Stats& s) {
      ctx.result.add_point(series, "pixels", px, s, px / s.median_ns * 1e3, "Mpixel/s");
    };
    for (const auto scan : kScans)
      add(series(scan),
          dp::gpu::gpu_time_repeated(*device, [&](dp::gpu::Sequence& q) { sat->record(q, b, img.width, img.height, scan); }, reps, warmup));
    add(kGpuRows, dp::gpu::gpu_time_repeated(*device, [&](dp::gpu::Sequence& q) { sat->record_rows(q, b, img.width, img.height); }, reps, warmup));
    add(kGpuUpload, dp::gpu::gpu_time_repeated(*device, [&](dp::gpu::Sequence& q) { q.upload(b.image); }, reps, warmup));
    add(kGpuDownload, dp::gpu::gpu_time_repeated(*device, [&](dp::gpu::Sequence& q) { q.download(b.table); }, reps, warmup));
  }

  void finish(dp::LabContext& ctx) const {
    if (!available()) return;
    ctx.result.notes.push_back(fmt::format("GPU ({}): kernel times from GPU timestamps (both passes, the barrier between them "
                                           "included); upload (staging -> device) and download (device -> staging) timed apart, "
                                           "on the GPU clock too.", device->report().name));
    dp::gpu::add_validation_check(*device, ctx);
  }
};
#else
struct GpuPart {
  explicit GpuPart(dp::LabContext& ctx) {
    ctx.result.notes.push_back("GPU variants skipped: this build has no Vulkan layer (libvulkan-dev, libshaderc-dev).");
  }
  bool available() const { return false; }
  bool wants(dp::LabContext&, const U8&) { return false; }
  void check_random(Bench&) {}
  void step(dp::LabContext&, Bench&, const U8&, const std::vector<std::uint64_t>&) {}
  void finish(dp::LabContext&) const {}
};
#endif

void run(dp::LabContext& ctx) {
  const int scale = static_cast<int>(ctx.params.integer("scale"));
  const int cpus = std::max<int>(1, static_cast<int>(dp::allowed_cpus().size()));
  const int threads = ctx.params.integer("threads") > 0 ? static_cast<int>(ctx.params.integer("threads")) : cpus;
  const U8 photo = dp::image::load_photo("camera.png");
  ctx.result.notes.push_back(fmt::format("Image: camera.png ({} x {} grey u8) from {}, tiled.", photo.width, photo.height,
                                         dp::image::kPhotoDir.string()));
  ctx.result.notes.push_back(dp::image::use_opencv_peer(threads, "cv::integral, cv::boxFilter"));
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times mean nothing here, only the checks do.");
  Bench bench{ctx, {}, 0};
  GpuPart gpu(ctx);
  if (gpu.available()) gpu.check_random(bench);

  // --- Building the table: serial, scan then propagate, OpenCV ---
  std::vector<int> scales = ctx.quick ? std::vector<int>{1, 2} : std::vector<int>{1, 2, 4, 8};
  std::vector<int> thread_counts = {1};
  if (threads > 1) thread_counts.push_back(threads);
  const dp::SweepOptions table_options{.label = [&](std::uint64_t s) { return fmt::format("{0} x {0}", s * static_cast<std::uint64_t>(photo.width)); },
                                       .weight = [](std::uint64_t s) { return double(s * s); }, .budget_share = 0.4};
  for (const std::uint64_t su : dp::Sweep(ctx, "table", scales, table_options)) {
    const U8 img = dp::image::tiled(photo, static_cast<int>(su));
    const double px = static_cast<double>(img.pixels());
    const auto want = dp::integral::reference_sat(img);
    const std::string size = fmt::format("{} x {}", img.width, img.height);
    Table t(img.width, img.height);
    dp::integral::sat_serial(img, t);
    auto [ok, detail] = same_table(t, want);
    if (bench.check(fmt::format("serial table, {}", size), ok, detail))
      bench.time("table: serial", "pixels", px, px, [&] { dp::integral::sat_serial(img, t); benchmark::DoNotOptimize(t.s.data()); });
    std::fill(t.s.begin(), t.s.end(), 0xdeadbeefu);
    dp::integral::sat_simd(img, t);
    std::tie(ok, detail) = same_table(t, want);
    if (bench.check(fmt::format("serial SIMD table, {}", size), ok, detail))
      bench.time(kSimdName, "pixels", px, px, [&] { dp::integral::sat_simd(img, t); benchmark::DoNotOptimize(t.s.data()); });
    for (const int tc : thread_counts) {
      std::fill(t.s.begin(), t.s.end(), 0xdeadbeefu);
      dp::integral::ParallelSat p(img, t, tc);
      dp::ThreadTeam team(tc, [&p](int i) { p.job(i); });
      team.run();
      std::tie(ok, detail) = same_table(t, want);
      const std::string name = fmt::format("table: scan then propagate, {} thread{}", tc, tc > 1 ? "s" : "");
      if (bench.check(fmt::format("{}, {}", name, size), ok, detail))
        bench.time(name, "pixels", px, px, [&] { team.run(); benchmark::DoNotOptimize(t.s.data()); });
    }
#if defined(DP_HAVE_OPENCV)
    std::fill(t.s.begin(), t.s.end(), 0xdeadbeefu);
    cv_integral(img, t);
    std::tie(ok, detail) = same_table(t, want);
    if (bench.check(fmt::format("OpenCV cv::integral, {}", size), ok, detail))
      bench.time("table: OpenCV cv::integral", "pixels", px, px, [&] { cv_integral(img, t); benchmark::DoNotOptimize(t.s.data()); });
#endif
    if (gpu.wants(ctx, img)) gpu.step(ctx, bench, img, want);
  }

  // --- A K x K box sum per pixel: naive, running sums, table lookups, OpenCV ---
  const U8 img = dp::image::tiled(photo, scale);
  const double px = static_cast<double>(img.pixels());
  const U8 pimg = dp::integral::padded(img, kPad);
  Table padded_table(pimg.width, pimg.height), scratch(pimg.width, pimg.height);
  dp::integral::sat_serial(pimg, padded_table);
  U32 out(img.width, img.height, 1);
  std::vector<std::uint32_t> col;
  std::vector<int> box_sizes = kBoxSizes;
  if (ctx.quick) box_sizes = {3, 7, 15, 31, 63};
  const dp::SweepOptions box_options{.label = [](std::uint64_t k) { return fmt::format("{0} x {0}", k); },
                                     .weight = [](std::uint64_t k) { return double(std::min<std::uint64_t>(k, kNaiveMaxK) * std::min<std::uint64_t>(k, kNaiveMaxK)); },
                                     .budget_share = 1.0};
  for (const std::uint64_t ku : dp::Sweep(ctx, "box", box_sizes, box_options)) {
    const int k = static_cast<int>(ku);
    const double x = k;
    const std::vector<double> ones(static_cast<std::size_t>(k) * k, 1.0);
    const auto want = dp::filters::reference(img, ones, k);
    const auto exact = [&](const std::string& what) {
      const auto r = dp::compare(std::span<const std::uint32_t>(out.data), std::span<const double>(want));
      return bench.check(fmt::format("box {} x {}, {}", k, k, what), r.passed, r.detail);
    };
    if (k <= kNaiveMaxK) {
      box_naive(img, out, k);
      if (exact("naive")) bench.time("box: naive", "K", x, px, [&] { box_naive(img, out, k); benchmark::DoNotOptimize(out.data.data()); });
    }
    box_running(img, out, k, col);
    if (exact("running sums")) bench.time("box: running sums", "K", x, px, [&] { box_running(img, out, k, col); benchmark::DoNotOptimize(out.data.data()); });
    std::fill(out.data.begin(), out.data.end(), 0u);
    dp::integral::box_sat(padded_table, kPad, k, out);
    if (exact("table lookups"))
      bench.time("box: table lookups (table ready)", "K", x, px, [&] { dp::integral::box_sat(padded_table, kPad, k, out); benchmark::DoNotOptimize(out.data.data()); });
    std::fill(out.data.begin(), out.data.end(), 0u);
    box_table_each_time(img, out, k, scratch);
    if (exact("table built each time"))
      bench.time("box: table built each time", "K", x, px, [&] { box_table_each_time(img, out, k, scratch); benchmark::DoNotOptimize(out.data.data()); });
#if defined(DP_HAVE_OPENCV)
    std::fill(out.data.begin(), out.data.end(), 0u);
    cv_box(img, out, k);
    if (exact("OpenCV cv::boxFilter"))
      bench.time("box: OpenCV cv::boxFilter", "K", x, px, [&] { cv_box(img, out, k); benchmark::DoNotOptimize(out.data.data()); });
#endif
  }

  ctx.result.add_check("every table and box sum matches the reference", bench.failures.empty(),
                       bench.failures.empty()
                           ? fmt::format("{} results: tables equal to uint64 sums mod 2^32, box sums equal to double-precision direct sums",
                                         bench.checked)
                           : fmt::format("{} of {} differ; first: {}", bench.failures.size(), bench.checked, bench.failures.front()));

  // --- Headlines ---
  const auto& r = ctx.result;
  const auto mpx = [&](const std::string& s, double x) -> std::string {
    const auto* p = r.point_at(s, x);
    return p ? fmt::format("{:.0f}", p->throughput) : std::string("-");
  };
  if (const auto* s = r.find_series("table: serial"); s && !s->points.empty()) {
    const double x = s->points.back().x;
    std::string line = fmt::format("serial {}, SIMD row scan {}", mpx("table: serial", x), mpx(kSimdName, x));
    for (const int tc : thread_counts)
      line += fmt::format(", scan-propagate x{} {}", tc, mpx(fmt::format("table: scan then propagate, {} thread{}", tc, tc > 1 ? "s" : ""), x));
    if (r.point_at("table: OpenCV cv::integral", x)) line += fmt::format(", OpenCV {}", mpx("table: OpenCV cv::integral", x));
    if (r.point_at(kGpuKernels, x))
      line += fmt::format(", GPU kernels {} (blocked columns {}, 8 loads ahead {}; the row pass alone {}; upload {}, download {})",
                          mpx(kGpuKernels, x), mpx(kGpuBlocked, x), mpx(kGpuBatched, x), mpx(kGpuRows, x), mpx(kGpuUpload, x),
                          mpx(kGpuDownload, x));
    ctx.result.headlines.push_back({fmt::format("building a table of {:.0f} Mpixel (Mpixel/s)", x / 1e6), line});
  }
  for (const double k : {3.0, 63.0})
    if (r.point_at("box: running sums", k))
      ctx.result.headlines.push_back({fmt::format("box {0:.0f} x {0:.0f} at {1} x {2} (Mpixel/s)", k, img.width, img.height),
                                      fmt::format("running sums {}, table lookups {}, table built each time {}, OpenCV {}{}",
                                                  mpx("box: running sums", k), mpx("box: table lookups (table ready)", k),
                                                  mpx("box: table built each time", k), mpx("box: OpenCV cv::boxFilter", k),
                                                  k <= kNaiveMaxK ? fmt::format(", naive {}", mpx("box: naive", k)) : std::string())});

  std::vector<std::string> table_series = {"table: serial", kSimdName};
  for (const int tc : thread_counts) table_series.push_back(fmt::format("table: scan then propagate, {} thread{}", tc, tc > 1 ? "s" : ""));
  table_series.push_back("table: OpenCV cv::integral");
  if (gpu.available()) table_series.insert(table_series.end(), {kGpuKernels, kGpuBlocked, kGpuBatched, kGpuRows, kGpuUpload, kGpuDownload});
  ctx.result.plots.push_back(dp::PlotSpec{.name = "table", .title = "building a summed-area table (u8 -> uint32)",
                                          .xlabel = "image pixels", .ylabel = "Mpixel/s (pixels / time)",
                                          .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = false,
                                          .variants = table_series});
  std::vector<std::string> box_series = {"box: naive", "box: running sums", "box: table lookups (table ready)", "box: table built each time",
                                         "box: OpenCV cv::boxFilter"};
  ctx.result.plots.push_back(dp::PlotSpec{.name = "box", .title = fmt::format("K x K box sums, {} x {} u8 -> uint32", img.width, img.height),
                                          .xlabel = "kernel size K (K x K)", .ylabel = "Mpixel/s (pixels / time)",
                                          .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true, .variants = box_series});
  ctx.result.series.erase(std::remove_if(ctx.result.series.begin(), ctx.result.series.end(), [](const dp::Series& s) { return s.points.empty(); }),
                          ctx.result.series.end());
  gpu.finish(ctx);
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "integral-images",
             .title = "Integral images: summed-area tables, serial and parallel scans, box filters of any size",
             .module = 4,
             .level = 3,
             .tracks = {"cv"},
             .question = "What does a summed-area table cost to build, and what does it buy?",
             .guide_page = "m4/integral-images.md",
             .source = "src/labs/m4/integral_images.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("scale", "the box-filter image: camera.png tiled scale x scale (1: 512 x 512, 4: 2048 x 2048)", 4, 1, 1, 8),
               dp::ParamSpec::integer("threads", "threads for the parallel scan and cv::setNumThreads (0: every CPU this process may use)", 0, 0, 0, 256)},
    .run = run,
});
