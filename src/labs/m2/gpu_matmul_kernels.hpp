// gpu_matmul_kernels.hpp — what the two matrix-multiply labs share: gpu-matmul (M2, the fp32
// ladder) and gpu-coopmat (M3, 16-bit inputs and tensor cores).
//
// Index
//   Config, Variant      a shader, its tile-shape candidates (#defines) and the type of A and B
//   blocked()            a register-blocked tile shape: BM x BN per workgroup, TM x TN per thread
//   vectorized_configs() the candidates of the best fp32 kernel, shaders/matmul/vec4.comp
//   coopmat_variant()    the tensor-core kernel (fp16 in, fp32 accumulate) and its tile candidates,
//                        or why the device has none (gpu-coopmat and energy run it)
//   reference_rows()     chosen rows of A * B in double precision (and of |A| * |B| if asked)
//   device_peak()        the peak GFLOP/s the labs divide by: a datasheet, a CPU estimate, a param
//   Runner               builds each kernel once, picks a tile shape (tuning it on a real GPU),
//                        runs it once for the check, then times it on the GPU clock
//
// Every kernel takes buffers A (M x K), B (K x N), C (M x N), row-major, and the push constant
// {M, N, K}; a workgroup computes a tile_m x tile_n block of C, so n must be a multiple of both.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/lab.hpp"
#include "core/peak.hpp"
#include "gpu/gpu.hpp"
#include "labs/gpu_lab.hpp"

