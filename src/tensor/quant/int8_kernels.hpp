// int8_kernels.hpp — int8 matrix products on the CPU's integer dot-product instructions.
//
// Index
//   linear_int8()            out = x_scale * w_scale[n] * (x_q · W_qᵀ) + bias, all threads
//   linear_int8_reference()  the same with plain loops: the check's reference, and a variant
//
// One 32-bit lane, four instruction sets. Each vector kernel keeps an MR x NR block of int32 sums
// in registers and, per step, multiplies one 32-bit lane of inputs by a vector of weights:
//   avx512_vnni  vpdpbusd zmm: 16 lanes x 4 u8*s8 products each = 64 multiply-adds per instruction
//   avx_vnni     vpdpbusd ymm:  8 lanes x 4                     = 32
//   avx2         vpmaddwd ymm:  8 lanes x 2 u16*s16 (+ a vpaddd) = 16; AVX2's byte product
//                (vpmaddubsw) saturates at 16 bits, so inputs and weights are widened to 16 bits
// against 16 (AVX-512) or 8 (AVX2) multiply-adds per fp32 FMA. AMX (int8_amx.hpp) multiplies
// whole 16 x 64 tiles: 16,384 multiply-adds per instruction.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "tensor/quant/int8_amx.hpp"
#include "tensor/quant/int8_layout.hpp"
#include "tensor/quant/quantize.hpp"
#include "tensor/parallel.hpp"
#include "tensor/tensor.hpp"

namespace dp::quant {

#if DP_INT8_X86
inline int lane(const unsigned char* row, std::size_t g) {  // 4 bytes, read without aliasing UB
  int v;
  std::memcpy(&v, row + 4 * g, 4);
  return v;
}

// vpdpbusd through inline asm, value in, value out. GCC 12 compiles the intrinsic
// (_mm512_dpbusd_epi32) with register copies around every instruction and spills some sums to the
// stack; written this way the loop is the bare instructions. Measured on one Zen 5 core, 8 x 2
// block, K = 1024: 1.7 vs 3.1 instructions per ns, the whole difference between int8 at 2x and
// at 4x fp32's multiply-adds.
[[gnu::target("avx512f,avx512vnni"), gnu::always_inline]] inline __m512i dpbusd(__m512i acc, __m512i u8, __m512i s8) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u8), "v"(s8));
  return acc;
}
// The 256-bit form of AVX-VNNI: {vex} (written %{vex%} in asm) asks for its VEX encoding, which
// reaches only ymm0-15 ("x").
[[gnu::target("avx2,avxvnni"), gnu::always_inline]] inline __m256i dpbusd(__m256i acc, __m256i u8, __m256i s8) {
  asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(u8), "x"(s8));
  return acc;
}

// ---------------------------------------------------------------------------------------------
// The micro-kernels: MR rows (rows past `rows` repeat row 0 and are not stored) x NR columns
// (columns past `cols` are padding and are not stored), over all x.groups lanes of K.
// ---------------------------------------------------------------------------------------------

[[gnu::target("avx512f,avx512bw,avx512vnni")]] inline void
block_avx512_vnni(const PackedInput& x, std::size_t r0, std::size_t rows, const std::uint32_t* panel,
                  const Epilogue& e, float* out, std::size_t ldo, std::size_t cols) {
  constexpr int MR = 8;
  const unsigned char* row[MR];
  for (int r = 0; r < MR; ++r) row[r] = x.row(r0 + (static_cast<std::size_t>(r) < rows ? r : 0));
  const std::size_t groups = x.groups;
  __m512i acc[MR][2];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_si512();

  // The hot loop: per lane of K, 2 loads of 16 weight lanes, 8 broadcasts, 16 x 64 multiply-adds.
  for (std::size_t g = 0; g < groups; ++g) {
    const __m512i w0 = _mm512_loadu_si512(panel + g * 32), w1 = _mm512_loadu_si512(panel + g * 32 + 16);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512i xr = _mm512_set1_epi32(lane(row[r], g));
      acc[r][0] = dpbusd(acc[r][0], xr, w0);
      acc[r][1] = dpbusd(acc[r][1], xr, w1);
    }
  }

  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t first = 0; first < cols; first += 16) store_row_zmm(acc[r][first / 16], e, first, cols, out + r * ldo);
}

[[gnu::target("avx2,fma")]] inline void store_ymm_block(const __m256i (&acc)[6][2], std::size_t rows,
                                                        const Epilogue& e, float* out, std::size_t ldo,
                                                        std::size_t cols) {
  for (int v = 0; v < 2; ++v) {
    const std::size_t first = 8 * static_cast<std::size_t>(v);
    if (first >= cols) break;
    const int valid = static_cast<int>(std::min<std::size_t>(8, cols - first));
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(valid), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256i off = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e.offset + first));
    const __m256 scale = _mm256_loadu_ps(e.scale + first), bias = _mm256_loadu_ps(e.bias + first);
    for (std::size_t r = 0; r < rows; ++r) {
      const __m256 sum = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc[r][v], off));
      _mm256_maskstore_ps(out + r * ldo + first, mask, _mm256_fmadd_ps(sum, scale, bias));
    }
  }
}

