// image_filters.hpp — the image-filters lab's kernels (src/labs/m4/image_filters.cpp runs them).
//
// Every filter here is a correlation of the image with a K x K kernel (K odd, r = K / 2), one
// channel at a time, with the same border rule everywhere: replicate (clamp). A pixel outside
// the image takes the value of the nearest pixel inside: in(clamp(x), clamp(y)), which is
// OpenCV's BORDER_REPLICATE. Images are dp::image::Image<T> (image_io.hpp): u8 or float,
// channels interleaved. A u8 result is rounded to nearest and saturated to 0..255.
//
// Index
//   gaussian_sigma()     OpenCV's sigma for a K x K Gaussian: 0.3 ((K - 1) / 2 - 1) + 0.8
//   gaussian_weights()   K weights exp(-d^2 / 2 sigma^2), normalised to sum to 1 (double)
//   outer()              the K x K kernel w[i] * w[j] of a separable one
//   reference()          the double-precision direct correlation every variant is checked against
//   filter_naive()       K^2 taps per value, each coordinate clamped (scalar)
//   separable_two_pass() a row pass into a float image, then a column pass (scalar)
//   separable_simd()     per row: the column pass into a padded float row, then the row pass;
//                        explicit SIMD (GCC vector extensions, tensor/simd.hpp), rows [y0, y1)
//                        only, so that threads can take bands
//   row_buffer_for()     the padded row buffer separable_simd needs (one per thread)
//   box_running_sums()   a box filter in O(1) per value: running column sums, then a running sum
//                        along the row (any K for the same cost)
//   sobel()              both 3 x 3 Sobel gradients in one pass (auto-vectorized interior)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "core/portability.hpp"
#include "labs/m4/image_io.hpp"
#include "tensor/simd.hpp"

namespace dp::filters {

using dp::image::Image;

inline int clamp_index(int i, int n) { return i < 0 ? 0 : (i >= n ? n - 1 : i); }

// A float result stored as T: u8 rounds to nearest and saturates; float is kept as is.
template <class T>
inline T store_as(float v) {
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    v = std::min(std::max(v + 0.5f, 0.0f), 255.0f);
    return static_cast<std::uint8_t>(v);
  } else {
    return v;
  }
}

// ---------------------------------------------------------------------------------------------
// Kernels
// ---------------------------------------------------------------------------------------------

// OpenCV's getGaussianKernel picks this sigma when given none; we pass it to OpenCV explicitly,
// so both sides use the same weights.
inline double gaussian_sigma(int k) { return 0.3 * ((k - 1) * 0.5 - 1) + 0.8; }

inline std::vector<double> gaussian_weights(int k, double sigma) {
  std::vector<double> w(static_cast<std::size_t>(k));
  double sum = 0;
  for (int i = 0; i < k; ++i) {
    const double d = i - (k - 1) / 2.0;
    sum += w[static_cast<std::size_t>(i)] = std::exp(-d * d / (2 * sigma * sigma));
  }
  for (double& x : w) x /= sum;
  return w;
}

// kernel2d[j * K + i] = col[j] * row[i]: row weights along x, column weights along y.
inline std::vector<double> outer(const std::vector<double>& col, const std::vector<double>& row) {
  std::vector<double> k2(col.size() * row.size());
  for (std::size_t j = 0; j < col.size(); ++j)
    for (std::size_t i = 0; i < row.size(); ++i) k2[j * row.size() + i] = col[j] * row[i];
  return k2;
}

template <class To>
std::vector<To> cast(const std::vector<double>& v) {
  return std::vector<To>(v.begin(), v.end());
}

// ---------------------------------------------------------------------------------------------
// Reference: direct correlation in double, clamped coordinates
// ---------------------------------------------------------------------------------------------

