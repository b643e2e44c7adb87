// gpu-coopmat — What do tensor cores buy, and what do 16-bit inputs cost in accuracy?
//
// C = A * B for square n x n matrices, with fp32 accumulation and an fp32 C in every variant;
// what changes is how A and B are stored and which unit multiplies them (shaders/matmul/):
//   fp32-tiles    gpu-matmul's best fp32 kernel (vec4.comp): shared-memory tiles, an 8 x 8 block
//                 of C per thread in registers, 16-byte loads, the next tile prefetched
//   fp16-tiles    the same kernel reading fp16 A and B (half the bytes), widened to fp32 as the
//                 tiles are stored in shared memory; the math stays fp32 (needs 16-bit storage)
//   bf16-tiles    the same with bf16, the top 16 bits of an fp32, widened by a shift (works anywhere)
//   coopmat-fp16  tensor cores through GL_NV_cooperative_matrix (coopmat.comp): each subgroup
//                 multiplies fp16 fragments (16x8x16 on NVIDIA) in one instruction, fp32 accumulate
// bf16 on the tensor cores would need GL_EXT_bfloat16 (VK_KHR_shader_bfloat16, 2025), newer than
// Debian 12's glslang: the lab says so, and measures nothing it cannot run. Lavapipe has no
// cooperative matrices: there the three tile variants run, at small n.
//
// The error each type brings is half the lesson. Every C is compared with a double-precision C
// computed from the original fp32 inputs. Rounding an input to a type with unit roundoff u (fp32
// 2^-24, fp16 2^-11, bf16 2^-8) moves each product by a factor within (1 +- u)^2, and fp32
// accumulation of K products adds at most gamma_K = K u' / (1 - K u') of sum |a||b| (Higham), so
// for every element
//   |c - c_fp64| <= ((1 + u)^2 - 1 + gamma_K (1 + u)^2) * sum_k |a_ik b_kj|
// The key figure is max |c - c_fp64| / max |c_fp64| per variant: the type shows, not the kernel.
//
//   dontpanic run gpu-coopmat                 n = 128 ... 4096 on a GPU, 128 ... 512 on lavapipe
//   dontpanic run gpu-coopmat --quick         n = 128, 256 (... 512 on a GPU)
//   --param max-n=2048 --param peak-gflops=66900
#if defined(DP_HAVE_GPU)

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "core/check_tally.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/sweep.hpp"
#include "gpu/gpu.hpp"
#include "labs/gpu_lab.hpp"
#include "labs/m2/gpu_matmul_kernels.hpp"  // Variant, Config, vectorized_configs, Runner, reference_rows
#include "labs/m3/gpu_coopmat_error.hpp"   // unit roundoffs, rounding the inputs, the error bounds
#include "labs/m3/small_floats.hpp"        // the fp16 and bf16 rounding that round_to() uses

