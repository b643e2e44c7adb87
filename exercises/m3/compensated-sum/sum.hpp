// sum.hpp — the function you write. Do not change this file: the checker uses it as it is.
#pragma once

#include <cstddef>
#include <span>

// The sum of `values`, computed in float arithmetic: accumulate in float variables only (no
// double, long double or integer tricks: what float can do is the lesson here), in any order.
// extern "C" lets the checker find the function by its name in your build.
extern "C" float sum_floats(std::span<const float> values);
