// sparse_formats.hpp — the pruning lab's weights: magnitude pruning, and two ways to store what is
// left (src/labs/m3/pruning.cpp; unit tests in tests/labs/sparse_formats_test.cpp).
//
// Index
//   prune_magnitude(w, s)   zero exactly round(s * size) of the smallest |w| (unstructured)
//   prune_2_4(w, rows, k)   in every group of 4 consecutive weights of a row, keep the 2 largest
//   Csr                     compressed sparse rows: row_ptr, col, val; from_dense / to_dense,
//                           from_arrays (checks arrays built elsewhere; throws on invalid CSR)
//   spmv_rows(a, x, y, ..)  y[r] = row r of a · x for rows [begin, end): the textbook CSR loop
//   crossover_density       where measured sparse/dense time ratios cross 1 (log-interpolated)
//   TwoFour                 2:4 structured: 2 values per group of 4 and their 2-bit positions
//   TwoFourPanels           the same, laid out for a register-blocked kernel: panels of rows
//
// W is row-major, rows x k (PyTorch's nn.Linear layout: one row per output feature). Ties in |w|
// go to the lower index, so pruning is deterministic. A row length k that is not a multiple of 4
// leaves a short last group (1 to 3 weights): prune_2_4 keeps its 2 largest (all of it when it has
// 1 or 2), and TwoFour stores it as a full group whose missing weights are zeros that the kernel
// multiplies by the zero padding of its input (pruning.cpp pads x to a multiple of 4).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"

namespace dp::sparse {

// Zeroes the round(sparsity * w.size()) weights of smallest magnitude; returns how many that is.
// Throws dp::Error unless 0 <= sparsity <= 1.
inline std::size_t prune_magnitude(std::span<float> w, double sparsity) {
  if (!(sparsity >= 0 && sparsity <= 1))
    throw Error(fmt::format("prune_magnitude: sparsity {} is outside [0, 1]", sparsity));
  const auto zeroed = static_cast<std::size_t>(std::llround(sparsity * static_cast<double>(w.size())));
  if (zeroed == 0) return 0;
  std::vector<std::uint32_t> order(w.size());
  std::iota(order.begin(), order.end(), 0u);
  // Only the boundary matters, not a full sort: nth_element puts the `zeroed` smallest first.
  const auto smaller = [&](std::uint32_t a, std::uint32_t b) {
    const float fa = std::fabs(w[a]), fb = std::fabs(w[b]);
    return fa < fb || (fa == fb && a < b);
  };
  std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(zeroed - 1), order.end(), smaller);
  for (std::size_t i = 0; i < zeroed; ++i) w[order[i]] = 0.0f;
  return zeroed;
}

// The first group of row r starts at r*k; group g covers columns [4g, min(4g+4, k)).
inline std::size_t groups_per_row(std::size_t k) { return (k + 3) / 4; }

// In every group of 4 along each row, zeroes all but the 2 largest magnitudes.
inline void prune_2_4(std::span<float> w, std::size_t rows, std::size_t k) {
  if (w.size() != rows * k)
    throw Error(fmt::format("prune_2_4: {} weights for a {}x{} matrix", w.size(), rows, k));
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c0 = 0; c0 < k; c0 += 4) {
      const std::size_t len = std::min<std::size_t>(4, k - c0);
      if (len <= 2) continue;
      float* g = w.data() + r * k + c0;
      std::size_t keep0 = 0, keep1 = 1;  // the two largest so far, keep0 the larger
      if (std::fabs(g[1]) > std::fabs(g[0])) std::swap(keep0, keep1);
      for (std::size_t i = 2; i < len; ++i) {
        if (std::fabs(g[i]) > std::fabs(g[keep0])) keep1 = keep0, keep0 = i;
        else if (std::fabs(g[i]) > std::fabs(g[keep1])) keep1 = i;
      }
      for (std::size_t i = 0; i < len; ++i)
        if (i != keep0 && i != keep1) g[i] = 0.0f;
    }
}

