// gpu-conv — Why do image filters on the GPU pad their input and tile it through shared memory?
//
// A 2D convolution ("same" size, zeros outside the image) of a W x W fp32 image with a K x K
// filter (K = 5 by default: 25 multiply-adds per pixel). Variants (shaders in shaders/conv/):
//   cpu            a plain loop nest on this CPU, with the same bounds checks as naive
//   naive          one thread per pixel; every tap checks the image bounds
//   padded         the input carries a border of K/2 zeros (made once, on upload): no checks
//   shared-tiled   each 16 x 16 workgroup stages its (16 + K - 1)^2 input patch in shared
//                  memory, so each input pixel is read from global memory ~once, not K^2 times
// Checked against a double-precision reference; times are GPU-clock per filtered image.
//
//   dontpanic run gpu-conv                W = 256 ... 4096 on a GPU (... 1024 on lavapipe)
//   dontpanic run gpu-conv --quick        W = 128 (256 on a GPU)
//   --param k=9 --param max-side=2048
#if defined(DP_HAVE_GPU)

#include <algorithm>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/sweep.hpp"
#include "gpu/gpu.hpp"
#include "labs/gpu_lab.hpp"

namespace {

using namespace dp::gpu;

// ---------------------------------------------------------------------------------------------
// The variants
// ---------------------------------------------------------------------------------------------

struct GpuVariant {
  std::string name;
  std::string shader;
  bool padded_input;
};

const std::vector<GpuVariant> kVariants = {
    {"naive", "conv/naive.comp", false},
    {"padded", "conv/padded.comp", true},
    {"shared-tiled", "conv/tiled.comp", true},
};

void cpu_conv(const std::vector<float>& img, const std::vector<float>& w, std::vector<float>& out, int side, int k) {
  const int r = k / 2;
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) {
      float sum = 0;
      for (int dy = 0; dy < k; ++dy)
        for (int dx = 0; dx < k; ++dx) {
          const int ix = x + dx - r, iy = y + dy - r;
          if (ix >= 0 && ix < side && iy >= 0 && iy < side)
            sum += img[static_cast<std::size_t>(iy * side + ix)] * w[static_cast<std::size_t>(dy * k + dx)];
        }
      out[static_cast<std::size_t>(y * side + x)] = sum;
    }
}

