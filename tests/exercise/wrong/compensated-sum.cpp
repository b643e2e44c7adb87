// A deliberately wrong sum for the tests: it forgets the last value, which on the smallest check
// size (one value) gives 0 instead of the value: a relative error of 1, beyond "a sum at all".
#include "sum.hpp"

extern "C" float sum_floats(std::span<const float> values) {
  float total = 0.0f;
  for (std::size_t i = 0; i + 1 < values.size(); ++i) total += values[i];
  return total;
}
