// column_sums.hpp — the function you write. Do not change this file: the checker uses it as it is.
#pragma once

#include <cstddef>
#include <span>

// `grid` is an n x n matrix of floats in row-major order: element (row r, column c) is
// grid[r * n + c]. Write the sum of each column into `sums`: sums[c] = grid[0 * n + c] +
// grid[1 * n + c] + ... + grid[(n - 1) * n + c], for every c. `sums` holds n floats and starts
// full of NaN: write every one of them.
// extern "C" lets the checker find the function by its name in your build.
extern "C" void column_sums(std::span<const float> grid, std::span<float> sums, std::size_t n);
