// matmul — make this faster. (exercises/m1/matmul-tiled/README.md has the task.)
//
// You may change anything in this file: add helper functions, constants, includes of the C++
// standard library, compiler attributes. Keep matmul()'s name and signature: matmul.hpp declares
// it, and the checker calls it with n from 1 to 448. One thread: no std::thread, no OpenMP.
//
//   dontpanic exercise check matmul-tiled     is it right, and how much faster?
//   dontpanic exercise hint matmul-tiled      a nudge (three, each more specific)
#include "matmul.hpp"

// The textbook order, i-j-k: each element of C is one dot product of a row of A with a column of
// B. The row of A is read along memory; the column of B jumps n floats at every step, so each of
// its n reads is a different cache line, and the sum is one chain of additions.
extern "C" void matmul(std::span<const float> a, std::span<const float> b, std::span<float> c, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      float sum = 0;
      for (std::size_t k = 0; k < n; ++k) sum += a[i * n + k] * b[k * n + j];
      c[i * n + j] = sum;
    }
}