// The image with k/2 zeros on every side: (side + k - 1)^2.
std::vector<float> pad(const std::vector<float>& img, int side, int k) {
  const int ps = side + k - 1, r = k / 2;
  std::vector<float> p(static_cast<std::size_t>(ps) * ps, 0.0f);
  for (int y = 0; y < side; ++y)
    std::copy_n(img.begin() + static_cast<std::ptrdiff_t>(y) * side, side, p.begin() + static_cast<std::ptrdiff_t>(y + r) * ps + r);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Reference
// ---------------------------------------------------------------------------------------------

std::vector<double> reference_conv(const std::vector<float>& img, const std::vector<float>& w, int side, int k) {
  const int r = k / 2;
  std::vector<double> out(static_cast<std::size_t>(side) * side, 0.0);
  for (int y = 0; y < side; ++y)
    for (int dy = 0; dy < k; ++dy) {
      const int iy = y + dy - r;
      if (iy < 0 || iy >= side) continue;
      for (int dx = 0; dx < k; ++dx) {
        const double wt = w[static_cast<std::size_t>(dy * k + dx)];
        for (int x = std::max(0, r - dx); x < std::min(side, side + r - dx); ++x)
          out[static_cast<std::size_t>(y * side + x)] += wt * img[static_cast<std::size_t>(iy * side + x + dx - r)];
      }
    }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  auto device_owner = open_lab_device(ctx, {.timestamps = true});
  Device& device = *device_owner;
  const int k = static_cast<int>(ctx.params.integer("k"));
  if (k % 2 == 0) throw dp::Error(fmt::format("k={} is even; a centred filter needs an odd size such as {}", k, k + 1));
  long long max_side = ctx.params.integer("max-side");
  if (max_side == 0) max_side = ctx.quick ? (device.is_cpu() ? 128 : 256) : (device.is_cpu() ? 1024 : 4096);
  if (max_side % 16 != 0)
    throw dp::Error(fmt::format("max-side={} is not a multiple of 16 (the tile); use {}", max_side, max_side / 16 * 16 + 16));
  // The padded copy is the biggest of the three buffers; a side the device cannot bind is capped.
  max_side = cap_to_device(ctx, device.report(), "max-side", max_side, 16, 3, [k](long long side) {
    return static_cast<std::uint64_t>((side + k - 1) * (side + k - 1)) * 4;
  });
  std::vector<int> sides;
  for (long long s = std::min<long long>(256, max_side); s <= max_side; s *= 2) sides.push_back(static_cast<int>(s));
  if (sides.back() != max_side) sides.push_back(static_cast<int>(max_side));

  std::vector<Kernel> kernels;
  for (const auto& v : kVariants)
    kernels.emplace_back(device, KernelSpec{.source = builtin_shader(v.shader, {{"KS", std::to_string(k)}}),
                                            .buffers = 3, .push_bytes = 8});
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f), weight(-1.0f, 1.0f);
  std::vector<float> w(static_cast<std::size_t>(k * k));
  for (auto& x : w) x = weight(rng);
  Buffer gw(device, w.size() * 4);
  gw.upload(w);

  const dp::Tolerance tol{1e-5 * k, 1e-5};  // fp32 sums of k*k terms of size <= 1
  const int reps = gpu_reps(ctx);
  std::vector<std::string> failures;
  int runs = 0;
  const dp::SweepOptions sweep_options{
      .label = [k](std::uint64_t side) { return fmt::format("{} x {}, {} x {} filter", side, side, k, k); },
      .weight = [](std::uint64_t side) { return double(side * side); }};
  for (int side : dp::Sweep(ctx, "image", sides, sweep_options)) {
    const std::size_t pixels = static_cast<std::size_t>(side) * side;
    std::vector<float> img(pixels), out(pixels);
    for (auto& x : img) x = pixel(rng);
    const auto padded = pad(img, side, k);
    const auto want = reference_conv(img, w, side, k);
    Buffer gimg(device, pixels * 4), gpad(device, padded.size() * 4), gout(device, pixels * 4);
    gimg.upload(img);
    gpad.upload(padded);
    auto check = [&](const std::string& name, const std::vector<float>& got) {
      ++runs;
      const auto r = dp::compare(std::span<const float>(got), std::span<const double>(want), tol);
      if (!r.passed) failures.push_back(fmt::format("{} at {}x{}: {}", name, side, side, r.detail));
    };
    const double x = side, flops = 2.0 * static_cast<double>(pixels) * k * k;
    if (side <= 1024 || !device.is_cpu()) {
      cpu_conv(img, w, out, side, k);
      check("cpu", out);
      const dp::Stats s = ctx.measure(fmt::format("cpu/{}", side), [&] {
        cpu_conv(img, w, out, side, k);
        benchmark::DoNotOptimize(out.data());
      });
      ctx.result.add_point("cpu", "side", x, s, flops / s.median_ns, "GFLOP/s");
    }
    const auto s32 = static_cast<std::uint32_t>(side);
    for (std::size_t v = 0; v < kVariants.size(); ++v) {
      Sequence seq(device);
      seq.begin();
      seq.timestamp();
      seq.dispatch(kernels[v], {kVariants[v].padded_input ? gpad : gimg, gw, gout}, {s32 / 16, s32 / 16},
                   std::array<std::uint32_t, 2>{s32, s32});
      seq.timestamp();
      seq.end();
      gout.upload(std::vector<float>(pixels, std::nanf("")));
      seq.run();
      check(kVariants[v].name, gout.download_vector<float>());
      const dp::Stats s = gpu_time_repeated(device, [&](Sequence& q) {
        q.dispatch(kernels[v], {kVariants[v].padded_input ? gpad : gimg, gw, gout}, {s32 / 16, s32 / 16},
                   std::array<std::uint32_t, 2>{s32, s32});
      }, reps, gpu_warmup_seconds(ctx));
      ctx.result.add_point(kVariants[v].name, "side", x, s, flops / s.median_ns, "GFLOP/s");
    }
  }
  ctx.result.add_check("every variant matches the double-precision reference", failures.empty(),
                       failures.empty() ? fmt::format("{} images, every pixel within {}", runs, tol.describe())
                                        : fmt::format("{} of {} differ; first: {}", failures.size(), runs, failures.front()));
  for (const auto& v : kVariants) {
    const auto* s = ctx.result.find_series(v.name);
    ctx.result.headlines.push_back({fmt::format("{} at {} x {}", v.name, s->points.back().x, s->points.back().x),
                                    fmt::format("{:.3g} GFLOP/s", s->points.back().throughput)});
  }
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "gflops", .title = fmt::format("2D convolution, {} x {} filter", k, k),
      .xlabel = "image side (pixels)", .ylabel = "GFLOP/s (2 k^2 per pixel / time)",
      .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true});
  ctx.result.notes.push_back("The padded copy is made once on the CPU and uploaded; its cost is not in the "
                             "padded and shared-tiled times.");
  add_validation_check(device, ctx);
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "gpu-conv",
             .title = "GPU 2D convolution: naive, padded, shared-memory tiled",
             .module = 2,
             .level = 3,
             .tracks = {},
             .question = "Why do image filters on the GPU pad their input and tile it through shared memory?",
             .guide_page = "m2/gpu-conv.md",
             .source = "src/labs/m2/gpu_conv.cpp",
             .requires_gpu = dp::gpu::kAnyVulkanDevice},
    .params = {dp::ParamSpec::integer("k", "filter size (odd)", 5, 5, 1, 15),
               dp::ParamSpec::integer("max-side", "largest image side, a multiple of 16 (0 = 4096 on a GPU, 1024 "
                                                  "on a CPU device)", 0, 0, 0, 16384)},
    .run = run,
});

#endif  // DP_HAVE_GPU