// ---------------------------------------------------------------------------------------------
// CSR: the nonzeros of row n are val[row_ptr[n] .. row_ptr[n+1]), at columns col[...], in order.
// 8 bytes per nonzero (a float and a 32-bit column) + 4 per row.
// ---------------------------------------------------------------------------------------------
struct Csr {
  std::size_t rows = 0, cols = 0;
  std::vector<std::uint32_t> row_ptr;  // rows + 1 entries
  std::vector<std::uint32_t> col;
  std::vector<float> val;

  std::size_t nnz() const { return val.size(); }
  std::size_t bytes() const { return 4 * (row_ptr.size() + col.size() + val.size()); }

  static Csr from_dense(std::span<const float> w, std::size_t rows, std::size_t cols) {
    if (w.size() != rows * cols) throw Error(fmt::format("Csr: {} weights for a {}x{} matrix", w.size(), rows, cols));
    if (cols > UINT32_MAX || w.size() > UINT32_MAX) throw Error("Csr: 32-bit indices hold at most 2^32 - 1 weights");
    Csr m{rows, cols, {0}, {}, {}};
    m.row_ptr.reserve(rows + 1);
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c < cols; ++c)
        if (const float v = w[r * cols + c]; v != 0.0f) {
          m.col.push_back(static_cast<std::uint32_t>(c));
          m.val.push_back(v);
        }
      m.row_ptr.push_back(static_cast<std::uint32_t>(m.val.size()));
    }
    return m;
  }

  // Takes arrays built elsewhere (a generator, a file) and checks that they are CSR, in the
  // canonical form from_dense makes: row_ptr has rows + 1 entries, starts at 0, never decreases
  // and ends at nnz; col and val have nnz entries; each row's columns are < cols and strictly
  // increasing (sorted, no duplicates). Throws dp::Error naming the first thing that is wrong.
  static Csr from_arrays(std::size_t rows, std::size_t cols, std::vector<std::uint32_t> row_ptr,
                         std::vector<std::uint32_t> col, std::vector<float> val) {
    const auto bad = [&](const std::string& what) { return Error(fmt::format("invalid CSR ({}x{}): {}", rows, cols, what)); };
    if (row_ptr.size() != rows + 1)
      throw bad(fmt::format("row_ptr has {} entries, a {}-row matrix needs rows + 1 = {}", row_ptr.size(), rows, rows + 1));
    if (col.size() != val.size()) throw bad(fmt::format("{} column indices but {} values: one of each per nonzero", col.size(), val.size()));
    if (row_ptr[0] != 0) throw bad(fmt::format("row_ptr[0] is {}, it must be 0", row_ptr[0]));
    if (row_ptr[rows] != val.size())
      throw bad(fmt::format("row_ptr[{}] (the last) is {}, it must equal the number of nonzeros, {}", rows, row_ptr[rows], val.size()));
    for (std::size_t r = 0; r < rows; ++r)  // first, so that every row's range lies inside col
      if (row_ptr[r + 1] < row_ptr[r])
        throw bad(fmt::format("row_ptr decreases at row {} ({} then {}): a row cannot end before it starts", r, row_ptr[r], row_ptr[r + 1]));
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::uint32_t p = row_ptr[r]; p < row_ptr[r + 1]; ++p) {
        if (col[p] >= cols) throw bad(fmt::format("row {} has column {}, outside 0..{}", r, col[p], cols - 1));
        if (p > row_ptr[r] && col[p] <= col[p - 1])
          throw bad(fmt::format("row {}: column {} after column {}; columns must be strictly increasing (sorted, no duplicates)", r, col[p], col[p - 1]));
      }
    }
    return Csr{rows, cols, std::move(row_ptr), std::move(col), std::move(val)};
  }

  std::vector<float> to_dense() const {
    std::vector<float> w(rows * cols, 0.0f);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::uint32_t p = row_ptr[r]; p < row_ptr[r + 1]; ++p) w[r * cols + col[p]] = val[p];
    return w;
  }
};

