// integral_images.hpp — summed-area tables (src/labs/m4/integral_images.cpp runs them).
//
// The summed-area table (integral image) of a W x H grey u8 image is (W + 1) x (H + 1) sums,
// OpenCV's layout: S[y][x] = the sum of every pixel above row y and left of column x, so row 0
// and column 0 are zeros. Any rectangle's sum is then four lookups:
//   sum(x0..x1, y0..y1) = S[y1+1][x1+1] - S[y0][x1+1] - S[y1+1][x0] + S[y0][x0].
// The sums are uint32, kept modulo 2^32 (as OpenCV's 32-bit table): a 4096 x 4096 white image
// sums to 4.3e9 and wraps, yet a rectangle's sum, computed by the same modular arithmetic, is
// exact whenever it is itself below 2^32 (255 x 4096 x 4096 / 2^32 rectangles would be needed).
//
// Index
//   Table             the (W + 1) x (H + 1) sums, and the image border they were built with
//   reference_sat()   uint64 sums, the simple double loop, for the check
//   sat_serial()      one pass: each row's running sum added to the row above
//   sat_simd()        the same pass, each row scanned 16 pixels at a time in AVX-512 registers
//   scan_row_simd()   one row of sat_simd (the serial loop where there is no AVX-512)
//   ParallelSat       the SIMD scan on T threads: each band of rows makes its own table (phase 1),
//                     then adds the sums of every band above it (phase 2); one barrier between
//   padded()          the image with p replicated pixels on every side
//   box_sat()         a K x K box sum per pixel from a table of the image padded by >= K/2:
//                     four lookups, whatever K
#pragma once

#include <algorithm>
#include <barrier>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "labs/m4/image_filters.hpp"  // clamp_index
#include "labs/m4/image_io.hpp"

namespace dp::integral {

using dp::image::Image;

struct Table {
  int width = 0, height = 0;  // of the image; the table is (width + 1) x (height + 1)
  std::vector<std::uint32_t> s;
  Table() = default;
  Table(int w, int h) : width(w), height(h), s(static_cast<std::size_t>(w + 1) * (h + 1), 0) {}
  std::size_t stride() const { return static_cast<std::size_t>(width) + 1; }
  std::uint32_t* row(int y) { return s.data() + static_cast<std::size_t>(y) * stride(); }
  const std::uint32_t* row(int y) const { return s.data() + static_cast<std::size_t>(y) * stride(); }
};

// ---------------------------------------------------------------------------------------------
// Reference
// ---------------------------------------------------------------------------------------------

inline std::vector<std::uint64_t> reference_sat(const Image<std::uint8_t>& in) {
  const std::size_t stride = static_cast<std::size_t>(in.width) + 1;
  std::vector<std::uint64_t> s(stride * (static_cast<std::size_t>(in.height) + 1), 0);
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < in.width; ++x)
      s[(y + 1) * stride + x + 1] = s[y * stride + x + 1] + s[(y + 1) * stride + x] - s[y * stride + x] + in.row(y)[x];
  return s;
}

// ---------------------------------------------------------------------------------------------
// Variant: serial, one pass
// ---------------------------------------------------------------------------------------------

