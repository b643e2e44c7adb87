// gpu-conv — Why do image filters on the GPU pad their input and tile it through shared memory?
//
// A 2D convolution ("same" size, zeros outside the image) of a W x W fp32 image with a K x K
// filter (K = 5 by default: 25 multiply-adds per pixel). Variants (shaders in shaders/conv/):
//   cpu            a plain loop nest on this CPU, with the same bounds checks as naive
//   naive          one thread per pixel; every tap checks the image bounds
//   padded         the input carries a border of K/2 zeros (made once, on upload): no checks
//   shared-tiled   each 16 x 16 workgroup stages its (16 + K - 1)^2 input patch in shared
//                  memory, so each input pixel is read from global memory ~once, not K^2 times
//   rows           padded, 64 x 4 workgroups, each thread computing 8 rows of one column (each
//                  input row read once into registers, not once per output row)
// Checked against a double-precision reference; times are GPU-clock per filtered image.
//
// --param study=on adds the variants that found why the first three fall off a cliff at 4096 x
// 4096 on a big GPU, each changing one thing (the guide's "how we found it"): the row pitch of
// the output, of both images, the workgroup shape, and two copies that move the same bytes with
// no arithmetic (the memory floor for this layout, and for a flat array).
//
//   dontpanic run gpu-conv                W = 256 ... 8192 on a GPU (... 1024 on lavapipe)
//   dontpanic run gpu-conv --quick        W = 128 (256 on a GPU), with the study's variants
//   --param k=9 --param max-side=2048 --param study=on
#if defined(DP_HAVE_GPU)

#include <algorithm>
#include <array>
#include <map>
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

// Where rows start: `natural` packs them (W floats apart, W + K - 1 for the padded input);
// `odd-lines` rounds each row up to an odd number of 128-byte lines, so that rows never sit a
// large power of two bytes apart (at W = 4096 a natural row is exactly 16 KiB).
enum class Pitch { natural, odd_lines };

struct GpuVariant {
  std::string name;
  std::string shader;
  bool padded_input;
  Pitch in_pitch = Pitch::natural, out_pitch = Pitch::natural;
  std::uint32_t tx = 16, ty = 16, rows = 1;  // workgroup shape; output rows per thread
  bool study = false;                        // only with --param study=on
  bool copy = false;                         // moves the bytes, computes nothing (out = image)
};

constexpr Pitch kNat = Pitch::natural, kOdd = Pitch::odd_lines;
const std::vector<GpuVariant> kVariants = {
    {"naive", "conv/naive.comp", false},
    {"padded", "conv/padded.comp", true},
    {"shared-tiled", "conv/tiled.comp", true},
    {"rows", "conv/padded.comp", true, kNat, kNat, 64, 4, 8},
    // The study: each differs from `padded` (or `rows`, or `shared-tiled`) in one thing.
    {"padded, odd out pitch", "conv/padded.comp", true, kNat, kOdd, 16, 16, 1, true},
    {"padded, odd pitches", "conv/padded.comp", true, kOdd, kOdd, 16, 16, 1, true},
    {"padded, 64 x 4 groups", "conv/padded.comp", true, kNat, kNat, 64, 4, 1, true},
    {"shared-tiled, odd pitches", "conv/tiled.comp", true, kOdd, kOdd, 16, 16, 1, true},
    {"rows, odd pitches", "conv/padded.comp", true, kOdd, kOdd, 64, 4, 8, true},
    {"copy", "conv/copy.comp", true, kNat, kNat, 16, 16, 1, true, true},
    {"copy, odd pitches", "conv/copy.comp", true, kOdd, kOdd, 16, 16, 1, true, true},
    {"copy, flat", "conv/copy_flat.comp", false, kNat, kNat, 256, 1, 1, true, true},
};

// Floats per row: at least `floats`, in whole 128-byte lines (32 floats), an odd number of them.
std::uint32_t odd_lines(std::uint32_t floats) {
  std::uint32_t lines = (floats + 31) / 32;
  return (lines | 1u) * 32;
}

struct Layout {
  std::uint32_t in_pitch, out_pitch;
};

Layout layout_of(const GpuVariant& v, std::uint32_t side, int k) {
  const std::uint32_t in = v.padded_input ? side + static_cast<std::uint32_t>(k) - 1 : side;
  return {v.in_pitch == kOdd ? odd_lines(in) : in, v.out_pitch == kOdd ? odd_lines(side) : side};
}

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

// The image with k/2 zeros on every side ((side + k - 1) rows), rows `pitch` floats apart.
std::vector<float> pad(const std::vector<float>& img, int side, int k, std::uint32_t pitch) {
  const int rows = side + k - 1, r = k / 2;
  std::vector<float> p(static_cast<std::size_t>(rows) * pitch, 0.0f);
  for (int y = 0; y < side; ++y)
    std::copy_n(img.begin() + static_cast<std::ptrdiff_t>(y) * side, side,
                p.begin() + static_cast<std::ptrdiff_t>(y + r) * pitch + r);
  return p;
}

