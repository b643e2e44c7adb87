// small_floats.hpp — bf16, fp16 and the two 8-bit floats (OCP E4M3 and E5M2), in software.
//
// A small float is a float with fewer exponent and mantissa bits. Most CPUs have no arithmetic
// for them, so here they travel as their bits and every operation goes through float:
//   a + b  =  round_to_format(float(a) + float(b))
// That is exact emulation, not an approximation: float keeps 24 significant bits, at least
// 2p + 2 for every format here (p = 11 for fp16, 8 for bf16, 4 and 3 for fp8), and with that many
// bits a sum, difference or product rounded first to float and then to the small format gives
// the same result as rounding it once (the "double rounding is innocuous" theorem; Figueroa 1995).
//
// Index
//   Format        the layout: exponent bits, mantissa bits, bias, whether it has infinities
//   encode()      float -> the format's bits, round to nearest, ties to even
//   decode()      the format's bits -> float (exact: every small float is a float)
//   SmallFloat<>  a value type with +, -, * through float, for the lab's templates
//
// The formats (bits: sign | exponent | mantissa):
//   fp16  1|5|10 bias 15   IEEE binary16: max 65504, infinities, NaN
//   bf16  1|8|7  bias 127  float's exponent with 7 mantissa bits: float's range, 3 digits
//   E5M2  1|5|2  bias 15   IEEE-like (infinities, NaNs): max 57344
//   E4M3  1|4|3  bias 7    OCP "e4m3fn": no infinities, S.1111.111 is the only NaN, so the
//                          exponent's top value still holds numbers: max 448
// Overflow: a value that rounds past the largest finite number becomes infinity where the format
// has one, NaN in E4M3 (what PyTorch's float8_e4m3fn does; some hardware saturates to 448 instead).
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace dp::smallfloat {

struct Format {
  const char* name;
  int exp_bits;
  int man_bits;
  int bias;
  bool has_inf;

  constexpr int emin() const { return 1 - bias; }  // exponent of the smallest normal number
  constexpr std::uint32_t exp_all_ones() const { return (1u << exp_bits) - 1; }
  constexpr std::uint32_t inf_code() const { return exp_all_ones() << man_bits; }
  constexpr std::uint32_t nan_code() const {  // quiet NaN: E4M3's only NaN has every bit set
    return has_inf ? inf_code() | (1u << (man_bits - 1)) : (exp_all_ones() << man_bits) | ((1u << man_bits) - 1);
  }
  constexpr std::uint32_t max_finite_code() const {
    return has_inf ? ((exp_all_ones() - 1) << man_bits) | ((1u << man_bits) - 1) : nan_code() - 1;
  }
  constexpr int total_bits() const { return 1 + exp_bits + man_bits; }
};

inline constexpr Format kFP16{"fp16", 5, 10, 15, true};
inline constexpr Format kBF16{"bf16", 8, 7, 127, true};
inline constexpr Format kE5M2{"fp8 e5m2", 5, 2, 15, true};
inline constexpr Format kE4M3{"fp8 e4m3", 4, 3, 7, false};

// x / 2^s rounded to the nearest integer, ties to the even one.
constexpr std::uint32_t shift_round_even(std::uint32_t x, int s) {
  if (s <= 0) return x;
  if (s > 31) return 0;  // x < 2^31 here, so x / 2^s < 1/2
  const std::uint32_t q = x >> s, rem = x & ((1u << s) - 1), half = 1u << (s - 1);
  return q + ((rem > half || (rem == half && (q & 1))) ? 1 : 0);
}

// The bits of the format's number nearest to f (round to nearest, ties to even).
constexpr std::uint32_t encode(float f, const Format& F) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t sign = (u >> 31) << (F.exp_bits + F.man_bits);
  const std::uint32_t a = u & 0x7fffffffu;  // |f|
  if (a > 0x7f800000u) return sign | F.nan_code();
  const int shift = 23 - F.man_bits;  // float's mantissa bits the format drops
  const int e = static_cast<int>(a >> 23) - 127;  // f's exponent (-127 for float's subnormals)
  std::uint32_t r = 0;
  if (e >= F.emin()) {
    // Normal in the format: move the exponent to the format's bias, then round away the low
    // mantissa bits. A carry out of the mantissa correctly bumps the exponent (1.111 -> 10.00).
    r = shift_round_even(a - (static_cast<std::uint32_t>(127 - F.bias) << 23), shift);
  } else {
    // Below the format's smallest normal: count in units of its smallest subnormal 2^(emin-p).
    // f = sig * 2^(e' - 23); a result of 2^man_bits is the smallest normal, and its bits say so.
    const bool float_normal = e > -127;
    const std::uint32_t sig = (a & 0x7fffffu) | (float_normal ? 0x800000u : 0u);
    const int e_eff = float_normal ? e : -126;
    r = shift_round_even(sig, 23 + F.emin() - F.man_bits - e_eff);
  }
  if (r > F.max_finite_code()) r = F.has_inf ? F.inf_code() : F.nan_code();  // overflow
  return sign | r;
}

