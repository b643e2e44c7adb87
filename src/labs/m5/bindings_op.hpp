// bindings_op.hpp — the op the bindings lab calls from Python and from C++: y = relu(a*x + b).
//
// One definition for both sides: the Python module (src/python/module.cpp) binds these two
// functions, and the lab times relu_affine_loop() from C++, so a difference in time per element
// is the cost of the call, never of different code. a*x + b is one fused multiply-add, one
// rounding, spelled out: GCC would contract a*x + b into an FMA under -march=native anyway (C++
// allows it), but not without it, so the plain expression would round differently by build.
// numpy rounds twice (multiply, then add): its results may differ in the last bit.
#pragma once

#include <cmath>
#include <cstddef>

namespace dp::bindings {

inline float relu_affine(float x, float a, float b) {
  const float y = std::fma(a, x, b);
  return y > 0.0f ? y : 0.0f;
}

// The batched call: one loop over the whole buffer (the compiler vectorises it).
inline void relu_affine_loop(const float* x, float* y, std::size_t n, float a, float b) {
  for (std::size_t i = 0; i < n; ++i) y[i] = relu_affine(x[i], a, b);
}

}  // namespace dp::bindings