[[gnu::target("avx2,fma,avxvnni")]] inline void
block_avx_vnni(const PackedInput& x, std::size_t r0, std::size_t rows, const std::uint32_t* panel,
               const Epilogue& e, float* out, std::size_t ldo, std::size_t cols) {
  constexpr int MR = 6;
  const unsigned char* row[MR];
  for (int r = 0; r < MR; ++r) row[r] = x.row(r0 + (static_cast<std::size_t>(r) < rows ? r : 0));
  const std::size_t groups = x.groups;
  __m256i acc[MR][2];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  for (std::size_t g = 0; g < groups; ++g) {
    const auto* w = reinterpret_cast<const __m256i*>(panel + g * 16);
    const __m256i w0 = _mm256_loadu_si256(w), w1 = _mm256_loadu_si256(w + 1);
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const __m256i xr = _mm256_set1_epi32(lane(row[r], g));
      acc[r][0] = dpbusd(acc[r][0], xr, w0);
      acc[r][1] = dpbusd(acc[r][1], xr, w1);
    }
  }
  store_ymm_block(acc, rows, e, out, ldo, cols);
}

// The AVX-VNNI kernel again, with vpmaddwd + vpaddd for vpdpbusd: written twice because a template
// cannot give its instances different target attributes.
[[gnu::target("avx2,fma")]] inline void
block_avx2(const PackedInput& x, std::size_t r0, std::size_t rows, const std::uint32_t* panel,
           const Epilogue& e, float* out, std::size_t ldo, std::size_t cols) {
  constexpr int MR = 6;
  const unsigned char* row[MR];
  for (int r = 0; r < MR; ++r) row[r] = x.row(r0 + (static_cast<std::size_t>(r) < rows ? r : 0));
  const std::size_t groups = x.groups;
  __m256i acc[MR][2];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  for (std::size_t g = 0; g < groups; ++g) {
    const auto* w = reinterpret_cast<const __m256i*>(panel + g * 16);
    const __m256i w0 = _mm256_loadu_si256(w), w1 = _mm256_loadu_si256(w + 1);
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const __m256i xr = _mm256_set1_epi32(lane(row[r], g));  // two 16-bit inputs
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(xr, w0));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(xr, w1));
    }
  }
  store_ymm_block(acc, rows, e, out, ldo, cols);
}
#endif  // DP_INT8_X86

// Rows [r0, r1) of out. Blocks of 64 rows (64 KiB of inputs at K = 1024, in L2) meet each panel of
// weights in turn (NR x K bytes: 32 KiB at K = 1024, in L1), strip by strip of MR rows.
inline void linear_int8_rows(const PackedInput& x, const PackedWeights& w, const std::vector<float>& scale,
                             tensor::MatrixView<float> out, std::size_t r0, std::size_t r1) {
#if DP_INT8_X86
  const Shape s = shape_of(w.isa);
  auto* block = w.isa == Isa::amx_int8      ? block_amx
                : w.isa == Isa::avx512_vnni ? block_avx512_vnni
                : w.isa == Isa::avx_vnni    ? block_avx_vnni
                                            : block_avx2;
  std::optional<AmxTiles> tiles;  // tile configuration is per thread: this chunk's thread
  if (w.isa == Isa::amx_int8) tiles.emplace();
  constexpr std::size_t kRowBlock = 64;
  for (std::size_t rb = r0; rb < r1; rb += kRowBlock) {
    const std::size_t rb_end = std::min(r1, rb + kRowBlock);
    for (std::size_t p = 0; p < w.panels; ++p) {
      const std::size_t col0 = p * s.nr, cols = std::min<std::size_t>(s.nr, w.n - col0);
      const Epilogue e{w.offset.data() + col0, scale.data() + col0, w.bias.data() + col0};
      for (std::size_t r = rb; r < rb_end; r += s.mr)
        block(x, r, std::min<std::size_t>(s.mr, rb_end - r),
              w.lanes.data() + p * w.groups * s.nr, e, out.data + r * out.cols + col0, out.cols, cols);
    }
  }
#else
  (void)x, (void)w, (void)scale, (void)out, (void)r0, (void)r1;
#endif
}

inline void linear_int8(const PackedInput& x, const PackedWeights& w, tensor::MatrixView<float> out) {
  std::vector<float> scale(w.scale.size());  // x's scale is known only now: it is this batch's
  for (std::size_t c = 0; c < scale.size(); ++c) scale[c] = x.scale * w.scale[c];
  const Shape s = shape_of(w.isa);
  const double flops = 2.0 * static_cast<double>(x.m) * static_cast<double>(w.n) * static_cast<double>(w.k);
  tensor::parallel_chunks(x.m, static_cast<std::size_t>(s.mr), tensor::parts_for(flops, 1e6),
                          [&](std::size_t r0, std::size_t r1) { linear_int8_rows(x, w, scale, out, r0, r1); });
}

// The reference: the same integers and the same final fused multiply-add, by plain loops on one
// thread. The vector kernels must agree with it exactly: integer sums have no rounding to differ in.
inline void linear_int8_reference(const QuantizedInput& x, const QuantizedWeights& w, std::span<const float> bias,
                                  tensor::MatrixView<float> out) {
  for (std::size_t r = 0; r < x.m; ++r)
    for (std::size_t c = 0; c < w.n; ++c) {
      const std::uint8_t* xr = x.u.data() + r * x.k;
      const std::int8_t* wc = w.q.data() + c * w.k;
      std::int32_t sum = 0;
      for (std::size_t i = 0; i < x.k; ++i) sum += static_cast<std::int32_t>(xr[i]) * wc[i];
      out(r, c) = std::fma(static_cast<float>(sum - w.offset[c]), x.scale * w.scale[c], bias.empty() ? 0.0f : bias[c]);
    }
}

}  // namespace dp::quant
