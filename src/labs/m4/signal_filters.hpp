// signal_filters.hpp — the signal-filters lab's designs and kernels: FIR three ways, IIR biquads.
//
// A finite impulse response (FIR) filter of L taps h[0..L-1] turns samples x into
//   y[n] = sum_{k<L} h[k] x[n-k]            (a convolution: L multiply-adds per output sample)
// and an infinite impulse response (IIR) filter feeds its own outputs back: a biquad section is
//   y[n] = b0 x[n] + b1 x[n-1] + b2 x[n-2] - a1 y[n-1] - a2 y[n-2]   (5 multiply-adds per sample)
// A cascade of a few biquads is as steep as a FIR of hundreds of taps, but it is recursive: each
// output waits for the previous one.
//
// Index
//   design_lowpass_fir       windowed-sinc low-pass: L taps, Hamming window, DC gain exactly 1
//   FirFilter                the taps, reversed once; direct() (plain loop: what the compiler
//                            makes of it, scalar) and simd() (GCC vectors, 16 floats a register)
//   fir_reference            y and |h| * |x| in double: the checks' reference and error scale
//   ola_fft_size             the FFT size overlap-add uses for L taps (a cost model, see there)
//   OlaFilter                FFT overlap-add over our ComplexFft<float>, two blocks per transform
//   Biquad, butterworth_lowpass, biquad_response   IIR design by the bilinear transform
//   biquad_cascade<T>        Direct Form II transposed, sample by sample through every section
//   biquad_cascade_by_section<T>   the same sums, one section over the whole signal at a time
//
// The streaming convention of every FIR kernel here: the input carries L-1 samples of history
// before the first output's sample, x.size() == y.size() + L - 1, and
//   y[n] = sum_{k<L} h[k] x[n + L-1 - k]
// (a real-time filter keeps those L-1 samples from the previous buffer; a file starts with zeros).
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstring>
#include <numbers>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "labs/m4/fft_kernels.hpp"

namespace dp::filters {

// ---------------------------------------------------------------------------------------------
// FIR design: windowed sinc
// ---------------------------------------------------------------------------------------------
// The ideal low-pass with cutoff fc (as a fraction of the sample rate, 0 < fc < 0.5) has the
// impulse response 2 fc sinc(2 fc t): infinitely long. Cut it to L taps centred on (L-1)/2 and
// taper the cut with a Hamming window (0.54 - 0.46 cos), which trades a wider transition band
// (about 3.3 / L of the sample rate) for a stopband about 53 dB down instead of 21 dB for a bare
// cut. Normalised so that the taps sum to 1: a constant passes unchanged.
inline std::vector<float> design_lowpass_fir(std::size_t taps, double cutoff) {
  if (taps == 0) throw dp::Error("design_lowpass_fir: a filter needs at least 1 tap");
  if (!(cutoff > 0 && cutoff < 0.5))
    throw dp::Error(fmt::format("design_lowpass_fir: cutoff {} is not a fraction of the sample rate in (0, 0.5); "
                                "e.g. 4 kHz at 48 kHz is 4000 / 48000 = 0.0833", cutoff));
  std::vector<double> h(taps);
  const double centre = (static_cast<double>(taps) - 1) / 2;
  double sum = 0;
  for (std::size_t k = 0; k < taps; ++k) {
    const double t = static_cast<double>(k) - centre;
    const double sinc = t == 0 ? 2 * cutoff : std::sin(2 * std::numbers::pi * cutoff * t) / (std::numbers::pi * t);
    const double window =
        taps == 1 ? 1.0 : 0.54 - 0.46 * std::cos(2 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(taps - 1));
    h[k] = sinc * window;
    sum += h[k];
  }
  std::vector<float> out(taps);
  for (std::size_t k = 0; k < taps; ++k) out[k] = static_cast<float>(h[k] / sum);
  return out;
}

// Sizes of a streaming FIR call, checked once, with a message that says what would fit.
inline void require_fir_sizes(std::size_t taps, std::size_t in, std::size_t out, const char* who) {
  if (taps == 0) throw dp::Error(fmt::format("{}: the filter has no taps", who));
  if (in != out + taps - 1)
    throw dp::Error(fmt::format("{}: {} outputs of a {}-tap filter need {} input samples ({} of history first), "
                                "was given {}",
                                who, out, taps, out + taps - 1, taps - 1, in));
}

// ---------------------------------------------------------------------------------------------
// FIR, direct: the scalar loop and the explicit SIMD one
// ---------------------------------------------------------------------------------------------
// With the taps reversed, r[j] = h[L-1-j], an output is a dot product of L neighbours:
//   y[n] = sum_j r[j] x[n + j]
// The plain loop stays scalar: vectorising a float sum reorders its additions, which changes the
// rounding, and GCC does not do that without -ffast-math (-fassociative-math). So it runs one
// multiply-add at a time, each waiting for the previous one's sum: latency-bound.
// simd() turns the loop inside out: 16 outputs per register, K registers of outputs at once; for
// each tap, one broadcast of r[j] and K unaligned loads of x[n + j .. n + j + 16K), K independent
// multiply-adds. Each output's sum is still added in tap order, so its rounding is the scalar
// loop's (up to fused multiply-adds, where the compiler contracts a * b + c into one).
class FirFilter {
 public:
  explicit FirFilter(std::span<const float> taps) : reversed_(taps.rbegin(), taps.rend()) {
    if (taps.empty()) throw dp::Error("FirFilter: a filter needs at least 1 tap");
  }
  std::size_t taps() const { return reversed_.size(); }

