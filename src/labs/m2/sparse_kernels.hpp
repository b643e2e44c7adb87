// sparse_kernels.hpp — the sparse lab's matrices and kernels beside its CSR (src/labs/m2/sparse.cpp;
// unit tests in tests/labs/sparse_test.cpp). The CSR type itself and the textbook CSR loop,
// spmv_rows, are module 3's (labs/m3/sparse_formats.hpp), shared with the pruning lab.
//
// Index
//   random_uniform(r, c, d, rng)   r x c, each entry nonzero with probability d, values in [-1, 1)
//   rmat(scale, edges, rng)        an R-MAT power-law graph's adjacency matrix (Graph500's a, b, c)
//   split_by_rows / _by_nonzeros   where each of `parts` threads starts and ends, in rows
//   Ell                            ELLPACK: every row padded to the longest, blocks of 16 rows
//   dense_gemv_rows                our vectorized dense y = A x, for rows [begin, end)
//   Reference, reference_product   y in double through a dense row, and sum |a_ij x_j| per row
//   compare_product                a float y against the reference, with a rounding-error bound
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/error.hpp"
#include "labs/m3/sparse_formats.hpp"
#include "tensor/simd.hpp"

namespace dp::spmv {

using dp::sparse::Csr;

// ---------------------------------------------------------------------------------------------
// Matrices
// ---------------------------------------------------------------------------------------------

// Uniform random sparsity: every entry is nonzero with probability `density`, independently. The
// gap to the next nonzero of a row is geometric, so a row costs its nonzeros, not its length, and
// its columns come out sorted.
inline Csr random_uniform(std::size_t rows, std::size_t cols, double density, std::mt19937_64& rng) {
  if (!(density > 0 && density <= 1)) throw Error(fmt::format("random_uniform: density {} is outside (0, 1]", density));
  std::vector<std::uint32_t> row_ptr{0}, col;
  std::vector<float> val;
  const auto expected = static_cast<std::size_t>(density * static_cast<double>(rows) * static_cast<double>(cols) * 1.01 + 16);
  col.reserve(expected), val.reserve(expected);
  std::geometric_distribution<std::uint64_t> gap(density);  // zeros before the next nonzero
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::uint64_t c = gap(rng); c < cols; c += 1 + gap(rng)) {
      col.push_back(static_cast<std::uint32_t>(c));
      float v = value(rng);
      val.push_back(v == 0.0f ? 1.0f : v);  // a stored zero is legal CSR, but not "nonzero"
    }
    row_ptr.push_back(static_cast<std::uint32_t>(val.size()));
  }
  return Csr::from_arrays(rows, cols, std::move(row_ptr), std::move(col), std::move(val));
}

