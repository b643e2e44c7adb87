// compensated-sum — make this accurate. (exercises/m3/compensated-sum/README.md has the task.)
//
// You may change anything in this file: helper functions, the order of the additions, the
// number of accumulators. Keep sum_floats()'s name and signature (sum.hpp declares it) and keep
// the arithmetic in float: the checker measures how far your sum is from the exact one.
//
//   dontpanic exercise check compensated-sum     how accurate, and at what cost?
//   dontpanic exercise hint compensated-sum      a nudge (three, each more specific)
#include "sum.hpp"

// One running total. Once it is large, each small value added to it is rounded to the total's
// precision: at a total of 10^6 a float keeps steps of 1/16, and most of every 0.1 is lost.
extern "C" float sum_floats(std::span<const float> values) {
  float total = 0.0f;
  for (const float v : values) total += v;
  return total;
}
