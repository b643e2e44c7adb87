// The pruning lab's weights (src/labs/m3/sparse_formats.hpp): magnitude pruning removes exactly
// the requested count and only the smallest magnitudes; 2:4 pruning keeps the 2 largest of every
// group (short last groups included); CSR, 2:4 and 2:4-in-panels packing give back the matrix they were given;
// bad input is a clear error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/error.hpp"
#include "labs/m3/sparse_formats.hpp"

namespace {

std::vector<float> random_weights(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> w(n);
  for (float& v : w) v = u(rng);
  return w;
}

std::size_t zeros(const std::vector<float>& w) { return static_cast<std::size_t>(std::count(w.begin(), w.end(), 0.0f)); }

TEST(PruneMagnitude, ReachesTheExactSparsityAndKeepsTheLargest) {
  for (const std::size_t n : {1u, 7u, 1000u, 4099u})
    for (const double s : {0.0, 0.3, 0.5, 0.9, 0.98, 1.0}) {
      const std::vector<float> original = random_weights(n, static_cast<unsigned>(n));
      std::vector<float> w = original;
      const std::size_t want = static_cast<std::size_t>(std::llround(s * static_cast<double>(n)));
      EXPECT_EQ(dp::sparse::prune_magnitude(w, s), want);
      EXPECT_EQ(zeros(w), want) << n << " weights, sparsity " << s;
      float pruned_max = 0, kept_min = INFINITY;
      for (std::size_t i = 0; i < n; ++i) {
        if (w[i] == 0.0f) pruned_max = std::max(pruned_max, std::fabs(original[i]));
        else {
          EXPECT_EQ(w[i], original[i]) << "a kept weight must keep its value";
          kept_min = std::min(kept_min, std::fabs(original[i]));
        }
      }
      EXPECT_LE(pruned_max, kept_min);
    }
}

TEST(PruneMagnitude, TiesGoToTheLowerIndexAndSignDoesNotMatter) {
  std::vector<float> w = {0.5f, -0.1f, 0.1f, -0.5f, 0.1f, 2.0f};
  dp::sparse::prune_magnitude(w, 0.5);  // 3 of 6: the three |0.1|, whatever their sign
  EXPECT_EQ(w, (std::vector<float>{0.5f, 0.0f, 0.0f, -0.5f, 0.0f, 2.0f}));
  std::vector<float> same(4, 1.0f);
  dp::sparse::prune_magnitude(same, 0.5);
  EXPECT_EQ(same, (std::vector<float>{0.0f, 0.0f, 1.0f, 1.0f}));
}

TEST(PruneMagnitude, RejectsSparsityOutsideZeroToOne) {
  std::vector<float> w(4, 1.0f);
  EXPECT_THROW(dp::sparse::prune_magnitude(w, -0.1), dp::Error);
  EXPECT_THROW(dp::sparse::prune_magnitude(w, 1.5), dp::Error);
  EXPECT_THROW(dp::sparse::prune_magnitude(w, NAN), dp::Error);
}

TEST(Prune24, KeepsTheTwoLargestOfEveryGroupIncludingAShortLastOne) {
  // One row, K = 11: groups [0,4), [4,8) and a short one [8,11).
  std::vector<float> w = {0.1f, -0.9f, 0.3f, 0.2f, 5.0f, 4.0f, -6.0f, 1.0f, 0.01f, -0.03f, 0.02f};
  dp::sparse::prune_2_4(w, 1, 11);
  EXPECT_EQ(w, (std::vector<float>{0.0f, -0.9f, 0.3f, 0.0f, 5.0f, 0.0f, -6.0f, 0.0f, 0.0f, -0.03f, 0.02f}));
  std::vector<float> two = {1.0f, 2.0f, 3.0f, 4.0f, 7.0f, 8.0f};  // K = 6: the short group keeps both
  dp::sparse::prune_2_4(two, 1, 6);
  EXPECT_EQ(two, (std::vector<float>{0.0f, 0.0f, 3.0f, 4.0f, 7.0f, 8.0f}));
  EXPECT_THROW(dp::sparse::prune_2_4(two, 2, 6), dp::Error);
}

TEST(Csr, RoundTripsAtEverySparsityAndOddShapes) {
  for (const auto& [rows, cols] : {std::pair<std::size_t, std::size_t>{1, 1}, {3, 7}, {64, 129}, {17, 0}})
    for (const double s : {0.0, 0.5, 0.9, 1.0}) {
      std::vector<float> w = random_weights(rows * cols, 3);
      dp::sparse::prune_magnitude(w, s);
      const auto m = dp::sparse::Csr::from_dense(w, rows, cols);
      EXPECT_EQ(m.nnz(), w.size() - zeros(w));
      EXPECT_EQ(m.row_ptr.size(), rows + 1);
      for (std::size_t r = 0; r < rows; ++r)
        EXPECT_TRUE(std::is_sorted(m.col.begin() + m.row_ptr[r], m.col.begin() + m.row_ptr[r + 1])) << "row " << r;
      EXPECT_EQ(m.to_dense(), w) << rows << "x" << cols << " at " << s;
    }
  EXPECT_THROW(dp::sparse::Csr::from_dense(std::vector<float>(5), 2, 3), dp::Error);
}

TEST(TwoFour, RoundTripsWithEveryTailLength) {
  for (const std::size_t cols : {1u, 2u, 3u, 4u, 5u, 8u, 10u, 11u, 1023u})
    for (const std::size_t rows : {1u, 3u}) {
      std::vector<float> w = random_weights(rows * cols, static_cast<unsigned>(cols));
      dp::sparse::prune_2_4(w, rows, cols);
      const auto m = dp::sparse::TwoFour::from_dense(w, rows, cols);
      EXPECT_EQ(m.groups, (cols + 3) / 4);
      EXPECT_EQ(m.val.size(), rows * 2 * m.groups);
      EXPECT_EQ(m.meta.size(), rows * ((m.groups + 1) / 2)) << "4 bits of positions per group";
      EXPECT_EQ(m.to_dense(), w) << rows << "x" << cols;
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t g = 0; g < m.groups; ++g) {
          const unsigned c = dp::sparse::TwoFour::code(m.codes(r), g);
          EXPECT_LT(c & 3, c >> 2) << "positions in order";
        }
    }
}

