// bits.hpp — the bit tricks of the bit-tricks lab (src/labs/m3/bit_tricks.cpp), in a header so
// that the unit tests (tests/labs/bits_test.cpp) see the same functions the lab times.
//
// Index
//   popcount_*       bits set in a 64-bit word: a loop, a byte table, SWAR arithmetic
//   morton_*         2-D Morton codes (Z-order): x's bits at the even positions, y's at the odd ones
//                    reference (the definition), magic-bit shifts, and BMI2's pdep/pext
//   has_bmi2()       whether this CPU has pdep/pext, asked at run time
//   rsqrt_quake      the Quake III inverse square root: an integer subtraction, then Newton steps
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define DP_BITS_X86 1
#endif

namespace dp::bits {

// ---------------------------------------------------------------------------------------------
// popcount
// ---------------------------------------------------------------------------------------------

// Kernighan's loop: x & (x - 1) clears the lowest set bit, so it runs once per set bit. Its cost
// depends on the data: a branch the predictor cannot learn when the counts vary. GCC 12 knows
// this idiom and replaces the whole loop by one popcnt instruction; the empty asm, which "might
// change x", hides the idiom so that the loop we time is the loop written here.
inline int popcount_loop(std::uint64_t x) {
  int n = 0;
  while (x != 0) {
    asm("" : "+r"(x));
    x &= x - 1;
    ++n;
  }
  return n;
}

// A 256-entry table of the counts of every byte: eight loads per word, from 256 bytes of L1.
inline constexpr std::array<std::uint8_t, 256> kByteCounts = [] {
  std::array<std::uint8_t, 256> t{};
  for (int i = 0; i < 256; ++i) t[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>((i & 1) + t[static_cast<std::size_t>(i / 2)]);
  return t;
}();
inline int popcount_table(std::uint64_t x) {
  int n = 0;
  for (int byte = 0; byte < 8; ++byte) n += kByteCounts[(x >> (8 * byte)) & 0xff];
  return n;
}

// SWAR ("SIMD within a register"): add neighbouring 1-bit fields into 2-bit counts, those into
// 4-bit counts, those into bytes; one multiply sums the eight bytes into the top byte. What the
// compiler calls when it may not use the popcnt instruction.
inline int popcount_swar(std::uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ULL);
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
  return static_cast<int>((x * 0x0101010101010101ULL) >> 56);
}

// ---------------------------------------------------------------------------------------------
// Morton codes: interleave the bits of x and y (x0 y0 x1 y1 ... from the lowest bit up)
// ---------------------------------------------------------------------------------------------

// The definition, one output bit at a time: bit k of the code is bit k/2 of x (k even) or y (k odd).
inline std::uint64_t morton_reference(std::uint32_t x, std::uint32_t y) {
  std::uint64_t code = 0;
  for (unsigned k = 0; k < 64; ++k) {
    const std::uint32_t from = (k % 2 == 0) ? x : y;
    code |= static_cast<std::uint64_t>((from >> (k / 2)) & 1u) << k;
  }
  return code;
}

// A loop over the input bits that stops when none are left: small coordinates cost less.
inline std::uint64_t morton_loop(std::uint32_t x, std::uint32_t y) {
  std::uint64_t code = 0;
  for (unsigned i = 0; (x | y) != 0; ++i, x >>= 1, y >>= 1)
    code |= (static_cast<std::uint64_t>(x & 1u) << (2 * i)) | (static_cast<std::uint64_t>(y & 1u) << (2 * i + 1));
  return code;
}
inline void morton_decode_loop(std::uint64_t code, std::uint32_t& x, std::uint32_t& y) {
  x = y = 0;
  for (unsigned i = 0; code != 0; ++i, code >>= 2) {
    x |= static_cast<std::uint32_t>(code & 1u) << i;
    y |= static_cast<std::uint32_t>((code >> 1) & 1u) << i;
  }
}

// Magic bits: spread 32 bits to every other position in five shift-or-mask steps (16, 8, 4, 2,
// 1 bits apart), and squeeze them back in five more.
inline std::uint64_t spread_bits(std::uint32_t v) {
  std::uint64_t x = v;
  x = (x | (x << 16)) & 0x0000ffff0000ffffULL;
  x = (x | (x << 8)) & 0x00ff00ff00ff00ffULL;
  x = (x | (x << 4)) & 0x0f0f0f0f0f0f0f0fULL;
  x = (x | (x << 2)) & 0x3333333333333333ULL;
  x = (x | (x << 1)) & 0x5555555555555555ULL;
  return x;
}
inline std::uint32_t squeeze_bits(std::uint64_t x) {
  x &= 0x5555555555555555ULL;
  x = (x | (x >> 1)) & 0x3333333333333333ULL;
  x = (x | (x >> 2)) & 0x0f0f0f0f0f0f0f0fULL;
  x = (x | (x >> 4)) & 0x00ff00ff00ff00ffULL;
  x = (x | (x >> 8)) & 0x0000ffff0000ffffULL;
  x = (x | (x >> 16)) & 0x00000000ffffffffULL;
  return static_cast<std::uint32_t>(x);
}
inline std::uint64_t morton_magic(std::uint32_t x, std::uint32_t y) { return spread_bits(x) | (spread_bits(y) << 1); }
inline void morton_decode_magic(std::uint64_t code, std::uint32_t& x, std::uint32_t& y) {
  x = squeeze_bits(code);
  y = squeeze_bits(code >> 1);
}

// BMI2 (Intel Haswell 2013, AMD Excavator 2015): pdep deposits the low bits of its source at the
// positions of a mask's set bits, pext extracts them: one instruction each way. Compiled for BMI2
// whatever the build's flags (the target attribute), so it must only be called where has_bmi2().
// On AMD Zen 1 and Zen 2 both are microcoded: tens to hundreds of cycles, depending on the mask.
#if defined(DP_BITS_X86)
inline bool has_bmi2() { return __builtin_cpu_supports("bmi2"); }
__attribute__((target("bmi2"))) inline std::uint64_t morton_pdep(std::uint32_t x, std::uint32_t y) {
  return _pdep_u64(x, 0x5555555555555555ULL) | _pdep_u64(y, 0xaaaaaaaaaaaaaaaaULL);
}
__attribute__((target("bmi2"))) inline void morton_decode_pext(std::uint64_t code, std::uint32_t& x, std::uint32_t& y) {
  x = static_cast<std::uint32_t>(_pext_u64(code, 0x5555555555555555ULL));
  y = static_cast<std::uint32_t>(_pext_u64(code, 0xaaaaaaaaaaaaaaaaULL));
}
#else
inline bool has_bmi2() { return false; }
#endif

// ---------------------------------------------------------------------------------------------
// Fast inverse square root (Quake III Arena, 1999)
// ---------------------------------------------------------------------------------------------

// Read the float's bits as an integer: that is roughly (log2 x + 127) * 2^23. Halving it and
// subtracting from a constant computes -log2(x)/2, i.e. log2(1/sqrt x), in the same encoding:
// a guess within 3.5%. Each Newton step y = y (1.5 - 0.5 x y^2) then squares the error.
inline float rsqrt_quake(float x, int newton_steps) {
  std::uint32_t i;
  std::memcpy(&i, &x, sizeof i);  // not a pointer cast: that would break the aliasing rules
  i = 0x5f3759dfu - (i >> 1);
  float y;
  std::memcpy(&y, &i, sizeof y);
  for (int s = 0; s < newton_steps; ++s) y = y * (1.5f - 0.5f * x * y * y);
  return y;
}

}  // namespace dp::bits
