// The sparse lab's core (src/labs/m2/sparse_kernels.hpp, and the shared CSR of
// src/labs/m3/sparse_formats.hpp): CSR from dense and back; every SpMV kernel against a
// double-precision dense product on random shapes (empty rows, 1x1, a row with all nonzeros);
// splits over threads that cover every row once and balance nonzeros; invalid CSR rejected with a
// message that says what is wrong. Tests named *Parallel* run threads (./test runs them under TSan).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "labs/m2/sparse_kernels.hpp"
#include "labs/m3/sparse_formats.hpp"

namespace {

using dp::sparse::Csr;

std::vector<float> random_vector(std::size_t n, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

// A dense matrix with each entry nonzero with probability `density`, and some rows forced empty.
std::vector<float> random_dense(std::size_t rows, std::size_t cols, double density, std::mt19937_64& rng) {
  std::vector<float> a = random_vector(rows * cols, rng);
  std::bernoulli_distribution keep(density);
  for (float& v : a)
    if (!keep(rng)) v = 0.0f;
  for (std::size_t r = 1; r < rows; r += 3)  // every third row empty
    std::fill_n(a.begin() + static_cast<std::ptrdiff_t>(r * cols), cols, 0.0f);
  return a;
}

struct Shape { std::size_t rows, cols; double density; };
const std::vector<Shape> kShapes = {{1, 1, 1.0}, {1, 1000, 1.0}, {5, 1, 1.0}, {7, 33, 0.3},
                                    {64, 17, 0.9}, {200, 301, 0.05}, {3, 4, 0.0}};

// Every single-threaded kernel on one matrix; returns the comparisons' details for failures.
void expect_all_kernels_match(const Csr& a, const std::vector<float>& dense, std::mt19937_64& rng, const std::string& what) {
  const std::vector<float> x = random_vector(a.cols, rng);
  const dp::spmv::Reference ref = dp::spmv::reference_product(a, x);
  std::vector<float> y(a.rows, std::nanf(""));
  dp::sparse::spmv_rows(a, x, y, 0, a.rows);
  const auto c1 = dp::spmv::compare_product(y, ref);
  EXPECT_TRUE(c1.passed) << "csr, " << what << ": " << c1.detail;
  std::fill(y.begin(), y.end(), std::nanf(""));
  const dp::spmv::Ell ell = dp::spmv::Ell::from_csr(a);  // in three pieces that cut its 16-row blocks
  const std::size_t cut1 = std::min<std::size_t>(5, a.rows), cut2 = std::min<std::size_t>(37, a.rows);
  dp::spmv::ell_spmv_rows(ell, x, y, 0, cut1);
  dp::spmv::ell_spmv_rows(ell, x, y, cut1, cut2);
  dp::spmv::ell_spmv_rows(ell, x, y, cut2, a.rows);
  const auto c2 = dp::spmv::compare_product(y, ref);
  EXPECT_TRUE(c2.passed) << "ell, " << what << ": " << c2.detail;
  std::fill(y.begin(), y.end(), std::nanf(""));
  dp::spmv::dense_gemv_rows(dense, a.cols, x, y, 0, a.rows);
  const auto c3 = dp::spmv::compare_product(y, ref);
  EXPECT_TRUE(c3.passed) << "dense, " << what << ": " << c3.detail;
}

TEST(SparseCsr, FromDenseAndBackOnRandomShapes) {
  std::mt19937_64 rng(1);
  for (const Shape s : kShapes) {
    const std::vector<float> w = random_dense(s.rows, s.cols, s.density, rng);
    const Csr a = Csr::from_dense(w, s.rows, s.cols);
    EXPECT_EQ(a.nnz(), static_cast<std::size_t>(std::count_if(w.begin(), w.end(), [](float v) { return v != 0.0f; })));
    EXPECT_EQ(a.to_dense(), w) << s.rows << "x" << s.cols;
    // from_dense's output is valid CSR by from_arrays' rules.
    EXPECT_NO_THROW(Csr::from_arrays(a.rows, a.cols, a.row_ptr, a.col, a.val));
  }
}

TEST(SparseSpmv, EveryKernelMatchesADoubleDenseProduct) {
  std::mt19937_64 rng(std::random_device{}());  // fresh inputs every run
  for (const Shape s : kShapes) {
    const std::vector<float> w = random_dense(s.rows, s.cols, s.density, rng);
    expect_all_kernels_match(Csr::from_dense(w, s.rows, s.cols), w, rng, fmt::format("{}x{} at {}", s.rows, s.cols, s.density));
  }
  for (const double d : {1e-3, 0.1, 1.0}) {
    const Csr a = dp::spmv::random_uniform(150, 70, d, rng);
    expect_all_kernels_match(a, a.to_dense(), rng, fmt::format("random_uniform 150x70 at {}", d));
  }
  const Csr g = dp::spmv::rmat(7, 8, rng);
  expect_all_kernels_match(g, g.to_dense(), rng, "R-MAT 2^7");
}

// The check must be able to fail: one term dropped, or one row left unwritten.
TEST(SparseSpmv, TheCheckCatchesAMissingTermAndAnUnwrittenRow) {
  std::mt19937_64 rng(7);
  const Csr a = dp::spmv::random_uniform(50, 60, 0.2, rng);
  const std::vector<float> x = random_vector(a.cols, rng);
  const auto ref = dp::spmv::reference_product(a, x);
  std::vector<float> y(a.rows);
  dp::sparse::spmv_rows(a, x, y, 0, a.rows);
  ASSERT_TRUE(dp::spmv::compare_product(y, ref).passed);
  std::size_t r = 0;
  while (a.row_ptr[r + 1] == a.row_ptr[r]) ++r;
  const std::uint32_t p = a.row_ptr[r];
  std::vector<float> dropped = y;
  dropped[r] -= a.val[p] * x[a.col[p]];
  EXPECT_FALSE(dp::spmv::compare_product(dropped, ref).passed) << "row " << r << " without its first term";
  std::vector<float> unwritten = y;
  unwritten[a.rows - 1] = std::nanf("");
  EXPECT_FALSE(dp::spmv::compare_product(unwritten, ref).passed);
}

TEST(SparseGenerators, UniformHasTheDensityAndRmatIsSkewed) {
  std::mt19937_64 rng(3);
  const Csr u = dp::spmv::random_uniform(400, 500, 0.1, rng);
  EXPECT_NEAR(static_cast<double>(u.nnz()) / (400.0 * 500.0), 0.1, 0.005);  // 20000 expected, sd ~134
  const Csr g = dp::spmv::rmat(12, 16, rng);
  EXPECT_EQ(g.rows, 4096u);
  EXPECT_GT(g.nnz(), 4096u * 12) << "duplicates merged, but most of the 16 per vertex survive";
  EXPECT_LE(g.nnz(), 4096u * 16);
  // Power law, vertices not shuffled: the first half of the rows holds about a + b = 76% of the edges.
  const double first_half = static_cast<double>(g.row_ptr[2048]) / static_cast<double>(g.nnz());
  EXPECT_GT(first_half, 0.65);
  EXPECT_GT(dp::spmv::Ell::width_of(g), 20 * g.nnz() / g.rows) << "the longest row is far above the mean";
}

TEST(SparseSplits, CoverEveryRowOnceAndByNonzerosBalances) {
  std::mt19937_64 rng(5);
  const Csr g = dp::spmv::rmat(10, 16, rng);
  for (const int parts : {1, 2, 3, 7, 2000}) {
    for (const auto& s : {dp::spmv::split_by_rows(g.rows, parts), dp::spmv::split_by_nonzeros(g, parts)}) {
      ASSERT_EQ(s.size(), static_cast<std::size_t>(parts) + 1);
      EXPECT_EQ(s.front(), 0u);
      EXPECT_EQ(s.back(), g.rows);
      EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
    }
  }
  const auto shares = dp::spmv::share_nonzeros(g, dp::spmv::split_by_nonzeros(g, 4));
  const auto longest = static_cast<double>(dp::spmv::Ell::width_of(g));
  const double work = static_cast<double>(g.nnz() + g.rows) / 4;
  for (const std::size_t n : shares) EXPECT_LE(static_cast<double>(n), work + longest + 1) << "a share is at most its target plus one row";
  const auto by_rows = dp::spmv::share_nonzeros(g, dp::spmv::split_by_rows(g.rows, 4));
  EXPECT_GT(*std::max_element(by_rows.begin(), by_rows.end()), *std::max_element(shares.begin(), shares.end()));
}

TEST(SparseParallel, ThreadsOnEitherSplitMatchTheReference) {
  std::mt19937_64 rng(std::random_device{}());
  const Csr g = dp::spmv::rmat(9, 8, rng);
  const std::vector<float> x = random_vector(g.cols, rng);
  const auto ref = dp::spmv::reference_product(g, x);
  for (const int threads : {2, 3, 5}) {
    for (const auto& s : {dp::spmv::split_by_rows(g.rows, threads), dp::spmv::split_by_nonzeros(g, threads)}) {
      std::vector<float> y(g.rows, std::nanf(""));
      std::vector<std::thread> team;
      for (int t = 0; t < threads; ++t)
        team.emplace_back([&, t] { dp::sparse::spmv_rows(g, x, y, s[static_cast<std::size_t>(t)], s[static_cast<std::size_t>(t) + 1]); });
      for (auto& th : team) th.join();
      const auto c = dp::spmv::compare_product(y, ref);
      EXPECT_TRUE(c.passed) << threads << " threads: " << c.detail;
    }
  }
}

// Invalid CSR: each defect is rejected, and the message names it.
TEST(SparseCsr, InvalidArraysAreRejectedClearly) {
  const auto expect_error = [](std::size_t rows, std::size_t cols, std::vector<std::uint32_t> rp, std::vector<std::uint32_t> col,
                               std::vector<float> val, const std::string& says) {
    try {
      Csr::from_arrays(rows, cols, std::move(rp), std::move(col), std::move(val));
      ADD_FAILURE() << "accepted; expected an error saying '" << says << "'";
    } catch (const dp::Error& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  };
  expect_error(2, 3, {0, 1}, {0}, {1.0f}, "row_ptr has 2 entries");
  expect_error(2, 3, {1, 1, 1}, {0}, {1.0f}, "row_ptr[0] is 1");
  expect_error(2, 3, {0, 1, 2}, {0}, {1.0f}, "must equal the number of nonzeros");
  expect_error(2, 3, {0, 2, 1}, {0}, {1.0f}, "row_ptr decreases at row 1");
  expect_error(2, 3, {0, 1, 2}, {0, 3}, {1.0f, 2.0f}, "column 3, outside 0..2");
  expect_error(1, 3, {0, 2}, {2, 1}, {1.0f, 2.0f}, "strictly increasing");
  expect_error(1, 3, {0, 2}, {1, 1}, {1.0f, 2.0f}, "strictly increasing");
  expect_error(1, 3, {0, 1}, {1, 2}, {1.0f}, "2 column indices but 1 values");
  EXPECT_NO_THROW(Csr::from_arrays(3, 2, {0, 0, 2, 2}, {0, 1}, {1.0f, 2.0f}));  // empty rows are fine
  EXPECT_NO_THROW(Csr::from_arrays(0, 0, {0}, {}, {}));
  std::mt19937_64 rng(1);
  EXPECT_THROW(dp::spmv::random_uniform(3, 3, 0.0, rng), dp::Error) << "density 0 is no sparse matrix to time";
}

}  // namespace
