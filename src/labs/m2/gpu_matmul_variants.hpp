// gpu_matmul_variants.hpp — the matrix-multiply kernels of gpu-matmul (shaders/matmul/), as
// variants a lab can dispatch: each is a shader, its #defines and its launch shape. gpu-matmul
// climbs the whole ladder; energy (src/labs/m3/energy.cpp) runs the fp32 and fp16 ends of it.
//
// Index
//   Config, Variant    one tile configuration; a shader with its candidate configurations
//   fp32_ladder()      naive -> coalesced -> shared-tiled -> register-blocked -> vectorized
//   coopmat_variant()  the tensor-core variant (fp16 in, fp32 accumulate), or why there is none
//   Shape              the push constants every matmul shader takes: C[M x N] = A[M x K] B[K x N]
//   reference_rows()   rows of A * B in double precision, for the checks
#pragma once

#if defined(DP_HAVE_GPU)

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "gpu/gpu.hpp"

namespace dp::gpu::matmul {

using Defines = std::vector<std::pair<std::string, std::string>>;

// ---------------------------------------------------------------------------------------------
// The variants
// ---------------------------------------------------------------------------------------------

// Each variant is a shader plus its launch shape. Tile shapes are #defines, so one shader file
// serves several configurations (and the compiler sees constants it can unroll).

struct Config {
  Defines defines;
  std::uint32_t tile_m = 1, tile_n = 1;  // C elements per workgroup in y (rows) and x (columns)
  std::string label;
};

struct Variant {
  std::string name;
  std::string shader;
  std::vector<Config> configs;  // first = the default; more = candidates for tuning
  bool fp16 = false;            // takes fp16 A and B (as packed halves)
};

inline Config blocked(int bm, int bn, int bk, int tm, int tn) {
  return {{{"BM", std::to_string(bm)}, {"BN", std::to_string(bn)}, {"BK", std::to_string(bk)},
           {"TM", std::to_string(tm)}, {"TN", std::to_string(tn)}},
          static_cast<std::uint32_t>(bm), static_cast<std::uint32_t>(bn),
          fmt::format("BM={} BN={} BK={} TM={} TN={}", bm, bn, bk, tm, tn)};
}

inline Config coop(const CoopMatShape& s, int bm, int bn, int bk, int wgm, int wgn, int stages, std::uint32_t subgroup) {
  return {{{"LM", std::to_string(s.m)}, {"LN", std::to_string(s.n)}, {"LK", std::to_string(s.k)},
           {"BM", std::to_string(bm)}, {"BN", std::to_string(bn)}, {"BK", std::to_string(bk)},
           {"WGM", std::to_string(wgm)}, {"WGN", std::to_string(wgn)}, {"SUBGROUP", std::to_string(subgroup)},
           {"STAGES", std::to_string(stages)}},
          static_cast<std::uint32_t>(bm), static_cast<std::uint32_t>(bn),
          fmt::format("fragment {}x{}x{}, BM={} BN={} BK={}, {}x{} subgroups, {} stage(s)", s.m, s.n, s.k, bm, bn,
                      bk, wgm, wgn, stages)};
}

inline std::vector<Variant> fp32_ladder() {
  return {
      {"naive", "matmul/naive.comp", {{{}, 16, 16, "16x16 threads"}}},
      {"coalesced", "matmul/coalesced.comp", {{{}, 16, 16, "16x16 threads"}}},
      {"shared-tiled", "matmul/tiled.comp", {{{{"T", "16"}}, 16, 16, "T=16"}}},
      {"register-blocked", "matmul/regblock.comp",
       {blocked(64, 64, 8, 8, 8), blocked(128, 128, 8, 8, 8), blocked(128, 64, 8, 8, 8), blocked(64, 64, 16, 4, 4)}},
      {"vectorized", "matmul/vec4.comp",
       {blocked(64, 64, 8, 8, 8), blocked(128, 128, 8, 8, 8), blocked(128, 128, 16, 8, 8), blocked(128, 64, 16, 8, 8),
        blocked(64, 128, 16, 8, 8), blocked(64, 64, 16, 4, 4)}},
  };
}

// The cooperative-matrix variant, if the device offers fp16 x fp16 + fp32 fragments.
inline std::optional<Variant> coopmat_variant(const Device& device, std::string& why_not) {
  const DeviceReport& r = device.report();
  if (!device.has_coopmat()) {
    why_not = r.coopmat_khr_extension ? "the device offers only VK_KHR_cooperative_matrix, which Debian 12's "
                                        "glslang cannot target"
                                      : "the device offers no cooperative matrices (VK_NV_cooperative_matrix)";
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
  Variant v{"coopmat-fp16", "matmul/coopmat.comp", {}, true};
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

// ---------------------------------------------------------------------------------------------
// Reference and check
// ---------------------------------------------------------------------------------------------

// Rows `rows` of A * B in double precision: the simplest thing that can be right.
inline std::vector<double> reference_rows(const std::vector<float>& a, const std::vector<float>& b, std::size_t n,
                                   const std::vector<std::size_t>& rows) {
  std::vector<double> c(rows.size() * n, 0.0);
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (std::size_t k = 0; k < n; ++k) {
      const double aik = a[rows[r] * n + k];
      for (std::size_t j = 0; j < n; ++j) c[r * n + j] += aik * b[k * n + j];
    }
  return c;
}

struct Shape {
  std::uint32_t M, N, K;
};

}  // namespace dp::gpu::matmul

#endif  // DP_HAVE_GPU