// R-MAT (Chakrabarti, Zhan, Faloutsos 2004), the generator of the Graph500 benchmark: 2^scale
// vertices, edge_factor * 2^scale edges drawn one by one; each edge picks one quadrant of the
// adjacency matrix with probabilities a, b, c, d = 0.57, 0.19, 0.19, 0.05, then a quadrant of
// that, `scale` times down to one entry. Duplicate edges are merged (so nnz is a bit smaller),
// values are uniform in [-1, 1). Row degrees follow a power law: a few rows hold thousands of
// nonzeros, most hold a handful or none. Unlike Graph500 we do NOT shuffle the vertex numbers:
// the heavy rows stay at the low indices, as in graphs numbered by crawl order or by degree, and
// a split by rows gives the first thread most of the work (the lab shows it).
inline Csr rmat(int scale, std::size_t edge_factor, std::mt19937_64& rng) {
  if (scale < 1 || scale > 24) throw Error(fmt::format("rmat: scale {} is outside 1..24", scale));
  const std::size_t n = std::size_t{1} << scale, edges = edge_factor * n;
  std::vector<std::uint64_t> keys(edges);  // row << 32 | column
  std::uniform_real_distribution<double> u(0.0, 1.0);
  constexpr double a = 0.57, b = 0.19, c = 0.19;
  for (std::uint64_t& key : keys) {
    std::uint64_t r = 0, col = 0;
    for (int level = 0; level < scale; ++level) {
      const double p = u(rng);
      const std::uint64_t down = p >= a + b, right = (p >= a && p < a + b) || p >= a + b + c;
      r = r << 1 | down, col = col << 1 | right;
    }
    key = r << 32 | col;
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::vector<std::uint32_t> row_ptr(n + 1, 0), cols(keys.size());
  std::vector<float> val(keys.size());
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  for (std::size_t p = 0; p < keys.size(); ++p) {
    ++row_ptr[(keys[p] >> 32) + 1];
    cols[p] = static_cast<std::uint32_t>(keys[p] & 0xFFFFFFFFu);
    const float v = value(rng);
    val[p] = v == 0.0f ? 1.0f : v;
  }
  for (std::size_t r = 0; r < n; ++r) row_ptr[r + 1] += row_ptr[r];
  return Csr::from_arrays(n, n, std::move(row_ptr), std::move(cols), std::move(val));
}

// ---------------------------------------------------------------------------------------------
// Splitting the rows over threads: thread t takes rows [split[t], split[t+1])
// ---------------------------------------------------------------------------------------------

// Equal numbers of rows: fair only when every row holds about the same number of nonzeros.
inline std::vector<std::size_t> split_by_rows(std::size_t rows, int parts) {
  std::vector<std::size_t> s(static_cast<std::size_t>(parts) + 1);
  for (std::size_t t = 0; t < s.size(); ++t) s[t] = rows * t / static_cast<std::size_t>(parts);
  return s;
}

// Equal work, where a row's work is its nonzeros plus one (the row's own cost: its row_ptr
// entries, its sum, its store of y; an empty row is not free). row_ptr[r] + r is that work
// before row r, and it only grows, so each boundary is a binary search. A row is never cut, so a
// single row heavier than a share still lands on one thread.
inline std::vector<std::size_t> split_by_nonzeros(const Csr& a, int parts) {
  const std::size_t total = a.nnz() + a.rows;
  std::vector<std::size_t> s(static_cast<std::size_t>(parts) + 1, a.rows);
  s[0] = 0;
  for (std::size_t t = 1; t < s.size() - 1; ++t) {
    const std::size_t target = total * t / static_cast<std::size_t>(parts);
    std::size_t lo = s[t - 1], hi = a.rows;  // the first row r whose work before it reaches target
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (a.row_ptr[mid] + mid < target) lo = mid + 1;
      else hi = mid;
    }
    s[t] = lo;
  }
  return s;
}

// The nonzeros each share of a split holds.
inline std::vector<std::size_t> share_nonzeros(const Csr& a, const std::vector<std::size_t>& split) {
  std::vector<std::size_t> n;
  for (std::size_t t = 0; t + 1 < split.size(); ++t) n.push_back(a.row_ptr[split[t + 1]] - a.row_ptr[split[t]]);
  return n;
}

// ---------------------------------------------------------------------------------------------
// ELLPACK: every row padded to `width`, the longest row's length, so that 16 rows can go side by
// side in SIMD lanes: one register of 16 sums, one gather of x per step, no row_ptr, no per-row
// loop bounds. Stored in blocks of kEllBlock = 16 rows, each block column-major: entry j of the
// block's row i at [block * 16 * width + j * 16 + i], so a block's data is one contiguous run.
// (Textbook ELL is column-major over ALL rows, entry j of row r at [j * rows + r]; walking one
// block of rows then jumps rows * 4 bytes per step, a new page (and TLB entry) each time. This
// blocked layout is SELL-C-sigma's with C = 16 and no sorting, but
// with one width for all blocks.) Padding holds value 0 at column 0 (x must be finite), and the
// last block is padded with empty rows.
// Its cost is rows x width entries however many are real: fine when rows are alike (uniform
// random), ruinous on a power law, where width is the one huge row (padding_factor says how much).
// ---------------------------------------------------------------------------------------------
inline constexpr std::size_t kEllBlock = 16;

