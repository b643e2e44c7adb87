// parallel_sum.hpp — the function you write. Do not change this file: the checker uses it as it is.
#pragma once

#include <cstddef>
#include <span>

// Returns the sum, over every x in `x`, of sqrt(1 + x * x), each term computed and added in double.
// Any order of additions is fine (the checker allows a relative difference of 1e-9).
// extern "C" lets the checker find the function by its name in your build.
extern "C" double parallel_sum(std::span<const float> x);
