// transpose.hpp — the function you write. Do not change this file: the checker uses it as it is.
#pragma once

#include <cstddef>
#include <span>

// `in` is an n x n matrix of floats in row-major order: element (row r, column c) is in[r * n + c].
// Write its transpose into `out`: out[c * n + r] = in[r * n + c], for every r and c.
// extern "C" lets the checker find the function by its name in your build.
extern "C" void transpose(std::span<const float> in, std::span<float> out, std::size_t n);
