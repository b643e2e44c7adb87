// The signal-filters lab's kernels (src/labs/m4/signal_filters.hpp): every FIR variant (direct,
// SIMD, our FFT overlap-add) against the convolution in double on random input at L = 1, 3, 17,
// 255 and output counts that leave partial vectors and partial blocks; the windowed-sinc design;
// the Butterworth biquads' DC gain and -3 dB cutoff; both IIR cascades against double; and the
// errors for sizes that do not fit.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "labs/m4/signal_filters.hpp"

namespace {

namespace f = dp::filters;

std::vector<float> random_signal(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> x(n);
  for (auto& v : x) v = d(rng);
  return x;
}

double relative_rms(const std::vector<float>& got, const std::vector<double>& want) {
  double e = 0, w = 0;
  for (std::size_t i = 0; i < got.size(); ++i) e += (got[i] - want[i]) * (got[i] - want[i]), w += want[i] * want[i];
  return std::sqrt(e / w);
}

// Random taps (not a low-pass: every frequency passes, so no error hides in a stopband).
TEST(SignalFilters, EveryFirVariantMatchesTheConvolutionInDouble) {
  for (const std::size_t L : {1u, 3u, 17u, 255u}) {
    const auto h = random_signal(L, static_cast<unsigned>(L));
    for (const std::size_t outputs : {1u, 15u, 16u, 129u, 5000u}) {
      const auto x = random_signal(outputs + L - 1, static_cast<unsigned>(1000 * L + outputs));
      const auto ref = f::fir_reference(h, x, outputs);
      // Random signs: the sums are ~ sqrt(L) in size, their magnitudes' sums ~ L, so the error
      // bound relative to the output is about gamma_L sqrt(L); the FFT's ~ log2 N u times that.
      const double bound = 8 * (static_cast<double>(L) + 40) * 0x1p-24;
      const f::FirFilter fir(h);
      std::vector<float> y(outputs, NAN);
      fir.direct(x, y);
      EXPECT_LE(relative_rms(y, ref.y), bound) << "direct, L = " << L << ", " << outputs << " outputs";
      std::fill(y.begin(), y.end(), NAN);
      fir.simd(x, y);
      EXPECT_LE(relative_rms(y, ref.y), bound) << "SIMD, L = " << L << ", " << outputs << " outputs";
      for (const std::size_t n : {f::ola_fft_size(L), 4 * std::bit_ceil(2 * L)}) {
        f::OlaFilter ola(h, n);
        std::fill(y.begin(), y.end(), NAN);
        ola.process(x, y);
        EXPECT_LE(relative_rms(y, ref.y), bound) << "overlap-add N = " << n << ", L = " << L << ", " << outputs << " outputs";
      }
    }
  }
}

TEST(SignalFilters, OverlapAddPicksAnFftTwiceTheTapsOrMore) {
  for (const std::size_t L : {1u, 8u, 100u, 4096u, 16384u}) {
    const std::size_t n = f::ola_fft_size(L);
    EXPECT_TRUE(dp::fft::is_power_of_two(n)) << L;
    EXPECT_GE(n, 2 * L) << L;
  }
}

TEST(SignalFilters, WindowedSincPassesDcAndStopsTheStopband) {
  const auto h = f::design_lowpass_fir(255, 0.1);
  double sum = 0;
  for (const float v : h) sum += v;
  EXPECT_NEAR(sum, 1.0, 1e-5);
  // |H| at f = 0.2 (well past the ~3.3/255 transition band): Hamming's stopband, about -53 dB.
  std::complex<double> H = 0;
  for (std::size_t k = 0; k < h.size(); ++k) H += static_cast<double>(h[k]) * std::polar(1.0, -2 * std::numbers::pi * 0.2 * static_cast<double>(k));
  EXPECT_LT(std::abs(H), std::pow(10.0, -45.0 / 20));
  EXPECT_EQ(h[0], h[254]);  // symmetric: linear phase
}

TEST(SignalFilters, ButterworthHasDcGainOneAndMinus3DbAtTheCutoff) {
  for (const int order : {1, 2, 3, 4, 8, 16})
    for (const double fc : {0.01, 0.0833, 0.3}) {
      const auto s = f::butterworth_lowpass(order, fc);
      EXPECT_EQ(s.size(), static_cast<std::size_t>((order + 1) / 2));
      EXPECT_NEAR(std::abs(f::biquad_response(s, 0)), 1.0, 1e-12) << "order " << order << " fc " << fc;
      EXPECT_NEAR(std::abs(f::biquad_response(s, fc)), std::sqrt(0.5), 1e-9) << "order " << order << " fc " << fc;
      // Monotone and steeper with the order: at 2 fc the gain is about 2^-order (6 dB per order).
      if (2 * fc < 0.5) {
        EXPECT_LT(std::abs(f::biquad_response(s, 2 * fc)), std::pow(2.0, -order) * 1.5);
      }
    }
}

TEST(SignalFilters, BiquadCascadesInFloatMatchDouble) {
  const auto x = random_signal(20000, 7);
  for (const int order : {2, 5, 8}) {
    const auto s = f::butterworth_lowpass(order, 0.05);
    std::vector<double> want(x.size());
    f::biquad_cascade<double>(s, x, std::span<double>(want));
    std::vector<float> a(x.size()), b(x.size());
    f::biquad_cascade<float>(s, x, std::span<float>(a));
    f::biquad_cascade_by_section<float>(s, x, std::span<float>(b));
    const double bound = 1e-4;  // random input has most of its power in the stopband: a loose bound
    EXPECT_LE(relative_rms(a, want), bound) << "order " << order;
    EXPECT_LE(relative_rms(b, want), bound) << "order " << order;
    EXPECT_GT(f::biquad_error_gain(s), 1.0);
  }
}

TEST(SignalFilters, BadSizesAreRefusedWithAMessageThatSaysWhatFits) {
  const auto h = random_signal(17, 1);
  const f::FirFilter fir(h);
  std::vector<float> x(100), y(100);
  try {
    fir.direct(x, y);
    FAIL() << "100 inputs for 100 outputs of 17 taps were accepted";
  } catch (const dp::Error& e) {
    EXPECT_NE(std::string(e.what()).find("need 116 input samples"), std::string::npos) << e.what();
  }
  EXPECT_THROW(fir.simd(x, y), dp::Error);
  EXPECT_THROW(f::FirFilter(std::span<const float>{}), dp::Error);
  EXPECT_THROW(f::design_lowpass_fir(0, 0.1), dp::Error);
  EXPECT_THROW(f::design_lowpass_fir(16, 0.5), dp::Error);
  EXPECT_THROW(f::butterworth_lowpass(0, 0.1), dp::Error);
  EXPECT_THROW(f::butterworth_lowpass(4, -0.1), dp::Error);
  try {
    f::OlaFilter ola(h, 16);
    FAIL() << "an FFT of 16 for 17 taps was accepted";
  } catch (const dp::Error& e) {
    EXPECT_NE(std::string(e.what()).find("use at least 64 points"), std::string::npos) << e.what();
  }
  EXPECT_THROW(f::OlaFilter(h, 100), dp::Error);  // not a power of two
  std::vector<float> shortx(10), shorty(11);
  EXPECT_THROW(f::biquad_cascade<float>(f::butterworth_lowpass(2, 0.1), shortx, std::span<float>(shorty)), dp::Error);
}

}  // namespace
