// int8_layout.hpp — where an int8 kernel finds its numbers: which instructions, which layout.
//
// Index
//   Isa               which instructions a kernel uses: amx_int8, avx512_vnni, avx_vnni, avx2
//   cpu_has()         whether this CPU can run an Isa (asked at run time, not at build time)
//   Shape             an Isa's block of outputs (rows x columns) and k values per 32-bit lane
//   PackedWeights     QuantizedWeights rearranged into the lanes the Isa multiplies
//   PackedInput       x quantized straight into the Isa's layout (dynamic quantization)
//   Epilogue          what turns a block's int32 sums into the layer's floats
//
// A lane always holds 4 bytes: 4 values of k as bytes (VNNI, AMX), or 2 widened to 16 bits
// (AVX2). The kernels that read these layouts are in int8_kernels.hpp and int8_amx.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "tensor/quant/quantize.hpp"
#include "tensor/tensor.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#define DP_INT8_X86 1
#endif

namespace dp::quant {

enum class Isa { amx_int8, avx512_vnni, avx_vnni, avx2 };
inline constexpr Isa kAllIsas[] = {Isa::amx_int8, Isa::avx512_vnni, Isa::avx_vnni, Isa::avx2};


inline const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::amx_int8: return "AMX-int8";
    case Isa::avx512_vnni: return "AVX512-VNNI";
    case Isa::avx_vnni: return "AVX-VNNI";
    case Isa::avx2: return "AVX2";
  }
  return "?";
}

