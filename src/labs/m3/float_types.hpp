// float_types.hpp — the float-precision lab's number types, their names and precisions, and a
// reference rounding written from the definition.
//
//   fp16              the compiler's _Float16 where it has one (GCC 12+ and Clang on x86-64 and
//                     ARM64: converted by F16C/AVX-512 instructions, arithmetic done in float and
//                     rounded back after each operation), the software fp16 otherwise
//   type_name<T>()    "fp32", "bf16", ...
//   unit_roundoff<T>  u = 2^-p for p significant bits: the largest relative error of one rounding
//   to_double(x)      any of the types as a double (exact)
//   round_reference   the number of a format nearest to x, from the definition, for the checks
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "labs/m3/small_floats.hpp"

namespace dp::m3 {

#if defined(__FLT16_MAX__)
__extension__ typedef _Float16 fp16;  // __extension__: -Wpedantic knows _Float16 is not ISO C++
inline constexpr bool kCompilerHasFloat16 = true;
#else
using fp16 = smallfloat::fp16_soft;
inline constexpr bool kCompilerHasFloat16 = false;
#endif

template <class T>
constexpr int significant_bits() {
  if constexpr (std::is_same_v<T, double>) return 53;
  else if constexpr (std::is_same_v<T, float>) return 24;
  else if constexpr (std::is_same_v<T, fp16> || std::is_same_v<T, smallfloat::fp16_soft>) return 11;
  else if constexpr (std::is_same_v<T, smallfloat::bf16>) return 8;
  else if constexpr (std::is_same_v<T, smallfloat::fp8_e4m3>) return 4;
  else if constexpr (std::is_same_v<T, smallfloat::fp8_e5m2>) return 3;
  else static_assert(sizeof(T) == 0, "not one of the lab's types");
}

template <class T>
constexpr const char* type_name() {
  if constexpr (std::is_same_v<T, double>) return "fp64";
  else if constexpr (std::is_same_v<T, float>) return "fp32";
  else if constexpr (std::is_same_v<T, fp16> || std::is_same_v<T, smallfloat::fp16_soft>) return "fp16";
  else if constexpr (std::is_same_v<T, smallfloat::bf16>) return "bf16";
  else if constexpr (std::is_same_v<T, smallfloat::fp8_e4m3>) return "fp8 e4m3";
  else return "fp8 e5m2";
}

template <class T>
double unit_roundoff() {
  return std::ldexp(1.0, -significant_bits<T>());
}

template <class T>
double to_double(T x) {
  if constexpr (std::is_class_v<T>) return static_cast<double>(static_cast<float>(x));
  else return static_cast<double>(x);
}

// Scale x so that the format's last mantissa bit is worth 1, round to an integer (nearbyint:
// ties to even), scale back; past the largest finite number, infinity (or NaN in E4M3).
inline double round_reference(double x, const smallfloat::Format& F) {
  if (std::isnan(x)) return x;
  if (std::isinf(x)) return F.has_inf ? x : std::numeric_limits<double>::quiet_NaN();
  const int e = x == 0 ? F.emin() : std::max(std::ilogb(x), F.emin());
  const double quantum = std::ldexp(1.0, e - F.man_bits);
  const double r = std::nearbyint(x / quantum) * quantum;
  if (std::fabs(r) > smallfloat::decode(F.max_finite_code(), F))
    return F.has_inf ? std::copysign(std::numeric_limits<double>::infinity(), x)
                     : std::numeric_limits<double>::quiet_NaN();
  return r;
}

}  // namespace dp::m3
