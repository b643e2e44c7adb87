// Tests of CopyStream (src/gpu/copy_stream.hpp): chunks copied on one queue while kernels run on
// another, ordered by timeline semaphores. On lavapipe (one queue family) the copies go to the
// compute queue; where the device has a transfer queue, that path is tested too. Validation is on
// and any message fails the test.
#include <gtest/gtest.h>

#if defined(DP_HAVE_GPU)

#include <cstring>
#include <optional>
#include <random>
#include <vector>

#include "core/check.hpp"
#include "core/error.hpp"
#include "gpu/gpu.hpp"

namespace dp::gpu {
namespace {

class CopyStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      device_.emplace(DeviceOptions{.selector = {}, .validation = true});
    } catch (const Unavailable& e) {
      GTEST_SKIP() << "no Vulkan device here: " << e.what();
    }
  }
  void TearDown() override {
    if (!device_) return;
    const ValidationCheck c = validation_check(*device_);
    EXPECT_TRUE(c.passed) << c.detail;
  }
  std::optional<Device> device_;
};

// Streams `chunks` chunks of random words through shaders/transfer/rounds.comp (3 rounds) twice,
// and compares the output with the steps done one by one on the CPU.
void stream_and_check(Device& device, CopyQueue queue) {
  constexpr std::size_t kChunkWords = 16 * 1024, kChunks = 5;
  constexpr std::uint32_t kRounds = 3;
  std::mt19937 rng(12345);
  std::vector<std::uint32_t> input(kChunkWords * kChunks);
  for (auto& w : input) w = static_cast<std::uint32_t>(rng());

  Kernel kernel(device, {.source = builtin_shader("transfer/rounds.comp"), .buffers = 2, .push_bytes = 12,
                         .specialization = {64}});
  Buffer out(device, input.size() * 4);
  struct Push { std::uint32_t n, rounds, first; };
  CopyStream stream(device, kChunkWords * 4, kChunks,
                    [&](Sequence& seq, std::size_t i, const Buffer& slot) {
                      seq.dispatch(kernel, {slot, out}, {groups_for(kChunkWords, 64)},
                                   Push{kChunkWords, kRounds, static_cast<std::uint32_t>(i * kChunkWords)});
                    },
                    queue);
  std::memcpy(stream.source().data(), input.data(), input.size() * 4);

  std::vector<std::uint32_t> want(input);
  for (auto& w : want)
    for (std::uint32_t r = 0; r < kRounds; ++r) w = w * 747796405u + 2891336453u;
  for (int pass = 0; pass < 2; ++pass) {  // a second pass counts the semaphores on
    out.upload(std::vector<std::uint32_t>(input.size(), 0));
    const double ns = stream.run();
    EXPECT_GT(ns, 0.0);
    const auto got = out.download_vector<std::uint32_t>();
    const auto r = compare(std::span<const std::uint32_t>(got), std::span<const std::uint32_t>(want));
    EXPECT_TRUE(r.passed) << "pass " << pass << ": " << r.detail;
  }
}

TEST_F(CopyStreamTest, OnTheComputeQueueEveryChunkArrivesAndIsComputed) {
  stream_and_check(*device_, CopyQueue::compute);
}

TEST_F(CopyStreamTest, OnTheTransferQueueWhereThereIsOne) {
  if (device_->transfer_queue() == VK_NULL_HANDLE) {
    // Asking for it anyway is a clear error, not a crash.
    try {
      CopyStream stream(*device_, 4096, 2, [](Sequence&, std::size_t, const Buffer&) {});
      FAIL() << "a copy stream on a missing transfer queue was created";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("no transfer-only queue"), std::string::npos) << e.what();
    }
    GTEST_SKIP() << "'" << device_->report().name << "' has no transfer queue";
  }
  stream_and_check(*device_, CopyQueue::transfer);
}

TEST_F(CopyStreamTest, EmptyOrOddSizesAreClearErrors) {
  auto make = [&](std::size_t bytes, std::size_t chunks) {
    CopyStream s(*device_, bytes, chunks, [](Sequence&, std::size_t, const Buffer&) {}, CopyQueue::compute);
  };
  EXPECT_THROW(make(0, 4), Error);
  EXPECT_THROW(make(4096, 0), Error);
  EXPECT_THROW(make(4098, 2), Error);
}

}  // namespace
}  // namespace dp::gpu

#endif  // DP_HAVE_GPU