namespace {

using namespace dp::gpu;
using namespace dp::gpu::matmul;
using namespace dp::m3::coopmat;

// ---------------------------------------------------------------------------------------------
// The variants
// ---------------------------------------------------------------------------------------------

// One shader, three input types: INPUT_FP16 / INPUT_BF16 pick how vec4.comp reads A and B.
std::vector<Variant> tile_variants() {
  return {{"fp32-tiles", "matmul/vec4.comp", vectorized_configs(), Input::fp32},
          {"fp16-tiles", "matmul/vec4.comp", vectorized_configs({{"INPUT_FP16", "1"}}), Input::fp16},
          {"bf16-tiles", "matmul/vec4.comp", vectorized_configs({{"INPUT_BF16", "1"}}), Input::bf16}};
}

// Tensor cores: coopmat_variant() in labs/m2/gpu_matmul_kernels.hpp (the energy lab runs it too).

bool on_tensor_cores(const Variant& v) { return v.shader == "matmul/coopmat.comp"; }

// The variants this device can run; a note for each one it cannot.
std::vector<Variant> variants_for(const Device& device, dp::LabContext& ctx) {
  std::vector<Variant> variants;
  for (Variant& v : tile_variants()) {
    if (v.input == Input::fp16 && !device.report().storage_16bit) {
      ctx.result.notes.push_back(fmt::format("fp16-tiles skipped: '{}' cannot read 16-bit values from storage "
                                             "buffers (storageBuffer16BitAccess)", device.report().name));
      continue;
    }
    variants.push_back(std::move(v));
  }
  std::string why_not;
  if (auto v = coopmat_variant(device, why_not)) variants.push_back(std::move(*v));
  else ctx.result.notes.push_back(fmt::format("coopmat-fp16 skipped: {}; the tile variants still run and are checked",
                                              why_not));
  ctx.result.notes.push_back("bf16 on tensor cores not measured: cooperative matrices of bf16 need GL_EXT_bfloat16 "
                             "and the device extension VK_KHR_shader_bfloat16 (2025), and Debian 12's glslang has no "
                             "bfloat16 type; bf16 runs in the tile kernel only (its bits widened to fp32)");
  return variants;
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

// What one size's inputs look like in each type, and the references computed from them.
struct Problem {
  std::vector<std::size_t> rows;           // the rows of C that are checked
  std::array<Rounded, 3> in;               // A and B as each Input type stores them
  std::array<std::vector<double>, 3> ref;  // C's rows in fp64 from those stored values
  std::vector<double> abs;                 // sum_k |a_ik b_kj| for the checked rows (fp32 inputs)
};

void run(dp::LabContext& ctx) {
  auto device_owner = open_lab_device(ctx, {.timestamps = true});
  Device& device = *device_owner;
  const DeviceReport& report = device.report();
  const bool on_cpu = device.is_cpu();
  long long max_n = ctx.params.integer("max-n");
  if (max_n == 0) max_n = ctx.quick ? (on_cpu ? 256 : 512) : (on_cpu ? 512 : 4096);
  if (max_n % 128 != 0)
    throw dp::Error(fmt::format("max-n={} is not a multiple of 128: the kernels compute C in whole tiles, and every "
                                "variant has a tile shape that divides a multiple of 128; use e.g. {}", max_n,
                                (max_n / 128 + 1) * 128));
  const bool tune = !on_cpu && !ctx.quick;
  const dp::PeakFlops peak = device_peak(report, ctx.machine, ctx.params.real("peak-gflops"));
  const std::vector<Variant> variants = variants_for(device, ctx);
  // Five matrices: A, B and C in fp32, A and B in 16 bits (twice: fp16 and bf16 share nothing).
  max_n = cap_to_device(ctx, report, "max-n", max_n, 128, 5,
                        [](long long n) { return static_cast<std::uint64_t>(n * n) * 4; });
  std::vector<std::uint32_t> sizes;
  for (long long n = 128; n <= max_n; n *= 2) sizes.push_back(static_cast<std::uint32_t>(n));
  if (sizes.back() != max_n) sizes.push_back(static_cast<std::uint32_t>(max_n));

  std::mt19937 rng(std::random_device{}());
  Runner runner(device, ctx, tune);
  dp::CheckTally kernels{"every kernel matches fp64 on its own (rounded) inputs, within fp32 accumulation's bound"};
  dp::CheckTally types{"every variant's error stays within its input type's bound"};
  dp::CheckTally order{"16-bit inputs err more than fp32, and bf16 more than fp16"};

  for (std::uint32_t n : dp::Sweep(ctx, "n =", sizes, {.weight = [](std::uint64_t n) { return double(n * n * n); }})) {
    // Fresh inputs in [-1, 1) at every size, rounded to each type on the CPU (nearest, ties to even).
    const std::size_t nn = std::size_t{n} * n;
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    std::vector<float> a(nn), b(nn);
    for (auto& x : a) x = dist(rng);
    for (auto& x : b) x = dist(rng);
    Problem p;
    // All rows up to n = 512, else 32 random ones (a full fp64 reference at 4096 takes a CPU minute).
    if (n <= 512) for (std::size_t r = 0; r < n; ++r) p.rows.push_back(r);
    else for (int r = 0; r < 32; ++r) p.rows.push_back(std::uniform_int_distribution<std::size_t>(0, n - 1)(rng));
    p.ref[index(Input::fp32)] = reference_rows(a, b, n, p.rows, &p.abs);
    for (const Input t : {Input::fp16, Input::bf16}) {
      p.in[index(t)] = {round_to(a, t), round_to(b, t)};
      p.ref[index(t)] = reference_rows(p.in[index(t)].a.values, p.in[index(t)].b.values, n, p.rows);
    }

    Buffer ga(device, nn * 4), gb(device, nn * 4), gc(device, nn * 4);
    Buffer ga16(device, nn * 2), gb16(device, nn * 2), gabf(device, nn * 2), gbbf(device, nn * 2);
    ga.upload(a), gb.upload(b);
    ga16.upload(p.in[index(Input::fp16)].a.bits), gb16.upload(p.in[index(Input::fp16)].b.bits);
    gabf.upload(p.in[index(Input::bf16)].a.bits), gbbf.upload(p.in[index(Input::bf16)].b.bits);
    const std::array<Buffers, 3> io{Buffers{ga, gb, gc}, Buffers{ga16, gb16, gc}, Buffers{gabf, gbbf, gc}};
    const double flops = 2.0 * n * n * static_cast<double>(n);
    std::vector<std::pair<const Variant*, double>> errors;  // this size's error per variant
    SizeVerdicts verdicts;

    for (const Variant& v : variants) {
      const Buffers& buffers = io[index(v.input)];
      const auto chosen = runner.choose(v, n, buffers);
      if (!chosen) continue;

      // Check first: the kernel against fp64 on the same stored inputs (only the accumulation
      // differs), then the type's whole error against fp64 on the fp32 inputs.
      const auto once = runner.run_once(v, *chosen, n, buffers);
      const Bounds bounds = bounds_for(v.input, on_tensor_cores(v) ? kTensorCoreAccumulation : kFp32Accumulation, n);
      const Verdict verdict = judge(once.c, n, p.rows, p.ref[index(v.input)], p.ref[index(Input::fp32)], p.abs, bounds);
      verdicts.add(v.name, verdict);
      errors.emplace_back(&v, verdict.relative_error);

      // Then time it, on the GPU clock.
      const dp::Stats s = runner.time(v, *chosen, n, buffers, once.gpu_ns);
      ctx.result.add_point(v.name, "n", n, s, flops / s.median_ns, "GFLOP/s");
      // The error as a series of its own axis (its own table), timed by the same run.
      ctx.result.add_point(v.name + " error", "n (error)", n, s, std::max(verdict.relative_error, 1e-12),
                           "max |C - C_fp64| / max |C_fp64|");
    }
    verdicts.record(n, kernels, types);
    record_order(errors, n, order);
  }
  kernels.report(ctx.result, kAccumulationBoundText);
  types.report(ctx.result, kTypeBoundText);
  order.report(ctx.result, "max |C - C_fp64| / max |C_fp64|: fp32-tiles < each fp16 variant < bf16-tiles");

  // Key figures at the largest n: speed (percent of the peak of the unit that did the math) and error.
  for (const Variant& v : variants) {
    const auto* s = ctx.result.find_series(v.name);
    const auto* e = ctx.result.find_series(v.name + " error");
    if (!s || s->points.empty() || !e) continue;
    const double pk = on_tensor_cores(v) ? peak.fp16_gflops : peak.fp32_gflops;
    const auto& pt = s->points.back();
    ctx.result.headlines.push_back(
        {fmt::format("{} at n = {:g}", v.name, pt.x),
         pk > 0 ? fmt::format("{:.3g} GFLOP/s, {:.1f}% of {} peak", pt.throughput, 100 * pt.throughput / pk,
                              on_tensor_cores(v) ? "fp16 tensor-core" : "fp32")
                : fmt::format("{:.3g} GFLOP/s", pt.throughput)});
    ctx.result.headlines.push_back({fmt::format("{} error at n = {:g}", v.name, pt.x),
                                    fmt::format("{:.2g} of max |C| ({} inputs, u = {})", e->points.back().throughput,
                                                type_name(v.input), roundoff_text(v.input))});
  }
  const bool tensor_cores = std::any_of(variants.begin(), variants.end(), on_tensor_cores);
  ctx.result.notes.push_back(tensor_cores ? fmt::format("peak: {:.0f} GFLOP/s fp32, {:.0f} fp16 on tensor cores ({})",
                                                        peak.fp32_gflops, peak.fp16_gflops, peak.source)
                                          : fmt::format("peak: {:.0f} GFLOP/s fp32 ({})", peak.fp32_gflops, peak.source));
  for (const auto& t : runner.tuned()) ctx.result.notes.push_back("tuned tile shape, " + t);
  if (!tune) ctx.result.notes.push_back("tile shapes not tuned (quick mode or a CPU device): the first candidate is used");

  std::vector<std::string> speed, error;
  for (const Variant& v : variants) speed.push_back(v.name), error.push_back(v.name + " error");
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "gflops", .title = "Matrix multiply by input type: fp32 vs 16-bit inputs, CUDA cores vs tensor cores",
      .xlabel = "n (M = N = K)", .ylabel = "GFLOP/s (2n^3 / GPU time)", .y = dp::PlotSpec::Y::throughput,
      .logx = true, .logy = true, .variants = speed});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "error", .title = "The error each input type brings (inputs in [-1, 1), fp32 accumulation)",
      .xlabel = "n (M = N = K)", .ylabel = "max |C - C_fp64| / max |C_fp64|", .y = dp::PlotSpec::Y::throughput,
      .logx = true, .logy = true, .variants = error});
  add_validation_check(device, ctx);
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "gpu-coopmat",
             .title = "Tensor cores: 16-bit inputs, fp32 accumulation",
             .module = 3,
             .level = 4,
             .tracks = {},
             .question = "What do tensor cores buy, and what do fp16 and bf16 inputs cost in accuracy?",
             .guide_page = "m3/gpu-coopmat.md",
             .source = "src/labs/m3/gpu_coopmat.cpp",
             .requires_gpu = "a Vulkan device (lavapipe runs the tile variants; the tensor-core variant needs "
                             "VK_NV_cooperative_matrix)"},
    .params = {dp::ParamSpec::integer("max-n", "largest matrix size, a multiple of 128 (0 = 4096 on a GPU, "
                                               "512 on a CPU device)", 0, 0, 0, 16384),
               dp::ParamSpec::real("peak-gflops", "the device's peak in GFLOP/s, for fp32 and tensor-core fp16 "
                                                  "alike (0 = known or estimated)", 0, 0, 0, 1e7)},
    .run = run,
});

#endif  // DP_HAVE_GPU
