// A deliberately wrong loop-order for the tests: the last row is left out of every column sum.
#include "column_sums.hpp"

// The way the maths is written: for each column, walk down it and add. at(r, c) is how code that
// grew out of vector<vector<float>> reads a cell. Every step down a column jumps n floats (4n
// bytes) ahead, into a different cache line, and uses 4 bytes of the 64 that line brought in.
extern "C" void column_sums(std::span<const float> grid, std::span<float> sums, std::size_t n) {
  auto at = [&](std::size_t r, std::size_t c) { return grid[r * n + c]; };
  for (std::size_t c = 0; c < n; ++c) {
    float s = 0;
    for (std::size_t r = 0; r + 1 < n; ++r) s += at(r, c);  // wrong: skips the last row
    sums[c] = s;
  }
}