// The image itself, rows `pitch` floats apart (naive's unpadded input).
std::vector<float> pitched(const std::vector<float>& img, int side, std::uint32_t pitch) {
  std::vector<float> p(static_cast<std::size_t>(side) * pitch, 0.0f);
  for (int y = 0; y < side; ++y)
    std::copy_n(img.begin() + static_cast<std::ptrdiff_t>(y) * side, side, p.begin() + static_cast<std::ptrdiff_t>(y) * pitch);
  return p;
}

// The side x side pixels of an output whose rows are `pitch` floats apart, packed.
std::vector<float> unpitch(const std::vector<float>& out, int side, std::uint32_t pitch) {
  std::vector<float> p(static_cast<std::size_t>(side) * side);
  for (int y = 0; y < side; ++y)
    std::copy_n(out.begin() + static_cast<std::ptrdiff_t>(y) * pitch, side, p.begin() + static_cast<std::ptrdiff_t>(y) * side);
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

// How many workgroups cover a side x side image for this variant.
Groups groups_of(const GpuVariant& v, std::uint32_t side) {
  if (v.copy && !v.padded_input)  // the flat copy: a grid-stride loop over side^2 / 4 vec4s
    return {std::clamp<std::uint32_t>(groups_for(std::uint64_t(side) * side / 4, v.tx), 1, 65535)};
  return {(side + v.tx - 1) / v.tx, (side + v.ty * v.rows - 1) / (v.ty * v.rows)};
}

void run(dp::LabContext& ctx) {
  auto device_owner = open_lab_device(ctx, {.timestamps = true});
  Device& device = *device_owner;
  const int k = static_cast<int>(ctx.params.integer("k"));
  if (k % 2 == 0) throw dp::Error(fmt::format("k={} is even; a centred filter needs an odd size such as {}", k, k + 1));
  const bool study = ctx.params.text("study") == "on";
  long long max_side = ctx.params.integer("max-side");
  if (max_side == 0) max_side = ctx.quick ? (device.is_cpu() ? 128 : 256) : (device.is_cpu() ? 1024 : 8192);
  if (max_side % 16 != 0)
    throw dp::Error(fmt::format("max-side={} is not a multiple of 16 (the tile); use {}", max_side, max_side / 16 * 16 + 16));
  // The padded copy (with the odd-lines pitch) is the biggest buffer; a side the device cannot
  // bind is capped.
  max_side = cap_to_device(ctx, device.report(), "max-side", max_side, 16, 3, [k](long long side) {
    const auto s = static_cast<std::uint32_t>(side);
    return static_cast<std::uint64_t>(s + k - 1) * odd_lines(s + static_cast<std::uint32_t>(k) - 1) * 4;
  });
  std::vector<int> sides;
  for (long long s = std::min<long long>(256, max_side); s <= max_side; s *= 2) sides.push_back(static_cast<int>(s));
  if (sides.back() != max_side) sides.push_back(static_cast<int>(max_side));

  std::vector<GpuVariant> variants;
  std::vector<Kernel> kernels;
  for (const auto& v : kVariants) {
    if (v.study && !study) continue;
    variants.push_back(v);
    kernels.emplace_back(device, KernelSpec{.source = builtin_shader(v.shader, {{"KS", std::to_string(k)},
                                                                              {"TX", std::to_string(v.tx)},
                                                                              {"TY", std::to_string(v.ty)},
                                                                              {"RY", std::to_string(v.rows)}}),
                                            .buffers = 3, .push_bytes = 16});
  }
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
    const auto s32 = static_cast<std::uint32_t>(side);
    std::vector<float> img(pixels), out(pixels);
    for (auto& x : img) x = pixel(rng);
    const auto want = reference_conv(img, w, side, k);
    const std::vector<double> want_copy(img.begin(), img.end());
    auto check = [&](const std::string& name, const std::vector<float>& got, const std::vector<double>& expected) {
      ++runs;
      const auto r = dp::compare(std::span<const float>(got), std::span<const double>(expected), tol);
      if (!r.passed) failures.push_back(fmt::format("{} at {}x{}: {}", name, side, side, r.detail));
    };
    const double x = side, flops = 2.0 * static_cast<double>(pixels) * k * k;
    if (side <= 1024 || !device.is_cpu()) {
      cpu_conv(img, w, out, side, k);
      check("cpu", out, want);
      const dp::Stats s = ctx.measure(fmt::format("cpu/{}", side), [&] {
        cpu_conv(img, w, out, side, k);
        benchmark::DoNotOptimize(out.data());
      });
      ctx.result.add_point("cpu", "side", x, s, flops / s.median_ns, "GFLOP/s");
    }
    // One input buffer per (padded?, pitch) that some variant reads, made on first use.
    std::map<std::pair<bool, std::uint32_t>, Buffer> inputs;
    auto input_for = [&](const GpuVariant& v, const Layout& l) -> Buffer& {
      auto key = std::make_pair(v.padded_input, l.in_pitch);
      if (auto it = inputs.find(key); it != inputs.end()) return it->second;
      const auto host = v.padded_input ? pad(img, side, k, l.in_pitch) : pitched(img, side, l.in_pitch);
      Buffer& b = inputs.emplace(key, Buffer(device, host.size() * 4)).first->second;
      b.upload(host);
      return b;
    };
    Buffer gout(device, std::size_t(odd_lines(s32)) * s32 * 4);
    for (std::size_t v = 0; v < variants.size(); ++v) {
      const GpuVariant& var = variants[v];
      const Layout l = layout_of(var, s32, k);
      Buffer& gin = input_for(var, l);
      const std::array<std::uint32_t, 4> push{s32, s32, l.in_pitch, l.out_pitch};
      auto record = [&](Sequence& q) { q.dispatch(kernels[v], {gin, gw, gout}, groups_of(var, s32), push); };
      Sequence seq(device);
      seq.begin();
      record(seq);
      seq.end();
      gout.upload(std::vector<float>(gout.bytes() / 4, std::nanf("")));
      seq.run();
      const auto got = gout.download_vector<float>();
      if (var.copy && !var.padded_input)  // the flat copy moves the (unpadded) image as it lies
        check(var.name, std::vector<float>(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(pixels)), want_copy);
      else
        check(var.name, unpitch(got, side, l.out_pitch), var.copy ? want_copy : want);
      const dp::Stats s = gpu_time_repeated(device, record, reps, gpu_warmup_seconds(ctx));
      ctx.result.add_point(var.name, "side", x, s, var.copy ? 8.0 * static_cast<double>(pixels) / s.median_ns : flops / s.median_ns,
                           var.copy ? "GB/s" : "GFLOP/s");
    }
  }
  ctx.result.add_check("every variant matches the double-precision reference", failures.empty(),
                       failures.empty() ? fmt::format("{} images, every pixel within {}", runs, tol.describe())
                                        : fmt::format("{} of {} differ; first: {}", failures.size(), runs, failures.front()));
  std::vector<std::string> convs, all;
  for (const auto& v : variants) {
    all.push_back(v.name);
    if (v.copy) continue;
    if (!v.study) convs.push_back(v.name);
    const auto* s = ctx.result.find_series(v.name);
    ctx.result.headlines.push_back({fmt::format("{} at {} x {}", v.name, s->points.back().x, s->points.back().x),
                                    fmt::format("{:.3g} GFLOP/s", s->points.back().throughput)});
  }
  convs.insert(convs.begin(), "cpu");
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "gflops", .title = fmt::format("2D convolution, {} x {} filter", k, k),
      .xlabel = "image side (pixels)", .ylabel = "GFLOP/s (2 k^2 per pixel / time)",
      .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true, .variants = convs});
  if (study)
    ctx.result.plots.push_back(dp::PlotSpec{
        .name = "study", .title = "What changes the time: one thing at a time", .xlabel = "image side (pixels)",
        .ylabel = "ns per image (GPU clock)", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = all});
  ctx.result.notes.push_back("The padded copy is made once on the CPU and uploaded; its cost is not in the "
                             "padded, shared-tiled and rows times. Copies count 8 bytes per pixel (one read, one write).");
  add_validation_check(device, ctx);
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "gpu-conv",
             .title = "GPU 2D convolution: naive, padded, shared-memory tiled, rows per thread",
             .module = 2,
             .level = 3,
             .tracks = {"cv"},  // the vision track lists it; the image-filters page links to it
             .question = "Why do image filters on the GPU pad their input and tile it through shared memory?",
             .guide_page = "m2/gpu-conv.md",
             .source = "src/labs/m2/gpu_conv.cpp",
             .requires_gpu = dp::gpu::kAnyVulkanDevice},
    .params = {dp::ParamSpec::integer("k", "filter size (odd)", 5, 5, 1, 15),
               dp::ParamSpec::integer("max-side", "largest image side, a multiple of 16 (0 = 8192 on a GPU, 1024 "
                                                  "on a CPU device)", 0, 0, 0, 16384),
               dp::ParamSpec::choice("study", "also run the variants that each change one thing (pitch, shape, "
                                              "copies); on in quick mode, so that ./test checks them all", {"off", "on"}, "off", "on")},
    .run = run,
});

#endif  // DP_HAVE_GPU
