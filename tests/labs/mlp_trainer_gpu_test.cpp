// The train-mlp lab's Vulkan trainer (src/labs/m4/mlp_trainer_gpu.hpp) against the CPU trainer
// (mlp_trainer.hpp), from the same weights on the same batches: one step, then a whole epoch whose
// last batch is short, must end in the same gradients and weights (to rounding: only the order of
// the GEMMs' sums differs; expect_same_weights says how close), with the same losses; the GPU's
// test accuracy must equal the CPU's on the same weights, to within one image; several steps per
// submission must train exactly as one. Synthetic data made here (five blobs of 20 "pixels"), odd
// widths and an odd batch: ragged GEMM tiles everywhere. Runs on whatever Vulkan device is here
// (lavapipe on CI) with validation on; skipped where there is none.
#include <gtest/gtest.h>

#if defined(DP_HAVE_GPU)

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/check.hpp"
#include "core/error.hpp"
#include "data/fashion_mnist.hpp"
#include "gpu/gpu.hpp"
#include "labs/m4/mlp_trainer.hpp"
#include "labs/m4/mlp_trainer_gpu.hpp"

namespace {

using dp::data::LabelledImages;
using dp::tensor::Tensor2D;
using dp::train::Forward;
using dp::train::GpuMlp;
using dp::train::Mlp;

const std::vector<std::size_t> kWidths = {20, 40, 24, 5};
constexpr std::size_t kBatch = 33;

// Five classes of 20-pixel "images" around random centres.
LabelledImages blobs(std::size_t count, std::uint64_t seed) {
  std::mt19937_64 centres_rng(7), rng(seed);
  std::uniform_real_distribution<float> centre(40.0f, 215.0f);
  std::normal_distribution<float> noise(0.0f, 30.0f);
  std::vector<float> centres(kWidths.back() * kWidths.front());
  for (float& c : centres) c = centre(centres_rng);
  LabelledImages set{.count = count, .rows = 1, .cols = kWidths.front(), .pixels = {}, .labels = {}};
  for (std::size_t i = 0; i < count; ++i) {
    const auto label = static_cast<std::uint8_t>(rng() % kWidths.back());
    set.labels.push_back(label);
    for (std::size_t p = 0; p < kWidths.front(); ++p)
      set.pixels.push_back(static_cast<std::uint8_t>(std::clamp(centres[label * kWidths.front() + p] + noise(rng), 0.0f, 255.0f)));
  }
  return set;
}

// The lab's gather: pixels / 255 as float, times the float 1/255.
void gather(const LabelledImages& set, std::span<const std::uint32_t> ids, Tensor2D<float>& x, std::vector<std::uint8_t>& labels) {
  x = Tensor2D<float>(ids.size(), set.pixels_per_image());
  labels.resize(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    for (std::size_t p = 0; p < set.pixels_per_image(); ++p) x(i, p) = static_cast<float>(set.image(ids[i])[p]) * (1.0f / 255);
    labels[i] = set.labels[ids[i]];
  }
}

class MlpTrainerGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      device_.emplace(dp::gpu::DeviceOptions{.selector = {}, .validation = true});
    } catch (const dp::Unavailable& e) {
      GTEST_SKIP() << "no Vulkan device here: " << e.what();
    }
  }
  void TearDown() override {
    if (!device_) return;
    const dp::gpu::ValidationCheck c = dp::gpu::validation_check(*device_);
    EXPECT_TRUE(c.passed) << c.detail;
  }
  std::optional<dp::gpu::Device> device_;
};

// Weights within 1% of an Adam step (lr 1e-2 here): Adam divides a gradient by its own size, so
// a gradient near zero, where the GEMMs' order of sums matters, can move its weight by part of a
// step (the lab's check says more). Gradients within 1e-5 of the layer's largest + rel 1e-4.
void expect_same_weights(GpuMlp& gpu, const Mlp& cpu) {
  const auto got = gpu.weights(), grads = gpu.gradients();
  const dp::Tolerance tol{.abs = 1e-4, .rel = 1e-4};
  for (std::size_t l = 0; l < got.size(); ++l) {
    const auto& layer = cpu.layers()[l];
    const auto w = dp::compare(got[l].w.span(), layer.w.span(), tol);
    EXPECT_TRUE(w.passed) << "layer " << l << " W: " << w.detail;
    const auto b = dp::compare(got[l].b.span(), layer.b.span(), tol);
    EXPECT_TRUE(b.passed) << "layer " << l << " b: " << b.detail;
    float largest = 0;
    for (const float g : layer.dw.span()) largest = std::max(largest, std::abs(g));
    const dp::Tolerance grad_tol{.abs = 1e-5 * largest, .rel = 1e-4};
    const auto dw = dp::compare(grads[l].w.span(), layer.dw.span(), grad_tol);
    EXPECT_TRUE(dw.passed) << "layer " << l << " dW: " << dw.detail;
    const auto db = dp::compare(grads[l].b.span(), layer.db.span(), grad_tol);
    EXPECT_TRUE(db.passed) << "layer " << l << " db: " << db.detail;
  }
}

// Both GEMM kernels of gemm.comp, whichever device this is: the direct one (a CPU device's) and the
// shared-memory tiles (a GPU's), with 1 and 2 outputs per thread side.
struct GemmChoice {
  int block, tiled;
};
class MlpTrainerGpuKernels : public MlpTrainerGpu, public ::testing::WithParamInterface<GemmChoice> {};