  void direct(std::span<const float> x, std::span<float> y) const {
    require_fir_sizes(taps(), x.size(), y.size(), "FirFilter::direct");
    const float* r = reversed_.data();
    const std::size_t L = taps();
    for (std::size_t n = 0; n < y.size(); ++n) {
      const float* xn = x.data() + n;
      float sum = 0;
      for (std::size_t j = 0; j < L; ++j) sum += r[j] * xn[j];
      y[n] = sum;
    }
  }

  void simd(std::span<const float> x, std::span<float> y) const {
    require_fir_sizes(taps(), x.size(), y.size(), "FirFilter::simd");
    std::size_t n = 0;
    n = simd_block<8>(x.data(), y, n);  // 128 outputs at a time: 8 of the 32 AVX-512 registers
    n = simd_block<1>(x.data(), y, n);  // then 16 at a time
    const float* r = reversed_.data();
    for (; n < y.size(); ++n) {         // the last < 16 outputs: scalar
      float sum = 0;
      for (std::size_t j = 0; j < taps(); ++j) sum += r[j] * x[n + j];
      y[n] = sum;
    }
  }

 private:
  typedef float v16 __attribute__((vector_size(64)));  // 16 floats: one zmm register with AVX-512
  static v16 load(const float* p) {
    v16 v;
    std::memcpy(&v, p, sizeof v);  // unaligned load (x + n + j is aligned for one j in 16)
    return v;
  }
  // Outputs [n, n + 16K), [n + 16K, ...) while a whole block fits; returns the first one not done.
  template <int K>
  std::size_t simd_block(const float* x, std::span<float> y, std::size_t n) const {
    const float* r = reversed_.data();
    const std::size_t L = taps();
    for (; n + 16 * K <= y.size(); n += 16 * K) {
      v16 acc[K] = {};
      const float* xn = x + n;
      for (std::size_t j = 0; j < L; ++j) {
        const v16 c = v16{} + r[j];  // broadcast
        for (int k = 0; k < K; ++k) acc[k] += c * load(xn + j + 16 * k);
      }
      for (int k = 0; k < K; ++k) std::memcpy(y.data() + n + 16 * k, &acc[k], sizeof(v16));
    }
    return n;
  }

