// transpose — make this faster. (exercises/m1/transpose/README.md has the task.)
//
// You may change anything in this file: add helper functions, constants, includes of the C++
// standard library, compiler attributes. Keep transpose()'s name and signature: transpose.hpp
// declares it, and the checker calls it with n from 1 to 2048.
//
//   dontpanic exercise check transpose     is it right, and how much faster?
//   dontpanic exercise hint transpose      a nudge (three, each more specific)
#include "transpose.hpp"

// Reads `in` along its rows (one cache line brings 16 floats we use), and writes `out` down its
// columns: each write lands n floats after the previous one, in a different cache line.
extern "C" void transpose(std::span<const float> in, std::span<float> out, std::size_t n) {
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t c = 0; c < n; ++c) out[c * n + r] = in[r * n + c];
}
