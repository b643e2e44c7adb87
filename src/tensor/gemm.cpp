// gemm.cpp — the blocked, packed, SIMD linear layer behind gemm.hpp.
//
// Loop nest for one thread's rows (BLIS's, with our names):
//   for each block of KC columns of x (kc0)            x block and W panels slices fit in cache
//     for each block of MC rows of x (ic0)
//       pack those MC x KC inputs into MR-row strips    (k-major inside a strip; skipped when
//                                                        K <= 1024: the kernel reads x's rows)
//       for each panel of NR output features (p)
//         for each strip of MR rows (i)
//           micro-kernel: MR x NR results in registers, KC steps of rank-1 updates
// The first K block starts from the bias, the last one applies the activation; blocks in between
// add to what the previous block stored.
#include "tensor/gemm.hpp"

#include <algorithm>
#include <cassert>

#include <fmt/format.h>

#include "core/error.hpp"
#include "tensor/parallel.hpp"
#include "tensor/simd.hpp"

namespace dp::tensor {
namespace {

using simd::kLanes;
using simd::vfloat;

// Register block: MR rows x NV vectors. With AVX-512: 8 x 2 = 16 accumulators + 2 weight vectors
// + 1 broadcast of the 32 registers; 8 rows divide the power-of-two batches the labs use evenly
// (12 x 2 fills more registers but wastes a third of a strip at 64 or 128 rows, and measured
// slower at every size). With 16 registers (AVX2, SSE): 6 x 2 = 12 accumulators, the classic shape.
// Cache blocks: KC = 1024 columns of K at a time, so up to width 1024 the sum over K is never
// split and every result is stored once, straight after its bias and relu (splitting K at 256
// meant re-loading and re-storing `out` 4 times at K = 1024: 15% slower there). An MR x KC input
// strip is at most 8 x 1024 x 4 = 32 KiB (L1); a KC x NR weight slice (128 KiB) streams from L2;
// MC = 128 rows of inputs (512 KiB) stay in L2 while they meet every weight panel.
// Up to K = 1024 the inputs are read in place (no packing): the copy cost more than it saved,
// most at small sizes (n = 32: 60 -> 83 GFLOP/s).
// Measured on a Zen 4 core (thread CPU time, one thread): 83 / 96 / 103 / 104 / 103 / 101 GFLOP/s
// at n = 32 / 64 / 128 / 256 / 512 / 1024; OpenBLAS through PyTorch got 99.5 at 1024 on the
// same core.
// The macros let you try others: cmake -DCMAKE_CXX_FLAGS="-DDP_GEMM_KC=256".
#ifndef DP_GEMM_NV
#define DP_GEMM_NV 2
#endif
#ifndef DP_GEMM_MR
#define DP_GEMM_MR (kLanes == 16 ? 8 : 6)
#endif
#ifndef DP_GEMM_KC
#define DP_GEMM_KC 1024
#endif
#ifndef DP_GEMM_MC_STRIPS
#define DP_GEMM_MC_STRIPS 16
#endif
constexpr int kNV = DP_GEMM_NV;
constexpr int kNR = kNV * kLanes;
constexpr int kMR = DP_GEMM_MR;
constexpr int kKC = DP_GEMM_KC;
constexpr int kMC = kMR * DP_GEMM_MC_STRIPS;
#ifndef DP_GEMM_DIRECT_K
#define DP_GEMM_DIRECT_K 1024
#endif
constexpr std::size_t kDirectK = DP_GEMM_DIRECT_K;  // up to this K, inputs are not packed

// out[rows x cols] (row stride ldc) = act(init + a_strip · b_slice), where a_strip is kc x MR
// (k-major: a[k*MR + r]) and b_slice is kc x NR (b[k*NR + j]). init is the bias on the first K
// block, otherwise what the previous block stored. rows <= MR, cols <= NR: edges store less.
// kPacked = false reads the inputs straight from x's rows instead (a: row 0, lda: row stride):
// for small K the rows are in L1 anyway, and the copy that packing makes would cost more than
// the scattered loads it saves.
template <bool kPacked>
void micro_kernel(std::size_t kc, const float* __restrict a, std::size_t lda, const float* __restrict b,
                  float* __restrict c, std::size_t ldc, std::size_t rows, std::size_t cols,
                  const float* bias, bool first, bool last, Activation act) {
  vfloat acc[kMR][kNV];
  const float* row[kMR];  // unpacked: where each row of the strip starts (missing rows: row 0)
  for (int r = 0; r < kMR; ++r) row[r] = a + (static_cast<std::size_t>(r) < rows ? r : 0) * lda;
  const bool full = rows == kMR && cols == kNR;
  alignas(64) float edge[kMR][kNR];  // staging for partial tiles at the right and bottom edges
  if (first) {
#pragma GCC unroll 16
    for (int r = 0; r < kMR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < kNV; ++v) acc[r][v] = simd::load(bias + v * kLanes);
  } else if (full) {
#pragma GCC unroll 16
    for (int r = 0; r < kMR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < kNV; ++v) acc[r][v] = simd::load(c + r * ldc + v * kLanes);
  } else {
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t j = 0; j < cols; ++j) edge[r][j] = c[r * ldc + j];
    for (int r = 0; r < kMR; ++r)
      for (int v = 0; v < kNV; ++v) acc[r][v] = simd::load(&edge[r][v * kLanes]);
  }