// Linux hands out AMX's tile state (8 KiB more to save at every context switch) only to a
// process that asks for it, once (arch_prctl); without it the first tile instruction faults.
inline bool amx_permitted() {
#if DP_INT8_X86
  static const bool granted = [] {
    constexpr int kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;  // from <asm/prctl.h>
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return granted;
#else
  return false;
#endif
}

inline bool cpu_has(Isa isa) {
#if DP_INT8_X86
  switch (isa) {
    case Isa::amx_int8: return __builtin_cpu_supports("amx-int8") && __builtin_cpu_supports("avx512bw") && amx_permitted();
    case Isa::avx512_vnni: return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
    case Isa::avx_vnni: return __builtin_cpu_supports("avxvnni") && __builtin_cpu_supports("avx2");
    case Isa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
#endif
  (void)isa;
  return false;
}

struct Shape {
  int mr, nr, k_per_lane;  // register block rows x columns; k values per 32-bit lane
  int lane_multiple = 1;   // K is padded to a multiple of this many lanes
};
inline Shape shape_of(Isa isa) {
  switch (isa) {
    case Isa::amx_int8: return {32, 32, 4, 16};  // 2 x 2 tiles of 16 x 16 sums; K in steps of 64
    case Isa::avx512_vnni: return {8, 32, 4};  // 16 zmm accumulators, as our fp32 kernel
    case Isa::avx_vnni: return {6, 16, 4};     // 12 ymm accumulators of the 16 registers
    case Isa::avx2: return {6, 16, 2};
  }
  return {1, 1, 1};
}

// Lanes per row of K, padded as the Isa needs.
inline std::size_t lanes_for(Isa isa, std::size_t k) {
  const Shape s = shape_of(isa);
  const std::size_t lanes = (k + s.k_per_lane - 1) / s.k_per_lane;
  return (lanes + s.lane_multiple - 1) / s.lane_multiple * s.lane_multiple;
}

// Panels of NR output columns; inside a panel, for each group of k_per_lane consecutive k, the NR
// columns' values are adjacent: 4 bytes per column, one lane each. K and N are padded with zero
// weights, so padding adds nothing to any sum.
struct PackedWeights {
  Isa isa{};
  std::size_t n = 0, k = 0, groups = 0, panels = 0;
  std::vector<std::uint32_t> lanes;  // panels x groups x NR
  std::vector<std::int32_t> offset;  // padded to panels x NR (zeros past n)
  std::vector<float> scale, bias;    // likewise
};

inline PackedWeights pack_weights(Isa isa, const QuantizedWeights& w, std::span<const float> bias) {
  const Shape s = shape_of(isa);
  PackedWeights p{.isa = isa, .n = w.n, .k = w.k, .groups = lanes_for(isa, w.k),
                  .panels = (w.n + s.nr - 1) / s.nr};
  const std::size_t padded_n = p.panels * s.nr;
  p.lanes.assign(p.panels * p.groups * s.nr, 0);
  p.offset.assign(padded_n, 0), p.scale.assign(padded_n, 0), p.bias.assign(padded_n, 0);
  for (std::size_t col = 0; col < w.n; ++col) {
    const std::size_t panel = col / s.nr, j = col % s.nr;
    for (std::size_t c = 0; c < w.k; ++c) {
      const std::size_t g = c / s.k_per_lane, part = c % s.k_per_lane;
      auto* lane = reinterpret_cast<unsigned char*>(&p.lanes[(panel * p.groups + g) * s.nr + j]);
      const std::int8_t q = w.q[col * w.k + c];
      if (s.k_per_lane == 4) {
        std::memcpy(lane + part, &q, 1);
      } else {
        const std::int16_t wide = q;
        std::memcpy(lane + 2 * part, &wide, 2);
      }
    }
    p.offset[col] = w.offset[col], p.scale[col] = w.scale[col];
    p.bias[col] = bias.empty() ? 0.0f : bias[col];
  }
  return p;
}

// x quantized to u8 = q + 128, row-major, each row padded to whole lanes with 128 (a zero input,
// under zero weights). AVX2 reads the same values widened to 16 bits (`wide`), 2 per lane. AMX
// loads whole tiles of 32 rows, so for it the rows are padded too, to a multiple of 32.
struct PackedInput {
  Isa isa{};
  std::size_t m = 0, groups = 0;
  std::vector<std::uint8_t> u8;
  std::vector<std::uint16_t> wide;
  float scale = 1;

  const unsigned char* row(std::size_t r) const {  // groups lanes of 4 bytes
    return isa == Isa::avx2 ? reinterpret_cast<const unsigned char*>(wide.data() + r * groups * 2)
                            : u8.data() + r * groups * 4;
  }
  std::size_t row_bytes() const { return groups * 4; }
};

// Dynamic quantization, per batch: one pass for the scale, one to round. Both loops vectorize.
// A `fixed_scale` above 0 is used instead (static quantization: a scale calibrated beforehand;
// values beyond 127 of it are clamped).
inline void quantize_input(Isa isa, tensor::ConstView<float> x, PackedInput& out, float fixed_scale = 0) {
  const std::size_t per_lane = static_cast<std::size_t>(shape_of(isa).k_per_lane);
  out.isa = isa, out.m = x.rows, out.groups = lanes_for(isa, x.cols);
  const std::size_t stride = out.groups * per_lane;  // values per padded row
  const std::size_t rows = isa == Isa::amx_int8 ? (x.rows + 31) / 32 * 32 : x.rows;
  out.u8.resize(rows * stride);
  out.scale = fixed_scale > 0 ? fixed_scale : symmetric_scale(x.span());
  const float inv = 1.0f / out.scale;
  for (std::size_t r = 0; r < x.rows; ++r) {
    const float* src = x.data + r * x.cols;
    std::uint8_t* dst = out.u8.data() + r * stride;
    for (std::size_t c = 0; c < x.cols; ++c) dst[c] = static_cast<std::uint8_t>(to_int8(src[c], inv) + kInputOffset);
    std::fill(dst + x.cols, dst + stride, std::uint8_t{kInputOffset});
  }
  std::fill(out.u8.begin() + static_cast<std::ptrdiff_t>(x.rows * stride), out.u8.end(), std::uint8_t{kInputOffset});
  if (isa == Isa::avx2) out.wide.assign(out.u8.begin(), out.u8.end());  // zero-extends
}

// What every kernel does with its int32 sums: y = (sum - offset) * (x_scale * w_scale) + bias,
// as one fused multiply-add, the same in the vector kernels and in the reference.
struct Epilogue {
  const std::int32_t* offset;  // at this panel's first column
  const float* scale;          // x_scale * w_scale[col], likewise
  const float* bias;
};

#if DP_INT8_X86
// One row of 16 sums, from column `first` of a block: y = (sum - offset) * scale + bias; the
// columns from `cols` on are padding and are not stored. (maskz with every lane set is cvtepi32_ps:
// GCC 12 warns about the plain form's undefined register.)
[[gnu::target("avx512f,avx512bw")]] inline void store_row_zmm(__m512i sums, const Epilogue& e, std::size_t first,
                                                            std::size_t cols, float* out) {
  const __mmask16 mask = cols - first >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (cols - first)) - 1);
  const __m512 sum = _mm512_maskz_cvtepi32_ps(0xFFFF, _mm512_sub_epi32(sums, _mm512_loadu_si512(e.offset + first)));
  _mm512_mask_storeu_ps(out + first, mask,
                        _mm512_fmadd_ps(sum, _mm512_loadu_ps(e.scale + first), _mm512_loadu_ps(e.bias + first)));
}
#endif

}  // namespace dp::quant
