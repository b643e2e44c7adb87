// Tensor2D: alignment, ownership, views and the seeded random fill.
#include <gtest/gtest.h>

#include <cstdint>

#include "core/error.hpp"
#include "tensor/tensor.hpp"

namespace dp::tensor {
namespace {

TEST(Tensor2D, StartsZeroedAndAligned) {
  for (std::size_t cols : {1u, 3u, 17u, 255u}) {
    Tensor2D<float> t(3, cols);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % kAlignment, 0u) << cols;
    for (float v : t.span()) EXPECT_EQ(v, 0.0f);
  }
}

TEST(Tensor2D, RowMajorRowsAndViews) {
  Tensor2D<float> t(4, 3);
  for (std::size_t r = 0; r < 4; ++r)
    for (std::size_t c = 0; c < 3; ++c) t(r, c) = static_cast<float>(10 * r + c);
  EXPECT_EQ(t.data()[2 * 3 + 1], 21.0f);  // (2, 1) at 2*cols + 1
  EXPECT_EQ(t.row(3)[2], 32.0f);
  const auto block = t.view().rows_between(1, 3);
  EXPECT_EQ(block.rows, 2u);
  EXPECT_EQ(block(0, 0), 10.0f);
  block(1, 2) = -1;  // a view writes through to the tensor
  EXPECT_EQ(t(2, 2), -1.0f);
}

TEST(Tensor2D, CopyIsDeepMoveIsCheap) {
  auto a = Tensor2D<float>::random(5, 7, 1);
  Tensor2D<float> b = a;
  b(0, 0) = 42;
  EXPECT_NE(a(0, 0), 42.0f);
  const float* p = a.data();
  Tensor2D<float> c = std::move(a);
  EXPECT_EQ(c.data(), p);
}

TEST(Tensor2D, RandomIsSeededAndInRange) {
  const auto a = Tensor2D<float>::random(16, 16, 7, -0.5f, 0.5f);
  const auto b = Tensor2D<float>::random(16, 16, 7, -0.5f, 0.5f);
  const auto c = Tensor2D<float>::random(16, 16, 8, -0.5f, 0.5f);
  EXPECT_EQ(std::vector<float>(a.span().begin(), a.span().end()),
            std::vector<float>(b.span().begin(), b.span().end()));
  EXPECT_NE(std::vector<float>(a.span().begin(), a.span().end()),
            std::vector<float>(c.span().begin(), c.span().end()));
  double mean = 0;
  for (float v : a.span()) {
    EXPECT_GE(v, -0.5f);
    EXPECT_LT(v, 0.5f);
    mean += v;
  }
  EXPECT_NEAR(mean / a.size(), 0.0, 0.1);
  EXPECT_THROW(Tensor2D<float>::random(2, 2, 1, 1.0f, 1.0f), Error);
}

}  // namespace
}  // namespace dp::tensor
