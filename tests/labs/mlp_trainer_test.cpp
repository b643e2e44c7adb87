// The train-mlp lab's trainer (src/labs/m4/mlp_trainer.hpp) on a tiny synthetic set made here, so
// that ./test trains a network even where Fashion-MNIST was never fetched: four classes of points
// around four random centres in 20 dimensions. The loss must fall, the accuracy on fresh points
// from the same classes must clear 95%, and the fused and op-by-op forwards must train to the same
// weights, bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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

namespace {

// train_epoch's shards: over ranks 0..2, every batch's images are trained on once, each rank
// told the whole batch's size; the last batch is partial (25 images in batches of 10).
TEST(MlpTrainer, ShardsCoverEveryBatchOnce) {
  dp::data::LabelledImages set{.count = 25, .rows = 1, .cols = 1, .pixels = {}, .labels = std::vector<std::uint8_t>(25, 0)};
  for (std::uint8_t i = 0; i < 25; ++i) set.pixels.push_back(i);  // image i's one pixel is i
  std::vector<std::vector<int>> seen(3);  // per batch, the images any rank saw
  for (std::size_t rank = 0; rank < 3; ++rank) {
    std::size_t batch = 0;
    dp::train::train_epoch(set, {.count = 25, .epoch = 1, .batch = 10, .seed = 7, .shard = {rank, 3}},
                           [&](const dp::train::BatchPart& b) {
                             EXPECT_EQ(b.batch_rows, batch < 2 ? 10u : 5u);
                             for (std::size_t i = 0; i < b.x.rows; ++i) seen[batch].push_back(static_cast<int>(std::lround(b.x(i, 0) * 255)));
                             ++batch;
                             return 0.0;
                           });
    EXPECT_EQ(batch, 3u);
  }
  std::vector<int> all;
  for (std::size_t b = 0; b < 3; ++b) {
    EXPECT_EQ(seen[b].size(), b < 2 ? 10u : 5u);
    all.insert(all.end(), seen[b].begin(), seen[b].end());
  }
  std::sort(all.begin(), all.end());
  for (int i = 0; i < 25; ++i) EXPECT_EQ(all[static_cast<std::size_t>(i)], i);
}

}  // namespace
