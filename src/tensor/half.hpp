// half.hpp — IEEE 754 binary16 ("fp16", "half") conversion, for feeding tensor cores from floats.
//
// Halves travel as their 16 bits (std::uint16_t): C++20 has no half type, and a GPU buffer only
// needs the bits. to_half rounds to nearest, ties to even, as GPUs and numpy do; from_half is exact.
#pragma once

#include <cstdint>

namespace dp::tensor {

// The nearest half to f: subnormal halves for |f| < 2^-14, infinity beyond 65504 (65520 and up
// round to infinity), NaN stays NaN (a quiet one), the sign kept, -0 included.
std::uint16_t to_half(float f);

// The float a half's bits stand for (every half is exactly a float).
float from_half(std::uint16_t h);

}  // namespace dp::tensor
