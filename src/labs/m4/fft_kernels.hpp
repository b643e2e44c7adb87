// fft_kernels.hpp — our FFT: the fft lab's variants, reused by spectrogram (and signal-filters).
//
// A discrete Fourier transform of n complex numbers, X[k] = sum_j x[j] * exp(-2 pi i j k / n), costs
// n^2 complex multiply-adds written out directly. The FFT splits it in halves (or quarters) again
// and again: log2(n) passes over the data, each doing about n operations, so n log2 n in all.
//
// Index
//   is_power_of_two, require_power_of_two   the sizes we take, and the error for the others
//   Radix                                   two: one halving per pass; four: two halvings per pass
//   ComplexFft<T>                           in-place forward FFT of n = 2^k complex numbers: bit-
//                                           reversal permutation, then radix-2 or radix-4 passes
//                                           with twiddles precomputed once per size
//   RealFft<T>                              n real numbers -> the n/2 + 1 non-redundant outputs, via
//                                           one complex FFT of n/2 (the "half-length trick")
//   dft_naive<T>                            the O(n^2) definition, in T, with a table of n twiddles
//   dft_reference                           the definition in long double: the checks' reference
//   relative_rms_error                      sqrt(sum |got - want|^2 / sum |want|^2)
//
// Layout: std::complex<T> is two T side by side (re, im), and the standard lets us see an array of
// them as an array of T twice as long; the kernels work on that T array with plain arithmetic (the
// operator* of std::complex checks for NaN and infinity on every product, unless -ffast-math).
// Twiddles are precomputed once per size, one contiguous run per pass, so that the inner loop
// over j reads them with unit stride; for float the loops work on 8 complex numbers at a time
// (one AVX-512 register; the compiler splits it where the CPU has narrower vectors).
#pragma once

#include <bit>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <numbers>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"