namespace dp::gpu::matmul {

using Defines = std::vector<std::pair<std::string, std::string>>;

struct Shape {  // the push constant of every matmul shader
  std::uint32_t M, N, K;
};

// Each variant is a shader plus its launch shape. Tile shapes are #defines, so one shader file
// serves several configurations (and the compiler sees constants it can unroll).
struct Config {
  Defines defines;
  std::uint32_t tile_m = 1, tile_n = 1;  // C elements per workgroup in y (rows) and x (columns)
  std::string label;
};

enum class Input { fp32, fp16, bf16 };  // how A and B are stored (C is always fp32)

struct Variant {
  std::string name;
  std::string shader;
  std::vector<Config> configs;  // first = the default; more = candidates for tuning
  Input input = Input::fp32;
};

inline Config blocked(int bm, int bn, int bk, int tm, int tn, const Defines& extra = {}) {
  Config c{{{"BM", std::to_string(bm)}, {"BN", std::to_string(bn)}, {"BK", std::to_string(bk)},
            {"TM", std::to_string(tm)}, {"TN", std::to_string(tn)}},
           static_cast<std::uint32_t>(bm), static_cast<std::uint32_t>(bn),
           fmt::format("BM={} BN={} BK={} TM={} TN={}", bm, bn, bk, tm, tn)};
  c.defines.insert(c.defines.end(), extra.begin(), extra.end());
  return c;
}

// The tile shapes of vec4.comp that tuning tries (the first is used untuned); `extra` adds the
// input-type define (INPUT_FP16, INPUT_BF16) for gpu-coopmat.
inline std::vector<Config> vectorized_configs(const Defines& extra = {}) {
  return {blocked(64, 64, 8, 8, 8, extra),   blocked(128, 128, 8, 8, 8, extra), blocked(128, 128, 16, 8, 8, extra),
          blocked(128, 64, 16, 8, 8, extra), blocked(64, 128, 16, 8, 8, extra), blocked(64, 64, 16, 4, 4, extra)};
}

// Tensor cores: a subgroup multiplies LM x LK by LK x LN fragments (a shape the device lists, fp16
// in, fp32 accumulate); a workgroup of WGM x WGN subgroups stages BM x BK of A and BK x BN of B in
// shared memory, in 1 or 2 stages. The candidates that fit the device are tuned like the tiles.
inline Config coop(const CoopMatShape& s, int bm, int bn, int bk, int wgm, int wgn, int stages, std::uint32_t subgroup) {
  return {{{"LM", std::to_string(s.m)}, {"LN", std::to_string(s.n)}, {"LK", std::to_string(s.k)},
           {"BM", std::to_string(bm)}, {"BN", std::to_string(bn)}, {"BK", std::to_string(bk)},
           {"WGM", std::to_string(wgm)}, {"WGN", std::to_string(wgn)}, {"SUBGROUP", std::to_string(subgroup)},
           {"STAGES", std::to_string(stages)}},
          static_cast<std::uint32_t>(bm), static_cast<std::uint32_t>(bn),
          fmt::format("fragment {}x{}x{}, BM={} BN={} BK={}, {}x{} subgroups, {} stage(s)", s.m, s.n, s.k, bm, bn,
                      bk, wgm, wgn, stages)};
}

// The cooperative-matrix variant, if the device offers fp16 x fp16 + fp32 fragments.
inline std::optional<Variant> coopmat_variant(const Device& device, std::string& why_not) {
  const DeviceReport& r = device.report();
  if (!device.has_coopmat()) {
    why_not = r.coopmat_khr_extension
                  ? fmt::format("'{}' offers only VK_KHR_cooperative_matrix, which Debian 12's glslang cannot target",
                                r.name)
                  : fmt::format("'{}' offers no cooperative matrices (VK_NV_cooperative_matrix): no tensor cores "
                                "to measure", r.name);
    return std::nullopt;
  }
  std::vector<const CoopMatShape*> shapes;  // fp16 x fp16 + fp32 fragments, largest first
  for (const auto& s : r.coopmat)
    if (s.a_type == "float16" && s.b_type == "float16" && s.c_type == "float32" && s.m % 8 == 0 && s.n % 8 == 0 &&
        s.k % 8 == 0)
      shapes.push_back(&s);
  std::sort(shapes.begin(), shapes.end(), [](auto* x, auto* y) { return x->m * x->n * x->k > y->m * y->n * y->k; });
  if (shapes.empty()) {
    why_not = "none of the device's cooperative-matrix shapes takes fp16 inputs with fp32 accumulation";
    return std::nullopt;
  }
  // Candidate tiles: BM x BN x BK per workgroup, WGM x WGN subgroups, 1 or 2 shared-memory stages.
  // Kept only where they fit the device's shared memory and divide evenly.
  const int sg = static_cast<int>(r.subgroup_size);
  Variant v{"coopmat-fp16", "matmul/coopmat.comp", {}, Input::fp16};
  const std::vector<std::array<int, 6>> tiles = {
      {128, 256, 32, 2, 4, 1}, {128, 128, 32, 2, 4, 2}, {128, 128, 32, 2, 2, 2}, {128, 128, 64, 2, 4, 1},
      {256, 128, 32, 4, 2, 1}, {128, 128, 32, 4, 2, 2}, {64, 256, 32, 1, 4, 2},  {256, 128, 32, 4, 4, 1},
      {128, 256, 32, 2, 8, 1}, {64, 64, 32, 2, 2, 2}};
  for (const CoopMatShape* shape : shapes)
    for (auto [bm, bn, bk, wgm, wgn, stages] : tiles) {
      const int threads = wgm * wgn * sg;
      const std::uint64_t smem = 2ull * stages * (bm * (bk + 8) + bk * (bn + 8));
      if (smem > r.max_shared_memory_bytes || threads > static_cast<int>(r.max_workgroup_invocations)) continue;
      if (bm % (wgm * static_cast<int>(shape->m)) || bn % (wgn * static_cast<int>(shape->n)) ||
          bk % static_cast<int>(shape->k) || (bm * bk / 8) % threads || (bk * bn / 8) % threads)
        continue;
      v.configs.push_back(coop(*shape, bm, bn, bk, wgm, wgn, stages, r.subgroup_size));
    }
  if (v.configs.empty()) {
    why_not = "no tile configuration fits this device's shared memory and subgroup size";
    return std::nullopt;
  }
  return v;
}

// Rows `rows` of A * B in double precision: the simplest thing that can be right. With `abs`,
// also the same rows of |A| * |B| (the scale of the rounding errors each element may carry).
inline std::vector<double> reference_rows(const std::vector<float>& a, const std::vector<float>& b, std::size_t n,
                                          const std::vector<std::size_t>& rows, std::vector<double>* abs = nullptr) {
  std::vector<double> c(rows.size() * n, 0.0);
  if (abs) abs->assign(rows.size() * n, 0.0);
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (std::size_t k = 0; k < n; ++k) {
      const double aik = a[rows[r] * n + k];
      const float* brow = &b[k * n];
      double* crow = &c[r * n];
      for (std::size_t j = 0; j < n; ++j) crow[j] += aik * brow[j];
      if (abs) {
        double* srow = &(*abs)[r * n];
        for (std::size_t j = 0; j < n; ++j) srow[j] += std::fabs(aik * brow[j]);
      }
    }
  return c;
}

// Known datasheet peaks for data-centre GPUs we have measured on; a CPU estimate for lavapipe.
inline PeakFlops device_peak(const DeviceReport& r, const MachineInfo& machine, double override_gflops) {
  if (override_gflops > 0) return {override_gflops, override_gflops, "--param peak-gflops"};
  if (auto known = known_gpu_peak(r.name)) return *known;
  if (r.type == "cpu")
    if (auto estimate = estimated_cpu_peak(machine)) return *estimate;
  return {0, 0, "unknown for this device; give --param peak-gflops=..."};
}

struct Buffers {
  Buffer& a;
  Buffer& b;
  Buffer& c;
};

// Runs the variants' kernels. Kernels do not depend on n (the shape is a push constant), so each
// configuration is built once per run.
class Runner {
 public:
  Runner(Device& device, const LabContext& ctx, bool tune)
      : device_(device), reps_(gpu_reps(ctx)), warmup_(gpu_warmup_seconds(ctx)), tune_(tune) {}