  std::vector<float> reversed_;  // r[j] = h[L-1-j]
};

// The reference: the same convolution in double from the same float taps and samples (every
// product of two floats is exact in double, and L <= 2^20 sums of them lose < 2^-32 relative),
// and |h| * |x|, the scale of the rounding errors a float sum can make (see the lab's check).
struct FirReference {
  std::vector<double> y;
  std::vector<double> abs;  // sum_k |h[k]| |x[n + L-1 - k]|
};
inline FirReference fir_reference(std::span<const float> h, std::span<const float> x, std::size_t outputs) {
  require_fir_sizes(h.size(), x.size(), outputs, "fir_reference");
  const std::size_t L = h.size();
  FirReference ref{std::vector<double>(outputs), std::vector<double>(outputs)};
  for (std::size_t n = 0; n < outputs; ++n) {
    double s = 0, a = 0;
    for (std::size_t k = 0; k < L; ++k) {
      const double p = static_cast<double>(h[k]) * static_cast<double>(x[n + L - 1 - k]);
      s += p, a += std::abs(p);
    }
    ref.y[n] = s, ref.abs[n] = a;
  }
  return ref;
}

// ---------------------------------------------------------------------------------------------
// FIR by FFT: overlap-add
// ---------------------------------------------------------------------------------------------
// Cut the input into blocks of B samples. A block convolved with L taps is B + L - 1 samples long;
// with an FFT of N >= B + L - 1 points, that linear convolution is the circular one: zero-pad
// block and taps to N, multiply their spectra, transform back. Neighbouring blocks' results
// overlap by L - 1 samples and are added ("overlap-add").
// Cost per output sample, with an FFT of N costing about N log2 N: two transforms per block of
// B = N - L + 1 new samples, ~ 2 N log2 N / (N - L + 1). Too small an N (close to L) wastes the
// transform on the overlap; too large a one pays log2 N on every sample. ola_fft_size takes the
// power of two that minimises that model (capped at 2^16), which lands at 8 L for most L (4 to 16
// L at the ends). The model ignores caches: a 2^16-point complex transform is 512 KiB.
inline std::size_t ola_fft_size(std::size_t taps) {
  if (taps == 0) throw dp::Error("ola_fft_size: a filter needs at least 1 tap");
  std::size_t best = 0;
  double best_cost = 0;
  for (std::size_t n = std::bit_ceil(std::max<std::size_t>(2 * taps, 16)); n <= (std::size_t{1} << 16); n *= 2) {
    const double cost = static_cast<double>(n) * std::log2(static_cast<double>(n)) / static_cast<double>(n - taps + 1);
    if (best == 0 || cost < best_cost) best = n, best_cost = cost;
  }
  if (best == 0)
    throw dp::Error(fmt::format("ola_fft_size: {} taps need an FFT of at least {} points; the largest used is 65536",
                                taps, 2 * taps));
  return best;
}

// Our FFT is complex, and audio is real. Two real blocks go through one complex transform: block a
// as the real part, block b as the imaginary part. Since the taps' spectrum H belongs to a real
// signal, (a + i b) * h = a * h + i (b * h): the real part of the result is a's output, the
// imaginary part b's. The inverse transform is the forward one: IFFT(Z) = conj(FFT(conj(Z))) / N,
// and conj(X H) / N = conj(X) conj(H) / N, so we store G = conj(H) / N and the result of
// FFT(conj(X) G) is a*h in its real part and -(b*h) in its imaginary part.
class OlaFilter {
 public:
  OlaFilter(std::span<const float> taps, std::size_t fft_size)
      : taps_(taps.size()), n_(fft_size), fft_(fft_size), g_(fft_size), buf_(fft_size) {
    if (taps.empty()) throw dp::Error("OlaFilter: a filter needs at least 1 tap");
    if (fft_size < 2 * taps.size())
      throw dp::Error(fmt::format("OlaFilter: an FFT of {} points leaves blocks of {} samples for {} taps; use at least "
                                  "{} points (ola_fft_size({}) = {})",
                                  fft_size, fft_size + 1 - std::min(fft_size + 1, taps.size()), taps.size(),
                                  std::bit_ceil(2 * taps.size()), taps.size(), ola_fft_size(taps.size())));
    std::vector<std::complex<float>> h(n_);
    for (std::size_t k = 0; k < taps.size(); ++k) h[k] = taps[k];
    fft_.forward(h);
    const float scale = 1.0f / static_cast<float>(n_);  // a power of two: exact
    for (std::size_t k = 0; k < n_; ++k) g_[k] = std::conj(h[k]) * scale;
  }
  std::size_t fft_size() const { return n_; }
  std::size_t block() const { return n_ - taps_ + 1; }