namespace dp::fft {

// ---------------------------------------------------------------------------------------------
// Sizes
// ---------------------------------------------------------------------------------------------

inline bool is_power_of_two(std::size_t n) { return n != 0 && (n & (n - 1)) == 0; }

// Throws dp::Error naming the size and the nearest ones that would work.
inline void require_power_of_two(std::size_t n, const char* who, std::size_t smallest = 1) {
  if (is_power_of_two(n) && n >= smallest) return;
  if (n < smallest)
    throw dp::Error(fmt::format("{}: size {} is too small; the smallest size it takes is {}", who, n, smallest));
  const std::size_t below = std::bit_floor(n), above = below << 1;
  throw dp::Error(fmt::format(
      "{}: size {} is not a power of two; use {} or {} (zero-pad the input to {}), or a mixed-radix "
      "FFT such as FFTW for other sizes",
      who, n, below, above, above));
}

// exp(-2 pi i k / n), computed in long double so that a float or double twiddle is correctly
// rounded (a twiddle off by one ulp adds its error to every output it touches).
inline std::complex<long double> unit_root(std::size_t k, std::size_t n) {
  const long double angle = -2.0L * std::numbers::pi_v<long double> * static_cast<long double>(k) /
                            static_cast<long double>(n);
  return {std::cos(angle), std::sin(angle)};
}

enum class Radix { two, four };

// ---------------------------------------------------------------------------------------------
// The butterflies: the inner loops
// ---------------------------------------------------------------------------------------------
// Data and twiddles are interleaved (re, im). `__restrict`: the pointers of one call never overlap
// (each starts m complex numbers after the last, and j < m); saying so spares a run-time test.

// Radix 2, one group: a[j], b[j] <- a[j] + w^j b[j], a[j] - w^j b[j] for j < m.
template <class T>
inline void butterflies2(T* __restrict a, T* __restrict b, const T* __restrict w, std::size_t m) {
  for (std::size_t j = 0; j < m; ++j) {
    const T br = b[2 * j], bi = b[2 * j + 1], wr = w[2 * j], wi = w[2 * j + 1];
    const T tr = br * wr - bi * wi, ti = br * wi + bi * wr;
    const T ar = a[2 * j], ai = a[2 * j + 1];
    a[2 * j] = ar + tr, a[2 * j + 1] = ai + ti;
    b[2 * j] = ar - tr, b[2 * j + 1] = ai - ti;
  }
}

// Radix 4, one group of 4m outputs from four DFTs of size m. After the bit-reversal permutation
// the group holds, in order, the DFTs of the samples 4t, 4t+2, 4t+1, 4t+3 (the two middle ones
// swapped: a radix-2 ordering). With w = exp(-2 pi i j / 4m), the inputs to the 4-point DFT are
// y0 = p0, y1 = w p2, y2 = w^2 p1, y3 = w^3 p3, and its outputs go to j, j+m, j+2m, j+3m:
//   X0 = (y0+y2) + (y1+y3)    X2 = (y0+y2) - (y1+y3)
//   X1 = (y0-y2) - i(y1-y3)   X3 = (y0-y2) + i(y1-y3)
// Three complex multiplications per four points, where two radix-2 passes need four, and one pass
// over memory instead of two.
template <class T>
inline void butterflies4(T* __restrict p0, T* __restrict p1, T* __restrict p2, T* __restrict p3,
                         const T* __restrict w1, const T* __restrict w2, const T* __restrict w3, std::size_t m) {
  for (std::size_t j = 0; j < m; ++j) {
    const T y0r = p0[2 * j], y0i = p0[2 * j + 1];
    const T ar = p2[2 * j], ai = p2[2 * j + 1];  // w p2
    const T y1r = ar * w1[2 * j] - ai * w1[2 * j + 1], y1i = ar * w1[2 * j + 1] + ai * w1[2 * j];
    const T br = p1[2 * j], bi = p1[2 * j + 1];  // w^2 p1
    const T y2r = br * w2[2 * j] - bi * w2[2 * j + 1], y2i = br * w2[2 * j + 1] + bi * w2[2 * j];
    const T cr = p3[2 * j], ci = p3[2 * j + 1];  // w^3 p3
    const T y3r = cr * w3[2 * j] - ci * w3[2 * j + 1], y3i = cr * w3[2 * j + 1] + ci * w3[2 * j];
    const T s02r = y0r + y2r, s02i = y0i + y2i, d02r = y0r - y2r, d02i = y0i - y2i;
    const T s13r = y1r + y3r, s13i = y1i + y3i, d13r = y1r - y3r, d13i = y1i - y3i;
    p0[2 * j] = s02r + s13r, p0[2 * j + 1] = s02i + s13i;
    p2[2 * j] = s02r - s13r, p2[2 * j + 1] = s02i - s13i;
    p1[2 * j] = d02r + d13i, p1[2 * j + 1] = d02i - d13r;  // -i (a + ib) = b - ia
    p3[2 * j] = d02r - d13i, p3[2 * j + 1] = d02i + d13r;
  }
}

// The same butterflies for float, L complex numbers at a time, in GCC's vector extensions (the
// compiler picks the instructions: with -march=native on AVX-512, L = 8 is one zmm register).
// Written out because GCC 12's own vectorization of the loops above was 1.4 to 2 times slower in
// our measurements: it pulls re and im apart and back together with shuffles, and leaves the
// short loops of the first passes (m = 1, 2, 4) scalar.
namespace simd {
template <int L>
struct Vec {
  typedef float type __attribute__((vector_size(8 * L)));  // L complex floats: re, im, re, im ...
};
template <int L>
using vf = typename Vec<L>::type;
constexpr int kMaxLanes = 8;  // complex floats per vector: 16 floats, 64 bytes

template <int L>
inline vf<L> load(const float* p) {
  vf<L> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <int L>
inline void store(float* p, vf<L> v) { std::memcpy(p, &v, sizeof v); }

template <int L, std::size_t... I>  // (re, im) -> (im, re)
inline vf<L> swap_ri(vf<L> v, std::index_sequence<I...>) { return __builtin_shufflevector(v, v, (I ^ 1)...); }
template <int L, std::size_t... I>  // (re, im) -> (re, re)
inline vf<L> dup_re(vf<L> v, std::index_sequence<I...>) { return __builtin_shufflevector(v, v, (I & ~std::size_t{1})...); }
template <int L, std::size_t... I>  // (re, im) -> (im, im)
inline vf<L> dup_im(vf<L> v, std::index_sequence<I...>) { return __builtin_shufflevector(v, v, (I | 1)...); }
template <int L, std::size_t... I>  // (-1, +1, -1, +1 ...)
inline vf<L> minus_plus(std::index_sequence<I...>) { return vf<L>{(I % 2 ? 1.0f : -1.0f)...}; }

// a * w: (ar wr - ai wi, ai wr + ar wi), one vfmaddsub-like step per lane pair.
template <int L>
inline vf<L> cmul(vf<L> a, vf<L> w) {
  constexpr auto idx = std::make_index_sequence<2 * L>{};
  return a * dup_re<L>(w, idx) + swap_ri<L>(a, idx) * dup_im<L>(w, idx) * minus_plus<L>(idx);
}
// -i * v = (im, -re)
template <int L>
inline vf<L> times_minus_i(vf<L> v) {
  constexpr auto idx = std::make_index_sequence<2 * L>{};
  return swap_ri<L>(v, idx) * -minus_plus<L>(idx);
}

template <int L>
inline void butterflies2(float* a, float* b, const float* w, std::size_t m) {
  for (std::size_t j = 0; j < m; j += L) {
    const vf<L> t = cmul<L>(load<L>(b + 2 * j), load<L>(w + 2 * j)), x = load<L>(a + 2 * j);
    store<L>(a + 2 * j, x + t), store<L>(b + 2 * j, x - t);
  }
}

template <int L>
inline void butterflies4(float* p0, float* p1, float* p2, float* p3, const float* w1, const float* w2,
                         const float* w3, std::size_t m) {
  for (std::size_t j = 0; j < m; j += L) {
    const vf<L> y0 = load<L>(p0 + 2 * j);
    const vf<L> y1 = cmul<L>(load<L>(p2 + 2 * j), load<L>(w1 + 2 * j));
    const vf<L> y2 = cmul<L>(load<L>(p1 + 2 * j), load<L>(w2 + 2 * j));
    const vf<L> y3 = cmul<L>(load<L>(p3 + 2 * j), load<L>(w3 + 2 * j));
    const vf<L> s02 = y0 + y2, d02 = y0 - y2, s13 = y1 + y3, d13 = times_minus_i<L>(y1 - y3);
    store<L>(p0 + 2 * j, s02 + s13), store<L>(p2 + 2 * j, s02 - s13);
    store<L>(p1 + 2 * j, d02 + d13), store<L>(p3 + 2 * j, d02 - d13);
  }
}
}  // namespace simd

// ---------------------------------------------------------------------------------------------
// ComplexFft: in place, n = 2^k
// ---------------------------------------------------------------------------------------------

template <class T>
class ComplexFft {
 public:
  explicit ComplexFft(std::size_t n) : n_(n) {
    require_power_of_two(n, "ComplexFft");
    log2n_ = static_cast<unsigned>(std::countr_zero(n));
    // rev[i]: i with its log2(n) bits in reverse order.
    rev_.resize(n);
    for (std::size_t i = 1; i < n; ++i)
      rev_[i] = static_cast<std::uint32_t>((rev_[i >> 1] >> 1) | ((i & 1) << (log2n_ - 1)));
    // The pass with half-size m (radix 2) or quarter-size m (radix 4) reads its twiddles from
    // entries [m, 2m) of its table: every m is a different power of two, so the runs never meet,
    // and n entries hold them all.
    w2_.resize(2 * n);
    for (std::size_t m = 1; m < n; m *= 2)
      for (std::size_t j = 0; j < m; ++j) {
        const auto w = unit_root(j, 2 * m);
        w2_[2 * (m + j)] = static_cast<T>(w.real()), w2_[2 * (m + j) + 1] = static_cast<T>(w.imag());
      }
    for (int q = 0; q < 3; ++q) w4_[q].resize(std::max<std::size_t>(2, n));
    for (std::size_t m = 1; 4 * m <= n; m *= 2)
      for (std::size_t j = 0; j < m; ++j)
        for (int q = 0; q < 3; ++q) {
          const auto w = unit_root(static_cast<std::size_t>(q + 1) * j, 4 * m);
          w4_[q][2 * (m + j)] = static_cast<T>(w.real()), w4_[q][2 * (m + j) + 1] = static_cast<T>(w.imag());
        }
  }