// The float that the format's bits stand for.
constexpr float decode(std::uint32_t bits, const Format& F) {
  const bool negative = (bits >> (F.exp_bits + F.man_bits)) & 1;
  const std::uint32_t e = (bits >> F.man_bits) & F.exp_all_ones();
  const std::uint32_t m = bits & ((1u << F.man_bits) - 1);
  float mag = 0;
  if ((bits & ~(1u << (F.exp_bits + F.man_bits))) == F.nan_code() ||
      (F.has_inf && e == F.exp_all_ones() && m != 0)) {
    mag = std::numeric_limits<float>::quiet_NaN();
  } else if (F.has_inf && e == F.exp_all_ones()) {
    mag = std::numeric_limits<float>::infinity();
  } else {
    // value = significand * 2^(exponent - man_bits), built as float bits (exact, no libm)
    const std::uint32_t significand = e == 0 ? m : (1u << F.man_bits) | m;
    const int exponent = (e == 0 ? F.emin() : static_cast<int>(e) - F.bias) - F.man_bits;
    // significand < 2^11 and exponent >= -24 - 10: the product is a float, built in two exact steps
    mag = static_cast<float>(significand);
    const int half = exponent / 2;
    mag *= std::bit_cast<float>(static_cast<std::uint32_t>(127 + half) << 23);
    mag *= std::bit_cast<float>(static_cast<std::uint32_t>(127 + exponent - half) << 23);
  }
  return negative ? -mag : mag;
}

// ---------------------------------------------------------------------------------------------
// A value type for the lab's templates: T(0.1f), a + b, a - b, a * b, float(a)
// ---------------------------------------------------------------------------------------------

template <const Format& F>
class SmallFloat {
 public:
  using Bits = std::conditional_t<(F.total_bits() <= 8), std::uint8_t, std::uint16_t>;

  SmallFloat() = default;  // +0
  explicit SmallFloat(float f) : bits_(static_cast<Bits>(encode(f, F))) {}
  static SmallFloat from_bits(Bits b) {
    SmallFloat s;
    s.bits_ = b;
    return s;
  }
  explicit operator float() const { return to_float(bits_); }
  Bits bits() const { return bits_; }

  friend SmallFloat operator+(SmallFloat a, SmallFloat b) { return SmallFloat(float(a) + float(b)); }
  friend SmallFloat operator-(SmallFloat a, SmallFloat b) { return SmallFloat(float(a) - float(b)); }
  friend SmallFloat operator*(SmallFloat a, SmallFloat b) { return SmallFloat(float(a) * float(b)); }

 private:
  // Decoding an 8-bit float is a look-up in a 256-entry table; bf16 is float's top half.
  static float to_float(Bits b) {
    if constexpr (sizeof(Bits) == 1) {
      static const std::array<float, 256> table = [] {
        std::array<float, 256> t{};
        for (std::uint32_t i = 0; i < 256; ++i) t[i] = decode(i, F);
        return t;
      }();
      return table[b];
    } else if constexpr (F.exp_bits == 8) {
      return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
    } else {
      return decode(b, F);
    }
  }
  Bits bits_ = 0;
};

using fp16_soft = SmallFloat<kFP16>;
using bf16 = SmallFloat<kBF16>;
using fp8_e5m2 = SmallFloat<kE5M2>;
using fp8_e4m3 = SmallFloat<kE4M3>;

}  // namespace dp::smallfloat