struct Ell {
  std::size_t rows = 0, cols = 0, width = 0, real = 0;  // real: the nonzeros among rows * width
  std::vector<std::uint32_t> col;                        // blocks * kEllBlock * width
  std::vector<float> val;

  std::size_t blocks() const { return (rows + kEllBlock - 1) / kEllBlock; }
  std::size_t at(std::size_t r, std::size_t j) const { return (r / kEllBlock * width + j) * kEllBlock + r % kEllBlock; }
  std::size_t bytes() const { return 4 * (col.size() + val.size()); }
  double padding_factor() const { return real ? static_cast<double>(rows * width) / static_cast<double>(real) : 1.0; }
  static std::size_t width_of(const Csr& a) {
    std::size_t w = 0;
    for (std::size_t r = 0; r < a.rows; ++r) w = std::max<std::size_t>(w, a.row_ptr[r + 1] - a.row_ptr[r]);
    return w;
  }

  static Ell from_csr(const Csr& a) {
    Ell e{a.rows, a.cols, width_of(a), a.nnz(), {}, {}};
    e.col.assign(e.blocks() * kEllBlock * e.width, 0);
    e.val.assign(e.blocks() * kEllBlock * e.width, 0.0f);
    for (std::size_t r = 0; r < a.rows; ++r)
      for (std::uint32_t p = a.row_ptr[r]; p < a.row_ptr[r + 1]; ++p) {
        e.col[e.at(r, p - a.row_ptr[r])] = a.col[p];
        e.val[e.at(r, p - a.row_ptr[r])] = a.val[p];
      }
    return e;
  }
};

// y[r] for rows [begin, end): whole blocks of 16 rows are computed (padding rows too, they are
// stored), only the rows inside [begin, end) are written.
inline void ell_spmv_rows(const Ell& e, std::span<const float> x, std::span<float> y, std::size_t begin, std::size_t end) {
  if (begin >= end) return;
  for (std::size_t b = begin / kEllBlock; b <= (end - 1) / kEllBlock; ++b) {
    const float* v = e.val.data() + b * kEllBlock * e.width;
    const std::uint32_t* c = e.col.data() + b * kEllBlock * e.width;
    float sum[kEllBlock] = {};
    for (std::size_t j = 0; j < e.width; ++j, v += kEllBlock, c += kEllBlock) {
#pragma GCC unroll 16
      for (std::size_t i = 0; i < kEllBlock; ++i) sum[i] += v[i] * x[c[i]];  // a gather
    }
    const std::size_t r0 = std::max(begin, b * kEllBlock), r1 = std::min(end, (b + 1) * kEllBlock);
    for (std::size_t r = r0; r < r1; ++r) y[r] = sum[r - b * kEllBlock];
  }
}

// ---------------------------------------------------------------------------------------------
// Dense y = A x, A row-major rows x cols: our own vectorized loop, 4 independent SIMD sums per
// row (an add waits ~4 cycles for the previous one; 4 chains keep the adder busy). Every entry
// is read, zeros too: its time does not depend on the density.
// ---------------------------------------------------------------------------------------------
inline void dense_gemv_rows(std::span<const float> a, std::size_t cols, std::span<const float> x, std::span<float> y,
                            std::size_t begin, std::size_t end) {
  namespace simd = dp::tensor::simd;
  constexpr std::size_t L = simd::kLanes;
  for (std::size_t r = begin; r < end; ++r) {
    const float* row = a.data() + r * cols;
    simd::vfloat s0{}, s1{}, s2{}, s3{};
    std::size_t c = 0;
    for (; c + 4 * L <= cols; c += 4 * L) {
      s0 += simd::load(row + c) * simd::load(x.data() + c);
      s1 += simd::load(row + c + L) * simd::load(x.data() + c + L);
      s2 += simd::load(row + c + 2 * L) * simd::load(x.data() + c + 2 * L);
      s3 += simd::load(row + c + 3 * L) * simd::load(x.data() + c + 3 * L);
    }
    float s = simd::horizontal_sum((s0 + s1) + (s2 + s3));
    for (; c < cols; ++c) s += row[c] * x[c];
    y[r] = s;
  }
}

