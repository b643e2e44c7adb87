// conv1d — make this faster. (exercises/m1/conv1d/README.md has the task.)
//
// You may change anything in this file: add helper functions, constants, includes of the C++
// standard library, compiler attributes. Keep conv1d()'s name and signature: conv1d.hpp declares
// it, and the checker calls it with n from 1 to 1 million samples and k = 25 taps.
//
//   dontpanic exercise check conv1d     is it right, and how much faster?
//   dontpanic exercise hint conv1d      a nudge (three, each more specific)
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
      if (at >= 0 && at < n) sum += kernel[static_cast<std::size_t>(j)] * signal[static_cast<std::size_t>(at)];
    }
    out[static_cast<std::size_t>(i)] = sum;
  }
}