  // Same contract as FirFilter: x holds L-1 samples of history, then y.size() new ones. Seen as a
  // full convolution c = h * x, y[n] = c[n + L-1]; block i of x contributes to c from i B on.
  // Not const: the transform buffer is the filter's own (one OlaFilter per thread).
  void process(std::span<const float> x, std::span<float> y) {
    require_fir_sizes(taps_, x.size(), y.size(), "OlaFilter::process");
    std::fill(y.begin(), y.end(), 0.0f);
    const std::size_t B = block(), M = x.size();
    float* z = reinterpret_cast<float*>(buf_.data());
    const float* g = reinterpret_cast<const float*>(g_.data());
    for (std::size_t start = 0; start < M; start += 2 * B) {
      // Pack: re = x[start, start + B), im = x[start + B, start + 2B), zeros beyond M and beyond B.
      for (std::size_t j = 0; j < n_; ++j) {
        const std::size_t ia = start + j, ib = start + B + j;
        z[2 * j] = j < B && ia < M ? x[ia] : 0.0f;
        z[2 * j + 1] = j < B && ib < M ? x[ib] : 0.0f;
      }
      fft_.forward(buf_);
      for (std::size_t k = 0; k < n_; ++k) {  // z <- conj(z) g
        const float zr = z[2 * k], zi = -z[2 * k + 1], gr = g[2 * k], gi = g[2 * k + 1];
        z[2 * k] = zr * gr - zi * gi, z[2 * k + 1] = zr * gi + zi * gr;
      }
      fft_.forward(buf_);
      add(y, start, z, 1.0f);
      add(y, start + B, z + 1, -1.0f);
    }
  }

 private:
  // c[offset + j] += sign * v[2j] for j < N, kept only where c maps to y: L-1 <= c index < M.
  void add(std::span<float> y, std::size_t offset, const float* v, float sign) const {
    const std::size_t first_c = taps_ - 1, end_c = y.size() + taps_ - 1;
    if (offset >= end_c) return;
    const std::size_t j0 = first_c > offset ? first_c - offset : 0;
    const std::size_t j1 = std::min(n_, end_c - offset);
    for (std::size_t j = j0; j < j1; ++j) y[offset + j - first_c] += sign * v[2 * j];
  }

