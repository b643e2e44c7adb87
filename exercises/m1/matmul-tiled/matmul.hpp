// matmul.hpp — the function you write. Do not change this file: the checker uses it as it is.
#pragma once

#include <cstddef>
#include <span>

// C = A * B for n x n matrices of floats in row-major order (element (r, c) of A is a[r * n + c]):
//   c[i * n + j] = sum over k in [0, n) of a[i * n + k] * b[k * n + j].
// `c` starts full of NaN: write every element. One thread.
// extern "C" lets the checker find the function by its name in your build.
extern "C" void matmul(std::span<const float> a, std::span<const float> b, std::span<float> c, std::size_t n);
