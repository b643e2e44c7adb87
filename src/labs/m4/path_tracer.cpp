// path-tracer — How many light paths per second does a path tracer trace on CPU threads, and on a GPU?
//
// What: a small path tracer (labs/m4/path_tracer.hpp): the "spheres on a ground sphere" scene
//   (about 490 spheres: Lambertian diffuse, metal with fuzz, dielectric glass, under an emissive
//   sky), a fixed camera, up to `depth` bounces per path, nearest hits found through the flat-array
//   BVH of the trees-as-arrays lab (labs/m1/bvh.hpp), built once on the CPU. Variants:
//     cpu, N threads   N = 1, 2, 4 ... up to `threads` (0: every CPU); each thread takes the next
//                      16 x 16 tile from a shared counter
//     vulkan           shaders/path_tracer/trace.comp: one thread per pixel, the BVH's node array
//                      uploaded as a storage buffer, the same estimator (the random numbers are a
//                      hash of (pixel, sample, draw), the same on both); lavapipe where there is no
//                      GPU, skipped with a note without Vulkan
// Reported: camera samples per second (Msamples/s) and ray segments per second (Mrays/s).
// Check (before timing, on a check-size image): a reference of ref-spp samples per pixel (the CPU
//   tracer, other sample numbers than the variants') gives each pixel's mean and variance; each
//   variant at check-spp and 4 x check-spp must be within 1.25 x the RMSE that Monte Carlo noise
//   alone gives at that spp (path_tracer.hpp: rmse_check). CPU and GPU paths diverge wherever
//   float rounding differs, so the comparison is statistical; a wrong material or a broken BVH
//   biases the image and fails it (tests/labs/path_tracer_test.cpp shows it failing).
// Output: the CPU image (the GPU's when cpu-spp=0), clamped and gamma 2.2, as path-tracer.png in
//   the run's output folder (--out; results/ by default).
// Run:  dontpanic run path-tracer                   (400 x 300, 32 spp)
//       dontpanic run path-tracer --quick           (64 x 48, 4 spp)
//       on a big GPU: --param width=1920 --param height=1080 --param spp=1024 --param cpu-spp=2
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/thread_team.hpp"
#include "labs/m1/bvh.hpp"
#include "labs/m4/path_tracer.hpp"
#if defined(DP_HAVE_GPU)
#include "gpu/gpu.hpp"
#include "labs/gpu_lab.hpp"
#include "labs/m4/path_tracer_gpu.hpp"
#endif
#if defined(DP_HAVE_STB)
#include <stb_image_write.h>  // libstb (Debian libstb-dev) holds the implementation
#endif

