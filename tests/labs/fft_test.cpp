// Our FFT (src/labs/m4/fft_kernels.hpp), used by the fft and spectrogram labs: radix 2 and radix 4,
// complex and real input, against the DFT in long double at every power of two from 1 to 2^12,
// within C log2(n) eps; a single impulse and a single tone land where the definition puts them;
// sizes that are not powers of two are refused with a message that names a size that works.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "labs/m4/fft_kernels.hpp"

namespace {

using dp::fft::Radix;

std::vector<std::complex<float>> random_input(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<std::complex<float>> x(n);
  for (auto& v : x) v = {d(rng), d(rng)};
  return x;
}

double bound(std::size_t n, double eps) { return 2.0 * std::max(1.0, std::log2(static_cast<double>(n))) * eps; }

TEST(Fft, ComplexMatchesTheDftAtEveryPowerOfTwoUpTo4096) {
  for (std::size_t n = 1; n <= 4096; n *= 2) {
    const auto x = random_input(n, static_cast<unsigned>(n));
    const auto want = dp::fft::dft_reference<float>(x);
    const dp::fft::ComplexFft<float> fft(n);
    for (const Radix r : {Radix::two, Radix::four}) {
      auto got = x;
      fft.forward(got, r);
      const double err = dp::fft::relative_rms_error<float, double>(got, want);
      EXPECT_LE(err, bound(n, 0x1p-24)) << "n = " << n << (r == Radix::two ? " radix 2" : " radix 4");
    }
    std::vector<std::complex<double>> d(x.begin(), x.end());
    dp::fft::ComplexFft<double>(n).forward(d);
    EXPECT_LE((dp::fft::relative_rms_error<double, double>(d, want)), bound(n, 0x1p-53)) << "double, n = " << n;
  }
}

TEST(Fft, RealMatchesTheDftsFirstHalfUpTo4096) {
  for (std::size_t n = 2; n <= 4096; n *= 2) {
    const auto c = random_input(n, static_cast<unsigned>(7 * n));
    std::vector<float> x(n);
    std::vector<std::complex<float>> as_complex(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = c[i].real(), as_complex[i] = {c[i].real(), 0.0f};
    auto want = dp::fft::dft_reference<float>(as_complex);
    want.resize(n / 2 + 1);
    std::vector<std::complex<float>> got(n / 2 + 1);
    dp::fft::RealFft<float>(n).forward(x, got);
    EXPECT_LE((dp::fft::relative_rms_error<float, double>(got, want)), bound(n, 0x1p-24)) << "n = " << n;
  }
}

TEST(Fft, NaiveDftMatchesTheReferenceAtOddSizesToo) {
  for (const std::size_t n : {1u, 3u, 12u, 97u, 256u}) {
    const auto x = random_input(n, 3);
    std::vector<std::complex<float>> got(n);
    dp::fft::NaiveDft<float>(n).forward(x, got);
    EXPECT_LE((dp::fft::relative_rms_error<float, double>(got, dp::fft::dft_reference<float>(x))),
              2.0 * std::sqrt(static_cast<double>(n)) * 0x1p-24)
        << "n = " << n;
  }
}

// Known answers, independent of the reference: an impulse at 1 gives X[k] = w^k; a tone at bin 5
// gives n at bin 5 and (near) zero elsewhere. A swapped index or a wrong twiddle fails these even
// where a shared mistake in the reference would not.
TEST(Fft, ImpulseAndToneLandWhereTheDefinitionSays) {
  const std::size_t n = 64;
  for (const Radix r : {Radix::two, Radix::four}) {
    std::vector<std::complex<float>> x(n);
    x[1] = 1;
    dp::fft::ComplexFft<float>(n).forward(x, r);
    for (std::size_t k = 0; k < n; ++k) {
      const double a = -2 * std::numbers::pi * static_cast<double>(k) / n;
      EXPECT_NEAR(x[k].real(), std::cos(a), 1e-6) << k;
      EXPECT_NEAR(x[k].imag(), std::sin(a), 1e-6) << k;
    }
    for (std::size_t j = 0; j < n; ++j) x[j] = std::polar(1.0f, static_cast<float>(2 * std::numbers::pi * 5 * j / n));
    dp::fft::ComplexFft<float>(n).forward(x, r);
    for (std::size_t k = 0; k < n; ++k) EXPECT_NEAR(std::abs(x[k]), k == 5 ? 64.0 : 0.0, 1e-4) << k;
  }
}

TEST(Fft, SizesThatAreNotPowersOfTwoAreRefusedClearly) {
  try {
    dp::fft::ComplexFft<float> fft(1000);
    FAIL() << "size 1000 was accepted";
  } catch (const dp::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("1000 is not a power of two"), std::string::npos) << what;
    EXPECT_NE(what.find("512 or 1024"), std::string::npos) << what;
  }
  EXPECT_THROW(dp::fft::ComplexFft<float>(0), dp::Error);
  EXPECT_THROW(dp::fft::ComplexFft<float>(3), dp::Error);
  EXPECT_THROW(dp::fft::RealFft<float>(1), dp::Error);  // a real transform needs n >= 2
  EXPECT_THROW(dp::fft::RealFft<float>(6), dp::Error);
  EXPECT_THROW(dp::fft::NaiveDft<float>(0), dp::Error);
  // A buffer of the wrong length is refused, not read past its end.
  dp::fft::ComplexFft<float> fft(8);
  std::vector<std::complex<float>> seven(7);
  EXPECT_THROW(fft.forward(seven), dp::Error);
  std::vector<float> in(8);
  std::vector<std::complex<float>> out(4);  // needs 5
  EXPECT_THROW(dp::fft::RealFft<float>(8).forward(in, out), dp::Error);
}

}  // namespace
