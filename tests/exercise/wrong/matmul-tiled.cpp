// A deliberately wrong matmul-tiled for the tests: the first term of every dot product is left out.
#include "matmul.hpp"

// The textbook order, i-j-k: each element of C is one dot product of a row of A with a column of
// B. The row of A is read along memory; the column of B jumps n floats at every step, so each of
// its n reads is a different cache line, and the sum is one chain of additions.
extern "C" void matmul(std::span<const float> a, std::span<const float> b, std::span<float> c, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      float sum = 0;
      for (std::size_t k = 1; k < n; ++k) sum += a[i * n + k] * b[k * n + j];
      c[i * n + j] = sum;
    }
}