  std::size_t taps_, n_;
  dp::fft::ComplexFft<float> fft_;
  std::vector<std::complex<float>> g_;    // conj(FFT(h zero-padded)) / N
  std::vector<std::complex<float>> buf_;  // two blocks, transformed in place
};

// ---------------------------------------------------------------------------------------------
// IIR: Butterworth low-pass as a cascade of biquads
// ---------------------------------------------------------------------------------------------
// Transfer function of one section: H(z) = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2).
struct Biquad {
  double b0 = 1, b1 = 0, b2 = 0, a1 = 0, a2 = 0;
};

// An analog Butterworth low-pass of order n has its poles evenly on the left half of a circle;
// paired, each pair is one second-order section s^2 + s/Q + 1 with Q = 1 / (2 sin theta_k),
// theta_k = pi (2k + 1) / (2n); an odd order adds one first-order section s + 1. The bilinear
// transform s = (1 - z^-1) / (K (1 + z^-1)) maps it to digital, with K = tan(pi fc) so that the
// analog cutoff lands exactly on fc ("pre-warping"): |H| = 1 at DC and 1/sqrt(2) (-3 dB) at fc.
inline std::vector<Biquad> butterworth_lowpass(int order, double cutoff) {
  if (order < 1 || order > 32)
    throw dp::Error(fmt::format("butterworth_lowpass: order {} is outside 1 .. 32 (audio filters use 2 to 8)", order));
  if (!(cutoff > 0 && cutoff < 0.5))
    throw dp::Error(fmt::format("butterworth_lowpass: cutoff {} is not a fraction of the sample rate in (0, 0.5)", cutoff));
  const double K = std::tan(std::numbers::pi * cutoff), K2 = K * K;
  std::vector<Biquad> sections;
  for (int k = 0; k < order / 2; ++k) {
    const double theta = std::numbers::pi * (2 * k + 1) / (2.0 * order);
    const double inv_q = 2 * std::sin(theta);
    const double norm = 1 / (1 + K * inv_q + K2);
    const double b0 = K2 * norm;
    sections.push_back({b0, 2 * b0, b0, 2 * (K2 - 1) * norm, (1 - K * inv_q + K2) * norm});
  }
  if (order % 2 == 1) {
    const double norm = 1 / (1 + K);
    sections.push_back({K * norm, K * norm, 0, (K - 1) * norm, 0});
  }
  return sections;
}

// H(exp(2 pi i f)) of the cascade, f a fraction of the sample rate.
inline std::complex<double> biquad_response(std::span<const Biquad> sections, double f) {
  const std::complex<double> z1 = std::polar(1.0, -2 * std::numbers::pi * f);  // z^-1
  std::complex<double> h = 1;
  for (const Biquad& s : sections) h *= (s.b0 + s.b1 * z1 + s.b2 * z1 * z1) / (1.0 + s.a1 * z1 + s.a2 * z1 * z1);
  return h;
}

// Direct Form II transposed: two state values per section, and
//   y = b0 x + s1,   s1 = b1 x - a1 y + s2,   s2 = b2 x - a2 y.
// Sample by sample: each sample goes through every section before the next sample starts. The
// sections of one sample depend on each other, but section 2 of sample n and section 1 of sample
// n+1 do not, so an out-of-order core overlaps them.
template <class T>
void biquad_cascade(std::span<const Biquad> sections, std::span<const float> x, std::span<T> y) {
  if (x.size() != y.size()) throw dp::Error(fmt::format("biquad_cascade: {} samples in, {} out", x.size(), y.size()));
  constexpr std::size_t kMax = 16;
  if (sections.size() > kMax)
    throw dp::Error(fmt::format("biquad_cascade: {} sections; at most {} (order {})", sections.size(), kMax, 2 * kMax));
  T b0[kMax], b1[kMax], b2[kMax], a1[kMax], a2[kMax], s1[kMax] = {}, s2[kMax] = {};
  const std::size_t S = sections.size();
  for (std::size_t i = 0; i < S; ++i)
    b0[i] = static_cast<T>(sections[i].b0), b1[i] = static_cast<T>(sections[i].b1), b2[i] = static_cast<T>(sections[i].b2),
    a1[i] = static_cast<T>(sections[i].a1), a2[i] = static_cast<T>(sections[i].a2);
  for (std::size_t n = 0; n < x.size(); ++n) {
    T v = static_cast<T>(x[n]);
    for (std::size_t i = 0; i < S; ++i) {
      const T out = b0[i] * v + s1[i];
      s1[i] = b1[i] * v - a1[i] * out + s2[i];
      s2[i] = b2[i] * v - a2[i] * out;
      v = out;
    }
    y[n] = v;
  }
}

// The same arithmetic, section after section over the whole signal: one chain of dependent
// multiply-adds at a time (y[n] needs y[n-1]), with nothing for the core to overlap it with.
template <class T>
void biquad_cascade_by_section(std::span<const Biquad> sections, std::span<const float> x, std::span<T> y) {
  if (x.size() != y.size()) throw dp::Error(fmt::format("biquad_cascade: {} samples in, {} out", x.size(), y.size()));
  for (std::size_t n = 0; n < x.size(); ++n) y[n] = static_cast<T>(x[n]);
  for (const Biquad& s : sections) {
    const T b0 = static_cast<T>(s.b0), b1 = static_cast<T>(s.b1), b2 = static_cast<T>(s.b2);
    const T a1 = static_cast<T>(s.a1), a2 = static_cast<T>(s.a2);
    T s1 = 0, s2 = 0;
    for (std::size_t n = 0; n < y.size(); ++n) {
      const T v = y[n], out = b0 * v + s1;
      s1 = b1 * v - a1 * out + s2;
      s2 = b2 * v - a2 * out;
      y[n] = out;
    }
  }
}

// The rounding-error gain of a cascade: each section rounds a few values per sample, and each
// error reaches the output through that section's recursive part 1/A_i(z) and every section after
// it. The sum over sections of the L1 norms of those impulse responses (computed in double, n
// samples long) bounds how much one unit of rounding per sample can move the output.
inline double biquad_error_gain(std::span<const Biquad> sections, std::size_t n = 1 << 14) {
  double total = 0;
  for (std::size_t i = 0; i < sections.size(); ++i) {
    // Impulse through 1/A_i, then through sections i+1 .. end.
    std::vector<double> h(n, 0.0);
    double y1 = 0, y2 = 0;
    for (std::size_t t = 0; t < n; ++t) {
      const double v = (t == 0 ? 1.0 : 0.0) - sections[i].a1 * y1 - sections[i].a2 * y2;
      y2 = y1, y1 = v, h[t] = v;
    }
    for (std::size_t j = i + 1; j < sections.size(); ++j) {
      const Biquad& s = sections[j];
      double s1 = 0, s2 = 0;
      for (std::size_t t = 0; t < n; ++t) {
        const double v = h[t], out = s.b0 * v + s1;
        s1 = s.b1 * v - s.a1 * out + s2;
        s2 = s.b2 * v - s.a2 * out;
        h[t] = out;
      }
    }
    double l1 = 0;
    for (const double v : h) l1 += std::abs(v);
    total += l1;
  }
  return total;
}

}  // namespace dp::filters