// ---------------------------------------------------------------------------------------------
// The reference and the check
// ---------------------------------------------------------------------------------------------

// y = A x in double, computed as a dense product: each row is spread into a dense row of doubles
// (zeros included) and multiplied with all of x, so it shares no loop with the CSR kernels.
// abs[r] = sum_j |a_rj x_j|, the scale of row r's rounding error.
struct Reference {
  std::vector<double> y, abs;
  std::vector<std::size_t> terms;  // nonzeros per row
};
inline Reference reference_product(const Csr& a, std::span<const float> x) {
  Reference ref{std::vector<double>(a.rows), std::vector<double>(a.rows), std::vector<std::size_t>(a.rows)};
  std::vector<double> row(a.cols, 0.0);
  for (std::size_t r = 0; r < a.rows; ++r) {
    for (std::uint32_t p = a.row_ptr[r]; p < a.row_ptr[r + 1]; ++p) row[a.col[p]] = a.val[p];
    double s = 0, m = 0;
    for (std::size_t c = 0; c < a.cols; ++c) s += row[c] * x[c], m += std::fabs(row[c] * x[c]);
    ref.y[r] = s, ref.abs[r] = m, ref.terms[r] = a.row_ptr[r + 1] - a.row_ptr[r];
    for (std::uint32_t p = a.row_ptr[r]; p < a.row_ptr[r + 1]; ++p) row[a.col[p]] = 0.0;
  }
  return ref;
}

// A float sum of m products, in any order or grouping, is off by at most gamma_m * sum|a x|, where
// gamma_m = m u / (1 - m u) and u = 2^-24, the unit roundoff of float (Higham, "Accuracy and
// Stability of Numerical Algorithms", 3.1). Products with a zero (dense's zeros, ELL's padding)
// are exact and so are the sums they join, so m is the row's nonzeros. We allow gamma_{m+1} (the
// +1 for rounding the double reference to compare): a bound, not a guess, yet tight enough that a
// kernel which drops or repeats one term fails it. got may hold NaN (an output never written): a miss.
inline CompareResult compare_product(std::span<const float> got, const Reference& ref) {
  CompareResult c;
  if (got.size() != ref.y.size()) {
    c.passed = false;
    c.detail = fmt::format("y has {} entries, the matrix {} rows", got.size(), ref.y.size());
    return c;
  }
  constexpr double u = 0x1p-24;
  double worst = 0;  // the largest error / bound
  std::string first;
  for (std::size_t r = 0; r < got.size(); ++r) {
    const double mu = static_cast<double>(ref.terms[r] + 1) * u, bound = mu / (1 - mu) * ref.abs[r];
    const double err = std::fabs(static_cast<double>(got[r]) - ref.y[r]);
    if (bound > 0) worst = std::max(worst, err / bound);
    if (err <= bound) continue;  // NaN compares false: a miss
    if (++c.mismatches <= 5) first += fmt::format(" row {}: got {:g}, want {:g} (bound {:.2g});", r, got[r], ref.y[r], bound);
  }
  c.passed = c.mismatches == 0;
  c.detail = c.passed ? fmt::format("all {} rows within gamma(nnz + 1) * sum|a x|, gamma(m) = m u / (1 - m u), u = 2^-24 (largest error: {:.2f} of its bound)",
                                    got.size(), worst)
                      : fmt::format("{} of {} rows beyond gamma(nnz + 1) * sum|a x|:{}", c.mismatches, got.size(), first);
  return c;
}

}  // namespace dp::spmv
