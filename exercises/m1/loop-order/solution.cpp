// column_sums — our solution: walk the grid in the order it lies in memory.
//
// The baseline goes down each column, so consecutive reads are 4n bytes apart: each one lands in
// a different cache line and uses 4 of its 64 bytes, and the sum's additions form one long chain
// (each waits for the previous). Swapping the two loops (rows outside, columns inside) reads the
// grid front to back, every line used whole, and the inner loop now adds a row into n independent
// running sums, which the compiler turns into 8-wide vector additions. Each column's sum is still
// added in the same order (row 0, 1, 2, ...), so the result is the same floats as the baseline's.
//
// Measured, three checks on a 2-core AMD EPYC KVM guest (g++ 12.2, loaded by other builds):
// 14.0x, 14.3x and 17.4x the baseline (37-45x at n = 2048, where the baseline's column walk also
// suffers cache-set conflicts, and 4.6-6.8x at n = 3000); the target is 9x.
#include "column_sums.hpp"

extern "C" void column_sums(std::span<const float> grid, std::span<float> sums, std::size_t n) {
  const float* g = grid.data();  // plain pointers in the inner loop: nothing for the compiler to re-check
  float* s = sums.data();
  for (std::size_t c = 0; c < n; ++c) s[c] = 0;
  for (std::size_t r = 0; r < n; ++r) {
    const float* row = g + r * n;
    for (std::size_t c = 0; c < n; ++c) s[c] += row[c];  // n independent sums: vectorises
  }
}
