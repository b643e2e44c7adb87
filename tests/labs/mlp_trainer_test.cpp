// The train-mlp lab's trainer (src/labs/m4/mlp_trainer.hpp) on a tiny synthetic set made here, so
// that ./test trains a network even where Fashion-MNIST was never fetched: four classes of points
// around four random centres in 20 dimensions. The loss must fall, the accuracy on fresh points
// from the same classes must clear 95%, and the fused and op-by-op forwards must train to the same
// weights, bit for bit.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "labs/m4/mlp_trainer.hpp"

namespace {

using dp::tensor::Tensor2D;
using dp::train::Forward;
using dp::train::Mlp;

struct Blobs {
  Tensor2D<float> x;
  std::vector<std::uint8_t> labels;
};

Blobs blobs(const Tensor2D<float>& centres, std::size_t count, std::mt19937_64& rng) {
  std::normal_distribution<float> noise(0.0f, 0.5f);
  Blobs b{Tensor2D<float>(count, centres.cols()), {}};
  for (std::size_t i = 0; i < count; ++i) {
    const auto label = static_cast<std::uint8_t>(rng() % centres.rows());
    b.labels.push_back(label);
    for (std::size_t d = 0; d < centres.cols(); ++d) b.x(i, d) = centres(label, d) + noise(rng);
  }
  return b;
}

TEST(MlpTrainer, LearnsSeparableBlobsAndBothForwardsAgree) {
  std::mt19937_64 rng(std::random_device{}());
  const auto centres = Tensor2D<float>::random(4, 20, rng(), -1.5f, 1.5f);
  const std::uint64_t seed = rng();
  Mlp fused({20, 32, 16, 4}, seed), eager({20, 32, 16, 4}, seed);
  dp::tensor::Adam adam_fused{.lr = 1e-2f}, adam_eager{.lr = 1e-2f};
  std::vector<double> losses;
  for (int step = 0; step < 60; ++step) {
    const Blobs batch = blobs(centres, 33, rng);  // an odd batch: ragged GEMM edges
    losses.push_back(fused.train_step(batch.x.const_view(), batch.labels, adam_fused, Forward::fused));
    eager.train_step(batch.x.const_view(), batch.labels, adam_eager, Forward::op_by_op);
  }
  EXPECT_LT(losses.back() + losses[58] + losses[57], (losses[0] + losses[1] + losses[2]) / 4);
  const Blobs check = blobs(centres, 1000, rng);
  std::vector<std::uint8_t> predicted(1000);
  fused.predict(check.x.const_view(), predicted);
  int right = 0;
  for (std::size_t i = 0; i < 1000; ++i) right += predicted[i] == check.labels[i];
  EXPECT_GT(right, 950);
  for (std::size_t l = 0; l < fused.layers().size(); ++l)
    for (std::size_t i = 0; i < fused.layers()[l].w.size(); ++i)
      ASSERT_EQ(fused.layers()[l].w.data()[i], eager.layers()[l].w.data()[i]) << "layer " << l << ", weight " << i;
}

TEST(MlpTrainer, BadShapesAreErrors) {
  EXPECT_THROW(Mlp({10}, 1), dp::Error);
  Mlp net({5, 3}, 1);
  dp::tensor::Adam adam;
  Tensor2D<float> x(2, 4);  // 4 features for a 5-input network
  std::vector<std::uint8_t> labels = {0, 1};
  EXPECT_THROW(net.train_step(x.const_view(), labels, adam, Forward::fused), dp::Error);
}

}  // namespace
