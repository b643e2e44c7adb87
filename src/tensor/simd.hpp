// simd.hpp — one SIMD vector type for the kernels, through the compiler's vector extensions.
//
// GCC and Clang both understand `__attribute__((vector_size(N)))`: arithmetic on such a type is
// done lane by lane and compiled to whatever SIMD instructions the target has. We pick the widest
// register the build targets (-march=native in Release): 16 floats with AVX-512, 8 with AVX,
// 4 otherwise (SSE2 is baseline on x86-64; NEON on ARM). The kernels are written once against
// `vfloat` and `kLanes`; nothing else in the project needs to know which instruction set it got.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace dp::tensor::simd {

#if defined(__AVX512F__)
inline constexpr int kLanes = 16;
inline constexpr const char* kName = "AVX-512";
#elif defined(__AVX__)
inline constexpr int kLanes = 8;
inline constexpr const char* kName = "AVX";
#else
inline constexpr int kLanes = 4;
inline constexpr const char* kName = "128-bit";
#endif

// kLanes floats (or 32-bit integers) in one register. Its natural alignment is its size.
typedef float vfloat __attribute__((vector_size(kLanes * sizeof(float))));
typedef std::int32_t vint __attribute__((vector_size(kLanes * sizeof(std::int32_t))));

// Unaligned load/store: memcpy of a register's worth compiles to one vmovups.
inline vfloat load(const float* p) {
  vfloat v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, vfloat v) { std::memcpy(p, &v, sizeof v); }
inline vfloat broadcast(float x) { return vfloat{} + x; }
inline vfloat max(vfloat a, vfloat b) { return a > b ? a : b; }
inline float horizontal_sum(vfloat v) {
  float s = 0;
  for (int i = 0; i < kLanes; ++i) s += v[i];
  return s;
}
inline float horizontal_max(vfloat v) {
  float m = v[0];
  for (int i = 1; i < kLanes; ++i) m = v[i] > m ? v[i] : m;
  return m;
}

}  // namespace dp::tensor::simd