TEST(TwoFourPanels, RoundTripWithPartialPanelsAndTails) {
  for (const std::size_t rows : {1u, 31u, 32u, 33u, 70u})
    for (const std::size_t cols : {3u, 8u, 13u}) {
      std::vector<float> w = random_weights(rows * cols, static_cast<unsigned>(rows * cols));
      dp::sparse::prune_2_4(w, rows, cols);
      const auto m = dp::sparse::TwoFour::from_dense(w, rows, cols);
      const auto t = dp::sparse::TwoFourPanels::from(m, 32);
      EXPECT_EQ(t.panels, (rows + 31) / 32);
      EXPECT_EQ(t.to_dense(), w) << rows << "x" << cols;
      if (rows % 32) {
        EXPECT_EQ(t.values(t.panels - 1, 0)[31], 0.0f) << "padding rows hold zeros";
      }
    }
  EXPECT_THROW(dp::sparse::TwoFourPanels::from(dp::sparse::TwoFour{}, 0), dp::Error);
}

TEST(TwoFour, KeepsZerosAndRefusesAMatrixThatIsNot24) {
  std::vector<float> w = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 2.0f};  // an empty group, one with 1
  const auto m = dp::sparse::TwoFour::from_dense(w, 1, 8);
  EXPECT_EQ(m.to_dense(), w);
  const std::vector<float> three = {1.0f, 2.0f, 3.0f, 0.0f};
  try {
    dp::sparse::TwoFour::from_dense(three, 1, 4);
    ADD_FAILURE() << "three nonzeros in a group of 4 must be refused";
  } catch (const dp::Error& e) {
    EXPECT_NE(std::string(e.what()).find("more than 2 nonzeros"), std::string::npos) << e.what();
  }
}

}  // namespace