// The textbook sparse matrix-vector product over rows [begin, end): y[r] = sum over the nonzeros
// p of row r of val[p] * x[col[p]]. x has a.cols entries, y has a.rows. One running sum per row,
// one gathered x per nonzero: its speed is the latency of that chain and of the gathers.
inline void spmv_rows(const Csr& a, std::span<const float> x, std::span<float> y, std::size_t begin, std::size_t end) {
  for (std::size_t r = begin; r < end; ++r) {
    float s = 0;
    for (std::uint32_t p = a.row_ptr[r]; p < a.row_ptr[r + 1]; ++p) s += a.val[p] * x[a.col[p]];
    y[r] = s;
  }
}

// Where a sparse kernel starts beating a dense one, from (density, t_sparse / t_dense) pairs
// ordered from dense to sparse (density in any unit, > 0): the density where the ratio crosses 1,
// interpolated on log scales between the two measured densities around it, searching from the
// sparsest up. Negative: sparse is slower even at the sparsest point; +infinity: sparse is faster
// at every measured density. Used by the pruning lab and module 2's sparse lab.
inline double crossover_density(const std::vector<std::pair<double, double>>& density_ratio) {
  for (std::size_t i = density_ratio.size(); i-- > 0;) {  // from the sparsest up
    if (density_ratio[i].second < 1) continue;
    if (i + 1 == density_ratio.size()) return -1;  // slower even at the sparsest point
    const auto [d1, r1] = density_ratio[i];
    const auto [d0, r0] = density_ratio[i + 1];
    const double t = std::log(r0) / (std::log(r0) - std::log(r1));  // r0 < 1 <= r1
    return std::exp(std::log(d0) + t * (std::log(d1) - std::log(d0)));
  }
  return INFINITY;
}

// ---------------------------------------------------------------------------------------------
// 2:4: per group, 2 values and their positions in the group (0..3), 2 bits each: a group's 4-bit
// code is pos0 | pos1 << 2 (pos0 < pos1), two groups per byte (group 2m in the low half). The
// layout NVIDIA's sparse tensor cores read: half the values, plus 2 bits of metadata per value.
// ---------------------------------------------------------------------------------------------
struct TwoFour {
  std::size_t rows = 0, cols = 0, groups = 0;  // groups = groups_per_row(cols)
  std::vector<float> val;                      // rows x 2*groups
  std::vector<std::uint8_t> meta;              // rows x meta_stride()

  std::size_t meta_stride() const { return (groups + 1) / 2; }
  std::size_t bytes() const { return 4 * val.size() + meta.size(); }
  const float* values(std::size_t r) const { return val.data() + r * 2 * groups; }
  const std::uint8_t* codes(std::size_t r) const { return meta.data() + r * meta_stride(); }
  static unsigned code(const std::uint8_t* row_codes, std::size_t g) { return (row_codes[g / 2] >> (4 * (g % 2))) & 0xFu; }

