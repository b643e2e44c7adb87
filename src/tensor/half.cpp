// half.cpp — float <-> half by bit manipulation: sign, exponent (bias 127 -> 15), mantissa
// (23 -> 10 bits, rounded to nearest even).
#include "tensor/half.hpp"

#include <cmath>
#include <cstring>

namespace dp::tensor {

std::uint16_t to_half(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t float_exp = (x >> 23) & 0xff;
  std::uint32_t mant = x & 0x7fffffu;
  if (float_exp == 0xff && mant != 0) return static_cast<std::uint16_t>(sign | 0x7e00u);  // NaN
  const int exp = static_cast<int>(float_exp) - 127 + 15;
  if (exp <= 0) {  // a subnormal half, or zero
    if (exp < -10) return static_cast<std::uint16_t>(sign);
    mant |= 0x800000u;
    const int shift = 14 - exp;
    std::uint32_t h = mant >> shift;
    const std::uint32_t rest = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (h & 1))) ++h;
    return static_cast<std::uint16_t>(sign | h);
  }
  if (exp >= 31) return static_cast<std::uint16_t>(sign | 0x7c00u);  // too large: infinity
  std::uint32_t h = (static_cast<std::uint32_t>(exp) << 10) | (mant >> 13);
  const std::uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1))) ++h;  // may carry into the exponent: correct
  return static_cast<std::uint16_t>(sign | h);
}

float from_half(std::uint16_t h) {
  const std::uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ffu;
  float f;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24
    f = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -f : f;
  }
  const std::uint32_t x = sign | ((exp == 31 ? 255 : exp - 15 + 127) << 23) | (mant << 13);
  std::memcpy(&f, &x, 4);
  return f;
}

}  // namespace dp::tensor
