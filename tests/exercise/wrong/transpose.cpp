// A deliberately wrong transpose for the tests: the last column of `in` is never copied (an
// off-by-one in the inner loop's bound), so out's last row keeps the NaN the checker put there.
#include "transpose.hpp"

extern "C" void transpose(std::span<const float> in, std::span<float> out, std::size_t n) {
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t c = 0; c + 1 < n; ++c) out[c * n + r] = in[r * n + c];
}
