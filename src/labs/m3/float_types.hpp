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
//   Repeated<T>       n copies of one value, as a sequence (1e8 doubles need not be stored)
//   random_terms<T>   n random floats in [lo, hi), stored as T
//   gamma(k, u)       the bound on the relative error of k roundings in a row
//   DotInputs         random vectors in [-1, 1) and the same numbers in fp16, bf16 and fp8
//   for_each_type     call a templated lambda once per type
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <span>
#include <utility>
#include <vector>
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

template <class T>
struct Repeated {  // n copies of v
  T v;
  std::size_t n;
  std::size_t size() const { return n; }
  T operator[](std::size_t) const { return v; }
};

// (fp64 terms are drawn as doubles, so that they use all 53 bits; the others as floats, rounded.)
template <class T>
std::vector<T> random_terms(std::size_t n, float lo, float hi, std::mt19937& rng) {
  using Draw = std::conditional_t<std::is_same_v<T, double>, double, float>;
  std::uniform_real_distribution<Draw> d(lo, hi);
  std::vector<T> v;
  v.reserve(n);
  for (std::size_t i = 0; i < n; ++i) v.push_back(T(d(rng)));
  return v;
}

// gamma_k = k u / (1 - k u): the classic bound on k roundings in a row (Higham, ch. 3).
inline double gamma(double k, double u) { return k * u < 1 ? k * u / (1 - k * u) : std::numeric_limits<double>::infinity(); }

// The dot product's inputs: random floats in [-1, 1), and the same numbers stored in each type.
struct DotInputs {
  std::vector<float> a, b;
  std::vector<fp16> a16, b16;
  std::vector<smallfloat::bf16> abf, bbf;
  std::vector<smallfloat::fp8_e4m3> a8, b8;

  DotInputs(std::size_t n, std::mt19937& rng)
      : a(random_terms<float>(n, -1, 1, rng)), b(random_terms<float>(n, -1, 1, rng)) {
    for (std::size_t i = 0; i < n; ++i) {
      a16.emplace_back(a[i]), b16.emplace_back(b[i]);
      abf.emplace_back(a[i]), bbf.emplace_back(b[i]);
      a8.emplace_back(a[i]), b8.emplace_back(b[i]);
    }
  }
  template <class In>
  std::pair<std::span<const In>, std::span<const In>> get() const {
    if constexpr (std::is_same_v<In, float>) return {a, b};
    else if constexpr (std::is_same_v<In, fp16>) return {a16, b16};
    else if constexpr (std::is_same_v<In, smallfloat::bf16>) return {abf, bbf};
    else return {a8, b8};
  }
};

// f.template operator()<T>() for each T: a loop over types, for templated lambdas
template <class... Ts, class F>
void for_each_type(F&& f) {
  (f.template operator()<Ts>(), ...);
}

}  // namespace dp::m3