  // The configuration of `v` to run at n: the first whose tile divides n, or, when tuning (a real
  // GPU, not quick, n >= 1024), the fastest candidate. Empty when no tile divides n.
  std::optional<std::size_t> choose(const Variant& v, std::uint32_t n, Buffers io) {
    const auto fits = [&](std::size_t i) { return n % v.configs[i].tile_m == 0 && n % v.configs[i].tile_n == 0; };
    std::size_t chosen = 0;
    while (chosen < v.configs.size() && !fits(chosen)) ++chosen;
    if (chosen == v.configs.size()) return std::nullopt;
    if (!tune_ || v.configs.size() < 2 || n < 1024) return chosen;
    // Two rounds, keeping each candidate's best time. In the first, pipelines are built between
    // timings and the GPU idles meanwhile: its clocks drop (an idle H100 sits at 420 of 1980
    // MHz) and ramp up again during the next timing, so a candidate timed early can look several
    // times slower than it is, and a poor one win (seen at n=1024 on an H100: 5x slower, in some runs).
    std::vector<double> best(v.configs.size(), 1e300);
    for (int round = 0; round < 2; ++round)
      for (std::size_t i = 0; i < v.configs.size(); ++i) {
        if (!fits(i)) continue;
        const Kernel& k = kernel(v, i);
        best[i] = std::min(best[i], gpu_time_repeated(device_, [&](Sequence& s) { dispatch(s, k, v.configs[i], n, io); },
                                                      3, 0.02).median_ns);
      }
    chosen = static_cast<std::size_t>(std::min_element(best.begin(), best.end()) - best.begin());
    tuned_.push_back(fmt::format("{} at n={}: {}", v.name, n, v.configs[chosen].label));
    return chosen;
  }

  // C from one run of configuration i, and that run's GPU time. C is filled with NaN first: an
  // element the kernel never writes fails any check.
  struct Once {
    std::vector<float> c;
    double gpu_ns = 0;
  };
  Once run_once(const Variant& v, std::size_t i, std::uint32_t n, Buffers io) {
    const Kernel& k = kernel(v, i);
    io.c.upload(std::vector<float>(std::size_t{n} * n, std::nanf("")));
    Sequence seq(device_);
    seq.begin();
    seq.timestamp();
    dispatch(seq, k, v.configs[i], n, io);
    seq.timestamp();
    seq.end();
    seq.run();
    return {io.c.download_vector<float>(), seq.gpu_ns(0, 1)};
  }

  // GPU-clock time of configuration i, warmed up; slow kernels (`once_ns`, from run_once) get
  // fewer repetitions, at least 3.
  Stats time(const Variant& v, std::size_t i, std::uint32_t n, Buffers io, double once_ns) {
    const Kernel& k = kernel(v, i);
    const int reps = std::clamp(static_cast<int>(2e9 / std::max(once_ns, 1.0)), 3, reps_);
    return gpu_time_repeated(device_, [&](Sequence& s) { dispatch(s, k, v.configs[i], n, io); }, reps, warmup_);
  }

  // "variant at n=...: tile" for each tuning done, for the notes.
  const std::vector<std::string>& tuned() const { return tuned_; }

 private:
  const Kernel& kernel(const Variant& v, std::size_t i) {
    const std::string key = v.name + "/" + std::to_string(i);
    auto it = kernels_.find(key);
    if (it == kernels_.end())
      it = kernels_.emplace(key, Kernel(device_, {.source = builtin_shader(v.shader, v.configs[i].defines),
                                                  .buffers = 3, .push_bytes = 12})).first;
    return it->second;
  }
  static void dispatch(Sequence& seq, const Kernel& k, const Config& c, std::uint32_t n, Buffers io) {
    const Shape shape{n, n, n};
    seq.dispatch(k, {io.a, io.b, io.c}, {n / c.tile_n, n / c.tile_m}, shape);
  }

  Device& device_;
  int reps_;
  double warmup_;
  bool tune_;
  std::map<std::string, Kernel> kernels_;
  std::vector<std::string> tuned_;
};

}  // namespace dp::gpu::matmul