  std::size_t size() const { return n_; }

  // X[k] = sum_j x[j] exp(-2 pi i j k / n), written over x. Unnormalized, like FFTW's.
  void forward(std::span<std::complex<T>> data, Radix radix = Radix::four) const {
    if (data.size() != n_)
      throw dp::Error(fmt::format("ComplexFft of size {} was given {} numbers", n_, data.size()));
    T* x = reinterpret_cast<T*>(data.data());
    bit_reverse(data);
    if (radix == Radix::two) {
      for (std::size_t m = 1; m < n_; m *= 2) pass2(x, m);
      return;
    }
    std::size_t m = 1;
    if (log2n_ % 2 == 1) {  // an odd number of halvings: one radix-2 pass first (twiddles all 1)
      for (std::size_t k = 0; k < 2 * n_; k += 4) {
        const T ar = x[k], ai = x[k + 1], br = x[k + 2], bi = x[k + 3];
        x[k] = ar + br, x[k + 1] = ai + bi, x[k + 2] = ar - br, x[k + 3] = ai - bi;
      }
      m = 2;
    } else if (n_ >= 4) {  // an even number: the first radix-4 pass has every twiddle 1
      first_pass4(x);
      m = 4;
    }
    for (; 4 * m <= n_; m *= 4) pass4(x, m);
  }

