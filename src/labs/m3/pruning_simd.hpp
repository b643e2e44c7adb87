// pruning_simd.hpp — the pruning lab's SIMD plumbing (src/labs/m3/pruning.cpp holds the kernels).
//
// Index
//   kBlock, kVecs      batch rows per block of the csr-shaped kernels, and their accumulators
//   transpose_block()  x's rows b0 .. b0+kBlock as columns: xt[k][j] = x[b0 + j][k]
//   ColumnTile         gathers 16 columns of y before writing them out row by row
//   xt_scratch()       the transposed block's storage, one per thread, reused between calls
//   kPanel, kRows      the register block of the 2:4 blocked kernel (32 outputs x 8 rows)
//   widen_bytes()      16 bytes to 16 int32 lanes (vpmovzxbd)
//   four_floats()      4 floats repeated across a register (vbroadcastf32x4)
//   pick()             lane j = q[idx[j]] for idx in 0..3 (vpermilps)
// Where AVX-512 or AVX2 is there, the instruction is named through its intrinsic; elsewhere the
// same result comes from plain code. Every comment says why the obvious version was not kept.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "tensor/simd.hpp"
#include "tensor/tensor.hpp"

namespace dp::pruning {

using dp::tensor::ConstView;
using dp::tensor::MatrixView;
using dp::tensor::simd::kLanes;
using dp::tensor::simd::vfloat;
namespace simd = dp::tensor::simd;

constexpr std::size_t kBlock = 64;  // batch rows per block: 4 AVX-512 registers of accumulators (8 AVX2)
constexpr int kVecs = static_cast<int>(kBlock) / kLanes;

// xt[k * kBlock + j] = x[b0 + j][k] for j < rows, k < K; zeros elsewhere, up to k < kpad.
void transpose_block(ConstView<float> x, std::size_t b0, std::size_t rows, std::size_t kpad, float* xt) {
  constexpr std::size_t kTile = 16;  // 16 columns of x at a time: their xt lines stay in L1
  for (std::size_t k0 = 0; k0 < kpad; k0 += kTile)
    for (std::size_t j = 0; j < kBlock; ++j)
      for (std::size_t k = k0; k < std::min(kpad, k0 + kTile); ++k)
        xt[k * kBlock + j] = (j < rows && k < x.cols) ? x(b0 + j, k) : 0.0f;
}

// Output columns, 16 at a time. The accumulators of row n of W hold y[b0 .. b0+kBlock)[n], a
// column of y. Stored as they come, those are 64 floats 4*N bytes apart: at N = 1024 every one
// falls in the same set of the L1 cache, which holds 12 lines of a set, so each store missed L1
// (it made csr 5 times slower at 2% density). A tile of 16 columns is gathered here first, then
// written out row by row: 16 floats, one cache line, per row of y.
class ColumnTile {
 public:
  static constexpr std::size_t kCols = 16;
  ColumnTile(MatrixView<float> y, std::size_t b0, std::size_t rows) : y_(y), b0_(b0), rows_(rows) {}
  void put(std::size_t n, const vfloat* acc) {  // acc: kVecs vectors, y[b0 + j][n] for j < kBlock
    if (count_ == 0) n0_ = n;
    for (int v = 0; v < kVecs; ++v) simd::store(tile_[count_] + v * kLanes, acc[v]);
    if (++count_ == kCols) flush();
  }
  void flush() {
    for (std::size_t j = 0; j < rows_; ++j)
      for (std::size_t c = 0; c < count_; ++c) y_(b0_ + j, n0_ + c) = tile_[c][j];
    count_ = 0;
  }

 private:
  MatrixView<float> y_;
  std::size_t b0_, rows_, n0_ = 0, count_ = 0;
  alignas(64) float tile_[kCols][kBlock];
};

std::vector<float>& xt_scratch(std::size_t floats) {
  thread_local std::vector<float> xt;
  if (xt.size() < floats) xt.resize(floats);
  return xt;
}

constexpr int kPanelVecs = 2;                   // 32 output features with AVX-512
constexpr std::size_t kPanel = kPanelVecs * kLanes;
constexpr std::size_t kRows = kLanes == 16 ? 8 : 4;  // 16 + 8 registers of 32 (AVX-512)

// kLanes bytes widened to 32-bit lanes: one vpmovzxbd. (GCC 12 compiles __builtin_convertvector of
// bytes to ints into one insert per byte, so the instruction is named here where it exists.)
inline simd::vint widen_bytes(const std::uint8_t* p) {
  simd::vint v;
#if defined(__AVX512F__)  // the maskz form: GCC 12 warns that the plain one reads an undefined vector
  const __m512i w = _mm512_maskz_cvtepu8_epi32(0xFFFF, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
#elif defined(__AVX2__)
  const __m256i w = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
#else
  std::int32_t w[kLanes];
  for (int i = 0; i < kLanes; ++i) w[i] = p[i];
#endif
  std::memcpy(&v, &w, sizeof v);
  return v;
}

// p[0..4) in lanes 0-3 of a register (repeated in every 4 lanes; the permutes read lanes 0-3 only):
// one broadcasting load. (Built from a 16-byte vector with __builtin_shufflevector, GCC 12 stored
// it and re-loaded it 64 bytes wide: a store-forwarding stall per row and group, 8x slower.)
inline vfloat four_floats(const float* p) {
  vfloat v;
#if defined(__AVX512F__)
  const __m512 w = _mm512_maskz_broadcast_f32x4(0xFFFF, _mm_loadu_ps(p));  // maskz: as in widen_bytes
#elif defined(__AVX__)
  const __m256 w = _mm256_broadcast_ps(reinterpret_cast<const __m128*>(p));
#else
  float w[kLanes];
  std::memcpy(w, p, sizeof w);
#endif
  std::memcpy(&v, &w, sizeof v);
  return v;
}

// Lane j of the result: q[idx[j]], idx in 0..3, where q repeats its 4 floats in every 128 bits.
inline vfloat pick(vfloat q, simd::vint idx) {
#if defined(__AVX512F__)  // vpermilps: picks within each 128 bits, which is all that is needed here
  __m512 a, r;
  __m512i i;
  std::memcpy(&a, &q, sizeof a), std::memcpy(&i, &idx, sizeof i);
  r = _mm512_maskz_permutevar_ps(0xFFFF, a, i);  // maskz: as in widen_bytes
  std::memcpy(&q, &r, sizeof q);
  return q;
#else
  return __builtin_shuffle(q, idx);
#endif
}

}  // namespace dp::pruning