namespace {

using dp::pt::Image;
using dp::pt::Moments;
using dp::pt::RenderSpec;
using dp::pt::SceneView;

constexpr std::uint32_t kSceneSeed = 1;
constexpr std::uint32_t kReferenceFirstSample = 1u << 24;  // the reference's samples: none of the variants'

dp::Stats stats_of_ns(std::vector<double> ns) {
  std::sort(ns.begin(), ns.end());
  const auto at = [&](double q) { return ns[static_cast<std::size_t>(q * static_cast<double>(ns.size() - 1) + 0.5)]; };
  return {.median_ns = at(0.5), .p10_ns = at(0.1), .p90_ns = at(0.9), .min_ns = ns.front(), .reps = static_cast<int>(ns.size())};
}

// ---------------------------------------------------------------------------------------------
// The variants
// ---------------------------------------------------------------------------------------------

// Renders `spec` on the CPU with `threads` threads: the image and the rays traced.
std::uint64_t render_cpu(const SceneView& view, const RenderSpec& spec, int threads, Image& out) {
  return dp::pt::render(view, spec, threads, out);
}


// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

// "cpu, 2 threads at 8 spp: RMSE 0.0123 <= 0.0150 (noise alone: 0.0120)"
std::string describe(const std::string& who, std::uint32_t spp, const dp::pt::RmseCheck& c) {
  return fmt::format("{} at {} spp: RMSE {:.4f} {} {:.4f} (noise alone: {:.4f})", who, spp, c.rmse, c.passed ? "<=" : ">", c.bound,
                     c.expected);
}

void write_png(dp::LabContext& ctx, const Image& img, const std::string& from) {
#if defined(DP_HAVE_STB)
  const std::filesystem::path dir = ctx.out_dir.empty() ? "." : ctx.out_dir, path = dir / "path-tracer.png";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const auto pixels = dp::pt::to_srgb8(img);
  if (stbi_write_png(path.c_str(), img.width, img.height, 3, pixels.data(), img.width * 3) == 0) {
    // The image is a by-product: a folder we may not write to costs the picture, not the run.
    ctx.result.notes.push_back(fmt::format("No PNG: could not write {} (is the folder writable? --param png=off "
                                           "skips it)", std::filesystem::absolute(path).string()));
    return;
  }
  const auto where = std::filesystem::absolute(path).lexically_normal().string();
  ctx.result.headlines.push_back({"image", where});
  ctx.result.notes.push_back(fmt::format("The image ({}, {} x {}, clamped to [0, 1], gamma 2.2) is {}", from, img.width, img.height, where));
  ctx.log << fmt::format("  wrote {}\n", where);
#else
  (void)img, (void)from;
  ctx.result.notes.push_back("No PNG written: this build has no stb_image_write (Debian: apt install libstb-dev, then configure again)");
#endif
}

void run(dp::LabContext& ctx) {
  const int width = static_cast<int>(ctx.params.integer("width")), height = static_cast<int>(ctx.params.integer("height"));
  const auto spp = static_cast<std::uint32_t>(ctx.params.integer("spp"));
  const long long cpu_spp_param = ctx.params.integer("cpu-spp");
  const auto cpu_spp = static_cast<std::uint32_t>(cpu_spp_param < 0 ? spp : cpu_spp_param);
  const int depth = static_cast<int>(ctx.params.integer("depth"));
  const auto check_spp = static_cast<std::uint32_t>(ctx.params.integer("check-spp"));
  const auto ref_spp = static_cast<std::uint32_t>(ctx.params.integer("ref-spp"));
  const int cpus = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int max_threads = ctx.params.integer("threads") == 0 ? cpus : static_cast<int>(ctx.params.integer("threads"));
  if (ref_spp < 4 * check_spp)
    throw dp::Error(fmt::format("ref-spp={} is below 4 x check-spp = {}: the reference must be less noisy than the images it "
                                "judges; use ref-spp={} or more", ref_spp, 4 * check_spp, 16 * check_spp));

  const dp::pt::Scene scene = dp::pt::make_scene(kSceneSeed);
  const dp::bvh::FlatBvh bvh(scene.spheres);
  const SceneView view{scene, &bvh};
  ctx.log << fmt::format("  scene: {} spheres, BVH of {} nodes ({} bytes)\n", scene.spheres.size(), bvh.node_count(), bvh.bytes());

#if defined(DP_HAVE_GPU)
  std::unique_ptr<dp::gpu::Device> device;
  std::optional<dp::pt::GpuTracer> gpu;
#endif
  if (ctx.params.text("gpu") == "auto") {
#if defined(DP_HAVE_GPU)
    try {
      device = dp::gpu::open_lab_device(ctx, {.timestamps = true});
      gpu.emplace(*device, scene, bvh);
    } catch (const dp::Error& e) {
      ctx.result.notes.push_back(fmt::format("vulkan skipped: {}", e.what()));
    }
#else
    ctx.result.notes.push_back("vulkan skipped: this build has no Vulkan (configure with the Vulkan SDK / Debian libvulkan-dev)");
#endif
  }

  // Check: each variant at two spp levels against the reference, on a small image.
  const int check_w = ctx.quick ? 48 : 96, check_h = ctx.quick ? 36 : 72;
  const Moments ref = dp::pt::reference_moments(view, {check_w, check_h, kReferenceFirstSample, ref_spp, depth}, cpus);
  std::vector<std::string> passed, failed;
  auto check = [&](const std::string& who, const std::function<void(const RenderSpec&, Image&)>& render_fn) {
    for (const std::uint32_t s : {check_spp, 4 * check_spp}) {
      Image img;
      render_fn({check_w, check_h, 0, s, depth}, img);
      const auto c = dp::pt::rmse_check(img, s, ref);
      (c.passed ? passed : failed).push_back(describe(who, s, c));
    }
  };
  check("cpu", [&](const RenderSpec& s, Image& img) { render_cpu(view, s, max_threads, img); });
#if defined(DP_HAVE_GPU)
  if (gpu) check("vulkan", [&](const RenderSpec& s, Image& img) { gpu->render(s, img); });
#endif
  ctx.result.add_check(fmt::format("every variant within {} x the Monte Carlo noise of a {}-spp reference ({} x {} pixels)",
                                   dp::pt::kSlack, ref_spp, check_w, check_h),
                       failed.empty(), fmt::format("{}", fmt::join(failed.empty() ? passed : failed, "; ")));
  if (!failed.empty()) return;

  // Timing.
  const double pixels = double(width) * height;
  const int reps = ctx.quick ? 1 : 3;
  Image shown;
  std::string shown_from;
  std::vector<std::string> variants;
  const RenderSpec cpu_spec{width, height, 0, cpu_spp, depth};
  if (cpu_spp > 0) {
    std::vector<int> thread_counts;
    for (int t = 1; t < max_threads; t *= 2) thread_counts.push_back(t);
    thread_counts.push_back(max_threads);
    for (const int t : thread_counts) {
      const std::string name = fmt::format("cpu, {} thread{}", t, t == 1 ? "" : "s");
      ctx.log << fmt::format("  {}: {} x {} at {} spp\n", name, width, height, cpu_spp);
      std::vector<double> ns;
      std::uint64_t rays = 0;
      Image img;
      for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        rays = render_cpu(view, cpu_spec, t, img);
        ns.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count());
      }
      const dp::Stats st = stats_of_ns(ns);
      const double samples = pixels * cpu_spp;
      ctx.result.add_point(name, "spp", cpu_spp, st, samples / st.median_ns * 1e3, "Msamples/s");
      ctx.result.headlines.push_back({name, fmt::format("{:.3g} Msamples/s, {:.3g} Mrays/s", samples / st.median_ns * 1e3,
                                                        double(rays) / st.median_ns * 1e3)});
      variants.push_back(name);
      if (t == max_threads) shown = std::move(img), shown_from = fmt::format("{}, {} spp", name, cpu_spp);
    }
  } else {
    ctx.result.notes.push_back("cpu variants not timed (cpu-spp=0); they were checked at the check size");
  }