 private:
  // Swaps x[i] and x[rev[i]] once per pair: after it, the DFTs of size 1 sit where each pass
  // expects its inputs, and every pass can write its outputs over its inputs.
  // Done plainly (for i: swap x[i], x[rev i]), the partners of consecutive i lie n/2, n/4 ...
  // apart: every swap touches a different cache line, and at n = 2^16 the permutation took three
  // times as long as all the butterflies together. So the index is cut in three, i = (a, b, c)
  // with a and c of kTileBits bits each, rev(i) = (rev c, rev b, rev a): for one middle part b,
  // the 8 x 8 elements of all a and c form 8 runs of 8 neighbours (8 cache lines), and their
  // partners 8 runs at rev b. Each tile's 16 lines are used whole while they sit in L1.
  static constexpr unsigned kTileBits = 3;
  void bit_reverse(std::span<std::complex<T>> x) const {
    if (log2n_ < 2 * kTileBits) {
      for (std::size_t i = 0; i < n_; ++i)
        if (i < rev_[i]) std::swap(x[i], x[rev_[i]]);
      return;
    }
    constexpr std::size_t B = std::size_t{1} << kTileBits;
    const unsigned high = log2n_ - kTileBits;   // where a starts
    const std::size_t middles = n_ >> (2 * kTileBits);
    for (std::size_t b = 0; b < middles; ++b) {
      const std::size_t rb = rev_[b << kTileBits] >> kTileBits;  // b's bits reversed in place
      if (rb < b) continue;  // that pair of tiles was done from rb
      for (std::size_t a = 0; a < B; ++a)
        for (std::size_t c = 0; c < B; ++c) {
          const std::size_t i = (a << high) | (b << kTileBits) | c;
          // rev(c) lands in the top bits, rev(a) in the bottom ones: the table has both.
          const std::size_t j = rev_[c] | (rb << kTileBits) | rev_[a << high];
          if (b != rb || i < j) std::swap(x[i], x[j]);
        }
    }
  }

  // One radix-2 pass (half-size m) and one radix-4 pass (quarter-size m) over the whole array.
  // For float, L = min(m, 8) complex numbers at a time (m is a power of two, so L divides it).
  void pass2(T* x, std::size_t m) const {
    const T* w = &w2_[2 * m];
    for (std::size_t k = 0; k < n_; k += 2 * m) {
      T* a = x + 2 * k;
      T* b = x + 2 * (k + m);
      if constexpr (std::is_same_v<T, float>) {
        if (m >= 8) simd::butterflies2<8>(a, b, w, m);
        else if (m == 4) simd::butterflies2<4>(a, b, w, m);
        else if (m == 2) simd::butterflies2<2>(a, b, w, m);
        else simd::butterflies2<1>(a, b, w, m);
      } else {
        butterflies2(a, b, w, m);
      }
    }
  }
  // The radix-4 pass of quarter-size 1: 4-point DFTs of neighbours, additions only (w = 1).
  // Written out rather than through pass4, whose 1-wide groups would spend their time on calls
  // and multiplications by 1.
  void first_pass4(T* x) const {
    for (std::size_t k = 0; k < 2 * n_; k += 8) {
      T* p = x + k;  // p0 = (p[0], p[1]), p1 = (p[2], p[3]), p2 = (p[4], p[5]), p3 = (p[6], p[7])
      const T s02r = p[0] + p[2], s02i = p[1] + p[3], d02r = p[0] - p[2], d02i = p[1] - p[3];
      const T s13r = p[4] + p[6], s13i = p[5] + p[7], d13r = p[4] - p[6], d13i = p[5] - p[7];
      p[0] = s02r + s13r, p[1] = s02i + s13i, p[4] = s02r - s13r, p[5] = s02i - s13i;
      p[2] = d02r + d13i, p[3] = d02i - d13r, p[6] = d02r - d13i, p[7] = d02i + d13r;
    }
  }
  void pass4(T* x, std::size_t m) const {
    const T *w1 = &w4_[0][2 * m], *w2 = &w4_[1][2 * m], *w3 = &w4_[2][2 * m];
    for (std::size_t k = 0; k < n_; k += 4 * m) {
      T *p0 = x + 2 * k, *p1 = p0 + 2 * m, *p2 = p1 + 2 * m, *p3 = p2 + 2 * m;
      if constexpr (std::is_same_v<T, float>) {
        if (m >= 8) simd::butterflies4<8>(p0, p1, p2, p3, w1, w2, w3, m);
        else if (m == 4) simd::butterflies4<4>(p0, p1, p2, p3, w1, w2, w3, m);
        else if (m == 2) simd::butterflies4<2>(p0, p1, p2, p3, w1, w2, w3, m);
        else simd::butterflies4<1>(p0, p1, p2, p3, w1, w2, w3, m);
      } else {
        butterflies4(p0, p1, p2, p3, w1, w2, w3, m);
      }
    }
  }