  // The hot loop: per k, NV vector loads of W, MR broadcasts of x, MR*NV FMAs.
  for (std::size_t k = 0; k < kc; ++k) {
    vfloat w[kNV];
#pragma GCC unroll 4
    for (int v = 0; v < kNV; ++v) w[v] = *reinterpret_cast<const vfloat*>(b + k * kNR + v * kLanes);
#pragma GCC unroll 16
    for (int r = 0; r < kMR; ++r) {
      const vfloat xr = simd::broadcast(kPacked ? a[k * kMR + r] : row[r][k]);
#pragma GCC unroll 4
      for (int v = 0; v < kNV; ++v) acc[r][v] += xr * w[v];
    }
  }

  if (last && act == Activation::relu) {
#pragma GCC unroll 16
    for (int r = 0; r < kMR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < kNV; ++v) acc[r][v] = simd::max(acc[r][v], vfloat{});
  }
  if (full) {
#pragma GCC unroll 16
    for (int r = 0; r < kMR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < kNV; ++v) simd::store(c + r * ldc + v * kLanes, acc[r][v]);
  } else {
    for (int r = 0; r < kMR; ++r)
      for (int v = 0; v < kNV; ++v) simd::store(&edge[r][v * kLanes], acc[r][v]);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t j = 0; j < cols; ++j) c[r * ldc + j] = edge[r][j];
  }
}

// Packs rows [i0, i0+mc) x columns [k0, k0+kc) of x into MR-row strips, k-major, zero-padding the
// last strip to MR rows. dst holds ceil(mc/MR)*MR*kc floats.
void pack_inputs(ConstView<float> x, std::size_t i0, std::size_t mc, std::size_t k0,
                 std::size_t kc, float* __restrict dst) {
  for (std::size_t s = 0; s < mc; s += kMR) {
    const std::size_t rows = std::min<std::size_t>(kMR, mc - s);
    float* strip = dst + s * kc;
    for (std::size_t r = 0; r < rows; ++r) {
      const float* src = x.data + (i0 + s + r) * x.cols + k0;
      for (std::size_t k = 0; k < kc; ++k) strip[k * kMR + r] = src[k];
    }
    for (std::size_t r = rows; r < kMR; ++r)
      for (std::size_t k = 0; k < kc; ++k) strip[k * kMR + r] = 0.0f;
  }
}

// Each thread packs into its own scratch: reused between calls, so no allocation per product.
float* input_scratch() {
  thread_local AlignedBuffer<float> scratch(static_cast<std::size_t>(kMC) * kKC);
  return scratch.data();
}

}  // namespace

GemmConfig gemm_config() { return {kMR, kNR, kKC, kMC, kLanes, simd::kName}; }

PackedLinear::PackedLinear(ConstView<float> w, std::span<const float> bias) { pack(w, bias); }