// out(x, y, c) = sum over j, i of kernel[j * K + i] * in(clamp(x + i - r), clamp(y + j - r), c).
template <class T>
std::vector<double> reference(const Image<T>& in, const std::vector<double>& kernel, int k) {
  const int r = k / 2, c = in.channels;
  std::vector<double> out(in.data.size());
  for (int y = 0; y < in.height; ++y)
    for (int x = 0; x < in.width; ++x)
      for (int ch = 0; ch < c; ++ch) {
        double s = 0;
        for (int j = 0; j < k; ++j) {
          const T* row = in.row(clamp_index(y + j - r, in.height));
          for (int i = 0; i < k; ++i)
            s += kernel[static_cast<std::size_t>(j * k + i)] * static_cast<double>(row[clamp_index(x + i - r, in.width) * c + ch]);
        }
        out[(static_cast<std::size_t>(y) * in.width + x) * c + ch] = s;
      }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Variant: naive 2D — K^2 taps per value, every coordinate clamped
// ---------------------------------------------------------------------------------------------

// Scalar on purpose (DP_NO_VECTORIZE): it is the loop a first version would be.
template <class T>
DP_NO_VECTORIZE void filter_naive(const Image<T>& in, Image<T>& out, std::span<const float> kernel, int k) {
  const int r = k / 2, c = in.channels;
  for (int y = 0; y < in.height; ++y) {
    T* dst = out.row(y);
    for (int x = 0; x < in.width; ++x)
      for (int ch = 0; ch < c; ++ch) {
        float s = 0;
        for (int j = 0; j < k; ++j) {
          const T* row = in.row(clamp_index(y + j - r, in.height));
          for (int i = 0; i < k; ++i)
            s += kernel[static_cast<std::size_t>(j * k + i)] * static_cast<float>(row[clamp_index(x + i - r, in.width) * c + ch]);
        }
        dst[x * c + ch] = store_as<T>(s);
      }
  }
}

// ---------------------------------------------------------------------------------------------
// Variant: separable, two passes — 2K taps per value instead of K^2
// ---------------------------------------------------------------------------------------------

// A K x K kernel that is w[j] * w[i] (a Gaussian, a box) is a row filter followed by a column
// filter. Pass 1 filters every row into `tmp` (float, the image's size); pass 2 filters every
// column of tmp. Scalar, like filter_naive, so the two differ only in the arithmetic.
template <class T>
DP_NO_VECTORIZE void separable_two_pass(const Image<T>& in, Image<T>& out, std::span<const float> w, Image<float>& tmp) {
  const int k = static_cast<int>(w.size()), r = k / 2, c = in.channels;
  for (int y = 0; y < in.height; ++y) {
    const T* src = in.row(y);
    float* dst = tmp.row(y);
    for (int x = 0; x < in.width; ++x)
      for (int ch = 0; ch < c; ++ch) {
        float s = 0;
        for (int i = 0; i < k; ++i) s += w[static_cast<std::size_t>(i)] * static_cast<float>(src[clamp_index(x + i - r, in.width) * c + ch]);
        dst[x * c + ch] = s;
      }
  }
  for (int y = 0; y < in.height; ++y) {
    T* dst = out.row(y);
    for (std::size_t v = 0; v < in.row_values(); ++v) {
      float s = 0;
      for (int j = 0; j < k; ++j) s += w[static_cast<std::size_t>(j)] * tmp.row(clamp_index(y + j - r, in.height))[v];
      dst[v] = store_as<T>(s);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Variant: separable, one row at a time, explicit SIMD
// ---------------------------------------------------------------------------------------------

namespace simd = dp::tensor::simd;
using simd::kLanes;
using simd::vfloat;

// kLanes values of a row as floats: one load, and for u8 one widening conversion. GCC 12 turns
// __builtin_convertvector from 16 bytes to 16 floats into 16 scalar conversions, so the u8 paths
// name the instructions (vpmovzxbd + vcvtdq2ps in, vcvttps2dq + vpmovdb out) where the target
// has them, and fall back to a plain loop elsewhere. (The maskz forms with every lane on: GCC 12
// warns that the plain forms read an undefined register.)
template <class T>
inline vfloat load_lanes(const T* p) {
  if constexpr (std::is_same_v<T, float>) {
    return simd::load(p);
  } else {
    vfloat v;
#if defined(__AVX512F__)
    const __m512 f = _mm512_maskz_cvtepi32_ps(0xFFFF, _mm512_maskz_cvtepu8_epi32(0xFFFF, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
    std::memcpy(&v, &f, sizeof v);
#elif defined(__AVX2__)
    const __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
    std::memcpy(&v, &f, sizeof v);
#else
    for (int i = 0; i < kLanes; ++i) v[i] = static_cast<float>(p[i]);
#endif
    return v;
  }
}

template <class T>
inline void store_lanes(T* p, vfloat v) {
  if constexpr (std::is_same_v<T, float>) {
    simd::store(p, v);
  } else {
    v = simd::max(v + 0.5f, simd::broadcast(0.0f));  // round half up, as store_as, and saturate
    v = v > 255.0f ? simd::broadcast(255.0f) : v;
#if defined(__AVX512F__)
    __m512 f;
    std::memcpy(&f, &v, sizeof f);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm512_maskz_cvtepi32_epi8(0xFFFF, _mm512_maskz_cvttps_epi32(0xFFFF, f)));
#else
    for (int i = 0; i < kLanes; ++i) p[i] = static_cast<std::uint8_t>(v[i]);
#endif
  }
}

inline constexpr int kMaxK = 63;  // separable_simd keeps K row pointers on the stack

// The row buffer separable_simd needs: one row of floats with r pixels of border on each side.
template <class T>
std::vector<float> row_buffer_for(const Image<T>& in, int k) {
  return std::vector<float>((static_cast<std::size_t>(in.width) + 2 * (k / 2)) * in.channels + kLanes);
}

// Rows [y0, y1) of the separable filter. For each output row: (1) the column pass — the K input
// rows around it, each weighted and added into `buf`, kLanes values at a time (the rows are
// contiguous, so this is K vector multiply-adds per kLanes values); (2) the border of `buf` is
// filled by replicating its first and last pixel; (3) the row pass — out[v] = sum_i w[i] *
// buf[v + i * channels], again kLanes outputs at a time from unaligned loads. The K input rows
// (K x row bytes) stay in L1/L2 from one output row to the next, and `buf` never leaves L1.
template <class T>
void separable_simd(const Image<T>& in, Image<T>& out, std::span<const float> w, int y0, int y1, std::vector<float>& buf) {
  const int k = static_cast<int>(w.size()), r = k / 2, c = in.channels;
  const std::size_t n = in.row_values(), pad = static_cast<std::size_t>(r) * c;
  float* mid = buf.data() + pad;  // buf[pad .. pad + n) holds the column-filtered row
  const T* rows[kMaxK];           // the K input rows of this output row
  if (k > kMaxK || k % 2 == 0) throw dp::Error(fmt::format("separable_simd takes an odd K up to {}, not {}", kMaxK, k));
  for (int y = y0; y < y1; ++y) {
    for (int j = 0; j < k; ++j) rows[j] = in.row(clamp_index(y + j - r, in.height));
    std::size_t v = 0;
    for (; v + kLanes <= n; v += kLanes) {
      vfloat acc = simd::broadcast(0.0f);
      for (int j = 0; j < k; ++j) acc += w[static_cast<std::size_t>(j)] * load_lanes(rows[j] + v);
      simd::store(mid + v, acc);
    }
    for (; v < n; ++v) {
      float acc = 0;
      for (int j = 0; j < k; ++j) acc += w[static_cast<std::size_t>(j)] * static_cast<float>(rows[j][v]);
      mid[v] = acc;
    }
    for (std::size_t p = 0; p < pad; ++p) {
      buf[p] = mid[p % static_cast<std::size_t>(c)];
      mid[n + p] = mid[n - static_cast<std::size_t>(c) + p % static_cast<std::size_t>(c)];
    }
    T* dst = out.row(y);
    v = 0;
    for (; v + kLanes <= n; v += kLanes) {
      vfloat acc = simd::broadcast(0.0f);
      for (int i = 0; i < k; ++i) acc += w[static_cast<std::size_t>(i)] * simd::load(buf.data() + v + static_cast<std::size_t>(i * c));
      store_lanes(dst + v, acc);
    }
    for (; v < n; ++v) {
      float acc = 0;
      for (int i = 0; i < k; ++i) acc += w[static_cast<std::size_t>(i)] * buf[v + static_cast<std::size_t>(i * c)];
      dst[v] = store_as<T>(acc);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Variant: box filter by running sums — O(1) per value, whatever K
// ---------------------------------------------------------------------------------------------

// col[v] holds the sum of the K input values above and below row y (clamped rows); moving to the
// next row adds the row entering the window and subtracts the one leaving it. Along the row, the
// same trick: a running sum of K column sums. `finish` turns a sum into the output value (the
// mean for a blur, the sum itself for integral-images). Acc must hold K^2 * max value exactly
// enough: double for float images, uint32 for u8.
template <class In, class Acc, class Out, class Finish>
void box_running_sums(const Image<In>& in, Image<Out>& out, int k, std::vector<Acc>& col, Finish finish) {
  const int r = k / 2, c = in.channels, w = in.width;
  const std::size_t n = in.row_values();
  col.assign(n, Acc{});
  for (int j = -r; j <= r; ++j) {
    const In* src = in.row(clamp_index(j, in.height));
    for (std::size_t v = 0; v < n; ++v) col[v] += static_cast<Acc>(src[v]);
  }
  for (int y = 0; y < in.height; ++y) {
    if (y > 0) {
      const In* enter = in.row(clamp_index(y + r, in.height));
      const In* leave = in.row(clamp_index(y - r - 1, in.height));
      for (std::size_t v = 0; v < n; ++v) col[v] += static_cast<Acc>(enter[v]) - static_cast<Acc>(leave[v]);
    }
    Out* dst = out.row(y);
    for (int ch = 0; ch < c; ++ch) {
      Acc s{};
      for (int i = -r; i <= r; ++i) s += col[static_cast<std::size_t>(clamp_index(i, w) * c + ch)];
      dst[ch] = finish(s);
      for (int x = 1; x < w; ++x) {
        s += col[static_cast<std::size_t>(clamp_index(x + r, w) * c + ch)];
        s -= col[static_cast<std::size_t>(clamp_index(x - r - 1, w) * c + ch)];
        dst[x * c + ch] = finish(s);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Variant: Sobel gradients, both in one pass
// ---------------------------------------------------------------------------------------------

// gx = [1 2 1]^T (x) [-1 0 1] and gy = [-1 0 1]^T (x) [1 2 1], correlated with the image (as
// OpenCV's Sobel with ksize 3, scale 1). One channel. The interior loop has no clamps and
// GCC auto-vectorizes it (-O3 -march=native); the first and last column take the clamped path.
inline void sobel(const Image<float>& in, Image<float>& gx, Image<float>& gy) {
  const int w = in.width;
  auto at = [w](const float* row, int x) { return row[clamp_index(x, w)]; };
  for (int y = 0; y < in.height; ++y) {
    const float* __restrict up = in.row(clamp_index(y - 1, in.height));
    const float* __restrict mid = in.row(y);
    const float* __restrict down = in.row(clamp_index(y + 1, in.height));
    float* __restrict ox = gx.row(y);
    float* __restrict oy = gy.row(y);
    auto edge = [&](int x) {
      ox[x] = (at(up, x + 1) - at(up, x - 1)) + 2 * (at(mid, x + 1) - at(mid, x - 1)) + (at(down, x + 1) - at(down, x - 1));
      oy[x] = (at(down, x - 1) + 2 * at(down, x) + at(down, x + 1)) - (at(up, x - 1) + 2 * at(up, x) + at(up, x + 1));
    };
    edge(0);
    for (int x = 1; x < w - 1; ++x) {
      ox[x] = (up[x + 1] - up[x - 1]) + 2 * (mid[x + 1] - mid[x - 1]) + (down[x + 1] - down[x - 1]);
      oy[x] = (down[x - 1] + 2 * down[x] + down[x + 1]) - (up[x - 1] + 2 * up[x] + up[x + 1]);
    }
    if (w > 1) edge(w - 1);
  }
}

inline const std::vector<double> kSobelX = {-1, 0, 1, -2, 0, 2, -1, 0, 1};
inline const std::vector<double> kSobelY = {-1, -2, -1, 0, 0, 0, 1, 2, 1};

}  // namespace dp::filters