  std::size_t n_;
  unsigned log2n_ = 0;
  std::vector<std::uint32_t> rev_;
  std::vector<T> w2_;     // radix 2, interleaved: [m + j] = exp(-2 pi i j / 2m)
  std::vector<T> w4_[3];  // radix 4, interleaved: [q-1][m + j] = exp(-2 pi i q j / 4m), q = 1, 2, 3
};

// ---------------------------------------------------------------------------------------------
// RealFft: n real inputs through one complex FFT of n/2
// ---------------------------------------------------------------------------------------------
// Pack z[k] = x[2k] + i x[2k+1] and transform: Z = E + i O, where E and O are the DFTs (of size
// n/2) of the even and the odd samples. Both are spectra of real sequences, so E[n/2-k] =
// conj(E[k]), which separates them again:
//   E[k] = (Z[k] + conj(Z[n/2-k])) / 2,   O[k] = (Z[k] - conj(Z[n/2-k])) / 2i,
// and one radix-2 step joins them: X[k] = E[k] + w^k O[k], X[n/2-k] = conj(E[k] - w^k O[k]), with
// w = exp(-2 pi i / n). Half the work of a complex FFT of n, for the n/2 + 1 outputs that a real
// input has (the rest are their conjugates), the layout of FFTW's r2c.

template <class T>
class RealFft {
 public:
  explicit RealFft(std::size_t n) : n_(n), half_((require_power_of_two(n, "RealFft", 2), n / 2)) {
    wr_.resize(n / 2), wi_.resize(n / 2);
    for (std::size_t k = 0; k < n / 2; ++k) {
      const auto w = unit_root(k, n);
      wr_[k] = static_cast<T>(w.real()), wi_[k] = static_cast<T>(w.imag());
    }
  }

  std::size_t size() const { return n_; }

  // in: n reals; out: n/2 + 1 complex numbers, X[0] .. X[n/2].
  void forward(std::span<const T> in, std::span<std::complex<T>> out, Radix radix = Radix::four) const {
    if (in.size() != n_ || out.size() != n_ / 2 + 1)
      throw dp::Error(fmt::format("RealFft of size {} needs {} reals in and {} complex out; was given {} and {}",
                                  n_, n_, n_ / 2 + 1, in.size(), out.size()));
    const std::size_t h = n_ / 2;
    T* z = reinterpret_cast<T*>(out.data());
    for (std::size_t i = 0; i < n_; ++i) z[i] = in[i];  // z[k] = x[2k] + i x[2k+1]
    half_.forward(out.first(h), radix);
    const T z0r = z[0], z0i = z[1];
    z[0] = z0r + z0i, z[1] = 0;          // X[0] = E[0] + O[0]
    z[2 * h] = z0r - z0i, z[2 * h + 1] = 0;  // X[n/2] = E[0] - O[0]
    for (std::size_t k = 1; 2 * k <= h; ++k) {
      const std::size_t l = h - k;
      const T ar = z[2 * k], ai = z[2 * k + 1], br = z[2 * l], bi = z[2 * l + 1];
      const T er = (ar + br) / 2, ei = (ai - bi) / 2;  // E[k] = (Z[k] + conj(Z[l])) / 2
      const T orr = (ai + bi) / 2, oi = (br - ar) / 2;  // O[k] = (Z[k] - conj(Z[l])) / 2i
      const T tr = orr * wr_[k] - oi * wi_[k], ti = orr * wi_[k] + oi * wr_[k];  // w^k O[k]
      z[2 * k] = er + tr, z[2 * k + 1] = ei + ti;
      z[2 * l] = er - tr, z[2 * l + 1] = -(ei - ti);
    }
  }

