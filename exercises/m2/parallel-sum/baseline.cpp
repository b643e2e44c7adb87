// parallel-sum — make this faster. (exercises/m2/parallel-sum/README.md has the task.)
//
// You may change anything in this file: add helper functions, constants, includes of the C++
// standard library (<thread>, <atomic>, ...), compiler attributes. Keep parallel_sum()'s name and
// signature: parallel_sum.hpp declares it, and the checker calls it with 1 to 2^24 elements.
//
//   dontpanic exercise check parallel-sum     is it right, and how much faster?
//   dontpanic exercise hint parallel-sum      a nudge (three, each more specific)
#include <cmath>

#include "parallel_sum.hpp"

// One thread does every element: a square root and a few flops each, so the work is arithmetic,
// not memory traffic, and the machine's other cores sit idle.
extern "C" double parallel_sum(std::span<const float> x) {
  double sum = 0;
  for (const float v : x) sum += std::sqrt(1.0 + static_cast<double>(v) * v);
  return sum;
}
