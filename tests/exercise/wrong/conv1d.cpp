// A deliberately wrong conv1d for the tests: the last sample of the signal is treated as zero.
#include "conv1d.hpp"

// The formula as written: for each output, for each tap, is that signal sample inside? The test
// is false only near the two ends, yet it runs for every tap of every output; and each output's
// sum is one chain of additions, each waiting for the one before.
extern "C" void conv1d(std::span<const float> signal, std::span<const float> kernel, std::span<float> out) {
  const long n = static_cast<long>(signal.size()), k = static_cast<long>(kernel.size()), h = k / 2;
  for (long i = 0; i < n; ++i) {
    float sum = 0;
    for (long j = 0; j < k; ++j) {
      const long at = i + j - h;
      if (at >= 0 && at + 1 < n) sum += kernel[static_cast<std::size_t>(j)] * signal[static_cast<std::size_t>(at)];
    }
    out[static_cast<std::size_t>(i)] = sum;
  }
}