 private:
  std::size_t n_;
  ComplexFft<T> half_;
  std::vector<T> wr_, wi_;  // exp(-2 pi i k / n), k < n/2
};

// ---------------------------------------------------------------------------------------------
// The definition: naive (a variant) and reference (for the checks)
// ---------------------------------------------------------------------------------------------

// X[k] = sum_j x[j] w^(jk mod n) in T, with the n twiddles w^0 .. w^(n-1) from a table: n^2
// complex multiply-adds. Any n >= 1 (the definition needs no power of two).
template <class T>
class NaiveDft {
 public:
  explicit NaiveDft(std::size_t n) : n_(n), wr_(n), wi_(n) {
    if (n == 0) throw dp::Error("NaiveDft: size 0 has no transform; the size must be at least 1");
    for (std::size_t k = 0; k < n; ++k) {
      const auto w = unit_root(k, n);
      wr_[k] = static_cast<T>(w.real()), wi_[k] = static_cast<T>(w.imag());
    }
  }
  void forward(std::span<const std::complex<T>> in, std::span<std::complex<T>> out) const {
    if (in.size() != n_ || out.size() != n_)
      throw dp::Error(fmt::format("NaiveDft of size {} was given {} numbers in, {} out", n_, in.size(), out.size()));
    const T* x = reinterpret_cast<const T*>(in.data());
    for (std::size_t k = 0; k < n_; ++k) {
      T sr = 0, si = 0;
      std::size_t e = 0;  // j * k mod n, kept by additions
      for (std::size_t j = 0; j < n_; ++j) {
        sr += x[2 * j] * wr_[e] - x[2 * j + 1] * wi_[e];
        si += x[2 * j] * wi_[e] + x[2 * j + 1] * wr_[e];
        e += k;
        if (e >= n_) e -= n_;
      }
      out[k] = {sr, si};
    }
  }

 private:
  std::size_t n_;
  std::vector<T> wr_, wi_;
};

// The definition in long double (64-bit mantissa on x86: 2^11 times finer than double), from
// inputs of any precision: what our float and double transforms are checked against.
template <class T>
std::vector<std::complex<double>> dft_reference(std::span<const std::complex<T>> in) {
  const std::size_t n = in.size();
  std::vector<std::complex<long double>> w(n);
  for (std::size_t k = 0; k < n; ++k) w[k] = unit_root(k, n);
  std::vector<std::complex<double>> out(n);
  for (std::size_t k = 0; k < n; ++k) {
    long double sr = 0, si = 0;
    std::size_t e = 0;
    for (std::size_t j = 0; j < n; ++j) {
      const long double xr = in[j].real(), xi = in[j].imag();
      sr += xr * w[e].real() - xi * w[e].imag();
      si += xr * w[e].imag() + xi * w[e].real();
      e += k;
      if (e >= n) e -= n;
    }
    out[k] = {static_cast<double>(sr), static_cast<double>(si)};
  }
  return out;
}

// sqrt(sum |got - want|^2 / sum |want|^2): the error relative to the signal's own size. An FFT's
// rounding error grows like log2(n) (each output passes through log2(n) butterflies) at worst,
// like sqrt(log2 n) on average; a wrong twiddle or a wrong index gives an error near 1.
template <class A, class B>
double relative_rms_error(std::span<const std::complex<A>> got, std::span<const std::complex<B>> want) {
  if (got.size() != want.size())
    throw dp::Error(fmt::format("relative_rms_error: {} values against {}", got.size(), want.size()));
  long double err = 0, ref = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const long double dr = static_cast<long double>(got[i].real()) - static_cast<long double>(want[i].real());
    const long double di = static_cast<long double>(got[i].imag()) - static_cast<long double>(want[i].imag());
    err += dr * dr + di * di;
    ref += static_cast<long double>(want[i].real()) * want[i].real() + static_cast<long double>(want[i].imag()) * want[i].imag();
  }
  if (ref == 0) return err == 0 ? 0.0 : INFINITY;
  return static_cast<double>(std::sqrt(err / ref));
}

}  // namespace dp::fft