TEST_P(MlpTrainerGpuKernels, StepsMatchTheCpuTrainer) {
  const LabelledImages train = blobs(100, 11), test = blobs(200, 12);
  const std::uint64_t seed = std::random_device{}();
  SCOPED_TRACE(seed);
  Mlp cpu(kWidths, seed);
  dp::tensor::Adam adam{.lr = 1e-2f};
  GpuMlp gpu(*device_, cpu, train, train.count, test, test.count,
             {.batch = kBatch, .adam = adam, .steps_per_submit = 1, .block = GetParam().block, .tiled = GetParam().tiled});

  std::vector<std::uint32_t> order(train.count);
  std::iota(order.begin(), order.end(), 0u);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
  Tensor2D<float> x;
  std::vector<std::uint8_t> labels;

  // One step: the first batch.
  const std::span<const std::uint32_t> first(order.data(), kBatch);
  gather(train, first, x, labels);
  const double cpu_loss = cpu.train_step(x.const_view(), labels, adam, Forward::fused);
  const GpuMlp::Epoch one = gpu.train_epoch(first);
  ASSERT_EQ(one.losses.size(), 1u);
  EXPECT_NEAR(one.losses[0], cpu_loss, 1e-5 * cpu_loss);
  {
    SCOPED_TRACE("after one step");
    expect_same_weights(gpu, cpu);
  }

  // A whole epoch, 100 = 3 x 33 + 1: the last batch holds one image (the GPU pads it with rows
  // that get no gradient). Adam's step count carries on from the step above.
  std::vector<double> cpu_losses;
  for (std::size_t start = 0; start < order.size(); start += kBatch) {
    gather(train, std::span<const std::uint32_t>(order.data() + start, std::min(kBatch, order.size() - start)), x, labels);
    cpu_losses.push_back(cpu.train_step(x.const_view(), labels, adam, Forward::fused));
  }
  const GpuMlp::Epoch epoch = gpu.train_epoch(order);
  ASSERT_EQ(epoch.losses.size(), cpu_losses.size());
  for (std::size_t s = 0; s < cpu_losses.size(); ++s) EXPECT_NEAR(epoch.losses[s], cpu_losses[s], 1e-4 * cpu_losses[s] + 1e-6) << "step " << s;
  {
    SCOPED_TRACE("after an epoch");
    expect_same_weights(gpu, cpu);
  }

  // Test accuracy: the GPU's forward + argmax against the CPU's predict on the same weights.
  std::vector<std::uint32_t> ids(test.count);
  std::iota(ids.begin(), ids.end(), 0u);
  gather(test, ids, x, labels);
  std::vector<std::uint8_t> predicted(test.count);
  cpu.predict(x.const_view(), predicted);
  std::size_t right = 0;
  for (std::size_t i = 0; i < test.count; ++i) right += predicted[i] == labels[i];
  EXPECT_NEAR(gpu.test_accuracy(), 100.0 * double(right) / double(test.count), 100.0 / double(test.count) + 1e-9);
}

INSTANTIATE_TEST_SUITE_P(Gemm, MlpTrainerGpuKernels,
                         ::testing::Values(GemmChoice{0, -1}, GemmChoice{8, 0}, GemmChoice{1, 1}, GemmChoice{2, 1}),
                         [](const ::testing::TestParamInfo<GemmChoice>& i) {
                           return (i.param.tiled < 0 ? std::string("auto") : i.param.tiled ? std::string("tiled") : std::string("direct")) +
                                  std::to_string(i.param.block);
                         });

TEST_F(MlpTrainerGpu, SeveralStepsPerSubmissionTrainTheSame) {
  const LabelledImages train = blobs(300, 21), test = blobs(50, 22);
  const std::uint64_t seed = std::random_device{}();
  const Mlp start(kWidths, seed);
  std::vector<std::uint32_t> order(train.count);
  std::iota(order.begin(), order.end(), 0u);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
  // 300 images: 10 steps of 33 (the last of 3) = 2 submissions of 4 steps, then 2 of one step.
  GpuMlp one(*device_, start, train, train.count, test, test.count, {.batch = kBatch, .adam = {}, .steps_per_submit = 1, .block = 2, .tiled = -1});
  GpuMlp two(*device_, start, train, train.count, test, test.count, {.batch = kBatch, .adam = {}, .steps_per_submit = 4, .block = 2, .tiled = -1});
  const auto a = one.train_epoch(order), b = two.train_epoch(order);
  EXPECT_EQ(a.losses, b.losses);  // the same kernels on the same data: bit for bit
  EXPECT_EQ(a.wall_ns_per_step.size(), 10u);
  EXPECT_EQ(b.wall_ns_per_step.size(), 2u + 2u);
  const auto wa = one.weights(), wb = two.weights();
  for (std::size_t l = 0; l < wa.size(); ++l) EXPECT_TRUE(std::equal(wa[l].w.span().begin(), wa[l].w.span().end(), wb[l].w.span().begin()));
  EXPECT_EQ(a.losses.size(), 10u);  // (whether it learns is the one-epoch test's question; a 3-image batch's loss is noise)
}

TEST_F(MlpTrainerGpu, BadInputsAreErrors) {
  const LabelledImages train = blobs(40, 31), test = blobs(10, 32);
  const Mlp wrong({19, 8, 5}, 1);  // 19 inputs for 20-pixel images
  EXPECT_THROW(GpuMlp(*device_, wrong, train, train.count, test, test.count), dp::Error);
  GpuMlp gpu(*device_, Mlp(kWidths, 1), train, train.count, test, test.count, {.batch = 8, .adam = {}, .steps_per_submit = 1, .block = 0, .tiled = -1});
  const std::vector<std::uint32_t> bad = {0, 1, 40};
  EXPECT_THROW(gpu.train_epoch(bad), dp::Error);
}

}  // namespace

#endif  // DP_HAVE_GPU