// S[y+1][x+1] = S[y][x+1] + (running sum of row y up to x). The running sum is a dependency
// chain (one add per pixel, each waiting on the last); the add of the row above is not.
inline void sat_serial(const Image<std::uint8_t>& in, Table& t) {
  std::fill_n(t.row(0), t.stride(), 0u);  // row 0: the zeros above the image
  for (int y = 0; y < in.height; ++y) {
    const std::uint8_t* src = in.row(y);
    const std::uint32_t* above = t.row(y);
    std::uint32_t* dst = t.row(y + 1);
    std::uint32_t run = 0;
    dst[0] = 0;
    for (int x = 0; x < in.width; ++x) {
      run += src[x];
      dst[x + 1] = above[x + 1] + run;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Variant: serial, the row's running sum inside vector registers (AVX-512)
// ---------------------------------------------------------------------------------------------

// The serial loop's running sum is a chain of dependent adds: about one pixel per cycle, however
// wide the machine. Here 16 pixels are widened to 16 uint32 lanes and scanned inside the register
// in 4 shift-and-add steps (after step s, lane i holds the sum of lanes i-2^s+1 .. i); then the
// carry (the row's sum so far) is added to every lane, and the row above. The chain from one
// block of 16 to the next is one add and one broadcast of the last lane. Built without AVX-512
// (the valgrind preset, other CPUs), this is the serial loop.
// One row: dst[x + 1] = above[x + 1] + (src[0] + ... + src[x]), dst[0] = 0.
inline void scan_row_simd(const std::uint8_t* src, const std::uint32_t* above, std::uint32_t* dst, int width) {
  dst[0] = 0;
  int x = 0;
#if defined(__AVX512F__)
  const __m512i zero = _mm512_setzero_si512();
  const __m512i last = _mm512_set1_epi32(15);
  __m512i carry = zero;  // the row's sum so far, in every lane
  for (; x + 16 <= width; x += 16) {
    __m512i v = _mm512_maskz_cvtepu8_epi32(0xFFFF, _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + x)));
    v = _mm512_add_epi32(v, _mm512_maskz_alignr_epi32(0xFFFF, v, zero, 15));  // v + (v shifted up 1 lane)
    v = _mm512_add_epi32(v, _mm512_maskz_alignr_epi32(0xFFFF, v, zero, 14));  // ... 2 lanes
    v = _mm512_add_epi32(v, _mm512_maskz_alignr_epi32(0xFFFF, v, zero, 12));  // ... 4 lanes
    v = _mm512_add_epi32(v, _mm512_maskz_alignr_epi32(0xFFFF, v, zero, 8));   // ... 8 lanes
    v = _mm512_add_epi32(v, carry);
    carry = _mm512_maskz_permutexvar_epi32(0xFFFF, last, v);
    _mm512_storeu_si512(dst + x + 1, _mm512_add_epi32(v, _mm512_loadu_si512(above + x + 1)));
  }
#endif
  std::uint32_t run = dst[x] - above[x];  // the row's sum so far (0 when x == 0), mod 2^32
  for (; x < width; ++x) {
    run += src[x];
    dst[x + 1] = above[x + 1] + run;
  }
}

inline void sat_simd(const Image<std::uint8_t>& in, Table& t) {
  std::fill_n(t.row(0), t.stride(), 0u);
  for (int y = 0; y < in.height; ++y) scan_row_simd(in.row(y), t.row(y), t.row(y + 1), in.width);
}

// ---------------------------------------------------------------------------------------------
// Variant: parallel, scan then propagate
// ---------------------------------------------------------------------------------------------

// Thread t of T owns the rows [H t / T, H (t + 1) / T). Phase 1: it builds the table of its band
// (each row scanned as in sat_simd) as if the band were the whole image (the row above the band
// counts as zeros), and copies the band's last row into last[t]. Barrier. Phase 2: it adds, to
// every row of its band, the sum of last[0 .. t-1]: the sums of everything above the band.
// Work: 2 passes over the band instead of 1 (phase 2 reads and writes the table again), so on T
// threads it can win by at most about T/2 over sat_simd while the table fits in cache, and by
// less once memory bandwidth is the limit.
//
//   ParallelSat p(img, table, T);
//   run T threads of p.job(t) (a ThreadTeam round, or dp::run_together), once per table
class ParallelSat {
 public:
  ParallelSat(const Image<std::uint8_t>& in, Table& t, int threads)
      : in_(in), t_(t), threads_(threads), last_(static_cast<std::size_t>(threads), std::vector<std::uint32_t>(t.stride())),
        barrier_(threads) {}

  void job(int t) {
    const int y0 = band_start(t), y1 = band_start(t + 1);
    // Phase 1: the band's own table. The row above the band is read as zeros, not from t_.
    std::vector<std::uint32_t>& last = last_[static_cast<std::size_t>(t)];
    std::fill(last.begin(), last.end(), 0u);
    for (int y = y0; y < y1; ++y)  // zeros above the band's first row
      scan_row_simd(in_.row(y), y == y0 ? last.data() : t_.row(y), t_.row(y + 1), in_.width);
    if (y1 > y0) std::copy_n(t_.row(y1), t_.stride(), last.begin());
    if (t == 0) std::fill_n(t_.row(0), t_.stride(), 0u);
    barrier_.arrive_and_wait();
    // Phase 2: add what lies above the band (the last rows of the bands above, all final now).
    if (t == 0 || y1 == y0) return;
    std::vector<std::uint32_t> carry(t_.stride(), 0u);
    for (int b = 0; b < t; ++b)
      for (std::size_t x = 0; x < carry.size(); ++x) carry[x] += last_[static_cast<std::size_t>(b)][x];
    for (int y = y0; y < y1; ++y) {
      std::uint32_t* dst = t_.row(y + 1);
      for (std::size_t x = 0; x < carry.size(); ++x) dst[x] += carry[x];
    }
  }

  int threads() const { return threads_; }

 private:
  int band_start(int t) const { return static_cast<int>(static_cast<long long>(in_.height) * t / threads_); }

  const Image<std::uint8_t>& in_;
  Table& t_;
  int threads_;
  std::vector<std::vector<std::uint32_t>> last_;  // each band's last row, written in phase 1
  std::barrier<> barrier_;
};

// ---------------------------------------------------------------------------------------------
// Box filters from a table
// ---------------------------------------------------------------------------------------------

// The image with p pixels of border on every side, each a copy of the nearest image pixel
// (replicate, as the other filters). A table of this image answers a K x K box around any pixel
// for K/2 <= p with no clamping at all.
inline Image<std::uint8_t> padded(const Image<std::uint8_t>& in, int p) {
  Image<std::uint8_t> out(in.width + 2 * p, in.height + 2 * p, 1);
  for (int y = 0; y < out.height; ++y) {
    const std::uint8_t* src = in.row(dp::filters::clamp_index(y - p, in.height));
    std::uint8_t* dst = out.row(y);
    for (int x = 0; x < out.width; ++x) dst[x] = src[dp::filters::clamp_index(x - p, in.width)];
  }
  return out;
}

// out(x, y) = the sum of the K x K box around (x, y), from `t`, the table of the image padded by
// `pad` >= K/2 pixels. Four lookups and three adds per pixel, modulo 2^32.
inline void box_sat(const Table& t, int pad, int k, Image<std::uint32_t>& out) {
  const int r = k / 2;
  if (r > pad)
    throw dp::Error(fmt::format("a {0} x {0} box needs a table padded by at least {1} pixels; this one has {2}", k, r, pad));
  for (int y = 0; y < out.height; ++y) {
    const std::uint32_t* top = t.row(y + pad - r);          // S[y0], y0 = y - r in the image
    const std::uint32_t* bottom = t.row(y + pad + r + 1);   // S[y1 + 1]
    std::uint32_t* dst = out.row(y);
    const int x0 = pad - r, x1 = pad + r + 1;
    for (int x = 0; x < out.width; ++x)
      dst[x] = bottom[x + x1] - top[x + x1] - bottom[x + x0] + top[x + x0];
  }
}

}  // namespace dp::integral