  // W must already be 2:4 (at most 2 nonzeros in every group): throws dp::Error naming the first
  // group that is not. A group with fewer than 2 nonzeros stores zeros at unused positions.
  static TwoFour from_dense(std::span<const float> w, std::size_t rows, std::size_t cols) {
    if (w.size() != rows * cols) throw Error(fmt::format("TwoFour: {} weights for a {}x{} matrix", w.size(), rows, cols));
    TwoFour m{rows, cols, groups_per_row(cols), {}, {}};
    m.val.assign(rows * 2 * m.groups, 0.0f);
    m.meta.assign(rows * m.meta_stride(), 0);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t g = 0; g < m.groups; ++g) {
        unsigned pos[2] = {0, 1};
        float v[2] = {0.0f, 0.0f};
        int found = 0;
        for (unsigned i = 0; i < 4 && 4 * g + i < cols; ++i)
          if (const float x = w[r * cols + 4 * g + i]; x != 0.0f) {
            if (found == 2)
              throw Error(fmt::format("TwoFour: row {}, columns {}..{} hold more than 2 nonzeros; prune_2_4 first",
                                      r, 4 * g, std::min(4 * g + 3, cols - 1)));
            pos[found] = i, v[found] = x, ++found;
          }
        // Fewer than 2: the free slot takes an unused position, with value 0, keeping pos0 < pos1.
        if (found == 1) pos[1] = pos[0] == 0 ? 1 : 0;
        if (pos[0] > pos[1]) std::swap(pos[0], pos[1]), std::swap(v[0], v[1]);
        m.val[r * 2 * m.groups + 2 * g] = v[0];
        m.val[r * 2 * m.groups + 2 * g + 1] = v[1];
        m.meta[r * m.meta_stride() + g / 2] |= static_cast<std::uint8_t>((pos[0] | (pos[1] << 2)) << (4 * (g % 2)));
      }
    return m;
  }

  std::vector<float> to_dense() const {
    std::vector<float> w(rows * cols, 0.0f);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t g = 0; g < groups; ++g) {
        const unsigned c = code(codes(r), g);
        const std::size_t c0 = 4 * g + (c & 3), c1 = 4 * g + (c >> 2);
        if (c0 < cols) w[r * cols + c0] = values(r)[2 * g];
        if (c1 < cols) w[r * cols + c1] = values(r)[2 * g + 1];
      }
    return w;
  }
};

// ---------------------------------------------------------------------------------------------
// 2:4 in panels of `width` rows of W (output features), for a kernel that computes `width` outputs
// at once, as the dense GEMM does: per panel and group g, the first values of the `width` rows,
// their second values, then their codes (a byte each, pos0 | pos1 << 2), each array contiguous.
// The last panel is padded with zero rows (values 0, code 0b0100).
// ---------------------------------------------------------------------------------------------
struct TwoFourPanels {
  std::size_t rows = 0, cols = 0, groups = 0, width = 0, panels = 0;
  std::vector<float> val;          // panels x groups x 2 x width
  std::vector<std::uint8_t> code;  // panels x groups x width

  const float* values(std::size_t p, std::size_t g) const { return val.data() + (p * groups + g) * 2 * width; }
  const std::uint8_t* codes(std::size_t p, std::size_t g) const { return code.data() + (p * groups + g) * width; }

  static TwoFourPanels from(const TwoFour& m, std::size_t width) {
    if (width == 0) throw Error("TwoFourPanels: a panel needs at least one row");
    TwoFourPanels t{m.rows, m.cols, m.groups, width, (m.rows + width - 1) / width, {}, {}};
    t.val.assign(t.panels * t.groups * 2 * width, 0.0f);
    t.code.assign(t.panels * t.groups * width, 0b0100);
    for (std::size_t r = 0; r < m.rows; ++r)
      for (std::size_t g = 0; g < m.groups; ++g) {
        const std::size_t p = r / width, j = r % width, at = (p * t.groups + g) * width;
        t.val[2 * at + j] = m.values(r)[2 * g];
        t.val[2 * at + width + j] = m.values(r)[2 * g + 1];
        t.code[at + j] = static_cast<std::uint8_t>(TwoFour::code(m.codes(r), g));
      }
    return t;
  }

  std::vector<float> to_dense() const {
    std::vector<float> w(rows * cols, 0.0f);
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t g = 0; g < groups; ++g) {
        const std::size_t p = r / width, j = r % width;
        const unsigned c = codes(p, g)[j];
        const std::size_t c0 = 4 * g + (c & 3), c1 = 4 * g + (c >> 2);
        if (c0 < cols) w[r * cols + c0] = values(p, g)[j];
        if (c1 < cols) w[r * cols + c1] = values(p, g)[width + j];
      }
    return w;
  }
};

}  // namespace dp::sparse
