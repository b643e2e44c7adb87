// conv1d.hpp — the function you write. Do not change this file: the checker uses it as it is.
#pragma once

#include <cstddef>
#include <span>

// A 1D convolution in "same" mode: the output has as many samples as the signal, and the kernel
// is centred on each of them. With n = signal.size(), k = kernel.size() (odd) and h = k / 2:
//   out[i] = sum over j in [0, k) of kernel[j] * signal[i + j - h],
// where a signal index outside [0, n) counts as a zero sample (near both ends, part of the kernel
// hangs over the edge). out.size() == n; `out` starts full of NaN: write every sample.
// (Strictly this is a correlation: the kernel is not flipped. For a symmetric kernel they agree.)
// extern "C" lets the checker find the function by its name in your build.
extern "C" void conv1d(std::span<const float> signal, std::span<const float> kernel, std::span<float> out);