void PackedLinear::pack(ConstView<float> w, std::span<const float> bias) {
  if (!bias.empty() && bias.size() != w.rows)
    throw Error(fmt::format("linear: the bias has {} entries but W ({}) has {} rows; want one bias "
                            "per output feature",
                            bias.size(), w.shape(), w.rows));
  n_ = w.rows;
  k_ = w.cols;
  nr_ = kNR;
  panels_ = (n_ + kNR - 1) / kNR;
  if (weights_.size() != panels_ * kNR * k_) weights_ = AlignedBuffer<float>(panels_ * kNR * k_);
  if (bias_.size() != panels_ * kNR) bias_ = AlignedBuffer<float>(panels_ * kNR);
  // Panel p, row j of the panel (W's row n = p*NR + j) goes to every NR-th float of the panel:
  // W is read along its rows (stride 1), the writes stay inside one K x NR panel (L2).
  for (std::size_t p = 0; p < panels_; ++p) {
    float* panel = weights_.data() + p * k_ * kNR;
    for (std::size_t j = 0; j < static_cast<std::size_t>(kNR); ++j) {
      const std::size_t n = p * kNR + j;
      if (n < n_) {
        const float* row = w.data + n * w.cols;
        for (std::size_t k = 0; k < k_; ++k) panel[k * kNR + j] = row[k];
      } else {
        for (std::size_t k = 0; k < k_; ++k) panel[k * kNR + j] = 0.0f;  // padding
      }
    }
  }
  for (std::size_t n = 0; n < panels_ * kNR; ++n)
    bias_.data()[n] = (n < n_ && !bias.empty()) ? bias[n] : 0.0f;
}

void linear_rows(ConstView<float> x, const PackedLinear& w, MatrixView<float> out, Activation act,
                 std::size_t r0, std::size_t r1) {
  assert(x.cols == w.in_features() && out.cols == w.out_features() && out.rows == x.rows);
  const std::size_t K = x.cols, N = out.cols;
  float* packed = input_scratch();
  if (K <= kDirectK) {  // one K block, inputs read in place, MC rows at a time (they stay in L2)
    for (std::size_t ic0 = r0; ic0 < r1; ic0 += kMC) {
      const std::size_t ic1 = std::min(r1, ic0 + kMC);
      for (std::size_t p = 0; p < w.panels(); ++p) {
        const std::size_t j0 = p * kNR;
        const std::size_t cols = std::min<std::size_t>(kNR, N - j0);
        for (std::size_t i = ic0; i < ic1; i += kMR)
          micro_kernel<false>(K, x.data + i * K, K, w.panel(p), out.data + i * N + j0, N,
                              std::min<std::size_t>(kMR, ic1 - i), cols, w.bias() + j0, true, true, act);
      }
    }
    return;
  }
  if (K == 0) {  // an empty sum: out = act(b)
    for (std::size_t i = r0; i < r1; ++i)
      for (std::size_t j = 0; j < N; ++j)
        out(i, j) = act == Activation::relu ? std::max(w.bias()[j], 0.0f) : w.bias()[j];
    return;
  }
  for (std::size_t kc0 = 0; kc0 < K; kc0 += kKC) {
    const std::size_t kc = std::min<std::size_t>(kKC, K - kc0);
    const bool first = kc0 == 0, last = kc0 + kc == K;
    for (std::size_t ic0 = r0; ic0 < r1; ic0 += kMC) {
      const std::size_t mc = std::min<std::size_t>(kMC, r1 - ic0);
      pack_inputs(x, ic0, mc, kc0, kc, packed);
      for (std::size_t p = 0; p < w.panels(); ++p) {
        const float* slice = w.panel(p) + kc0 * kNR;
        const std::size_t j0 = p * kNR;
        const std::size_t cols = std::min<std::size_t>(kNR, N - j0);
        for (std::size_t s = 0; s < mc; s += kMR) {
          const std::size_t rows = std::min<std::size_t>(kMR, mc - s);
          micro_kernel<true>(kc, packed + s * kc, 0, slice, out.data + (ic0 + s) * N + j0, N, rows, cols,
                       w.bias() + j0, first, last, act);
        }
      }
    }
  }
}

void linear(ConstView<float> x, const PackedLinear& w, MatrixView<float> out, Activation act) {
  if (x.cols != w.in_features() || out.rows != x.rows || out.cols != w.out_features())
    throw Error(fmt::format("linear: x is {}, W is {}x{}, out is {}; want x M x K, W N x K, out "
                            "M x N",
                            x.shape(), w.out_features(), w.in_features(), out.shape()));
  const double flops = 2.0 * x.rows * w.out_features() * w.in_features();
  parallel_chunks(x.rows, kMR, parts_for(flops), [&](std::size_t r0, std::size_t r1) {
    linear_rows(x, w, out, act, r0, r1);
  });
}

}  // namespace dp::tensor