#if defined(DP_HAVE_GPU)
  if (gpu) {
    const RenderSpec spec{width, height, 0, spp, depth};
    Image img;
    const std::uint64_t rays = gpu->render(spec, img);
    const dp::Stats st = dp::gpu::gpu_time_repeated(*device, [&](dp::gpu::Sequence& seq) { gpu->record(seq, spec); },
                                                   dp::gpu::gpu_reps(ctx), dp::gpu::gpu_warmup_seconds(ctx));
    const double samples = pixels * spp;
    ctx.result.add_point("vulkan", "spp", spp, st, samples / st.median_ns * 1e3, "Msamples/s");
    ctx.result.headlines.push_back(
        {"vulkan", fmt::format("{:.3g} Msamples/s, {:.3g} Mrays/s", samples / st.median_ns * 1e3, double(rays) / st.median_ns * 1e3)});
    variants.push_back("vulkan");
    if (shown.rgb.empty()) shown = std::move(img), shown_from = fmt::format("vulkan, {} spp", spp);
    if (const auto* c = ctx.result.find_series(fmt::format("cpu, {} threads", max_threads)); c && max_threads > 1)
      ctx.result.headlines.push_back({fmt::format("vulkan / cpu, {} threads", max_threads),
                                      fmt::format("{:.3g} x (samples/s)", ctx.result.find_series("vulkan")->points.back().throughput /
                                                                              c->points.back().throughput)});
    dp::gpu::add_validation_check(*device, ctx);
  }
#endif
  if (!shown.rgb.empty() && ctx.params.text("png") == "on") write_png(ctx, shown, shown_from);
  ctx.result.plots.push_back(dp::PlotSpec{.name = "samples", .title = fmt::format("Path tracing {} x {}, up to {} bounces", width, height, depth),
                                          .xlabel = "samples per pixel", .ylabel = "Msamples/s (camera samples)",
                                          .y = dp::PlotSpec::Y::throughput, .logx = false, .logy = true, .variants = variants});
  ctx.result.notes.push_back("Mrays/s counts every ray segment (a camera ray and each bounce); Msamples/s counts camera "
                             "samples (paths). GPU times are GPU-clock; CPU times wall-clock per image.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "path-tracer",
             .title = "A path tracer on CPU threads and in Vulkan compute: samples per second",
             .module = 4,
             .level = 3,
             .tracks = {"cg"},
             .question = "How many light paths per second does a path tracer trace on CPU threads, and on a GPU?",
             .guide_page = "m4/path-tracer.md",
             .source = "src/labs/m4/path_tracer.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("width", "image width (pixels)", 400, 64, 8, 8192),
               dp::ParamSpec::integer("height", "image height (pixels)", 300, 48, 8, 8192),
               dp::ParamSpec::integer("spp", "camera samples per pixel (the Vulkan variant; the CPU's too unless cpu-spp says)",
                                      32, 4, 1, 1 << 20),
               dp::ParamSpec::integer("cpu-spp", "samples per pixel for the timed CPU variants (-1: spp; 0: skip their timing)",
                                      -1, -1, -1, 1 << 20),
               dp::ParamSpec::integer("depth", "most bounces per path", 8, 8, 1, 64),
               dp::ParamSpec::integer("threads", "most CPU threads (0: every CPU); timed at 1, 2, 4 ... and this", 0, 0, 0, 1024),
               dp::ParamSpec::integer("check-spp", "the check's lower spp level (the higher is 4 x)", 8, 4, 1, 4096),
               dp::ParamSpec::integer("ref-spp", "the check's reference spp (at least 4 x check-spp)", 256, 64, 4, 1 << 20),
               dp::ParamSpec::choice("gpu", "trace on the Vulkan device too (--gpu picks it; lavapipe where there is no GPU)",
                                     {"auto", "off"}, "auto"),
               dp::ParamSpec::choice("png", "write the image to path-tracer.png in the output folder (--out)", {"on", "off"}, "on")},
    .run = run,
});
